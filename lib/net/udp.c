/* udp.c: UDP datagrams in and out over IPv4 and IPv6, listeners by port, ephemeral source ports. */
#include <stdlib.h>
#include <string.h>

#include "mirage/checksum.h"
#include "mirage/heap.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/udp.h"
#include "mirage/wire.h"

MIRAGE_LOG_SOURCE(udp_log, "udp", "UDP");

/* The largest payload: 65535 less the UDP header, and for IPv4 less its own
 * header too (IPv6's payload length does not count its fixed header). */
#define MAX_PAYLOAD4 (MIRAGE_IPV4_MAX_DATAGRAM - MIRAGE_IPV4_HLEN - MIRAGE_UDP_HLEN)
#define MAX_PAYLOAD6 (65535 - MIRAGE_UDP_HLEN)

struct listener {
    uint16_t port;
    mirage_udp_fn fn;
    void *ctx;
};

struct mirage_udp {
    struct mirage_ipv4 *ip;
    struct mirage_icmpv4 *icmp;
    struct mirage_ipv6 *ip6;
    struct mirage_icmpv6 *icmp6;
    struct listener *l;
    size_t n, cap;
    struct mirage_udp_stats st;
};

static void ip_rx(void *ctx, const struct mirage_ipv4_rx *rx)
{
    mirage_udp_input(ctx, rx);
}

static void ip6_rx(void *ctx, const struct mirage_ipv6_rx *rx)
{
    mirage_udp_input6(ctx, rx);
}

struct mirage_udp *mirage_udp_new(struct mirage_ipv4 *ip, struct mirage_icmpv4 *icmp)
{
    struct mirage_udp *udp = calloc(1, sizeof(*udp));

    if (udp == NULL)
        return NULL;
    udp->ip = ip;
    udp->icmp = icmp;
    if (ip != NULL && mirage_ipv4_register(ip, MIRAGE_IPV4_PROTO_UDP, ip_rx, udp) != 0) {
        free(udp);
        return NULL;
    }
    return udp;
}

int mirage_udp_add_ipv6(struct mirage_udp *udp, struct mirage_ipv6 *ip6,
                        struct mirage_icmpv6 *icmp6)
{
    int r;

    if (udp->ip6 != NULL || ip6 == NULL)
        return MIRAGE_EINVAL;
    r = mirage_ipv6_register(ip6, MIRAGE_IPV6_PROTO_UDP, ip6_rx, udp);
    if (r < 0)
        return r;
    udp->ip6 = ip6;
    udp->icmp6 = icmp6;
    return 0;
}

void mirage_udp_free(struct mirage_udp *udp)
{
    if (udp == NULL)
        return;
    if (udp->ip != NULL)
        mirage_ipv4_register(udp->ip, MIRAGE_IPV4_PROTO_UDP, NULL, NULL);
    if (udp->ip6 != NULL)
        mirage_ipv6_register(udp->ip6, MIRAGE_IPV6_PROTO_UDP, NULL, NULL);
    free(udp->l);
    free(udp);
}

static struct listener *find(const struct mirage_udp *udp, uint16_t port)
{
    for (size_t i = 0; i < udp->n; i++)
        if (udp->l[i].port == port)
            return &udp->l[i];
    return NULL;
}

int mirage_udp_bind(struct mirage_udp *udp, uint16_t port, mirage_udp_fn fn, void *ctx)
{
    if (port == 0 || fn == NULL || find(udp, port))
        return MIRAGE_EINVAL;
    if (mirage_grow(&udp->l, &udp->cap, udp->n + 1, sizeof(*udp->l)) < 0)
        return MIRAGE_ENOMEM;
    udp->l[udp->n++] = (struct listener){port, fn, ctx};
    return 0;
}

int mirage_udp_unbind(struct mirage_udp *udp, uint16_t port)
{
    struct listener *l = find(udp, port);

    if (l == NULL)
        return MIRAGE_ENOENT;
    *l = udp->l[--udp->n];
    return 0;
}

/* The header of (payload, avail) checked against its length field: fills
 * (u)'s ports and length and returns the checksum field, or -1 if bad. */
static int parse(struct mirage_udp *udp, const uint8_t *payload, size_t avail,
                 struct mirage_udp_rx *u)
{
    struct mirage_rd c = mirage_rd_init(payload, avail);
    uint16_t len, csum;

    u->src_port = mirage_rd_be16(&c);
    u->dst_port = mirage_rd_be16(&c);
    len = mirage_rd_be16(&c);
    csum = mirage_rd_be16(&c);
    if (c.bad || len < MIRAGE_UDP_HLEN || len > avail) {
        udp->st.rx_bad++;
        return -1;
    }
    u->len = len - MIRAGE_UDP_HLEN;
    u->data = payload + MIRAGE_UDP_HLEN;
    return csum;
}

/* Datagrams in (u): one, or those of a UDP GSO frame (gso > 0), each
 * gso bytes of its payload, the last maybe shorter. */
static size_t count(const struct mirage_udp_rx *u, uint16_t gso)
{
    return gso == 0 || u->len == 0 ? 1 : (u->len + gso - 1) / gso;
}

/* Hands (u)'s datagrams to the listener of its port in order; a listener
 * that unbinds meanwhile gets no more. */
static void deliver(struct mirage_udp *udp, const struct mirage_udp_rx *u, uint16_t gso)
{
    struct mirage_udp_rx d = *u;
    size_t left = u->len;
    struct listener *l;

    for (size_t i = count(u, gso); i > 0 && (l = find(udp, u->dst_port)) != NULL; i--) {
        d.len = gso == 0 || left < gso ? left : gso;
        udp->st.rx_datagrams++;
        l->fn(l->ctx, &d);
        d.data += d.len;
        left -= d.len;
    }
}

void mirage_udp_input(struct mirage_udp *udp, const struct mirage_ipv4_rx *rx)
{
    struct mirage_udp_rx u;
    int csum = parse(udp, rx->payload, rx->len, &u);

    if (csum < 0)
        return;
    if (csum != 0 && !rx->csum_ok) {
        struct mirage_csum s = MIRAGE_CSUM_INIT;
        mirage_csum_add_pseudo4(&s, rx->src, rx->dst, MIRAGE_IPV4_PROTO_UDP,
                                u.len + MIRAGE_UDP_HLEN);
        mirage_csum_add(&s, rx->payload, u.len + MIRAGE_UDP_HLEN);
        if (mirage_csum_finish(&s) != 0) {
            udp->st.rx_bad++;
            return;
        }
    }
    if (find(udp, u.dst_port) == NULL) {
        udp->st.rx_no_port += count(&u, rx->gso_size);
        if (udp->icmp)
            mirage_icmpv4_unreachable(udp->icmp, MIRAGE_ICMP_UNREACH_PORT, rx);
        return;
    }
    u.src = mirage_ipv4_to_ipaddr(rx->src);
    u.dst = mirage_ipv4_to_ipaddr(rx->dst);
    deliver(udp, &u, rx->gso_size);
}

void mirage_udp_input6(struct mirage_udp *udp, const struct mirage_ipv6_rx *rx)
{
    struct mirage_udp_rx u;
    struct mirage_csum s = MIRAGE_CSUM_INIT;
    int csum = parse(udp, rx->payload, rx->len, &u);

    if (csum < 0)
        return;
    /* Over IPv6 the checksum is mandatory: a zero one is refused (RFC 8200 8.1). */
    mirage_csum_add_pseudo6(&s, rx->src, rx->dst, MIRAGE_IPV6_PROTO_UDP,
                            (uint32_t)(u.len + MIRAGE_UDP_HLEN));
    mirage_csum_add(&s, rx->payload, u.len + MIRAGE_UDP_HLEN);
    if (csum == 0 || (!rx->csum_ok && mirage_csum_finish(&s) != 0)) {
        udp->st.rx_bad++;
        return;
    }
    if (find(udp, u.dst_port) == NULL) {
        udp->st.rx_no_port += count(&u, rx->gso_size);
        /* the ICMPv6 layer refuses to answer a datagram sent to a group */
        if (udp->icmp6)
            mirage_icmpv6_error(udp->icmp6, MIRAGE_ICMPV6_UNREACH, MIRAGE_ICMPV6_UNREACH_PORT, 0,
                                rx);
        return;
    }
    u.src.family = u.dst.family = 6;
    memcpy(u.src.a, rx->src, 16);
    memcpy(u.dst.a, rx->dst, 16);
    deliver(udp, &u, rx->gso_size);
}

/* A random port in 49152..65535 no listener has (RFC 6056's simple randomisation). */
static uint16_t ephemeral(const struct mirage_udp *udp)
{
    uint16_t span = 65535 - MIRAGE_UDP_EPHEMERAL_MIN + 1;
    uint16_t p = (uint16_t)(MIRAGE_UDP_EPHEMERAL_MIN + mirage_random_uniform(span));

    for (unsigned i = 0; i < span && find(udp, p); i++)
        p = p == 65535 ? MIRAGE_UDP_EPHEMERAL_MIN : (uint16_t)(p + 1);
    return p;
}

struct hdr {
    uint16_t sport, dport, len, csum;
};

static int fill_hdr(void *ctx, uint8_t *buf, size_t size)
{
    const struct hdr *h = ctx;

    struct mirage_wr w = mirage_wr_init(buf, size);

    mirage_wr_be16(&w, h->sport);
    mirage_wr_be16(&w, h->dport);
    mirage_wr_be16(&w, h->len);
    mirage_wr_be16(&w, h->csum);
    return w.bad ? MIRAGE_EMSGSIZE : MIRAGE_UDP_HLEN;
}

/* The header of a datagram of (total) payload bytes from (iov), checksummed
 * after the pseudo-header already in (c); with (partial), for a device that
 * completes it (a UDP GSO frame), the pseudo-header's sum alone, folded. */
static void header(uint16_t sport, const struct mirage_udp_out *out, size_t total,
                   struct mirage_csum *c, const struct mirage_iovec *iov, size_t n, int partial,
                   struct hdr *h)
{
    uint8_t hb[MIRAGE_UDP_HLEN];

    *h = (struct hdr){sport, out->dst_port, (uint16_t)(MIRAGE_UDP_HLEN + total), 0};
    if (partial) {
        h->csum = (uint16_t)~mirage_csum_finish(c);
        return;
    }
    fill_hdr(h, hb, sizeof(hb));
    mirage_csum_add(c, hb, sizeof(hb));
    for (size_t i = 0; i < n; i++)
        mirage_csum_add(c, iov[i].base, iov[i].len);
    h->csum = mirage_csum_finish(c);
    if (h->csum == 0)
        h->csum = 0xffff; /* 0 would mean "no checksum" */
}

/* One datagram from (sport) over IPv4, or with (meta) a UDP GSO frame. */
static int write4(struct mirage_udp *udp, const struct mirage_udp_out *out, uint16_t sport,
                  size_t total, const struct mirage_iovec *iov, size_t n,
                  const struct mirage_net_meta *meta)
{
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    uint32_t dst = 0, src = 0;
    struct hdr h;

    if (udp->ip == NULL)
        return MIRAGE_EHOSTUNREACH;
    if (total > MAX_PAYLOAD4)
        return MIRAGE_EMSGSIZE;
    mirage_ipv4_of_ipaddr(&out->dst, &dst);
    if (out->src.family == 4)
        mirage_ipv4_of_ipaddr(&out->src, &src);
    if (src == 0 && !(out->ip_flags & MIRAGE_IPV4_SRC_SET))
        src = mirage_ipv4_src(udp->ip, dst);
    mirage_csum_add_pseudo4(&c, src, dst, MIRAGE_IPV4_PROTO_UDP, MIRAGE_UDP_HLEN + total);
    header(sport, out, total, &c, iov, n, meta != NULL, &h);

    struct mirage_ipv4_out io = {.dst = dst,
                                 .proto = MIRAGE_IPV4_PROTO_UDP,
                                 .src = src,
                                 .ttl = out->ttl,
                                 .flags = out->ip_flags,
                                 .size = MIRAGE_UDP_HLEN,
                                 .meta = meta};
    return mirage_ipv4_write(udp->ip, &io, fill_hdr, &h, iov, n);
}

/* One datagram from (sport) over IPv6, or with (meta) a UDP GSO frame. */
static int write6(struct mirage_udp *udp, const struct mirage_udp_out *out, uint16_t sport,
                  size_t total, const struct mirage_iovec *iov, size_t n,
                  const struct mirage_net_meta *meta)
{
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    uint8_t src[16];
    struct hdr h;
    int r;

    if (udp->ip6 == NULL)
        return MIRAGE_EHOSTUNREACH;
    if (total > MAX_PAYLOAD6)
        return MIRAGE_EMSGSIZE;
    if (out->src.family == 6)
        memcpy(src, out->src.a, 16);
    else if ((r = mirage_ipv6_src(udp->ip6, out->dst.a, src)) < 0)
        return r;
    mirage_csum_add_pseudo6(&c, src, out->dst.a, MIRAGE_IPV6_PROTO_UDP,
                            (uint32_t)(MIRAGE_UDP_HLEN + total));
    header(sport, out, total, &c, iov, n, meta != NULL, &h);

    struct mirage_ipv6_out io = {.src = src,
                                 .dst = out->dst.a,
                                 .proto = MIRAGE_IPV6_PROTO_UDP,
                                 .hop_limit = out->ttl,
                                 .size = MIRAGE_UDP_HLEN,
                                 .meta = meta};
    return mirage_ipv6_write(udp->ip6, &io, fill_hdr, &h, iov, n);
}

static int write_one(struct mirage_udp *udp, const struct mirage_udp_out *out, uint16_t sport,
                     size_t total, const struct mirage_iovec *iov, size_t n,
                     const struct mirage_net_meta *meta)
{
    int r = out->dst.family == 4 ? write4(udp, out, sport, total, iov, n, meta)
                                 : write6(udp, out, sport, total, iov, n, meta);

    if (r == 0 && meta == NULL)
        udp->st.tx_datagrams++;
    return r;
}

/* Bytes [off, off + len) of iov[0..n) as up to MIRAGE_UDP_SEGMENT_IOV views in (part);
 * returns how many, or -1 when that is too few. */
static int slice(const struct mirage_iovec *iov, size_t n, size_t off, size_t len,
                 struct mirage_iovec *part)
{
    int k = 0;

    for (size_t i = 0; i < n && len > 0; i++) {
        size_t take;

        if (off >= iov[i].len) {
            off -= iov[i].len;
            continue;
        }
        if (k == MIRAGE_UDP_SEGMENT_IOV)
            return -1;
        take = iov[i].len - off < len ? iov[i].len - off : len;
        part[k++] = (struct mirage_iovec){(const uint8_t *)iov[i].base + off, take};
        len -= take;
        off = 0;
    }
    return k;
}

/*
 * A train of datagrams of out->segment bytes each (the last may be shorter)
 * from one port: with the device's USO, frames of up to MIRAGE_NET_USO_MAX_SEGS
 * of them for the device to cut; without it, or for a train the device
 * cannot take now (a next hop still being resolved), one datagram at a time.
 */
static int write_segments(struct mirage_udp *udp, const struct mirage_udp_out *out, size_t total,
                          const struct mirage_iovec *iov, size_t n)
{
    uint16_t seg = out->segment, sport = out->src_port ? out->src_port : ephemeral(udp);
    struct mirage_iovec part[MIRAGE_UDP_SEGMENT_IOV];
    uint32_t offloads, dst = 0;
    size_t room, off = 0;
    int uso, k;

    if (out->dst.family == 4 && udp->ip != NULL) {
        mirage_ipv4_of_ipaddr(&out->dst, &dst);
        room = mirage_ipv4_mtu(udp->ip, dst);
        offloads = mirage_ipv4_offloads(udp->ip);
    } else if (out->dst.family == 6 && udp->ip6 != NULL) {
        room = mirage_ipv6_mtu(udp->ip6, out->dst.a);
        offloads = mirage_ipv6_offloads(udp->ip6);
    } else {
        return MIRAGE_EHOSTUNREACH;
    }
    uso = (offloads & MIRAGE_NET_OFFLOAD_USO) && (offloads & MIRAGE_NET_OFFLOAD_CSUM);
    /* Each datagram fits one frame, as Linux's UDP_SEGMENT demands. */
    if ((size_t)seg + MIRAGE_UDP_HLEN > room)
        return MIRAGE_EMSGSIZE;
    while (off < total) {
        size_t chunk = total - off, max = (size_t)seg * MIRAGE_NET_USO_MAX_SEGS;
        int r = MIRAGE_EAGAIN;

        if (chunk > max)
            chunk = max;
        if (uso && chunk > seg) {
            struct mirage_net_meta m = {MIRAGE_NET_META_NEEDS_CSUM, MIRAGE_NET_GSO_UDP_L4,
                                        MIRAGE_UDP_HLEN, seg, 0, 6};

            if ((k = slice(iov, n, off, chunk, part)) < 0)
                return MIRAGE_EINVAL;
            r = write_one(udp, out, sport, chunk, part, (size_t)k, &m);
            if (r == 0) {
                udp->st.tx_datagrams += (chunk + seg - 1) / seg;
                udp->st.tx_gso++;
                off += chunk;
                continue;
            }
            if (r != MIRAGE_EAGAIN)
                return r;
        }
        /* One by one: no USO, a single datagram, or the train found no room. */
        for (size_t end = off + chunk; off < end; off += seg) {
            size_t len = end - off < seg ? end - off : seg;

            if ((k = slice(iov, n, off, len, part)) < 0)
                return MIRAGE_EINVAL;
            if ((r = write_one(udp, out, sport, len, part, (size_t)k, NULL)) != 0)
                return r;
        }
    }
    return 0;
}

int mirage_udp_writev(struct mirage_udp *udp, const struct mirage_udp_out *out,
                      const struct mirage_iovec *iov, size_t n)
{
    size_t total = 0;
    int r = MIRAGE_EMSGSIZE;

    for (size_t i = 0; i < n; i++) {
        if (iov[i].len > MAX_PAYLOAD6 - total)
            goto done;
        total += iov[i].len;
    }
    if (out->dst.family != 4 && out->dst.family != 6)
        r = MIRAGE_EINVAL;
    else if (out->segment != 0 && total > out->segment)
        r = write_segments(udp, out, total, iov, n);
    else
        r = write_one(udp, out, out->src_port ? out->src_port : ephemeral(udp), total, iov, n,
                      NULL);
    if (r == 0)
        return 0;
done:
    udp->st.tx_errors++;
    return r;
}

int mirage_udp_send(struct mirage_udp *udp, uint16_t src_port, const struct mirage_ipaddr *dst,
                    uint16_t dst_port, int ttl, const void *data, size_t len)
{
    struct mirage_udp_out out = {.src_port = src_port, .dst_port = dst_port, .ttl = ttl};
    struct mirage_iovec iov = {data, len};

    if (dst == NULL)
        return MIRAGE_EINVAL;
    out.dst = *dst;
    return mirage_udp_writev(udp, &out, &iov, 1);
}

void mirage_udp_stats(const struct mirage_udp *udp, struct mirage_udp_stats *st)
{
    *st = udp->st;
}
