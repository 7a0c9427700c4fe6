/* tcb.c: the TCB that holds the stack-protector canary, seeded by the tender or the CPU at boot. */
#include <stddef.h>
#include <stdint.h>

#include "mirage/cpu.h"
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

/* 64 bits for the canary: the CPU's random instructions, else TSC jitter. */
INLINE uint64_t cpu_random(void)
{
    uint64_t v;

    return mirage_cpu_random(&v) ? v : mirage_cpu_jitter((uintptr_t)&boot.tcb);
}

NOSP void mirage_tcb_init_seeded(const uint64_t seed[2])
{
    uint64_t canary, guard;

    if (seed != NULL && (seed[0] | seed[1]) != 0) {
        canary = seed[0];
        guard = seed[1];
    } else {
        canary = cpu_random();
        guard = cpu_random();
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
