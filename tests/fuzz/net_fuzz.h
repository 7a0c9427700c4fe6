/* net_fuzz.h: a whole lib/net IPv4 and IPv6 stack on a sink device over fuzz_platform.h, for
 * the network fuzzers. */
#ifndef NET_FUZZ_H
#define NET_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_platform.h"
#include "mirage/checksum.h"
#include "mirage/icmp.h"
#include "mirage/icmpv6.h"
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

/* Every frame the stack sends must be well-formed: within the MTU, an IPv4
 * packet with a correct header checksum and a consistent length, an IPv6
 * one with its version and a payload length that is the frame's. */
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
    if (f[12] == 0x86 && f[13] == 0xdd) {
        fz_check(len >= 54 && f[14] >> 4 == 6);
        fz_check((size_t)(f[18] << 8 | f[19]) == len - 54);
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
    struct mirage_udp *udp;
    struct mirage_ipv6 *ip6;
    struct mirage_icmpv6 *icmp6;
};

static void fz_udp_rx(void *ctx, const struct mirage_udp_rx *rx)
{
    (void)ctx;
    volatile uint8_t touch;

    fz_check(rx->len <= 65527); /* IPv6's payload limit less the UDP header */
    if (rx->len) { /* ASan checks the first and last bytes are there */
        touch = rx->data[0];
        touch = rx->data[rx->len - 1];
        (void)touch;
    }
}

/* 10.0.0.2/24, gateway 10.0.0.1, MAC 02:00:00:00:00:02; UDP listens on 7 (both families).
 * IPv6 fd00::2/64 (and fe80::ff:fe00:2), gateway fe80::1; DAD still runs
 * until a fuzzer lets time pass (fz_ipv6_ready). */
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
    s.udp = mirage_udp_new(s.ip, s.icmp);
    fz_check(s.udp != NULL);
    {
        struct mirage_ipv6_config c6 = {.has_addr = 1, .prefix = 64, .has_gateway = 1,
                                        .cache_max = 8, .queue_max = 4};
        c6.addr[0] = 0xfd, c6.addr[15] = 2;
        c6.gateway[0] = 0xfe, c6.gateway[1] = 0x80, c6.gateway[15] = 1;
        s.ip6 = mirage_ipv6_new(s.eth, &c6);
        s.icmp6 = mirage_icmpv6_new(s.ip6, NULL);
        fz_check(s.icmp6 != NULL);
        fz_check(mirage_udp_add_ipv6(s.udp, s.ip6, s.icmp6) == 0);
    }
    mirage_udp_bind(s.udp, 7, fz_udp_rx, NULL);
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
