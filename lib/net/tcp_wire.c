/* tcp_wire.c: TCP segments on the wire: header and options parsed; checksum and pseudo-header. */
#include <string.h>

#include "mirage/checksum.h"
#include "mirage/error.h"
#include "mirage/ipv4.h"
#include "mirage/tcp.h"
#include "mirage/wire.h"

/* Options (RFC 9293 3.2, RFC 7323, RFC 2018): kind, length, value. */
static int parse_options(struct mirage_rd *o, struct mirage_tcp_seg *seg, const char **err)
{
    while (mirage_rd_left(o) >= 1) {
        uint8_t kind = mirage_rd_u8(o), olen;

        if (kind == 0) /* end of option list */
            return 0;
        if (kind == 1) /* no-operation */
            continue;
        if (mirage_rd_left(o) < 1) {
            *err = "option without a length";
            return MIRAGE_EINVAL;
        }
        olen = mirage_rd_u8(o);
        if (olen < 2 || mirage_rd_left(o) < (size_t)olen - 2) {
            *err = "option length out of the header";
            return MIRAGE_EINVAL;
        }
        struct mirage_rd v = mirage_rd_sub(o, (size_t)olen - 2);
        switch (kind) {
        case 2:
            if (v.len != 2) {
                *err = "MSS option length is not 4";
                return MIRAGE_EINVAL;
            }
            seg->mss = mirage_rd_be16(&v);
            break;
        case 3:
            if (v.len != 1) {
                *err = "window scale option length is not 3";
                return MIRAGE_EINVAL;
            }
            seg->wscale = mirage_rd_u8(&v);
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
            while (mirage_rd_left(&v) >= 8) {
                seg->sack[seg->nsack].left = mirage_rd_be32(&v);
                seg->sack[seg->nsack].right = mirage_rd_be32(&v);
                seg->nsack++;
            }
            break;
        case 8:
            if (v.len != 8) {
                *err = "timestamps option length is not 10";
                return MIRAGE_EINVAL;
            }
            seg->has_ts = 1;
            seg->tsval = mirage_rd_be32(&v);
            seg->tsecr = mirage_rd_be32(&v);
            break;
        default: /* unknown: skipped by its length */
            break;
        }
    }
    return 0;
}

int mirage_tcp_parse(const uint8_t *buf, size_t len, struct mirage_tcp_seg *seg, const char **err)
{
    struct mirage_rd c = mirage_rd_init(buf, len);
    const char *dummy;
    size_t hlen;

    if (err == NULL)
        err = &dummy;
    memset(seg, 0, sizeof(*seg));
    seg->wscale = -1;
    if (buf == NULL || mirage_rd_left(&c) < 20) {
        *err = "segment shorter than a TCP header";
        return MIRAGE_EINVAL;
    }
    seg->src_port = mirage_rd_be16(&c);
    seg->dst_port = mirage_rd_be16(&c);
    seg->seq = mirage_rd_be32(&c);
    seg->ack = mirage_rd_be32(&c);
    hlen = (size_t)(mirage_rd_u8(&c) >> 4) * 4;
    seg->flags = mirage_rd_u8(&c) & 0x3f;
    seg->wnd = mirage_rd_be16(&c);
    mirage_rd_skip(&c, 2); /* checksum: checked by the caller over the whole segment */
    seg->urg = mirage_rd_be16(&c);
    if (hlen < 20) {
        *err = "data offset below 5 words";
        return MIRAGE_EINVAL;
    }
    if (hlen > len) {
        *err = "data offset past the end of the segment";
        return MIRAGE_EINVAL;
    }
    struct mirage_rd o = mirage_rd_sub(&c, hlen - 20);
    if (parse_options(&o, seg, err) != 0)
        return MIRAGE_EINVAL;
    if (seg->src_port == 0 || seg->dst_port == 0) {
        *err = "port 0";
        return MIRAGE_EINVAL;
    }
    seg->len = mirage_rd_left(&c);
    seg->data = mirage_rd_take(&c, seg->len);
    return 0;
}

uint16_t mirage_tcp_checksum(uint32_t pseudo, const uint8_t *seg, size_t len)
{
    struct mirage_csum c = {pseudo, 0};

    mirage_csum_add(&c, seg, len);
    return mirage_csum_finish(&c);
}

uint32_t mirage_tcp_pseudo(const struct mirage_ipaddr *src, const struct mirage_ipaddr *dst,
                           size_t len)
{
    struct mirage_csum c = MIRAGE_CSUM_INIT;

    if (src->family == 6)
        mirage_csum_add_pseudo6(&c, src->a, dst->a, 6, (uint32_t)len);
    else
        mirage_csum_add_pseudo4(&c, mirage_ipv4_of_bytes(src->a), mirage_ipv4_of_bytes(dst->a), 6,
                                len);
    return (uint32_t)c.sum;
}
