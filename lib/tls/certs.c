/* certs.c: certificate chains and keys from PEM or DER, chosen by SNI; trust anchors for clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "tls_internal.h"

/* ---- PEM ------------------------------------------------------------------ */

struct blob {
    uint8_t *buf;
    size_t len, cap;
    int overflow;
};

static void blob_append(void *ctx, const void *data, size_t len)
{
    struct blob *b = ctx;

    if (len > b->cap - b->len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
}

static int has_pem_begin(const uint8_t *p, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    const size_t tl = sizeof(tag) - 1;

    for (size_t i = 0; i + tl <= len; i++)
        if (p[i] == '-' && memcmp(p + i, tag, tl) == 0)
            return 1;
    return 0;
}

int tls_pem_each(const void *data, size_t len,
                 int (*fn)(void *ctx, const char *name, const uint8_t *der, size_t len), void *ctx,
                 const char **why)
{
    const uint8_t *p = data;
    br_pem_decoder_context pc;
    struct blob b = {NULL, 0, len, 0};
    char name[128] = "";
    int inobj = 0, extra_nl = 0, r = 0;

    *why = NULL;
    if (len == 0) {
        *why = "empty";
        return MIRAGE_EINVAL;
    }
    if (!has_pem_begin(p, len))
        return fn(ctx, NULL, p, len);
    /* Decoded DER is never longer than its base64 text. */
    b.buf = malloc(len);
    if (b.buf == NULL)
        return MIRAGE_ENOMEM;
    br_pem_decoder_init(&pc);
    while (len > 0 && r == 0) {
        size_t k = br_pem_decoder_push(&pc, p, len);
        p += k;
        len -= k;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            snprintf(name, sizeof(name), "%s", br_pem_decoder_name(&pc));
            b.len = 0;
            b.overflow = 0;
            br_pem_decoder_setdest(&pc, blob_append, &b);
            inobj = 1;
            break;
        case BR_PEM_END_OBJ:
            if (inobj) {
                inobj = 0;
                if (b.overflow || b.len == 0) {
                    *why = "an empty PEM object";
                    r = MIRAGE_EINVAL;
                } else {
                    r = fn(ctx, name, b.buf, b.len);
                }
            }
            break;
        case BR_PEM_ERROR:
            *why = "bad PEM encoding";
            r = MIRAGE_EINVAL;
            break;
        }
        /* A last line without its newline still ends the object. */
        if (len == 0 && !extra_nl) {
            extra_nl = 1;
            p = (const uint8_t *)"\n";
            len = 1;
        }
    }
    if (r == 0 && inobj) {
        *why = "a PEM object without its END line";
        r = MIRAGE_EINVAL;
    }
    free(b.buf);
    return r;
}

/* ---- keys ----------------------------------------------------------------- */

static int is_cert_label(const char *name)
{
    return name == NULL || strcmp(name, "CERTIFICATE") == 0 ||
           strcmp(name, "X509 CERTIFICATE") == 0;
}

struct chain_build {
    struct tls_chain *ch;
    size_t cap;
    int keys;
    const char *why;
};

static int take_cert(void *ctx, const char *name, const uint8_t *der, size_t len)
{
    struct chain_build *cb = ctx;
    struct tls_chain *ch = cb->ch;
    uint8_t *copy;

    if (!is_cert_label(name))
        return 0; /* a key or parameters beside the chain: not ours to read here */
    if (ch->n == cb->cap) {
        size_t cap = cb->cap ? cb->cap * 2 : 4;
        br_x509_certificate *certs = realloc(ch->certs, cap * sizeof(*certs));
        if (certs == NULL)
            return MIRAGE_ENOMEM;
        ch->certs = certs;
        cb->cap = cap;
    }
    copy = malloc(len);
    if (copy == NULL)
        return MIRAGE_ENOMEM;
    memcpy(copy, der, len);
    ch->certs[ch->n].data = copy;
    ch->certs[ch->n].data_len = len;
    ch->n++;
    return 0;
}

static int take_key(void *ctx, const char *name, const uint8_t *der, size_t len)
{
    struct chain_build *cb = ctx;
    struct tls_chain *ch = cb->ch;
    br_skey_decoder_context dc;
    uint8_t *m;

    if (name != NULL && strstr(name, "PRIVATE KEY") == NULL)
        return 0; /* "EC PARAMETERS", certificates in the same file */
    if (++cb->keys > 1) {
        cb->why = "more than one private key";
        return MIRAGE_EINVAL;
    }
    br_skey_decoder_init(&dc);
    br_skey_decoder_push(&dc, der, len);
    if (br_skey_decoder_last_error(&dc) != 0) {
        cb->why = "not an RSA or EC private key";
        return MIRAGE_EINVAL;
    }
    ch->key_type = br_skey_decoder_key_type(&dc);
    if (ch->key_type == BR_KEYTYPE_RSA) {
        const br_rsa_private_key *k = br_skey_decoder_get_rsa(&dc);
        size_t total = k->plen + k->qlen + k->dplen + k->dqlen + k->iqlen;
        m = malloc(total);
        if (m == NULL)
            return MIRAGE_ENOMEM;
        ch->key_mem = m;
        ch->key.rsa = *k;
#define TAKE(field, flen)                                                                          \
    do {                                                                                           \
        memcpy(m, k->field, k->flen);                                                              \
        ch->key.rsa.field = m;                                                                     \
        m += k->flen;                                                                              \
    } while (0)
        TAKE(p, plen);
        TAKE(q, qlen);
        TAKE(dp, dplen);
        TAKE(dq, dqlen);
        TAKE(iq, iqlen);
#undef TAKE
    } else if (ch->key_type == BR_KEYTYPE_EC) {
        const br_ec_private_key *k = br_skey_decoder_get_ec(&dc);
        m = malloc(k->xlen);
        if (m == NULL)
            return MIRAGE_ENOMEM;
        memcpy(m, k->x, k->xlen);
        ch->key_mem = m;
        ch->key.ec = *k;
        ch->key.ec.x = m;
    } else {
        cb->why = "a private key that is neither RSA nor EC";
        return MIRAGE_EINVAL;
    }
    return 0;
}

static int same_unsigned(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    while (alen > 0 && *a == 0)
        a++, alen--;
    while (blen > 0 && *b == 0)
        b++, blen--;
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* Whether the leaf certificate carries the public half of the chain's key. */
static int key_matches_leaf(struct tls_chain *ch, const char **why)
{
    br_x509_decoder_context dc;
    const br_x509_pkey *pk;

    br_x509_decoder_init(&dc, NULL, NULL);
    br_x509_decoder_push(&dc, ch->certs[0].data, ch->certs[0].data_len);
    pk = br_x509_decoder_get_pkey(&dc);
    if (pk == NULL || br_x509_decoder_last_error(&dc) != 0) {
        *why = "the first certificate does not decode";
        return 0;
    }
    ch->issuer_key_type = br_x509_decoder_get_signer_key_type(&dc);
    if (pk->key_type != ch->key_type) {
        *why = "the key's type differs from the certificate's";
        return 0;
    }
    if (ch->key_type == BR_KEYTYPE_RSA) {
        const br_rsa_private_key *sk = &ch->key.rsa;
        uint8_t n[4096 / 8 * 2]; /* BearSSL handles RSA up to 4096 bits */
        /* The modulus alone: BearSSL's compute_pubexp fails on some valid keys. */
        size_t nlen = (sk->n_bitlen + 7) / 8;

        if (nlen > sizeof(n) || br_rsa_compute_modulus_get_default()(n, sk) != nlen ||
            !same_unsigned(n, nlen, pk->key.rsa.n, pk->key.rsa.nlen)) {
            *why = "the RSA key does not match the certificate";
            return 0;
        }
    } else {
        uint8_t q[BR_EC_KBUF_PUB_MAX_SIZE];
        br_ec_public_key pub;

        if (br_ec_compute_pub(br_ec_get_default(), &pub, q, &ch->key.ec) == 0 ||
            pub.curve != pk->key.ec.curve || pub.qlen != pk->key.ec.qlen ||
            memcmp(pub.q, pk->key.ec.q, pub.qlen) != 0) {
            *why = "the EC key does not match the certificate";
            return 0;
        }
    }
    return 1;
}

/* ---- sets ----------------------------------------------------------------- */

static int valid_host(const char *h)
{
    size_t len = strlen(h);

    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        if (c == '*') {
            if (i != 0 || h[1] != '.')
                return 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.')) {
            return 0;
        }
    }
    return 1;
}

static void chain_clear(struct tls_chain *ch)
{
    for (size_t i = 0; i < ch->n; i++)
        free(ch->certs[i].data);
    free(ch->certs);
    free(ch->key_mem);
    free(ch->host);
    memset(ch, 0, sizeof(*ch));
}

struct mirage_tls_certs *mirage_tls_certs_new(void)
{
    struct mirage_tls_certs *c = calloc(1, sizeof(*c));

    if (c != NULL)
        c->refs = 1;
    return c;
}

void tls_certs_release(struct mirage_tls_certs *c)
{
    if (c == NULL || --c->refs > 0)
        return;
    for (size_t i = 0; i < c->n; i++)
        chain_clear(&c->e[i]);
    free(c->e);
    free(c);
}

void mirage_tls_certs_free(struct mirage_tls_certs *c)
{
    tls_certs_release(c);
}

size_t mirage_tls_certs_count(const struct mirage_tls_certs *c)
{
    return c ? c->n : 0;
}

int mirage_tls_certs_add(struct mirage_tls_certs *c, const char *host, const void *chain,
                         size_t chain_len, const void *key, size_t key_len)
{
    struct tls_chain ch;
    struct chain_build cb = {&ch, 0, 0, NULL};
    const char *why = NULL, *who = host ? host : "(default)";
    int r;

    if (c == NULL || chain == NULL || key == NULL)
        return MIRAGE_EINVAL;
    memset(&ch, 0, sizeof(ch));
    if (host != NULL && !valid_host(host)) {
        mirage_log_err(&tls_log, "certificate for '%s': not a host name", host);
        return MIRAGE_EINVAL;
    }
    r = tls_pem_each(chain, chain_len, take_cert, &cb, &why);
    if (r == 0 && ch.n == 0) {
        why = "no certificate in the chain";
        r = MIRAGE_EINVAL;
    }
    if (r == 0) {
        r = tls_pem_each(key, key_len, take_key, &cb, &why);
        if (why == NULL)
            why = cb.why;
        if (r == 0 && cb.keys == 0) {
            why = "no private key";
            r = MIRAGE_EINVAL;
        }
    }
    if (r == 0 && !key_matches_leaf(&ch, &why))
        r = MIRAGE_EINVAL;
    if (r == 0 && host != NULL) {
        ch.host = malloc(strlen(host) + 1);
        if (ch.host == NULL)
            r = MIRAGE_ENOMEM;
        else
            for (size_t i = 0; i <= strlen(host); i++)
                ch.host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
    }
    if (r == 0 && c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        struct tls_chain *e = realloc(c->e, cap * sizeof(*e));
        if (e == NULL) {
            r = MIRAGE_ENOMEM;
        } else {
            c->e = e;
            c->cap = cap;
        }
    }
    if (r != 0) {
        if (r == MIRAGE_EINVAL)
            mirage_log_err(&tls_log, "certificate for %s: %s", who, why ? why : "invalid");
        chain_clear(&ch);
        return r;
    }
    c->e[c->n++] = ch;
    mirage_log_debug(&tls_log, "certificate for %s: %zu in the chain, %s key", who, ch.n,
                     ch.key_type == BR_KEYTYPE_RSA ? "RSA" : "EC");
    return 0;
}

static int name_eq(const char *a, const char *b, size_t blen)
{
    size_t i;

    for (i = 0; i < blen && a[i]; i++) {
        char x = a[i], y = b[i];
        if (y >= 'A' && y <= 'Z')
            y = (char)(y + 32);
        if (x != y)
            return 0;
    }
    return i == blen && a[i] == '\0';
}

const struct tls_chain *tls_certs_pick(const struct mirage_tls_certs *c, const char *name)
{
    const struct tls_chain *wild = NULL, *dflt = NULL;
    size_t len = name ? strlen(name) : 0;
    const char *dot = len ? strchr(name, '.') : NULL;

    for (size_t i = 0; i < c->n; i++) {
        const struct tls_chain *e = &c->e[i];
        if (e->host == NULL) {
            if (dflt == NULL)
                dflt = e;
        } else if (len > 0 && name_eq(e->host, name, len)) {
            return e;
        } else if (dot != NULL && dot != name && e->host[0] == '*' &&
                   name_eq(e->host + 1, dot, len - (size_t)(dot - name)) && wild == NULL) {
            wild = e;
        }
    }
    if (wild)
        return wild;
    return dflt ? dflt : &c->e[0];
}

/* ---- trust anchors -------------------------------------------------------- */

struct anchor_build {
    struct tls_anchors *a;
    int as_ca;
    struct blob dn;
    int err;
};

static void dn_append(void *ctx, const void *data, size_t len)
{
    struct blob *b = ctx;

    if (b->overflow)
        return;
    if (len > b->cap - b->len) {
        size_t cap = (b->cap + len) * 2;
        uint8_t *p = realloc(b->buf, cap);
        if (p == NULL) {
            b->overflow = 1;
            return;
        }
        b->buf = p;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
}

static uint8_t *dup_bytes(const void *p, size_t len)
{
    uint8_t *d = malloc(len ? len : 1);

    if (d != NULL)
        memcpy(d, p, len);
    return d;
}

static void anchor_clear(br_x509_trust_anchor *ta)
{
    free(ta->dn.data);
    if (ta->pkey.key_type == BR_KEYTYPE_RSA) {
        free(ta->pkey.key.rsa.n);
        free(ta->pkey.key.rsa.e);
    } else {
        free(ta->pkey.key.ec.q);
    }
}

static int take_anchor(void *ctx, const char *name, const uint8_t *der, size_t len)
{
    struct anchor_build *ab = ctx;
    struct tls_anchors *a = ab->a;
    br_x509_decoder_context dc;
    const br_x509_pkey *pk;
    br_x509_trust_anchor ta;
    int ok;

    if (!is_cert_label(name))
        return 0;
    ab->dn.len = 0;
    ab->dn.overflow = 0;
    br_x509_decoder_init(&dc, dn_append, &ab->dn);
    br_x509_decoder_push(&dc, der, len);
    pk = br_x509_decoder_get_pkey(&dc);
    if (pk == NULL || br_x509_decoder_last_error(&dc) != 0) {
        ab->err = br_x509_decoder_last_error(&dc);
        return MIRAGE_EINVAL;
    }
    if (ab->dn.overflow)
        return MIRAGE_ENOMEM;
    memset(&ta, 0, sizeof(ta));
    ta.flags = ab->as_ca ? BR_X509_TA_CA : 0;
    ta.dn.data = dup_bytes(ab->dn.buf, ab->dn.len);
    ta.dn.len = ab->dn.len;
    ta.pkey = *pk;
    if (pk->key_type == BR_KEYTYPE_RSA) {
        ta.pkey.key.rsa.n = dup_bytes(pk->key.rsa.n, pk->key.rsa.nlen);
        ta.pkey.key.rsa.e = dup_bytes(pk->key.rsa.e, pk->key.rsa.elen);
        ok = ta.pkey.key.rsa.n != NULL && ta.pkey.key.rsa.e != NULL;
    } else {
        ta.pkey.key.ec.q = dup_bytes(pk->key.ec.q, pk->key.ec.qlen);
        ok = ta.pkey.key.ec.q != NULL;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        br_x509_trust_anchor *t = realloc(a->ta, cap * sizeof(*t));
        if (t != NULL) {
            a->ta = t;
            a->cap = cap;
        }
    }
    if (!ok || ta.dn.data == NULL || a->n == a->cap) {
        anchor_clear(&ta);
        return MIRAGE_ENOMEM;
    }
    a->ta[a->n++] = ta;
    return 0;
}

int tls_anchors_add(struct tls_anchors *a, const void *data, size_t len, int as_ca)
{
    struct anchor_build ab = {a, as_ca, {NULL, 0, 0, 0}, 0};
    const char *why = NULL;
    size_t before = a->n;
    int r = tls_pem_each(data, len, take_anchor, &ab, &why);

    free(ab.dn.buf);
    if (r == 0 && a->n == before) {
        why = "no certificate";
        r = MIRAGE_EINVAL;
    }
    if (r == MIRAGE_EINVAL) {
        if (why != NULL)
            mirage_log_err(&tls_log, "%s: %s", as_ca ? "CA certificates" : "pinned certificate",
                           why);
        else
            mirage_log_err(&tls_log, "%s: a certificate does not decode (X.509 error %d)",
                           as_ca ? "CA certificates" : "pinned certificate", ab.err);
    }
    return r;
}

void tls_anchors_free(struct tls_anchors *a)
{
    for (size_t i = 0; i < a->n; i++)
        anchor_clear(&a->ta[i]);
    free(a->ta);
    memset(a, 0, sizeof(*a));
}
