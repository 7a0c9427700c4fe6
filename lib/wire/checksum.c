/* checksum.c: the Internet checksum (RFC 1071) that IPv4, ICMP, UDP, TCP and the responder use. */
#include <string.h>

#include "mirage/checksum.h"

static int little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;

    memcpy(&first, &one, 1);
    return first == 1;
}

/* The 16-bit ones' complement sum of (p, n) as big-endian words, a last odd
 * byte being the high byte of a word. The words are summed as they lie in
 * memory, 32 bits at a time, and the folded sum is byte-swapped once: the
 * ones' complement sum commutes with byte swapping (RFC 1071 2.B). */
static uint16_t sum_words(const uint8_t *p, size_t n)
{
    uint64_t s = 0;
    uint16_t h;

    for (; n >= 8; p += 8, n -= 8) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + 4, 4);
        s += (uint64_t)a + b;
    }
    for (; n >= 2; p += 2, n -= 2) {
        memcpy(&h, p, 2);
        s += h;
    }
    if (n) {
        uint8_t last[2] = {p[0], 0};
        memcpy(&h, last, 2);
        s += h;
    }
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    h = (uint16_t)s;
    return little_endian() ? (uint16_t)(h << 8 | h >> 8) : h;
}

void mirage_csum_add(struct mirage_csum *c, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    if (len == 0)
        return;
    if (c->len & 1) {
        c->sum += p[0]; /* the low byte of the word the previous piece began */
        c->sum += sum_words(p + 1, len - 1);
    } else {
        c->sum += sum_words(p, len);
    }
    c->len += len;
}

void mirage_csum_add_pseudo4(struct mirage_csum *c, uint32_t src, uint32_t dst, uint8_t proto,
                             size_t len)
{
    /* Whole words of their own: the parity of the data is unchanged. */
    c->sum += (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
    c->sum += proto;
    c->sum += (uint64_t)(len >> 16) + (len & 0xffff);
}

void mirage_csum_add_pseudo6(struct mirage_csum *c, const uint8_t src[16], const uint8_t dst[16],
                             uint8_t next, uint32_t len)
{
    for (int i = 0; i < 16; i += 2)
        c->sum += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
    c->sum += (len >> 16) + (len & 0xffff);
    c->sum += next;
}

uint16_t mirage_csum_finish(const struct mirage_csum *c)
{
    uint64_t s = c->sum;

    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

uint16_t mirage_csum(const void *buf, size_t len)
{
    struct mirage_csum c = MIRAGE_CSUM_INIT;

    mirage_csum_add(&c, buf, len);
    return mirage_csum_finish(&c);
}
