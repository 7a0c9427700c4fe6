/* table.c: lookups in a sorted table of keys, the index crunch and tar_kv_ro stores share. */
#include <string.h>

#include "table.h"

size_t mirage_kv_table_lower_bound(const struct mirage_crunch *t, const char *key)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->entries[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int mirage_kv_table_find(const struct mirage_crunch *t, const char *key,
                         const struct mirage_crunch_entry **out, struct mirage_kv_error *err)
{
    char prefix[MIRAGE_KV_KEY_MAX + 1];
    size_t i = mirage_kv_table_lower_bound(t, key);
    const char *slash;

    *out = NULL;
    if (i < t->n && strcmp(t->entries[i].key, key) == 0) {
        *out = &t->entries[i];
        return 0;
    }
    /* Unbound: say so unless one of its parents is a value. */
    for (slash = strchr(key + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        size_t n = (size_t)(slash - key), j;
        memcpy(prefix, key, n);
        prefix[n] = '\0';
        j = mirage_kv_table_lower_bound(t, prefix);
        if (j == t->n || strcmp(t->entries[j].key, prefix) != 0)
            return 0;
        if (t->entries[j].kind == MIRAGE_KV_VALUE)
            return mirage_kv_fail(err, MIRAGE_ENOTDIR, prefix, NULL);
    }
    return 0;
}

int mirage_kv_table_find_value(const struct mirage_crunch *t, const char *key,
                               const struct mirage_crunch_entry **out, struct mirage_kv_error *err)
{
    int r = mirage_kv_table_find(t, key, out, err);

    if (r < 0)
        return r;
    if (!*out)
        return mirage_kv_fail(err, MIRAGE_ENOENT, key, NULL);
    if ((*out)->kind != MIRAGE_KV_VALUE)
        return mirage_kv_fail(err, MIRAGE_EISDIR, key, NULL);
    return 0;
}

int mirage_kv_table_exists(const struct mirage_crunch *t, const char *key,
                           enum mirage_kv_kind *kind, struct mirage_kv_error *err)
{
    const struct mirage_crunch_entry *e;
    int r = mirage_kv_table_find(t, key, &e, err);

    if (r < 0)
        return r;
    *kind = e ? (enum mirage_kv_kind)e->kind : MIRAGE_KV_NONE;
    return 0;
}

int mirage_kv_table_list(const struct mirage_crunch *t, const char *key,
                         struct mirage_kv_entry **entries, size_t *count,
                         struct mirage_kv_error *err)
{
    struct mirage_kv_list_builder b = {0};
    const struct mirage_crunch_entry *e;
    size_t plen, i;
    int r = mirage_kv_table_find(t, key, &e, err);

    if (r < 0)
        return r;
    if (!e)
        return mirage_kv_fail(err, MIRAGE_ENOENT, key, NULL);
    if (e->kind != MIRAGE_KV_DICTIONARY)
        return mirage_kv_fail(err, MIRAGE_ENOTDIR, key, NULL);
    /* Entries under "/d" are the run of keys starting "/d/" (not right after
     * "/d": "/d-x" sorts between); its entries are those with no further '/'. */
    if (strcmp(key, "/") == 0) {
        plen = 1;
        i = (size_t)(e - t->entries) + 1;
    } else {
        char sub[MIRAGE_KV_KEY_MAX + 2];
        plen = strlen(key) + 1;
        memcpy(sub, key, plen - 1);
        memcpy(sub + plen - 1, "/", 2);
        i = mirage_kv_table_lower_bound(t, sub);
    }
    for (; i < t->n; i++) {
        const struct mirage_crunch_entry *c = &t->entries[i];
        if (strncmp(c->key, key, plen - 1) != 0 || c->key[plen - 1] != '/')
            break;
        if (!strchr(c->key + plen, '/'))
            mirage_kv_list_add(&b, key, c->key + plen, (enum mirage_kv_kind)c->kind);
    }
    if ((r = mirage_kv_list_finish(&b, entries, count)) < 0)
        return mirage_kv_fail(err, r, key, NULL);
    return 0;
}

int mirage_kv_table_last_modified(const struct mirage_crunch *t, const char *key, uint64_t *ns,
                                  struct mirage_kv_error *err)
{
    const struct mirage_crunch_entry *e;
    int r = mirage_kv_table_find(t, key, &e, err);

    if (r < 0)
        return r;
    if (!e)
        return mirage_kv_fail(err, MIRAGE_ENOENT, key, NULL);
    *ns = e->mtime;
    return 0;
}

int mirage_kv_table_size(const struct mirage_crunch *t, const char *key, uint64_t *size,
                         struct mirage_kv_error *err)
{
    const struct mirage_crunch_entry *e;
    int r = mirage_kv_table_find_value(t, key, &e, err);

    if (r < 0)
        return r;
    *size = e->size;
    return 0;
}
