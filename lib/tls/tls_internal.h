/* tls_internal.h: what lib/tls's files share: certificate sets, trust anchors, the PEM reader. */
#ifndef TLS_INTERNAL_H
#define TLS_INTERNAL_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>

#include "mirage/log.h"
#include "mirage/tls.h"

extern struct mirage_log_src tls_log;

/* One certificate chain with its private key, served for (host). */
struct tls_chain {
    char *host; /* lower case; "*.example.org"; NULL: the default */
    br_x509_certificate *certs;
    size_t n;
    int key_type; /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
    unsigned issuer_key_type;
    union {
        br_rsa_private_key rsa;
        br_ec_private_key ec;
    } key;
    uint8_t *key_mem; /* what the key's pointers point into */
};

struct mirage_tls_certs {
    struct tls_chain *e;
    size_t n, cap;
    unsigned refs; /* the server, and each handshake that chose from this set */
};

/* The chain to serve for (name) (the SNI, possibly ""): an exact match, a
 * wildcard match of its first label, else the default, else the first. */
const struct tls_chain *tls_certs_pick(const struct mirage_tls_certs *c, const char *name);

/* Drops one reference; frees (c) with the last. */
void tls_certs_release(struct mirage_tls_certs *c);

/* Calls fn(ctx, name, der, len) for each PEM object in (data, len), name
 * being its "BEGIN" label; data with no "-----BEGIN" is one DER object with
 * name NULL. Returns 0, MIRAGE_EINVAL (bad PEM: *why says so), fn's first
 * error, or MIRAGE_ENOMEM. */
int tls_pem_each(const void *data, size_t len,
                 int (*fn)(void *ctx, const char *name, const uint8_t *der, size_t len), void *ctx,
                 const char **why);

/* Trust anchors made from certificates (PEM or DER): CA anchors from a
 * bundle, or one non-CA anchor (direct trust: subject and key) for a pin. */
struct tls_anchors {
    br_x509_trust_anchor *ta;
    size_t n, cap;
};
int tls_anchors_add(struct tls_anchors *a, const void *data, size_t len, int as_ca);
void tls_anchors_free(struct tls_anchors *a);

/* Adds the CA certificates in (data, len) (PEM or DER) to what (c) trusts. */
int tls_client_trust(struct mirage_tls_client *c, const void *data, size_t len);

/* OpenSSL's name of a TLS 1.2 suite, or NULL. */
const char *tls_suite_name(uint16_t suite);

#endif
