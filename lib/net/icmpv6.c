/* icmpv6.c: ICMPv6 echo replies, errors about received packets (token-bucket limited), errors
 * upward. */
#include <stdlib.h>
#include <string.h>

#include "icmp_shared.h"
#include "mirage/checksum.h"
#include "mirage/icmpv6.h"
#include "mirage/log.h"
#include "mirage/time.h"
#include "mirage/wire.h"

#define HLEN      8
#define QUOTE_MAX (MIRAGE_IPV6_MIN_MTU - MIRAGE_IPV6_HLEN - HLEN) /* RFC 4443 2.4 (c) */

struct mirage_icmpv6 {
    struct mirage_ipv6 *ip;
    struct mirage_icmpv6_config cfg;
    struct bucket errors;
    mirage_icmpv6_echo_fn echo_fn;
    void *echo_ctx;
    struct icmp_upcall err[ICMP_UPCALLS];
    struct mirage_icmpv6_stats st;
};

static void ip_rx(void *ctx, const struct mirage_ipv6_rx *rx)
{
    mirage_icmpv6_input(ctx, rx);
}

static void ip_error(void *ctx, uint8_t type, uint8_t code, uint32_t param,
                     const struct mirage_ipv6_rx *rx)
{
    mirage_icmpv6_error(ctx, type, code, param, rx);
}

struct mirage_icmpv6 *mirage_icmpv6_new(struct mirage_ipv6 *ip,
                                        const struct mirage_icmpv6_config *cfg)
{
    struct mirage_icmpv6 *icmp = calloc(1, sizeof(*icmp));

    if (icmp == NULL)
        return NULL;
    icmp->ip = ip;
    if (cfg)
        icmp->cfg = *cfg;
    icmp_limit_init(&icmp->errors, &icmp->cfg.error_rate, &icmp->cfg.error_burst);
    if (mirage_ipv6_register(ip, MIRAGE_IPV6_PROTO_ICMPV6, ip_rx, icmp) != 0) {
        free(icmp);
        return NULL;
    }
    mirage_ipv6_on_error(ip, ip_error, icmp);
    return icmp;
}

void mirage_icmpv6_free(struct mirage_icmpv6 *icmp)
{
    if (icmp == NULL)
        return;
    mirage_ipv6_register(icmp->ip, MIRAGE_IPV6_PROTO_ICMPV6, NULL, NULL);
    mirage_ipv6_on_error(icmp->ip, NULL, NULL);
    free(icmp);
}

/* Sends (type, code, rest) and (data, len) from (src) (NULL: chosen) to (dst). */
static int send_msg(struct mirage_icmpv6 *icmp, const uint8_t *src, const uint8_t *dst,
                    int hop_limit, uint8_t type, uint8_t code, uint32_t rest, const void *data,
                    size_t len)
{
    uint8_t h[HLEN], s[16];
    struct mirage_wr w = mirage_wr_init(h, sizeof(h));
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    struct mirage_iovec iov[2] = {{h, HLEN}, {data, len}};
    struct mirage_ipv6_out out = {
        .src = src, .dst = dst, .proto = MIRAGE_IPV6_PROTO_ICMPV6, .hop_limit = hop_limit};
    int r;

    if (src == NULL) {
        r = mirage_ipv6_src(icmp->ip, dst, s);
        if (r < 0)
            return r;
        out.src = src = s;
    }
    mirage_wr_u8(&w, type);
    mirage_wr_u8(&w, code);
    mirage_wr_be16(&w, 0);
    mirage_wr_be32(&w, rest);
    mirage_csum_add_pseudo6(&c, src, dst, MIRAGE_IPV6_PROTO_ICMPV6, (uint32_t)(HLEN + len));
    mirage_csum_add(&c, h, HLEN);
    mirage_csum_add(&c, data, len);
    mirage_wr_seek(&w, 2);
    mirage_wr_be16(&w, mirage_csum_finish(&c));
    return mirage_ipv6_write(icmp->ip, &out, NULL, NULL, iov, 2);
}

/* The next header of the upper layer in a packet (a quote, or one received),
 * walking its extension headers as far as it goes, and where that layer
 * starts (*at); -1 when the packet ends first. */
static int upper_proto(const uint8_t *p, size_t len, size_t *at)
{
    size_t off = MIRAGE_IPV6_HLEN, hlen;
    uint8_t next;

    if (len < MIRAGE_IPV6_HLEN || p[0] >> 4 != 6)
        return -1;
    next = p[6];
    for (int n = 0; n <= MIRAGE_IPV6_MAX_EXT; n++) {
        if (next != MIRAGE_IPV6_PROTO_HOPOPT && next != MIRAGE_IPV6_PROTO_DSTOPTS &&
            next != MIRAGE_IPV6_PROTO_ROUTING && next != MIRAGE_IPV6_PROTO_FRAGMENT) {
            *at = off;
            return next;
        }
        if (len - off < 8)
            return -1;
        /* this header's length, by its own type (a fragment header's is fixed) */
        hlen = next == MIRAGE_IPV6_PROTO_FRAGMENT ? 8 : ((size_t)p[off + 1] + 1) * 8;
        next = p[off];
        off += hlen;
        if (off > len)
            return -1;
    }
    return -1;
}

/* Whether (rx) is, or may be, an ICMPv6 error (RFC 4443 2.4 e.1): its upper
 * layer is ICMPv6 with a type below 128, or cannot be read. The layer below
 * may report a problem before reaching it (an option, a fragment), so the
 * packet itself is walked. */
static int about_an_error(const struct mirage_ipv6_rx *rx)
{
    size_t at;
    int proto;

    if (rx->payload != NULL && rx->proto == MIRAGE_IPV6_PROTO_ICMPV6)
        return rx->len == 0 || rx->payload[0] < 128;
    if (rx->pkt == NULL)
        return 0;
    proto = upper_proto(rx->pkt, rx->pkt_len, &at);
    if (proto == MIRAGE_IPV6_PROTO_ICMPV6)
        return at >= rx->pkt_len || rx->pkt[at] < 128;
    return 0;
}

static void handle_error(struct mirage_icmpv6 *icmp, const struct mirage_ipv6_rx *rx, uint8_t type,
                         uint8_t code, uint32_t rest, struct mirage_rd *c)
{
    struct mirage_icmpv6_error e = {rx->src, type, code, rest, NULL, mirage_rd_left(c), NULL, 0};
    const struct icmp_upcall *up;
    size_t at;
    int proto;

    e.orig = mirage_rd_take(c, e.len);
    icmp->st.errors_rx++;
    /* Packet too big about a packet we sent (its source is ours): the path
     * MTU to its destination drops (RFC 8201), before TCP hears of it. */
    if (type == MIRAGE_ICMPV6_TOO_BIG && e.len >= MIRAGE_IPV6_HLEN &&
        mirage_ipv6_is_local(icmp->ip, e.orig + 8))
        mirage_ipv6_too_big(icmp->ip, e.orig + 24, rest);
    proto = upper_proto(e.orig, e.len, &at);
    if (proto < 0)
        return;
    e.upper = e.orig + at;
    e.upper_len = e.len - at;
    up = icmp_upcall_find(icmp->err, (uint8_t)proto);
    if (up != NULL)
        up->fn.v6(up->ctx, &e);
}

void mirage_icmpv6_input(struct mirage_icmpv6 *icmp, const struct mirage_ipv6_rx *rx)
{
    struct mirage_rd c = mirage_rd_init(rx->payload, rx->len);
    uint8_t type = mirage_rd_u8(&c), code = mirage_rd_u8(&c);
    struct mirage_csum cs = MIRAGE_CSUM_INIT;
    uint32_t rest;
    size_t len;

    mirage_rd_skip(&c, 2); /* the checksum, verified over the whole message below */
    rest = mirage_rd_be32(&c);
    len = mirage_rd_left(&c);
    icmp->st.rx_messages++;
    mirage_csum_add_pseudo6(&cs, rx->src, rx->dst, MIRAGE_IPV6_PROTO_ICMPV6, (uint32_t)rx->len);
    mirage_csum_add(&cs, rx->payload, rx->len);
    if (c.bad || mirage_csum_finish(&cs) != 0) {
        icmp->st.rx_bad++;
        return;
    }
    switch (type) {
    case MIRAGE_ICMPV6_ECHO_REQUEST: {
        /* To a group we are in, the reply comes from our own unicast address. */
        const uint8_t *src = mirage_ipv6_is_multicast(rx->dst) ? NULL : rx->dst;
        if (code != 0 || mirage_ipv6_is_unspecified(rx->src))
            return;
        icmp->st.echo_requests++;
        if (send_msg(icmp, src, rx->src, 0, MIRAGE_ICMPV6_ECHO_REPLY, 0, rest,
                     mirage_rd_take(&c, len), len) == 0)
            icmp->st.echo_replies_sent++;
        break;
    }
    case MIRAGE_ICMPV6_ECHO_REPLY:
        icmp->st.echo_replies_rx++;
        if (icmp->echo_fn) {
            struct mirage_icmpv6_echo e = {rx->src,       (uint16_t)(rest >> 16),  (uint16_t)rest,
                                           rx->hop_limit, mirage_rd_take(&c, len), len};
            icmp->echo_fn(icmp->echo_ctx, &e);
        }
        break;
    case MIRAGE_ICMPV6_UNREACH:
    case MIRAGE_ICMPV6_TOO_BIG:
    case MIRAGE_ICMPV6_TIME_EXCEEDED:
    case MIRAGE_ICMPV6_PARAM_PROBLEM:
        handle_error(icmp, rx, type, code, rest, &c);
        break;
    default:
        /* Unknown informational messages are dropped (RFC 4443 2.4 b);
         * multicast listener queries too: we report no groups yet. */
        break;
    }
}

int mirage_icmpv6_error(struct mirage_icmpv6 *icmp, uint8_t type, uint8_t code, uint32_t param,
                        const struct mirage_ipv6_rx *rx)
{
    int mcast_ok = type == MIRAGE_ICMPV6_TOO_BIG ||
                   (type == MIRAGE_ICMPV6_PARAM_PROBLEM && code == MIRAGE_ICMPV6_PARAM_OPTION);
    size_t len = rx->pkt_len < QUOTE_MAX ? rx->pkt_len : QUOTE_MAX;
    int r;

    /* RFC 4443 2.4 (e): never about an error, a packet to a group (with
     * two exceptions) or from a source that names no single node. */
    if (mirage_ipv6_is_unspecified(rx->src) || mirage_ipv6_is_multicast(rx->src) ||
        (mirage_ipv6_is_multicast(rx->dst) && !mcast_ok))
        return MIRAGE_EINVAL;
    if (about_an_error(rx))
        return MIRAGE_EINVAL;
    if ((r = icmp_limit_take(&icmp->errors, &icmp->st.errors_limited)) < 0)
        return r;
    r = send_msg(icmp, mirage_ipv6_is_multicast(rx->dst) ? NULL : rx->dst, rx->src, 0, type, code,
                 param, rx->pkt, len);
    if (r == 0)
        icmp->st.errors_sent++;
    return r;
}

int mirage_icmpv6_ping(struct mirage_icmpv6 *icmp, const uint8_t dst[16], uint16_t id, uint16_t seq,
                       int hop_limit, const void *data, size_t len)
{
    return send_msg(icmp, NULL, dst, hop_limit, MIRAGE_ICMPV6_ECHO_REQUEST, 0,
                    (uint32_t)id << 16 | seq, data, len);
}

void mirage_icmpv6_on_echo_reply(struct mirage_icmpv6 *icmp, mirage_icmpv6_echo_fn fn, void *ctx)
{
    icmp->echo_fn = fn;
    icmp->echo_ctx = ctx;
}

int mirage_icmpv6_on_error(struct mirage_icmpv6 *icmp, uint8_t proto, mirage_icmpv6_error_fn fn,
                           void *ctx)
{
    struct icmp_upcall *up = icmp_upcall_slot(icmp->err, proto);

    if (up == NULL)
        return fn ? MIRAGE_ENOSPC : 0;
    *up = (struct icmp_upcall){.proto = proto, .used = fn != NULL, .ctx = ctx, .fn.v6 = fn};
    return 0;
}

void mirage_icmpv6_stats(const struct mirage_icmpv6 *icmp, struct mirage_icmpv6_stats *st)
{
    *st = icmp->st;
}
