/* grow.c: the one growable array (heap.h): an overflow-checked doubling realloc. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/heap.h"

int mirage_grow(void *items, size_t *cap, size_t need, size_t size)
{
    void *old, *grown;
    size_t n;

    if (need <= *cap)
        return 0;
    n = *cap <= SIZE_MAX / 2 ? *cap * 2 : SIZE_MAX;
    if (n < need)
        n = need;
    if (n < 4)
        n = 4;
    if (size == 0 || n > SIZE_MAX / size)
        return MIRAGE_ENOMEM;
    memcpy(&old, items, sizeof old); /* (items) points at a T *, whatever T is */
    grown = realloc(old, n * size);
    if (grown == NULL)
        return MIRAGE_ENOMEM;
    memcpy(items, &grown, sizeof grown);
    *cap = n;
    return 0;
}
