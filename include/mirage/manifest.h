/* manifest.h: the application manifest, the devices a unikernel declares in an ELF note. */
#ifndef MIRAGE_MANIFEST_H
#define MIRAGE_MANIFEST_H

#include <stdint.h>

/*
 * The manifest lives in a PT_NOTE segment of the image:
 *
 *   Elf64_Nhdr { namesz = 7, descsz, type = MIRAGE_NOTE_TYPE }
 *   "MIRAGE\0\0"                      (name, padded to 8 bytes)
 *   struct mirage_manifest_hdr        (version, count)
 *   struct mirage_manifest_entry[count]
 *
 * descsz must equal sizeof(hdr) + count * sizeof(entry). A device's handle is
 * its index in the entries. Tenders parse this as untrusted input: names are
 * 1..MIRAGE_MANIFEST_NAME_MAX-1 characters of [A-Za-z0-9_], NUL-terminated
 * inside their field and unique; types are MIRAGE_DEV_NET or MIRAGE_DEV_BLOCK.
 */
#define MIRAGE_NOTE_NAME "MIRAGE"
#define MIRAGE_NOTE_TYPE 0x4d4d4654u /* "MMFT" */
#define MIRAGE_MANIFEST_VERSION 1
#define MIRAGE_MANIFEST_MAX 63
#define MIRAGE_MANIFEST_NAME_MAX 60

enum mirage_dev_type {
    MIRAGE_DEV_NET = 1,
    MIRAGE_DEV_BLOCK = 2,
};

struct mirage_manifest_hdr {
    uint32_t version;
    uint32_t count;
};

struct mirage_manifest_entry {
    char name[MIRAGE_MANIFEST_NAME_MAX];
    uint32_t type;
};

/* What the bindings see of their own image's manifest. */
struct mirage_manifest_view {
    uint32_t count;
    const struct mirage_manifest_entry *entries;
};
extern const struct mirage_manifest_view mirage_manifest;

#define MIRAGE_NET(n) {.name = n, .type = MIRAGE_DEV_NET}
#define MIRAGE_BLOCK(n) {.name = n, .type = MIRAGE_DEV_BLOCK}

#define MIRAGE_MANIFEST_COUNT_(...)                                                                \
    (sizeof((struct mirage_manifest_entry[]){__VA_ARGS__}) / sizeof(struct mirage_manifest_entry))

/* Declares the image's devices, once per unikernel, at file scope:
 *   MIRAGE_MANIFEST(MIRAGE_NET("service"), MIRAGE_BLOCK("storage"));
 *   MIRAGE_MANIFEST();   for a unikernel with no devices */
#define MIRAGE_MANIFEST(...)                                                                       \
    _Static_assert(MIRAGE_MANIFEST_COUNT_(__VA_ARGS__) <= MIRAGE_MANIFEST_MAX,                     \
                   "MIRAGE_MANIFEST: more than 63 devices (MIRAGE_MANIFEST_MAX)");               \
    static const struct {                                                                          \
        uint32_t namesz, descsz, type;                                                             \
        char name[8];                                                                              \
        struct mirage_manifest_hdr hdr;                                                            \
        struct mirage_manifest_entry entries[MIRAGE_MANIFEST_COUNT_(__VA_ARGS__)];                 \
    } mirage_manifest_note_                                                                        \
        __attribute__((section(".note.mirage"), used, aligned(4))) = {                             \
            7,                                                                                     \
            sizeof(struct mirage_manifest_hdr) +                                                   \
                MIRAGE_MANIFEST_COUNT_(__VA_ARGS__) * sizeof(struct mirage_manifest_entry),        \
            MIRAGE_NOTE_TYPE,                                                                      \
            MIRAGE_NOTE_NAME,                                                                      \
            {MIRAGE_MANIFEST_VERSION, MIRAGE_MANIFEST_COUNT_(__VA_ARGS__)},                        \
            {__VA_ARGS__}};                                                                        \
    const struct mirage_manifest_view mirage_manifest = {MIRAGE_MANIFEST_COUNT_(__VA_ARGS__),      \
                                                         mirage_manifest_note_.entries}

#endif
