/* heap_unix.c: the site's heap figure on unix: bytes glibc's malloc has handed out. */
#include <malloc.h>
#include <stddef.h>

#include "site.h"

size_t site_heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}
