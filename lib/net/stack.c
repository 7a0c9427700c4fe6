/* stack.c: the direct stack: netif -> ethernet -> ARP/IPv4 -> ICMP/UDP/TCP, DHCP, behind stack.h.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/arp.h"
#include "mirage/dhcp.h"
#include "mirage/error.h"
#include "mirage/ethernet.h"
#include "mirage/icmp.h"
#include "mirage/icmpv6.h"
#include "mirage/ipv4.h"
#include "mirage/ipv6.h"
#include "mirage/log.h"
#include "mirage/metrics.h"
#include "mirage/netif.h"
#include "mirage/stack.h"
#include "mirage/tcp.h"
#include "mirage/time.h"
#include "mirage/udp.h"
#include "mirage/wire.h"

MIRAGE_LOG_SOURCE(stack_log, "stack", "the direct TCP/IP stack");

struct direct {
    struct mirage_stack base;
    struct mirage_netif *nif;
    struct mirage_eth *eth;
    struct mirage_arp *arp;
    struct mirage_ipv4 *ip;
    struct mirage_icmpv4 *icmp;
    struct mirage_ipv6 *ip6;
    struct mirage_icmpv6 *icmp6;
    struct mirage_udp *udp;
    struct mirage_tcp *tcp;
    uint64_t linger; /* ns disconnect gives connections to finish */
    /* DHCP, when configured: the client, its timer, and the first lease's signal */
    int dhcp;
    struct mirage_dhcp_client dhcpc;
    struct mirage_timer dhcp_timer;
    struct mirage_cond lease_cond;
    int has_lease;
    /* net, ipv4, udp and tcp measurements, tagged with the interface */
    struct mirage_metrics_source metrics[4];
};

static struct direct *of(struct mirage_stack *s)
{
    return (struct direct *)s;
}

/* ---- TCP's view of IP: each address goes to the layer of its family ------- */

static uint32_t v4(const struct mirage_ipaddr *a)
{
    uint32_t ip = 0;

    mirage_ipv4_of_ipaddr(a, &ip);
    return ip;
}

static int tcp_ip_write_meta(void *ctx, const struct mirage_ipaddr *src,
                             const struct mirage_ipaddr *dst, size_t size,
                             const struct mirage_net_meta *meta, mirage_fill_fn fill,
                             void *fill_ctx)
{
    struct direct *d = ctx;

    if (dst != NULL && dst->family == 4 && d->ip != NULL) {
        /* DF: a narrower link answers fragmentation needed (RFC 1191). */
        struct mirage_ipv4_out out = {
            .proto = MIRAGE_IPV4_PROTO_TCP, .size = size, .meta = meta, .flags = MIRAGE_IPV4_DF};
        out.dst = v4(dst);
        out.src = src != NULL ? v4(src) : 0;
        return mirage_ipv4_write(d->ip, &out, fill, fill_ctx, NULL, 0);
    }
    if (dst != NULL && dst->family == 6 && d->ip6 != NULL) {
        struct mirage_ipv6_out out = {.src = src != NULL && src->family == 6 ? src->a : NULL,
                                      .dst = dst->a,
                                      .proto = MIRAGE_IPV6_PROTO_TCP,
                                      .size = size,
                                      .meta = meta};
        return mirage_ipv6_write(d->ip6, &out, fill, fill_ctx, NULL, 0);
    }
    return MIRAGE_EHOSTUNREACH;
}

static int tcp_ip_write(void *ctx, const struct mirage_ipaddr *src, const struct mirage_ipaddr *dst,
                        size_t size, mirage_fill_fn fill, void *fill_ctx)
{
    return tcp_ip_write_meta(ctx, src, dst, size, NULL, fill, fill_ctx);
}

/* The device's offloads for a segment to (dst): the checksum, and the
 * segmentation of its family (TSO4 or TSO6) alone. */
static uint32_t tcp_ip_offloads(void *ctx, const struct mirage_ipaddr *dst)
{
    struct direct *d = ctx;
    uint32_t tso;

    if (dst == NULL || (dst->family != 4 && dst->family != 6))
        return 0;
    tso = dst->family == 4 ? MIRAGE_NET_OFFLOAD_TSO4 : MIRAGE_NET_OFFLOAD_TSO6;
    return d->nif->info.offloads & (MIRAGE_NET_OFFLOAD_CSUM | tso);
}

static int tcp_ip_src(void *ctx, const struct mirage_ipaddr *dst, struct mirage_ipaddr *src)
{
    struct direct *d = ctx;
    uint32_t ip;

    if (dst != NULL && dst->family == 6 && d->ip6 != NULL) {
        src->family = 6;
        return mirage_ipv6_src(d->ip6, dst->a, src->a);
    }
    if (dst == NULL || dst->family != 4 || d->ip == NULL)
        return MIRAGE_EHOSTUNREACH;
    ip = mirage_ipv4_src(d->ip, v4(dst));
    if (ip == 0)
        return MIRAGE_EHOSTUNREACH; /* no address yet (DHCP) */
    *src = mirage_ipv4_to_ipaddr(ip);
    return 0;
}

/* IPv6's follows the path MTU that packet-too-big messages teach it. */
static size_t tcp_ip_mtu(void *ctx, const struct mirage_ipaddr *dst)
{
    struct direct *d = ctx;

    if (dst != NULL && dst->family == 6 && d->ip6 != NULL)
        return mirage_ipv6_mtu(d->ip6, dst->a);
    if (d->ip == NULL)
        return MIRAGE_IPV6_MIN_MTU - MIRAGE_IPV6_HLEN;
    return mirage_ipv4_mtu(d->ip, dst != NULL ? v4(dst) : 0);
}

static uint64_t tcp_ip_now(void *ctx)
{
    struct direct *d = ctx;

    return mirage_netif_now(d->nif);
}

static void tcp_rx(void *ctx, const struct mirage_ipv4_rx *rx)
{
    struct direct *d = ctx;
    struct mirage_ipaddr src = mirage_ipv4_to_ipaddr(rx->src);
    struct mirage_ipaddr dst = mirage_ipv4_to_ipaddr(rx->dst);

    if (rx->csum_ok)
        mirage_tcp_input_csum_ok(d->tcp, &src, &dst, rx->payload, rx->len);
    else
        mirage_tcp_input(d->tcp, &src, &dst, rx->payload, rx->len);
}

/* A packet too big lowered the path MTU to (dst): TCP's segments shrink. */
static void tcp_pmtu6(void *ctx, const uint8_t dst[16], size_t mtu)
{
    struct direct *d = ctx;
    struct mirage_ipaddr a = {.family = 6};

    memcpy(a.a, dst, 16);
    mirage_tcp_path_mtu(d->tcp, &a, mtu);
}

/* Fragmentation needed lowered the path MTU to (dst): TCP's segments shrink. */
static void tcp_pmtu4(void *ctx, uint32_t dst, size_t mtu)
{
    struct direct *d = ctx;
    struct mirage_ipaddr a = mirage_ipv4_to_ipaddr(dst);

    mirage_tcp_path_mtu(d->tcp, &a, mtu);
}

/* ICMP errors about our TCP segments (RFC 1122 4.2.3.9): port and protocol
 * unreachable refuse, administratively prohibited (RFC 1812) is as final;
 * host and network unreachable and time exceeded are soft. Fragmentation
 * needed went to the path MTU already. */
static void tcp_icmp4(void *ctx, const struct mirage_icmpv4_error *e)
{
    struct direct *d = ctx;
    struct mirage_rd r = mirage_rd_init(e->orig + 12, 8); /* the quoted source, destination */
    struct mirage_ipaddr local, remote;
    int hard = 0, err = MIRAGE_EHOSTUNREACH;

    if (e->type == MIRAGE_ICMP_UNREACH &&
        (e->code == MIRAGE_ICMP_UNREACH_PROTO || e->code == MIRAGE_ICMP_UNREACH_PORT))
        hard = 1, err = MIRAGE_ECONNREFUSED;
    else if (e->type == MIRAGE_ICMP_UNREACH && (e->code == 9 || e->code == 10 || e->code == 13))
        hard = 1; /* network, host or communication administratively prohibited */
    else if ((e->type != MIRAGE_ICMP_UNREACH || e->code == MIRAGE_ICMP_UNREACH_NEEDFRAG) &&
             e->type != MIRAGE_ICMP_TIME_EXCEEDED)
        return;
    local = mirage_ipv4_to_ipaddr(mirage_rd_be32(&r));
    remote = mirage_ipv4_to_ipaddr(mirage_rd_be32(&r));
    mirage_tcp_icmp_error(d->tcp, &local, &remote, e->upper, e->upper_len, err, hard);
}

/* The same for ICMPv6 (RFC 4443 3.1): port unreachable and an unrecognised
 * next header refuse; administratively prohibited, source policy and reject
 * route are final; no route, beyond scope, address unreachable and time
 * exceeded are soft. */
static void tcp_icmp6(void *ctx, const struct mirage_icmpv6_error *e)
{
    struct direct *d = ctx;
    struct mirage_ipaddr local = {.family = 6}, remote = {.family = 6};
    int hard = 0, err = MIRAGE_EHOSTUNREACH;

    if ((e->type == MIRAGE_ICMPV6_UNREACH && e->code == MIRAGE_ICMPV6_UNREACH_PORT) ||
        (e->type == MIRAGE_ICMPV6_PARAM_PROBLEM && e->code == MIRAGE_ICMPV6_PARAM_NEXT))
        hard = 1, err = MIRAGE_ECONNREFUSED;
    else if (e->type == MIRAGE_ICMPV6_UNREACH && (e->code == 1 || e->code == 5 || e->code == 6))
        hard = 1; /* administratively prohibited, source address policy, reject route */
    else if (e->type != MIRAGE_ICMPV6_UNREACH && e->type != MIRAGE_ICMPV6_TIME_EXCEEDED)
        return;
    memcpy(local.a, e->orig + 8, 16);
    memcpy(remote.a, e->orig + 24, 16);
    mirage_tcp_icmp_error(d->tcp, &local, &remote, e->upper, e->upper_len, err, hard);
}

/* Segments to a multicast group are not TCP's (RFC 9293 3.10.7.2). */
static void tcp_rx6(void *ctx, const struct mirage_ipv6_rx *rx)
{
    struct direct *d = ctx;
    struct mirage_ipaddr src = {.family = 6}, dst = {.family = 6};

    if (mirage_ipv6_is_multicast(rx->dst))
        return;
    memcpy(src.a, rx->src, 16);
    memcpy(dst.a, rx->dst, 16);
    if (rx->csum_ok)
        mirage_tcp_input_csum_ok(d->tcp, &src, &dst, rx->payload, rx->len);
    else
        mirage_tcp_input(d->tcp, &src, &dst, rx->payload, rx->len);
}

/* ---- DHCP ----------------------------------------------------------------- */

static void dhcp_arm(struct direct *d)
{
    uint64_t at = mirage_dhcp_client_deadline(&d->dhcpc);

    if (at == UINT64_MAX)
        mirage_timer_stop(&d->dhcp_timer);
    else
        mirage_timer_start(&d->dhcp_timer, at, d->dhcp_timer.fn);
}

static void dhcp_tick(struct mirage_timer *t)
{
    struct direct *d = (struct direct *)((char *)t - offsetof(struct direct, dhcp_timer));

    mirage_dhcp_client_tick(&d->dhcpc, mirage_clock_monotonic());
    dhcp_arm(d);
}

/* The client sends from 0.0.0.0 until it has an address (MIRAGE_IPV4_SRC_SET)
 * and to 255.255.255.255 until it knows its server. */
static int dhcp_send(void *ctx, const uint8_t *msg, size_t len, const uint8_t src[4],
                     const uint8_t dst[4])
{
    struct direct *d = ctx;
    struct mirage_udp_out out = {.src = mirage_ipv4_to_ipaddr(mirage_ipv4_of_bytes(src)),
                                 .src_port = MIRAGE_DHCP_CLIENT_PORT,
                                 .dst = mirage_ipv4_to_ipaddr(mirage_ipv4_of_bytes(dst)),
                                 .dst_port = MIRAGE_DHCP_SERVER_PORT};
    struct mirage_iovec iov = {msg, len};

    if (mirage_ipv4_of_bytes(src) == 0)
        out.ip_flags |= MIRAGE_IPV4_SRC_SET;
    return mirage_udp_writev(d->udp, &out, &iov, 1);
}

static void dhcp_bound(void *ctx, const struct mirage_dhcp_lease *l)
{
    struct direct *d = ctx;
    struct mirage_ipv4_config c;
    char a[16], g[16];

    mirage_ipv4_get_config(d->ip, &c);
    c.addr = mirage_ipv4_of_bytes(l->addr);
    c.prefix = l->prefix;
    c.gateway = l->has_gateway ? mirage_ipv4_of_bytes(l->gateway) : 0;
    if (mirage_ipv4_set_config(d->ip, &c) < 0) {
        mirage_log_err(&stack_log, "the lease's configuration was refused by IPv4");
        return;
    }
    mirage_log_info(&stack_log, "IPv4 %s/%u from DHCP, gateway %s", mirage_ipv4_format(c.addr, a),
                    c.prefix, c.gateway ? mirage_ipv4_format(c.gateway, g) : "none");
    d->has_lease = 1;
    mirage_cond_broadcast(&d->lease_cond);
}

static void dhcp_lost(void *ctx)
{
    struct direct *d = ctx;
    struct mirage_ipv4_config c;

    mirage_ipv4_get_config(d->ip, &c);
    c.addr = 0;
    c.gateway = 0;
    mirage_ipv4_set_config(d->ip, &c);
    d->has_lease = 0;
    mirage_log_warn(&stack_log, "the DHCP lease is gone: no IPv4 address until a new one");
}

static void dhcp_rx(void *ctx, const struct mirage_udp_rx *rx)
{
    struct direct *d = ctx;

    if (rx->src_port != MIRAGE_DHCP_SERVER_PORT)
        return;
    mirage_dhcp_client_input(&d->dhcpc, rx->data, rx->len, mirage_clock_monotonic());
    dhcp_arm(d);
}

/* ---- stack.h's operations ------------------------------------------------- */

static int udp_listen(struct mirage_stack *s, uint16_t port, mirage_udp_fn fn, void *ctx)
{
    return mirage_udp_bind(of(s)->udp, port, fn, ctx);
}

static int udp_unlisten(struct mirage_stack *s, uint16_t port)
{
    return mirage_udp_unbind(of(s)->udp, port);
}

static int udp_write(struct mirage_stack *s, uint16_t src_port, const struct mirage_ipaddr *dst,
                     uint16_t dst_port, int ttl, const void *data, size_t len)
{
    return mirage_udp_send(of(s)->udp, src_port, dst, dst_port, ttl, data, len);
}

static int udp_write_segments(struct mirage_stack *s, uint16_t src_port,
                              const struct mirage_ipaddr *dst, uint16_t dst_port, int ttl,
                              const void *data, size_t len, uint16_t segment)
{
    struct mirage_udp_out out = {
        .src_port = src_port, .dst_port = dst_port, .ttl = ttl, .segment = segment};
    struct mirage_iovec iov = {data, len};

    if (dst == NULL || len > 65507)
        return dst == NULL ? MIRAGE_EINVAL : MIRAGE_EMSGSIZE;
    out.dst = *dst;
    return mirage_udp_writev(of(s)->udp, &out, &iov, 1);
}

static int tcp_listen(struct mirage_stack *s, uint16_t port,
                      const struct mirage_tcp_listen_opts *opts, struct mirage_tcp_listener **out)
{
    int r = mirage_tcp_listener_open(of(s)->tcp, port, opts, out);

    if (r == 0)
        (*out)->stack = s;
    return r;
}

static int tcp_accept(struct mirage_tcp_listener *l, struct mirage_flow **out,
                      struct mirage_ipaddr *peer, uint16_t *peer_port, uint64_t deadline)
{
    return mirage_tcp_listener_accept(l, out, peer, peer_port, deadline);
}

static void tcp_unlisten(struct mirage_tcp_listener *l)
{
    mirage_tcp_listener_close(l);
}

static int tcp_connect(struct mirage_stack *s, const struct mirage_ipaddr *dst, uint16_t port,
                       struct mirage_flow **out, uint64_t deadline)
{
    struct direct *d = of(s);
    uint8_t src[16];
    int r;

    /* Right after boot the IPv6 addresses are still in DAD: wait for one. */
    *out = NULL;
    if (dst != NULL && dst->family == 6 && d->ip6 != NULL &&
        (r = mirage_ipv6_src_wait(d->ip6, dst->a, src, deadline)) != 0)
        return r;
    return mirage_tcp_connect_flow(d->tcp, dst, port, out, deadline);
}

/* IPv4's address first, then the IPv6 ones in use, the link-local one last. */
static size_t ip_addresses(struct mirage_stack *s, struct mirage_ipaddr *out, size_t n)
{
    struct direct *d = of(s);
    struct mirage_ipv4_config c;
    uint8_t a6[4][16];
    enum mirage_ipv6_addr_state st[4];
    size_t k = 0, n6 = 0;

    memset(&c, 0, sizeof(c));
    if (d->ip != NULL)
        mirage_ipv4_get_config(d->ip, &c);
    if (c.addr != 0) {
        if (k < n)
            out[k] = mirage_ipv4_to_ipaddr(c.addr);
        k++;
    }
    if (d->ip6 != NULL)
        n6 = mirage_ipv6_addresses(d->ip6, a6, NULL, st, 4);
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n6 && i < 4; i++) {
            if (st[i] != MIRAGE_IPV6_PREFERRED || mirage_ipv6_is_link_local(a6[i]) != (int)pass)
                continue;
            if (k < n) {
                out[k].family = 6;
                memcpy(out[k].a, a6[i], 16);
            }
            k++;
        }
    return k;
}

/* ---- metrics (mirage/metrics.h) ------------------------------------------- */

/* Each source is its layer's stats struct (uint64_t fields) read through a
 * table of names and offsets, so one function turns any of them into fields. */
struct stat_field {
    const char *name;
    size_t off;
};

#define STAT(type, name) {#name, offsetof(struct type, name)}
#define TABLE(t)         (t), sizeof(t) / sizeof((t)[0])

static const struct stat_field net_fields[] = {
    STAT(mirage_netif_stats, rx_frames), STAT(mirage_netif_stats, rx_bytes),
    STAT(mirage_netif_stats, tx_frames), STAT(mirage_netif_stats, tx_bytes),
    STAT(mirage_netif_stats, rx_oversized), STAT(mirage_netif_stats, rx_errors),
    STAT(mirage_netif_stats, tx_dropped), STAT(mirage_netif_stats, tx_errors),
    STAT(mirage_netif_stats, tx_gso), STAT(mirage_netif_stats, rx_gso),
    STAT(mirage_netif_stats, rx_gso_bad)};

static const struct stat_field ipv4_fields[] = {
    STAT(mirage_ipv4_stats, rx_datagrams), STAT(mirage_ipv4_stats, rx_bad),
    STAT(mirage_ipv4_stats, rx_not_for_us), STAT(mirage_ipv4_stats, rx_no_proto),
    STAT(mirage_ipv4_stats, rx_fragments), STAT(mirage_ipv4_stats, reassembled),
    STAT(mirage_ipv4_stats, reasm_dropped), STAT(mirage_ipv4_stats, tx_datagrams),
    STAT(mirage_ipv4_stats, tx_fragments), STAT(mirage_ipv4_stats, tx_errors)};

static const struct stat_field udp_fields[] = {
    STAT(mirage_udp_stats, rx_datagrams), STAT(mirage_udp_stats, rx_bad),
    STAT(mirage_udp_stats, rx_no_port), STAT(mirage_udp_stats, tx_datagrams),
    STAT(mirage_udp_stats, tx_errors)};

static const struct stat_field tcp_fields[] = {
    STAT(mirage_tcp_stats, conns), STAT(mirage_tcp_stats, time_wait),
    STAT(mirage_tcp_stats, heap), STAT(mirage_tcp_stats, active_opens),
    STAT(mirage_tcp_stats, passive_opens), STAT(mirage_tcp_stats, resets_sent),
    STAT(mirage_tcp_stats, resets_received), STAT(mirage_tcp_stats, retransmits),
    STAT(mirage_tcp_stats, rto_timeouts), STAT(mirage_tcp_stats, syn_cookies_sent),
    STAT(mirage_tcp_stats, listen_drops), STAT(mirage_tcp_stats, limit_refusals),
    STAT(mirage_tcp_stats, alloc_failures), STAT(mirage_tcp_stats, rcv_drops),
    STAT(mirage_tcp_stats, rcv_direct),
    STAT(mirage_tcp_stats, bad_checksums), STAT(mirage_tcp_stats, bad_segments),
    STAT(mirage_tcp_stats, segs_in), STAT(mirage_tcp_stats, segs_out)};

/* All of (t) or nothing: a source is never sent with some fields missing. */
static size_t stat_fields(const void *st, const struct stat_field *t, size_t nt,
                          struct mirage_metrics_field *f, size_t n)
{
    if (n < nt)
        return 0;
    for (size_t i = 0; i < nt; i++) {
        uint64_t v;

        memcpy(&v, (const uint8_t *)st + t[i].off, sizeof(v));
        f[i] = (struct mirage_metrics_field){t[i].name, (int64_t)v};
    }
    return nt;
}

static size_t net_sample(void *ctx, struct mirage_metrics_field *f, size_t n)
{
    struct mirage_netif_stats st;

    mirage_netif_stats(((struct direct *)ctx)->nif, &st);
    return stat_fields(&st, TABLE(net_fields), f, n);
}

static size_t ipv4_sample(void *ctx, struct mirage_metrics_field *f, size_t n)
{
    struct mirage_ipv4_stats st;

    if (((struct direct *)ctx)->ip == NULL)
        return 0;
    mirage_ipv4_stats(((struct direct *)ctx)->ip, &st);
    return stat_fields(&st, TABLE(ipv4_fields), f, n);
}

static size_t udp_sample(void *ctx, struct mirage_metrics_field *f, size_t n)
{
    struct mirage_udp_stats st;

    mirage_udp_stats(((struct direct *)ctx)->udp, &st);
    return stat_fields(&st, TABLE(udp_fields), f, n);
}

static size_t tcp_sample(void *ctx, struct mirage_metrics_field *f, size_t n)
{
    struct mirage_tcp_stats st;

    mirage_tcp_stats(((struct direct *)ctx)->tcp, &st);
    return stat_fields(&st, TABLE(tcp_fields), f, n);
}

static void metrics_register(struct direct *d)
{
    static const char *const names[4] = {"net", "ipv4", "udp", "tcp"};
    static size_t (*const fns[4])(void *, struct mirage_metrics_field *,
                                  size_t) = {net_sample, ipv4_sample, udp_sample, tcp_sample};

    for (int i = 0; i < 4; i++) {
        d->metrics[i] = (struct mirage_metrics_source){
            .measurement = names[i],
            .tag_key = "interface",
            .tag_value = d->nif->name ? d->nif->name : "?",
            .sample = fns[i],
            .ctx = d,
        };
        mirage_metrics_register(&d->metrics[i]);
    }
}

/* Frees the layers top down; each unregisters from the one below. */
static void teardown(struct direct *d)
{
    for (int i = 0; i < 4; i++)
        mirage_metrics_unregister(&d->metrics[i]);
    if (d->dhcp) {
        mirage_timer_stop(&d->dhcp_timer);
        if (d->udp != NULL) {
            mirage_dhcp_client_release(&d->dhcpc);
            mirage_udp_unbind(d->udp, MIRAGE_DHCP_CLIENT_PORT);
        }
    }
    if (d->ip6 != NULL)
        mirage_ipv6_on_pmtu(d->ip6, NULL, d);
    if (d->ip != NULL)
        mirage_ipv4_on_pmtu(d->ip, NULL, d);
    if (d->icmp6 != NULL)
        mirage_icmpv6_on_error(d->icmp6, MIRAGE_IPV6_PROTO_TCP, NULL, NULL);
    if (d->icmp != NULL)
        mirage_icmpv4_on_error(d->icmp, MIRAGE_IPV4_PROTO_TCP, NULL, NULL);
    if (d->tcp != NULL)
        mirage_tcp_free(d->tcp);
    if (d->udp != NULL)
        mirage_udp_free(d->udp);
    if (d->icmp6 != NULL)
        mirage_icmpv6_free(d->icmp6);
    if (d->ip6 != NULL)
        mirage_ipv6_free(d->ip6);
    if (d->icmp != NULL)
        mirage_icmpv4_free(d->icmp);
    if (d->ip != NULL)
        mirage_ipv4_free(d->ip);
    if (d->arp != NULL)
        mirage_arp_free(d->arp);
    if (d->eth != NULL)
        mirage_eth_free(d->eth);
    free(d);
}

/* The receive fiber keeps running while TCP drains, so the peers' ACKs still
 * arrive; whatever has not finished by the deadline is reset by teardown. */
static void disconnect(struct mirage_stack *s)
{
    struct direct *d = of(s);

    mirage_tcp_drain(d->tcp, mirage_deadline_in(d->linger));
    teardown(d);
}

static const struct mirage_stack_ops direct_ops = {
    .udp_listen = udp_listen,
    .udp_unlisten = udp_unlisten,
    .udp_write = udp_write,
    .udp_write_segments = udp_write_segments,
    .tcp_listen = tcp_listen,
    .tcp_accept = tcp_accept,
    .tcp_unlisten = tcp_unlisten,
    .tcp_connect = tcp_connect,
    .ip_addresses = ip_addresses,
    .disconnect = disconnect,
};

/* ---- the constructor ------------------------------------------------------ */

static int ipv4_config(const struct mirage_stack_config *cfg, struct mirage_ipv4_config *c)
{
    memset(c, 0, sizeof(*c));
    if (cfg->ipv6_only)
        return 0;
    if (cfg->dhcp)
        return 0; /* no address until the lease: every datagram is accepted meanwhile */
    if (cfg->ipv4.family != 4 || cfg->ipv4_prefix > 32) {
        mirage_log_err(&stack_log, "no IPv4 address configured and DHCP is off");
        return MIRAGE_EINVAL;
    }
    c->addr = v4(&cfg->ipv4);
    c->prefix = cfg->ipv4_prefix;
    if (cfg->has_gateway) {
        if (cfg->gateway.family != 4)
            return MIRAGE_EINVAL;
        c->gateway = v4(&cfg->gateway);
    }
    return 0;
}

static int ipv6_config(const struct mirage_stack_config *cfg, struct mirage_ipv6_config *c)
{
    memset(c, 0, sizeof(*c));
    if (cfg->ipv4_only)
        return 0;
    if (cfg->ipv6.family == 6) {
        if (cfg->ipv6_prefix > 128 || mirage_ipv6_is_multicast(cfg->ipv6.a) ||
            mirage_ipv6_is_unspecified(cfg->ipv6.a)) {
            mirage_log_err(&stack_log, "the IPv6 address is not a unicast address with a "
                                       "prefix length of 0..128");
            return MIRAGE_EINVAL;
        }
        c->has_addr = 1;
        memcpy(c->addr, cfg->ipv6.a, 16);
        c->prefix = cfg->ipv6_prefix;
    }
    if (cfg->has_ipv6_gateway) {
        if (cfg->ipv6_gateway.family != 6 || mirage_ipv6_is_multicast(cfg->ipv6_gateway.a)) {
            mirage_log_err(&stack_log, "the IPv6 gateway is not a unicast IPv6 address");
            return MIRAGE_EINVAL;
        }
        c->has_gateway = 1;
        memcpy(c->gateway, cfg->ipv6_gateway.a, 16);
    }
    c->no_router_adv = cfg->ipv6_no_router_adv;
    return 0;
}

static int wait_lease(struct direct *d, const struct mirage_stack_config *cfg)
{
    uint64_t deadline = cfg->dhcp_deadline ? cfg->dhcp_deadline : MIRAGE_FOREVER;

    d->dhcp_timer.fn = dhcp_tick;
    if (mirage_dhcp_client_init(&d->dhcpc, mirage_eth_mac(d->eth), cfg->hostname, dhcp_send,
                                dhcp_bound, dhcp_lost, d) < 0) {
        mirage_log_err(&stack_log, "DHCP: hostname '%s' is not 1..63 letters, digits, '-', '.'",
                       cfg->hostname ? cfg->hostname : "");
        return MIRAGE_EINVAL;
    }
    if (mirage_udp_bind(d->udp, MIRAGE_DHCP_CLIENT_PORT, dhcp_rx, d) < 0)
        return MIRAGE_ENOMEM;
    mirage_dhcp_client_start(&d->dhcpc, mirage_clock_monotonic());
    dhcp_arm(d);
    while (!d->has_lease) {
        int r = mirage_cond_wait(&d->lease_cond, deadline);
        if (r < 0 && !d->has_lease) {
            if (r == MIRAGE_ETIMEDOUT)
                mirage_log_err(&stack_log, "no DHCP lease in time (%s)",
                               mirage_dhcp_state_name(d->dhcpc.state));
            return r;
        }
    }
    return 0;
}

/* ARP, IPv4 and ICMP unless the stack is IPv6-only; IPv6 (neighbour discovery
 * with it) and ICMPv6 unless it is IPv4-only. */
static int ip_layers(struct direct *d, const struct mirage_stack_config *cfg,
                     const struct mirage_ipv4_config *ipc, const struct mirage_ipv6_config *ip6c)
{
    if (!cfg->ipv6_only && ((d->arp = mirage_arp_new(d->eth, NULL)) == NULL ||
                            (d->ip = mirage_ipv4_new(d->eth, d->arp, ipc)) == NULL ||
                            (d->icmp = mirage_icmpv4_new(d->ip, NULL)) == NULL))
        return MIRAGE_ENOMEM;
    if (!cfg->ipv4_only && ((d->ip6 = mirage_ipv6_new(d->eth, ip6c)) == NULL ||
                            (d->icmp6 = mirage_icmpv6_new(d->ip6, NULL)) == NULL))
        return MIRAGE_ENOMEM;
    return 0;
}

int mirage_stack_direct_new(struct mirage_netif *nif, const struct mirage_stack_config *cfg,
                            struct mirage_stack **out)
{
    struct mirage_ipv4_config ipc;
    struct mirage_ipv6_config ip6c;
    struct mirage_tcp_ip tip = {.write = tcp_ip_write,
                                .src = tcp_ip_src,
                                .mtu = tcp_ip_mtu,
                                .now = tcp_ip_now,
                                .offloads = tcp_ip_offloads,
                                .write_meta = tcp_ip_write_meta};
    struct direct *d;
    char mac[18], a[16], g[16], a6[46], g6[46];
    uint8_t ll[16];
    int r;

    if (nif == NULL || cfg == NULL)
        return MIRAGE_EINVAL;
    if (cfg->ipv4_only && cfg->ipv6_only) {
        mirage_log_err(&stack_log, "--ipv4-only and --ipv6-only together leave no IP at all");
        return MIRAGE_EINVAL;
    }
    r = ipv4_config(cfg, &ipc);
    if (r == 0)
        r = ipv6_config(cfg, &ip6c);
    if (r < 0)
        return r;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return MIRAGE_ENOMEM;
    d->base.ops = &direct_ops;
    d->nif = nif;
    d->dhcp = cfg->dhcp && !cfg->ipv6_only;
    d->linger = cfg->linger ? cfg->linger : MIRAGE_STACK_LINGER_DEFAULT;
    tip.ctx = d;
    r = MIRAGE_ENOMEM;
    if ((d->eth = mirage_eth_new(nif)) == NULL || ip_layers(d, cfg, &ipc, &ip6c) < 0 ||
        (d->udp = mirage_udp_new(d->ip, d->icmp)) == NULL ||
        (d->ip6 != NULL && mirage_udp_add_ipv6(d->udp, d->ip6, d->icmp6) < 0) ||
        (d->tcp = mirage_tcp_new(&tip, NULL)) == NULL ||
        (d->ip != NULL && mirage_ipv4_register(d->ip, MIRAGE_IPV4_PROTO_TCP, tcp_rx, d) < 0) ||
        (d->ip != NULL && mirage_ipv4_on_pmtu(d->ip, tcp_pmtu4, d) < 0) ||
        (d->ip6 != NULL && mirage_ipv6_register(d->ip6, MIRAGE_IPV6_PROTO_TCP, tcp_rx6, d) < 0) ||
        (d->ip6 != NULL && mirage_ipv6_on_pmtu(d->ip6, tcp_pmtu6, d) < 0) ||
        (d->icmp != NULL && mirage_icmpv4_on_error(d->icmp, MIRAGE_IPV4_PROTO_TCP, tcp_icmp4, d) < 0) ||
        (d->icmp6 != NULL &&
         mirage_icmpv6_on_error(d->icmp6, MIRAGE_IPV6_PROTO_TCP, tcp_icmp6, d) < 0) ||
        (r = mirage_eth_start(d->eth)) < 0)
        goto fail;
    metrics_register(d);
    mirage_log_info(&stack_log, "direct stack on '%s' (%s, MTU %zu)%s", nif->name ? nif->name : "?",
                    mirage_eth_format(mirage_eth_mac(d->eth), mac), mirage_eth_mtu(d->eth),
                    cfg->ipv4_only   ? ", IPv4 only"
                    : cfg->ipv6_only ? ", IPv6 only"
                                     : "");
    if (d->ip6 != NULL) {
        mirage_ipv6_addresses(d->ip6, &ll, NULL, NULL, 1);
        mirage_log_info(&stack_log, "IPv6 link-local %s/64 (tentative until DAD ends)",
                        mirage_ipv6_format(ll, a6));
    }
    if (ip6c.has_addr && d->ip6 != NULL)
        mirage_log_info(&stack_log, "IPv6 %s/%u, gateway %s", mirage_ipv6_format(ip6c.addr, a6),
                        ip6c.prefix,
                        ip6c.has_gateway ? mirage_ipv6_format(ip6c.gateway, g6) : "none");
    if (d->dhcp) {
        r = wait_lease(d, cfg);
        if (r < 0)
            goto fail;
    } else if (d->ip != NULL) {
        mirage_log_info(&stack_log, "IPv4 %s/%u, gateway %s", mirage_ipv4_format(ipc.addr, a),
                        ipc.prefix, ipc.gateway ? mirage_ipv4_format(ipc.gateway, g) : "none");
    }
    *out = &d->base;
    return 0;
fail:
    teardown(d);
    return r;
}
