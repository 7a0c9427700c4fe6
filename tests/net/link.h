/* link.h: a deterministic in-process Ethernet link with seeded impairments, for network stack
 * tests. */
#ifndef TESTS_NET_LINK_H
#define TESTS_NET_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/netif.h"

/*
 * A simlink joins two endpoints, side 0 and side 1. Each endpoint is a
 * struct mirage_netif whose ops are the link's, so any layer built on a
 * netif (mirage_eth_new, a whole direct stack) runs over it unchanged:
 *
 *     struct simlink_config cfg = {.seed = 42, .drop_ppm = 10000, .delay_ns = MIRAGE_MS(1)};
 *     struct simlink *l = simlink_new(&cfg);
 *     struct mirage_eth *a = mirage_eth_new(simlink_netif(l, 0));
 *     struct mirage_eth *b = mirage_eth_new(simlink_netif(l, 1));
 *     ... build both stacks, start them, run fibers ...
 *     (free the stacks, then) simlink_free(l);
 *
 * A frame written on one side is copied, then, decided by one seeded PRNG in
 * the order frames are written: dropped (drop_ppm per million), corrupted
 * (one random bit flipped, corrupt_ppm), duplicated (dup_ppm; the copy gets its
 * own delay), or held back by reorder_ns extra so later frames overtake it
 * (reorder_ppm). It is then delivered delay_ns (+ a uniform 0..jitter_ns)
 * after it has been serialised at rate_bps (0: no rate limit), unless
 * queue_max frames are already in flight that way (tail drop, as a router).
 * Delivery runs from a runtime timer (mirage_timer_start) that moves the
 * frame into the other side's receive queue and wakes its receive fiber.
 *
 * Everything runs on the runtime's clock: under tests/unit/fake_platform.h
 * (virtual time: the clock jumps to the next deadline) a run is exactly
 * reproducible from the seed; under a real clock the same decisions are taken
 * in the same frame order. Nothing here ever suspends except the receive
 * fiber's wait (netif ops wait).
 *
 * In unit tests, link.c is in the test library (tests/module.mk); it also
 * supplies weak mirage_net_write/readv/stats stubs, since no binding is linked.
 */
struct simlink_config {
    uint64_t seed;
    uint32_t drop_ppm, corrupt_ppm, dup_ppm, reorder_ppm; /* per million frames */
    uint64_t delay_ns;                                    /* one-way latency */
    uint64_t jitter_ns;  /* uniform extra latency (may reorder too) */
    uint64_t reorder_ns; /* extra latency of a reordered frame; 0: 2 * delay + 1 ms */
    uint64_t rate_bps;   /* bits per second; 0: infinite */
    size_t queue_max;    /* frames in flight per direction; 0: 4096 */
    uint16_t mtu;        /* 0: 1500 */
};

struct simlink_stats {
    uint64_t written;   /* frames written by this side */
    uint64_t delivered; /* frames delivered to the other side (duplicates included) */
    uint64_t dropped, corrupted, duplicated, reordered, overflowed, filtered;
};

struct simlink;

/* A new link with (cfg) (copied); MACs are 02:00:00:00:00:01 (side 0) and
 * 02:00:00:00:00:02 (side 1). Returns NULL when out of memory. */
struct simlink *simlink_new(const struct simlink_config *cfg);

/* Frees the link, frames in flight and both netifs' lib/net state
 * (mirage_netif_close). Free the layers above first. May suspend (it stops
 * the receive fibers). */
void simlink_free(struct simlink *l);

/* The endpoint of (side) 0 or 1; valid until simlink_free. */
struct mirage_netif *simlink_netif(struct simlink *l, int side);

/* Changes the impairments (not the seed, MTU or MACs) for frames written from now on. */
void simlink_set_config(struct simlink *l, const struct simlink_config *cfg);

/* A filter every frame passes when written (before impairments): return
 * nonzero to drop it (counted as filtered). (from) is the writing side.
 * Useful to watch the wire or to drop chosen frames. fn NULL removes it. */
typedef int (*simlink_filter_fn)(void *ctx, int from, const uint8_t *frame, size_t len);
void simlink_set_filter(struct simlink *l, simlink_filter_fn fn, void *ctx);

/* Counters of frames written by (side). */
void simlink_stats(const struct simlink *l, int side, struct simlink_stats *st);

/* Frames in flight in both directions plus frames waiting in receive queues. */
size_t simlink_pending(const struct simlink *l);

#endif
