/* tcp_internal.h: TCP's private structures and the functions its files share. */
#ifndef MIRAGE_TCP_INTERNAL_H
#define MIRAGE_TCP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/tcp.h"

extern struct mirage_log_src tcp_log;

enum tcp_state {
    TCP_CLOSED = 0,
    TCP_LISTEN,
    TCP_SYN_SENT,
    TCP_SYN_RCVD,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_LAST_ACK,
    TCP_TIME_WAIT,
};

/* Sequence-number comparisons modulo 2^32 (RFC 9293 3.4). */
static inline int seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
static inline int seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}
static inline int seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}
static inline int seq_ge(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}
static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
    return seq_gt(a, b) ? a : b;
}
static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
    return seq_lt(a, b) ? a : b;
}

/* The payload a segment carries when (room) bytes are left for data and
 * options (the peer's MSS counts both, RFC 6691) and (opt) go to options:
 * never below TCP_MIN_PAYLOAD whatever the peer announced (an MSS of 1 would
 * send a segment per byte), and clamped before the options are taken off, so
 * a tiny MSS cannot wrap into a huge one. */
#define TCP_MIN_PAYLOAD 64
static inline uint32_t tcp_payload(uint32_t room, uint32_t opt)
{
    return room >= opt + TCP_MIN_PAYLOAD ? room - opt : TCP_MIN_PAYLOAD;
}

/* Sorted, disjoint sequence ranges [left, right): received out of order
 * (receiver) or SACKed by the peer (sender). */
#define TCP_RANGES 16
struct tcp_ranges {
    unsigned n;
    struct mirage_tcp_sack_block r[TCP_RANGES];
};

/* A fiber waiting in read on an empty receive buffer: in-order data goes
 * straight into its buffer (got bytes so far), not through the ring. */
struct tcp_reader {
    uint8_t *buf;
    uint32_t cap, got;
};

/* A byte ring; (buf) is NULL while the connection has nothing buffered. */
struct tcp_ring {
    uint8_t *buf;
    uint32_t cap;   /* allocated size when buf is set */
    uint32_t start; /* index of the first byte */
    uint32_t len;   /* bytes from start (send: unacked + unsent; receive: unread) */
};

struct tcp_cc_ops;

struct tcp_conn {
    struct mirage_flow flow; /* first: a connection is the application's flow */
    struct mirage_tcp *tcp;
    struct tcp_conn *hnext;               /* hash chain */
    struct tcp_conn *all_prev, *all_next; /* every connection of the instance */
    struct tcp_conn *qnext;               /* listener's queues */
    struct tcp_listener *listener;        /* while half-open or waiting for accept */
    struct tcp_listener *origin;          /* counted in its max_conns, until freed or TIME_WAIT */
    struct mirage_ipaddr local, remote;
    uint16_t lport, rport;
    uint8_t state;
    uint8_t hashed;   /* in the table */
    uint8_t released; /* the application closed its flow (or never had it) */
    uint8_t accepted; /* handed to the application */
    uint8_t queued;   /* on the listener's SYN queue (1) or accept queue (2) */
    uint8_t rd_shut, wr_shut, fin_sent, fin_rcvd, fin_ooo;
    uint8_t corked;  /* small writes wait for the instance's push timer (tcp_push) */
    uint8_t pushing; /* on the instance's push list */
    uint8_t nodelay, sack_ok, ts_ok, ws_ok, snd_wscale, rcv_wscale;
    uint8_t in_recovery; /* 0 open, 1 fast recovery, 2 after an RTO */
    uint8_t ack_now, delack_segs, rtt_timing, ka_probes_sent, persist;
    int16_t soft_err; /* the last soft ICMP error: why an opening attempt timed out */
    int err; /* set once the connection failed; reported to the application */

    /* send side */
    uint32_t iss, snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
    uint32_t fin_seq;
    uint16_t mss; /* segment payload size we send (options excluded) */
    uint16_t peer_mss;
    uint8_t snd_grow;    /* the send buffer's limit is cfg.sndbuf << snd_grow, at most _max */
    uint8_t rcv_drained; /* the application emptied the receive buffer this round */
    unsigned dupacks;
    struct tcp_ring snd;
    struct tcp_ranges sacked;
    uint32_t recover, high_rxt, lost_mark;
    uint32_t rxt_round; /* snd_nxt when this pass of retransmissions began */
    uint32_t cwnd, ssthresh;
    uint32_t rtt_seq;
    uint64_t rtt_start;
    uint64_t srtt, rttvar, rto; /* ns */
    const struct tcp_cc_ops *cc;
    struct {
        double w_max, k, w_est; /* CUBIC (RFC 9438), in segments; k in seconds */
        uint64_t epoch;         /* start of the current congestion-avoidance epoch, ns */
        uint32_t acked;         /* bytes acknowledged toward the next increase */
    } cub;

    /* receive side */
    uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge last advertised */
    uint32_t fin_rcv_seq;
    uint32_t rcv_cap;      /* the window's size: cfg.rcvbuf, doubling up to cfg.rcvbuf_max */
    /* auto-tuning (tcp_input.c): a round trip as the receiver sees it, and
     * what arrived in the current one; times in µs (mod 2^32), for memory */
    uint32_t rcv_rtt_seq, rcv_round_seq;
    uint32_t rcv_rtt_at, rcv_rtt, rcv_round_at;
    struct tcp_ring rcv;
    struct tcp_reader *reader; /* the fiber waiting in tcp_read, while it waits */
    struct tcp_ranges ooo;
    uint32_t ooo_last_left, ooo_last_right; /* the range the newest segment went to */
    uint32_t ts_recent, ts_offset, last_ack_sent;

    /* keepalive; when the peer was last heard (last_rx), the last window probe went */
    uint64_t ka_after, ka_interval, last_rx, probe_at;
    unsigned ka_probes;
    unsigned retries; /* consecutive RTOs (here: it fills what was padding) */
    uint64_t user_timeout; /* ns; 0: none */
    uint64_t rto_at;       /* when the armed RTO or window probe is due */
    uint64_t unanswered_since; /* first retransmission or probe not answered since; 0: none */

    struct mirage_timer rtx_timer;       /* RTO, persist, SYN retries, TIME_WAIT, FIN_WAIT_2 */
    struct mirage_timer ack_timer;       /* delayed ACK */
    struct tcp_conn *push_next;          /* the instance's push list */
    struct mirage_timer ka_timer;        /* keepalive */
    struct mirage_cond rd_cond, wr_cond; /* readers; writers and connect */
    void (*rd_fn)(void *ctx);            /* mirage_flow_on_readable: once, then NULL */
    void *rd_ctx;
    struct mirage_tcp_conn_stats st;
};

struct tcp_listener {
    struct mirage_tcp_listener base; /* first: the stack API's listener */
    struct mirage_tcp *tcp;
    struct tcp_listener *next;
    uint16_t port;
    unsigned backlog;
    unsigned half_open, ready;
    unsigned live; /* connections whose origin it is */
    struct tcp_conn *syn_q;               /* half-open (SYN_RCVD) */
    struct tcp_conn *acc_head, *acc_tail; /* established, not yet accepted */
    struct mirage_tcp_listen_opts opts;
    struct mirage_cond cond;
};

/* A small cache of free buffers: no malloc per burst. Given back to the heap
 * when an allocation fails. */
#define TCP_POOL       16
#define TCP_POOL_BYTES (512u * 1024u)
/* A connection's first buffer each way; it doubles up to the configured size. */
#define TCP_BUF_MIN 2048u

struct mirage_tcp {
    struct mirage_tcp_ip ip;
    struct mirage_tcp_config cfg;
    struct tcp_conn **htab;
    size_t hsize, nconns;
    struct tcp_listener *listeners;
    struct tcp_conn *all;
    uint8_t secret[32]; /* RFC 6528 F() key */
    uint8_t cookie_key[32];
    uint16_t next_port;
    uint64_t challenge_window; /* start of the current 1 s challenge-ACK window */
    unsigned challenges;       /* challenge ACKs sent in it */
    void *pool[TCP_POOL];
    size_t pool_size[TCP_POOL];
    unsigned npool;
    size_t pool_bytes;
    uint64_t now;                  /* the clock reading of the event being handled, while held */
    unsigned now_held;             /* tcp_time_hold took it */
    unsigned draining;             /* fibers in mirage_tcp_drain */
    struct mirage_cond drain_cond; /* a connection may have settled */
    struct mirage_timer push_timer; /* uncorks the push list once the writers suspend */
    struct tcp_conn *push_head;     /* connections corked since it last ran */
    struct mirage_tcp_stats st;
};

/* Congestion control (tcp_cc.c). Windows in bytes. */
struct tcp_cc_ops {
    const char *name;
    void (*init)(struct tcp_conn *c);
    /* (acked) bytes newly acknowledged outside recovery */
    void (*on_ack)(struct tcp_conn *c, uint32_t acked, uint64_t now);
    /* loss detected (fast retransmit): sets ssthresh (and cwnd) */
    void (*on_loss)(struct tcp_conn *c, uint64_t now);
    /* retransmission timeout */
    void (*on_rto)(struct tcp_conn *c, uint64_t now);
    void (*on_recovered)(struct tcp_conn *c, uint64_t now);
};
extern const struct tcp_cc_ops tcp_newreno, tcp_cubic;
uint32_t tcp_flight(const struct tcp_conn *c);

/* tcp.c: instance, memory, table, ports */
void *tcp_alloc(struct mirage_tcp *t, size_t size);
void tcp_free_mem(struct mirage_tcp *t, void *p, size_t size);
uint8_t *tcp_buf_get(struct mirage_tcp *t, size_t size);
void tcp_buf_put(struct mirage_tcp *t, uint8_t *buf, size_t size);
struct tcp_ring;
/* Makes (r) hold at least (need) bytes (at most max), moving the first (keep) bytes from its
 * start (the rest holds nothing worth keeping); 0, MIRAGE_ENOMEM (r unchanged). */
int tcp_ring_reserve(struct mirage_tcp *t, struct tcp_ring *r, uint32_t need, uint32_t max,
                     uint32_t keep);
int tcp_wscale_for(const struct mirage_tcp *t);
struct tcp_conn *tcp_conn_new(struct mirage_tcp *t);
void tcp_conn_free(struct tcp_conn *c);
int tcp_hash_insert(struct tcp_conn *c);
void tcp_hash_remove(struct tcp_conn *c);
struct tcp_conn *tcp_lookup(struct mirage_tcp *t, const struct mirage_ipaddr *local, uint16_t lport,
                            const struct mirage_ipaddr *remote, uint16_t rport);
uint32_t tcp_isn(struct mirage_tcp *t, const struct tcp_conn *c);
uint32_t tcp_ts_offset(struct mirage_tcp *t, const struct mirage_ipaddr *local, uint16_t lport,
                       const struct mirage_ipaddr *remote, uint16_t rport);
void tcp_hash_tuple(const uint8_t key[32], const struct mirage_ipaddr *local, uint16_t lport,
                    const struct mirage_ipaddr *remote, uint16_t rport, uint32_t extra,
                    uint8_t out[32]);
/* The clock, read once per event: a segment's input, a burst of output.
 * tcp_time_hold takes the reading (unless an outer call holds one) and
 * returns whether it did, for tcp_time_release; in between nothing may
 * suspend. tcp_time reads the clock itself when nothing is held. */
int tcp_time_hold(struct mirage_tcp *t);
void tcp_time_release(struct mirage_tcp *t, int took);
uint64_t tcp_time(const struct mirage_tcp *t);
uint64_t tcp_deadline(const struct mirage_tcp *t, uint64_t ns); /* tcp_time + ns, saturated */
uint32_t tcp_now_ms(const struct mirage_tcp *t);
int tcp_addr_eq(const struct mirage_ipaddr *a, const struct mirage_ipaddr *b);
void tcp_conn_setup(struct tcp_conn *c);   /* MSS, buffers, cc, timers after the handshake */
/* The payload of (c)'s segments when IP takes (mtu)-byte payloads toward its peer. */
uint16_t tcp_mss_for(const struct tcp_conn *c, size_t mtu);
void tcp_drain_wake(struct mirage_tcp *t); /* a connection may have settled: tell drain */

/* tcp_output.c */
struct tcp_out {
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    int syn_opts; /* SYN or SYN-ACK: MSS, wscale, SACK-permitted */
    uint16_t mss;
    int wscale, sack_ok, ts;
    uint32_t tsval, tsecr;
    const struct tcp_ranges *sack; /* SACK blocks to report */
    uint32_t first_left, first_right;
    uint32_t data_off; /* offset of the payload in the send ring */
    uint32_t len;
    uint32_t gso; /* len > gso: the device cuts the payload into gso-byte segments (TSO) */
    const struct tcp_ring *ring;
};

/* The largest TSO segment's payload less the most TCP header (60 bytes): an
 * IPv4 datagram's 65535 bytes count its 20-byte header, an IPv6 payload
 * length's 65535 do not. */
#define TCP_TSO_MAX(six) ((six) ? 65535u - 60u : 65535u - 20u - 60u)
int tcp_send_raw(struct mirage_tcp *t, const struct mirage_ipaddr *src,
                 const struct mirage_ipaddr *dst, uint16_t sport, uint16_t dport,
                 const struct tcp_out *o);
int tcp_send_ctl(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t len);
void tcp_send_rst_for(struct mirage_tcp *t, const struct mirage_ipaddr *src,
                      const struct mirage_ipaddr *dst, const struct mirage_tcp_seg *seg);
void tcp_output(struct tcp_conn *c);
/* What a write ends with: sends (c)'s new data, or with data still in flight
 * only whole large segments, the rest when the writing fiber suspends. */
void tcp_push(struct tcp_conn *c);
/* Takes (c) off its instance's push list, before it is freed. */
void tcp_push_forget(struct tcp_conn *c);
void tcp_send_ack(struct tcp_conn *c);
void tcp_send_syn(struct tcp_conn *c);
void tcp_send_challenge_ack(struct tcp_conn *c);
uint32_t tcp_rcv_window(struct tcp_conn *c);
void tcp_rtx_timer_fire(struct mirage_timer *tm);
void tcp_ack_timer_fire(struct mirage_timer *tm);
void tcp_ka_timer_fire(struct mirage_timer *tm);
void tcp_arm_rto(struct tcp_conn *c);
void tcp_rtt_sample(struct tcp_conn *c, uint64_t rtt);
void tcp_enter_time_wait(struct tcp_conn *c);
void tcp_keepalive_reset(struct tcp_conn *c);

/* tcp_sack.c */
int tcp_ranges_add(struct tcp_ranges *r, uint32_t left, uint32_t right);
void tcp_ranges_trim(struct tcp_ranges *r, uint32_t below);
uint32_t tcp_ranges_bytes(const struct tcp_ranges *r);
uint32_t tcp_sack_lost_edge(const struct tcp_conn *c);
uint32_t tcp_sack_pipe(const struct tcp_conn *c);
int tcp_sack_next_hole(const struct tcp_conn *c, uint32_t from, uint32_t limit, uint32_t *seq,
                       uint32_t *len);

/* tcp_input.c */
void tcp_conn_input(struct tcp_conn *c, const struct mirage_tcp_seg *seg);
/* Ends the connection: state CLOSED, timers stopped, buffers freed, waiters
 * woken with (err); frees it when the application has let go. The caller
 * must not touch (c) afterwards unless it holds the flow. */
void tcp_conn_close(struct tcp_conn *c, int err);
void tcp_conn_abort(struct tcp_conn *c, int err); /* sends a RST first */
void tcp_apply_syn_options(struct tcp_conn *c, const struct mirage_tcp_seg *seg);

/* tcp_listen.c */
struct tcp_listener *tcp_listener_find(struct mirage_tcp *t, uint16_t port);
void tcp_listen_input(struct tcp_listener *l, const struct mirage_ipaddr *src,
                      const struct mirage_ipaddr *dst, const struct mirage_tcp_seg *seg);
void tcp_listener_established(struct tcp_conn *c);
void tcp_listener_detach(struct tcp_conn *c);
void tcp_listener_uncount(struct tcp_conn *c); /* (c) no longer counts toward its origin's limit */

/* tcp_flow.c */
const struct mirage_flow_ops *tcp_flow_ops_get(void);
/* A read may no longer wait: wakes the readers and the on_readable callback. */
void tcp_rd_wake(struct tcp_conn *c);

/* tcp_output.c: rings */
void tcp_ring_copy_out(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t len);
void tcp_ring_copy_in(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t len);

#endif
