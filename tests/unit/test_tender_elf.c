/* test_tender_elf.c: the tender's ELF image parser on valid images and every malformed kind. */
#include <elf.h>
#include <stdlib.h>

#include "check.h"
#include "elfgen.h"
#include "tender.h"

static const struct elfgen_dev two[] = {{"service", MIRAGE_DEV_NET}, {"storage", MIRAGE_DEV_BLOCK}};
static const struct elfgen std = {two, 2, 1, NULL, 0};

static uint8_t buf[16384];
static size_t len;
static struct tender_image img;
static char err[TENDER_ERR_MAX];

static void build(const struct elfgen *g)
{
    len = elfgen_build(buf, sizeof(buf), g);
    CHECK(len > 0);
}

/* Parses a heap copy of exactly (size) bytes, so ASan sees any read past the end. */
static int parse(size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    int rc;

    memcpy(copy, buf, size);
    err[0] = '\0';
    rc = tender_elf_parse(copy, size, &img, err);
    free(copy);
    return rc;
}

#define PUT(off, v, n) elfgen_put(buf, (off), (v), (n))
#define PH(i, field)   (ELFGEN_PH(i) + ELFGEN_P_##field)

#define REFUSED(msg)                                                                               \
    do {                                                                                           \
        CHECK_INT(parse(len), -1);                                                                 \
        CHECK_STR(err, msg);                                                                       \
    } while (0)

static void test_valid(void)
{
    static const struct elfgen none = {NULL, 0, 1, NULL, 0};

    build(&std);
    CHECK_INT(parse(len), 0);
    CHECK_STR(err, "");
    CHECK_INT(img.entry, ELFGEN_VADDR);
    CHECK_INT(img.nsegs, 2);
    CHECK_INT(img.lo, 0x100000);
    CHECK_INT(img.hi, 0x103000);
    CHECK_INT(img.segs[0].flags, PF_R | PF_X);
    CHECK_INT(img.segs[0].offset, ELFGEN_TEXT);
    CHECK_INT(img.segs[1].vaddr, 0x101000);
    CHECK_INT(img.segs[1].filesz, 16);
    CHECK_INT(img.segs[1].memsz, 0x2000);
    CHECK_INT(img.segs[1].flags, PF_R | PF_W);
    CHECK_INT(img.ndevs, 2);
    CHECK_STR(img.devs[0].name, "service");
    CHECK_INT(img.devs[0].type, MIRAGE_DEV_NET);
    CHECK_STR(img.devs[1].name, "storage");
    CHECK_INT(img.devs[1].type, MIRAGE_DEV_BLOCK);

    build(&none);
    CHECK_INT(parse(len), 0);
    CHECK_INT(img.ndevs, 0);

    /* Flags outside R/W/X are dropped, not refused. */
    build(&std);
    PUT(PH(0, FLAGS), PF_R | PF_X | 0x00f00000, 4);
    CHECK_INT(parse(len), 0);
    CHECK_INT(img.segs[0].flags, PF_R | PF_X);

    /* An empty PT_LOAD loads nothing and is skipped. */
    build(&std);
    PUT(PH(1, FILESZ), 0, 8);
    PUT(PH(1, MEMSZ), 0, 8);
    CHECK_INT(parse(len), 0);
    CHECK_INT(img.nsegs, 1);
    CHECK_INT(img.hi, 0x101000);

    /* Entry point at the last byte of the text. */
    build(&std);
    PUT(ELFGEN_E_ENTRY, ELFGEN_VADDR + 15, 8);
    CHECK_INT(parse(len), 0);

    /* Segments exactly at the top of the allowed range. */
    build(&std);
    PUT(PH(1, VADDR), TENDER_IMAGE_MAX - 0x2000, 8);
    CHECK_INT(parse(len), 0);
    CHECK_INT(img.hi, TENDER_IMAGE_MAX);
}

/* The parser writes only the fields in use: a struct full of leftovers from
 * another image must come out exactly as from a zeroed one. */
static void test_reused_struct(void)
{
    build(&std);
    memset(&img, 0xa5, sizeof(img));
    CHECK_INT(parse(len), 0);
    CHECK_INT(img.entry, ELFGEN_VADDR);
    CHECK_INT(img.nsegs, 2);
    CHECK_INT(img.lo, 0x100000);
    CHECK_INT(img.hi, 0x103000);
    CHECK_INT(img.ndevs, 2);
    CHECK_STR(img.devs[1].name, "storage");
    CHECK_INT(img.devs[1].type, MIRAGE_DEV_BLOCK);
    memset(&img, 0xa5, sizeof(img));
    PUT(ELFGEN_E_ENTRY, 0x1234, 8);
    CHECK_INT(parse(len), -1);
    CHECK_INT(img.ndevs, 0);
}

static void test_truncated(void)
{
    build(&std);
    len = 0;
    REFUSED("not an ELF file");
    len = 3;
    REFUSED("not an ELF file");
    len = 40;
    REFUSED("truncated ELF: header ends at 64, file is 40 bytes");
    len = 200;
    REFUSED("truncated ELF: program headers end at 232, file is 200 bytes");

    build(&std);
    PUT(ELFGEN_E_PHOFF, 4096 - 3 * 56 + 64, 8);
    len = 200;
    REFUSED("truncated ELF: program headers end at 4160, file is 200 bytes");

    build(&std);
    PUT(ELFGEN_E_PHOFF, UINT64_MAX - 10, 8);
    REFUSED("truncated ELF: program headers at 0xfffffffffffffff5 are past the end, file is "
            "444 bytes");

    /* Every shorter prefix of a valid image is refused, whatever the reason. */
    build(&std);
    for (size_t n = 0; n < len; n++) {
        CHECK_INT(parse(n), -1);
        CHECK(err[0] != '\0');
    }
}

static void test_header(void)
{
    build(&std);
    buf[1] = 'e';
    REFUSED("not an ELF file");

    build(&std);
    buf[EI_CLASS] = ELFCLASS32;
    REFUSED("not a 64-bit ELF file (class 1)");

    build(&std);
    buf[EI_DATA] = ELFDATA2MSB;
    REFUSED("not a little-endian ELF file (data encoding 2)");

    build(&std);
    buf[EI_VERSION] = 0;
    REFUSED("unsupported ELF version 0/1");

    build(&std);
    PUT(ELFGEN_E_VERSION, 2, 4);
    REFUSED("unsupported ELF version 1/2");

    build(&std);
    PUT(ELFGEN_E_MACHINE, EM_386, 2);
    REFUSED("not an x86_64 ELF file (machine 3)");

    build(&std);
    PUT(ELFGEN_E_MACHINE, EM_AARCH64, 2);
    REFUSED("not an x86_64 ELF file (machine 183)");

    build(&std);
    PUT(ELFGEN_E_TYPE, ET_DYN, 2);
    REFUSED("not an executable ELF file (type 3: shared object or PIE)");

    build(&std);
    PUT(ELFGEN_E_TYPE, ET_REL, 2);
    REFUSED("not an executable ELF file (type 1)");

    build(&std);
    PUT(ELFGEN_E_PHENTSIZE, 32, 2);
    REFUSED("program header size is 32, expected 56");

    build(&std);
    PUT(ELFGEN_E_PHNUM, 0, 2);
    REFUSED("no program headers");

    build(&std);
    PUT(ELFGEN_E_PHNUM, PN_XNUM, 2);
    REFUSED("too many program headers (extended numbering)");

    build(&std);
    PUT(PH(0, TYPE), PT_INTERP, 4);
    REFUSED("segment 0 asks for a dynamic loader: not a static unikernel image");
}

/* The image with a fourth program header, PT_INTERP naming (path) of
 * (size) bytes, after the three elfgen writes. */
static void with_interp(const char *path, size_t size)
{
    size_t at, ph;

    build(&std);
    at = len;
    memcpy(buf + at, path, size);
    ph = (at + size + 7) & ~(size_t)7;
    memcpy(buf + ph, buf + ELFGEN_PH(0), 56 * ELFGEN_PHNUM);
    memset(buf + ph + 56 * ELFGEN_PHNUM, 0, 56);
    elfgen_put(buf, ph + 56 * ELFGEN_PHNUM + ELFGEN_P_TYPE, PT_INTERP, 4);
    elfgen_put(buf, ph + 56 * ELFGEN_PHNUM + ELFGEN_P_FLAGS, PF_R, 4);
    elfgen_put(buf, ph + 56 * ELFGEN_PHNUM + ELFGEN_P_OFFSET, at, 8);
    elfgen_put(buf, ph + 56 * ELFGEN_PHNUM + ELFGEN_P_FILESZ, size, 8);
    elfgen_put(buf, ph + 56 * ELFGEN_PHNUM + ELFGEN_P_MEMSZ, size, 8);
    PUT(ELFGEN_E_PHOFF, ph, 8);
    PUT(ELFGEN_E_PHNUM, ELFGEN_PHNUM + 1, 2);
    len = ph + 56 * (ELFGEN_PHNUM + 1);
}

/* Our images name an interpreter that does not exist, so the host will not
 * run them itself; that one is accepted, any other refused. */
static void test_interp(void)
{
    static const char ld[] = "/lib64/ld-linux-x86-64.so.2";

    with_interp(TENDER_INTERP, sizeof(TENDER_INTERP));
    CHECK_INT(parse(len), 0);
    CHECK_INT(img.nsegs, 2);
    with_interp(TENDER_INTERP, sizeof(TENDER_INTERP) - 1); /* no NUL */
    REFUSED("segment 3 asks for a dynamic loader: not a static unikernel image");
    with_interp(ld, sizeof(ld));
    REFUSED("segment 3 asks for a dynamic loader: not a static unikernel image");
}

static void test_segments(void)
{
    build(&std);
    PUT(PH(1, OFFSET), len - 15, 8);
    REFUSED("segment 1: file bytes 0x1ad+0x10 run past the end of the file (444 bytes)");

    build(&std);
    PUT(PH(1, FILESZ), 0x1000, 8);
    REFUSED("segment 1: file bytes 0x110+0x1000 run past the end of the file (444 bytes)");

    build(&std);
    PUT(PH(1, OFFSET), UINT64_MAX - 4, 8);
    REFUSED("segment 1: file bytes 0xfffffffffffffffb+0x10 run past the end of the file "
            "(444 bytes)");

    build(&std);
    PUT(PH(1, FILESZ), 0x3000, 8);
    REFUSED("segment 1: file size 0x3000 exceeds memory size 0x2000");

    build(&std);
    PUT(PH(1, VADDR), 0x101800, 8);
    REFUSED("segment 1: address 0x101800 is not page-aligned");

    build(&std);
    PUT(PH(1, VADDR), 0xff000, 8);
    REFUSED("segment 1: 0xff000+0x2000 is outside 0x100000-0x40000000");

    build(&std);
    PUT(PH(1, VADDR), 0, 8);
    REFUSED("segment 1: 0x0+0x2000 is outside 0x100000-0x40000000");

    build(&std);
    PUT(PH(1, VADDR), TENDER_IMAGE_MAX - 0x1000, 8);
    REFUSED("segment 1: 0x3ffff000+0x2000 is outside 0x100000-0x40000000");

    build(&std);
    PUT(PH(1, MEMSZ), UINT64_MAX, 8);
    REFUSED("segment 1: 0x101000+0xffffffffffffffff is outside 0x100000-0x40000000");

    build(&std);
    PUT(PH(1, VADDR), 0xfffffffffffff000ULL, 8);
    REFUSED("segment 1: 0xfffffffffffff000+0x2000 is outside 0x100000-0x40000000");

    build(&std);
    PUT(PH(1, VADDR), ELFGEN_VADDR, 8);
    REFUSED("segments 0 and 1 overlap");

    /* Overlap counts whole pages: text spilling one byte into the data's page. */
    build(&std);
    PUT(PH(0, MEMSZ), 0x1001, 8);
    REFUSED("segments 0 and 1 overlap");

    build(&std);
    PUT(PH(0, VADDR), 0x200000, 8);
    PUT(PH(1, VADDR), 0x1ff000, 8); /* its 0x2000 bytes run into the text */
    PUT(ELFGEN_E_ENTRY, 0x200000, 8);
    REFUSED("segments 0 and 1 overlap");

    build(&std);
    PUT(PH(0, FLAGS), PF_R | PF_W | PF_X, 4);
    REFUSED("segment 0 is writable and executable");

    build(&std);
    PUT(PH(1, FLAGS), PF_W | PF_X, 4);
    REFUSED("segment 1 is writable and executable");

    build(&std);
    PUT(PH(0, TYPE), PT_NULL, 4);
    PUT(PH(1, TYPE), PT_NULL, 4);
    REFUSED("no loadable segments");
}

/* Rewrites the program headers at the end of the image: text, note, then (extra) R loads. */
static void many_segments(unsigned extra)
{
    size_t ph = len;

    build(&std);
    ph = len;
    memcpy(buf + ph, buf + ELFGEN_PH(0), 56);
    memcpy(buf + ph + 56, buf + ELFGEN_PH(2), 56);
    for (unsigned i = 0; i < extra; i++) {
        size_t p = ph + 56 * (2 + i);

        memcpy(buf + p, buf + ELFGEN_PH(1), 56);
        elfgen_put(buf, p + ELFGEN_P_FLAGS, PF_R, 4);
        elfgen_put(buf, p + ELFGEN_P_VADDR, 0x200000 + 0x10000ULL * i, 8);
    }
    PUT(ELFGEN_E_PHOFF, ph, 8);
    PUT(ELFGEN_E_PHNUM, 2 + extra, 2);
    len = ph + 56 * (2 + extra);
}

static void test_segment_count(void)
{
    many_segments(TENDER_MAX_SEGS - 1);
    CHECK_INT(parse(len), 0);
    CHECK_INT(img.nsegs, TENDER_MAX_SEGS);
    CHECK_INT(img.hi, 0x200000 + 0x10000 * (TENDER_MAX_SEGS - 2) + 0x2000);

    many_segments(TENDER_MAX_SEGS);
    REFUSED("too many loadable segments (at most 8)");
}

static void test_entry(void)
{
    build(&std);
    PUT(ELFGEN_E_ENTRY, 0x101000, 8);
    REFUSED("entry point 0x101000 is not inside an executable segment");

    build(&std);
    PUT(ELFGEN_E_ENTRY, ELFGEN_VADDR + 16, 8);
    REFUSED("entry point 0x100010 is not inside an executable segment");

    build(&std);
    PUT(ELFGEN_E_ENTRY, 0, 8);
    REFUSED("entry point 0x0 is not inside an executable segment");

    build(&std);
    PUT(ELFGEN_E_ENTRY, ELFGEN_VADDR - 1, 8);
    REFUSED("entry point 0xfffff is not inside an executable segment");

    /* Inside the text's memory but past its file bytes: nothing to run there. */
    build(&std);
    PUT(PH(0, MEMSZ), 0x100, 8);
    PUT(ELFGEN_E_ENTRY, ELFGEN_VADDR + 0x20, 8);
    REFUSED("entry point 0x100020 is not inside an executable segment");
}

static void test_notes(void)
{
    static const struct elfgen none = {two, 2, 0, NULL, 0};
    static const struct elfgen twice = {two, 2, 2, NULL, 0};
    /* A GNU note (name "GNU", 4-byte descriptor) with 4-byte padding. */
    static const uint8_t gnu4[] = {4, 0, 0,   0,   4,   0, 0, 0, 3, 0,
                                   0, 0, 'G', 'N', 'U', 0, 1, 2, 3, 4};
    /* A note with a 5-byte name and 5-byte descriptor, each padded to 8. */
    static const uint8_t odd[] = {5,   0,   0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 'a', 'b',
                                  'c', 'd', 0, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0,   0};
    /* Under 8-byte alignment: name at 12 padded to 16, descriptor 16..20 padded to 24. */
    static const uint8_t gnu8[] = {4,   0,   0,   0, 4, 0, 0, 0, 5, 0, 0, 0,
                                   'G', 'N', 'U', 0, 1, 2, 3, 4, 0, 0, 0, 0};
    struct elfgen g = std;
    size_t note = ELFGEN_NOTES;

    build(&none);
    REFUSED("no MIRAGE manifest note");

    build(&std);
    PUT(PH(2, TYPE), PT_NULL, 4);
    REFUSED("no MIRAGE manifest note");

    build(&std);
    PUT(note + 8, MIRAGE_NOTE_TYPE + 1, 4);
    REFUSED("no MIRAGE manifest note");

    build(&std);
    buf[note + 12 + 5] = 'F';
    REFUSED("no MIRAGE manifest note");

    build(&std);
    PUT(note, 6, 4); /* "MIRAGE" without its NUL is another name */
    REFUSED("no MIRAGE manifest note");

    build(&twice);
    REFUSED("more than one MIRAGE manifest note");

    /* The same note reached through two PT_NOTE segments is still two notes. */
    build(&std);
    PUT(PH(1, TYPE), PT_NOTE, 4);
    memcpy(buf + ELFGEN_PH(1), buf + ELFGEN_PH(2), 56);
    REFUSED("more than one MIRAGE manifest note");

    g.pre = gnu4;
    g.npre = sizeof(gnu4);
    build(&g);
    CHECK_INT(parse(len), 0);
    CHECK_INT(img.ndevs, 2);

    g.pre = odd;
    g.npre = sizeof(odd);
    build(&g);
    CHECK_INT(parse(len), 0);
    CHECK_STR(img.devs[1].name, "storage");

    /* An 8-aligned PT_NOTE of its own (segment 1) before the manifest's. */
    g.pre = gnu8;
    g.npre = sizeof(gnu8);
    build(&g);
    elfgen_phdr(buf, 1, PT_NOTE, PF_R, ELFGEN_NOTES, 0, sizeof(gnu8), 0, 8);
    PUT(PH(2, OFFSET), ELFGEN_NOTES + sizeof(gnu8), 8);
    PUT(PH(2, FILESZ), elfgen_note_size(2), 8);
    CHECK_INT(parse(len), 0);
    CHECK_INT(img.ndevs, 2);
    PUT(PH(1, ALIGN), 4, 8); /* walked with 4-byte padding it is misread */
    REFUSED("segment 1: note at offset 20: header runs past the segment");

    /* The last note's padding may be cut off at the segment's end. */
    g.pre = NULL;
    g.npre = 0;
    build(&g);
    PUT(PH(2, FILESZ), elfgen_note_size(2), 8);
    CHECK_INT(parse(len), 0);
}

static void test_note_sizes(void)
{
    size_t note = ELFGEN_NOTES;

    build(&std);
    PUT(PH(2, FILESZ), 11, 8);
    REFUSED("segment 2: note at offset 0: header runs past the segment");

    build(&std);
    PUT(note, 0xffffffffu, 4);
    REFUSED("segment 2: note at offset 0: name size 4294967295 runs past the segment");

    build(&std);
    PUT(note, elfgen_note_size(2) - 12 + 1, 4);
    REFUSED("segment 2: note at offset 0: name size 145 runs past the segment");

    build(&std);
    PUT(note + 4, 0xffffffffu, 4);
    REFUSED("segment 2: note at offset 0: descriptor size 4294967295 runs past the segment");

    build(&std);
    PUT(note + 4, 8 + 2 * 64 + 1, 4);
    REFUSED("segment 2: note at offset 0: descriptor size 137 runs past the segment");

    build(&std);
    PUT(PH(2, FILESZ), elfgen_note_size(2) - 1, 8);
    REFUSED("segment 2: note at offset 0: descriptor size 136 runs past the segment");

    build(&std);
    PUT(PH(2, OFFSET), len - 4, 8);
    REFUSED("segment 2: note bytes 0x1b8+0x9c run past the end of the file (444 bytes)");

    build(&std);
    PUT(PH(2, OFFSET), UINT64_MAX, 8);
    REFUSED("segment 2: note bytes 0xffffffffffffffff+0x9c run past the end of the file "
            "(444 bytes)");

    /* A descriptor size that does not match the manifest's count. */
    build(&std);
    PUT(note + 4, 8 + 64, 4);
    PUT(PH(2, FILESZ), 20 + 8 + 64, 8);
    REFUSED("manifest: size 72 does not match 2 entries");

    /* The rest of the segment, read as the next note, is garbage. */
    build(&std);
    PUT(note + 4, 8 + 64, 4);
    REFUSED("segment 2: note at offset 92: name size 1919906931 runs past the segment");
}

/* The manifest's own errors, reached through the image. */
static void test_manifest_in_image(void)
{
    size_t m = elfgen_manifest_off(&std);

    build(&std);
    memset(buf + m + 8 + 64, 'x', 60);
    REFUSED("manifest: entry 1 name is not NUL-terminated");

    build(&std);
    PUT(m + 8 + 64 + 60, MIRAGE_DEV_NET, 4);
    PUT(m + 8 + 64, 0x65636976726573ULL, 8); /* "service" */
    REFUSED("manifest: entry 1 name 'service' duplicates entry 0");

    build(&std);
    PUT(m, 2, 4);
    REFUSED("manifest: version 2 is not supported (expected 1)");
}

int main(void)
{
    test_valid();
    test_reused_struct();
    test_truncated();
    test_header();
    test_segments();
    test_interp();
    test_segment_count();
    test_entry();
    test_notes();
    test_note_sizes();
    test_manifest_in_image();
    return CHECK_DONE();
}
