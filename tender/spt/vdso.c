/* vdso.c: finds the vDSO's clock_gettime, so that the guest reads clocks without a system call. */
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>

#include "spt.h"

/*
 * The vDSO is a small shared object the kernel maps into every process,
 * section headers included. Its clock_gettime reads the kernel's clock pages
 * in user mode and falls back to the system call itself when the clock source
 * needs one (the filter allows clock_gettime for the clocks the guest uses).
 * The image comes from the running kernel, but it is still read with every
 * offset checked against the size its own headers give.
 */
uint64_t spt_vdso_clock_gettime(void)
{
    const uint8_t *base = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    const Elf64_Shdr *sh;
    uint64_t size, bias = 0;
    int have_bias = 0;

    if (base == NULL || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_phentsize != sizeof(Elf64_Phdr))
        return 0;
    /* The mapping's size: the end of the section header table bounds every read. */
    size = eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr);
    if (eh->e_shoff < sizeof(*eh) || size > (1u << 20) ||
        eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size)
        return 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff) + i;

        if (ph->p_type == PT_LOAD && !have_bias) {
            bias = (uint64_t)(uintptr_t)base + ph->p_offset - ph->p_vaddr;
            have_bias = 1;
        }
    }
    sh = (const Elf64_Shdr *)(base + eh->e_shoff);
    for (unsigned i = 0; have_bias && i < eh->e_shnum; i++) {
        const Elf64_Shdr *syms = &sh[i], *strs;

        if (syms->sh_type != SHT_DYNSYM || syms->sh_link >= eh->e_shnum ||
            syms->sh_entsize != sizeof(Elf64_Sym) || syms->sh_offset > size ||
            syms->sh_size > size - syms->sh_offset)
            continue;
        strs = &sh[syms->sh_link];
        if (strs->sh_offset > size || strs->sh_size > size - strs->sh_offset)
            continue;
        for (uint64_t k = 0; k < syms->sh_size / sizeof(Elf64_Sym); k++) {
            const Elf64_Sym *s = (const Elf64_Sym *)(base + syms->sh_offset) + k;
            static const char want[] = "__vdso_clock_gettime";

            if (s->st_name >= strs->sh_size || strs->sh_size - s->st_name < sizeof(want) ||
                ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF)
                continue;
            if (memcmp(base + strs->sh_offset + s->st_name, want, sizeof(want)) == 0)
                return bias + s->st_value;
        }
    }
    return 0;
}
