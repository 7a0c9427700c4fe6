/* udp.h: the one UDP layer (RFC 768): listeners per port, checksummed datagrams, ephemeral ports. */
#ifndef MIRAGE_UDP_H
#define MIRAGE_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/icmp.h"
#include "mirage/stack.h"

#define MIRAGE_UDP_HLEN          8
#define MIRAGE_UDP_EPHEMERAL_MIN 49152 /* ephemeral source ports: 49152..65535 (RFC 6335) */

/*
 * Received datagrams with a wrong checksum or length are dropped; a zero
 * checksum (none) is accepted. A datagram to a port with no listener gets an
 * ICMP port unreachable (rate-limited by the ICMP layer) unless it was a
 * broadcast. Sent datagrams always carry a checksum. The callback type is
 * stack.h's, so the direct stack hands listeners through unchanged; addresses
 * in mirage_udp_rx are family 4.
 */
struct mirage_udp_stats {
    uint64_t rx_datagrams, rx_bad, rx_no_port, tx_datagrams, tx_errors;
};

struct mirage_udp; /* opaque */

/* A new UDP layer on (ip), registered as protocol 17; (icmp) (may be NULL)
 * sends the port unreachables. Returns NULL when out of memory or 17 is taken. */
struct mirage_udp *mirage_udp_new(struct mirage_ipv4 *ip, struct mirage_icmpv4 *icmp);
void mirage_udp_free(struct mirage_udp *udp);

/* Calls fn for every datagram to (port) (the names bind/unbind/send keep
 * clear of stack.h's mirage_udp_listen/unlisten/write, which take a stack). Returns 0, MIRAGE_EINVAL if the port
 * is 0 or already has a listener, or MIRAGE_ENOMEM. Never waits. */
int mirage_udp_bind(struct mirage_udp *udp, uint16_t port, mirage_udp_fn fn, void *ctx);
/* Returns 0 or MIRAGE_ENOENT. */
int mirage_udp_unbind(struct mirage_udp *udp, uint16_t port);

/* Options of one datagram; zero means the default. */
struct mirage_udp_out {
    uint32_t src;      /* 0: our address (with MIRAGE_IPV4_SRC_SET in flags: 0.0.0.0) */
    uint16_t src_port; /* 0: a random ephemeral port no listener uses */
    uint32_t dst;
    uint16_t dst_port;
    int ttl;           /* 0 or less: the IP layer's default */
    unsigned ip_flags; /* MIRAGE_IPV4_DF, MIRAGE_IPV4_SRC_SET */
};

/* Sends one datagram of iov[0..n) (copied once into the frames). Never
 * suspends. Returns 0, MIRAGE_EMSGSIZE (over 65507 bytes, or too big with
 * DF), or the error of mirage_ipv4_write. */
int mirage_udp_writev(struct mirage_udp *udp, const struct mirage_udp_out *out,
                        const struct mirage_iovec *iov, size_t n);

/* One datagram from (data, len), as stack.h's udp_write: src_port 0 picks an ephemeral port, ttl -1 the default. */
int mirage_udp_send(struct mirage_udp *udp, uint16_t src_port, uint32_t dst, uint16_t dst_port,
                       int ttl, const void *data, size_t len);

/* Handles one received datagram (also the protocol handler). */
void mirage_udp_input(struct mirage_udp *udp, const struct mirage_ipv4_rx *rx);

void mirage_udp_stats(const struct mirage_udp *udp, struct mirage_udp_stats *st);

#endif
