/* tcb.c: the TCB that holds the stack-protector canary, seeded by the tender or the CPU at boot. */
#include <stddef.h>
#include <stdint.h>

#include "mirage/error.h"
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

/*
 * The image's thread-local variables (_Thread_local): the linker script lays
 * out the template (.tdata then .tbss, PT_TLS aligned to 64) and names it;
 * weak, so that objects built without that script (the host's libc tests)
 * see an empty template. x86_64 places a thread's variables just below its
 * thread pointer, which is the TCB: a block is [variables | TCB].
 */
extern const uint8_t _mirage_tdata_start[] __attribute__((weak));
extern const uint8_t _mirage_tdata_size[] __attribute__((weak));
extern const uint8_t _mirage_tls_memsz[] __attribute__((weak));

#define TLS_ALIGN    64
#define TLS_BOOT_MAX 4096 /* the linker scripts refuse a larger template */

INLINE size_t vars_size(void)
{
    return ((uintptr_t)_mirage_tls_memsz + TLS_ALIGN - 1) & ~(uintptr_t)(TLS_ALIGN - 1);
}

/* The boot thread's block: room for the variables, then the TCB. */
static struct {
    uint8_t vars[TLS_BOOT_MAX];
    struct tcb tcb;
} boot __attribute__((aligned(TLS_ALIGN)));

/* .tdata copied, .tbss zeroed, below (t), the TCB of a block. */
INLINE void fill_vars(struct tcb *t)
{
    uint8_t *vars = (uint8_t *)t - vars_size();
    size_t data = (uintptr_t)_mirage_tdata_size;

    for (size_t i = 0; i < vars_size(); i++)
        vars[i] = i < data ? _mirage_tdata_start[i] : 0;
}

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
    uint64_t acc = rdtsc() ^ (uintptr_t)&boot.tcb;

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
    boot.tcb.canary = canary & ~(uintptr_t)0xff;
    boot.tcb.pointer_guard = guard;
    boot.tcb.self = (uintptr_t)&boot.tcb;
    fill_vars(&boot.tcb);
    mirage_set_tls_base((uintptr_t)&boot.tcb);
}

size_t mirage_tcb_block_size(void)
{
    return vars_size() + sizeof(struct tcb);
}

uintptr_t mirage_tcb_block_tp(uintptr_t block)
{
    return block + vars_size();
}

NOSP int mirage_tcb_block_init(uintptr_t block)
{
    struct tcb *t = (struct tcb *)mirage_tcb_block_tp(block);
    const struct tcb *running;

    if (block % TLS_ALIGN != 0)
        return MIRAGE_EINVAL;
    __asm__ volatile("movq %%fs:0, %0" : "=r"(running));
    fill_vars(t);
    *t = (struct tcb){0};
    t->self = (uintptr_t)t;
    /* The running canary: code active across a switch to this block checks it. */
    t->canary = running->canary;
    t->pointer_guard = running->pointer_guard;
    return 0;
}

NOSP void mirage_tcb_init(void)
{
    mirage_tcb_init_seeded(NULL);
}
