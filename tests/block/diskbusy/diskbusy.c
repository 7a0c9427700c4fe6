/* diskbusy.c: long block requests while the stack answers the network (tests/e2e/storage.bats pings
 * it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/block.h"
#include "mirage/platform.h"
#include "mirage/stack.h"
#include "mirage/time.h"

/*
 * Prints "diskbusy: ready", gives the test a second to start pinging, then
 * makes rounds of one --mib MiB write request and a flush (its fdatasync on
 * the host), timing every request, until one took --enough-ms (or --rounds
 * rounds), and prints the longest:
 * while a request runs the stack's fibers either answer (the request
 * suspends only this fiber) or wait for it (the whole unikernel waits).
 */
int start(struct mirage_block *disk, struct mirage_stack *stack)
{
    size_t len = (size_t)key_mib.v.num << 20;
    uint64_t longest = 0, total;
    int64_t rounds = key_rounds.v.num;
    uint8_t *buf;

    (void)stack;
    len -= len % disk->info.sector_size;
    if (2 * len > mirage_block_bytes(disk) || !(buf = malloc(len))) {
        printf("diskbusy: the disk (%llu bytes) or the heap is too small for twice %zu bytes\n",
               (unsigned long long)mirage_block_bytes(disk), len);
        return 1;
    }
    /* Touched once now: the rounds below time requests, not the first touch of the heap. */
    memset(buf, 'a', len);
    printf("diskbusy: ready\n");
    mirage_sleep_ns(1000000000ULL);
    total = mirage_clock_monotonic();
    for (int64_t i = 0; i < key_rounds.v.num; i++) {
        uint64_t t0, t1, t2;
        int r;
        buf[0] = (uint8_t)i;
        t0 = mirage_clock_monotonic();
        /* The two halves of the disk in turn: each flush has a whole request's data to write. */
        r = mirage_block_write(disk, (uint64_t)(i % 2) * (len / disk->info.sector_size), buf, len);
        t1 = mirage_clock_monotonic();
        if (r == 0)
            r = mirage_block_flush(disk);
        t2 = mirage_clock_monotonic();
        if (r < 0) {
            printf("diskbusy: round %lld: %s\n", (long long)i, mirage_strerror(r));
            free(buf);
            return 1;
        }
        if (t1 - t0 > longest)
            longest = t1 - t0;
        if (t2 - t1 > longest)
            longest = t2 - t1;
        if (longest >= (uint64_t)key_enough_ms.v.num * 1000000) {
            rounds = i + 1;
            break;
        }
    }
    total = mirage_clock_monotonic() - total;
    printf("diskbusy: longest request %llu ms, %lld rounds in %llu ms\n",
           (unsigned long long)(longest / 1000000), (long long)rounds,
           (unsigned long long)(total / 1000000));
    mirage_sleep_ns(500000000ULL);
    free(buf);
    return 0;
}
