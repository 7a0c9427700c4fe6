/* tcp_output.c: building and sending segments, what to send next, and TCP's timers. */
#include <string.h>

#include "mirage/error.h"
#include "mirage/time.h"
#include "mirage/wire.h"
#include "tcp_internal.h"

#define RTO_MAX MIRAGE_SEC(60)

/* ---- rings --------------------------------------------------------------- */

void tcp_ring_copy_out(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t len)
{
    uint32_t pos = (r->start + off) % r->cap;
    uint32_t first = r->cap - pos < len ? r->cap - pos : len;

    memcpy(dst, r->buf + pos, first);
    memcpy(dst + first, r->buf, len - first);
}

void tcp_ring_copy_in(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t len)
{
    uint32_t pos = (r->start + off) % r->cap;
    uint32_t first = r->cap - pos < len ? r->cap - pos : len;

    memcpy(r->buf + pos, src, first);
    memcpy(r->buf, src + first, len - first);
}

/* ---- building a segment --------------------------------------------------- */

struct fill_ctx {
    const struct tcp_out *o;
    uint16_t sport, dport;
    uint32_t pseudo;
    size_t hlen;
    int partial; /* the device completes the checksum: store the pseudo-header's sum */
};

static unsigned sack_blocks(const struct tcp_out *o)
{
    unsigned room = o->ts ? 3 : 4;

    if (o->sack == NULL || o->syn_opts)
        return 0;
    return o->sack->n < room ? o->sack->n : room;
}

static size_t options_len(const struct tcp_out *o)
{
    size_t n = 0;
    unsigned b = sack_blocks(o);

    if (o->syn_opts) {
        n += 4; /* MSS */
        if (o->wscale >= 0)
            n += 4; /* NOP, window scale */
        if (o->sack_ok || o->ts)
            n += o->ts ? 12 : 4; /* SACK-permitted and/or timestamps, padded */
        return n;
    }
    if (o->ts)
        n += 12;
    if (b)
        n += 4 + 8 * b;
    return n;
}

/* Option bytes: kind, length, value (RFC 9293 3.2, RFC 7323, RFC 2018). */
static void put_opt(struct mirage_wr *w, uint8_t kind, uint8_t len)
{
    mirage_wr_u8(w, kind);
    mirage_wr_u8(w, len);
}

static void put_nops(struct mirage_wr *w, size_t n)
{
    while (n--)
        mirage_wr_u8(w, 1);
}

static void put_ts(struct mirage_wr *w, const struct tcp_out *o)
{
    put_opt(w, 8, 10);
    mirage_wr_be32(w, o->tsval);
    mirage_wr_be32(w, o->tsecr);
}

static void put_sack_block(struct mirage_wr *w, const struct tcp_out *o, unsigned i)
{
    mirage_wr_be32(w, o->sack->r[i].left);
    mirage_wr_be32(w, o->sack->r[i].right);
}

static void write_options(struct mirage_wr *w, const struct tcp_out *o)
{
    unsigned b = sack_blocks(o);

    if (o->syn_opts) {
        put_opt(w, 2, 4);
        mirage_wr_be16(w, o->mss);
        if (o->wscale >= 0) {
            put_nops(w, 1);
            put_opt(w, 3, 3);
            mirage_wr_u8(w, (uint8_t)o->wscale);
        }
        if (o->sack_ok && o->ts) {
            put_opt(w, 4, 2);
            put_ts(w, o);
        } else if (o->ts) {
            put_nops(w, 2);
            put_ts(w, o);
        } else if (o->sack_ok) {
            put_nops(w, 2);
            put_opt(w, 4, 2);
        }
        return;
    }
    if (o->ts) {
        put_nops(w, 2);
        put_ts(w, o);
    }
    if (b) {
        put_nops(w, 2);
        put_opt(w, 5, (uint8_t)(2 + 8 * b));
        /* RFC 2018 4: the block holding the newest segment goes first. */
        unsigned first = o->sack->n;
        for (unsigned i = 0; i < o->sack->n; i++)
            if (o->sack->r[i].left == o->first_left && o->sack->r[i].right == o->first_right)
                first = i;
        unsigned done = 0;
        if (first < o->sack->n) {
            put_sack_block(w, o, first);
            done++;
        }
        for (unsigned i = 0; i < o->sack->n && done < b; i++) {
            if (i == first)
                continue;
            put_sack_block(w, o, i);
            done++;
        }
    }
}

static int fill_segment(void *ctx, uint8_t *buf, size_t size)
{
    struct fill_ctx *f = ctx;
    const struct tcp_out *o = f->o;
    size_t total = f->hlen + o->len;
    struct mirage_wr w = mirage_wr_init(buf, size);
    uint8_t *data;

    if (size < total)
        return MIRAGE_EMSGSIZE;
    mirage_wr_be16(&w, f->sport);
    mirage_wr_be16(&w, f->dport);
    mirage_wr_be32(&w, o->seq);
    mirage_wr_be32(&w, o->ack);
    mirage_wr_u8(&w, (uint8_t)((f->hlen / 4) << 4));
    mirage_wr_u8(&w, o->flags);
    mirage_wr_be16(&w, o->wnd);
    mirage_wr_be16(&w, 0); /* the checksum, filled in below */
    mirage_wr_be16(&w, 0); /* the urgent pointer */
    write_options(&w, o);
    if (w.bad || w.off != f->hlen)
        return MIRAGE_EINVAL; /* options_len and write_options disagree: a bug */
    data = mirage_wr_take(&w, o->len);
    if (o->len)
        tcp_ring_copy_out(o->ring, o->data_off, data, o->len);
    mirage_wr_seek(&w, 16);
    if (f->partial)
        mirage_wr_be16(&w, (uint16_t)~mirage_tcp_checksum(f->pseudo, buf, 0));
    else
        mirage_wr_be16(&w, mirage_tcp_checksum(f->pseudo, buf, total));
    return (int)total;
}

int tcp_send_raw(struct mirage_tcp *t, const struct mirage_ipaddr *src,
                 const struct mirage_ipaddr *dst, uint16_t sport, uint16_t dport,
                 const struct tcp_out *o)
{
    struct fill_ctx f = {o, sport, dport, 0, 20 + options_len(o), 0};
    size_t total = f.hlen + o->len;
    struct mirage_net_meta meta = {0};

    f.pseudo = t->ip.pseudo ? t->ip.pseudo(t->ip.ctx, src, dst, total)
                            : mirage_tcp_pseudo(src, dst, total);
    t->st.segs_out++;
    if (o->flags & MIRAGE_TCP_RST)
        t->st.resets_sent++;
    /* Data goes with the checksum left to a device that offers it; control
     * segments (a SYN before ARP has the peer's address) are not worth it. */
    if (o->len > 0 && t->ip.write_meta != NULL && t->ip.offloads != NULL &&
        (t->ip.offloads(t->ip.ctx, dst) & MIRAGE_NET_OFFLOAD_CSUM)) {
        f.partial = 1;
        meta.flags = MIRAGE_NET_META_NEEDS_CSUM;
        meta.csum_start = 0;
        meta.csum_offset = 16;
        if (o->gso > 0 && o->len > o->gso) {
            meta.gso_type = dst->family == 6 ? MIRAGE_NET_GSO_TCPV6 : MIRAGE_NET_GSO_TCPV4;
            meta.gso_size = (uint16_t)o->gso;
            meta.hdr_len = (uint16_t)f.hlen;
        }
        return t->ip.write_meta(t->ip.ctx, src, dst, total, &meta, fill_segment, &f);
    }
    return t->ip.write(t->ip.ctx, src, dst, total, fill_segment, &f);
}

/* ---- connection segments -------------------------------------------------- */

uint32_t tcp_rcv_window(struct tcp_conn *c)
{
    /* The ring covers [rcv_nxt - unread, + cap): the right edge only moves
     * forward as the application reads, so the window never shrinks. */
    uint32_t right = c->rcv_nxt - c->rcv.len + c->rcv_cap;
    uint32_t wnd = right - c->rcv_nxt;

    if (c->rd_shut)
        wnd = c->rcv_cap;
    /* Receiver SWS avoidance (RFC 9293 3.8.6.2.2): open in big steps. */
    if (seq_gt(right, c->rcv_adv) && (uint32_t)(right - c->rcv_adv) < c->mss &&
        (uint32_t)(right - c->rcv_adv) < c->rcv_cap / 2 && seq_ge(c->rcv_adv, c->rcv_nxt))
        wnd = c->rcv_adv - c->rcv_nxt;
    return wnd;
}

static void fill_common(struct tcp_conn *c, struct tcp_out *o)
{
    uint32_t wnd = tcp_rcv_window(c);
    uint32_t max = (uint32_t)0xffff << c->rcv_wscale;

    if (wnd > max)
        wnd = max;
    o->ack = c->rcv_nxt;
    o->wnd = (uint16_t)(wnd >> c->rcv_wscale);
    /* What the peer sees is the scaled value: remember the edge it implies. */
    uint32_t adv = c->rcv_nxt + ((uint32_t)o->wnd << c->rcv_wscale);
    if (seq_gt(adv, c->rcv_adv) || c->state <= TCP_SYN_RCVD)
        c->rcv_adv = adv;
    o->wscale = -1;
    if (c->ts_ok) {
        o->ts = 1;
        o->tsval = tcp_now_ms(c->tcp) + c->ts_offset;
        o->tsecr = c->ts_recent;
    }
    if (c->sack_ok && c->ooo.n) {
        o->sack = &c->ooo;
        o->first_left = c->ooo_last_left;
        o->first_right = c->ooo_last_right;
    }
}

static void sent_ack(struct tcp_conn *c)
{
    c->ack_now = 0;
    c->delack_segs = 0;
    c->last_ack_sent = c->rcv_nxt;
    mirage_timer_stop(&c->ack_timer);
}

static int send_conn(struct tcp_conn *c, struct tcp_out *o)
{
    c->st.segs_out++;
    c->st.bytes_out += o->len;
    if (o->flags & MIRAGE_TCP_ACK)
        sent_ack(c);
    return tcp_send_raw(c->tcp, &c->local, &c->remote, c->lport, c->rport, o);
}

int tcp_send_ctl(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t len)
{
    struct tcp_out o = {0};

    (void)len;
    fill_common(c, &o);
    o.seq = seq;
    o.flags = flags;
    if (flags & MIRAGE_TCP_RST) {
        o.sack = NULL;
        o.ts = 0;
        o.wnd = 0;
    }
    return send_conn(c, &o);
}

void tcp_send_ack(struct tcp_conn *c)
{
    tcp_send_ctl(c, c->snd_nxt, MIRAGE_TCP_ACK, 0);
}

void tcp_send_syn(struct tcp_conn *c)
{
    struct mirage_tcp *t = c->tcp;
    struct tcp_out o = {0};
    size_t mtu = t->ip.mtu(t->ip.ctx, &c->remote);

    fill_common(c, &o);
    o.seq = c->iss;
    o.flags = MIRAGE_TCP_SYN;
    o.sack = NULL;
    o.tsval = tcp_now_ms(t) + c->ts_offset;
    if (c->state == TCP_SYN_RCVD) {
        /* A SYN-ACK carries only the options the peer's SYN offered. */
        o.flags |= MIRAGE_TCP_ACK;
        o.sack_ok = c->sack_ok;
        o.ts = c->ts_ok;
        o.wscale = c->ws_ok ? c->rcv_wscale : -1;
    } else {
        o.sack_ok = !t->cfg.no_sack;
        o.ts = !t->cfg.no_timestamps;
        o.wscale = t->cfg.no_wscale ? -1 : c->rcv_wscale;
        o.tsecr = 0;
    }
    o.syn_opts = 1;
    o.mss = (uint16_t)(mtu > 20 + 65535 ? 65535 : (mtu >= 20 + 536 ? mtu - 20 : 536));
    o.wnd = (uint16_t)(c->rcv_cap > 65535 ? 65535 : c->rcv_cap); /* never scaled in a SYN */
    c->rcv_adv = c->rcv_nxt + o.wnd;
    send_conn(c, &o);
}

/* RFC 5961 7: at most 10 challenge ACKs a second per instance, so they
 * cannot be turned into an amplifier. */
void tcp_send_challenge_ack(struct tcp_conn *c)
{
    struct mirage_tcp *t = c->tcp;
    uint64_t now = tcp_time(t);

    if (now - t->challenge_window >= MIRAGE_SEC(1)) {
        t->challenge_window = now;
        t->challenges = 0;
    }
    if (t->challenges >= 10)
        return;
    t->challenges++;
    t->st.challenge_acks++;
    tcp_send_ack(c);
}

void tcp_send_rst_for(struct mirage_tcp *t, const struct mirage_ipaddr *src,
                      const struct mirage_ipaddr *dst, const struct mirage_tcp_seg *seg)
{
    struct tcp_out o = {0};

    if (seg->flags & MIRAGE_TCP_RST)
        return;
    o.wscale = -1;
    if (seg->flags & MIRAGE_TCP_ACK) {
        o.seq = seg->ack;
        o.flags = MIRAGE_TCP_RST;
    } else {
        o.seq = 0;
        o.ack = seg->seq + (uint32_t)seg->len + ((seg->flags & MIRAGE_TCP_SYN) ? 1 : 0) +
                ((seg->flags & MIRAGE_TCP_FIN) ? 1 : 0);
        o.flags = MIRAGE_TCP_RST | MIRAGE_TCP_ACK;
    }
    tcp_send_raw(t, dst, src, seg->dst_port, seg->src_port, &o);
}

/* ---- what to send next ------------------------------------------------------ */

uint32_t tcp_flight(const struct tcp_conn *c)
{
    return c->snd_nxt - c->snd_una;
}

static uint32_t seg_payload(const struct tcp_conn *c);

static void send_data(struct tcp_conn *c, uint32_t seq, uint32_t len, int fin, int rtx)
{
    struct tcp_out o = {0};

    fill_common(c, &o);
    o.seq = seq;
    o.len = len;
    o.gso = seg_payload(c);
    o.ring = &c->snd;
    o.data_off = seq - c->snd_una;
    o.flags = MIRAGE_TCP_ACK | (fin ? MIRAGE_TCP_FIN : 0);
    if (len && seq + len == c->snd_una + c->snd.len)
        o.flags |= MIRAGE_TCP_PSH;
    if (rtx) {
        c->st.retransmits++;
        c->tcp->st.retransmits++;
        c->rtt_timing = 0; /* Karn: no sample from a retransmitted segment */
    } else if (!c->rtt_timing && len) {
        c->rtt_timing = 1;
        c->rtt_seq = seq + len;
        c->rtt_start = tcp_time(c->tcp);
    }
    send_conn(c, &o);
}

static int can_send_data(const struct tcp_conn *c)
{
    switch (c->state) {
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
    case TCP_FIN_WAIT_1:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
        return 1;
    default:
        return 0;
    }
}

/* The payload that fits a segment now: c->mss leaves room for the
 * timestamps only, and the SACK blocks we report (fill_common) take more;
 * past it the segment would exceed the peer's MSS and be fragmented. */
static uint32_t seg_payload(const struct tcp_conn *c)
{
    unsigned most = c->ts_ok ? 3 : 4, b = c->ooo.n < most ? c->ooo.n : most;
    uint32_t opt = c->sack_ok && b ? 4 + 8 * b : 0;

    return tcp_payload(c->mss, opt);
}

/* The most new data one send may carry: a segment, or with a device that
 * segments TCP of the remote's family (TSO4, TSO6) whole segments up to
 * 64 KiB for it to cut. */
static uint32_t send_max(const struct tcp_conn *c, uint32_t mss)
{
    const struct mirage_tcp *t = c->tcp;
    int six = c->remote.family == 6;
    uint32_t tso = six ? MIRAGE_NET_OFFLOAD_TSO6 : MIRAGE_NET_OFFLOAD_TSO4;
    uint32_t max = TCP_TSO_MAX(six);

    if (t->ip.offloads == NULL || t->ip.write_meta == NULL ||
        !(t->ip.offloads(t->ip.ctx, &c->remote) & tso) || mss > max)
        return mss;
    return max / mss * mss;
}

/* Sends one segment if anything may go now; returns whether it did. */
static int send_one(struct tcp_conn *c)
{
    uint32_t data_end = c->snd_una + c->snd.len;
    uint32_t pipe = tcp_sack_pipe(c);
    uint32_t room = c->cwnd > pipe ? c->cwnd - pipe : 0;
    uint32_t mss = seg_payload(c);
    uint32_t seq, len;

    /* RFC 6675 NextSeg rule 1: a hole presumed lost, above what was resent. */
    if (c->in_recovery && room > 0) {
        uint32_t lost = tcp_sack_lost_edge(c);
        uint32_t from = seq_max(c->high_rxt, c->snd_una);
        if (seq_lt(from, lost) && tcp_sack_next_hole(c, from, lost, &seq, &len)) {
            if (len > mss)
                len = mss;
            if (!seq_gt(from, c->snd_una))
                c->rxt_round = c->snd_nxt;
            c->high_rxt = seq + len;
            if (c->sack_ok)
                c->st.sack_retransmits++;
            send_data(c, seq, len, c->fin_sent && seq + len == data_end, 1);
            return 1;
        }
    }
    /* Rule 2: new data, within the peer's window and cwnd. */
    uint32_t avail = data_end - c->snd_nxt;
    if (c->fin_sent)
        return 0;
    uint32_t wnd_edge = c->snd_una + c->snd_wnd;
    uint32_t wroom = seq_gt(wnd_edge, c->snd_nxt) ? wnd_edge - c->snd_nxt : 0;
    len = avail;
    if (len > send_max(c, mss))
        len = send_max(c, mss);
    if (len > wroom)
        len = wroom;
    if (len > room)
        len = room;
    int fin = c->wr_shut && len == avail;
    if (len == 0 && !(fin && avail == 0))
        return 0;
    if (len < mss && len < avail) {
        /* Held back by cwnd or window: a small segment only when nothing is
         * in flight (RFC 9293 3.8.6.2.1: sender SWS avoidance). */
        if (c->snd_nxt != c->snd_una || len < c->max_snd_wnd / 2)
            return 0;
    }
    if (len < mss && len == avail && !fin && !c->nodelay && c->snd_nxt != c->snd_una)
        return 0; /* Nagle: a small segment waits while data is unacknowledged */
    if (c->corked && len == avail && len < send_max(c, mss) && !fin && c->snd_nxt != c->snd_una)
        return 0; /* corked: the writer may add to it before it suspends */
    send_data(c, c->snd_nxt, len, fin, 0);
    c->snd_nxt += len;
    if (fin) {
        c->fin_sent = 1;
        c->fin_seq = c->snd_nxt;
        c->snd_nxt++;
    }
    return 1;
}

/* Whether what (c) sent has gone unanswered for its user timeout. */
static int user_timed_out(const struct tcp_conn *c, uint64_t now)
{
    return c->user_timeout && c->unanswered_since && now >= c->unanswered_since &&
           now - c->unanswered_since >= c->user_timeout;
}

/* Arms the timer for the RTO or probe due at rto_at, or for the user
 * timeout if that comes first (the timer checks it first). */
static void arm_rtx(struct tcp_conn *c)
{
    uint64_t at = c->rto_at;

    if (c->user_timeout && c->unanswered_since &&
        c->unanswered_since + c->user_timeout < at)
        at = c->unanswered_since + c->user_timeout;
    mirage_timer_start(&c->rtx_timer, at, tcp_rtx_timer_fire);
}

void tcp_arm_rto(struct tcp_conn *c)
{
    c->rto_at = tcp_deadline(c->tcp, c->rto);
    arm_rtx(c);
}

static void output(struct tcp_conn *c)
{
    int sent = 0;

    if (can_send_data(c) && c->snd.buf != NULL) {
        for (int i = 0; i < 1024 && send_one(c); i++)
            sent = 1;
    } else if (can_send_data(c) && c->wr_shut && !c->fin_sent) {
        sent = send_one(c);
    }
    if (!sent && c->ack_now)
        tcp_send_ack(c);
    if (c->snd_nxt != c->snd_una) {
        c->persist = 0;
        if (!mirage_timer_pending(&c->rtx_timer))
            tcp_arm_rto(c);
    } else if (can_send_data(c) && c->snd.len > 0 && !c->fin_sent) {
        /* Data to send, none in flight, none sent: the window is shut, or
         * too small for sender SWS avoidance to use. Probe it (RFC 9293
         * 3.8.6.1), or once the timer runs out send what fits (the override
         * timeout of 3.8.6.2.1): a peer offering 12 bytes for ever must not
         * leave the connection with no timer at all. */
        if (!c->persist) {
            c->persist = 1;
            c->retries = 0;
            c->unanswered_since = 0;
            c->probe_at = tcp_time(c->tcp);
            tcp_arm_rto(c);
        }
    }
}

/* A burst of segments shares one clock reading (timestamps, RTT, RTO). */
void tcp_output(struct tcp_conn *c)
{
    struct mirage_tcp *t = c->tcp;
    int took = tcp_time_hold(t);

    output(c);
    tcp_time_release(t, took);
}

static void push_timer_fire(struct mirage_timer *tm)
{
    struct mirage_tcp *t = (struct mirage_tcp *)((char *)tm - offsetof(struct mirage_tcp, push_timer));
    struct tcp_conn *c;

    while ((c = t->push_head) != NULL) {
        t->push_head = c->push_next;
        c->push_next = NULL;
        c->pushing = c->corked = 0;
        if (c->state != TCP_CLOSED)
            tcp_output(c);
    }
}

void tcp_push_forget(struct tcp_conn *c)
{
    if (!c->pushing || c->tcp == NULL)
        return;
    for (struct tcp_conn **p = &c->tcp->push_head; *p != NULL; p = &(*p)->push_next)
        if (*p == c) {
            *p = c->push_next;
            break;
        }
    c->push_next = NULL;
    c->pushing = 0;
}

/*
 * Autocorking. Each write used to leave at once as its own segment, so an
 * application writing 4 KiB a call sent 4 KiB TSO frames, one tap write each,
 * however much the window allowed. Now, while earlier data is unacknowledged
 * (ACKs will clock the rest out anyway), a write sends only whole large
 * segments and corks the rest; a timer due now, which runs only once the
 * writing fiber suspends (to wait for space, a read, anything), uncorks and
 * sends it. The writer's run of small writes leaves as one large segment and
 * nothing waits longer than the writer keeps running. With nothing in flight
 * a write leaves at once, as before.
 */
void tcp_push(struct tcp_conn *c)
{
    struct mirage_tcp *t = c->tcp;

    if (c->snd_nxt != c->snd_una) {
        c->corked = 1;
        if (!c->pushing) { /* one timer for the instance, not one per connection */
            c->pushing = 1;
            c->push_next = t->push_head;
            t->push_head = c;
        }
        if (!mirage_timer_pending(&t->push_timer))
            mirage_timer_start(&t->push_timer, tcp_deadline(t, 0), push_timer_fire);
    }
    tcp_output(c);
}

/* ---- RTO (RFC 6298) --------------------------------------------------------- */

void tcp_rtt_sample(struct tcp_conn *c, uint64_t r)
{
    uint64_t var;

    if (r == 0)
        r = 1000; /* a clock tick */
    if (c->srtt == 0) {
        c->srtt = r;
        c->rttvar = r / 2;
    } else {
        uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + d) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    var = 4 * c->rttvar;
    if (var < MIRAGE_MS(1))
        var = MIRAGE_MS(1); /* G: the clock granularity we assume */
    c->rto = c->srtt + var;
    if (c->rto < c->tcp->cfg.rto_min)
        c->rto = c->tcp->cfg.rto_min;
    if (c->rto > RTO_MAX)
        c->rto = RTO_MAX;
}

static void backoff(struct tcp_conn *c)
{
    c->rto = c->rto * 2 > RTO_MAX ? RTO_MAX : c->rto * 2;
}

static void on_rto(struct tcp_conn *c)
{
    struct mirage_tcp *t = c->tcp;
    uint64_t now = mirage_clock_monotonic();

    if (++c->retries > t->cfg.max_retries) {
        tcp_conn_abort(c, MIRAGE_ETIMEDOUT);
        return;
    }
    if (c->retries == 1) /* the segment timed out went about an RTO ago */
        c->unanswered_since = now > c->rto ? now - c->rto : 1;
    c->st.rto_timeouts++;
    c->tcp->st.rto_timeouts++;
    if (c->in_recovery != 2)
        c->cc->on_rto(c, now);
    c->cwnd = c->mss;
    c->in_recovery = 2;
    c->recover = c->snd_nxt;
    c->high_rxt = c->snd_una;
    c->dupacks = 0;
    c->rtt_timing = 0;
    backoff(c);
    if (c->fin_sent && c->snd_una == c->fin_seq) {
        tcp_send_ctl(c, c->fin_seq, MIRAGE_TCP_FIN | MIRAGE_TCP_ACK, 0);
        c->st.retransmits++;
        c->tcp->st.retransmits++;
    } else {
        tcp_output(c);
    }
    tcp_arm_rto(c);
}

/* Path MTU discovery (RFC 8201 5.4, RFC 1191 6.5). Every segment (c) had in
 * flight was cut for the old MSS, so a router dropped each one bigger than the
 * path takes: all of it is presumed lost and goes again at once, cut to the
 * new size, as after a timeout but with neither its backoff nor its congestion
 * response, since a narrow link says nothing about congestion. */
static void path_mtu_dropped(struct tcp_conn *c, uint16_t mss)
{
    uint32_t data_end = c->fin_sent ? c->snd_nxt - 1 : c->snd_nxt;
    char a[64];

    mirage_log_info(&tcp_log, "%s: MSS %u -> %u (path MTU), %u bytes in flight resent",
                    mirage_ipaddr_format(&c->remote, c->rport, a, sizeof(a)), c->mss, mss,
                    data_end - c->snd_una);
    c->mss = mss;
    c->st.pmtu_drops++;
    if (c->snd_una == data_end)
        return; /* nothing in flight, or only a FIN: small enough */
    c->in_recovery = 2;
    c->recover = c->snd_nxt;
    c->high_rxt = c->snd_una;
    c->dupacks = 0;
    c->rtt_timing = 0; /* Karn: no RTT sample from what is resent */
    tcp_output(c);
}

void mirage_tcp_path_mtu(struct mirage_tcp *t, const struct mirage_ipaddr *dst, size_t mtu)
{
    int took = tcp_time_hold(t);

    for (struct tcp_conn *c = t->all; c != NULL; c = c->all_next) {
        uint16_t mss;
        if (c->state < TCP_ESTABLISHED || c->state == TCP_TIME_WAIT ||
            !tcp_addr_eq(&c->remote, dst))
            continue; /* a handshake takes its MSS from the path MTU when it ends */
        mss = tcp_mss_for(c, mtu);
        if (mss < c->mss)
            path_mtu_dropped(c, mss);
    }
    tcp_time_release(t, took);
}

void tcp_rtx_timer_fire(struct mirage_timer *tm)
{
    struct tcp_conn *c = (struct tcp_conn *)((char *)tm - offsetof(struct tcp_conn, rtx_timer));
    struct mirage_tcp *t = c->tcp;

    switch (c->state) {
    case TCP_SYN_SENT:
    case TCP_SYN_RCVD:
        if (++c->retries > t->cfg.syn_retries) {
            tcp_conn_close(c, c->soft_err ? c->soft_err : MIRAGE_ETIMEDOUT);
            return;
        }
        backoff(c);
        tcp_send_syn(c);
        tcp_arm_rto(c);
        return;
    case TCP_TIME_WAIT:
    case TCP_FIN_WAIT_2:
        tcp_conn_close(c, 0);
        return;
    case TCP_CLOSED:
    case TCP_LISTEN:
        return;
    default:
        break;
    }
    if (c->user_timeout) {
        uint64_t now = mirage_clock_monotonic();
        if (c->persist && c->last_rx > c->probe_at)
            c->unanswered_since = 0; /* the last probe was answered */
        if (user_timed_out(c, now)) {
            tcp_conn_abort(c, MIRAGE_ETIMEDOUT);
            return;
        }
        if (now < c->rto_at) { /* woken for the user timeout, which has moved on */
            arm_rtx(c);
            return;
        }
    }
    if (c->persist) {
        uint32_t avail = c->snd.len - (c->snd_nxt - c->snd_una);
        if (c->snd.len == 0 || c->snd_nxt != c->snd_una || c->fin_sent) {
            c->persist = 0;
            tcp_output(c);
            return;
        }
        if (c->snd_wnd != 0) {
            /* A window too small to fill: send what fits now; the RTO
             * watches it from here, its retries counting on. */
            uint32_t len = c->snd_wnd < avail ? c->snd_wnd : avail;
            if (len > seg_payload(c))
                len = seg_payload(c);
            c->persist = 0;
            send_data(c, c->snd_nxt, len, 0, 0);
            c->snd_nxt += len;
            tcp_arm_rto(c);
            return;
        }
        /* RFC 9293 3.8.6.1: probing goes on for as long as the peer
         * answers; unanswered probes count as retransmissions do, or a
         * peer that shut its window and vanished holds the connection
         * (and its buffers) for ever. */
        uint64_t now = mirage_clock_monotonic();
        if (c->last_rx > c->probe_at || c->retries == 0) {
            c->retries = 0; /* the last probe was answered: this one starts the count */
            c->unanswered_since = now;
        }
        if (++c->retries > t->cfg.max_retries) {
            tcp_conn_abort(c, MIRAGE_ETIMEDOUT);
            return;
        }
        c->st.zero_window_probes++;
        c->probe_at = now;
        tcp_send_ctl(c, c->snd_una - 1, MIRAGE_TCP_ACK, 0);
        backoff(c);
        tcp_arm_rto(c);
        return;
    }
    if (c->snd_una != c->snd_nxt)
        on_rto(c);
}

void tcp_ack_timer_fire(struct mirage_timer *tm)
{
    struct tcp_conn *c = (struct tcp_conn *)((char *)tm - offsetof(struct tcp_conn, ack_timer));

    if (c->state >= TCP_ESTABLISHED && c->state != TCP_TIME_WAIT)
        tcp_send_ack(c);
}

/* ---- keepalive (RFC 1122 4.2.3.6) ----------------------------------------- */

void tcp_keepalive_reset(struct tcp_conn *c)
{
    if (c->ka_after == 0 || c->state < TCP_ESTABLISHED || c->state == TCP_TIME_WAIT) {
        mirage_timer_stop(&c->ka_timer);
        return;
    }
    c->ka_probes_sent = 0;
    if (!mirage_timer_pending(&c->ka_timer))
        mirage_timer_start(&c->ka_timer, c->last_rx + c->ka_after, tcp_ka_timer_fire);
}

void tcp_ka_timer_fire(struct mirage_timer *tm)
{
    struct tcp_conn *c = (struct tcp_conn *)((char *)tm - offsetof(struct tcp_conn, ka_timer));
    uint64_t now = mirage_clock_monotonic();

    if (c->ka_after == 0 || c->state < TCP_ESTABLISHED || c->state == TCP_TIME_WAIT)
        return;
    if (c->ka_probes_sent == 0 && now < c->last_rx + c->ka_after) {
        mirage_timer_start(&c->ka_timer, c->last_rx + c->ka_after, tcp_ka_timer_fire);
        return;
    }
    if (c->ka_probes_sent > 0 && now < c->last_rx + c->ka_interval) {
        /* The peer answered the last probe: the idle time starts again. */
        c->ka_probes_sent = 0;
        mirage_timer_start(&c->ka_timer, c->last_rx + c->ka_after, tcp_ka_timer_fire);
        return;
    }
    if (c->ka_probes_sent >= c->ka_probes) {
        tcp_conn_abort(c, MIRAGE_ETIMEDOUT);
        return;
    }
    c->ka_probes_sent++;
    c->st.keepalive_probes++;
    tcp_send_ctl(c, c->snd_una - 1, MIRAGE_TCP_ACK, 0);
    mirage_timer_start(&c->ka_timer, now + c->ka_interval, tcp_ka_timer_fire);
}

void tcp_enter_time_wait(struct tcp_conn *c)
{
    c->state = TCP_TIME_WAIT;
    tcp_listener_uncount(c); /* it holds its record only, and for 2 MSL at most */
    mirage_timer_stop(&c->ack_timer);
    c->corked = 0;
    mirage_timer_stop(&c->ka_timer);
    tcp_buf_put(c->tcp, c->snd.buf, c->snd.cap);
    c->snd.buf = NULL;
    c->snd.len = 0;
    c->sacked.n = 0;
    mirage_timer_start(&c->rtx_timer, tcp_deadline(c->tcp, 2 * c->tcp->cfg.msl),
                       tcp_rtx_timer_fire);
    mirage_cond_broadcast(&c->wr_cond);
    tcp_rd_wake(c);
}
