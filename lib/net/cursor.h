/* cursor.h: bounds-checked reading of received packets, shared by the lib/net parsers. */
#ifndef NET_CURSOR_H
#define NET_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Reads past the end never touch memory: they set (bad) and yield zeros, so a
 * parser reads a whole header and checks (bad) once. */
struct cursor {
    const uint8_t *p;
    size_t len, off;
    int bad;
};

static inline struct cursor cur_make(const uint8_t *p, size_t len)
{
    struct cursor c = {p, len, 0, 0};
    return c;
}

static inline size_t cur_left(const struct cursor *c)
{
    return c->len - c->off;
}

/* The next (n) bytes, moved past, or NULL (and bad) if fewer remain. */
static inline const uint8_t *cur_take(struct cursor *c, size_t n)
{
    const uint8_t *r;

    if (n > cur_left(c)) {
        c->bad = 1;
        c->off = c->len;
        return NULL;
    }
    r = c->p + c->off;
    c->off += n;
    return r;
}

static inline uint8_t cur_u8(struct cursor *c)
{
    const uint8_t *b = cur_take(c, 1);
    return b ? b[0] : 0;
}

static inline uint16_t cur_u16(struct cursor *c)
{
    const uint8_t *b = cur_take(c, 2);
    return b ? (uint16_t)(b[0] << 8 | b[1]) : 0;
}

static inline uint32_t cur_u32(struct cursor *c)
{
    const uint8_t *b = cur_take(c, 4);
    return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
