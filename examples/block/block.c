/* block.c: writes sector patterns (the first, many at once, the last), flushes, reads them back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/block.h"

/* Byte i of sector (s): names the sector, so a misplaced write shows. */
static uint8_t pattern(uint64_t s, size_t i)
{
    return (uint8_t)(s * 31 + i * 7 + (i >> 8));
}

static void fill(uint8_t *buf, uint64_t sector, size_t n, uint32_t ss)
{
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < ss; i++)
            buf[k * ss + i] = pattern(sector + k, i);
}

/* Writes (n) sectors at (sector) in one request, then checks them; 0 or 1. */
static int round_trip(struct mirage_block *b, uint64_t sector, size_t n, const char *what)
{
    uint32_t ss = b->info.sector_size;
    uint8_t *w = malloc(n * ss), *r = malloc(n * ss);
    int rc, bad;

    fill(w, sector, n, ss);
    rc = mirage_block_write(b, sector, w, n * ss);
    if (rc == 0)
        rc = mirage_block_flush(b);
    if (rc == 0)
        rc = mirage_block_read(b, sector, r, n * ss);
    bad = rc != 0 || memcmp(w, r, n * ss) != 0;
    printf("%s: sectors %llu..%llu (%zu bytes in one request): %s\n", what,
           (unsigned long long)sector, (unsigned long long)(sector + n - 1), n * ss,
           rc    ? mirage_strerror(rc)
           : bad ? "MISMATCH"
                 : "ok");
    free(w);
    free(r);
    return bad;
}

int start(struct mirage_block *disk)
{
    uint64_t n = disk->info.sectors;
    uint8_t sector[4096];
    int bad = 0;

    printf("block %s: %llu sectors of %u bytes%s\n", disk->name, (unsigned long long)n,
           (unsigned)disk->info.sector_size, disk->info.read_only ? ", read-only" : "");
    if (disk->info.read_only) {
        int r = mirage_block_write(disk, 0, sector, disk->info.sector_size);
        printf("write to a read-only disk: %s\n", mirage_strerror(r));
        return r == MIRAGE_EROFS ? 0 : 1;
    }
    if (n < 40) {
        printf("the disk needs at least 40 sectors\n");
        return 1;
    }
    bad |= round_trip(disk, 0, 1, "first");
    bad |= round_trip(disk, 8, 32, "multi");
    bad |= round_trip(disk, n - 1, 1, "last");
    /* Past the end: refused, nothing written. */
    printf("past the end: %s\n",
           mirage_strerror(mirage_block_write(disk, n - 1, sector, 2 * disk->info.sector_size)));
    return bad;
}
