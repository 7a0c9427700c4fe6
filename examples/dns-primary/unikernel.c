/* unikernel.c: dns-primary: an authoritative DNS server for the zones in its store, over UDP and
 * TCP. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/channel.h"
#include "mirage/dns.h"
#include "mirage/kv.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/stack.h"
#include "mirage/time.h"

/*
 * Loads every NAME.zone of the store as the zone NAME (a mistake stops the
 * boot, naming file and line), then answers on UDP and TCP --port. UDP
 * answers fit 1,232 bytes (DNS flag day 2020, as NSD's default) or the
 * client's smaller EDNS size, else TC sends the client to TCP; over TCP a
 * connection may carry any number of queries (RFC 7766) until it is idle for
 * --tcp-idle-timeout. A query over TCP longer than QUERY_MAX closes its
 * connection.
 */

#define UDP_MAX    1232
#define QUERY_MAX  16384
#define CONN_STACK (16u * 1024u)

static struct mirage_dns_server *server;
static struct mirage_stack *stack;
static uint8_t udp_out[UDP_MAX];

struct conn {
    struct mirage_flow *flow;
    struct mirage_channel ch;
    uint8_t rbuf[1024];
    uint8_t query[QUERY_MAX];
    uint8_t out[2 + 65535];
};

static void on_datagram(void *ctx, const struct mirage_udp_rx *rx)
{
    size_t len = mirage_dns_server_answer(server, rx->data, rx->len, 0, udp_out, sizeof(udp_out));
    int r;

    (void)ctx;
    if (len > 0 &&
        (r = mirage_udp_write(stack, rx->dst_port, &rx->src, rx->src_port, -1, udp_out, len)) < 0)
        mirage_log_warn(&mirage_log_app, "udp answer: %s", mirage_strerror(r));
}

static int serve_conn(void *arg)
{
    struct conn *c = arg;
    uint64_t idle = (uint64_t)key_tcp_idle_timeout.v.num * 1000000000ull;
    uint8_t prefix[2];
    int r;

    mirage_channel_init(&c->ch, c->flow, c->rbuf, sizeof(c->rbuf), NULL, 0);
    for (;;) {
        uint64_t deadline = mirage_deadline_in(idle);
        if ((r = mirage_channel_read_exactly(&c->ch, prefix, 2, deadline)) < 0)
            break;
        size_t qlen = (size_t)prefix[0] << 8 | prefix[1];
        if (qlen > QUERY_MAX) {
            mirage_log_warn(&mirage_log_app, "tcp: a query of %zu bytes (over %u): closed", qlen,
                            QUERY_MAX);
            break;
        }
        if ((r = mirage_channel_read_exactly(&c->ch, c->query, qlen, deadline)) < 0)
            break;
        size_t len = mirage_dns_server_answer(server, c->query, qlen, 1, c->out + 2, 65535);
        if (len == 0)
            continue;
        c->out[0] = (uint8_t)(len >> 8);
        c->out[1] = (uint8_t)len;
        if ((r = mirage_flow_write(c->flow, c->out, 2 + len, deadline)) < 0)
            break;
    }
    mirage_flow_shutdown(c->flow, MIRAGE_SHUT_WR);
    mirage_flow_close(c->flow);
    free(c);
    return 0;
}

/* Loads every value NAME.zone of the store's root as the zone NAME. */
static int load_zones(struct mirage_kv *kv)
{
    struct mirage_kv_entry *e = NULL;
    struct mirage_kv_error kerr;
    size_t n = 0, zones = 0;
    char buf[MIRAGE_KV_KEY_MAX + 64];
    int r;

    if ((r = mirage_kv_list(kv, "/", &e, &n, &kerr)) < 0) {
        mirage_log_err(&mirage_log_app, "zones: %s", mirage_kv_strerror(&kerr, buf, sizeof(buf)));
        return r;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        const char *key = e[i].key, *base = strrchr(key, '/') + 1;
        size_t len = strlen(base);
        struct mirage_dns_name origin;
        struct mirage_dns_zone *z;
        struct mirage_dns_zone_error zerr;
        const char *why;

        if (e[i].kind != MIRAGE_KV_VALUE || len <= 5 || strcmp(base + len - 5, ".zone") != 0)
            continue;
        int tl = snprintf(buf, sizeof(buf), "%.*s.", (int)(len - 5), base);
        if (mirage_dns_name_from_text(&origin, buf, (size_t)tl, NULL, &why) < 0) {
            mirage_log_err(&mirage_log_app, "%s: not a zone name: %s", key, why);
            r = MIRAGE_EINVAL;
            break;
        }
        if ((r = mirage_dns_zone_load_kv(kv, key, &origin, &z, &zerr)) < 0) {
            mirage_log_err(&mirage_log_app, "%s:%u: %s", zerr.file, zerr.line, zerr.msg);
            break;
        }
        mirage_dns_name_to_text(&origin, buf, sizeof(buf));
        mirage_log_app_msg(&mirage_log_app, "zone %s: %zu records from %s", buf,
                           mirage_dns_zone_count(z), key);
        if ((r = mirage_dns_server_add_zone(server, z)) < 0) {
            mirage_log_err(&mirage_log_app, "zone %s: %s", buf,
                           r == MIRAGE_EEXIST ? "given twice" : mirage_strerror(r));
            mirage_dns_zone_free(z);
            break;
        }
        zones++;
    }
    free(e);
    if (r == 0 && zones == 0) {
        mirage_log_err(&mirage_log_app, "no NAME.zone file in the store");
        r = MIRAGE_ENOENT;
    }
    return r;
}

int start(struct mirage_stack *s, struct mirage_kv *zones)
{
    uint16_t port = (uint16_t)key_port.v.num;
    struct mirage_tcp_listen_opts opts = {.max_conns = (unsigned)key_max_conns.v.num};
    struct mirage_tcp_listener *l;
    int r;

    stack = s;
    if (mirage_dns_server_new(&server) < 0 || load_zones(zones) < 0)
        return 1;
    if ((r = mirage_udp_listen(stack, port, on_datagram, NULL)) < 0 ||
        (r = mirage_tcp_listen(stack, port, &opts, &l)) < 0) {
        mirage_log_err(&mirage_log_app, "cannot listen on port %u: %s", port, mirage_strerror(r));
        return 1;
    }
    mirage_log_app_msg(&mirage_log_app, "answering on UDP and TCP port %u", port);
    for (;;) {
        struct mirage_flow *flow;
        if ((r = mirage_tcp_accept(l, &flow, NULL, NULL, MIRAGE_FOREVER)) < 0) {
            mirage_log_err(&mirage_log_app, "accept: %s", mirage_strerror(r));
            break;
        }
        struct conn *c = malloc(sizeof(*c));
        struct mirage_fiber *f = NULL;
        if (c != NULL) {
            c->flow = flow;
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
    mirage_tcp_unlisten(l);
    mirage_udp_unlisten(stack, port);
    return 1;
}
