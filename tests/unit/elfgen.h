/* elfgen.h: builds small unikernel-shaped ELF images in memory for tests, fuzz seeds and e2e. */
#ifndef ELFGEN_H
#define ELFGEN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mirage/manifest.h"

/*
 * Layout of an image (offsets in the file):
 *   0x000  ELF header
 *   0x040  program headers: 0 text (R X), 1 data (R W), 2 PT_NOTE
 *   0x100  text, 16 bytes (ud2 at the entry point), at ELFGEN_VADDR
 *   0x110  data, 16 bytes in the file, 0x2000 in memory, at ELFGEN_VADDR + 0x1000
 *   0x120  the PT_NOTE segment: (pre) bytes, then (notes) MIRAGE notes
 */
#define ELFGEN_PH(i) (64 + 56 * (i))
#define ELFGEN_PHNUM 3
#define ELFGEN_TEXT  0x100
#define ELFGEN_DATA  0x110
#define ELFGEN_NOTES 0x120
#define ELFGEN_VADDR 0x100000ULL

/* Field offsets inside the ELF header and a program header. */
#define ELFGEN_E_TYPE      16
#define ELFGEN_E_MACHINE   18
#define ELFGEN_E_VERSION   20
#define ELFGEN_E_ENTRY     24
#define ELFGEN_E_PHOFF     32
#define ELFGEN_E_PHENTSIZE 54
#define ELFGEN_E_PHNUM     56
#define ELFGEN_P_TYPE      0
#define ELFGEN_P_FLAGS     4
#define ELFGEN_P_OFFSET    8
#define ELFGEN_P_VADDR     16
#define ELFGEN_P_FILESZ    32
#define ELFGEN_P_MEMSZ     40
#define ELFGEN_P_ALIGN     48

struct elfgen_dev {
    const char *name;
    uint32_t type;
};

struct elfgen {
    const struct elfgen_dev *devs;
    unsigned ndevs;
    unsigned notes;     /* MIRAGE notes to write: normally 1 */
    const uint8_t *pre; /* other notes before them, already padded */
    size_t npre;
};

static inline void elfgen_put(uint8_t *p, size_t off, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[off + i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t elfgen_get(const uint8_t *p, size_t off, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[off + i];
    return v;
}

/* Size of one MIRAGE note with (ndevs) entries. */
static inline size_t elfgen_note_size(unsigned ndevs)
{
    return 12 + 8 + 8 + (size_t)ndevs * 64;
}

/* Offset of the manifest descriptor of the first MIRAGE note in an image built with g. */
static inline size_t elfgen_manifest_off(const struct elfgen *g)
{
    return ELFGEN_NOTES + g->npre + 20;
}

static inline void elfgen_phdr(uint8_t *out, int i, uint32_t type, uint32_t flags, uint64_t off,
                               uint64_t vaddr, uint64_t filesz, uint64_t memsz, uint64_t align)
{
    size_t ph = ELFGEN_PH(i);

    elfgen_put(out, ph + ELFGEN_P_TYPE, type, 4);
    elfgen_put(out, ph + ELFGEN_P_FLAGS, flags, 4);
    elfgen_put(out, ph + ELFGEN_P_OFFSET, off, 8);
    elfgen_put(out, ph + ELFGEN_P_VADDR, vaddr, 8);
    elfgen_put(out, ph + 24, vaddr, 8); /* p_paddr */
    elfgen_put(out, ph + ELFGEN_P_FILESZ, filesz, 8);
    elfgen_put(out, ph + ELFGEN_P_MEMSZ, memsz, 8);
    elfgen_put(out, ph + ELFGEN_P_ALIGN, align, 8);
}

/* Writes the image (g) into out[cap], zeroing it first; returns its size or 0 if cap is short. */
static inline size_t elfgen_build(uint8_t *out, size_t cap, const struct elfgen *g)
{
    static const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    size_t note = elfgen_note_size(g->ndevs);
    size_t nlen = g->npre + g->notes * note;
    size_t size = ELFGEN_NOTES + nlen, pos = ELFGEN_NOTES;

    if (cap < size)
        return 0;
    memset(out, 0, size);
    memcpy(out, ident, sizeof(ident));
    elfgen_put(out, ELFGEN_E_TYPE, 2, 2);     /* ET_EXEC */
    elfgen_put(out, ELFGEN_E_MACHINE, 62, 2); /* EM_X86_64 */
    elfgen_put(out, ELFGEN_E_VERSION, 1, 4);
    elfgen_put(out, ELFGEN_E_ENTRY, ELFGEN_VADDR, 8);
    elfgen_put(out, ELFGEN_E_PHOFF, 64, 8);
    elfgen_put(out, 52, 64, 2); /* e_ehsize */
    elfgen_put(out, ELFGEN_E_PHENTSIZE, 56, 2);
    elfgen_put(out, ELFGEN_E_PHNUM, ELFGEN_PHNUM, 2);
    elfgen_phdr(out, 0, 1, 5, ELFGEN_TEXT, ELFGEN_VADDR, 16, 16, 0x1000);
    elfgen_phdr(out, 1, 1, 6, ELFGEN_DATA, ELFGEN_VADDR + 0x1000, 16, 0x2000, 0x1000);
    elfgen_phdr(out, 2, 4, 4, ELFGEN_NOTES, 0, nlen, 0, 4);
    out[ELFGEN_TEXT] = 0x0f; /* ud2: an image that runs only faults */
    out[ELFGEN_TEXT + 1] = 0x0b;
    if (g->npre > 0)
        memcpy(out + pos, g->pre, g->npre);
    pos += g->npre;
    for (unsigned n = 0; n < g->notes; n++) {
        elfgen_put(out, pos, 7, 4);
        elfgen_put(out, pos + 4, 8 + (uint64_t)g->ndevs * 64, 4);
        elfgen_put(out, pos + 8, MIRAGE_NOTE_TYPE, 4);
        memcpy(out + pos + 12, "MIRAGE", 7);
        elfgen_put(out, pos + 20, MIRAGE_MANIFEST_VERSION, 4);
        elfgen_put(out, pos + 24, g->ndevs, 4);
        for (unsigned i = 0; i < g->ndevs; i++) {
            size_t e = pos + 28 + (size_t)i * 64, len = strlen(g->devs[i].name);

            memcpy(out + e, g->devs[i].name, len < 60 ? len : 60);
            elfgen_put(out, e + 60, g->devs[i].type, 4);
        }
        pos += note;
    }
    return size;
}

#endif
