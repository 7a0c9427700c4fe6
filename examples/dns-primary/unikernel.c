/* unikernel.c: dns-primary: an authoritative DNS server for the zones in its store, over UDP and
 * TCP. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * --tcp-idle-timeout. A query over TCP longer than 16 KiB closes its
 * connection. Over TCP a peer signing with one of the keys may transfer a
 * zone (AXFR, IXFR, keeping --history changes of each zone) and, over UDP or
 * TCP, change it (UPDATE, RFC 2136). A changed zone is written to the
 * read-write store (NAME.zone, read back at boot in place of the crunched
 * one) before the update is answered, then each --notify secondary gets a
 * NOTIFY (RFC 1996), sent again after 1, 2, 4 and 8 s until it answers.
 *
 * Serving is lib/dns/serve.c's: an UPDATE waits for the disk in a slow
 * fiber (over UDP one fiber takes them in turn, UDP_UPDATES_MAX held at
 * most), a transfer's messages go out from the connection's fiber, and an idle
 * TCP connection holds ~1 KiB beside its fiber's stack.
 */

#define UDP_MAX      1232
#define UPDATE_STACK (64u * 1024u) /* storing a zone waits for the disk on it */

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

static uint64_t now_s(void)
{
    return mirage_clock_wall() / 1000000000ull;
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

/* Answers a transfer request over TCP (several messages; the peer's reading paces us). */
static int transfer(void *ctx, struct mirage_dns_serve_conn *c, const struct mirage_ipaddr *from,
                    const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
    struct mirage_dns_xfr x;
    char zone[MIRAGE_DNS_TEXT_MAX];
    int r = 0;
    size_t len = mirage_dns_xfr_start(&x, primary, q, qlen, now_s(), out, cap);

    (void)ctx;
    (void)from;
    if (x.why != NULL)
        mirage_log_warn(&mirage_log_app, "transfer refused: %s", x.why);
    if (len == 0 && !x.failed)
        return 0; /* not a transfer: answer() */
    while (len > 0) {
        if ((r = mirage_dns_serve_send(c, len, mirage_deadline_in(MIRAGE_SEC(30)))) < 0)
            break;
        len = mirage_dns_xfr_next(&x, out, cap);
    }
    mirage_dns_xfr_end(primary, &x);
    if (r < 0)
        return r;
    if (x.why == NULL) {
        mirage_dns_name_to_text(&x.q.name, zone, sizeof(zone));
        mirage_log_app_msg(&mirage_log_app, "%s of %s: %zu records in %zu messages%s",
                           x.axfr ? "AXFR" : "IXFR", zone, x.records, x.messages,
                           x.failed ? " (stopped: a record did not fit)" : "");
    }
    return x.failed ? MIRAGE_EMSGSIZE : 1;
}

/* Never waits: a secondary's answer to our NOTIFY wakes the notifier, an UPDATE is
 * left to update() (storing the zone waits for the disk), the rest answered now. */
static size_t answer(void *ctx, const struct mirage_ipaddr *from, const uint8_t *q, size_t qlen,
                     int tcp, uint8_t *out, size_t cap)
{
    struct mirage_dns_update_result res;
    size_t len;

    (void)ctx;
    if (qlen >= MIRAGE_DNS_HEADER) {
        uint16_t id = (uint16_t)(q[0] << 8 | q[1]);
        uint16_t flags = (uint16_t)(q[2] << 8 | q[3]);
        int opcode = MIRAGE_DNS_OPCODE(flags);
        if (!tcp && (flags & MIRAGE_DNS_QR) && opcode == MIRAGE_DNS_OP_NOTIFY) {
            if (notify_waiting && id == notify_id && memcmp(from, &notify_to, sizeof(*from)) == 0) {
                notify_acked = 1;
                mirage_cond_signal(&acked_cond);
            }
            return 0;
        }
        if (!(flags & MIRAGE_DNS_QR) && opcode == MIRAGE_DNS_OP_UPDATE) {
            if (!tcp && qlen > UDP_UPDATE_MAX) {
                mirage_log_warn(&mirage_log_app, "update over UDP dropped: too long");
                return 0;
            }
            return MIRAGE_DNS_SERVE_SLOW;
        }
    }
    len = mirage_dns_primary_answer(primary, q, qlen, tcp, now_s(), out, cap, &res);
    if (tcp)
        refused(&res);
    return len;
}

/* Applies an UPDATE and stores the zone it changed before its answer goes. */
static size_t update(void *ctx, const struct mirage_ipaddr *from, const uint8_t *q, size_t qlen,
                     int tcp, uint8_t *out, size_t cap)
{
    struct mirage_dns_update_result res;
    size_t len = mirage_dns_primary_answer(primary, q, qlen, tcp, now_s(), out, cap, &res);

    (void)ctx;
    (void)from;
    if (res.changed)
        changed(&res);
    else
        refused(&res);
    return len;
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
    struct mirage_dns_serve *sv;
    int r;

    stack = s;
    store = rw;
    port = (uint16_t)key_port.v.num;
    if (parse_secondaries(key_notify.v.str) < 0 || mirage_dns_server_new(&server) < 0 ||
        load_zones(zones, 0) < 0 || load_zones(store, 1) < 0 ||
        mirage_dns_primary_new(server, &primary) < 0 || load_keys(zones) < 0)
        return 1;
    mirage_dns_primary_set_history(primary, (unsigned)key_history.v.num);
    struct mirage_fiber *nf = mirage_fiber_spawn("dns-notify", notifier, NULL, MIRAGE_FIBER_STACK_MIN);
    if (nf == NULL) {
        mirage_log_err(&mirage_log_app, "out of memory for the notifier");
        return 1;
    }
    mirage_fiber_detach(nf);
    struct mirage_dns_serve_config cfg = {
        .port = port,
        .max_conns = (unsigned)key_max_conns.v.num,
        .tcp_idle_timeout = (uint64_t)key_tcp_idle_timeout.v.num * 1000000000ull,
        .answer = answer,
        .slow = update,
        .max_slow = UDP_UPDATES_MAX,
        .slow_fibers = 1,
        .slow_stack = UPDATE_STACK,
        .stream = transfer,
    };
    if ((r = mirage_dns_serve_start(stack, &cfg, &sv)) < 0) {
        mirage_log_err(&mirage_log_app, "cannot listen on port %u: %s", port, mirage_strerror(r));
        return 1;
    }
    mirage_log_app_msg(&mirage_log_app, "answering on UDP and TCP port %u", port);
    mirage_dns_serve_tcp(sv);
    mirage_dns_serve_stop(sv);
    return 1;
}
