/* test_dns_stub.c: the stub resolver's matcher, its cache (TTLs, negative TTLs, the bounds) and
 * answers built from cached messages, on a virtual clock. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/dns.h"
#include "mirage/key.h"
#include "mirage/time.h"

/* The random source reads the command line when it first seeds (the stub's ids and ports). */
const char *mirage_cmdline(void)
{
    return "";
}

static struct mirage_dns_name name(const char *text)
{
    struct mirage_dns_name n;
    CHECK_INT(mirage_dns_name_from_text(&n, text, strlen(text), NULL, NULL), 0);
    return n;
}

static struct mirage_dns_question question(const char *text, uint16_t type)
{
    struct mirage_dns_question q = {.name = name(text), .type = type,
                                    .qclass = MIRAGE_DNS_CLASS_IN};
    return q;
}

/* A record of (owner) with (rd, rdlen). */
static struct mirage_dns_rr rr(const char *owner, uint16_t type, uint32_t ttl, const void *rd,
                               size_t rdlen)
{
    struct mirage_dns_rr r = {.name = name(owner), .type = type, .rclass = MIRAGE_DNS_CLASS_IN,
                              .ttl = ttl, .rdlen = (uint16_t)rdlen, .rdata = rd};
    return r;
}

static const uint8_t addr1[4] = {192, 0, 2, 1}, addr2[4] = {192, 0, 2, 2};

/* SOA RDATA: ns.test. hm.test. 1 3600 600 86400 (minimum). */
static size_t soa(uint8_t *buf, uint32_t minimum)
{
    struct mirage_dns_soa s = {.mname = name("ns.test."), .rname = name("hm.test."), .serial = 1,
                               .refresh = 3600, .retry = 600, .expire = 86400,
                               .minimum = minimum};
    struct mirage_wr w = mirage_wr_init(buf, 600);
    mirage_dns_soa_write(&w, &s);
    return w.off;
}

/* An answer with (id) and (rcode) to (q): (n) answer records, and an SOA of (soa_ttl) and
 * (minimum) in the authority section when soa_ttl is not 0. */
static size_t answer(uint8_t *buf, size_t cap, uint16_t id, int rcode,
                     const struct mirage_dns_question *q, const struct mirage_dns_rr *rrs,
                     size_t n, uint32_t soa_ttl, uint32_t minimum)
{
    struct mirage_dns_writer wr;
    uint8_t s[600];

    mirage_dns_write_begin(&wr, buf, cap, id,
                           (uint16_t)(MIRAGE_DNS_QR | MIRAGE_DNS_RD | MIRAGE_DNS_RA | rcode));
    CHECK_INT(mirage_dns_write_question(&wr, q), 0);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(mirage_dns_write_rr(&wr, MIRAGE_DNS_ANSWER, &rrs[i]), 0);
    if (soa_ttl) {
        struct mirage_dns_rr r = rr("test.", MIRAGE_DNS_SOA, soa_ttl, s, soa(s, minimum));
        CHECK_INT(mirage_dns_write_rr(&wr, MIRAGE_DNS_AUTHORITY, &r), 0);
    }
    return mirage_dns_write_end(&wr);
}

static void test_match(void)
{
    struct mirage_dns_question q = question("www.test.", MIRAGE_DNS_A);
    struct mirage_dns_question other = question("www.test.", MIRAGE_DNS_AAAA);
    struct mirage_dns_rr a = rr("www.test.", MIRAGE_DNS_A, 30, addr1, 4);
    uint8_t msg[512];
    const char *why = NULL;
    size_t n = answer(msg, sizeof(msg), 0x1234, 0, &q, &a, 1, 0, 0);

    CHECK_INT(mirage_dns_stub_match(msg, n, 0x1234, &q, &why), 0);
    /* The name without case. */
    struct mirage_dns_question upper = question("WWW.Test.", MIRAGE_DNS_A);
    CHECK_INT(mirage_dns_stub_match(msg, n, 0x1234, &upper, &why), 0);
    CHECK_INT(mirage_dns_stub_match(msg, n, 0x1235, &q, &why), MIRAGE_EBADMSG);
    CHECK_STR(why, "another id");
    CHECK_INT(mirage_dns_stub_match(msg, n, 0x1234, &other, &why), MIRAGE_EBADMSG);
    CHECK_STR(why, "another question");
    CHECK_INT(mirage_dns_stub_match(msg, 11, 0x1234, &q, &why), MIRAGE_EBADMSG);
    CHECK_STR(why, "shorter than a header");
    /* Cut inside the record, or with a byte after it. */
    CHECK_INT(mirage_dns_stub_match(msg, n - 1, 0x1234, &q, &why), MIRAGE_EBADMSG);
    msg[n] = 0;
    CHECK_INT(mirage_dns_stub_match(msg, n + 1, 0x1234, &q, &why), MIRAGE_EBADMSG);
    CHECK_STR(why, "bytes after the last record");
    /* A query, not an answer. */
    msg[2] &= 0x7f;
    CHECK_INT(mirage_dns_stub_match(msg, n, 0x1234, &q, &why), MIRAGE_EBADMSG);
    CHECK_STR(why, "not an answer to a query");
    msg[2] |= 0x80;
    /* The answer's owner a compression pointer to itself: a loop. */
    size_t owner = MIRAGE_DNS_HEADER + q.name.len + 4;
    CHECK_INT(msg[owner], 0xc0);
    msg[owner + 1] = (uint8_t)owner;
    CHECK_INT(mirage_dns_stub_match(msg, n, 0x1234, &q, &why), MIRAGE_EBADMSG);
    /* Two questions. */
    n = answer(msg, sizeof(msg), 0x1234, 0, &q, &a, 1, 0, 0);
    msg[5] = 2;
    CHECK_INT(mirage_dns_stub_match(msg, n, 0x1234, &q, &why), MIRAGE_EBADMSG);
    CHECK_STR(why, "not one question");
    /* An error without the question (RFC 6891 7: FORMERR from a server that
     * knows no EDNS; SERVFAIL, NOTIMP, REFUSED alike) is an answer; an answer
     * or NXDOMAIN without it is not, nor an error with bytes after the header. */
    static const struct {
        uint8_t rcode;
        int r;
    } bare[] = {{MIRAGE_DNS_FORMERR, 0},          {MIRAGE_DNS_SERVFAIL, 0},
                {MIRAGE_DNS_NOTIMP, 0},           {MIRAGE_DNS_REFUSED, 0},
                {MIRAGE_DNS_NOERROR, MIRAGE_EBADMSG}, {MIRAGE_DNS_NXDOMAIN, MIRAGE_EBADMSG}};
    for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
        uint8_t h[MIRAGE_DNS_HEADER + 1] = {0x12, 0x34, 0x81, (uint8_t)(0x80 | bare[i].rcode)};
        CHECK_INT(mirage_dns_stub_match(h, MIRAGE_DNS_HEADER, 0x1234, &q, &why), bare[i].r);
        CHECK_INT(mirage_dns_stub_match(h, MIRAGE_DNS_HEADER, 0x1235, &q, &why), MIRAGE_EBADMSG);
        CHECK_INT(mirage_dns_stub_match(h, MIRAGE_DNS_HEADER + 1, 0x1234, &q, &why),
                  MIRAGE_EBADMSG);
    }
}

static struct mirage_dns_stub *cache(size_t entries, size_t bytes)
{
    struct mirage_dns_stub_config cfg = {.cache_entries = entries, .cache_bytes = bytes};
    struct mirage_dns_stub *s = NULL;

    CHECK_INT(mirage_dns_stub_new(NULL, &cfg, &s), 0);
    return s;
}

static int cached(struct mirage_dns_stub *s, const char *n, uint16_t type, uint32_t *age)
{
    struct mirage_dns_question q = question(n, type);
    size_t len;
    uint32_t a;
    return mirage_dns_stub_cached(s, &q, &len, age ? age : &a) != NULL;
}

static void test_ttl(void)
{
    struct mirage_dns_stub *s = cache(0, 0);
    struct mirage_dns_question q = question("www.test.", MIRAGE_DNS_A);
    struct mirage_dns_rr a[2] = {rr("www.test.", MIRAGE_DNS_A, 30, addr1, 4),
                                 rr("www.test.", MIRAGE_DNS_A, 20, addr2, 4)};
    uint8_t msg[512];
    size_t n = answer(msg, sizeof(msg), 1, 0, &q, a, 2, 0, 0);
    uint32_t age = 99;

    /* The smallest TTL of the answer section. */
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 20);
    CHECK(cached(s, "WWW.test.", MIRAGE_DNS_A, &age));
    CHECK_INT(age, 0);
    CHECK(!cached(s, "www.test.", MIRAGE_DNS_AAAA, NULL));
    fake_now += MIRAGE_SEC(19);
    CHECK(cached(s, "www.test.", MIRAGE_DNS_A, &age));
    CHECK_INT(age, 19);
    fake_now += MIRAGE_SEC(1);
    CHECK(!cached(s, "www.test.", MIRAGE_DNS_A, NULL));
    struct mirage_dns_stub_stats st;
    mirage_dns_stub_stats(s, &st);
    CHECK_INT(st.cached, 0);
    CHECK_INT(st.cached_bytes, 0);
    CHECK_INT(st.hits, 2);

    /* Not cached: truncated, SERVFAIL, a TTL of 0. */
    msg[2] |= MIRAGE_DNS_TC >> 8;
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 0);
    n = answer(msg, sizeof(msg), 1, MIRAGE_DNS_SERVFAIL, &q, NULL, 0, 0, 0);
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 0);
    a[0].ttl = 0;
    n = answer(msg, sizeof(msg), 1, 0, &q, a, 2, 0, 0);
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 0);
    /* A week's TTL is kept a day at most. */
    a[0].ttl = a[1].ttl = 7 * 86400;
    n = answer(msg, sizeof(msg), 1, 0, &q, a, 2, 0, 0);
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 86400);
    mirage_dns_stub_free(s);
}

static void test_negative(void)
{
    struct mirage_dns_stub *s = cache(0, 0);
    struct mirage_dns_question q = question("nope.test.", MIRAGE_DNS_A);
    uint8_t msg[512];
    size_t n;

    /* NXDOMAIN: the SOA's MINIMUM when smaller than its TTL (RFC 2308 5) ... */
    n = answer(msg, sizeof(msg), 1, MIRAGE_DNS_NXDOMAIN, &q, NULL, 0, 60, 5);
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 5);
    fake_now += MIRAGE_SEC(4);
    CHECK(cached(s, "nope.test.", MIRAGE_DNS_A, NULL));
    fake_now += MIRAGE_SEC(1);
    CHECK(!cached(s, "nope.test.", MIRAGE_DNS_A, NULL));
    /* ... NODATA: the SOA's TTL when smaller than its MINIMUM. */
    q.type = MIRAGE_DNS_AAAA;
    n = answer(msg, sizeof(msg), 1, 0, &q, NULL, 0, 3, 100);
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 3);
    CHECK(cached(s, "nope.test.", MIRAGE_DNS_AAAA, NULL));
    fake_now += MIRAGE_SEC(3);
    CHECK(!cached(s, "nope.test.", MIRAGE_DNS_AAAA, NULL));
    /* No SOA: not cached at all. */
    n = answer(msg, sizeof(msg), 1, MIRAGE_DNS_NXDOMAIN, &q, NULL, 0, 0, 0);
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 0);
    mirage_dns_stub_free(s);
}

static void store_name(struct mirage_dns_stub *s, const char *n)
{
    struct mirage_dns_question q = question(n, MIRAGE_DNS_A);
    struct mirage_dns_rr a = rr(n, MIRAGE_DNS_A, 300, addr1, 4);
    uint8_t msg[512];
    size_t len = answer(msg, sizeof(msg), 1, 0, &q, &a, 1, 0, 0);

    CHECK_INT(mirage_dns_stub_store(s, &q, msg, len), 300);
}

static void test_bounds(void)
{
    struct mirage_dns_stub *s = cache(3, 0);
    struct mirage_dns_stub_stats st;

    store_name(s, "a.test.");
    store_name(s, "b.test.");
    store_name(s, "c.test.");
    CHECK(cached(s, "a.test.", MIRAGE_DNS_A, NULL)); /* a used: b is the oldest */
    store_name(s, "d.test.");
    CHECK(cached(s, "a.test.", MIRAGE_DNS_A, NULL));
    CHECK(!cached(s, "b.test.", MIRAGE_DNS_A, NULL));
    CHECK(cached(s, "c.test.", MIRAGE_DNS_A, NULL));
    CHECK(cached(s, "d.test.", MIRAGE_DNS_A, NULL));
    /* The same name again replaces its entry. */
    store_name(s, "d.test.");
    mirage_dns_stub_stats(s, &st);
    CHECK_INT(st.cached, 3);
    CHECK_INT(st.evicted, 1);
    mirage_dns_stub_free(s);

    /* Bytes: each message here is 40 bytes; 100 bytes hold two. */
    s = cache(0, 100);
    store_name(s, "a.test.");
    store_name(s, "b.test.");
    mirage_dns_stub_stats(s, &st);
    CHECK_INT(st.cached_bytes, 80);
    store_name(s, "c.test.");
    mirage_dns_stub_stats(s, &st);
    CHECK_INT(st.cached, 2);
    CHECK_INT(st.cached_bytes, 80);
    CHECK(!cached(s, "a.test.", MIRAGE_DNS_A, NULL));
    CHECK(cached(s, "b.test.", MIRAGE_DNS_A, NULL));
    mirage_dns_stub_free(s);
}

/* A client's query for (q) with (id), with EDNS's payload (0: no EDNS). */
static size_t query(uint8_t *buf, uint16_t id, const struct mirage_dns_question *q,
                    uint16_t payload)
{
    struct mirage_dns_writer wr;
    struct mirage_dns_edns e = {.payload = payload};

    mirage_dns_write_begin(&wr, buf, 512, id, MIRAGE_DNS_RD);
    CHECK_INT(mirage_dns_write_question(&wr, q), 0);
    if (payload)
        CHECK_INT(mirage_dns_write_edns(&wr, &e), 0);
    return mirage_dns_write_end(&wr);
}

static void test_answer(void)
{
    struct mirage_dns_question q = question("many.test.", MIRAGE_DNS_A);
    static struct mirage_dns_rr a[100];
    static uint8_t addrs[100][4], msg[4096], out[65535];
    uint8_t qbuf[512];
    struct mirage_dns_reader rd;
    struct mirage_dns_rr r;
    int section, count = 0;

    for (int i = 0; i < 100; i++) {
        memcpy(addrs[i], addr1, 4);
        addrs[i][3] = (uint8_t)i;
        a[i] = rr("many.test.", MIRAGE_DNS_A, 60, addrs[i], 4);
    }
    size_t n = answer(msg, sizeof(msg), 7, 0, &q, a, 100, 0, 0);
    CHECK(n > 1232);
    /* Over TCP: all of it, the client's id, TTLs less the age, RA, AA never. */
    size_t ql = query(qbuf, 0xbeef, &q, 0);
    size_t m = mirage_dns_stub_answer(msg, n, 25, qbuf, ql, 1, out, sizeof(out));
    CHECK_INT(mirage_dns_stub_match(out, m, 0xbeef, &q, NULL), 0);
    CHECK_INT(mirage_dns_read_begin(&rd, out, m), 0);
    CHECK(rd.h.flags & MIRAGE_DNS_RA);
    CHECK(!(rd.h.flags & (MIRAGE_DNS_AA | MIRAGE_DNS_TC)));
    while (mirage_dns_read_rr(&rd, &r, &section) == 0) {
        CHECK_INT(r.ttl, 35);
        count++;
    }
    CHECK_INT(count, 100);
    /* Over UDP without EDNS: 512 bytes, so TC and no records; with EDNS 1232 at most. */
    m = mirage_dns_stub_answer(msg, n, 0, qbuf, ql, 0, out, 1232);
    CHECK(m <= 512);
    CHECK_INT(mirage_dns_read_begin(&rd, out, m), 0);
    CHECK(rd.h.flags & MIRAGE_DNS_TC);
    CHECK_INT(rd.h.count[1], 0);
    ql = query(qbuf, 0xbeef, &q, 4096);
    m = mirage_dns_stub_answer(msg, n, 0, qbuf, ql, 0, out, 1232);
    CHECK(m <= 1232);
    CHECK_INT(mirage_dns_read_begin(&rd, out, m), 0);
    CHECK(rd.h.flags & MIRAGE_DNS_TC);
    CHECK_INT(rd.h.count[3], 1); /* our OPT */
    /* Not a query: nothing. */
    qbuf[2] |= 0x80;
    CHECK_INT(mirage_dns_stub_answer(msg, n, 0, qbuf, ql, 0, out, 1232), 0);
}

static void test_resolve_chain(void)
{
    struct mirage_dns_stub *s = cache(0, 0);
    struct mirage_dns_question q = question("www.test.", MIRAGE_DNS_A);
    struct mirage_dns_name mid = name("mid.test."), end = name("end.test.");
    /* The chain's links out of order: www -> mid -> end, end's address first. */
    struct mirage_dns_rr rrs[3] = {rr("end.test.", MIRAGE_DNS_A, 60, addr2, 4),
                                   rr("mid.test.", MIRAGE_DNS_CNAME, 60, end.wire, end.len),
                                   rr("www.test.", MIRAGE_DNS_CNAME, 60, mid.wire, mid.len)};
    struct mirage_ipaddr ip[4];
    uint8_t msg[512];
    size_t n = answer(msg, sizeof(msg), 1, 0, &q, rrs, 3, 0, 0), got = 0;

    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 60);
    CHECK_INT(mirage_dns_resolve(s, "www.test", MIRAGE_DNS_A, ip, 4, &got, MIRAGE_FOREVER), 0);
    CHECK_INT(got, 1);
    CHECK_INT(ip[0].family, 4);
    CHECK(memcmp(ip[0].a, addr2, 4) == 0);

    /* A chain leaving the answer: its end is asked for (here: found in the cache). */
    q = question("alias.test.", MIRAGE_DNS_A);
    struct mirage_dns_rr alias = rr("alias.test.", MIRAGE_DNS_CNAME, 60, mid.wire, mid.len);
    n = answer(msg, sizeof(msg), 1, 0, &q, &alias, 1, 0, 0);
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 60);
    q = question("mid.test.", MIRAGE_DNS_A);
    n = answer(msg, sizeof(msg), 1, 0, &q, rrs, 2, 0, 0);
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 60);
    CHECK_INT(mirage_dns_resolve(s, "alias.test.", MIRAGE_DNS_A, ip, 4, &got, MIRAGE_FOREVER), 0);
    CHECK_INT(got, 1);
    CHECK(memcmp(ip[0].a, addr2, 4) == 0);

    /* A loop: loop -> loop. */
    struct mirage_dns_name self = name("loop.test.");
    q = question("loop.test.", MIRAGE_DNS_A);
    struct mirage_dns_rr l = rr("loop.test.", MIRAGE_DNS_CNAME, 60, self.wire, self.len);
    n = answer(msg, sizeof(msg), 1, 0, &q, &l, 1, 0, 0);
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 60);
    CHECK_INT(mirage_dns_resolve(s, "loop.test.", MIRAGE_DNS_A, ip, 4, &got, MIRAGE_FOREVER),
              MIRAGE_ELOOP);

    /* NXDOMAIN: no address; not a name. */
    q = question("gone.test.", MIRAGE_DNS_A);
    n = answer(msg, sizeof(msg), 1, MIRAGE_DNS_NXDOMAIN, &q, NULL, 0, 60, 60);
    CHECK_INT(mirage_dns_stub_store(s, &q, msg, n), 60);
    CHECK_INT(mirage_dns_resolve(s, "gone.test", MIRAGE_DNS_A, ip, 4, &got, MIRAGE_FOREVER),
              MIRAGE_ENOENT);
    CHECK_INT(mirage_dns_resolve(s, "a..b", MIRAGE_DNS_A, ip, 4, &got, MIRAGE_FOREVER),
              MIRAGE_EINVAL);
    CHECK_INT(mirage_dns_resolve(s, "www.test", MIRAGE_DNS_MX, ip, 4, &got, MIRAGE_FOREVER),
              MIRAGE_EINVAL);
    mirage_dns_stub_free(s);
}

static void test_servers(void)
{
    const char *good[] = {"10.0.0.1", "fc00::53"}, *bad[] = {"10.0.0.1", "dns.example"};
    struct mirage_key_list g = {good, 2}, b = {bad, 2}, none = {NULL, 0};
    struct mirage_dns_stub_config cfg;
    char err[128];

    CHECK_INT(mirage_dns_stub_servers(&g, &cfg, err, sizeof(err)), 0);
    CHECK_INT(cfg.nservers, 2);
    CHECK_INT(cfg.servers[0].family, 4);
    CHECK_INT(cfg.servers[1].family, 6);
    CHECK_INT(cfg.servers[1].a[15], 0x53);
    CHECK_INT(mirage_dns_stub_servers(&b, &cfg, err, sizeof(err)), MIRAGE_EINVAL);
    CHECK_STR(err, "'dns.example' is not an IPv4 or IPv6 address");
    CHECK_INT(mirage_dns_stub_servers(&none, &cfg, err, sizeof(err)), MIRAGE_EINVAL);
    CHECK_STR(err, "no server given");
}

int main(void)
{
    test_match();
    test_ttl();
    test_negative();
    test_bounds();
    test_answer();
    test_resolve_chain();
    test_servers();
    CHECK_DONE();
}
