/* crashgen.h: a seeded stream of kv changes and the model of what the store must hold after them. */
#ifndef TESTS_KV_CRASHGEN_H
#define TESTS_KV_CRASHGEN_H

/*
 * Shared by the crash-consistency tests (tests/unit/test_kv_disk.c under a
 * simulated power cut, tests/kv/crashkv.c killed by SIGKILL on every target).
 * Change i of stream (seed) is a function of (seed, i) and the model after
 * changes 0..i-1, so a run restarted at change K regenerates the same stream.
 * Keys are /dD/kK (CG_DICTS dictionaries of CG_KEYS keys); values are seeded
 * bytes. The model is a plain array, independent of the store's code, and
 * cg_apply returns the error the store must give.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"

#ifndef MIRAGE_EEXIST
#define MIRAGE_EEXIST (-17)
#endif

#define CG_DICTS 4
#define CG_KEYS 8
#define CG_SLOTS (CG_DICTS * CG_KEYS)
#define CG_SUBS 4

enum cg_type { CG_SET = 1, CG_REMOVE, CG_REMOVE_DICT, CG_RENAME, CG_RENAME_INTO, CG_PARTIAL,
               CG_ALLOCATE, CG_BATCH };

struct cg_val {
    uint8_t *b;
    uint32_t len;
    uint8_t present;
};

struct cg_model {
    struct cg_val v[CG_SLOTS];
};

/* A dictionary exists while a key is under it. */
static inline int cg_has_dict(const struct cg_model *m, int d)
{
    for (int k = 0; k < CG_KEYS; k++)
        if (m->v[d * CG_KEYS + k].present)
            return 1;
    return 0;
}

struct cg_op {
    int type;
    int a, b;      /* slots; the dictionary for CG_REMOVE_DICT and CG_RENAME_INTO (b) */
    uint32_t len;  /* bytes of data (set, partial) or size (allocate) */
    uint32_t off;  /* set_partial */
    uint64_t dseed;
    int nsub;
    struct cg_op *sub; /* CG_BATCH: nsub ops (no nested batch) */
};

static inline uint64_t cg_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The data of a change: (len) bytes drawn from (dseed). */
static inline void cg_data(uint64_t dseed, uint32_t len, uint8_t *buf)
{
    uint64_t x = dseed;
    for (uint32_t i = 0; i < len; i += 8) {
        x = cg_mix(x);
        for (uint32_t j = 0; j < 8 && i + j < len; j++)
            buf[i + j] = (uint8_t)(x >> (8 * j));
    }
}

static inline void cg_key(int slot, char *buf, size_t len)
{
    snprintf(buf, len, "/d%d/k%d", slot / CG_KEYS, slot % CG_KEYS);
}

static inline void cg_dict(int d, char *buf, size_t len)
{
    snprintf(buf, len, "/d%d", d);
}

static inline uint32_t cg_size(uint64_t *r)
{
    uint64_t p = (*r = cg_mix(*r)) % 100;
    uint64_t x = (*r = cg_mix(*r));
    if (p < 65)
        return (uint32_t)(x % 700);
    if (p < 95)
        return (uint32_t)(700 + x % 70000);
    return (uint32_t)(70000 + x % 200000);
}

static inline int cg_present_slot(const struct cg_model *m, uint64_t *r)
{
    int s = (int)((*r = cg_mix(*r)) % CG_SLOTS);
    for (int i = 0; i < CG_SLOTS; i++)
        if (m->v[(s + i) % CG_SLOTS].present)
            return (s + i) % CG_SLOTS;
    return s;
}

static inline void cg_gen_one(const struct cg_model *m, uint64_t *r, struct cg_op *op, int batch)
{
    uint64_t p = (*r = cg_mix(*r)) % 100;

    memset(op, 0, sizeof *op);
    op->a = (int)((*r = cg_mix(*r)) % CG_SLOTS);
    op->b = (int)((*r = cg_mix(*r)) % CG_SLOTS);
    op->dseed = (*r = cg_mix(*r));
    if (p < 38) {
        op->type = CG_SET;
        op->len = cg_size(r);
    } else if (p < 50) {
        op->type = CG_REMOVE;
    } else if (p < 54) {
        op->type = CG_REMOVE_DICT;
        op->a %= CG_DICTS;
    } else if (p < 66) {
        op->type = CG_RENAME;
        op->a = cg_present_slot(m, r);
    } else if (p < 72) {
        op->type = CG_RENAME_INTO;
        op->a = cg_present_slot(m, r);
        op->b %= CG_DICTS;
        /* in a batch an earlier op may remove the dictionary */
        if (!cg_has_dict(m, op->b) || batch)
            op->type = CG_RENAME;
    } else if (p < 82) {
        op->type = CG_PARTIAL;
        op->len = cg_size(r) % 20000;
        op->off = (uint32_t)((*r = cg_mix(*r)) % (m->v[op->a].len + 1000));
    } else if (p < 86) {
        op->type = CG_ALLOCATE;
        op->len = cg_size(r);
    } else if (!batch) {
        op->type = CG_BATCH;
    } else {
        op->type = CG_SET;
        op->len = cg_size(r) % 5000;
    }
}

/* Change (index) of stream (seed), given the model before it. Free with cg_op_free. */
static inline void cg_gen(uint64_t seed, uint64_t index, const struct cg_model *m, struct cg_op *op)
{
    uint64_t r = cg_mix(seed ^ cg_mix(index));

    cg_gen_one(m, &r, op, 0);
    if (op->type == CG_BATCH) {
        op->nsub = 2 + (int)((r = cg_mix(r)) % (CG_SUBS - 1));
        op->sub = calloc((size_t)op->nsub, sizeof *op->sub);
        for (int i = 0; op->sub && i < op->nsub; i++)
            cg_gen_one(m, &r, &op->sub[i], 1);
        if (op->sub == NULL)
            op->nsub = 0;
    }
}

static inline void cg_op_free(struct cg_op *op)
{
    free(op->sub);
    op->sub = NULL;
}

static inline void cg_model_free(struct cg_model *m)
{
    for (int i = 0; i < CG_SLOTS; i++)
        free(m->v[i].b);
    memset(m, 0, sizeof *m);
}

/* A deep copy; 0, or -1 out of memory. */
static inline int cg_model_copy(struct cg_model *dst, const struct cg_model *src)
{
    *dst = *src;
    for (int i = 0; i < CG_SLOTS; i++) {
        dst->v[i].b = NULL;
        if (src->v[i].present) {
            dst->v[i].b = malloc(src->v[i].len ? src->v[i].len : 1);
            if (dst->v[i].b == NULL)
                return -1;
            memcpy(dst->v[i].b, src->v[i].b, src->v[i].len);
        }
    }
    return 0;
}

static inline void cg_put(struct cg_model *m, int slot, uint8_t *b, uint32_t len)
{
    free(m->v[slot].b);
    m->v[slot].b = b;
    m->v[slot].len = len;
    m->v[slot].present = 1;
}

static inline void cg_drop(struct cg_model *m, int slot)
{
    free(m->v[slot].b);
    m->v[slot].b = NULL;
    m->v[slot].len = 0;
    m->v[slot].present = 0;
}

/* Applies (op) to (m); returns the error the store must return (then m is unchanged). */
static inline int cg_apply(struct cg_model *m, const struct cg_op *op)
{
    struct cg_val *a = &m->v[op->a];
    uint8_t *b;

    switch (op->type) {
    case CG_SET:
        if ((b = malloc(op->len ? op->len : 1)) == NULL)
            return MIRAGE_ENOMEM;
        cg_data(op->dseed, op->len, b);
        cg_put(m, op->a, b, op->len);
        return 0;
    case CG_ALLOCATE:
        if (a->present)
            return MIRAGE_EEXIST;
        if ((b = calloc(1, op->len ? op->len : 1)) == NULL)
            return MIRAGE_ENOMEM;
        cg_put(m, op->a, b, op->len);
        return 0;
    case CG_PARTIAL: {
        uint32_t off = a->present ? (op->off < a->len ? op->off : a->len) : 0;
        uint32_t len = a->present && a->len > off + op->len ? a->len : off + op->len;
        if ((b = calloc(1, len ? len : 1)) == NULL)
            return MIRAGE_ENOMEM;
        if (a->present)
            memcpy(b, a->b, a->len);
        cg_data(op->dseed, op->len, b + off);
        cg_put(m, op->a, b, len);
        return 0;
    }
    case CG_REMOVE: /* nothing there is no error */
        cg_drop(m, op->a);
        return 0;
    case CG_REMOVE_DICT:
        for (int k = 0; k < CG_KEYS; k++)
            cg_drop(m, op->a * CG_KEYS + k);
        return 0;
    case CG_RENAME:
    case CG_RENAME_INTO: {
        int to = op->type == CG_RENAME ? op->b : op->b * CG_KEYS + op->a % CG_KEYS;
        if (!a->present)
            return MIRAGE_ENOENT;
        if (op->type == CG_RENAME_INTO && !cg_has_dict(m, op->b))
            return MIRAGE_EINVAL; /* never generated */
        if (to == op->a) /* onto itself: nothing happens */
            return 0;
        b = a->b;
        uint32_t len = a->len;
        a->b = NULL;
        cg_drop(m, op->a);
        cg_put(m, to, b, len);
        return 0;
    }
    case CG_BATCH: {
        struct cg_model c;
        int r = 0;
        if (cg_model_copy(&c, m))
            r = MIRAGE_ENOMEM;
        for (int i = 0; r == 0 && i < op->nsub; i++)
            r = cg_apply(&c, &op->sub[i]);
        if (r) {
            cg_model_free(&c);
            return r;
        }
        cg_model_free(m);
        *m = c;
        return 0;
    }
    }
    return MIRAGE_EINVAL;
}

/* What a store looks like to cg_matches: the kind of a key (0 none, 1 value,
 * 2 dictionary, negative error) and a value (a buffer the caller frees). */
struct cg_store {
    void *ctx;
    int (*kind)(void *ctx, const char *key);
    int (*get)(void *ctx, const char *key, uint8_t **val, size_t *len);
};

/* 1 if the store holds exactly (m) (every key, every dictionary), else 0 and
 * (why) says the first difference. */
static inline int cg_matches(const struct cg_model *m, const struct cg_store *st, char *why,
                             size_t whylen)
{
    char key[32];

    for (int d = 0; d < CG_DICTS; d++) {
        cg_dict(d, key, sizeof key);
        int k = st->kind(st->ctx, key), want = cg_has_dict(m, d) ? 2 : 0;
        if (k != want) {
            snprintf(why, whylen, "%s: kind %d, expected %d", key, k, want);
            return 0;
        }
    }
    for (int i = 0; i < CG_SLOTS; i++) {
        uint8_t *v = NULL;
        size_t len = 0;
        cg_key(i, key, sizeof key);
        int k = st->kind(st->ctx, key);
        if (k != (m->v[i].present ? 1 : 0)) {
            snprintf(why, whylen, "%s: kind %d, expected %d", key, k, m->v[i].present ? 1 : 0);
            return 0;
        }
        if (!m->v[i].present)
            continue;
        int r = st->get(st->ctx, key, &v, &len);
        if (r || len != m->v[i].len || memcmp(v, m->v[i].b, len) != 0) {
            snprintf(why, whylen, "%s: get %d, %zu bytes, expected %u bytes%s", key, r, len,
                     m->v[i].len, r == 0 && len == m->v[i].len ? " (they differ)" : "");
            free(v);
            return 0;
        }
        free(v);
    }
    return 1;
}

#endif
