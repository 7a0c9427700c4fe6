/* ipv6.h: IPv6 (RFC 8200) with fragments, path MTU (RFC 8201), neighbour and router discovery
 * (RFC 4861), SLAAC and DAD (RFC 4862), MLDv2 reports (RFC 3810). */
#ifndef MIRAGE_IPV6_H
#define MIRAGE_IPV6_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/ethernet.h"
#include "mirage/flow.h"

/*
 * Addresses here are 16 bytes in network order (const uint8_t *, as the
 * checksum's pseudo-header takes them); stack.h's family-tagged
 * mirage_ipaddr (family 6) carries the same bytes.
 *
 * The layer owns neighbour discovery, as ARP belongs to IPv4 but with no
 * layer of its own: ICMPv6 types 133..137 are handled here and never reach
 * the ICMPv6 handler. Its addresses: the link-local fe80::/64 one made from
 * the MAC (modified EUI-64, RFC 4291 2.5.1) and a static one from the
 * configuration. Each starts tentative and is used only once duplicate
 * address detection (RFC 4862 5.4: one neighbour solicitation, then a
 * retransmission interval of silence) finds nobody else holding it; an
 * address someone holds is logged and never used.
 *
 * The neighbour cache has RFC 4861's states: INCOMPLETE (multicast
 * solicitations, up to queue_max packets waiting), REACHABLE (confirmed
 * within the reachable time), STALE (not confirmed lately; used as is),
 * DELAY (used while stale: the upper layer has 5 s to confirm it) and PROBE
 * (unicast solicitations; unanswered ones remove it). Transmit never
 * suspends: a datagram goes at once or waits in its next hop's queue.
 *
 * Fragments are reassembled as IPv4's are (one reassembly, reasm.c): at
 * most MIRAGE_IPV6_REASM_BYTES for all datagrams together, 16 separate
 * pieces each, 60 s; any overlap drops the datagram (RFC 5722), and one that
 * times out after its first fragment came gets a time exceeded (code 1).
 * A datagram larger than the path MTU goes as fragments. Packet-too-big
 * lowers the path MTU of its destination (never below 1280) in a bounded
 * destination cache for 10 minutes (RFC 8201), and the upper layers hear of
 * it through mirage_ipv6_on_pmtu.
 *
 * Unless cfg.no_router_adv, the layer solicits routers once its link-local
 * address is ready and takes their advertisements (RFC 4861 6.3.4): the
 * default-router list, hop limit, reachable and retransmit times, the MTU
 * option, and SLAAC addresses (prefix + EUI-64, with DAD) from prefixes with
 * the autonomous flag, kept for their valid lifetimes. Redirects are taken
 * only when RFC 4861 8.1's checks pass. MLDv2 reports (to ff02::16) name
 * the solicited-node groups of our addresses when they join and in answer
 * to queries.
 */
#define MIRAGE_IPV6_HLEN           40
#define MIRAGE_IPV6_MIN_MTU        1280 /* every link carries this much (RFC 8200 5) */
#define MIRAGE_IPV6_PROTO_HOPOPT   0
#define MIRAGE_IPV6_PROTO_TCP      6
#define MIRAGE_IPV6_PROTO_UDP      17
#define MIRAGE_IPV6_PROTO_ROUTING  43
#define MIRAGE_IPV6_PROTO_FRAGMENT 44
#define MIRAGE_IPV6_PROTO_ICMPV6   58
#define MIRAGE_IPV6_PROTO_NONE     59
#define MIRAGE_IPV6_PROTO_DSTOPTS  60
#define MIRAGE_IPV6_MAX_EXT        16 /* extension headers read in one packet, at most */
#define MIRAGE_IPV6_REASM_BYTES    (256u * 1024u) /* all incomplete datagrams together */
#define MIRAGE_IPV6_REASM_FRAGMENTS 16            /* separate pieces per datagram */
#define MIRAGE_IPV6_REASM_TIMEOUT_NS 60000000000ull /* RFC 8200 4.5: 60 s */
#define MIRAGE_IPV6_PMTU_EXPIRY_NS  600000000000ull /* RFC 8201 4: 10 minutes */

/* The textual form of RFC 5952 ("fe80::1") into (buf) of at least 46 bytes; returns buf. */
char *mirage_ipv6_format(const uint8_t a[16], char *buf);

/* 1 if (a) is fe80::/10, ff00::/8 (multicast), :: (unspecified). */
int mirage_ipv6_is_link_local(const uint8_t a[16]);
int mirage_ipv6_is_multicast(const uint8_t a[16]);
int mirage_ipv6_is_unspecified(const uint8_t a[16]);

/* The solicited-node multicast group of (a): ff02::1:ffXX:XXXX (RFC 4291 2.7.1). */
void mirage_ipv6_solicited_node(const uint8_t a[16], uint8_t out[16]);

/* ---- the layer ---------------------------------------------------------- */

struct mirage_ipv6_config {
    int has_addr;           /* a static address besides the link-local one */
    uint8_t addr[16];       /* ... and its on-link prefix */
    uint8_t prefix;         /* 0..128 */
    int has_gateway;        /* off-link destinations go to (gateway); else unreachable */
    uint8_t gateway[16];    /* usually the router's link-local address */
    uint8_t hop_limit;      /* of datagrams we send; 0: 64 */
    uint64_t reachable;     /* ns, the base reachable time; 0: 30 s (randomised 0.5..1.5) */
    uint64_t retrans;       /* ns between solicitations; 0: 1 s */
    unsigned dad_transmits; /* DAD solicitations per address; 0: 1 */
    size_t cache_max;       /* neighbour entries; 0: 256 */
    size_t queue_max;       /* packets waiting per unresolved neighbour; 0: 16 */
    int no_router_adv;      /* 1: no router solicitations, advertisements ignored */
};

/* Where an address of ours is in its life. */
enum mirage_ipv6_addr_state {
    MIRAGE_IPV6_TENTATIVE, /* DAD still running: not used */
    MIRAGE_IPV6_PREFERRED, /* in use */
    MIRAGE_IPV6_DUPLICATE, /* someone else holds it: never used */
};

enum mirage_ipv6_nd_state {
    MIRAGE_ND_NONE, /* no entry */
    MIRAGE_ND_INCOMPLETE,
    MIRAGE_ND_REACHABLE,
    MIRAGE_ND_STALE,
    MIRAGE_ND_DELAY,
    MIRAGE_ND_PROBE,
};

struct mirage_ipv6_stats {
    uint64_t rx_datagrams;    /* delivered to a protocol handler */
    uint64_t rx_bad;          /* bad version or length, a malformed extension header */
    uint64_t rx_not_for_us;   /* to an address or group we do not hold */
    uint64_t rx_no_proto;     /* an upper protocol nobody handles (parameter problem sent) */
    uint64_t rx_option_drops; /* an unknown option whose type said to discard */
    uint64_t rx_fragments;    /* fragments received */
    uint64_t reassembled, reasm_dropped, reasm_timeouts; /* dropped: overlap, >16, LRU, timeout */
    uint64_t tx_datagrams, tx_errors, tx_fragments;
    uint64_t pmtu_updates;    /* packet-too-big that lowered a path MTU */
    /* neighbour discovery */
    uint64_t ns_sent, ns_rx, na_sent, na_rx, nd_bad; /* bad: failed RFC 4861 7.1 checks */
    uint64_t nd_queued, nd_queue_dropped, nd_failed; /* failed: resolution or probing gave up */
    uint64_t dad_duplicates;
    uint64_t rs_sent, ra_rx, ra_bad, redirects, redirects_bad; /* bad: failed 6.1.2 / 8.1 */
    uint64_t mld_reports, mld_queries;
};

struct mirage_ipv6; /* opaque */

/* A received datagram: the upper-layer payload after the extension headers.
 * (pkt, pkt_len) is the whole packet from its fixed header, for ICMPv6
 * errors to quote. Valid only during the call. */
struct mirage_ipv6_rx {
    const uint8_t *src, *dst; /* 16 bytes each */
    uint8_t proto;            /* the upper-layer next header */
    uint8_t hop_limit, tclass;
    size_t proto_off; /* offset in pkt of the next-header field naming proto */
    const uint8_t *pkt;
    size_t pkt_len;
    const uint8_t *payload;
    size_t len;
    int csum_ok; /* the device vouched for the TCP/UDP checksum (mirage_netif_rx_csum_ok) */
    /* > 0: a UDP GSO frame, whose payload is one UDP header and datagrams of
     * gso_size bytes each (mirage_netif_rx_udp_gso checked it); 0: one datagram. */
    uint16_t gso_size;
};
typedef void (*mirage_ipv6_rx_fn)(void *ctx, const struct mirage_ipv6_rx *rx);

/* How the layer reports a packet it refused to the ICMPv6 layer, which
 * answers with an error (type, code, the 32-bit parameter) about (rx). */
typedef void (*mirage_ipv6_error_fn)(void *ctx, uint8_t type, uint8_t code, uint32_t param,
                                     const struct mirage_ipv6_rx *rx);

/* A new IPv6 layer on (eth) (which must outlive it); registers itself as
 * Ethernet's IPv6 handler and starts DAD on its addresses. Returns NULL when
 * out of memory or cfg is invalid (prefix > 128, a multicast address). */
struct mirage_ipv6 *mirage_ipv6_new(struct mirage_eth *eth, const struct mirage_ipv6_config *cfg);
void mirage_ipv6_free(struct mirage_ipv6 *ip);

/* Sets the handler of next header (proto); fn NULL removes it. Returns 0 or
 * MIRAGE_EADDRINUSE when another handler has it. */
int mirage_ipv6_register(struct mirage_ipv6 *ip, uint8_t proto, mirage_ipv6_rx_fn fn, void *ctx);
void mirage_ipv6_on_error(struct mirage_ipv6 *ip, mirage_ipv6_error_fn fn, void *ctx);

/* Handles one received IPv6 packet (the Ethernet payload). */
void mirage_ipv6_input(struct mirage_ipv6 *ip, const uint8_t *pkt, size_t len);

/* What to send; zero means the default. */
struct mirage_ipv6_out {
    const uint8_t *src; /* NULL: chosen for dst (link-local for link-local and multicast) */
    const uint8_t *dst;
    uint8_t proto;
    int hop_limit; /* 0 or less: the configured default */
    size_t size;   /* room fill may use after the header */
    /* NULL, or metadata for the device with offsets from the IP payload
     * (mirage_eth_write_meta): the datagram is then never fragmented, and may
     * exceed the MTU as a GSO frame the device offers to cut (TSO6). */
    const struct mirage_net_meta *meta;
};

/* Sends one datagram: fill writes the upper-layer header (and payload) into
 * out->size bytes, then (iov, n) follow. Never suspends. Returns 0 (sent or
 * queued for its next hop; over the path MTU it goes as fragments),
 * MIRAGE_EMSGSIZE (over 65535 bytes), MIRAGE_EHOSTUNREACH (off-link with no gateway, no source
 * address, the neighbour did not answer), MIRAGE_ENOSPC (its queue is full),
 * MIRAGE_EAGAIN (device full), MIRAGE_ENOMEM or fill's error. */
int mirage_ipv6_write(struct mirage_ipv6 *ip, const struct mirage_ipv6_out *out,
                      mirage_fill_fn fill, void *ctx, const struct mirage_iovec *iov, size_t n);

/* The source address for (dst): 0 and *src, or MIRAGE_EHOSTUNREACH while we
 * have no usable address of the right scope. */
int mirage_ipv6_src(const struct mirage_ipv6 *ip, const uint8_t dst[16], uint8_t src[16]);
/* As mirage_ipv6_src, but while our address of (dst)'s scope (link-local or
 * not) is still tentative (DAD, 1.1-2 s after boot) and none of that scope is
 * usable, waits for it until (deadline), rather than answer with the other
 * scope's (a link-local source toward a global destination):
 * what a connection asked for right after boot wants. Suspends the caller;
 * MIRAGE_EHOSTUNREACH when DAD has not ended by then (or the address turned
 * out a duplicate), MIRAGE_ECANCELED when the caller is cancelled. */
int mirage_ipv6_src_wait(struct mirage_ipv6 *ip, const uint8_t dst[16], uint8_t src[16],
                         uint64_t deadline);

/* The largest upper-layer payload of one unfragmented datagram to (dst):
 * its path MTU (the link's, or less after a packet too big) minus 40. */
size_t mirage_ipv6_mtu(const struct mirage_ipv6 *ip, const uint8_t dst[16]);

/* The offloads the layer's device has on (MIRAGE_NET_OFFLOAD_*, netif.h). */
uint32_t mirage_ipv6_offloads(const struct mirage_ipv6 *ip);

/* A packet too big from the path to (dst) saying (mtu) (the ICMPv6 layer
 * calls it): lowers the path MTU, at least to 1280, for 10 minutes and
 * tells the mirage_ipv6_on_pmtu handlers. Returns 1 if it lowered it. */
int mirage_ipv6_too_big(struct mirage_ipv6 *ip, const uint8_t dst[16], uint32_t mtu);

/* Called when the path MTU to (dst) drops; (mtu) is mirage_ipv6_mtu's new
 * answer. TCP lowers the MSS of its connections to (dst) here. */
typedef void (*mirage_ipv6_pmtu_fn)(void *ctx, const uint8_t dst[16], size_t mtu);
/* Adds (fn, ctx) to the handlers (fn NULL removes ctx's). Returns 0 or MIRAGE_ENOSPC. */
int mirage_ipv6_on_pmtu(struct mirage_ipv6 *ip, mirage_ipv6_pmtu_fn fn, void *ctx);

/* The default routers (up to n into out); returns how many there are. */
size_t mirage_ipv6_routers(const struct mirage_ipv6 *ip, uint8_t (*out)[16], size_t n);

/* Whether (a) is one of our usable unicast addresses. */
int mirage_ipv6_is_local(const struct mirage_ipv6 *ip, const uint8_t a[16]);

/* Our addresses (up to n into out, with their states and prefixes if not
 * NULL); returns how many there are. The link-local one comes first. */
size_t mirage_ipv6_addresses(const struct mirage_ipv6 *ip, uint8_t (*out)[16], uint8_t *prefix,
                             enum mirage_ipv6_addr_state *state, size_t n);

/* The neighbour cache's entry for (a): its state, and its MAC when known. */
enum mirage_ipv6_nd_state mirage_ipv6_neighbour(const struct mirage_ipv6 *ip, const uint8_t a[16],
                                                uint8_t mac[6]);

/* An upper layer's proof that (a) is reachable (a TCP ACK for new data,
 * RFC 4861 7.3.1): its entry becomes REACHABLE without a probe. */
void mirage_ipv6_confirm(struct mirage_ipv6 *ip, const uint8_t a[16]);

void mirage_ipv6_stats(const struct mirage_ipv6 *ip, struct mirage_ipv6_stats *st);

#endif
