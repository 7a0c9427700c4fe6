/* heap_guest.c: tcptest's heap figure on spt and hvt: the freestanding libc's own count. */
#include <stddef.h>

#include "mirage/heap.h"
#include "tcptest.h"

size_t tcptest_heap_used(void)
{
    return mirage_heap_used();
}
