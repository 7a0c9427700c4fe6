/* ndp.c: IPv6 neighbour and router discovery (RFC 4861), DAD and SLAAC (RFC 4862), MLDv2 reports
 * (RFC 3810). */
#include <stdlib.h>
#include <string.h>

#include "ipv6_internal.h"
#include "mirage/checksum.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/time.h"
#include "mirage/wire.h"

MIRAGE_LOG_SOURCE(nd_log, "ndp", "IPv6 neighbour discovery and DAD");

#define MLD_QUERY         130
#define MLD2_REPORT       143
#define ND_RS             133
#define ND_RA             134
#define ND_NS             135
#define ND_NA             136
#define ND_REDIRECT       137
#define OPT_SLLA          1
#define OPT_TLLA          2
#define OPT_PREFIX        3
#define OPT_MTU           5
#define PREFIX_ONLINK     0x80
#define PREFIX_AUTO       0x40
#define INFINITE          0xffffffffu
#define MAX_RTR_SOLICIT   3 /* RFC 4861 10 */
#define RTR_SOLICIT_IVAL  MIRAGE_SEC(4)
#define RTR_SOLICIT_DELAY MIRAGE_SEC(1)
#define TWO_HOURS         MIRAGE_SEC(7200) /* RFC 4862 5.5.3 e */
#define REDIRECT_LIFETIME MIRAGE_SEC(600)
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
static const uint8_t all_routers[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t mld_routers[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16};

static void tick(struct mirage_timer *t);

int nd_init(struct mirage_ipv6 *ip)
{
    ip->rs_at = ip->mld_at = UINT64_MAX;
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

/* A router solicitation (RFC 4861 6.3.7) from our link-local address,
 * with our link-layer address. */
static void send_rs(struct mirage_ipv6 *ip)
{
    uint8_t b[16];
    struct mirage_wr w = mirage_wr_init(b, sizeof(b));
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    struct mirage_ipv6_out out = {.src = ip->addrs[0].a,
                                  .dst = all_routers,
                                  .proto = MIRAGE_IPV6_PROTO_ICMPV6,
                                  .hop_limit = 255};
    struct mirage_iovec iov = {b, sizeof(b)};

    mirage_wr_u8(&w, ND_RS);
    mirage_wr_zeros(&w, 7);
    mirage_wr_u8(&w, OPT_SLLA);
    mirage_wr_u8(&w, 1);
    mirage_wr_bytes(&w, mirage_eth_mac(ip->eth), 6);
    mirage_csum_add_pseudo6(&c, out.src, out.dst, MIRAGE_IPV6_PROTO_ICMPV6, sizeof(b));
    mirage_csum_add(&c, b, sizeof(b));
    mirage_wr_seek(&w, 2);
    mirage_wr_be16(&w, mirage_csum_finish(&c));
    if (ipv6_send(ip, NULL, &out, NULL, NULL, &iov, 1) == 0)
        ip->st.rs_sent++;
}

/*
 * An MLDv2 report (RFC 3810 5.2) naming the solicited-node group of each
 * address we hold or are testing, every record of (type): 4 (change to
 * exclude, no sources: a join) or 2 (mode is exclude: an answer to a
 * query). To ff02::16 with hop limit 1 and a router alert; from our
 * link-local address, or :: while it is still tentative (5.2.13).
 */
static void send_mld_report(struct mirage_ipv6 *ip, uint8_t type)
{
    uint8_t b[8 + 8 + IPV6_MAX_ADDRS * 20], groups[IPV6_MAX_ADDRS][16];
    struct mirage_wr w = mirage_wr_init(b, sizeof(b));
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    size_t n = 0;
    const uint8_t *src =
        ip->addrs[0].state == MIRAGE_IPV6_PREFERRED ? ip->addrs[0].a : unspecified;
    struct mirage_ipv6_out out = {
        .src = src, .dst = mld_routers, .proto = MIRAGE_IPV6_PROTO_HOPOPT, .hop_limit = 1};
    struct mirage_iovec iov = {b, 0};

    for (size_t i = 0; i < ip->n_addrs; i++) {
        size_t j;
        if (ip->addrs[i].state == MIRAGE_IPV6_DUPLICATE)
            continue;
        mirage_ipv6_solicited_node(ip->addrs[i].a, groups[n]);
        for (j = 0; j < n && memcmp(groups[j], groups[n], 16) != 0; j++)
            ;
        if (j == n)
            n++; /* a SLAAC address shares its group with the link-local one */
    }
    if (n == 0)
        return;
    /* Hop-by-hop options: the router alert (RFC 2711, value 0: MLD), PadN. */
    mirage_wr_bytes(&w, (const uint8_t[8]){MIRAGE_IPV6_PROTO_ICMPV6, 0, 5, 2, 0, 0, 1, 0}, 8);
    mirage_wr_u8(&w, MLD2_REPORT);
    mirage_wr_zeros(&w, 5);
    mirage_wr_be16(&w, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        mirage_wr_u8(&w, type);
        mirage_wr_zeros(&w, 3); /* no auxiliary data, no sources */
        mirage_wr_bytes(&w, groups[i], 16);
    }
    iov.len = w.off;
    mirage_csum_add_pseudo6(&c, src, mld_routers, MIRAGE_IPV6_PROTO_ICMPV6, (uint32_t)(w.off - 8));
    mirage_csum_add(&c, b + 8, w.off - 8);
    mirage_wr_seek(&w, 10);
    mirage_wr_be16(&w, mirage_csum_finish(&c));
    if (ipv6_send(ip, NULL, &out, NULL, NULL, &iov, 1) == 0)
        ip->st.mld_reports++;
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

#define EARLIER(x, t)                                                                              \
    do {                                                                                           \
        if ((t) < (x))                                                                             \
            (x) = (t);                                                                             \
    } while (0)

void nd_rearm(struct mirage_ipv6 *ip)
{
    uint64_t next = reasm_next_expiry(&ip->reasm);

    EARLIER(next, ip->rs_at);
    EARLIER(next, ip->mld_at);
    for (size_t i = 0; i < IPV6_MAX_ROUTERS; i++)
        if (ip->routers[i].expires != 0)
            EARLIER(next, ip->routers[i].expires);
    for (size_t i = 0; i < ip->n_addrs; i++) {
        const struct addr6 *ad = &ip->addrs[i];
        if (ad->state == MIRAGE_IPV6_TENTATIVE)
            EARLIER(next, ad->dad_at);
        if (ad->slaac && !ad->deprecated)
            EARLIER(next, ad->preferred);
        if (ad->slaac)
            EARLIER(next, ad->valid);
    }
    for (size_t i = 0; i < ip->cfg.cache_max; i++) {
        const struct nd_entry *e = &ip->nc[i];
        if ((e->state == MIRAGE_ND_INCOMPLETE || e->state == MIRAGE_ND_DELAY ||
             e->state == MIRAGE_ND_PROBE) &&
            e->deadline < next)
            next = e->deadline;
    }
    if (next == UINT64_MAX)
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

/* SLAAC addresses past their lifetimes: deprecated, then gone (RFC 4862 5.5.4). */
static void age_addresses(struct mirage_ipv6 *ip, uint64_t now)
{
    char a[46];

    for (size_t i = 0; i < ip->n_addrs;) {
        struct addr6 *ad = &ip->addrs[i];
        if (ad->slaac && ad->valid <= now) {
            mirage_log_info(&nd_log, "IPv6 %s/%u removed: its valid lifetime ended",
                            mirage_ipv6_format(ad->a, a), ad->prefix);
            memmove(ad, ad + 1, (ip->n_addrs - i - 1) * sizeof(*ad));
            ip->n_addrs--;
            continue;
        }
        if (ad->slaac && !ad->deprecated && ad->preferred <= now) {
            ad->deprecated = 1;
            mirage_log_info(&nd_log, "IPv6 %s/%u deprecated: its preferred lifetime ended",
                            mirage_ipv6_format(ad->a, a), ad->prefix);
        }
        i++;
    }
    for (size_t i = 0; i < IPV6_MAX_ROUTERS; i++)
        if (ip->routers[i].expires != 0 && ip->routers[i].expires <= now) {
            ip->routers[i].expires = 0;
            mirage_log_info(&nd_log, "default router %s expired",
                            mirage_ipv6_format(ip->routers[i].ip, a));
        }
}

static void tick(struct mirage_timer *t)
{
    struct mirage_ipv6 *ip = (struct mirage_ipv6 *)t;
    uint64_t now = mirage_clock_monotonic();
    char a[46];

    ipv6_reasm_expire(ip, now);
    age_addresses(ip, now);
    for (size_t i = 0; i < ip->n_addrs; i++) {
        struct addr6 *ad = &ip->addrs[i];
        if (ad->state != MIRAGE_IPV6_TENTATIVE || ad->dad_at > now)
            continue;
        if (ad->dad_sent < ip->cfg.dad_transmits) {
            /* Joining its solicited-node group comes first (RFC 4862 5.4.2). */
            if (ad->dad_sent == 0)
                send_mld_report(ip, 4);
            dad_probe(ip, ad);
            ad->dad_sent++;
            ad->dad_at = now + ip->cfg.retrans;
        } else {
            ad->state = MIRAGE_IPV6_PREFERRED;
            mirage_cond_broadcast(&ip->addr_change);
            mirage_log_info(&nd_log, "IPv6 %s/%u ready (DAD found no duplicate)",
                            mirage_ipv6_format(ad->a, a), ad->prefix);
            /* With a link-local address, routers can be asked (RFC 4861 6.3.7). */
            if (i == 0 && !ip->cfg.no_router_adv && ip->rs_sent == 0)
                ip->rs_at = now + mirage_random_u64() % RTR_SOLICIT_DELAY;
        }
    }
    if (ip->rs_at <= now) {
        ip->rs_sent++;
        send_rs(ip);
        ip->rs_at = ip->rs_sent < MAX_RTR_SOLICIT ? now + RTR_SOLICIT_IVAL : UINT64_MAX;
    }
    if (ip->mld_at <= now) {
        ip->mld_at = UINT64_MAX;
        send_mld_report(ip, ip->mld_type);
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
    nd_rearm(ip);
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
    nd_rearm(ip);
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

int nd_output(struct mirage_ipv6 *ip, const uint8_t hop[16], size_t size,
              const struct mirage_net_meta *meta, mirage_fill_fn fill, void *ctx)
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
            nd_rearm(ip);
        }
        e->used = now;
        return mirage_eth_write_meta(ip->eth, NULL, e->mac, MIRAGE_ETHERTYPE_IPV6, size, meta,
                                     fill, ctx);
    }
    if (size > mirage_eth_mtu(ip->eth) && meta == NULL)
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
        nd_rearm(ip);
    }
    if (meta != NULL)
        return MIRAGE_EAGAIN;
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
    nd_rearm(ip);
}

/* ---- input ---------------------------------------------------------------- */

/* The next option in (c): 1 and its type and body (the bytes after type
 * and length), 0 at the end, -1 when malformed (RFC 4861 4.6: a zero
 * length invalidates the message). */
static int next_opt(struct mirage_rd *c, uint8_t *type, struct mirage_rd *body)
{
    uint8_t units;

    if (mirage_rd_left(c) == 0)
        return 0;
    *type = mirage_rd_u8(c);
    units = mirage_rd_u8(c);
    if (c->bad || units == 0 || (size_t)units * 8 - 2 > mirage_rd_left(c))
        return -1;
    *body = mirage_rd_sub(c, (size_t)units * 8 - 2);
    return 1;
}

/* Finds the link-layer address option (want) among the options in (c);
 * returns 0 (and *lla, NULL when absent) or -1 for a malformed option. */
static int find_lla(struct mirage_rd *c, uint8_t want, const uint8_t **lla)
{
    struct mirage_rd body;
    uint8_t type;
    int r;

    *lla = NULL;
    while ((r = next_opt(c, &type, &body)) > 0)
        if (type == want && mirage_rd_left(&body) == 6)
            *lla = mirage_rd_take(&body, 6);
    return r;
}

static void duplicate(struct mirage_ipv6 *ip, struct addr6 *ad, const char *what,
                      const uint8_t *mac)
{
    char a[46], m[18] = "an unknown MAC";

    ad->state = MIRAGE_IPV6_DUPLICATE;
    mirage_cond_broadcast(&ip->addr_change);
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
    nd_rearm(ip);
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
        nd_rearm(ip);
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
    nd_rearm(ip);
}

/* ---- routers ------------------------------------------------------------ */

const uint8_t *nd_router(struct mirage_ipv6 *ip, uint64_t now)
{
    const uint8_t *any = NULL;

    /* RFC 4861 6.3.6: one known to be reachable first. */
    for (size_t i = 0; i < IPV6_MAX_ROUTERS; i++) {
        const struct router6 *r = &ip->routers[i];
        struct nd_entry *e;
        if (r->expires <= now)
            continue;
        e = find(ip, r->ip);
        if (e != NULL && e->state != MIRAGE_ND_INCOMPLETE)
            return r->ip;
        if (any == NULL)
            any = r->ip;
    }
    return any;
}

size_t mirage_ipv6_routers(const struct mirage_ipv6 *ip, uint8_t (*out)[16], size_t n)
{
    uint64_t now = mirage_clock_monotonic();
    size_t k = 0;

    for (size_t i = 0; i < IPV6_MAX_ROUTERS; i++)
        if (ip->routers[i].expires > now) {
            if (out && k < n)
                memcpy(out[k], ip->routers[i].ip, 16);
            k++;
        }
    return k;
}

static uint64_t lifetime_ns(uint32_t s, uint64_t now)
{
    return s == INFINITE ? UINT64_MAX : now + MIRAGE_SEC((uint64_t)s);
}

static void router_lifetime(struct mirage_ipv6 *ip, const uint8_t src[16], uint16_t life,
                            uint64_t now)
{
    struct router6 *r = NULL, *free_slot = NULL;
    char a[46];

    for (size_t i = 0; i < IPV6_MAX_ROUTERS; i++) {
        if (ip->routers[i].expires > now && memcmp(ip->routers[i].ip, src, 16) == 0)
            r = &ip->routers[i];
        else if (ip->routers[i].expires <= now && free_slot == NULL)
            free_slot = &ip->routers[i];
    }
    if (life == 0) {
        if (r != NULL) {
            r->expires = 0;
            mirage_log_info(&nd_log, "default router %s withdrawn", mirage_ipv6_format(src, a));
        }
        return;
    }
    if (r == NULL) {
        if (free_slot == NULL)
            return; /* the list is full: the routers we have stay */
        r = free_slot;
        memcpy(r->ip, src, 16);
        mirage_log_info(&nd_log, "default router %s (lifetime %u s)", mirage_ipv6_format(src, a),
                        life);
    }
    r->expires = now + MIRAGE_SEC((uint64_t)life);
}

/* A prefix information option with the autonomous flag (RFC 4862 5.5.3). */
static void slaac(struct mirage_ipv6 *ip, const uint8_t prefix[16], int on_link, uint32_t valid,
                  uint32_t preferred, uint64_t now)
{
    uint8_t a[16];
    struct addr6 *ad;
    char s[46];

    memcpy(a, prefix, 8);
    memcpy(a + 8, ip->addrs[0].a + 8, 8); /* the interface identifier: modified EUI-64 */
    ad = ipv6_find_addr(ip, a);
    if (ad == NULL) {
        if (valid == 0)
            return;
        ad = ipv6_add_addr(ip, a, on_link ? 64 : 128);
        if (ad == NULL) {
            mirage_log_warn(&nd_log, "no room for the SLAAC address %s: %d addresses held",
                            mirage_ipv6_format(a, s), IPV6_MAX_ADDRS);
            return;
        }
        ad->slaac = 1;
        ad->valid = lifetime_ns(valid, now);
        ad->preferred = lifetime_ns(preferred, now);
        ad->dad_at = now;
        mirage_log_info(&nd_log, "IPv6 %s/%u from a router advertisement (SLAAC), valid %u s, "
                        "preferred %u s: testing it (DAD)",
                        mirage_ipv6_format(a, s), ad->prefix, valid, preferred);
        return;
    }
    if (!ad->slaac)
        return; /* a static address keeps its configuration */
    ad->preferred = lifetime_ns(preferred, now);
    ad->deprecated = preferred == 0;
    /* 5.5.3 e: a short valid lifetime may not cut one past two hours. */
    if (valid == INFINITE || MIRAGE_SEC((uint64_t)valid) > TWO_HOURS ||
        lifetime_ns(valid, now) > ad->valid)
        ad->valid = lifetime_ns(valid, now);
    else if (ad->valid - now > TWO_HOURS)
        ad->valid = now + TWO_HOURS;
}

/* A router advertisement (RFC 4861 6.1.2 checks, 6.3.4 processing). */
static void ra_input(struct mirage_ipv6 *ip, const struct mirage_ipv6_rx *rx, struct mirage_rd *c)
{
    uint8_t hop_limit = mirage_rd_u8(c);
    uint16_t life;
    uint32_t reachable, retrans;
    uint64_t now = mirage_clock_monotonic();
    struct mirage_rd opts, body;
    const uint8_t *lla = NULL;
    uint8_t type;
    int r;
    char a[46];

    mirage_rd_skip(c, 1); /* M and O flags: no DHCPv6 here */
    life = mirage_rd_be16(c);
    reachable = mirage_rd_be32(c);
    retrans = mirage_rd_be32(c);
    if (c->bad || !mirage_ipv6_is_link_local(rx->src)) {
        ip->st.ra_bad++;
        return;
    }
    /* Every option is checked before any is taken. */
    opts = *c;
    while ((r = next_opt(&opts, &type, &body)) > 0)
        if ((type == OPT_PREFIX && mirage_rd_left(&body) != 30) ||
            (type == OPT_MTU && mirage_rd_left(&body) != 6)) {
            r = -1;
            break;
        }
    if (r < 0) {
        ip->st.ra_bad++;
        return;
    }
    ip->st.ra_rx++;
    if (ip->cfg.no_router_adv) {
        if (ip->st.ra_rx == 1)
            mirage_log_info(&nd_log, "ignoring router advertisements (from %s): "
                            "--accept-router-advertisements=false",
                            mirage_ipv6_format(rx->src, a));
        return;
    }
    ip->rs_at = UINT64_MAX; /* a router answered */
    if (hop_limit != 0)
        ip->cfg.hop_limit = hop_limit;
    if (reachable != 0 && reachable <= 3600000u &&
        MIRAGE_MS((uint64_t)reachable) != ip->cfg.reachable) {
        ip->cfg.reachable = MIRAGE_MS((uint64_t)reachable);
        ip->reachable_time = ip->cfg.reachable / 2 + mirage_random_u64() % ip->cfg.reachable;
    }
    if (retrans != 0 && retrans <= 3600000u)
        ip->cfg.retrans = MIRAGE_MS((uint64_t)retrans);
    router_lifetime(ip, rx->src, life, now);
    while (next_opt(c, &type, &body) > 0) {
        if (type == OPT_SLLA && mirage_rd_left(&body) == 6) {
            lla = mirage_rd_take(&body, 6);
        } else if (type == OPT_MTU) {
            uint32_t mtu;
            mirage_rd_skip(&body, 2);
            mtu = mirage_rd_be32(&body);
            if (mtu >= MIRAGE_IPV6_MIN_MTU && mtu <= mirage_eth_mtu(ip->eth) &&
                mtu != ip->link_mtu) {
                ip->link_mtu = mtu;
                mirage_log_info(&nd_log, "link MTU %u (router advertisement from %s)",
                                (unsigned)mtu, mirage_ipv6_format(rx->src, a));
            }
        } else if (type == OPT_PREFIX) {
            uint8_t len = mirage_rd_u8(&body), flags = mirage_rd_u8(&body);
            uint32_t valid = mirage_rd_be32(&body), preferred = mirage_rd_be32(&body);
            const uint8_t *prefix;
            mirage_rd_skip(&body, 4);
            prefix = mirage_rd_take(&body, 16);
            /* 5.5.3 a-c: not link-local, preferred within valid; SLAAC over
             * Ethernet needs a /64 (RFC 4291's 64-bit interface identifiers). */
            if ((flags & PREFIX_AUTO) && !mirage_ipv6_is_link_local(prefix) &&
                preferred <= valid && len == 64)
                slaac(ip, prefix, (flags & PREFIX_ONLINK) != 0, valid, preferred, now);
        }
    }
    if (lla != NULL)
        learn(ip, rx->src, lla, now);
    nd_rearm(ip);
}

/* A redirect (RFC 4861 8.1 checks, 8.3 processing): the better next hop
 * for one destination, taken only from the router we use for it. */
static void redirect_input(struct mirage_ipv6 *ip, const struct mirage_ipv6_rx *rx,
                           struct mirage_rd *c)
{
    const uint8_t *target, *dst, *tll, *hop;
    uint64_t now = mirage_clock_monotonic();
    struct dest6 *d;
    char a[46], b[46];

    mirage_rd_skip(c, 4);
    target = mirage_rd_take(c, 16);
    dst = mirage_rd_take(c, 16);
    if (c->bad || !mirage_ipv6_is_link_local(rx->src) || mirage_ipv6_is_multicast(dst) ||
        (!mirage_ipv6_is_link_local(target) && memcmp(target, dst, 16) != 0) ||
        find_lla(c, OPT_TLLA, &tll) < 0 || (hop = ipv6_next_hop(ip, dst)) == NULL ||
        memcmp(hop, rx->src, 16) != 0) {
        ip->st.redirects_bad++;
        return;
    }
    ip->st.redirects++;
    d = ipv6_dest(ip, dst, 1, now);
    memcpy(d->hop, target, 16);
    d->has_hop = 1;
    if (d->expires < now + REDIRECT_LIFETIME)
        d->expires = now + REDIRECT_LIFETIME;
    mirage_log_info(&nd_log, "redirect from %s: %s goes through %s", mirage_ipv6_format(rx->src, a),
                    mirage_ipv6_format(dst, b), mirage_ipv6_format(target, a));
    if (tll != NULL)
        learn(ip, target, tll, now);
}

/* ---- MLD ------------------------------------------------------------------ */

/* A multicast listener query (RFC 3810 5.1, or MLDv1's shorter one): our
 * report goes after a random part of its maximum response delay. */
static void mld_query(struct mirage_ipv6 *ip, const struct mirage_ipv6_rx *rx, struct mirage_rd *c)
{
    uint16_t code = mirage_rd_be16(c);
    const uint8_t *group;
    uint64_t delay, now = mirage_clock_monotonic();

    mirage_rd_skip(c, 2);
    group = mirage_rd_take(c, 16);
    /* 5.1.14: link-local source, hop limit 1; the router alert is not required of queries. */
    if (c->bad || !mirage_ipv6_is_link_local(rx->src) || rx->hop_limit != 1) {
        ip->st.nd_bad++;
        return;
    }
    ip->st.mld_queries++;
    if (!mirage_ipv6_is_unspecified(group)) {
        int ours = 0;
        uint8_t sn[16];
        for (size_t i = 0; i < ip->n_addrs && !ours; i++) {
            mirage_ipv6_solicited_node(ip->addrs[i].a, sn);
            ours = ip->addrs[i].state != MIRAGE_IPV6_DUPLICATE && memcmp(sn, group, 16) == 0;
        }
        if (!ours)
            return;
    }
    /* 5.1.3: the maximum response code in ms, floating point from 32768. */
    delay = code < 32768 ? code : (uint64_t)((code & 0x0fff) | 0x1000) << (((code >> 12) & 7) + 3);
    delay = MIRAGE_MS(delay);
    delay = delay ? mirage_random_u64() % delay : 0;
    if (now + delay < ip->mld_at) {
        ip->mld_at = now + delay;
        ip->mld_type = 2;
        nd_rearm(ip);
    }
}

void nd_input(struct mirage_ipv6 *ip, const uint8_t *smac, const struct mirage_ipv6_rx *rx)
{
    struct mirage_rd c = mirage_rd_init(rx->payload, rx->len);
    uint8_t type = mirage_rd_u8(&c), code = mirage_rd_u8(&c);

    mirage_rd_skip(&c, 2); /* the checksum, checked by the caller */
    if (type == MLD_QUERY) {
        if (!c.bad && code == 0)
            mld_query(ip, rx, &c);
        return;
    }
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
    case ND_RA:
        ra_input(ip, rx, &c);
        break;
    case ND_REDIRECT:
        redirect_input(ip, rx, &c);
        break;
    default:
        break; /* router solicitations are for routers */
    }
}
