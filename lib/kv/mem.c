/* mem.c: kv_rw_mem, a read-write store in memory; every change is undoable, so batches are atomic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "mirage/heap.h"
#include "mirage/kv.h"
#include "mirage/time.h"

/* A dictionary or a value; a dictionary's children are sorted by name. */
struct node {
    struct node *parent; /* NULL for the root and for unlinked nodes */
    char *name;          /* the segment; "" for the root */
    int dict;
    uint64_t mtime;
    uint8_t *data; /* value */
    size_t len;
    struct node **kids; /* dictionary */
    size_t nkids, cap;
};

/*
 * Every change an operation makes is logged first with how to undo it. An
 * operation (or a batch) that fails part-way undoes its log backwards, so the
 * store is as before; one that succeeds frees what the log kept for undoing.
 */
enum undo_kind { U_NEW, U_LINK, U_UNLINK, U_DATA, U_MTIME, U_NAME };

struct undo {
    enum undo_kind what;
    struct node *node, *parent;
    uint8_t *data; /* U_DATA: the old value */
    size_t len;
    uint64_t mtime; /* U_MTIME: the old time */
    char *name;     /* U_NAME: the old name */
};

struct mem {
    struct mirage_kv kv;
    struct node *root;
    uint64_t capacity; /* 0: unbounded */
    uint64_t used;     /* bytes of all values */
    uint64_t used_before;
    struct undo *log;
    size_t nlog, caplog;
};

/* A parent pointer no live node has: marks unlinked nodes due to be freed. */
static struct node doomed;

static struct mem *mem_of(struct mirage_kv *kv)
{
    return (struct mem *)kv;
}

static void free_subtree(struct node *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        free_subtree(n->kids[i]);
    free(n->kids);
    free(n->data);
    free(n->name);
    free(n);
}

static uint64_t subtree_bytes(const struct node *n)
{
    uint64_t sum = n->dict ? 0 : n->len;

    for (size_t i = 0; i < n->nkids; i++)
        sum += subtree_bytes(n->kids[i]);
    return sum;
}

/* ---- the undo log -------------------------------------------------------- */

static void txn_begin(struct mem *m)
{
    m->nlog = 0;
    m->used_before = m->used;
}

/* Room for one more log entry, taken before the change it covers. */
static int log_reserve(struct mem *m)
{
    return mirage_grow(&m->log, &m->caplog, m->nlog + 1, sizeof *m->log);
}

static struct undo *log_add(struct mem *m, enum undo_kind what, struct node *node)
{
    struct undo *u = &m->log[m->nlog++];

    memset(u, 0, sizeof(*u));
    u->what = what;
    u->node = node;
    return u;
}

static size_t kid_index(const struct node *dict, const char *name, int *found)
{
    size_t lo = 0, hi = dict->nkids;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(dict->kids[mid]->name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static struct node *kid(const struct node *dict, const char *name)
{
    int found;
    size_t i = kid_index(dict, name, &found);

    return found ? dict->kids[i] : NULL;
}

static void insert_kid(struct node *dict, struct node *n)
{
    int found;
    size_t i = kid_index(dict, n->name, &found);

    memmove(dict->kids + i + 1, dict->kids + i, (dict->nkids - i) * sizeof(*dict->kids));
    dict->kids[i] = n;
    dict->nkids++;
    n->parent = dict;
}

static void remove_kid(struct node *n)
{
    struct node *dict = n->parent;
    int found;
    size_t i = kid_index(dict, n->name, &found);

    memmove(dict->kids + i, dict->kids + i + 1, (dict->nkids - i - 1) * sizeof(*dict->kids));
    dict->nkids--;
    n->parent = NULL;
}

static void txn_rollback(struct mem *m)
{
    while (m->nlog > 0) {
        struct undo *u = &m->log[--m->nlog];
        struct node *n = u->node;

        switch (u->what) {
        case U_NEW:
            free(n->kids);
            free(n->data);
            free(n->name);
            free(n);
            break;
        case U_LINK:
            remove_kid(n);
            break;
        case U_UNLINK:
            insert_kid(u->parent, n); /* its slot is still allocated */
            break;
        case U_DATA:
            free(n->data);
            n->data = u->data;
            n->len = u->len;
            break;
        case U_MTIME:
            n->mtime = u->mtime;
            break;
        case U_NAME:
            free(n->name);
            n->name = u->name;
            break;
        }
    }
    m->used = m->used_before;
}

static void txn_commit(struct mem *m)
{
    /* Unlinked nodes still unlinked die with their subtrees, each once. */
    for (size_t i = 0; i < m->nlog; i++) {
        struct undo *u = &m->log[i];
        if (u->what == U_DATA)
            free(u->data);
        if (u->what == U_NAME)
            free(u->name);
        if (u->what == U_UNLINK) {
            if (u->node->parent == NULL)
                u->node->parent = &doomed;
            else
                u->node = NULL; /* relinked, or already marked by an earlier entry */
        }
    }
    for (size_t i = 0; i < m->nlog; i++) {
        struct undo *u = &m->log[i];
        if (u->what == U_UNLINK && u->node && u->node->parent == &doomed)
            free_subtree(u->node);
    }
    m->nlog = 0;
}

/* ---- logged changes ------------------------------------------------------ */

static int node_new(struct mem *m, const char *name, int dict, uint64_t mtime, struct node **out)
{
    struct node *n;

    if (log_reserve(m) < 0 || !(n = calloc(1, sizeof(*n))))
        return MIRAGE_ENOMEM;
    if (!(n->name = strdup(name))) {
        free(n);
        return MIRAGE_ENOMEM;
    }
    n->dict = dict;
    n->mtime = mtime;
    log_add(m, U_NEW, n);
    *out = n;
    return 0;
}

static int link_node(struct mem *m, struct node *dict, struct node *n)
{
    if (log_reserve(m) < 0)
        return MIRAGE_ENOMEM;
    if (mirage_grow(&dict->kids, &dict->cap, dict->nkids + 1, sizeof *dict->kids) != 0)
        return MIRAGE_ENOMEM;
    log_add(m, U_LINK, n);
    insert_kid(dict, n);
    return 0;
}

static int unlink_node(struct mem *m, struct node *n)
{
    if (log_reserve(m) < 0)
        return MIRAGE_ENOMEM;
    log_add(m, U_UNLINK, n)->parent = n->parent;
    remove_kid(n);
    m->used -= subtree_bytes(n);
    return 0;
}

/* Replaces (n)'s value with (data, len), which the node then owns. */
static int set_data(struct mem *m, struct node *n, uint8_t *data, size_t len)
{
    struct undo *u;

    if (log_reserve(m) < 0)
        return MIRAGE_ENOMEM;
    u = log_add(m, U_DATA, n);
    u->data = n->data;
    u->len = n->len;
    m->used = m->used - n->len + len;
    n->data = data;
    n->len = len;
    return 0;
}

static int set_mtime(struct mem *m, struct node *n, uint64_t t)
{
    if (log_reserve(m) < 0)
        return MIRAGE_ENOMEM;
    log_add(m, U_MTIME, n)->mtime = n->mtime;
    n->mtime = t;
    return 0;
}

/* (n) is unlinked: its name changes without disturbing any sorted array. */
static int set_name(struct mem *m, struct node *n, const char *name)
{
    char *copy;

    if (log_reserve(m) < 0 || !(copy = strdup(name)))
        return MIRAGE_ENOMEM;
    log_add(m, U_NAME, n)->name = n->name;
    n->name = copy;
    return 0;
}

/* A dictionary changed at (t): it and every dictionary above it. */
static int touch_up(struct mem *m, struct node *dict, uint64_t t)
{
    int r;

    for (; dict; dict = dict->parent)
        if ((r = set_mtime(m, dict, t)) < 0)
            return r;
    return 0;
}

/* ---- paths --------------------------------------------------------------- */

/* The next segment of canonical (*p) into (seg); advances *p. */
static int next_segment(const char **p, char seg[MIRAGE_KV_SEGMENT_MAX + 1])
{
    const char *s = *p, *end;
    size_t n;

    if (*s == '/')
        s++;
    if (*s == '\0')
        return 0;
    end = strchr(s, '/');
    n = end ? (size_t)(end - s) : strlen(s);
    memcpy(seg, s, n);
    seg[n] = '\0';
    *p = s + n;
    return 1;
}

/* A value where (key) needs a dictionary: names the value, key's prefix up to (at). */
static int not_dict(struct mirage_kv_error *err, const char *key, const char *at)
{
    char prefix[MIRAGE_KV_KEY_MAX + 1];
    size_t n = (size_t)(at - key);

    memcpy(prefix, key, n);
    prefix[n] = '\0';
    return mirage_kv_fail(err, MIRAGE_ENOTDIR, prefix, NULL);
}

/* Finds (key): *out is its node or NULL when unbound. MIRAGE_ENOTDIR when a
 * prefix is a value. */
static int find(struct mem *m, const char *key, struct node **out, struct mirage_kv_error *err)
{
    char seg[MIRAGE_KV_SEGMENT_MAX + 1];
    const char *p = key;
    struct node *n = m->root;

    *out = NULL;
    while (next_segment(&p, seg)) {
        if (!n->dict)
            return not_dict(err, key, p - strlen(seg) - 1);
        if (!(n = kid(n, seg)))
            return 0;
    }
    *out = n;
    return 0;
}

/* The dictionary that holds (key) (not the root), created with its missing
 * parents at time (t). */
static int make_parents(struct mem *m, const char *key, uint64_t t, struct node **out,
                        struct mirage_kv_error *err)
{
    char seg[MIRAGE_KV_SEGMENT_MAX + 1];
    const char *p = key, *last = strrchr(key, '/');
    struct node *n = m->root;
    int r;

    while (p < last && next_segment(&p, seg)) {
        struct node *k = kid(n, seg);
        if (k && !k->dict)
            return not_dict(err, key, p);
        if (!k) {
            if ((r = node_new(m, seg, 1, t, &k)) < 0 || (r = link_node(m, n, k)) < 0)
                return mirage_kv_fail(err, r, key, NULL);
        }
        n = k;
    }
    *out = n;
    return 0;
}

static int is_root(const char *key)
{
    return strcmp(key, "/") == 0;
}

/* ---- read operations ----------------------------------------------------- */

/* Finds the value (key): MIRAGE_ENOENT, MIRAGE_EISDIR, MIRAGE_ENOTDIR otherwise. */
/* find(), with a missing (key) an error. */
static int find_existing(struct mem *m, const char *key, struct node **out,
                         struct mirage_kv_error *err)
{
    int r = find(m, key, out, err);

    if (r < 0)
        return r;
    if (!*out)
        return mirage_kv_fail(err, MIRAGE_ENOENT, key, NULL);
    return 0;
}

static int find_value(struct mem *m, const char *key, struct node **out,
                      struct mirage_kv_error *err)
{
    int r = find_existing(m, key, out, err);

    if (r < 0)
        return r;
    if ((*out)->dict)
        return mirage_kv_fail(err, MIRAGE_EISDIR, key, NULL);
    return 0;
}

static int mem_exists(struct mirage_kv *kv, const char *key, enum mirage_kv_kind *kind,
                      struct mirage_kv_error *err)
{
    struct node *n;
    int r = find(mem_of(kv), key, &n, err);

    if (r < 0)
        return r;
    *kind = !n ? MIRAGE_KV_NONE : n->dict ? MIRAGE_KV_DICTIONARY : MIRAGE_KV_VALUE;
    return 0;
}

static int mem_get(struct mirage_kv *kv, const char *key, uint8_t **value, size_t *len,
                   struct mirage_kv_error *err)
{
    struct node *n;
    int r = find_value(mem_of(kv), key, &n, err);

    if (r < 0)
        return r;
    if (!(*value = malloc(n->len ? n->len : 1)))
        return mirage_kv_fail(err, MIRAGE_ENOMEM, key, "a value of %zu bytes", n->len);
    memcpy(*value, n->data, n->len);
    *len = n->len;
    return 0;
}

static int mem_get_partial(struct mirage_kv *kv, const char *key, uint64_t offset, void *buf,
                           size_t len, size_t *got, struct mirage_kv_error *err)
{
    struct node *n;
    int r = find_value(mem_of(kv), key, &n, err);

    if (r < 0)
        return r;
    if (offset >= n->len)
        return 0;
    *got = n->len - offset < len ? n->len - (size_t)offset : len;
    memcpy(buf, n->data + offset, *got);
    return 0;
}

static int mem_list(struct mirage_kv *kv, const char *key, struct mirage_kv_entry **entries,
                    size_t *count, struct mirage_kv_error *err)
{
    struct mirage_kv_list_builder b = {0};
    struct node *n;
    int r = find_existing(mem_of(kv), key, &n, err);

    if (r < 0)
        return r;
    if (!n->dict)
        return mirage_kv_fail(err, MIRAGE_ENOTDIR, key, NULL);
    for (size_t i = 0; i < n->nkids; i++)
        mirage_kv_list_add(&b, key, n->kids[i]->name,
                           n->kids[i]->dict ? MIRAGE_KV_DICTIONARY : MIRAGE_KV_VALUE);
    if ((r = mirage_kv_list_finish(&b, entries, count)) < 0)
        return mirage_kv_fail(err, r, key, NULL);
    return 0;
}

static int mem_last_modified(struct mirage_kv *kv, const char *key, uint64_t *ns,
                             struct mirage_kv_error *err)
{
    struct node *n;
    int r = find_existing(mem_of(kv), key, &n, err);

    if (r < 0)
        return r;
    *ns = n->mtime;
    return 0;
}

static int mem_digest(struct mirage_kv *kv, const char *key, uint8_t out[32],
                      struct mirage_kv_error *err)
{
    br_sha256_context c;
    struct node *n;
    int r = find_value(mem_of(kv), key, &n, err);

    if (r < 0)
        return r;
    br_sha256_init(&c);
    br_sha256_update(&c, n->data, n->len);
    br_sha256_out(&c, out);
    return 0;
}

static int mem_size(struct mirage_kv *kv, const char *key, uint64_t *size,
                    struct mirage_kv_error *err)
{
    struct node *n;
    int r = find_value(mem_of(kv), key, &n, err);

    if (r < 0)
        return r;
    *size = n->len;
    return 0;
}

/* ---- write operations, each inside a transaction ------------------------- */

static int room(struct mem *m, const char *key, uint64_t old_len, uint64_t new_len,
                struct mirage_kv_error *err)
{
    if (new_len > SIZE_MAX - 1 ||
        (m->capacity && new_len > old_len && new_len - old_len > m->capacity - m->used))
        return mirage_kv_fail(err, MIRAGE_ENOSPC, key, "%llu bytes of %llu in use",
                              (unsigned long long)m->used, (unsigned long long)m->capacity);
    return 0;
}

/*
 * Writes (data, len) at (offset) into (key)'s value; (replace): the value
 * becomes exactly (data, len). A missing key is created as an empty value.
 */
static int do_write(struct mem *m, const char *key, uint64_t offset, const void *data, size_t len,
                    int replace, uint64_t t, struct mirage_kv_error *err)
{
    struct node *n, *dict;
    size_t old_len, at, new_len;
    uint8_t *buf;
    int r;

    if (is_root(key))
        return mirage_kv_fail(err, MIRAGE_EISDIR, key, NULL);
    if ((r = find(m, key, &n, err)) < 0)
        return r;
    if (n && n->dict)
        return mirage_kv_fail(err, MIRAGE_EISDIR, key, NULL);
    old_len = n ? n->len : 0;
    at = replace ? 0 : offset < old_len ? (size_t)offset : old_len;
    if (!replace && len > SIZE_MAX - 1 - at)
        return mirage_kv_fail(err, MIRAGE_ENOSPC, key, "value too large");
    new_len = replace ? len : at + len > old_len ? at + len : old_len;
    if ((r = room(m, key, old_len, new_len, err)) < 0)
        return r;
    if (!(buf = malloc(new_len ? new_len : 1)))
        return mirage_kv_fail(err, MIRAGE_ENOMEM, key, "a value of %zu bytes", new_len);
    if (!replace && old_len)
        memcpy(buf, n->data, old_len);
    if (len)
        memcpy(buf + at, data, len);
    if (!n) {
        if ((r = make_parents(m, key, t, &dict, err)) < 0) {
            free(buf);
            return r;
        }
        if ((r = node_new(m, mirage_kv_key_basename(key), 0, t, &n)) < 0 ||
            (r = link_node(m, dict, n)) < 0) {
            free(buf);
            return mirage_kv_fail(err, r, key, NULL);
        }
    }
    if ((r = set_data(m, n, buf, new_len)) < 0) {
        free(buf);
        return mirage_kv_fail(err, r, key, NULL);
    }
    if ((r = set_mtime(m, n, t)) < 0 || (r = touch_up(m, n->parent, t)) < 0)
        return mirage_kv_fail(err, r, key, NULL);
    return 0;
}

/* Dictionaries exist while something is under them: unlinks (dict) and its
 * parents while they are empty (never the root); *left is the first kept. */
static int prune(struct mem *m, struct node *dict, struct node **left)
{
    int r;

    while (dict != m->root && dict->nkids == 0) {
        struct node *up = dict->parent;
        if ((r = unlink_node(m, dict)) < 0)
            return r;
        dict = up;
    }
    *left = dict;
    return 0;
}

static int do_remove(struct mem *m, const char *key, uint64_t t, struct mirage_kv_error *err)
{
    struct node *n, *parent;
    int r;

    if ((r = find(m, key, &n, err)) < 0)
        return r;
    if (!n)
        return 0;
    if (n == m->root) {
        while (n->nkids)
            if ((r = unlink_node(m, n->kids[n->nkids - 1])) < 0)
                return mirage_kv_fail(err, r, key, NULL);
        parent = n;
    } else {
        parent = n->parent;
        if ((r = unlink_node(m, n)) < 0 || (r = prune(m, parent, &parent)) < 0)
            return mirage_kv_fail(err, r, key, NULL);
    }
    if ((r = touch_up(m, parent, t)) < 0)
        return mirage_kv_fail(err, r, key, NULL);
    return 0;
}

static int rename_fail(struct mirage_kv_error *err, int code, const char *src, const char *dst,
                       const char *why)
{
    mirage_kv_fail(err, code, src, "%s", why);
    memcpy(err->dest, dst, strlen(dst) + 1);
    return code;
}

static int do_rename(struct mem *m, const char *src, const char *dst, uint64_t t,
                     struct mirage_kv_error *err)
{
    char eff[MIRAGE_KV_KEY_MAX + 1];
    struct node *s, *d, *from, *to;
    int r;

    if (is_root(src))
        return rename_fail(err, MIRAGE_EINVAL, src, dst, "the root cannot move");
    if (strcmp(src, dst) == 0)
        return find(m, src, &s, err) < 0 ? err->code
               : s                       ? 0
                                         : mirage_kv_fail(err, MIRAGE_ENOENT, src, NULL);
    if ((r = find(m, src, &s, err)) < 0)
        return r;
    if (!s)
        return mirage_kv_fail(err, MIRAGE_ENOENT, src, NULL);
    if ((r = find(m, dst, &d, err)) < 0)
        return r;
    memcpy(eff, dst, strlen(dst) + 1);
    if (d && d->dict) {
        const char *base = mirage_kv_key_basename(src);
        size_t dl = is_root(dst) ? 0 : strlen(dst);
        if (dl + 1 + strlen(base) > MIRAGE_KV_KEY_MAX)
            return mirage_kv_fail(err, MIRAGE_ENAMETOOLONG, dst, "%s/%s is too long", dst, base);
        eff[dl] = '/';
        memcpy(eff + dl + 1, base, strlen(base) + 1);
        if ((r = find(m, eff, &d, err)) < 0)
            return r;
    }
    if (strcmp(eff, src) == 0)
        return 0;
    if (mirage_kv_key_is_prefix(src, eff))
        return rename_fail(err, MIRAGE_EINVAL, src, eff, "");
    if (d && d->dict && !s->dict)
        return mirage_kv_fail(err, MIRAGE_EISDIR, eff, NULL);
    if (d && !d->dict && s->dict)
        return mirage_kv_fail(err, MIRAGE_ENOTDIR, eff, NULL);
    if (d && (r = do_remove(m, eff, t, err)) < 0)
        return r;
    from = s->parent;
    if ((r = unlink_node(m, s)) < 0 || (r = prune(m, from, &from)) < 0 ||
        (r = touch_up(m, from, t)) < 0 || (r = set_name(m, s, mirage_kv_key_basename(eff))) < 0)
        return mirage_kv_fail(err, r, src, NULL);
    if ((r = make_parents(m, eff, t, &to, err)) < 0)
        return r;
    /* unlink_node took the moved bytes off the count; they are back. */
    if ((r = link_node(m, to, s)) < 0 || (r = touch_up(m, to, t)) < 0)
        return mirage_kv_fail(err, r, src, NULL);
    m->used += subtree_bytes(s);
    return 0;
}

static int do_allocate(struct mem *m, const char *key, uint64_t size, uint64_t lm, uint64_t t,
                       struct mirage_kv_error *err)
{
    struct node *n, *dict;
    uint8_t *buf;
    int r;

    if ((r = find(m, key, &n, err)) < 0)
        return r;
    if (n)
        return mirage_kv_fail(err, MIRAGE_EEXIST, key, NULL);
    if ((r = room(m, key, 0, size, err)) < 0)
        return r;
    if (!(buf = calloc(1, size ? (size_t)size : 1)))
        return mirage_kv_fail(err, MIRAGE_ENOSPC, key, "%llu bytes (out of memory)",
                              (unsigned long long)size);
    if ((r = make_parents(m, key, t, &dict, err)) < 0) {
        free(buf);
        return r;
    }
    if ((r = node_new(m, mirage_kv_key_basename(key), 0, lm ? lm : t, &n)) < 0) {
        free(buf);
        return mirage_kv_fail(err, r, key, NULL);
    }
    n->data = buf; /* a new node: its U_NEW entry frees the buffer on undo */
    n->len = (size_t)size;
    m->used += size;
    if ((r = link_node(m, dict, n)) < 0 || (r = touch_up(m, dict, t)) < 0)
        return mirage_kv_fail(err, r, key, NULL);
    return 0;
}

/* Runs (r), the result of an operation's changes: commits them or undoes them. */
static int finish(struct mem *m, int r)
{
    if (r < 0)
        txn_rollback(m);
    else
        txn_commit(m);
    return r;
}

static int mem_set(struct mirage_kv *kv, const char *key, const void *data, size_t len,
                   struct mirage_kv_error *err)
{
    struct mem *m = mem_of(kv);

    txn_begin(m);
    return finish(m, do_write(m, key, 0, data, len, 1, mirage_clock_wall(), err));
}

static int mem_set_partial(struct mirage_kv *kv, const char *key, uint64_t offset, const void *data,
                           size_t len, struct mirage_kv_error *err)
{
    struct mem *m = mem_of(kv);

    txn_begin(m);
    return finish(m, do_write(m, key, offset, data, len, 0, mirage_clock_wall(), err));
}

static int mem_remove(struct mirage_kv *kv, const char *key, struct mirage_kv_error *err)
{
    struct mem *m = mem_of(kv);

    txn_begin(m);
    return finish(m, do_remove(m, key, mirage_clock_wall(), err));
}

static int mem_rename(struct mirage_kv *kv, const char *src, const char *dst,
                      struct mirage_kv_error *err)
{
    struct mem *m = mem_of(kv);

    txn_begin(m);
    return finish(m, do_rename(m, src, dst, mirage_clock_wall(), err));
}

static int mem_allocate(struct mirage_kv *kv, const char *key, uint64_t size, uint64_t lm,
                        struct mirage_kv_error *err)
{
    struct mem *m = mem_of(kv);

    txn_begin(m);
    return finish(m, do_allocate(m, key, size, lm, mirage_clock_wall(), err));
}

static int mem_batch(struct mirage_kv *kv, const struct mirage_kv_op *ops, size_t n,
                     struct mirage_kv_error *err)
{
    struct mem *m = mem_of(kv);
    uint64_t t = mirage_clock_wall();
    int r = 0;

    txn_begin(m);
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct mirage_kv_op *op = &ops[i];
        if (op->op == MIRAGE_KV_OP_SET)
            r = do_write(m, op->key, 0, op->data, op->len, 1, t, err);
        else if (op->op == MIRAGE_KV_OP_REMOVE)
            r = do_remove(m, op->key, t, err);
        else
            r = do_rename(m, op->key, op->dest, t, err);
        if (r < 0)
            err->index = i;
    }
    return finish(m, r);
}

static void mem_disconnect(struct mirage_kv *kv)
{
    struct mem *m = mem_of(kv);

    free_subtree(m->root);
    free(m->log);
    free(m);
}

static const struct mirage_kv_ops mem_ops = {
    .exists = mem_exists,
    .get = mem_get,
    .get_partial = mem_get_partial,
    .list = mem_list,
    .last_modified = mem_last_modified,
    .digest = mem_digest,
    .size = mem_size,
    .set = mem_set,
    .set_partial = mem_set_partial,
    .remove = mem_remove,
    .rename = mem_rename,
    .allocate = mem_allocate,
    .batch = mem_batch,
    .disconnect = mem_disconnect,
};

int mirage_kv_mem_new(uint64_t capacity, struct mirage_kv **out)
{
    struct mem *m = calloc(1, sizeof(*m));

    if (!m || !(m->root = calloc(1, sizeof(*m->root))) || !(m->root->name = strdup(""))) {
        if (m)
            free(m->root);
        free(m);
        return MIRAGE_ENOMEM;
    }
    m->kv.ops = &mem_ops;
    m->root->dict = 1;
    m->root->mtime = mirage_clock_wall();
    m->capacity = capacity;
    *out = &m->kv;
    return 0;
}
