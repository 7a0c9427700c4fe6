/* udp.c: UDP datagrams in and out, listeners by port, ephemeral source ports. */
#include <stdlib.h>
#include <string.h>

#include "mirage/checksum.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/udp.h"
#include "mirage/wire.h"

MIRAGE_LOG_SOURCE(udp_log, "udp", "UDP");

#define MAX_PAYLOAD (MIRAGE_IPV4_MAX_DATAGRAM - MIRAGE_IPV4_HLEN - MIRAGE_UDP_HLEN)

struct listener {
    uint16_t port;
    mirage_udp_fn fn;
    void *ctx;
};

struct mirage_udp {
    struct mirage_ipv4 *ip;
    struct mirage_icmpv4 *icmp;
    struct listener *l;
    size_t n, cap;
    struct mirage_udp_stats st;
};

static void ip_rx(void *ctx, const struct mirage_ipv4_rx *rx)
{
    mirage_udp_input(ctx, rx);
}

struct mirage_udp *mirage_udp_new(struct mirage_ipv4 *ip, struct mirage_icmpv4 *icmp)
{
    struct mirage_udp *udp = calloc(1, sizeof(*udp));

    if (udp == NULL)
        return NULL;
    udp->ip = ip;
    udp->icmp = icmp;
    if (mirage_ipv4_register(ip, MIRAGE_IPV4_PROTO_UDP, ip_rx, udp) != 0) {
        free(udp);
        return NULL;
    }
    return udp;
}

void mirage_udp_free(struct mirage_udp *udp)
{
    if (udp == NULL)
        return;
    mirage_ipv4_register(udp->ip, MIRAGE_IPV4_PROTO_UDP, NULL, NULL);
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
    if (udp->n == udp->cap) {
        size_t cap = udp->cap ? udp->cap * 2 : 8;
        struct listener *l = realloc(udp->l, cap * sizeof(*l));
        if (l == NULL)
            return MIRAGE_ENOMEM;
        udp->l = l;
        udp->cap = cap;
    }
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

void mirage_udp_input(struct mirage_udp *udp, const struct mirage_ipv4_rx *rx)
{
    struct mirage_rd c = mirage_rd_init(rx->payload, rx->len);
    uint16_t sport = mirage_rd_be16(&c), dport = mirage_rd_be16(&c);
    uint16_t len = mirage_rd_be16(&c), csum = mirage_rd_be16(&c);
    struct listener *l;
    struct mirage_udp_rx u;

    if (c.bad || len < MIRAGE_UDP_HLEN || len > rx->len) {
        udp->st.rx_bad++;
        return;
    }
    if (csum != 0 && !rx->csum_ok) {
        struct mirage_csum s = MIRAGE_CSUM_INIT;
        mirage_csum_add_pseudo4(&s, rx->src, rx->dst, MIRAGE_IPV4_PROTO_UDP, len);
        mirage_csum_add(&s, rx->payload, len);
        if (mirage_csum_finish(&s) != 0) {
            udp->st.rx_bad++;
            return;
        }
    }
    l = find(udp, dport);
    if (l == NULL) {
        udp->st.rx_no_port++;
        if (udp->icmp)
            mirage_icmpv4_unreachable(udp->icmp, MIRAGE_ICMP_UNREACH_PORT, rx);
        return;
    }
    udp->st.rx_datagrams++;
    u.src = mirage_ipv4_to_ipaddr(rx->src);
    u.dst = mirage_ipv4_to_ipaddr(rx->dst);
    u.src_port = sport;
    u.dst_port = dport;
    u.len = len - MIRAGE_UDP_HLEN; /* the header was read: len <= rx->len */
    u.data = mirage_rd_take(&c, u.len);
    l->fn(l->ctx, &u);
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

int mirage_udp_writev(struct mirage_udp *udp, const struct mirage_udp_out *out,
                        const struct mirage_iovec *iov, size_t n)
{
    size_t total = 0;
    struct hdr h;
    uint8_t hb[MIRAGE_UDP_HLEN];
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    uint32_t src;
    struct mirage_ipv4_out io = {.dst = out->dst,
                                 .proto = MIRAGE_IPV4_PROTO_UDP,
                                 .src = out->src,
                                 .ttl = out->ttl,
                                 .flags = out->ip_flags,
                                 .size = MIRAGE_UDP_HLEN};
    int r;

    for (size_t i = 0; i < n; i++) {
        if (iov[i].len > MAX_PAYLOAD - total) {
            udp->st.tx_errors++;
            return MIRAGE_EMSGSIZE;
        }
        total += iov[i].len;
    }
    src = (out->ip_flags & MIRAGE_IPV4_SRC_SET) || out->src ? out->src
                                                            : mirage_ipv4_src(udp->ip, out->dst);
    h = (struct hdr){out->src_port ? out->src_port : ephemeral(udp), out->dst_port,
                     (uint16_t)(MIRAGE_UDP_HLEN + total), 0};
    fill_hdr(&h, hb, sizeof(hb));
    mirage_csum_add_pseudo4(&c, src, out->dst, MIRAGE_IPV4_PROTO_UDP, MIRAGE_UDP_HLEN + total);
    mirage_csum_add(&c, hb, sizeof(hb));
    for (size_t i = 0; i < n; i++)
        mirage_csum_add(&c, iov[i].base, iov[i].len);
    h.csum = mirage_csum_finish(&c);
    if (h.csum == 0)
        h.csum = 0xffff; /* 0 would mean "no checksum" */
    r = mirage_ipv4_write(udp->ip, &io, fill_hdr, &h, iov, n);
    if (r == 0)
        udp->st.tx_datagrams++;
    else
        udp->st.tx_errors++;
    return r;
}

int mirage_udp_send(struct mirage_udp *udp, uint16_t src_port, uint32_t dst, uint16_t dst_port,
                       int ttl, const void *data, size_t len)
{
    struct mirage_udp_out out = {
        .src_port = src_port, .dst = dst, .dst_port = dst_port, .ttl = ttl};
    struct mirage_iovec iov = {data, len};

    return mirage_udp_writev(udp, &out, &iov, 1);
}

void mirage_udp_stats(const struct mirage_udp *udp, struct mirage_udp_stats *st)
{
    *st = udp->st;
}
