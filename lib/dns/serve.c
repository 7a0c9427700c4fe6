/* serve.c: DNS over UDP and TCP (RFC 7766) on a port of a stack, answers from the caller's function. */
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"
#include "mirage/channel.h"
#include "mirage/log.h"
#include "mirage/stack.h"
#include "mirage/time.h"

#define UDP_MAX    1232 /* what we answer over UDP at most (DNS flag day 2020) */
#define QUERY_MAX  16384
#define CONN_STACK (16u * 1024u)
#define SLOW_STACK (16u * 1024u)

struct mirage_dns_serve {
    struct mirage_stack *stack;
    struct mirage_dns_serve_config cfg;
    struct mirage_tcp_listener *listener;
    unsigned slow_running;
    uint8_t udp_out[UDP_MAX];
};

struct conn {
    struct mirage_dns_serve *sv;
    struct mirage_flow *flow;
    struct mirage_ipaddr peer;
    struct mirage_channel ch;
    uint8_t rbuf[1024];
    uint8_t query[QUERY_MAX];
    uint8_t out[2 + 65535];
};

/* A UDP query the quick answer could not give: answered from its own fiber. */
struct slow {
    struct mirage_dns_serve *sv;
    struct mirage_ipaddr src;
    uint16_t src_port, dst_port;
    size_t len;
    uint8_t out[UDP_MAX];
    uint8_t query[];
};

static int slow_udp(void *arg)
{
    struct slow *q = arg;
    struct mirage_dns_serve *sv = q->sv;
    size_t len = sv->cfg.slow(sv->cfg.ctx, &q->src, q->query, q->len, 0, q->out, sizeof(q->out));
    int r;

    if (len > 0 && (r = mirage_udp_write(sv->stack, q->dst_port, &q->src, q->src_port, -1, q->out,
                                         len)) < 0)
        mirage_log_warn(&mirage_log_app, "udp answer: %s", mirage_strerror(r));
    sv->slow_running--;
    free(q);
    return 0;
}

static void on_datagram(void *ctx, const struct mirage_udp_rx *rx)
{
    struct mirage_dns_serve *sv = ctx;
    size_t len = sv->cfg.answer(sv->cfg.ctx, &rx->src, rx->data, rx->len, 0, sv->udp_out,
                                sizeof(sv->udp_out));
    int r;

    if (len == MIRAGE_DNS_SERVE_SLOW) {
        struct slow *q;
        struct mirage_fiber *f = NULL;
        if (sv->cfg.slow == NULL || sv->slow_running >= sv->cfg.max_slow)
            return; /* the client asks again */
        if ((q = malloc(sizeof(*q) + rx->len)) == NULL)
            return;
        q->sv = sv;
        q->src = rx->src;
        q->src_port = rx->src_port;
        q->dst_port = rx->dst_port;
        q->len = rx->len;
        memcpy(q->query, rx->data, rx->len);
        if ((f = mirage_fiber_spawn("dns-udp", slow_udp, q, SLOW_STACK)) == NULL) {
            free(q);
            return;
        }
        sv->slow_running++;
        mirage_fiber_detach(f);
        return;
    }
    if (len > 0 && (r = mirage_udp_write(sv->stack, rx->dst_port, &rx->src, rx->src_port, -1,
                                         sv->udp_out, len)) < 0)
        mirage_log_warn(&mirage_log_app, "udp answer: %s", mirage_strerror(r));
}

static int serve_conn(void *arg)
{
    struct conn *c = arg;
    struct mirage_dns_serve *sv = c->sv;
    uint8_t prefix[2];

    mirage_channel_init(&c->ch, c->flow, c->rbuf, sizeof(c->rbuf), NULL, 0);
    for (;;) {
        uint64_t deadline = mirage_deadline_in(sv->cfg.tcp_idle_timeout);
        if (mirage_channel_read_exactly(&c->ch, prefix, 2, deadline) < 0)
            break;
        size_t qlen = (size_t)prefix[0] << 8 | prefix[1];
        if (qlen > QUERY_MAX) {
            mirage_log_warn(&mirage_log_app, "tcp: a query of %zu bytes (over %u): closed", qlen,
                            QUERY_MAX);
            break;
        }
        if (mirage_channel_read_exactly(&c->ch, c->query, qlen, deadline) < 0)
            break;
        size_t len = sv->cfg.answer(sv->cfg.ctx, &c->peer, c->query, qlen, 1, c->out + 2, 65535);
        if (len == MIRAGE_DNS_SERVE_SLOW)
            len = sv->cfg.slow ? sv->cfg.slow(sv->cfg.ctx, &c->peer, c->query, qlen, 1, c->out + 2,
                                              65535)
                               : 0;
        if (len == 0)
            continue;
        c->out[0] = (uint8_t)(len >> 8);
        c->out[1] = (uint8_t)len;
        if (mirage_flow_write(c->flow, c->out, 2 + len, deadline) < 0)
            break;
    }
    mirage_flow_shutdown(c->flow, MIRAGE_SHUT_WR);
    mirage_flow_close(c->flow);
    free(c);
    return 0;
}

int mirage_dns_serve_start(struct mirage_stack *stack, const struct mirage_dns_serve_config *cfg,
                           struct mirage_dns_serve **out)
{
    struct mirage_tcp_listen_opts opts = {.max_conns = cfg->max_conns};
    struct mirage_dns_serve *sv = calloc(1, sizeof(*sv));
    int r;

    *out = NULL;
    if (sv == NULL)
        return MIRAGE_ENOMEM;
    sv->stack = stack;
    sv->cfg = *cfg;
    if (sv->cfg.tcp_idle_timeout == 0)
        sv->cfg.tcp_idle_timeout = MIRAGE_SEC(10);
    if (sv->cfg.max_slow == 0)
        sv->cfg.max_slow = 64;
    if ((r = mirage_udp_listen(stack, cfg->port, on_datagram, sv)) < 0) {
        free(sv);
        return r;
    }
    if ((r = mirage_tcp_listen(stack, cfg->port, &opts, &sv->listener)) < 0) {
        mirage_udp_unlisten(stack, cfg->port);
        free(sv);
        return r;
    }
    *out = sv;
    return 0;
}

int mirage_dns_serve_tcp(struct mirage_dns_serve *sv)
{
    int r;

    for (;;) {
        struct mirage_flow *flow;
        struct mirage_ipaddr peer;
        if ((r = mirage_tcp_accept(sv->listener, &flow, &peer, NULL, MIRAGE_FOREVER)) < 0) {
            mirage_log_err(&mirage_log_app, "accept: %s", mirage_strerror(r));
            return r;
        }
        struct conn *c = malloc(sizeof(*c));
        struct mirage_fiber *f = NULL;
        if (c != NULL) {
            c->sv = sv;
            c->flow = flow;
            c->peer = peer;
            f = mirage_fiber_spawn("dns-tcp", serve_conn, c, CONN_STACK);
        }
        if (f == NULL) {
            free(c);
            mirage_flow_close(flow);
            mirage_log_warn(&mirage_log_app, "tcp: out of memory: connection closed");
            continue;
        }
        mirage_fiber_detach(f);
    }
}

void mirage_dns_serve_stop(struct mirage_dns_serve *sv)
{
    if (sv == NULL)
        return;
    mirage_tcp_unlisten(sv->listener);
    mirage_udp_unlisten(sv->stack, sv->cfg.port);
    free(sv);
}
