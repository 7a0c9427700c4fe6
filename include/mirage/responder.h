/* responder.h: a stack-less ARP and ICMP echo responder for one IPv4 address on one link. */
#ifndef MIRAGE_RESPONDER_H
#define MIRAGE_RESPONDER_H

#include <stddef.h>
#include <stdint.h>

/*
 * The responder needs no network stack: it looks at one received frame at a
 * time and, when the frame asks for it, builds the answer in a buffer the
 * caller provides. It answers ARP requests for its address and ICMP echo
 * requests sent to it; everything else is dropped. Every length and checksum
 * of a received frame is checked before its bytes are used; a frame that
 * fails a check is dropped and counted in (bad).
 */

#define MIRAGE_RESPONDER_ETH_HLEN  14
#define MIRAGE_RESPONDER_MIN_FRAME 60 /* Ethernet minimum without FCS; short answers are padded */

struct mirage_responder_stats {
    uint64_t frames;       /* frames examined */
    uint64_t arp_replies;  /* ARP replies built */
    uint64_t icmp_replies; /* echo replies built */
    uint64_t bad;          /* malformed: a length, version or checksum was wrong */
    uint64_t ignored;      /* well-formed but not for us, or not a request we answer */
};

/* One responder; the caller owns it and fills in mac and ipv4. */
struct mirage_responder {
    uint8_t mac[6];
    uint8_t ipv4[4];
    uint16_t ip_id; /* identification of the next IPv4 packet sent */
    struct mirage_responder_stats stats;
};

/* Sets up (e) to answer for (mac, ipv4) with zeroed counters. */
void mirage_responder_init(struct mirage_responder *e, const uint8_t mac[6], const uint8_t ipv4[4]);

/* Examines the received Ethernet frame (in, in_len) and, if it calls for an
 * answer, writes the answer frame into (out) of (out_cap) bytes.
 * Returns the answer's length, or 0 when there is nothing to send (the frame
 * was dropped; the counters say why) or the answer would not fit (out_cap).
 * (in) and (out) must not overlap. */
size_t mirage_responder_answer(struct mirage_responder *e, const uint8_t *in, size_t in_len,
                               uint8_t *out, size_t out_cap);

#endif
