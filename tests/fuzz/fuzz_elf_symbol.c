/* fuzz_elf_symbol.c: the ELF symbol lookups (spt's vDSO clock, the tenders' mirage_fiber_running) on any bytes. */
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
    /* The static symbol table (--dumpcore's fiber name): likewise. */
    off = tender_elf_object(data, size, "mirage_fiber_running");
    if (off != TENDER_NO_SYMBOL && memmem(data, size, "mirage_fiber_running", 21) == NULL)
        abort();
    return 0;
}
