/* test_dns_wire.c: DNS names, records and messages; every hostile encoding refused. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mirage/dns.h"

static struct mirage_dns_name name(const char *text)
{
    struct mirage_dns_name n;
    const char *why = NULL;
    int rc = mirage_dns_name_from_text(&n, text, strlen(text), NULL, &why);
    if (rc != 0)
        fprintf(stderr, "name(%s): %s\n", text, why);
    CHECK_INT(rc, 0);
    return n;
}

static const char *text(const struct mirage_dns_name *n)
{
    static char buf[MIRAGE_DNS_TEXT_MAX];
    mirage_dns_name_to_text(n, buf, sizeof(buf));
    return buf;
}

static void test_name_text(void)
{
    struct mirage_dns_name n, origin = name("example.com.");
    const char *why;
    char big[400];

    n = name("www.Example.COM.");
    CHECK_INT(n.len, 17);
    CHECK(memcmp(n.wire, "\3www\7Example\3COM\0", 17) == 0);
    CHECK_STR(text(&n), "www.Example.COM.");
    n = name(".");
    CHECK_INT(n.len, 1);
    CHECK_STR(text(&n), ".");
    n = name("a\\.b\\032c\\\\.example.");
    CHECK(memcmp(n.wire, "\6a.b c\\\7example\0", 16) == 0);
    CHECK_STR(text(&n), "a\\.b\\032c\\\\.example.");
    n = name("\\000\\255\\(.x.");
    CHECK_STR(text(&n), "\\000\\255\\(.x.");

    CHECK_INT(mirage_dns_name_from_text(&n, "www", 3, &origin, &why), 0);
    CHECK_STR(text(&n), "www.example.com.");
    CHECK_INT(mirage_dns_name_from_text(&n, "www", 3, NULL, &why), MIRAGE_EINVAL);
    CHECK_STR(why, "relative name without an origin");
    CHECK_INT(mirage_dns_name_from_text(&n, "a..b.", 5, NULL, &why), MIRAGE_EINVAL);
    CHECK_STR(why, "empty label");
    CHECK_INT(mirage_dns_name_from_text(&n, ".a.", 3, NULL, &why), MIRAGE_EINVAL);
    CHECK_INT(mirage_dns_name_from_text(&n, "a\\25.", 5, NULL, &why), MIRAGE_EINVAL);
    CHECK_STR(why, "\\DDD needs three digits");
    CHECK_INT(mirage_dns_name_from_text(&n, "a\\256.", 6, NULL, &why), MIRAGE_EINVAL);
    CHECK_INT(mirage_dns_name_from_text(&n, "a\\", 2, NULL, &why), MIRAGE_EINVAL);

    /* 63 bytes is a label, 64 is not. */
    memset(big, 'a', 64);
    big[63] = '.';
    CHECK_INT(mirage_dns_name_from_text(&n, big, 64, NULL, &why), 0);
    big[63] = 'a';
    big[64] = '.';
    CHECK_INT(mirage_dns_name_from_text(&n, big, 65, NULL, &why), MIRAGE_ENAMETOOLONG);
    CHECK_STR(why, "label longer than 63 bytes");
    /* 255 bytes of wire form is a name: 3 labels of 63, one of 61, root. */
    size_t k = 0;
    for (int l = 0; l < 4; l++) {
        int ll = l < 3 ? 63 : 61;
        memset(big + k, 'b', (size_t)ll);
        k += (size_t)ll;
        big[k++] = '.';
    }
    CHECK_INT(mirage_dns_name_from_text(&n, big, k, NULL, &why), 0);
    CHECK_INT(n.len, 255);
    big[k - 1] = 'b';
    big[k++] = '.';
    CHECK_INT(mirage_dns_name_from_text(&n, big, k, NULL, &why), MIRAGE_ENAMETOOLONG);
    /* A relative name that only overflows with its origin. */
    CHECK_INT(mirage_dns_name_from_text(&n, big, k - 3, &origin, &why), MIRAGE_ENAMETOOLONG);
}

static void test_name_order(void)
{
    /* RFC 4034 6.1's example, in canonical order. */
    static const char *sorted[] = {
        "example.",         "a.example.",      "yljkjljk.a.example.",
        "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
        "\\001.z.example.", "*.z.example.",    "\\200.z.example.",
    };
    size_t n = sizeof(sorted) / sizeof(sorted[0]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            struct mirage_dns_name a = name(sorted[i]), b = name(sorted[j]);
            int c = mirage_dns_name_compare(&a, &b);
            CHECK(i < j ? c < 0 : i > j ? c > 0 : c == 0);
        }
    struct mirage_dns_name a = name("WWW.example.com."), b = name("www.EXAMPLE.com."),
                           z = name("Example.Com.");
    CHECK(mirage_dns_name_equal(&a, &b));
    CHECK(mirage_dns_name_under(&a, &z));
    CHECK(mirage_dns_name_under(&z, &z));
    CHECK(!mirage_dns_name_under(&z, &a));
    struct mirage_dns_name w = name("wwwexample.com.");
    CHECK(!mirage_dns_name_under(&w, &z));
    CHECK_INT(mirage_dns_name_labels(&a), 3);
    mirage_dns_name_strip(&a, 1);
    CHECK(mirage_dns_name_equal(&a, &z));
    mirage_dns_name_strip(&a, 2);
    CHECK_INT(a.len, 1);
}

/* A message: a header with (qd, an) counts, then (body, len). */
static size_t msg(uint8_t *out, uint16_t qd, uint16_t an, uint16_t ar, const void *body, size_t len)
{
    uint8_t h[12] = {0x12, 0x34, 0x01, 0x00, 0, (uint8_t)qd, 0, (uint8_t)an, 0, 0, 0, (uint8_t)ar};
    memcpy(out, h, 12);
    memcpy(out + 12, body, len);
    return 12 + len;
}

/* Reads every question and record of (m, len); the first error's reason. */
static const char *read_all(const uint8_t *m, size_t len, int *records)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_question q;
    struct mirage_dns_rr rr;
    int rc, section;

    *records = 0;
    if (mirage_dns_read_begin(&rd, m, len) < 0)
        return rd.why;
    while ((rc = mirage_dns_read_question(&rd, &q)) == 0)
        ;
    if (rc != MIRAGE_ENOENT)
        return rd.why;
    while ((rc = mirage_dns_read_rr(&rd, &rr, &section)) == 0)
        (*records)++;
    if (rc != MIRAGE_ENOENT)
        return rd.why;
    if (mirage_dns_read_end(&rd) < 0)
        return rd.why;
    return NULL;
}

#define B(s) s, sizeof(s) - 1

static void test_hostile(void)
{
    uint8_t m[1024];
    size_t len;
    int n;

    CHECK_STR(read_all((const uint8_t *)"\1\2\3", 3, &n), "shorter than a header");
    /* A pointer to itself. */
    len = msg(m, 1, 0, 0, B("\xc0\x0c\0\1\0\1"));
    CHECK_STR(read_all(m, len, &n), "compression pointer forward or in a loop");
    /* Two pointers pointing at each other: 12: "a" -> 16; 16: -> 12. */
    len = msg(m, 2, 0, 0, B("\1a\xc0\x10\xc0\x0c\0\1\0\1"));
    CHECK_STR(read_all(m, len, &n), "compression pointer forward or in a loop");
    /* A pointer forward to a good name. */
    len = msg(m, 2, 0, 0, B("\xc0\x12\0\1\0\1\1a\0\0\1\0\1"));
    CHECK_STR(read_all(m, len, &n), "compression pointer forward or in a loop");
    /* A pointer past the end, and into the header. */
    len = msg(m, 1, 0, 0, B("\xc3\xff\0\1\0\1"));
    CHECK_STR(read_all(m, len, &n), "compression pointer past the end");
    len = msg(m, 1, 0, 0, B("\xc0\x02\0\1\0\1"));
    CHECK_STR(read_all(m, len, &n), "compression pointer into the header");
    /* A pointer cut in half; a label running past the end. */
    len = msg(m, 1, 0, 0, B("\xc0"));
    CHECK_STR(read_all(m, len, &n), "name runs past the end");
    len = msg(m, 1, 0, 0, B("\5ab"));
    CHECK_STR(read_all(m, len, &n), "name runs past the end");
    /* Label lengths 64 and 128: the reserved label types. */
    len = msg(m, 1, 0, 0, B("\x40\0\0\1\0\1"));
    CHECK_STR(read_all(m, len, &n), "label over 63 bytes (reserved label type)");
    len = msg(m, 1, 0, 0, B("\x80\0\0\1\0\1"));
    CHECK_STR(read_all(m, len, &n), "label over 63 bytes (reserved label type)");
    /* Over 255 bytes through pointers: each question adds 63 bytes before
     * pointing at the one before; the fourth makes 256 + 1. */
    {
        uint8_t body[400];
        size_t k = 0, prev = 0;
        for (int q = 0; q < 5; q++) {
            size_t here = 12 + k;
            body[k++] = 63;
            memset(body + k, 'x', 63);
            k += 63;
            if (q == 0) {
                body[k++] = 0;
            } else {
                body[k++] = (uint8_t)(0xc0 | prev >> 8);
                body[k++] = (uint8_t)prev;
            }
            memcpy(body + k, "\0\1\0\1", 4);
            k += 4;
            prev = here;
        }
        len = msg(m, 3, 0, 0, body, k - 2 * (64 + 2 + 4));
        CHECK(read_all(m, len, &n) == NULL);
        len = msg(m, 4, 0, 0, body, k - (64 + 2 + 4));
        CHECK_STR(read_all(m, len, &n), "name longer than 255 bytes");
    }
    /* Records: cut, an RDATA past the end, an A of 5 bytes, bytes left over. */
    len = msg(m, 0, 1, 0, B("\0\0\1\0\1\0\0"));
    CHECK_STR(read_all(m, len, &n), "record runs past the end");
    len = msg(m, 0, 1, 0, B("\0\0\1\0\1\0\0\0\0\0\5\1\2\3\4"));
    CHECK_STR(read_all(m, len, &n), "record runs past the end");
    len = msg(m, 0, 1, 0, B("\0\0\1\0\1\0\0\0\0\0\5\1\2\3\4\5"));
    CHECK_STR(read_all(m, len, &n), "RDATA longer than its type allows");
    len = msg(m, 0, 1, 0, B("\0\0\1\0\1\0\0\0\0\0\4\1\2\3\4\0"));
    CHECK_STR(read_all(m, len, &n), "bytes after the last record");
    len = msg(m, 0, 2, 0, B("\0\0\1\0\1\0\0\0\0\0\4\1\2\3\4"));
    CHECK_STR(read_all(m, len, &n), "name runs past the end");
    /* A CNAME whose name runs out of its RDATA into the next bytes. */
    len = msg(m, 0, 1, 0, B("\0\0\5\0\1\0\0\0\0\0\2\1a\0"));
    CHECK_STR(read_all(m, len, &n), "name runs past the end");
    /* An MX cut inside its preference. */
    len = msg(m, 0, 1, 0, B("\0\0\x0f\0\1\0\0\0\0\0\1\0"));
    CHECK_STR(read_all(m, len, &n), "RDATA shorter than its type needs");
    /* SRV with the pointer RFC 2782 forbids but RFC 3597 asks us to accept;
     * SVCB with one, which RFC 9460 forbids. */
    len = msg(m, 0, 2, 0,
              B("\1a\0\0\1\0\1\0\0\0\0\0\4\1\2\3\4"
                "\xc0\x0c\0\x21\0\1\0\0\0\0\0\x08\0\1\0\2\0\3\xc0\x0c"));
    CHECK(read_all(m, len, &n) == NULL);
    CHECK_INT(n, 2);
    len = msg(m, 0, 2, 0,
              B("\1a\0\0\1\0\1\0\0\0\0\0\4\1\2\3\4"
                "\xc0\x0c\0\x40\0\1\0\0\0\0\0\x04\0\1\xc0\x0c"));
    CHECK_STR(read_all(m, len, &n), "compression pointer where none is allowed");
    /* TXT: empty, a string past its end. */
    len = msg(m, 0, 1, 0, B("\0\0\x10\0\1\0\0\0\0\0\0"));
    CHECK_STR(read_all(m, len, &n), "TXT without a string");
    len = msg(m, 0, 1, 0, B("\0\0\x10\0\1\0\0\0\0\0\2\2a"));
    CHECK_STR(read_all(m, len, &n), "character string runs past the end of the RDATA");
    /* CAA with an empty tag, a tag with a dash. */
    len = msg(m, 0, 1, 0, B("\0\1\1\0\1\0\0\0\0\0\2\0\0"));
    CHECK_STR(read_all(m, len, &n), "CAA tag not 1 to 15 bytes");
    len = msg(m, 0, 1, 0, B("\0\1\1\0\1\0\0\0\0\0\4\0\2a-"));
    CHECK_STR(read_all(m, len, &n), "CAA tag not only letters and digits");
    /* HTTPS with keys out of order, a port of 3 bytes. */
    len = msg(m, 0, 1, 0, B("\0\0\x41\0\1\0\0\0\0\0\x0d\0\1\0\0\3\0\2\1\xbb\0\2\0\0"));
    CHECK_STR(read_all(m, len, &n), "SvcParam keys not in strictly ascending order");
    len = msg(m, 0, 1, 0, B("\0\0\x41\0\1\0\0\0\0\0\x0a\0\1\0\0\3\0\3\1\2\3"));
    CHECK_STR(read_all(m, len, &n), "malformed SvcParam value");
    /* OPT: in the answer section, twice, owned by a name, a cut option, a short EDE. */
    len = msg(m, 0, 1, 0, B("\0\0\x29\x10\0\0\0\0\0\0\0"));
    CHECK_STR(read_all(m, len, &n), "OPT record outside the additional section");
    len = msg(m, 0, 0, 2, B("\0\0\x29\x10\0\0\0\0\0\0\0\0\0\x29\x10\0\0\0\0\0\0\0"));
    CHECK_STR(read_all(m, len, &n), "more than one OPT record");
    len = msg(m, 0, 0, 1, B("\1a\0\0\x29\x10\0\0\0\0\0\0\0"));
    CHECK_STR(read_all(m, len, &n), "OPT record not owned by the root");
    len = msg(m, 0, 0, 1, B("\0\0\x29\x10\0\0\0\0\0\0\5\0\x0a\0\2\1"));
    CHECK_STR(read_all(m, len, &n), "EDNS option runs past the end of the OPT record");
    len = msg(m, 0, 0, 1, B("\0\0\x29\x10\0\0\0\0\0\0\5\0\x0f\0\1\1"));
    CHECK_STR(read_all(m, len, &n), "Extended DNS Error shorter than its code");
    /* After an error, the reader stays failed. */
    {
        struct mirage_dns_reader rd;
        struct mirage_dns_rr rr;
        int s;
        len = msg(m, 0, 2, 0, B("\0\0\1\0\1\0\0\0\0\0\5\1\2\3\4\5\0\0\1\0\1\0\0\0\0\0\4\1\2\3\4"));
        CHECK_INT(mirage_dns_read_begin(&rd, m, len), 0);
        CHECK_INT(mirage_dns_read_rr(&rd, &rr, &s), MIRAGE_EBADMSG);
        CHECK_INT(mirage_dns_read_rr(&rd, &rr, &s), MIRAGE_EBADMSG);
        CHECK_INT(mirage_dns_read_end(&rd), MIRAGE_EBADMSG);
    }
}

struct rec {
    const char *owner;
    uint16_t type;
    const char *rdata;
    size_t rdlen;
};

/* One record of each kind, RDATA in uncompressed wire form. */
static const struct rec recs[] = {
    {"www.example.com.", MIRAGE_DNS_CNAME, B("\3web\7example\3com\0")},
    {"web.example.com.", MIRAGE_DNS_A, B("\xc0\0\2\1")},
    {"web.example.com.", MIRAGE_DNS_AAAA, B("\x20\1\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1")},
    {"example.com.", MIRAGE_DNS_NS, B("\3ns1\7example\3com\0")},
    {"example.com.", MIRAGE_DNS_SOA,
     B("\3ns1\7example\3com\0\4host\7example\3com\0"
       "\x78\x49\x5e\x21\0\0\x1c\x20\0\0\x0e\x10\0\x12\x75\0\0\0\x0e\x10")},
    {"example.com.", MIRAGE_DNS_MX, B("\0\x0a\4mail\7example\3com\0")},
    {"example.com.", MIRAGE_DNS_TXT, B("\5hello\0\5world")},
    {"_sip._tcp.example.com.", MIRAGE_DNS_SRV, B("\0\1\0\2\x13\xc4\3sip\7example\3com\0")},
    {"example.com.", MIRAGE_DNS_CAA,
     B("\0\5issue\x0b"
       "example.net")},
    {"_443._tcp.example.com.", MIRAGE_DNS_TLSA, B("\3\1\1\xde\xad\xbe\xef")},
    {"example.com.", MIRAGE_DNS_SSHFP, B("\4\2\x12\x34")},
    {"example.com.", MIRAGE_DNS_HTTPS, B("\0\1\0\0\1\0\3\2h2\0\3\0\2\1\xbb\0\4\0\4\xc0\0\2\1")},
    {"1.2.0.192.in-addr.arpa.", MIRAGE_DNS_PTR, B("\3web\7example\3com\0")},
    /* RFC 3597: a type we do not know, bytes that look like a pointer. */
    {"example.com.", 999, B("\xc0\x0c\xff")},
};

static void test_round_trip(void)
{
    uint8_t buf[2048];
    struct mirage_dns_writer wr;
    struct mirage_dns_question q = {name("www.Example.com."), MIRAGE_DNS_A, MIRAGE_DNS_CLASS_IN};
    size_t nrecs = sizeof(recs) / sizeof(recs[0]), plain = 12 + q.name.len + 4;

    mirage_dns_write_begin(&wr, buf, sizeof(buf), 0xbeef, MIRAGE_DNS_QR | MIRAGE_DNS_AA);
    CHECK_INT(mirage_dns_write_question(&wr, &q), 0);
    for (size_t i = 0; i < nrecs; i++) {
        struct mirage_dns_rr rr = {name(recs[i].owner),     recs[i].type,
                                   MIRAGE_DNS_CLASS_IN,     3600,
                                   (uint16_t)recs[i].rdlen, (const uint8_t *)recs[i].rdata};
        CHECK_INT(mirage_dns_write_rr(&wr, MIRAGE_DNS_ANSWER, &rr), 0);
        plain += rr.name.len + 10 + rr.rdlen;
    }
    struct mirage_dns_edns e = {.payload = 1232,
                                .dnssec_ok = 1,
                                .has_ede = 1,
                                .ede_code = 18,
                                .ede_text = "prohibited",
                                .ede_len = 10};
    CHECK_INT(mirage_dns_write_edns(&wr, &e), 0);
    CHECK_INT(mirage_dns_write_question(&wr, &q), MIRAGE_EINVAL);
    size_t len = mirage_dns_write_end(&wr);
    CHECK(len > 0 && len < plain);
    /* The first answer's owner is the question's name: a pointer to 12, in the question's case. */
    CHECK(buf[12 + q.name.len + 4] == 0xc0 && buf[12 + q.name.len + 5] == 12);
    /* The CNAME's target "web.example.com" keeps its case: it cannot point
     * into the question's "Example.com", only to its "com" (24); the next
     * owner, "web.example.com", points to the target (45). */
    CHECK(memcmp(buf + 45, "\3web\7example\xc0\x18", 14) == 0);
    CHECK(memcmp(buf + 45 + 14, "\xc0\x2d", 2) == 0);

    struct mirage_dns_reader rd;
    struct mirage_dns_question q2;
    struct mirage_dns_rr rr;
    int section;
    CHECK_INT(mirage_dns_read_begin(&rd, buf, len), 0);
    CHECK_INT(rd.h.id, 0xbeef);
    CHECK_INT(rd.h.flags, MIRAGE_DNS_QR | MIRAGE_DNS_AA);
    CHECK_INT(rd.h.count[1], nrecs);
    CHECK_INT(rd.h.count[3], 1);
    CHECK_INT(mirage_dns_read_question(&rd, &q2), 0);
    CHECK_STR(text(&q2.name), "www.Example.com.");
    CHECK_INT(mirage_dns_read_question(&rd, &q2), MIRAGE_ENOENT);
    for (size_t i = 0; i < nrecs; i++) {
        CHECK_INT(mirage_dns_read_rr(&rd, &rr, &section), 0);
        CHECK_INT(section, MIRAGE_DNS_ANSWER);
        CHECK_INT(rr.type, recs[i].type);
        CHECK_INT(rr.ttl, 3600);
        struct mirage_dns_name owner = name(recs[i].owner);
        CHECK(mirage_dns_name_equal(&rr.name, &owner));
        CHECK_INT(rr.rdlen, recs[i].rdlen);
        if (memcmp(rr.rdata, recs[i].rdata, recs[i].rdlen) != 0)
            fprintf(stderr, "record %zu differs\n", i);
        CHECK(memcmp(rr.rdata, recs[i].rdata, recs[i].rdlen) == 0);
    }
    CHECK_INT(mirage_dns_read_rr(&rd, &rr, &section), 0);
    CHECK_INT(section, MIRAGE_DNS_ADDITIONAL);
    struct mirage_dns_edns e2;
    CHECK_INT(mirage_dns_edns_read(&rr, &e2, NULL), 0);
    CHECK_INT(e2.payload, 1232);
    CHECK(e2.dnssec_ok && e2.has_ede);
    CHECK_INT(e2.ede_code, 18);
    CHECK(e2.ede_len == 10 && memcmp(e2.ede_text, "prohibited", 10) == 0);
    CHECK_INT(mirage_dns_read_rr(&rd, &rr, &section), MIRAGE_ENOENT);
    CHECK_INT(mirage_dns_read_end(&rd), 0);

    /* Bad RDATA is refused on write, and nothing is written. */
    struct mirage_dns_rr badrr = {name("x."), MIRAGE_DNS_A, 1, 0, 3, (const uint8_t *)"abc"};
    mirage_dns_write_begin(&wr, buf, sizeof(buf), 1, 0);
    CHECK_INT(mirage_dns_write_rr(&wr, MIRAGE_DNS_ANSWER, &badrr), MIRAGE_EBADMSG);
    CHECK_INT(mirage_dns_write_end(&wr), 12);
}

/* A writer out of room keeps whole records: the caller sets TC on what it has. */
static void test_truncation(void)
{
    uint8_t buf[100];
    struct mirage_dns_writer wr;
    struct mirage_dns_question q = {name("example.com."), MIRAGE_DNS_TXT, MIRAGE_DNS_CLASS_IN};
    struct mirage_dns_rr rr = {name("example.com."),
                               MIRAGE_DNS_TXT,
                               MIRAGE_DNS_CLASS_IN,
                               60,
                               21,
                               (const uint8_t *)"\x14"
                                                "01234567890123456789"};
    int written = 0;

    mirage_dns_write_begin(&wr, buf, sizeof(buf), 7, MIRAGE_DNS_QR);
    CHECK_INT(mirage_dns_write_question(&wr, &q), 0);
    while (mirage_dns_write_rr(&wr, MIRAGE_DNS_ANSWER, &rr) == 0)
        written++;
    /* 12 + 17 question, then 2 + 10 + 21 = 33 a record: two fit in 100. */
    CHECK_INT(written, 2);
    wr.flags |= MIRAGE_DNS_TC;
    size_t len = mirage_dns_write_end(&wr);
    CHECK_INT(len, 12 + 17 + 2 * 33);
    int n;
    CHECK(read_all(buf, len, &n) == NULL);
    CHECK_INT(n, 2);

    /* A mark and restore drops a whole set. */
    struct mirage_dns_mark mk;
    mirage_dns_write_begin(&wr, buf, sizeof(buf), 7, MIRAGE_DNS_QR);
    CHECK_INT(mirage_dns_write_question(&wr, &q), 0);
    mirage_dns_write_mark(&wr, &mk);
    CHECK_INT(mirage_dns_write_rr(&wr, MIRAGE_DNS_ANSWER, &rr), 0);
    mirage_dns_write_restore(&wr, &mk);
    CHECK_INT(mirage_dns_write_end(&wr), 12 + 17);

    /* No room for a header at all. */
    mirage_dns_write_begin(&wr, buf, 11, 7, 0);
    CHECK_INT(mirage_dns_write_end(&wr), 0);
}

static void test_types(void)
{
    char buf[16];
    CHECK_STR(mirage_dns_type_name(MIRAGE_DNS_HTTPS, buf, sizeof(buf)), "HTTPS");
    CHECK_STR(mirage_dns_type_name(999, buf, sizeof(buf)), "TYPE999");
    CHECK_INT(mirage_dns_type_from_name("aaaa", 4), MIRAGE_DNS_AAAA);
    CHECK_INT(mirage_dns_type_from_name("TYPE65", 6), 65);
    CHECK_INT(mirage_dns_type_from_name("TYPE65536", 9), -1);
    CHECK_INT(mirage_dns_type_from_name("TYPE065", 7), -1);
    CHECK_INT(mirage_dns_type_from_name("NOPE", 4), -1);

    struct mirage_dns_soa soa;
    CHECK_INT(mirage_dns_soa_read((const uint8_t *)recs[4].rdata, recs[4].rdlen, &soa), 0);
    CHECK_INT(soa.serial, 0x78495e21);
    CHECK_INT(soa.minimum, 3600);
    CHECK_STR(text(&soa.rname), "host.example.com.");
    uint8_t out[600];
    struct mirage_wr w = mirage_wr_init(out, sizeof(out));
    mirage_dns_soa_write(&w, &soa);
    CHECK(!w.bad && w.off == recs[4].rdlen && memcmp(out, recs[4].rdata, w.off) == 0);
}

int main(void)
{
    test_name_text();
    test_name_order();
    test_hostile();
    test_round_trip();
    test_truncation();
    test_types();
    return CHECK_DONE();
}
