/* kv_suite.h: kv.h's semantics as a conformance suite any store runs: kv_suite_rw, kv_suite_ro. */
#ifndef KV_SUITE_H
#define KV_SUITE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "check.h"
#include "mirage/kv.h"

/*
 * A test of a store includes this after check.h and calls
 *   kv_suite_rw(&kv, &opts)   on an empty read-write store, or
 *   kv_suite_ro(kv)           on a read-only store holding the fixture below.
 * opts.reopen, when set, is called at points where everything written so far
 * must have survived (a store on a device unmounts and mounts again there);
 * it returns the store to go on with. opts.capacity, when set, is the bytes of
 * values the store holds at most, for the no-space cases.
 */
struct kv_suite_opts {
    struct mirage_kv *(*reopen)(void *ctx, struct mirage_kv *kv);
    void *ctx;
    uint64_t capacity;
};

/* ---- the read-only fixture ------------------------------------------------ */

/* Byte i of a fixture value: a pattern with no period of 512 or 4096. */
static inline uint8_t kv_fixture_byte(uint64_t i, unsigned seed)
{
    return (uint8_t)((i * 131 + (i >> 9) * 7 + (i >> 12) * 3 + seed) ^ (i >> 8));
}

struct kv_fixture_file {
    const char *key;
    uint64_t size; /* bytes of kv_fixture_byte(i, seed) */
    unsigned seed;
    const char *text; /* or this text, when not NULL */
};

/* What a read-only store under test holds (crunch and tar tests make a host
 * directory of it with kv_fixture_write_dir), and nothing else. */
static const struct kv_fixture_file kv_fixture[] = {
    {"/hello.txt", 0, 0, "Hello, world!\n"},
    {"/empty", 0, 0, ""},
    {"/dir/a.bin", 3000, 1, NULL},
    {"/dir/sub/deep.txt", 0, 0, "deep\n"},
    {"/dir/z", 512, 2, NULL},
    {"/big.bin", 1048576 + 17, 3, NULL},
};
#define KV_FIXTURE_N (sizeof(kv_fixture) / sizeof(kv_fixture[0]))

static inline uint64_t kv_fixture_size(const struct kv_fixture_file *f)
{
    return f->text ? strlen(f->text) : f->size;
}

/* The fixture file's bytes in a new buffer. */
static inline uint8_t *kv_fixture_bytes(const struct kv_fixture_file *f)
{
    uint64_t n = kv_fixture_size(f);
    uint8_t *b = malloc(n ? n : 1);

    if (!b)
        abort();
    for (uint64_t i = 0; i < n; i++)
        b[i] = f->text ? (uint8_t)f->text[i] : kv_fixture_byte(i, f->seed);
    return b;
}

/* Writes every fixture file under the host directory (dir), making its
 * directories; returns 0 or -1. For stores made from a directory (tar). */
static inline int kv_fixture_write_dir(const char *dir)
{
    char path[4096], cmd[4200];

    for (size_t i = 0; i < KV_FIXTURE_N; i++) {
        const struct kv_fixture_file *f = &kv_fixture[i];
        uint64_t n = kv_fixture_size(f);
        uint8_t *b = kv_fixture_bytes(f);
        FILE *out;
        char *slash;
        snprintf(path, sizeof(path), "%s%s", dir, f->key);
        slash = strrchr(path, '/');
        *slash = '\0';
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
        *slash = '/';
        if (system(cmd) != 0 || !(out = fopen(path, "wb")) || fwrite(b, 1, (size_t)n, out) != n ||
            fclose(out) != 0) {
            free(b);
            return -1;
        }
        free(b);
    }
    return 0;
}

static inline void kv_sha256(const void *data, size_t len, uint8_t out[32])
{
    br_sha256_context c;

    br_sha256_init(&c);
    br_sha256_update(&c, data, len);
    br_sha256_out(&c, out);
}

/* Sets every fixture file in a read-write store. */
static inline void kv_fixture_fill(struct mirage_kv *kv)
{
    for (size_t i = 0; i < KV_FIXTURE_N; i++) {
        uint8_t *b = kv_fixture_bytes(&kv_fixture[i]);
        CHECK_INT(mirage_kv_set(kv, kv_fixture[i].key, b, kv_fixture_size(&kv_fixture[i]), NULL),
                  0);
        free(b);
    }
}

/* ---- helpers --------------------------------------------------------------- */

/* The value of (key) equals (data, len). */
static inline int kv_is(struct mirage_kv *kv, const char *key, const void *data, size_t len)
{
    uint8_t *v;
    size_t n;
    int ok;

    if (mirage_kv_get(kv, key, &v, &n, NULL) != 0)
        return 0;
    ok = n == len && (len == 0 || memcmp(v, data, len) == 0);
    free(v);
    return ok;
}

static inline int kv_is_str(struct mirage_kv *kv, const char *key, const char *s)
{
    return kv_is(kv, key, s, strlen(s));
}

static inline enum mirage_kv_kind kv_kind(struct mirage_kv *kv, const char *key)
{
    enum mirage_kv_kind k;

    if (mirage_kv_exists(kv, key, &k, NULL) != 0)
        return (enum mirage_kv_kind) - 1;
    return k;
}

/* The listing of (key) as "name:v name:d ..." (names without the dictionary). */
static inline const char *kv_listing(struct mirage_kv *kv, const char *key, char *buf, size_t cap)
{
    struct mirage_kv_entry *e;
    size_t n, o = 0;
    int r = mirage_kv_list(kv, key, &e, &n, NULL);

    buf[0] = '\0';
    if (r != 0) {
        snprintf(buf, cap, "error %d", r);
        return buf;
    }
    for (size_t i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s:%c", i ? " " : "",
                              mirage_kv_key_basename(e[i].key),
                              e[i].kind == MIRAGE_KV_VALUE ? 'v' : 'd');
    free(e);
    return buf;
}

#define KV_LIST(kv, key, want)                                                                     \
    do {                                                                                           \
        char lbuf_[4096];                                                                          \
        CHECK_STR(kv_listing(kv, key, lbuf_, sizeof(lbuf_)), want);                                \
    } while (0)

/* The call (expr) fails with (code) and err.key (key); err must be in scope. */
#define KV_FAILS(expr, want_code, want_key)                                                        \
    do {                                                                                           \
        CHECK_INT((expr), want_code);                                                              \
        CHECK_INT(err.code, want_code);                                                            \
        CHECK_STR(err.key, want_key);                                                              \
    } while (0)

static inline struct mirage_kv *kv_suite_reopen(struct mirage_kv *kv, const struct kv_suite_opts *o)
{
    return o && o->reopen ? o->reopen(o->ctx, kv) : kv;
}

/* ---- the read-only suite --------------------------------------------------- */

/* Checks every read operation on a store holding exactly kv_fixture. */
static inline void kv_suite_ro(struct mirage_kv *kv)
{
    struct mirage_kv_error err;
    uint8_t *v, d[32], want[32];
    uint64_t sz, ns;
    size_t n, got;
    char msg[2200];

    CHECK_INT(kv_kind(kv, "/"), MIRAGE_KV_DICTIONARY);
    CHECK_INT(kv_kind(kv, ""), MIRAGE_KV_DICTIONARY);
    CHECK_INT(kv_kind(kv, "dir"), MIRAGE_KV_DICTIONARY);
    CHECK_INT(kv_kind(kv, "/dir/sub/"), MIRAGE_KV_DICTIONARY);
    CHECK_INT(kv_kind(kv, "/hello.txt"), MIRAGE_KV_VALUE);
    CHECK_INT(kv_kind(kv, "/nope"), MIRAGE_KV_NONE);
    CHECK_INT(kv_kind(kv, "/dir/nope/deeper"), MIRAGE_KV_NONE);
    KV_FAILS(mirage_kv_exists(kv, "/hello.txt/x", &(enum mirage_kv_kind){0}, &err), MIRAGE_ENOTDIR,
             "/hello.txt");
    KV_LIST(kv, "/", "big.bin:v dir:d empty:v hello.txt:v");
    KV_LIST(kv, "/dir", "a.bin:v sub:d z:v");
    KV_LIST(kv, "dir/sub/", "deep.txt:v");
    {
        struct mirage_kv_entry *e;
        CHECK_INT(mirage_kv_list(kv, "/dir", &e, &n, NULL), 0);
        CHECK_INT(n, 3);
        if (n == 3) {
            CHECK_STR(e[0].key, "/dir/a.bin");
            CHECK_STR(e[1].key, "/dir/sub");
            CHECK_INT(e[1].kind, MIRAGE_KV_DICTIONARY);
        }
        free(e);
    }
    KV_FAILS(mirage_kv_list(kv, "/hello.txt", &(struct mirage_kv_entry *){0}, &n, &err),
             MIRAGE_ENOTDIR, "/hello.txt");
    KV_FAILS(mirage_kv_list(kv, "/nope", &(struct mirage_kv_entry *){0}, &n, &err), MIRAGE_ENOENT,
             "/nope");

    for (size_t i = 0; i < KV_FIXTURE_N; i++) {
        const struct kv_fixture_file *f = &kv_fixture[i];
        uint64_t size = kv_fixture_size(f);
        uint8_t *b = kv_fixture_bytes(f);
        CHECK(kv_is(kv, f->key, b, (size_t)size));
        CHECK_INT(mirage_kv_size(kv, f->key, &sz, NULL), 0);
        CHECK_INT(sz, size);
        kv_sha256(b, (size_t)size, want);
        CHECK_INT(mirage_kv_digest(kv, f->key, d, NULL), 0);
        CHECK(memcmp(d, want, 32) == 0);
        CHECK_INT(mirage_kv_last_modified(kv, f->key, &ns, NULL), 0);
        free(b);
    }
    CHECK_INT(mirage_kv_last_modified(kv, "/dir", &ns, NULL), 0);

    /* get_partial across sector boundaries, at the end and past it. */
    {
        const struct kv_fixture_file *big = &kv_fixture[KV_FIXTURE_N - 1];
        uint8_t *b = kv_fixture_bytes(big), buf[9000];
        uint64_t size = kv_fixture_size(big);
        static const uint64_t offs[] = {0, 1, 511, 512, 4095, 4097, 65536 + 3, 1048576 - 100};
        for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
            CHECK_INT(mirage_kv_get_partial(kv, "/big.bin", offs[i], buf, sizeof(buf), &got, NULL),
                      0);
            CHECK_INT(got, size - offs[i] < sizeof(buf) ? size - offs[i] : sizeof(buf));
            CHECK(memcmp(buf, b + offs[i], got) == 0);
        }
        CHECK_INT(mirage_kv_get_partial(kv, "/big.bin", size, buf, 10, &got, NULL), 0);
        CHECK_INT(got, 0);
        CHECK_INT(mirage_kv_get_partial(kv, "/big.bin", UINT64_MAX, buf, 10, &got, NULL), 0);
        CHECK_INT(got, 0);
        CHECK_INT(mirage_kv_get_partial(kv, "/big.bin", 1ULL << 40, buf, 10, &got, NULL), 0);
        CHECK_INT(got, 0);
        CHECK_INT(mirage_kv_get_partial(kv, "/big.bin", 5, buf, 0, &got, NULL), 0);
        CHECK_INT(got, 0);
        free(b);
    }
    CHECK_INT(mirage_kv_get_partial(kv, "/empty", 0, msg, 10, &got, NULL), 0);
    CHECK_INT(got, 0);

    KV_FAILS(mirage_kv_get(kv, "/nope", &v, &n, &err), MIRAGE_ENOENT, "/nope");
    CHECK_STR(mirage_kv_strerror(&err, msg, sizeof(msg)), "not found: /nope");
    KV_FAILS(mirage_kv_get(kv, "dir", &v, &n, &err), MIRAGE_EISDIR, "/dir");
    CHECK_STR(mirage_kv_strerror(&err, msg, sizeof(msg)), "value expected: /dir");
    KV_FAILS(mirage_kv_get(kv, "/", &v, &n, &err), MIRAGE_EISDIR, "/");
    KV_FAILS(mirage_kv_get(kv, "/hello.txt/x", &v, &n, &err), MIRAGE_ENOTDIR, "/hello.txt");
    CHECK_STR(mirage_kv_strerror(&err, msg, sizeof(msg)), "dictionary expected: /hello.txt");
    KV_FAILS(mirage_kv_get_partial(kv, "/dir", 0, msg, 1, &got, &err), MIRAGE_EISDIR, "/dir");
    KV_FAILS(mirage_kv_digest(kv, "/dir", d, &err), MIRAGE_EISDIR, "/dir");
    KV_FAILS(mirage_kv_size(kv, "/dir", &sz, &err), MIRAGE_EISDIR, "/dir");
    KV_FAILS(mirage_kv_size(kv, "/none", &sz, &err), MIRAGE_ENOENT, "/none");
    KV_FAILS(mirage_kv_last_modified(kv, "/none", &ns, &err), MIRAGE_ENOENT, "/none");
    KV_FAILS(mirage_kv_get(kv, "a//b", &v, &n, &err), MIRAGE_EINVAL, "a//b");
    KV_FAILS(mirage_kv_get(kv, "/dir/../hello.txt", &v, &n, &err), MIRAGE_EINVAL,
             "/dir/../hello.txt");
    CHECK_STR(mirage_kv_strerror(&err, msg, sizeof(msg)),
              "bad key \"/dir/../hello.txt\": segment '..'");

    if (!mirage_kv_writable(kv)) {
        KV_FAILS(mirage_kv_set(kv, "/x", "x", 1, &err), MIRAGE_EROFS, "/x");
        KV_FAILS(mirage_kv_remove(kv, "/hello.txt", &err), MIRAGE_EROFS, "/hello.txt");
        KV_FAILS(mirage_kv_rename(kv, "/hello.txt", "/y", &err), MIRAGE_EROFS, "/hello.txt");
        KV_FAILS(mirage_kv_set_partial(kv, "/x", 0, "x", 1, &err), MIRAGE_EROFS, "/x");
        KV_FAILS(mirage_kv_allocate(kv, "/x", 1, 0, &err), MIRAGE_EROFS, "/x");
        CHECK_INT(mirage_kv_batch(kv, NULL, 0, &err), MIRAGE_EROFS);
        CHECK(kv_is_str(kv, "/hello.txt", "Hello, world!\n"));
    }
}

/* ---- the read-write suite -------------------------------------------------- */

static inline void kv_suite_keys(struct mirage_kv *kv)
{
    struct mirage_kv_error err;
    char key[3000];
    uint8_t *v;
    size_t n;

    CHECK_INT(mirage_kv_set(kv, "k/b", "1", 1, NULL), 0);
    CHECK(kv_is_str(kv, "/k/b", "1"));
    CHECK(kv_is_str(kv, "k/b/", "1"));
    KV_FAILS(mirage_kv_set(kv, "a//b", "x", 1, &err), MIRAGE_EINVAL, "a//b");
    KV_FAILS(mirage_kv_set(kv, "//", "x", 1, &err), MIRAGE_EINVAL, "//");
    KV_FAILS(mirage_kv_set(kv, "a/b//", "x", 1, &err), MIRAGE_EINVAL, "a/b//");
    KV_FAILS(mirage_kv_set(kv, "./a", "x", 1, &err), MIRAGE_EINVAL, "./a");
    KV_FAILS(mirage_kv_set(kv, "a/..", "x", 1, &err), MIRAGE_EINVAL, "a/..");
    KV_FAILS(mirage_kv_get(kv, NULL, &v, &n, &err), MIRAGE_EINVAL, "(null)");
    /* The root is a dictionary: no value there. */
    KV_FAILS(mirage_kv_set(kv, "", "x", 1, &err), MIRAGE_EISDIR, "/");
    KV_FAILS(mirage_kv_set(kv, "/", "x", 1, &err), MIRAGE_EISDIR, "/");
    /* A segment of 255 bytes is fine, 256 is not. */
    memset(key, 'k', 255);
    key[255] = '\0';
    CHECK_INT(mirage_kv_set(kv, key, "s", 1, NULL), 0);
    CHECK(kv_is_str(kv, key, "s"));
    CHECK_INT(mirage_kv_remove(kv, key, NULL), 0);
    memset(key, 'k', 256);
    key[256] = '\0';
    KV_FAILS(mirage_kv_set(kv, key, "s", 1, &err), MIRAGE_ENAMETOOLONG, key);
    /* A key of 1024 bytes ("/" included) is fine, 1025 is not. */
    for (int i = 0; i < 4; i++) {
        key[i * 256] = '/';
        memset(key + i * 256 + 1, 'a' + i, 255);
    }
    key[1024] = '\0';
    CHECK_INT(mirage_kv_set(kv, key, "long", 4, NULL), 0);
    CHECK(kv_is_str(kv, key, "long"));
    memcpy(key + 1024, "x", 2);
    CHECK_INT(mirage_kv_set(kv, key, "s", 1, &err), MIRAGE_ENAMETOOLONG);
    CHECK_INT(err.code, MIRAGE_ENAMETOOLONG);
    CHECK(strncmp(err.key, key, 1000) == 0);
    /* A huge key is refused, named in err cut short. */
    memset(key, 'h', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    CHECK_INT(mirage_kv_get(kv, key, &v, &n, &err), MIRAGE_ENAMETOOLONG);
    CHECK(strlen(err.key) == MIRAGE_KV_KEY_MAX &&
          strcmp(err.key + MIRAGE_KV_KEY_MAX - 3, "...") == 0);
    /* Any byte but '/' and NUL in a segment. */
    CHECK_INT(mirage_kv_set(kv, "sp ace/\x01\xff\t", "b", 1, NULL), 0);
    CHECK(kv_is_str(kv, "/sp ace/\x01\xff\t", "b"));
    CHECK_INT(mirage_kv_remove(kv, "/", NULL), 0);
    KV_LIST(kv, "/", "");
}

static inline void kv_suite_rw(struct mirage_kv **kvp, const struct kv_suite_opts *o)
{
    struct mirage_kv *kv = *kvp;
    struct mirage_kv_error err;
    uint8_t *v, d[32], want[32];
    uint64_t sz, ns, ns2;
    size_t n, got;
    char buf[64], msg[2200];

    CHECK(mirage_kv_writable(kv));
    /* Empty. */
    CHECK_INT(kv_kind(kv, "/"), MIRAGE_KV_DICTIONARY);
    KV_LIST(kv, "/", "");
    KV_FAILS(mirage_kv_get(kv, "/x", &v, &n, &err), MIRAGE_ENOENT, "/x");
    KV_FAILS(mirage_kv_digest(kv, "/", d, &err), MIRAGE_EISDIR, "/");

    /* set, get, overwrite, empty and binary values, parents made. */
    CHECK_INT(mirage_kv_set(kv, "/a", "one", 3, NULL), 0);
    CHECK(kv_is_str(kv, "/a", "one"));
    CHECK_INT(mirage_kv_set(kv, "a", "second", 6, NULL), 0);
    CHECK(kv_is_str(kv, "/a", "second"));
    CHECK_INT(mirage_kv_set(kv, "/e", "", 0, NULL), 0);
    CHECK(kv_is(kv, "/e", "", 0));
    CHECK_INT(mirage_kv_size(kv, "/e", &sz, NULL), 0);
    CHECK_INT(sz, 0);
    CHECK_INT(mirage_kv_set(kv, "/bin", "\0\1\0\xff", 4, NULL), 0);
    CHECK(kv_is(kv, "/bin", "\0\1\0\xff", 4));
    CHECK_INT(mirage_kv_set(kv, "/d1/d2/d3/v", "deep", 4, NULL), 0);
    CHECK_INT(kv_kind(kv, "/d1"), MIRAGE_KV_DICTIONARY);
    CHECK_INT(kv_kind(kv, "/d1/d2/d3"), MIRAGE_KV_DICTIONARY);
    CHECK_INT(kv_kind(kv, "/d1/d2/d3/v"), MIRAGE_KV_VALUE);
    KV_LIST(kv, "/", "a:v bin:v d1:d e:v");
    KV_LIST(kv, "/d1/d2", "d3:d");
    /* Values and dictionaries do not mix. */
    KV_FAILS(mirage_kv_set(kv, "/d1", "x", 1, &err), MIRAGE_EISDIR, "/d1");
    CHECK_STR(mirage_kv_strerror(&err, msg, sizeof(msg)), "value expected: /d1");
    KV_FAILS(mirage_kv_set(kv, "/a/b", "x", 1, &err), MIRAGE_ENOTDIR, "/a");
    KV_FAILS(mirage_kv_set(kv, "/d1/d2/d3/v/w/x", "x", 1, &err), MIRAGE_ENOTDIR, "/d1/d2/d3/v");
    KV_FAILS(mirage_kv_get(kv, "/a/b", &v, &n, &err), MIRAGE_ENOTDIR, "/a");
    KV_FAILS(mirage_kv_list(kv, "/a", &(struct mirage_kv_entry *){0}, &n, &err), MIRAGE_ENOTDIR,
             "/a");
    CHECK(kv_is_str(kv, "/a", "second"));
    KV_LIST(kv, "/", "a:v bin:v d1:d e:v");

    /* digest and size. */
    CHECK_INT(mirage_kv_set(kv, "/abc", "abc", 3, NULL), 0);
    CHECK_INT(mirage_kv_digest(kv, "/abc", d, NULL), 0);
    {
        static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                        0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                        0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
        CHECK(memcmp(d, abc, 32) == 0);
    }
    CHECK_INT(mirage_kv_digest(kv, "/e", d, NULL), 0);
    kv_sha256("", 0, want);
    CHECK(memcmp(d, want, 32) == 0);
    CHECK_INT(mirage_kv_size(kv, "/a", &sz, NULL), 0);
    CHECK_INT(sz, 6);
    KV_FAILS(mirage_kv_size(kv, "/d1", &sz, &err), MIRAGE_EISDIR, "/d1");

    kv = *kvp = kv_suite_reopen(kv, o);
    CHECK(kv_is_str(kv, "/a", "second"));
    CHECK(kv_is_str(kv, "/d1/d2/d3/v", "deep"));
    CHECK(kv_is(kv, "/e", "", 0));
    KV_LIST(kv, "/", "a:v abc:v bin:v d1:d e:v");

    /* get_partial. */
    CHECK_INT(mirage_kv_get_partial(kv, "/a", 2, buf, 3, &got, NULL), 0);
    CHECK_INT(got, 3);
    CHECK(memcmp(buf, "con", 3) == 0);
    CHECK_INT(mirage_kv_get_partial(kv, "/a", 4, buf, 10, &got, NULL), 0);
    CHECK_INT(got, 2);
    CHECK(memcmp(buf, "nd", 2) == 0);
    CHECK_INT(mirage_kv_get_partial(kv, "/a", 6, buf, 10, &got, NULL), 0);
    CHECK_INT(got, 0);
    CHECK_INT(mirage_kv_get_partial(kv, "/a", UINT64_MAX, buf, 10, &got, NULL), 0);
    CHECK_INT(got, 0);
    KV_FAILS(mirage_kv_get_partial(kv, "/zz", 0, buf, 1, &got, &err), MIRAGE_ENOENT, "/zz");

    /* set_partial: inside, across the end, past the end, new keys. */
    CHECK_INT(mirage_kv_set_partial(kv, "/a", 1, "EC", 2, NULL), 0);
    CHECK(kv_is_str(kv, "/a", "sECond"));
    CHECK_INT(mirage_kv_set_partial(kv, "/a", 4, "NDS", 3, NULL), 0);
    CHECK(kv_is_str(kv, "/a", "sECoNDS"));
    CHECK_INT(mirage_kv_set_partial(kv, "/a", 100, "!", 1, NULL), 0);
    CHECK(kv_is_str(kv, "/a", "sECoNDS!"));
    CHECK_INT(mirage_kv_set_partial(kv, "/a", UINT64_MAX, "?", 1, NULL), 0);
    CHECK(kv_is_str(kv, "/a", "sECoNDS!?"));
    CHECK_INT(mirage_kv_set_partial(kv, "/p1/p2/new", 5, "fresh", 5, NULL), 0);
    CHECK(kv_is_str(kv, "/p1/p2/new", "fresh"));
    CHECK_INT(mirage_kv_set_partial(kv, "/a", 0, "", 0, NULL), 0);
    CHECK(kv_is_str(kv, "/a", "sECoNDS!?"));
    KV_FAILS(mirage_kv_set_partial(kv, "/p1", 0, "x", 1, &err), MIRAGE_EISDIR, "/p1");
    KV_FAILS(mirage_kv_set_partial(kv, "/a/x", 0, "x", 1, &err), MIRAGE_ENOTDIR, "/a");

    /* allocate: zeros, its own time, never over what exists. */
    CHECK_INT(mirage_kv_allocate(kv, "/al/zero", 5000, 1234567890123456789ULL, NULL), 0);
    CHECK_INT(mirage_kv_size(kv, "/al/zero", &sz, NULL), 0);
    CHECK_INT(sz, 5000);
    CHECK_INT(mirage_kv_get(kv, "/al/zero", &v, &n, NULL), 0);
    {
        size_t zeros = 0;
        for (size_t i = 0; i < n; i++)
            zeros += v[i] == 0;
        CHECK_INT(zeros, 5000);
        free(v);
    }
    CHECK_INT(mirage_kv_last_modified(kv, "/al/zero", &ns, NULL), 0);
    CHECK_INT(ns, 1234567890123456789ULL);
    KV_FAILS(mirage_kv_allocate(kv, "/al/zero", 1, 0, &err), MIRAGE_EEXIST, "/al/zero");
    CHECK_STR(mirage_kv_strerror(&err, msg, sizeof(msg)), "already present: /al/zero");
    KV_FAILS(mirage_kv_allocate(kv, "/al", 1, 0, &err), MIRAGE_EEXIST, "/al");
    KV_FAILS(mirage_kv_allocate(kv, "/", 1, 0, &err), MIRAGE_EEXIST, "/");
    CHECK_INT(mirage_kv_allocate(kv, "/al/none", 0, 0, NULL), 0);
    CHECK(kv_is(kv, "/al/none", "", 0));
    CHECK_INT(mirage_kv_last_modified(kv, "/al/none", &ns, NULL), 0);
    CHECK(ns > 0);
    CHECK_INT(mirage_kv_set_partial(kv, "/al/zero", 4998, "xyz", 3, NULL), 0);
    CHECK_INT(mirage_kv_size(kv, "/al/zero", &sz, NULL), 0);
    CHECK_INT(sz, 5001);
    CHECK_INT(mirage_kv_last_modified(kv, "/al/zero", &ns2, NULL), 0);
    CHECK(ns2 != 1234567890123456789ULL);
    /* A dictionary changes no earlier than its entries. */
    CHECK_INT(mirage_kv_last_modified(kv, "/al", &ns, NULL), 0);
    CHECK(ns >= ns2);

    kv = *kvp = kv_suite_reopen(kv, o);
    CHECK(kv_is_str(kv, "/a", "sECoNDS!?"));
    CHECK(kv_is_str(kv, "/p1/p2/new", "fresh"));
    CHECK_INT(mirage_kv_size(kv, "/al/zero", &sz, NULL), 0);
    CHECK_INT(sz, 5001);

    /* remove: values, whole dictionaries, nothing, the root's entries. */
    CHECK_INT(mirage_kv_remove(kv, "/abc", NULL), 0);
    CHECK_INT(kv_kind(kv, "/abc"), MIRAGE_KV_NONE);
    CHECK_INT(mirage_kv_remove(kv, "/abc", NULL), 0);
    CHECK_INT(mirage_kv_remove(kv, "/no/such/thing", NULL), 0);
    KV_FAILS(mirage_kv_remove(kv, "/a/b", &err), MIRAGE_ENOTDIR, "/a");
    CHECK_INT(mirage_kv_set(kv, "/d1/other", "o", 1, NULL), 0);
    CHECK_INT(mirage_kv_remove(kv, "/d1/d2", NULL), 0);
    CHECK_INT(kv_kind(kv, "/d1/d2/d3/v"), MIRAGE_KV_NONE);
    CHECK_INT(kv_kind(kv, "/d1/d2"), MIRAGE_KV_NONE);
    KV_LIST(kv, "/d1", "other:v");
    /* A dictionary goes with its last entry. */
    CHECK_INT(mirage_kv_remove(kv, "/d1/other", NULL), 0);
    CHECK_INT(kv_kind(kv, "/d1"), MIRAGE_KV_NONE);
    CHECK_INT(mirage_kv_set(kv, "/l1/l2/l3/only", "o", 1, NULL), 0);
    CHECK_INT(mirage_kv_remove(kv, "/l1/l2/l3/only", NULL), 0);
    CHECK_INT(kv_kind(kv, "/l1"), MIRAGE_KV_NONE);
    KV_LIST(kv, "/", "a:v al:d bin:v e:v p1:d");

    kv = *kvp = kv_suite_reopen(kv, o);
    KV_LIST(kv, "/", "a:v al:d bin:v e:v p1:d");

    /* rename. */
    CHECK_INT(mirage_kv_set(kv, "/r/src", "S", 1, NULL), 0);
    CHECK_INT(mirage_kv_set(kv, "/r/keep", "K", 1, NULL), 0);
    CHECK_INT(mirage_kv_allocate(kv, "/r/old", 2, 777, NULL), 0);
    CHECK_INT(mirage_kv_rename(kv, "/r/old", "/r2/x/moved", NULL), 0);
    CHECK_INT(kv_kind(kv, "/r/old"), MIRAGE_KV_NONE);
    CHECK(kv_is(kv, "/r2/x/moved", "\0\0", 2));
    CHECK_INT(mirage_kv_last_modified(kv, "/r2/x/moved", &ns, NULL), 0);
    CHECK_INT(ns, 777);
    /* A value over a value replaces it. */
    CHECK_INT(mirage_kv_rename(kv, "/r/src", "/r2/x/moved", NULL), 0);
    CHECK(kv_is_str(kv, "/r2/x/moved", "S"));
    KV_LIST(kv, "/r", "keep:v");
    /* Into a dictionary. */
    CHECK_INT(mirage_kv_set(kv, "/r/f", "F", 1, NULL), 0);
    CHECK_INT(mirage_kv_rename(kv, "/r/f", "/r2", NULL), 0);
    CHECK(kv_is_str(kv, "/r2/f", "F"));
    KV_LIST(kv, "/r2", "f:v x:d");
    /* A dictionary with its contents. */
    CHECK_INT(mirage_kv_rename(kv, "/r2", "/r3", NULL), 0);
    KV_LIST(kv, "/r3", "f:v x:d");
    CHECK(kv_is_str(kv, "/r3/x/moved", "S"));
    CHECK_INT(kv_kind(kv, "/r2"), MIRAGE_KV_NONE);
    /* Into the dictionary /r: becomes /r/r3. */
    CHECK_INT(mirage_kv_rename(kv, "/r3", "/r", NULL), 0);
    CHECK(kv_is_str(kv, "/r/r3/x/moved", "S"));
    /* Onto itself, or into its own parent: nothing happens. */
    CHECK_INT(mirage_kv_rename(kv, "/r/r3", "/r/r3", NULL), 0);
    CHECK_INT(mirage_kv_rename(kv, "/r/r3", "/r", NULL), 0);
    CHECK(kv_is_str(kv, "/r/r3/f", "F"));
    /* Into itself: refused, with both keys. */
    KV_FAILS(mirage_kv_rename(kv, "/r", "/r/r3/x/in", &err), MIRAGE_EINVAL, "/r");
    CHECK_STR(err.dest, "/r/r3/x/in");
    CHECK_STR(mirage_kv_strerror(&err, msg, sizeof(msg)),
              "rename source is a prefix of destination: /r -> /r/r3/x/in");
    /* /r/r3/x is a dictionary, so the destination is /r/r3/x/r3. */
    KV_FAILS(mirage_kv_rename(kv, "/r/r3", "/r/r3/x", &err), MIRAGE_EINVAL, "/r/r3");
    CHECK_STR(err.dest, "/r/r3/x/r3");
    KV_FAILS(mirage_kv_rename(kv, "/", "/elsewhere", &err), MIRAGE_EINVAL, "/");
    KV_FAILS(mirage_kv_rename(kv, "/nope", "/x", &err), MIRAGE_ENOENT, "/nope");
    KV_FAILS(mirage_kv_rename(kv, "/a/x", "/x", &err), MIRAGE_ENOTDIR, "/a");
    KV_FAILS(mirage_kv_rename(kv, "/e", "/a/x", &err), MIRAGE_ENOTDIR, "/a");
    /* A dictionary never replaces a value, nor a value a dictionary. */
    CHECK_INT(mirage_kv_set(kv, "/q/d/k", "k", 1, NULL), 0);
    CHECK_INT(mirage_kv_set(kv, "/q2/d", "value", 5, NULL), 0);
    KV_FAILS(mirage_kv_rename(kv, "/q/d", "/q2/d", &err), MIRAGE_ENOTDIR, "/q2/d");
    CHECK_INT(mirage_kv_set(kv, "/q3/d/k", "k", 1, NULL), 0);
    CHECK_INT(mirage_kv_set(kv, "/q4/d", "v", 1, NULL), 0);
    /* /q3 is a dictionary: /q4/d goes to /q3/d, a dictionary. */
    KV_FAILS(mirage_kv_rename(kv, "/q4/d", "/q3", &err), MIRAGE_EISDIR, "/q3/d");
    CHECK(kv_is_str(kv, "/q4/d", "v"));
    CHECK(kv_is_str(kv, "/q3/d/k", "k"));
    /* A dictionary over a dictionary replaces it. */
    CHECK_INT(mirage_kv_set(kv, "/q5/d/other", "o", 1, NULL), 0);
    CHECK_INT(mirage_kv_rename(kv, "/q5/d", "/q3", NULL), 0);
    KV_LIST(kv, "/q3/d", "other:v");
    CHECK_INT(kv_kind(kv, "/q5"), MIRAGE_KV_NONE); /* emptied, so gone */

    kv = *kvp = kv_suite_reopen(kv, o);
    CHECK(kv_is_str(kv, "/r/r3/x/moved", "S"));
    KV_LIST(kv, "/q3/d", "other:v");
    CHECK_INT(mirage_kv_last_modified(kv, "/r/r3/x/moved", &ns, NULL), 0);

    /* batch: all or nothing. */
    {
        struct mirage_kv_op ok[] = {
            {MIRAGE_KV_OP_SET, "/b/one", NULL, "1", 1},
            {MIRAGE_KV_OP_SET, "/b/two", NULL, "2", 1},
            {MIRAGE_KV_OP_RENAME, "/b/one", "/b/uno", NULL, 0},
            {MIRAGE_KV_OP_REMOVE, "/e", NULL, NULL, 0},
            {MIRAGE_KV_OP_SET, "/b/two", NULL, "22", 2},
        };
        struct mirage_kv_op bad[] = {
            {MIRAGE_KV_OP_SET, "/b/three", NULL, "3", 1},
            {MIRAGE_KV_OP_REMOVE, "/b/uno", NULL, NULL, 0},
            {MIRAGE_KV_OP_RENAME, "/a", "/b/two", NULL, 0},
            {MIRAGE_KV_OP_REMOVE, "/q3", NULL, NULL, 0},
            {MIRAGE_KV_OP_SET, "/b/uno/x", NULL, "x", 1}, /* fails: /b/uno is a value */
            {MIRAGE_KV_OP_SET, "/b/four", NULL, "4", 1},
        };
        struct mirage_kv_op badkey[] = {
            {MIRAGE_KV_OP_SET, "/b/five", NULL, "5", 1},
            {MIRAGE_KV_OP_SET, "/b//six", NULL, "6", 1},
        };
        char before[4096], after[4096];

        CHECK_INT(mirage_kv_batch(kv, ok, 5, NULL), 0);
        KV_LIST(kv, "/b", "two:v uno:v");
        CHECK(kv_is_str(kv, "/b/uno", "1"));
        CHECK(kv_is_str(kv, "/b/two", "22"));
        CHECK_INT(kv_kind(kv, "/e"), MIRAGE_KV_NONE);
        CHECK_INT(mirage_kv_batch(kv, ok, 0, NULL), 0);

        kv_listing(kv, "/", before, sizeof(before));
        bad[4].key = "/b/three/x"; /* /b/three was set by op 0: a value */
        KV_FAILS(mirage_kv_batch(kv, bad, 6, &err), MIRAGE_ENOTDIR, "/b/three");
        CHECK_INT(err.index, 4);
        KV_LIST(kv, "/", before);
        KV_LIST(kv, "/b", "two:v uno:v");
        CHECK(kv_is_str(kv, "/b/uno", "1"));
        CHECK(kv_is_str(kv, "/b/two", "22"));
        CHECK(kv_is_str(kv, "/a", "sECoNDS!?"));
        KV_LIST(kv, "/q3/d", "other:v");
        KV_FAILS(mirage_kv_batch(kv, badkey, 2, &err), MIRAGE_EINVAL, "/b//six");
        CHECK_INT(err.index, 1);
        CHECK_INT(kv_kind(kv, "/b/five"), MIRAGE_KV_NONE);
        kv = *kvp = kv_suite_reopen(kv, o);
        kv_listing(kv, "/", after, sizeof(after));
        CHECK_STR(after, before);
        CHECK(kv_is_str(kv, "/b/two", "22"));
    }

    /* Many entries, listed in order. */
    {
        char key[32];
        for (int i = 0; i < 300; i++) {
            snprintf(key, sizeof(key), "/many/k%03d", (i * 7) % 300);
            CHECK_INT(mirage_kv_set(kv, key, key, strlen(key), NULL), 0);
        }
        struct mirage_kv_entry *e;
        CHECK_INT(mirage_kv_list(kv, "/many", &e, &n, NULL), 0);
        CHECK_INT(n, 300);
        for (size_t i = 0; i < n; i++) {
            snprintf(key, sizeof(key), "/many/k%03zu", i);
            CHECK_STR(e[i].key, key);
        }
        free(e);
        CHECK_INT(mirage_kv_remove(kv, "/many", NULL), 0);
    }

    /* A large value, read back in pieces. */
    {
        size_t big = 3 * 1048576 + 5;
        uint8_t *b = malloc(big), piece[5000];
        for (size_t i = 0; i < big; i++)
            b[i] = kv_fixture_byte(i, 9);
        CHECK_INT(mirage_kv_set(kv, "/large", b, big, NULL), 0);
        kv = *kvp = kv_suite_reopen(kv, o);
        CHECK(kv_is(kv, "/large", b, big));
        CHECK_INT(
            mirage_kv_get_partial(kv, "/large", 2 * 1048576 + 1, piece, sizeof(piece), &got, NULL),
            0);
        CHECK_INT(got, sizeof(piece));
        CHECK(memcmp(piece, b + 2 * 1048576 + 1, got) == 0);
        kv_sha256(b, big, want);
        CHECK_INT(mirage_kv_digest(kv, "/large", d, NULL), 0);
        CHECK(memcmp(d, want, 32) == 0);
        CHECK_INT(mirage_kv_remove(kv, "/large", NULL), 0);
        free(b);
    }

    /* No space: refused whole, what is there stays. */
    if (o && o->capacity) {
        uint64_t cap = o->capacity;
        uint8_t *b = calloc(1, (size_t)cap + 1);
        CHECK_INT(mirage_kv_remove(kv, "/", NULL), 0);
        CHECK_INT(mirage_kv_set(kv, "/keep", "keep", 4, NULL), 0);
        KV_FAILS(mirage_kv_set(kv, "/huge", b, (size_t)cap + 1, &err), MIRAGE_ENOSPC, "/huge");
        mirage_kv_strerror(&err, msg, sizeof(msg));
        CHECK(strncmp(msg, "no space left: /huge", 20) == 0);
        CHECK_INT(kv_kind(kv, "/huge"), MIRAGE_KV_NONE);
        KV_FAILS(mirage_kv_allocate(kv, "/huge", cap + 1, 0, &err), MIRAGE_ENOSPC, "/huge");
        CHECK(kv_is_str(kv, "/keep", "keep"));
        /* Space comes back when values go. */
        CHECK_INT(mirage_kv_set(kv, "/half", b, (size_t)(cap / 2), NULL), 0);
        CHECK_INT(mirage_kv_remove(kv, "/half", NULL), 0);
        CHECK_INT(mirage_kv_set(kv, "/half2", b, (size_t)(cap / 2), NULL), 0);
        CHECK_INT(mirage_kv_remove(kv, "/half2", NULL), 0);
        free(b);
    }

    kv_suite_keys(kv);

    /* remove of the root empties the store; it stays usable. */
    CHECK_INT(mirage_kv_set(kv, "/z/z", "z", 1, NULL), 0);
    CHECK_INT(mirage_kv_remove(kv, "", NULL), 0);
    KV_LIST(kv, "/", "");
    CHECK_INT(kv_kind(kv, "/"), MIRAGE_KV_DICTIONARY);
    kv = *kvp = kv_suite_reopen(kv, o);
    KV_LIST(kv, "/", "");
    CHECK_INT(mirage_kv_set(kv, "/again", "a", 1, NULL), 0);
    CHECK(kv_is_str(kv, "/again", "a"));
    CHECK_INT(mirage_kv_remove(kv, "/again", NULL), 0);
}

#endif
