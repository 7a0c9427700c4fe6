/* tcb.c: the TCB that holds the stack-protector canary, seeded by the tender or the CPU at boot. */
#include <stddef.h>
#include <stdint.h>

#include "mirage/platform.h"
#include "mirage/tcb.h"

/*
 * Everything here runs before FS points at a TCB holding the final canary,
 * so no function in this file may be instrumented: each carries
 * no_stack_protector, and the helpers are always inlined into them.
 */
#define NOSP   __attribute__((no_stack_protector))
#define INLINE static inline __attribute__((always_inline))

/* glibc's x86_64 TCB layout, which prebuilt objects (BearSSL) compile against:
 * the TCB's own address at 0, the canary at 0x28. */
struct tcb {
    uintptr_t self;
    uintptr_t pad[4];
    uintptr_t canary;
    uintptr_t pointer_guard;
    uintptr_t spare[9];
};
_Static_assert(__builtin_offsetof(struct tcb, canary) == 0x28, "canary at %fs:0x28");

static struct tcb tcb __attribute__((aligned(64)));

INLINE void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(sub));
}

INLINE uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* The SplitMix64 finaliser: spreads every input bit over the output. */
INLINE uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* RDRAND and RDSEED may fail transiently (carry clear); retry a bounded number of times. */
INLINE int rdrand(uint64_t *out)
{
    for (int i = 0; i < 32; i++) {
        unsigned char ok;
        __asm__ volatile("rdrand %0; setc %1" : "=r"(*out), "=qm"(ok));
        if (ok)
            return 1;
    }
    return 0;
}

INLINE int rdseed(uint64_t *out)
{
    for (int i = 0; i < 256; i++) {
        unsigned char ok;
        __asm__ volatile("rdseed %0; setc %1" : "=r"(*out), "=qm"(ok));
        if (ok)
            return 1;
        __asm__ volatile("pause");
    }
    return 0;
}

/* The low bits of TSC deltas around a loop vary with caches and interrupts;
 * mixing many of them gives a value no one can predict cheaply. Weak, and
 * only used when the CPU has no random instructions at all. */
INLINE uint64_t tsc_jitter(void)
{
    uint64_t acc = rdtsc() ^ (uintptr_t)&tcb;

    for (int i = 0; i < 64; i++) {
        uint64_t t0 = rdtsc();
        for (volatile int j = 0; j < (int)(t0 & 15); j++) {
        }
        acc = mix(acc ^ (rdtsc() - t0) ^ ((uint64_t)i << 56));
    }
    return acc;
}

/* Which random instructions the CPU has, asked once: each CPUID is a trap
 * to the hypervisor here (~8 us under PVM, more from an hvt guest). */
#define HAVE_UNKNOWN (-1)
#define HAVE_RDRAND  1
#define HAVE_RDSEED  2
static int have = HAVE_UNKNOWN;

INLINE int cpu_has(void)
{
    uint32_t r[4];
    int h = 0;

    if (have != HAVE_UNKNOWN)
        return have;
    cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    cpuid(1, 0, r);
    if ((r[2] >> 30) & 1)
        h |= HAVE_RDRAND;
    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        if ((r[1] >> 18) & 1)
            h |= HAVE_RDSEED;
    }
    have = h;
    return h;
}

NOSP int mirage_cpu_random(uint64_t *out)
{
    int h = cpu_has();
    uint64_t v;

    if ((h & HAVE_RDRAND) && rdrand(&v)) {
        *out = v;
        return 1;
    }
    if ((h & HAVE_RDSEED) && rdseed(&v)) {
        *out = v;
        return 1;
    }
    *out = tsc_jitter();
    return 0;
}

NOSP void mirage_tcb_init_seeded(const uint64_t seed[2])
{
    uint64_t canary, guard;

    if (seed != NULL && (seed[0] | seed[1]) != 0) {
        canary = seed[0];
        guard = seed[1];
    } else {
        mirage_cpu_random(&canary);
        mirage_cpu_random(&guard);
    }
    /* A zero low byte stops string functions from reading or writing past
     * the canary, as glibc does. */
    tcb.canary = canary & ~(uintptr_t)0xff;
    tcb.pointer_guard = guard;
    tcb.self = (uintptr_t)&tcb;
    mirage_set_tls_base((uintptr_t)&tcb);
}

NOSP void mirage_tcb_init(void)
{
    mirage_tcb_init_seeded(NULL);
}
