/* unikernel.c: dns-primary: an authoritative DNS server for the zones in its store, over UDP and
 * TCP. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/channel.h"
#include "mirage/dns.h"
#include "mirage/key.h"
#include "mirage/kv.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/sched.h"
#include "mirage/stack.h"
#include "mirage/time.h"

/*
 * Loads every NAME.zone of the store as the zone NAME (a mistake stops the
 * boot, naming file and line) and the TSIG keys in its value "keys", if
 * any, then answers on UDP and TCP --port. UDP
 * answers fit 1,232 bytes (DNS flag day 2020, as NSD's default) or the
 * client's smaller EDNS size, else TC sends the client to TCP; over TCP a
 * connection may carry any number of queries (RFC 7766) until it is idle for
 * --tcp-idle-timeout. A query over TCP longer than QUERY_MAX closes its
 * connection. Over TCP a peer signing with one of the keys may transfer a
 * zone (AXFR, IXFR, keeping --history changes of each zone) and, over UDP or
 * TCP, change it (UPDATE, RFC 2136). A changed zone is written to the
 * read-write store (NAME.zone, read back at boot in place of the crunched
 * one) before the update is answered, then each --notify secondary gets a
 * NOTIFY (RFC 1996), sent again after 1, 2, 4 and 8 s until it answers.
 *
 * An idle TCP connection holds its fiber's stack and struct conn (~1 KiB):
 * the buffers for a query and its answer (80 KiB) come from a pool while a
 * query is read and answered; the pool keeps POOL_KEEP of them for the next
 * queries, so answering allocates nothing unless more connections than that
 * are busy at once.
 */

#define UDP_MAX    1232
#define QUERY_MAX  16384
#define CONN_STACK (16u * 1024u)
#define POOL_KEEP  4

#define SECONDARIES_MAX 8
#define NOTIFY_TRIES    5
#define PENDING_MAX     16   /* zones waiting to be notified */
#define UDP_UPDATES_MAX 8    /* updates over UDP waiting to be applied */
#define UDP_UPDATE_MAX  4096 /* bytes of one */

static struct mirage_dns_server *server;
static struct mirage_dns_primary *primary;
static struct mirage_stack *stack;
static struct mirage_kv *store;
static uint16_t port;
static uint8_t udp_out[UDP_MAX];

/* NOTIFY: the secondaries, the zones changed and not yet notified, the answer awaited. */
static struct {
    struct mirage_ipaddr addr;
    uint16_t port;
} secondaries[SECONDARIES_MAX];
static size_t nsecondaries;
static struct mirage_dns_name pending[PENDING_MAX];
static size_t npending;
static struct mirage_cond notify_cond, acked_cond;
static uint16_t notify_id;
static int notify_waiting, notify_acked;
static struct mirage_ipaddr notify_to;

/* Updates over UDP wait here for the updater fiber, which may wait for the store. */
static struct udp_update {
    struct mirage_ipaddr src;
    uint16_t src_port, dst_port;
    size_t len;
    uint8_t msg[UDP_UPDATE_MAX];
} udp_updates[UDP_UPDATES_MAX];
static size_t udp_head, udp_count;
static struct mirage_cond update_cond;
static uint8_t update_out[UDP_MAX];

struct conn {
    struct mirage_flow *flow;
    struct mirage_channel ch;
    uint8_t rbuf[512];
};

/* A query and its answer, taken from the pool while a connection uses them. */
struct bufs {
    struct bufs *next;
    struct mirage_dns_xfr xfr;
    uint8_t query[QUERY_MAX];
    uint8_t out[2 + 65535];
};

static struct bufs *pool;
static unsigned pooled;

static struct bufs *bufs_take(void)
{
    struct bufs *b = pool;

    if (b == NULL)
        return malloc(sizeof(*b));
    pool = b->next;
    pooled--;
    return b;
}

static void bufs_give(struct bufs *b)
{
    if (pooled >= POOL_KEEP) {
        free(b);
        return;
    }
    b->next = pool;
    pool = b;
    pooled++;
}

static uint64_t now_s(void)
{
    return mirage_clock_wall() / 1000000000ull;
}

/* Sends the DNS message of (len) bytes at b->out + 2 with its length before it. */
static int send_msg(struct conn *c, struct bufs *b, size_t len, uint64_t deadline)
{
    b->out[0] = (uint8_t)(len >> 8);
    b->out[1] = (uint8_t)len;
    return mirage_flow_write(c->flow, b->out, 2 + len, deadline);
}

static void zone_text_name(const struct mirage_dns_name *zone, char *buf, size_t size)
{
    mirage_dns_name_to_text(zone, buf, size);
}

/* Writes the zone (name) to the store as NAME.zone, to be read back at boot. */
static int persist(const struct mirage_dns_name *name)
{
    const struct mirage_dns_zone *z = mirage_dns_primary_zone(primary, name);
    struct mirage_kv_error kerr;
    char zone[MIRAGE_DNS_TEXT_MAX], key[MIRAGE_DNS_TEXT_MAX + 8], msg[MIRAGE_KV_KEY_MAX + 64];
    char *text;
    size_t len;
    int r;

    zone_text_name(name, zone, sizeof(zone));
    if (z == NULL || (r = mirage_dns_zone_text(z, &text, &len)) < 0)
        return MIRAGE_ENOMEM;
    snprintf(key, sizeof(key), "%.*szone", (int)strlen(zone), zone);
    r = mirage_kv_set(store, key, text, len, &kerr);
    free(text);
    if (r < 0)
        mirage_log_err(&mirage_log_app, "zone %s changed but not stored: %s", zone,
                       mirage_kv_strerror(&kerr, msg, sizeof(msg)));
    return r;
}

/* After an update: the zone stored, then its secondaries told (by the notifier). */
static void changed(const struct mirage_dns_update_result *res)
{
    char zone[MIRAGE_DNS_TEXT_MAX];
    size_t i;

    zone_text_name(&res->zone, zone, sizeof(zone));
    mirage_log_app_msg(&mirage_log_app, "update of %s: serial %u", zone, res->serial);
    persist(&res->zone);
    for (i = 0; i < npending && !mirage_dns_name_equal(&pending[i], &res->zone); i++)
        ;
    if (i == npending && npending < PENDING_MAX && nsecondaries > 0)
        pending[npending++] = res->zone;
    mirage_cond_signal(&notify_cond);
}

static void refused(const struct mirage_dns_update_result *res)
{
    char zone[MIRAGE_DNS_TEXT_MAX];

    if (res->why == NULL)
        return;
    zone_text_name(&res->zone, zone, sizeof(zone));
    mirage_log_warn(&mirage_log_app, "update of %s refused (rcode %d): %s", zone, res->rcode,
                    res->why);
}

/* Sends NOTIFY for each changed zone to each secondary until it answers (5 tries). */
static int notifier(void *arg)
{
    uint8_t msg[UDP_MAX];
    char zone[MIRAGE_DNS_TEXT_MAX];

    (void)arg;
    for (;;) {
        while (npending == 0)
            mirage_cond_wait(&notify_cond, MIRAGE_FOREVER);
        struct mirage_dns_name name = pending[0];
        memmove(pending, pending + 1, --npending * sizeof(pending[0]));
        zone_text_name(&name, zone, sizeof(zone));
        for (size_t s = 0; s < nsecondaries; s++) {
            int tries;
            notify_acked = 0;
            for (tries = 0; tries < NOTIFY_TRIES && !notify_acked; tries++) {
                const struct mirage_dns_zone *z = mirage_dns_primary_zone(primary, &name);
                size_t len;
                mirage_random_bytes(&notify_id, sizeof(notify_id));
                if (z == NULL || (len = mirage_dns_notify_write(z, notify_id, msg, sizeof(msg))) == 0)
                    break;
                notify_to = secondaries[s].addr;
                notify_waiting = 1;
                mirage_udp_write(stack, port, &secondaries[s].addr, secondaries[s].port, -1, msg,
                                 len);
                uint64_t deadline = mirage_deadline_in(MIRAGE_SEC(1) << tries);
                while (!notify_acked && mirage_cond_wait(&acked_cond, deadline) == 0)
                    ;
                notify_waiting = 0;
            }
            mirage_log_app_msg(&mirage_log_app, "NOTIFY of %s to secondary %zu: %s after %d %s",
                               zone, s + 1, notify_acked ? "answered" : "no answer", tries,
                               tries == 1 ? "try" : "tries");
        }
    }
    return 0;
}

/* Applies the updates received over UDP, one at a time, storing each before its answer. */
static int updater(void *arg)
{
    struct mirage_dns_update_result res;

    (void)arg;
    for (;;) {
        while (udp_count == 0)
            mirage_cond_wait(&update_cond, MIRAGE_FOREVER);
        struct udp_update *u = &udp_updates[udp_head];
        size_t len = mirage_dns_primary_answer(primary, u->msg, u->len, 0, now_s(), update_out,
                                               sizeof(update_out), &res);
        if (res.changed)
            changed(&res);
        else
            refused(&res);
        if (len > 0)
            mirage_udp_write(stack, u->dst_port, &u->src, u->src_port, -1, update_out, len);
        udp_head = (udp_head + 1) % UDP_UPDATES_MAX;
        udp_count--;
    }
    return 0;
}

/* Answers one query over TCP: a transfer (several messages) or an answer. */
static int answer_tcp(struct conn *c, struct bufs *b, size_t qlen, uint64_t deadline)
{
    struct mirage_dns_xfr *x = &b->xfr;
    char zone[MIRAGE_DNS_TEXT_MAX];
    int r = 0;
    size_t len = mirage_dns_xfr_start(x, primary, b->query, qlen, now_s(), b->out + 2, 65535);

    if (x->why != NULL)
        mirage_log_warn(&mirage_log_app, "transfer refused: %s", x->why);
    if (len == 0 && !x->failed) {
        struct mirage_dns_update_result res;
        len = mirage_dns_primary_answer(primary, b->query, qlen, 1, now_s(), b->out + 2, 65535,
                                        &res);
        if (res.changed)
            changed(&res);
        else
            refused(&res);
        return len > 0 ? send_msg(c, b, len, deadline) : 0;
    }
    /* A transfer's messages go out one after the other; the peer's reading paces us. */
    while (len > 0) {
        if ((r = send_msg(c, b, len, mirage_deadline_in(MIRAGE_SEC(30)))) < 0)
            break;
        len = mirage_dns_xfr_next(x, b->out + 2, 65535);
    }
    mirage_dns_xfr_end(primary, x);
    if (r < 0)
        return r;
    if (x->why == NULL) {
        mirage_dns_name_to_text(&x->q.name, zone, sizeof(zone));
        mirage_log_app_msg(&mirage_log_app, "%s of %s: %zu records in %zu messages%s",
                           x->axfr ? "AXFR" : "IXFR", zone, x->records, x->messages,
                           x->failed ? " (stopped: a record did not fit)" : "");
    }
    return x->failed ? MIRAGE_EMSGSIZE : 0;
}

static void on_datagram(void *ctx, const struct mirage_udp_rx *rx)
{
    struct mirage_dns_update_result res;
    size_t len;
    int r;

    (void)ctx;
    if (rx->len >= MIRAGE_DNS_HEADER) {
        uint16_t id = (uint16_t)(rx->data[0] << 8 | rx->data[1]);
        uint16_t flags = (uint16_t)(rx->data[2] << 8 | rx->data[3]);
        int opcode = MIRAGE_DNS_OPCODE(flags);
        if ((flags & MIRAGE_DNS_QR) && opcode == MIRAGE_DNS_OP_NOTIFY) {
            /* A secondary's answer to our NOTIFY. */
            if (notify_waiting && id == notify_id && memcmp(&rx->src, &notify_to, sizeof(rx->src)) == 0) {
                notify_acked = 1;
                mirage_cond_signal(&acked_cond);
            }
            return;
        }
        if (!(flags & MIRAGE_DNS_QR) && opcode == MIRAGE_DNS_OP_UPDATE) {
            /* Applied by the updater fiber: storing the zone waits for the disk. */
            if (udp_count == UDP_UPDATES_MAX || rx->len > UDP_UPDATE_MAX) {
                mirage_log_warn(&mirage_log_app, "update over UDP dropped: %s",
                                udp_count == UDP_UPDATES_MAX ? "too many waiting" : "too long");
                return;
            }
            struct udp_update *u = &udp_updates[(udp_head + udp_count++) % UDP_UPDATES_MAX];
            u->src = rx->src;
            u->src_port = rx->src_port;
            u->dst_port = rx->dst_port;
            u->len = rx->len;
            memcpy(u->msg, rx->data, rx->len);
            mirage_cond_signal(&update_cond);
            return;
        }
    }
    len = mirage_dns_primary_answer(primary, rx->data, rx->len, 0, now_s(), udp_out,
                                    sizeof(udp_out), &res);
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
        struct bufs *b = bufs_take();
        if (b == NULL) {
            mirage_log_warn(&mirage_log_app, "tcp: out of memory for a query: closed");
            break;
        }
        if ((r = mirage_channel_read_exactly(&c->ch, b->query, qlen, deadline)) == 0)
            r = answer_tcp(c, b, qlen, deadline);
        bufs_give(b);
        if (r < 0)
            break;
    }
    mirage_flow_shutdown(c->flow, MIRAGE_SHUT_WR);
    mirage_flow_close(c->flow);
    free(c);
    return 0;
}

/* Loads every value NAME.zone of the store's root as the zone NAME; from the
 * read-write store (rw), in place of the one loaded before. */
static int load_zones(struct mirage_kv *kv, int rw)
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
        mirage_log_app_msg(&mirage_log_app, "zone %s: %zu records from %s%s", buf,
                           mirage_dns_zone_count(z), rw ? "the store's " : "", key);
        struct mirage_dns_zone *old = NULL;
        if ((r = rw ? mirage_dns_server_replace_zone(server, z, &old)
                    : mirage_dns_server_add_zone(server, z)) < 0) {
            mirage_log_err(&mirage_log_app, "zone %s: %s", buf,
                           r == MIRAGE_EEXIST ? "given twice" : mirage_strerror(r));
            mirage_dns_zone_free(z);
            break;
        }
        mirage_dns_zone_free(old);
        zones++;
    }
    free(e);
    if (r == 0 && zones == 0 && !rw) {
        mirage_log_err(&mirage_log_app, "no NAME.zone file in the store");
        r = MIRAGE_ENOENT;
    }
    return r;
}

/* The TSIG keys in the store's value "keys", if it has one. */
static int load_keys(struct mirage_kv *kv)
{
    struct mirage_kv_error kerr;
    uint8_t *text;
    size_t len;
    char why[128];
    int r = mirage_kv_get(kv, "keys", &text, &len, &kerr);

    if (r == MIRAGE_ENOENT) {
        mirage_log_app_msg(&mirage_log_app, "no keys: zone transfers refused");
        return 0;
    }
    if (r < 0) {
        mirage_log_err(&mirage_log_app, "keys: %s", mirage_kv_strerror(&kerr, why, sizeof(why)));
        return r;
    }
    r = mirage_dns_primary_keys(primary, (const char *)text, len, why, sizeof(why));
    memset(text, 0, len);
    free(text);
    if (r < 0) {
        mirage_log_err(&mirage_log_app, "keys: %s", why);
        return r;
    }
    mirage_log_app_msg(&mirage_log_app, "%zu TSIG keys from keys",
                       mirage_dns_primary_key_count(primary));
    return 0;
}

/* --notify: IPV4[:PORT] or [IPV6][:PORT] of the secondaries, separated by commas. */
static int parse_secondaries(const char *list)
{
    char err[128];

    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        uint16_t sport = 53;
        if (nsecondaries == SECONDARIES_MAX) {
            mirage_log_err(&mirage_log_app, "--notify: more than %d secondaries", SECONDARIES_MAX);
            return MIRAGE_EINVAL;
        }
        struct mirage_ipaddr *a = &secondaries[nsecondaries].addr;
        int family;
        memset(a, 0, sizeof(*a));
        if (mirage_key_parse_ip_port(p, len, a->a, &family, &sport, err, sizeof(err)) < 0) {
            mirage_log_err(&mirage_log_app, "--notify: %s", err);
            return MIRAGE_EINVAL;
        }
        a->family = (uint8_t)family;
        secondaries[nsecondaries++].port = sport;
        p += len + (comma != NULL);
    }
    return 0;
}

int start(struct mirage_stack *s, struct mirage_kv *zones, struct mirage_kv *rw)
{
    struct mirage_tcp_listen_opts opts = {.max_conns = (unsigned)key_max_conns.v.num};
    struct mirage_tcp_listener *l;
    int r;

    stack = s;
    store = rw;
    port = (uint16_t)key_port.v.num;
    if (parse_secondaries(key_notify.v.str) < 0 || mirage_dns_server_new(&server) < 0 ||
        load_zones(zones, 0) < 0 || load_zones(store, 1) < 0 ||
        mirage_dns_primary_new(server, &primary) < 0 || load_keys(zones) < 0)
        return 1;
    mirage_dns_primary_set_history(primary, (unsigned)key_history.v.num);
    struct mirage_fiber *nf = mirage_fiber_spawn("dns-notify", notifier, NULL, CONN_STACK);
    struct mirage_fiber *uf = mirage_fiber_spawn("dns-update", updater, NULL, 64 * 1024);
    if (nf == NULL || uf == NULL) {
        mirage_log_err(&mirage_log_app, "out of memory for the notifier and updater");
        return 1;
    }
    mirage_fiber_detach(nf);
    mirage_fiber_detach(uf);
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
