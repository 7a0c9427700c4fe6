/* fuzz_elf_symbol.c: the in-memory ELF symbol lookup (spt finds the vDSO clock) on any bytes. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tender.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t off = tender_elf_symbol(data, size, "__vdso_clock_gettime");

    /* Found means the name really is in the bytes. */
    if (off != TENDER_NO_SYMBOL && memmem(data, size, "__vdso_clock_gettime", 21) == NULL)
        abort();
    return 0;
}
