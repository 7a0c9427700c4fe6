/* test_dns_zone.c: zone files read into records (examples/dns-primary/zones/example.com.zone), every mistake named
 * with its line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_platform.h"
#include "mirage/dns.h"
#include "mirage/kv.h"

static struct mirage_dns_name name(const char *text)
{
    struct mirage_dns_name n;
    CHECK_INT(mirage_dns_name_from_text(&n, text, strlen(text), NULL, NULL), 0);
    return n;
}

/* The records of (z) at (owner) of (type), RDATA concatenated in zone order. */
static int find(const struct mirage_dns_zone *z, const char *owner, uint16_t type, uint8_t *out,
                size_t *len, uint32_t *ttl)
{
    struct mirage_dns_name n = name(owner);
    struct mirage_dns_rr rr;
    int count = 0;

    *len = 0;
    for (size_t i = 0; mirage_dns_zone_record(z, i, &rr) == 0; i++)
        if (rr.type == type && mirage_dns_name_equal(&rr.name, &n)) {
            memcpy(out + *len, rr.rdata, rr.rdlen);
            *len += rr.rdlen;
            *ttl = rr.ttl;
            count++;
        }
    return count;
}

#define EXPECT(z, owner, type, n, ttl_, bytes)                                                     \
    do {                                                                                           \
        uint8_t got_[4096];                                                                        \
        size_t len_;                                                                               \
        uint32_t ttl__ = 0;                                                                        \
        CHECK_INT(find(z, owner, type, got_, &len_, &ttl__), n);                                   \
        CHECK_INT(ttl__, ttl_);                                                                    \
        CHECK_INT(len_, sizeof(bytes) - 1);                                                        \
        if (len_ == sizeof(bytes) - 1 && memcmp(got_, bytes, len_) != 0)                           \
            fprintf(stderr, "%s:%d: %s type %d RDATA differs\n", __FILE__, __LINE__, owner, type); \
        CHECK(len_ == sizeof(bytes) - 1 && memcmp(got_, bytes, len_) == 0);                        \
    } while (0)

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    static char buf[1 << 16];
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open (run from the repository's root)\n", path);
        check_failures++;
        *len = 0;
        return buf;
    }
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

static void test_example_zone(void)
{
    struct mirage_dns_zone *z;
    struct mirage_dns_zone_error err;
    struct mirage_dns_name origin = name("example.com.");
    size_t len;
    char *text = slurp("examples/dns-primary/zones/example.com.zone", &len);

    int rc = mirage_dns_zone_load(&origin, "example.com.zone", text, len, &z, &err);
    if (rc != 0)
        fprintf(stderr, "%s:%u: %s\n", err.file, err.line, err.msg);
    CHECK_INT(rc, 0);
    if (rc != 0)
        return;
    CHECK_INT(mirage_dns_zone_count(z), 36);
    EXPECT(z, "example.com.", MIRAGE_DNS_SOA, 1, 3600,
           "\3ns1\7example\3com\0\12hostmaster\7example\3com\0"
           "\x78\xc4\x24\x09\0\0\x2a\x30\0\0\x03\x84\0\x09\x3a\x80\0\0\x01\x2c");
    EXPECT(z, "example.com.", MIRAGE_DNS_NS, 2, 3600, "\3ns1\7example\3com\0\3ns2\7example\3net\0");
    EXPECT(z, "example.com.", MIRAGE_DNS_MX, 2, 3600,
           "\0\12\4mail\7example\3com\0\0\24\5mail2\7example\3net\0");
    EXPECT(z, "example.com.", MIRAGE_DNS_TXT, 1, 3600, "\16v=spf1 mx -all");
    EXPECT(z, "example.com.", MIRAGE_DNS_CAA, 1, 3600, "\0\5issueletsencrypt.org");
    EXPECT(z, "example.com.", MIRAGE_DNS_AAAA, 1, 3600, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1");
    EXPECT(z, "example.com.", MIRAGE_DNS_HTTPS, 1, 3600,
           "\0\1\0\0\1\0\14\2h2\10http/1.1\0\4\0\4\xc0\0\2\1");
    EXPECT(z, "web.example.com.", MIRAGE_DNS_A, 2, 3600, "\xc0\0\2\x50\xc0\0\2\x51");
    EXPECT(z, "web.example.com.", MIRAGE_DNS_SSHFP, 1, 3600,
           "\4\2\x12\x34\x56\x78\x9a\xbc\xde\xf6\x78\x90\x12\x34\x56\x78\x9a\xbc\xde\xf6\x78\x90"
           "\x12\x34\x56\x78\x9a\xbc\xde\xf1\x23\x45\x67\x89");
    EXPECT(z, "www.example.com.", MIRAGE_DNS_CNAME, 1, 3600, "\3web\7example\3com\0");
    EXPECT(z, "*.wild.example.com.", MIRAGE_DNS_TXT, 1, 3600, "\10wildcard");
    EXPECT(z, "_sip._tcp.example.com.", MIRAGE_DNS_SRV, 1, 3600,
           "\0\12\0\x3c\x13\xc4\3sip\7example\3com\0");
    EXPECT(z, "_443._tcp.web.example.com.", MIRAGE_DNS_TLSA, 1, 3600,
           "\3\1\1\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45"
           "\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef");
    EXPECT(z, "unknown.example.com.", 65280, 1, 3600, "\x0a\0\0\1");
    EXPECT(z, "sub.example.com.", MIRAGE_DNS_NS, 1, 3600, "\2ns\3sub\7example\3com\0");

    /* Canonical order: the apex first, then each name after the names it is under. */
    struct mirage_dns_rr prev, rr;
    CHECK_INT(mirage_dns_zone_record(z, 0, &prev), 0);
    CHECK(mirage_dns_name_equal(&prev.name, &origin));
    for (size_t i = 1; mirage_dns_zone_record(z, i, &rr) == 0; i++) {
        int c = mirage_dns_name_compare(&prev.name, &rr.name);
        CHECK(c < 0 || (c == 0 && prev.type <= rr.type));
        prev = rr;
    }
    CHECK_INT(mirage_dns_zone_record(z, 36, &rr), MIRAGE_ENOENT);
    mirage_dns_zone_free(z);
}

/* Loads (text) as zone example.com.; the error as "LINE: MESSAGE", or "ok". */
static const char *load(const char *text)
{
    static char out[600];
    struct mirage_dns_zone *z;
    struct mirage_dns_zone_error err;
    struct mirage_dns_name origin = name("example.com.");

    if (mirage_dns_zone_load(&origin, "t.zone", text, strlen(text), &z, &err) == 0) {
        mirage_dns_zone_free(z);
        return "ok";
    }
    CHECK(z == NULL);
    CHECK_STR(err.file, err.line ? "t.zone" : "");
    snprintf(out, sizeof(out), "%u: %s", err.line, err.msg);
    return out;
}

#define HEAD "$TTL 1h\n@ SOA ns hm 1 2 3 4 5\n NS ns\nns A 192.0.2.1\n"

static void test_syntax(void)
{
    /* The forms that must work. */
    CHECK_STR(load(HEAD), "ok");
    CHECK_STR(load("$ORIGIN example.com.\n@ 1d IN SOA ns.example.com. hm.example.com. (\n"
                   " 1 ; serial\n 2h 3m ; timers\n 4w 5s )\n IN 1H NS ns ; class then TTL\n"
                   "ns A 192.0.2.1\n"),
              "ok");
    CHECK_STR(load(HEAD "$ORIGIN sub2\nx TXT \"a \\\"quoted\\\" string\" b\\032c \\065\n"
                        "$ORIGIN example.com.\ny 30 TXT ( \"one\"\n \"two\" )\n"),
              "ok");
    CHECK_STR(load(HEAD "a\\.b TXT x\n@ TYPE65280 \\# 0\n@ TYPE1 \\# 4 0a000001\n"
                        "@ A \\# 4 0A 00 00 02\n"),
              "ok");
    CHECK_STR(load(HEAD "s SVCB 0 svc.example.net.\nh HTTPS 1 . mandatory=alpn,port "
                        "alpn=\"h3,h2\" port=8443 ipv6hint=2001:db8::1,::1 key65000=x "
                        "ech=AAEC no-default-alpn\n"),
              "ok");
    /* RFC 1035: without $TTL, the last TTL given goes on. */
    CHECK_STR(load("@ 300 SOA ns hm 1 2 3 4 5\n NS ns\nns A 192.0.2.1\n"), "ok");

    /* Mistakes, each with its line. */
    CHECK_STR(load("@ SOA ns hm 1 2 3 4 5\n"), "1: no TTL: give one or a $TTL before");
    CHECK_STR(load("$TTL 1x\n"), "1: $TTL '1x' is not a number of seconds or units (1w2d3h4m5s)");
    CHECK_STR(load("$TTL 1h30\n"),
              "1: $TTL '1h30' is not a number of seconds or units (1w2d3h4m5s)");
    CHECK_STR(load("$TTL 2147483648\n"), "1: $TTL '2147483648' over 2147483647 seconds");
    CHECK_STR(load(HEAD "x 1h IN FOO 1\n"), "5: unknown record type 'FOO'");
    CHECK_STR(load(HEAD "x A\n"), "5: A address missing");
    CHECK_STR(load(HEAD "x A 192.0.2.300\n"),
              "5: '192.0.2.300' is not an IPv4 address (a number is over 255)");
    CHECK_STR(load(HEAD "x A 192.0.2.1 junk\n"), "5: unexpected 'junk' after the record");
    CHECK_STR(load(HEAD "x CH A 192.0.2.1\n"), "5: class 'CH' not served (only IN)");
    CHECK_STR(load(HEAD "\n\nx MX ( 10\n\n"), "7: '(' not closed before the end of the file");
    CHECK_STR(load(HEAD "x A 192.0.2.1 )\n"), "5: ')' without '('");
    CHECK_STR(load(HEAD "x TXT \"open\n"), "5: quoted string not closed on its line");
    CHECK_STR(
        load(HEAD
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa A 192.0.2.1\n"),
        "5: owner 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': label longer than 63 bytes");
    CHECK_STR(load(HEAD "x.. A 192.0.2.1\n"), "5: owner 'x..': empty label");
    CHECK_STR(load(" A 192.0.2.1\n"), "1: a record starting with a blank needs an owner before it");
    CHECK_STR(load(HEAD "x TYPE65280 0a\n"), "5: TYPE65280 needs the generic form \\# LENGTH HEX");
    CHECK_STR(load(HEAD "x TYPE65280 \\# 2 0a\n"), "5: \\# says 2 bytes, the data has 1");
    CHECK_STR(load(HEAD "x TYPE65280 \\# 1 0g\n"), "5: \\# data '0g' is not hexadecimal");
    CHECK_STR(load(HEAD "x A \\# 3 0a0000\n"), "5: A: RDATA shorter than its type needs");
    CHECK_STR(load(HEAD "x MX 65536 mail\n"), "5: MX preference '65536' is not a number 0..65535");
    CHECK_STR(load(HEAD "x TXT \"\\300\"\n"), "5: bad escape in '\\300'");
    CHECK_STR(load(HEAD "x OPT \\# 0\n"), "5: OPT cannot be in a zone");
    CHECK_STR(load(HEAD "x CAA 0 is-sue \"ca\"\n"), "5: CAA: CAA tag not only letters and digits");
    CHECK_STR(load(HEAD "x HTTPS 1 . port=1 port=2\n"), "5: SvcParam key 'port' given twice");
    CHECK_STR(load(HEAD "x HTTPS 1 . color=red\n"), "5: unknown SvcParam key 'color'");
    CHECK_STR(load(HEAD "x HTTPS 1 . alpn=\n"), "5: alpn needs a value");
    CHECK_STR(load(HEAD "$GENERATE 1-2 x$ A 192.0.2.$\n"),
              "5: unknown directive '$GENERATE' (known: $ORIGIN, $TTL, $INCLUDE)");
    CHECK_STR(load(HEAD "$INCLUDE other.zone\n"),
              "5: $INCLUDE other.zone: this zone's source allows no $INCLUDE");
    CHECK_STR(load(HEAD "x SSHFP 1 1\n"), "5: SSHFP fingerprint missing");
    CHECK_STR(load(HEAD "x TLSA 3 1 1 abc\n"), "5: TLSA data has an odd number of hex digits");
}

static void test_checks(void)
{
    CHECK_STR(load("$TTL 1h\n@ NS ns\nns A 192.0.2.1\n"),
              "0: zone example.com. has no SOA record at its apex");
    CHECK_STR(load(HEAD "@ SOA ns hm 2 2 3 4 5\n"),
              "0: zone example.com. has more than one SOA record");
    CHECK_STR(load("$TTL 1h\n@ SOA ns hm 1 2 3 4 5\nns A 192.0.2.1\n"),
              "0: zone example.com. has no NS record at its apex");
    CHECK_STR(load(HEAD "x SOA ns hm 1 2 3 4 5\n"), "5: SOA record not at the zone's apex");
    CHECK_STR(load(HEAD "www CNAME web\nweb A 192.0.2.2\nwww A 192.0.2.3\n"),
              "7: CNAME beside other data (A) at www.example.com.");
    CHECK_STR(load(HEAD "www CNAME web\nwww CNAME web2\n"),
              "6: more than one CNAME at www.example.com.");
    CHECK_STR(load(HEAD "ns.example.org. A 192.0.2.1\n"),
              "5: out-of-zone record: ns.example.org. is not in zone example.com. (glue for a "
              "name outside the zone is not served)");
    CHECK_STR(load(HEAD "sub NS ns.sub\nns.sub A 192.0.2.9\nmail.sub MX 10 x\n"),
              "7: MX record at mail.sub.example.com. is below the delegation to sub.example.com. "
              "(only glue, A and AAAA, may be)");
    CHECK_STR(load(HEAD "sub NS ns.sub\nsub TXT hello\n"),
              "6: TXT record beside the delegation at sub.example.com.");
    /* A NUL byte is an ordinary byte of a token (it once ended a token
     * without moving past it: the lexer spun for ever). */
    {
        struct mirage_dns_zone *z;
        struct mirage_dns_zone_error err;
        struct mirage_dns_name origin = name("example.com.");
        const char t[] = HEAD "x TXT a\0b \0\n";
        CHECK_INT(mirage_dns_zone_load(&origin, "t.zone", t, sizeof(t) - 1, &z, &err), 0);
        CHECK_INT(mirage_dns_zone_count(z), 4);
        mirage_dns_zone_free(z);
    }
    /* Duplicates are one record. */
    {
        struct mirage_dns_zone *z;
        struct mirage_dns_zone_error err;
        struct mirage_dns_name origin = name("example.com.");
        const char *t = HEAD "x A 192.0.2.7\nx A 192.0.2.7\nX A 192.0.2.7\n";
        CHECK_INT(mirage_dns_zone_load(&origin, "t.zone", t, strlen(t), &z, &err), 0);
        CHECK_INT(mirage_dns_zone_count(z), 4);
        mirage_dns_zone_free(z);
    }
}

static void test_kv_include(void)
{
    struct mirage_kv *kv;
    struct mirage_dns_zone *z;
    struct mirage_dns_zone_error err;
    struct mirage_dns_name origin = name("example.com.");
    const char *main_zone =
        HEAD "$INCLUDE hosts.inc\n$INCLUDE /shared/sub.inc sub\nafter A 192.0.2.4\n";
    const char *hosts = "h1 A 192.0.2.10\nh2 A 192.0.2.11\n";
    const char *sub = "x A 192.0.2.12\n";

    CHECK_INT(mirage_kv_mem_new(0, &kv), 0);
    CHECK_INT(mirage_kv_set(kv, "/zones/example.com", main_zone, strlen(main_zone), NULL), 0);
    CHECK_INT(mirage_kv_set(kv, "/zones/hosts.inc", hosts, strlen(hosts), NULL), 0);
    CHECK_INT(mirage_kv_set(kv, "/shared/sub.inc", sub, strlen(sub), NULL), 0);
    int rc = mirage_dns_zone_load_kv(kv, "/zones/example.com", &origin, &z, &err);
    if (rc != 0)
        fprintf(stderr, "%s:%u: %s\n", err.file, err.line, err.msg);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        uint8_t got[64];
        size_t len;
        uint32_t ttl;
        CHECK_INT(mirage_dns_zone_count(z), 7);
        /* The include's origin was sub.example.com.; after it, example.com. again. */
        CHECK_INT(find(z, "x.sub.example.com.", MIRAGE_DNS_A, got, &len, &ttl), 1);
        CHECK_INT(find(z, "after.example.com.", MIRAGE_DNS_A, got, &len, &ttl), 1);
        CHECK_INT(find(z, "h2.example.com.", MIRAGE_DNS_A, got, &len, &ttl), 1);
        mirage_dns_zone_free(z);
    }

    /* A mistake inside an included file is named by that file and line. */
    const char *bad = "h1 A 192.0.2.10\nh2 A nope\n";
    CHECK_INT(mirage_kv_set(kv, "/zones/hosts.inc", bad, strlen(bad), NULL), 0);
    CHECK_INT(mirage_dns_zone_load_kv(kv, "/zones/example.com", &origin, &z, &err), MIRAGE_EINVAL);
    CHECK_STR(err.file, "hosts.inc");
    CHECK_INT(err.line, 2);
    /* A missing one, and one that includes itself. */
    const char *missing = HEAD "$INCLUDE nothing.inc\n";
    CHECK_INT(mirage_kv_set(kv, "/zones/example.com", missing, strlen(missing), NULL), 0);
    CHECK_INT(mirage_dns_zone_load_kv(kv, "/zones/example.com", &origin, &z, &err), MIRAGE_EINVAL);
    CHECK_STR(err.msg, "$INCLUDE nothing.inc: not found: /zones/nothing.inc");
    CHECK_INT(err.line, 5);
    const char *loop = "$INCLUDE loop.inc\n";
    CHECK_INT(mirage_kv_set(kv, "/zones/loop.inc", loop, strlen(loop), NULL), 0);
    CHECK_INT(mirage_kv_set(kv, "/zones/example.com", loop, strlen(loop), NULL), 0);
    CHECK_INT(mirage_dns_zone_load_kv(kv, "/zones/example.com", &origin, &z, &err), MIRAGE_EINVAL);
    CHECK_STR(err.msg, "$INCLUDE loop.inc: nested deeper than 8 files");
    CHECK_INT(mirage_dns_zone_load_kv(kv, "/zones/none", &origin, &z, &err), MIRAGE_ENOENT);
    CHECK_STR(err.msg, "not found: /zones/none");
    mirage_kv_disconnect(kv);
}

/* A zone built record by record (as a transfer does) is the zone loaded from
 * its file; the builder refuses what the loader refuses; a server swaps it in. */
static void test_build(void)
{
    struct mirage_dns_zone *z, *b, *old;
    struct mirage_dns_zone_error err;
    struct mirage_dns_name origin = name("example.com.");
    struct mirage_dns_rr rr, rb;
    struct mirage_dns_soa soa;
    struct mirage_dns_server *s;
    size_t len, n;
    char *text = slurp("examples/dns-primary/zones/example.com.zone", &len);
    uint32_t ttl;

    CHECK_INT(mirage_dns_zone_load(&origin, "example.com.zone", text, len, &z, &err), 0);
    CHECK_INT(mirage_dns_zone_new(&origin, &b), 0);
    n = mirage_dns_zone_count(z);
    for (size_t i = n; i-- > 0;) { /* backwards, and one twice: order and duplicates */
        CHECK_INT(mirage_dns_zone_record(z, i, &rr), 0);
        CHECK_INT(mirage_dns_zone_add(b, &rr, "AXFR", (unsigned)i, &err), 0);
    }
    CHECK_INT(mirage_dns_zone_add(b, &rr, "AXFR", 0, &err), 0);
    CHECK_INT(mirage_dns_zone_finish(b, &err), 0);
    CHECK_INT(mirage_dns_zone_count(b), n);
    for (size_t i = 0; i < n; i++) {
        mirage_dns_zone_record(z, i, &rr);
        mirage_dns_zone_record(b, i, &rb);
        CHECK(mirage_dns_name_equal(&rr.name, &rb.name) && rr.type == rb.type &&
              rr.ttl == rb.ttl && rr.rdlen == rb.rdlen && !memcmp(rr.rdata, rb.rdata, rr.rdlen));
    }
    CHECK_INT(mirage_dns_zone_soa(b, &soa, &ttl), 0);
    CHECK(soa.serial > 0 && soa.refresh > 0 && ttl > 0);

    /* The server answers from whichever is in place; the old one comes back. */
    CHECK_INT(mirage_dns_server_new(&s), 0);
    CHECK_INT(mirage_dns_server_replace_zone(s, z, &old), 0);
    CHECK(old == NULL);
    CHECK_INT(mirage_dns_server_replace_zone(s, b, &old), 0);
    CHECK(old == z);
    CHECK_INT(mirage_dns_server_remove_zone(s, &origin, &old), 0);
    CHECK(old == b);
    CHECK_INT(mirage_dns_server_remove_zone(s, &origin, &old), MIRAGE_ENOENT);
    mirage_dns_server_free(s);
    mirage_dns_zone_free(b);

    /* Refusals: outside the zone, another class, bad RDATA; no SOA at the end. */
    CHECK_INT(mirage_dns_zone_new(&origin, &b), 0);
    mirage_dns_zone_record(z, 0, &rr);
    rr.name = name("example.org.");
    CHECK_INT(mirage_dns_zone_add(b, &rr, "AXFR from 10.0.0.1", 7, &err), MIRAGE_EINVAL);
    CHECK_STR(err.file, "AXFR from 10.0.0.1");
    CHECK_INT(err.line, 7);
    CHECK(strstr(err.msg, "out-of-zone record: example.org.") != NULL);
    rr.name = origin;
    rr.rclass = MIRAGE_DNS_CLASS_CH;
    CHECK_INT(mirage_dns_zone_add(b, &rr, "AXFR", 1, &err), MIRAGE_EINVAL);
    CHECK_STR(err.msg, "record of class 3, not IN");
    rr.rclass = MIRAGE_DNS_CLASS_IN;
    rr.type = MIRAGE_DNS_A;
    rr.rdlen = 3;
    CHECK_INT(mirage_dns_zone_add(b, &rr, "AXFR", 1, &err), MIRAGE_EINVAL);
    CHECK(strncmp(err.msg, "bad RDATA: ", 11) == 0);
    CHECK_INT(mirage_dns_zone_finish(b, &err), MIRAGE_EINVAL);
    CHECK_STR(err.msg, "zone example.com. has no SOA record at its apex");
    mirage_dns_zone_free(b);
    mirage_dns_zone_free(z);
}

int main(void)
{
    test_example_zone();
    test_build();
    test_syntax();
    test_checks();
    test_kv_include();
    return CHECK_DONE();
}
