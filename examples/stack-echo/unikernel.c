/* unikernel.c: a TCP and UDP echo server written against stack.h alone, so it runs on either stack. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/stack.h"

struct conn {
    struct mirage_flow *flow;
    char peer[24];
    int *done; /* the server's count of finished connections */
    struct mirage_cond *changed;
    /* Each connection's own: a write may suspend with part of it unsent
     * while another connection's fiber reads. */
    uint8_t buf[16384];
};

static void format_ip(const struct mirage_ipaddr *a, uint16_t port, char *buf, size_t size)
{
    snprintf(buf, size, "%u.%u.%u.%u:%u", a->a[0], a->a[1], a->a[2], a->a[3], port);
}

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
    (*c->done)++;
    mirage_cond_broadcast(c->changed);
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

int start(struct mirage_stack *stack)
{
    uint16_t port = (uint16_t)key_port.v.num;
    long long limit = key_connections.v.num;
    struct mirage_tcp_listener *l;
    struct mirage_cond changed = MIRAGE_COND_INIT;
    struct mirage_ipaddr addr[4];
    size_t naddr = mirage_stack_ip_addresses(stack, addr, 4);
    int accepted = 0, done = 0, r;
    char where[24] = "(no address)";

    if (naddr > 0)
        format_ip(&addr[0], port, where, sizeof(where));
    r = mirage_udp_listen(stack, port, echo_datagram, stack);
    if (r == 0)
        r = mirage_tcp_listen(stack, port, NULL, &l);
    if (r < 0) {
        mirage_log_err(&mirage_log_app, "cannot listen on port %u: %s", port, mirage_strerror(r));
        return 1;
    }
    mirage_log_app_msg(&mirage_log_app, "echo on TCP and UDP %s", where);
    while (limit == 0 || accepted < limit) {
        struct conn *c = calloc(1, sizeof(*c));
        struct mirage_ipaddr peer;
        uint16_t peer_port;
        struct mirage_fiber *f;

        if (c == NULL)
            return 1;
        r = mirage_tcp_accept(l, &c->flow, &peer, &peer_port, MIRAGE_FOREVER);
        if (r < 0) {
            free(c);
            mirage_log_err(&mirage_log_app, "accept: %s", mirage_strerror(r));
            return 1;
        }
        format_ip(&peer, peer_port, c->peer, sizeof(c->peer));
        c->done = &done;
        c->changed = &changed;
        mirage_log_app_msg(&mirage_log_app, "tcp %s connected", c->peer);
        f = mirage_fiber_spawn("echo", echo_conn, c, 0);
        if (f == NULL) {
            mirage_flow_close(c->flow);
            free(c);
            continue;
        }
        mirage_fiber_detach(f);
        accepted++;
    }
    /* The last connections finish their echo before the stack goes away. */
    while (done < accepted)
        mirage_cond_wait(&changed, MIRAGE_FOREVER);
    mirage_tcp_unlisten(l);
    mirage_udp_unlisten(stack, port);
    mirage_log_app_msg(&mirage_log_app, "served %d connections: bye", done);
    return 0;
}
