/* fuzz_net_meta.c: the offload rules every binding applies to a frame's virtio-net header. */
#include <stdlib.h>

#include "mirage/platform.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * Input: MTU (2 bytes, little-endian), offloads turned on (1 byte), a
 * virtio-net header as a tap or a guest writes it (10 bytes), the frame's
 * length (3 bytes). Whatever they say, a frame the rules let through fits the
 * device and everything the header points at lies inside it.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mirage_net_info info = {{0}, 0, 0};
    struct mirage_net_meta m;
    size_t len, max;

    if (size < 16)
        return 0;
    info.mtu = (uint16_t)(68 + le16(data) % (9000 - 68 + 1));
    info.offloads = data[2] & MIRAGE_NET_OFFLOAD_ALL;
    m.flags = data[3];
    m.gso_type = data[4];
    m.hdr_len = le16(data + 5);
    m.gso_size = le16(data + 7);
    m.csum_start = le16(data + 9);
    m.csum_offset = le16(data + 11);
    len = (size_t)data[13] | (size_t)data[14] << 8 | (size_t)data[15] << 16;
    max = mirage_net_frame_max(&info);
    if (mirage_net_tx_ok(&info, &m, len)) {
        check(len <= max);
        check(!(m.flags & ~MIRAGE_NET_META_NEEDS_CSUM));
        if (m.flags & MIRAGE_NET_META_NEEDS_CSUM)
            check((info.offloads & MIRAGE_NET_OFFLOAD_CSUM) &&
                  (size_t)m.csum_start + m.csum_offset + 2 <= len);
        if (len > (size_t)info.mtu + 14 || m.gso_type != MIRAGE_NET_GSO_NONE)
            check(((m.gso_type == MIRAGE_NET_GSO_TCPV4 && (info.offloads & MIRAGE_NET_OFFLOAD_TSO4)) ||
                   (m.gso_type == MIRAGE_NET_GSO_TCPV6 && (info.offloads & MIRAGE_NET_OFFLOAD_TSO6)) ||
                   (m.gso_type == MIRAGE_NET_GSO_UDP_L4 && (info.offloads & MIRAGE_NET_OFFLOAD_USO))) &&
                  (m.flags & MIRAGE_NET_META_NEEDS_CSUM) && m.gso_size > 0 && m.hdr_len < len &&
                  len <= MIRAGE_NET_GSO_MAX);
    }
    if (mirage_net_tx_ok(&info, &m, len)) {
        /* What a binding writes before the frame reads back as what was sent. */
        struct mirage_vnet_hdr h = mirage_vnet_hdr_of(&m);
        struct mirage_net_meta back = mirage_net_meta_of(&h);

        check(back.flags == m.flags && back.gso_type == m.gso_type && back.hdr_len == m.hdr_len &&
              back.gso_size == m.gso_size && back.csum_start == m.csum_start &&
              back.csum_offset == m.csum_offset);
    }
    if (mirage_net_rx_ok(&info, m.gso_type, len)) {
        /* The same ten bytes as a tap's header on a received frame. */
        struct mirage_vnet_hdr h = {m.flags, m.gso_type, m.hdr_len, m.gso_size, m.csum_start,
                                    m.csum_offset};
        struct mirage_net_meta rx = mirage_net_meta_of(&h);

        check(len <= max);
        if (len > (size_t)info.mtu + 14)
            check(((info.offloads & MIRAGE_NET_OFFLOAD_TSO4) && (m.gso_type & 0x7f) == 1) ||
                  ((info.offloads & MIRAGE_NET_OFFLOAD_TSO6) && (m.gso_type & 0x7f) == 4) ||
                  ((info.offloads & MIRAGE_NET_OFFLOAD_USO) && (m.gso_type & 0x7f) == 5));
        check(!(rx.flags & ~(MIRAGE_NET_META_NEEDS_CSUM | MIRAGE_NET_META_CSUM_VALID)));
        /* A TCP or UDP_L4 type comes through as itself (the ECN bit gone), anything else (UFO's
         * 3 too) as none. */
        check(rx.gso_type == ((m.gso_type & 0x7f) == 1   ? MIRAGE_NET_GSO_TCPV4
                              : (m.gso_type & 0x7f) == 4 ? MIRAGE_NET_GSO_TCPV6
                              : (m.gso_type & 0x7f) == 5 ? MIRAGE_NET_GSO_UDP_L4
                                                         : MIRAGE_NET_GSO_NONE));
    }
    return 0;
}
