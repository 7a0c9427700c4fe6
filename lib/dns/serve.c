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
#define POOL_KEEP  4 /* query buffers kept for the next queries */

/* A query over TCP and its answer, taken from the pool while a connection uses them. */
struct bufs {
    struct bufs *next;
    uint8_t query[QUERY_MAX];
    uint8_t out[2 + 65535];
};

/* A UDP query the quick answer could not give, waiting for a slow fiber. */
struct slow {
    struct slow *next;
    struct mirage_ipaddr src;
    uint16_t src_port, dst_port;
    size_t len;
    uint8_t query[];
};

struct mirage_dns_serve {
    struct mirage_stack *stack;
    struct mirage_dns_serve_config cfg;
    struct mirage_tcp_listener *listener;
    struct slow *slow_head, **slow_tail;
    unsigned slow_held;             /* queries queued or being answered */
    struct mirage_fiber_group slow; /* the fibers answering them */
    struct mirage_fiber_group conns; /* one fiber per TCP connection */
    struct bufs *pool;
    unsigned pooled;
    uint8_t udp_out[UDP_MAX];
};

/* An idle connection holds this and its fiber's stack; a query's buffers come from the pool. */
struct mirage_dns_serve_conn {
    struct mirage_dns_serve *sv;
    struct mirage_flow *flow;
    struct mirage_ipaddr peer;
    struct mirage_channel ch;
    struct bufs *b; /* while a query is read and answered */
    uint8_t rbuf[512];
};

static struct bufs *bufs_take(struct mirage_dns_serve *sv)
{
    struct bufs *b = sv->pool;

    if (b == NULL)
        return malloc(sizeof(*b));
    sv->pool = b->next;
    sv->pooled--;
    return b;
}

static void bufs_give(struct mirage_dns_serve *sv, struct bufs *b)
{
    if (sv->pooled >= POOL_KEEP) {
        free(b);
        return;
    }
    b->next = sv->pool;
    sv->pool = b;
    sv->pooled++;
}

/* Answers the queued slow queries in their order until none is left. */
static int slow_fiber(void *arg)
{
    struct mirage_dns_serve *sv = arg;
    uint8_t out[UDP_MAX];
    struct slow *q;
    int r;

    while ((q = sv->slow_head) != NULL) {
        if ((sv->slow_head = q->next) == NULL)
            sv->slow_tail = &sv->slow_head;
        size_t len = sv->cfg.slow(sv->cfg.ctx, &q->src, q->query, q->len, 0, out, sizeof(out));
        if (len > 0 && (r = mirage_udp_write(sv->stack, q->dst_port, &q->src, q->src_port, -1,
                                             out, len)) < 0)
            mirage_log_warn(&mirage_log_app, "udp answer: %s", mirage_strerror(r));
        sv->slow_held--;
        free(q);
    }
    return 0;
}

/* Queues (rx) for a slow fiber, starting one if fewer than cfg.slow_fibers run. */
static void hold_slow(struct mirage_dns_serve *sv, const struct mirage_udp_rx *rx)
{
    struct slow *q;

    if (sv->cfg.slow == NULL)
        return;
    if (sv->slow_held >= sv->cfg.max_slow) {
        mirage_log_warn(&mirage_log_app, "udp: a query dropped: %u wait for an answer already",
                        sv->slow_held);
        return; /* the client asks again */
    }
    if ((q = malloc(sizeof(*q) + rx->len)) == NULL)
        return;
    if (sv->slow.running < sv->cfg.slow_fibers &&
        mirage_fiber_group_spawn(&sv->slow, "dns-udp", slow_fiber, sv, sv->cfg.slow_stack) < 0 &&
        sv->slow.running == 0) {
        free(q);
        return;
    }
    q->next = NULL;
    q->src = rx->src;
    q->src_port = rx->src_port;
    q->dst_port = rx->dst_port;
    q->len = rx->len;
    memcpy(q->query, rx->data, rx->len);
    *sv->slow_tail = q;
    sv->slow_tail = &q->next;
    sv->slow_held++;
}

static void on_datagram(void *ctx, const struct mirage_udp_rx *rx)
{
    struct mirage_dns_serve *sv = ctx;
    size_t len = sv->cfg.answer(sv->cfg.ctx, &rx->src, rx->data, rx->len, 0, sv->udp_out,
                                sizeof(sv->udp_out));
    int r;

    if (len == MIRAGE_DNS_SERVE_SLOW)
        hold_slow(sv, rx);
    else if (len > 0 && (r = mirage_udp_write(sv->stack, rx->dst_port, &rx->src, rx->src_port, -1,
                                              sv->udp_out, len)) < 0)
        mirage_log_warn(&mirage_log_app, "udp answer: %s", mirage_strerror(r));
}

int mirage_dns_serve_send(struct mirage_dns_serve_conn *c, size_t len, uint64_t deadline)
{
    c->b->out[0] = (uint8_t)(len >> 8);
    c->b->out[1] = (uint8_t)len;
    return mirage_flow_write(c->flow, c->b->out, 2 + len, deadline);
}

/* Answers the query of (qlen) bytes in c->b: the stream function's messages, or one answer. */
static int answer_tcp(struct mirage_dns_serve_conn *c, size_t qlen, uint64_t deadline)
{
    struct mirage_dns_serve *sv = c->sv;
    const uint8_t *q = c->b->query;
    uint8_t *out = c->b->out + 2;
    size_t len;
    int r;

    if (sv->cfg.stream != NULL && (r = sv->cfg.stream(sv->cfg.ctx, c, &c->peer, q, qlen, out,
                                                      65535)) != 0)
        return r < 0 ? r : 0;
    len = sv->cfg.answer(sv->cfg.ctx, &c->peer, q, qlen, 1, out, 65535);
    if (len == MIRAGE_DNS_SERVE_SLOW)
        len = sv->cfg.slow ? sv->cfg.slow(sv->cfg.ctx, &c->peer, q, qlen, 1, out, 65535) : 0;
    return len > 0 ? mirage_dns_serve_send(c, len, deadline) : 0;
}

static int serve_conn(void *arg)
{
    struct mirage_dns_serve_conn *c = arg;
    struct mirage_dns_serve *sv = c->sv;
    uint8_t prefix[2];
    int r;

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
        if ((c->b = bufs_take(sv)) == NULL) {
            mirage_log_warn(&mirage_log_app, "tcp: out of memory for a query: closed");
            break;
        }
        if ((r = mirage_channel_read_exactly(&c->ch, c->b->query, qlen, deadline)) == 0)
            r = answer_tcp(c, qlen, deadline);
        bufs_give(sv, c->b);
        c->b = NULL;
        if (r < 0)
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
    sv->slow_tail = &sv->slow_head;
    if (sv->cfg.tcp_idle_timeout == 0)
        sv->cfg.tcp_idle_timeout = MIRAGE_SEC(10);
    if (sv->cfg.max_slow == 0)
        sv->cfg.max_slow = 64;
    if (sv->cfg.slow_fibers == 0 || sv->cfg.slow_fibers > sv->cfg.max_slow)
        sv->cfg.slow_fibers = sv->cfg.max_slow;
    if (sv->cfg.slow_stack == 0)
        sv->cfg.slow_stack = SLOW_STACK;
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
        struct mirage_dns_serve_conn *c = malloc(sizeof(*c));
        if (c != NULL) {
            c->sv = sv;
            c->flow = flow;
            c->peer = peer;
            c->b = NULL;
        }
        if (c == NULL || mirage_fiber_group_spawn(&sv->conns, "dns-tcp", serve_conn, c,
                                                  CONN_STACK) < 0) {
            free(c);
            mirage_flow_close(flow);
            mirage_log_warn(&mirage_log_app, "tcp: out of memory: connection closed");
        }
    }
}

void mirage_dns_serve_stop(struct mirage_dns_serve *sv)
{
    if (sv == NULL)
        return;
    mirage_tcp_unlisten(sv->listener);
    mirage_udp_unlisten(sv->stack, sv->cfg.port);
    /* Queries not yet answered are dropped (their clients ask again); the
     * fibers answering are stopped before what they use is freed. */
    while (sv->slow_head != NULL) {
        struct slow *q = sv->slow_head;
        sv->slow_head = q->next;
        free(q);
    }
    sv->slow_tail = &sv->slow_head;
    mirage_fiber_group_stop(&sv->slow);
    mirage_fiber_group_stop(&sv->conns);
    while (sv->pool != NULL) {
        struct bufs *b = sv->pool;
        sv->pool = b->next;
        free(b);
    }
    free(sv);
}
