/* ramdisk.c: a block device in memory (config.c's ramdisk(size)), zero-filled at start. */
#include <stdlib.h>
#include <string.h>

#include "mirage/block.h"

struct ramdisk {
    struct mirage_block blk;
    uint8_t *bytes;
};

static int rd_read(struct mirage_block *b, uint64_t sector, void *buf, size_t len)
{
    struct ramdisk *rd = (struct ramdisk *)b;

    memcpy(buf, rd->bytes + sector * b->info.sector_size, len);
    return 0;
}

static int rd_write(struct mirage_block *b, uint64_t sector, const void *buf, size_t len)
{
    struct ramdisk *rd = (struct ramdisk *)b;

    memcpy(rd->bytes + sector * b->info.sector_size, buf, len);
    return 0;
}

static int rd_flush(struct mirage_block *b)
{
    (void)b;
    return 0;
}

static void rd_disconnect(struct mirage_block *b)
{
    struct ramdisk *rd = (struct ramdisk *)b;

    free(rd->bytes);
    free(rd);
}

static const struct mirage_block_ops ramdisk_ops = {
    .read = rd_read,
    .write = rd_write,
    .flush = rd_flush,
    .disconnect = rd_disconnect,
};

int mirage_block_ramdisk_new(const char *name, uint64_t size, uint32_t sector_size,
                             struct mirage_block **out)
{
    struct ramdisk *rd;

    if ((sector_size != 512 && sector_size != 4096) || size == 0 || size % sector_size != 0 ||
        size > SIZE_MAX)
        return MIRAGE_EINVAL;
    if (!(rd = calloc(1, sizeof(*rd))) || !(rd->bytes = calloc(1, (size_t)size))) {
        free(rd);
        return MIRAGE_ENOMEM;
    }
    rd->blk.ops = &ramdisk_ops;
    rd->blk.info.sector_size = sector_size;
    rd->blk.info.sectors = size / sector_size;
    rd->blk.info.read_only = 0;
    rd->blk.name = name ? name : "ramdisk";
    *out = &rd->blk;
    return 0;
}
