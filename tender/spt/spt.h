/* spt.h: the parts of mirage-spt: image mapping, the seccomp filter, fault reports. */
#ifndef TENDER_SPT_H
#define TENDER_SPT_H

#include <stdint.h>

#include "mirage/abi/spt.h"
#include "tender.h"

/* Opens the image at (path), maps it read-only and parses it into (img).
 * Returns the open file descriptor, or -1 with (err). */
int spt_image_open(const char *path, struct tender_image *img, char *err);

/* Maps each PT_LOAD segment of (img) from (fd) at its address with its own
 * protection (bss zeroed). Returns 0 or -1 with (err). */
int spt_image_map(int fd, const struct tender_image *img, char *err);

/* Guest memory right above the image: the boot info at its start, then the
 * heap, a guard page and the initial stack at its top. */
struct spt_guest_mem {
    struct spt_boot_info *boot;
    uint64_t stack_top; /* 16-byte aligned */
    uint64_t guard;     /* the inaccessible page below the stack */
};

/* Maps (bytes) of guest memory at (base). Returns 0 or -1 with (err). */
int spt_guest_map(uint64_t base, uint64_t bytes, struct spt_guest_mem *mem, char *err);

/* Installs the seccomp filter allowing exactly what the ABI (mirage/abi/spt.h)
 * promises for (boot)'s devices, and what the fault handlers need.
 * Returns 0 or -1 with (err). */
int spt_filter_install(const struct spt_boot_info *boot, const struct tender_core *core,
                       char *err);

/* Installs the handlers that turn a guest fault or a forbidden system call
 * into a message and the tender's exit status; a fault on the page at (guard)
 * is named a stack overflow, a read or write fault in [heap_start, heap_end)
 * a fiber's (its guard page). Returns 0 or -1 with (err). */
int spt_faults_catch(uint64_t guard, uint64_t heap_start, uint64_t heap_end, char *err);

/* --dumpcore: a fault or an abort also writes (core) with the guest's
 * memory: the image [image_lo, mem_lo) and [mem_lo, mem_hi); (fiber_sym) is
 * mirage_fiber_running's address (TENDER_NO_SYMBOL: unknown); (name) the image's. */
void spt_faults_core(const struct tender_core *core, uint64_t image_lo, uint64_t mem_lo,
                     uint64_t mem_hi, uint64_t fiber_sym, const char *name);

/* The address of the vDSO's clock_gettime in this process, or 0. */
uint64_t spt_vdso_clock_gettime(void);

#endif
