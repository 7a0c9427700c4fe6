/* disk.c: kv_rw_disk's store: superblocks, checkpoint, journal, allocator and the key tree. */
#include "disk.h"

#include <bearssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/block.h"
#include "mirage/crc32c.h"
#include "mirage/heap.h"
#include "mirage/wire.h"

/*
 * Layout (lib/kv/DISK_FORMAT.md has the byte-level details): unit 0 and unit 1
 * hold the two superblocks, units 2 .. 2+J the journal, the rest is the data
 * area, allocated in 4 KiB units. Values over KVD_INLINE_MAX bytes live in
 * data extents (at most 16 units, each with its CRC-32C); the key tree with
 * small values and extent lists is held in RAM and written whole, as a
 * checkpoint, into freshly allocated data units. Each change (one op or a
 * batch) is one journal record whose CRC makes it the commit point: data
 * first, flush, record, flush. A superblock names the live checkpoint and the
 * sequence number the journal starts at; superblocks alternate slots, so a
 * torn superblock write leaves the older one.
 */

#define SB_MAGIC "MKVDISK1"
#define SB_VERSION 1
#define SB_SIZE 96
#define SB_CRC_OFF 92
#define REC_MAGIC 0x524a564bu /* "KVJR" */
#define REC_HDR 40
#define CK_MAGIC 0x4b43564bu /* "KVCK" */
#define CK_HDR 48
#define HOLE UINT64_MAX
#define EXT_BYTES (KVD_UNIT * KVD_EXTENT_UNITS)
#define EXT_ENC 20
#define JOURNAL_MIN (16 * KVD_UNIT)
#define JOURNAL_MAX (1024 * KVD_UNIT)
#define MIN_UNITS 64

enum { OP_SET = 1, OP_REMOVE = 2, OP_RENAME = 3 };
enum { REPR_INLINE = 0, REPR_EXTENTS = 1 };
enum { U_ATTACH = 1, U_DETACH, U_RENAME };

struct ext {
    uint64_t unit; /* HOLE: zeros, no units */
    uint32_t count, len, crc;
};

struct node {
    struct node *parent;
    char *name;
    uint16_t namelen;
    uint8_t kind, mark;
    uint64_t mtime;
    struct node **kids;
    uint32_t nkids, capkids;
    uint64_t size;
    uint8_t *inl;
    struct ext *ex;
    uint32_t nex;
};

struct undo {
    uint8_t type, created;
    struct node *parent, *node;
    uint32_t idx;
    char *oldname;
    uint16_t oldlen;
};

struct run {
    uint64_t unit;
    uint32_t count;
};

/* An extent a set_partial kept: it moves from the replaced value to (to). */
struct kept {
    const struct node *to;
    uint64_t unit;
    uint32_t count, live;
};

struct key {
    const char *seg[KVD_DEPTH_MAX];
    uint16_t len[KVD_DEPTH_MAX];
    uint16_t end[KVD_DEPTH_MAX]; /* where segment i ends in norm */
    int n;
    char norm[KVD_KEY_MAX + 2]; /* "/a/b", "/" */
};

struct kvd {
    struct mirage_block *dev;
    uint32_t ss; /* the device's sector size */
    struct kvd_opts opts;
    char msg[320];
    char ekey[KVD_KEY_MAX + 2], edest[KVD_KEY_MAX + 2];
    size_t eindex;
    uint32_t spu;    /* sectors per unit */
    uint32_t jalign; /* journal records start at multiples of this (the sector size at format) */
    uint64_t uuid, gen, total_units, j_unit, j_units, data_unit;
    uint64_t ck_bytes, jseq, next_seq, jhead, jbytes;
    struct run *ck_runs;
    size_t nck_runs;
    uint8_t *bitmap;
    uint64_t free_units, next_fit, index_bytes, replayed;
    struct node *root;
    uint8_t *scratch, *wbuf; /* EXT_BYTES each */
    int broken, sb_bad, replaying;
    /* the change being made */
    struct undo *u;
    size_t nu, capu;
    struct run *alloc;
    size_t nalloc, capalloc;
    struct kept *kept;
    size_t nkept, capkept;
    uint8_t *rec;
    size_t reclen, reccap;
    uint32_t recops;
    int wrote_data;
};

static int fail(struct kvd *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct kvd *s, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    s->ekey[0] = s->edest[0] = '\0';
    return code;
}

/* fail() about key (key, len): kv.h's errors carry it. */
static int failk(struct kvd *s, int code, const char *key, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int failk(struct kvd *s, int code, const char *key, size_t len, const char *fmt, ...)
{
    va_list ap;
    size_t o;

    if (len > KVD_KEY_MAX)
        len = KVD_KEY_MAX;
    memcpy(s->ekey, key, len);
    s->ekey[len] = '\0';
    s->edest[0] = '\0';
    o = (size_t)snprintf(s->msg, sizeof s->msg, "key %s: ", s->ekey);
    if (o < sizeof s->msg) {
        va_start(ap, fmt);
        vsnprintf(s->msg + o, sizeof s->msg - o, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int say(char *msg, size_t msglen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int say(char *msg, size_t msglen, int code, const char *fmt, ...)
{
    va_list ap;

    if (msg && msglen) {
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *kvd_message(const struct kvd *s)
{
    return s->msg;
}

const char *kvd_error_key(const struct kvd *s)
{
    return s->ekey;
}

const char *kvd_error_dest(const struct kvd *s)
{
    return s->edest;
}

size_t kvd_error_index(const struct kvd *s)
{
    return s->eindex;
}

static uint32_t crc_of(const uint8_t *p, size_t len, size_t crc_off)
{
    static const uint8_t zero[4];
    uint32_t c = mirage_crc32c(0, p, crc_off);

    c = mirage_crc32c(c, zero, 4);
    return mirage_crc32c(c, p + crc_off + 4, len - crc_off - 4);
}

/* ---- device ---------------------------------------------------------------- */

static int dev_read_units(struct kvd *s, uint64_t unit, void *buf, uint32_t count)
{
    int r = mirage_block_read(s->dev, unit * s->spu, buf, (size_t)count * KVD_UNIT);
    return r ? fail(s, MIRAGE_EIO, "device read of units %llu-%llu failed (%s)",
                    (unsigned long long)unit, (unsigned long long)(unit + count - 1),
                    mirage_strerror(r))
             : 0;
}

static int dev_write_units(struct kvd *s, uint64_t unit, const void *buf, uint32_t count)
{
    int r = mirage_block_write(s->dev, unit * s->spu, buf, (size_t)count * KVD_UNIT);
    return r ? fail(s, MIRAGE_EIO, "device write of units %llu-%llu failed (%s)",
                    (unsigned long long)unit, (unsigned long long)(unit + count - 1),
                    mirage_strerror(r))
             : 0;
}

static int dev_flush(struct kvd *s)
{
    int r = mirage_block_flush(s->dev);
    return r ? fail(s, MIRAGE_EIO, "device flush failed (%s)", mirage_strerror(r)) : 0;
}

/* ---- allocator: one bit per unit, next fit --------------------------------- */

static int bit_get(const struct kvd *s, uint64_t u)
{
    return s->bitmap[u >> 3] >> (u & 7) & 1;
}

static void bit_set(struct kvd *s, uint64_t u, int v)
{
    if (v)
        s->bitmap[u >> 3] |= (uint8_t)(1u << (u & 7));
    else
        s->bitmap[u >> 3] &= (uint8_t)~(1u << (u & 7));
}

static void units_free(struct kvd *s, uint64_t unit, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (bit_get(s, unit + i)) {
            bit_set(s, unit + i, 0);
            s->free_units++;
        }
}

static void units_hold(struct kvd *s, uint64_t unit, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (!bit_get(s, unit + i)) {
            bit_set(s, unit + i, 1);
            s->free_units--;
        }
}

/* Marks stored units in use; 0, or -1 if one is outside the data area or
 * already in use (damaged metadata: two owners). */
static int units_claim(struct kvd *s, uint64_t unit, uint32_t count)
{
    if (unit < s->data_unit || unit >= s->total_units || count > s->total_units - unit)
        return -1;
    for (uint32_t i = 0; i < count; i++)
        if (bit_get(s, unit + i))
            return -1;
    for (uint32_t i = 0; i < count; i++)
        bit_set(s, unit + i, 1);
    s->free_units -= count;
    return 0;
}

/* Units kept free for the next checkpoint: the index plus what a change can add to it. */
static uint64_t reserve_units(const struct kvd *s)
{
    return (s->index_bytes + s->j_units * KVD_UNIT / 2) / (KVD_UNIT - CK_HDR) + 16;
}

/* Allocates a run of 1..want free units (next fit), keeping the reserve when
 * (reserve). MIRAGE_ENOSPC when none is left. */
static int alloc_run(struct kvd *s, uint32_t want, int reserve, uint64_t *unit, uint32_t *got)
{
    uint64_t keep = reserve ? reserve_units(s) : 0, span = s->total_units - s->data_unit;
    uint64_t u = s->next_fit;

    if (s->free_units <= keep)
        return fail(s, MIRAGE_ENOSPC, "no space: %llu free units, %llu kept for the index",
                    (unsigned long long)s->free_units, (unsigned long long)keep);
    if (want > s->free_units - keep)
        want = (uint32_t)(s->free_units - keep);
    if (u < s->data_unit || u >= s->total_units)
        u = s->data_unit;
    for (uint64_t seen = 0; seen < span; seen++, u++) {
        if (u >= s->total_units)
            u = s->data_unit;
        if ((u & 7) == 0 && s->bitmap[u >> 3] == 0xff && u + 8 <= s->total_units) {
            u += 7;
            seen += 7;
            continue;
        }
        if (bit_get(s, u))
            continue;
        uint32_t n = 0;
        while (n < want && u + n < s->total_units && !bit_get(s, u + n))
            n++;
        for (uint32_t i = 0; i < n; i++)
            bit_set(s, u + i, 1);
        s->free_units -= n;
        s->next_fit = u + n;
        *unit = u;
        *got = n;
        return 0;
    }
    return fail(s, MIRAGE_ENOSPC, "no space: the allocation map is full");
}

/* ---- keys ------------------------------------------------------------------ */

static int valid_segment(const char *p, size_t n)
{
    if (n == 0 || n > KVD_SEGMENT_MAX || (n == 1 && p[0] == '.') ||
        (n == 2 && p[0] == '.' && p[1] == '.'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '/' || p[i] == '\0')
            return 0;
    return 1;
}

/* Splits (key) into segments: one leading and one trailing '/' are optional,
 * "" and "/" name the root; empty, "." and ".." segments are refused. */
static int parse_key(struct kvd *s, const char *key, struct key *k)
{
    size_t len = key ? strnlen(key, KVD_KEY_MAX + 1) : 0, i, start, o = 0;

    if (key == NULL)
        return failk(s, MIRAGE_EINVAL, "(null)", 6, "no key");
    if (len > KVD_KEY_MAX)
        return failk(s, MIRAGE_ENAMETOOLONG, key, len, "longer than %d bytes", KVD_KEY_MAX);
    k->n = 0;
    i = key[0] == '/' ? 1 : 0;
    if (len > i && key[len - 1] == '/')
        len--;
    while (i < len) {
        start = i;
        while (i < len && key[i] != '/')
            i++;
        if (i - start > KVD_SEGMENT_MAX)
            return failk(s, MIRAGE_ENAMETOOLONG, key, len, "a segment over %d bytes",
                         KVD_SEGMENT_MAX);
        if (!valid_segment(key + start, i - start))
            return failk(s, MIRAGE_EINVAL, key, len, "an empty, '.' or '..' segment");
        if (k->n == KVD_DEPTH_MAX)
            return failk(s, MIRAGE_ENAMETOOLONG, key, len, "deeper than %d segments",
                         KVD_DEPTH_MAX);
        k->seg[k->n] = key + start;
        k->len[k->n++] = (uint16_t)(i - start);
        i++;
    }
    for (int j = 0; j < k->n; j++) {
        k->norm[o++] = '/';
        memcpy(k->norm + o, k->seg[j], k->len[j]);
        o += k->len[j];
        k->end[j] = (uint16_t)o;
        k->seg[j] = k->norm + o - k->len[j];
    }
    if (o == 0)
        k->norm[o++] = '/';
    k->norm[o] = '\0';
    return 0;
}

/* ---- the tree -------------------------------------------------------------- */

static size_t ext_list_bytes(const struct node *n)
{
    return n->inl || n->nex == 0 ? n->size : 4 + (size_t)n->nex * EXT_ENC;
}

/* Bytes of (n) alone in a checkpoint. */
static size_t node_bytes(const struct node *n)
{
    size_t b = 1 + 2 + n->namelen + 8;
    return n->kind == KVD_DICT ? b + 4 : b + 8 + 1 + ext_list_bytes(n);
}

static size_t subtree_bytes(const struct node *n)
{
    size_t b = node_bytes(n);
    for (uint32_t i = 0; i < n->nkids; i++)
        b += subtree_bytes(n->kids[i]);
    return b;
}

static struct node *node_new(uint8_t kind, const char *name, size_t namelen, uint64_t mtime)
{
    struct node *n = calloc(1, sizeof *n);

    if (n == NULL)
        return NULL;
    n->name = malloc(namelen + 1);
    if (n->name == NULL) {
        free(n);
        return NULL;
    }
    memcpy(n->name, name, namelen);
    n->name[namelen] = '\0';
    n->namelen = (uint16_t)namelen;
    n->kind = kind;
    n->mtime = mtime;
    return n;
}

static void node_free(struct node *n)
{
    free(n->name);
    free(n->kids);
    free(n->inl);
    free(n->ex);
    free(n);
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* The index of (name) among (d)'s kids, or where it would go; 1 if present. */
static int find_kid(const struct node *d, const char *name, size_t len, uint32_t *idx)
{
    uint32_t lo = 0, hi = d->nkids;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(d->kids[mid]->name, d->kids[mid]->namelen, name, len);
        if (c == 0) {
            *idx = mid;
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *idx = lo;
    return 0;
}

static struct node *kid(const struct node *d, const char *name, size_t len)
{
    uint32_t i;
    return d->kind == KVD_DICT && find_kid(d, name, len, &i) ? d->kids[i] : NULL;
}

static int kid_insert(struct kvd *s, struct node *d, struct node *n, uint32_t idx)
{
    if (d->nkids == d->capkids) {
        uint32_t cap = d->capkids ? d->capkids * 2 : 4;
        struct node **k = realloc(d->kids, cap * sizeof *k);
        if (k == NULL)
            return fail(s, MIRAGE_ENOMEM, "out of memory for a dictionary of %u entries",
                        d->nkids);
        d->kids = k;
        d->capkids = cap;
    }
    memmove(d->kids + idx + 1, d->kids + idx, (d->nkids - idx) * sizeof *d->kids);
    d->kids[idx] = n;
    d->nkids++;
    n->parent = d;
    s->index_bytes += subtree_bytes(n);
    return 0;
}

static void kid_remove(struct kvd *s, struct node *d, uint32_t idx)
{
    struct node *n = d->kids[idx];

    s->index_bytes -= subtree_bytes(n);
    memmove(d->kids + idx, d->kids + idx + 1, (d->nkids - idx - 1) * sizeof *d->kids);
    d->nkids--;
    n->parent = NULL;
}

static uint32_t kid_index(const struct node *d, const struct node *n)
{
    uint32_t i;
    find_kid(d, n->name, n->namelen, &i);
    return i;
}

static struct node *lookup(const struct kvd *s, const struct key *k, int nseg)
{
    struct node *n = s->root;

    for (int i = 0; i < nseg && n; i++)
        n = kid(n, k->seg[i], k->len[i]);
    return n;
}

/* The node at the first (nseg) segments of (k) in *out (NULL: unbound);
 * MIRAGE_ENOTDIR, naming it, when a shorter prefix is a value. */
static int resolve(struct kvd *s, const struct key *k, int nseg, struct node **out)
{
    struct node *n = s->root;

    for (int i = 0; i < nseg; i++) {
        if (n->kind != KVD_DICT)
            return failk(s, MIRAGE_ENOTDIR, k->norm, k->end[i - 1],
                         "a value, where a dictionary is needed");
        n = kid(n, k->seg[i], k->len[i]);
        if (n == NULL)
            break;
    }
    *out = n;
    return 0;
}

/* ---- the change being made: undo log, new units, the record ---------------- */

static int undo_push(struct kvd *s, struct undo u)
{
    if (mirage_grow(&s->u, &s->capu, s->nu + 1, sizeof *s->u) != 0)
        return fail(s, MIRAGE_ENOMEM, "out of memory for the undo log");
    s->u[s->nu++] = u;
    return 0;
}

static int t_attach(struct kvd *s, struct node *d, struct node *n, int created)
{
    uint32_t idx;
    int r;

    find_kid(d, n->name, n->namelen, &idx);
    r = undo_push(s, (struct undo){.type = U_ATTACH, .created = (uint8_t)created, .parent = d,
                                   .node = n});
    if (r)
        return r;
    r = kid_insert(s, d, n, idx);
    if (r)
        s->nu--;
    return r;
}

/* Never fails once the undo entry is pushed: detaching shrinks no array. */
static int t_detach(struct kvd *s, struct node *n)
{
    struct node *d = n->parent;
    uint32_t idx = kid_index(d, n);
    int r = undo_push(s, (struct undo){.type = U_DETACH, .parent = d, .node = n, .idx = idx});

    if (r == 0)
        kid_remove(s, d, idx);
    return r;
}

static int t_rename_node(struct kvd *s, struct node *n, const char *name, size_t len)
{
    char *nn = malloc(len + 1);
    int r;

    if (nn == NULL)
        return fail(s, MIRAGE_ENOMEM, "out of memory");
    r = undo_push(s, (struct undo){.type = U_RENAME, .node = n, .oldname = n->name,
                                   .oldlen = n->namelen});
    if (r) {
        free(nn);
        return r;
    }
    memcpy(nn, name, len);
    nn[len] = '\0';
    n->name = nn;
    n->namelen = (uint16_t)len;
    return 0;
}

static int t_track_alloc(struct kvd *s, uint64_t unit, uint32_t count)
{
    if (mirage_grow(&s->alloc, &s->capalloc, s->nalloc + 1, sizeof *s->alloc) != 0)
        return fail(s, MIRAGE_ENOMEM, "out of memory for the units allocated");
    s->alloc[s->nalloc++] = (struct run){unit, count};
    return 0;
}

static int t_keep(struct kvd *s, const struct node *to, const struct ext *e)
{
    if (mirage_grow(&s->kept, &s->capkept, s->nkept + 1, sizeof *s->kept) != 0)
        return fail(s, MIRAGE_ENOMEM, "out of memory for the extents kept");
    s->kept[s->nkept++] = (struct kept){to, e->unit, e->count, 0};
    return 0;
}

static void t_begin(struct kvd *s)
{
    s->nu = 0;
    s->nalloc = 0;
    s->nkept = 0;
    s->reclen = REC_HDR;
    s->recops = 0;
    s->wrote_data = 0;
}

/* Frees a detached subtree: its units return to the allocator. */
static void free_subtree(struct kvd *s, struct node *n)
{
    for (uint32_t i = 0; i < n->nkids; i++)
        free_subtree(s, n->kids[i]);
    for (uint32_t i = 0; i < n->nex; i++)
        if (n->ex[i].unit != HOLE)
            units_free(s, n->ex[i].unit, n->ex[i].count);
    node_free(n);
}

static void t_commit(struct kvd *s)
{
    size_t i;

    /* extents kept by a set_partial whose new value is still in the tree stay in use */
    for (i = 0; i < s->nkept; i++)
        s->kept[i].live = s->kept[i].to->parent != NULL;

    for (i = 0; i < s->nu; i++)
        if (s->u[i].type == U_DETACH && s->u[i].node->parent == NULL)
            s->u[i].node->mark = 1;
    /* each detached root once; nodes under it go with it */
    for (i = 0; i < s->nu; i++) {
        struct undo *u = &s->u[i];
        if (u->type == U_DETACH && u->node->mark == 1)
            u->node->mark = 2;
        else if (u->type == U_DETACH)
            u->node = NULL;
        else if (u->type == U_RENAME)
            free(u->oldname);
    }
    for (i = 0; i < s->nu; i++)
        if (s->u[i].type == U_DETACH && s->u[i].node)
            free_subtree(s, s->u[i].node);
    for (i = 0; i < s->nkept; i++)
        if (s->kept[i].live)
            units_hold(s, s->kept[i].unit, s->kept[i].count);
    s->nu = 0;
    s->nalloc = 0;
    s->nkept = 0;
}

static void t_abort(struct kvd *s)
{
    while (s->nu > 0) {
        struct undo *u = &s->u[--s->nu];
        switch (u->type) {
        case U_ATTACH:
            kid_remove(s, u->parent, kid_index(u->parent, u->node));
            if (u->created)
                node_free(u->node);
            break;
        case U_DETACH:
            /* cannot fail: the array kept the room the detach left */
            (void)kid_insert(s, u->parent, u->node, u->idx);
            break;
        case U_RENAME:
            free(u->node->name);
            u->node->name = u->oldname;
            u->node->namelen = u->oldlen;
            break;
        }
    }
    for (size_t i = 0; i < s->nalloc; i++)
        units_free(s, s->alloc[i].unit, s->alloc[i].count);
    s->nalloc = 0;
    s->nkept = 0;
}

/* ---- tree changes, shared by new changes and the journal replay ------------ */

/* The dictionary that holds k's last segment, created (with its parents) as needed. */
static int t_parents(struct kvd *s, const struct key *k, uint64_t mtime, struct node **out)
{
    struct node *d = s->root;

    for (int i = 0; i + 1 < k->n; i++) {
        struct node *n = kid(d, k->seg[i], k->len[i]);
        if (n && n->kind != KVD_DICT)
            return failk(s, MIRAGE_ENOTDIR, k->norm, k->end[i],
                         "a value, where a dictionary is needed");
        if (n == NULL) {
            int r;
            n = node_new(KVD_DICT, k->seg[i], k->len[i], mtime);
            if (n == NULL)
                return fail(s, MIRAGE_ENOMEM, "out of memory");
            r = t_attach(s, d, n, 1);
            if (r) {
                node_free(n);
                return r;
            }
        }
        d = n;
    }
    *out = d;
    return 0;
}

/* The extent of value (v) at (unit), or NULL. */
static const struct ext *find_ext(const struct node *v, uint64_t unit)
{
    for (uint32_t i = 0; v && v->kind == KVD_VALUE && i < v->nex; i++)
        if (v->ex[i].unit == unit)
            return &v->ex[i];
    return NULL;
}

/* Puts new value node (v) at (k), replacing a value there (whose extents that
 * (v) kept move to it). Owns (v): frees it on failure. */
static int t_put(struct kvd *s, const struct key *k, struct node *v)
{
    struct node *d, *old;
    char *name;
    int r;

    if (k->n == 0) {
        r = failk(s, MIRAGE_EISDIR, "/", 1, "the root is a dictionary");
        goto out;
    }
    name = malloc(k->len[k->n - 1] + 1u);
    if (name == NULL) {
        r = fail(s, MIRAGE_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(name, k->seg[k->n - 1], k->len[k->n - 1]);
    name[k->len[k->n - 1]] = '\0';
    free(v->name);
    v->name = name;
    v->namelen = k->len[k->n - 1];
    r = t_parents(s, k, v->mtime, &d);
    if (r)
        goto out;
    old = kid(d, k->seg[k->n - 1], k->len[k->n - 1]);
    if (old && old->kind == KVD_DICT) {
        r = failk(s, MIRAGE_EISDIR, k->norm, strlen(k->norm), "a dictionary, not a value");
        goto out;
    }
    for (uint32_t i = 0; old && r == 0 && i < v->nex; i++)
        if (v->ex[i].unit != HOLE && find_ext(old, v->ex[i].unit))
            r = t_keep(s, v, &v->ex[i]);
    if (r == 0 && old)
        r = t_detach(s, old);
    if (r == 0)
        r = t_attach(s, d, v, 1);
out:
    if (r)
        node_free(v);
    return r;
}

/* Dictionaries exist while something is under them: (d) and its parents go
 * when emptied (the root stays; a dictionary already detached is left). */
static int t_prune(struct kvd *s, struct node *d)
{
    int r = 0;

    while (r == 0 && d && d != s->root && d->parent && d->kind == KVD_DICT && d->nkids == 0) {
        struct node *p = d->parent;
        r = t_detach(s, d);
        d = p;
    }
    return r;
}

/* Removes (k): 1 if something went, 0 if nothing was there. */
static int t_remove(struct kvd *s, const struct key *k)
{
    struct node *n, *p;
    int r = resolve(s, k, k->n, &n);

    if (r || n == NULL)
        return r;
    if (n == s->root) {
        while (r == 0 && n->nkids > 0)
            r = t_detach(s, n->kids[n->nkids - 1]);
        return r ? r : 1;
    }
    p = n->parent;
    r = t_detach(s, n);
    if (r == 0)
        r = t_prune(s, p);
    return r ? r : 1;
}

/* Renames (ks) to (kd), or into it when it is a dictionary: 1 if something
 * moved, 0 if it was a move onto itself. */
static int t_rename(struct kvd *s, const struct key *ks, const struct key *kd)
{
    struct node *src, *dst, *d, *old, *from;
    struct key kt;
    const char *name;
    size_t namelen, klen;
    int r, prefix;

    if (ks->n == 0)
        return failk(s, MIRAGE_EINVAL, "/", 1, "the root cannot be renamed");
    if ((r = resolve(s, ks, ks->n, &src)) != 0)
        return r;
    if (src == NULL)
        return failk(s, MIRAGE_ENOENT, ks->norm, strlen(ks->norm), "not found");
    if (strcmp(ks->norm, kd->norm) == 0)
        return 0;
    if ((r = resolve(s, kd, kd->n, &dst)) != 0)
        return r;
    /* where it goes: (kd), or kd/NAME into a dictionary */
    kt = *kd;
    for (int i = 0; i < kt.n; i++)
        kt.seg[i] = kt.norm + (kd->seg[i] - kd->norm);
    if (dst && dst->kind == KVD_DICT) {
        name = ks->seg[ks->n - 1];
        namelen = ks->len[ks->n - 1];
        klen = kd->n ? strlen(kd->norm) : 0;
        if (klen + 1 + namelen > KVD_KEY_MAX || kt.n == KVD_DEPTH_MAX)
            return failk(s, MIRAGE_ENAMETOOLONG, kd->norm, strlen(kd->norm),
                         "no room for %.*s under it", (int)namelen, name);
        kt.norm[klen] = '/';
        memcpy(kt.norm + klen + 1, name, namelen);
        kt.norm[klen + 1 + namelen] = '\0';
        kt.seg[kt.n] = kt.norm + klen + 1;
        kt.len[kt.n] = (uint16_t)namelen;
        kt.end[kt.n] = (uint16_t)(klen + 1 + namelen);
        kt.n++;
    }
    if (strcmp(ks->norm, kt.norm) == 0)
        return 0;
    prefix = ks->n <= kt.n;
    for (int i = 0; prefix && i < ks->n; i++)
        prefix = name_cmp(ks->seg[i], ks->len[i], kt.seg[i], kt.len[i]) == 0;
    if (prefix) {
        r = failk(s, MIRAGE_EINVAL, ks->norm, strlen(ks->norm),
                  "rename source is a prefix of destination %s", kt.norm);
        snprintf(s->edest, sizeof s->edest, "%s", kt.norm);
        return r;
    }
    if ((r = resolve(s, &kt, kt.n, &old)) != 0)
        return r;
    if (old && old->kind == KVD_DICT && src->kind != KVD_DICT)
        return failk(s, MIRAGE_EISDIR, kt.norm, strlen(kt.norm),
                     "a dictionary: a value cannot replace it");
    if (old && old->kind != KVD_DICT && src->kind == KVD_DICT)
        return failk(s, MIRAGE_ENOTDIR, kt.norm, strlen(kt.norm),
                     "a value: a dictionary cannot replace it");
    from = src->parent;
    if ((r = t_detach(s, src)) != 0)
        return r;
    if ((r = t_parents(s, &kt, src->mtime, &d)) != 0)
        return r;
    name = kt.seg[kt.n - 1];
    namelen = kt.len[kt.n - 1];
    old = kid(d, name, namelen);
    if (old && (r = t_detach(s, old)) != 0)
        return r;
    if (name_cmp(name, namelen, src->name, src->namelen) != 0 &&
        (r = t_rename_node(s, src, name, namelen)) != 0)
        return r;
    if ((r = t_attach(s, d, src, 0)) != 0)
        return r;
    r = t_prune(s, from);
    return r ? r : 1;
}

/* ---- records --------------------------------------------------------------- */

static int rec_room(struct kvd *s, size_t more)
{
    if (mirage_grow(&s->rec, &s->reccap, s->reclen + more, 1) != 0)
        return fail(s, MIRAGE_ENOMEM, "out of memory for a journal record of %zu bytes",
                    s->reclen + more);
    return 0;
}

static void put_key(struct mirage_wr *w, const struct key *k)
{
    size_t len = strlen(k->norm);
    mirage_wr_le16(w, (uint16_t)len);
    mirage_wr_bytes(w, k->norm, len);
}

static void put_value(struct mirage_wr *w, const struct node *v)
{
    mirage_wr_le64(w, v->size);
    if (v->nex == 0) {
        mirage_wr_u8(w, REPR_INLINE);
        mirage_wr_bytes(w, v->inl, v->size);
        return;
    }
    mirage_wr_u8(w, REPR_EXTENTS);
    mirage_wr_le32(w, v->nex);
    for (uint32_t i = 0; i < v->nex; i++) {
        mirage_wr_le64(w, v->ex[i].unit);
        mirage_wr_le32(w, v->ex[i].count);
        mirage_wr_le32(w, v->ex[i].len);
        mirage_wr_le32(w, v->ex[i].crc);
    }
}

static int rec_op(struct kvd *s, int type, const struct key *k, const struct key *k2,
                  const struct node *v)
{
    size_t need = 1 + 2 + strlen(k->norm) + (k2 ? 2 + strlen(k2->norm) : 0) +
                  (v ? 8 + 8 + 1 + ext_list_bytes(v) : 0);
    struct mirage_wr w;
    int r = rec_room(s, need);

    if (r)
        return r;
    w = mirage_wr_init(s->rec + s->reclen, need);
    mirage_wr_u8(&w, (uint8_t)type);
    put_key(&w, k);
    if (k2)
        put_key(&w, k2);
    if (v) {
        mirage_wr_le64(&w, v->mtime);
        put_value(&w, v);
    }
    s->reclen += w.off;
    s->recops++;
    return w.bad ? fail(s, MIRAGE_EINVAL, "record encoding overflow") : 0;
}

/* ---- value data ------------------------------------------------------------ */

/* Reads [off, off + len) of value (v) into (dst), checking each extent. */
static int read_range(struct kvd *s, const char *key, const struct node *v, uint64_t off,
                      size_t len, uint8_t *dst)
{
    uint64_t pos = 0;

    if (v->nex == 0) {
        memcpy(dst, v->inl + off, len);
        return 0;
    }
    for (uint32_t i = 0; i < v->nex && len > 0; i++) {
        const struct ext *e = &v->ex[i];
        uint64_t end = pos + e->len;
        if (end > off) {
            size_t from = (size_t)(off - pos), n = e->len - from;
            if (n > len)
                n = len;
            if (e->unit == HOLE) {
                memset(dst, 0, n);
            } else {
                int r = dev_read_units(s, e->unit, s->scratch, e->count);
                if (r)
                    return r;
                if (!s->opts.ignore_checksums && mirage_crc32c(0, s->scratch, e->len) != e->crc)
                    return fail(s, MIRAGE_EBADMSG,
                                "key %s: bytes %llu-%llu (units %llu-%llu) fail their checksum",
                                key, (unsigned long long)pos, (unsigned long long)(end - 1),
                                (unsigned long long)e->unit,
                                (unsigned long long)(e->unit + e->count - 1));
                memcpy(dst, s->scratch + from, n);
            }
            dst += n;
            off += n;
            len -= n;
        }
        pos = end;
    }
    return 0;
}

struct vec {
    struct ext *ex;
    size_t n, cap;
};

static int vec_push(struct kvd *s, struct vec *v, struct ext e)
{
    if (mirage_grow(&v->ex, &v->cap, v->n + 1, sizeof *v->ex) != 0)
        return fail(s, MIRAGE_ENOMEM, "out of memory for an extent list");
    v->ex[v->n++] = e;
    return 0;
}

/* Fills (buf) with bytes [pos, pos + n) of the value being written. */
typedef int (*fill_fn)(struct kvd *s, void *ctx, uint64_t pos, uint8_t *buf, size_t n);

/* Writes bytes [start, end) of a new value as new data extents appended to (v). */
static int write_data(struct kvd *s, struct vec *v, fill_fn fill, void *ctx, uint64_t start,
                      uint64_t end)
{
    while (start < end) {
        uint64_t left = end - start, unit;
        uint32_t want = (uint32_t)((left > EXT_BYTES ? EXT_BYTES : left) + KVD_UNIT - 1) /
                        KVD_UNIT,
                 got;
        size_t n;
        int r = alloc_run(s, want, 1, &unit, &got);

        if (r)
            return r;
        if ((r = t_track_alloc(s, unit, got)) != 0) {
            units_free(s, unit, got);
            return r;
        }
        n = (size_t)got * KVD_UNIT < left ? (size_t)got * KVD_UNIT : (size_t)left;
        if ((r = fill(s, ctx, start, s->wbuf, n)) != 0)
            return r;
        memset(s->wbuf + n, 0, (size_t)got * KVD_UNIT - n);
        if ((r = dev_write_units(s, unit, s->wbuf, got)) != 0)
            return r;
        s->wrote_data = 1;
        r = vec_push(s, v, (struct ext){unit, got, (uint32_t)n, mirage_crc32c(0, s->wbuf, n)});
        if (r)
            return r;
        start += n;
    }
    return 0;
}

/* Ends building value (v) with result (r): *out = v, or (v) freed. */
static int value_done(struct node *v, int r, struct node **out)
{
    if (r) {
        node_free(v);
        return r;
    }
    *out = v;
    return 0;
}

/* A new value node of (size) bytes: inline, or extents written from (fill);
 * (hole) makes zero extents instead (allocate). */
static int build_value(struct kvd *s, uint64_t size, uint64_t mtime, fill_fn fill, void *ctx,
                       struct node **out)
{
    struct node *v = node_new(KVD_VALUE, "", 0, mtime);
    int r = 0;

    if (v == NULL)
        return fail(s, MIRAGE_ENOMEM, "out of memory");
    v->size = size;
    if (size <= KVD_INLINE_MAX) {
        v->inl = malloc(size ? size : 1);
        if (v->inl == NULL)
            r = fail(s, MIRAGE_ENOMEM, "out of memory");
        else
            r = fill(s, ctx, 0, v->inl, size);
    } else {
        struct vec vec = {0};
        r = fill ? write_data(s, &vec, fill, ctx, 0, size) : 0;
        for (uint64_t pos = 0; r == 0 && !fill && pos < size; pos += EXT_BYTES) {
            uint64_t n = size - pos < EXT_BYTES ? size - pos : EXT_BYTES;
            r = vec_push(s, &vec, (struct ext){HOLE, 0, (uint32_t)n, 0});
        }
        v->ex = vec.ex;
        v->nex = vec.n;
    }
    return value_done(v, r, out);
}

static int fill_bytes(struct kvd *s, void *ctx, uint64_t pos, uint8_t *buf, size_t n)
{
    (void)s;
    if (n)
        memcpy(buf, (const uint8_t *)ctx + pos, n);
    return 0;
}

static int fill_zeros(struct kvd *s, void *ctx, uint64_t pos, uint8_t *buf, size_t n)
{
    (void)s, (void)ctx, (void)pos;
    memset(buf, 0, n);
    return 0;
}

/* set_partial: the old value with (data) laid over it at (off). */
struct patch {
    const char *key;
    const struct node *old;
    uint64_t off;
    const uint8_t *data;
    size_t len;
};

static int fill_patch(struct kvd *s, void *ctx, uint64_t pos, uint8_t *buf, size_t n)
{
    const struct patch *p = ctx;
    uint64_t end = pos + n;

    if (pos < p->old->size) {
        uint64_t m = p->old->size - pos < n ? p->old->size - pos : n;
        /* read_range uses scratch; buf is wbuf or the inline buffer */
        int r = read_range(s, p->key, p->old, pos, (size_t)m, buf);
        if (r)
            return r;
        memset(buf + m, 0, (size_t)(n - m));
    } else {
        memset(buf, 0, n);
    }
    if (p->off < end && p->off + p->len > pos) {
        uint64_t a = p->off > pos ? p->off : pos, b = p->off + p->len < end ? p->off + p->len : end;
        memcpy(buf + (a - pos), p->data + (a - p->off), (size_t)(b - a));
    }
    return 0;
}

/* The patched value: extents wholly outside the rewritten span are kept as they are. */
static int build_patched(struct kvd *s, struct patch *p, uint64_t mtime, struct node **out)
{
    const struct node *old = p->old;
    uint64_t size = p->off + p->len > old->size ? p->off + p->len : old->size;
    uint64_t pos = 0, rw_start, rw_end;
    struct vec vec = {0};
    struct node *v;
    uint32_t i;
    int r = 0;

    if (size <= KVD_INLINE_MAX || old->nex == 0)
        return build_value(s, size, mtime, fill_patch, p, out);
    /* the span: from the first extent that ends after off (or the last one, if it
     * has room, when appending) to the end of the last extent the data touches */
    rw_start = p->off;
    rw_end = p->off + p->len;
    for (i = 0; i < old->nex; i++) {
        uint64_t end = pos + old->ex[i].len;
        int last = i + 1 == old->nex;
        if (end > p->off || (last && end == p->off && old->ex[i].len < EXT_BYTES)) {
            if (pos < rw_start)
                rw_start = pos;
        }
        if (pos < rw_end && end > rw_end)
            rw_end = end;
        pos = end;
    }
    v = node_new(KVD_VALUE, "", 0, mtime);
    if (v == NULL)
        return fail(s, MIRAGE_ENOMEM, "out of memory");
    v->size = size;
    pos = 0;
    for (i = 0; i < old->nex && r == 0; i++) {
        uint64_t end = pos + old->ex[i].len;
        if (end <= rw_start)
            r = vec_push(s, &vec, old->ex[i]);
        pos = end;
    }
    if (r == 0)
        r = write_data(s, &vec, fill_patch, p, rw_start, rw_end);
    pos = 0;
    for (i = 0; i < old->nex && r == 0; i++) {
        uint64_t end = pos + old->ex[i].len;
        if (pos >= rw_end)
            r = vec_push(s, &vec, old->ex[i]);
        pos = end;
    }
    v->ex = vec.ex;
    v->nex = vec.n;
    return value_done(v, r, out);
}


/* ---- one op of a change ---------------------------------------------------- */

static uint64_t now(const struct kvd *s)
{
    return s->opts.now ? s->opts.now(s->opts.now_ctx) : 0;
}

static int do_op(struct kvd *s, const struct kvd_op *op, uint64_t mtime)
{
    struct key k, k2;
    struct node *v = NULL, *old;
    int r = parse_key(s, op->key, &k);

    if (r)
        return r;
    if (op->type == KVD_REMOVE) {
        r = t_remove(s, &k);
        return r <= 0 ? r : rec_op(s, OP_REMOVE, &k, NULL, NULL);
    }
    if (op->type == KVD_RENAME) {
        if ((r = parse_key(s, op->dest, &k2)) != 0)
            return r;
        r = t_rename(s, &k, &k2);
        return r <= 0 ? r : rec_op(s, OP_RENAME, &k, &k2, NULL);
    }
    if ((r = resolve(s, &k, k.n, &old)) != 0)
        return r;
    if (op->type == KVD_ALLOCATE && old)
        return failk(s, MIRAGE_EEXIST, k.norm, strlen(k.norm), "already present");
    if (old && old->kind == KVD_DICT)
        return failk(s, MIRAGE_EISDIR, k.norm, strlen(k.norm), "a dictionary, not a value");
    if ((op->type == KVD_SET || op->type == KVD_SET_PARTIAL) && op->len && op->data == NULL)
        return failk(s, MIRAGE_EINVAL, k.norm, strlen(k.norm), "no data");
    switch (op->type) {
    case KVD_SET:
        r = build_value(s, op->len, mtime, fill_bytes, (void *)op->data, &v);
        break;
    case KVD_ALLOCATE:
        /* holes take no units, but the space must be there */
        if (op->size > KVD_INLINE_MAX &&
            (op->size + KVD_UNIT - 1) / KVD_UNIT + reserve_units(s) > s->free_units)
            return failk(s, MIRAGE_ENOSPC, k.norm, strlen(k.norm),
                         "no space for %llu bytes: %llu units free, %llu kept for the index",
                         (unsigned long long)op->size, (unsigned long long)s->free_units,
                         (unsigned long long)reserve_units(s));
        r = build_value(s, op->size, op->mtime ? op->mtime : mtime,
                        op->size <= KVD_INLINE_MAX ? fill_zeros : NULL, NULL, &v);
        break;
    case KVD_SET_PARTIAL:
        if (old == NULL) {
            r = build_value(s, op->len, mtime, fill_bytes, (void *)op->data, &v);
        } else {
            struct patch p = {k.norm, old, op->offset > old->size ? old->size : op->offset,
                              op->data, op->len};
            r = build_patched(s, &p, mtime, &v);
        }
        break;
    default:
        return fail(s, MIRAGE_EINVAL, "unknown operation %d", (int)op->type);
    }
    if (r && s->ekey[0] == '\0') /* no space, damage, the device: about this key */
        snprintf(s->ekey, sizeof s->ekey, "%s", k.norm);
    if (r)
        return r;
    r = rec_op(s, OP_SET, &k, NULL, v);
    if (r) {
        node_free(v);
        return r;
    }
    return t_put(s, &k, v);
}

/* ---- checkpoint: the whole tree, preorder ---------------------------------- */

static void enc_node(struct mirage_wr *w, const struct node *n)
{
    mirage_wr_u8(w, n->kind);
    mirage_wr_le16(w, n->namelen);
    mirage_wr_bytes(w, n->name, n->namelen);
    mirage_wr_le64(w, n->mtime);
    if (n->kind == KVD_DICT) {
        mirage_wr_le32(w, n->nkids);
        for (uint32_t i = 0; i < n->nkids; i++)
            enc_node(w, n->kids[i]);
    } else {
        put_value(w, n);
    }
}

static int write_superblock(struct kvd *s, uint64_t gen, const struct run *ck, uint32_t nck,
                            uint64_t ck_bytes, uint64_t jseq)
{
    uint8_t *b = s->wbuf;
    struct mirage_wr w = mirage_wr_init(b, SB_SIZE);

    memset(b, 0, s->ss);
    mirage_wr_bytes(&w, SB_MAGIC, 8);
    mirage_wr_le32(&w, SB_VERSION);
    mirage_wr_le32(&w, KVD_UNIT);
    mirage_wr_le64(&w, s->uuid);
    mirage_wr_le64(&w, gen);
    mirage_wr_le64(&w, s->total_units);
    mirage_wr_le64(&w, s->j_unit);
    mirage_wr_le64(&w, s->j_units);
    mirage_wr_le64(&w, ck[0].unit);
    mirage_wr_le32(&w, ck[0].count);
    mirage_wr_le32(&w, nck);
    mirage_wr_le64(&w, ck_bytes);
    mirage_wr_le64(&w, jseq);
    mirage_wr_le32(&w, s->jalign);
    mirage_wr_le32(&w, crc_of(b, SB_SIZE, SB_CRC_OFF));
    int r = mirage_block_write(s->dev, (gen & 1) * s->spu, b, s->ss);
    return r ? fail(s, MIRAGE_EIO, "device write of superblock %d failed (%s)", (int)(gen & 1),
                    mirage_strerror(r))
             : 0;
}

/* Writes the tree into new chunks, flushes, then the next superblock, flushes;
 * only then are the old chunks freed and the journal reused. */
static int write_checkpoint(struct kvd *s, uint64_t gen)
{
    size_t size = s->index_bytes, done = 0, nck = 0, cap = 0;
    uint8_t *buf = malloc(size);
    struct run *ck = NULL;
    struct mirage_wr w;
    int r = 0;

    if (buf == NULL)
        return fail(s, MIRAGE_ENOMEM, "out of memory for a checkpoint of %zu bytes", size);
    w = mirage_wr_init(buf, size);
    enc_node(&w, s->root);
    if (w.bad || w.off != size) {
        free(buf);
        return fail(s, MIRAGE_EINVAL, "checkpoint size mismatch (%zu, %zu)", w.off, size);
    }
    while (r == 0 && (nck == 0 || cap < size)) {
        uint64_t unit;
        uint32_t got, want = (uint32_t)((size - cap + CK_HDR + KVD_UNIT - 1) / KVD_UNIT);
        struct run *n = realloc(ck, (nck + 1) * sizeof *ck);
        if (n == NULL) {
            r = fail(s, MIRAGE_ENOMEM, "out of memory");
            break;
        }
        ck = n;
        r = alloc_run(s, want < KVD_EXTENT_UNITS ? want : KVD_EXTENT_UNITS, 0, &unit, &got);
        if (r == 0) {
            ck[nck++] = (struct run){unit, got};
            cap += (size_t)got * KVD_UNIT - CK_HDR;
        }
    }
    for (size_t i = 0; r == 0 && i < nck; i++) {
        size_t room = (size_t)ck[i].count * KVD_UNIT - CK_HDR;
        size_t n = size - done < room ? size - done : room;
        struct mirage_wr h = mirage_wr_init(s->wbuf, CK_HDR);
        memset(s->wbuf, 0, (size_t)ck[i].count * KVD_UNIT);
        mirage_wr_le32(&h, CK_MAGIC);
        mirage_wr_le32(&h, (uint32_t)i);
        mirage_wr_le64(&h, s->uuid);
        mirage_wr_le64(&h, gen);
        mirage_wr_le64(&h, i + 1 < nck ? ck[i + 1].unit : 0);
        mirage_wr_le32(&h, i + 1 < nck ? ck[i + 1].count : 0);
        mirage_wr_le32(&h, (uint32_t)n);
        memcpy(s->wbuf + CK_HDR, buf + done, n);
        struct mirage_wr c = mirage_wr_init(s->wbuf + 40, 4);
        mirage_wr_le32(&c, crc_of(s->wbuf, CK_HDR + n, 40));
        r = dev_write_units(s, ck[i].unit, s->wbuf, ck[i].count);
        done += n;
    }
    free(buf);
    if (r == 0)
        r = dev_flush(s);
    if (r == 0)
        r = write_superblock(s, gen, ck, (uint32_t)nck, size, s->next_seq);
    if (r == 0)
        r = dev_flush(s);
    if (r) {
        for (size_t i = 0; i < nck; i++)
            units_free(s, ck[i].unit, ck[i].count);
        free(ck);
        return r;
    }
    for (size_t i = 0; i < s->nck_runs; i++)
        units_free(s, s->ck_runs[i].unit, s->ck_runs[i].count);
    free(s->ck_runs);
    s->ck_runs = ck;
    s->nck_runs = nck;
    s->ck_bytes = size;
    s->gen = gen;
    s->jseq = s->next_seq;
    s->jhead = 0;
    return 0;
}

int kvd_checkpoint(struct kvd *s)
{
    int r;

    if (s->dev->info.read_only)
        return fail(s, MIRAGE_EROFS, "the device is read-only");
    if (s->broken)
        return fail(s, MIRAGE_EIO, "the store stopped writing after a device error: remount it");
    r = write_checkpoint(s, s->gen + 1);
    if (r == MIRAGE_EIO)
        s->broken = 1;
    return r;
}

/* ---- changes --------------------------------------------------------------- */

int kvd_batch(struct kvd *s, const struct kvd_op *ops, size_t n)
{
    uint64_t mtime = now(s), sector;
    size_t padded, ss = s->jalign;
    struct mirage_wr w;
    int r = 0;

    if (s->dev->info.read_only)
        return fail(s, MIRAGE_EROFS, "the device is read-only");
    if (s->broken)
        return fail(s, MIRAGE_EIO, "the store stopped writing after a device error: remount it");
    if (s->jhead > s->jbytes / 2 && (r = kvd_checkpoint(s)) != 0)
        return r;
    t_begin(s);
    if ((r = rec_room(s, 0)) != 0)
        return r;
    s->eindex = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        r = do_op(s, &ops[i], mtime);
        if (r)
            s->eindex = i;
    }
    if (r == 0 && s->reclen > s->jbytes / 2)
        r = fail(s, MIRAGE_ENOSPC, "change too large: a %zu-byte journal record, at most %llu",
                 s->reclen, (unsigned long long)(s->jbytes / 2));
    if (r == 0 && s->recops == 0) {
        t_commit(s);
        return 0;
    }
    padded = (s->reclen + ss - 1) / ss * ss;
    if (r == 0)
        r = rec_room(s, padded - s->reclen);
    if (r) {
        t_abort(s);
        return r;
    }
    memset(s->rec + s->reclen, 0, padded - s->reclen);
    w = mirage_wr_init(s->rec, REC_HDR);
    mirage_wr_le32(&w, REC_MAGIC);
    mirage_wr_le32(&w, s->recops);
    mirage_wr_le64(&w, s->uuid);
    mirage_wr_le64(&w, s->next_seq);
    mirage_wr_le32(&w, (uint32_t)(s->reclen - REC_HDR));
    mirage_wr_le32(&w, 0);
    mirage_wr_le32(&w, 0);
    mirage_wr_le32(&w, 0);
    w = mirage_wr_init(s->rec + 32, 4);
    mirage_wr_le32(&w, crc_of(s->rec, s->reclen, 32));
    /* the commit point: data durable first, then the record */
    if (s->wrote_data)
        r = dev_flush(s);
    sector = s->j_unit * s->spu + s->jhead / s->ss;
    if (r == 0) {
        r = mirage_block_write(s->dev, sector, s->rec, padded);
        if (r)
            r = fail(s, MIRAGE_EIO, "device write of the journal at sector %llu failed (%s)",
                     (unsigned long long)sector, mirage_strerror(r));
    }
    if (r == 0)
        r = dev_flush(s);
    if (r) {
        t_abort(s);
        s->broken = 1;
        return r;
    }
    s->jhead += padded;
    s->next_seq++;
    t_commit(s);
    return 0;
}

int kvd_set(struct kvd *s, const char *key, const uint8_t *data, size_t len)
{
    struct kvd_op op = {.type = KVD_SET, .key = key, .data = data, .len = len};
    return kvd_batch(s, &op, 1);
}

int kvd_set_partial(struct kvd *s, const char *key, uint64_t off, const uint8_t *data,
                    size_t len)
{
    struct kvd_op op = {.type = KVD_SET_PARTIAL, .key = key, .data = data, .len = len,
                        .offset = off};
    return kvd_batch(s, &op, 1);
}

int kvd_remove(struct kvd *s, const char *key)
{
    struct kvd_op op = {.type = KVD_REMOVE, .key = key};
    return kvd_batch(s, &op, 1);
}

int kvd_rename(struct kvd *s, const char *src, const char *dest)
{
    struct kvd_op op = {.type = KVD_RENAME, .key = src, .dest = dest};
    return kvd_batch(s, &op, 1);
}

int kvd_allocate(struct kvd *s, const char *key, uint64_t size, uint64_t mtime)
{
    struct kvd_op op = {.type = KVD_ALLOCATE, .key = key, .size = size, .mtime = mtime};
    return kvd_batch(s, &op, 1);
}

/* ---- reading --------------------------------------------------------------- */

static int find(struct kvd *s, const char *key, struct key *k, struct node **n)
{
    int r = parse_key(s, key, k);

    if (r == 0)
        r = resolve(s, k, k->n, n);
    if (r)
        return r;
    return *n ? 0 : failk(s, MIRAGE_ENOENT, k->norm, strlen(k->norm), "not found");
}

static int find_value(struct kvd *s, const char *key, struct key *k, struct node **n)
{
    int r = find(s, key, k, n);

    if (r == 0 && (*n)->kind != KVD_VALUE)
        return failk(s, MIRAGE_EISDIR, k->norm, strlen(k->norm), "a dictionary, not a value");
    return r;
}

int kvd_exists(struct kvd *s, const char *key, enum kvd_kind *kind)
{
    struct key k;
    struct node *n;
    int r = parse_key(s, key, &k);

    if (r == 0)
        r = resolve(s, &k, k.n, &n);
    if (r)
        return r;
    *kind = n ? (enum kvd_kind)n->kind : KVD_NONE;
    return 0;
}

int kvd_get_partial(struct kvd *s, const char *key, uint64_t off, size_t len, uint8_t **val,
                    size_t *got)
{
    struct key k;
    struct node *n;
    int r = find_value(s, key, &k, &n);
    uint8_t *b;

    if (r)
        return r;
    if (off >= n->size)
        len = 0;
    else if (len > n->size - off)
        len = (size_t)(n->size - off);
    b = malloc(len ? len : 1);
    if (b == NULL)
        return fail(s, MIRAGE_ENOMEM, "key %s: out of memory for %zu bytes", k.norm, len);
    r = len ? read_range(s, k.norm, n, off, len, b) : 0;
    if (r) {
        free(b);
        return r;
    }
    *val = b;
    *got = len;
    return 0;
}

int kvd_get(struct kvd *s, const char *key, uint8_t **val, size_t *len)
{
    struct key k;
    struct node *n;
    int r = find_value(s, key, &k, &n);

    if (r)
        return r;
    if (n->size > SIZE_MAX - 1)
        return fail(s, MIRAGE_ENOMEM, "key %s: too large to hold in memory", k.norm);
    return kvd_get_partial(s, key, 0, (size_t)n->size, val, len);
}

int kvd_size(struct kvd *s, const char *key, uint64_t *size)
{
    struct key k;
    struct node *n;
    int r = find_value(s, key, &k, &n);

    if (r == 0)
        *size = n->size;
    return r;
}

static uint64_t latest(const struct node *n)
{
    uint64_t t = n->mtime;
    for (uint32_t i = 0; i < n->nkids; i++) {
        uint64_t c = latest(n->kids[i]);
        if (c > t)
            t = c;
    }
    return t;
}

int kvd_last_modified(struct kvd *s, const char *key, uint64_t *ns)
{
    struct key k;
    struct node *n;
    int r = find(s, key, &k, &n);

    if (r == 0)
        *ns = latest(n);
    return r;
}

int kvd_digest(struct kvd *s, const char *key, uint8_t out[32])
{
    br_sha256_context h;
    struct key k;
    struct node *n;
    int r = find_value(s, key, &k, &n);

    if (r)
        return r;
    br_sha256_init(&h);
    for (uint64_t pos = 0; pos < n->size;) {
        size_t m = n->size - pos < EXT_BYTES ? (size_t)(n->size - pos) : EXT_BYTES;
        if ((r = read_range(s, k.norm, n, pos, m, s->wbuf)) != 0)
            return r;
        br_sha256_update(&h, s->wbuf, m);
        pos += m;
    }
    br_sha256_out(&h, out);
    return 0;
}

int kvd_list(struct kvd *s, const char *key, kvd_list_fn fn, void *ctx)
{
    struct key k;
    struct node *n;
    int r = find(s, key, &k, &n);

    if (r)
        return r;
    if (n->kind != KVD_DICT)
        return failk(s, MIRAGE_ENOTDIR, k.norm, strlen(k.norm), "a value, not a dictionary");
    for (uint32_t i = 0; i < n->nkids; i++)
        fn(ctx, n->kids[i]->name, (enum kvd_kind)n->kids[i]->kind);
    return 0;
}

/* ---- superblocks ----------------------------------------------------------- */

struct sb {
    uint64_t uuid, gen, total_units, j_unit, j_units, ck_unit, ck_bytes, jseq;
    uint32_t ck_count, ck_chunks, sector_size;
};

/* Parses a superblock sector; NULL if valid, else why not. */
static const char *sb_parse(const uint8_t *b, uint64_t dev_units, int ignore_crc, struct sb *sb)
{
    struct mirage_rd r = mirage_rd_init(b, SB_SIZE);
    uint8_t magic[8];
    uint32_t version, unit, crc;

    mirage_rd_bytes(&r, magic, 8);
    version = mirage_rd_le32(&r);
    unit = mirage_rd_le32(&r);
    sb->uuid = mirage_rd_le64(&r);
    sb->gen = mirage_rd_le64(&r);
    sb->total_units = mirage_rd_le64(&r);
    sb->j_unit = mirage_rd_le64(&r);
    sb->j_units = mirage_rd_le64(&r);
    sb->ck_unit = mirage_rd_le64(&r);
    sb->ck_count = mirage_rd_le32(&r);
    sb->ck_chunks = mirage_rd_le32(&r);
    sb->ck_bytes = mirage_rd_le64(&r);
    sb->jseq = mirage_rd_le64(&r);
    sb->sector_size = mirage_rd_le32(&r);
    crc = mirage_rd_le32(&r);
    if (memcmp(magic, SB_MAGIC, 8) != 0)
        return "no superblock magic";
    if (!ignore_crc && crc != crc_of(b, SB_SIZE, SB_CRC_OFF))
        return "fails its checksum";
    if (version != SB_VERSION)
        return "unknown format version";
    if (unit != KVD_UNIT || sb->j_unit != 2 || sb->j_units < JOURNAL_MIN / KVD_UNIT ||
        sb->j_units > JOURNAL_MAX / KVD_UNIT || sb->total_units < MIN_UNITS ||
        sb->total_units > (UINT64_MAX >> 16) || sb->j_unit + sb->j_units >= sb->total_units ||
        sb->ck_unit < sb->j_unit + sb->j_units || sb->ck_unit >= sb->total_units ||
        sb->ck_count < 1 || sb->ck_count > KVD_EXTENT_UNITS || sb->ck_chunks < 1 ||
        sb->ck_bytes > (sb->total_units - sb->ck_unit) * KVD_UNIT || sb->sector_size < 512 ||
        sb->sector_size > KVD_UNIT || (sb->sector_size & (sb->sector_size - 1)))
        return "fields out of range";
    if (sb->total_units > dev_units)
        return "truncated";
    return NULL;
}

static uint64_t journal_units_for(uint64_t units)
{
    uint64_t j = units / 64;
    if (j < JOURNAL_MIN / KVD_UNIT)
        j = JOURNAL_MIN / KVD_UNIT;
    if (j > JOURNAL_MAX / KVD_UNIT)
        j = JOURNAL_MAX / KVD_UNIT;
    return j;
}

static int dev_ok(const struct mirage_block *dev, char *msg, size_t msglen)
{
    if (dev->info.sector_size < 512 || dev->info.sector_size > KVD_UNIT ||
        (dev->info.sector_size & (dev->info.sector_size - 1)))
        return say(msg, msglen, MIRAGE_EINVAL, "sector size %u: not a power of two in 512-4096",
                   dev->info.sector_size);
    return 0;
}

static struct kvd *store_new(struct mirage_block *dev, const struct kvd_opts *opts,
                             uint64_t units)
{
    struct kvd *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->dev = dev;
    s->ss = dev->info.sector_size;
    if (opts)
        s->opts = *opts;
    s->spu = KVD_UNIT / dev->info.sector_size;
    s->total_units = units;
    s->bitmap = calloc(units / 8 + 1, 1);
    s->scratch = malloc(EXT_BYTES);
    s->wbuf = malloc(EXT_BYTES);
    s->root = node_new(KVD_DICT, "", 0, 0);
    if (s->bitmap == NULL || s->scratch == NULL || s->wbuf == NULL || s->root == NULL) {
        kvd_unmount(s);
        return NULL;
    }
    s->index_bytes = node_bytes(s->root);
    return s;
}

static void set_layout(struct kvd *s, uint64_t j_units)
{
    s->j_unit = 2;
    s->j_units = j_units;
    s->jbytes = j_units * KVD_UNIT;
    s->data_unit = s->j_unit + j_units;
    for (uint64_t u = 0; u < s->data_unit; u++)
        bit_set(s, u, 1);
    s->free_units = s->total_units - s->data_unit;
    s->next_fit = s->data_unit;
}

int kvd_format(struct mirage_block *dev, uint64_t uuid, char *msg, size_t msglen)
{
    uint64_t units;
    struct kvd *s;
    int r = dev_ok(dev, msg, msglen);

    if (r)
        return r;
    units = dev->info.sectors / (KVD_UNIT / dev->info.sector_size);
    if (dev->info.read_only)
        return say(msg, msglen, MIRAGE_EROFS, "the device is read-only");
    if (units < MIN_UNITS)
        return say(msg, msglen, MIRAGE_ENOSPC, "device of %llu bytes: a store needs %d KiB",
                   (unsigned long long)mirage_block_bytes(dev), MIN_UNITS * 4);
    s = store_new(dev, NULL, units);
    if (s == NULL)
        return say(msg, msglen, MIRAGE_ENOMEM, "out of memory");
    s->uuid = uuid;
    s->jalign = dev->info.sector_size;
    set_layout(s, journal_units_for(units));
    /* superblock 0 gets generation 2; slot 1 a valid generation 1 naming the same checkpoint */
    r = write_checkpoint(s, 1);
    if (r == 0)
        r = write_checkpoint(s, 2);
    if (r)
        say(msg, msglen, r, "%s", s->msg);
    kvd_unmount(s);
    return r;
}

static int all_zero(const uint8_t *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (b[i])
            return 0;
    return 1;
}

/* What a device without a superblock holds, judged from its first sectors. */
static void describe_other(const uint8_t *b, const uint8_t *b1, size_t len, char *out,
                           size_t outlen)
{
    if (all_zero(b, len) && all_zero(b1, len))
        snprintf(out, outlen, "a blank device (zeros where the superblocks go): format it first");
    else if (len >= 512 && memcmp(b + 257, "ustar", 5) == 0)
        snprintf(out, outlen, "not a kv_rw_disk store: it holds a tar archive");
    else if (len >= 512 && b[510] == 0x55 && b[511] == 0xaa)
        snprintf(out, outlen, "not a kv_rw_disk store: it holds a partition table or boot sector");
    else
        snprintf(out, outlen, "not a kv_rw_disk store: no superblock magic at units 0 and 1");
}

/* ---- mount: superblock, checkpoint, journal ---------------------------------- */

static int claim_value(struct kvd *s, const struct node *v, const struct node *old,
                       const char *where, const char *key)
{
    for (uint32_t i = 0; i < v->nex; i++) {
        const struct ext *e = &v->ex[i];
        const struct ext *kept = e->unit == HOLE ? NULL : find_ext(old, e->unit);
        if (e->unit == HOLE || (kept && kept->count == e->count))
            continue;
        if (units_claim(s, e->unit, e->count))
            return fail(s, MIRAGE_EBADMSG,
                        "%s: key %s: units %llu-%llu are outside the data area or in use twice",
                        where, key, (unsigned long long)e->unit,
                        (unsigned long long)(e->unit + e->count - 1));
    }
    return 0;
}

/* Reads a value description (put_value's) into (v). */
static int get_value(struct kvd *s, struct mirage_rd *r, struct node *v, const char *where)
{
    uint64_t sum = 0;
    uint8_t repr;

    v->size = mirage_rd_le64(r);
    repr = mirage_rd_u8(r);
    if (r->bad)
        return fail(s, MIRAGE_EBADMSG, "%s: truncated value", where);
    if (repr == REPR_INLINE) {
        if (v->size > KVD_INLINE_MAX || v->size > mirage_rd_left(r))
            return fail(s, MIRAGE_EBADMSG, "%s: inline value of %llu bytes", where,
                        (unsigned long long)v->size);
        v->inl = malloc(v->size ? v->size : 1);
        if (v->inl == NULL)
            return fail(s, MIRAGE_ENOMEM, "out of memory");
        mirage_rd_bytes(r, v->inl, (size_t)v->size);
        return 0;
    }
    uint32_t n = mirage_rd_le32(r);
    if (repr != REPR_EXTENTS || v->size <= KVD_INLINE_MAX || n == 0 ||
        n > mirage_rd_left(r) / EXT_ENC)
        return fail(s, MIRAGE_EBADMSG, "%s: bad value description", where);
    v->ex = malloc(n * sizeof *v->ex);
    if (v->ex == NULL)
        return fail(s, MIRAGE_ENOMEM, "out of memory");
    v->nex = n;
    for (uint32_t i = 0; i < n; i++) {
        struct ext *e = &v->ex[i];
        e->unit = mirage_rd_le64(r);
        e->count = mirage_rd_le32(r);
        e->len = mirage_rd_le32(r);
        e->crc = mirage_rd_le32(r);
        if (e->len == 0 || e->len > EXT_BYTES ||
            (e->unit == HOLE ? e->count != 0
                             : e->count != (e->len + KVD_UNIT - 1) / KVD_UNIT))
            return fail(s, MIRAGE_EBADMSG, "%s: bad extent %u", where, i);
        sum += e->len;
    }
    if (sum != v->size)
        return fail(s, MIRAGE_EBADMSG, "%s: extents hold %llu bytes, the value %llu", where,
                    (unsigned long long)sum, (unsigned long long)v->size);
    return 0;
}

static int dec_node(struct kvd *s, struct mirage_rd *r, struct node *d, int depth, char *path,
                    size_t plen)
{
    uint8_t kind = mirage_rd_u8(r);
    uint16_t namelen = mirage_rd_le16(r);
    const uint8_t *name = mirage_rd_take(r, namelen);
    uint64_t mtime = mirage_rd_le64(r);
    struct node *n;
    uint32_t idx;
    int rc;

    if (r->bad || (kind != KVD_VALUE && kind != KVD_DICT) ||
        !valid_segment((const char *)name, namelen) || depth > KVD_DEPTH_MAX ||
        plen + 1 + namelen > KVD_KEY_MAX)
        return fail(s, MIRAGE_EBADMSG, "checkpoint: bad entry under %s", plen ? path : "/");
    if (find_kid(d, (const char *)name, namelen, &idx) || idx != d->nkids)
        return fail(s, MIRAGE_EBADMSG, "checkpoint: entries of %s out of order",
                    plen ? path : "/");
    n = node_new(kind, (const char *)name, namelen, mtime);
    if (n == NULL)
        return fail(s, MIRAGE_ENOMEM, "out of memory");
    if ((rc = kid_insert(s, d, n, idx)) != 0) {
        node_free(n);
        return rc;
    }
    path[plen] = '/';
    memcpy(path + plen + 1, name, namelen);
    plen += 1 + namelen;
    path[plen] = '\0';
    if (kind == KVD_VALUE) {
        s->index_bytes -= node_bytes(n);
        rc = get_value(s, r, n, "checkpoint");
        s->index_bytes += node_bytes(n);
        return rc ? rc : claim_value(s, n, NULL, "checkpoint", path);
    }
    uint32_t nkids = mirage_rd_le32(r);
    if (nkids > mirage_rd_left(r) / 12)
        return fail(s, MIRAGE_EBADMSG, "checkpoint: %s claims %u entries", path, nkids);
    for (uint32_t i = 0; i < nkids; i++)
        if ((rc = dec_node(s, r, n, depth + 1, path, plen)) != 0)
            return rc;
    return 0;
}

static int load_checkpoint(struct kvd *s, const struct sb *sb)
{
    uint8_t *buf = malloc(sb->ck_bytes ? sb->ck_bytes : 1);
    uint64_t unit = sb->ck_unit, done = 0;
    uint32_t count = sb->ck_count;
    char path[KVD_KEY_MAX + 2];
    int r = 0;

    if (buf == NULL)
        return fail(s, MIRAGE_ENOMEM, "out of memory for a checkpoint of %llu bytes",
                    (unsigned long long)sb->ck_bytes);
    for (uint32_t i = 0; r == 0 && i < sb->ck_chunks; i++) {
        struct mirage_rd h;
        uint32_t magic, idx, next_count, len, crc;
        uint64_t uuid, gen, next;

        if (count < 1 || count > KVD_EXTENT_UNITS || units_claim(s, unit, count)) {
            r = fail(s, MIRAGE_EBADMSG,
                     "checkpoint chunk %u: units %llu+%u outside the data area or in use twice",
                     i, (unsigned long long)unit, count);
            break;
        }
        struct run *runs = realloc(s->ck_runs, (s->nck_runs + 1) * sizeof *runs);
        if (runs == NULL) {
            r = fail(s, MIRAGE_ENOMEM, "out of memory");
            break;
        }
        s->ck_runs = runs;
        s->ck_runs[s->nck_runs++] = (struct run){unit, count};
        if ((r = dev_read_units(s, unit, s->scratch, count)) != 0)
            break;
        h = mirage_rd_init(s->scratch, CK_HDR);
        magic = mirage_rd_le32(&h);
        idx = mirage_rd_le32(&h);
        uuid = mirage_rd_le64(&h);
        gen = mirage_rd_le64(&h);
        next = mirage_rd_le64(&h);
        next_count = mirage_rd_le32(&h);
        len = mirage_rd_le32(&h);
        crc = mirage_rd_le32(&h);
        if (magic != CK_MAGIC || idx != i || uuid != sb->uuid || gen != sb->gen ||
            len > (size_t)count * KVD_UNIT - CK_HDR || len > sb->ck_bytes - done ||
            (!s->opts.ignore_checksums && crc != crc_of(s->scratch, CK_HDR + len, 40)) ||
            (i + 1 < sb->ck_chunks) != (next_count != 0) ||
            (i + 1 == sb->ck_chunks && done + len != sb->ck_bytes)) {
            r = fail(s, MIRAGE_EBADMSG,
                     "checkpoint chunk %u at units %llu-%llu is damaged (the whole index: no key "
                     "can be read)",
                     i, (unsigned long long)unit, (unsigned long long)(unit + count - 1));
            break;
        }
        memcpy(buf + done, s->scratch + CK_HDR, len);
        done += len;
        unit = next;
        count = next_count;
    }
    if (r == 0) {
        struct mirage_rd rd = mirage_rd_init(buf, sb->ck_bytes);
        uint8_t kind = mirage_rd_u8(&rd);
        uint16_t namelen = mirage_rd_le16(&rd);
        s->root->mtime = (mirage_rd_skip(&rd, namelen), mirage_rd_le64(&rd));
        uint32_t nkids = mirage_rd_le32(&rd);
        if (rd.bad || kind != KVD_DICT || namelen != 0)
            r = fail(s, MIRAGE_EBADMSG, "checkpoint: the root is not a dictionary");
        path[0] = '\0';
        for (uint32_t i = 0; r == 0 && i < nkids; i++)
            r = dec_node(s, &rd, s->root, 1, path, 0);
        if (r == 0 && mirage_rd_left(&rd) != 0)
            r = fail(s, MIRAGE_EBADMSG, "checkpoint: %zu bytes after the root",
                     mirage_rd_left(&rd));
    }
    free(buf);
    s->ck_bytes = sb->ck_bytes;
    return r;
}

static int get_key(struct kvd *s, struct mirage_rd *r, struct key *k, char *buf)
{
    uint16_t len = mirage_rd_le16(r);
    const uint8_t *p = mirage_rd_take(r, len);

    if (p == NULL || len > KVD_KEY_MAX || memchr(p, 0, len))
        return MIRAGE_EBADMSG;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return parse_key(s, buf, k) ? MIRAGE_EBADMSG : 0;
}

/* Applies one record's ops (all or none). */
static int replay_record(struct kvd *s, const uint8_t *p, size_t len, uint32_t nops,
                         const char *where)
{
    struct mirage_rd r = mirage_rd_init(p, len);
    char kb[KVD_KEY_MAX + 1], kb2[KVD_KEY_MAX + 1];
    struct key k, k2;
    int rc = 0;

    t_begin(s);
    for (uint32_t i = 0; i < nops && rc == 0; i++) {
        uint8_t type = mirage_rd_u8(&r);
        if (get_key(s, &r, &k, kb)) {
            rc = fail(s, MIRAGE_EBADMSG, "%s: op %u: bad key", where, i);
            break;
        }
        if (type == OP_REMOVE) {
            rc = t_remove(s, &k);
        } else if (type == OP_RENAME) {
            rc = get_key(s, &r, &k2, kb2) ? fail(s, MIRAGE_EBADMSG, "%s: bad key", where)
                                          : t_rename(s, &k, &k2);
        } else if (type == OP_SET) {
            struct node *v = node_new(KVD_VALUE, "", 0, mirage_rd_le64(&r));
            if (v == NULL) {
                rc = fail(s, MIRAGE_ENOMEM, "out of memory");
                break;
            }
            rc = get_value(s, &r, v, where);
            if (rc == 0)
                rc = claim_value(s, v, lookup(s, &k, k.n), where, k.norm);
            if (rc == 0)
                rc = t_put(s, &k, v);
            else
                node_free(v);
        } else {
            rc = fail(s, MIRAGE_EBADMSG, "%s: op %u: unknown type %u", where, i, type);
        }
        if (rc > 0)
            rc = 0;
        if (rc && rc != MIRAGE_EBADMSG && rc != MIRAGE_ENOMEM)
            rc = fail(s, MIRAGE_EBADMSG, "%s: op %u does not apply: %.200s", where, i, s->msg);
    }
    if (rc == 0 && mirage_rd_left(&r) != 0)
        rc = fail(s, MIRAGE_EBADMSG, "%s: %zu bytes after its ops", where, mirage_rd_left(&r));
    if (rc) {
        t_abort(s);
        return rc;
    }
    t_commit(s);
    return 0;
}

/* A whole valid record at (pos) of the journal image with sequence (seq)? Its length in *len. */
static int record_at(const struct kvd *s, const uint8_t *j, size_t pos, uint64_t seq,
                     int any_later, size_t *len, uint32_t *nops)
{
    struct mirage_rd h = mirage_rd_init(j + pos, s->jbytes - pos);
    uint32_t magic = mirage_rd_le32(&h), n = mirage_rd_le32(&h);
    uint64_t uuid = mirage_rd_le64(&h), rseq = mirage_rd_le64(&h);
    uint32_t plen = mirage_rd_le32(&h);
    uint32_t crc;

    mirage_rd_skip(&h, 4);
    crc = mirage_rd_le32(&h);
    if (h.bad || magic != REC_MAGIC || uuid != s->uuid || (any_later ? rseq < seq : rseq != seq) ||
        plen > s->jbytes - pos - REC_HDR)
        return 0;
    if (!s->opts.ignore_checksums && crc != crc_of(j + pos, REC_HDR + plen, 32))
        return 0;
    *len = REC_HDR + plen;
    *nops = n;
    return 1;
}

static int replay_journal(struct kvd *s)
{
    size_t ss = s->jalign, dss = s->ss, pos = 0, len;
    uint8_t *j = malloc(s->jbytes);
    uint32_t nops;
    int r;

    if (j == NULL)
        return fail(s, MIRAGE_ENOMEM, "out of memory for the journal (%llu bytes)",
                    (unsigned long long)s->jbytes);
    for (uint64_t u = 0; u < s->j_units; u += KVD_EXTENT_UNITS) {
        uint32_t n = (uint32_t)(s->j_units - u < KVD_EXTENT_UNITS ? s->j_units - u
                                                                  : KVD_EXTENT_UNITS);
        if ((r = dev_read_units(s, s->j_unit + u, j + u * KVD_UNIT, n)) != 0) {
            free(j);
            return r;
        }
    }
    s->next_seq = s->jseq;
    while (pos < s->jbytes && record_at(s, j, pos, s->next_seq, 0, &len, &nops)) {
        char where[80];
        snprintf(where, sizeof where, "journal record %llu at sector %llu",
                 (unsigned long long)s->next_seq,
                 (unsigned long long)(s->j_unit * s->spu + pos / dss));
        if ((r = replay_record(s, j + pos + REC_HDR, len - REC_HDR, nops, where)) != 0) {
            free(j);
            return r;
        }
        pos += (len + ss - 1) / ss * ss;
        s->next_seq++;
        s->replayed++;
    }
    /* An interrupted write can only spoil the last record; a valid one after
     * the first bad one means acknowledged records were damaged. */
    for (size_t p = pos + ss; p < s->jbytes; p += ss)
        if (record_at(s, j, p, s->next_seq, 1, &len, &nops)) {
            free(j);
            return fail(s, MIRAGE_EBADMSG,
                        "journal damaged at sector %llu (record %llu): a later record follows it, "
                        "so acknowledged changes from record %llu on are unreadable",
                        (unsigned long long)(s->j_unit * s->spu + pos / dss),
                        (unsigned long long)s->next_seq, (unsigned long long)s->next_seq);
        }
    free(j);
    s->jhead = pos;
    return 0;
}

static int read_superblocks(struct mirage_block *dev, uint8_t *b0, uint8_t *b1)
{
    uint32_t ss = dev->info.sector_size;
    int r = mirage_block_read(dev, 0, b0, ss);

    return r ? r : mirage_block_read(dev, KVD_UNIT / ss, b1, ss);
}

int kvd_mount(struct mirage_block *dev, const struct kvd_opts *opts, struct kvd **out,
              char *msg, size_t msglen)
{
    uint8_t b[2][KVD_UNIT];
    struct sb sb[2];
    const char *why[2];
    uint64_t units;
    struct kvd *s;
    int r = dev_ok(dev, msg, msglen), use;

    if (r)
        return r;
    units = dev->info.sectors / (KVD_UNIT / dev->info.sector_size);
    if (units < 2)
        return say(msg, msglen, MIRAGE_EINVAL, "device of %llu bytes: too small for a store",
                   (unsigned long long)mirage_block_bytes(dev));
    if ((r = read_superblocks(dev, b[0], b[1])) != 0)
        return say(msg, msglen, MIRAGE_EIO, "device read of the superblocks failed (%s)",
                   mirage_strerror(r));
    for (int i = 0; i < 2; i++)
        why[i] = sb_parse(b[i], units, opts && opts->ignore_checksums, &sb[i]);
    if (why[0] && why[1]) {
        if (strcmp(why[0], "truncated") == 0 || strcmp(why[1], "truncated") == 0) {
            const struct sb *t = strcmp(why[0], "truncated") == 0 ? &sb[0] : &sb[1];
            return say(msg, msglen, MIRAGE_EBADMSG,
                       "image truncated: the store spans %llu bytes, the device holds %llu",
                       (unsigned long long)(t->total_units * KVD_UNIT),
                       (unsigned long long)mirage_block_bytes(dev));
        }
        if (strcmp(why[0], "no superblock magic") == 0 &&
            strcmp(why[1], "no superblock magic") == 0) {
            char d[120];
            describe_other(b[0], b[1], dev->info.sector_size, d, sizeof d);
            return say(msg, msglen, MIRAGE_EINVAL, "%s", d);
        }
        return say(msg, msglen, MIRAGE_EBADMSG,
                   "both superblocks are damaged (unit 0: %s; unit 1: %s)", why[0], why[1]);
    }
    use = why[0] ? 1 : why[1] ? 0 : sb[1].gen > sb[0].gen;
    if (sb[use].sector_size < dev->info.sector_size)
        return say(msg, msglen, MIRAGE_EINVAL,
                   "the store was made for %u-byte sectors; this device has %u-byte sectors",
                   sb[use].sector_size, dev->info.sector_size);
    s = store_new(dev, opts, sb[use].total_units);
    if (s == NULL)
        return say(msg, msglen, MIRAGE_ENOMEM, "out of memory");
    s->sb_bad = (why[0] != NULL) | (why[1] != NULL) << 1;
    s->uuid = sb[use].uuid;
    s->gen = sb[use].gen;
    s->jseq = sb[use].jseq;
    s->jalign = sb[use].sector_size;
    set_layout(s, sb[use].j_units);
    r = load_checkpoint(s, &sb[use]);
    if (r == 0)
        r = replay_journal(s);
    if (r) {
        say(msg, msglen, r, "%s", s->msg);
        kvd_unmount(s);
        return r;
    }
    *out = s;
    return 0;
}

static void free_tree(struct node *n)
{
    for (uint32_t i = 0; i < n->nkids; i++)
        free_tree(n->kids[i]);
    node_free(n);
}

void kvd_unmount(struct kvd *s)
{
    if (s == NULL)
        return;
    if (s->root)
        free_tree(s->root);
    free(s->bitmap);
    free(s->scratch);
    free(s->wbuf);
    free(s->ck_runs);
    free(s->u);
    free(s->alloc);
    free(s->kept);
    free(s->rec);
    free(s);
}

/* ---- accounting and checking ----------------------------------------------- */

static void count(const struct node *n, struct kvd_stats *st)
{
    if (n->kind == KVD_DICT)
        st->dicts++;
    else {
        st->values++;
        st->value_bytes += n->size;
    }
    for (uint32_t i = 0; i < n->nkids; i++)
        count(n->kids[i], st);
}

void kvd_stats(const struct kvd *s, struct kvd_stats *st)
{
    memset(st, 0, sizeof *st);
    st->units = s->total_units;
    st->data_units = s->total_units - s->data_unit;
    st->free_units = s->free_units;
    st->journal_bytes = s->jbytes;
    st->journal_used = s->jhead;
    st->index_bytes = s->index_bytes;
    st->generation = s->gen;
    st->next_seq = s->next_seq;
    st->replayed = s->replayed;
    st->superblock_bad = s->sb_bad;
    count(s->root, st);
    st->dicts--; /* the root */
}

static long verify(struct kvd *s, const struct node *n, char *path, size_t plen, kvd_report_fn fn,
                   void *ctx)
{
    long bad = 0;

    if (plen + 1 + n->namelen <= KVD_KEY_MAX && n != s->root) {
        path[plen] = '/';
        memcpy(path + plen + 1, n->name, n->namelen);
        plen += 1 + n->namelen;
        path[plen] = '\0';
    }
    if (n->kind == KVD_VALUE) {
        uint64_t pos = 0;
        for (uint32_t i = 0; i < n->nex; i++) {
            const struct ext *e = &n->ex[i];
            if (e->unit != HOLE) {
                int r = dev_read_units(s, e->unit, s->scratch, e->count);
                if (r == 0 && mirage_crc32c(0, s->scratch, e->len) != e->crc)
                    r = fail(s, MIRAGE_EBADMSG,
                             "key %s: bytes %llu-%llu (units %llu-%llu) fail their checksum",
                             path, (unsigned long long)pos,
                             (unsigned long long)(pos + e->len - 1), (unsigned long long)e->unit,
                             (unsigned long long)(e->unit + e->count - 1));
                if (r) {
                    if (fn)
                        fn(ctx, s->msg);
                    bad++;
                }
            }
            pos += e->len;
        }
    }
    for (uint32_t i = 0; i < n->nkids; i++)
        bad += verify(s, n->kids[i], path, plen, fn, ctx);
    return bad;
}

long kvd_verify(struct kvd *s, kvd_report_fn fn, void *ctx)
{
    char path[KVD_KEY_MAX + 2] = "";
    return verify(s, s->root, path, 0, fn, ctx);
}

void kvd_describe_superblocks(struct mirage_block *dev, kvd_report_fn fn, void *ctx)
{
    uint8_t b[2][KVD_UNIT];
    char line[200];
    struct sb sb;
    uint64_t units;

    if (dev_ok(dev, NULL, 0) ||
        (units = dev->info.sectors / (KVD_UNIT / dev->info.sector_size)) < 2 ||
        read_superblocks(dev, b[0], b[1])) {
        fn(ctx, "superblocks: unreadable");
        return;
    }
    for (int i = 0; i < 2; i++) {
        const char *why = sb_parse(b[i], units, 0, &sb);
        if (why)
            snprintf(line, sizeof line, "superblock %d (unit %d): %s", i, i, why);
        else
            snprintf(line, sizeof line,
                     "superblock %d (unit %d): generation %llu, %llu units, checkpoint at unit "
                     "%llu (%llu bytes), journal from record %llu",
                     i, i, (unsigned long long)sb.gen, (unsigned long long)sb.total_units,
                     (unsigned long long)sb.ck_unit, (unsigned long long)sb.ck_bytes,
                     (unsigned long long)sb.jseq);
        fn(ctx, line);
    }
}
