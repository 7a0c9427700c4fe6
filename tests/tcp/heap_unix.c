/* heap_unix.c: tcptest's heap figure on unix: bytes glibc's malloc has handed out. */
#include <malloc.h>
#include <stddef.h>

#include "tcptest.h"

size_t tcptest_heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}
