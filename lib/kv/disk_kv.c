/* disk_kv.c: kv_rw_disk, the kv.h store on a block device: lib/kv/disk.c behind the kv ops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"
#include "mirage/kv.h"
#include "mirage/platform.h"
#include "mirage/sched.h"

struct disk_kv {
    struct mirage_kv kv; /* first: kv.h's view */
    struct kvd *s;
    int busy;            /* a call is between its lock and unlock */
    struct mirage_cond idle;
};

static struct disk_kv *dkv(struct mirage_kv *kv)
{
    return (struct disk_kv *)kv;
}

/* The device may suspend a call in the middle: one call at a time. */
static struct kvd *lock(struct mirage_kv *kv)
{
    struct disk_kv *d = dkv(kv);

    while (d->busy)
        mirage_cond_wait(&d->idle, UINT64_MAX);
    d->busy = 1;
    return d->s;
}

static int unlock(struct mirage_kv *kv, int r, struct mirage_kv_error *err)
{
    struct disk_kv *d = dkv(kv);

    if (r) {
        const char *key = kvd_error_key(d->s);
        /* the code and key say it all, but for damage, space, the device, bad keys */
        int plain = r == MIRAGE_ENOENT || r == MIRAGE_ENOTDIR || r == MIRAGE_EISDIR ||
                    r == MIRAGE_EEXIST || (r == MIRAGE_EINVAL && kvd_error_dest(d->s)[0]);
        if (plain)
            mirage_kv_fail(err, r, key[0] ? key : NULL, NULL);
        else
            mirage_kv_fail(err, r, key[0] ? key : NULL, "%s", kvd_message(d->s));
        snprintf(err->dest, sizeof err->dest, "%s", kvd_error_dest(d->s));
        err->index = kvd_error_index(d->s);
    }
    d->busy = 0;
    mirage_cond_signal(&d->idle);
    return r;
}

static int d_exists(struct mirage_kv *kv, const char *key, enum mirage_kv_kind *kind,
                    struct mirage_kv_error *err)
{
    enum kvd_kind k;
    int r = kvd_exists(lock(kv), key, &k);

    if (r == 0)
        *kind = k == KVD_DICT ? MIRAGE_KV_DICTIONARY : k == KVD_VALUE ? MIRAGE_KV_VALUE
                                                                      : MIRAGE_KV_NONE;
    return unlock(kv, r, err);
}

static int d_get(struct mirage_kv *kv, const char *key, uint8_t **value, size_t *len,
                 struct mirage_kv_error *err)
{
    return unlock(kv, kvd_get(lock(kv), key, value, len), err);
}

static int d_get_partial(struct mirage_kv *kv, const char *key, uint64_t offset, void *buf,
                         size_t len, size_t *got, struct mirage_kv_error *err)
{
    uint8_t *v;
    int r = kvd_get_partial(lock(kv), key, offset, len, &v, got);

    if (r == 0) {
        memcpy(buf, v, *got);
        free(v);
    }
    return unlock(kv, r, err);
}

struct lister {
    struct mirage_kv_list_builder b;
    const char *dict;
};

static void add(void *ctx, const char *name, enum kvd_kind kind)
{
    struct lister *l = ctx;
    mirage_kv_list_add(&l->b, l->dict, name,
                       kind == KVD_DICT ? MIRAGE_KV_DICTIONARY : MIRAGE_KV_VALUE);
}

static int d_list(struct mirage_kv *kv, const char *key, struct mirage_kv_entry **entries,
                  size_t *n, struct mirage_kv_error *err)
{
    struct lister l = {{0}, key};
    int r = kvd_list(lock(kv), key, add, &l);

    if (r == 0) {
        r = mirage_kv_list_finish(&l.b, entries, n);
        if (r)
            return unlock(kv, 0, err) ? r : mirage_kv_fail(err, r, key, "out of memory");
    } else {
        mirage_kv_list_abandon(&l.b);
    }
    return unlock(kv, r, err);
}

static int d_last_modified(struct mirage_kv *kv, const char *key, uint64_t *ns,
                           struct mirage_kv_error *err)
{
    return unlock(kv, kvd_last_modified(lock(kv), key, ns), err);
}

static int d_digest(struct mirage_kv *kv, const char *key, uint8_t out[32],
                    struct mirage_kv_error *err)
{
    return unlock(kv, kvd_digest(lock(kv), key, out), err);
}

static int d_size(struct mirage_kv *kv, const char *key, uint64_t *size,
                  struct mirage_kv_error *err)
{
    return unlock(kv, kvd_size(lock(kv), key, size), err);
}

static int d_set(struct mirage_kv *kv, const char *key, const void *data, size_t len,
                 struct mirage_kv_error *err)
{
    return unlock(kv, kvd_set(lock(kv), key, data, len), err);
}

static int d_set_partial(struct mirage_kv *kv, const char *key, uint64_t offset, const void *data,
                         size_t len, struct mirage_kv_error *err)
{
    return unlock(kv, kvd_set_partial(lock(kv), key, offset, data, len), err);
}

static int d_remove(struct mirage_kv *kv, const char *key, struct mirage_kv_error *err)
{
    return unlock(kv, kvd_remove(lock(kv), key), err);
}

static int d_rename(struct mirage_kv *kv, const char *source, const char *dest,
                    struct mirage_kv_error *err)
{
    return unlock(kv, kvd_rename(lock(kv), source, dest), err);
}

static int d_allocate(struct mirage_kv *kv, const char *key, uint64_t size, uint64_t last_modified,
                      struct mirage_kv_error *err)
{
    return unlock(kv, kvd_allocate(lock(kv), key, size, last_modified), err);
}

static int d_batch(struct mirage_kv *kv, const struct mirage_kv_op *ops, size_t n,
                   struct mirage_kv_error *err)
{
    struct kvd_op *k = calloc(n ? n : 1, sizeof *k);
    int r;

    if (k == NULL)
        return mirage_kv_fail(err, MIRAGE_ENOMEM, NULL, "out of memory for a batch of %zu", n);
    for (size_t i = 0; i < n; i++) {
        k[i].type = ops[i].op == MIRAGE_KV_OP_SET      ? KVD_SET
                    : ops[i].op == MIRAGE_KV_OP_REMOVE ? KVD_REMOVE
                                                       : KVD_RENAME;
        k[i].key = ops[i].key;
        k[i].dest = ops[i].dest;
        k[i].data = ops[i].data;
        k[i].len = ops[i].len;
    }
    r = kvd_batch(lock(kv), k, n);
    free(k);
    return unlock(kv, r, err);
}

static void d_disconnect(struct mirage_kv *kv)
{
    struct kvd *s = lock(kv);

    kvd_unmount(s);
    free(kv);
}

static const struct mirage_kv_ops disk_ops = {
    .exists = d_exists,
    .get = d_get,
    .get_partial = d_get_partial,
    .list = d_list,
    .last_modified = d_last_modified,
    .digest = d_digest,
    .size = d_size,
    .set = d_set,
    .set_partial = d_set_partial,
    .remove = d_remove,
    .rename = d_rename,
    .allocate = d_allocate,
    .batch = d_batch,
    .disconnect = d_disconnect,
};

static uint64_t wall(void *ctx)
{
    (void)ctx;
    return mirage_clock_wall();
}

int mirage_kv_disk_connect(struct mirage_block *b, int format_blank, struct mirage_kv **out,
                           char *msg, size_t msglen)
{
    static const struct kvd_opts opts = {wall, NULL, 0};
    struct disk_kv *d = calloc(1, sizeof *d);
    int r;

    if (d == NULL) {
        snprintf(msg, msglen, "out of memory");
        return MIRAGE_ENOMEM;
    }
    r = kvd_mount(b, &opts, &d->s, msg, msglen);
    if (r == MIRAGE_EINVAL && format_blank && strstr(msg, "blank device")) {
        uint64_t uuid = mirage_clock_wall() ^ (uint64_t)(uintptr_t)d;
        size_t got = mirage_host_entropy(&uuid, sizeof uuid);
        (void)got;
        r = kvd_format(b, uuid, msg, msglen);
        if (r == 0)
            r = kvd_mount(b, &opts, &d->s, msg, msglen);
    }
    if (r) {
        free(d);
        return r;
    }
    d->kv.ops = &disk_ops;
    *out = &d->kv;
    return 0;
}

int mirage_kv_disk_open(struct mirage_block *block, struct mirage_kv **out)
{
    char msg[320], line[400];
    int r = mirage_kv_disk_connect(block, 1, out, msg, sizeof msg);

    if (r) {
        int n = snprintf(line, sizeof line, "kv_rw_disk on block device '%s': %s\n",
                         block->name ? block->name : "?", msg);
        mirage_console_write(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
    }
    return r;
}
