/* test_block.c: the block interface's checks and the RAM disk, for 512- and 4096-byte sectors. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mirage/block.h"

static void fill(uint8_t *b, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

/* Whole sectors anywhere, many per request, the last sector, and every
 * request that is not whole sectors inside the device refused untouched. */
static void exercise(struct mirage_block *b)
{
    uint32_t ss = b->info.sector_size;
    uint64_t n = b->info.sectors;
    size_t big = 8 * (size_t)ss;
    uint8_t *w = malloc(big), *r = malloc(big + ss);

    fill(w, big, 1);
    CHECK_INT(mirage_block_write(b, 3, w, big), 0);
    memset(r, 0, big);
    CHECK_INT(mirage_block_read(b, 3, r, big), 0);
    CHECK(memcmp(r, w, big) == 0);
    /* A read overlapping the write's end. */
    CHECK_INT(mirage_block_read(b, 10, r, 2 * ss), 0);
    CHECK(memcmp(r, w + 7 * ss, ss) == 0);
    /* The last sector. */
    fill(w, ss, 9);
    CHECK_INT(mirage_block_write(b, n - 1, w, ss), 0);
    CHECK_INT(mirage_block_read(b, n - 1, r, ss), 0);
    CHECK(memcmp(r, w, ss) == 0);
    CHECK_INT(mirage_block_flush(b), 0);
    /* Refused: partial sectors, past the end, overflowing offsets. */
    CHECK_INT(mirage_block_read(b, 0, r, ss - 1), MIRAGE_EINVAL);
    CHECK_INT(mirage_block_read(b, 0, r, ss + 1), MIRAGE_EINVAL);
    CHECK_INT(mirage_block_read(b, n, r, ss), MIRAGE_EINVAL);
    CHECK_INT(mirage_block_read(b, n - 1, r, 2 * ss), MIRAGE_EINVAL);
    CHECK_INT(mirage_block_read(b, UINT64_MAX, r, ss), MIRAGE_EINVAL);
    CHECK_INT(mirage_block_write(b, UINT64_MAX - 1, w, 2 * ss), MIRAGE_EINVAL);
    CHECK_INT(mirage_block_write(b, n, w, ss), MIRAGE_EINVAL);
    /* Empty requests inside (or at the end of) the device do nothing. */
    CHECK_INT(mirage_block_read(b, n, r, 0), 0);
    CHECK_INT(mirage_block_read(b, n + 1, r, 0), MIRAGE_EINVAL);
    /* The refused write left the last sector alone. */
    CHECK_INT(mirage_block_read(b, n - 1, r, ss), 0);
    CHECK(memcmp(r, w, ss) == 0);
    free(w);
    free(r);
}

static void test_ramdisk(uint32_t ss)
{
    struct mirage_block *b;
    uint8_t zero[4096] = {0}, buf[4096];

    CHECK_INT(mirage_block_ramdisk_new("rd", 64 * (uint64_t)ss, ss, &b), 0);
    CHECK_INT(b->info.sector_size, ss);
    CHECK_INT(b->info.sectors, 64);
    CHECK_INT(b->info.read_only, 0);
    CHECK_INT(mirage_block_bytes(b), 64 * (uint64_t)ss);
    CHECK_STR(b->name, "rd");
    CHECK_INT(mirage_block_read(b, 20, buf, ss), 0);
    CHECK(memcmp(buf, zero, ss) == 0);
    exercise(b);
    /* A read-only device takes no writes and has nothing to flush. */
    b->info.read_only = 1;
    CHECK_INT(mirage_block_write(b, 0, buf, ss), MIRAGE_EROFS);
    CHECK_INT(mirage_block_flush(b), 0);
    mirage_block_disconnect(b);
}

static void test_ramdisk_bad(void)
{
    struct mirage_block *b = NULL;

    CHECK_INT(mirage_block_ramdisk_new("rd", 4096, 1024, &b), MIRAGE_EINVAL);
    CHECK_INT(mirage_block_ramdisk_new("rd", 1000, 512, &b), MIRAGE_EINVAL);
    CHECK_INT(mirage_block_ramdisk_new("rd", 0, 512, &b), MIRAGE_EINVAL);
    CHECK_INT(mirage_block_ramdisk_new("rd", 512, 4096, &b), MIRAGE_EINVAL);
    CHECK(b == NULL);
}

int main(void)
{
    test_ramdisk(512);
    test_ramdisk(4096);
    test_ramdisk_bad();
    return CHECK_DONE();
}
