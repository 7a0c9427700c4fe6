/* vdso.c: finds the vDSO's clock_gettime, so that the guest reads clocks without a system call. */
#include <elf.h>
#include <sys/auxv.h>

#include "spt.h"

/*
 * The vDSO is a small shared object the kernel maps into every process,
 * section headers included. Its clock_gettime reads the kernel's clock pages
 * in user mode and falls back to the system call itself when the clock source
 * needs one (the filter allows clock_gettime for the clocks the guest uses).
 * The image comes from the running kernel; it is still read as untrusted
 * (tender_elf_symbol, fuzzed), within the size its own header gives.
 */
uint64_t spt_vdso_clock_gettime(void)
{
    const uint8_t *base = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    uint64_t size, off;

    if (base == NULL)
        return 0;
    /* The object ends with its section headers, the last thing it maps. */
    size = eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr);
    if (eh->e_shoff > (1u << 20) || size > (1u << 20))
        return 0;
    off = tender_elf_symbol(base, size, "__vdso_clock_gettime");
    return off == TENDER_NO_SYMBOL || off >= size ? 0 : (uint64_t)(uintptr_t)base + off;
}
