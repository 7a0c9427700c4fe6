/* unikernel.c: a TCP and UDP echo server written against stack.h alone, so it runs on either stack.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/log.h"
#include "mirage/platform.h"
#include "mirage/sched.h"
#include "mirage/stack.h"

/*
 * What an idle connection costs here, on top of the stack's 1,079 bytes: its
 * fiber's 16 KiB stack with the guard page below it (24 KiB in all), the
 * fiber's record and this struct with its 4 KiB buffer: ~34 KB measured. A
 * busy one adds TCP's buffers, 2 KiB each way growing up to 64 KiB.
 * --max-conns defaults to what a third of the heap holds at that idle cost,
 * which leaves room for the busy ones' buffers.
 */
#define CONN_STACK (16u * 1024u)
#define CONN_BUF   4096u
#define CONN_COST  (24u * 1024u + 1024u + CONN_BUF + 1200u)

/* The server's state lives here, not in start's frame: start waits for its
 * connections before it returns, and the runtime stops any it left running
 * (mirage_sched_app_end), but nothing should point into a frame at all. */
static struct {
    struct mirage_fiber_group conns;
    unsigned long refused; /* no memory for the connection's fiber or state */
} server;

struct conn {
    struct mirage_flow *flow;
    char peer[56];
    /* Each connection's own: a write may suspend with part of it unsent
     * while another connection's fiber reads. */
    uint8_t buf[CONN_BUF];
};

/* Sends back everything the peer sends until it closes its side. */
static int echo_conn(void *arg)
{
    struct conn *c = arg;
    uint64_t total = 0;
    size_t got;
    int r;

    for (;;) {
        r = mirage_flow_read(c->flow, c->buf, sizeof(c->buf), &got, MIRAGE_FOREVER);
        if (r < 0 || got == 0)
            break;
        total += got;
        r = mirage_flow_write(c->flow, c->buf, got, MIRAGE_FOREVER);
        if (r < 0)
            break;
    }
    mirage_log_app_msg(&mirage_log_app, "tcp %s closed after %llu bytes%s%s", c->peer,
                       (unsigned long long)total, r < 0 ? ": " : "",
                       r < 0 ? mirage_strerror(r) : "");
    mirage_flow_shutdown(c->flow, MIRAGE_SHUT_WR);
    mirage_flow_close(c->flow);
    free(c);
    return 0;
}

static void echo_datagram(void *ctx, const struct mirage_udp_rx *rx)
{
    struct mirage_stack *stack = ctx;
    int r = mirage_udp_write(stack, rx->dst_port, &rx->src, rx->src_port, -1, rx->data, rx->len);

    if (r < 0)
        mirage_log_warn(&mirage_log_app, "udp echo: %s", mirage_strerror(r));
}

/* The connection limit: --max-conns, or what a third of the heap holds. */
static unsigned max_conns(void)
{
    uintptr_t start;
    size_t size;

    if (key_max_conns.v.num > 0)
        return (unsigned)key_max_conns.v.num;
    mirage_heap(&start, &size);
    return size / 3 / CONN_COST > 16 ? (unsigned)(size / 3 / CONN_COST) : 16;
}

/* Serves (flow) from a fiber of its own; without the memory for it, the
 * connection is closed (its peer may come back) and the server goes on. */
static void serve(struct mirage_flow *flow, const struct mirage_ipaddr *peer, uint16_t peer_port)
{
    struct conn *c = malloc(sizeof(*c));

    if (c != NULL) {
        c->flow = flow;
        mirage_ipaddr_format(peer, peer_port, c->peer, sizeof(c->peer));
        /* The new fiber first runs when this one waits: (c) is still ours here. */
        if (mirage_fiber_group_spawn(&server.conns, "echo", echo_conn, c, CONN_STACK) == 0) {
            mirage_log_app_msg(&mirage_log_app, "tcp %s connected", c->peer);
            return;
        }
    }
    free(c);
    mirage_flow_close(flow);
    if (server.refused++ % 1000 == 0)
        mirage_log_warn(&mirage_log_app, "out of memory: %lu connection%s closed at once",
                        server.refused, server.refused == 1 ? "" : "s");
}

int start(struct mirage_stack *stack)
{
    uint16_t port = (uint16_t)key_port.v.num;
    long long limit = key_connections.v.num;
    struct mirage_tcp_listen_opts opts = {
        .max_conns = max_conns(),
        .user_timeout = (uint64_t)key_user_timeout.v.num * 1000000000ull,
    };
    struct mirage_tcp_listener *l;
    int r;
    char where[4 * 56 + 8];

    /* Every address it answers on, both families: "10.0.0.2:7 [fd00::2]:7"
     * (IPv6 ones still in duplicate address detection come later). */
    if (mirage_stack_format_addresses(stack, port, "", "", where, sizeof(where))[0] == '\0')
        snprintf(where, sizeof(where), "(no address)");
    r = mirage_udp_listen(stack, port, echo_datagram, stack);
    if (r == 0)
        r = mirage_tcp_listen(stack, port, &opts, &l);
    if (r < 0) {
        mirage_log_err(&mirage_log_app, "cannot listen on port %u: %s", port, mirage_strerror(r));
        return 1;
    }
    mirage_log_app_msg(&mirage_log_app, "echo on TCP and UDP %s, at most %u connections", where,
                       opts.max_conns);
    while (limit == 0 || server.conns.spawned < (unsigned long long)limit) {
        struct mirage_flow *flow;
        struct mirage_ipaddr peer;
        uint16_t peer_port;

        r = mirage_tcp_accept(l, &flow, &peer, &peer_port, MIRAGE_FOREVER);
        if (r < 0) {
            mirage_log_err(&mirage_log_app, "accept: %s", mirage_strerror(r));
            break;
        }
        serve(flow, &peer, peer_port);
    }
    /* The last connections finish their echo before the stack goes away. */
    mirage_fiber_group_wait(&server.conns, MIRAGE_FOREVER);
    mirage_tcp_unlisten(l);
    mirage_udp_unlisten(stack, port);
    mirage_log_app_msg(&mirage_log_app, "served %lu connections: bye", server.conns.spawned);
    return r < 0 ? 1 : 0;
}
