/* checksum.h: the one Internet checksum (RFC 1071): incremental; IPv4 and IPv6 pseudo-headers. */
#ifndef MIRAGE_CHECKSUM_H
#define MIRAGE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* A running checksum over any number of pieces of any length, summed as one
 * byte string (a piece may end on an odd byte). The caller owns it; start it
 * with MIRAGE_CSUM_INIT. */
struct mirage_csum {
    uint64_t sum;
    size_t len; /* bytes so far: its parity places the next byte */
};
#define MIRAGE_CSUM_INIT                                                                           \
    {                                                                                              \
        0, 0                                                                                       \
    }

/* Adds the bytes (buf, len) after those added so far. */
void mirage_csum_add(struct mirage_csum *c, const void *buf, size_t len);

/* Adds the IPv4 pseudo-header (RFC 768, RFC 9293 3.1) of a (len)-byte
 * upper-layer message of protocol (proto) from (src) to (dst) (host order). */
void mirage_csum_add_pseudo4(struct mirage_csum *c, uint32_t src, uint32_t dst, uint8_t proto,
                             size_t len);

/* Adds the IPv6 pseudo-header (RFC 8200 8.1) of a (len)-byte upper-layer
 * message with next header (next) from (src) to (dst) (network order). */
void mirage_csum_add_pseudo6(struct mirage_csum *c, const uint8_t src[16], const uint8_t dst[16],
                             uint8_t next, uint32_t len);

/* The checksum to store, in host order (write it with mirage_wr_be16).
 * Over data that includes its correct checksum it is 0. */
uint16_t mirage_csum_finish(const struct mirage_csum *c);

/* The checksum of the one buffer (buf, len). */
uint16_t mirage_csum(const void *buf, size_t len);

#endif
