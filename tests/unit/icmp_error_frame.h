/* icmp_error_frame.h: an ICMP (RFC 792) or ICMPv6 (RFC 4443) error about a packet, in an
 * Ethernet frame from the test link's side 1 to its side 0, as a router or firewall sends
 * it: for the unit tests that play one (test_tcp_pmtu, test_tcp_icmp). */
#ifndef ICMP_ERROR_FRAME_H
#define ICMP_ERROR_FRAME_H

#include <stdint.h>
#include <string.h>

#include "mirage/checksum.h"

#define ICMP_FRAME_ETH 14u

/* Writes into (f) the frame of an ICMPv4 error (type, code; (rest) its second
 * 32-bit word, e.g. the next-hop MTU) from (from) to the source of the quoted
 * datagram (quote, qlen: its IPv4 header first). Returns the frame's length;
 * (f) holds at least ICMP_FRAME_ETH + 28 + qlen bytes. */
static size_t icmp4_error_frame(uint8_t *f, const uint8_t from[4], uint8_t type, uint8_t code,
                                uint32_t rest, const uint8_t *quote, size_t qlen)
{
    const size_t e = ICMP_FRAME_ETH, total = 20 + 8 + qlen;
    uint16_t sum;

    memset(f, 0, e + total);
    memcpy(f, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00", e);
    f[e] = 0x45;
    f[e + 2] = (uint8_t)(total >> 8);
    f[e + 3] = (uint8_t)total;
    f[e + 8] = 64;
    f[e + 9] = 1;
    memcpy(f + e + 12, from, 4);
    memcpy(f + e + 16, quote + 12, 4); /* to the quoted datagram's source */
    sum = mirage_csum(f + e, 20);
    f[e + 10] = (uint8_t)(sum >> 8);
    f[e + 11] = (uint8_t)sum;
    f[e + 20] = type;
    f[e + 21] = code;
    for (int i = 0; i < 4; i++)
        f[e + 24 + i] = (uint8_t)(rest >> (24 - 8 * i));
    memcpy(f + e + 28, quote, qlen);
    sum = mirage_csum(f + e + 20, 8 + qlen);
    f[e + 22] = (uint8_t)(sum >> 8);
    f[e + 23] = (uint8_t)sum;
    return e + total;
}

/* The same for ICMPv6: (rest) is the MTU of a packet too big or the pointer
 * of a parameter problem; (quote) starts with the IPv6 header. (f) holds at
 * least ICMP_FRAME_ETH + 48 + qlen bytes. */
static size_t icmp6_error_frame(uint8_t *f, const uint8_t from[16], uint8_t type, uint8_t code,
                                uint32_t rest, const uint8_t *quote, size_t qlen)
{
    const size_t e = ICMP_FRAME_ETH, icmp_len = 8 + qlen;
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    uint16_t sum;

    memset(f, 0, e + 40 + icmp_len);
    memcpy(f, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x86\xdd", e);
    f[e] = 0x60;
    f[e + 4] = (uint8_t)(icmp_len >> 8);
    f[e + 5] = (uint8_t)icmp_len;
    f[e + 6] = 58;
    f[e + 7] = 64;
    memcpy(f + e + 8, from, 16);
    memcpy(f + e + 24, quote + 8, 16); /* to the quoted packet's source */
    f[e + 40] = type;
    f[e + 41] = code;
    for (int i = 0; i < 4; i++)
        f[e + 44 + i] = (uint8_t)(rest >> (24 - 8 * i));
    memcpy(f + e + 48, quote, qlen);
    mirage_csum_add_pseudo6(&c, f + e + 8, f + e + 24, 58, (uint32_t)icmp_len);
    mirage_csum_add(&c, f + e + 40, icmp_len);
    sum = mirage_csum_finish(&c);
    f[e + 42] = (uint8_t)(sum >> 8);
    f[e + 43] = (uint8_t)sum;
    return e + 40 + icmp_len;
}

#endif
