/* mem.c: the unix target's guard pages for fiber stacks, with mprotect. */
#include <sys/mman.h>

#include "mirage/platform.h"

int mirage_mem_guard(void *page, size_t len, int guard)
{
    if (((uintptr_t)page & 4095) != 0 || len == 0 || (len & 4095) != 0)
        return MIRAGE_EINVAL;
    return mprotect(page, len, guard ? PROT_NONE : PROT_READ | PROT_WRITE) == 0 ? 0 : MIRAGE_EINVAL;
}
