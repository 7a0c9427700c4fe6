/* cpu.h: x86-64 facts shared by libc, runtime, bindings and hvt tender: TSC, RDRAND, vectors. */
#ifndef MIRAGE_CPU_H
#define MIRAGE_CPU_H

#include <stdint.h>

/*
 * The one place that knows these instructions. Everything is inlined and
 * unprotected (no stack canary), so libc may call it before FS points at the
 * TCB that holds the canary. CPUID, a trap to the hypervisor (~8 us under PVM,
 * more from an hvt guest), is asked once per file that uses it.
 */
#define MIRAGE_CPU_FN static inline __attribute__((always_inline, no_stack_protector))

/* The time-stamp counter. */
MIRAGE_CPU_FN uint64_t mirage_cpu_tsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* CPUID leaf (leaf), subleaf 0, into r[0..4) = eax, ebx, ecx, edx. */
MIRAGE_CPU_FN void mirage_cpu_id(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

/* 64 bits from RDSEED (straight from the entropy source: preferred for
 * seeding), else RDRAND. Returns 1, or 0 with *out unchanged if the CPU has
 * neither or both keep failing (each may fail transiently; bounded retries). */
MIRAGE_CPU_FN int mirage_cpu_random(uint64_t *out)
{
    static int have = -1; /* bit 0: RDRAND, bit 1: RDSEED */
    uint32_t r[4];
    uint64_t v;
    unsigned char ok;

    if (have < 0) {
        mirage_cpu_id(0, r);
        uint32_t max_leaf = r[0];
        mirage_cpu_id(1, r);
        have = (int)((r[2] >> 30) & 1);
        if (max_leaf >= 7) {
            mirage_cpu_id(7, r);
            have |= (int)((r[1] >> 18) & 1) << 1;
        }
    }
    for (int i = 0; (have & 2) && i < 64; i++) {
        __asm__ volatile("rdseed %0; setc %1" : "=r"(v), "=qm"(ok));
        if (ok)
            return *out = v, 1;
        __asm__ volatile("pause");
    }
    for (int i = 0; (have & 1) && i < 32; i++) {
        __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
        if (ok)
            return *out = v, 1;
    }
    return 0;
}

/* The SplitMix64 finaliser: spreads every input bit over the output. */
MIRAGE_CPU_FN uint64_t mirage_cpu_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The low bits of TSC deltas around a loop vary with caches and interrupts;
 * many of them mixed give a value no one predicts cheaply. Weak: only for a
 * CPU without the random instructions, and never a generator on its own. */
MIRAGE_CPU_FN uint64_t mirage_cpu_jitter(uint64_t salt)
{
    uint64_t acc = mirage_cpu_tsc() ^ salt;

    for (int i = 0; i < 64; i++) {
        uint64_t t0 = mirage_cpu_tsc();
        for (volatile int j = 0; j < (int)(t0 & 15); j++) {
        }
        acc = mirage_cpu_mix(acc ^ (mirage_cpu_tsc() - t0) ^ ((uint64_t)i << 56));
    }
    return acc;
}

/* The name of exception vector (v), e.g. "#PF (page fault)", for fault
 * reports (the hvt tender's and the virtio binding's). */
static inline const char *mirage_cpu_vector_name(uint64_t v)
{
    static const char *const names[32] = {
        "#DE (divide error)",
        "#DB (debug)",
        "NMI",
        "#BP (breakpoint)",
        "#OF (overflow)",
        "#BR (bound range)",
        "#UD (invalid opcode)",
        "#NM (device not available)",
        "#DF (double fault)",
        "vector 9",
        "#TS (invalid TSS)",
        "#NP (segment not present)",
        "#SS (stack fault)",
        "#GP (general protection)",
        "#PF (page fault)",
        "vector 15",
        "#MF (x87 floating point)",
        "#AC (alignment check)",
        "#MC (machine check)",
        "#XM (SIMD floating point)",
        "#VE (virtualization)",
        "#CP (control protection)",
        "vector 22",
        "vector 23",
        "vector 24",
        "vector 25",
        "vector 26",
        "vector 27",
        "vector 28",
        "vector 29",
        "vector 30",
        "vector 31",
    };
    return v < 32 ? names[v] : "an interrupt vector above 31";
}

/* Whether the CPU pushes an error code for exception vector (v). */
static inline int mirage_cpu_vector_has_error_code(uint64_t v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

#endif
