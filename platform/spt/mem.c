/* mem.c: the spt binding's guard pages for fiber stacks: mprotect within the heap. */
#include "sys.h"

#define PAGE          4096
#define SPT_PROT_NONE 0
#define SPT_PROT_RW   3

/*
 * The tender's filter allows mprotect only with PROT_NONE or read/write, on
 * whole pages inside the heap, and only while the heap ends below 4 GiB (its
 * checks compare 32-bit words): outside that the call would end the guest,
 * so it is refused here first and the runtime keeps to its canaries.
 */
int mirage_mem_guard(void *page, size_t len, int guard)
{
    uint64_t start = spt_boot->heap_start, end = start + spt_boot->heap_size;
    uint64_t a = (uint64_t)(uintptr_t)page;

    if ((a & (PAGE - 1)) != 0 || len == 0 || (len & (PAGE - 1)) != 0 || end > 0xffffffffULL ||
        a < start || a > end || len > end - a)
        return MIRAGE_EINVAL;
    if (spt_syscall3(SYS_mprotect, (long)a, (long)len, guard ? SPT_PROT_NONE : SPT_PROT_RW) != 0)
        return MIRAGE_EINVAL;
    return 0;
}
