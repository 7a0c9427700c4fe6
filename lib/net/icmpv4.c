/* icmpv4.c: ICMPv4 echo replies, destination unreachable (token-bucket limited), errors upward. */
#include <stdlib.h>
#include <string.h>

#include "mirage/checksum.h"
#include "mirage/icmp.h"
#include "mirage/log.h"
#include "mirage/time.h"
#include "mirage/wire.h"
#include "icmp_shared.h"

MIRAGE_LOG_SOURCE(icmp_log, "icmpv4", "ICMPv4");

#define HLEN      8
#define QUOTE_MAX (60 + 8) /* the offending header (with options) and 8 payload bytes */

struct mirage_icmpv4 {
    struct mirage_ipv4 *ip;
    struct mirage_icmpv4_config cfg;
    struct bucket errors;
    mirage_icmpv4_echo_fn echo_fn;
    void *echo_ctx;
    struct icmp_upcall err[ICMP_UPCALLS];
    struct mirage_icmpv4_stats st;
};

static void ip_rx(void *ctx, const struct mirage_ipv4_rx *rx)
{
    mirage_icmpv4_input(ctx, rx);
}

struct mirage_icmpv4 *mirage_icmpv4_new(struct mirage_ipv4 *ip,
                                        const struct mirage_icmpv4_config *cfg)
{
    struct mirage_icmpv4 *icmp = calloc(1, sizeof(*icmp));

    if (icmp == NULL)
        return NULL;
    icmp->ip = ip;
    if (cfg)
        icmp->cfg = *cfg;
    icmp_limit_init(&icmp->errors, &icmp->cfg.error_rate, &icmp->cfg.error_burst);
    if (mirage_ipv4_register(ip, MIRAGE_IPV4_PROTO_ICMP, ip_rx, icmp) != 0) {
        free(icmp);
        return NULL;
    }
    return icmp;
}

void mirage_icmpv4_free(struct mirage_icmpv4 *icmp)
{
    if (icmp == NULL)
        return;
    mirage_ipv4_register(icmp->ip, MIRAGE_IPV4_PROTO_ICMP, NULL, NULL);
    free(icmp);
}

struct msg {
    uint8_t type, code;
    uint32_t rest; /* id and seq, or unused / next-hop MTU */
    uint16_t csum;
};

static int fill_hdr(void *ctx, uint8_t *buf, size_t size)
{
    const struct msg *m = ctx;

    struct mirage_wr w = mirage_wr_init(buf, size);

    mirage_wr_u8(&w, m->type);
    mirage_wr_u8(&w, m->code);
    mirage_wr_be16(&w, m->csum);
    mirage_wr_be32(&w, m->rest);
    return w.bad ? MIRAGE_EMSGSIZE : HLEN;
}

/* Sends header (m) followed by (data, len), with its checksum. */
static int send_msg(struct mirage_icmpv4 *icmp, uint32_t dst, int ttl, struct msg *m,
                    const void *data, size_t len)
{
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    uint8_t h[HLEN];
    struct mirage_iovec iov = {data, len};
    struct mirage_ipv4_out out = {
        .dst = dst, .proto = MIRAGE_IPV4_PROTO_ICMP, .ttl = ttl, .size = HLEN};

    m->csum = 0;
    fill_hdr(m, h, sizeof(h));
    mirage_csum_add(&c, h, HLEN);
    mirage_csum_add(&c, data, len);
    m->csum = mirage_csum_finish(&c);
    return mirage_ipv4_write(icmp->ip, &out, fill_hdr, m, &iov, 1);
}

static void handle_error(struct mirage_icmpv4 *icmp, const struct mirage_ipv4_rx *rx, uint8_t type,
                         uint8_t code, uint32_t rest, struct mirage_rd *c)
{
    struct mirage_icmpv4_error e = {rx->src, type, code, (uint16_t)rest, NULL, mirage_rd_left(c),
                                    NULL, 0};
    const struct icmp_upcall *up;
    uint8_t proto;

    e.orig = mirage_rd_take(c, e.len);
    icmp->st.errors_rx++;
    /* The quoted header: at least 20 bytes, version 4, its protocol byte at 9. */
    if (e.len < 20 || e.orig[0] >> 4 != 4)
        return;
    proto = e.orig[9];
    if ((size_t)(e.orig[0] & 15) * 4 < 20 || (size_t)(e.orig[0] & 15) * 4 > e.len)
        return;
    e.upper = e.orig + (size_t)(e.orig[0] & 15) * 4;
    e.upper_len = e.len - (size_t)(e.orig[0] & 15) * 4;
    /* Fragmentation needed about a datagram we sent (its source is ours):
     * the path MTU to its destination drops (RFC 1191), before TCP hears. */
    if (type == 3 && code == 4) {
        uint32_t src = (uint32_t)e.orig[12] << 24 | (uint32_t)e.orig[13] << 16 |
                       (uint32_t)e.orig[14] << 8 | e.orig[15];
        uint32_t dst = (uint32_t)e.orig[16] << 24 | (uint32_t)e.orig[17] << 16 |
                       (uint32_t)e.orig[18] << 8 | e.orig[19];
        if (src != 0 && mirage_ipv4_src(icmp->ip, dst) == src)
            mirage_ipv4_too_big(icmp->ip, dst, rest & 0xffff,
                                (size_t)(e.orig[2] << 8 | e.orig[3]));
    }
    up = icmp_upcall_find(icmp->err, (uint8_t)proto);
    if (up != NULL)
        up->fn.v4(up->ctx, &e);
}

void mirage_icmpv4_input(struct mirage_icmpv4 *icmp, const struct mirage_ipv4_rx *rx)
{
    struct mirage_rd c = mirage_rd_init(rx->payload, rx->len);
    uint8_t type = mirage_rd_u8(&c), code = mirage_rd_u8(&c);
    uint32_t rest;
    size_t len;

    mirage_rd_skip(&c, 2); /* the checksum, verified over the whole message below */
    rest = mirage_rd_be32(&c);
    len = mirage_rd_left(&c);
    icmp->st.rx_messages++;
    if (c.bad || mirage_csum(rx->payload, rx->len) != 0) {
        icmp->st.rx_bad++;
        return;
    }
    switch (type) {
    case MIRAGE_ICMP_ECHO_REQUEST: {
        struct msg m = {MIRAGE_ICMP_ECHO_REPLY, 0, rest, 0};
        /* Only unicast to us: answering broadcasts would make us an amplifier. */
        if (code != 0 || rx->dst == MIRAGE_IPV4_BROADCAST ||
            !mirage_ipv4_is_local(icmp->ip, rx->dst) ||
            mirage_ipv4_src(icmp->ip, rx->src) != rx->dst)
            return;
        icmp->st.echo_requests++;
        if (send_msg(icmp, rx->src, 0, &m, mirage_rd_take(&c, len), len) == 0)
            icmp->st.echo_replies_sent++;
        break;
    }
    case MIRAGE_ICMP_ECHO_REPLY:
        icmp->st.echo_replies_rx++;
        if (icmp->echo_fn) {
            struct mirage_icmpv4_echo e = {rx->src, (uint16_t)(rest >> 16),  (uint16_t)rest,
                                           rx->ttl, mirage_rd_take(&c, len), len};
            icmp->echo_fn(icmp->echo_ctx, &e);
        }
        break;
    case MIRAGE_ICMP_UNREACH:
    case MIRAGE_ICMP_TIME_EXCEEDED:
    case 12: /* parameter problem */
        handle_error(icmp, rx, type, code, rest, &c);
        break;
    default:
        break;
    }
}

int mirage_icmpv4_unreachable(struct mirage_icmpv4 *icmp, uint8_t code,
                              const struct mirage_ipv4_rx *rx)
{
    uint8_t quote[QUOTE_MAX];
    size_t hl = rx->header_len <= 60 ? rx->header_len : 60;
    size_t pl = rx->len < 8 ? rx->len : 8;
    struct msg m = {MIRAGE_ICMP_UNREACH, code, 0, 0};
    int r;

    /* RFC 1122 3.2.2: never about broadcasts, multicasts or ICMP errors. */
    if (!mirage_ipv4_is_local(icmp->ip, rx->dst) || rx->dst == MIRAGE_IPV4_BROADCAST ||
        mirage_ipv4_src(icmp->ip, rx->src) != rx->dst || rx->src == 0 || (rx->src >> 28) == 0xe)
        return MIRAGE_EINVAL;
    if (rx->proto == MIRAGE_IPV4_PROTO_ICMP && rx->len > 0 &&
        rx->payload[0] != MIRAGE_ICMP_ECHO_REQUEST && rx->payload[0] != MIRAGE_ICMP_ECHO_REPLY)
        return MIRAGE_EINVAL;
    if ((r = icmp_limit_take(&icmp->errors, &icmp->st.errors_limited)) < 0)
        return r;
    memcpy(quote, rx->header, hl);
    memcpy(quote + hl, rx->payload, pl);
    r = send_msg(icmp, rx->src, 0, &m, quote, hl + pl);
    if (r == 0)
        icmp->st.errors_sent++;
    return r;
}

int mirage_icmpv4_ping(struct mirage_icmpv4 *icmp, uint32_t dst, uint16_t id, uint16_t seq, int ttl,
                       const void *data, size_t len)
{
    struct msg m = {MIRAGE_ICMP_ECHO_REQUEST, 0, (uint32_t)id << 16 | seq, 0};

    return send_msg(icmp, dst, ttl, &m, data, len);
}

void mirage_icmpv4_on_echo_reply(struct mirage_icmpv4 *icmp, mirage_icmpv4_echo_fn fn, void *ctx)
{
    icmp->echo_fn = fn;
    icmp->echo_ctx = ctx;
}

int mirage_icmpv4_on_error(struct mirage_icmpv4 *icmp, uint8_t proto, mirage_icmpv4_error_fn fn,
                           void *ctx)
{
    struct icmp_upcall *up = icmp_upcall_slot(icmp->err, proto);

    if (up == NULL)
        return fn ? MIRAGE_ENOSPC : 0;
    *up = (struct icmp_upcall){.proto = proto, .used = fn != NULL, .ctx = ctx, .fn.v4 = fn};
    return 0;
}

void mirage_icmpv4_stats(const struct mirage_icmpv4 *icmp, struct mirage_icmpv4_stats *st)
{
    *st = icmp->st;
}
