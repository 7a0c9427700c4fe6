/* blk.c: a Solo5 program: writes and reads back patterns over the whole disk, checks refusals. */
#include "solo5.h"
#include "util.h"

#define MAX_BLOCK 4096

static uint8_t wbuf[2 * MAX_BLOCK], rbuf[2 * MAX_BLOCK];

/* The pattern of block (n) in this run: distinct per block and per run, so a
 * disk left from an earlier run or a block written at the wrong place shows. */
static void fill(uint8_t *buf, size_t size, uint64_t n, uint64_t seed)
{
    uint64_t x = seed ^ (n * 0x9e3779b97f4a7c15ull);

    for (size_t i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
}

static int fail(const char *what, uint64_t n)
{
    t_puts("FAILURE: ");
    t_puts(what);
    t_puts(" at block ");
    t_putu(n);
    t_puts("\n");
    return SOLO5_EXIT_FAILURE;
}

/* A request the shim must refuse with SOLO5_R_EINVAL, touching nothing. */
static int refused(solo5_result_t r, const char *what)
{
    if (r == SOLO5_R_EINVAL)
        return 1;
    t_puts("FAILURE: not refused: ");
    t_puts(what);
    t_puts("\n");
    return 0;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    struct solo5_block_info bi;
    solo5_handle_t h, h2;
    uint64_t seed = solo5_clock_monotonic() | 1, blocks, bs;

    (void)si;
    t_puts("\n**** Solo5 shim test: blk ****\n\n");
    if (solo5_block_acquire("storage", &h, &bi) != SOLO5_R_OK)
        return fail("cannot acquire 'storage'", 0);
    bs = bi.block_size;
    if (bs < 512 || bs > MAX_BLOCK || (bs & (bs - 1)) != 0 || bi.capacity % bs != 0)
        return fail("unexpected block size or capacity", 0);
    blocks = bi.capacity / bs;
    t_puts("capacity ");
    t_putu(bi.capacity);
    t_puts(" bytes, block size ");
    t_putu(bs);
    t_puts("\n");

    if (!refused(solo5_block_acquire("storage", &h2, &bi), "a second acquire") ||
        !refused(solo5_block_acquire("nosuch", &h2, &bi), "an undeclared device"))
        return SOLO5_EXIT_FAILURE;

    /* One block per request, as every Solo5 implementation allows. */
    for (uint64_t n = 0; n < blocks; n++) {
        fill(wbuf, bs, n, seed);
        if (solo5_block_write(h, n * bs, wbuf, bs) != SOLO5_R_OK)
            return fail("write failed", n);
    }
    for (uint64_t n = 0; n < blocks; n++) {
        fill(wbuf, bs, n, seed);
        if (solo5_block_read(h, n * bs, rbuf, bs) != SOLO5_R_OK)
            return fail("read failed", n);
        if (!t_memeq(wbuf, rbuf, bs))
            return fail("read back differs", n);
    }
    t_puts("patterns: ok\n");

    /* Past the end, straddling the end, unaligned, partial blocks. */
    fill(wbuf, 2 * bs, blocks, seed ^ 1);
    if (!refused(solo5_block_write(h, bi.capacity, wbuf, bs), "a write at the capacity") ||
        !refused(solo5_block_read(h, bi.capacity, rbuf, bs), "a read at the capacity") ||
        !refused(solo5_block_write(h, bi.capacity - bs, wbuf, 2 * bs), "a write over the end") ||
        !refused(solo5_block_read(h, bi.capacity - bs, rbuf, 2 * bs), "a read over the end") ||
        !refused(solo5_block_write(h, UINT64_MAX - bs + 1, wbuf, bs), "a wrapping offset") ||
        !refused(solo5_block_write(h, 1, wbuf, bs), "an unaligned write") ||
        !refused(solo5_block_read(h, bs / 2, rbuf, bs), "an unaligned read") ||
        !refused(solo5_block_write(h, 0, wbuf, bs - 1), "a partial-block write") ||
        !refused(solo5_block_read(h, 0, rbuf, bs + 1), "a partial-block read"))
        return SOLO5_EXIT_FAILURE;
    /* The refused write over the end left the last block as it was. */
    fill(wbuf, bs, blocks - 1, seed);
    if (solo5_block_read(h, bi.capacity - bs, rbuf, bs) != SOLO5_R_OK || !t_memeq(wbuf, rbuf, bs))
        return fail("a refused write changed the disk", blocks - 1);
    t_puts("refusals: ok\n");
    t_puts("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
