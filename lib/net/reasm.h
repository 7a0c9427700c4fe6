/* reasm.h: fragment reassembly for IPv4 and IPv6: an LRU cache bounded in bytes, 16 pieces, a
 * timeout, no overlap. */
#ifndef NET_REASM_H
#define NET_REASM_H

#include <stddef.h>
#include <stdint.h>

struct reasm_entry;

/* What names a datagram: IPv4 puts its 4-byte addresses first in src and
 * dst and its 16-bit id in id; IPv6 its addresses and 32-bit id. */
struct reasm_key {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint8_t proto; /* IPv4's protocol; 0 for IPv6 (RFC 8200 4.5 names no such field) */
};

struct reasm_limits {
    size_t bytes;        /* all incomplete datagrams together, overhead included */
    unsigned runs;       /* separate pieces (runs of adjacent fragments) per datagram */
    uint64_t timeout;    /* ns from the first fragment to the last */
    size_t max_payload;  /* the largest reassembled payload */
    size_t max_header;   /* the largest header kept (IPv4: 60; IPv6: up to the fragment header) */
};

/* One fragment: (hdr, hdr_len) is what precedes its data in the packet,
 * kept from the fragment at offset 0 (the whole datagram gets it back). */
struct reasm_frag {
    const uint8_t *hdr;
    size_t hdr_len;
    const uint8_t *data;
    size_t len;
    size_t off; /* in bytes */
    int more;
};

/* A whole datagram, or (for on_expire) the first fragment of one that timed out. */
typedef void (*reasm_fn)(void *ctx, const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                         size_t len);

/* All incomplete datagrams of one layer; the struct is owned by that layer. */
struct reasm_cache {
    struct reasm_limits lim;
    struct reasm_entry *head, *tail; /* most recently used first */
    size_t bytes;                    /* charged: copies plus per-entry overhead */
    size_t entries;
    uint64_t completed, dropped, timed_out;
};

void reasm_init(struct reasm_cache *rc, const struct reasm_limits *lim);
/* Frees every incomplete datagram. */
void reasm_clear(struct reasm_cache *rc);

/* Takes fragment (f) of datagram (k) received at (now). When it completes
 * its datagram, calls deliver(ctx, ...) with the first fragment's header
 * and the whole payload, then frees it. */
void reasm_input(struct reasm_cache *rc, const struct reasm_key *k, const struct reasm_frag *f,
                 uint64_t now, reasm_fn deliver, void *ctx);

/* Drops the datagrams whose first fragment came more than the timeout
 * before (now); for each whose offset-0 fragment arrived, calls
 * on_expire(ctx, its header, its data) first (NULL: nobody is told). */
void reasm_expire(struct reasm_cache *rc, uint64_t now, reasm_fn on_expire, void *ctx);

/* When the next datagram times out; UINT64_MAX when none waits. */
uint64_t reasm_next_expiry(const struct reasm_cache *rc);

#endif
