/* arp.h: ARP for IPv4 over Ethernet (RFC 826): a bounded cache, queries with retries, gratuitous
 * ARP. */
#ifndef MIRAGE_ARP_H
#define MIRAGE_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/ethernet.h"

/*
 * IPv4 addresses here and in every IPv4 layer are uint32_t in host byte order
 * (10.0.0.1 is 0x0a000001); see mirage/ipv4.h for conversions.
 *
 * The cache holds dynamic entries (learnt from replies and from requests for
 * our addresses, expiring after entry_timeout), pending entries (a query is
 * out: up to queue_max packets wait for the answer, the query is resent every
 * retry_interval, and after retries resends the entry gives up: the queued
 * packets are dropped with a log line and sends to it fail with
 * MIRAGE_EHOSTUNREACH until the failure ages out after retry_interval) and
 * static entries (never expire or change). A dynamic entry still in use in
 * the last eighth of its life is polled with unicast requests (once per
 * retry_interval, up to retries times), so that the answer renews it before
 * traffic to it ever waits. When full, the oldest dynamic or
 * failed entry makes room; pending and static entries are never evicted.
 * A reply claiming one of our own addresses is ignored (and logged).
 * Everything is event-driven on the runtime's timers: nothing here suspends.
 */
struct mirage_arp_config {
    size_t cache_max;        /* entries, default 512 */
    uint64_t entry_timeout;  /* ns a learnt entry lives, default 20 min */
    uint64_t retry_interval; /* ns between queries, default 1 s */
    unsigned retries;        /* queries before giving up, default 3 */
    size_t queue_max;        /* packets queued per pending entry, default 64 */
};

struct mirage_arp_stats {
    uint64_t requests_sent, replies_sent, requests_rx, replies_rx;
    uint64_t bad;         /* malformed or not Ethernet/IPv4 */
    uint64_t ignored_own; /* replies claiming one of our addresses */
    uint64_t queued, queue_dropped, give_ups, evicted;
    uint64_t polls; /* unicast requests refreshing an entry in use before it expires */
};

struct mirage_arp; /* opaque */

/* A new ARP layer on (eth) (which must outlive it); registers itself as the
 * ARP handler. cfg may be NULL; zero fields take the defaults. Returns NULL
 * when out of memory. */
struct mirage_arp *mirage_arp_new(struct mirage_eth *eth, const struct mirage_arp_config *cfg);

/* Drops queued packets, stops timers, unregisters and frees. */
void mirage_arp_free(struct mirage_arp *arp);

/* The addresses we answer for (replacing the previous set; up to 8). Each new
 * address is announced with a gratuitous ARP request now and once more a
 * second later. Returns 0 or MIRAGE_EINVAL (too many). */
int mirage_arp_set_ips(struct mirage_arp *arp, const uint32_t *ips, size_t n);

/* Adds or replaces a static entry (ip -> mac); a pending query for it is
 * answered at once. Returns 0 or MIRAGE_ENOSPC. */
int mirage_arp_add_static(struct mirage_arp *arp, uint32_t ip, const uint8_t mac[6]);

/* Removes any entry for (ip), dropping its queue. Returns 0 or MIRAGE_ENOENT. */
int mirage_arp_remove(struct mirage_arp *arp, uint32_t ip);

/* The MAC of (ip) if known now (static or dynamic, not expired): 0 and *mac,
 * else MIRAGE_ENOENT. Sends nothing. */
int mirage_arp_lookup(const struct mirage_arp *arp, uint32_t ip, uint8_t mac[6]);

/* Sends an IPv4 packet (ethertype 0x0800) to the next hop (ip): when its MAC
 * is known the frame is built with fill at once (as mirage_eth_write); else
 * fill runs now into a queue buffer of (size) bytes (0: the MTU), a query is
 * sent if none is out, and the frame goes when the reply arrives. Never
 * suspends. Returns 0 (sent or queued), MIRAGE_EAGAIN (device full),
 * MIRAGE_ENOSPC (the entry's queue is full: dropped), MIRAGE_EHOSTUNREACH
 * (a recent query got no answer), MIRAGE_ENOMEM, MIRAGE_EMSGSIZE, or fill's
 * error. */
int mirage_arp_output(struct mirage_arp *arp, uint32_t ip, size_t size, mirage_fill_fn fill,
                      void *ctx);

/* As mirage_arp_output, with metadata for the device (mirage_eth_write_meta).
 * A frame with metadata is never queued: while the next hop's MAC is not
 * known it is MIRAGE_EAGAIN (a query is sent), and the sender retransmits. */
int mirage_arp_output_meta(struct mirage_arp *arp, uint32_t ip, size_t size,
                           const struct mirage_net_meta *meta, mirage_fill_fn fill, void *ctx);

/* Handles one received ARP packet (the Ethernet payload). */
void mirage_arp_input(struct mirage_arp *arp, const uint8_t *pkt, size_t len);

void mirage_arp_stats(const struct mirage_arp *arp, struct mirage_arp_stats *st);

#endif
