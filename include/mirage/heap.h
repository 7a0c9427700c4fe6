/* heap.h: the heap (our libc's on spt and hvt, the host's on unix): accounting, growable arrays. */
#ifndef MIRAGE_HEAP_H
#define MIRAGE_HEAP_H

#include <stddef.h>

/* Bytes in blocks malloc has handed out and free has not taken back (usable
 * sizes, without block headers): 0 again once everything is freed. */
size_t mirage_heap_used(void);

/* Bytes of the heap region that are free, possibly in several pieces;
 * SIZE_MAX on unix, whose malloc has no limit of ours. */
size_t mirage_heap_free(void);

/* Logs the heap in use and its limit at debug level (source "memory"); the
 * generated main.c calls it once the boot keys have set the levels. */
void mirage_memory_boot_log(void);

/* Logs an error naming what could not be allocated, e.g. ("fiber", "echo",
 * stack bytes), and how much of the heap was in use. lib/runtime/memory.c. */
void mirage_memory_failed(const char *what, const char *name, size_t bytes);

/* The one growable array. (items) is the address of an array pointer (NULL
 * for none yet) holding *cap elements of (size) bytes; makes room for (need)
 * elements, growing to the largest of need, twice *cap and 4 elements.
 * Returns 0, or MIRAGE_ENOMEM (out of memory, or the size overflows) with the
 * array and *cap unchanged. lib/runtime/grow.c. */
int mirage_grow(void *items, size_t *cap, size_t need, size_t size);

#endif
