/* tcp_listen.c: listeners: passive opens, a bounded backlog, SYN cookies when it is full, accept.
 */
#include <string.h>

#include "mirage/error.h"
#include "mirage/time.h"
#include "tcp_internal.h"

#define BACKLOG_DEFAULT 128
#define BACKLOG_MAX     65535

struct tcp_listener *tcp_listener_find(struct mirage_tcp *t, uint16_t port)
{
    for (struct tcp_listener *l = t->listeners; l; l = l->next)
        if (l->port == port)
            return l;
    return NULL;
}

int mirage_tcp_listener_open(struct mirage_tcp *t, uint16_t port,
                             const struct mirage_tcp_listen_opts *opts,
                             struct mirage_tcp_listener **out)
{
    struct tcp_listener *l;

    *out = NULL;
    if (port == 0)
        return MIRAGE_EINVAL;
    if (tcp_listener_find(t, port))
        return MIRAGE_EADDRINUSE;
    l = tcp_alloc(t, sizeof(*l));
    if (l == NULL)
        return MIRAGE_ENOMEM;
    l->tcp = t;
    l->port = port;
    if (opts)
        l->opts = *opts;
    l->backlog = l->opts.backlog ? l->opts.backlog : BACKLOG_DEFAULT;
    if (l->backlog > BACKLOG_MAX)
        l->backlog = BACKLOG_MAX;
    if (l->opts.keepalive_after && l->opts.keepalive_interval == 0)
        l->opts.keepalive_interval = MIRAGE_SEC(75);
    if (l->opts.keepalive_after && l->opts.keepalive_probes == 0)
        l->opts.keepalive_probes = 9;
    l->next = t->listeners;
    t->listeners = l;
    *out = &l->base;
    return 0;
}

static void unlink_q(struct tcp_conn **head, struct tcp_conn **tail, struct tcp_conn *c)
{
    struct tcp_conn *prev = NULL;

    for (struct tcp_conn *p = *head; p; prev = p, p = p->qnext) {
        if (p != c)
            continue;
        if (prev)
            prev->qnext = c->qnext;
        else
            *head = c->qnext;
        if (tail && *tail == c)
            *tail = prev;
        c->qnext = NULL;
        return;
    }
}

void tcp_listener_detach(struct tcp_conn *c)
{
    struct tcp_listener *l = c->listener;

    if (l == NULL)
        return;
    if (c->queued == 1) {
        unlink_q(&l->syn_q, NULL, c);
        l->half_open--;
    } else if (c->queued == 2) {
        unlink_q(&l->acc_head, &l->acc_tail, c);
        l->ready--;
    }
    c->queued = 0;
    c->listener = NULL;
}

void tcp_listener_uncount(struct tcp_conn *c)
{
    if (c->origin) {
        c->origin->live--;
        c->origin = NULL;
    }
}

/* (c), new from (l), counts toward l's limit. */
static void count(struct tcp_listener *l, struct tcp_conn *c)
{
    c->origin = l;
    l->live++;
}

/* Whether (l) may take one more connection; a refusal is counted. */
static int admit(struct tcp_listener *l)
{
    if (l->opts.max_conns == 0 || l->live < l->opts.max_conns)
        return 1;
    l->tcp->st.limit_refusals++;
    return 0;
}

void tcp_listener_established(struct tcp_conn *c)
{
    struct tcp_listener *l = c->listener;

    if (l == NULL) { /* our own SYN crossed the peer's: connect() waits */
        mirage_cond_broadcast(&c->wr_cond);
        return;
    }
    unlink_q(&l->syn_q, NULL, c);
    l->half_open--;
    c->qnext = NULL;
    if (l->acc_tail)
        l->acc_tail->qnext = c;
    else
        l->acc_head = c;
    l->acc_tail = c;
    c->queued = 2;
    l->ready++;
    mirage_cond_signal(&l->cond);
}

int mirage_tcp_listener_accept(struct mirage_tcp_listener *base, struct mirage_flow **out,
                               struct mirage_ipaddr *peer, uint16_t *peer_port, uint64_t deadline)
{
    struct tcp_listener *l = (struct tcp_listener *)base;

    *out = NULL;
    for (;;) {
        struct tcp_conn *c = l->acc_head;
        if (c) {
            l->acc_head = c->qnext;
            if (l->acc_head == NULL)
                l->acc_tail = NULL;
            c->qnext = NULL;
            l->ready--;
            c->queued = 0;
            c->listener = NULL;
            c->accepted = 1;
            c->released = 0;
            if (peer)
                *peer = c->remote;
            if (peer_port)
                *peer_port = c->rport;
            *out = &c->flow;
            return 0;
        }
        int r = mirage_cond_wait(&l->cond, deadline);
        if (r != 0)
            return r;
    }
}

void mirage_tcp_listener_close(struct mirage_tcp_listener *base)
{
    struct tcp_listener *l = (struct tcp_listener *)base;
    struct mirage_tcp *t = l->tcp;

    for (struct tcp_listener **p = &t->listeners; *p; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            break;
        }
    }
    /* Connections no one accepted: reset, and their memory goes too. */
    while (l->syn_q)
        tcp_conn_abort(l->syn_q, MIRAGE_ECONNRESET);
    while (l->acc_head)
        tcp_conn_abort(l->acc_head, MIRAGE_ECONNRESET);
    for (struct tcp_conn *c = t->all; c && l->live > 0; c = c->all_next)
        if (c->origin == l)
            tcp_listener_uncount(c);
    tcp_free_mem(t, l, sizeof(*l));
}

/* ---- SYN cookies ---------------------------------------------------------------
 * When the backlog is full a SYN costs no memory: the SYN-ACK's sequence
 * number encodes what the connection needs, keyed so it cannot be forged:
 *   bits 31..27  a 64-second time slot (a cookie lives 64 to 128 s)
 *   bits 26..3   24 bits of SHA-256(key, 4-tuple, peer's ISN, slot)
 *   bits 2..0    the peer's MSS, as an index into mss_table
 * Window scale and SACK-permitted ride in the low 5 bits of our timestamp,
 * which the peer echoes; without timestamps the connection goes without. */
static const uint16_t mss_table[8] = {216, 536, 1200, 1360, 1440, 1452, 1460, 8960};

static uint32_t cookie_hash(struct mirage_tcp *t, const struct mirage_ipaddr *local, uint16_t lport,
                            const struct mirage_ipaddr *remote, uint16_t rport, uint32_t peer_isn,
                            uint32_t slot)
{
    uint8_t d[32];

    tcp_hash_tuple(t->cookie_key, local, lport, remote, rport, peer_isn ^ (slot << 27), d);
    return ((uint32_t)d[0] << 16 | (uint32_t)d[1] << 8 | d[2]) & 0xffffff;
}

static uint32_t time_slot(void)
{
    return (uint32_t)(mirage_clock_monotonic() / MIRAGE_SEC(64)) & 31;
}

static void send_cookie(struct tcp_listener *l, const struct mirage_ipaddr *src,
                        const struct mirage_ipaddr *dst, const struct mirage_tcp_seg *seg)
{
    struct mirage_tcp *t = l->tcp;
    struct tcp_out o = {0};
    unsigned idx = 0;
    uint32_t slot = time_slot();
    size_t mtu = t->ip.mtu(t->ip.ctx, src);
    uint16_t peer_mss = seg->mss ? seg->mss : 536;
    int wscale = tcp_wscale_for(t);

    for (unsigned i = 0; i < 8; i++)
        if (mss_table[i] <= peer_mss)
            idx = i;
    o.seq = slot << 27 |
            cookie_hash(t, dst, seg->dst_port, src, seg->src_port, seg->seq, slot) << 3 | idx;
    o.ack = seg->seq + 1;
    o.flags = MIRAGE_TCP_SYN | MIRAGE_TCP_ACK;
    o.syn_opts = 1;
    o.mss = (uint16_t)(mtu >= 20 + 536 ? (mtu - 20 > 65535 ? 65535 : mtu - 20) : 536);
    o.wnd = (uint16_t)(t->cfg.rcvbuf > 65535 ? 65535 : t->cfg.rcvbuf);
    o.wscale = -1;
    if (seg->has_ts && !t->cfg.no_timestamps) {
        uint32_t bits = 15;
        o.ts = 1;
        if (seg->wscale >= 0 && !t->cfg.no_wscale) {
            o.wscale = wscale;
            bits = (uint32_t)seg->wscale;
        }
        if (seg->sack_ok && !t->cfg.no_sack) {
            o.sack_ok = 1;
            bits |= 16;
        }
        uint32_t off = tcp_ts_offset(t, dst, seg->dst_port, src, seg->src_port);
        o.tsval = ((tcp_now_ms(t) + off) & ~31u) | bits;
        o.tsecr = seg->tsval;
    }
    t->st.syn_cookies_sent++;
    tcp_send_raw(t, dst, src, seg->dst_port, seg->src_port, &o);
}

/* A valid cookie in the ACK: the connection, established. NULL otherwise. */
static struct tcp_conn *take_cookie(struct tcp_listener *l, const struct mirage_ipaddr *src,
                                    const struct mirage_ipaddr *dst,
                                    const struct mirage_tcp_seg *seg)
{
    struct mirage_tcp *t = l->tcp;
    uint32_t cookie = seg->ack - 1, slot = cookie >> 27, now = time_slot();
    struct tcp_conn *c;

    if (((now - slot) & 31) > 1)
        return NULL;
    if (((cookie >> 3) & 0xffffff) !=
        cookie_hash(t, dst, seg->dst_port, src, seg->src_port, seg->seq - 1, slot))
        return NULL;
    c = tcp_conn_new(t);
    if (c == NULL)
        return NULL;
    c->local = *dst;
    c->remote = *src;
    c->lport = seg->dst_port;
    c->rport = seg->src_port;
    c->peer_mss = mss_table[cookie & 7];
    c->ts_offset = tcp_ts_offset(t, dst, seg->dst_port, src, seg->src_port);
    if (seg->has_ts && !t->cfg.no_timestamps) {
        uint32_t bits = seg->tsecr & 31;
        c->ts_ok = 1;
        c->ts_recent = seg->tsval;
        if ((bits & 15) != 15) {
            c->ws_ok = 1;
            c->snd_wscale = (uint8_t)(bits & 15);
        }
        c->sack_ok = (bits & 16) != 0;
    }
    if (!c->ws_ok)
        c->rcv_wscale = 0;
    c->iss = cookie;
    c->snd_una = seg->ack;
    c->snd_nxt = seg->ack;
    c->irs = seg->seq - 1;
    c->rcv_nxt = seg->seq;
    c->last_ack_sent = seg->seq;
    c->rcv_adv = seg->seq + (c->rcv_cap > 65535 ? 65535 : c->rcv_cap);
    c->snd_wnd = (uint32_t)seg->wnd << c->snd_wscale;
    c->max_snd_wnd = c->snd_wnd;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    c->state = TCP_ESTABLISHED;
    if (tcp_hash_insert(c) != 0) {
        tcp_conn_free(c);
        return NULL;
    }
    tcp_conn_setup(c);
    t->st.syn_cookies_accepted++;
    t->st.passive_opens++;
    return c;
}

static void inherit(struct tcp_conn *c, struct tcp_listener *l)
{
    c->ka_after = l->opts.keepalive_after;
    c->ka_interval = l->opts.keepalive_interval;
    c->ka_probes = l->opts.keepalive_probes;
    if (l->opts.user_timeout)
        c->user_timeout = l->opts.user_timeout;
}

/* RFC 9293 3.10.7.2, segments to a listening port. */
void tcp_listen_input(struct tcp_listener *l, const struct mirage_ipaddr *src,
                      const struct mirage_ipaddr *dst, const struct mirage_tcp_seg *seg)
{
    struct mirage_tcp *t = l->tcp;
    struct tcp_conn *c;

    if (seg->flags & MIRAGE_TCP_RST)
        return;
    if (seg->flags & MIRAGE_TCP_ACK) {
        if (!(seg->flags & MIRAGE_TCP_SYN) && l->ready < l->backlog && admit(l) &&
            (c = take_cookie(l, src, dst, seg)) != NULL) {
            count(l, c);
            inherit(c, l);
            c->listener = l;
            l->half_open++; /* tcp_listener_established moves it on */
            c->qnext = l->syn_q;
            l->syn_q = c;
            c->queued = 1;
            tcp_listener_established(c);
            tcp_keepalive_reset(c);
            if (seg->len || (seg->flags & MIRAGE_TCP_FIN))
                tcp_conn_input(c, seg);
            return;
        }
        tcp_send_rst_for(t, src, dst, seg);
        return;
    }
    if (!(seg->flags & MIRAGE_TCP_SYN) || (seg->flags & MIRAGE_TCP_FIN))
        return;
    if (!admit(l)) {
        tcp_send_rst_for(t, src, dst, seg); /* refused at once, not left to retry */
        return;
    }
    if (l->half_open + l->ready >= l->backlog) {
        if (l->ready >= l->backlog) {
            t->st.listen_drops++; /* nothing is accepted: let the peer retry */
            return;
        }
        send_cookie(l, src, dst, seg);
        return;
    }
    c = tcp_conn_new(t);
    if (c == NULL) {
        t->st.listen_drops++;
        return;
    }
    c->local = *dst;
    c->remote = *src;
    c->lport = seg->dst_port;
    c->rport = seg->src_port;
    if (tcp_hash_insert(c) != 0) {
        tcp_conn_free(c);
        return;
    }
    count(l, c);
    tcp_apply_syn_options(c, seg);
    inherit(c, l);
    c->irs = seg->seq;
    c->rcv_nxt = seg->seq + 1;
    c->last_ack_sent = c->rcv_nxt;
    c->iss = tcp_isn(t, c);
    c->snd_una = c->iss;
    c->snd_nxt = c->iss + 1;
    c->snd_wl1 = seg->seq;
    c->ts_offset = tcp_ts_offset(t, dst, seg->dst_port, src, seg->src_port);
    c->state = TCP_SYN_RCVD;
    c->listener = l;
    c->qnext = l->syn_q;
    l->syn_q = c;
    c->queued = 1;
    l->half_open++;
    t->st.passive_opens++;
    tcp_send_syn(c);
    tcp_arm_rto(c);
}
