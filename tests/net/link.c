/* link.c: the deterministic in-process test link of link.h: a seeded PRNG between two netifs. */
#include "link.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/sched.h"
#include "mirage/time.h"

#define RXQ_MAX 4096

struct frame {
    struct frame *next, *prev;
    uint64_t at;
    size_t len;
    uint8_t data[];
};

struct simlink;

/* One direction: frames written by side (from) travelling to the other side. */
struct dir {
    struct simlink *link;
    int from;
    struct frame *head, *tail; /* in flight, sorted by (at), ties in write order */
    size_t in_flight;
    uint64_t busy_until; /* serialisation at rate_bps */
    struct mirage_timer timer;
    struct simlink_stats st;
};

struct end {
    struct mirage_netif nif;
    struct frame *rx_head, *rx_tail; /* delivered, not yet read */
    size_t rx_count;
    struct mirage_cond cond;
    struct simlink *link;
    int side;
};

struct simlink {
    struct simlink_config cfg;
    uint64_t rng;
    struct dir dir[2];
    struct end end[2];
    simlink_filter_fn filter;
    void *filter_ctx;
};

/* splitmix64: small, fast and fully determined by the seed. */
static uint64_t rnd(struct simlink *l)
{
    uint64_t z = (l->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int chance(struct simlink *l, uint32_t ppm)
{
    return ppm != 0 && rnd(l) % 1000000u < ppm;
}

static uint64_t below(struct simlink *l, uint64_t n)
{
    return n ? rnd(l) % n : 0;
}

static void deliver_due(struct mirage_timer *t);

static void arm(struct dir *d)
{
    if (d->head)
        mirage_timer_start(&d->timer, d->head->at, deliver_due);
    else
        mirage_timer_stop(&d->timer);
}

/* Inserts (f) in time order, searching from the tail (where almost every frame goes). */
static void insert(struct dir *d, struct frame *f)
{
    struct frame *p = d->tail;

    while (p && p->at > f->at)
        p = p->prev;
    f->prev = p;
    f->next = p ? p->next : d->head;
    if (f->next)
        f->next->prev = f;
    else
        d->tail = f;
    if (p)
        p->next = f;
    else
        d->head = f;
    d->in_flight++;
}

static void deliver_due(struct mirage_timer *t)
{
    struct dir *d = (struct dir *)((char *)t - offsetof(struct dir, timer));
    struct end *e = &d->link->end[1 - d->from];
    uint64_t now = mirage_clock_monotonic();
    int any = 0;

    while (d->head && d->head->at <= now) {
        struct frame *f = d->head;
        d->head = f->next;
        if (d->head)
            d->head->prev = NULL;
        else
            d->tail = NULL;
        d->in_flight--;
        if (e->rx_count >= RXQ_MAX) {
            d->st.overflowed++;
            free(f);
            continue;
        }
        f->next = NULL;
        if (e->rx_tail)
            e->rx_tail->next = f;
        else
            e->rx_head = f;
        e->rx_tail = f;
        e->rx_count++;
        d->st.delivered++;
        any = 1;
    }
    if (any)
        mirage_cond_broadcast(&e->cond);
    arm(d);
}

static struct frame *copy_frame(const uint8_t *data, size_t len)
{
    struct frame *f = malloc(sizeof(*f) + (len ? len : 1));
    if (f == NULL)
        return NULL;
    memcpy(f->data, data, len);
    f->len = len;
    return f;
}

static int ep_write(void *ctx, const uint8_t *frame, size_t len)
{
    struct end *e = ctx;
    struct simlink *l = e->link;
    struct dir *d = &l->dir[e->side];
    const struct simlink_config *c = &l->cfg;
    uint64_t now = mirage_clock_monotonic(), ser = 0, base;
    int copies = 1;

    if (len > (size_t)c->mtu + 14)
        return MIRAGE_EINVAL;
    d->st.written++;
    if (l->filter && l->filter(l->filter_ctx, e->side, frame, len)) {
        d->st.filtered++;
        return 0;
    }
    if (chance(l, c->drop_ppm)) {
        d->st.dropped++;
        return 0;
    }
    if (d->in_flight >= c->queue_max) {
        d->st.overflowed++;
        return 0;
    }
    if (c->rate_bps)
        ser = (uint64_t)((unsigned __int128)len * 8u * 1000000000u / c->rate_bps);
    d->busy_until = (d->busy_until > now ? d->busy_until : now) + ser;
    base = d->busy_until + c->delay_ns;
    if (chance(l, c->dup_ppm)) {
        d->st.duplicated++;
        copies = 2;
    }
    for (int i = 0; i < copies; i++) {
        struct frame *f = copy_frame(frame, len);
        if (f == NULL)
            return MIRAGE_ENOMEM;
        f->at = base + below(l, c->jitter_ns + 1);
        if (chance(l, c->corrupt_ppm) && len > 0) {
            uint64_t bit = below(l, (uint64_t)len * 8);
            f->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            d->st.corrupted++;
        }
        if (chance(l, c->reorder_ppm)) {
            f->at += c->reorder_ns ? c->reorder_ns : 2 * c->delay_ns + MIRAGE_MS(1);
            d->st.reordered++;
        }
        insert(d, f);
    }
    if (d->head && (!mirage_timer_pending(&d->timer) || d->timer.deadline != d->head->at))
        arm(d);
    return 0;
}

static int ep_readv(void *ctx, struct mirage_frame *frames, size_t n, size_t *got)
{
    struct end *e = ctx;
    size_t k = 0;

    while (k < n && e->rx_head) {
        struct frame *f = e->rx_head;
        size_t len = f->len <= frames[k].cap ? f->len : frames[k].cap;
        memcpy(frames[k].buf, f->data, len);
        frames[k].len = len;
        e->rx_head = f->next;
        if (e->rx_head == NULL)
            e->rx_tail = NULL;
        e->rx_count--;
        free(f);
        k++;
    }
    *got = k;
    return k ? 0 : MIRAGE_EAGAIN;
}

static int ep_wait(void *ctx, uint64_t deadline)
{
    struct end *e = ctx;

    if (e->rx_head)
        return 0;
    return mirage_cond_wait(&e->cond, deadline);
}

static const struct mirage_netif_ops link_ops = {ep_write, ep_readv, ep_wait};

static void normalise(struct simlink_config *c)
{
    if (c->queue_max == 0)
        c->queue_max = 4096;
    if (c->mtu == 0)
        c->mtu = 1500;
}

struct simlink *simlink_new(const struct simlink_config *cfg)
{
    struct simlink *l = calloc(1, sizeof(*l));
    static const char *names[2] = {"link0", "link1"};

    if (l == NULL)
        return NULL;
    l->cfg = *cfg;
    normalise(&l->cfg);
    l->rng = cfg->seed;
    for (int s = 0; s < 2; s++) {
        struct end *e = &l->end[s];
        l->dir[s].link = l;
        l->dir[s].from = s;
        e->link = l;
        e->side = s;
        e->nif.name = names[s];
        e->nif.handle = 62 - (mirage_handle_t)s;
        e->nif.info.mtu = l->cfg.mtu;
        memcpy(e->nif.info.mac, (uint8_t[6]){0x02, 0, 0, 0, 0, (uint8_t)(s + 1)}, 6);
        e->nif.ops = &link_ops;
        e->nif.ops_ctx = e;
    }
    return l;
}

static void free_list(struct frame *f)
{
    while (f) {
        struct frame *n = f->next;
        free(f);
        f = n;
    }
}

void simlink_free(struct simlink *l)
{
    if (l == NULL)
        return;
    for (int s = 0; s < 2; s++) {
        mirage_netif_close(&l->end[s].nif);
        mirage_timer_stop(&l->dir[s].timer);
        free_list(l->dir[s].head);
        free_list(l->end[s].rx_head);
    }
    free(l);
}

struct mirage_netif *simlink_netif(struct simlink *l, int side)
{
    return &l->end[side ? 1 : 0].nif;
}

void simlink_set_config(struct simlink *l, const struct simlink_config *cfg)
{
    uint16_t mtu = l->cfg.mtu;
    uint64_t seed = l->cfg.seed;

    l->cfg = *cfg;
    l->cfg.mtu = mtu;
    l->cfg.seed = seed;
    normalise(&l->cfg);
}

void simlink_set_filter(struct simlink *l, simlink_filter_fn fn, void *ctx)
{
    l->filter = fn;
    l->filter_ctx = ctx;
}

void simlink_stats(const struct simlink *l, int side, struct simlink_stats *st)
{
    *st = l->dir[side ? 1 : 0].st;
}

size_t simlink_pending(const struct simlink *l)
{
    return l->dir[0].in_flight + l->dir[1].in_flight + l->end[0].rx_count + l->end[1].rx_count;
}

/* Unit tests link no binding; a platform device is never used with the link. */
__attribute__((weak)) int mirage_net_write(mirage_handle_t h, const uint8_t *buf, size_t size)
{
    (void)h, (void)buf, (void)size;
    return MIRAGE_EINVAL;
}

__attribute__((weak)) int mirage_net_writev(mirage_handle_t h, const struct mirage_frame *frames,
                                            size_t n, size_t *sent)
{
    (void)h, (void)frames, (void)n;
    *sent = 0;
    return MIRAGE_EINVAL;
}

__attribute__((weak)) int mirage_net_set_offloads(mirage_handle_t h, uint32_t offloads)
{
    (void)h, (void)offloads;
    return MIRAGE_EINVAL;
}

__attribute__((weak)) int mirage_net_readv(mirage_handle_t h, struct mirage_frame *frames, size_t n,
                                           size_t *got)
{
    (void)h, (void)frames, (void)n;
    *got = 0;
    return MIRAGE_EINVAL;
}

__attribute__((weak)) int mirage_net_stats(mirage_handle_t h, struct mirage_net_stats *st)
{
    (void)h, (void)st;
    return MIRAGE_EINVAL;
}
