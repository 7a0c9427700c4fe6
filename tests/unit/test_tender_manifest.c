/* test_tender_manifest.c: validating manifest descriptors: sizes, names, types. */
#include <stdlib.h>

#include "check.h"
#include "elfgen.h"
#include "tender.h"

static uint8_t desc[8 + 64 * 64];
static struct tender_image img;
static char err[TENDER_ERR_MAX];

static size_t make(unsigned count)
{
    memset(desc, 0, sizeof(desc));
    elfgen_put(desc, 0, MIRAGE_MANIFEST_VERSION, 4);
    elfgen_put(desc, 4, count, 4);
    for (unsigned i = 0; i < count; i++) {
        uint8_t *e = desc + 8 + 64 * i;

        snprintf((char *)e, 60, "dev%u", i);
        elfgen_put(e, 60, i % 2 ? MIRAGE_DEV_BLOCK : MIRAGE_DEV_NET, 4);
    }
    return 8 + (size_t)count * 64;
}

static uint8_t *entry(unsigned i)
{
    return desc + 8 + 64 * i;
}

/* Parses a heap copy of exactly (size) bytes, so ASan sees any read past the end. */
static int parse(size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    int rc;

    memcpy(copy, desc, size);
    err[0] = '\0';
    rc = tender_manifest_parse(copy, size, &img, err);
    free(copy);
    return rc;
}

#define REFUSED(size, msg)                                                                         \
    do {                                                                                           \
        CHECK_INT(parse(size), -1);                                                                \
        CHECK_STR(err, msg);                                                                       \
        CHECK_INT(img.ndevs, 0);                                                                   \
    } while (0)

static void test_valid(void)
{
    size_t n = make(0);

    CHECK_INT(parse(n), 0);
    CHECK_INT(img.ndevs, 0);

    n = make(MIRAGE_MANIFEST_MAX);
    CHECK_INT(parse(n), 0);
    CHECK_INT(img.ndevs, 63);
    CHECK_STR(img.devs[62].name, "dev62");
    CHECK_INT(img.devs[62].type, MIRAGE_DEV_NET);
    CHECK_INT(img.devs[61].type, MIRAGE_DEV_BLOCK);

    /* The longest name fills the field but its NUL. */
    n = make(1);
    memset(entry(0), 'a', 59);
    CHECK_INT(parse(n), 0);
    CHECK_INT(strlen(img.devs[0].name), 59);

    /* Bytes after the NUL are ignored, and zeroed in the copy. */
    n = make(2);
    memcpy(entry(0), "net\0garbage!", 12);
    memcpy(entry(1), "A_z9\0\xff\xff", 7);
    CHECK_INT(parse(n), 0);
    CHECK_STR(img.devs[0].name, "net");
    CHECK_STR(img.devs[1].name, "A_z9");
    CHECK_INT(img.devs[0].name[4], 0);
    CHECK_INT(img.devs[1].name[6], 0);
}

static void test_sizes(void)
{
    size_t n;

    REFUSED(0, "manifest: size 0 is too small for its 8-byte header");
    REFUSED(7, "manifest: size 7 is too small for its 8-byte header");

    n = make(2);
    REFUSED(100, "manifest: size 100 does not match 2 entries");
    REFUSED(n - 1, "manifest: size 135 does not match 2 entries");
    REFUSED(n + 64, "manifest: size 200 does not match 2 entries");
    REFUSED(8, "manifest: size 8 does not match 2 entries");

    n = make(0);
    REFUSED(n + 64, "manifest: size 72 does not match 0 entries");

    n = make(64);
    REFUSED(n, "manifest: 64 entries, at most 63");
    elfgen_put(desc, 4, 0xffffffffu, 4);
    REFUSED(n, "manifest: 4294967295 entries, at most 63");
    /* count * 64 wraps to 8 in 32 bits: still refused. */
    elfgen_put(desc, 4, 0x04000000u, 4);
    REFUSED(8, "manifest: 67108864 entries, at most 63");

    n = make(1);
    elfgen_put(desc, 0, 0, 4);
    REFUSED(n, "manifest: version 0 is not supported (expected 1)");
    elfgen_put(desc, 0, 2, 4);
    REFUSED(n, "manifest: version 2 is not supported (expected 1)");
}

static void test_names(void)
{
    size_t n = make(4);

    memset(entry(3), 'x', 60);
    REFUSED(n, "manifest: entry 3 name is not NUL-terminated");

    n = make(4);
    memset(entry(2), 0, 60);
    REFUSED(n, "manifest: entry 2 name is empty");

    n = make(4);
    memcpy(entry(0), "\0service", 9);
    REFUSED(n, "manifest: entry 0 name is empty");

    n = make(4);
    memcpy(entry(1), "my-disk", 8);
    REFUSED(n, "manifest: entry 1 name may contain only A-Z, a-z, 0-9 and _");

    n = make(4);
    memcpy(entry(1), "a b", 4);
    REFUSED(n, "manifest: entry 1 name may contain only A-Z, a-z, 0-9 and _");

    n = make(4);
    memcpy(entry(1), "caf\xc3\xa9", 6);
    REFUSED(n, "manifest: entry 1 name may contain only A-Z, a-z, 0-9 and _");

    n = make(4);
    memcpy(entry(3), "dev1", 5);
    REFUSED(n, "manifest: entry 3 name 'dev1' duplicates entry 1");

    /* Garbage after the NUL does not make two equal names differ. */
    n = make(2);
    memcpy(entry(0), "x\0aaaa", 6);
    memcpy(entry(1), "x\0bbbb", 6);
    REFUSED(n, "manifest: entry 1 name 'x' duplicates entry 0");

    /* Names differ in case: two devices. */
    n = make(2);
    memcpy(entry(0), "x", 2);
    memcpy(entry(1), "X", 2);
    CHECK_INT(parse(n), 0);
}

static void test_types(void)
{
    size_t n = make(3);

    elfgen_put(entry(2), 60, 0, 4);
    REFUSED(n, "manifest: entry 2 ('dev2') has type 0, expected 1 (net) or 2 (block)");
    elfgen_put(entry(2), 60, 3, 4);
    REFUSED(n, "manifest: entry 2 ('dev2') has type 3, expected 1 (net) or 2 (block)");
    elfgen_put(entry(2), 60, 0x80000001u, 4);
    REFUSED(n, "manifest: entry 2 ('dev2') has type 2147483649, expected 1 (net) or 2 (block)");
}

int main(void)
{
    test_valid();
    test_sizes();
    test_names();
    test_types();
    return CHECK_DONE();
}
