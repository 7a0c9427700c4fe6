/* memdev.h: a block device in memory with a volatile write cache, power cuts and torn writes. */
#ifndef TESTS_KV_MEMDEV_H
#define TESTS_KV_MEMDEV_H

/*
 * Reads see every write; only a flush makes writes durable. memdev_cut()
 * models losing power: each write since the last flush lands whole, not at
 * all, or torn (a prefix of its bytes, ending inside a sector), in any order.
 * A device can also die during its Nth write (dies_in), which lands a prefix
 * of (die_bytes) bytes and fails that write and every later call.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kv/disk.h"
#include "crashgen.h"

struct memdev_write {
    uint64_t off;
    uint32_t len;
    uint8_t *data;
};

struct memdev {
    struct mirage_block blk; /* first: the device the store sees */
    uint8_t *cur, *dur;
    uint64_t size;
    uint32_t ss;
    int read_only;
    struct memdev_write *pend;
    size_t npend, cappend;
    long dies_in;      /* writes until the device dies; -1: never */
    uint32_t die_bytes;
    int dead;
    long writes, flushes;
};

static inline int memdev_read(struct mirage_block *b, uint64_t sector, void *buf, size_t len)
{
    struct memdev *d = (struct memdev *)b;
    if (d->dead)
        return MIRAGE_EIO;
    if (sector * d->ss + len > d->size)
        return MIRAGE_EINVAL;
    memcpy(buf, d->cur + sector * d->ss, len);
    return 0;
}

static inline void memdev_note(struct memdev *d, uint64_t off, const uint8_t *p, uint32_t len)
{
    if (d->npend == d->cappend) {
        d->cappend = d->cappend ? d->cappend * 2 : 64;
        d->pend = realloc(d->pend, d->cappend * sizeof *d->pend);
    }
    struct memdev_write *w = &d->pend[d->npend++];
    w->off = off;
    w->len = len;
    w->data = malloc(len ? len : 1);
    memcpy(w->data, p, len);
    memcpy(d->cur + off, p, len);
}

static inline int memdev_write(struct mirage_block *b, uint64_t sector, const void *buf,
                               size_t len)
{
    struct memdev *d = (struct memdev *)b;
    if (d->dead)
        return MIRAGE_EIO;
    if (d->read_only || sector * d->ss + len > d->size)
        return MIRAGE_EINVAL;
    d->writes++;
    if (d->dies_in >= 0 && d->dies_in-- == 0) {
        uint32_t part = d->die_bytes < len ? d->die_bytes : (uint32_t)len;
        memdev_note(d, sector * d->ss, buf, part);
        d->dead = 1;
        return MIRAGE_EIO;
    }
    memdev_note(d, sector * d->ss, buf, (uint32_t)len);
    return 0;
}

static inline void memdev_drop_pending(struct memdev *d)
{
    for (size_t i = 0; i < d->npend; i++)
        free(d->pend[i].data);
    d->npend = 0;
}

static inline int memdev_flush(struct mirage_block *b)
{
    struct memdev *d = (struct memdev *)b;
    if (d->dead)
        return MIRAGE_EIO;
    d->flushes++;
    for (size_t i = 0; i < d->npend; i++)
        memcpy(d->dur + d->pend[i].off, d->pend[i].data, d->pend[i].len);
    memdev_drop_pending(d);
    return 0;
}

static inline void memdev_init(struct memdev *d, uint64_t size, uint32_t ss)
{
    memset(d, 0, sizeof *d);
    d->size = size;
    d->ss = ss;
    d->cur = calloc(1, size);
    d->dur = calloc(1, size);
    d->dies_in = -1;
}

static inline void memdev_free(struct memdev *d)
{
    memdev_drop_pending(d);
    free(d->pend);
    free(d->cur);
    free(d->dur);
}

static inline void memdev_disconnect(struct mirage_block *b)
{
    (void)b;
}

static const struct mirage_block_ops memdev_ops = {memdev_read, memdev_write, memdev_flush,
                                                   memdev_disconnect};

/* The device as the store sees it (its size and mode as they are now). */
static inline struct mirage_block *memdev_dev(struct memdev *d)
{
    d->blk.ops = &memdev_ops;
    d->blk.name = "memdev";
    d->blk.info.sector_size = d->ss;
    d->blk.info.sectors = d->size / d->ss;
    d->blk.info.read_only = d->read_only;
    return &d->blk;
}

/* Power is cut: what was flushed stays, each later write lands whole, not at
 * all or torn, in an order drawn from (*r). The device works again after. */
static inline void memdev_cut(struct memdev *d, uint64_t *r)
{
    for (size_t i = d->npend; i > 1; i--) { /* shuffle: the cache writes in any order */
        size_t j = (size_t)((*r = cg_mix(*r)) % i);
        struct memdev_write t = d->pend[i - 1];
        d->pend[i - 1] = d->pend[j];
        d->pend[j] = t;
    }
    for (size_t i = 0; i < d->npend; i++) {
        struct memdev_write *w = &d->pend[i];
        uint64_t how = (*r = cg_mix(*r)) % 3;
        uint32_t len = how == 0 ? 0 : how == 1 ? w->len : (uint32_t)((*r = cg_mix(*r)) % (w->len + 1));
        memcpy(d->dur + w->off, w->data, len);
    }
    memdev_drop_pending(d);
    memcpy(d->cur, d->dur, d->size);
    d->dead = 0;
    d->dies_in = -1;
}

#endif
