/* tcb.h: the thread control block that holds the stack-protector canary (spt and hvt). */
#ifndef MIRAGE_TCB_H
#define MIRAGE_TCB_H

#include <stddef.h>
#include <stdint.h>

/* Fills the libc's static TCB (self-pointer at offset 0, canary at 0x28, the
 * layout glibc-built objects such as BearSSL's read through %fs) with the
 * canary and pointer guard taken from (seed): 16 random bytes the tender
 * already has (its getrandom), which spares the guest the CPUID and RDRAND
 * traps at boot. A NULL or all-zero seed falls back to mirage/cpu.h (RDSEED,
 * else RDRAND, else TSC jitter). Points FS at it with mirage_set_tls_base().
 * The bindings call it first thing from _start: it and its callees run
 * without stack protection, and no function that is active across the call
 * may be protected (the canary changes under it). */
void mirage_tcb_init_seeded(const uint64_t seed[2]);

/* A thread block for the image's _Thread_local variables: its variables (the
 * .tdata copy and zeroed .tbss), then a TCB. The boot thread has one from
 * mirage_tcb_init_seeded(); these make more, for Solo5's solo5_tls_* API. */
size_t mirage_tcb_block_size(void);
/* The thread pointer of the block at (block): what FS must hold. */
uintptr_t mirage_tcb_block_tp(uintptr_t block);
/* Fills the block at (block), mirage_tcb_block_size() bytes aligned to 64:
 * variables from the image, the TCB's self-pointer, and the canary and
 * pointer guard now in use (functions active across a switch keep working).
 * Returns 0 or MIRAGE_EINVAL for a misaligned block. */
int mirage_tcb_block_init(uintptr_t block);

#endif
