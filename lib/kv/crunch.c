/* crunch.c: the read-only store over a directory `mirage build` embedded in the image (config.c's
 * crunch). */
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "mirage/kv.h"
#include "table.h"

struct crunch {
    struct mirage_kv kv;
    const struct mirage_crunch *img;
};

static const struct mirage_crunch *img_of(struct mirage_kv *kv)
{
    return ((struct crunch *)kv)->img;
}

static int c_exists(struct mirage_kv *kv, const char *key, enum mirage_kv_kind *kind,
                    struct mirage_kv_error *err)
{
    return mirage_kv_table_exists(img_of(kv), key, kind, err);
}

static int c_get(struct mirage_kv *kv, const char *key, uint8_t **value, size_t *len,
                 struct mirage_kv_error *err)
{
    const struct mirage_crunch *img = img_of(kv);
    const struct mirage_crunch_entry *e;
    int r = mirage_kv_table_find_value(img, key, &e, err);

    if (r < 0)
        return r;
    if (e->size > SIZE_MAX - 1 || !(*value = malloc(e->size ? (size_t)e->size : 1)))
        return mirage_kv_fail(err, MIRAGE_ENOMEM, key, "a value of %llu bytes",
                              (unsigned long long)e->size);
    memcpy(*value, img->data + e->offset, (size_t)e->size);
    *len = (size_t)e->size;
    return 0;
}

static int c_get_partial(struct mirage_kv *kv, const char *key, uint64_t offset, void *buf,
                         size_t len, size_t *got, struct mirage_kv_error *err)
{
    const struct mirage_crunch *img = img_of(kv);
    const struct mirage_crunch_entry *e;
    int r = mirage_kv_table_find_value(img, key, &e, err);

    if (r < 0)
        return r;
    if (offset >= e->size)
        return 0;
    *got = e->size - offset < len ? (size_t)(e->size - offset) : len;
    memcpy(buf, img->data + e->offset + offset, *got);
    return 0;
}

static int c_list(struct mirage_kv *kv, const char *key, struct mirage_kv_entry **entries,
                  size_t *count, struct mirage_kv_error *err)
{
    return mirage_kv_table_list(img_of(kv), key, entries, count, err);
}

static int c_last_modified(struct mirage_kv *kv, const char *key, uint64_t *ns,
                           struct mirage_kv_error *err)
{
    return mirage_kv_table_last_modified(img_of(kv), key, ns, err);
}

static int c_digest(struct mirage_kv *kv, const char *key, uint8_t out[32],
                    struct mirage_kv_error *err)
{
    const struct mirage_crunch *img = img_of(kv);
    const struct mirage_crunch_entry *e;
    br_sha256_context c;
    int r = mirage_kv_table_find_value(img, key, &e, err);

    if (r < 0)
        return r;
    br_sha256_init(&c);
    br_sha256_update(&c, img->data + e->offset, (size_t)e->size);
    br_sha256_out(&c, out);
    return 0;
}

static int c_size(struct mirage_kv *kv, const char *key, uint64_t *size,
                  struct mirage_kv_error *err)
{
    return mirage_kv_table_size(img_of(kv), key, size, err);
}

static void c_disconnect(struct mirage_kv *kv)
{
    free(kv);
}

static const struct mirage_kv_ops crunch_ops = {
    .exists = c_exists,
    .get = c_get,
    .get_partial = c_get_partial,
    .list = c_list,
    .last_modified = c_last_modified,
    .digest = c_digest,
    .size = c_size,
    .disconnect = c_disconnect,
};

int mirage_kv_crunch_new(const struct mirage_crunch *img, struct mirage_kv **out)
{
    struct crunch *c;
    char canon[MIRAGE_KV_KEY_MAX + 1];

    /* The generator's table, checked once: canonical keys in strictly
     * increasing order starting with the root, values inside the data. */
    if (img->n == 0 || strcmp(img->entries[0].key, "/") != 0 ||
        img->entries[0].kind != MIRAGE_KV_DICTIONARY)
        return MIRAGE_EINVAL;
    for (size_t i = 0; i < img->n; i++) {
        const struct mirage_crunch_entry *e = &img->entries[i];
        if (mirage_kv_key_canonical(e->key, canon, NULL) < 0 || strcmp(canon, e->key) != 0 ||
            (i > 0 && strcmp(img->entries[i - 1].key, e->key) >= 0) ||
            (e->kind != MIRAGE_KV_VALUE && e->kind != MIRAGE_KV_DICTIONARY) ||
            e->offset > img->size || e->size > img->size - e->offset)
            return MIRAGE_EINVAL;
        if (i > 0) {
            /* Its dictionary is listed before it. */
            const char *slash = strrchr(e->key, '/');
            size_t j;
            if (slash == e->key)
                continue;
            memcpy(canon, e->key, (size_t)(slash - e->key));
            canon[slash - e->key] = '\0';
            j = mirage_kv_table_lower_bound(img, canon);
            if (j >= i || strcmp(img->entries[j].key, canon) != 0 ||
                img->entries[j].kind != MIRAGE_KV_DICTIONARY)
                return MIRAGE_EINVAL;
        }
    }
    if (!(c = calloc(1, sizeof(*c))))
        return MIRAGE_ENOMEM;
    c->kv.ops = &crunch_ops;
    c->img = img;
    *out = &c->kv;
    return 0;
}
