/* test_dns_server.c: authoritative answers from examples/dns-primary/zones/example.com.zone,
 * section by section. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mirage/dns.h"

static struct mirage_dns_server *srv;

static struct mirage_dns_name name(const char *text)
{
    struct mirage_dns_name n;
    CHECK_INT(mirage_dns_name_from_text(&n, text, strlen(text), NULL, NULL), 0);
    return n;
}

static void setup(void)
{
    static char text[1 << 16];
    FILE *f = fopen("examples/dns-primary/zones/example.com.zone", "rb");
    struct mirage_dns_zone *z = NULL;
    struct mirage_dns_zone_error err;
    struct mirage_dns_name origin = name("example.com.");
    size_t len = 0;

    if (f == NULL) {
        fprintf(stderr, "examples/dns-primary/zones/example.com.zone: cannot open (run from the "
                        "repository's root)\n");
        exit(1);
    }
    len = fread(text, 1, sizeof(text), f);
    fclose(f);
    CHECK_INT(mirage_dns_zone_load(&origin, "example.com.zone", text, len, &z, &err), 0);
    CHECK_INT(mirage_dns_server_new(&srv), 0);
    CHECK_INT(mirage_dns_server_add_zone(srv, z), 0);
}

/* What came back, as text: "RCODE flags | answer | authority | additional",
 * each record "owner TYPE ttl" (enough to tell every case apart). */
static char result[4096];

static const char *ask_raw(const uint8_t *q, size_t qlen, int tcp, size_t cap)
{
    static uint8_t out[65535];
    struct mirage_dns_reader rd;
    struct mirage_dns_rr rr;
    int section, last = MIRAGE_DNS_ANSWER;
    size_t len = mirage_dns_server_answer(srv, q, qlen, tcp, out, cap);
    char tn[16], owner[MIRAGE_DNS_TEXT_MAX];
    size_t n = 0;

    if (len == 0)
        return "dropped";
    CHECK_INT(mirage_dns_read_begin(&rd, out, len), 0);
    CHECK_INT(rd.h.id, 0x4242);
    n += (size_t)snprintf(result + n, sizeof(result) - n, "%d%s%s%s", MIRAGE_DNS_RCODE(rd.h.flags),
                          rd.h.flags & MIRAGE_DNS_AA ? " aa" : "",
                          rd.h.flags & MIRAGE_DNS_TC ? " tc" : "", rd.h.count[0] ? "" : " noq");
    while (mirage_dns_read_rr(&rd, &rr, &section) == 0) {
        if (rr.type == MIRAGE_DNS_OPT) {
            struct mirage_dns_edns e;
            CHECK_INT(mirage_dns_edns_read(&rr, &e, NULL), 0);
            n += (size_t)snprintf(result + n, sizeof(result) - n, " [opt %u ext %u%s]", e.payload,
                                  e.ext_rcode,
                                  e.has_ede ? (e.ede_code == 18 ? " ede 18" : " ede 20") : "");
            continue;
        }
        while (last < section) {
            n += (size_t)snprintf(result + n, sizeof(result) - n, " |");
            last++;
        }
        mirage_dns_name_to_text(&rr.name, owner, sizeof(owner));
        n += (size_t)snprintf(result + n, sizeof(result) - n, " %s %s %u", owner,
                              mirage_dns_type_name(rr.type, tn, sizeof(tn)), rr.ttl);
    }
    CHECK_INT(mirage_dns_read_end(&rd), 0);
    if (!tcp)
        CHECK(len <= 4096);
    return result;
}

/* Asks (qname, qtype); (edns) 0: none, else the payload size offered. */
static const char *ask(const char *qname, uint16_t qtype, int edns, int tcp)
{
    uint8_t q[512];
    struct mirage_dns_writer wr;
    struct mirage_dns_question qq = {name(qname), qtype, MIRAGE_DNS_CLASS_IN};

    mirage_dns_write_begin(&wr, q, sizeof(q), 0x4242, MIRAGE_DNS_RD);
    CHECK_INT(mirage_dns_write_question(&wr, &qq), 0);
    if (edns) {
        struct mirage_dns_edns e = {.payload = (uint16_t)edns};
        CHECK_INT(mirage_dns_write_edns(&wr, &e), 0);
    }
    size_t len = mirage_dns_write_end(&wr);
    return ask_raw(q, len, tcp, 65535);
}

static void test_answers(void)
{
    CHECK_STR(ask("web.example.com.", MIRAGE_DNS_A, 0, 0),
              "0 aa web.example.com. A 3600 web.example.com. A 3600");
    CHECK_STR(ask("www.example.com.", MIRAGE_DNS_A, 1232, 0),
              "0 aa www.example.com. CNAME 3600 web.example.com. A 3600 web.example.com. A 3600 "
              "[opt 1232 ext 0]");
    /* A chain of two CNAMEs inside the zone, and one leaving it. */
    CHECK_STR(ask("alias.example.com.", MIRAGE_DNS_AAAA, 0, 0),
              "0 aa alias.example.com. CNAME 3600 www.example.com. CNAME 3600 web.example.com. "
              "AAAA 3600");
    CHECK_STR(ask("outside.example.com.", MIRAGE_DNS_A, 0, 0),
              "0 aa outside.example.com. CNAME 3600");
    /* Asking for the CNAME itself. */
    CHECK_STR(ask("www.example.com.", MIRAGE_DNS_CNAME, 0, 0), "0 aa www.example.com. CNAME 3600");
    /* The question's case comes back. */
    CHECK_STR(ask("WEB.Example.COM.", MIRAGE_DNS_AAAA, 0, 0), "0 aa WEB.Example.COM. AAAA 3600");
    CHECK_STR(ask("example.com.", MIRAGE_DNS_MX, 0, 0),
              "0 aa example.com. MX 3600 example.com. MX 3600");
    CHECK_STR(ask("example.com.", MIRAGE_DNS_ANY, 0, 1),
              "0 aa example.com. A 3600 example.com. NS 3600 example.com. NS 3600 example.com. SOA "
              "3600 example.com. MX 3600 example.com. MX 3600 example.com. TXT 3600 example.com. "
              "AAAA 3600 example.com. HTTPS 3600 example.com. CAA 3600");
    CHECK_STR(ask("unknown.example.com.", 65280, 0, 0), "0 aa unknown.example.com. TYPE65280 3600");
}

static void test_negative(void)
{
    /* NXDOMAIN and NODATA carry the SOA with the smaller of its TTL and minimum (300). */
    CHECK_STR(ask("nope.example.com.", MIRAGE_DNS_A, 0, 0), "3 aa | example.com. SOA 300");
    CHECK_STR(ask("deeper.nope.example.com.", MIRAGE_DNS_A, 0, 0), "3 aa | example.com. SOA 300");
    CHECK_STR(ask("web.example.com.", MIRAGE_DNS_MX, 0, 0), "0 aa | example.com. SOA 300");
    /* An empty non-terminal exists: NODATA, not NXDOMAIN. */
    CHECK_STR(ask("sub2.example.com.", MIRAGE_DNS_A, 0, 0), "0 aa | example.com. SOA 300");
    /* Outside our zones. */
    CHECK_STR(ask("example.org.", MIRAGE_DNS_A, 0, 0), "5");
    CHECK_STR(ask("com.", MIRAGE_DNS_A, 0, 0), "5");
    CHECK_STR(ask("example.com.", MIRAGE_DNS_AXFR, 0, 1), "5");
    /* With EDNS, refusals say why (RFC 8914): not authoritative, prohibited. */
    CHECK_STR(ask("example.org.", MIRAGE_DNS_A, 1232, 0), "5 [opt 1232 ext 0 ede 20]");
    CHECK_STR(ask("example.com.", MIRAGE_DNS_AXFR, 1232, 1), "5 [opt 1232 ext 0 ede 18]");
}

static void test_wildcards(void)
{
    CHECK_STR(ask("x.wild.example.com.", MIRAGE_DNS_A, 0, 0), "0 aa x.wild.example.com. A 3600");
    CHECK_STR(ask("a.b.wild.example.com.", MIRAGE_DNS_TXT, 0, 0),
              "0 aa a.b.wild.example.com. TXT 3600");
    CHECK_STR(ask("x.wild.example.com.", MIRAGE_DNS_MX, 0, 0), "0 aa | example.com. SOA 300");
    /* The wildcard's parent is an empty non-terminal; the wildcard itself answers as a name. */
    CHECK_STR(ask("wild.example.com.", MIRAGE_DNS_A, 0, 0), "0 aa | example.com. SOA 300");
    CHECK_STR(ask("*.wild.example.com.", MIRAGE_DNS_A, 0, 0), "0 aa *.wild.example.com. A 3600");
    /* A name that exists is not covered by the wildcard (RFC 4592 2.2.1). */
    CHECK_STR(ask("web.example.com.", MIRAGE_DNS_TXT, 0, 0), "0 aa | example.com. SOA 300");
}

static void test_delegation(void)
{
    CHECK_STR(ask("a.sub.example.com.", MIRAGE_DNS_A, 0, 0),
              "0 | sub.example.com. NS 3600 | ns.sub.example.com. A 3600");
    CHECK_STR(ask("sub.example.com.", MIRAGE_DNS_NS, 0, 0),
              "0 | sub.example.com. NS 3600 | ns.sub.example.com. A 3600");
    CHECK_STR(ask("ns.sub.example.com.", MIRAGE_DNS_A, 0, 0),
              "0 | sub.example.com. NS 3600 | ns.sub.example.com. A 3600");
}

static void test_truncation(void)
{
    /* Seven TXT records of ~85 bytes: over 512, under 1232. */
    CHECK_STR(ask("big.example.com.", MIRAGE_DNS_TXT, 0, 0), "0 aa tc");
    CHECK_STR(ask("big.example.com.", MIRAGE_DNS_TXT, 512, 0), "0 aa tc [opt 1232 ext 0]");
    const char *full = "0 aa big.example.com. TXT 3600 big.example.com. TXT 3600 big.example.com. "
                       "TXT 3600 big.example.com. TXT 3600 big.example.com. TXT 3600 "
                       "big.example.com. TXT 3600 big.example.com. TXT 3600";
    CHECK_STR(ask("big.example.com.", MIRAGE_DNS_TXT, 1232, 0),
              "0 aa big.example.com. TXT 3600 big.example.com. TXT 3600 big.example.com. TXT 3600 "
              "big.example.com. TXT 3600 big.example.com. TXT 3600 big.example.com. TXT 3600 "
              "big.example.com. TXT 3600 [opt 1232 ext 0]");
    CHECK_STR(ask("big.example.com.", MIRAGE_DNS_TXT, 0, 1), full);
}

static void test_malformed(void)
{
    /* Responses and runts are never answered. */
    CHECK_STR(ask_raw((const uint8_t *)"\x42\x42\x80\0\0\0\0\0\0\0\0\0", 12, 0, 512), "dropped");
    CHECK_STR(ask_raw((const uint8_t *)"\x42\x42\0", 3, 0, 512), "dropped");
    /* No question, two questions, a compression loop, a record cut short. */
    CHECK_STR(ask_raw((const uint8_t *)"\x42\x42\0\0\0\0\0\0\0\0\0\0", 12, 0, 512), "1 noq");
    CHECK_STR(
        ask_raw((const uint8_t *)"\x42\x42\0\0\0\2\0\0\0\0\0\0\0\0\1\0\1\0\0\1\0\1", 22, 0, 512),
        "1 noq");
    CHECK_STR(ask_raw((const uint8_t *)"\x42\x42\0\0\0\1\0\0\0\0\0\0\xc0\x0c\0\1\0\1", 18, 0, 512),
              "1 noq");
    CHECK_STR(ask_raw((const uint8_t *)"\x42\x42\0\0\0\1\0\0\0\0\0\1\3web\7example\3com\0\0\1\0\1"
                                       "\0\0\x29\x10",
                      37, 0, 512),
              "1");
    /* EDNS version 1: BADVERS (16: 1 in the OPT's upper bits, 0 in the header). */
    CHECK_STR(ask_raw((const uint8_t *)"\x42\x42\0\0\0\1\0\0\0\0\0\1\3web\7example\3com\0\0\1\0\1"
                                       "\0\0\x29\x10\0\0\1\0\0\0\0",
                      44, 0, 512),
              "0 [opt 1232 ext 1]");
    /* NOTIFY and UPDATE are not served yet. */
    CHECK_STR(
        ask_raw((const uint8_t *)"\x42\x42\x20\0\0\1\0\0\0\0\0\0\3web\7example\3com\0\0\6\0\1", 33,
                0, 512),
        "4");
    /* Class CH is not ours. */
    CHECK_STR(ask_raw((const uint8_t *)"\x42\x42\0\0\0\1\0\0\0\0\0\0\3web\7example\3com\0\0\1\0\3",
                      33, 0, 512),
              "5");
    /* No room for the question: nothing. */
    CHECK_STR(ask_raw((const uint8_t *)"\x42\x42\0\0\0\1\0\0\0\0\0\0\3web\7example\3com\0\0\1\0\1",
                      33, 0, 20),
              "dropped");
    struct mirage_dns_server_stats st;
    mirage_dns_server_stats(srv, &st);
    CHECK(st.queries > 30 && st.dropped == 3 && st.truncated == 2);
    CHECK(st.rcodes[MIRAGE_DNS_FORMERR] == 4 && st.rcodes[MIRAGE_DNS_BADVERS] == 1);
}

int main(void)
{
    setup();
    test_answers();
    test_negative();
    test_wildcards();
    test_delegation();
    test_truncation();
    test_malformed();
    mirage_dns_server_free(srv);
    return CHECK_DONE();
}
