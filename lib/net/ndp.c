/* ndp.c: IPv6 neighbour discovery (RFC 4861): the neighbour cache and its states, DAD (RFC 4862).
 */
#include <stdlib.h>
#include <string.h>

#include "ipv6_internal.h"
#include "mirage/checksum.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/time.h"
#include "mirage/wire.h"

MIRAGE_LOG_SOURCE(nd_log, "ndp", "IPv6 neighbour discovery and DAD");

#define ND_RS             133
#define ND_RA             134
#define ND_NS             135
#define ND_NA             136
#define OPT_SLLA          1
#define OPT_TLLA          2
#define NA_ROUTER         0x80
#define NA_SOLICITED      0x40
#define NA_OVERRIDE       0x20
#define MAX_MCAST_SOLICIT 3 /* RFC 4861 10 */
#define MAX_UCAST_SOLICIT 3
#define DELAY_FIRST_PROBE MIRAGE_SEC(5)
#define DAD_MIN_DELAY     MIRAGE_MS(100)
#define QUEUED_TOTAL_MAX  1024 /* packets waiting for any neighbour, all entries together */

static const uint8_t unspecified[16];
static const uint8_t all_nodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

static void tick(struct mirage_timer *t);

int nd_init(struct mirage_ipv6 *ip)
{
    ip->nc = calloc(ip->cfg.cache_max, sizeof(*ip->nc));
    return ip->nc == NULL ? MIRAGE_ENOMEM : 0;
}

static void clear(struct mirage_ipv6 *ip, struct nd_entry *e)
{
    pending_drop(&e->q, &ip->queued_total);
    memset(e, 0, sizeof(*e));
}

void nd_free(struct mirage_ipv6 *ip)
{
    mirage_timer_stop(&ip->timer);
    for (size_t i = 0; i < ip->cfg.cache_max; i++)
        pending_drop(&ip->nc[i].q, &ip->queued_total);
    free(ip->nc);
}

static struct nd_entry *find(struct mirage_ipv6 *ip, const uint8_t a[16])
{
    struct nd_entry *e = &ip->nc[ip->nc_last];

    if (e->state != MIRAGE_ND_NONE && memcmp(e->ip, a, 16) == 0)
        return e;
    for (size_t i = 0; i < ip->cfg.cache_max; i++) {
        if (ip->nc[i].state != MIRAGE_ND_NONE && memcmp(ip->nc[i].ip, a, 16) == 0) {
            ip->nc_last = i;
            return &ip->nc[i];
        }
    }
    return NULL;
}

/* A free entry for (a), or the least recently used resolved one emptied;
 * NULL when every entry is still being resolved. */
static struct nd_entry *alloc_entry(struct mirage_ipv6 *ip, const uint8_t a[16], uint64_t now)
{
    struct nd_entry *old = NULL, *e = NULL;

    for (size_t i = 0; i < ip->cfg.cache_max && e == NULL; i++) {
        if (ip->nc[i].state == MIRAGE_ND_NONE)
            e = &ip->nc[i];
        else if (ip->nc[i].state != MIRAGE_ND_INCOMPLETE && (!old || ip->nc[i].used < old->used))
            old = &ip->nc[i];
    }
    if (e == NULL && old != NULL) {
        clear(ip, old);
        e = old;
    }
    if (e != NULL) {
        memcpy(e->ip, a, 16);
        e->used = now;
    }
    return e;
}

/* ---- messages ------------------------------------------------------------ */

/* Sends a solicitation or advertisement: (word) is the 32 bits after the
 * checksum, (opt) the link-layer address option to carry (0: none). */
static int send_nd(struct mirage_ipv6 *ip, const uint8_t *mac, const uint8_t *src,
                   const uint8_t *dst, uint8_t type, uint32_t word, const uint8_t *target,
                   uint8_t opt)
{
    uint8_t b[32];
    struct mirage_wr w = mirage_wr_init(b, sizeof(b));
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    struct mirage_ipv6_out out = {
        .src = src, .dst = dst, .proto = MIRAGE_IPV6_PROTO_ICMPV6, .hop_limit = 255};
    struct mirage_iovec iov = {b, 0};

    mirage_wr_u8(&w, type);
    mirage_wr_u8(&w, 0);
    mirage_wr_be16(&w, 0);
    mirage_wr_be32(&w, word);
    mirage_wr_bytes(&w, target, 16);
    if (opt) {
        mirage_wr_u8(&w, opt);
        mirage_wr_u8(&w, 1);
        mirage_wr_bytes(&w, mirage_eth_mac(ip->eth), 6);
    }
    iov.len = w.off;
    mirage_csum_add_pseudo6(&c, src, dst, MIRAGE_IPV6_PROTO_ICMPV6, (uint32_t)iov.len);
    mirage_csum_add(&c, b, iov.len);
    mirage_wr_seek(&w, 2);
    mirage_wr_be16(&w, mirage_csum_finish(&c));
    return ipv6_send(ip, mac, &out, NULL, NULL, &iov, 1);
}

/* A solicitation for (e): multicast to its solicited-node group while
 * resolving, unicast to its MAC while probing. */
static void solicit(struct mirage_ipv6 *ip, struct nd_entry *e, int multicast)
{
    uint8_t src[16], dst[16];

    if (mirage_ipv6_src(ip, e->ip, src) < 0)
        return; /* nothing to send from yet: DAD is still running */
    if (multicast)
        mirage_ipv6_solicited_node(e->ip, dst);
    else
        memcpy(dst, e->ip, 16);
    if (send_nd(ip, multicast ? NULL : e->mac, src, dst, ND_NS, 0, e->ip, OPT_SLLA) == 0)
        ip->st.ns_sent++;
}

/* DAD's probe (RFC 4862 5.4.2): from ::, to the address's solicited-node
 * group, without our link-layer address. */
static void dad_probe(struct mirage_ipv6 *ip, struct addr6 *ad)
{
    uint8_t dst[16];

    mirage_ipv6_solicited_node(ad->a, dst);
    if (send_nd(ip, NULL, unspecified, dst, ND_NS, 0, ad->a, 0) == 0)
        ip->st.ns_sent++;
}

/* ---- timers ------------------------------------------------------------- */

static void rearm(struct mirage_ipv6 *ip)
{
    uint64_t next = MIRAGE_FOREVER;

    for (size_t i = 0; i < ip->n_addrs; i++)
        if (ip->addrs[i].state == MIRAGE_IPV6_TENTATIVE && ip->addrs[i].dad_at < next)
            next = ip->addrs[i].dad_at;
    for (size_t i = 0; i < ip->cfg.cache_max; i++) {
        const struct nd_entry *e = &ip->nc[i];
        if ((e->state == MIRAGE_ND_INCOMPLETE || e->state == MIRAGE_ND_DELAY ||
             e->state == MIRAGE_ND_PROBE) &&
            e->deadline < next)
            next = e->deadline;
    }
    if (next == MIRAGE_FOREVER)
        mirage_timer_stop(&ip->timer);
    else
        mirage_timer_start(&ip->timer, next, tick);
}

static void give_up(struct mirage_ipv6 *ip, struct nd_entry *e)
{
    char a[46];

    mirage_log_info(&nd_log, "no answer from %s after %u solicitations%s: dropping %zu packets",
                    mirage_ipv6_format(e->ip, a), e->probes,
                    e->state == MIRAGE_ND_PROBE ? " (probing)" : "", e->q.len);
    ip->st.nd_failed++;
    ip->st.nd_queue_dropped += e->q.len;
    clear(ip, e);
}

static void tick(struct mirage_timer *t)
{
    struct mirage_ipv6 *ip = (struct mirage_ipv6 *)t;
    uint64_t now = mirage_clock_monotonic();
    char a[46];

    for (size_t i = 0; i < ip->n_addrs; i++) {
        struct addr6 *ad = &ip->addrs[i];
        if (ad->state != MIRAGE_IPV6_TENTATIVE || ad->dad_at > now)
            continue;
        if (ad->dad_sent < ip->cfg.dad_transmits) {
            dad_probe(ip, ad);
            ad->dad_sent++;
            ad->dad_at = now + ip->cfg.retrans;
        } else {
            ad->state = MIRAGE_IPV6_PREFERRED;
            mirage_log_info(&nd_log, "IPv6 %s/%u ready (DAD found no duplicate)",
                            mirage_ipv6_format(ad->a, a), ad->prefix);
        }
    }
    for (size_t i = 0; i < ip->cfg.cache_max; i++) {
        struct nd_entry *e = &ip->nc[i];
        if (e->deadline > now)
            continue;
        if (e->state == MIRAGE_ND_DELAY) {
            e->state = MIRAGE_ND_PROBE;
            e->probes = 0;
        }
        if (e->state == MIRAGE_ND_INCOMPLETE || e->state == MIRAGE_ND_PROBE) {
            unsigned max = e->state == MIRAGE_ND_INCOMPLETE ? MAX_MCAST_SOLICIT : MAX_UCAST_SOLICIT;
            if (e->probes >= max) {
                give_up(ip, e);
                continue;
            }
            solicit(ip, e, e->state == MIRAGE_ND_INCOMPLETE);
            e->probes++;
            e->deadline = now + ip->cfg.retrans;
        }
    }
    rearm(ip);
}

/* The first probe waits a random 0..1 s (RFC 4862 5.4.2's
 * MAX_RTR_SOLICITATION_DELAY), and at least DAD_MIN_DELAY: the host at the
 * other end of a tap sees its carrier come up as we open the device and
 * ignored a probe sent at once (Linux answered none within 130 us of it). */
void nd_start(struct mirage_ipv6 *ip)
{
    uint64_t now = mirage_clock_monotonic();

    for (size_t i = 0; i < ip->n_addrs; i++)
        if (ip->addrs[i].state == MIRAGE_IPV6_TENTATIVE) {
            ip->addrs[i].dad_sent = 0;
            ip->addrs[i].dad_at =
                now + DAD_MIN_DELAY + mirage_random_u64() % (MIRAGE_SEC(1) - DAD_MIN_DELAY);
        }
    rearm(ip);
}

/* ---- the cache ------------------------------------------------------------ */

/* (e) has a link-layer address now: it becomes (state) and its queue goes out in order. */
static void resolved(struct mirage_ipv6 *ip, struct nd_entry *e, const uint8_t mac[6],
                     uint8_t state, uint64_t now)
{
    memcpy(e->mac, mac, 6);
    e->state = state;
    e->probes = 0;
    e->used = now;
    e->deadline = state == MIRAGE_ND_REACHABLE ? now + ip->reachable_time : 0;
    pending_flush(&e->q, &ip->queued_total, ip->eth, e->mac, MIRAGE_ETHERTYPE_IPV6);
}

/* What the cache says of (e) now: a REACHABLE entry past its time is STALE. */
static uint8_t state_now(struct nd_entry *e, uint64_t now)
{
    if (e->state == MIRAGE_ND_REACHABLE && e->deadline <= now)
        e->state = MIRAGE_ND_STALE;
    return e->state;
}

int nd_output(struct mirage_ipv6 *ip, const uint8_t hop[16], size_t size, mirage_fill_fn fill,
              void *ctx)
{
    uint64_t now = mirage_clock_monotonic();
    struct nd_entry *e = find(ip, hop);
    int r;

    if (e != NULL && e->state != MIRAGE_ND_INCOMPLETE) {
        /* RFC 4861 7.3.3: a stale entry is used, and the upper layer gets
         * DELAY_FIRST_PROBE_TIME to confirm it before it is probed. */
        if (state_now(e, now) == MIRAGE_ND_STALE) {
            e->state = MIRAGE_ND_DELAY;
            e->deadline = now + DELAY_FIRST_PROBE;
            rearm(ip);
        }
        e->used = now;
        return mirage_eth_write(ip->eth, NULL, e->mac, MIRAGE_ETHERTYPE_IPV6, size, fill, ctx);
    }
    if (size > mirage_eth_mtu(ip->eth))
        return MIRAGE_EMSGSIZE;
    if (e == NULL) {
        e = alloc_entry(ip, hop, now);
        if (e == NULL) {
            ip->st.nd_queue_dropped++;
            return MIRAGE_ENOSPC;
        }
        e->state = MIRAGE_ND_INCOMPLETE;
        e->probes = 1;
        e->deadline = now + ip->cfg.retrans;
        solicit(ip, e, 1);
        rearm(ip);
    }
    if (ip->queued_total >= QUEUED_TOTAL_MAX) {
        ip->st.nd_queue_dropped++;
        return MIRAGE_ENOSPC;
    }
    if (e->q.len >= ip->cfg.queue_max) {
        /* RFC 4861 7.2.2: the newest packet replaces the oldest. */
        pending_drop_oldest(&e->q, &ip->queued_total);
        ip->st.nd_queue_dropped++;
    }
    if ((r = pending_push(&e->q, &ip->queued_total, size, fill, ctx)) < 0)
        return r;
    ip->st.nd_queued++;
    return 0;
}

enum mirage_ipv6_nd_state mirage_ipv6_neighbour(const struct mirage_ipv6 *ip, const uint8_t a[16],
                                                uint8_t mac[6])
{
    struct mirage_ipv6 *m = (struct mirage_ipv6 *)ip;
    struct nd_entry *e = find(m, a);

    if (e == NULL)
        return MIRAGE_ND_NONE;
    if (mac != NULL && e->state != MIRAGE_ND_INCOMPLETE)
        memcpy(mac, e->mac, 6);
    return (enum mirage_ipv6_nd_state)state_now(e, mirage_clock_monotonic());
}

void mirage_ipv6_confirm(struct mirage_ipv6 *ip, const uint8_t a[16])
{
    struct nd_entry *e = find(ip, a);
    uint64_t now = mirage_clock_monotonic();

    if (e == NULL || e->state == MIRAGE_ND_INCOMPLETE)
        return;
    e->state = MIRAGE_ND_REACHABLE;
    e->probes = 0;
    e->deadline = now + ip->reachable_time;
    rearm(ip);
}

/* ---- input ---------------------------------------------------------------- */

/* Finds the link-layer address option (want) among the options in (c);
 * returns 0 (and *lla, NULL when absent) or -1 for a malformed option. */
static int find_lla(struct mirage_rd *c, uint8_t want, const uint8_t **lla)
{
    *lla = NULL;
    while (mirage_rd_left(c) > 0) {
        uint8_t type = mirage_rd_u8(c), units = mirage_rd_u8(c);
        const uint8_t *body;

        /* RFC 4861 4.6: a zero length is invalid, and so is the message. */
        if (c->bad || units == 0 || (size_t)units * 8 - 2 > mirage_rd_left(c))
            return -1;
        body = mirage_rd_take(c, (size_t)units * 8 - 2);
        if (type == want && units == 1)
            *lla = body;
    }
    return 0;
}

static void duplicate(struct mirage_ipv6 *ip, struct addr6 *ad, const char *what,
                      const uint8_t *mac)
{
    char a[46], m[18] = "an unknown MAC";

    ad->state = MIRAGE_IPV6_DUPLICATE;
    ip->st.dad_duplicates++;
    if (mac)
        mirage_eth_format(mac, m);
    mirage_log_err(&nd_log,
                   "IPv6 %s/%u is a duplicate: %s from %s claims it (DAD): the address is not used",
                   mirage_ipv6_format(ad->a, a), ad->prefix, what, m);
}

/* What a solicitation or advertisement tells of its sender (RFC 4861 7.2.3). */
static void learn(struct mirage_ipv6 *ip, const uint8_t src[16], const uint8_t mac[6], uint64_t now)
{
    struct nd_entry *e = find(ip, src);

    if (e == NULL) {
        e = alloc_entry(ip, src, now);
        if (e != NULL)
            resolved(ip, e, mac, MIRAGE_ND_STALE, now);
    } else if (e->state == MIRAGE_ND_INCOMPLETE) {
        resolved(ip, e, mac, MIRAGE_ND_STALE, now);
    } else if (memcmp(e->mac, mac, 6) != 0) {
        memcpy(e->mac, mac, 6);
        e->state = MIRAGE_ND_STALE;
    }
    rearm(ip);
}

static int from_us(const struct mirage_ipv6 *ip, const uint8_t *smac)
{
    return smac != NULL && memcmp(smac, mirage_eth_mac(ip->eth), 6) == 0;
}

static void ns_input(struct mirage_ipv6 *ip, const uint8_t *smac, const struct mirage_ipv6_rx *rx,
                     struct mirage_rd *c)
{
    const uint8_t *target = mirage_rd_take(c, 16), *sll;
    int dad = mirage_ipv6_is_unspecified(rx->src);
    uint8_t sn[16];
    struct addr6 *ad;

    if (c->bad || mirage_ipv6_is_multicast(target) || find_lla(c, OPT_SLLA, &sll) < 0) {
        ip->st.nd_bad++;
        return;
    }
    mirage_ipv6_solicited_node(target, sn);
    /* RFC 4861 7.1.1: DAD's probes go to the solicited-node group, bare. */
    if (dad && (memcmp(rx->dst, sn, 16) != 0 || sll != NULL)) {
        ip->st.nd_bad++;
        return;
    }
    ip->st.ns_rx++;
    ad = ipv6_find_addr(ip, target);
    if (ad == NULL || ad->state == MIRAGE_IPV6_DUPLICATE || from_us(ip, smac))
        return;
    if (ad->state == MIRAGE_IPV6_TENTATIVE) {
        /* Another node testing the same address (RFC 4862 5.4.3). */
        if (dad)
            duplicate(ip, ad, "a DAD solicitation", smac);
        return;
    }
    if (dad) {
        /* Tell the tester the address is taken: to all nodes (RFC 4861 7.2.4). */
        if (send_nd(ip, NULL, target, all_nodes, ND_NA, (uint32_t)NA_OVERRIDE << 24, target,
                    OPT_TLLA) == 0)
            ip->st.na_sent++;
        return;
    }
    if (sll != NULL)
        learn(ip, rx->src, sll, mirage_clock_monotonic());
    if (send_nd(ip, sll, target, rx->src, ND_NA, (uint32_t)(NA_SOLICITED | NA_OVERRIDE) << 24,
                target, OPT_TLLA) == 0)
        ip->st.na_sent++;
}

static void na_input(struct mirage_ipv6 *ip, const uint8_t *smac, const struct mirage_ipv6_rx *rx,
                     struct mirage_rd *c)
{
    uint8_t flags = mirage_rd_u8(c);
    const uint8_t *target, *tll;
    uint64_t now = mirage_clock_monotonic();
    struct addr6 *ad;
    struct nd_entry *e;
    int differs;
    char a[46], m[18];

    mirage_rd_skip(c, 3);
    target = mirage_rd_take(c, 16);
    if (c->bad || mirage_ipv6_is_multicast(target) || find_lla(c, OPT_TLLA, &tll) < 0 ||
        (mirage_ipv6_is_multicast(rx->dst) && (flags & NA_SOLICITED))) {
        ip->st.nd_bad++;
        return;
    }
    ip->st.na_rx++;
    ad = ipv6_find_addr(ip, target);
    if (ad != NULL) {
        if (from_us(ip, smac) || ad->state == MIRAGE_IPV6_DUPLICATE)
            return;
        if (ad->state == MIRAGE_IPV6_TENTATIVE)
            duplicate(ip, ad, "an advertisement", tll ? tll : smac);
        else
            mirage_log_warn(&nd_log, "ignoring an advertisement from %s claiming our address %s",
                            tll ? mirage_eth_format(tll, m) : "an unknown MAC",
                            mirage_ipv6_format(target, a));
        return;
    }
    e = find(ip, target);
    if (e == NULL)
        return; /* unsolicited, for nobody we talk to: nothing to learn */
    if (e->state == MIRAGE_ND_INCOMPLETE) {
        if (tll != NULL)
            resolved(ip, e, tll, (flags & NA_SOLICITED) ? MIRAGE_ND_REACHABLE : MIRAGE_ND_STALE,
                     now);
        rearm(ip);
        return;
    }
    /* RFC 4861 7.2.5: without the override flag a different address only
     * makes a reachable entry stale; otherwise the advertisement wins. */
    differs = tll != NULL && memcmp(tll, e->mac, 6) != 0;
    if (!(flags & NA_OVERRIDE) && differs) {
        if (state_now(e, now) == MIRAGE_ND_REACHABLE)
            e->state = MIRAGE_ND_STALE;
        return;
    }
    if (differs)
        memcpy(e->mac, tll, 6);
    if (flags & NA_SOLICITED) {
        e->state = MIRAGE_ND_REACHABLE;
        e->probes = 0;
        e->deadline = now + ip->reachable_time;
    } else if (differs) {
        e->state = MIRAGE_ND_STALE;
    }
    rearm(ip);
}

void nd_input(struct mirage_ipv6 *ip, const uint8_t *smac, const struct mirage_ipv6_rx *rx)
{
    struct mirage_rd c = mirage_rd_init(rx->payload, rx->len);
    uint8_t type = mirage_rd_u8(&c), code = mirage_rd_u8(&c);

    mirage_rd_skip(&c, 2); /* the checksum, checked by the caller */
    /* RFC 4861 7.1: only from the link itself (hop limit 255), code 0. */
    if (c.bad || rx->hop_limit != 255 || code != 0) {
        ip->st.nd_bad++;
        return;
    }
    switch (type) {
    case ND_NS:
        mirage_rd_skip(&c, 4);
        ns_input(ip, smac, rx, &c);
        break;
    case ND_NA:
        na_input(ip, smac, rx, &c);
        break;
    default:
        /* Router solicitations are for routers; advertisements and
         * redirects are not taken yet: no route changes on their word. */
        break;
    }
}
