/* cgkvd.h: crashgen's changes run on, compared with and read back from a kv_rw_disk store. */
#ifndef TESTS_KV_CGKVD_H
#define TESTS_KV_CGKVD_H

#include "../../lib/kv/disk.h"
#include "crashgen.h"

struct cg_kvd_op {
    struct kvd_op op;
    char key[32], dest[32];
    uint8_t *data;
};

static inline void cg_kvd_op(const struct cg_op *c, struct cg_kvd_op *o)
{
    memset(o, 0, sizeof *o);
    cg_key(c->a, o->key, sizeof o->key);
    o->op.key = o->key;
    switch (c->type) {
    case CG_SET:
    case CG_PARTIAL:
        o->data = malloc(c->len ? c->len : 1);
        if (o->data)
            cg_data(c->dseed, c->len, o->data);
        o->op.type = c->type == CG_SET ? KVD_SET : KVD_SET_PARTIAL;
        o->op.data = o->data;
        o->op.len = o->data ? c->len : 0;
        o->op.offset = c->off;
        break;
    case CG_ALLOCATE:
        o->op.type = KVD_ALLOCATE;
        o->op.size = c->len;
        break;
    case CG_REMOVE:
        o->op.type = KVD_REMOVE;
        break;
    case CG_REMOVE_DICT:
        cg_dict(c->a, o->key, sizeof o->key);
        o->op.type = KVD_REMOVE;
        break;
    case CG_RENAME:
        cg_key(c->b, o->dest, sizeof o->dest);
        o->op.type = KVD_RENAME;
        o->op.dest = o->dest;
        break;
    case CG_RENAME_INTO:
        cg_dict(c->b, o->dest, sizeof o->dest);
        o->op.type = KVD_RENAME;
        o->op.dest = o->dest;
        break;
    }
}

/* Runs change (c) on the store as one kvd_batch; returns the store's answer. */
static inline int cg_kvd_run(struct kvd *s, const struct cg_op *c)
{
    struct cg_kvd_op o[CG_SUBS];
    struct kvd_op ops[CG_SUBS];
    int n = c->type == CG_BATCH ? c->nsub : 1, r;

    for (int i = 0; i < n; i++) {
        cg_kvd_op(c->type == CG_BATCH ? &c->sub[i] : c, &o[i]);
        ops[i] = o[i].op;
    }
    r = kvd_batch(s, ops, (size_t)n);
    for (int i = 0; i < n; i++)
        free(o[i].data);
    return r;
}

static inline int cg_kvd_kind(void *ctx, const char *key)
{
    enum kvd_kind k;
    int r = kvd_exists(ctx, key, &k);
    return r ? r : (int)k;
}

static inline int cg_kvd_get(void *ctx, const char *key, uint8_t **v, size_t *len)
{
    return kvd_get(ctx, key, v, len);
}

static inline int cg_kvd_matches(struct kvd *s, const struct cg_model *m, char *why, size_t len)
{
    struct cg_store st = {s, cg_kvd_kind, cg_kvd_get};
    return cg_matches(m, &st, why, len);
}

/* The model a store holds (after the host checked it): 0, or an error. */
static inline int cg_kvd_load(struct kvd *s, struct cg_model *m)
{
    char key[32];

    memset(m, 0, sizeof *m);
    for (int i = 0; i < CG_SLOTS; i++) {
        uint8_t *v;
        size_t len;
        cg_key(i, key, sizeof key);
        if (cg_kvd_kind(s, key) != KVD_VALUE)
            continue;
        int r = kvd_get(s, key, &v, &len);
        if (r)
            return r;
        m->v[i].b = v;
        m->v[i].len = (uint32_t)len;
        m->v[i].present = 1;
    }
    return 0;
}

#endif
