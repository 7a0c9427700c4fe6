/* ring.h: a net ring's frames as the tender reads them (several slots each, wrapping at the
 * ring's end, behind a virtio-net header): shared by net.c and fuzz_hvt_ring. */
#ifndef HVT_RING_H
#define HVT_RING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "mirage/abi/hvt.h"
#include "mirage/platform.h"

_Static_assert(sizeof(struct hvt_ring_hdr) <= HVT_RING_HDR_SIZE, "ring header over its page");
_Static_assert(sizeof(struct mirage_vnet_hdr) == HVT_VNET_HDR_SIZE, "virtio-net header size");
_Static_assert(HVT_FRAME_SLOTS(MIRAGE_NET_GSO_MAX) < HVT_RING_SLOTS / 2, "ring too small");
_Static_assert(MIRAGE_NET_GSO_MAX == 65589, "the TX check's message names the bound");

/* Up to two iovecs for (len) <= HVT_RING_BYTES bytes at byte (off) of one
 * direction's slots (ring), which wrap at its end; returns how many. */
static inline int hvt_ring_iov(uint8_t *ring, uint32_t off, size_t len, struct iovec *iov)
{
    size_t first = HVT_RING_BYTES - off < len ? HVT_RING_BYTES - off : len;

    iov[0] = (struct iovec){ring + off, first};
    if (first == len)
        return 1;
    iov[1] = (struct iovec){ring, len - first};
    return 2;
}

/* Copies (len) bytes at byte (off) of (ring) out, wrapping likewise. */
static inline void hvt_ring_get(const uint8_t *ring, uint32_t off, void *dst, size_t len)
{
    size_t first = HVT_RING_BYTES - off < len ? HVT_RING_BYTES - off : len;

    memcpy(dst, ring + off, first);
    memcpy((uint8_t *)dst + first, ring, len - first);
}

/*
 * The TX frame the guest published at index (idx) of (ring), (avail) slots
 * being published from there on, for a device with (info): its length in
 * *len, its slot count in *slots and its header, read once, in *vh. Returns
 * NULL, or what is wrong with it (the tender ends the guest) with the value
 * at fault in *bad. The guest may write the ring meanwhile: nothing is read
 * twice, and the frame's bytes are the tap's to judge.
 */
static inline const char *hvt_ring_tx_frame(const struct hvt_ring_hdr *hdr, const uint8_t *ring,
                                            uint32_t idx, uint32_t avail,
                                            const struct mirage_net_info *info,
                                            struct mirage_vnet_hdr *vh, uint32_t *len,
                                            uint32_t *slots, unsigned long long *bad)
{
    struct mirage_net_meta m;

    *len = __atomic_load_n(&hdr->tx_len[idx % HVT_RING_SLOTS], __ATOMIC_RELAXED);
    *bad = *len;
    if (*len > MIRAGE_NET_GSO_MAX)
        return "TX frame longer than the largest GSO frame (65589 bytes), bytes:";
    *slots = (uint32_t)HVT_FRAME_SLOTS(*len);
    if (*slots > avail)
        return "TX frame longer than its published slots, bytes:";
    hvt_ring_get(ring, HVT_SLOT_OFF(idx), vh, sizeof(*vh));
    m = (struct mirage_net_meta){vh->flags,    vh->gso_type,   vh->hdr_len,
                                 vh->gso_size, vh->csum_start, vh->csum_offset};
    if (*len > (uint32_t)info->mtu + 14 && m.gso_type == MIRAGE_NET_GSO_NONE)
        return "TX frame longer than the MTU allows, bytes:";
    *bad = (unsigned long long)vh->flags << 8 | vh->gso_type;
    if (!mirage_net_tx_ok(info, &m, *len))
        return "TX frame's virtio-net header asks for what the device's offloads do not allow "
               "(flags << 8 | gso type):";
    return NULL;
}

#endif
