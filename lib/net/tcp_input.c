/* tcp_input.c: segment arrival (RFC 9293 3.10.7) with RFC 5961 checks, ACK and SACK processing. */
#include <string.h>

#include "mirage/error.h"
#include "mirage/time.h"
#include "tcp_internal.h"

/* ---- ending a connection ---------------------------------------------------- */

void tcp_conn_close(struct tcp_conn *c, int err)
{
    struct mirage_tcp *t = c->tcp;

    if (c->state != TCP_CLOSED) {
        c->state = TCP_CLOSED;
        if (c->err == 0)
            c->err = err;
        mirage_timer_stop(&c->rtx_timer);
        mirage_timer_stop(&c->ack_timer);
        mirage_timer_stop(&c->ka_timer);
        if (c->listener)
            tcp_listener_detach(c);
        if (t) {
            if (c->hashed)
                tcp_hash_remove(c);
            tcp_buf_put(t, c->snd.buf, c->snd.cap);
            c->snd.buf = NULL;
            c->snd.len = 0;
            c->sacked.n = 0;
            if (err || c->rd_shut) { /* a reset discards what was not read */
                tcp_buf_put(t, c->rcv.buf, c->rcv.cap);
                c->rcv.buf = NULL;
                c->rcv.len = 0;
            }
            c->ooo.n = 0;
        }
        tcp_rd_wake(c);
        mirage_cond_broadcast(&c->wr_cond);
        if (t)
            tcp_drain_wake(t);
    }
    if (c->released)
        tcp_conn_free(c);
}

void tcp_conn_abort(struct tcp_conn *c, int err)
{
    if (c->tcp && c->state != TCP_CLOSED && c->state != TCP_LISTEN && c->state != TCP_TIME_WAIT &&
        c->state != TCP_SYN_SENT) {
        tcp_send_ctl(c, c->snd_nxt, MIRAGE_TCP_RST | MIRAGE_TCP_ACK, 0);
    }
    tcp_conn_close(c, err);
}

/* ---- the handshake's options ----------------------------------------------- */

void tcp_apply_syn_options(struct tcp_conn *c, const struct mirage_tcp_seg *seg)
{
    const struct mirage_tcp_config *cfg = &c->tcp->cfg;

    c->peer_mss = seg->mss ? seg->mss : 536; /* RFC 9293 3.7.1 default */
    if (seg->wscale >= 0 && !cfg->no_wscale) {
        c->ws_ok = 1;
        c->snd_wscale = (uint8_t)seg->wscale;
    } else {
        c->ws_ok = 0;
        c->snd_wscale = 0;
        c->rcv_wscale = 0;
    }
    c->sack_ok = seg->sack_ok && !cfg->no_sack;
    c->ts_ok = seg->has_ts && !cfg->no_timestamps;
    if (c->ts_ok)
        c->ts_recent = seg->tsval;
}

uint16_t tcp_mss_for(const struct tcp_conn *c, size_t mtu)
{
    uint32_t ours = mtu >= 20 + TCP_MIN_PAYLOAD ? (uint32_t)(mtu - 20) : TCP_MIN_PAYLOAD;
    uint32_t room = c->peer_mss < ours ? c->peer_mss : ours;

    /* every segment carries the timestamps option when they are on */
    return (uint16_t)tcp_payload(room, c->ts_ok ? 12 : 0);
}

void tcp_conn_setup(struct tcp_conn *c)
{
    struct mirage_tcp *t = c->tcp;

    c->mss = tcp_mss_for(c, t->ip.mtu(t->ip.ctx, &c->remote));
    if (!c->ws_ok && c->rcv_cap > 65535)
        c->rcv_cap = 65535;
    c->rcv_round_seq = c->rcv_nxt;
    c->rcv_round_at = (uint32_t)(tcp_time(t) / 1000);
    c->cc->init(c);
    c->recover = c->snd_una;
    c->high_rxt = c->snd_una;
    c->lost_mark = c->snd_una;
    c->retries = 0;
    c->last_rx = tcp_time(c->tcp);
    c->st.sack = c->sack_ok;
    c->st.timestamps = c->ts_ok;
    c->st.snd_wscale = c->snd_wscale;
    c->st.rcv_wscale = c->rcv_wscale;
    mirage_timer_stop(&c->rtx_timer);
    tcp_keepalive_reset(c);
}

/* ---- ACK and SACK ------------------------------------------------------------ */

static uint32_t data_end(const struct tcp_conn *c)
{
    return c->fin_sent ? c->snd_nxt - 1 : c->snd_nxt;
}

/* Records the peer's SACK blocks (RFC 2018); returns whether any was new. */
static int take_sack(struct tcp_conn *c, const struct mirage_tcp_seg *seg)
{
    uint32_t before = tcp_ranges_bytes(&c->sacked), end = data_end(c);

    if (!c->sack_ok)
        return 0;
    for (unsigned i = 0; i < seg->nsack; i++) {
        uint32_t l = seg->sack[i].left, r = seg->sack[i].right;
        /* Blocks at or below snd_una (D-SACK) or past what we sent are ignored. */
        if (!seq_lt(l, r) || !seq_gt(r, c->snd_una) || seq_gt(r, end))
            continue;
        if (seq_lt(l, c->snd_una))
            l = c->snd_una;
        tcp_ranges_add(&c->sacked, l, r);
    }
    return tcp_ranges_bytes(&c->sacked) != before;
}

static void enter_recovery(struct tcp_conn *c, uint64_t now)
{
    c->in_recovery = 1;
    c->recover = c->snd_nxt;
    c->cc->on_loss(c, now);
    c->high_rxt = c->snd_una;
    c->lost_mark = c->snd_una + c->mss; /* the fast retransmit (RFC 6675 5 step 4) */
    c->rtt_timing = 0;
    c->st.fast_recoveries++;
    if (c->sack_ok)
        c->st.sack_recoveries++;
}

/* Drops acknowledged bytes from the send ring and frees it once empty. */
static void drop_acked(struct tcp_conn *c, uint32_t n)
{
    if (n > c->snd.len)
        n = c->snd.len;
    if (c->snd.buf) {
        c->snd.start = (c->snd.start + n) % c->snd.cap;
        c->snd.len -= n;
        if (c->snd.len == 0) {
            tcp_buf_put(c->tcp, c->snd.buf, c->snd.cap);
            c->snd.buf = NULL;
            c->snd.start = 0;
        }
    }
}

/* RFC 9293 3.10.7.4 fifth step for the synchronized states. Returns 0 to go
 * on with the segment, -1 to drop it. */
static int process_ack(struct tcp_conn *c, const struct mirage_tcp_seg *seg)
{
    uint64_t now = tcp_time(c->tcp);
    uint32_t ack = seg->ack, una = c->snd_una;
    int new_sack;

    if (seq_gt(ack, c->snd_nxt)) {
        /* Acknowledges what we never sent (RFC 5961 5.2): ACK and drop. */
        tcp_send_ack(c);
        return -1;
    }
    if (seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
        tcp_send_challenge_ack(c);
        return -1;
    }
    new_sack = take_sack(c, seg);
    if (new_sack && c->in_recovery == 1 && c->sacked.n &&
        seq_gt(c->sacked.r[c->sacked.n - 1].right, c->rxt_round) &&
        seq_gt(c->high_rxt, seq_max(c->snd_una, ack))) {
        /* Data sent after our retransmissions arrived, and they did not:
         * they were lost too. Start another pass over the holes. */
        c->high_rxt = seq_max(c->snd_una, ack);
        c->st.lost_retransmits++;
    }
    if (seq_gt(ack, c->snd_una)) {
        uint32_t acked = ack - c->snd_una;
        uint32_t data = acked;
        if (c->fin_sent && seq_gt(ack, c->fin_seq))
            data--;
        drop_acked(c, data);
        c->snd_una = ack;
        tcp_ranges_trim(&c->sacked, ack);
        c->dupacks = 0;
        c->retries = 0;
        c->unanswered_since = 0;
        if (c->rtt_timing && seq_ge(ack, c->rtt_seq)) {
            c->rtt_timing = 0;
            tcp_rtt_sample(c, now - c->rtt_start);
        }
        if (c->in_recovery) {
            if (seq_ge(ack, c->recover)) {
                if (c->in_recovery == 1)
                    c->cc->on_recovered(c, now);
                c->in_recovery = 0;
            } else if (c->in_recovery == 1 && !c->sack_ok) {
                /* NewReno partial ACK (RFC 6582 3.2 step 4): resend the next. */
                c->high_rxt = c->snd_una;
                c->lost_mark = c->snd_una + c->mss;
            } else if (c->in_recovery == 2) {
                c->cc->on_ack(c, acked, now);
            }
        } else {
            c->cc->on_ack(c, acked, now);
        }
        if (seq_lt(c->high_rxt, c->snd_una))
            c->high_rxt = c->snd_una;
        if (c->snd_una == c->snd_nxt) {
            if (c->state != TCP_FIN_WAIT_2 && c->state != TCP_TIME_WAIT)
                mirage_timer_stop(&c->rtx_timer);
        } else {
            tcp_arm_rto(c);
        }
        mirage_cond_broadcast(&c->wr_cond);
    } else if (ack == c->snd_una && c->snd_una != c->snd_nxt && seg->len == 0 &&
               !(seg->flags & (MIRAGE_TCP_SYN | MIRAGE_TCP_FIN)) &&
               ((uint32_t)seg->wnd << c->snd_wscale) == c->snd_wnd) {
        /* A duplicate ACK (RFC 5681 2); with SACK only one with news counts. */
        if (!c->sack_ok || new_sack || seg->nsack == 0) {
            c->dupacks++;
            c->st.dupacks++;
        }
    }
    /* Window update (RFC 9293 3.10.7.4). The window is an offset from the
     * segment's ACK, so one whose ACK is below SND.UNA would place the right
     * edge too far (RFC 9293 takes windows only from SND.UNA =< SEG.ACK);
     * and one whose ACK moves SND.UNA on is always the freshest, even when
     * its sequence number is old (a retransmission): without it SND.UNA
     * moves while SND.WND stays, and we send past the peer's edge. */
    if (seq_ge(ack, c->snd_una) && (seq_gt(ack, una) || seq_lt(c->snd_wl1, seg->seq) ||
                                    (c->snd_wl1 == seg->seq && seq_le(c->snd_wl2, ack)))) {
        c->snd_wnd = (uint32_t)seg->wnd << c->snd_wscale;
        c->snd_wl1 = seg->seq;
        c->snd_wl2 = ack;
        if (c->snd_wnd > c->max_snd_wnd)
            c->max_snd_wnd = c->snd_wnd;
        if (c->persist && c->snd_wnd > 0) {
            c->persist = 0;
            c->unanswered_since = 0;
            mirage_timer_stop(&c->rtx_timer);
            c->rto = c->srtt ? c->rto : c->tcp->cfg.rto_initial;
        }
    }
    if (!c->in_recovery && c->snd_una != c->snd_nxt && seq_ge(c->snd_una, c->recover) &&
        (c->dupacks >= 3 || (c->sack_ok && seq_gt(tcp_sack_lost_edge(c), c->snd_una))))
        enter_recovery(c, now);
    return 0;
}

/* ---- received data ------------------------------------------------------------ */

/* The bytes of the receive ring from its head that hold data: the unread
 * ones and the out-of-order ranges after them. */
static uint32_t rcv_held(const struct tcp_conn *c)
{
    uint32_t head = c->rcv_nxt - c->rcv.len;

    return c->ooo.n ? c->ooo.r[c->ooo.n - 1].right - head : c->rcv.len;
}

/* Room in the receive ring up to offset (end) from its head. */
static int rcv_buffer(struct tcp_conn *c, uint32_t end)
{
    if (c->rcv.buf == NULL)
        c->rcv.start = c->rcv.len = 0;
    return tcp_ring_reserve(c->tcp, &c->rcv, end, c->rcv_cap, rcv_held(c));
}

/* Receive-buffer auto-tuning, after Linux's dynamic right-sizing: the time
 * the peer takes to fill the window we advertised is at least a round trip
 * (the shortest such round is taken as one); while a round trip's data is
 * more than half the window, the window bounds the transfer. It doubles then
 * (up to cfg.rcvbuf_max) if the application keeps emptying the buffer (a slow
 * reader is not helped by a larger one) and the memory is there now. */
static void rcv_autotune(struct tcp_conn *c)
{
    uint32_t now = (uint32_t)(tcp_time(c->tcp) / 1000);
    uint32_t max = (uint32_t)c->tcp->cfg.rcvbuf_max, ncap;

    if (!c->ws_ok || c->rd_shut || c->rcv_cap >= max)
        return;
    if (c->rcv_rtt_at == 0 || seq_ge(c->rcv_nxt, c->rcv_rtt_seq)) {
        uint32_t d = now - c->rcv_rtt_at;
        if (c->rcv_rtt_at != 0 && d > 0)
            c->rcv_rtt = c->rcv_rtt == 0 || d < c->rcv_rtt ? d : c->rcv_rtt + (d - c->rcv_rtt) / 8;
        c->rcv_rtt_seq = c->rcv_adv;
        c->rcv_rtt_at = now;
    }
    if (c->rcv_rtt == 0 || now - c->rcv_round_at < c->rcv_rtt)
        return;
    if ((uint32_t)(c->rcv_nxt - c->rcv_round_seq) > c->rcv_cap / 2 && c->rcv_drained) {
        ncap = c->rcv_cap * 2 > max ? max : c->rcv_cap * 2;
        if (tcp_ring_reserve(c->tcp, &c->rcv, ncap, ncap, rcv_held(c)) == 0) {
            c->rcv_cap = ncap;
            c->ack_now = 1;
        }
    }
    c->rcv_drained = 0;
    c->rcv_round_seq = c->rcv_nxt;
    c->rcv_round_at = now;
}

/* The bytes at rcv_nxt that a fiber waiting in read takes straight into its
 * buffer: as many as it has room for, when nothing is buffered before them
 * (the ring empty, no out-of-order ranges), so order holds. One copy fewer
 * per byte than through the ring, and the window stays open. */
static uint32_t give_reader(struct tcp_conn *c, const uint8_t *data, uint32_t len)
{
    struct tcp_reader *rd = c->reader;
    uint32_t n;

    if (rd == NULL || c->rd_shut || c->rcv.len != 0 || c->ooo.n != 0 || rd->got >= rd->cap)
        return 0;
    n = len < rd->cap - rd->got ? len : rd->cap - rd->got;
    memcpy(rd->buf + rd->got, data, n);
    rd->got += n;
    if (n == len)
        c->rcv_drained = 1; /* as if it had read all of it from the ring */
    c->tcp->st.rcv_direct += n;
    return n;
}

/* Places (data, len) at (seq) >= rcv_nxt, within the buffer. */
static void take_data(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len)
{
    uint32_t head, seg_len = len, direct = 0;

    if (len == 0)
        return;
    c->st.bytes_in += len;
    if (seq == c->rcv_nxt) {
        direct = give_reader(c, data, len);
        c->rcv_nxt += direct;
        seq += direct;
        data += direct;
        len -= direct;
    }
    head = c->rcv_nxt - c->rcv.len;
    /* After shutdown(read) data is acknowledged and dropped: only the
     * ranges are kept, so the sequence space still advances. */
    if (len > 0 && !c->rd_shut && rcv_buffer(c, seq - head + len) != 0) {
        c->tcp->st.rcv_drops++;
        if (direct == 0)
            return; /* as if lost: the peer sends it again */
        len = 0;    /* the reader's part stands; the rest comes again */
    }
    if (seq == c->rcv_nxt) {
        int had_ooo = c->ooo.n != 0;
        if (!c->rd_shut && len > 0)
            tcp_ring_copy_in(&c->rcv, seq - head, data, len);
        c->rcv_nxt += len;
        while (c->ooo.n && seq_le(c->ooo.r[0].left, c->rcv_nxt)) {
            c->rcv_nxt = seq_max(c->rcv_nxt, c->ooo.r[0].right);
            memmove(&c->ooo.r[0], &c->ooo.r[1], (c->ooo.n - 1) * sizeof(c->ooo.r[0]));
            c->ooo.n--;
        }
        if (!c->rd_shut)
            c->rcv.len = c->rcv_nxt - head;
        rcv_autotune(c);
        if (had_ooo) {
            c->ack_now = 1; /* a hole filled: tell the sender at once (RFC 5681 4.2) */
        } else if (++c->delack_segs >= 2 || seg_len > c->mss) {
            /* At least every second segment (RFC 5681 4.2); a coalesced
             * (GRO) segment of more than one MSS counts as several. */
            c->ack_now = 1;
        } else if (!mirage_timer_pending(&c->ack_timer)) {
            mirage_timer_start(&c->ack_timer, tcp_deadline(c->tcp, c->tcp->cfg.delack),
                               tcp_ack_timer_fire);
        }
        tcp_rd_wake(c);
        return;
    }
    /* Out of order: straight into its place in the ring, noted for SACK. */
    c->st.ooo_segments++;
    c->ack_now = 1;
    if (tcp_ranges_add(&c->ooo, seq, seq + len) != 0)
        return; /* too many holes: dropped, the sender will resend */
    if (!c->rd_shut)
        tcp_ring_copy_in(&c->rcv, seq - head, data, len);
    for (unsigned i = 0; i < c->ooo.n; i++) {
        if (seq_ge(seq, c->ooo.r[i].left) && seq_le(seq + len, c->ooo.r[i].right)) {
            c->ooo_last_left = c->ooo.r[i].left;
            c->ooo_last_right = c->ooo.r[i].right;
        }
    }
}

static void got_fin(struct tcp_conn *c)
{
    c->fin_rcvd = 1;
    c->fin_ooo = 0;
    c->rcv_nxt++;
    c->ack_now = 1;
    switch (c->state) {
    case TCP_SYN_RCVD:
    case TCP_ESTABLISHED:
        c->state = TCP_CLOSE_WAIT;
        break;
    case TCP_FIN_WAIT_1:
        if (c->fin_sent && seq_gt(c->snd_una, c->fin_seq)) {
            tcp_send_ack(c);
            tcp_enter_time_wait(c);
        } else {
            c->state = TCP_CLOSING; /* simultaneous close */
        }
        break;
    case TCP_FIN_WAIT_2:
        tcp_send_ack(c);
        tcp_enter_time_wait(c);
        break;
    case TCP_TIME_WAIT: /* a retransmitted FIN: acknowledge, restart 2 MSL */
        tcp_enter_time_wait(c);
        break;
    default:
        break;
    }
    tcp_rd_wake(c);
}

/* ---- SYN-SENT (RFC 9293 3.10.7.3) ------------------------------------------ */

/* The handshake's last acceptable ACK: (seg) acknowledges our SYN and offers
 * (wnd) bytes; the connection is established. */
static void establish(struct tcp_conn *c, const struct mirage_tcp_seg *seg, uint32_t wnd)
{
    c->snd_una = seg->ack;
    c->snd_wnd = wnd;
    c->max_snd_wnd = wnd;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    c->state = TCP_ESTABLISHED;
    tcp_conn_setup(c);
}

static void syn_sent_input(struct tcp_conn *c, const struct mirage_tcp_seg *seg)
{
    int ack = seg->flags & MIRAGE_TCP_ACK;

    if (ack && (seq_le(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_nxt))) {
        if (!(seg->flags & MIRAGE_TCP_RST))
            tcp_send_rst_for(c->tcp, &c->remote, &c->local, seg);
        return;
    }
    if (seg->flags & MIRAGE_TCP_RST) {
        if (ack) { /* acceptable: the peer refuses */
            c->tcp->st.resets_received++;
            tcp_conn_close(c, MIRAGE_ECONNREFUSED);
        }
        return;
    }
    if (!(seg->flags & MIRAGE_TCP_SYN))
        return;
    tcp_apply_syn_options(c, seg);
    c->irs = seg->seq;
    c->rcv_nxt = seg->seq + 1;
    c->last_ack_sent = c->rcv_nxt;
    if (ack) {
        establish(c, seg, seg->wnd); /* never scaled in a SYN (RFC 7323 2.2) */
        tcp_send_ack(c);
        mirage_cond_broadcast(&c->wr_cond);
        return;
    }
    /* Simultaneous open: our SYN crossed theirs. */
    c->state = TCP_SYN_RCVD;
    c->retries = 0;
    tcp_send_syn(c);
    tcp_arm_rto(c);
}

/* ---- the synchronized states ------------------------------------------------- */

/* RFC 9293's acceptability test against the receive window. */
static int acceptable(struct tcp_conn *c, const struct mirage_tcp_seg *seg, uint32_t wnd)
{
    uint32_t seglen = (uint32_t)seg->len + ((seg->flags & MIRAGE_TCP_SYN) ? 1 : 0) +
                      ((seg->flags & MIRAGE_TCP_FIN) ? 1 : 0);
    uint32_t nxt = c->rcv_nxt;

    if (seglen == 0) {
        if (wnd == 0)
            return seg->seq == nxt;
        return seq_ge(seg->seq, nxt) && seq_lt(seg->seq, nxt + wnd);
    }
    /* A zero window takes no data, but a segment at its edge still brings
     * a valid ACK (RFC 9293 3.10.7.4): the caller trims the data away.
     * Dropped whole, the connection can stall for good: an application
     * that waits to send (an echo) before it reads again never sees its
     * data acknowledged, so never reads, so the window never opens. */
    if (wnd == 0)
        return seq_le(seg->seq, nxt) && seq_gt(seg->seq + seglen, nxt);
    return (seq_ge(seg->seq, nxt) && seq_lt(seg->seq, nxt + wnd)) ||
           (seq_ge(seg->seq + seglen - 1, nxt) && seq_lt(seg->seq + seglen - 1, nxt + wnd));
}

void tcp_conn_input(struct tcp_conn *c, const struct mirage_tcp_seg *seg)
{
    struct mirage_tcp *t = c->tcp;
    uint32_t head, wnd, seq, len;
    const uint8_t *data;
    int fin;

    c->st.segs_in++;
    if (c->state == TCP_SYN_SENT) {
        syn_sent_input(c, seg);
        return;
    }
    if (c->state == TCP_CLOSED || c->state == TCP_LISTEN)
        return;

    if (c->state == TCP_SYN_RCVD && (seg->flags & MIRAGE_TCP_SYN) &&
        !(seg->flags & (MIRAGE_TCP_ACK | MIRAGE_TCP_RST)) && seg->seq == c->irs) {
        tcp_send_syn(c); /* the peer did not hear our SYN-ACK: answer again */
        return;
    }
    /* First: the sequence number, against the whole buffer's right edge. */
    head = c->rcv_nxt - c->rcv.len;
    wnd = head + c->rcv_cap - c->rcv_nxt;
    if (c->state == TCP_TIME_WAIT || c->state == TCP_CLOSE_WAIT || c->state == TCP_CLOSING ||
        c->state == TCP_LAST_ACK)
        wnd = wnd ? wnd : 1;
    /* PAWS (RFC 7323 5): an old timestamp marks an old duplicate. */
    if (c->ts_ok && seg->has_ts && !(seg->flags & MIRAGE_TCP_RST) &&
        (int32_t)(seg->tsval - c->ts_recent) < 0) {
        tcp_send_ack(c);
        return;
    }
    if (!acceptable(c, seg, wnd)) {
        if (!(seg->flags & MIRAGE_TCP_RST))
            tcp_send_ack(c);
        else if (seq_ge(seg->seq, c->rcv_nxt) && seq_lt(seg->seq, c->rcv_nxt + wnd))
            tcp_send_challenge_ack(c);
        return;
    }
    c->last_rx = tcp_time(c->tcp);
    c->ka_probes_sent = 0;

    /* Second: RST, exactly at rcv_nxt or a challenge ACK (RFC 5961 3.2). */
    if (seg->flags & MIRAGE_TCP_RST) {
        if (seg->seq != c->rcv_nxt) {
            tcp_send_challenge_ack(c);
            return;
        }
        t->st.resets_received++;
        tcp_conn_close(c, c->state == TCP_SYN_RCVD && c->listener == NULL ? MIRAGE_ECONNREFUSED
                                                                          : MIRAGE_ECONNRESET);
        return;
    }
    /* Fourth: a SYN here is answered by a challenge ACK (RFC 5961 4.2). */
    if (seg->flags & MIRAGE_TCP_SYN) {
        tcp_send_challenge_ack(c);
        return;
    }
    if (!(seg->flags & MIRAGE_TCP_ACK))
        return;
    if (c->ts_ok && seg->has_ts && seq_le(seg->seq, c->last_ack_sent))
        c->ts_recent = seg->tsval;

    /* Fifth: the ACK. */
    if (c->state == TCP_SYN_RCVD) {
        if (!(seq_gt(seg->ack, c->snd_una) && seq_le(seg->ack, c->snd_nxt))) {
            tcp_send_rst_for(t, &c->remote, &c->local, seg);
            return;
        }
        establish(c, seg, (uint32_t)seg->wnd << c->snd_wscale);
        tcp_listener_established(c);
    } else if (process_ack(c, seg) != 0) {
        return;
    }
    if (c->fin_sent && seq_gt(c->snd_una, c->fin_seq)) {
        /* Our FIN is acknowledged. */
        if (c->state == TCP_FIN_WAIT_1) {
            c->state = TCP_FIN_WAIT_2;
            if (c->released) /* no one will read: do not wait for the peer forever */
                mirage_timer_start(&c->rtx_timer, tcp_deadline(t, 2 * t->cfg.msl),
                                   tcp_rtx_timer_fire);
        } else if (c->state == TCP_CLOSING) {
            tcp_enter_time_wait(c);
        } else if (c->state == TCP_LAST_ACK) {
            tcp_conn_close(c, 0);
            return;
        }
    }

    /* Seventh: the data, trimmed to what is new and fits the buffer. */
    seq = seg->seq;
    data = seg->data;
    len = (uint32_t)seg->len;
    fin = (seg->flags & MIRAGE_TCP_FIN) != 0;
    if (seq_lt(seq, c->rcv_nxt)) {
        uint32_t skip = c->rcv_nxt - seq;
        if (skip > len) {
            if (fin && skip > len + 1)
                fin = 0;
            skip = len;
        }
        seq += skip;
        data += skip;
        len -= skip;
    }
    if (seq_gt(seq + len, c->rcv_nxt + wnd)) {
        len = seq_gt(seq, c->rcv_nxt + wnd) ? 0 : c->rcv_nxt + wnd - seq;
        fin = 0;
    }
    if (len > 0) {
        switch (c->state) {
        case TCP_ESTABLISHED:
        case TCP_FIN_WAIT_1:
        case TCP_FIN_WAIT_2:
            if (c->released && !c->queued) {
                /* Data for an application that has closed: reset (RFC 9293 3.10.4).
                 * One still in the accept queue has not had its application yet. */
                tcp_conn_abort(c, MIRAGE_ECONNRESET);
                return;
            }
            take_data(c, seq, data, len);
            break;
        default:
            break; /* after their FIN: ignored */
        }
    } else if (seg->len > 0) {
        c->ack_now = 1; /* a duplicate or a zero-window probe */
    }

    /* Eighth: FIN, once everything before it has arrived. */
    if (fin && !c->fin_rcvd) {
        if (seq + len == c->rcv_nxt) {
            got_fin(c);
        } else if (!c->fin_ooo) {
            c->fin_ooo = 1;
            c->fin_rcv_seq = seq + len;
        }
    } else if (fin && c->state == TCP_TIME_WAIT) {
        c->ack_now = 1;
        tcp_enter_time_wait(c);
    }
    if (c->fin_ooo && !c->fin_rcvd && c->rcv_nxt == c->fin_rcv_seq)
        got_fin(c);
    if (c->state == TCP_TIME_WAIT) {
        if (c->ack_now)
            tcp_send_ack(c);
        return;
    }
    tcp_output(c);
}

/* ---- the entry point ------------------------------------------------------------- */

static void input(struct mirage_tcp *t, const struct mirage_ipaddr *src,
                  const struct mirage_ipaddr *dst, const uint8_t *buf, size_t len, int csum_ok)
{
    struct mirage_tcp_seg seg;
    const char *err;
    struct tcp_conn *c;
    struct tcp_listener *l;
    uint32_t pseudo;

    t->st.segs_in++;
    if (mirage_tcp_parse(buf, len, &seg, &err) != 0) {
        t->st.bad_segments++;
        mirage_log_debug(&tcp_log, "dropped a segment: %s", err);
        return;
    }
    if (!csum_ok) {
        pseudo = t->ip.pseudo ? t->ip.pseudo(t->ip.ctx, src, dst, len)
                              : mirage_tcp_pseudo(src, dst, len);
        if (mirage_tcp_checksum(pseudo, buf, len) != 0) {
            t->st.bad_checksums++;
            return;
        }
    }
    c = tcp_lookup(t, dst, seg.dst_port, src, seg.src_port);
    l = tcp_listener_find(t, seg.dst_port);
    if (c && c->state == TCP_TIME_WAIT && l && (seg.flags & MIRAGE_TCP_SYN) &&
        !(seg.flags & (MIRAGE_TCP_ACK | MIRAGE_TCP_RST)) &&
        (seq_gt(seg.seq, c->rcv_nxt) ||
         (c->ts_ok && seg.has_ts && (int32_t)(seg.tsval - c->ts_recent) > 0))) {
        /* A new incarnation of a connection in TIME_WAIT (RFC 6191). */
        tcp_conn_close(c, 0);
        c = NULL;
    }
    if (c) {
        tcp_conn_input(c, &seg);
        tcp_drain_wake(t); /* an ACK may have settled (c) */
        return;
    }
    if (l) {
        tcp_listen_input(l, src, dst, &seg);
        return;
    }
    tcp_send_rst_for(t, src, dst, &seg); /* no one here (RFC 9293 3.10.7.1) */
}

/* Everything one segment causes (ACKs, output, timers) shares one clock
 * reading: the stack's receive batch's, through ip.now. */
void mirage_tcp_input(struct mirage_tcp *t, const struct mirage_ipaddr *src,
                      const struct mirage_ipaddr *dst, const uint8_t *buf, size_t len)
{
    int took = tcp_time_hold(t);

    input(t, src, dst, buf, len, 0);
    tcp_time_release(t, took);
}

void mirage_tcp_input_csum_ok(struct mirage_tcp *t, const struct mirage_ipaddr *src,
                              const struct mirage_ipaddr *dst, const uint8_t *buf, size_t len)
{
    int took = tcp_time_hold(t);

    input(t, src, dst, buf, len, 1);
    tcp_time_release(t, took);
}
