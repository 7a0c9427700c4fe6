/* tsig.c: TSIG (RFC 8945) with HMAC-SHA256 from BearSSL: verifying a signed message, signing one.
 */
#include <string.h>

#include <bearssl.h>

#include "dns_internal.h"

/* hmac-sha256., the one algorithm offered. */
static const uint8_t hmac_sha256[] = "\13hmac-sha256";
#define ALG_LEN sizeof(hmac_sha256) /* with the root's 0 */

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Feeds (n) in canonical form (lower case) to the MAC. */
static void mac_name(br_hmac_context *h, const struct mirage_dns_name *n)
{
    uint8_t buf[MIRAGE_DNS_NAME_MAX];

    for (size_t i = 0; i < n->len; i++)
        buf[i] = lower(n->wire[i]);
    br_hmac_update(h, buf, n->len);
}

/* The MAC of RFC 8945 4.3.3: the request's MAC (for an answer), the message
 * as it was without its TSIG (ARCOUNT one less, the original id), then the
 * TSIG variables; or, for a later message of a transfer (timers_only, 5.3.1),
 * the previous message's MAC, the message, and only the time and fudge. */
static void compute(const struct mirage_dns_tsig_key *key, const uint8_t *request_mac,
                    size_t request_mac_len, const uint8_t *msg, size_t len, uint16_t original_id,
                    uint16_t arcount, uint64_t signed_at, uint16_t fudge, uint16_t error,
                    const uint8_t *other, uint16_t other_len, int timers_only, uint8_t out[32])
{
    br_hmac_key_context kc;
    br_hmac_context h;
    uint8_t b[16];
    struct mirage_wr w;

    br_hmac_key_init(&kc, &br_sha256_vtable, key->secret, key->secret_len);
    br_hmac_init(&h, &kc, 0);
    if (request_mac != NULL) {
        w = mirage_wr_init(b, sizeof(b));
        mirage_wr_be16(&w, (uint16_t)request_mac_len);
        br_hmac_update(&h, b, w.off);
        br_hmac_update(&h, request_mac, request_mac_len);
    }
    w = mirage_wr_init(b, sizeof(b));
    mirage_wr_be16(&w, original_id);
    br_hmac_update(&h, b, 2);
    br_hmac_update(&h, msg + 2, 8);
    w = mirage_wr_init(b, sizeof(b));
    mirage_wr_be16(&w, arcount);
    br_hmac_update(&h, b, 2);
    br_hmac_update(&h, msg + MIRAGE_DNS_HEADER, len - MIRAGE_DNS_HEADER);
    if (timers_only) {
        w = mirage_wr_init(b, sizeof(b));
        mirage_wr_uint_(&w, signed_at, 6, 0);
        mirage_wr_be16(&w, fudge);
        br_hmac_update(&h, b, w.off);
        br_hmac_out(&h, out);
        return;
    }
    mac_name(&h, &key->name);
    w = mirage_wr_init(b, sizeof(b));
    mirage_wr_be16(&w, MIRAGE_DNS_CLASS_ANY);
    mirage_wr_be32(&w, 0);
    br_hmac_update(&h, b, w.off);
    br_hmac_update(&h, hmac_sha256, ALG_LEN);
    w = mirage_wr_init(b, sizeof(b));
    mirage_wr_uint_(&w, signed_at, 6, 0);
    mirage_wr_be16(&w, fudge);
    mirage_wr_be16(&w, error);
    mirage_wr_be16(&w, other_len);
    br_hmac_update(&h, b, w.off);
    br_hmac_update(&h, other, other_len);
    br_hmac_out(&h, out);
}

/* Where a message's TSIG is and what it says. */
struct tsig_found {
    size_t tsig_at;   /* where the TSIG record starts */
    uint16_t arcount; /* ARCOUNT without it */
    int alg_ok;       /* hmac-sha256 */
    uint16_t maclen, original_id, error, other_len;
    const uint8_t *mac, *other;
};

/* Finds the TSIG that must be the last record of (msg, len). Returns 0,
 * MIRAGE_ENOENT (not signed) or MIRAGE_EBADMSG, with res->why. */
static int find(const uint8_t *msg, size_t len, struct mirage_dns_tsig_result *res,
                struct tsig_found *f)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_rr rr;
    int section, rc;
    size_t start = 0;

    memset(res, 0, sizeof(*res));
    memset(f, 0, sizeof(*f));
    res->error = MIRAGE_DNS_FORMERR;
    if (mirage_dns_read_begin(&rd, msg, len) < 0)
        return dns_fail(&res->why, "shorter than a header", MIRAGE_EBADMSG);
    /* The TSIG is the last record of the message (RFC 8945 5.1). */
    struct mirage_dns_question q;
    while ((rc = mirage_dns_read_question(&rd, &q)) == 0)
        ;
    if (rc != MIRAGE_ENOENT)
        return dns_fail(&res->why, rd.why, MIRAGE_EBADMSG);
    int have = 0;
    for (;;) {
        start = rd.off;
        if ((rc = mirage_dns_read_rr(&rd, &rr, &section)) != 0)
            break;
        if (have)
            return dns_fail(&res->why, "a record after the TSIG", MIRAGE_EBADMSG);
        if (rr.type == MIRAGE_DNS_TSIG) {
            if (section != MIRAGE_DNS_ADDITIONAL)
                return dns_fail(&res->why, "TSIG outside the additional section", MIRAGE_EBADMSG);
            if (rr.rclass != MIRAGE_DNS_CLASS_ANY || rr.ttl != 0)
                return dns_fail(&res->why, "TSIG not of class ANY with TTL 0", MIRAGE_EBADMSG);
            have = 1;
            f->tsig_at = start;
            res->rr_name = rr.name;
            res->tsig_rdata = rr.rdata;
            res->tsig_rdlen = rr.rdlen;
        }
    }
    if (rc != MIRAGE_ENOENT)
        return dns_fail(&res->why, rd.why, MIRAGE_EBADMSG);
    if (!have) {
        res->error = 0;
        return dns_fail(&res->why, "not signed", MIRAGE_ENOENT);
    }
    struct mirage_rd r = mirage_rd_init(res->tsig_rdata, res->tsig_rdlen);
    struct mirage_dns_name alg;
    if (dns_name_read(&r, NULL, 0, &alg, &res->why) < 0)
        return MIRAGE_EBADMSG;
    res->signed_at = mirage_rd_uint_(&r, 6, 0);
    res->fudge = mirage_rd_be16(&r);
    f->maclen = mirage_rd_be16(&r);
    f->mac = mirage_rd_take(&r, f->maclen);
    f->original_id = mirage_rd_be16(&r);
    f->error = mirage_rd_be16(&r);
    f->other_len = mirage_rd_be16(&r);
    f->other = mirage_rd_take(&r, f->other_len);
    if (r.bad || mirage_rd_left(&r) != 0)
        return dns_fail(&res->why, "TSIG RDATA malformed", MIRAGE_EBADMSG);
    struct mirage_dns_name want = {(uint8_t)ALG_LEN, {0}};
    memcpy(want.wire, hmac_sha256, ALG_LEN);
    f->alg_ok = mirage_dns_name_equal(&alg, &want);
    f->arcount = (uint16_t)(rd.h.count[3] - 1);
    return 0;
}

int mirage_dns_tsig_verify(const uint8_t *msg, size_t len, const struct mirage_dns_tsig_key *keys,
                           size_t nkeys, uint64_t now, const uint8_t *request_mac,
                           size_t request_mac_len, struct mirage_dns_tsig_result *res)
{
    struct tsig_found f;
    int rc;

    if ((rc = find(msg, len, res, &f)) < 0)
        return rc;
    res->error = MIRAGE_DNS_NOTAUTH;
    uint64_t signed_at = res->signed_at;
    uint16_t fudge = res->fudge;
    const struct mirage_dns_tsig_key *key = NULL;
    for (size_t i = 0; i < nkeys; i++)
        if (mirage_dns_name_equal(&keys[i].name, &res->rr_name))
            key = &keys[i];
    if (key == NULL || !f.alg_ok) {
        res->tsig_error = MIRAGE_DNS_BADKEY;
        return dns_fail(&res->why, key ? "algorithm is not hmac-sha256" : "unknown key",
                        MIRAGE_EACCES);
    }
    res->key = key;
    /* A MAC shorter than half the hash is refused (RFC 8945 5.2.2.1); we ask for all of it. */
    uint8_t want_mac[32];
    compute(key, request_mac, request_mac_len, msg, f.tsig_at, f.original_id, f.arcount, signed_at,
            fudge, f.error, f.other, f.other_len, 0, want_mac);
    int diff = f.maclen != 32;
    for (size_t i = 0; i < 32 && f.maclen == 32; i++)
        diff |= want_mac[i] ^ f.mac[i];
    if (diff) {
        res->tsig_error = MIRAGE_DNS_BADSIG;
        return dns_fail(&res->why, "MAC does not match", MIRAGE_EACCES);
    }
    memcpy(res->mac, f.mac, 32);
    if (now + fudge < signed_at || now > signed_at + fudge) {
        res->tsig_error = MIRAGE_DNS_BADTIME;
        return dns_fail(&res->why, "signed outside the time allowed (fudge)", MIRAGE_EACCES);
    }
    res->error = 0;
    return 0;
}

/* Appends the TSIG record (key name, hmac-sha256, now, fudge, (mac, maclen),
 * the message's id, error, other data) to the message (wr) holds. */
static int append(struct mirage_dns_writer *wr, const struct mirage_dns_name *name, uint64_t now,
                  uint16_t fudge, const uint8_t *mac, uint16_t maclen, uint16_t tsig_error,
                  const uint8_t *other, uint16_t other_len)
{
    uint8_t rdata[ALG_LEN + 6 + 2 + 2 + 32 + 2 + 2 + 2 + 6];
    struct mirage_wr w = mirage_wr_init(rdata, sizeof(rdata));
    struct mirage_dns_rr rr;

    mirage_wr_bytes(&w, hmac_sha256, ALG_LEN);
    mirage_wr_uint_(&w, now, 6, 0);
    mirage_wr_be16(&w, fudge);
    mirage_wr_be16(&w, maclen);
    mirage_wr_bytes(&w, mac, maclen);
    mirage_wr_be16(&w, wr->id);
    mirage_wr_be16(&w, tsig_error);
    mirage_wr_be16(&w, other_len);
    mirage_wr_bytes(&w, other, other_len);
    rr.name = *name;
    rr.type = MIRAGE_DNS_TSIG;
    rr.rclass = MIRAGE_DNS_CLASS_ANY;
    rr.ttl = 0;
    rr.rdata = rdata;
    rr.rdlen = (uint16_t)w.off;
    return mirage_dns_write_rr(wr, MIRAGE_DNS_ADDITIONAL, &rr);
}

/* Signs as mirage_dns_tsig_sign, or as a later message of a transfer. */
static int sign(struct mirage_dns_writer *wr, const struct mirage_dns_tsig_key *key, uint64_t now,
                uint16_t fudge, const uint8_t *request_mac, size_t request_mac_len,
                uint16_t tsig_error, int timers_only, uint8_t mac[32])
{
    uint8_t other[6];
    uint16_t other_len = 0;

    /* BADTIME answers carry our time in other data (RFC 8945 5.2.3). */
    if (tsig_error == MIRAGE_DNS_BADTIME) {
        struct mirage_wr w = mirage_wr_init(other, sizeof(other));
        mirage_wr_uint_(&w, now, 6, 0);
        other_len = 6;
    }
    /* The message so far, as its header will be. */
    size_t end = wr->w.off;
    mirage_dns_write_end(wr);
    if (wr->w.bad)
        return MIRAGE_ENOSPC;
    compute(key, request_mac, request_mac_len, wr->w.p, end, wr->id, wr->count[3], now, fudge,
            tsig_error, other, other_len, timers_only, mac);
    return append(wr, &key->name, now, fudge, mac, 32, tsig_error, other, other_len);
}

int mirage_dns_tsig_sign(struct mirage_dns_writer *wr, const struct mirage_dns_tsig_key *key,
                         uint64_t now, uint16_t fudge, const uint8_t *request_mac,
                         size_t request_mac_len, uint16_t tsig_error, uint8_t mac[32])
{
    return sign(wr, key, now, fudge, request_mac, request_mac_len, tsig_error, 0, mac);
}

int mirage_dns_tsig_sign_next(struct mirage_dns_writer *wr, const struct mirage_dns_tsig_key *key,
                              uint64_t now, uint16_t fudge, uint8_t mac[32])
{
    uint8_t prior[32];

    memcpy(prior, mac, sizeof(prior));
    return sign(wr, key, now, fudge, prior, sizeof(prior), 0, 1, mac);
}

int mirage_dns_tsig_unsigned(struct mirage_dns_writer *wr, const struct mirage_dns_name *key_name,
                             uint64_t now, uint16_t fudge, uint16_t tsig_error)
{
    return append(wr, key_name, now, fudge, NULL, 0, tsig_error, NULL, 0);
}

/* ---- the answers of a multi-message transfer (RFC 8945 5.3.1) ------------- */

_Static_assert(sizeof(br_hmac_context) <= sizeof(((struct mirage_dns_tsig_stream *)0)->hmac_),
               "mirage_dns_tsig_stream's room for the running MAC is too small");

/* Starts the running MAC of what follows (mac): its length and itself. */
static void stream_restart(struct mirage_dns_tsig_stream *st)
{
    br_hmac_key_context kc;
    br_hmac_context *h = (br_hmac_context *)(void *)st->hmac_;
    uint8_t b[2] = {0, 32};

    br_hmac_key_init(&kc, &br_sha256_vtable, st->key->secret, st->key->secret_len);
    br_hmac_init(h, &kc, 0);
    br_hmac_update(h, b, 2);
    br_hmac_update(h, st->mac, 32);
    st->unsigned_run = 0;
}

void mirage_dns_tsig_stream_begin(struct mirage_dns_tsig_stream *st,
                                  const struct mirage_dns_tsig_key *key,
                                  const uint8_t request_mac[32])
{
    memset(st, 0, sizeof(*st));
    st->key = key;
    memcpy(st->mac, request_mac, 32);
}

int mirage_dns_tsig_stream_next(struct mirage_dns_tsig_stream *st, const uint8_t *msg, size_t len,
                                uint64_t now, struct mirage_dns_tsig_result *res)
{
    struct tsig_found f;
    int rc;

    if (st->messages == 0) {
        /* The first answer is signed as any answer: the request's MAC, all the variables. */
        rc = mirage_dns_tsig_verify(msg, len, st->key, 1, now, st->mac, 32, res);
        if (rc == MIRAGE_ENOENT) {
            res->error = MIRAGE_DNS_NOTAUTH;
            return dns_fail(&res->why, "the first answer is not signed", MIRAGE_EACCES);
        }
        if (rc < 0)
            return rc;
        memcpy(st->mac, res->mac, 32);
        st->messages = 1;
        stream_restart(st);
        return 0;
    }
    br_hmac_context *h = (br_hmac_context *)(void *)st->hmac_;
    rc = find(msg, len, res, &f);
    if (rc == MIRAGE_ENOENT) {
        if (++st->unsigned_run > 99) {
            res->error = MIRAGE_DNS_NOTAUTH;
            return dns_fail(&res->why, "over 99 answers in a row not signed", MIRAGE_EACCES);
        }
        br_hmac_update(h, msg, len);
        st->messages++;
        res->error = 0;
        return MIRAGE_EAGAIN;
    }
    if (rc < 0)
        return rc;
    res->error = MIRAGE_DNS_NOTAUTH;
    if (!mirage_dns_name_equal(&st->key->name, &res->rr_name) || !f.alg_ok) {
        res->tsig_error = MIRAGE_DNS_BADKEY;
        return dns_fail(&res->why, "signed with another key", MIRAGE_EACCES);
    }
    /* This message as it was unsigned, then only the timers. */
    uint8_t b[8], want[32];
    struct mirage_wr w = mirage_wr_init(b, sizeof(b));
    mirage_wr_be16(&w, f.original_id);
    br_hmac_update(h, b, 2);
    br_hmac_update(h, msg + 2, 8);
    w = mirage_wr_init(b, sizeof(b));
    mirage_wr_be16(&w, f.arcount);
    br_hmac_update(h, b, 2);
    br_hmac_update(h, msg + MIRAGE_DNS_HEADER, f.tsig_at - MIRAGE_DNS_HEADER);
    w = mirage_wr_init(b, sizeof(b));
    mirage_wr_uint_(&w, res->signed_at, 6, 0);
    mirage_wr_be16(&w, res->fudge);
    br_hmac_update(h, b, w.off);
    br_hmac_out(h, want);
    int diff = f.maclen != 32;
    for (size_t i = 0; i < 32 && f.maclen == 32; i++)
        diff |= want[i] ^ f.mac[i];
    if (diff) {
        res->tsig_error = MIRAGE_DNS_BADSIG;
        return dns_fail(&res->why, "MAC does not match", MIRAGE_EACCES);
    }
    if (now + res->fudge < res->signed_at || now > res->signed_at + res->fudge) {
        res->tsig_error = MIRAGE_DNS_BADTIME;
        return dns_fail(&res->why, "signed outside the time allowed (fudge)", MIRAGE_EACCES);
    }
    res->key = st->key;
    memcpy(res->mac, f.mac, 32);
    memcpy(st->mac, f.mac, 32);
    st->messages++;
    stream_restart(st);
    res->error = 0;
    return 0;
}

int mirage_dns_tsig_key_parse(const char *text, size_t len, struct mirage_dns_tsig_key *key,
                              const char **why)
{
    const char *colon = memchr(text, ':', len);
    static const char alg[] = "hmac-sha256:";

    memset(key, 0, sizeof(*key));
    if (len > sizeof(alg) - 1 && memcmp(text, alg, sizeof(alg) - 1) == 0) {
        text += sizeof(alg) - 1;
        len -= sizeof(alg) - 1;
        colon = memchr(text, ':', len);
    }
    if (colon == NULL)
        return dns_fail(why, "expected [hmac-sha256:]NAME:SECRET (SECRET in base64)",
                        MIRAGE_EINVAL);
    size_t nlen = (size_t)(colon - text);
    char name[MIRAGE_DNS_TEXT_MAX];
    if (nlen == 0 || nlen + 2 > sizeof(name))
        return dns_fail(why, "no key name", MIRAGE_EINVAL);
    memcpy(name, text, nlen);
    if (name[nlen - 1] != '.')
        name[nlen++] = '.';
    if (mirage_dns_name_from_text(&key->name, name, nlen, NULL, why) < 0)
        return MIRAGE_EINVAL;
    const uint8_t *b64 = (const uint8_t *)colon + 1;
    size_t blen = (size_t)(text + len - (const char *)b64);
    struct mirage_wr w = mirage_wr_init(key->secret, sizeof(key->secret));
    if (dns_base64(b64, blen, &w) < 0 || w.bad || w.off == 0)
        return dns_fail(why, "the secret is not base64 of 1 to 64 bytes", MIRAGE_EINVAL);
    key->secret_len = w.off;
    return 0;
}
