/* heap.h: accounting of the freestanding libc's heap (spt and hvt). */
#ifndef MIRAGE_HEAP_H
#define MIRAGE_HEAP_H

#include <stddef.h>

/* Bytes in blocks malloc has handed out and free has not taken back (usable
 * sizes, without block headers): 0 again once everything is freed. */
size_t mirage_heap_used(void);

/* Bytes of the heap region that are free, possibly in several pieces. */
size_t mirage_heap_free(void);

#endif
