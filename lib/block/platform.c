/* platform.c: the platform's block devices (config.c's block("name")) behind block.h. */
#include <stdlib.h>

#include "mirage/block.h"
#include "mirage/platform.h"
#include "mirage/sched.h"

struct pblock {
    struct mirage_block blk;
    mirage_handle_t h;
    int busy; /* a request is with the host; the platform takes one at a time */
    struct mirage_cond idle;
};

/*
 * Where the target allows it (hvt, unix) a request is submitted and the
 * calling fiber waits for the device's completion while the others run (the
 * network keeps being served); on spt the synchronous call holds the whole
 * unikernel. One request per device at a time: later callers wait their turn.
 */
static int pb_io(struct mirage_block *b, enum mirage_platform_block_op op, uint64_t sector,
                 void *buf, size_t len)
{
    struct pblock *p = (struct pblock *)b;
    uint64_t off = sector * b->info.sector_size;
    int r;

    while (p->busy)
        if ((r = mirage_cond_wait(&p->idle, MIRAGE_FOREVER)) < 0)
            return r; /* cancelled (or nothing left to wake it) before it started */
    p->busy = 1;
    r = mirage_platform_block_submit(p->h, op, off, buf, len);
    if (r == MIRAGE_ENOTSUP) {
        if (op == MIRAGE_PLATFORM_BLOCK_READ)
            r = mirage_platform_block_read(p->h, off, buf, len);
        else if (op == MIRAGE_PLATFORM_BLOCK_WRITE)
            r = mirage_platform_block_write(p->h, off, buf, len);
        else
            r = mirage_platform_block_flush(p->h);
    } else if (r == 0) {
        /* Not cancellable: the host reads or writes (buf) until it completes. */
        while ((r = mirage_platform_block_complete(p->h)) == MIRAGE_EAGAIN)
            if (mirage_wait_device_shielded(p->h, MIRAGE_FOREVER) == MIRAGE_EDEADLK) {
                mirage_handle_set_t ready;
                mirage_yield(mirage_clock_monotonic() + 1000000, &ready);
            }
    }
    p->busy = 0;
    mirage_cond_signal(&p->idle);
    return r;
}

static int pb_read(struct mirage_block *b, uint64_t sector, void *buf, size_t len)
{
    return pb_io(b, MIRAGE_PLATFORM_BLOCK_READ, sector, buf, len);
}

static int pb_write(struct mirage_block *b, uint64_t sector, const void *buf, size_t len)
{
    return pb_io(b, MIRAGE_PLATFORM_BLOCK_WRITE, sector, (void *)(uintptr_t)buf, len);
}

static int pb_flush(struct mirage_block *b)
{
    return pb_io(b, MIRAGE_PLATFORM_BLOCK_FLUSH, 0, NULL, 0);
}

static void pb_disconnect(struct mirage_block *b)
{
    free(b);
}

static const struct mirage_block_ops platform_ops = {pb_read, pb_write, pb_flush, pb_disconnect};

int mirage_block_connect(const char *name, struct mirage_block **out)
{
    struct mirage_platform_block_info info;
    struct pblock *p = calloc(1, sizeof(*p));
    int r;

    if (!p)
        return MIRAGE_ENOMEM;
    if ((r = mirage_platform_block_acquire(name, &p->h, &info)) < 0) {
        free(p);
        return r;
    }
    if (info.block_size < 512 || info.block_size > 65536 ||
        (info.block_size & (info.block_size - 1)) || info.capacity % info.block_size) {
        free(p);
        return MIRAGE_EINVAL;
    }
    p->blk.ops = &platform_ops;
    p->blk.info.sector_size = (uint32_t)info.block_size;
    p->blk.info.sectors = info.capacity / info.block_size;
    p->blk.info.read_only = info.read_only;
    p->blk.name = name;
    *out = &p->blk;
    return 0;
}
