/* platform.c: the platform's block devices (config.c's block("name")) behind block.h. */
#include <stdlib.h>

#include "mirage/block.h"
#include "mirage/platform.h"

struct pblock {
    struct mirage_block blk;
    mirage_handle_t h;
};

static mirage_handle_t handle_of(struct mirage_block *b)
{
    return ((struct pblock *)b)->h;
}

static int pb_read(struct mirage_block *b, uint64_t sector, void *buf, size_t len)
{
    return mirage_platform_block_read(handle_of(b), sector * b->info.sector_size, buf, len);
}

static int pb_write(struct mirage_block *b, uint64_t sector, const void *buf, size_t len)
{
    return mirage_platform_block_write(handle_of(b), sector * b->info.sector_size, buf, len);
}

static int pb_flush(struct mirage_block *b)
{
    return mirage_platform_block_flush(handle_of(b));
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
