/* wire.h: checked byte cursors, the one way protocol and format code reads and writes bytes. */
#ifndef MIRAGE_WIRE_H
#define MIRAGE_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Two cursors over caller-owned memory: struct mirage_rd reads received bytes,
 * struct mirage_wr writes bytes to send or store. Neither ever touches a byte
 * outside [p, p + len): a read past the end sets (bad) and yields zeros, a write
 * past the end sets (bad) and writes nothing; once bad, a cursor stays at its
 * end, so a parser reads a whole header and checks (bad) once.
 *
 * Big-endian (network order: _be16, ...) and little-endian (on-disk formats:
 * _le16, ...) values of 8 to 64 bits, byte runs, and the fixed-width ASCII octal
 * fields of tar. There is no unchecked variant; nothing allocates.
 */

struct mirage_rd {
    const uint8_t *p;
    size_t len, off;
    int bad; /* a read went past the end (or a field did not parse) */
};

struct mirage_wr {
    uint8_t *p;
    size_t len, off;
    int bad; /* a write did not fit (or a value did not fit its field) */
};

/* The bounds check both cursors share: moves (*off) past (n) of (len) bytes
 * and returns where they start, or, if fewer are left or the cursor is bad,
 * sets (*bad), moves (*off) to (len) and returns SIZE_MAX. */
static inline size_t mirage_wire_advance_(size_t len, size_t *off, int *bad, size_t n)
{
    size_t at = *off;

    if (*bad || n > len - at) {
        *bad = 1;
        *off = len;
        return SIZE_MAX;
    }
    *off = at + n;
    return at;
}

/* Moves (*off) to (to), or, past (len), does as a failed advance. */
static inline void mirage_wire_seek_(size_t len, size_t *off, int *bad, size_t to)
{
    if (to > len)
        *bad = 1;
    *off = *bad ? len : to;
}

/* ---- reading --------------------------------------------------------------- */

/* A reader over (p, len); (p) may be NULL when (len) is 0. */
static inline struct mirage_rd mirage_rd_init(const void *p, size_t len)
{
    struct mirage_rd r = {(const uint8_t *)p, p ? len : 0, 0, 0};
    return r;
}

/* How many bytes are left to read. */
static inline size_t mirage_rd_left(const struct mirage_rd *r)
{
    return r->len - r->off;
}

/* Marks (r) bad and moves it to its end: every later read yields zeros. */
static inline void mirage_rd_fail(struct mirage_rd *r)
{
    mirage_wire_seek_(r->len, &r->off, &r->bad, SIZE_MAX);
}

/* A view of the next (n) bytes, moved past; NULL (and bad) if fewer are left.
 * The view points into the reader's memory. */
static inline const uint8_t *mirage_rd_take(struct mirage_rd *r, size_t n)
{
    size_t at = mirage_wire_advance_(r->len, &r->off, &r->bad, n);
    return at == SIZE_MAX ? NULL : r->p + at;
}

/* Moves past (n) bytes (bad if fewer are left). */
static inline void mirage_rd_skip(struct mirage_rd *r, size_t n)
{
    (void)mirage_rd_take(r, n);
}

/* Moves to absolute offset (off) (bad if it is past the end). */
static inline void mirage_rd_seek(struct mirage_rd *r, size_t off)
{
    mirage_wire_seek_(r->len, &r->off, &r->bad, off);
}

/* A reader over the next (n) bytes, moved past in (r). If fewer are left both
 * (r) and the result are bad and the result is empty. */
static inline struct mirage_rd mirage_rd_sub(struct mirage_rd *r, size_t n)
{
    const uint8_t *v = mirage_rd_take(r, n);
    struct mirage_rd s = {v, v ? n : 0, 0, v == NULL};
    return s;
}

/* Copies the next (n) bytes into (dst), or zeros (and bad) if fewer are left. */
static inline void mirage_rd_bytes(struct mirage_rd *r, void *dst, size_t n)
{
    const uint8_t *v = mirage_rd_take(r, n);

    if (v)
        memcpy(dst, v, n);
    else if (n)
        memset(dst, 0, n);
}

/* The next byte without moving past it, or -1 at the end (the cursor stays
 * good): for text formats that decide on the next character. */
static inline int mirage_rd_peek(const struct mirage_rd *r)
{
    return r->bad || r->off >= r->len ? -1 : r->p[r->off];
}

/* The next byte, or 0 (and bad). */
static inline uint8_t mirage_rd_u8(struct mirage_rd *r)
{
    const uint8_t *v = mirage_rd_take(r, 1);
    return v ? v[0] : 0;
}

/* The next (n) bytes (n <= 8) as a big-endian, or little-endian, number. */
static inline uint64_t mirage_rd_uint_(struct mirage_rd *r, size_t n, int little)
{
    const uint8_t *v = mirage_rd_take(r, n);
    uint64_t x = 0;

    for (size_t i = 0; v && i < n; i++)
        x = x << 8 | v[little ? n - 1 - i : i];
    return x;
}

/* Big-endian (network order) 16, 32 and 64-bit values; 0 (and bad) past the end. */
static inline uint16_t mirage_rd_be16(struct mirage_rd *r)
{
    return (uint16_t)mirage_rd_uint_(r, 2, 0);
}
static inline uint32_t mirage_rd_be32(struct mirage_rd *r)
{
    return (uint32_t)mirage_rd_uint_(r, 4, 0);
}
static inline uint64_t mirage_rd_be64(struct mirage_rd *r)
{
    return mirage_rd_uint_(r, 8, 0);
}

/* Little-endian 16, 32 and 64-bit values; 0 (and bad) past the end. */
static inline uint16_t mirage_rd_le16(struct mirage_rd *r)
{
    return (uint16_t)mirage_rd_uint_(r, 2, 1);
}
static inline uint32_t mirage_rd_le32(struct mirage_rd *r)
{
    return (uint32_t)mirage_rd_uint_(r, 4, 1);
}
static inline uint64_t mirage_rd_le64(struct mirage_rd *r)
{
    return mirage_rd_uint_(r, 8, 1);
}

/* A tar-style ASCII octal field of (width) bytes: optional leading spaces, octal
 * digits, then only NULs or spaces to the end of the field. Anything else, no
 * digit at all, or a value over 64 bits sets bad and yields 0. */
static inline uint64_t mirage_rd_octal(struct mirage_rd *r, size_t width)
{
    const uint8_t *v = mirage_rd_take(r, width);
    uint64_t x = 0;
    size_t i = 0, digits = 0;

    if (v == NULL)
        return 0;
    while (i < width && v[i] == ' ')
        i++;
    for (; i < width && v[i] >= '0' && v[i] <= '7'; i++, digits++) {
        if (x >> 61)
            goto bad;
        x = x << 3 | (uint64_t)(v[i] - '0');
    }
    for (; i < width; i++)
        if (v[i] != '\0' && v[i] != ' ')
            goto bad;
    if (digits == 0)
        goto bad;
    return x;
bad:
    mirage_rd_fail(r);
    return 0;
}

/* ---- writing --------------------------------------------------------------- */

/* A writer over (p, cap); (p) may be NULL when (cap) is 0. */
static inline struct mirage_wr mirage_wr_init(void *p, size_t cap)
{
    struct mirage_wr w = {(uint8_t *)p, p ? cap : 0, 0, 0};
    return w;
}

/* How many bytes are left to write. */
static inline size_t mirage_wr_left(const struct mirage_wr *w)
{
    return w->len - w->off;
}

/* Marks (w) bad and moves it to its end: every later write is dropped. */
static inline void mirage_wr_fail(struct mirage_wr *w)
{
    mirage_wire_seek_(w->len, &w->off, &w->bad, SIZE_MAX);
}

/* The next (n) bytes for the caller to fill, moved past; NULL (and bad) if
 * fewer are left. */
static inline uint8_t *mirage_wr_take(struct mirage_wr *w, size_t n)
{
    size_t at = mirage_wire_advance_(w->len, &w->off, &w->bad, n);
    return at == SIZE_MAX ? NULL : w->p + at;
}

/* Moves to absolute offset (off) (bad if past the end), e.g. to fill in a
 * checksum or length field after what it covers. */
static inline void mirage_wr_seek(struct mirage_wr *w, size_t off)
{
    mirage_wire_seek_(w->len, &w->off, &w->bad, off);
}

/* Writes (n) bytes from (src) (bad, nothing written, if they do not fit). */
static inline void mirage_wr_bytes(struct mirage_wr *w, const void *src, size_t n)
{
    uint8_t *v = mirage_wr_take(w, n);

    if (v && n)
        memcpy(v, src, n);
}

/* Writes (n) zero bytes (bad, nothing written, if they do not fit). */
static inline void mirage_wr_zeros(struct mirage_wr *w, size_t n)
{
    uint8_t *v = mirage_wr_take(w, n);

    if (v && n)
        memset(v, 0, n);
}

/* Writes one byte. */
static inline void mirage_wr_u8(struct mirage_wr *w, uint8_t x)
{
    uint8_t *v = mirage_wr_take(w, 1);

    if (v)
        v[0] = x;
}

/* Writes the low (n) bytes (n <= 8) of (x), big-endian or little-endian. */
static inline void mirage_wr_uint_(struct mirage_wr *w, uint64_t x, size_t n, int little)
{
    uint8_t *v = mirage_wr_take(w, n);

    for (size_t i = 0; v && i < n; i++)
        v[little ? i : n - 1 - i] = (uint8_t)(x >> (8 * i));
}

/* Big-endian (network order) 16, 32 and 64-bit values. */
static inline void mirage_wr_be16(struct mirage_wr *w, uint16_t x)
{
    mirage_wr_uint_(w, x, 2, 0);
}
static inline void mirage_wr_be32(struct mirage_wr *w, uint32_t x)
{
    mirage_wr_uint_(w, x, 4, 0);
}
static inline void mirage_wr_be64(struct mirage_wr *w, uint64_t x)
{
    mirage_wr_uint_(w, x, 8, 0);
}

/* Little-endian 16, 32 and 64-bit values. */
static inline void mirage_wr_le16(struct mirage_wr *w, uint16_t x)
{
    mirage_wr_uint_(w, x, 2, 1);
}
static inline void mirage_wr_le32(struct mirage_wr *w, uint32_t x)
{
    mirage_wr_uint_(w, x, 4, 1);
}
static inline void mirage_wr_le64(struct mirage_wr *w, uint64_t x)
{
    mirage_wr_uint_(w, x, 8, 1);
}

/* A tar-style ASCII octal field of (width) bytes: zero-padded digits and a
 * final NUL. A value that needs more than (width - 1) digits sets bad and the
 * field is left as zeros. */
static inline void mirage_wr_octal(struct mirage_wr *w, size_t width, uint64_t x)
{
    uint8_t *v = mirage_wr_take(w, width);

    if (v == NULL || width == 0)
        return;
    v[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0;) {
        v[i] = (uint8_t)('0' + (x & 7));
        x >>= 3;
    }
    if (x != 0) {
        memset(v, 0, width);
        mirage_wr_fail(w);
    }
}

/* The value of the hexadecimal digit (c), either case, or -1: for the text
 * formats (key values, HTTP chunk sizes, zone files, the gdb protocol). */
static inline int mirage_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
