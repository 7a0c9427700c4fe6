/* kvbench_uk.c: kv_rw_disk set and get per second inside a unikernel, each set durable on return.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/block.h"
#include "mirage/kv.h"
#include "mirage/manifest.h"
#include "mirage/platform.h"

/*
 * bench/kvdisk.sh boots it on unix, spt and hvt with --block:storage=IMAGE
 * (a blank file: formatted here) and --n=N: it sets N values of 100 B and
 * N/10 of 64 KiB under new keys, then gets them back in another order, and
 * prints one table row per size.
 */

MIRAGE_MANIFEST(MIRAGE_BLOCK("storage"));

static uint64_t now(void)
{
    return mirage_clock_monotonic();
}

static int run(struct mirage_kv *kv, const char *target, size_t size, int n)
{
    uint8_t *v = malloc(size), *got;
    struct mirage_kv_error e;
    char key[32], msg[2300];
    size_t len;
    uint64_t t0, t1, t2;

    if (v == NULL)
        return 1;
    memset(v, 'u', size);
    t0 = now();
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "/s%zu/k%07d", size, i);
        memcpy(v, &i, sizeof i);
        if (mirage_kv_set(kv, key, v, size, &e)) {
            printf("kvbench: %s\n", mirage_kv_strerror(&e, msg, sizeof msg));
            return 1;
        }
    }
    t1 = now();
    for (int i = 0; i < n; i++) {
        int j = (int)(((uint64_t)i * 7919) % (uint64_t)n);
        snprintf(key, sizeof key, "/s%zu/k%07d", size, j);
        if (mirage_kv_get(kv, key, &got, &len, &e) || len != size || memcmp(got, &j, sizeof j)) {
            printf("kvbench: get %s failed\n", key);
            return 1;
        }
        free(got);
    }
    t2 = now();
    printf("| kv_rw_disk in a %s unikernel | %zu B | %d | %.0f | %.0f |\n", target, size, n,
           n * 1e9 / (double)(t1 - t0), n * 1e9 / (double)(t2 - t1));
    free(v);
    return 0;
}

int mirage_main(int argc, char **argv)
{
    struct mirage_block *b;
    struct mirage_kv *kv;
    char msg[320];
    const char *target = "?";
    int n = 500, r;

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--n=", 4) == 0)
            n = atoi(argv[i] + 4);
        else if (strncmp(argv[i], "--target=", 9) == 0)
            target = argv[i] + 9;
    }
    if ((r = mirage_block_connect("storage", &b)) != 0) {
        printf("kvbench: storage: %s\n", mirage_strerror(r));
        return 1;
    }
    if ((r = mirage_kv_disk_connect(b, 1, &kv, msg, sizeof msg)) != 0) {
        printf("kvbench: %s\n", msg);
        return 1;
    }
    r = run(kv, target, 100, n) || run(kv, target, 65536, n / 10);
    mirage_kv_disconnect(kv);
    mirage_block_disconnect(b);
    return r;
}
