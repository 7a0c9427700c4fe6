/* blockbench.c: block.h throughput (sequential and random 4 KiB) and tar_kv_ro get, inside a
 * unikernel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/block.h"
#include "mirage/kv.h"
#include "mirage/manifest.h"
#include "mirage/platform.h"

/*
 * bench/storage.sh boots it on unix, spt and hvt with --block:storage=A
 * (a file of random bytes in the page cache) and --block:tar=B (a GNU tar
 * archive holding /big.bin, 1 MiB) and prints markdown table rows: MB/s of
 * sequential reads and writes (one flush at the end) in 64 KiB and 1 MiB
 * requests, and of 4 KiB requests at random sectors; then tar_kv_ro's get of
 * /big.bin (index built at connect), its mean latency and MB/s.
 */

MIRAGE_MANIFEST(MIRAGE_BLOCK("storage"), MIRAGE_BLOCK("tar"));

static const char *target = "?";

static double mbs(uint64_t bytes, uint64_t ns)
{
    return ns ? (double)bytes * 1000.0 / (double)ns : 0;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int seq(struct mirage_block *b, uint8_t *buf, size_t chunk, int write_op, double *rate)
{
    uint64_t bytes = mirage_block_bytes(b), t0 = mirage_clock_monotonic(), off;
    uint32_t ss = b->info.sector_size;

    for (off = 0; off + chunk <= bytes; off += chunk) {
        int r = write_op ? mirage_block_write(b, off / ss, buf, chunk)
                         : mirage_block_read(b, off / ss, buf, chunk);
        if (r < 0)
            return r;
    }
    if (write_op && mirage_block_flush(b) < 0)
        return MIRAGE_EIO;
    *rate = mbs(off, mirage_clock_monotonic() - t0);
    return 0;
}

static int random4k(struct mirage_block *b, uint8_t *buf, int n, int write_op, double *rate)
{
    uint64_t sectors = mirage_block_bytes(b) / 4096, s = 88172645463325252ULL;
    uint64_t t0 = mirage_clock_monotonic();

    for (int i = 0; i < n; i++) {
        uint64_t at = (rnd(&s) % sectors) * (4096 / b->info.sector_size);
        int r =
            write_op ? mirage_block_write(b, at, buf, 4096) : mirage_block_read(b, at, buf, 4096);
        if (r < 0)
            return r;
    }
    if (write_op && mirage_block_flush(b) < 0)
        return MIRAGE_EIO;
    *rate = mbs((uint64_t)n * 4096, mirage_clock_monotonic() - t0);
    return 0;
}

int mirage_main(int argc, char **argv)
{
    struct mirage_block *disk, *tarb;
    struct mirage_kv *kv;
    static uint8_t buf[1 << 20];
    double r[6];
    char msg[400];
    uint64_t t0, t1;
    int n = 20, e;

    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--target=", 9) == 0)
            target = argv[i] + 9;
    if ((e = mirage_block_connect("storage", &disk)) < 0 ||
        (e = mirage_block_connect("tar", &tarb)) < 0) {
        printf("blockbench: %s\n", mirage_strerror(e));
        return 1;
    }
    memset(buf, 0x5a, sizeof(buf));
    if ((e = seq(disk, buf, 65536, 0, &r[0])) < 0 || (e = seq(disk, buf, 1 << 20, 0, &r[1])) < 0 ||
        (e = random4k(disk, buf, 20000, 0, &r[2])) < 0 ||
        (e = seq(disk, buf, 65536, 1, &r[3])) < 0 || (e = seq(disk, buf, 1 << 20, 1, &r[4])) < 0 ||
        (e = random4k(disk, buf, 5000, 1, &r[5])) < 0) {
        printf("blockbench: %s\n", mirage_strerror(e));
        return 1;
    }
    printf("| mirage %s (block.h) | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", target, r[0],
           r[1], r[2], r[3], r[4], r[5]);
    t0 = mirage_clock_monotonic();
    if ((e = mirage_kv_tar_connect(tarb, &kv, msg, sizeof(msg))) < 0) {
        printf("blockbench: %s\n", msg);
        return 1;
    }
    t1 = mirage_clock_monotonic();
    {
        uint64_t t2 = mirage_clock_monotonic(), got = 0;
        for (int i = 0; i < n; i++) {
            uint8_t *v;
            size_t len;
            if (mirage_kv_get(kv, "/big.bin", &v, &len, NULL) < 0) {
                printf("blockbench: get /big.bin failed\n");
                return 1;
            }
            got += len;
            free(v);
        }
        t2 = mirage_clock_monotonic() - t2;
        printf("TAR | mirage %s: tar_kv_ro get of 1 MiB | %.3f | %.0f | %.3f |\n", target,
               (double)t2 / n / 1e6, mbs(got, t2), (double)(t1 - t0) / 1e6);
    }
    mirage_kv_disconnect(kv);
    mirage_block_disconnect(tarb);
    mirage_block_disconnect(disk);
    return 0;
}
