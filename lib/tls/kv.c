/* kv.c: server certificates from a kv store (PREFIX/HOST/cert.pem and key.pem), reloading them,
 * and a client's CA certificates from a store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/kv.h"
#include "tls_internal.h"

/* The value of DIR/NAME, or an error logged with the store's words. */
static int get_file(struct mirage_kv *kv, const char *dir, const char *name, uint8_t **data,
                    size_t *len)
{
    char key[MIRAGE_KV_KEY_MAX + 16];
    struct mirage_kv_error err;
    char msg[MIRAGE_KV_KEY_MAX + 256];
    int r;

    snprintf(key, sizeof(key), "%s/%s", dir, name);
    r = mirage_kv_get(kv, key, data, len, &err);
    if (r < 0)
        mirage_log_err(&tls_log, "certificates: %s", mirage_kv_strerror(&err, msg, sizeof(msg)));
    return r;
}

/* The entries under (prefix), or the store's error logged as (what)'s. */
static int list(struct mirage_kv *kv, const char *prefix, const char *what,
                struct mirage_kv_entry **entries, size_t *n)
{
    struct mirage_kv_error err;
    char msg[MIRAGE_KV_KEY_MAX + 256];
    int r;

    if (kv == NULL || prefix == NULL)
        return MIRAGE_EINVAL;
    r = mirage_kv_list(kv, prefix, entries, n, &err);
    if (r < 0)
        mirage_log_err(&tls_log, "%s: %s", what, mirage_kv_strerror(&err, msg, sizeof(msg)));
    return r;
}

int mirage_tls_certs_from_kv(struct mirage_kv *kv, const char *prefix,
                             struct mirage_tls_certs **out)
{
    struct mirage_kv_entry *entries = NULL;
    struct mirage_tls_certs *c;
    size_t n = 0;
    int r;

    *out = NULL;
    if ((r = list(kv, prefix, "certificates", &entries, &n)) < 0)
        return r;
    c = mirage_tls_certs_new();
    if (c == NULL) {
        free(entries);
        return MIRAGE_ENOMEM;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        const char *host = mirage_kv_key_basename(entries[i].key);
        uint8_t *chain = NULL, *key = NULL;
        size_t chain_len = 0, key_len = 0;

        if (entries[i].kind != MIRAGE_KV_DICTIONARY)
            continue; /* a README beside the hosts */
        r = get_file(kv, entries[i].key, "cert.pem", &chain, &chain_len);
        if (r == 0)
            r = get_file(kv, entries[i].key, "key.pem", &key, &key_len);
        if (r == 0)
            r = mirage_tls_certs_add(c, strcmp(host, "default") ? host : NULL, chain, chain_len,
                                     key, key_len);
        if (key != NULL)
            memset(key, 0, key_len);
        free(chain);
        free(key);
    }
    if (r == 0 && c->n == 0) {
        mirage_log_err(&tls_log, "certificates: no HOST/cert.pem and key.pem under %s", prefix);
        r = MIRAGE_ENOENT;
    }
    free(entries);
    if (r < 0) {
        tls_certs_release(c);
        return r;
    }
    *out = c;
    return 0;
}

int mirage_tls_client_from_kv(const struct mirage_tls_opts *opts, struct mirage_kv *kv,
                              const char *prefix, struct mirage_tls_client **out)
{
    struct mirage_kv_entry *entries = NULL;
    struct mirage_kv_error err;
    struct mirage_tls_client *c = NULL;
    char msg[MIRAGE_KV_KEY_MAX + 256];
    size_t n = 0;
    int r;

    *out = NULL;
    if ((r = list(kv, prefix, "CA certificates", &entries, &n)) < 0)
        return r;
    for (size_t i = 0; i < n && r == 0; i++) {
        uint8_t *data = NULL;
        size_t len = 0;

        if (entries[i].kind != MIRAGE_KV_VALUE)
            continue;
        r = mirage_kv_get(kv, entries[i].key, &data, &len, &err);
        if (r < 0)
            mirage_log_err(&tls_log, "CA certificates: %s",
                           mirage_kv_strerror(&err, msg, sizeof(msg)));
        else if (c == NULL)
            r = mirage_tls_client_new(opts, data, len, NULL, 0, &c);
        else
            r = tls_client_trust(c, data, len);
        if (r == MIRAGE_EINVAL)
            mirage_log_err(&tls_log, "CA certificates: %s is not a PEM or DER certificate",
                           entries[i].key);
        free(data);
    }
    free(entries);
    if (r == 0 && c == NULL) {
        mirage_log_err(&tls_log, "CA certificates: none under %s", prefix);
        r = MIRAGE_ENOENT;
    }
    if (r < 0) {
        mirage_tls_client_free(c);
        return r;
    }
    *out = c;
    return 0;
}
