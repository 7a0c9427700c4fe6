/* test_random.c: Fortuna's generator and accumulator as the book specifies them, plus statistics. */
#include <bearssl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fake_platform.h"
#include "mirage/error.h"
#include "mirage/random.h"

const char *mirage_cmdline(void)
{
    return "--test";
}

static uint64_t clock_ns;

static uint64_t test_clock(void)
{
    return clock_ns;
}

/* One AES-256 block, computed independently of the generator (CBC with a
 * zero IV over one block is the raw block cipher). */
static void aes_block(const uint8_t key[32], uint64_t counter, uint8_t out[16])
{
    br_aes_ct64_cbcenc_keys k;
    uint8_t iv[16] = {0};

    memset(out, 0, 16);
    for (int i = 0; i < 8; i++)
        out[15 - i] = (uint8_t)(counter >> (8 * i));
    br_aes_ct64_cbcenc_init(&k, key, 32);
    br_aes_ct64_cbcenc_run(&k, iv, out, 16);
}

static void sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
    br_sha256_context c;

    br_sha256_init(&c);
    br_sha256_update(&c, a, alen);
    br_sha256_update(&c, b, blen);
    br_sha256_out(&c, out);
}

/* SHA_d-256(a || b) = SHA-256(SHA-256(a || b)). */
static void sha_d(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
    sha256(a, alen, b, blen, out);
    sha256(out, 32, NULL, 0, out);
}

static void test_generator(void)
{
    struct mirage_fortuna *f = mirage_fortuna_new(test_clock);
    uint8_t zero[32] = {0}, k1[32], k2[32], k3[32], want[48], got[48];
    const char seed[] = "published behaviour";

    CHECK(f != NULL);
    CHECK_INT(mirage_fortuna_read(f, got, 16), MIRAGE_EAGAIN); /* never seeded */
    mirage_fortuna_reseed(f, seed, strlen(seed));
    /* Reseed: K = SHA_d(K || s) with K initially zero; C becomes 1. */
    sha_d(zero, 32, seed, strlen(seed), k1);
    CHECK_INT(mirage_fortuna_read(f, got, 16), 0);
    aes_block(k1, 1, want);
    CHECK(memcmp(got, want, 16) == 0);
    /* After the request the key is the next two blocks: E(K1, 2) || E(K1, 3). */
    aes_block(k1, 2, k2);
    aes_block(k1, 3, k2 + 16);
    CHECK_INT(mirage_fortuna_read(f, got, 35), 0);
    aes_block(k2, 4, want);
    aes_block(k2, 5, want + 16);
    aes_block(k2, 6, want + 32);
    CHECK(memcmp(got, want, 35) == 0);
    /* A partial block still uses the whole block: the rekey takes 7 and 8. */
    aes_block(k2, 7, k3);
    aes_block(k2, 8, k3 + 16);
    CHECK_INT(mirage_fortuna_read(f, got, 5), 0);
    aes_block(k3, 9, want);
    CHECK(memcmp(got, want, 5) == 0);
    mirage_fortuna_free(f);
}

/* Requests over 1 MiB are generated 1 MiB at a time, with a rekey between. */
static void test_large_request(void)
{
    struct mirage_fortuna *f = mirage_fortuna_new(test_clock);
    size_t len = (1u << 20) + 32;
    uint8_t *buf = malloc(len), zero[32] = {0}, k1[32], k2[32], want[16];

    mirage_fortuna_reseed(f, "x", 1);
    sha_d(zero, 32, "x", 1, k1);
    CHECK_INT(mirage_fortuna_read(f, buf, len), 0);
    aes_block(k1, 65536, want); /* the last block of the first MiB */
    CHECK(memcmp(buf + (1u << 20) - 16, want, 16) == 0);
    aes_block(k1, 65537, k2);
    aes_block(k1, 65538, k2 + 16);
    aes_block(k2, 65539, want);
    CHECK(memcmp(buf + (1u << 20), want, 16) == 0);
    free(buf);
    mirage_fortuna_free(f);
}

/* The accumulator: the first reseed needs 64 bytes in pool 0 and takes its
 * SHA_d-256; then at most one reseed per 100 ms. */
static void test_accumulator(void)
{
    struct mirage_fortuna *f = mirage_fortuna_new(test_clock);
    uint8_t ev[32], pool0[3 * 34], s[32], zero[32] = {0}, k1[32], want[16], got[16];

    clock_ns = 5000000000ULL;
    for (int i = 0; i < 32; i++)
        ev[i] = (uint8_t)(i * 7);
    CHECK_INT(mirage_fortuna_add_event(f, 9, 0, ev, 32), 0);
    CHECK_INT(mirage_fortuna_read(f, got, 16), MIRAGE_EAGAIN); /* 34 bytes: too few */
    CHECK_INT(mirage_fortuna_reseed_count(f), 0);
    CHECK_INT(mirage_fortuna_add_event(f, 9, 0, ev, 32), 0);
    CHECK_INT(mirage_fortuna_add_event(f, 9, 0, ev, 32), 0);
    for (int i = 0; i < 3; i++) {
        pool0[34 * i] = 9;
        pool0[34 * i + 1] = 32;
        memcpy(pool0 + 34 * i + 2, ev, 32);
    }
    CHECK_INT(mirage_fortuna_read(f, got, 16), 0);
    CHECK_INT(mirage_fortuna_reseed_count(f), 1);
    sha_d(pool0, sizeof(pool0), NULL, 0, s);
    sha_d(zero, 32, s, 32, k1);
    aes_block(k1, 1, want);
    CHECK(memcmp(got, want, 16) == 0);
    /* 100 ms rule. */
    for (int i = 0; i < 3; i++)
        mirage_fortuna_add_event(f, 9, 0, ev, 32);
    clock_ns += 50000000;
    mirage_fortuna_read(f, got, 16);
    CHECK_INT(mirage_fortuna_reseed_count(f), 1);
    clock_ns += 60000000;
    mirage_fortuna_read(f, got, 16);
    CHECK_INT(mirage_fortuna_reseed_count(f), 2);
    CHECK_INT(mirage_fortuna_add_event(f, 9, 32, ev, 1), MIRAGE_EINVAL);
    CHECK_INT(mirage_fortuna_add_event(f, 9, 1, ev, 0), MIRAGE_EINVAL);
    CHECK_INT(mirage_fortuna_add_event(f, 9, 1, ev, 33), MIRAGE_EINVAL);
    mirage_fortuna_free(f);
}

/* Pool 2 takes part only in every 4th reseed: two instances differing only
 * in an event in pool 2 agree through reseeds 1-3 and differ from the 4th. */
static void test_pool_schedule(void)
{
    struct mirage_fortuna *a = mirage_fortuna_new(test_clock), *b = mirage_fortuna_new(test_clock);
    uint8_t ev[32] = {1, 2, 3}, ga[16], gb[16];

    mirage_fortuna_add_event(b, 4, 2, "secret", 6);
    clock_ns = 10000000000ULL;
    for (int r = 1; r <= 5; r++) {
        for (int i = 0; i < 2; i++) {
            mirage_fortuna_add_event(a, 1, 0, ev, 32);
            mirage_fortuna_add_event(b, 1, 0, ev, 32);
        }
        clock_ns += 200000000;
        CHECK_INT(mirage_fortuna_read(a, ga, 16), 0);
        CHECK_INT(mirage_fortuna_read(b, gb, 16), 0);
        CHECK_INT(mirage_fortuna_reseed_count(a), r);
        CHECK_INT(memcmp(ga, gb, 16) == 0, r < 4);
    }
    mirage_fortuna_free(a);
    mirage_fortuna_free(b);
}

/* FIPS 140-2 style sanity on 1 MiB of output: bit balance, byte chi-square,
 * runs. A fixed seed keeps it deterministic. */
static void test_statistics(void)
{
    struct mirage_fortuna *f = mirage_fortuna_new(test_clock);
    size_t len = 1u << 20, ones = 0, counts[256] = {0}, runs = 1;
    uint8_t *buf = malloc(len);
    double chi = 0, expect = (double)len / 256;
    int prev;

    mirage_fortuna_reseed(f, "stats", 5);
    CHECK_INT(mirage_fortuna_read(f, buf, len), 0);
    for (size_t i = 0; i < len; i++) {
        ones += (size_t)__builtin_popcount(buf[i]);
        counts[buf[i]]++;
    }
    for (int i = 0; i < 256; i++)
        chi += ((double)counts[i] - expect) * ((double)counts[i] - expect) / expect;
    prev = buf[0] & 1;
    for (size_t i = 0; i < len * 8; i++) {
        int bit = (buf[i / 8] >> (i % 8)) & 1;
        runs += bit != prev;
        prev = bit;
    }
    /* 8 Mbit: sd of ones is ~1448, of runs ~2048; 255 dof chi-square has sd ~22.6. */
    CHECK(ones > 4194304 - 10000 && ones < 4194304 + 10000);
    CHECK(runs > 4194304 - 14000 && runs < 4194304 + 14000);
    CHECK(chi < 400);
    free(buf);
    mirage_fortuna_free(f);
}

static void test_runtime_generator(void)
{
    uint8_t a[32], b[32];
    int seen[10] = {0};

    /* Seeding asks the host once, for a full 32 bytes, on first use. */
    memset(fake_entropy, 0xa5, sizeof(fake_entropy));
    fake_entropy_len = sizeof(fake_entropy);
    CHECK_INT(fake_entropy_calls, 0);
    mirage_random_bytes(a, sizeof(a));
    CHECK_INT(fake_entropy_calls, 1);
    mirage_random_bytes(b, sizeof(b));
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    CHECK_INT(fake_entropy_calls, 1);
    for (int i = 0; i < 2000; i++) {
        uint64_t v = mirage_random_uniform(10);
        CHECK(v < 10);
        seen[v < 10 ? v : 0]++;
    }
    for (int i = 0; i < 10; i++)
        CHECK(seen[i] > 100); /* expected 200 each */
    CHECK_INT(mirage_random_uniform(0), 0);
    mirage_random_add(3, "timing", 6);
}

/* The device handle a job's start() gets: one handle, drawing from the runtime's generator. */
static void test_device_handle(void)
{
    struct mirage_random *r = mirage_random_default();
    uint8_t a[48], b[48], untouched[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    uint64_t x, y, small = 0;
    int seen[6] = {0};

    CHECK(r != NULL);
    CHECK(mirage_random_default() == r);
    mirage_random_fill(r, a, sizeof(a));
    mirage_random_fill(r, b, sizeof(b));
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    mirage_random_fill(r, untouched, 0);
    for (int i = 0; i < 8; i++)
        CHECK_INT(untouched[i], 7);
    x = mirage_random_next(r);
    y = mirage_random_next(r);
    CHECK(x != y);
    for (int i = 0; i < 600; i++) {
        uint64_t v = mirage_random_below(r, 6);
        CHECK(v < 6);
        seen[v < 6 ? v : 0]++;
        small |= mirage_random_below(r, UINT64_MAX) >= UINT64_MAX;
    }
    for (int i = 0; i < 6; i++)
        CHECK(seen[i] > 40); /* expected 100 each */
    CHECK_INT(small, 0);
    CHECK_INT(mirage_random_below(r, 0), 0);
    CHECK_INT(mirage_random_below(r, 1), 0);
}

/* A handle that is not the runtime's aborts (status 255) with a message
 * instead of drawing: run in a child, whose console goes to a pipe. */
static void test_foreign_handle(void)
{
    char out[256] = "";
    ssize_t n, got = 0;
    int fd[2], status = 0;
    pid_t pid;

    CHECK_INT(pipe(fd), 0);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        uint64_t not_a_handle = 0;
        uint8_t buf[4];

        dup2(fd[1], 2);
        mirage_random_fill((struct mirage_random *)&not_a_handle, buf, sizeof(buf));
        _exit(0);
    }
    close(fd[1]);
    while (got < (ssize_t)sizeof(out) - 1 &&
           (n = read(fd[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
        got += n;
    close(fd[0]);
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_INT(WEXITSTATUS(status), 255);
    CHECK(strstr(out, "mirage: random: a handle that is not mirage_random_default()'s\n") != NULL);
}

int main(void)
{
    test_generator();
    test_large_request();
    test_accumulator();
    test_pool_schedule();
    test_statistics();
    test_runtime_generator();
    test_device_handle();
    test_foreign_handle();
    return CHECK_DONE();
}
