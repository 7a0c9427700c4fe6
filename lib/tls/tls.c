/* tls.c: TLS 1.2 flows over BearSSL's engine: servers, clients, the record pump, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/random.h"
#include "mirage/sched.h"
#include "mirage/time.h"
#include "tls_internal.h"

MIRAGE_LOG_SOURCE(tls_log, "tls", "TLS handshakes, alerts and record errors");

#define TLS_EOF              1 /* run(): the engine closed cleanly (close_notify both ways) */
#define OUT_MIN              512
#define SESSIONS_DEFAULT     16
#define SERVER_CACHE_DEFAULT (32u * 1024u)

/* ---- configuration shared by servers and clients ------------------------- */

/* Implementations chosen once per configuration (CPUID is a VM exit on hvt). */
struct tls_conf {
    uint16_t suites[16];
    size_t n_suites;
    const char **alpn;
    size_t n_alpn;
    size_t out_buf;
    int cbc;
    const br_block_ctr_class *aes_ctr;
    br_ghash ghash;
    br_chacha20_run chacha;
    br_poly1305_run poly;
    const br_block_cbcenc_class *aes_cbcenc;
    const br_block_cbcdec_class *aes_cbcdec;
};

/* Server preference: AES-GCM where the CPU has AES-NI, else ChaCha20 first;
 * ECDSA before RSA (the policy drops the type the certificate is not). */
static const uint16_t aead_aesni[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};
static const uint16_t aead_soft[] = {
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};
static const uint16_t cbc_suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,    BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,    BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
};

static const struct {
    uint16_t id;
    const char *name;
} suite_names[] = {
    {BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256"},
    {BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384"},
    {BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305"},
    {BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256"},
    {BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256"},
    {BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, "ECDHE-ECDSA-AES256-SHA384"},
    {BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, "ECDHE-RSA-AES256-SHA384"},
    {BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA"},
    {BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA"},
    {BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA"},
    {BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA"},
};

const char *tls_suite_name(uint16_t suite)
{
    for (size_t i = 0; i < sizeof(suite_names) / sizeof(suite_names[0]); i++)
        if (suite_names[i].id == suite)
            return suite_names[i].name;
    return NULL;
}

static void conf_free(struct tls_conf *c)
{
    for (size_t i = 0; i < c->n_alpn; i++)
        free((void *)c->alpn[i]);
    free(c->alpn);
    memset(c, 0, sizeof(*c));
}

static int conf_init(struct tls_conf *c, const struct mirage_tls_opts *o)
{
    static const struct mirage_tls_opts none;

    memset(c, 0, sizeof(*c));
    if (o == NULL)
        o = &none;
    if ((o->out_buf != 0 && o->out_buf < OUT_MIN) || o->n_alpn > 16 ||
        (o->n_alpn > 0 && o->alpn == NULL))
        return MIRAGE_EINVAL;
    c->out_buf =
        o->out_buf == 0 || o->out_buf > BR_SSL_BUFSIZE_OUTPUT ? BR_SSL_BUFSIZE_OUTPUT : o->out_buf;
    c->cbc = o->allow_cbc != 0;
    c->aes_ctr = br_aes_x86ni_ctr_get_vtable();
    if (c->aes_ctr != NULL) {
        memcpy(c->suites, aead_aesni, sizeof(aead_aesni));
    } else {
        c->aes_ctr = &br_aes_ct64_ctr_vtable;
        memcpy(c->suites, aead_soft, sizeof(aead_soft));
    }
    c->n_suites = sizeof(aead_aesni) / sizeof(aead_aesni[0]);
    if (c->cbc) {
        memcpy(c->suites + c->n_suites, cbc_suites, sizeof(cbc_suites));
        c->n_suites += sizeof(cbc_suites) / sizeof(cbc_suites[0]);
        c->aes_cbcenc = br_aes_x86ni_cbcenc_get_vtable();
        c->aes_cbcdec = br_aes_x86ni_cbcdec_get_vtable();
        if (c->aes_cbcenc == NULL || c->aes_cbcdec == NULL) {
            c->aes_cbcenc = &br_aes_ct64_cbcenc_vtable;
            c->aes_cbcdec = &br_aes_ct64_cbcdec_vtable;
        }
    }
    c->ghash = br_ghash_pclmul_get();
    if (c->ghash == 0)
        c->ghash = br_ghash_ctmul64;
    c->chacha = br_chacha20_sse2_get();
    if (c->chacha == 0)
        c->chacha = br_chacha20_ct_run;
    c->poly = br_poly1305_ctmulq_get();
    if (c->poly == 0)
        c->poly = br_poly1305_ctmul_run;
    if (o->n_alpn > 0) {
        c->alpn = calloc(o->n_alpn, sizeof(*c->alpn));
        if (c->alpn == NULL)
            return MIRAGE_ENOMEM;
        for (size_t i = 0; i < o->n_alpn; i++) {
            size_t len = o->alpn[i] ? strlen(o->alpn[i]) : 0;
            char *s;
            if (len == 0 || len > 255) {
                conf_free(c);
                return MIRAGE_EINVAL;
            }
            s = malloc(len + 1);
            if (s == NULL) {
                conf_free(c);
                return MIRAGE_ENOMEM;
            }
            memcpy(s, o->alpn[i], len + 1);
            c->alpn[c->n_alpn++] = s;
        }
    }
    return 0;
}

/* What both sides set on a fresh engine; the RNG is seeded from the
 * runtime's Fortuna, and BearSSL's own system seeder is never tried. */
static void engine_setup(br_ssl_engine_context *eng, const struct tls_conf *c, uint8_t *buf)
{
    uint8_t seed[32];

    br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(eng, c->suites, c->n_suites);
    br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
    br_ssl_engine_set_hash(eng, br_sha224_ID, &br_sha224_vtable);
    br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
    br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
    br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
    br_ssl_engine_set_ec(eng, br_ec_get_default());
    br_ssl_engine_set_gcm(eng, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable);
    br_ssl_engine_set_aes_ctr(eng, c->aes_ctr);
    br_ssl_engine_set_ghash(eng, c->ghash);
    br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
    br_ssl_engine_set_chacha20(eng, c->chacha);
    br_ssl_engine_set_poly1305(eng, c->poly);
    if (c->cbc) {
        br_ssl_engine_set_cbc(eng, &br_sslrec_in_cbc_vtable, &br_sslrec_out_cbc_vtable);
        br_ssl_engine_set_aes_cbc(eng, c->aes_cbcenc, c->aes_cbcdec);
    }
    if (c->n_alpn > 0)
        br_ssl_engine_set_protocol_names(eng, c->alpn, c->n_alpn);
    br_ssl_engine_set_buffers_bidi(eng, buf, BR_SSL_BUFSIZE_INPUT, buf + BR_SSL_BUFSIZE_INPUT,
                                   c->out_buf);
    eng->rng_os_rand_done = 1;
    mirage_random_bytes(seed, sizeof(seed));
    br_ssl_engine_inject_entropy(eng, seed, sizeof(seed));
    memset(seed, 0, sizeof(seed));
}

/* ---- flows ------------------------------------------------------------------ */

struct tls_flow {
    struct mirage_flow flow;
    struct mirage_flow *under;
    br_ssl_engine_context *eng;
    int server;
    int err;     /* sticky: a failed engine or a broken write */
    int eof;     /* close_notify received and answered */
    int rd_busy; /* a fiber is reading records from the wrapped flow */
    int wr_busy; /* a fiber is writing records to it */
    int rd_shut, wr_shut;
    int done; /* the handshake has finished */
    int resumed;
    struct mirage_cond changed; /* signalled when a busy flag drops */
    const char *role;
    void (*on_done)(struct tls_flow *t);
    void (*release)(struct tls_flow *t);
    /* The engine's record buffers (input then output), or NULL while the flow waits parked
     * and idle (bufs_release). */
    unsigned char *bufs;
    size_t in_len, out_len;
};

static const struct mirage_flow_ops tls_flow_ops;

static struct tls_flow *tls_of(struct mirage_flow *f)
{
    return f != NULL && f->ops == &tls_flow_ops ? (struct tls_flow *)f : NULL;
}

/*
 * An idle connection's record buffers (32.4 of its 36.6 KiB with the default sizes) are freed
 * while it waits parked on mirage_flow_on_readable, and allocated again before the engine
 * next runs. Idle means: the handshake is done, no fiber is in the engine, no record is half
 * read, no plaintext waits to be read and none is buffered or encrypted waiting to be sent.
 * Between records BearSSL keeps only offsets into its buffers (ixa, ixb, ixc for input: 0, 0
 * and the 5 header bytes it waits for; oxa, oxc for output: equal when nothing is buffered),
 * so their bytes mean nothing then and the engine may be given new ones. ibuf, obuf and those
 * offsets are BearSSL's own fields (bearssl_ssl.h, 0.6): test_tls checks the round trip.
 */
static void bufs_release(struct tls_flow *t)
{
    br_ssl_engine_context *e = t->eng;
    unsigned st;

    if (t->bufs == NULL || !t->done || t->err || t->eof || t->rd_busy || t->wr_busy || t->rd_shut ||
        t->wr_shut)
        return;
    st = br_ssl_engine_current_state(e);
    if (!(st & BR_SSL_SENDAPP) || (st & (BR_SSL_SENDREC | BR_SSL_RECVAPP | BR_SSL_CLOSED)))
        return;
    if (e->ixa != 0 || e->ixb != 0 || e->ixc != 5 || e->oxc != e->oxa)
        return;
    free(t->bufs);
    t->bufs = NULL;
    e->ibuf = NULL;
    e->obuf = NULL;
}

/* The record buffers back before the engine runs: 0 or MIRAGE_ENOMEM (the flow stays as it
 * was: a later call may succeed). */
static int bufs_restore(struct tls_flow *t)
{
    if (t->bufs != NULL)
        return 0;
    t->bufs = malloc(t->in_len + t->out_len);
    if (t->bufs == NULL)
        return MIRAGE_ENOMEM;
    t->eng->ibuf = t->bufs;
    t->eng->obuf = t->bufs + t->in_len;
    return 0;
}

static const char *alert_name(unsigned a)
{
    switch (a) {
    case BR_ALERT_CLOSE_NOTIFY:
        return "close_notify";
    case BR_ALERT_UNEXPECTED_MESSAGE:
        return "unexpected_message";
    case BR_ALERT_BAD_RECORD_MAC:
        return "bad_record_mac";
    case BR_ALERT_RECORD_OVERFLOW:
        return "record_overflow";
    case BR_ALERT_DECOMPRESSION_FAILURE:
        return "decompression_failure";
    case BR_ALERT_HANDSHAKE_FAILURE:
        return "handshake_failure";
    case BR_ALERT_BAD_CERTIFICATE:
        return "bad_certificate";
    case BR_ALERT_UNSUPPORTED_CERTIFICATE:
        return "unsupported_certificate";
    case BR_ALERT_CERTIFICATE_REVOKED:
        return "certificate_revoked";
    case BR_ALERT_CERTIFICATE_EXPIRED:
        return "certificate_expired";
    case BR_ALERT_CERTIFICATE_UNKNOWN:
        return "certificate_unknown";
    case BR_ALERT_ILLEGAL_PARAMETER:
        return "illegal_parameter";
    case BR_ALERT_UNKNOWN_CA:
        return "unknown_ca";
    case BR_ALERT_ACCESS_DENIED:
        return "access_denied";
    case BR_ALERT_DECODE_ERROR:
        return "decode_error";
    case BR_ALERT_DECRYPT_ERROR:
        return "decrypt_error";
    case BR_ALERT_PROTOCOL_VERSION:
        return "protocol_version";
    case BR_ALERT_INSUFFICIENT_SECURITY:
        return "insufficient_security";
    case BR_ALERT_INTERNAL_ERROR:
        return "internal_error";
    case BR_ALERT_USER_CANCELED:
        return "user_canceled";
    case BR_ALERT_NO_RENEGOTIATION:
        return "no_renegotiation";
    case BR_ALERT_UNSUPPORTED_EXTENSION:
        return "unsupported_extension";
    case BR_ALERT_NO_APPLICATION_PROTOCOL:
        return "no_application_protocol";
    case 86:
        return "inappropriate_fallback";
    case 112:
        return "unrecognized_name";
    default:
        return "unknown alert";
    }
}

/* What BearSSL's error code means. */
static const char *engine_error_name(int e)
{
    switch (e) {
    case BR_ERR_BAD_PARAM:
        return "bad parameter";
    case BR_ERR_BAD_STATE:
        return "bad state";
    case BR_ERR_UNSUPPORTED_VERSION:
        return "no common protocol version (only TLS 1.2)";
    case BR_ERR_BAD_VERSION:
        return "a record with the wrong version";
    case BR_ERR_BAD_LENGTH:
        return "a record or message with a bad length";
    case BR_ERR_TOO_LARGE:
        return "a record too large";
    case BR_ERR_BAD_MAC:
        return "a record failed its integrity check";
    case BR_ERR_NO_RANDOM:
        return "no random source";
    case BR_ERR_UNKNOWN_TYPE:
        return "a record of unknown type (not TLS?)";
    case BR_ERR_UNEXPECTED:
        return "an unexpected message";
    case BR_ERR_BAD_CCS:
        return "a bad ChangeCipherSpec";
    case BR_ERR_BAD_ALERT:
        return "a bad alert message";
    case BR_ERR_BAD_HANDSHAKE:
        return "a bad handshake message";
    case BR_ERR_OVERSIZED_ID:
        return "a session id too long";
    case BR_ERR_BAD_CIPHER_SUITE:
        return "no cipher suite in common";
    case BR_ERR_BAD_COMPRESSION:
        return "no compression method in common";
    case BR_ERR_BAD_FRAGLEN:
        return "a bad max fragment length";
    case BR_ERR_BAD_SECRENEG:
        return "secure renegotiation failed";
    case BR_ERR_EXTRA_EXTENSION:
        return "an extension the client did not offer";
    case BR_ERR_BAD_SNI:
        return "a bad server name (SNI)";
    case BR_ERR_BAD_HELLO_DONE:
        return "a bad ServerHelloDone";
    case BR_ERR_LIMIT_EXCEEDED:
        return "a handshake limit exceeded";
    case BR_ERR_BAD_FINISHED:
        return "a bad Finished message";
    case BR_ERR_RESUME_MISMATCH:
        return "resumption with other parameters";
    case BR_ERR_INVALID_ALGORITHM:
        return "an algorithm not offered";
    case BR_ERR_BAD_SIGNATURE:
        return "a bad signature";
    case BR_ERR_WRONG_KEY_USAGE:
        return "a certificate key usage forbids this suite";
    case BR_ERR_NO_CLIENT_AUTH:
        return "no client certificate";
    case BR_ERR_X509_EXPIRED:
        return "certificate expired or not yet valid";
    case BR_ERR_X509_BAD_SERVER_NAME:
        return "certificate does not name the host";
    case BR_ERR_X509_NOT_TRUSTED:
        return "certificate not trusted (no chain to a CA, not the pinned key)";
    case BR_ERR_X509_BAD_SIGNATURE:
        return "certificate signature does not verify";
    case BR_ERR_X509_DN_MISMATCH:
        return "certificate chain out of order";
    case BR_ERR_X509_NOT_CA:
        return "an issuer is not a CA";
    case BR_ERR_X509_FORBIDDEN_KEY_USAGE:
        return "certificate key usage forbids TLS";
    case BR_ERR_X509_WEAK_PUBLIC_KEY:
        return "certificate key too weak";
    case BR_ERR_X509_TIME_UNKNOWN:
        return "no time to check the certificate's dates";
    case BR_ERR_X509_EMPTY_CHAIN:
        return "no certificate sent";
    default:
        if (e >= BR_ERR_X509_OK && e < 64)
            return "certificate does not decode";
        return "engine error";
    }
}

/* Makes (t) fail with (err) for good and says why once. */
static int fail(struct tls_flow *t, int err, const char *what)
{
    if (t->err == 0) {
        t->err = err;
        mirage_log_warn(&tls_log, "%s %s: %s", t->role, t->done ? "connection" : "handshake", what);
    }
    mirage_cond_broadcast(&t->changed);
    return t->err;
}

/* The engine reports CLOSED: a clean close gives TLS_EOF, else a sticky error. */
static int engine_closed(struct tls_flow *t)
{
    int e = br_ssl_engine_last_error(t->eng);
    char why[160];

    if (t->err)
        return t->err;
    if (e == BR_ERR_OK) {
        t->eof = 1;
        return TLS_EOF;
    }
    if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT) {
        unsigned a = (unsigned)(e - BR_ERR_RECV_FATAL_ALERT);
        snprintf(why, sizeof(why), "the peer sent fatal alert %s (%u)", alert_name(a), a);
        return fail(t, MIRAGE_EPROTO, why);
    }
    if (e >= BR_ERR_SEND_FATAL_ALERT) {
        unsigned a = (unsigned)(e - BR_ERR_SEND_FATAL_ALERT);
        snprintf(why, sizeof(why), "sent fatal alert %s (%u)", alert_name(a), a);
        return fail(t, MIRAGE_EPROTO, why);
    }
    snprintf(why, sizeof(why), "%s (BearSSL error %d)", engine_error_name(e), e);
    return fail(t, e >= BR_ERR_X509_OK && e < 64 ? MIRAGE_EACCES : MIRAGE_EPROTO, why);
}

/* Small records wait in a stage on the stack until the engine has no more
 * (or the next does not fit), then leave in one write: BearSSL makes
 * ChangeCipherSpec and Finished two records, and two writes let Nagle hold
 * the second for the peer's delayed ACK (~40 ms a handshake here). */
#define STAGE 512

static int write_out(struct tls_flow *t, const struct mirage_iovec *iov, size_t n,
                     uint64_t deadline)
{
    int r = mirage_flow_writev(t->under, iov, n, deadline);

    if (r < 0) {
        char why[80];
        snprintf(why, sizeof(why), "writing records: %s", mirage_strerror(r));
        return fail(t, r, why);
    }
    return 0;
}

/* Writes the records the engine has ready; the caller holds wr_busy. A
 * failure leaves part of a record on the wire: it breaks the flow. */
static int send_records(struct tls_flow *t, uint64_t deadline)
{
    uint8_t stage[STAGE];
    struct mirage_iovec iov[2] = {{stage, 0}, {NULL, 0}};
    int r;

    while (br_ssl_engine_current_state(t->eng) & BR_SSL_SENDREC) {
        size_t len;
        unsigned char *buf = br_ssl_engine_sendrec_buf(t->eng, &len);
        if (iov[0].len + len <= STAGE) {
            memcpy(stage + iov[0].len, buf, len);
            iov[0].len += len;
            br_ssl_engine_sendrec_ack(t->eng, len);
            continue;
        }
        iov[1].base = buf;
        iov[1].len = len;
        r = iov[0].len ? write_out(t, iov, 2, deadline) : write_out(t, &iov[1], 1, deadline);
        if (r < 0)
            return r;
        br_ssl_engine_sendrec_ack(t->eng, len);
        iov[0].len = 0;
    }
    return iov[0].len ? write_out(t, iov, 1, deadline) : 0;
}

/* Reads what has arrived into the engine; the caller holds rd_busy. A
 * timeout or a cancel leaves the engine as it was. */
static int recv_records(struct tls_flow *t, uint64_t deadline)
{
    size_t len, got;
    unsigned char *buf = br_ssl_engine_recvrec_buf(t->eng, &len);
    int r = mirage_flow_read(t->under, buf, len, &got, deadline);

    if (r == MIRAGE_ETIMEDOUT || r == MIRAGE_ECANCELED)
        return r;
    if (r < 0) {
        char why[80];
        snprintf(why, sizeof(why), "reading records: %s", mirage_strerror(r));
        return fail(t, r, why);
    }
    if (got == 0)
        return fail(t, MIRAGE_EPROTO,
                    t->done ? "the peer closed the connection without close_notify (truncated)"
                            : "the peer closed the connection during the handshake");
    br_ssl_engine_recvrec_ack(t->eng, got);
    return 0;
}

/* Runs one direction's record I/O (send_records or recv_records) as the one
 * fiber doing it, holding (busy), then wakes the fibers waiting on the engine. */
static int pump(struct tls_flow *t, int *busy, int (*io)(struct tls_flow *, uint64_t),
                uint64_t deadline)
{
    int r;

    *busy = 1;
    r = io(t, deadline);
    *busy = 0;
    mirage_cond_broadcast(&t->changed);
    return r;
}

/*
 * Moves records until the engine's state has (want) (BR_SSL_SENDAPP or
 * BR_SSL_RECVAPP). Two fibers may be in here at once (a reader and a
 * writer): one at a time reads from the wrapped flow and one at a time
 * writes to it; the other waits for its turn.
 */
static int run(struct tls_flow *t, unsigned want, uint64_t deadline)
{
    if (!t->err && bufs_restore(t) != 0)
        return MIRAGE_ENOMEM;
    for (;;) {
        unsigned st;
        int r;

        if (t->err)
            return t->err;
        if (t->eof)
            return TLS_EOF;
        st = br_ssl_engine_current_state(t->eng);
        if (st & BR_SSL_CLOSED)
            return engine_closed(t);
        if (!t->done && (st & BR_SSL_SENDAPP)) {
            t->done = 1;
            if (t->on_done)
                t->on_done(t);
        }
        if (st & want)
            return 0;
        if ((st & BR_SSL_SENDREC) && !t->wr_busy) {
            if ((r = pump(t, &t->wr_busy, send_records, deadline)) < 0)
                return r;
            continue;
        }
        /* A writer waiting for its own records to leave does not read. */
        if ((st & BR_SSL_RECVREC) && !t->rd_busy &&
            !(want == BR_SSL_SENDAPP && (st & BR_SSL_SENDREC))) {
            if ((r = pump(t, &t->rd_busy, recv_records, deadline)) < 0)
                return r;
            continue;
        }
        r = mirage_cond_wait(&t->changed, deadline);
        if (r < 0)
            return r;
    }
}

static int tls_read(struct mirage_flow *f, void *buf, size_t cap, size_t *got, uint64_t deadline)
{
    struct tls_flow *t = (struct tls_flow *)f;
    unsigned char *p;
    size_t len;
    int r;

    *got = 0;
    if (t->rd_shut)
        return 0;
    r = run(t, BR_SSL_RECVAPP, deadline);
    if (r == TLS_EOF)
        return 0;
    if (r < 0)
        return r;
    p = br_ssl_engine_recvapp_buf(t->eng, &len);
    if (len > cap)
        len = cap;
    memcpy(buf, p, len);
    br_ssl_engine_recvapp_ack(t->eng, len);
    *got = len;
    return 0;
}

/* Seals what the engine holds into a record and writes out every pending record. */
static int flush_out(struct tls_flow *t, uint64_t deadline)
{
    br_ssl_engine_flush(t->eng, 0);
    for (;;) {
        unsigned st;
        int r;

        if (t->err)
            return t->err;
        st = br_ssl_engine_current_state(t->eng);
        if (!(st & BR_SSL_SENDREC))
            return 0;
        if (!t->wr_busy) {
            if ((r = pump(t, &t->wr_busy, send_records, deadline)) < 0)
                return r;
            continue;
        }
        r = mirage_cond_wait(&t->changed, deadline);
        if (r < 0)
            return r;
    }
}

static int tls_writev(struct mirage_flow *f, const struct mirage_iovec *iov, size_t n,
                      uint64_t deadline)
{
    struct tls_flow *t = (struct tls_flow *)f;

    if (t->wr_shut)
        return MIRAGE_EPIPE;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = iov[i].base;
        size_t left = iov[i].len;

        while (left > 0) {
            unsigned char *dst;
            size_t room;
            int r = run(t, BR_SSL_SENDAPP, deadline);
            if (r == TLS_EOF)
                return MIRAGE_EPIPE;
            if (r < 0)
                return r;
            dst = br_ssl_engine_sendapp_buf(t->eng, &room);
            if (room > left)
                room = left;
            memcpy(dst, p, room);
            br_ssl_engine_sendapp_ack(t->eng, room);
            p += room;
            left -= room;
        }
    }
    return flush_out(t, deadline);
}

/* TLS 1.2 has no half-close: close_notify ends the session both ways. */
static int tls_shutdown(struct mirage_flow *f, int how)
{
    struct tls_flow *t = (struct tls_flow *)f;
    int r = 0;

    if (how < MIRAGE_SHUT_RD || how > MIRAGE_SHUT_RDWR)
        return MIRAGE_EINVAL;
    if (how & MIRAGE_SHUT_RD)
        t->rd_shut = 1;
    if ((how & MIRAGE_SHUT_WR) && !t->wr_shut) {
        t->wr_shut = 1;
        if (!t->err && !t->eof && (r = bufs_restore(t)) == 0) {
            br_ssl_engine_close(t->eng);
            r = flush_out(t, MIRAGE_FOREVER);
        }
        int r2 = mirage_flow_shutdown(t->under, MIRAGE_SHUT_WR);
        if (r == 0 && r2 != MIRAGE_ENOTCONN)
            r = r2;
    }
    mirage_cond_broadcast(&t->changed);
    return r;
}

static void tls_close(struct mirage_flow *f)
{
    struct tls_flow *t = (struct tls_flow *)f;

    /* close_notify if it can leave now; close never waits. */
    if (!t->wr_shut && !t->err && !t->eof && t->done && !t->wr_busy && bufs_restore(t) == 0) {
        br_ssl_engine_close(t->eng);
        br_ssl_engine_flush(t->eng, 0);
        while (br_ssl_engine_current_state(t->eng) & BR_SSL_SENDREC) {
            size_t len;
            unsigned char *buf = br_ssl_engine_sendrec_buf(t->eng, &len);
            if (mirage_flow_write(t->under, buf, len, mirage_clock_monotonic()) < 0)
                break;
            br_ssl_engine_sendrec_ack(t->eng, len);
        }
    }
    mirage_flow_close(t->under);
    t->release(t);
}

/* Readable now when the engine holds decrypted data or the flow has ended;
 * otherwise when the wrapped flow has bytes (maybe only part of a record:
 * the read then waits for the rest). */
static int tls_on_readable(struct mirage_flow *f, void (*fn)(void *ctx), void *ctx)
{
    struct tls_flow *t = (struct tls_flow *)f;
    unsigned st = br_ssl_engine_current_state(t->eng);

    if (fn != NULL && (t->err || t->eof || t->rd_shut || (st & (BR_SSL_RECVAPP | BR_SSL_CLOSED))))
        return 1;
    int r = mirage_flow_on_readable(t->under, fn, ctx);
    if (fn != NULL && r == 0)
        bufs_release(t); /* parked until bytes arrive */
    return r;
}

static const struct mirage_flow_ops tls_flow_ops = {
    .read = tls_read,
    .writev = tls_writev,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .on_readable = tls_on_readable,
};

int mirage_tls_handshake(struct mirage_flow *f, uint64_t deadline)
{
    struct tls_flow *t = tls_of(f);
    int r;

    if (t == NULL)
        return MIRAGE_EINVAL;
    if (t->done)
        return t->err;
    r = run(t, BR_SSL_SENDAPP, deadline);
    return r == TLS_EOF ? MIRAGE_EPROTO : r;
}

int mirage_tls_info(struct mirage_flow *f, struct mirage_tls_info *info)
{
    struct tls_flow *t = tls_of(f);
    br_ssl_session_parameters sp;
    const char *s;

    if (t == NULL || info == NULL)
        return MIRAGE_EINVAL;
    if (!t->done || t->err)
        return MIRAGE_ENOTCONN;
    br_ssl_engine_get_session_parameters(t->eng, &sp);
    memset(info, 0, sizeof(*info));
    info->version = sp.version == BR_TLS12 ? "TLS1.2" : "TLS";
    info->suite = tls_suite_name(sp.cipher_suite);
    info->alpn = br_ssl_engine_get_selected_protocol(t->eng);
    s = br_ssl_engine_get_server_name(t->eng);
    info->sni = s[0] ? s : NULL;
    info->resumed = t->resumed;
    return 0;
}

static void log_done(struct tls_flow *t)
{
    struct mirage_tls_info i;

    if (mirage_log_enabled(&tls_log, MIRAGE_LOG_DEBUG) && mirage_tls_info(&t->flow, &i) == 0)
        mirage_log_debug(&tls_log, "%s handshake done: %s %s sni=%s alpn=%s%s", t->role, i.version,
                         i.suite ? i.suite : "?", i.sni ? i.sni : "-", i.alpn ? i.alpn : "-",
                         i.resumed ? " resumed" : "");
}

/* ---- servers -------------------------------------------------------------- */

/* The server's session cache: BearSSL's LRU, noting on the flow when a
 * lookup succeeded (that is a resumption). */
struct tls_cache {
    const br_ssl_session_cache_class *vtable;
    br_ssl_session_cache_lru lru;
    unsigned char *store;
};

struct mirage_tls_server {
    struct tls_conf conf;
    struct mirage_tls_certs *certs;
    struct tls_cache cache;
    size_t flows;
};

/* Picks the chain by SNI, then hands the rest to BearSSL's single-key policy. */
struct tls_policy {
    const br_ssl_server_policy_class *vtable;
    const br_ssl_server_policy_class **inner;
};

struct tls_server_flow {
    struct tls_flow t;
    br_ssl_server_context sc;
    struct tls_policy policy;
    struct mirage_tls_server *srv;
    struct mirage_tls_certs *certs; /* the set the handshake chose from */
};

#define CONTAINER(p, type, member) ((type *)(void *)((char *)(p)-offsetof(type, member)))

static void cache_save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
                       const br_ssl_session_parameters *params)
{
    struct tls_cache *c = (struct tls_cache *)(void *)ctx;
    c->lru.vtable->save(&c->lru.vtable, sc, params);
}

static int cache_load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
                      br_ssl_session_parameters *params)
{
    struct tls_cache *c = (struct tls_cache *)(void *)ctx;
    int r = c->lru.vtable->load(&c->lru.vtable, sc, params);

    if (r)
        CONTAINER(sc, struct tls_server_flow, sc)->t.resumed = 1;
    return r;
}

static const br_ssl_session_cache_class cache_vtable = {
    sizeof(struct tls_cache),
    cache_save,
    cache_load,
};

static int policy_choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *cc,
                         br_ssl_server_choices *choices)
{
    struct tls_policy *pol = (struct tls_policy *)(void *)pctx;
    struct tls_server_flow *sf = CONTAINER(pol, struct tls_server_flow, policy);
    br_ssl_server_context *sc = &sf->sc;
    const struct tls_chain *ch;

    if (sf->certs == NULL) {
        sf->certs = sf->srv->certs;
        sf->certs->refs++;
    }
    ch = tls_certs_pick(sf->certs, br_ssl_engine_get_server_name(&cc->eng));
    if (ch->key_type == BR_KEYTYPE_RSA)
        br_ssl_server_set_single_rsa(sc, ch->certs, ch->n, &ch->key.rsa, BR_KEYTYPE_SIGN,
                                     br_rsa_private_get_default(), br_rsa_pkcs1_sign_get_default());
    else
        br_ssl_server_set_single_ec(sc, ch->certs, ch->n, &ch->key.ec, BR_KEYTYPE_SIGN,
                                    ch->issuer_key_type, br_ec_get_default(),
                                    br_ecdsa_sign_asn1_get_default());
    pol->inner = sc->policy_vtable;
    sc->policy_vtable = &pol->vtable;
    if (!(*pol->inner)->choose(pol->inner, cc, choices)) {
        mirage_log_info(&tls_log,
                        "server handshake: the client offers no suite for the %s "
                        "certificate of %s",
                        ch->key_type == BR_KEYTYPE_RSA ? "RSA" : "EC",
                        ch->host ? ch->host : "(default)");
        return 0;
    }
    return 1;
}

static uint32_t policy_do_keyx(const br_ssl_server_policy_class **pctx, unsigned char *data,
                               size_t *len)
{
    struct tls_policy *pol = (struct tls_policy *)(void *)pctx;
    return (*pol->inner)->do_keyx(pol->inner, data, len);
}

static size_t policy_do_sign(const br_ssl_server_policy_class **pctx, unsigned algo_id,
                             unsigned char *data, size_t hv_len, size_t len)
{
    struct tls_policy *pol = (struct tls_policy *)(void *)pctx;
    return (*pol->inner)->do_sign(pol->inner, algo_id, data, hv_len, len);
}

static const br_ssl_server_policy_class policy_vtable = {
    sizeof(struct tls_policy),
    policy_choose,
    policy_do_keyx,
    policy_do_sign,
};

static void server_release(struct tls_flow *t)
{
    struct tls_server_flow *sf = (struct tls_server_flow *)t;

    tls_certs_release(sf->certs);
    sf->srv->flows--;
    free(sf->t.bufs);
    free(sf);
}

int mirage_tls_server_new(const struct mirage_tls_opts *opts, struct mirage_tls_certs *certs,
                          struct mirage_tls_server **out)
{
    struct mirage_tls_server *s;
    size_t cache = opts && opts->session_cache ? opts->session_cache : SERVER_CACHE_DEFAULT;
    int r;

    *out = NULL;
    if (certs == NULL || certs->n == 0) {
        mirage_log_err(&tls_log, "server: no certificate");
        tls_certs_release(certs);
        return MIRAGE_EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        tls_certs_release(certs);
        return MIRAGE_ENOMEM;
    }
    s->certs = certs;
    r = conf_init(&s->conf, opts);
    if (r == 0) {
        s->cache.store = malloc(cache);
        if (s->cache.store == NULL)
            r = MIRAGE_ENOMEM;
    }
    if (r < 0) {
        mirage_tls_server_free(s);
        return r;
    }
    br_ssl_session_cache_lru_init(&s->cache.lru, s->cache.store, cache);
    s->cache.vtable = &cache_vtable;
    *out = s;
    return 0;
}

int mirage_tls_server_set_certs(struct mirage_tls_server *s, struct mirage_tls_certs *certs)
{
    if (certs == NULL || certs->n == 0) {
        tls_certs_release(certs);
        return MIRAGE_EINVAL;
    }
    tls_certs_release(s->certs);
    s->certs = certs;
    mirage_log_info(&tls_log, "server: now serving %zu certificate%s", certs->n,
                    certs->n == 1 ? "" : "s");
    return 0;
}

int mirage_tls_server_reload(struct mirage_tls_server *s, struct mirage_kv *kv, const char *prefix)
{
    struct mirage_tls_certs *c;
    int r = mirage_tls_certs_from_kv(kv, prefix, &c);

    if (r < 0) {
        mirage_log_err(&tls_log, "server: reload from %s failed (%s): the old certificates stay",
                       prefix ? prefix : "(null)", mirage_strerror(r));
        return r;
    }
    return mirage_tls_server_set_certs(s, c);
}

void mirage_tls_server_free(struct mirage_tls_server *s)
{
    if (s == NULL)
        return;
    if (s->flows > 0)
        mirage_log_err(&tls_log, "server freed with %zu flows open", s->flows);
    tls_certs_release(s->certs);
    free(s->cache.store);
    conf_free(&s->conf);
    free(s);
}

static void flow_init(struct tls_flow *t, struct mirage_flow *under, br_ssl_engine_context *eng,
                      int server)
{
    t->flow.ops = &tls_flow_ops;
    t->under = under;
    t->eng = eng;
    t->server = server;
    t->role = server ? "server" : "client";
    t->on_done = log_done;
}

int mirage_tls_server_flow(struct mirage_tls_server *s, struct mirage_flow *tcp,
                           struct mirage_flow **out)
{
    struct tls_server_flow *sf;

    *out = NULL;
    if (s == NULL || tcp == NULL)
        return MIRAGE_EINVAL;
    sf = calloc(1, sizeof(*sf));
    if (sf == NULL)
        return MIRAGE_ENOMEM;
    sf->t.in_len = BR_SSL_BUFSIZE_INPUT;
    sf->t.out_len = s->conf.out_buf;
    sf->t.bufs = malloc(sf->t.in_len + sf->t.out_len);
    if (sf->t.bufs == NULL) {
        free(sf);
        return MIRAGE_ENOMEM;
    }
    flow_init(&sf->t, tcp, &sf->sc.eng, 1);
    sf->t.release = server_release;
    sf->srv = s;
    br_ssl_server_zero(&sf->sc);
    engine_setup(&sf->sc.eng, &s->conf, sf->t.bufs);
    br_ssl_engine_add_flags(&sf->sc.eng,
                            BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION);
    sf->policy.vtable = &policy_vtable;
    br_ssl_server_set_policy(&sf->sc, &sf->policy.vtable);
    br_ssl_server_set_cache(&sf->sc, &s->cache.vtable);
    if (!br_ssl_server_reset(&sf->sc)) {
        mirage_log_err(&tls_log, "server: engine reset: %s",
                       engine_error_name(br_ssl_engine_last_error(&sf->sc.eng)));
        free(sf->t.bufs);
        free(sf);
        return MIRAGE_EINVAL;
    }
    s->flows++;
    *out = &sf->t.flow;
    return 0;
}

/* ---- clients -------------------------------------------------------------- */

struct tls_session {
    char host[256];
    uint64_t used;
    br_ssl_session_parameters params;
};

struct mirage_tls_client {
    struct tls_conf conf;
    struct tls_anchors anchors;
    struct tls_session *sessions;
    size_t n_sessions;
    uint64_t tick;
};

struct tls_client_flow {
    struct tls_flow t;
    br_ssl_client_context cc;
    br_x509_minimal_context xc;
    struct mirage_tls_client *cli;
    uint8_t offered_id[32];
    size_t offered_len;
    char host[256];
};

int mirage_tls_client_new(const struct mirage_tls_opts *opts, const void *ca, size_t ca_len,
                          const void *pinned, size_t pinned_len, struct mirage_tls_client **out)
{
    struct mirage_tls_client *c;
    size_t n = opts && opts->session_cache ? opts->session_cache : SESSIONS_DEFAULT;
    int r = 0;

    *out = NULL;
    if (ca == NULL && pinned == NULL) {
        mirage_log_err(&tls_log, "client: nothing to trust (no CA certificate, no pinned key)");
        return MIRAGE_EINVAL;
    }
    if (n > 4096)
        return MIRAGE_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MIRAGE_ENOMEM;
    r = conf_init(&c->conf, opts);
    if (r == 0 && ca != NULL)
        r = tls_anchors_add(&c->anchors, ca, ca_len, 1);
    if (r == 0 && pinned != NULL)
        r = tls_anchors_add(&c->anchors, pinned, pinned_len, 0);
    if (r == 0) {
        c->sessions = calloc(n, sizeof(*c->sessions));
        c->n_sessions = n;
        if (c->sessions == NULL)
            r = MIRAGE_ENOMEM;
    }
    if (r < 0) {
        mirage_tls_client_free(c);
        return r;
    }
    *out = c;
    return 0;
}

int tls_client_trust(struct mirage_tls_client *c, const void *data, size_t len)
{
    return tls_anchors_add(&c->anchors, data, len, 1);
}

void mirage_tls_client_free(struct mirage_tls_client *c)
{
    if (c == NULL)
        return;
    tls_anchors_free(&c->anchors);
    if (c->sessions)
        memset(c->sessions, 0, c->n_sessions * sizeof(*c->sessions));
    free(c->sessions);
    conf_free(&c->conf);
    free(c);
}

static struct tls_session *session_find(struct mirage_tls_client *c, const char *host)
{
    for (size_t i = 0; i < c->n_sessions; i++)
        if (c->sessions[i].used && strcmp(c->sessions[i].host, host) == 0)
            return &c->sessions[i];
    return NULL;
}

static void client_done(struct tls_flow *t)
{
    struct tls_client_flow *cf = (struct tls_client_flow *)t;
    struct mirage_tls_client *c = cf->cli;
    br_ssl_session_parameters sp;
    struct tls_session *s;

    br_ssl_engine_get_session_parameters(t->eng, &sp);
    t->resumed = cf->offered_len > 0 && sp.session_id_len == cf->offered_len &&
                 memcmp(sp.session_id, cf->offered_id, cf->offered_len) == 0;
    if (sp.session_id_len > 0) {
        s = session_find(c, cf->host);
        if (s == NULL) { /* the least recently used place */
            s = &c->sessions[0];
            for (size_t i = 1; i < c->n_sessions; i++)
                if (c->sessions[i].used < s->used)
                    s = &c->sessions[i];
        }
        memcpy(s->host, cf->host, sizeof(s->host));
        s->params = sp;
        s->used = ++c->tick;
    }
    log_done(t);
}

static void client_release(struct tls_flow *t)
{
    free(t->bufs);
    free(t);
}

int mirage_tls_client_flow(struct mirage_tls_client *c, struct mirage_flow *tcp, const char *host,
                           struct mirage_flow **out)
{
    struct tls_client_flow *cf;
    struct tls_session *s;
    uint64_t wall = mirage_clock_wall() / 1000000000u;
    size_t hlen = host ? strlen(host) : 0;

    *out = NULL;
    if (c == NULL || tcp == NULL || hlen == 0 || hlen > 253)
        return MIRAGE_EINVAL;
    cf = calloc(1, sizeof(*cf));
    if (cf == NULL)
        return MIRAGE_ENOMEM;
    cf->t.in_len = BR_SSL_BUFSIZE_INPUT;
    cf->t.out_len = c->conf.out_buf;
    cf->t.bufs = malloc(cf->t.in_len + cf->t.out_len);
    if (cf->t.bufs == NULL) {
        free(cf);
        return MIRAGE_ENOMEM;
    }
    flow_init(&cf->t, tcp, &cf->cc.eng, 0);
    cf->t.release = client_release;
    cf->t.on_done = client_done;
    cf->cli = c;
    memcpy(cf->host, host, hlen + 1);
    br_ssl_client_zero(&cf->cc);
    engine_setup(&cf->cc.eng, &c->conf, cf->t.bufs);
    br_ssl_engine_add_flags(&cf->cc.eng, BR_OPT_NO_RENEGOTIATION);
    br_ssl_client_set_default_rsapub(&cf->cc);
    br_ssl_engine_set_default_rsavrfy(&cf->cc.eng);
    br_ssl_engine_set_default_ecdsa(&cf->cc.eng);
    br_x509_minimal_init_full(&cf->xc, c->anchors.ta, c->anchors.n);
    /* BearSSL counts days from 1 January of year 0 (proleptic Gregorian). */
    br_x509_minimal_set_time(&cf->xc, (uint32_t)(wall / 86400 + 719528), (uint32_t)(wall % 86400));
    br_ssl_engine_set_x509(&cf->cc.eng, &cf->xc.vtable);
    s = session_find(c, host);
    if (s != NULL) {
        br_ssl_engine_set_session_parameters(&cf->cc.eng, &s->params);
        memcpy(cf->offered_id, s->params.session_id, s->params.session_id_len);
        cf->offered_len = s->params.session_id_len;
        s->used = ++c->tick;
    }
    if (!br_ssl_client_reset(&cf->cc, host, s != NULL)) {
        mirage_log_err(&tls_log, "client: engine reset: %s",
                       engine_error_name(br_ssl_engine_last_error(&cf->cc.eng)));
        free(cf->t.bufs);
        free(cf);
        return MIRAGE_EINVAL;
    }
    *out = &cf->t.flow;
    return 0;
}

size_t mirage_tls_flow_size(const struct mirage_tls_opts *opts, int server)
{
    size_t out = opts && opts->out_buf ? opts->out_buf : BR_SSL_BUFSIZE_OUTPUT;

    if (out > BR_SSL_BUFSIZE_OUTPUT)
        out = BR_SSL_BUFSIZE_OUTPUT;
    return (server ? sizeof(struct tls_server_flow) : sizeof(struct tls_client_flow)) +
           BR_SSL_BUFSIZE_INPUT + out;
}

size_t mirage_tls_flow_bytes(struct mirage_flow *f)
{
    struct tls_flow *t = tls_of(f);

    if (t == NULL)
        return 0;
    return (t->server ? sizeof(struct tls_server_flow) : sizeof(struct tls_client_flow)) +
           (t->bufs ? t->in_len + t->out_len : 0);
}
