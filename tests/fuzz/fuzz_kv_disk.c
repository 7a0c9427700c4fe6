/* fuzz_kv_disk.c: kv_rw_disk mount and recovery of a store image patched with arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../kv/memdev.h"

/*
 * The image is a real store (1 MiB, a checkpoint and a journal of records of
 * every kind); the input is a flags byte and patches: [region][offset u16]
 * [length][bytes], region 0/1 the superblocks, 2 the journal, 3 the data area.
 * With flag 1 the store ignores checksums, so the parsers behind them are
 * reached. Mount must succeed or fail with a message; a mounted store is read
 * whole, written and mounted again.
 */

#define SIZE (1024 * 1024)

static uint8_t base[SIZE];

static void check(int cond)
{
    if (!cond)
        abort();
}

static void build_base(void)
{
    struct memdev d;
    struct kvd *s;
    char msg[320];
    uint8_t big[20000];

    memdev_init(&d, SIZE, 512);
    struct mirage_block *dev = memdev_dev(&d);
    check(kvd_format(dev, 42, msg, sizeof msg) == 0);
    check(kvd_mount(dev, NULL, &s, msg, sizeof msg) == 0);
    cg_data(1, sizeof big, big);
    check(kvd_set(s, "/a/b", (const uint8_t *)"inline", 6) == 0);
    check(kvd_set(s, "/a/big", big, sizeof big) == 0);
    check(kvd_set(s, "/c", big, 2000) == 0);
    check(kvd_allocate(s, "/z/zero", 70000, 0) == 0);
    check(kvd_checkpoint(s) == 0);
    check(kvd_set(s, "/d/e/f", big, 700) == 0);
    check(kvd_rename(s, "/c", "/a") == 0);
    check(kvd_remove(s, "/a/b") == 0);
    check(kvd_set_partial(s, "/a/big", 19000, big, 3000) == 0);
    struct kvd_op ops[] = {{.type = KVD_SET, .key = "/b/1", .data = big, .len = 10},
                           {.type = KVD_RENAME, .key = "/b/1", .dest = "/b/2"},
                           {.type = KVD_REMOVE, .key = "/z"}};
    check(kvd_batch(s, ops, 3) == 0);
    kvd_unmount(s);
    memcpy(base, d.dur, SIZE);
    memdev_free(&d);
}

static void read_all(struct kvd *s, const char *dir, int depth);

struct walk {
    struct kvd *s;
    const char *dir;
    int depth;
};

static void visit(void *ctx, const char *name, enum kvd_kind kind)
{
    struct walk *w = ctx;
    char key[KVD_KEY_MAX + 2];
    uint8_t *v, dg[32];
    size_t len;
    uint64_t size;

    if ((size_t)snprintf(key, sizeof key, "%s/%s", w->dir, name) >= sizeof key)
        return;
    if (kind == KVD_DICT) {
        read_all(w->s, key, w->depth + 1);
        return;
    }
    check(kvd_size(w->s, key, &size) == 0);
    if (size < 4 * 1024 * 1024 && kvd_get(w->s, key, &v, &len) == 0) {
        check(len == size);
        free(v);
    }
    if (kvd_get_partial(w->s, key, size / 2, 100, &v, &len) == 0)
        free(v);
    (void)kvd_digest(w->s, key, dg);
}

static void read_all(struct kvd *s, const char *dir, int depth)
{
    struct walk w = {s, dir, depth};
    check(depth <= KVD_DEPTH_MAX + 1);
    check(kvd_list(s, dir[0] ? dir : "/", visit, &w) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct memdev d;
    struct kvd *s = NULL;
    char msg[320];
    struct kvd_opts opts = {NULL, NULL, 0};

    if (!ready) {
        build_base();
        ready = 1;
    }
    if (size < 1)
        return 0;
    opts.ignore_checksums = data[0] & 1;
    memdev_init(&d, SIZE, data[0] & 2 ? 4096 : 512);
    memcpy(d.cur, base, SIZE);
    for (size_t i = 1; i + 4 <= size;) {
        static const uint64_t start[4] = {0, 4096, 8192, 18 * 4096};
        static const uint64_t span[4] = {512, 512, 16 * 4096, SIZE - 18 * 4096};
        int region = data[i] & 3;
        uint64_t off = start[region] + ((uint64_t)data[i + 1] | (uint64_t)data[i + 2] << 8) * 4 %
                                           span[region];
        size_t len = data[i + 3];
        i += 4;
        if (len > size - i)
            len = size - i;
        if (off + len > SIZE)
            len = SIZE - off;
        memcpy(d.cur + off, data + i, len);
        i += len;
    }
    memcpy(d.dur, d.cur, SIZE);
    struct mirage_block *dev = memdev_dev(&d);
    int r = kvd_mount(dev, &opts, &s, msg, sizeof msg);
    if (r) {
        check(msg[0] != '\0' && s == NULL);
        memdev_free(&d);
        return 0;
    }
    read_all(s, "", 0);
    (void)kvd_verify(s, NULL, NULL);
    (void)kvd_set(s, "/new/key", (const uint8_t *)"value", 5);
    (void)kvd_set_partial(s, "/a/big", 50, (const uint8_t *)"patch", 5);
    (void)kvd_remove(s, "/d");
    (void)kvd_rename(s, "/a", "/moved");
    kvd_unmount(s);
    s = NULL;
    if (kvd_mount(dev, &opts, &s, msg, sizeof msg) == 0) {
        read_all(s, "", 0);
        kvd_unmount(s);
    }
    memdev_free(&d);
    return 0;
}
