/* pair.c: in-memory flows for tests: two connected ends, and a flow that reads from a buffer. */
#include "pair.h"

#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/sched.h"

struct end {
    struct mirage_flow flow;
    struct end *peer; /* NULL once the peer has closed */
    uint8_t *buf;     /* what the peer wrote and we have not read */
    size_t cap, start, len;
    int eof; /* the peer shut down its writing */
    int wr_shut;
    uint64_t written;
    struct mirage_cond rd, wr;
    void (*notify)(void *ctx); /* on_readable's registration */
    void *notify_ctx;
};

/* Data, the end or a reset reached (e): a read would not wait any more. */
static void readable(struct end *e)
{
    void (*fn)(void *) = e->notify;

    mirage_cond_broadcast(&e->rd);
    if (fn != NULL) {
        e->notify = NULL;
        fn(e->notify_ctx);
    }
}

static int end_read(struct mirage_flow *f, void *buf, size_t cap, size_t *got, uint64_t deadline)
{
    struct end *e = (struct end *)f;

    *got = 0;
    for (;;) {
        if (e->len > 0) {
            size_t n = cap < e->len ? cap : e->len;
            for (size_t i = 0; i < n; i++)
                ((uint8_t *)buf)[i] = e->buf[(e->start + i) % e->cap];
            e->start = (e->start + n) % e->cap;
            e->len -= n;
            *got = n;
            mirage_cond_broadcast(&e->wr);
            return 0;
        }
        if (e->eof)
            return 0;
        if (e->peer == NULL)
            return MIRAGE_ECONNRESET;
        int r = mirage_cond_wait(&e->rd, deadline);
        if (r != 0)
            return r;
    }
}

static int end_writev(struct mirage_flow *f, const struct mirage_iovec *iov, size_t n,
                      uint64_t deadline)
{
    struct end *e = (struct end *)f;

    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = iov[i].base;
        size_t left = iov[i].len;
        while (left > 0) {
            struct end *q = e->peer;
            if (e->wr_shut)
                return MIRAGE_EPIPE;
            if (q == NULL)
                return MIRAGE_ECONNRESET;
            if (q->len == q->cap) {
                int r = mirage_cond_wait(&q->wr, deadline);
                if (r != 0)
                    return r;
                continue;
            }
            size_t k = q->cap - q->len < left ? q->cap - q->len : left;
            for (size_t j = 0; j < k; j++)
                q->buf[(q->start + q->len + j) % q->cap] = p[j];
            q->len += k;
            p += k;
            left -= k;
            e->written += k;
            readable(q);
        }
    }
    return 0;
}

static int end_shutdown(struct mirage_flow *f, int how)
{
    struct end *e = (struct end *)f;

    if (how < MIRAGE_SHUT_RD || how > MIRAGE_SHUT_RDWR)
        return MIRAGE_EINVAL;
    if ((how & MIRAGE_SHUT_WR) && !e->wr_shut) {
        e->wr_shut = 1;
        if (e->peer) {
            e->peer->eof = 1;
            readable(e->peer);
        }
    }
    return 0;
}

static void end_close(struct mirage_flow *f)
{
    struct end *e = (struct end *)f;

    if (e->peer) {
        e->peer->eof = 1;
        e->peer->peer = NULL;
        mirage_cond_broadcast(&e->peer->wr);
        readable(e->peer);
    }
    mirage_cond_broadcast(&e->wr);
    free(e->buf);
    free(e);
}

static int end_on_readable(struct mirage_flow *f, void (*fn)(void *ctx), void *ctx)
{
    struct end *e = (struct end *)f;

    if (fn != NULL && (e->len > 0 || e->eof || e->peer == NULL)) {
        e->notify = NULL;
        return 1;
    }
    e->notify = fn;
    e->notify_ctx = ctx;
    return 0;
}

static const struct mirage_flow_ops end_ops = {.read = end_read,
                                               .writev = end_writev,
                                               .shutdown = end_shutdown,
                                               .close = end_close,
                                               .on_readable = end_on_readable};

static struct end *end_new(size_t cap)
{
    struct end *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    e->buf = malloc(cap);
    if (e->buf == NULL) {
        free(e);
        return NULL;
    }
    e->flow.ops = &end_ops;
    e->cap = cap;
    return e;
}

int flow_pair_new(size_t cap, struct mirage_flow **a, struct mirage_flow **b)
{
    struct end *x, *y;

    if (cap == 0)
        return MIRAGE_EINVAL;
    x = end_new(cap);
    y = end_new(cap);
    if (x == NULL || y == NULL) {
        if (x)
            end_close(&x->flow);
        if (y)
            end_close(&y->flow);
        return MIRAGE_ENOMEM;
    }
    x->peer = y;
    y->peer = x;
    *a = &x->flow;
    *b = &y->flow;
    return 0;
}

struct feed {
    struct mirage_flow flow;
    const uint8_t *data;
    size_t len, off, chunk;
    uint64_t written;
};

static int feed_read(struct mirage_flow *f, void *buf, size_t cap, size_t *got, uint64_t deadline)
{
    struct feed *d = (struct feed *)f;
    size_t n = d->len - d->off;

    (void)deadline;
    if (n > cap)
        n = cap;
    if (n > d->chunk)
        n = d->chunk;
    memcpy(buf, d->data + d->off, n);
    d->off += n;
    *got = n;
    return 0;
}

static int feed_writev(struct mirage_flow *f, const struct mirage_iovec *iov, size_t n,
                       uint64_t deadline)
{
    struct feed *d = (struct feed *)f;

    (void)deadline;
    for (size_t i = 0; i < n; i++)
        d->written += iov[i].len;
    return 0;
}

static int feed_shutdown(struct mirage_flow *f, int how)
{
    (void)f;
    (void)how;
    return 0;
}

static void feed_close(struct mirage_flow *f)
{
    free(f);
}

static const struct mirage_flow_ops feed_ops = {
    .read = feed_read, .writev = feed_writev, .shutdown = feed_shutdown, .close = feed_close};

struct mirage_flow *flow_feed_new(const uint8_t *data, size_t len, size_t chunk)
{
    struct feed *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    d->flow.ops = &feed_ops;
    d->data = data;
    d->len = len;
    d->chunk = chunk ? chunk : 1;
    return &d->flow;
}

uint64_t flow_pair_written(struct mirage_flow *f)
{
    if (f->ops == &end_ops)
        return ((struct end *)f)->written;
    if (f->ops == &feed_ops)
        return ((struct feed *)f)->written;
    return 0;
}
