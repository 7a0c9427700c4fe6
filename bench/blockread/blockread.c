/* blockread.c: reads its disk sequentially in --chunk=BYTES requests and prints the throughput. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/manifest.h"
#include "mirage/platform.h"

MIRAGE_MANIFEST(MIRAGE_BLOCK("storage"));

static uint8_t buf[1 << 20];

int mirage_main(int argc, char **argv)
{
    struct mirage_platform_block_info info;
    mirage_handle_t h;
    size_t chunk = 65536;
    uint64_t t0, t1, sum = 0;
    int r;

    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--chunk=", 8) == 0)
            chunk = strtoul(argv[i] + 8, NULL, 10);
    if (chunk == 0 || chunk > sizeof(buf)) {
        printf("blockread: --chunk must be 1..%zu bytes\n", sizeof(buf));
        return 64;
    }
    r = mirage_platform_block_acquire("storage", &h, &info);
    if (r < 0) {
        printf("blockread: cannot acquire storage: %s\n", mirage_strerror(r));
        return 1;
    }
    chunk -= chunk % info.block_size;
    t0 = mirage_clock_monotonic();
    for (uint64_t off = 0; off < info.capacity; off += chunk) {
        size_t n = info.capacity - off < chunk ? (size_t)(info.capacity - off) : chunk;
        r = mirage_platform_block_read(h, off, buf, n);
        if (r < 0) {
            printf("blockread: read at %llu failed: %s\n", (unsigned long long)off,
                   mirage_strerror(r));
            return 1;
        }
        sum += buf[0];
    }
    t1 = mirage_clock_monotonic();
    printf("blockread: %llu bytes in %llu us: %llu MB/s (%llu)\n",
           (unsigned long long)info.capacity, (unsigned long long)((t1 - t0) / 1000),
           (unsigned long long)(info.capacity * 1000 / (t1 - t0 + 1)), (unsigned long long)sum);
    return 0;
}
