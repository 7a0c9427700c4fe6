/* elf.c: validating an untrusted unikernel ELF file: headers, loadable segments, manifest note. */
#include <elf.h>
#include <string.h>

#include "internal.h"
#include "tender.h"

#define PAGE     4096ULL
#define NOTE_HDR 12u

_Static_assert(sizeof(Elf64_Ehdr) == 64, "ELF header layout");
_Static_assert(sizeof(Elf64_Phdr) == 56, "program header layout");

/* The file as a bounds-checked byte range: every read names its offset and
 * fails rather than reach past the end. */
struct view {
    const uint8_t *p;
    size_t len;
};

static int in_file(const struct view *v, uint64_t off, uint64_t n)
{
    return off <= v->len && n <= v->len - off;
}

static uint64_t le(const struct view *v, uint64_t off, unsigned n)
{
    uint64_t x = 0;

    if (!in_file(v, off, n))
        return 0; /* unreachable: callers check ranges first */
    for (unsigned i = n; i-- > 0;)
        x = x << 8 | v->p[off + i];
    return x;
}

static uint64_t round_up(uint64_t x, uint64_t align)
{
    return (x + align - 1) & ~(align - 1);
}

struct note {
    int found;
    const uint8_t *desc;
    size_t size;
};

static int is_manifest(const struct view *v, uint64_t name_off, uint32_t namesz, uint32_t type)
{
    return type == MIRAGE_NOTE_TYPE && namesz == sizeof(MIRAGE_NOTE_NAME) &&
           memcmp(v->p + name_off, MIRAGE_NOTE_NAME, sizeof(MIRAGE_NOTE_NAME)) == 0;
}

/* Walks the notes of PT_NOTE segment (idx) at file bytes [start, start+len). */
static int walk_notes(const struct view *v, unsigned idx, uint64_t start, uint64_t len,
                      uint64_t align, struct note *note, char *err)
{
    uint64_t off = 0;

    while (off < len) {
        uint64_t rest = len - off, desc_off, next;
        uint32_t namesz, descsz, type;

        if (rest < NOTE_HDR)
            return tender_fail(err,
                               "segment %u: note at offset %llu: header runs past the "
                               "segment",
                               idx, (unsigned long long)off);
        namesz = (uint32_t)le(v, start + off, 4);
        descsz = (uint32_t)le(v, start + off + 4, 4);
        type = (uint32_t)le(v, start + off + 8, 4);
        /* Offsets from the note's start; (align) pads the name and the descriptor. */
        desc_off = round_up(NOTE_HDR + (uint64_t)namesz, align);
        if (desc_off > rest)
            return tender_fail(err,
                               "segment %u: note at offset %llu: name size %u runs past "
                               "the segment",
                               idx, (unsigned long long)off, namesz);
        if (descsz > rest - desc_off)
            return tender_fail(err,
                               "segment %u: note at offset %llu: descriptor size %u runs "
                               "past the segment",
                               idx, (unsigned long long)off, descsz);
        if (is_manifest(v, start + off + NOTE_HDR, namesz, type)) {
            if (note->found)
                return tender_fail(err, "more than one MIRAGE manifest note");
            note->found = 1;
            note->desc = v->p + start + off + desc_off;
            note->size = descsz;
        }
        /* The last note's padding may be left out of the segment. */
        next = round_up(desc_off + descsz, align);
        if (next > rest)
            break;
        off += next;
    }
    return 0;
}

static int check_load(const struct view *v, unsigned idx, const struct tender_segment *s, char *err)
{
    if (s->vaddr % PAGE != 0)
        return tender_fail(err, "segment %u: address 0x%llx is not page-aligned", idx,
                           (unsigned long long)s->vaddr);
    if (s->filesz > s->memsz)
        return tender_fail(err, "segment %u: file size 0x%llx exceeds memory size 0x%llx", idx,
                           (unsigned long long)s->filesz, (unsigned long long)s->memsz);
    if (!in_file(v, s->offset, s->filesz))
        return tender_fail(err,
                           "segment %u: file bytes 0x%llx+0x%llx run past the end of the "
                           "file (%zu bytes)",
                           idx, (unsigned long long)s->offset, (unsigned long long)s->filesz,
                           v->len);
    if (s->vaddr < TENDER_IMAGE_MIN || s->vaddr >= TENDER_IMAGE_MAX ||
        s->memsz > TENDER_IMAGE_MAX - s->vaddr)
        return tender_fail(err, "segment %u: 0x%llx+0x%llx is outside 0x%llx-0x%llx", idx,
                           (unsigned long long)s->vaddr, (unsigned long long)s->memsz,
                           TENDER_IMAGE_MIN, TENDER_IMAGE_MAX);
    if ((s->flags & PF_W) && (s->flags & PF_X))
        return tender_fail(err, "segment %u is writable and executable", idx);
    return 0;
}

/* Permissions are set per page, so segments may not even share a page. */
static int check_overlap(const struct tender_image *img, const unsigned *idx, char *err)
{
    for (unsigned i = 0; i < img->nsegs; i++) {
        const struct tender_segment *a = &img->segs[i];
        uint64_t a_end = round_up(a->vaddr + a->memsz, PAGE);

        for (unsigned j = i + 1; j < img->nsegs; j++) {
            const struct tender_segment *b = &img->segs[j];
            uint64_t b_end = round_up(b->vaddr + b->memsz, PAGE);

            if (a->vaddr < b_end && b->vaddr < a_end)
                return tender_fail(err, "segments %u and %u overlap", idx[i], idx[j]);
        }
    }
    return 0;
}

static int check_ehdr(const struct view *v, uint16_t *phnum, uint64_t *phoff, char *err)
{
    static const uint8_t magic[SELFMAG] = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3};
    uint64_t type, machine, version, phentsize;

    if (v->len < SELFMAG || memcmp(v->p, magic, SELFMAG) != 0)
        return tender_fail(err, "not an ELF file");
    if (v->len < sizeof(Elf64_Ehdr))
        return tender_fail(err, "truncated ELF: header ends at %zu, file is %zu bytes",
                           sizeof(Elf64_Ehdr), v->len);
    if (v->p[EI_CLASS] != ELFCLASS64)
        return tender_fail(err, "not a 64-bit ELF file (class %u)", v->p[EI_CLASS]);
    if (v->p[EI_DATA] != ELFDATA2LSB)
        return tender_fail(err, "not a little-endian ELF file (data encoding %u)", v->p[EI_DATA]);
    version = le(v, offsetof(Elf64_Ehdr, e_version), 4);
    if (v->p[EI_VERSION] != EV_CURRENT || version != EV_CURRENT)
        return tender_fail(err, "unsupported ELF version %u/%llu", v->p[EI_VERSION],
                           (unsigned long long)version);
    machine = le(v, offsetof(Elf64_Ehdr, e_machine), 2);
    if (machine != EM_X86_64)
        return tender_fail(err, "not an x86_64 ELF file (machine %llu)",
                           (unsigned long long)machine);
    type = le(v, offsetof(Elf64_Ehdr, e_type), 2);
    if (type == ET_DYN)
        return tender_fail(err, "not an executable ELF file (type 3: shared object or PIE)");
    if (type != ET_EXEC)
        return tender_fail(err, "not an executable ELF file (type %llu)", (unsigned long long)type);
    phentsize = le(v, offsetof(Elf64_Ehdr, e_phentsize), 2);
    if (phentsize != sizeof(Elf64_Phdr))
        return tender_fail(err, "program header size is %llu, expected %zu",
                           (unsigned long long)phentsize, sizeof(Elf64_Phdr));
    *phnum = (uint16_t)le(v, offsetof(Elf64_Ehdr, e_phnum), 2);
    *phoff = le(v, offsetof(Elf64_Ehdr, e_phoff), 8);
    if (*phnum == 0)
        return tender_fail(err, "no program headers");
    if (*phnum == PN_XNUM)
        return tender_fail(err, "too many program headers (extended numbering)");
    /* phnum * 56 < 2^22: only the addition can overflow. */
    if (!in_file(v, *phoff, (uint64_t)*phnum * sizeof(Elf64_Phdr))) {
        if (*phoff > UINT64_MAX - (uint64_t)*phnum * sizeof(Elf64_Phdr))
            return tender_fail(err,
                               "truncated ELF: program headers at 0x%llx are past the "
                               "end, file is %zu bytes",
                               (unsigned long long)*phoff, v->len);
        return tender_fail(err, "truncated ELF: program headers end at %llu, file is %zu bytes",
                           (unsigned long long)(*phoff + *phnum * sizeof(Elf64_Phdr)), v->len);
    }
    return 0;
}

static int entry_ok(const struct tender_image *img)
{
    for (unsigned i = 0; i < img->nsegs; i++) {
        const struct tender_segment *s = &img->segs[i];

        if ((s->flags & PF_X) && img->entry >= s->vaddr && img->entry - s->vaddr < s->filesz)
            return 1;
    }
    return 0;
}

int tender_elf_parse(const uint8_t *data, size_t size, struct tender_image *img, char *err)
{
    struct view v = {data, size};
    struct note note = {0, NULL, 0};
    unsigned load_idx[TENDER_MAX_SEGS];
    uint16_t phnum = 0;
    uint64_t phoff = 0;

    /* The segment and device arrays are filled as far as nsegs and ndevs
     * count; zeroing all of them would touch pages for nothing. */
    img->entry = 0;
    img->lo = img->hi = 0;
    img->nsegs = img->ndevs = 0;
    if (check_ehdr(&v, &phnum, &phoff, err) < 0)
        return -1;
    img->entry = le(&v, offsetof(Elf64_Ehdr, e_entry), 8);

    for (unsigned i = 0; i < phnum; i++) {
        uint64_t ph = phoff + (uint64_t)i * sizeof(Elf64_Phdr);
        uint32_t type = (uint32_t)le(&v, ph + offsetof(Elf64_Phdr, p_type), 4);
        struct tender_segment s = {
            .vaddr = le(&v, ph + offsetof(Elf64_Phdr, p_vaddr), 8),
            .memsz = le(&v, ph + offsetof(Elf64_Phdr, p_memsz), 8),
            .filesz = le(&v, ph + offsetof(Elf64_Phdr, p_filesz), 8),
            .offset = le(&v, ph + offsetof(Elf64_Phdr, p_offset), 8),
            .flags = (uint32_t)le(&v, ph + offsetof(Elf64_Phdr, p_flags), 4),
        };

        if (type == PT_INTERP && in_file(&v, s.offset, s.filesz) &&
            s.filesz == sizeof(TENDER_INTERP) &&
            memcmp(data + s.offset, TENDER_INTERP, sizeof(TENDER_INTERP)) == 0)
            continue;
        if (type == PT_INTERP)
            return tender_fail(err,
                               "segment %u asks for a dynamic loader: not a static "
                               "unikernel image",
                               i);
        if (type == PT_NOTE) {
            uint64_t align = le(&v, ph + offsetof(Elf64_Phdr, p_align), 8) == 8 ? 8 : 4;

            if (!in_file(&v, s.offset, s.filesz))
                return tender_fail(err,
                                   "segment %u: note bytes 0x%llx+0x%llx run past the "
                                   "end of the file (%zu bytes)",
                                   i, (unsigned long long)s.offset, (unsigned long long)s.filesz,
                                   size);
            if (walk_notes(&v, i, s.offset, s.filesz, align, &note, err) < 0)
                return -1;
            continue;
        }
        /* An empty PT_LOAD loads nothing; linker scripts can leave one behind. */
        if (type != PT_LOAD || (s.memsz == 0 && s.filesz == 0))
            continue;
        if (img->nsegs == TENDER_MAX_SEGS)
            return tender_fail(err, "too many loadable segments (at most %d)", TENDER_MAX_SEGS);
        s.flags &= PF_R | PF_W | PF_X;
        if (check_load(&v, i, &s, err) < 0)
            return -1;
        load_idx[img->nsegs] = i;
        img->segs[img->nsegs++] = s;
    }

    if (img->nsegs == 0)
        return tender_fail(err, "no loadable segments");
    if (check_overlap(img, load_idx, err) < 0)
        return -1;
    img->lo = TENDER_IMAGE_MAX;
    for (unsigned i = 0; i < img->nsegs; i++) {
        uint64_t end = round_up(img->segs[i].vaddr + img->segs[i].memsz, PAGE);

        if (img->segs[i].vaddr < img->lo)
            img->lo = img->segs[i].vaddr;
        if (end > img->hi)
            img->hi = end;
    }
    if (!entry_ok(img))
        return tender_fail(err, "entry point 0x%llx is not inside an executable segment",
                           (unsigned long long)img->entry);
    if (!note.found)
        return tender_fail(err, "no MIRAGE manifest note");
    return tender_manifest_parse(note.desc, note.size, img, err);
}

/* The value of symbol (name) from the first symbol table of type (sht) in
 * the section headers, a function if (func), else any defined symbol; every
 * read bounds-checked against the file, since the headers themselves might lie. */
static uint64_t sym_value(const struct view *v, unsigned sht, int func, const char *name)
{
    const size_t want = strlen(name) + 1;
    uint64_t shoff = le(v, 40, 8);
    unsigned shnum = (unsigned)le(v, 60, 2);

    if (shoff > v->len || (uint64_t)shnum * sizeof(Elf64_Shdr) > v->len - shoff)
        return TENDER_NO_SYMBOL;
    for (unsigned i = 0; i < shnum; i++) {
        uint64_t sh = shoff + (uint64_t)i * sizeof(Elf64_Shdr), str, syms, nsyms, strsz, link;

        if (le(v, sh + 4, 4) != sht || le(v, sh + 56, 8) != sizeof(Elf64_Sym))
            continue;
        link = le(v, sh + 40, 4);
        syms = le(v, sh + 24, 8);
        nsyms = le(v, sh + 32, 8) / sizeof(Elf64_Sym);
        if (link >= shnum || !in_file(v, syms, nsyms * sizeof(Elf64_Sym)))
            continue;
        str = le(v, shoff + link * sizeof(Elf64_Shdr) + 24, 8);
        strsz = le(v, shoff + link * sizeof(Elf64_Shdr) + 32, 8);
        if (!in_file(v, str, strsz))
            continue;
        for (uint64_t k = 0; k < nsyms; k++) {
            uint64_t s = syms + k * sizeof(Elf64_Sym), sname = le(v, s, 4);
            unsigned type = ELF64_ST_TYPE(v->p[s + 4]);

            if ((func ? type != STT_FUNC : type != STT_OBJECT) || le(v, s + 6, 2) == SHN_UNDEF ||
                sname >= strsz || strsz - sname < want ||
                memcmp(v->p + str + sname, name, want) != 0)
                continue;
            return le(v, s + 8, 8);
        }
    }
    return TENDER_NO_SYMBOL;
}

static int elf64_headers_ok(const struct view *v)
{
    return in_file(v, 0, sizeof(Elf64_Ehdr)) && memcmp(v->p, ELFMAG, SELFMAG) == 0 &&
           v->p[EI_CLASS] == ELFCLASS64 && v->p[EI_DATA] == ELFDATA2LSB &&
           le(v, 58, 2) == sizeof(Elf64_Shdr) && le(v, 54, 2) == sizeof(Elf64_Phdr);
}

/*
 * A dynamic symbol's address in an ELF object loaded as it lies in memory
 * (the vDSO): the symbol table comes from the section headers (SHT_DYNSYM and
 * its string table), the address is relative to (data), through the first
 * PT_LOAD's file offset and address.
 */
uint64_t tender_elf_symbol(const uint8_t *data, size_t size, const char *name)
{
    const struct view v = {data, size};
    uint64_t phoff, bias_off = 0, bias_vaddr = 0, val;
    unsigned phnum, found_load = 0;

    if (!elf64_headers_ok(&v))
        return TENDER_NO_SYMBOL;
    phoff = le(&v, 32, 8);
    phnum = (unsigned)le(&v, 56, 2);
    if (phoff > size || (uint64_t)phnum * sizeof(Elf64_Phdr) > size - phoff)
        return TENDER_NO_SYMBOL;
    for (unsigned i = 0; i < phnum && !found_load; i++) {
        uint64_t ph = phoff + (uint64_t)i * sizeof(Elf64_Phdr);

        if (le(&v, ph, 4) == PT_LOAD) {
            bias_off = le(&v, ph + 8, 8);
            bias_vaddr = le(&v, ph + 16, 8);
            found_load = 1;
        }
    }
    if (!found_load || (val = sym_value(&v, SHT_DYNSYM, 1, name)) == TENDER_NO_SYMBOL)
        return TENDER_NO_SYMBOL;
    return val - bias_vaddr + bias_off;
}

uint64_t tender_elf_object(const uint8_t *data, size_t size, const char *name)
{
    const struct view v = {data, size};

    if (!elf64_headers_ok(&v))
        return TENDER_NO_SYMBOL;
    return sym_value(&v, SHT_SYMTAB, 0, name);
}
