/* icmp.h: ICMPv4 (RFC 792): echo replies, destination unreachable (rate-limited), echo requests. */
#ifndef MIRAGE_ICMP_H
#define MIRAGE_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/ipv4.h"

#define MIRAGE_ICMP_ECHO_REPLY    0
#define MIRAGE_ICMP_UNREACH       3
#define MIRAGE_ICMP_ECHO_REQUEST  8
#define MIRAGE_ICMP_TIME_EXCEEDED 11
/* Destination-unreachable codes. */
#define MIRAGE_ICMP_UNREACH_PROTO    2
#define MIRAGE_ICMP_UNREACH_PORT     3
#define MIRAGE_ICMP_UNREACH_NEEDFRAG 4

/*
 * Echo requests to us are answered (also when they came in fragments: the
 * reply is fragmented the same way back). Error messages we send are
 * rate-limited by a token bucket (error_burst messages, refilled at
 * error_rate per second); echo replies are not limited.
 */
struct mirage_icmpv4_config {
    unsigned error_rate;  /* errors per second, default 100 */
    unsigned error_burst; /* default 50 */
};

struct mirage_icmpv4_stats {
    uint64_t rx_messages, rx_bad; /* bad: short or wrong checksum */
    uint64_t echo_requests, echo_replies_sent, echo_replies_rx;
    uint64_t errors_rx, errors_sent, errors_limited;
};

/* An error received (unreachable, time exceeded, ...): (orig, len) is the
 * start of the offending datagram we sent (its IP header first), valid only
 * during the call. mtu is the next-hop MTU of a "fragmentation needed". */
struct mirage_icmpv4_error {
    uint32_t from;
    uint8_t type, code;
    uint16_t mtu;
    const uint8_t *orig;
    size_t len;
    const uint8_t *upper; /* the quoted upper-layer header, after orig's IP header */
    size_t upper_len;     /* as much of it as was quoted (RFC 792: at least 8 bytes) */
};
typedef void (*mirage_icmpv4_error_fn)(void *ctx, const struct mirage_icmpv4_error *e);

/* An echo reply received: id, seq and the data after the 8-byte header. */
struct mirage_icmpv4_echo {
    uint32_t from;
    uint16_t id, seq;
    uint8_t ttl;
    const uint8_t *data;
    size_t len;
};
typedef void (*mirage_icmpv4_echo_fn)(void *ctx, const struct mirage_icmpv4_echo *e);

struct mirage_icmpv4; /* opaque */

/* A new ICMP layer on (ip) (which must outlive it), registered as protocol 1.
 * cfg may be NULL. Returns NULL when out of memory or protocol 1 is taken. */
struct mirage_icmpv4 *mirage_icmpv4_new(struct mirage_ipv4 *ip,
                                        const struct mirage_icmpv4_config *cfg);
void mirage_icmpv4_free(struct mirage_icmpv4 *icmp);

/* Handles one received ICMP message (also the protocol handler). */
void mirage_icmpv4_input(struct mirage_icmpv4 *icmp, const struct mirage_ipv4_rx *rx);

/* Sends destination unreachable (code) about the received datagram (rx): its
 * IP header and the first 8 bytes of its payload are quoted. Not sent for
 * broadcasts, ICMP errors or fragments after the first (RFC 1122). Never
 * suspends. Returns 0, MIRAGE_EAGAIN when rate-limited (nothing sent), or
 * the error of mirage_ipv4_write. */
int mirage_icmpv4_unreachable(struct mirage_icmpv4 *icmp, uint8_t code,
                              const struct mirage_ipv4_rx *rx);

/* Sends an echo request to (dst) with (data). Returns as mirage_ipv4_write. */
int mirage_icmpv4_ping(struct mirage_icmpv4 *icmp, uint32_t dst, uint16_t id, uint16_t seq, int ttl,
                       const void *data, size_t len);

/* Where echo replies and received errors go (fn NULL: nowhere). The error
 * handler of (proto) gets errors about datagrams of that protocol. */
void mirage_icmpv4_on_echo_reply(struct mirage_icmpv4 *icmp, mirage_icmpv4_echo_fn fn, void *ctx);
int mirage_icmpv4_on_error(struct mirage_icmpv4 *icmp, uint8_t proto, mirage_icmpv4_error_fn fn,
                           void *ctx);

void mirage_icmpv4_stats(const struct mirage_icmpv4 *icmp, struct mirage_icmpv4_stats *st);

#endif
