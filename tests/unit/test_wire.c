/* test_wire.c: the checked read and write cursors of wire.h: values, runs, bounds, octal fields. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "mirage/wire.h"

static void test_read_values(void)
{
    const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
                         0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
                         0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
    struct mirage_rd r = mirage_rd_init(b, sizeof(b));

    CHECK_INT(mirage_rd_left(&r), 31);
    CHECK_INT(mirage_rd_u8(&r), 0x01);
    CHECK_INT(mirage_rd_be16(&r), 0x0203);
    CHECK_INT(mirage_rd_be32(&r), 0x04050607);
    CHECK(mirage_rd_be64(&r) == 0x08090a0b0c0d0e0fULL);
    CHECK_INT(mirage_rd_le16(&r), 0x1110);
    CHECK_INT(mirage_rd_le32(&r), 0x15141312);
    CHECK(mirage_rd_le64(&r) == 0x1d1c1b1a19181716ULL);
    CHECK_INT(mirage_rd_left(&r), 2);
    CHECK(!r.bad);
    /* The top bit survives every width (no sign extension). */
    const uint8_t ff[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    r = mirage_rd_init(ff, 8);
    CHECK(mirage_rd_be64(&r) == 0xfffffffffffffffeULL);
    r = mirage_rd_init(ff, 8);
    CHECK(mirage_rd_le64(&r) == 0xfeffffffffffffffULL);
    r = mirage_rd_init(ff, 8);
    CHECK_INT(mirage_rd_be32(&r), 0xffffffffLL);
    CHECK_INT(mirage_rd_be16(&r), 0xffff);
    CHECK_INT(mirage_rd_u8(&r), 0xff);
    CHECK_INT(mirage_rd_u8(&r), 0xfe);
    CHECK(!r.bad);
}

static void test_read_past_end(void)
{
    const uint8_t b[] = {0xaa, 0xbb, 0xcc};
    struct mirage_rd r = mirage_rd_init(b, sizeof(b));
    uint8_t out[4] = {9, 9, 9, 9};

    /* A read that does not fit yields zeros and sets bad, even if part would fit. */
    CHECK_INT(mirage_rd_be32(&r), 0);
    CHECK(r.bad);
    /* Once bad, the cursor is at its end: a read that would have fit yields 0 too. */
    CHECK_INT(mirage_rd_u8(&r), 0);
    CHECK_INT(mirage_rd_left(&r), 0);
    mirage_rd_bytes(&r, out, 4);
    CHECK(out[0] == 0 && out[3] == 0);

    r = mirage_rd_init(b, sizeof(b));
    CHECK(mirage_rd_take(&r, 3) == b);
    CHECK(!r.bad);
    CHECK(mirage_rd_take(&r, 1) == NULL);
    CHECK(r.bad);

    /* Every width, one byte short. */
    const uint8_t big[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    r = mirage_rd_init(big, 1);
    CHECK_INT(mirage_rd_be16(&r), 0);
    CHECK(r.bad);
    r = mirage_rd_init(big, 3);
    CHECK_INT(mirage_rd_le32(&r), 0);
    CHECK(r.bad);
    r = mirage_rd_init(big, 7);
    CHECK(mirage_rd_be64(&r) == 0);
    CHECK(r.bad);
    r = mirage_rd_init(big, 7);
    CHECK(mirage_rd_le64(&r) == 0);
    CHECK(r.bad);
    r = mirage_rd_init(big, 0);
    CHECK_INT(mirage_rd_u8(&r), 0);
    CHECK(r.bad);

    /* A huge length cannot wrap the check. */
    r = mirage_rd_init(big, 8);
    mirage_rd_skip(&r, 2);
    CHECK(mirage_rd_take(&r, SIZE_MAX) == NULL);
    CHECK(r.bad);

    /* NULL memory is an empty reader. */
    r = mirage_rd_init(NULL, 100);
    CHECK_INT(mirage_rd_left(&r), 0);
    CHECK_INT(mirage_rd_u8(&r), 0);
    CHECK(r.bad);
}

static void test_read_sub_seek(void)
{
    const uint8_t b[] = {0, 4, 'a', 'b', 'c', 'd', 0, 9, 'x'};
    struct mirage_rd r = mirage_rd_init(b, sizeof(b)), s;
    char run[4];

    /* A length-prefixed field read through a sub-reader. */
    s = mirage_rd_sub(&r, mirage_rd_be16(&r));
    CHECK(!s.bad && s.len == 4);
    mirage_rd_bytes(&s, run, 4);
    CHECK(memcmp(run, "abcd", 4) == 0);
    CHECK_INT(mirage_rd_u8(&s), 0); /* past the sub-reader's end, not into its parent */
    CHECK(s.bad);
    CHECK(!r.bad);
    /* A length past the end: both are bad, the sub-reader is empty. */
    s = mirage_rd_sub(&r, mirage_rd_be16(&r));
    CHECK(s.bad && s.len == 0 && r.bad);

    r = mirage_rd_init(b, sizeof(b));
    mirage_rd_seek(&r, 8);
    CHECK_INT(mirage_rd_u8(&r), 'x');
    mirage_rd_seek(&r, 2);
    CHECK_INT(mirage_rd_u8(&r), 'a');
    mirage_rd_seek(&r, 9); /* the end itself is a place */
    CHECK(!r.bad && mirage_rd_left(&r) == 0);
    mirage_rd_seek(&r, 10);
    CHECK(r.bad);
    mirage_rd_seek(&r, 0); /* bad stays bad */
    CHECK(r.bad && mirage_rd_left(&r) == 0);

    r = mirage_rd_init(b, sizeof(b));
    mirage_rd_skip(&r, 9);
    CHECK(!r.bad);
    mirage_rd_skip(&r, 1);
    CHECK(r.bad);
}

static void test_read_octal(void)
{
    struct mirage_rd r;
    /* tar's forms: zero-padded with a NUL, space-terminated, leading spaces. */
    const char *good[] = {"0000644", "000644 ", "  1234 ", "7777777", "0000000"};
    const uint64_t want[] = {0644, 0644, 01234, 07777777, 0};
    char field[8];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memcpy(field, good[i], 7);
        field[7] = '\0';
        r = mirage_rd_init(field, 8);
        CHECK(mirage_rd_octal(&r, 8) == want[i]);
        CHECK(!r.bad);
        CHECK_INT(mirage_rd_left(&r), 0);
    }
    /* A field of 12 with an 11-digit size and trailing NUL. */
    r = mirage_rd_init("00000012345", 12);
    CHECK(mirage_rd_octal(&r, 12) == 012345);
    CHECK(!r.bad);

    const char *bad[] = {"0000648", "00x0644", "       ", "0644 1 ", "-000001", "\0\0\0\0\0\0\0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(field, bad[i], 7);
        field[7] = '\0';
        r = mirage_rd_init(field, 8);
        CHECK(mirage_rd_octal(&r, 8) == 0);
        CHECK(r.bad);
        CHECK_INT(mirage_rd_left(&r), 0); /* a bad field leaves the reader at its end too */
    }
    /* 22 digits: 66 bits do not fit in 64. */
    r = mirage_rd_init("7777777777777777777777", 22);
    CHECK(mirage_rd_octal(&r, 22) == 0);
    CHECK(r.bad);
    /* 21 digits + 1: exactly 64 bits. */
    r = mirage_rd_init("1777777777777777777777", 22);
    CHECK(mirage_rd_octal(&r, 22) == UINT64_MAX);
    CHECK(!r.bad);
    /* Shorter than the field. */
    r = mirage_rd_init("0644", 4);
    CHECK(mirage_rd_octal(&r, 8) == 0);
    CHECK(r.bad);
}

static void test_write(void)
{
    uint8_t b[32];
    struct mirage_wr w;

    memset(b, 0x55, sizeof(b));
    w = mirage_wr_init(b, 31); /* b[31] is a guard */
    mirage_wr_u8(&w, 0x01);
    mirage_wr_be16(&w, 0x0203);
    mirage_wr_be32(&w, 0x04050607);
    mirage_wr_be64(&w, 0x08090a0b0c0d0e0fULL);
    mirage_wr_le16(&w, 0x1110);
    mirage_wr_le32(&w, 0x15141312);
    mirage_wr_le64(&w, 0x1d1c1b1a19181716ULL);
    CHECK(!w.bad);
    CHECK_INT(w.off, 29);
    for (int i = 0; i < 29; i++)
        CHECK_INT(b[i], i + 1);
    /* Three bytes do not fit in the two left: nothing is written. */
    mirage_wr_bytes(&w, "xyz", 3);
    CHECK(w.bad);
    CHECK_INT(b[29], 0x55);
    CHECK_INT(b[30], 0x55);
    CHECK_INT(b[31], 0x55);
    mirage_wr_u8(&w, 0); /* once bad, nothing more */
    CHECK_INT(b[29], 0x55);
    CHECK_INT(mirage_wr_left(&w), 0);

    /* Round trip through a reader. */
    struct mirage_rd r = mirage_rd_init(b, 29);
    CHECK_INT(mirage_rd_u8(&r), 1);
    CHECK_INT(mirage_rd_be16(&r), 0x0203);
    CHECK_INT(mirage_rd_be32(&r), 0x04050607);
    CHECK(mirage_rd_be64(&r) == 0x08090a0b0c0d0e0fULL);
    CHECK_INT(mirage_rd_le16(&r), 0x1110);
    CHECK_INT(mirage_rd_le32(&r), 0x15141312);
    CHECK(mirage_rd_le64(&r) == 0x1d1c1b1a19181716ULL);
    CHECK(!r.bad);

    /* A length field filled in after what it counts. */
    memset(b, 0x55, sizeof(b));
    w = mirage_wr_init(b, 8);
    mirage_wr_be16(&w, 0);
    mirage_wr_bytes(&w, "abc", 3);
    mirage_wr_zeros(&w, 1);
    size_t end = w.off;
    mirage_wr_seek(&w, 0);
    mirage_wr_be16(&w, (uint16_t)(end - 2));
    CHECK(!w.bad);
    CHECK(memcmp(b, "\0\4abc\0", 6) == 0);
    CHECK_INT(b[6], 0x55);
    mirage_wr_seek(&w, 9);
    CHECK(w.bad);

    /* Every width, one byte short: nothing written. */
    memset(b, 0x55, sizeof(b));
    w = mirage_wr_init(b, 1);
    mirage_wr_be16(&w, 0);
    CHECK(w.bad && b[0] == 0x55);
    w = mirage_wr_init(b, 3);
    mirage_wr_le32(&w, 0);
    CHECK(w.bad && b[0] == 0x55);
    w = mirage_wr_init(b, 7);
    mirage_wr_be64(&w, 0);
    CHECK(w.bad && b[0] == 0x55);
    w = mirage_wr_init(b, 7);
    mirage_wr_le64(&w, 0);
    CHECK(w.bad && b[0] == 0x55);
    w = mirage_wr_init(b, 2);
    CHECK(mirage_wr_take(&w, 3) == NULL && w.bad);
    w = mirage_wr_init(b, 2);
    mirage_wr_zeros(&w, 3);
    CHECK(w.bad && b[0] == 0x55);
    w = mirage_wr_init(NULL, 10);
    mirage_wr_u8(&w, 1);
    CHECK(w.bad);
}

static void test_write_octal(void)
{
    uint8_t b[12];
    struct mirage_wr w = mirage_wr_init(b, sizeof(b));
    struct mirage_rd r;

    mirage_wr_octal(&w, 8, 0644);
    CHECK(!w.bad);
    CHECK(memcmp(b, "0000644", 8) == 0);
    mirage_wr_octal(&w, 4, 0777);
    CHECK(!w.bad);
    CHECK(memcmp(b + 8, "777", 4) == 0);
    r = mirage_rd_init(b, 12);
    CHECK(mirage_rd_octal(&r, 8) == 0644);
    CHECK(mirage_rd_octal(&r, 4) == 0777);
    CHECK(!r.bad);

    /* 01000 needs 4 digits: a field of 4 holds 3 and the NUL. */
    w = mirage_wr_init(b, sizeof(b));
    mirage_wr_octal(&w, 4, 01000);
    CHECK(w.bad);
    CHECK_INT(mirage_wr_left(&w), 0);
    CHECK(memcmp(b, "\0\0\0\0", 4) == 0);

    /* The largest 64-bit value in a 12-byte field does not fit; in 23 it does. */
    uint8_t big[23];
    w = mirage_wr_init(big, sizeof(big));
    mirage_wr_octal(&w, 23, UINT64_MAX);
    CHECK(!w.bad);
    r = mirage_rd_init(big, sizeof(big));
    CHECK(mirage_rd_octal(&r, 23) == UINT64_MAX);
    CHECK(!r.bad);
}

static void test_hex_value(void)
{
    const char *digits = "0123456789abcdefABCDEF";

    for (int i = 0; digits[i]; i++)
        CHECK_INT(mirage_hex_value(digits[i]), i < 16 ? i : i - 6);
    for (int c = -128; c < 256; c++)
        if (!strchr(digits, c) || c == 0)
            CHECK_INT(mirage_hex_value(c), -1);
}

int main(void)
{
    test_read_values();
    test_read_past_end();
    test_read_sub_seek();
    test_read_octal();
    test_write();
    test_write_octal();
    test_hex_value();
    return CHECK_DONE();
}
