/* ipv4.h: IPv4 (RFC 791) with fragmentation and reassembly, routing by netmask and gateway. */
#ifndef MIRAGE_IPV4_H
#define MIRAGE_IPV4_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/arp.h"
#include "mirage/stack.h"

/*
 * Addresses: every IPv4 layer (arp, ipv4, icmp, udp, tcp) takes and gives an
 * address as a uint32_t in HOST byte order: 10.0.0.1 is 0x0a000001. Convert
 * at the application boundary with mirage_ipv4_of_ipaddr / _to_ipaddr.
 *
 * Upper protocols register one input handler per protocol number. Transmit
 * never suspends: a datagram is built (fill + payloads) and handed to ARP,
 * which sends it or queues it while the next hop is resolved, so event-driven
 * callers (timers, receive handlers) may send.
 */
#define MIRAGE_IPV4_HLEN         20    /* the header we send: no options */
#define MIRAGE_IPV4_MAX_DATAGRAM 65535 /* header + payload */
#define MIRAGE_IPV4_PROTO_ICMP   1
#define MIRAGE_IPV4_PROTO_TCP    6
#define MIRAGE_IPV4_PROTO_UDP    17
#define MIRAGE_IPV4_BROADCAST    0xffffffffu
#define MIRAGE_IPV4_ANY          0u

static inline uint32_t mirage_ipv4_of_bytes(const uint8_t b[4])
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void mirage_ipv4_to_bytes(uint32_t ip, uint8_t b[4])
{
    b[0] = (uint8_t)(ip >> 24);
    b[1] = (uint8_t)(ip >> 16);
    b[2] = (uint8_t)(ip >> 8);
    b[3] = (uint8_t)ip;
}

static inline struct mirage_ipaddr mirage_ipv4_to_ipaddr(uint32_t ip)
{
    struct mirage_ipaddr a = {.family = 4};
    mirage_ipv4_to_bytes(ip, a.a);
    return a;
}

/* 0 and *ip, or MIRAGE_EINVAL when (a) is not an IPv4 address. */
static inline int mirage_ipv4_of_ipaddr(const struct mirage_ipaddr *a, uint32_t *ip)
{
    if (a == NULL || a->family != 4)
        return MIRAGE_EINVAL;
    *ip = mirage_ipv4_of_bytes(a->a);
    return 0;
}

/* "10.0.0.1" into (buf) of at least 16 bytes; returns buf. */
char *mirage_ipv4_format(uint32_t ip, char *buf);

/* ---- the layer ---------------------------------------------------------- */

struct mirage_ipv4_config {
    uint32_t addr;    /* our address; 0: none yet (DHCP): then every datagram is accepted */
    uint8_t prefix;   /* netmask length 0..32 */
    uint32_t gateway; /* 0: none (off-link destinations are unreachable) */
    uint8_t ttl;      /* default TTL of datagrams we send; 0: 64 */
};

struct mirage_ipv4_stats {
    uint64_t rx_datagrams; /* delivered to a protocol handler (after reassembly) */
    uint64_t rx_bad;       /* bad version, length or header checksum */
    uint64_t rx_not_for_us, rx_no_proto;
    uint64_t rx_fragments, reassembled, reasm_dropped; /* dropped: overlap, >16, timeout, LRU */
    uint64_t tx_datagrams, tx_fragments, tx_errors;
    uint64_t pmtu_updates; /* fragmentation needed that lowered a path MTU (RFC 1191) */
};

struct mirage_ipv4; /* opaque */

/* A received datagram (reassembled if it came in fragments). The header
 * (with any options) and payload are valid only during the call. */
struct mirage_ipv4_rx {
    uint32_t src, dst;
    uint8_t proto, ttl, tos;
    const uint8_t *header; /* the IP header as received (of the first fragment) */
    size_t header_len;
    const uint8_t *payload;
    size_t len;
    int csum_ok; /* the device vouched for the TCP/UDP checksum (mirage_netif_rx_csum_ok) */
    /* > 0: a UDP GSO frame, whose payload is one UDP header and datagrams of
     * gso_size bytes each (mirage_netif_rx_udp_gso checked it); 0: one datagram. */
    uint16_t gso_size;
};
typedef void (*mirage_ipv4_rx_fn)(void *ctx, const struct mirage_ipv4_rx *rx);

/* A new IPv4 layer on (eth) and (arp) (both must outlive it); registers itself
 * as Ethernet's IPv4 handler and gives ARP our address. Returns NULL when out
 * of memory or cfg is invalid (prefix > 32). */
struct mirage_ipv4 *mirage_ipv4_new(struct mirage_eth *eth, struct mirage_arp *arp,
                                    const struct mirage_ipv4_config *cfg);
void mirage_ipv4_free(struct mirage_ipv4 *ip);

/* Changes the configuration (e.g. a DHCP lease); a new address is announced
 * by gratuitous ARP. Returns 0 or MIRAGE_EINVAL. */
int mirage_ipv4_set_config(struct mirage_ipv4 *ip, const struct mirage_ipv4_config *cfg);
void mirage_ipv4_get_config(const struct mirage_ipv4 *ip, struct mirage_ipv4_config *cfg);

/* Sets the handler of protocol (proto); fn NULL removes it. Returns 0 or
 * MIRAGE_EADDRINUSE when another handler has it. */
int mirage_ipv4_register(struct mirage_ipv4 *ip, uint8_t proto, mirage_ipv4_rx_fn fn, void *ctx);

/* Handles one received IPv4 packet (the Ethernet payload). */
void mirage_ipv4_input(struct mirage_ipv4 *ip, const uint8_t *pkt, size_t len);

/* Options of one datagram; zero-initialised means the defaults. */
#define MIRAGE_IPV4_DF      1u /* don't fragment: too big is MIRAGE_EMSGSIZE; DF set (PMTUD) */
#define MIRAGE_IPV4_SRC_SET 2u /* use .src even when it is 0.0.0.0 (DHCP) */
struct mirage_ipv4_out {
    uint32_t dst;
    uint8_t proto;
    uint32_t src; /* 0 (without MIRAGE_IPV4_SRC_SET): our address */
    int ttl;      /* 0 or less: the configured TTL */
    uint8_t tos;
    unsigned flags;
    size_t size; /* bytes fill may write; 0: no fill (payloads only) */
    /* NULL, or metadata for the device with offsets from the IP payload
     * (mirage_eth_write_meta): the datagram is then never fragmented, and may
     * exceed the MTU as a GSO frame the device offers to cut. */
    const struct mirage_net_meta *meta;
};

/*
 * Sends one datagram: the payload is what fill writes at offset 0 of a buffer
 * of out->size bytes (typically the upper header; fill may be NULL when size
 * is 0) followed by payloads iov[0..n) copied once into the device's frames.
 * The IP header is added here. fill runs exactly once before this returns
 * (the caller's buffers may be reused at once) and must return how many bytes
 * it wrote (<= size) or a negative error. A datagram bigger than the MTU
 * goes as fragments unless MIRAGE_IPV4_DF. Never suspends. Returns 0 (sent,
 * or queued for ARP), MIRAGE_EMSGSIZE (over 65515 bytes of payload, or over
 * the MTU with DF), MIRAGE_EHOSTUNREACH (no route, or ARP gave up),
 * MIRAGE_EAGAIN (the device was full; dropped), MIRAGE_ENOMEM, or fill's
 * error. Checksums of the upper layer are the caller's (see mirage_csum_*).
 */
int mirage_ipv4_write(struct mirage_ipv4 *ip, const struct mirage_ipv4_out *out,
                      mirage_fill_fn fill, void *ctx, const struct mirage_iovec *iov, size_t n);

/* The source address we use toward (dst): our address (0 while we have none). */
uint32_t mirage_ipv4_src(const struct mirage_ipv4 *ip, uint32_t dst);

/* The largest IP payload toward (dst) that goes in one frame (MTU - 20, or
 * the path MTU's - 20 once fragmentation needed lowered it): TCP's MSS is
 * this minus its header. */
size_t mirage_ipv4_mtu(const struct mirage_ipv4 *ip, uint32_t dst);

/* The offloads the layer's device has on (MIRAGE_NET_OFFLOAD_*, netif.h). */
uint32_t mirage_ipv4_offloads(const struct mirage_ipv4 *ip);

/* Path MTU discovery (RFC 1191): a fragmentation-needed error about a
 * datagram of ours to (dst) says the path takes (mtu)-byte datagrams (0: a
 * router too old to say; the plateau under the quoted datagram's length
 * (len) is taken). mirage_ipv4_mtu answers from it for
 * MIRAGE_IPV4_PMTU_EXPIRY_NS; never under MIRAGE_IPV4_MIN_PMTU, never
 * raised. Tells the mirage_ipv4_on_pmtu handlers; returns 1 if it lowered it. */
#define MIRAGE_IPV4_MIN_PMTU       552u /* Linux's min_pmtu: a smaller claim is not believed */
#define MIRAGE_IPV4_PMTU_EXPIRY_NS 600000000000ull /* 10 minutes (RFC 1191 6.3) */
int mirage_ipv4_too_big(struct mirage_ipv4 *ip, uint32_t dst, uint32_t mtu, size_t len);

/* Called when the path MTU to (dst) drops; (mtu) is mirage_ipv4_mtu's new
 * answer. TCP lowers the MSS of its connections to (dst) here. */
typedef void (*mirage_ipv4_pmtu_fn)(void *ctx, uint32_t dst, size_t mtu);
/* Adds (fn NULL: removes) ctx's handler; 0 or MIRAGE_ENOSPC (2 at most). */
int mirage_ipv4_on_pmtu(struct mirage_ipv4 *ip, mirage_ipv4_pmtu_fn fn, void *ctx);

/* Whether (addr) is ours, or a broadcast we accept. */
int mirage_ipv4_is_local(const struct mirage_ipv4 *ip, uint32_t addr);

void mirage_ipv4_stats(const struct mirage_ipv4 *ip, struct mirage_ipv4_stats *st);

/* ---- reassembly limits (as MirageOS's) ---------------------------------- */
#define MIRAGE_IPV4_REASM_BYTES (256u * 1024u) /* all incomplete datagrams together */
#define MIRAGE_IPV4_REASM_FRAGMENTS                                                                \
    16 /* separate pieces (runs of adjacent fragments) per datagram */
#define MIRAGE_IPV4_REASM_TIMEOUT_NS 10000000000ull /* first to last fragment */

#endif
