/* ethernet.h: Ethernet II framing over a network interface; dispatches ARP, IPv4 and IPv6. */
#ifndef MIRAGE_ETHERNET_H
#define MIRAGE_ETHERNET_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/netif.h"

#define MIRAGE_ETH_HLEN       14
#define MIRAGE_ETH_ALEN       6
#define MIRAGE_ETHERTYPE_IPV4 0x0800
#define MIRAGE_ETHERTYPE_ARP  0x0806
#define MIRAGE_ETHERTYPE_IPV6 0x86dd
#define MIRAGE_ETHERTYPE_VLAN 0x8100 /* an 802.1Q tag follows */

extern const uint8_t mirage_eth_broadcast[MIRAGE_ETH_ALEN]; /* ff:ff:ff:ff:ff:ff */

struct mirage_eth; /* opaque; one per network interface */

/* A received frame's payload (header removed); valid only during the call. */
struct mirage_eth_rx {
    const uint8_t *src, *dst; /* 6 bytes each */
    uint16_t ethertype;
    const uint8_t *payload;
    size_t len;
};
typedef void (*mirage_eth_rx_fn)(void *ctx, const struct mirage_eth_rx *rx);

struct mirage_eth_stats {
    uint64_t rx_frames;     /* frames for us (our MAC, broadcast or multicast) */
    uint64_t rx_not_for_us; /* unicast to another MAC: dropped */
    uint64_t rx_bad;        /* shorter than a header */
    uint64_t rx_unknown;    /* an ethertype nobody handles */
    uint64_t rx_vlan;       /* VLAN-tagged (802.1Q, 802.1ad): dropped, we join no VLAN */
    uint64_t tx_frames, tx_errors;
};

/* A new Ethernet layer on (nif), which must outlive it. Receives nothing until
 * mirage_eth_start(). Returns NULL when out of memory. */
struct mirage_eth *mirage_eth_new(struct mirage_netif *nif);

/* Stops receiving (suspends the caller while the receive fiber ends) and frees. */
void mirage_eth_free(struct mirage_eth *eth);

/* Starts the interface's receive fiber, handing every frame to
 * mirage_eth_input(). Returns 0 or MIRAGE_ENOMEM. */
int mirage_eth_start(struct mirage_eth *eth);

/* Sets the handler of (ethertype) (MIRAGE_ETHERTYPE_ARP, _IPV4 or _IPV6);
 * fn NULL removes it. Returns 0 or MIRAGE_EINVAL for another ethertype. */
int mirage_eth_set_handler(struct mirage_eth *eth, uint16_t ethertype, mirage_eth_rx_fn fn,
                           void *ctx);

/* Decapsulates one received frame and calls its ethertype's handler; frames
 * to another unicast MAC, VLAN-tagged frames (a priority tag, VLAN 0, is read
 * as untagged) and malformed frames are counted and dropped. */
void mirage_eth_input(struct mirage_eth *eth, const uint8_t *frame, size_t len);

/* Our MAC address (6 bytes) and the MTU: the largest payload of one frame. */
const uint8_t *mirage_eth_mac(const struct mirage_eth *eth);
size_t mirage_eth_mtu(const struct mirage_eth *eth);
/* The interface under it (IPv4 asks it whether a frame's checksum was vouched for). */
struct mirage_netif *mirage_eth_netif(const struct mirage_eth *eth);

/* Sends one frame to (dst) from (src) (NULL: our MAC). fill sees a buffer of
 * (size) bytes from offset 0 with the Ethernet header already hidden (size 0:
 * the MTU) and returns the payload length. size above the MTU is
 * MIRAGE_EMSGSIZE, never a truncation. Never suspends; returns 0,
 * MIRAGE_EAGAIN (the device is full: dropped), or fill's error. */
int mirage_eth_write(struct mirage_eth *eth, const uint8_t *src, const uint8_t *dst,
                     uint16_t ethertype, size_t size, mirage_fill_fn fill, void *ctx);

/* As mirage_eth_write, with metadata for the device (mirage_netif_write_meta)
 * whose offsets count from the payload (this layer adds the header's 14); a
 * (size) over the MTU is allowed for a GSO frame the device offers to cut. */
int mirage_eth_write_meta(struct mirage_eth *eth, const uint8_t *src, const uint8_t *dst,
                          uint16_t ethertype, size_t size, const struct mirage_net_meta *meta,
                          mirage_fill_fn fill, void *ctx);

void mirage_eth_stats(const struct mirage_eth *eth, struct mirage_eth_stats *st);

/* "02:00:00:00:00:01" into (buf) of at least 18 bytes; returns buf. */
char *mirage_eth_format(const uint8_t *mac, char *buf);

#endif
