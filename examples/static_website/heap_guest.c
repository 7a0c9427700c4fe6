/* heap_guest.c: the site's heap figure on spt and hvt: the freestanding libc's own count. */
#include <stddef.h>

#include "mirage/heap.h"
#include "site.h"

size_t site_heap_used(void)
{
    return mirage_heap_used();
}
