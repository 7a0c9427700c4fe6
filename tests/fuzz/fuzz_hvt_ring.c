/* fuzz_hvt_ring.c: mirage-hvt's walk over a guest's TX ring: frames of several slots wrapping at
 * the ring's end, each behind a virtio-net header the guest wrote. */
#include <stdlib.h>

#include "../../tender/hvt/ring.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static struct hvt_ring_hdr hdr;
static uint8_t ring[HVT_RING_BYTES];

/* Writes (len) bytes at byte (off) of the ring as the guest does, wrapping. */
static void put(uint32_t off, const uint8_t *src, size_t len)
{
    size_t first = HVT_RING_BYTES - off < len ? HVT_RING_BYTES - off : len;

    memcpy(ring + off, src, first);
    memcpy(ring, src + first, len - first);
}

/*
 * Input: MTU (2 bytes), offloads turned on (1), published slots (1, up to
 * 255), the first index (4), then per frame the walk reaches: its length (3
 * bytes) and the virtio-net header the guest wrote (10). Whatever they say,
 * a frame the walk accepts lies within the published slots, its bytes are
 * inside the ring, and the offload rules hold for its header.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mirage_net_info info = {{0}, 0, 0};
    uint32_t idx, avail;

    if (size < 8)
        return 0;
    info.mtu = (uint16_t)(68 + (data[0] | data[1] << 8) % (9000 - 68 + 1));
    info.offloads = data[2] & MIRAGE_NET_OFFLOAD_ALL;
    avail = data[3];
    idx = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
          (uint32_t)data[7] << 24;
    data += 8;
    size -= 8;
    while (avail > 0 && size >= 13) {
        struct mirage_vnet_hdr vh;
        unsigned long long bad;
        uint32_t len, slots;
        struct iovec iov[2];
        size_t total = 0;
        const char *problem;
        int n;

        hdr.tx_len[idx % HVT_RING_SLOTS] =
            (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16;
        put(HVT_SLOT_OFF(idx), data + 3, HVT_VNET_HDR_SIZE);
        data += 13;
        size -= 13;
        problem = hvt_ring_tx_frame(&hdr, ring, idx, avail, &info, &vh, &len, &slots, &bad);
        if (problem)
            return 0; /* the tender ends the guest here */
        check(slots >= 1 && slots <= avail && len <= mirage_net_frame_max(&info));
        check((size_t)slots * HVT_SLOT_SIZE >= len + HVT_VNET_HDR_SIZE);
        n = hvt_ring_iov(ring, (HVT_SLOT_OFF(idx) + HVT_VNET_HDR_SIZE) % HVT_RING_BYTES, len, iov);
        for (int i = 0; i < n; i++) {
            check((uint8_t *)iov[i].iov_base >= ring &&
                  (uint8_t *)iov[i].iov_base + iov[i].iov_len <= ring + sizeof(ring));
            total += iov[i].iov_len;
        }
        check(total == len);
        if (vh.gso_type != MIRAGE_NET_GSO_NONE || len > (uint32_t)info.mtu + 14)
            check(((vh.gso_type == MIRAGE_NET_GSO_TCPV4 && (info.offloads & MIRAGE_NET_OFFLOAD_TSO4)) ||
                   (vh.gso_type == MIRAGE_NET_GSO_TCPV6 && (info.offloads & MIRAGE_NET_OFFLOAD_TSO6)) ||
                   (vh.gso_type == MIRAGE_NET_GSO_UDP_L4 && (info.offloads & MIRAGE_NET_OFFLOAD_USO))) &&
                  (info.offloads & MIRAGE_NET_OFFLOAD_CSUM) &&
                  (vh.flags & MIRAGE_NET_META_NEEDS_CSUM) && vh.gso_size > 0 &&
                  len <= MIRAGE_NET_GSO_MAX);
        idx += slots;
        avail -= slots;
    }
    return 0;
}
