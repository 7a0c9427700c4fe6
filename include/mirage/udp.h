/* udp.h: one UDP layer (RFC 768) for IPv4 and IPv6: listeners, checksums, ephemeral ports. */
#ifndef MIRAGE_UDP_H
#define MIRAGE_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/icmp.h"
#include "mirage/icmpv6.h"
#include "mirage/stack.h"

#define MIRAGE_UDP_HLEN          8
#define MIRAGE_UDP_EPHEMERAL_MIN 49152 /* ephemeral source ports: 49152..65535 (RFC 6335) */

/*
 * One layer serves both families: a listener on a port gets the datagrams of
 * both (mirage_udp_rx's addresses say which), and a datagram goes out over
 * the family of its destination. Received datagrams with a wrong checksum or
 * length are dropped; a zero checksum (none) is accepted over IPv4 and
 * refused over IPv6, where it is mandatory (RFC 8200 8.1). A datagram to a
 * port with no listener gets an ICMP or ICMPv6 port unreachable
 * (rate-limited by that layer) unless it was a broadcast or to a multicast
 * group. Sent datagrams always carry a checksum. A UDP GSO frame the device
 * hands over (USO on: a host's UDP_SEGMENT send) is delivered as the
 * datagrams it carries, in order, each with its own length.
 */
struct mirage_udp_stats {
    uint64_t rx_datagrams, rx_bad, rx_no_port, tx_datagrams, tx_errors;
    uint64_t tx_gso; /* UDP GSO frames sent, each several of tx_datagrams (USO) */
};

struct mirage_udp; /* opaque */

/* A new UDP layer on (ip) (may be NULL: an IPv6-only layer), registered as
 * its protocol 17; (icmp) (may be NULL) sends the port unreachables. Returns
 * NULL when out of memory or 17 is taken. */
struct mirage_udp *mirage_udp_new(struct mirage_ipv4 *ip, struct mirage_icmpv4 *icmp);
/* Adds IPv6 (next header 17 of ip6; icmp6 may be NULL) to the layer.
 * Returns 0, MIRAGE_EADDRINUSE (17 is taken) or MIRAGE_EINVAL (it has one). */
int mirage_udp_add_ipv6(struct mirage_udp *udp, struct mirage_ipv6 *ip6,
                        struct mirage_icmpv6 *icmp6);
void mirage_udp_free(struct mirage_udp *udp);

/* Calls fn for every datagram to (port), of either family (the names
 * bind/unbind/send keep clear of stack.h's mirage_udp_listen/unlisten/write,
 * which take a stack). Returns 0, MIRAGE_EINVAL if the port is 0 or already
 * has a listener, or MIRAGE_ENOMEM. Never waits. */
int mirage_udp_bind(struct mirage_udp *udp, uint16_t port, mirage_udp_fn fn, void *ctx);
/* Returns 0 or MIRAGE_ENOENT. */
int mirage_udp_unbind(struct mirage_udp *udp, uint16_t port);

/* Options of one datagram; zero means the default. */
struct mirage_udp_out {
    /* family 0: our address toward dst; IPv4 0.0.0.0 needs MIRAGE_IPV4_SRC_SET */
    struct mirage_ipaddr src;
    uint16_t src_port;        /* 0: a random ephemeral port no listener uses */
    struct mirage_ipaddr dst; /* family 4 or 6 */
    uint16_t dst_port;
    int ttl;           /* TTL or hop limit; 0 or less: the IP layer's default */
    unsigned ip_flags; /* IPv4 only: MIRAGE_IPV4_DF, MIRAGE_IPV4_SRC_SET */
    /* > 0: the payload is a train of datagrams of (segment) bytes each, the
     * last maybe shorter, all from one source port (Linux's UDP_SEGMENT):
     * each must fit the path MTU (else MIRAGE_EMSGSIZE) and the payload come
     * in at most MIRAGE_UDP_SEGMENT_IOV views per datagram (else
     * MIRAGE_EINVAL). A device with USO gets frames of up to
     * MIRAGE_NET_USO_MAX_SEGS of them to cut itself; without it they go one
     * by one, as they do while the next hop is still being resolved. */
    uint16_t segment;
};
#define MIRAGE_UDP_SEGMENT_IOV 8

/* Sends one datagram of iov[0..n) (copied once into the frames), or the
 * train out->segment asks for. Never suspends. Returns 0, MIRAGE_EMSGSIZE
 * (over 65507 bytes, or too big with DF or for the IPv6 layer),
 * MIRAGE_EHOSTUNREACH (a family the layer does not have), MIRAGE_EINVAL (dst
 * is neither family) or the error of the IP layer's write (for a train the
 * first, the datagrams before it sent). */
int mirage_udp_writev(struct mirage_udp *udp, const struct mirage_udp_out *out,
                      const struct mirage_iovec *iov, size_t n);

/* One datagram from (data, len), as stack.h's udp_write: src_port 0 picks an
 * ephemeral port, ttl -1 the default. */
int mirage_udp_send(struct mirage_udp *udp, uint16_t src_port, const struct mirage_ipaddr *dst,
                    uint16_t dst_port, int ttl, const void *data, size_t len);

/* Handles one received datagram (also the protocol handlers). */
void mirage_udp_input(struct mirage_udp *udp, const struct mirage_ipv4_rx *rx);
void mirage_udp_input6(struct mirage_udp *udp, const struct mirage_ipv6_rx *rx);

void mirage_udp_stats(const struct mirage_udp *udp, struct mirage_udp_stats *st);

#endif
