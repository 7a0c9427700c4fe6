/* kv.c: the kv.h calls every store shares: key checks, errors, listings, then the store's op. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/heap.h"
#include "mirage/kv.h"

static void clear(struct mirage_kv_error *err)
{
    err->code = 0;
    err->key[0] = err->dest[0] = err->detail[0] = '\0';
    err->index = 0;
}

/* Copies (s) into (dst) of (size) bytes; a string that does not fit is
 * shown cut short with "..." (for messages about keys too long to keep). */
static void copy_shown(char *dst, size_t size, const char *s)
{
    size_t n = strlen(s);

    if (n < size) {
        memcpy(dst, s, n + 1);
        return;
    }
    memcpy(dst, s, size - 4);
    memcpy(dst + size - 4, "...", 4);
}

int mirage_kv_fail(struct mirage_kv_error *err, int code, const char *key, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    copy_shown(err->key, sizeof(err->key), key ? key : "");
    err->detail[0] = '\0';
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
        va_end(ap);
    }
    return code;
}

int mirage_kv_key_canonical(const char *key, char out[MIRAGE_KV_KEY_MAX + 1],
                            struct mirage_kv_error *err)
{
    size_t o = 0;
    const char *p = key;

    if (!key)
        return mirage_kv_fail(err, MIRAGE_EINVAL, "(null)", "no key given");
    if (*p == '/')
        p++;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        if (n == 0)
            return mirage_kv_fail(err, MIRAGE_EINVAL, key, "empty segment ('//')");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return mirage_kv_fail(err, MIRAGE_EINVAL, key, "segment '%.*s'", (int)n, p);
        if (n > MIRAGE_KV_SEGMENT_MAX)
            return mirage_kv_fail(err, MIRAGE_ENAMETOOLONG, key,
                                  "a segment of %zu bytes (at most %d)", n, MIRAGE_KV_SEGMENT_MAX);
        if (o + 1 + n > MIRAGE_KV_KEY_MAX)
            return mirage_kv_fail(err, MIRAGE_ENAMETOOLONG, key, "longer than %d bytes",
                                  MIRAGE_KV_KEY_MAX);
        out[o++] = '/';
        memcpy(out + o, p, n);
        o += n;
        p += n;
        if (*p == '/')
            p++; /* one trailing '/' ends the loop here */
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
}

const char *mirage_kv_key_basename(const char *key)
{
    const char *slash = strrchr(key, '/');

    return slash ? slash + 1 : key;
}

int mirage_kv_key_is_prefix(const char *prefix, const char *key)
{
    size_t n = strlen(prefix);

    if (strcmp(prefix, "/") == 0)
        return 1;
    return strncmp(prefix, key, n) == 0 && (key[n] == '\0' || key[n] == '/');
}

const char *mirage_kv_strerror(const struct mirage_kv_error *e, char *buf, size_t size)
{
    const char *what;

    if ((e->code == MIRAGE_EINVAL || e->code == MIRAGE_ENAMETOOLONG) && !e->dest[0] && e->key[0]) {
        snprintf(buf, size, "bad key \"%s\": %s", e->key, e->detail);
        return buf;
    }
    switch (e->code) {
    case 0:
        what = "no error";
        break;
    case MIRAGE_ENOENT:
        what = "not found";
        break;
    case MIRAGE_ENOTDIR:
        what = "dictionary expected";
        break;
    case MIRAGE_EISDIR:
        what = "value expected";
        break;
    case MIRAGE_ENOSPC:
        what = "no space left";
        break;
    case MIRAGE_EEXIST:
        what = "already present";
        break;
    case MIRAGE_EROFS:
        what = "read-only store";
        break;
    case MIRAGE_EIO:
        what = "device error";
        break;
    case MIRAGE_EBADMSG:
        what = "damaged data";
        break;
    case MIRAGE_ENOMEM:
        what = "out of memory";
        break;
    case MIRAGE_EINVAL:
        what = e->dest[0] ? "rename source is a prefix of destination" : "invalid";
        break;
    default:
        what = mirage_strerror(e->code);
        break;
    }
    snprintf(buf, size, "%s%s%s%s%s%s%s%s", what, e->key[0] ? ": " : "", e->key,
             e->dest[0] ? " -> " : "", e->dest, e->detail[0] ? " (" : "", e->detail,
             e->detail[0] ? ")" : "");
    return buf;
}

/* ---- list building ------------------------------------------------------- */

int mirage_kv_list_add(struct mirage_kv_list_builder *b, const char *dict, const char *name,
                       enum mirage_kv_kind kind)
{
    size_t dl = strcmp(dict, "/") == 0 ? 0 : strlen(dict);
    size_t need = dl + 1 + strlen(name) + 1;

    if (b->failed)
        return MIRAGE_ENOMEM;
    if (mirage_grow(&b->entries, &b->cap, b->n + 1, sizeof *b->entries) != 0 ||
        mirage_grow(&b->names, &b->names_cap, b->names_len + need, 1) != 0)
        goto nomem;
    memcpy(b->names + b->names_len, dict, dl);
    b->names[b->names_len + dl] = '/';
    memcpy(b->names + b->names_len + dl + 1, name, need - dl - 1);
    /* Offsets for now: names may still move. */
    b->entries[b->n].key = (const char *)(uintptr_t)b->names_len;
    b->entries[b->n].kind = kind;
    b->n++;
    b->names_len += need;
    return 0;
nomem:
    b->failed = 1;
    return MIRAGE_ENOMEM;
}

void mirage_kv_list_abandon(struct mirage_kv_list_builder *b)
{
    free(b->entries);
    free(b->names);
    memset(b, 0, sizeof(*b));
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct mirage_kv_entry *)a)->key,
                  ((const struct mirage_kv_entry *)b)->key);
}

int mirage_kv_list_finish(struct mirage_kv_list_builder *b, struct mirage_kv_entry **entries,
                          size_t *n)
{
    size_t table = b->n * sizeof(struct mirage_kv_entry);
    struct mirage_kv_entry *out;
    char *names;

    *entries = NULL;
    *n = 0;
    if (b->failed) {
        mirage_kv_list_abandon(b);
        return MIRAGE_ENOMEM;
    }
    if (b->n == 0) {
        mirage_kv_list_abandon(b);
        return 0;
    }
    out = malloc(table + b->names_len);
    if (!out) {
        mirage_kv_list_abandon(b);
        return MIRAGE_ENOMEM;
    }
    names = (char *)out + table;
    memcpy(names, b->names, b->names_len);
    for (size_t i = 0; i < b->n; i++) {
        out[i].key = names + (uintptr_t)b->entries[i].key;
        out[i].kind = b->entries[i].kind;
    }
    qsort(out, b->n, sizeof(*out), by_key);
    *entries = out;
    *n = b->n;
    mirage_kv_list_abandon(b);
    return 0;
}

/* ---- the calls ----------------------------------------------------------- */

/* Every call starts the same: a place for the error, the key checked. */
#define ENTER(kv, key, canon, err)                                                                 \
    struct mirage_kv_error local_;                                                                 \
    char canon[MIRAGE_KV_KEY_MAX + 1];                                                             \
    int r_;                                                                                        \
    if (!err)                                                                                      \
        err = &local_;                                                                             \
    clear(err);                                                                                    \
    if ((r_ = mirage_kv_key_canonical(key, canon, err)) < 0)                                       \
        return r_;

/* What an implementation returned, with (err) filled if it forgot. */
static int done(int r, struct mirage_kv_error *err, const char *key)
{
    if (r < 0 && err->code != r) {
        err->code = r;
        if (!err->key[0])
            copy_shown(err->key, sizeof(err->key), key);
    }
    return r;
}

static int read_only(struct mirage_kv_error *err, const char *key)
{
    return mirage_kv_fail(err, MIRAGE_EROFS, key, NULL);
}

int mirage_kv_exists(struct mirage_kv *kv, const char *key, enum mirage_kv_kind *kind,
                     struct mirage_kv_error *err)
{
    *kind = MIRAGE_KV_NONE;
    ENTER(kv, key, k, err);
    return done(kv->ops->exists(kv, k, kind, err), err, k);
}

int mirage_kv_get(struct mirage_kv *kv, const char *key, uint8_t **value, size_t *len,
                  struct mirage_kv_error *err)
{
    *value = NULL;
    *len = 0;
    ENTER(kv, key, k, err);
    return done(kv->ops->get(kv, k, value, len, err), err, k);
}

int mirage_kv_get_partial(struct mirage_kv *kv, const char *key, uint64_t offset, void *buf,
                          size_t len, size_t *got, struct mirage_kv_error *err)
{
    *got = 0;
    ENTER(kv, key, k, err);
    return done(kv->ops->get_partial(kv, k, offset, buf, len, got, err), err, k);
}

int mirage_kv_list(struct mirage_kv *kv, const char *key, struct mirage_kv_entry **entries,
                   size_t *n, struct mirage_kv_error *err)
{
    *entries = NULL;
    *n = 0;
    ENTER(kv, key, k, err);
    return done(kv->ops->list(kv, k, entries, n, err), err, k);
}

int mirage_kv_last_modified(struct mirage_kv *kv, const char *key, uint64_t *ns,
                            struct mirage_kv_error *err)
{
    *ns = 0;
    ENTER(kv, key, k, err);
    return done(kv->ops->last_modified(kv, k, ns, err), err, k);
}

int mirage_kv_digest(struct mirage_kv *kv, const char *key, uint8_t out[32],
                     struct mirage_kv_error *err)
{
    ENTER(kv, key, k, err);
    return done(kv->ops->digest(kv, k, out, err), err, k);
}

int mirage_kv_size(struct mirage_kv *kv, const char *key, uint64_t *size,
                   struct mirage_kv_error *err)
{
    *size = 0;
    ENTER(kv, key, k, err);
    return done(kv->ops->size(kv, k, size, err), err, k);
}

int mirage_kv_writable(const struct mirage_kv *kv)
{
    return kv->ops->set != NULL;
}

int mirage_kv_set(struct mirage_kv *kv, const char *key, const void *data, size_t len,
                  struct mirage_kv_error *err)
{
    ENTER(kv, key, k, err);
    if (!kv->ops->set)
        return read_only(err, k);
    return done(kv->ops->set(kv, k, data, len, err), err, k);
}

int mirage_kv_set_partial(struct mirage_kv *kv, const char *key, uint64_t offset, const void *data,
                          size_t len, struct mirage_kv_error *err)
{
    ENTER(kv, key, k, err);
    if (!kv->ops->set_partial)
        return read_only(err, k);
    return done(kv->ops->set_partial(kv, k, offset, data, len, err), err, k);
}

int mirage_kv_remove(struct mirage_kv *kv, const char *key, struct mirage_kv_error *err)
{
    ENTER(kv, key, k, err);
    if (!kv->ops->remove)
        return read_only(err, k);
    return done(kv->ops->remove(kv, k, err), err, k);
}

int mirage_kv_rename(struct mirage_kv *kv, const char *source, const char *dest,
                     struct mirage_kv_error *err)
{
    char d[MIRAGE_KV_KEY_MAX + 1];

    ENTER(kv, source, s, err);
    if ((r_ = mirage_kv_key_canonical(dest, d, err)) < 0)
        return r_;
    if (!kv->ops->rename)
        return read_only(err, s);
    return done(kv->ops->rename(kv, s, d, err), err, s);
}

int mirage_kv_allocate(struct mirage_kv *kv, const char *key, uint64_t size, uint64_t last_modified,
                       struct mirage_kv_error *err)
{
    ENTER(kv, key, k, err);
    if (!kv->ops->allocate)
        return read_only(err, k);
    return done(kv->ops->allocate(kv, k, size, last_modified, err), err, k);
}

int mirage_kv_batch(struct mirage_kv *kv, const struct mirage_kv_op *ops, size_t n,
                    struct mirage_kv_error *err)
{
    struct mirage_kv_error local;
    struct mirage_kv_op *canon;
    char *keys;
    int r;

    if (!err)
        err = &local;
    clear(err);
    if (!kv->ops->batch)
        return read_only(err, "");
    if (n == 0)
        return 0;
    /* Two canonical keys per operation, kept while the store works. */
    if (n > SIZE_MAX / (sizeof(*canon) + 2 * (MIRAGE_KV_KEY_MAX + 1)))
        return mirage_kv_fail(err, MIRAGE_ENOMEM, "", "a batch of %zu operations", n);
    canon = malloc(n * (sizeof(*canon) + 2 * (MIRAGE_KV_KEY_MAX + 1)));
    if (!canon)
        return mirage_kv_fail(err, MIRAGE_ENOMEM, "", "a batch of %zu operations", n);
    keys = (char *)(canon + n);
    for (size_t i = 0; i < n; i++) {
        char *k = keys + 2 * i * (MIRAGE_KV_KEY_MAX + 1), *d = k + MIRAGE_KV_KEY_MAX + 1;

        canon[i] = ops[i];
        r = 0;
        if (ops[i].op != MIRAGE_KV_OP_SET && ops[i].op != MIRAGE_KV_OP_REMOVE &&
            ops[i].op != MIRAGE_KV_OP_RENAME)
            r = mirage_kv_fail(err, MIRAGE_EINVAL, "", "batch: unknown operation %d",
                               (int)ops[i].op);
        if (r == 0)
            r = mirage_kv_key_canonical(ops[i].key, k, err);
        if (r == 0 && ops[i].op == MIRAGE_KV_OP_RENAME)
            r = mirage_kv_key_canonical(ops[i].dest, d, err);
        if (r < 0) {
            err->index = i;
            free(canon);
            return r;
        }
        canon[i].key = k;
        canon[i].dest = ops[i].op == MIRAGE_KV_OP_RENAME ? d : NULL;
    }
    r = kv->ops->batch(kv, canon, n, err);
    if (r < 0 && err->code != r) {
        err->code = r;
    }
    free(canon);
    return r;
}

void mirage_kv_disconnect(struct mirage_kv *kv)
{
    kv->ops->disconnect(kv);
}
