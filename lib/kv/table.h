/* table.h: lookups in a sorted table of keys (crunch's and tar's index), shared by both stores. */
#ifndef MIRAGE_KV_TABLE_H
#define MIRAGE_KV_TABLE_H

#include "mirage/kv.h"

/*
 * (t) is a table as mirage_kv_crunch_new checks it: canonical keys sorted by
 * strcmp, the root first, every entry's dictionary before it. Where a value's
 * bytes are (t->data or a device) is the store's business; these look up.
 */

/* Finds (key): *out is NULL when it is unbound; MIRAGE_ENOTDIR (in err) when
 * a prefix of it is a value. */
int mirage_kv_table_find(const struct mirage_crunch *t, const char *key,
                         const struct mirage_crunch_entry **out, struct mirage_kv_error *err);
/* As find, but (key) must be a value: MIRAGE_ENOENT or MIRAGE_EISDIR otherwise. */
int mirage_kv_table_find_value(const struct mirage_crunch *t, const char *key,
                               const struct mirage_crunch_entry **out, struct mirage_kv_error *err);

/* The kv ops that need only the table. */
int mirage_kv_table_exists(const struct mirage_crunch *t, const char *key,
                           enum mirage_kv_kind *kind, struct mirage_kv_error *err);
int mirage_kv_table_list(const struct mirage_crunch *t, const char *key,
                         struct mirage_kv_entry **entries, size_t *n, struct mirage_kv_error *err);
int mirage_kv_table_last_modified(const struct mirage_crunch *t, const char *key, uint64_t *ns,
                                  struct mirage_kv_error *err);
int mirage_kv_table_size(const struct mirage_crunch *t, const char *key, uint64_t *size,
                         struct mirage_kv_error *err);

/* The index of the first entry whose key is not below (key) in byte order. */
size_t mirage_kv_table_lower_bound(const struct mirage_crunch *t, const char *key);

#endif
