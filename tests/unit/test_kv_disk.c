/* test_kv_disk.c: kv_rw_disk's store: semantics, power cuts, torn writes, damage found and named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kv/cgkvd.h"
#include "../kv/memdev.h"
#include "fake_platform.h"
#include "kv_suite.h"

#define MiB (1024 * 1024)

static uint64_t clock_ns = 1700000000000000000ull;
static uint64_t tick(void *ctx)
{
    (void)ctx;
    return clock_ns += 1000;
}
static const struct kvd_opts opts = {tick, NULL, 0};

static struct kvd *mount_ok(struct memdev *d)
{
    struct mirage_block *dev = memdev_dev(d);
    struct kvd *s = NULL;
    char msg[320];
    int r = kvd_mount(dev, &opts, &s, msg, sizeof msg);
    if (r) {
        fprintf(stderr, "mount: %s (%s)\n", msg, mirage_strerror(r));
        CHECK_INT(r, 0);
    }
    return s;
}

static void format_ok(struct memdev *d, uint64_t size, uint32_t ss)
{
    char msg[320];
    memdev_init(d, size, ss);
    struct mirage_block *dev = memdev_dev(d);
    CHECK_INT(kvd_format(dev, 0x1234abcd, msg, sizeof msg), 0);
}

static int get_str(struct kvd *s, const char *key, char *out, size_t cap)
{
    uint8_t *v;
    size_t len;
    int r = kvd_get(s, key, &v, &len);
    if (r)
        return r;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, v, len);
    out[len] = '\0';
    free(v);
    return 0;
}

struct names {
    char buf[512];
};

static void add_name(void *ctx, const char *name, enum kvd_kind kind)
{
    struct names *n = ctx;
    size_t l = strlen(n->buf);
    snprintf(n->buf + l, sizeof n->buf - l, "%s%s%s", l ? " " : "", name,
             kind == KVD_DICT ? "/" : "");
}

static const char *list(struct kvd *s, const char *key)
{
    static struct names n;
    n.buf[0] = '\0';
    if (kvd_list(s, key, add_name, &n))
        return "(error)";
    return n.buf;
}

/* The MirageOS RW semantics, across a remount. */
static void test_semantics(void)
{
    struct memdev d;
    char b[4096];
    enum kvd_kind kind;
    uint64_t size, t1, t2;

    format_ok(&d, 8 * MiB, 512);
    struct kvd *s = mount_ok(&d);
    CHECK_INT(kvd_set(s, "/a/b/c", (const uint8_t *)"hello", 5), 0);
    CHECK_INT(kvd_exists(s, "/a", &kind), 0);
    CHECK_INT(kind, KVD_DICT);
    CHECK_INT(kvd_exists(s, "a/b/c", &kind), 0);
    CHECK_INT(kind, KVD_VALUE);
    CHECK_INT(kvd_exists(s, "/zz", &kind), 0);
    CHECK_INT(kind, KVD_NONE);
    CHECK_INT(get_str(s, "/a/b/c", b, sizeof b), 0);
    CHECK_STR(b, "hello");
    CHECK_INT(get_str(s, "/a/b", b, sizeof b), MIRAGE_EISDIR);
    CHECK_INT(get_str(s, "/a/x", b, sizeof b), MIRAGE_ENOENT);
    CHECK(strstr(kvd_message(s), "/a/x") != NULL);
    CHECK_INT(kvd_set(s, "/a/b/c/d", (const uint8_t *)"x", 1), MIRAGE_ENOTDIR);
    CHECK_INT(kvd_set(s, "/a/b", (const uint8_t *)"x", 1), MIRAGE_EISDIR);
    CHECK_INT(kvd_set(s, "/a//b", (const uint8_t *)"x", 1), MIRAGE_EINVAL);
    CHECK_INT(kvd_set(s, "/a/../b", (const uint8_t *)"x", 1), MIRAGE_EINVAL);
    CHECK_INT(kvd_set(s, "", (const uint8_t *)"x", 1), MIRAGE_EISDIR);

    /* set_partial: in place, past the end appends */
    CHECK_INT(kvd_set_partial(s, "/a/b/c", 1, (const uint8_t *)"EL", 2), 0);
    CHECK_INT(get_str(s, "/a/b/c", b, sizeof b), 0);
    CHECK_STR(b, "hELlo");
    CHECK_INT(kvd_set_partial(s, "/a/b/c", 100, (const uint8_t *)"!", 1), 0);
    CHECK_INT(get_str(s, "/a/b/c", b, sizeof b), 0);
    CHECK_STR(b, "hELlo!");

    /* allocate: zero-filled, refused over an existing key */
    CHECK_INT(kvd_allocate(s, "/big/zero", 3 * MiB / 2, 0), 0);
    CHECK_INT(kvd_allocate(s, "/big/zero", 10, 0), MIRAGE_EEXIST);
    CHECK_INT(kvd_size(s, "/big/zero", &size), 0);
    CHECK_INT(size, 3 * MiB / 2);
    uint8_t *v;
    size_t got;
    CHECK_INT(kvd_get_partial(s, "/big/zero", 70000, 100, &v, &got), 0);
    CHECK_INT(got, 100);
    CHECK_INT(v[0] | v[99], 0);
    free(v);
    CHECK_INT(kvd_set_partial(s, "/big/zero", 100000, (const uint8_t *)"mid", 3), 0);
    CHECK_INT(kvd_get_partial(s, "/big/zero", 99999, 5, &v, &got), 0);
    CHECK_INT(got, 5);
    CHECK(memcmp(v, "\0mid\0", 5) == 0);
    free(v);
    CHECK_INT(kvd_get_partial(s, "/big/zero", 3 * MiB / 2 - 2, 100, &v, &got), 0);
    CHECK_INT(got, 2);
    free(v);
    CHECK_INT(kvd_get_partial(s, "/big/zero", 5 * MiB, 100, &v, &got), 0);
    CHECK_INT(got, 0);
    free(v);

    /* rename: into a dictionary, over a value, never under itself */
    CHECK_INT(kvd_set(s, "/x/one", (const uint8_t *)"1", 1), 0);
    CHECK_INT(kvd_rename(s, "/a/b/c", "/x"), 0);
    CHECK_INT(get_str(s, "/x/c", b, sizeof b), 0);
    CHECK_STR(b, "hELlo!");
    CHECK_INT(kvd_rename(s, "/x/c", "/x/one"), 0);
    CHECK_INT(get_str(s, "/x/one", b, sizeof b), 0);
    CHECK_STR(b, "hELlo!");
    CHECK_INT(kvd_rename(s, "/x", "/x/y"), MIRAGE_EINVAL);
    CHECK(strstr(kvd_message(s), "prefix") != NULL);
    CHECK_INT(kvd_rename(s, "/nothing", "/y"), MIRAGE_ENOENT);
    CHECK_STR(list(s, "/"), "big/ x/"); /* /a/b emptied: it and /a went */
    CHECK_STR(list(s, "/x"), "one");
    CHECK_INT(kvd_rename(s, "/x", "/moved/x2"), 0);
    CHECK_STR(list(s, "/moved/x2"), "one");

    /* remove: a dictionary takes everything under it */
    CHECK_INT(kvd_set(s, "/t/1/a", (const uint8_t *)"a", 1), 0);
    CHECK_INT(kvd_set(s, "/t/2", (const uint8_t *)"b", 1), 0);
    CHECK_INT(kvd_remove(s, "/t"), 0);
    CHECK_INT(kvd_exists(s, "/t/1/a", &kind), 0);
    CHECK_INT(kind, KVD_NONE);
    CHECK_INT(kvd_remove(s, "/t"), 0); /* nothing to remove */
    CHECK_INT(kvd_remove(s, "/bat/2/x"), 0);

    /* last_modified moves with each change; a dictionary's is its newest entry's */
    CHECK_INT(kvd_last_modified(s, "/moved/x2/one", &t1), 0);
    CHECK_INT(kvd_set(s, "/moved/x2/two", (const uint8_t *)"2", 1), 0);
    CHECK_INT(kvd_last_modified(s, "/moved", &t2), 0);
    CHECK(t2 > t1);

    /* a batch lands whole or not at all */
    struct kvd_op ok[] = {{.type = KVD_SET, .key = "/bat/1", .data = (const uint8_t *)"1", .len = 1},
                          {.type = KVD_RENAME, .key = "/bat/1", .dest = "/bat/2"},
                          {.type = KVD_REMOVE, .key = "/moved/x2/two"}};
    CHECK_INT(kvd_batch(s, ok, 3), 0);
    CHECK_STR(list(s, "/bat"), "2");
    struct kvd_op bad[] = {{.type = KVD_SET, .key = "/bat/3", .data = (const uint8_t *)"3", .len = 1},
                           {.type = KVD_REMOVE, .key = "/bat/2"},
                           {.type = KVD_SET, .key = "/bat/3/x", .data = (const uint8_t *)"x", .len = 1}};
    CHECK_INT(kvd_batch(s, bad, 3), MIRAGE_ENOTDIR);
    CHECK_STR(kvd_error_key(s), "/bat/3");
    CHECK_INT(kvd_error_index(s), 2);
    CHECK_STR(list(s, "/bat"), "2");

    /* large values: many extents, digest */
    uint8_t *big = malloc(300000);
    cg_data(7, 300000, big);
    CHECK_INT(kvd_set(s, "/big/v", big, 300000), 0);
    CHECK_INT(kvd_set_partial(s, "/big/v", 299990, big, 20000), 0);
    memcpy(big + 299990, big, 10); /* what the model says: overlap from the start */
    uint8_t dg[32];
    CHECK_INT(kvd_digest(s, "/big/v", dg), 0);
    CHECK_INT(kvd_digest(s, "/big", dg), MIRAGE_EISDIR);

    /* all of it is there after a remount */
    kvd_unmount(s);
    s = mount_ok(&d);
    CHECK_INT(get_str(s, "/moved/x2/one", b, sizeof b), 0);
    CHECK_STR(b, "hELlo!");
    CHECK_STR(list(s, "/"), "bat/ big/ moved/");
    CHECK_INT(kvd_size(s, "/big/v", &size), 0);
    CHECK_INT(size, 319990);
    CHECK_INT(kvd_get_partial(s, "/big/v", 0, 10, &v, &got), 0);
    CHECK(memcmp(v, big, 10) == 0);
    free(v);
    CHECK_INT(kvd_get_partial(s, "/big/zero", 100000, 3, &v, &got), 0);
    CHECK(memcmp(v, "mid", 3) == 0);
    free(v);
    free(big);
    kvd_unmount(s);
    memdev_free(&d);
}

/* Overwrites and removals give their space back: a small device takes 20x its size. */
static void test_space(void)
{
    struct memdev d;
    uint8_t *buf = malloc(200000);
    struct kvd_stats st, st0;
    int r = 0;

    format_ok(&d, 2 * MiB, 4096);
    struct kvd *s = mount_ok(&d);
    kvd_stats(s, &st0);
    for (int i = 0; i < 200 && r == 0; i++) {
        char key[32];
        snprintf(key, sizeof key, "/k%d", i % 3);
        cg_data((uint64_t)i, 200000, buf);
        r = kvd_set(s, key, buf, 200000);
        if (i % 7 == 0 && r == 0)
            r = kvd_remove(s, key);
    }
    CHECK_INT(r, 0);
    /* filled up: a clear "no space", and the store still works */
    for (int i = 0; i < 100 && r == 0; i++) {
        char key[32];
        snprintf(key, sizeof key, "/fill%d", i);
        r = kvd_set(s, key, buf, 200000);
    }
    CHECK_INT(r, MIRAGE_ENOSPC);
    CHECK(strstr(kvd_message(s), "no space") != NULL);
    for (int i = 0; i < 100; i++) {
        char key[32];
        snprintf(key, sizeof key, "/fill%d", i);
        kvd_remove(s, key);
    }
    kvd_remove(s, "/k0");
    kvd_remove(s, "/k1");
    kvd_remove(s, "/k2");
    kvd_stats(s, &st);
    CHECK_INT(st.values, 0);
    CHECK_INT(st.free_units, st0.free_units);
    kvd_unmount(s);
    s = mount_ok(&d);
    kvd_stats(s, &st);
    CHECK_INT(st.free_units, st0.free_units);
    kvd_unmount(s);
    memdev_free(&d);
    free(buf);
}

/*
 * The power is cut during a seeded stream of changes (the device dies inside
 * a random write, which lands torn; every write since the last flush lands
 * whole, torn or not at all). After each cut the store mounts, holds every
 * acknowledged change and the interrupted one whole or not at all, and goes on.
 */
static long cuts, cut_reads;
static void test_power_cuts(uint32_t ss, int rounds)
{
    for (int seed = 1; seed <= rounds; seed++) {
        struct memdev d;
        struct cg_model m = {0}, next = {0};
        uint64_t rng = cg_mix((uint64_t)seed * 977 + ss), index = 0;
        char why[200];

        format_ok(&d, 4 * MiB, ss);
        for (int cut = 0; cut < 4; cut++) {
            struct kvd *s = mount_ok(&d);
            if (s == NULL)
                break;
            d.dies_in = (long)((rng = cg_mix(rng)) % 120);
            d.die_bytes = (uint32_t)((rng = cg_mix(rng)) % 70000);
            int in_flight = 0;
            for (int i = 0; i < 400; i++, index++) {
                struct cg_op op;
                cg_gen((uint64_t)seed, index, &m, &op);
                int r = cg_kvd_run(s, &op);
                if (r == MIRAGE_EIO) {
                    /* the change in flight: next is the model if it landed */
                    cg_model_copy(&next, &m);
                    cg_apply(&next, &op);
                    in_flight = 1;
                    cg_op_free(&op);
                    index++;
                    break;
                }
                int want = cg_apply(&m, &op);
                if (r != want) {
                    fprintf(stderr, "seed %d change %llu type %d: store %s (%s), model %s\n",
                            seed, (unsigned long long)index, op.type, mirage_strerror(r),
                            kvd_message(s), mirage_strerror(want));
                    CHECK_INT(r, want);
                }
                cg_op_free(&op);
            }
            kvd_unmount(s);
            memdev_cut(&d, &rng);
            cuts++;
            s = mount_ok(&d);
            if (s == NULL) {
                fprintf(stderr, "seed %d cut %d: the store does not mount\n", seed, cut);
                cg_model_free(&next);
                break;
            }
            cut_reads++;
            if (cg_kvd_matches(s, &m, why, sizeof why)) {
                /* the interrupted change did not land */
            } else if (in_flight && cg_kvd_matches(s, &next, why, sizeof why)) {
                cg_model_free(&m);
                m = next;
                memset(&next, 0, sizeof next);
            } else {
                fprintf(stderr, "seed %d cut %d (ss %u): store differs: %s\n", seed, cut, ss, why);
                CHECK(0);
            }
            cg_model_free(&next);
            CHECK_INT(kvd_verify(s, NULL, NULL), 0);
            kvd_unmount(s);
            if (!in_flight)
                index = index; /* the stream goes on from the next change */
        }
        cg_model_free(&m);
        memdev_free(&d);
    }
}

/* A journal write that stops inside its second sector leaves the batch out, whole. */
static void test_torn_record(void)
{
    struct memdev d;
    char key[40], b[64];
    enum kvd_kind kind;
    struct kvd_op ops[16];
    uint8_t val[300];

    format_ok(&d, 4 * MiB, 512);
    struct kvd *s = mount_ok(&d);
    CHECK_INT(kvd_set(s, "/before", (const uint8_t *)"kept", 4), 0);
    memset(val, 'v', sizeof val);
    for (int i = 0; i < 16; i++) {
        char *k = malloc(40);
        snprintf(k, 40, "/batch/%02d", i);
        ops[i] = (struct kvd_op){.type = KVD_SET, .key = k, .data = val, .len = sizeof val};
    }
    /* all inline: the record is the only write; it dies 700 bytes in (sector 2 of 10) */
    d.dies_in = 0;
    d.die_bytes = 700;
    CHECK_INT(kvd_batch(s, ops, 16), MIRAGE_EIO);
    CHECK_INT(kvd_set(s, "/after", (const uint8_t *)"x", 1), MIRAGE_EIO); /* stays stopped */
    kvd_unmount(s);
    uint64_t r = 1;
    /* the torn prefix lands as it was written */
    d.dies_in = -1;
    d.dead = 0;
    memcpy(d.dur, d.cur, d.size);
    memdev_drop_pending(&d);
    (void)r;
    s = mount_ok(&d);
    CHECK_INT(get_str(s, "/before", b, sizeof b), 0);
    CHECK_STR(b, "kept");
    CHECK_INT(kvd_exists(s, "/batch", &kind), 0);
    CHECK_INT(kind, KVD_NONE);
    /* and the store writes over the torn record */
    CHECK_INT(kvd_batch(s, ops, 16), 0);
    kvd_unmount(s);
    s = mount_ok(&d);
    snprintf(key, sizeof key, "/batch/%02d", 15);
    CHECK_INT(kvd_exists(s, key, &kind), 0);
    CHECK_INT(kind, KVD_VALUE);
    kvd_unmount(s);
    for (int i = 0; i < 16; i++)
        free((char *)ops[i].key);
    memdev_free(&d);
}

/* ---- damage ------------------------------------------------------------------ */

struct lines {
    char text[2048];
    int n;
};

static void add_line(void *ctx, const char *line)
{
    struct lines *l = ctx;
    size_t len = strlen(l->text);
    snprintf(l->text + len, sizeof l->text - len, "%s\n", line);
    l->n++;
}

static int mount_err(struct memdev *d, char *msg, size_t len)
{
    struct mirage_block *dev = memdev_dev(d);
    struct kvd *s = NULL;
    int r = kvd_mount(dev, &opts, &s, msg, len);
    kvd_unmount(s);
    return r;
}

/* Finds the first unit of the data area holding (needle). */
static uint64_t find_unit(struct memdev *d, const uint8_t *needle, size_t n)
{
    for (uint64_t off = 0; off + n <= d->size; off += 4096)
        if (memcmp(d->dur + off, needle, n) == 0)
            return off / 4096;
    return 0;
}

static void test_damage(void)
{
    struct memdev d;
    char msg[320];
    uint8_t *big = malloc(100000), *v;
    size_t len;
    struct lines l = {0};

    format_ok(&d, 4 * MiB, 512);
    struct kvd *s = mount_ok(&d);
    cg_data(3, 100000, big);
    CHECK_INT(kvd_set(s, "/docs/big", big, 100000), 0);
    CHECK_INT(kvd_set(s, "/docs/small", (const uint8_t *)"small", 5), 0);
    kvd_unmount(s);

    /* a flipped bit in a value: that key's read names it, the others still read */
    uint64_t u = find_unit(&d, big + 65536, 16);
    CHECK(u > 0);
    d.dur[u * 4096 + 100] ^= 0x10;
    memcpy(d.cur, d.dur, d.size);
    s = mount_ok(&d);
    CHECK_INT(kvd_get(s, "/docs/big", &v, &len), MIRAGE_EBADMSG);
    CHECK(strstr(kvd_message(s), "/docs/big") != NULL);
    /* the extent holding byte 65536 (extents follow the allocator's runs) */
    CHECK(strstr(kvd_message(s), "key /docs/big: bytes ") != NULL);
    CHECK(strstr(kvd_message(s), "fail their checksum") != NULL);
    CHECK_INT(kvd_get_partial(s, "/docs/big", 0, 1000, &v, &len), 0); /* the first extent is fine */
    free(v);
    CHECK_INT(kvd_get(s, "/docs/small", &v, &len), 0);
    free(v);
    CHECK_INT(kvd_verify(s, add_line, &l), 1);
    CHECK(strstr(l.text, "key /docs/big: bytes ") != NULL);
    /* it refuses to write over what it cannot read */
    CHECK_INT(kvd_set_partial(s, "/docs/big", 65600, (const uint8_t *)"x", 1), MIRAGE_EBADMSG);
    CHECK_INT(kvd_set_partial(s, "/docs/big", 99990, (const uint8_t *)"x", 1), 0);
    /* replacing the value whole is a fresh start */
    CHECK_INT(kvd_set(s, "/docs/big", big, 100000), 0);
    CHECK_INT(kvd_verify(s, NULL, NULL), 0);
    kvd_unmount(s);

    /* a flipped bit in the checkpoint (the index): mount names the chunk */
    s = mount_ok(&d);
    CHECK_INT(kvd_checkpoint(s), 0);
    kvd_unmount(s);
    u = find_unit(&d, (const uint8_t *)"KVCK", 4);
    while (u && d.dur[u * 4096 + 8] != 0xcd) /* our uuid's low byte */
        u = 0;
    CHECK(u > 0);
    uint8_t saved[4096];
    memcpy(saved, d.dur + u * 4096, 4096);
    d.dur[u * 4096 + 60] ^= 1;
    memcpy(d.cur, d.dur, d.size);
    CHECK_INT(mount_err(&d, msg, sizeof msg), MIRAGE_EBADMSG);
    CHECK(strstr(msg, "checkpoint chunk 0") != NULL);
    memcpy(d.dur + u * 4096, saved, 4096);
    memcpy(d.cur, d.dur, d.size);

    /* zeroed superblock 0: the other one serves */
    s = mount_ok(&d);
    CHECK_INT(kvd_set(s, "/after", (const uint8_t *)"a", 1), 0);
    kvd_unmount(s);
    memset(d.dur, 0, 512);
    memcpy(d.cur, d.dur, d.size);
    s = mount_ok(&d);
    if (s) {
        struct kvd_stats st;
        kvd_stats(s, &st);
        CHECK_INT(st.superblock_bad, 1);
        CHECK_INT(get_str(s, "/after", msg, sizeof msg), 0);
        kvd_unmount(s);
    }
    memset(l.text, 0, sizeof l.text);
    struct mirage_block *dev = memdev_dev(&d);
    kvd_describe_superblocks(dev, add_line, &l);
    CHECK(strstr(l.text, "superblock 0 (unit 0): no superblock magic") != NULL);

    /* both superblocks gone */
    memset(d.dur + 4096, 0x5a, 512);
    memcpy(d.cur, d.dur, d.size);
    CHECK_INT(mount_err(&d, msg, sizeof msg), MIRAGE_EINVAL);
    CHECK(strstr(msg, "not a kv_rw_disk store") != NULL);
    memdev_free(&d);

    /* zeroed sectors in the middle of the journal: acknowledged records after them */
    format_ok(&d, 4 * MiB, 512);
    s = mount_ok(&d);
    for (int i = 0; i < 10; i++)
        CHECK_INT(kvd_set(s, "/j", (const uint8_t *)"0123456789", 10), 0);
    kvd_unmount(s);
    memset(d.dur + 2 * 4096 + 3 * 512, 0, 512);
    memcpy(d.cur, d.dur, d.size);
    CHECK_INT(mount_err(&d, msg, sizeof msg), MIRAGE_EBADMSG);
    CHECK(strstr(msg, "journal damaged at sector 19") != NULL);

    /* a truncated image */
    d.size = 2 * MiB;
    CHECK_INT(mount_err(&d, msg, sizeof msg), MIRAGE_EBADMSG);
    CHECK(strstr(msg, "truncated") != NULL);
    memdev_free(&d);

    /* other formats: zeros, a tar archive */
    memdev_init(&d, 1 * MiB, 512);
    CHECK_INT(mount_err(&d, msg, sizeof msg), MIRAGE_EINVAL);
    CHECK(strstr(msg, "blank device") != NULL);
    memcpy(d.cur, "hello.txt", 9);
    memcpy(d.cur + 257, "ustar", 5);
    CHECK_INT(mount_err(&d, msg, sizeof msg), MIRAGE_EINVAL);
    CHECK(strstr(msg, "tar archive") != NULL);
    memdev_free(&d);
    free(big);
}

/* A store made on 4096-byte sectors works on 512-byte ones (records stay
 * 4096-aligned); one made on 512-byte sectors is refused on 4096-byte ones. */
static void test_sector_sizes(void)
{
    struct memdev d;
    char msg[320], b[16];

    format_ok(&d, 1 * MiB, 4096);
    struct kvd *s = mount_ok(&d);
    CHECK_INT(kvd_set(s, "/a", (const uint8_t *)"four", 4), 0);
    kvd_unmount(s);
    d.ss = 512;
    s = mount_ok(&d);
    CHECK_INT(kvd_set(s, "/b", (const uint8_t *)"five", 4), 0);
    kvd_unmount(s);
    d.ss = 4096;
    s = mount_ok(&d);
    CHECK_INT(get_str(s, "/b", b, sizeof b), 0);
    CHECK_STR(b, "five");
    kvd_unmount(s);
    memdev_free(&d);
    format_ok(&d, 1 * MiB, 512);
    d.ss = 4096;
    CHECK_INT(mount_err(&d, msg, sizeof msg), MIRAGE_EINVAL);
    CHECK(strstr(msg, "made for 512-byte sectors") != NULL);
    memdev_free(&d);
}

static void test_read_only(void)
{
    struct memdev d;
    format_ok(&d, 1 * MiB, 512);
    d.read_only = 1;
    struct kvd *s = mount_ok(&d);
    CHECK_INT(kvd_set(s, "/a", (const uint8_t *)"a", 1), MIRAGE_EROFS);
    kvd_unmount(s);
    memdev_free(&d);
}

/* kv_rw_disk through kv.h passes the conformance suite; "reopen" unmounts and
 * mounts the device again, so everything is read back from the disk. */
static struct mirage_kv *suite_reopen(void *ctx, struct mirage_kv *kv)
{
    struct memdev *d = ctx;
    struct mirage_kv *fresh = NULL;
    char msg[320];

    mirage_kv_disconnect(kv);
    if (mirage_kv_disk_connect(memdev_dev(d), 0, &fresh, msg, sizeof msg) != 0) {
        fprintf(stderr, "reopen: %s\n", msg);
        abort();
    }
    return fresh;
}

static void test_suite(uint32_t ss)
{
    struct memdev d;
    struct mirage_kv *kv;
    char msg[320];

    memdev_init(&d, 16 * MiB, ss);
    CHECK_INT(mirage_kv_disk_connect(memdev_dev(&d), 1, &kv, msg, sizeof msg), 0);
    struct kvd_stats st;
    kvd_stats(((struct { struct mirage_kv kv; struct kvd *s; } *)kv)->s, &st);
    struct kv_suite_opts o = {suite_reopen, &d, st.free_units * 4096};
    kv_suite_rw(&kv, &o);
    mirage_kv_disconnect(kv);
    /* a device holding something else is not formatted over */
    memdev_free(&d);
    memdev_init(&d, 1 * MiB, ss);
    memcpy(d.cur + 257, "ustar", 5);
    CHECK_INT(mirage_kv_disk_connect(memdev_dev(&d), 1, &kv, msg, sizeof msg), MIRAGE_EINVAL);
    CHECK(strstr(msg, "tar archive") != NULL);
    memdev_free(&d);
}

int main(void)
{
    test_suite(512);
    test_suite(4096);
    test_semantics();
    test_space();
    test_torn_record();
    test_damage();
    test_read_only();
    test_sector_sizes();
    test_power_cuts(512, 60);
    test_power_cuts(4096, 30);
    printf("power cuts: %ld, each remounted and compared\n", cuts);
    return CHECK_DONE();
}
