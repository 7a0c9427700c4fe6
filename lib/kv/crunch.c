/* crunch.c: the read-only store over a directory `mirage build` embedded in the image (config.c's
 * crunch). */
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "mirage/kv.h"

struct crunch {
    struct mirage_kv kv;
    const struct mirage_crunch *img;
};

static const struct mirage_crunch *img_of(struct mirage_kv *kv)
{
    return ((struct crunch *)kv)->img;
}

/* The first entry whose key is not below (key) in byte order. */
static size_t lower_bound(const struct mirage_crunch *img, const char *key)
{
    size_t lo = 0, hi = img->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(img->entries[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Finds (key): NULL when unbound; MIRAGE_ENOTDIR (in err) when a prefix is a value. */
static int find(const struct mirage_crunch *img, const char *key,
                const struct mirage_crunch_entry **out, struct mirage_kv_error *err)
{
    char prefix[MIRAGE_KV_KEY_MAX + 1];
    size_t i = lower_bound(img, key);
    const char *slash;

    *out = NULL;
    if (i < img->n && strcmp(img->entries[i].key, key) == 0) {
        *out = &img->entries[i];
        return 0;
    }
    /* Unbound: say so unless one of its parents is a value. */
    for (slash = strchr(key + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        size_t n = (size_t)(slash - key), j;
        memcpy(prefix, key, n);
        prefix[n] = '\0';
        j = lower_bound(img, prefix);
        if (j == img->n || strcmp(img->entries[j].key, prefix) != 0)
            return 0;
        if (img->entries[j].kind == MIRAGE_KV_VALUE)
            return mirage_kv_fail(err, MIRAGE_ENOTDIR, prefix, NULL);
    }
    return 0;
}

static int find_value(const struct mirage_crunch *img, const char *key,
                      const struct mirage_crunch_entry **out, struct mirage_kv_error *err)
{
    int r = find(img, key, out, err);

    if (r < 0)
        return r;
    if (!*out)
        return mirage_kv_fail(err, MIRAGE_ENOENT, key, NULL);
    if ((*out)->kind != MIRAGE_KV_VALUE)
        return mirage_kv_fail(err, MIRAGE_EISDIR, key, NULL);
    return 0;
}

static int c_exists(struct mirage_kv *kv, const char *key, enum mirage_kv_kind *kind,
                    struct mirage_kv_error *err)
{
    const struct mirage_crunch_entry *e;
    int r = find(img_of(kv), key, &e, err);

    if (r < 0)
        return r;
    *kind = e ? (enum mirage_kv_kind)e->kind : MIRAGE_KV_NONE;
    return 0;
}

static int c_get(struct mirage_kv *kv, const char *key, uint8_t **value, size_t *len,
                 struct mirage_kv_error *err)
{
    const struct mirage_crunch *img = img_of(kv);
    const struct mirage_crunch_entry *e;
    int r = find_value(img, key, &e, err);

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
    int r = find_value(img, key, &e, err);

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
    const struct mirage_crunch *img = img_of(kv);
    struct mirage_kv_list_builder b = {0};
    const struct mirage_crunch_entry *e;
    size_t plen, i;
    int r = find(img, key, &e, err);

    if (r < 0)
        return r;
    if (!e)
        return mirage_kv_fail(err, MIRAGE_ENOENT, key, NULL);
    if (e->kind != MIRAGE_KV_DICTIONARY)
        return mirage_kv_fail(err, MIRAGE_ENOTDIR, key, NULL);
    /* Entries under "/d" are the run of keys starting "/d/"; its entries are
     * those with no further '/'. */
    plen = strcmp(key, "/") == 0 ? 1 : strlen(key) + 1;
    for (i = (size_t)(e - img->entries) + 1; i < img->n; i++) {
        const struct mirage_crunch_entry *c = &img->entries[i];
        if (strncmp(c->key, key, plen - 1) != 0 || c->key[plen - 1] != '/')
            break;
        if (!strchr(c->key + plen, '/'))
            mirage_kv_list_add(&b, key, c->key + plen, (enum mirage_kv_kind)c->kind);
    }
    if ((r = mirage_kv_list_finish(&b, entries, count)) < 0)
        return mirage_kv_fail(err, r, key, NULL);
    return 0;
}

static int c_last_modified(struct mirage_kv *kv, const char *key, uint64_t *ns,
                           struct mirage_kv_error *err)
{
    const struct mirage_crunch_entry *e;
    int r = find(img_of(kv), key, &e, err);

    if (r < 0)
        return r;
    if (!e)
        return mirage_kv_fail(err, MIRAGE_ENOENT, key, NULL);
    *ns = e->mtime;
    return 0;
}

static int c_digest(struct mirage_kv *kv, const char *key, uint8_t out[32],
                    struct mirage_kv_error *err)
{
    const struct mirage_crunch *img = img_of(kv);
    const struct mirage_crunch_entry *e;
    br_sha256_context c;
    int r = find_value(img, key, &e, err);

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
    const struct mirage_crunch_entry *e;
    int r = find_value(img_of(kv), key, &e, err);

    if (r < 0)
        return r;
    *size = e->size;
    return 0;
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
            j = lower_bound(img, canon);
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
