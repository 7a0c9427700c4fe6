/* blocktest.c: checks the block device API on a disk the test prepared: reads, writes, refusals. */
#include <stdio.h>
#include <string.h>

#include "mirage/manifest.h"
#include "mirage/platform.h"

MIRAGE_MANIFEST(MIRAGE_BLOCK("storage"));

/*
 * The test fills the disk with host_byte() before the run and checks it holds
 * guest_byte() after a successful one. Exits 0 when every check passed, 1 at
 * the first failure (naming it).
 */
static uint8_t buf[256 * 1024];
static unsigned checks;
static uint64_t sector = 512;

static uint8_t host_byte(uint64_t pos)
{
    return (uint8_t)((pos / 512) * 3 + pos % 512);
}

static uint8_t guest_byte(uint64_t pos)
{
    return (uint8_t)((pos / 512) * 7 + (pos % 512) * 13 + 0x5a);
}

static int fail(const char *what, uint64_t off, size_t size, int r)
{
    printf("blocktest: FAIL: %s at offset %llu size %zu: %s\n", what, (unsigned long long)off, size,
           r < 0 ? mirage_strerror(r) : "wrong data");
    return 1;
}

#define CHECK(cond, what, off, size, r)                                                            \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond))                                                                               \
            return fail(what, off, size, r);                                                       \
    } while (0)

/* Reads the whole disk in requests cycling through (sizes) and compares each byte with want(). */
static int read_all(mirage_handle_t h, uint64_t cap, const size_t *sizes, size_t nsizes,
                    uint8_t (*want)(uint64_t))
{
    uint64_t off = 0;

    for (size_t i = 0; off < cap; i++) {
        size_t n = sizes[i % nsizes];
        int r;

        if (n > cap - off)
            n = (size_t)(cap - off);
        memset(buf, 0xee, n);
        r = mirage_platform_block_read(h, off, buf, n);
        CHECK(r == 0, "read", off, n, r);
        for (size_t j = 0; j < n; j++)
            CHECK(buf[j] == want(off + j), "read data", off + j, n, 1);
        off += n;
    }
    return 0;
}

static int write_all(mirage_handle_t h, uint64_t cap, const size_t *sizes, size_t nsizes)
{
    uint64_t off = 0;

    for (size_t i = 0; off < cap; i++) {
        size_t n = sizes[i % nsizes];
        int r;

        if (n > cap - off)
            n = (size_t)(cap - off);
        for (size_t j = 0; j < n; j++)
            buf[j] = guest_byte(off + j);
        r = mirage_platform_block_write(h, off, buf, n);
        CHECK(r == 0, "write", off, n, r);
        off += n;
    }
    return 0;
}

/* Requests that break the rules: each must be MIRAGE_EINVAL and change nothing. */
static int refusals(mirage_handle_t h, uint64_t cap)
{
    const struct {
        uint64_t off;
        size_t size;
    } bad[] = {
        {cap, 512},               /* at the end */
        {cap - 512, 1024},        /* across the end */
        {cap + 512, 512},         /* past the end */
        {1, 512},                 /* misaligned offset */
        {0, 100},                 /* partial sector */
        {0, 513},                 /* not whole sectors */
        {cap - 512, 511},         /* partial last sector */
        {UINT64_MAX - 511, 1024}, /* the end wraps around */
        {(uint64_t)1 << 62, 512}, /* far away */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = bad[i].size;
        int r;

        memset(buf, 0x77, n);
        r = mirage_platform_block_read(h, bad[i].off, buf, n);
        CHECK(r == MIRAGE_EINVAL, "bad read not refused", bad[i].off, n, r);
        r = mirage_platform_block_write(h, bad[i].off, buf, n);
        CHECK(r == MIRAGE_EINVAL, "bad write not refused", bad[i].off, n, r);
    }
    /* An empty request at the very end is inside the rules. */
    CHECK(mirage_platform_block_read(h, cap, buf, 0) == 0, "empty read at the end", cap, 0, -1);
    /* Handles that are not this acquired block device. */
    CHECK(mirage_platform_block_read(h + 1, 0, buf, 512) == MIRAGE_EINVAL, "read on handle+1", 0,
          512, 0);
    CHECK(mirage_platform_block_read(63, 0, buf, 512) == MIRAGE_EINVAL, "read on handle 63", 0, 512,
          0);
    CHECK(mirage_platform_block_write(~(mirage_handle_t)0, 0, buf, 512) == MIRAGE_EINVAL,
          "write on handle ~0", 0, 512, 0);
    CHECK(mirage_net_write(h, buf, 60) == MIRAGE_EINVAL, "net write on a block handle", 0, 60, 0);
    return 0;
}

int mirage_main(int argc, char **argv)
{
    static const size_t mixed[] = {512, 4096, 1536, 65536, 3584, 131072, 1024};
    static const size_t small[] = {512};
    static const size_t large[] = {sizeof(buf)};
    static const size_t odd[] = {7 * 512, 33 * 512};
    struct mirage_platform_block_info info, again;
    struct mirage_net_info ninfo;
    mirage_handle_t h, h2;
    uint64_t cap;
    int r;

    (void)argc;
    (void)argv;
    r = mirage_platform_block_acquire("storage", &h, &info);
    CHECK(r == 0, "acquire storage", 0, 0, r);
    cap = info.capacity;
    sector = info.block_size;
    printf("blocktest: capacity %llu block_size %llu\n", (unsigned long long)cap,
           (unsigned long long)sector);
    CHECK(sector == 512 && cap > 0 && cap % sector == 0, "device info", cap, (size_t)sector, 1);
    CHECK(mirage_platform_block_acquire("storage", &h2, &again) == MIRAGE_EINVAL, "second acquire",
          0, 0, 0);
    CHECK(mirage_platform_block_acquire("nosuch", &h2, &again) == MIRAGE_ENOENT, "unknown name", 0,
          0, 0);
    CHECK(mirage_net_acquire("storage", &h2, &ninfo) == MIRAGE_ENOENT, "acquire as net", 0, 0, 0);

    if (read_all(h, cap, mixed, 7, host_byte) || read_all(h, cap, small, 1, host_byte))
        return 1;
    if (refusals(h, cap) || read_all(h, cap, large, 1, host_byte))
        return 1;
    if (write_all(h, cap, odd, 2) || read_all(h, cap, mixed, 7, guest_byte))
        return 1;
    if (write_all(h, cap, large, 1) || read_all(h, cap, small, 1, guest_byte))
        return 1;
    printf("blocktest: %u checks passed\n", checks);
    return 0;
}
