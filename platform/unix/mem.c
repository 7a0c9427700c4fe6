/* mem.c: the unix target's guard pages for fiber stacks (mprotect) and its heap accounting (glibc). */
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>

#include "mirage/heap.h"
#include "mirage/platform.h"

int mirage_mem_guard(void *page, size_t len, int guard)
{
    if (((uintptr_t)page & 4095) != 0 || len == 0 || (len & 4095) != 0)
        return MIRAGE_EINVAL;
    return mprotect(page, len, guard ? PROT_NONE : PROT_READ | PROT_WRITE) == 0 ? 0 : MIRAGE_EINVAL;
}

size_t mirage_heap_used(void)
{
    struct mallinfo2 m = mallinfo2();

    return m.uordblks + m.hblkhd; /* small blocks and mmap()ed large ones */
}

size_t mirage_heap_free(void)
{
    return SIZE_MAX;
}
