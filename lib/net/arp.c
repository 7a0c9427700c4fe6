/* arp.c: the ARP cache: learnt, pending (queries, retries, queued packets), failed and static
 * entries. */
#include <stdlib.h>
#include <string.h>

#include "mirage/arp.h"
#include "pending.h"
#include "mirage/ipv4.h"
#include "mirage/log.h"
#include "mirage/time.h"
#include "mirage/wire.h"

MIRAGE_LOG_SOURCE(arp_log, "arp", "ARP cache and queries");

#define MAX_IPS          8
#define PKT_LEN          28
#define QUEUED_TOTAL_MAX 1024 /* packets waiting for any answer, all entries together */
#define GARP_REPEAT_NS   MIRAGE_SEC(1)

enum kind { E_FREE, E_DYNAMIC, E_STATIC, E_PENDING, E_FAILED };

struct entry {
    uint32_t ip;
    uint8_t mac[6];
    uint8_t kind;
    unsigned tries;    /* pending: queries sent; dynamic: refresh polls sent */
    uint64_t deadline; /* dynamic: expiry; pending: next query; failed: when forgotten */
    uint64_t polled;   /* dynamic: when the last refresh poll went out */
    uint64_t born;     /* for eviction: the oldest goes first */
    struct pending q;  /* pending: IPv4 packets waiting for the answer */
};

struct mirage_arp {
    struct mirage_timer timer; /* first: the callback finds the struct from it */
    struct mirage_eth *eth;
    struct mirage_arp_config cfg;
    struct entry *e;
    size_t last; /* the entry the last lookup found */
    size_t queued_total;
    uint32_t ips[MAX_IPS];
    size_t n_ips;
    uint32_t garp_ips[MAX_IPS]; /* announced again at garp_at */
    size_t n_garp;
    uint64_t garp_at;
    struct mirage_arp_stats st;
};

static void tick(struct mirage_timer *t);

static int is_ours(const struct mirage_arp *arp, uint32_t ip)
{
    for (size_t i = 0; i < arp->n_ips; i++)
        if (arp->ips[i] == ip)
            return 1;
    return 0;
}

static struct entry *find(struct mirage_arp *arp, uint32_t ip)
{
    if (arp->e[arp->last].kind != E_FREE && arp->e[arp->last].ip == ip)
        return &arp->e[arp->last];
    for (size_t i = 0; i < arp->cfg.cache_max; i++) {
        if (arp->e[i].kind != E_FREE && arp->e[i].ip == ip) {
            arp->last = i;
            return &arp->e[i];
        }
    }
    return NULL;
}

static void clear(struct mirage_arp *arp, struct entry *e)
{
    pending_drop(&e->q, &arp->queued_total);
    memset(e, 0, sizeof(*e));
}

/* A free entry, or the oldest dynamic or failed one emptied; NULL if all are
 * pending or static. */
static struct entry *alloc_entry(struct mirage_arp *arp)
{
    struct entry *old = NULL;
    uint64_t now = mirage_clock_monotonic();

    for (size_t i = 0; i < arp->cfg.cache_max; i++) {
        struct entry *e = &arp->e[i];
        if (e->kind == E_FREE)
            return e;
        if (e->kind == E_DYNAMIC && e->deadline <= now)
            return clear(arp, e), e;
        if ((e->kind == E_DYNAMIC || e->kind == E_FAILED) && (!old || e->born < old->born))
            old = e;
    }
    if (old) {
        arp->st.evicted++;
        clear(arp, old);
    }
    return old;
}

struct arp_pkt {
    uint16_t op;
    const uint8_t *sha, *tha;
    uint32_t spa, tpa;
};

static int fill_pkt(void *ctx, uint8_t *b, size_t size)
{
    const struct arp_pkt *p = ctx;
    struct mirage_wr w = mirage_wr_init(b, size);

    mirage_wr_be16(&w, 1);
    mirage_wr_be16(&w, MIRAGE_ETHERTYPE_IPV4);
    mirage_wr_u8(&w, 6);
    mirage_wr_u8(&w, 4);
    mirage_wr_be16(&w, p->op);
    mirage_wr_bytes(&w, p->sha, 6);
    mirage_wr_be32(&w, p->spa);
    mirage_wr_bytes(&w, p->tha, 6);
    mirage_wr_be32(&w, p->tpa);
    return w.bad ? MIRAGE_EMSGSIZE : PKT_LEN;
}

static const uint8_t zero_mac[6];

/* A request for (tpa) from (spa), broadcast, or unicast to (dst). */
static void send_request_to(struct mirage_arp *arp, const uint8_t *dst, uint32_t spa, uint32_t tpa)
{
    struct arp_pkt p = {1, mirage_eth_mac(arp->eth), zero_mac, spa, tpa};

    if (mirage_eth_write(arp->eth, NULL, dst, MIRAGE_ETHERTYPE_ARP, PKT_LEN, fill_pkt, &p) == 0)
        arp->st.requests_sent++;
}

static void send_request(struct mirage_arp *arp, uint32_t spa, uint32_t tpa)
{
    send_request_to(arp, mirage_eth_broadcast, spa, tpa);
}

/*
 * An entry in use that is about to expire is polled with a unicast request
 * (RFC 1122 2.3.2.1) while it is still used, so that a peer that answers
 * never sees its traffic stop for a broadcast query and a queue: in the last
 * eighth of its life, once per retry interval, up to (retries) times. The
 * answer renews it through the input path; without one it expires as before.
 */
static void refresh(struct mirage_arp *arp, struct entry *e, uint64_t now)
{
    if (e->kind != E_DYNAMIC || e->deadline - now > arp->cfg.entry_timeout / 8 ||
        e->tries >= arp->cfg.retries || (e->tries > 0 && now - e->polled < arp->cfg.retry_interval))
        return;
    e->tries++;
    e->polled = now;
    arp->st.polls++;
    send_request_to(arp, e->mac, arp->n_ips ? arp->ips[0] : 0, e->ip);
}

static void send_query(struct mirage_arp *arp, struct entry *e)
{
    send_request(arp, arp->n_ips ? arp->ips[0] : 0, e->ip);
    e->tries++;
    e->deadline = mirage_clock_monotonic() + arp->cfg.retry_interval;
}

/* Arms the timer at the earliest thing to do: a query to repeat, a failure
 * to forget, a gratuitous ARP to repeat. Learnt entries expire lazily. */
static void rearm(struct mirage_arp *arp)
{
    uint64_t next = arp->n_garp ? arp->garp_at : MIRAGE_FOREVER;

    for (size_t i = 0; i < arp->cfg.cache_max; i++) {
        const struct entry *e = &arp->e[i];
        if ((e->kind == E_PENDING || e->kind == E_FAILED) && e->deadline < next)
            next = e->deadline;
    }
    if (next == MIRAGE_FOREVER)
        mirage_timer_stop(&arp->timer);
    else
        mirage_timer_start(&arp->timer, next, tick);
}

static void give_up(struct mirage_arp *arp, struct entry *e)
{
    char a[16];

    mirage_log_info(&arp_log, "no answer from %s after %u queries: dropping %zu packets",
                    mirage_ipv4_format(e->ip, a), e->tries, e->q.len);
    arp->st.give_ups++;
    arp->st.queue_dropped += e->q.len;
    pending_drop(&e->q, &arp->queued_total);
    e->kind = E_FAILED;
    e->deadline = mirage_clock_monotonic() + arp->cfg.retry_interval;
}

static void tick(struct mirage_timer *t)
{
    struct mirage_arp *arp = (struct mirage_arp *)t;
    uint64_t now = mirage_clock_monotonic();

    if (arp->n_garp && arp->garp_at <= now) {
        for (size_t i = 0; i < arp->n_garp; i++)
            if (is_ours(arp, arp->garp_ips[i]))
                send_request(arp, arp->garp_ips[i], arp->garp_ips[i]);
        arp->n_garp = 0;
    }
    for (size_t i = 0; i < arp->cfg.cache_max; i++) {
        struct entry *e = &arp->e[i];
        if (e->deadline > now)
            continue;
        if (e->kind == E_PENDING) {
            if (e->tries >= arp->cfg.retries)
                give_up(arp, e);
            else
                send_query(arp, e);
        } else if (e->kind == E_FAILED) {
            clear(arp, e);
        }
    }
    rearm(arp);
}

static void eth_rx(void *ctx, const struct mirage_eth_rx *rx)
{
    mirage_arp_input(ctx, rx->payload, rx->len);
}

struct mirage_arp *mirage_arp_new(struct mirage_eth *eth, const struct mirage_arp_config *cfg)
{
    struct mirage_arp *arp = calloc(1, sizeof(*arp));

    if (arp == NULL)
        return NULL;
    if (cfg)
        arp->cfg = *cfg;
    if (arp->cfg.cache_max == 0)
        arp->cfg.cache_max = 512;
    if (arp->cfg.entry_timeout == 0)
        arp->cfg.entry_timeout = MIRAGE_SEC(1200);
    if (arp->cfg.retry_interval == 0)
        arp->cfg.retry_interval = MIRAGE_SEC(1);
    if (arp->cfg.retries == 0)
        arp->cfg.retries = 3;
    if (arp->cfg.queue_max == 0)
        arp->cfg.queue_max = 64;
    arp->e = calloc(arp->cfg.cache_max, sizeof(*arp->e));
    if (arp->e == NULL) {
        free(arp);
        return NULL;
    }
    arp->eth = eth;
    mirage_eth_set_handler(eth, MIRAGE_ETHERTYPE_ARP, eth_rx, arp);
    return arp;
}

void mirage_arp_free(struct mirage_arp *arp)
{
    if (arp == NULL)
        return;
    mirage_timer_stop(&arp->timer);
    mirage_eth_set_handler(arp->eth, MIRAGE_ETHERTYPE_ARP, NULL, NULL);
    for (size_t i = 0; i < arp->cfg.cache_max; i++)
        pending_drop(&arp->e[i].q, &arp->queued_total);
    free(arp->e);
    free(arp);
}

int mirage_arp_set_ips(struct mirage_arp *arp, const uint32_t *ips, size_t n)
{
    uint32_t fresh[MAX_IPS];
    size_t n_fresh = 0;

    if (n > MAX_IPS)
        return MIRAGE_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (ips[i] != 0 && !is_ours(arp, ips[i]))
            fresh[n_fresh++] = ips[i];
    memcpy(arp->ips, ips, n * sizeof(*ips));
    arp->n_ips = n;
    /* Announce each new address now and once more a second later (RFC 5227's
     * announcements), so peers that missed the first one still update. */
    for (size_t i = 0; i < n_fresh; i++) {
        struct entry *e = find(arp, fresh[i]);
        if (e && e->kind != E_STATIC)
            clear(arp, e);
        send_request(arp, fresh[i], fresh[i]);
    }
    if (n_fresh) {
        memcpy(arp->garp_ips, fresh, n_fresh * sizeof(*fresh));
        arp->n_garp = n_fresh;
        arp->garp_at = mirage_clock_monotonic() + GARP_REPEAT_NS;
        rearm(arp);
    }
    return 0;
}

/* The entry is now known: it becomes (kind) and its queue goes out in order. */
static void resolved(struct mirage_arp *arp, struct entry *e, const uint8_t mac[6], uint8_t kind)
{
    memcpy(e->mac, mac, 6);
    e->kind = kind;
    e->tries = 0;
    e->deadline = mirage_clock_monotonic() + arp->cfg.entry_timeout;
    pending_flush(&e->q, &arp->queued_total, arp->eth, e->mac, MIRAGE_ETHERTYPE_IPV4);
}

int mirage_arp_add_static(struct mirage_arp *arp, uint32_t ip, const uint8_t mac[6])
{
    struct entry *e = find(arp, ip);

    if (e == NULL) {
        e = alloc_entry(arp);
        if (e == NULL)
            return MIRAGE_ENOSPC;
        e->ip = ip;
        e->born = mirage_clock_monotonic();
    }
    resolved(arp, e, mac, E_STATIC);
    rearm(arp);
    return 0;
}

int mirage_arp_remove(struct mirage_arp *arp, uint32_t ip)
{
    struct entry *e = find(arp, ip);

    if (e == NULL)
        return MIRAGE_ENOENT;
    clear(arp, e);
    rearm(arp);
    return 0;
}

static int usable(const struct entry *e, uint64_t now)
{
    return e->kind == E_STATIC || (e->kind == E_DYNAMIC && e->deadline > now);
}

int mirage_arp_lookup(const struct mirage_arp *arp, uint32_t ip, uint8_t mac[6])
{
    struct entry *e = find((struct mirage_arp *)arp, ip);

    if (e == NULL || !usable(e, mirage_clock_monotonic()))
        return MIRAGE_ENOENT;
    memcpy(mac, e->mac, 6);
    return 0;
}

int mirage_arp_output(struct mirage_arp *arp, uint32_t ip, size_t size, mirage_fill_fn fill,
                      void *ctx)
{
    return mirage_arp_output_meta(arp, ip, size, NULL, fill, ctx);
}

int mirage_arp_output_meta(struct mirage_arp *arp, uint32_t ip, size_t size,
                           const struct mirage_net_meta *meta, mirage_fill_fn fill, void *ctx)
{
    uint64_t now = mirage_clock_monotonic();
    struct entry *e = find(arp, ip);
    int r;

    if (e && usable(e, now)) {
        refresh(arp, e, now);
        return mirage_eth_write_meta(arp->eth, NULL, e->mac, MIRAGE_ETHERTYPE_IPV4, size, meta,
                                     fill, ctx);
    }
    if (size == 0)
        size = mirage_eth_mtu(arp->eth);
    if (size > mirage_eth_mtu(arp->eth) && meta == NULL)
        return MIRAGE_EMSGSIZE;
    if (e && e->kind == E_FAILED)
        return MIRAGE_EHOSTUNREACH;
    if (e == NULL || e->kind == E_DYNAMIC) {
        if (e == NULL) {
            e = alloc_entry(arp);
            if (e == NULL) {
                arp->st.queue_dropped++;
                return MIRAGE_ENOSPC;
            }
        }
        e->ip = ip;
        e->kind = E_PENDING;
        e->tries = 0;
        e->born = now;
        send_query(arp, e);
        rearm(arp);
    }
    /* The queue keeps finished frames without metadata: the sender of one
     * with metadata tries again once the query is answered. */
    if (meta != NULL)
        return MIRAGE_EAGAIN;
    if (e->q.len >= arp->cfg.queue_max || arp->queued_total >= QUEUED_TOTAL_MAX) {
        arp->st.queue_dropped++;
        return MIRAGE_ENOSPC;
    }
    if ((r = pending_push(&e->q, &arp->queued_total, size, fill, ctx)) < 0)
        return r;
    arp->st.queued++;
    return 0;
}

void mirage_arp_input(struct mirage_arp *arp, const uint8_t *pkt, size_t len)
{
    struct mirage_rd c = mirage_rd_init(pkt, len);
    uint16_t htype = mirage_rd_be16(&c), ptype = mirage_rd_be16(&c);
    uint8_t hlen = mirage_rd_u8(&c), plen = mirage_rd_u8(&c);
    uint16_t op = mirage_rd_be16(&c);
    const uint8_t *sha = mirage_rd_take(&c, 6);
    uint32_t spa = mirage_rd_be32(&c);
    const uint8_t *tha = mirage_rd_take(&c, 6);
    uint32_t tpa = mirage_rd_be32(&c);
    const uint8_t *mine = mirage_eth_mac(arp->eth);
    struct entry *e;
    char a[16];

    (void)tha;
    if (c.bad || htype != 1 || ptype != MIRAGE_ETHERTYPE_IPV4 || hlen != 6 || plen != 4 ||
        (op != 1 && op != 2) || (sha[0] & 1)) {
        arp->st.bad++;
        return;
    }
    if (op == 1)
        arp->st.requests_rx++;
    else
        arp->st.replies_rx++;
    if (memcmp(sha, mine, 6) == 0)
        return; /* our own broadcast looped back */
    if (spa != 0 && is_ours(arp, spa)) {
        /* Someone claims our address: never let it into the cache. */
        arp->st.ignored_own++;
        mirage_log_warn(&arp_log,
                        "ignoring ARP %s from %02x:%02x:%02x:%02x:%02x:%02x claiming "
                        "our address %s",
                        op == 1 ? "request" : "reply", sha[0], sha[1], sha[2], sha[3], sha[4],
                        sha[5], mirage_ipv4_format(spa, a));
        return;
    }
    /* RFC 826's merge: refresh what we know of the sender, and learn it when
     * the packet is for us (we are about to talk to it anyway). */
    e = spa ? find(arp, spa) : NULL;
    if (e && e->kind != E_STATIC) {
        resolved(arp, e, sha, E_DYNAMIC);
        rearm(arp);
    } else if (e == NULL && spa != 0 && is_ours(arp, tpa)) {
        e = alloc_entry(arp);
        if (e) {
            e->ip = spa;
            e->born = mirage_clock_monotonic();
            resolved(arp, e, sha, E_DYNAMIC);
        }
    }
    if (op == 1 && is_ours(arp, tpa)) {
        struct arp_pkt r = {2, mine, sha, tpa, spa};
        if (mirage_eth_write(arp->eth, NULL, sha, MIRAGE_ETHERTYPE_ARP, PKT_LEN, fill_pkt, &r) == 0)
            arp->st.replies_sent++;
    }
}

void mirage_arp_stats(const struct mirage_arp *arp, struct mirage_arp_stats *st)
{
    *st = arp->st;
}
