/* tcp.h: TCP (RFC 9293) for the direct stack: connections as flows, over any IP layer. */
#ifndef MIRAGE_TCP_H
#define MIRAGE_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/flow.h"
#include "mirage/netif.h"
#include "mirage/stack.h"

/*
 * The protocol code is event-driven: segments arrive through
 * mirage_tcp_input() and timers fire as mirage_timer callbacks; neither ever
 * waits. The fiber API sits on top: accept, connect, and the flow operations
 * (mirage_flow_read/writev/shutdown/close) suspend only the calling fiber.
 *
 * Mechanisms: RFC 9293 state machine (simultaneous open and close,
 * TIME_WAIT), RFC 5961 RST/SYN/ACK validation, RFC 6528 ISNs, MSS, RFC 7323
 * window scaling, timestamps and PAWS, RFC 2018 SACK and RFC 6675 SACK-based
 * recovery (NewReno partial ACKs without SACK), NewReno (RFC 5681/6582) or
 * CUBIC (RFC 9438), RFC 6298 RTO, delayed ACKs, Nagle, zero-window probes,
 * keepalive, SYN cookies when a listener's backlog is full. Autocorking:
 * while data is in flight, what a fiber writes leaves in whole large segments
 * and the rest when the fiber suspends, so small writes make large frames.
 */

/* ---- the IP layer below ------------------------------------------------- */

/*
 * What TCP needs from IP (the stack adapts IPv4 to it; tests plug two TCP
 * instances together through it). None of these may suspend.
 *   write:   sends one segment of (size) bytes from src to dst; fill writes
 *            the TCP header and payload at offset 0 (mirage_fill_fn). Returns
 *            0 or a negative error (the segment is then lost, as on a wire).
 *   src:     our source address toward dst: 0, or MIRAGE_EHOSTUNREACH.
 *   mtu:     the largest IP payload toward dst in one frame (MSS + 20 + options).
 *   pseudo:  the unfolded one's-complement sum of the pseudo-header for a
 *            segment of (len) bytes; NULL: TCP computes the IPv4/IPv6 one.
 *   now:     the monotonic time (ns) of what is being handled; the stack
 *            answers with its receive batch's one clock reading, so TCP does
 *            not read the clock per segment. NULL: TCP reads the clock.
 */
struct mirage_tcp_ip {
    void *ctx;
    int (*write)(void *ctx, const struct mirage_ipaddr *src, const struct mirage_ipaddr *dst,
                 size_t size, mirage_fill_fn fill, void *fill_ctx);
    int (*src)(void *ctx, const struct mirage_ipaddr *dst, struct mirage_ipaddr *src);
    size_t (*mtu)(void *ctx, const struct mirage_ipaddr *dst);
    uint32_t (*pseudo)(void *ctx, const struct mirage_ipaddr *src, const struct mirage_ipaddr *dst,
                       size_t len);
    uint64_t (*now)(void *ctx);
    /* Optional (NULL: none): the offloads (MIRAGE_NET_OFFLOAD_*) of the
     * device on the way to (dst); with them TCP hands write_meta segments
     * whose checksum the device completes, and with MIRAGE_NET_OFFLOAD_TSO4
     * (an IPv4 dst) or _TSO6 (an IPv6 one) segments of up to 64 KiB it cuts
     * into MSS-sized ones. */
    uint32_t (*offloads)(void *ctx, const struct mirage_ipaddr *dst);
    int (*write_meta)(void *ctx, const struct mirage_ipaddr *src, const struct mirage_ipaddr *dst,
                      size_t size, const struct mirage_net_meta *meta, mirage_fill_fn fill,
                      void *fill_ctx);
};

/* ---- an instance -------------------------------------------------------- */

enum mirage_tcp_cc { MIRAGE_TCP_CUBIC = 0, MIRAGE_TCP_NEWRENO = 1 };

/* Instance configuration; zero means the default. */
struct mirage_tcp_config {
    size_t rcvbuf;         /* receive buffer per connection (default 64 KiB, max 16 MiB) */
    size_t sndbuf;         /* send buffer per connection (default 64 KiB, max 16 MiB) */
    /* Auto-tuning: a busy connection's buffers double, while the window (the
     * peer's edge, or our unsent room) is what holds a transfer back, up to
     * these (max 16 MiB; default 4 MiB when rcvbuf/sndbuf are default, else
     * rcvbuf/sndbuf, fixed). Idle connections hold no buffer either way. */
    size_t rcvbuf_max, sndbuf_max;
    enum mirage_tcp_cc cc; /* congestion control (default CUBIC) */
    uint64_t rto_min;      /* ns (default 200 ms) */
    uint64_t rto_initial;  /* ns (default 1 s, RFC 6298) */
    uint64_t msl;          /* ns; TIME_WAIT lasts 2 MSL (default 30 s) */
    uint64_t delack;       /* ns, delayed-ACK timer (default 40 ms) */
    unsigned max_retries;  /* retransmissions of one segment, or zero-window probes in a row,
                            * unanswered before giving up (default 12; with the RTO's doubling
                            * up to 60 s that is 4.6 to 7.5 minutes of silence) */
    uint64_t user_timeout; /* ns without a word from a peer we have data for before giving up,
                            * whatever max_retries says (0: none; listeners may set their own) */
    unsigned syn_retries;  /* SYN / SYN-ACK retransmissions (default 5) */
    int no_sack, no_timestamps, no_wscale; /* turn an option off (tests) */
    uint16_t port_lo, port_hi;             /* ephemeral range (default 49152..65535) */
};

struct mirage_tcp; /* opaque */

/* A new instance sending through (ip) (copied). Returns NULL when out of memory. */
struct mirage_tcp *mirage_tcp_new(const struct mirage_tcp_ip *ip,
                                  const struct mirage_tcp_config *cfg);

/* Resets every connection (but those whose FIN the peer acknowledged, which
 * go silently) and frees the instance. Flows the application still holds stay
 * valid (reads and writes fail) until it closes them. */
void mirage_tcp_free(struct mirage_tcp *t);

/* Ends every connection gracefully, as a host ends an exiting process's
 * sockets: each flow the application still holds is shut down for writing
 * (reset instead if it holds data never read), then the caller is suspended
 * until the peers have acknowledged all queued data and every FIN
 * (FIN-WAIT-1, CLOSING and LAST-ACK are over), or until (deadline). Returns
 * 0, or MIRAGE_ETIMEDOUT / MIRAGE_ECANCELED with connections still sending
 * (a warning says how many). Flows stay valid. The stack's disconnect calls
 * it before mirage_tcp_free. */
int mirage_tcp_drain(struct mirage_tcp *t, uint64_t deadline);

/* Handles one segment received from (src) to (dst); (seg, len) is valid only
 * during the call. Checks the checksum. Never suspends. */
void mirage_tcp_input(struct mirage_tcp *t, const struct mirage_ipaddr *src,
                      const struct mirage_ipaddr *dst, const uint8_t *seg, size_t len);

/* As mirage_tcp_input for a segment whose checksum the device vouched for
 * (mirage_netif_rx_csum_ok): it is not checked again. The segment may be a
 * coalesced one of up to 64 KiB (GRO). */
void mirage_tcp_input_csum_ok(struct mirage_tcp *t, const struct mirage_ipaddr *src,
                              const struct mirage_ipaddr *dst, const uint8_t *seg, size_t len);

/* The path MTU toward (dst) dropped: IP takes (mtu)-byte payloads there now
 * (a packet too big, RFC 8201, or fragmentation needed, RFC 1191). Every
 * connection to (dst) whose MSS no longer fits lowers it, and what it had in
 * flight, sent too big, goes again at once in segments of the new size
 * (no congestion response). Never suspends. */
void mirage_tcp_path_mtu(struct mirage_tcp *t, const struct mirage_ipaddr *dst, size_t mtu);

/* An ICMP or ICMPv6 error arrived about a segment we sent from (local) to
 * (remote); (hdr, len) is the start of that segment's TCP header as the error
 * quotes it (the ports and sequence number: at least 8 bytes). err says what
 * it means (MIRAGE_ECONNREFUSED, MIRAGE_EHOSTUNREACH); hard, whether it may
 * end a connection (RFC 1122 4.2.3.9: port or protocol unreachable,
 * administratively prohibited). A connection still in SYN-SENT ends with err
 * at a hard error; a soft one is kept, and the attempt's timeout reports it
 * instead of MIRAGE_ETIMEDOUT. An established connection is never ended by
 * one (RFC 5461). An error quoting a sequence number we have not sent, or
 * one the peer acknowledged, is ignored (RFC 5927). Never suspends. */
void mirage_tcp_icmp_error(struct mirage_tcp *t, const struct mirage_ipaddr *local,
                           const struct mirage_ipaddr *remote, const uint8_t *hdr, size_t len,
                           int err, int hard);

/* ---- the fiber API ------------------------------------------------------ */

/* Listens on (port) of every local address; opts may be NULL. The listener
 * starts with struct mirage_tcp_listener, whose .stack the caller may set.
 * Returns 0, MIRAGE_EADDRINUSE, MIRAGE_EINVAL (port 0) or MIRAGE_ENOMEM. */
int mirage_tcp_listener_open(struct mirage_tcp *t, uint16_t port,
                             const struct mirage_tcp_listen_opts *opts,
                             struct mirage_tcp_listener **out);

/* Waits for an established connection. Returns 0 with *out (peer and
 * peer_port may be NULL), MIRAGE_ETIMEDOUT or MIRAGE_ECANCELED. */
int mirage_tcp_listener_accept(struct mirage_tcp_listener *l, struct mirage_flow **out,
                               struct mirage_ipaddr *peer, uint16_t *peer_port, uint64_t deadline);

/* Stops listening: connections not yet accepted are reset and freed. */
void mirage_tcp_listener_close(struct mirage_tcp_listener *l);

/* Connects from an ephemeral port to (dst, port), waiting until established.
 * Returns 0, MIRAGE_ECONNREFUSED, MIRAGE_ETIMEDOUT (deadline or SYN retries),
 * MIRAGE_EHOSTUNREACH, MIRAGE_EADDRINUSE (no free port), MIRAGE_ENOMEM or
 * MIRAGE_ECANCELED; on error nothing stays allocated. */
int mirage_tcp_connect_flow(struct mirage_tcp *t, const struct mirage_ipaddr *dst, uint16_t port,
                            struct mirage_flow **out, uint64_t deadline);

/* Whether (f) is one of this module's connections. */
int mirage_tcp_is_flow(const struct mirage_flow *f);

/* Per-connection options. Each returns 0 or MIRAGE_EINVAL (not a TCP flow). */
/* nodelay: no Nagle (a small segment does not wait for an ACK); writes made
 * without suspending in between are still corked together until the fiber
 * suspends (tcp_push). */
int mirage_tcp_set_nodelay(struct mirage_flow *f, int on);
/* after 0 turns keepalive off; probes are sent every (interval) ns after
 * (after) ns of silence, and (probes) unanswered ones reset the connection. */
int mirage_tcp_set_keepalive(struct mirage_flow *f, uint64_t after, uint64_t interval,
                             unsigned probes);
/* Resets (f) once it has had data to send (unacknowledged, or waiting on a
 * zero window) and heard nothing from the peer for (ns); 0: the instance's
 * user_timeout. A peer that answers window probes is probed for ever. */
int mirage_tcp_set_user_timeout(struct mirage_flow *f, uint64_t ns);

/* Counters of one connection, for tests and benchmarks. */
struct mirage_tcp_conn_stats {
    int state; /* enum in lib/net/tcp_internal.h; see mirage_tcp_state_name */
    uint32_t mss, cwnd, ssthresh, snd_wnd, rcv_wnd;
    uint64_t srtt_ns, rto_ns;
    uint64_t segs_in, segs_out, bytes_in, bytes_out;
    uint64_t retransmits;      /* segments sent again */
    uint64_t sack_retransmits; /* of which chosen by the SACK scoreboard */
    uint64_t fast_recoveries;  /* entered loss recovery on duplicate ACKs / SACK */
    uint64_t sack_recoveries;  /* of those, with SACK in use */
    uint64_t rto_timeouts;
    uint64_t lost_retransmits; /* retransmissions found lost by later SACKs */
    uint64_t dupacks, ooo_segments, zero_window_probes, keepalive_probes;
    int sack, timestamps; /* negotiated */
    uint8_t snd_wscale, rcv_wscale;
    uint32_t pmtu_drops; /* path MTU drops that lowered the MSS (in what was padding) */
};
int mirage_tcp_conn_stats(const struct mirage_flow *f, struct mirage_tcp_conn_stats *st);
const char *mirage_tcp_state_name(int state);

/* Counters of an instance. */
struct mirage_tcp_stats {
    uint64_t conns;     /* connection records alive (any state, TIME_WAIT included) */
    uint64_t time_wait; /* of which in TIME_WAIT */
    uint64_t heap;      /* bytes TCP has allocated and not yet freed */
    uint64_t active_opens, passive_opens, resets_sent, resets_received;
    uint64_t syn_cookies_sent, syn_cookies_accepted;
    uint64_t challenge_acks, bad_checksums, bad_segments, listen_drops;
    uint64_t limit_refusals; /* SYNs reset: the listener had its max_conns */
    uint64_t alloc_failures; /* allocations TCP could not make (memory short) */
    uint64_t rcv_drops;      /* segments dropped for want of buffer memory */
    uint64_t rcv_direct;     /* bytes copied straight into a waiting reader's buffer */
    uint64_t segs_in, segs_out;
    uint64_t retransmits, rto_timeouts; /* every connection's, as in mirage_tcp_conn_stats */
};
void mirage_tcp_stats(const struct mirage_tcp *t, struct mirage_tcp_stats *st);

/* ---- segments on the wire (exported for the fuzzers and tests) --------- */

#define MIRAGE_TCP_FIN 0x01
#define MIRAGE_TCP_SYN 0x02
#define MIRAGE_TCP_RST 0x04
#define MIRAGE_TCP_PSH 0x08
#define MIRAGE_TCP_ACK 0x10
#define MIRAGE_TCP_URG 0x20

struct mirage_tcp_sack_block {
    uint32_t left, right;
};

/* A parsed segment: header fields in host order, known options, payload view. */
struct mirage_tcp_seg {
    uint16_t src_port, dst_port;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    uint16_t urg;
    uint16_t mss; /* 0: no MSS option */
    int wscale;   /* -1: no window scale option, else 0..14 */
    int sack_ok;  /* SACK-permitted seen */
    int has_ts;
    uint32_t tsval, tsecr;
    unsigned nsack; /* SACK blocks (up to 4) */
    struct mirage_tcp_sack_block sack[4];
    const uint8_t *data;
    size_t len; /* payload bytes */
};

/* Parses a segment (header, options, payload) of (len) bytes. Returns 0 or
 * MIRAGE_EINVAL with (err) naming the problem; options that are malformed
 * make the segment invalid, unknown ones are skipped. The checksum is not
 * checked here (mirage_tcp_checksum). */
int mirage_tcp_parse(const uint8_t *buf, size_t len, struct mirage_tcp_seg *seg, const char **err);

/* The checksum of (seg, len) with pseudo-header sum (pseudo): 0 over a
 * segment whose stored checksum is right. */
uint16_t mirage_tcp_checksum(uint32_t pseudo, const uint8_t *seg, size_t len);
/* The IPv4/IPv6 pseudo-header sum for a TCP segment of (len) bytes. */
uint32_t mirage_tcp_pseudo(const struct mirage_ipaddr *src, const struct mirage_ipaddr *dst,
                           size_t len);

#endif
