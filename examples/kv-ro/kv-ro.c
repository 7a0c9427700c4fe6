/* kv-ro.c: walks two read-only stores (crunch, tar) and prints each value's SHA-256, size and key,
 * as sha256sum would. */
#include <stdio.h>
#include <stdlib.h>

#include "mirage/kv.h"

/* Prints "DIGEST  SIZE  KEY" for every value under (dict); returns 0 or the first error. */
static int walk(struct mirage_kv *kv, const char *name, const char *dict)
{
    struct mirage_kv_error err;
    struct mirage_kv_entry *e;
    char msg[2400];
    size_t n;
    int r = mirage_kv_list(kv, dict, &e, &n, &err);

    if (r < 0) {
        printf("%s: %s\n", name, mirage_kv_strerror(&err, msg, sizeof(msg)));
        return r;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        uint8_t d[32];
        uint64_t size;
        if (e[i].kind == MIRAGE_KV_DICTIONARY) {
            r = walk(kv, name, e[i].key);
            continue;
        }
        if ((r = mirage_kv_digest(kv, e[i].key, d, &err)) < 0 ||
            (r = mirage_kv_size(kv, e[i].key, &size, &err)) < 0) {
            printf("%s: %s\n", name, mirage_kv_strerror(&err, msg, sizeof(msg)));
            break;
        }
        printf("%s ", name);
        for (int j = 0; j < 32; j++)
            printf("%02x", d[j]);
        printf("  %llu  %s\n", (unsigned long long)size, e[i].key);
    }
    free(e);
    return r;
}

int start(struct mirage_kv *data, struct mirage_kv *tar)
{
    return walk(data, "crunch", "/") < 0 || walk(tar, "tar", "/") < 0 ? 1 : 0;
}
