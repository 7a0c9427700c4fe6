/* memory.c: the heap in use and its limit, logged at boot (debug) and when an allocation fails. */
#include <stdint.h>
#include <stdio.h>

#include "mirage/heap.h"
#include "mirage/log.h"
#include "mirage/platform.h"

MIRAGE_LOG_SOURCE(memory_log, "memory", "the heap at boot, and allocations that failed");

/*
 * Weak: the unit tests' fake platforms have no heap accounting, and a
 * message without figures is better than none.
 */
#pragma weak mirage_heap_used
#pragma weak mirage_heap_free

/* What the heap holds now: "N KiB in use of M KiB" (spt, hvt: the libc's
 * heap, all of --mem but the image, stacks and rings) or "N KiB in use, no
 * limit" (unix: the host's malloc). */
static void describe(char *buf, size_t size)
{
    size_t used, free_bytes;

    if (mirage_heap_used == NULL || mirage_heap_free == NULL) {
        snprintf(buf, size, "heap use unknown");
        return;
    }
    used = mirage_heap_used();
    free_bytes = mirage_heap_free();
    if (free_bytes == SIZE_MAX)
        snprintf(buf, size, "heap %zu KiB in use, no limit (the host's malloc)", used >> 10);
    else
        snprintf(buf, size, "heap %zu KiB in use of %zu KiB (%zu KiB free)", used >> 10,
                 (used + free_bytes) >> 10, free_bytes >> 10);
}

void mirage_memory_boot_log(void)
{
    char heap[120];

    if (!mirage_log_enabled(&memory_log, MIRAGE_LOG_DEBUG))
        return;
    describe(heap, sizeof(heap));
    mirage_log_debug(&memory_log, "boot: %s", heap);
}

void mirage_memory_failed(const char *what, const char *name, size_t bytes)
{
    char heap[120];

    describe(heap, sizeof(heap));
    mirage_log_err(&memory_log, "no memory for %s '%s' (%zu KiB): %s", what, name ? name : "",
                   (bytes + 1023) >> 10, heap);
}
