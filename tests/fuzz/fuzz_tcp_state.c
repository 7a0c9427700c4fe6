/* fuzz_tcp_state.c: TCP's state machine driven by arbitrary segments, time steps and application
 * calls, over IPv4 or IPv6, on a device with or without offloads (checksums left partial, 64 KiB
 * TSO4/TSO6 segments out, coalesced GRO segments in); nothing crashes and every byte is freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/fake_platform.h"
#include "mirage/checksum.h"
#include "mirage/error.h"
#include "mirage/tcp.h"
#include "mirage/time.h"

const char *mirage_cmdline(void)
{
    return "";
}

static struct mirage_ipaddr us, peer;
static uint8_t last[2048];
static size_t last_len;

static int fz_write(void *ctx, const struct mirage_ipaddr *src, const struct mirage_ipaddr *dst,
                    size_t size, mirage_fill_fn fill, void *fill_ctx)
{
    static uint8_t buf[70000];
    int n;

    (void)ctx;
    (void)src;
    (void)dst;
    if (size > sizeof(buf))
        abort(); /* TCP never asks for more than a datagram */
    n = fill(fill_ctx, buf, size);
    if (n < 20 || (size_t)n > size)
        abort();
    struct mirage_tcp_seg s;
    if (mirage_tcp_parse(buf, (size_t)n, &s, NULL) != 0)
        abort(); /* what we send must parse */
    if (mirage_tcp_checksum(mirage_tcp_pseudo(&us, &peer, (size_t)n), buf, (size_t)n) != 0)
        abort();
    if ((size_t)n <= sizeof(last)) {
        memcpy(last, buf, (size_t)n);
        last_len = (size_t)n;
    }
    return 0;
}

/* A device with checksum offload and TSO: the segment's checksum field holds
 * the pseudo-header's sum; completing it as the device would must give a
 * correct checksum, and a GSO segment must be cut at the MSS it names. */
static uint32_t fz_offloads;

static uint32_t fz_offered(void *ctx, const struct mirage_ipaddr *dst)
{
    (void)ctx;
    (void)dst;
    return fz_offloads;
}

static int fz_write_meta(void *ctx, const struct mirage_ipaddr *src,
                         const struct mirage_ipaddr *dst, size_t size,
                         const struct mirage_net_meta *meta, mirage_fill_fn fill, void *fill_ctx)
{
    static uint8_t buf[70000];
    struct mirage_tcp_seg s;
    uint16_t c;
    int n;

    (void)ctx;
    (void)src;
    (void)dst;
    if (!(fz_offloads & MIRAGE_NET_OFFLOAD_CSUM) || size > sizeof(buf) ||
        meta->flags != MIRAGE_NET_META_NEEDS_CSUM || meta->csum_start != 0 ||
        meta->csum_offset != 16)
        abort();
    n = fill(fill_ctx, buf, size);
    if (n < 20 || (size_t)n > size || mirage_tcp_parse(buf, (size_t)n, &s, NULL) != 0)
        abort();
    if (meta->gso_type != MIRAGE_NET_GSO_NONE) {
        /* Its family's type and offload; at most a datagram's payload (IPv4's counts its header). */
        int six = peer.family == 6;
        if (!(fz_offloads & (six ? MIRAGE_NET_OFFLOAD_TSO6 : MIRAGE_NET_OFFLOAD_TSO4)) ||
            meta->gso_type != (six ? MIRAGE_NET_GSO_TCPV6 : MIRAGE_NET_GSO_TCPV4) ||
            meta->gso_size == 0 || s.len <= meta->gso_size || meta->hdr_len != (size_t)n - s.len ||
            (size_t)n > (six ? 65535u : 65535u - 20))
            abort();
    } else if ((size_t)n > 1480) {
        abort(); /* only a GSO segment may exceed the MTU */
    }
    c = mirage_csum(buf, (size_t)n); /* what the device stores over its partial sum */
    buf[16] = (uint8_t)(c >> 8);
    buf[17] = (uint8_t)c;
    if (mirage_tcp_checksum(mirage_tcp_pseudo(&us, &peer, (size_t)n), buf, (size_t)n) != 0)
        abort();
    if ((size_t)n <= sizeof(last)) {
        memcpy(last, buf, (size_t)n);
        last_len = (size_t)n;
    }
    return 0;
}

static int fz_src(void *ctx, const struct mirage_ipaddr *dst, struct mirage_ipaddr *src)
{
    (void)ctx;
    (void)dst;
    *src = us;
    return 0;
}

static size_t fz_mtu(void *ctx, const struct mirage_ipaddr *dst)
{
    (void)ctx;
    (void)dst;
    return 1480;
}

struct cursor {
    const uint8_t *p;
    size_t n;
};

static uint8_t take8(struct cursor *c)
{
    if (c->n == 0)
        return 0;
    c->n--;
    return *c->p++;
}

static uint16_t take16(struct cursor *c)
{
    return (uint16_t)(take8(c) << 8 | take8(c));
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* A segment near what the connection expects: seq and ack are offsets from
 * the last segment we sent, options and payload come from the input. */
static void segment(struct mirage_tcp *t, struct cursor *c)
{
    static uint8_t seg[65536];
    struct mirage_tcp_seg l = {0};
    uint8_t flags = take8(c), optlen = take8(c) % 41, paylen = take8(c);
    int16_t dseq = (int16_t)take16(c), dack = (int16_t)take16(c);
    uint16_t wnd = take16(c), sport = (uint16_t)(1000 + take8(c) % 2);
    uint8_t mode = take8(c);
    size_t hlen = 20 + (optlen + 3u) / 4 * 4, len, big;

    if (last_len)
        mirage_tcp_parse(last, last_len, &l, NULL);
    put16(seg, sport);
    put16(seg + 2, (mode & 1) ? 80 : (l.src_port ? l.src_port : 80));
    put32(seg + 4, l.ack + (uint32_t)(int32_t)dseq);
    put32(seg + 8, l.seq + (uint32_t)l.len + (uint32_t)(int32_t)dack);
    seg[12] = (uint8_t)((hlen / 4) << 4);
    seg[13] = flags;
    put16(seg + 14, wnd);
    for (size_t i = 0; i < optlen; i++)
        seg[20 + i] = take8(c);
    for (size_t i = 0; i < paylen; i++)
        seg[hlen + i] = take8(c);
    len = hlen + paylen;
    /* A coalesced (GRO) segment from a device with offloads: up to 64 KiB,
     * its payload the input's bytes repeated, its checksum vouched for. */
    big = (mode & 4) && fz_offloads ? (size_t)take8(c) * 256 : 0;
    if (big > sizeof(seg) - 20 - 60 - 20)
        big = sizeof(seg) - 20 - 60 - 20;
    for (size_t i = paylen; i < big; i++)
        seg[hlen + i] = seg[hlen + i % (paylen ? paylen : 1)];
    if (big > paylen)
        len = hlen + big;
    if (!(mode & 2))
        put16(seg + 16, mirage_tcp_checksum(mirage_tcp_pseudo(&peer, &us, len), seg, len));
    if ((mode & 4) && fz_offloads)
        mirage_tcp_input_csum_ok(t, &peer, &us, seg, len);
    else
        mirage_tcp_input(t, &peer, &us, seg, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mirage_tcp_ip ip = {NULL, fz_write, fz_src,     fz_mtu,
                               NULL, NULL,     fz_offered, fz_write_meta};
    struct mirage_tcp_config cfg = {.rcvbuf = 4096, .sndbuf = 4096};
    struct mirage_tcp *t;
    struct mirage_tcp_listener *l = NULL;
    struct mirage_flow *flows[4] = {0};
    struct cursor c = {data, size};
    static uint8_t buf[8192];
    size_t got;

    /* Half the runs over IPv6 (its device's TSO is TSO6). */
    if (size & 8) {
        us = (struct mirage_ipaddr){.family = 6, .a = {0xfd, [15] = 1}};
        peer = (struct mirage_ipaddr){.family = 6, .a = {0xfd, [15] = 2}};
    } else {
        us = mirage_ipv4_addr(10, 0, 0, 1);
        peer = mirage_ipv4_addr(10, 0, 0, 2);
    }
    last_len = 0;
    cfg.cc = (size & 1) ? MIRAGE_TCP_NEWRENO : MIRAGE_TCP_CUBIC;
    /* One run in four on a device with checksum offload, one in four with TSO too. */
    fz_offloads = (size & 6) == 2 ? MIRAGE_NET_OFFLOAD_CSUM
                  : (size & 6) == 4
                      ? MIRAGE_NET_OFFLOAD_CSUM |
                            ((size & 8) ? MIRAGE_NET_OFFLOAD_TSO6 : MIRAGE_NET_OFFLOAD_TSO4)
                      : 0;
    if (fz_offloads & MIRAGE_NET_OFFLOAD_TSO)
        cfg.rcvbuf = cfg.sndbuf = 256 * 1024; /* room for 64 KiB segments both ways */
    t = mirage_tcp_new(&ip, &cfg);
    if (t == NULL)
        return 0;
    mirage_tcp_listener_open(t, 80, &(struct mirage_tcp_listen_opts){.backlog = 2}, &l);
    for (int steps = 0; c.n > 0 && steps < 64; steps++) {
        uint8_t op = take8(&c), k = take8(&c) % 4;
        switch (op % 8) {
        case 0:
        case 1:
        case 2:
            segment(t, &c);
            break;
        case 3: /* time passes: timers run */
            mirage_sleep_ns(MIRAGE_MS((uint64_t)take16(&c) * 4));
            break;
        case 4:
            if (flows[k] == NULL && l)
                mirage_tcp_listener_accept(l, &flows[k], NULL, NULL, mirage_deadline_in(1));
            else if (flows[k] == NULL)
                mirage_tcp_connect_flow(t, &peer, 1000, &flows[k],
                                        mirage_deadline_in(MIRAGE_MS(1)));
            break;
        case 5:
            if (flows[k]) {
                size_t n = take16(&c) % sizeof(buf);
                mirage_flow_write(flows[k], buf, n, mirage_deadline_in(MIRAGE_MS(1)));
            }
            break;
        case 6:
            if (flows[k])
                mirage_flow_read(flows[k], buf, sizeof(buf), &got, mirage_deadline_in(1));
            break;
        case 7:
            if (flows[k]) {
                uint8_t how = take8(&c) % 4;
                if (how == 0) {
                    mirage_flow_close(flows[k]);
                    flows[k] = NULL;
                } else {
                    mirage_flow_shutdown(flows[k], how);
                }
            }
            break;
        }
    }
    for (int i = 0; i < 4; i++)
        if (flows[i])
            mirage_flow_close(flows[i]);
    if (l)
        mirage_tcp_listener_close(l);
    mirage_tcp_free(t);
    return 0;
}
