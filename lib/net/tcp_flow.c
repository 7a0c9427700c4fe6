/* tcp_flow.c: a connection as the application's flow: read, writev, shutdown, close; options,
 * stats. */
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/time.h"
#include "tcp_internal.h"

static struct tcp_conn *conn_of(struct mirage_flow *f)
{
    return (struct tcp_conn *)f;
}

/* After the application read: tell the peer when the window opened by half
 * the buffer, or by two segments and at least doubled (Linux's rule beside
 * RFC 1122 4.2.3.3's receiver SWS avoidance). A peer that still has as much
 * room as the update would add learns the new edge from the ACK of its next
 * segment: an update per small read was a segment (on a tap, a system call)
 * per read. */
static void maybe_window_update(struct tcp_conn *c)
{
    uint32_t advertised, now, opened;

    if (c->tcp == NULL || c->state < TCP_ESTABLISHED || c->state == TCP_TIME_WAIT || c->fin_rcvd)
        return;
    advertised = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    now = c->rcv_nxt - c->rcv.len + c->rcv_cap - c->rcv_nxt;
    if (now <= advertised)
        return;
    opened = now - advertised;
    if ((opened >= 2u * c->mss && opened >= advertised) || opened >= c->rcv_cap / 2)
        tcp_send_ack(c);
}

/* The receive buffer goes back to the stack's pool (or is freed once the
 * stack is gone); the next segment takes a new one. */
static void rcv_release(struct tcp_conn *c)
{
    if (c->tcp)
        tcp_buf_put(c->tcp, c->rcv.buf, c->rcv.cap);
    else
        free(c->rcv.buf);
    c->rcv.buf = NULL;
    c->rcv.start = 0;
}

static int tcp_read(struct mirage_flow *f, void *buf, size_t cap, size_t *got, uint64_t deadline)
{
    struct tcp_conn *c = conn_of(f);

    *got = 0;
    for (;;) {
        if (c->rcv.len > 0 && cap > 0) {
            uint32_t n = cap < c->rcv.len ? (uint32_t)cap : c->rcv.len;
            tcp_ring_copy_out(&c->rcv, 0, buf, n);
            c->rcv.start = (c->rcv.start + n) % c->rcv.cap;
            c->rcv.len -= n;
            if (c->rcv.len == 0 && c->ooo.n == 0) {
                c->rcv_drained = 1;
                /* Idle connections hold no buffer; one whose window grew
                 * keeps its ring rather than build it again every burst,
                 * from its start again: data that passes through it then
                 * stays in its first pages (in the cache, and on a host
                 * that maps memory lazily, faulted in once) instead of
                 * walking all of a 4 MiB ring. */
                if (c->tcp == NULL || c->rcv_cap <= c->tcp->cfg.rcvbuf)
                    rcv_release(c);
                else
                    c->rcv.start = 0;
            }
            *got = n;
            maybe_window_update(c);
            return 0;
        }
        if (c->rd_shut || c->fin_rcvd)
            return 0;
        if (c->err)
            return c->err;
        if (c->state == TCP_CLOSED || c->tcp == NULL)
            return MIRAGE_ENOTCONN;
        /* The first fiber to wait offers its buffer to the next in-order
         * bytes (tcp_input.c's give_reader); what it got is its read, even
         * when the wait ended otherwise (a deadline, cancellation). */
        struct tcp_reader rd = {buf, cap < UINT32_MAX ? (uint32_t)cap : UINT32_MAX, 0};
        int mine = c->reader == NULL;
        if (mine)
            c->reader = &rd;
        int r = mirage_cond_wait(&c->rd_cond, deadline);
        if (mine)
            c->reader = NULL;
        if (rd.got > 0) {
            *got = rd.got;
            return 0;
        }
        if (r != 0)
            return r;
    }
}

static int writable(const struct tcp_conn *c)
{
    if (c->err)
        return c->err;
    if (c->wr_shut)
        return MIRAGE_EPIPE;
    if (c->tcp == NULL || (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
        return MIRAGE_ENOTCONN;
    return 0;
}

/* The send buffer's size limit now. */
static uint32_t snd_limit(const struct tcp_conn *c)
{
    uint64_t v = (uint64_t)c->tcp->cfg.sndbuf << c->snd_grow;

    return v < c->tcp->cfg.sndbuf_max ? (uint32_t)v : (uint32_t)c->tcp->cfg.sndbuf_max;
}

/* The writer found the buffer full though all of it is on the wire (but a
 * segment's tail Nagle holds) and both
 * the peer's window and cwnd have room for more: the buffer holds the
 * transfer back. Doubles its limit (up to cfg.sndbuf_max); 1 when it did. */
static int snd_autotune(struct tcp_conn *c)
{
    uint32_t flight = c->snd_nxt - c->snd_una;

    if (snd_limit(c) >= c->tcp->cfg.sndbuf_max || c->snd.len > flight + c->mss ||
        c->snd_wnd <= flight || c->cwnd <= flight)
        return 0;
    c->snd_grow++;
    return 1;
}

static int tcp_writev(struct mirage_flow *f, const struct mirage_iovec *iov, size_t n,
                      uint64_t deadline)
{
    struct tcp_conn *c = conn_of(f);

    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = iov[i].base;
        size_t left = iov[i].len;

        while (left > 0) {
            int r = writable(c);
            if (r != 0)
                return r;
            uint32_t max = snd_limit(c);
            if (c->snd.buf == NULL || (c->snd.len + left > c->snd.cap && c->snd.cap < max)) {
                uint32_t need = c->snd.len + left < max ? c->snd.len + (uint32_t)left : max;
                if (c->snd.buf == NULL)
                    c->snd.len = c->snd.start = 0;
                /* Short of memory with data queued: wait for the peer to take it. */
                if (tcp_ring_reserve(c->tcp, &c->snd, need, max, c->snd.len) != 0 &&
                    c->snd.buf == NULL)
                    return MIRAGE_ENOMEM;
            }
            uint32_t space = c->snd.cap - c->snd.len;
            if (space == 0) {
                tcp_output(c);
                if (snd_autotune(c))
                    continue;
                r = mirage_cond_wait(&c->wr_cond, deadline);
                if (r != 0)
                    return r;
                continue;
            }
            uint32_t k = left < space ? (uint32_t)left : space;
            tcp_ring_copy_in(&c->snd, c->snd.len, p, k);
            c->snd.len += k;
            p += k;
            left -= k;
        }
    }
    if (c->tcp && c->state != TCP_CLOSED)
        tcp_push(c);
    return 0;
}

static int tcp_shutdown(struct mirage_flow *f, int how)
{
    struct tcp_conn *c = conn_of(f);

    if (how < MIRAGE_SHUT_RD || how > MIRAGE_SHUT_RDWR)
        return MIRAGE_EINVAL;
    if (how & MIRAGE_SHUT_RD) {
        c->rd_shut = 1;
        if (c->rcv.buf) {
            /* Out-of-order ranges stay: the peer was told they arrived. */
            c->rcv.len = 0;
            rcv_release(c);
        }
        tcp_rd_wake(c);
    }
    if ((how & MIRAGE_SHUT_WR) && !c->wr_shut) {
        c->wr_shut = 1;
        c->corked = 0;
        if (c->state == TCP_ESTABLISHED)
            c->state = TCP_FIN_WAIT_1;
        else if (c->state == TCP_CLOSE_WAIT)
            c->state = TCP_LAST_ACK;
        if (c->tcp && c->state != TCP_CLOSED)
            tcp_output(c);
        mirage_cond_broadcast(&c->wr_cond);
    }
    return c->tcp == NULL || c->state == TCP_CLOSED ? (c->err ? c->err : MIRAGE_ENOTCONN) : 0;
}

static void tcp_close(struct mirage_flow *f)
{
    struct tcp_conn *c = conn_of(f);

    c->released = 1;
    c->rd_fn = NULL;
    if (c->tcp == NULL || c->state == TCP_CLOSED) {
        tcp_conn_close(c, 0); /* frees it */
        return;
    }
    if (c->rcv.len > 0 || c->ooo.n > 0 || c->state < TCP_ESTABLISHED) {
        /* Unread data would be lost silently: the peer must learn it (RFC 2525 2.17). */
        tcp_conn_abort(c, MIRAGE_ECONNRESET);
        return;
    }
    c->rd_shut = 1;
    if (!c->wr_shut)
        tcp_shutdown(f, MIRAGE_SHUT_WR);
    if (c->state == TCP_FIN_WAIT_2 && !mirage_timer_pending(&c->rtx_timer))
        mirage_timer_start(&c->rtx_timer, mirage_deadline_in(2 * c->tcp->cfg.msl),
                           tcp_rtx_timer_fire);
}

void tcp_rd_wake(struct tcp_conn *c)
{
    void (*fn)(void *) = c->rd_fn;

    mirage_cond_broadcast(&c->rd_cond);
    if (fn != NULL) {
        c->rd_fn = NULL;
        fn(c->rd_ctx);
    }
}

/* Whether tcp_read would return at once. */
static int tcp_readable(const struct tcp_conn *c)
{
    return c->rcv.len > 0 || c->rd_shut || c->fin_rcvd || c->err || c->state == TCP_CLOSED ||
           c->tcp == NULL;
}

static int tcp_on_readable(struct mirage_flow *f, void (*fn)(void *ctx), void *ctx)
{
    struct tcp_conn *c = conn_of(f);

    c->rd_fn = NULL;
    if (fn == NULL)
        return 0;
    if (tcp_readable(c))
        return 1;
    c->rd_fn = fn;
    c->rd_ctx = ctx;
    return 0;
}

static const struct mirage_flow_ops tcp_flow_ops = {tcp_read, tcp_writev, tcp_shutdown, tcp_close,
                                                    tcp_on_readable};

const struct mirage_flow_ops *tcp_flow_ops_get(void)
{
    return &tcp_flow_ops;
}

int mirage_tcp_is_flow(const struct mirage_flow *f)
{
    return f != NULL && f->ops == &tcp_flow_ops;
}

int mirage_tcp_set_nodelay(struct mirage_flow *f, int on)
{
    if (!mirage_tcp_is_flow(f))
        return MIRAGE_EINVAL;
    struct tcp_conn *c = conn_of(f);
    c->nodelay = on != 0;
    if (on && c->tcp && c->state != TCP_CLOSED)
        tcp_output(c);
    return 0;
}

int mirage_tcp_set_keepalive(struct mirage_flow *f, uint64_t after, uint64_t interval,
                             unsigned probes)
{
    if (!mirage_tcp_is_flow(f))
        return MIRAGE_EINVAL;
    struct tcp_conn *c = conn_of(f);
    c->ka_after = after;
    c->ka_interval = interval ? interval : MIRAGE_SEC(75);
    c->ka_probes = probes ? probes : 9;
    mirage_timer_stop(&c->ka_timer);
    if (c->tcp)
        tcp_keepalive_reset(c);
    return 0;
}

int mirage_tcp_set_user_timeout(struct mirage_flow *f, uint64_t ns)
{
    if (!mirage_tcp_is_flow(f))
        return MIRAGE_EINVAL;
    struct tcp_conn *c = conn_of(f);
    c->user_timeout = ns ? ns : (c->tcp ? c->tcp->cfg.user_timeout : 0);
    if (c->tcp && mirage_timer_pending(&c->rtx_timer) && c->state >= TCP_ESTABLISHED &&
        c->state != TCP_TIME_WAIT && c->state != TCP_FIN_WAIT_2)
        tcp_arm_rto(c);
    return 0;
}

int mirage_tcp_conn_stats(const struct mirage_flow *f, struct mirage_tcp_conn_stats *st)
{
    if (!mirage_tcp_is_flow(f))
        return MIRAGE_EINVAL;
    const struct tcp_conn *c = (const struct tcp_conn *)f;
    *st = c->st;
    st->state = c->state;
    st->mss = c->mss;
    st->cwnd = c->cwnd;
    st->ssthresh = c->ssthresh;
    st->snd_wnd = c->snd_wnd;
    st->rcv_wnd = c->rcv_nxt - c->rcv.len + c->rcv_cap - c->rcv_nxt;
    st->srtt_ns = c->srtt;
    st->rto_ns = c->rto;
    return 0;
}

const char *mirage_tcp_state_name(int state)
{
    static const char *const names[] = {
        "CLOSED",     "LISTEN",     "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
        "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",  "LAST-ACK",     "TIME-WAIT",
    };
    if (state < 0 || state > TCP_TIME_WAIT)
        return "?";
    return names[state];
}
