/* test_dns_xfr.c: zone transfers in: AXFR over several messages, IXFR differences applied or
 * refused, a lone SOA, errors of the primary, TSIG over the whole run. */
#include <bearssl.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mirage/dns.h"

static struct mirage_dns_name name(const char *text)
{
    struct mirage_dns_name n;
    CHECK_INT(mirage_dns_name_from_text(&n, text, strlen(text), NULL, NULL), 0);
    return n;
}

static const struct mirage_dns_name *origin(void)
{
    static struct mirage_dns_name o;
    o = name("x.test.");
    return &o;
}

/* A message of the answer to (qtype) being written. */
struct msg {
    struct mirage_dns_writer wr;
    uint8_t buf[4096];
    uint8_t rd[512][64]; /* RDATA of each record, alive with the message */
    int n;
};

static void msg_begin(struct msg *m, uint16_t id, uint16_t qtype, int question)
{
    struct mirage_dns_question q = {*origin(), qtype, MIRAGE_DNS_CLASS_IN};
    mirage_dns_write_begin(&m->wr, m->buf, sizeof(m->buf), id, MIRAGE_DNS_QR | MIRAGE_DNS_AA);
    if (question)
        CHECK_INT(mirage_dns_write_question(&m->wr, &q), 0);
    m->n = 0;
}

static void put(struct msg *m, const char *owner, uint16_t type, const uint8_t *rd, size_t len)
{
    struct mirage_dns_rr rr = {name(owner), type, MIRAGE_DNS_CLASS_IN, 60, (uint16_t)len, NULL};
    memcpy(m->rd[m->n], rd, len);
    rr.rdata = m->rd[m->n++];
    CHECK_INT(mirage_dns_write_rr(&m->wr, MIRAGE_DNS_ANSWER, &rr), 0);
}

static void soa(struct msg *m, uint32_t serial)
{
    struct mirage_dns_soa s = {name("ns.x.test."), name("hm.x.test."), serial, 3600, 600, 86400,
                               300};
    uint8_t rd[600];
    struct mirage_wr w = mirage_wr_init(rd, sizeof(rd));
    mirage_dns_soa_write(&w, &s);
    put(m, "x.test.", MIRAGE_DNS_SOA, rd, w.off);
}

static void a(struct msg *m, const char *owner, uint8_t last)
{
    uint8_t rd[4] = {192, 0, 2, last};
    put(m, owner, MIRAGE_DNS_A, rd, 4);
}

static void ns(struct msg *m)
{
    struct mirage_dns_name n = name("ns.x.test.");
    put(m, "x.test.", MIRAGE_DNS_NS, n.wire, n.len);
}

static size_t msg_end(struct msg *m)
{
    return mirage_dns_write_end(&m->wr);
}

/* The address www has in (z), or -1. */
static int www(const struct mirage_dns_zone *z, const char *owner)
{
    struct mirage_dns_rr rr;
    struct mirage_dns_name n = name(owner);
    for (size_t i = 0; mirage_dns_zone_record(z, i, &rr) == 0; i++)
        if (mirage_dns_name_equal(&rr.name, &n) && rr.type == MIRAGE_DNS_A)
            return rr.rdata[3];
    return -1;
}

static uint32_t serial_of(const struct mirage_dns_zone *z)
{
    struct mirage_dns_soa s;
    CHECK_INT(mirage_dns_zone_soa(z, &s, NULL), 0);
    return s.serial;
}

/* An AXFR of serial 1 over two messages (the question only in the first). */
static struct mirage_dns_zone *axfr(void)
{
    struct mirage_dns_xfr_in x;
    struct mirage_dns_zone *z = NULL;
    struct mirage_dns_zone_error err;
    static struct msg m;
    uint8_t mac[32] = {0};

    mirage_dns_xfr_in_begin(&x, origin(), NULL, MIRAGE_DNS_AXFR, 7, NULL, mac);
    msg_begin(&m, 7, MIRAGE_DNS_AXFR, 1);
    soa(&m, 1);
    ns(&m);
    a(&m, "ns.x.test.", 53);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), 0);
    msg_begin(&m, 7, MIRAGE_DNS_AXFR, 0);
    a(&m, "www.x.test.", 1);
    soa(&m, 1);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), 1);
    CHECK_INT(x.messages, 2);
    CHECK_INT(x.incremental, 0);
    CHECK_INT(mirage_dns_xfr_in_finish(&x, "AXFR", &z, &err), 0);
    CHECK(z != NULL);
    if (z != NULL) {
        CHECK_INT(mirage_dns_zone_count(z), 4);
        CHECK_INT(serial_of(z), 1);
        CHECK_INT(www(z, "www.x.test."), 1);
    }
    mirage_dns_xfr_in_free(&x);
    return z;
}

/* IXFR from 1 to 3 in two differences: www 1 -> 2, then mail added. */
static void ixfr(const struct mirage_dns_zone *cur)
{
    struct mirage_dns_xfr_in x;
    struct mirage_dns_zone *z = NULL;
    struct mirage_dns_zone_error err;
    static struct msg m;
    uint8_t mac[32] = {0};

    mirage_dns_xfr_in_begin(&x, origin(), cur, MIRAGE_DNS_IXFR, 8, NULL, mac);
    msg_begin(&m, 8, MIRAGE_DNS_IXFR, 1);
    soa(&m, 3);
    soa(&m, 1);
    a(&m, "www.x.test.", 1);
    soa(&m, 2);
    a(&m, "www.x.test.", 2);
    soa(&m, 2);
    soa(&m, 3);
    a(&m, "mail.x.test.", 25);
    soa(&m, 3);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), 1);
    CHECK_INT(x.incremental, 1);
    CHECK_INT(x.diffs, 2);
    int rc = mirage_dns_xfr_in_finish(&x, "IXFR", &z, &err);
    if (rc != 0)
        fprintf(stderr, "%s:%u: %s\n", err.file, err.line, err.msg);
    CHECK_INT(rc, 0);
    if (z != NULL) {
        CHECK_INT(serial_of(z), 3);
        CHECK_INT(www(z, "www.x.test."), 2);
        CHECK_INT(www(z, "mail.x.test."), 25);
        CHECK_INT(mirage_dns_zone_count(z), 5);
    }
    mirage_dns_zone_free(z);
    mirage_dns_xfr_in_free(&x);

    /* A difference deleting what our copy does not hold: refused, nothing built. */
    mirage_dns_xfr_in_begin(&x, origin(), cur, MIRAGE_DNS_IXFR, 9, NULL, mac);
    msg_begin(&m, 9, MIRAGE_DNS_IXFR, 1);
    soa(&m, 2);
    soa(&m, 1);
    a(&m, "www.x.test.", 77);
    soa(&m, 2);
    soa(&m, 2);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), 1);
    CHECK_INT(mirage_dns_xfr_in_finish(&x, "IXFR from 10.0.0.1", &z, &err), MIRAGE_EINVAL);
    CHECK(z == NULL);
    CHECK_STR(err.file, "IXFR from 10.0.0.1");
    CHECK_STR(err.msg, "the difference deletes www.x.test. A, which our copy does not hold");
    mirage_dns_xfr_in_free(&x);

    /* A lone SOA of our serial: current, nothing to build. */
    mirage_dns_xfr_in_begin(&x, origin(), cur, MIRAGE_DNS_IXFR, 10, NULL, mac);
    msg_begin(&m, 10, MIRAGE_DNS_IXFR, 1);
    soa(&m, 1);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), 1);
    CHECK_INT(x.uptodate, 1);
    CHECK_INT(mirage_dns_xfr_in_finish(&x, "IXFR", &z, &err), 0);
    CHECK(z == NULL);
    mirage_dns_xfr_in_free(&x);

    /* An IXFR answered in AXFR's form (as NSD 4.6 does): the whole zone. */
    mirage_dns_xfr_in_begin(&x, origin(), cur, MIRAGE_DNS_IXFR, 11, NULL, mac);
    msg_begin(&m, 11, MIRAGE_DNS_IXFR, 1);
    soa(&m, 5);
    ns(&m);
    a(&m, "ns.x.test.", 53);
    a(&m, "www.x.test.", 5);
    soa(&m, 5);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), 1);
    CHECK_INT(x.incremental, 0);
    CHECK_INT(mirage_dns_xfr_in_finish(&x, "IXFR", &z, &err), 0);
    if (z != NULL)
        CHECK_INT(www(z, "www.x.test."), 5);
    mirage_dns_zone_free(z);
    mirage_dns_xfr_in_free(&x);
}

/* What the primary can get wrong. */
static void errors(void)
{
    struct mirage_dns_xfr_in x;
    static struct msg m;
    uint8_t mac[32] = {0};
    size_t len;

    mirage_dns_xfr_in_begin(&x, origin(), NULL, MIRAGE_DNS_AXFR, 7, NULL, mac);
    msg_begin(&m, 8, MIRAGE_DNS_AXFR, 1);
    soa(&m, 1);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), MIRAGE_EBADMSG);
    CHECK_STR(x.why, "an answer with id 8, not ours (7)");
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), MIRAGE_EBADMSG);
    mirage_dns_xfr_in_free(&x);

    mirage_dns_xfr_in_begin(&x, origin(), NULL, MIRAGE_DNS_AXFR, 7, NULL, mac);
    msg_begin(&m, 7, MIRAGE_DNS_AXFR, 1);
    m.wr.flags |= MIRAGE_DNS_NOTAUTH;
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), MIRAGE_EPROTO);
    CHECK_STR(x.why, "the primary answered NOTAUTH");
    mirage_dns_xfr_in_free(&x);

    mirage_dns_xfr_in_begin(&x, origin(), NULL, MIRAGE_DNS_AXFR, 7, NULL, mac);
    msg_begin(&m, 7, MIRAGE_DNS_AXFR, 1);
    a(&m, "www.x.test.", 1);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), MIRAGE_EBADMSG);
    CHECK_STR(x.why, "the first record is not the zone's SOA");
    mirage_dns_xfr_in_free(&x);

    /* A record after the closing SOA; a truncated message. */
    mirage_dns_xfr_in_begin(&x, origin(), NULL, MIRAGE_DNS_AXFR, 7, NULL, mac);
    msg_begin(&m, 7, MIRAGE_DNS_AXFR, 1);
    soa(&m, 1);
    soa(&m, 1);
    a(&m, "www.x.test.", 1);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, msg_end(&m), 0), MIRAGE_EBADMSG);
    CHECK_STR(x.why, "a record after the transfer's last SOA");
    mirage_dns_xfr_in_free(&x);
    mirage_dns_xfr_in_begin(&x, origin(), NULL, MIRAGE_DNS_AXFR, 7, NULL, mac);
    msg_begin(&m, 7, MIRAGE_DNS_AXFR, 1);
    soa(&m, 1);
    len = msg_end(&m);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m.buf, len - 3, 0), MIRAGE_EBADMSG);
    mirage_dns_xfr_in_free(&x);
}

/* The MAC of a later message of a run (RFC 8945 5.3.1), computed here on its own:
 * the previous MAC, the unsigned messages, this one, the timers. */
static void later_mac(const struct mirage_dns_tsig_key *key, const uint8_t prev[32],
                      const uint8_t *unsigned_msg, size_t ulen, const uint8_t *msg, size_t len,
                      uint64_t now, uint8_t out[32])
{
    br_hmac_key_context kc;
    br_hmac_context h;
    uint8_t b[8] = {0, 32};

    br_hmac_key_init(&kc, &br_sha256_vtable, key->secret, key->secret_len);
    br_hmac_init(&h, &kc, 0);
    br_hmac_update(&h, b, 2);
    br_hmac_update(&h, prev, 32);
    br_hmac_update(&h, unsigned_msg, ulen);
    br_hmac_update(&h, msg, len);
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(now >> (40 - 8 * i));
    b[6] = 1;
    b[7] = 44; /* fudge 300 */
    br_hmac_update(&h, b, 8);
    br_hmac_out(&h, out);
}

/* Appends a TSIG record carrying (mac) to the message. */
static void put_tsig(struct msg *m, const struct mirage_dns_tsig_key *key, uint64_t now,
                     const uint8_t mac[32])
{
    uint8_t rd[64];
    struct mirage_dns_name alg = name("hmac-sha256.");
    struct mirage_wr w = mirage_wr_init(rd, sizeof(rd));
    mirage_wr_bytes(&w, alg.wire, alg.len);
    mirage_wr_uint_(&w, now, 6, 0);
    mirage_wr_be16(&w, 300);
    mirage_wr_be16(&w, 32);
    mirage_wr_bytes(&w, mac, 32);
    mirage_wr_be16(&w, m->wr.id);
    mirage_wr_be16(&w, 0);
    mirage_wr_be16(&w, 0);
    struct mirage_dns_rr rr = {key->name, MIRAGE_DNS_TSIG, MIRAGE_DNS_CLASS_ANY, 0,
                               (uint16_t)w.off, rd};
    CHECK_INT(mirage_dns_write_rr(&m->wr, MIRAGE_DNS_ADDITIONAL, &rr), 0);
}

/* Three messages: signed, not signed, signed over both; then the last one tampered with. */
static void tsig(void)
{
    struct mirage_dns_tsig_key key;
    struct mirage_dns_xfr_in x;
    static struct msg m1, m2, m3;
    uint8_t req[32], mac1[32], mac3[32];
    uint64_t now = 1796000000;
    const char *why;
    size_t l1, l2, l3;

    CHECK_INT(mirage_dns_tsig_key_parse("hmac-sha256:k.:c2VjcmV0", 23, &key, &why), 0);
    CHECK_INT(key.secret_len, 6);
    CHECK_INT(mirage_dns_tsig_key_parse("k:c2VjcmV0", 10, &key, &why), 0);
    CHECK_INT(mirage_dns_tsig_key_parse("k:not base64", 12, &key, &why), MIRAGE_EINVAL);
    CHECK_STR(why, "the secret is not base64 of 1 to 64 bytes");
    CHECK_INT(mirage_dns_tsig_key_parse("nocolon", 7, &key, &why), MIRAGE_EINVAL);
    CHECK_INT(mirage_dns_tsig_key_parse("k:c2VjcmV0", 10, &key, &why), 0);
    memset(req, 0x5a, sizeof(req));

    msg_begin(&m1, 7, MIRAGE_DNS_AXFR, 1);
    soa(&m1, 1);
    ns(&m1);
    CHECK_INT(mirage_dns_tsig_sign(&m1.wr, &key, now, 300, req, 32, 0, mac1), 0);
    l1 = msg_end(&m1);
    msg_begin(&m2, 7, MIRAGE_DNS_AXFR, 0);
    a(&m2, "ns.x.test.", 53);
    l2 = msg_end(&m2);
    msg_begin(&m3, 7, MIRAGE_DNS_AXFR, 0);
    soa(&m3, 1);
    size_t body = msg_end(&m3);
    later_mac(&key, mac1, m2.buf, l2, m3.buf, body, now, mac3);
    put_tsig(&m3, &key, now, mac3);
    l3 = msg_end(&m3);

    for (int tamper = 0; tamper < 2; tamper++) {
        mirage_dns_xfr_in_begin(&x, origin(), NULL, MIRAGE_DNS_AXFR, 7, &key, req);
        CHECK_INT(mirage_dns_xfr_in_message(&x, m1.buf, l1, now), 0);
        CHECK_INT(mirage_dns_xfr_in_message(&x, m2.buf, l2, now), 0);
        m3.buf[body - 1] ^= (uint8_t)tamper; /* the closing SOA's minimum */
        CHECK_INT(mirage_dns_xfr_in_message(&x, m3.buf, l3, now), tamper ? MIRAGE_EACCES : 1);
        if (tamper)
            CHECK_STR(x.why, "TSIG: MAC does not match");
        m3.buf[body - 1] ^= (uint8_t)tamper;
        mirage_dns_xfr_in_free(&x);
    }
    /* The last message unsigned: refused. */
    mirage_dns_xfr_in_begin(&x, origin(), NULL, MIRAGE_DNS_AXFR, 7, &key, req);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m1.buf, l1, now), 0);
    msg_begin(&m2, 7, MIRAGE_DNS_AXFR, 0);
    a(&m2, "ns.x.test.", 53);
    soa(&m2, 1);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m2.buf, msg_end(&m2), now), MIRAGE_EACCES);
    CHECK_STR(x.why, "TSIG: the last message is not signed");
    mirage_dns_xfr_in_free(&x);
    /* The first message unsigned: refused. */
    mirage_dns_xfr_in_begin(&x, origin(), NULL, MIRAGE_DNS_AXFR, 7, &key, req);
    msg_begin(&m2, 7, MIRAGE_DNS_AXFR, 1);
    soa(&m2, 1);
    CHECK_INT(mirage_dns_xfr_in_message(&x, m2.buf, msg_end(&m2), now), MIRAGE_EACCES);
    CHECK_STR(x.why, "TSIG: the first answer is not signed");
    mirage_dns_xfr_in_free(&x);
}

int main(void)
{
    struct mirage_dns_zone *z = axfr();
    if (z != NULL)
        ixfr(z);
    mirage_dns_zone_free(z);
    errors();
    tsig();
    return CHECK_DONE();
}
