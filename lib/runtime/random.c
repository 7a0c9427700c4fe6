/* random.c: Fortuna (generator, 32-pool accumulator) on BearSSL's AES-CTR and SHA-256, and its seeding. */
#include <bearssl.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/cpu.h"
#include "mirage/error.h"
#include "mirage/platform.h"
#include "mirage/random.h"
#include "runtime.h"

#define POOLS 32
#define MIN_POOL_SIZE 64
#define RESEED_INTERVAL_NS 100000000ULL
#define MAX_REQUEST (1u << 20)

struct mirage_fortuna {
    /* generator */
    uint8_t key[32];
    uint8_t ctr[16]; /* big-endian; all zero means never seeded */
    const br_block_ctr_class *aes;
    br_aes_gen_ctr_keys aes_keys;
    /* accumulator */
    br_sha256_context pools[POOLS];
    size_t pool0_len;
    uint64_t reseed_count;
    uint64_t last_reseed;
    int reseeded_once;
    uint8_t next_pool[256]; /* per source: the pool its next event goes to */
    uint64_t (*clock)(void);
};

static int seeded(const struct mirage_fortuna *f)
{
    for (int i = 0; i < 16; i++)
        if (f->ctr[i])
            return 1;
    return 0;
}

static void ctr_add(uint8_t ctr[16], uint64_t n)
{
    for (int i = 15; i >= 0 && n; i--) {
        uint64_t s = ctr[i] + (n & 0xff);

        ctr[i] = (uint8_t)s;
        n = (n >> 8) + (s >> 8);
    }
}

static void rekey_aes(struct mirage_fortuna *f)
{
    f->aes->init(&f->aes_keys.vtable, f->key, sizeof(f->key));
}

/* SHA_d-256 of the concatenation a || b. */
static void sha_d(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
    br_sha256_context c;

    br_sha256_init(&c);
    br_sha256_update(&c, a, alen);
    br_sha256_update(&c, b, blen);
    br_sha256_out(&c, out);
    br_sha256_init(&c);
    br_sha256_update(&c, out, 32);
    br_sha256_out(&c, out);
}

/* The generator's GenerateBlocks: (n) blocks of E(K, C++) into (out).
 * BearSSL's CTR takes a 96-bit prefix and a 32-bit counter: a run is split
 * where the low 32 bits wrap, so the whole 128 bits count. */
static void generate_blocks(struct mirage_fortuna *f, uint8_t *out, size_t n)
{
    while (n > 0) {
        uint32_t lo = (uint32_t)f->ctr[12] << 24 | (uint32_t)f->ctr[13] << 16 |
                      (uint32_t)f->ctr[14] << 8 | f->ctr[15];
        uint64_t room = (uint64_t)UINT32_MAX - lo + 1;
        size_t chunk = n < room ? n : (size_t)room;

        memset(out, 0, chunk * 16);
        f->aes->run(&f->aes_keys.vtable, f->ctr, lo, out, chunk * 16);
        ctr_add(f->ctr, chunk);
        out += chunk * 16;
        n -= chunk;
    }
}

void mirage_fortuna_reseed(struct mirage_fortuna *f, const void *seed, size_t len)
{
    sha_d(f->key, sizeof(f->key), seed, len, f->key);
    rekey_aes(f);
    ctr_add(f->ctr, 1);
}

struct mirage_fortuna *mirage_fortuna_new(uint64_t (*clock)(void))
{
    struct mirage_fortuna *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    f->aes = br_aes_x86ni_ctr_get_vtable();
    if (f->aes == NULL)
        f->aes = &br_aes_ct64_ctr_vtable;
    for (int i = 0; i < POOLS; i++)
        br_sha256_init(&f->pools[i]);
    f->clock = clock;
    rekey_aes(f);
    return f;
}

void mirage_fortuna_free(struct mirage_fortuna *f)
{
    if (f == NULL)
        return;
    memset(f, 0, sizeof(*f)); /* keys do not outlive the generator */
    free(f);
}

int mirage_fortuna_add_event(struct mirage_fortuna *f, uint8_t source, unsigned pool,
                             const void *data, size_t len)
{
    uint8_t hdr[2] = {source, (uint8_t)len};

    if (len < 1 || len > 32 || pool >= POOLS)
        return MIRAGE_EINVAL;
    br_sha256_update(&f->pools[pool], hdr, 2);
    br_sha256_update(&f->pools[pool], data, len);
    if (pool == 0)
        f->pool0_len += 2 + len;
    return 0;
}

uint64_t mirage_fortuna_reseed_count(const struct mirage_fortuna *f)
{
    return f->reseed_count;
}

/* The accumulator's reseed: pool i joins when 2^i divides the count. */
static void reseed_from_pools(struct mirage_fortuna *f, uint64_t now)
{
    uint8_t seed[POOLS * 32];
    size_t n = 0;

    f->reseed_count++;
    f->last_reseed = now;
    f->reseeded_once = 1;
    for (int i = 0; i < POOLS; i++) {
        uint8_t h[32];

        if (i > 0 && (f->reseed_count & ((1ULL << i) - 1)) != 0)
            break;
        br_sha256_context c;

        /* SHA_d-256 of the pool's contents: SHA-256 of its SHA-256. */
        br_sha256_out(&f->pools[i], h);
        br_sha256_init(&c);
        br_sha256_update(&c, h, sizeof(h));
        br_sha256_out(&c, seed + n);
        n += 32;
        br_sha256_init(&f->pools[i]);
    }
    f->pool0_len = 0;
    mirage_fortuna_reseed(f, seed, n);
    memset(seed, 0, sizeof(seed));
}

int mirage_fortuna_read(struct mirage_fortuna *f, void *buf, size_t len)
{
    uint8_t *out = buf;

    if (f->pool0_len >= MIN_POOL_SIZE) {
        uint64_t now = f->clock ? f->clock() : 0;

        if (!f->reseeded_once || now - f->last_reseed > RESEED_INTERVAL_NS)
            reseed_from_pools(f, now);
    }
    if (!seeded(f))
        return MIRAGE_EAGAIN;
    while (len > 0) {
        size_t n = len < MAX_REQUEST ? len : MAX_REQUEST;
        size_t full = n / 16;
        uint8_t last[16];

        generate_blocks(f, out, full);
        if (n % 16) {
            generate_blocks(f, last, 1);
            memcpy(out + full * 16, last, n % 16);
        }
        /* A new key after every request: earlier output stays secret even
         * if the state leaks later. */
        generate_blocks(f, f->key, 2);
        rekey_aes(f);
        out += n;
        len -= n;
    }
    return 0;
}

/* ---- the runtime's generator -------------------------------------------------- */

static struct mirage_fortuna *rng;

static void event_hook(uint8_t source, const void *data, size_t len)
{
    mirage_random_add(source, data, len);
}

/* Everything at hand that an attacker cannot cheaply know: the host's
 * getrandom, the CPU's random instructions, TSC jitter around clock reads,
 * the clocks, where the stack and heap are, the boot command line. All goes
 * through SHA-256 first. */
static void seed_runtime(void)
{
    br_sha256_context c;
    uint8_t seed[32], host[32];
    const char *cmd = mirage_cmdline();
    size_t nhost;
    int hw = 0;

    rng = mirage_fortuna_new(mirage_clock_monotonic);
    if (rng == NULL) {
        runtime_say("out of memory for ", "the random generator", "");
        mirage_abort();
    }
    br_sha256_init(&c);
    for (int i = 0; i < 64; i++) {
        uint64_t v[4] = {0, mirage_cpu_tsc(), mirage_clock_monotonic(), 0};

        hw += mirage_cpu_random(&v[0]);
        v[3] = mirage_cpu_tsc() - v[1];
        br_sha256_update(&c, v, sizeof(v));
        mirage_fortuna_add_event(rng, 1, (unsigned)i % POOLS, v, sizeof(v));
    }
    nhost = mirage_host_entropy(host, sizeof(host));
    br_sha256_update(&c, host, nhost);
    memset(host, 0, sizeof(host));
    uint64_t misc[5] = {mirage_clock_wall(), (uintptr_t)&c, (uintptr_t)rng, (uint64_t)hw, nhost};
    br_sha256_update(&c, misc, sizeof(misc));
    if (cmd)
        br_sha256_update(&c, cmd, strlen(cmd));
    br_sha256_out(&c, seed);
    mirage_fortuna_reseed(rng, seed, sizeof(seed));
    memset(seed, 0, sizeof(seed));
    runtime_event_hook = event_hook;
    if (nhost == 0 && hw == 0)
        runtime_say("the random generator ", "has neither host nor CPU entropy",
                    ": seeded from clock jitter alone");
}

void mirage_random_add(uint8_t source, const void *data, size_t len)
{
    const uint8_t *p = data;

    if (rng == NULL)
        seed_runtime();
    while (len > 0) {
        size_t n = len > 32 ? 32 : len;

        mirage_fortuna_add_event(rng, source, rng->next_pool[source], p, n);
        rng->next_pool[source] = (uint8_t)((rng->next_pool[source] + 1) % POOLS);
        p += n;
        len -= n;
    }
}

void mirage_random_bytes(void *buf, size_t len)
{
    if (rng == NULL)
        seed_runtime();
    if (mirage_fortuna_read(rng, buf, len) < 0) {
        runtime_say("the random generator ", "is not seeded", "");
        mirage_abort();
    }
}

uint64_t mirage_random_u64(void)
{
    uint64_t v;

    mirage_random_bytes(&v, sizeof(v));
    return v;
}

uint64_t mirage_random_uniform(uint64_t bound)
{
    uint64_t v, limit;

    if (bound == 0)
        return 0;
    /* Values at or above the largest multiple of bound are retried. */
    limit = UINT64_MAX - UINT64_MAX % bound;
    do
        v = mirage_random_u64();
    while (v >= limit);
    return v % bound;
}
