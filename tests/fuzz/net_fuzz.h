/* net_fuzz.h: a whole lib/net IPv4 stack on a sink device over fuzz_platform.h, for the
 * network fuzzers. */
#ifndef NET_FUZZ_H
#define NET_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_platform.h"
#include "mirage/checksum.h"
#include "mirage/icmp.h"
#include "mirage/udp.h"

static void fz_check(int ok)
{
    if (!ok)
        abort();
}

static uint16_t fz_csum(const uint8_t *p, size_t n)
{
    return mirage_csum(p, n);
}

/* Every frame the stack sends must be well-formed: within the MTU, and an
 * IPv4 packet must have a correct header checksum and a consistent length. */
static uint64_t fz_sent;
static int sink_write(void *ctx, const uint8_t *f, size_t len)
{
    (void)ctx;
    fz_check(len >= 14 && len <= 1514);
    if (f[12] == 0x08 && f[13] == 0x00) {
        fz_check(len >= 34 && f[14] == 0x45);
        fz_check(fz_csum(f + 14, 20) == 0);
        fz_check((size_t)(f[16] << 8 | f[17]) == len - 14);
    }
    fz_sent++;
    return 0;
}

static int sink_readv(void *ctx, struct mirage_frame *f, size_t n, size_t *got)
{
    (void)ctx, (void)f, (void)n;
    *got = 0;
    return MIRAGE_EAGAIN;
}

static int sink_wait(void *ctx, uint64_t deadline)
{
    (void)ctx, (void)deadline;
    return MIRAGE_ECANCELED;
}

static const struct mirage_netif_ops sink_ops = {sink_write, sink_readv, sink_wait};

struct fz_stack {
    struct mirage_netif nif;
    struct mirage_eth *eth;
    struct mirage_arp *arp;
    struct mirage_ipv4 *ip;
    struct mirage_icmpv4 *icmp;
    struct mirage_udpv4 *udp;
};

static void fz_udp_rx(void *ctx, const struct mirage_udp_rx *rx)
{
    (void)ctx;
    volatile uint8_t touch;

    fz_check(rx->len <= 65507);
    if (rx->len) { /* ASan checks the first and last bytes are there */
        touch = rx->data[0];
        touch = rx->data[rx->len - 1];
        (void)touch;
    }
}

/* 10.0.0.2/24, gateway 10.0.0.1, MAC 02:00:00:00:00:02; UDP listens on 7. */
static struct fz_stack *fz_stack(void)
{
    static struct fz_stack s;
    static int up;
    struct mirage_ipv4_config cfg = {.addr = 0x0a000002, .prefix = 24, .gateway = 0x0a000001};
    struct mirage_arp_config acfg = {.cache_max = 16, .queue_max = 4};

    if (up)
        return &s;
    s.nif.name = "fuzz";
    s.nif.info.mtu = 1500;
    memcpy(s.nif.info.mac, (uint8_t[6]){2, 0, 0, 0, 0, 2}, 6);
    s.nif.ops = &sink_ops;
    s.eth = mirage_eth_new(&s.nif);
    s.arp = mirage_arp_new(s.eth, &acfg);
    s.ip = mirage_ipv4_new(s.eth, s.arp, &cfg);
    s.icmp = mirage_icmpv4_new(s.ip, NULL);
    s.udp = mirage_udpv4_new(s.ip, s.icmp);
    fz_check(s.udp != NULL);
    mirage_udpv4_listen(s.udp, 7, fz_udp_rx, NULL);
    up = 1;
    return &s;
}

/* A heap copy of exactly (n) bytes, so ASan catches any read past the end. */
static uint8_t *fz_copy(const uint8_t *d, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, d, n);
    return p;
}

#endif
