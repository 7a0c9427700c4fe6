/* tcp_wire.c: TCP segments on the wire: header and option parsing, checksums. */
#include <string.h>

#include "mirage/error.h"
#include "mirage/tcp.h"

/* A bounds-checked reader over the received bytes. */
struct cursor {
    const uint8_t *p;
    size_t len, off;
};

static int need(const struct cursor *c, size_t n)
{
    return c->len - c->off >= n;
}

static uint8_t get8(struct cursor *c)
{
    return c->p[c->off++];
}

static uint16_t get16(struct cursor *c)
{
    uint16_t v = (uint16_t)(c->p[c->off] << 8 | c->p[c->off + 1]);
    c->off += 2;
    return v;
}

static uint32_t get32(struct cursor *c)
{
    uint32_t v = (uint32_t)c->p[c->off] << 24 | (uint32_t)c->p[c->off + 1] << 16 |
                 (uint32_t)c->p[c->off + 2] << 8 | c->p[c->off + 3];
    c->off += 4;
    return v;
}

/* Options (RFC 9293 3.2, RFC 7323, RFC 2018): kind, length, value. */
static int parse_options(struct cursor *o, struct mirage_tcp_seg *seg, const char **err)
{
    while (need(o, 1)) {
        uint8_t kind = get8(o), olen;

        if (kind == 0) /* end of option list */
            return 0;
        if (kind == 1) /* no-operation */
            continue;
        if (!need(o, 1)) {
            *err = "option without a length";
            return MIRAGE_EINVAL;
        }
        olen = get8(o);
        if (olen < 2 || !need(o, (size_t)olen - 2)) {
            *err = "option length out of the header";
            return MIRAGE_EINVAL;
        }
        struct cursor v = {o->p + o->off, (size_t)olen - 2, 0};
        o->off += (size_t)olen - 2;
        switch (kind) {
        case 2:
            if (v.len != 2) {
                *err = "MSS option length is not 4";
                return MIRAGE_EINVAL;
            }
            seg->mss = get16(&v);
            break;
        case 3:
            if (v.len != 1) {
                *err = "window scale option length is not 3";
                return MIRAGE_EINVAL;
            }
            seg->wscale = get8(&v);
            if (seg->wscale > 14) /* RFC 7323 2.3: use 14 */
                seg->wscale = 14;
            break;
        case 4:
            if (v.len != 0) {
                *err = "SACK-permitted option length is not 2";
                return MIRAGE_EINVAL;
            }
            seg->sack_ok = 1;
            break;
        case 5:
            if (v.len == 0 || v.len % 8 != 0 || v.len > 32) {
                *err = "SACK option length is not 2 + 8n (n 1..4)";
                return MIRAGE_EINVAL;
            }
            seg->nsack = 0;
            while (need(&v, 8)) {
                seg->sack[seg->nsack].left = get32(&v);
                seg->sack[seg->nsack].right = get32(&v);
                seg->nsack++;
            }
            break;
        case 8:
            if (v.len != 8) {
                *err = "timestamps option length is not 10";
                return MIRAGE_EINVAL;
            }
            seg->has_ts = 1;
            seg->tsval = get32(&v);
            seg->tsecr = get32(&v);
            break;
        default: /* unknown: skipped by its length */
            break;
        }
    }
    return 0;
}

int mirage_tcp_parse(const uint8_t *buf, size_t len, struct mirage_tcp_seg *seg, const char **err)
{
    struct cursor c = {buf, len, 0};
    const char *dummy;
    size_t hlen;

    if (err == NULL)
        err = &dummy;
    memset(seg, 0, sizeof(*seg));
    seg->wscale = -1;
    if (buf == NULL || !need(&c, 20)) {
        *err = "segment shorter than a TCP header";
        return MIRAGE_EINVAL;
    }
    seg->src_port = get16(&c);
    seg->dst_port = get16(&c);
    seg->seq = get32(&c);
    seg->ack = get32(&c);
    hlen = (size_t)(get8(&c) >> 4) * 4;
    seg->flags = get8(&c) & 0x3f;
    seg->wnd = get16(&c);
    (void)get16(&c); /* checksum: checked by the caller over the whole segment */
    seg->urg = get16(&c);
    if (hlen < 20) {
        *err = "data offset below 5 words";
        return MIRAGE_EINVAL;
    }
    if (hlen > len) {
        *err = "data offset past the end of the segment";
        return MIRAGE_EINVAL;
    }
    struct cursor o = {buf + 20, hlen - 20, 0};
    if (parse_options(&o, seg, err) != 0)
        return MIRAGE_EINVAL;
    if (seg->src_port == 0 || seg->dst_port == 0) {
        *err = "port 0";
        return MIRAGE_EINVAL;
    }
    seg->data = buf + hlen;
    seg->len = len - hlen;
    return 0;
}

static uint64_t sum_bytes(uint64_t sum, const uint8_t *p, size_t len)
{
    while (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        sum += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        sum += h;
        p += 2;
        len -= 2;
    }
    if (len) {
        uint16_t h = 0;
        memcpy(&h, p, 1); /* the odd byte is the high-order byte in network order */
        sum += h;
    }
    return sum;
}

static uint16_t fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* The sum is computed in the machine's byte order over memory and converted
 * once: one's-complement addition commutes with byte swapping (RFC 1071). */
static uint16_t bswap16(uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (uint16_t)(v << 8 | v >> 8);
#else
    return v;
#endif
}

uint16_t mirage_tcp_checksum(uint32_t pseudo, const uint8_t *seg, size_t len)
{
    uint64_t s = sum_bytes(0, seg, len);
    uint16_t mem = fold(s); /* little-endian view of big-endian words */
    uint64_t total = (uint64_t)bswap16(mem) + pseudo;

    return (uint16_t)~fold(total);
}

uint32_t mirage_tcp_pseudo(const struct mirage_ipaddr *src, const struct mirage_ipaddr *dst,
                           size_t len)
{
    uint32_t sum = 0;
    int n = src->family == 6 ? 16 : 4;

    for (int i = 0; i < n; i += 2) {
        sum += (uint32_t)(src->a[i] << 8 | src->a[i + 1]);
        sum += (uint32_t)(dst->a[i] << 8 | dst->a[i + 1]);
    }
    sum += 6; /* protocol */
    sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
    return sum;
}
