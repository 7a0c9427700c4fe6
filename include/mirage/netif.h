/* netif.h: a network interface for the stack: frames in and out of one platform net device. */
#ifndef MIRAGE_NETIF_H
#define MIRAGE_NETIF_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/device.h"
#include "mirage/platform.h"

/*
 * The transmit convention of every layer (MirageOS's `write ~size fill`): the
 * layer below hands out a buffer of (size) bytes that satisfies its own needs,
 * the caller's fill function writes its header and payload at offset 0 and
 * returns how many bytes it wrote (<= size), or a negative MIRAGE_E* code to
 * send nothing. No reference to the buffer is kept after fill returns.
 */
typedef int (*mirage_fill_fn)(void *ctx, uint8_t *buf, size_t size);

/* A read-only view of payload bytes the layer below copies once into its frame. */
struct mirage_iovec {
    const void *base;
    size_t len;
};

/* Receives one frame; (frame, len) is valid only during the call. */
typedef void (*mirage_netif_rx_fn)(void *ctx, const uint8_t *frame, size_t len);

/*
 * A device other than the platform's (the test link of tests/net/link.h, a
 * bridge): set nif->ops and nif->ops_ctx before the first write or listen.
 * The calls mean what mirage_net_write, mirage_net_readv and
 * mirage_wait_device mean for a platform device.
 */
struct mirage_netif_ops {
    int (*write)(void *ctx, const uint8_t *frame, size_t len);
    int (*readv)(void *ctx, struct mirage_frame *frames, size_t n, size_t *got);
    int (*wait)(void *ctx, uint64_t deadline); /* suspends until input may be pending */
};

struct mirage_netif_stats {
    uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
    uint64_t rx_oversized;   /* longer than mtu + 14: dropped by the device (mirage_net_stats)
                                or here, never truncated */
    uint64_t rx_errors;      /* reads that failed; the receive fiber waits and reads on */
    uint64_t tx_dropped;     /* the device had no room */
    uint64_t tx_errors;      /* a fill failed or the frame was too big */
    uint64_t tx_gso, rx_gso; /* large TCP or UDP frames the device cut up or coalesced */
    uint64_t rx_gso_bad;     /* UDP GSO frames dropped: a malformed virtio-net header, not
                                UDP, a UDP length other than the IP payload's */
};

/* The metadata of a frame once a header of (hlen) bytes goes in front of what
 * (m) describes: every offset moves by (hlen) (ethernet, IPv4, IPv6 output). */
static inline struct mirage_net_meta mirage_net_meta_behind(const struct mirage_net_meta *m,
                                                            size_t hlen)
{
    struct mirage_net_meta r = *m;

    r.csum_start = (uint16_t)(r.csum_start + hlen);
    if (r.gso_type != MIRAGE_NET_GSO_NONE)
        r.hdr_len = (uint16_t)(r.hdr_len + hlen);
    return r;
}

/* Largest frame on the device: mtu + 14, or MIRAGE_NET_GSO_MAX when the
 * device segments and coalesces TCP (over IPv4, IPv6 or both) for us (mirage_net_frame_max). The
 * offloads a platform device offers (nif->info.offloads) are turned on when
 * lib/net first uses it; it clears those the device then refuses. */
size_t mirage_netif_frame_max(const struct mirage_netif *nif);

/* Builds one frame of at most (size) bytes (at most mtu + 14: bigger is
 * MIRAGE_EMSGSIZE, not a truncation) with fill in the device's transmit
 * buffer and sends it. Never suspends; returns 0, MIRAGE_EAGAIN when the
 * device has no room (the frame is dropped and counted), MIRAGE_ENOMEM, or
 * fill's error. Not re-entrant: fill must not write to the same device. */
int mirage_netif_write(struct mirage_netif *nif, size_t size, mirage_fill_fn fill, void *ctx);

/* As mirage_netif_write, with (meta) for the device (NULL: none): a frame
 * with a TCP checksum to complete, or up to MIRAGE_NET_GSO_MAX bytes to cut
 * into segments. Metadata asking for an offload the device has not turned on
 * is MIRAGE_EINVAL. */
int mirage_netif_write_meta(struct mirage_netif *nif, size_t size,
                            const struct mirage_net_meta *meta, mirage_fill_fn fill, void *ctx);

/* Sends a finished frame (a copy is not kept). Returns as mirage_netif_write. */
int mirage_netif_send(struct mirage_netif *nif, const uint8_t *frame, size_t len);

/* Starts a fiber that reads frames in batches and hands each to rx(ctx, ...)
 * until mirage_netif_stop(). rx must not wait. A frame longer than mtu + 14
 * is dropped and counted (with a warning); a failed read is counted, logged,
 * and retried after a pause (1 ms, doubling up to 1 s), never the end of
 * receiving. Returns 0, MIRAGE_EINVAL if already listening, or MIRAGE_ENOMEM. */
int mirage_netif_listen(struct mirage_netif *nif, mirage_netif_rx_fn rx, void *ctx);

/* The monotonic clock (ns) for the frame being received: inside rx, the one
 * reading the receive fiber took for its whole batch (those frames arrived
 * together, and a clock read is a system call on some targets); elsewhere a
 * fresh reading. Layers that stamp or time frames use it. */
uint64_t mirage_netif_now(const struct mirage_netif *nif);

/* Inside rx: 1 when the device vouches for the TCP/UDP checksum of the frame
 * being received (it checked it, or the frame was made on this host and its
 * checksum is left partial); 0 elsewhere: the checksum must be verified. */
int mirage_netif_rx_csum_ok(const struct mirage_netif *nif);

/* Inside rx, for the IP layers: when the frame being received is a UDP GSO
 * frame (MIRAGE_NET_GSO_UDP_L4: datagrams of gso_size payload bytes behind
 * one UDP header, as a host's UDP_SEGMENT send arrives with USO on) whose IP
 * payload (udp, len) of upper protocol (proto) is indeed UDP with a length
 * field of (len), returns gso_size (> 0; the netif dropped those of 0); 0 for
 * any other frame and outside rx; MIRAGE_EINVAL for a malformed one (not UDP,
 * or a length that disagrees: pass proto 0 for an IP fragment), which the
 * caller drops and this counts (rx_gso_bad). */
int mirage_netif_rx_udp_gso(struct mirage_netif *nif, uint8_t proto, const uint8_t *udp,
                            size_t len);

/* Ends the receive fiber (suspends the caller until it has; not from rx). */
void mirage_netif_stop(struct mirage_netif *nif);

/* Stops and frees the buffers of lib/net's state; the struct can be reused. */
void mirage_netif_close(struct mirage_netif *nif);

void mirage_netif_stats(const struct mirage_netif *nif, struct mirage_netif_stats *st);

#endif
