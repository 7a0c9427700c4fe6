/* icmpv6.h: ICMPv6 (RFC 4443): echo, errors sent (rate-limited) and received. */
#ifndef MIRAGE_ICMPV6_H
#define MIRAGE_ICMPV6_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/ipv6.h"

#define MIRAGE_ICMPV6_UNREACH       1
#define MIRAGE_ICMPV6_TOO_BIG       2
#define MIRAGE_ICMPV6_TIME_EXCEEDED 3
#define MIRAGE_ICMPV6_PARAM_PROBLEM 4
#define MIRAGE_ICMPV6_ECHO_REQUEST  128
#define MIRAGE_ICMPV6_ECHO_REPLY    129
/* Destination-unreachable codes. */
#define MIRAGE_ICMPV6_UNREACH_NOROUTE 0
#define MIRAGE_ICMPV6_UNREACH_ADDR    3
#define MIRAGE_ICMPV6_UNREACH_PORT    4
/* Parameter-problem codes. */
#define MIRAGE_ICMPV6_PARAM_HEADER 0 /* an erroneous header field */
#define MIRAGE_ICMPV6_PARAM_NEXT   1 /* an unrecognised next header */
#define MIRAGE_ICMPV6_PARAM_OPTION 2 /* an unrecognised option */

/*
 * Echo requests to us (unicast, or a group we are in) are answered. Errors
 * about received packets go out through mirage_icmpv6_error, which the IPv6
 * layer also calls (unknown next headers and options, routing headers), at
 * most error_burst at once refilled at error_rate a second (RFC 4443 2.4 f),
 * and never about ICMPv6 errors, from unspecified or multicast sources, or
 * to multicast destinations (except packet too big and option problems).
 * Neighbour discovery messages never reach this layer (ipv6.h). A packet
 * too big quoting one of our packets lowers the path MTU to its destination
 * (mirage_ipv6_too_big) before the upper layer's error handler is called.
 */
struct mirage_icmpv6_config {
    unsigned error_rate;  /* errors per second, default 100 */
    unsigned error_burst; /* default 50 */
};

struct mirage_icmpv6_stats {
    uint64_t rx_messages, rx_bad; /* bad: short or wrong checksum */
    uint64_t echo_requests, echo_replies_sent, echo_replies_rx;
    uint64_t errors_rx, errors_sent, errors_limited;
};

/* An error received: (orig, len) is the start of the packet we sent that it
 * is about (its IPv6 header first); param is the MTU of a packet too big or
 * the pointer of a parameter problem. Valid only during the call. */
struct mirage_icmpv6_error {
    const uint8_t *from;
    uint8_t type, code;
    uint32_t param;
    const uint8_t *orig;
    size_t len;
    const uint8_t *upper; /* the quoted upper-layer header, after the extension headers */
    size_t upper_len;     /* as much of it as was quoted */
};
typedef void (*mirage_icmpv6_error_fn)(void *ctx, const struct mirage_icmpv6_error *e);

struct mirage_icmpv6_echo {
    const uint8_t *from;
    uint16_t id, seq;
    uint8_t hop_limit;
    const uint8_t *data;
    size_t len;
};
typedef void (*mirage_icmpv6_echo_fn)(void *ctx, const struct mirage_icmpv6_echo *e);

struct mirage_icmpv6; /* opaque */

/* A new ICMPv6 layer on (ip) (which must outlive it), registered as next
 * header 58 and as the layer's error sender. cfg may be NULL. Returns NULL
 * when out of memory or 58 is taken. */
struct mirage_icmpv6 *mirage_icmpv6_new(struct mirage_ipv6 *ip,
                                        const struct mirage_icmpv6_config *cfg);
void mirage_icmpv6_free(struct mirage_icmpv6 *icmp);

/* Handles one received ICMPv6 message (also the protocol handler). */
void mirage_icmpv6_input(struct mirage_icmpv6 *icmp, const struct mirage_ipv6_rx *rx);

/* Sends error (type, code, param) about the received packet (rx), quoting as
 * much of it as fits in 1280 bytes. Never suspends. Returns 0, MIRAGE_EINVAL
 * (not to be sent about such a packet), MIRAGE_EAGAIN (rate-limited: nothing
 * sent) or the error of mirage_ipv6_write. */
int mirage_icmpv6_error(struct mirage_icmpv6 *icmp, uint8_t type, uint8_t code, uint32_t param,
                        const struct mirage_ipv6_rx *rx);

/* Sends an echo request to (dst) with (data). Returns as mirage_ipv6_write. */
int mirage_icmpv6_ping(struct mirage_icmpv6 *icmp, const uint8_t dst[16], uint16_t id, uint16_t seq,
                       int hop_limit, const void *data, size_t len);

/* Where echo replies and received errors go (fn NULL: nowhere). The error
 * handler of (proto) gets errors about packets of that next header. */
void mirage_icmpv6_on_echo_reply(struct mirage_icmpv6 *icmp, mirage_icmpv6_echo_fn fn, void *ctx);
int mirage_icmpv6_on_error(struct mirage_icmpv6 *icmp, uint8_t proto, mirage_icmpv6_error_fn fn,
                           void *ctx);

void mirage_icmpv6_stats(const struct mirage_icmpv6 *icmp, struct mirage_icmpv6_stats *st);

#endif
