/* tcp_harness.h: two TCP instances joined by a seeded IP-level link (loss, reordering, duplication,
 * corruption, delay, a bandwidth limit and a drop-tail queue) in the fake platform's virtual time.
 */
#ifndef TCP_HARNESS_H
#define TCP_HARNESS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/sched.h"
#include "mirage/tcp.h"
#include "mirage/time.h"

/* The runtime's generator mixes in the command line; tests have none. */
const char *mirage_cmdline(void)
{
    return "";
}

struct link_params {
    double loss, dup, corrupt, reorder; /* probabilities per segment */
    uint64_t delay;                     /* one-way propagation, ns */
    uint64_t jitter;                    /* extra delay of a reordered segment, ns */
    uint64_t rate;                      /* bits per second; 0: unlimited */
    uint64_t queue;                     /* most ns a segment may wait for the wire */
};

struct link_dir {
    struct link_params p;
    uint64_t next_free;
    uint64_t last_at; /* a link keeps order: equal times would let the timer heap reorder */
    uint64_t sent, dropped, dups, corrupted, reordered, queue_drops;
    int down; /* drop everything */
};

struct harness;

struct endpoint {
    struct harness *h;
    int idx;
    struct mirage_tcp *tcp;
    struct mirage_ipaddr addr;
    /* the last segment this endpoint sent, for tests that forge segments */
    uint8_t last[1600];
    size_t last_len;
};

struct pkt {
    struct mirage_timer tm;
    struct harness *h;
    struct pkt *prev, *next;
    int to;
    size_t len;
    uint8_t data[];
};

struct harness {
    struct endpoint ep[2];
    struct link_dir dir[2]; /* dir[i]: from ep[i] to ep[1 - i] */
    uint64_t rng;
    size_t mtu;
    struct pkt *flight;
    void (*tap)(struct harness *h, int from, const uint8_t *seg, size_t len);
    uint8_t txbuf[70000]; /* not on the stack: fibers have small stacks */
};

static uint64_t h_rand(struct harness *h)
{
    uint64_t x = h->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    h->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

static double h_uniform(struct harness *h)
{
    return (double)(h_rand(h) >> 11) / 9007199254740992.0;
}

static void h_deliver(struct mirage_timer *t)
{
    struct pkt *p = (struct pkt *)t;
    struct harness *h = p->h;
    struct endpoint *to = &h->ep[p->to];

    if (p->prev)
        p->prev->next = p->next;
    else
        h->flight = p->next;
    if (p->next)
        p->next->prev = p->prev;
    mirage_tcp_input(to->tcp, &h->ep[1 - p->to].addr, &to->addr, p->data, p->len);
    free(p);
}

static void h_schedule(struct harness *h, int to, const uint8_t *data, size_t len, uint64_t at)
{
    struct pkt *p = malloc(sizeof(*p) + len);

    memset(p, 0, sizeof(*p));
    p->h = h;
    p->to = to;
    p->len = len;
    memcpy(p->data, data, len);
    p->next = h->flight;
    if (h->flight)
        h->flight->prev = p;
    h->flight = p;
    mirage_timer_start(&p->tm, at, h_deliver);
}

static int h_write(void *ctx, const struct mirage_ipaddr *src, const struct mirage_ipaddr *dst,
                   size_t size, mirage_fill_fn fill, void *fill_ctx)
{
    struct endpoint *e = ctx;
    struct harness *h = e->h;
    struct link_dir *d = &h->dir[e->idx];
    uint8_t *buf = h->txbuf;
    uint64_t now = mirage_clock_monotonic(), start, at;
    int n;

    (void)src;
    (void)dst;
    if (size > sizeof(h->txbuf))
        return MIRAGE_EMSGSIZE;
    n = fill(fill_ctx, buf, size);
    if (n < 0)
        return n;
    if ((size_t)n <= sizeof(e->last)) {
        memcpy(e->last, buf, (size_t)n);
        e->last_len = (size_t)n;
    }
    if (h->tap)
        h->tap(h, e->idx, buf, (size_t)n);
    d->sent++;
    if (d->down || h_uniform(h) < d->p.loss) {
        d->dropped++;
        return 0;
    }
    start = d->next_free > now ? d->next_free : now;
    if (d->p.queue && start - now > d->p.queue) {
        d->queue_drops++;
        return 0;
    }
    if (d->p.rate)
        d->next_free = start + (uint64_t)n * 8u * 1000000000u / d->p.rate;
    else
        d->next_free = start;
    at = d->next_free + d->p.delay;
    if (at <= d->last_at)
        at = d->last_at + 1;
    d->last_at = at;
    if (d->p.reorder > 0 && h_uniform(h) < d->p.reorder) {
        d->reordered++;
        at += d->p.jitter;
    }
    if (d->p.corrupt > 0 && h_uniform(h) < d->p.corrupt) {
        d->corrupted++;
        buf[h_rand(h) % (uint64_t)n] ^= (uint8_t)(1u << (h_rand(h) % 8));
    }
    h_schedule(h, 1 - e->idx, buf, (size_t)n, at);
    if (d->p.dup > 0 && h_uniform(h) < d->p.dup) {
        d->dups++;
        h_schedule(h, 1 - e->idx, buf, (size_t)n, at + d->p.delay / 2 + 1000);
    }
    return 0;
}

static int h_src(void *ctx, const struct mirage_ipaddr *dst, struct mirage_ipaddr *src)
{
    struct endpoint *e = ctx;
    (void)dst;
    *src = e->addr;
    return 0;
}

static size_t h_mtu(void *ctx, const struct mirage_ipaddr *dst)
{
    struct endpoint *e = ctx;
    (void)dst;
    return e->h->mtu - 20;
}

/* Sets up A = 10.0.0.1 (ep[0]) and B = 10.0.0.2 (ep[1]) with the same
 * config (cfg may be NULL) and link parameters both ways. */
static void harness_init(struct harness *h, uint64_t seed, const struct mirage_tcp_config *cfg,
                         const struct link_params *lp)
{
    memset(h, 0, sizeof(*h));
    h->rng = seed * 0x9e3779b97f4a7c15ull + 1;
    h->mtu = 1500;
    for (int i = 0; i < 2; i++) {
        struct endpoint *e = &h->ep[i];
        struct mirage_tcp_ip ip = {e, h_write, h_src, h_mtu, NULL, NULL, NULL, NULL};
        e->h = h;
        e->idx = i;
        e->addr = mirage_ipv4_addr(10, 0, 0, (uint8_t)(i + 1));
        e->tcp = mirage_tcp_new(&ip, cfg);
        if (lp)
            h->dir[i].p = *lp;
    }
}

/* Drops what is still on the wire and frees both instances. */
static void harness_free(struct harness *h)
{
    while (h->flight) {
        struct pkt *p = h->flight;
        h->flight = p->next;
        mirage_timer_stop(&p->tm);
        free(p);
    }
    for (int i = 0; i < 2; i++)
        mirage_tcp_free(h->ep[i].tcp);
}

/* The test stream: byte i of a transfer seeded (seed). */
static void stream_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t w = (off + i) >> 3, z = (w + seed) * 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z ^= z >> 27;
        buf[i] = (uint8_t)(z >> (8 * ((off + i) & 7)));
    }
}

#endif
