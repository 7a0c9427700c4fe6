/* reasm.h: IPv4 reassembly as MirageOS's: an LRU cache bounded in bytes, 16 fragments, 10 s, no
 * overlap. */
#ifndef NET_REASM_H
#define NET_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/ipv4.h"

struct reasm_entry;

/* All incomplete datagrams; the struct is owned by the IPv4 layer. */
struct reasm_cache {
    struct reasm_entry *head, *tail; /* most recently used first */
    size_t bytes;                    /* charged: payload copies plus per-entry overhead */
    size_t entries;
    uint64_t completed, dropped;
};

void reasm_init(struct reasm_cache *rc);
/* Frees every incomplete datagram. */
void reasm_clear(struct reasm_cache *rc);

/* Takes one fragment (rx describes it: header, payload; id, byte offset and
 * the more-fragments flag from its header) received at (now). When it
 * completes its datagram, calls deliver(ctx, rx) with the whole payload and
 * the first fragment's header, then frees it. */
void reasm_input(struct reasm_cache *rc, const struct mirage_ipv4_rx *rx, uint16_t id, size_t off,
                 int more, uint64_t now, void (*deliver)(void *, const struct mirage_ipv4_rx *),
                 void *ctx);

#endif
