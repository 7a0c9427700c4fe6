/* netif.h: a network interface for the stack: frames in and out of one platform net device. */
#ifndef MIRAGE_NETIF_H
#define MIRAGE_NETIF_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/device.h"

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

struct mirage_netif_stats {
    uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
    uint64_t tx_dropped; /* the device had no room */
    uint64_t tx_errors;  /* a fill failed or the frame was too big */
};

/* Largest frame on the device: mtu + 14. */
size_t mirage_netif_frame_max(const struct mirage_netif *nif);

/* Builds one frame of at most (size) bytes (at most mtu + 14: bigger is
 * MIRAGE_EINVAL, not a truncation) with fill and sends it. Never suspends;
 * returns 0, MIRAGE_EAGAIN when the device has no room (the frame is dropped
 * and counted), or fill's error. */
int mirage_netif_write(struct mirage_netif *nif, size_t size, mirage_fill_fn fill, void *ctx);

/* Starts a fiber that reads frames in batches and hands each to rx(ctx, ...)
 * until mirage_netif_stop(). Returns 0 or MIRAGE_ENOMEM. */
int mirage_netif_listen(struct mirage_netif *nif, mirage_netif_rx_fn rx, void *ctx);
void mirage_netif_stop(struct mirage_netif *nif);

void mirage_netif_stats(const struct mirage_netif *nif, struct mirage_netif_stats *st);

#endif
