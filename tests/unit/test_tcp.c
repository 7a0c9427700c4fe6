/* test_tcp.c: TCP between two real instances over a seeded link in virtual time: handshakes,
 * closes, resets, loss recovery with SACK, windows, timers, listeners and memory on every path. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/error.h"
#include "mirage/sched.h"
#include "mirage/tcp.h"
#include "mirage/time.h"
#include "tcp_harness.h"

static struct harness H;

/* ---- transfer helpers -------------------------------------------------------- */

struct xfer {
    struct harness *h;
    uint16_t port;
    uint64_t bytes, seed;
    size_t chunk;
    int nodelay;
    /* results */
    uint64_t got;
    int match, rd_err, wr_err, conn_err;
    struct mirage_tcp_conn_stats snd_st, rcv_st;
    struct mirage_tcp_listener *l;
};

static int receiver(void *arg)
{
    struct xfer *x = arg;
    struct mirage_flow *f;
    static uint8_t buf[65536], want[65536];
    int r = mirage_tcp_listener_accept(x->l, &f, NULL, NULL, MIRAGE_FOREVER);

    if (r != 0) {
        x->rd_err = r;
        return r;
    }
    x->match = 1;
    for (;;) {
        size_t got;
        r = mirage_flow_read(f, buf, sizeof(buf), &got, MIRAGE_FOREVER);
        if (r != 0) {
            x->rd_err = r;
            break;
        }
        if (got == 0)
            break;
        stream_fill(x->seed, x->got, want, got);
        if (memcmp(buf, want, got) != 0)
            x->match = 0;
        x->got += got;
    }
    mirage_tcp_conn_stats(f, &x->rcv_st);
    mirage_flow_close(f);
    return 0;
}

static int sender(void *arg)
{
    struct xfer *x = arg;
    struct mirage_flow *f;
    static uint8_t buf[65536];
    struct mirage_ipaddr dst = x->h->ep[0].addr;
    int r = mirage_tcp_connect_flow(x->h->ep[1].tcp, &dst, x->port, &f, MIRAGE_FOREVER);

    if (r != 0) {
        x->conn_err = r;
        return r;
    }
    if (x->nodelay)
        mirage_tcp_set_nodelay(f, 1);
    for (uint64_t off = 0; off < x->bytes;) {
        size_t n = x->bytes - off < x->chunk ? (size_t)(x->bytes - off) : x->chunk;
        stream_fill(x->seed, off, buf, n);
        r = mirage_flow_write(f, buf, n, MIRAGE_FOREVER);
        if (r != 0) {
            x->wr_err = r;
            break;
        }
        off += n;
    }
    mirage_flow_shutdown(f, MIRAGE_SHUT_WR);
    /* Wait for the peer's FIN so the stats cover the whole transfer. */
    for (;;) {
        size_t got;
        if (mirage_flow_read(f, buf, sizeof(buf), &got, MIRAGE_FOREVER) != 0 || got == 0)
            break;
    }
    mirage_tcp_conn_stats(f, &x->snd_st);
    mirage_flow_close(f);
    return 0;
}

/* B sends (bytes) to A over the link as configured; returns the result. */
static void transfer(struct xfer *x)
{
    struct mirage_fiber *fs[2];

    CHECK_INT(mirage_tcp_listener_open(x->h->ep[0].tcp, x->port, NULL, &x->l), 0);
    if (x->chunk == 0)
        x->chunk = 65536;
    fs[0] = mirage_fiber_spawn("receiver", receiver, x, 0);
    fs[1] = mirage_fiber_spawn("sender", sender, x, 0);
    CHECK_INT(mirage_fiber_join_all(fs, 2, NULL), 0);
    mirage_tcp_listener_close(x->l);
}

/* Everything either instance allocated is back once TIME_WAIT is over. */
static void check_all_freed(struct harness *h)
{
    struct mirage_tcp_stats st;

    mirage_sleep_ns(MIRAGE_SEC(121)); /* 2 MSL and then some */
    for (int i = 0; i < 2; i++) {
        mirage_tcp_stats(h->ep[i].tcp, &st);
        CHECK_INT(st.conns, 0);
        /* only the buffer cache may hold memory now */
        CHECK(st.heap <= 16u * 2 * 65536u);
    }
}

/* ---- parsing ------------------------------------------------------------------ */

static void test_parse(void)
{
    struct mirage_tcp_seg s;
    const char *err = NULL;
    uint8_t seg[60] = {0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 2, 0xa0, 0x12, 0xff, 0xff, 0, 0,
                       0, 0,
                       /* MSS 1460, NOP, WS 7, SACK-OK, TS 5/6 */
                       2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6};

    CHECK_INT(mirage_tcp_parse(seg, 40, &s, &err), 0);
    CHECK_INT(s.src_port, 12345);
    CHECK_INT(s.dst_port, 80);
    CHECK_INT(s.seq, 1);
    CHECK_INT(s.ack, 2);
    CHECK_INT(s.flags, MIRAGE_TCP_SYN | MIRAGE_TCP_ACK);
    CHECK_INT(s.mss, 1460);
    CHECK_INT(s.wscale, 7);
    CHECK_INT(s.sack_ok, 1);
    CHECK_INT(s.has_ts, 1);
    CHECK_INT(s.tsval, 5);
    CHECK_INT(s.tsecr, 6);
    CHECK_INT(s.len, 0);

    CHECK_INT(mirage_tcp_parse(seg, 19, &s, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "segment shorter than a TCP header");
    CHECK_INT(mirage_tcp_parse(seg, 39, &s, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "data offset past the end of the segment");
    seg[21] = 40; /* MSS option claiming more than the header holds */
    CHECK_INT(mirage_tcp_parse(seg, 40, &s, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "option length out of the header");
    seg[21] = 3;
    CHECK_INT(mirage_tcp_parse(seg, 40, &s, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "MSS option length is not 4");
    seg[21] = 4;
    seg[12] = 0x40;
    CHECK_INT(mirage_tcp_parse(seg, 40, &s, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "data offset below 5 words");
    seg[12] = 0x50; /* no options: the rest is payload */
    CHECK_INT(mirage_tcp_parse(seg, 40, &s, &err), 0);
    CHECK_INT(s.len, 20);
    CHECK_INT(s.mss, 0);
    CHECK_INT(s.wscale, -1);

    /* Checksum: store it, verify it, break one bit. */
    struct mirage_ipaddr a = mirage_ipv4_addr(10, 0, 0, 1), b = mirage_ipv4_addr(10, 0, 0, 2);
    uint32_t ps = mirage_tcp_pseudo(&a, &b, 41);
    uint8_t odd[41];
    memcpy(odd, seg, 40);
    odd[40] = 0x5a;
    odd[16] = odd[17] = 0;
    uint16_t c = mirage_tcp_checksum(ps, odd, 41);
    odd[16] = (uint8_t)(c >> 8);
    odd[17] = (uint8_t)c;
    CHECK_INT(mirage_tcp_checksum(ps, odd, 41), 0);
    odd[40] ^= 1;
    CHECK(mirage_tcp_checksum(ps, odd, 41) != 0);
}

/* ---- a clean transfer, then every resource is back ------------------------------ */

static void test_clean_transfer(void)
{
    struct link_params lp = {.delay = MIRAGE_MS(5), .rate = 100000000, .queue = MIRAGE_MS(50)};
    struct xfer x = {.h = &H, .port = 80, .bytes = 1000000, .seed = 1};

    harness_init(&H, 1, NULL, &lp);
    transfer(&x);
    CHECK_INT(x.conn_err, 0);
    CHECK_INT(x.rd_err, 0);
    CHECK_INT(x.wr_err, 0);
    CHECK_INT(x.got, x.bytes);
    CHECK_INT(x.match, 1);
    CHECK_INT(x.snd_st.sack, 1);
    CHECK_INT(x.snd_st.timestamps, 1);
    CHECK_INT(x.snd_st.mss, 1460 - 12);
    CHECK_INT(x.snd_st.rcv_wscale, 7); /* covers the 4 MiB the window may grow to */
    CHECK_INT(x.snd_st.retransmits, 0);
    CHECK(x.snd_st.srtt_ns >= MIRAGE_MS(10));
    check_all_freed(&H);
    harness_free(&H);
}

/* A long fat link (1 Gbit/s, 20 ms round trip): a 64 KiB window would carry 26 Mbit/s. With the
 * defaults both buffers grow while the window holds the transfer back, and the same transfer with
 * the buffers fixed at 64 KiB (rcvbuf/sndbuf set alone) stays window-bound. */
static double autotuned(const struct mirage_tcp_config *cfg, struct xfer *x)
{
    struct link_params lp = {.delay = MIRAGE_MS(10), .rate = 1000000000, .queue = MIRAGE_MS(50)};
    uint64_t t0;

    harness_init(&H, 31, cfg, &lp);
    t0 = mirage_clock_monotonic();
    transfer(x);
    CHECK_INT(x->conn_err, 0);
    CHECK_INT(x->rd_err, 0);
    CHECK_INT(x->wr_err, 0);
    CHECK_INT(x->got, x->bytes);
    CHECK_INT(x->match, 1);
    return (double)(mirage_clock_monotonic() - t0) / 1e9;
}

static void test_window_autotune(void)
{
    struct mirage_tcp_config fixed = {.rcvbuf = 65536, .sndbuf = 65536};
    struct xfer a = {.h = &H, .port = 80, .bytes = 16u << 20, .seed = 3};
    struct xfer b = {.h = &H, .port = 80, .bytes = 16u << 20, .seed = 3};
    double ta = autotuned(NULL, &a), tb;

    /* the window the receiver ended with: grown, within the limit */
    CHECK(a.rcv_st.rcv_wnd > 65536);
    CHECK(a.rcv_st.rcv_wnd <= 4u << 20);
    CHECK_INT(a.rcv_st.rcv_wscale, 7);
    check_all_freed(&H);
    harness_free(&H);
    tb = autotuned(&fixed, &b);
    CHECK(b.rcv_st.rcv_wnd == 65536);
    CHECK_INT(b.rcv_st.rcv_wscale, 1);
    check_all_freed(&H);
    harness_free(&H);
    printf("  16 MiB over 1 Gbit/s, 20 ms RTT: %.2f s virtual auto-tuned (window %u), "
           "%.2f s at 64 KiB\n",
           ta, a.rcv_st.rcv_wnd, tb);
    CHECK(ta * 4 < tb);
}

static void lossy(double loss, uint64_t bytes, enum mirage_tcp_cc cc, uint64_t seed)
{
    struct link_params lp = {.loss = loss,
                             .reorder = 0.01,
                             .jitter = MIRAGE_MS(3),
                             .dup = 0.005,
                             .corrupt = 0.002,
                             .delay = MIRAGE_MS(10),
                             .rate = 200000000,
                             .queue = MIRAGE_MS(20)};
    struct mirage_tcp_config cfg = {.cc = cc, .rcvbuf = 256 * 1024, .sndbuf = 256 * 1024};
    struct xfer x = {.h = &H, .port = 80, .bytes = bytes, .seed = seed};
    uint64_t t0 = mirage_clock_monotonic();

    harness_init(&H, seed, &cfg, &lp);
    transfer(&x);
    CHECK_INT(x.conn_err, 0);
    CHECK_INT(x.rd_err, 0);
    CHECK_INT(x.wr_err, 0);
    CHECK_INT(x.got, x.bytes);
    CHECK_INT(x.match, 1);
    /* Recovery was driven by SACK: recoveries entered with SACK in use and
     * holes chosen by the scoreboard. */
    CHECK(x.snd_st.sack_recoveries > 0);
    CHECK(x.snd_st.sack_retransmits > 0);
    CHECK(x.rcv_st.ooo_segments > 0);
    printf("  %s %5.1f%% loss, %llu bytes: %.1f s virtual, %llu retransmits (%llu by SACK), "
           "%llu SACK recoveries, %llu RTOs, bad checksums %llu\n",
           cc == MIRAGE_TCP_CUBIC ? "cubic  " : "newreno", loss * 100, (unsigned long long)bytes,
           (double)(mirage_clock_monotonic() - t0) / 1e9, (unsigned long long)x.snd_st.retransmits,
           (unsigned long long)x.snd_st.sack_retransmits,
           (unsigned long long)x.snd_st.sack_recoveries, (unsigned long long)x.snd_st.rto_timeouts,
           (unsigned long long)(H.dir[0].corrupted + H.dir[1].corrupted));
    check_all_freed(&H);
    harness_free(&H);
}

/* ---- helpers for single connections -------------------------------------------- */

struct acceptor {
    struct mirage_tcp_listener *l;
    struct mirage_flow *f;
    uint64_t deadline;
    int r;
};

static int accept_fn(void *arg)
{
    struct acceptor *a = arg;
    a->r = mirage_tcp_listener_accept(a->l, &a->f, NULL, NULL, a->deadline);
    return a->r;
}

/* One connection B -> A:port; *srv is A's end, *cli B's. Returns the listener. */
static struct mirage_tcp_listener *pair(struct harness *h, uint16_t port,
                                        const struct mirage_tcp_listen_opts *opts,
                                        struct mirage_flow **srv, struct mirage_flow **cli)
{
    struct acceptor a = {.deadline = MIRAGE_FOREVER};
    struct mirage_ipaddr dst = h->ep[0].addr;

    CHECK_INT(mirage_tcp_listener_open(h->ep[0].tcp, port, opts, &a.l), 0);
    struct mirage_fiber *f = mirage_fiber_spawn("acceptor", accept_fn, &a, 0);
    CHECK_INT(mirage_tcp_connect_flow(h->ep[1].tcp, &dst, port, cli, MIRAGE_FOREVER), 0);
    CHECK_INT(mirage_fiber_join(f, NULL), 0);
    CHECK_INT(a.r, 0);
    *srv = a.f;
    return a.l;
}

static int state_of(struct mirage_flow *f)
{
    struct mirage_tcp_conn_stats st;
    mirage_tcp_conn_stats(f, &st);
    return st.state;
}

static struct mirage_tcp_stats tstats(struct harness *h, int i)
{
    struct mirage_tcp_stats st;
    mirage_tcp_stats(h->ep[i].tcp, &st);
    return st;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* Builds a segment (no options) with a right checksum and hands it to
 * endpoint (to) as if from (src). */
static void inject(struct harness *h, int to, struct mirage_ipaddr src, uint16_t sport,
                   uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *data,
                   size_t len)
{
    uint8_t seg[1600] = {0};
    struct mirage_ipaddr dst = h->ep[to].addr;

    put16(seg, sport);
    put16(seg + 2, dport);
    put32(seg + 4, seq);
    put32(seg + 8, ack);
    seg[12] = 0x50;
    seg[13] = flags;
    put16(seg + 14, 8192);
    if (len)
        memcpy(seg + 20, data, len);
    uint16_t c = mirage_tcp_checksum(mirage_tcp_pseudo(&src, &dst, 20 + len), seg, 20 + len);
    put16(seg + 16, c);
    mirage_tcp_input(h->ep[to].tcp, &src, &dst, seg, 20 + len);
}

/* The sequence numbers of endpoint (i)'s last segment. */
static struct mirage_tcp_seg last_seg(struct harness *h, int i)
{
    struct mirage_tcp_seg s;
    CHECK_INT(mirage_tcp_parse(h->ep[i].last, h->ep[i].last_len, &s, NULL), 0);
    return s;
}

static void reconfig(struct harness *h, int i, const struct mirage_tcp_config *cfg)
{
    struct mirage_tcp_ip ip = {&h->ep[i], h_write, h_src, h_mtu, NULL, NULL, NULL, NULL};
    mirage_tcp_free(h->ep[i].tcp);
    h->ep[i].tcp = mirage_tcp_new(&ip, cfg);
}

/* ---- handshakes ------------------------------------------------------------------ */

static void test_refused_and_timeout(void)
{
    struct mirage_ipaddr dst;
    struct mirage_flow *f = NULL;

    harness_init(&H, 2, NULL, &(struct link_params){.delay = MIRAGE_MS(1)});
    dst = H.ep[0].addr;
    CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 9, &f, MIRAGE_FOREVER),
              MIRAGE_ECONNREFUSED);
    CHECK(f == NULL);
    CHECK_INT(tstats(&H, 1).conns, 0);
    CHECK_INT(tstats(&H, 1).resets_received, 1);

    /* A silent peer: SYN retries run out (1+2+4+8+16+32 s), nothing stays. */
    H.dir[1].down = 1;
    uint64_t t0 = mirage_clock_monotonic();
    CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 9, &f, MIRAGE_FOREVER), MIRAGE_ETIMEDOUT);
    CHECK_INT((mirage_clock_monotonic() - t0) / MIRAGE_SEC(1), 63);
    CHECK_INT(H.dir[1].sent, 1 + 6); /* the refused SYN, then the first SYN and 5 retries */
    /* A deadline ends it sooner. */
    t0 = mirage_clock_monotonic();
    CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 9, &f, mirage_deadline_in(MIRAGE_SEC(2))),
              MIRAGE_ETIMEDOUT);
    CHECK_INT(mirage_clock_monotonic() - t0, MIRAGE_SEC(2));
    CHECK_INT(tstats(&H, 1).conns, 0);
    check_all_freed(&H);
    harness_free(&H);
}

struct opener {
    struct harness *h;
    int from;
    uint16_t port;
    struct mirage_flow *f;
    int r;
};

static int open_fn(void *arg)
{
    struct opener *o = arg;
    struct mirage_ipaddr dst = o->h->ep[1 - o->from].addr;
    o->r = mirage_tcp_connect_flow(o->h->ep[o->from].tcp, &dst, o->port, &o->f, MIRAGE_FOREVER);
    return o->r;
}

/* Both SYNs cross on the wire (RFC 9293 figure 7), then both FINs (figure 13). */
static void test_simultaneous_open_close(void)
{
    struct mirage_tcp_config ca = {.port_lo = 5000, .port_hi = 5000};
    struct mirage_tcp_config cb = {.port_lo = 6000, .port_hi = 6000};
    struct opener o[2] = {{&H, 0, 6000, NULL, 0}, {&H, 1, 5000, NULL, 0}};
    struct mirage_fiber *fs[2];
    uint8_t buf[16];
    size_t got;

    harness_init(&H, 3, NULL, &(struct link_params){.delay = MIRAGE_MS(5)});
    reconfig(&H, 0, &ca);
    reconfig(&H, 1, &cb);
    fs[0] = mirage_fiber_spawn("open-a", open_fn, &o[0], 0);
    fs[1] = mirage_fiber_spawn("open-b", open_fn, &o[1], 0);
    CHECK_INT(mirage_fiber_join_all(fs, 2, NULL), 0);
    CHECK_INT(o[0].r, 0);
    CHECK_INT(o[1].r, 0);
    if (o[0].r || o[1].r)
        return;
    CHECK_STR(mirage_tcp_state_name(state_of(o[0].f)), "ESTABLISHED");
    CHECK_INT(tstats(&H, 0).passive_opens, 0);
    CHECK_INT(mirage_flow_write(o[0].f, "ping", 4, MIRAGE_FOREVER), 0);
    CHECK_INT(mirage_flow_read(o[1].f, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
    CHECK_INT(got, 4);

    /* Simultaneous close: FIN-WAIT-1 -> CLOSING -> TIME-WAIT on both sides. */
    CHECK_INT(mirage_flow_shutdown(o[0].f, MIRAGE_SHUT_WR), 0);
    CHECK_INT(mirage_flow_shutdown(o[1].f, MIRAGE_SHUT_WR), 0);
    mirage_sleep_ns(MIRAGE_MS(7));
    CHECK_STR(mirage_tcp_state_name(state_of(o[0].f)), "CLOSING");
    CHECK_STR(mirage_tcp_state_name(state_of(o[1].f)), "CLOSING");
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_STR(mirage_tcp_state_name(state_of(o[0].f)), "TIME-WAIT");
    CHECK_STR(mirage_tcp_state_name(state_of(o[1].f)), "TIME-WAIT");
    CHECK_INT(mirage_flow_read(o[0].f, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
    CHECK_INT(got, 0);
    mirage_flow_close(o[0].f);
    mirage_flow_close(o[1].f);
    CHECK_INT(tstats(&H, 0).time_wait, 1);
    mirage_sleep_ns(MIRAGE_SEC(59));
    CHECK_INT(tstats(&H, 0).time_wait, 1); /* 2 MSL = 60 s */
    check_all_freed(&H);
    harness_free(&H);
}

/* ---- RFC 5961 ------------------------------------------------------------------------ */

static void test_rst_validation(void)
{
    struct mirage_flow *srv, *cli;
    struct mirage_tcp_listener *l;
    uint8_t buf[64];
    size_t got;

    harness_init(&H, 4, NULL, &(struct link_params){.delay = MIRAGE_MS(2)});
    l = pair(&H, 80, NULL, &srv, &cli);
    CHECK_INT(mirage_flow_write(cli, "hello", 5, MIRAGE_FOREVER), 0);
    CHECK_INT(mirage_flow_read(srv, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
    mirage_sleep_ns(MIRAGE_MS(100));
    struct mirage_tcp_seg b = last_seg(&H, 1);
    uint16_t cport = b.src_port;
    b.seq += (uint32_t)b.len; /* B's snd_nxt: A's rcv_nxt */
    struct mirage_ipaddr baddr = H.ep[1].addr;

    /* In the window but not exact: a challenge ACK, the connection lives. */
    inject(&H, 0, baddr, cport, 80, b.seq + 1000, 0, MIRAGE_TCP_RST, NULL, 0);
    CHECK_INT(tstats(&H, 0).challenge_acks, 1);
    CHECK_STR(mirage_tcp_state_name(state_of(srv)), "ESTABLISHED");
    /* Outside the window: dropped without a word. */
    inject(&H, 0, baddr, cport, 80, b.seq + 0x40000000u, 0, MIRAGE_TCP_RST, NULL, 0);
    CHECK_INT(tstats(&H, 0).challenge_acks, 1);
    /* A SYN on an established connection: a challenge ACK too (RFC 5961 4). */
    inject(&H, 0, baddr, cport, 80, b.seq + 5, 0, MIRAGE_TCP_SYN, NULL, 0);
    CHECK_INT(tstats(&H, 0).challenge_acks, 2);
    CHECK_STR(mirage_tcp_state_name(state_of(srv)), "ESTABLISHED");
    /* An ACK for data never sent: ACKed and dropped (RFC 5961 5). */
    struct mirage_tcp_seg a = last_seg(&H, 0);
    inject(&H, 0, baddr, cport, 80, b.seq, a.seq + 100000, MIRAGE_TCP_ACK, "x", 1);
    CHECK_STR(mirage_tcp_state_name(state_of(srv)), "ESTABLISHED");
    CHECK_INT(mirage_flow_read(srv, buf, sizeof(buf), &got, mirage_deadline_in(MIRAGE_MS(50))),
              MIRAGE_ETIMEDOUT);
    /* Exactly at rcv_nxt: the reset is real. */
    inject(&H, 0, baddr, cport, 80, b.seq, 0, MIRAGE_TCP_RST, NULL, 0);
    CHECK_INT(mirage_flow_read(srv, buf, sizeof(buf), &got, MIRAGE_FOREVER), MIRAGE_ECONNRESET);
    CHECK_INT(mirage_flow_write(srv, "x", 1, MIRAGE_FOREVER), MIRAGE_ECONNRESET);
    CHECK_INT(tstats(&H, 0).conns, 1); /* the application still holds it */
    mirage_flow_close(srv);
    CHECK_INT(tstats(&H, 0).conns, 0);
    /* B closes: its FIN meets no connection and draws a RST, which frees B's. */
    mirage_flow_close(cli);
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(tstats(&H, 1).conns, 0);
    mirage_tcp_listener_close(l);
    check_all_freed(&H);
    harness_free(&H);
}

/* ---- windows, timers, Nagle --------------------------------------------------------- */

static void test_zero_window(void)
{
    struct mirage_tcp_config cfg = {.rcvbuf = 4096, .sndbuf = 4096};
    struct mirage_flow *srv, *cli;
    struct mirage_tcp_listener *l;
    static uint8_t out[65536], in[65536];
    struct mirage_tcp_conn_stats st;
    size_t total = 0, got;

    harness_init(&H, 5, &cfg, &(struct link_params){.delay = MIRAGE_MS(2)});
    l = pair(&H, 80, NULL, &srv, &cli);
    stream_fill(5, 0, out, sizeof(out));
    /* The receiver reads nothing: the writer blocks, the sender probes. */
    CHECK_INT(mirage_flow_write(cli, out, sizeof(out), mirage_deadline_in(MIRAGE_SEC(30))),
              MIRAGE_ETIMEDOUT);
    mirage_tcp_conn_stats(cli, &st);
    CHECK(st.zero_window_probes >= 3);
    CHECK_INT(st.snd_wnd, 0);
    CHECK_STR(mirage_tcp_state_name(st.state), "ESTABLISHED");
    /* Reading opens the window; everything queued arrives intact. */
    while (total < 8192) {
        CHECK_INT(mirage_flow_read(srv, in + total, sizeof(in) - total, &got, MIRAGE_FOREVER), 0);
        total += got;
    }
    CHECK(memcmp(in, out, total) == 0);
    mirage_flow_close(cli);
    mirage_flow_close(srv); /* may reset: unread FIN is no data */
    mirage_tcp_listener_close(l);
    check_all_freed(&H);
    harness_free(&H);
}

/* A's application writes to a peer that reads nothing: it blocks while A
 * probes the zero window. */
static struct {
    struct mirage_flow *f;
    int r, done;
} zw;

static int zw_writer(void *arg)
{
    static uint8_t out[65536];

    (void)arg;
    zw.r = mirage_flow_write(zw.f, out, sizeof(out), MIRAGE_FOREVER);
    zw.done = 1;
    return 0;
}

/* Until A's send window toward B is zero (B's buffer is full): A probes. */
static void until_zero_window(struct mirage_flow *f)
{
    struct mirage_tcp_conn_stats st;

    for (int i = 0; i < 1000; i++) {
        mirage_tcp_conn_stats(f, &st);
        if (st.snd_wnd == 0 && st.bytes_out > 0)
            return;
        mirage_sleep_ns(MIRAGE_MS(1));
    }
    CHECK(!"the window never closed");
}

/*
 * RFC 9293 3.8.6.1: a zero window is probed for as long as the receiver
 * answers, but a peer that shut its window and vanished must not hold the
 * connection for ever (~200 of them once locked a 32 MiB unikernel out).
 * Unanswered probes count as retransmissions do: the 13th unanswered timer
 * (max_retries 12) resets the connection, the interval doubling from the RTO
 * up to 60 s. This checks that arithmetic for the defaults, to the ms.
 */
static void test_zero_window_silent_peer(void)
{
    struct mirage_tcp_config cfg = {.rcvbuf = 4096, .sndbuf = 4096};
    struct mirage_flow *srv, *cli;
    struct mirage_tcp_listener *l;
    struct mirage_tcp_conn_stats st;
    struct mirage_fiber *w;
    uint64_t t0, expect = 0, rto;

    harness_init(&H, 21, &cfg, &(struct link_params){.delay = MIRAGE_MS(2)});
    l = pair(&H, 80, NULL, &srv, &cli);
    zw.f = srv;
    zw.done = 0;
    w = mirage_fiber_spawn("writer", zw_writer, NULL, 0);
    until_zero_window(srv);
    mirage_tcp_conn_stats(srv, &st);
    rto = st.rto_ns;
    /* B vanishes as A starts probing: nothing more either way. */
    H.dir[0].down = H.dir[1].down = 1;
    t0 = mirage_clock_monotonic();
    for (int k = 0; k <= 12; k++)
        expect += rto << k < MIRAGE_SEC(60) ? rto << k : MIRAGE_SEC(60);
    CHECK_INT(mirage_fiber_join(w, NULL), 0);
    CHECK_INT(zw.r, MIRAGE_ETIMEDOUT);
    printf("  zero window, silent peer: reset after %.3f s (RTO %.3f s, expected %.3f s)\n",
           (double)(mirage_clock_monotonic() - t0) / 1e9, (double)rto / 1e9, (double)expect / 1e9);
    CHECK(mirage_clock_monotonic() - t0 <= expect + MIRAGE_MS(1));
    CHECK(mirage_clock_monotonic() - t0 + MIRAGE_MS(5) >= expect);
    mirage_tcp_conn_stats(srv, &st);
    CHECK_INT(st.zero_window_probes, 12);
    CHECK_STR(mirage_tcp_state_name(st.state), "CLOSED");
    mirage_flow_close(srv);
    mirage_flow_close(cli);
    mirage_tcp_listener_close(l);
    harness_free(&H);
}

/* A peer that answers every probe keeps its zero window for as long as it
 * likes (20 minutes here, far past 12 probes); once it stops answering, the
 * count starts from that moment: reset within 13 probe intervals of 60 s. */
static void test_zero_window_answered_for_ever(void)
{
    struct mirage_tcp_config cfg = {.rcvbuf = 4096, .sndbuf = 4096};
    struct mirage_flow *srv, *cli;
    struct mirage_tcp_listener *l;
    struct mirage_tcp_conn_stats st;
    struct mirage_fiber *w;
    uint64_t t0;

    harness_init(&H, 22, &cfg, &(struct link_params){.delay = MIRAGE_MS(2)});
    l = pair(&H, 80, NULL, &srv, &cli);
    zw.f = srv;
    zw.done = 0;
    w = mirage_fiber_spawn("writer", zw_writer, NULL, 0);
    mirage_sleep_ns(MIRAGE_SEC(20 * 60));
    mirage_tcp_conn_stats(srv, &st);
    CHECK(st.zero_window_probes > 20);
    CHECK_STR(mirage_tcp_state_name(st.state), "ESTABLISHED");
    CHECK(!zw.done);
    H.dir[0].down = H.dir[1].down = 1;
    t0 = mirage_clock_monotonic();
    CHECK_INT(mirage_fiber_join(w, NULL), 0);
    CHECK_INT(zw.r, MIRAGE_ETIMEDOUT);
    CHECK(mirage_clock_monotonic() - t0 > MIRAGE_SEC(11 * 60));
    CHECK(mirage_clock_monotonic() - t0 <= MIRAGE_SEC(13 * 60));
    mirage_flow_close(srv);
    mirage_flow_close(cli);
    mirage_tcp_listener_close(l);
    harness_free(&H);
}

/* A listener's user timeout bounds the silence a connection with data to
 * send may take: while probing a zero window and while retransmitting. */
static void test_user_timeout(void)
{
    struct mirage_tcp_config cfg = {.rcvbuf = 4096, .sndbuf = 4096};
    struct mirage_tcp_listen_opts opts = {.user_timeout = MIRAGE_SEC(10)};
    struct mirage_tcp_conn_stats st = {0};
    struct mirage_flow *srv, *cli;
    struct mirage_tcp_listener *l;
    struct mirage_fiber *w;
    uint64_t t0;

    for (int zero_window = 1; zero_window >= 0; zero_window--) {
        harness_init(&H, 23, &cfg, &(struct link_params){.delay = MIRAGE_MS(2)});
        l = pair(&H, 80, &opts, &srv, &cli);
        zw.f = srv;
        zw.done = 0;
        if (!zero_window)
            H.dir[0].down = H.dir[1].down = 1; /* B goes before A's data gets there */
        t0 = mirage_clock_monotonic();
        w = mirage_fiber_spawn("writer", zw_writer, NULL, 0);
        if (zero_window) {
            mirage_sleep_ns(MIRAGE_SEC(60)); /* B answers probes further apart than 10 s */
            CHECK(!zw.done);
            mirage_tcp_conn_stats(srv, &st);
            CHECK(st.rto_ns > MIRAGE_SEC(10));
            H.dir[0].down = H.dir[1].down = 1;
            t0 = mirage_clock_monotonic();
        }
        CHECK_INT(mirage_fiber_join(w, NULL), 0);
        CHECK_INT(zw.r, MIRAGE_ETIMEDOUT);
        /* 10 s after the first probe or retransmission left unanswered. */
        CHECK(mirage_clock_monotonic() - t0 <= MIRAGE_SEC(10) + (zero_window ? st.rto_ns : 0));
        CHECK(mirage_clock_monotonic() - t0 >= MIRAGE_SEC(10) - MIRAGE_SEC(1));
        mirage_flow_close(srv);
        mirage_flow_close(cli);
        mirage_tcp_listener_close(l);
        harness_free(&H);
    }
}

static void test_keepalive(void)
{
    struct mirage_tcp_listen_opts lo = {.keepalive_after = MIRAGE_SEC(10),
                                        .keepalive_interval = MIRAGE_SEC(1),
                                        .keepalive_probes = 3};
    struct mirage_flow *srv, *cli;
    struct mirage_tcp_listener *l;
    struct mirage_tcp_conn_stats st;
    uint8_t buf[8];
    size_t got;

    harness_init(&H, 6, NULL, &(struct link_params){.delay = MIRAGE_MS(2)});
    l = pair(&H, 80, &lo, &srv, &cli);
    /* A live peer answers the probes: the connection stays. */
    CHECK_INT(mirage_flow_read(srv, buf, sizeof(buf), &got, mirage_deadline_in(MIRAGE_SEC(60))),
              MIRAGE_ETIMEDOUT);
    mirage_tcp_conn_stats(srv, &st);
    CHECK_INT(st.keepalive_probes, 5); /* one each 10 s of silence after the first */
    CHECK_STR(mirage_tcp_state_name(st.state), "ESTABLISHED");
    /* The peer vanishes: after 10 s and 3 probes a second apart, it is over. */
    H.dir[1].down = 1;
    uint64_t t0 = mirage_clock_monotonic();
    CHECK_INT(mirage_flow_read(srv, buf, sizeof(buf), &got, MIRAGE_FOREVER), MIRAGE_ETIMEDOUT);
    CHECK(mirage_clock_monotonic() - t0 <= MIRAGE_SEC(14));
    mirage_flow_close(srv);
    /* Its last word was a RST, which reaches the client. */
    CHECK_INT(mirage_flow_read(cli, buf, sizeof(buf), &got, MIRAGE_FOREVER), MIRAGE_ECONNRESET);
    mirage_flow_close(cli);
    mirage_tcp_listener_close(l);
    /* Per-connection keepalive on the client: same ending. */
    H.dir[1].down = 0;
    l = pair(&H, 81, NULL, &srv, &cli);
    CHECK_INT(mirage_tcp_set_keepalive(cli, MIRAGE_SEC(5), MIRAGE_SEC(1), 2), 0);
    H.dir[0].down = 1;
    t0 = mirage_clock_monotonic();
    CHECK_INT(mirage_flow_read(cli, buf, sizeof(buf), &got, MIRAGE_FOREVER), MIRAGE_ETIMEDOUT);
    CHECK(mirage_clock_monotonic() - t0 > MIRAGE_MS(6900) &&
          mirage_clock_monotonic() - t0 <= MIRAGE_SEC(7));
    mirage_flow_close(cli);
    H.dir[0].down = 0;
    CHECK_INT(mirage_flow_read(srv, buf, sizeof(buf), &got, MIRAGE_FOREVER), MIRAGE_ECONNRESET);
    mirage_flow_close(srv);
    mirage_tcp_listener_close(l);
    check_all_freed(&H);
    harness_free(&H);
}

static int data_segs[2];
static void count_data(struct harness *h, int from, const uint8_t *seg, size_t len)
{
    struct mirage_tcp_seg s;
    (void)h;
    if (mirage_tcp_parse(seg, len, &s, NULL) == 0 && s.len > 0)
        data_segs[from]++;
}

static void test_nagle(void)
{
    struct mirage_flow *srv, *cli;
    struct mirage_tcp_listener *l;
    static uint8_t buf[4096];
    size_t total, got;

    harness_init(&H, 7, NULL, &(struct link_params){.delay = MIRAGE_MS(10)});
    H.tap = count_data;
    l = pair(&H, 80, NULL, &srv, &cli);
    /* Nagle holds small segments for an ACK (20 ms here); nodelay does not.
     * Either way, writes made while the writer keeps running are corked
     * until it suspends (tcp_push), so a burst of them leaves as one. */
    for (int nodelay = 0; nodelay < 2; nodelay++) {
        for (int pause = 0; pause < 2; pause++) {
            CHECK_INT(mirage_tcp_set_nodelay(cli, nodelay), 0);
            data_segs[1] = 0;
            for (int i = 0; i < 100; i++) {
                CHECK_INT(mirage_flow_write(cli, "0123456789", 10, MIRAGE_FOREVER), 0);
                if (pause)
                    mirage_sleep_ns(1); /* the writer suspends between writes */
            }
            for (total = 0; total < 1000; total += got)
                CHECK_INT(mirage_flow_read(srv, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
            if (nodelay && pause)
                CHECK_INT(data_segs[1], 100);
            else
                CHECK_INT(data_segs[1], 2); /* one goes, the rest wait for its ACK or the cork */
            mirage_sleep_ns(MIRAGE_MS(100));
        }
    }
    H.tap = NULL;
    mirage_flow_close(cli);
    mirage_flow_close(srv);
    mirage_tcp_listener_close(l);
    check_all_freed(&H);
    harness_free(&H);
}

static void trace_tap(struct harness *h, int from, const uint8_t *seg, size_t len)
{
    struct mirage_tcp_seg s;
    (void)h;
    if (mirage_tcp_parse(seg, len, &s, NULL) == 0)
        fprintf(stderr, "%llu %c fl %02x seq %u ack %u len %zu wnd %u nsack %u\n",
                (unsigned long long)mirage_clock_monotonic() / 1000000, from ? 'B' : 'A', s.flags,
                s.seq, s.ack, s.len, s.wnd, s.nsack);
}

static void test_shutdown_read(void)
{
    struct mirage_flow *srv, *cli;
    struct mirage_tcp_listener *l;
    static uint8_t buf[100000];
    size_t got;

    harness_init(&H, 8, NULL, &(struct link_params){.delay = MIRAGE_MS(1)});
    l = pair(&H, 80, NULL, &srv, &cli);
    CHECK_INT(mirage_flow_shutdown(srv, MIRAGE_SHUT_RD), 0);
    if (getenv("TRACE"))
        H.tap = trace_tap;
    CHECK_INT(mirage_flow_read(srv, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
    CHECK_INT(got, 0);
    /* More than both buffers: the receiver drops it all but keeps ACKing. */
    CHECK_INT(mirage_flow_write(cli, buf, sizeof(buf), mirage_deadline_in(MIRAGE_SEC(5))), 0);
    CHECK_INT(mirage_flow_shutdown(cli, MIRAGE_SHUT_WR), 0);
    /* The other direction still works. */
    CHECK_INT(mirage_flow_write(srv, "ok", 2, MIRAGE_FOREVER), 0);
    CHECK_INT(mirage_flow_read(cli, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
    CHECK_INT(got, 2);
    mirage_flow_close(srv);
    CHECK_INT(mirage_flow_read(cli, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
    CHECK_INT(got, 0);
    mirage_flow_close(cli);
    mirage_tcp_listener_close(l);
    check_all_freed(&H);
    harness_free(&H);
}

/* ---- listeners ------------------------------------------------------------------------ */

static void test_listener_close_pending(void)
{
    struct mirage_tcp_listener *l;
    struct mirage_flow *c[3];
    struct mirage_ipaddr dst;
    uint8_t buf[8];
    size_t got;

    harness_init(&H, 9, NULL, &(struct link_params){.delay = MIRAGE_MS(1)});
    dst = H.ep[0].addr;
    CHECK_INT(mirage_tcp_listener_open(H.ep[0].tcp, 80, NULL, &l), 0);
    struct mirage_tcp_listener *l2;
    CHECK_INT(mirage_tcp_listener_open(H.ep[0].tcp, 80, NULL, &l2), MIRAGE_EADDRINUSE);
    for (int i = 0; i < 3; i++)
        CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 80, &c[i], MIRAGE_FOREVER), 0);
    CHECK_INT(tstats(&H, 0).conns, 3);
    mirage_tcp_listener_close(l); /* nobody accepted them */
    CHECK_INT(tstats(&H, 0).conns, 0);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(mirage_flow_read(c[i], buf, sizeof(buf), &got, MIRAGE_FOREVER),
                  MIRAGE_ECONNRESET);
        mirage_flow_close(c[i]);
    }
    check_all_freed(&H);
    harness_free(&H);
}

static void test_syn_flood(void)
{
    struct mirage_tcp_listen_opts lo = {.backlog = 2};
    struct mirage_tcp_listener *l;
    struct acceptor a = {.deadline = MIRAGE_FOREVER};
    struct mirage_flow *cli;
    struct mirage_ipaddr dst;
    struct mirage_tcp_conn_stats st;
    uint8_t buf[16];
    size_t got;

    harness_init(&H, 10, NULL, &(struct link_params){.delay = MIRAGE_MS(1)});
    dst = H.ep[0].addr;
    CHECK_INT(mirage_tcp_listener_open(H.ep[0].tcp, 80, &lo, &l), 0);
    for (int i = 0; i < 200; i++)
        inject(&H, 0, mirage_ipv4_addr(10, 0, 1, (uint8_t)i), (uint16_t)(1000 + i), 80,
               (uint32_t)i * 77777u, 0, MIRAGE_TCP_SYN, NULL, 0);
    CHECK_INT(tstats(&H, 0).conns, 2); /* the backlog holds; the rest cost nothing */
    CHECK_INT(tstats(&H, 0).syn_cookies_sent, 198);
    /* A real client still gets in, through a cookie, with its options. */
    CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 80, &cli, MIRAGE_FOREVER), 0);
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(tstats(&H, 0).syn_cookies_accepted, 1);
    a.l = l;
    CHECK_INT(accept_fn(&a), 0);
    mirage_tcp_conn_stats(a.f, &st);
    CHECK_INT(st.sack, 1);
    CHECK_INT(st.timestamps, 1);
    CHECK_INT(st.snd_wscale, 7);
    CHECK_INT(mirage_flow_write(cli, "through", 7, MIRAGE_FOREVER), 0);
    CHECK_INT(mirage_flow_read(a.f, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
    CHECK_INT(got, 7);
    CHECK_INT(mirage_flow_write(a.f, "back", 4, MIRAGE_FOREVER), 0);
    CHECK_INT(mirage_flow_read(cli, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
    CHECK_INT(got, 4);
    /* A forged ACK with a wrong cookie is refused with a RST. */
    uint64_t rst = tstats(&H, 0).resets_sent;
    inject(&H, 0, mirage_ipv4_addr(10, 0, 2, 1), 999, 80, 5, 12345, MIRAGE_TCP_ACK, NULL, 0);
    CHECK_INT(tstats(&H, 0).resets_sent, rst + 1);
    CHECK_INT(tstats(&H, 0).syn_cookies_accepted, 1);
    mirage_flow_close(cli);
    mirage_flow_close(a.f);
    mirage_tcp_listener_close(l);
    check_all_freed(&H);
    harness_free(&H);
}

/* A listener's max_conns: a SYN beyond it is reset at once and counted;
 * when one closes (the server first: TIME_WAIT no longer counts), the next
 * gets in. */
static void test_conn_limit(void)
{
    struct mirage_tcp_listen_opts lo = {.max_conns = 3};
    struct mirage_tcp_listener *l;
    struct acceptor a = {.deadline = MIRAGE_FOREVER};
    struct mirage_flow *srv[4], *cli[4];
    struct mirage_ipaddr dst;

    harness_init(&H, 24, NULL, &(struct link_params){.delay = MIRAGE_MS(1)});
    dst = H.ep[0].addr;
    CHECK_INT(mirage_tcp_listener_open(H.ep[0].tcp, 80, &lo, &l), 0);
    a.l = l;
    for (int i = 0; i < 3; i++) {
        CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 80, &cli[i], MIRAGE_FOREVER), 0);
        CHECK_INT(accept_fn(&a), 0);
        srv[i] = a.f;
    }
    CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 80, &cli[3], MIRAGE_FOREVER),
              MIRAGE_ECONNREFUSED);
    CHECK_INT(tstats(&H, 0).limit_refusals, 1);
    CHECK_INT(tstats(&H, 0).conns, 3);
    mirage_flow_close(srv[0]);
    mirage_sleep_ns(MIRAGE_MS(10)); /* B closes too: A's end goes to TIME_WAIT */
    mirage_flow_close(cli[0]);
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(tstats(&H, 0).time_wait, 1);
    CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 80, &cli[3], MIRAGE_FOREVER), 0);
    CHECK_INT(accept_fn(&a), 0);
    srv[3] = a.f;
    CHECK_INT(tstats(&H, 0).limit_refusals, 1);
    for (int i = 1; i < 4; i++) {
        mirage_flow_close(cli[i]);
        mirage_flow_close(srv[i]);
    }
    mirage_tcp_listener_close(l);
    check_all_freed(&H);
    harness_free(&H);
}

/* Buffers grow with use: a few bytes cost the first 2 KiB, a window's worth
 * the whole 64 KiB, and reading it all gives the buffer back. */
static void test_buffers_grow(void)
{
    struct mirage_flow *srv, *cli;
    struct mirage_tcp_listener *l;
    static uint8_t out[65536], in[65536 + 5];
    uint64_t h0;
    size_t got, total = 0;

    harness_init(&H, 25, NULL, &(struct link_params){.delay = MIRAGE_MS(1)});
    l = pair(&H, 80, NULL, &srv, &cli);
    h0 = tstats(&H, 0).heap;
    CHECK_INT(mirage_flow_write(cli, "small", 5, MIRAGE_FOREVER), 0);
    mirage_sleep_ns(MIRAGE_MS(50));
    CHECK_INT(tstats(&H, 0).heap - h0, 2048);
    stream_fill(25, 0, out, sizeof(out));
    CHECK_INT(mirage_flow_write(cli, out, 60000, MIRAGE_FOREVER), 0);
    mirage_sleep_ns(MIRAGE_MS(100));
    CHECK_INT(tstats(&H, 0).heap - h0, 65536);
    while (total < 60005) {
        CHECK_INT(mirage_flow_read(srv, in + total, 4096, &got, MIRAGE_FOREVER), 0);
        total += got;
        if (got == 0)
            break;
    }
    CHECK(memcmp(in, "small", 5) == 0);
    CHECK(memcmp(in + 5, out, 60000) == 0);
    CHECK_INT(tstats(&H, 0).heap - h0, 65536); /* in the cache, for the next burst */
    /* The sender's buffer grew the same way and is back in its cache. */
    mirage_flow_close(cli);
    mirage_flow_close(srv);
    mirage_tcp_listener_close(l);
    check_all_freed(&H);
    harness_free(&H);
}

static void test_ports(void)
{
    struct mirage_tcp_config cfg = {.port_lo = 40000, .port_hi = 40003};
    struct mirage_tcp_listener *l80, *l81;
    struct mirage_flow *c[6];
    struct mirage_ipaddr dst;

    harness_init(&H, 11, &cfg, &(struct link_params){.delay = MIRAGE_MS(1)});
    dst = H.ep[0].addr;
    CHECK_INT(mirage_tcp_listener_open(H.ep[0].tcp, 80, NULL, &l80), 0);
    CHECK_INT(mirage_tcp_listener_open(H.ep[0].tcp, 81, NULL, &l81), 0);
    for (int i = 0; i < 4; i++)
        CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 80, &c[i], MIRAGE_FOREVER), 0);
    CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 80, &c[4], MIRAGE_FOREVER),
              MIRAGE_EADDRINUSE);
    /* The same ports serve another destination. */
    CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 81, &c[5], MIRAGE_FOREVER), 0);
    for (int i = 0; i < 6; i++)
        if (i != 4)
            mirage_flow_close(c[i]);
    mirage_tcp_listener_close(l80);
    mirage_tcp_listener_close(l81);
    check_all_freed(&H);
    harness_free(&H);
}

/* A closer's TIME-WAIT gives way to a new SYN from the same port (RFC 6191). */
static void test_time_wait_reuse(void)
{
    struct mirage_tcp_config cfg = {.port_lo = 45000, .port_hi = 45000};
    struct mirage_flow *srv, *cli;
    struct mirage_tcp_listener *l;
    uint8_t buf[8];
    size_t got;

    harness_init(&H, 12, &cfg, &(struct link_params){.delay = MIRAGE_MS(1)});
    for (int round = 0; round < 3; round++) {
        l = pair(&H, 80, NULL, &srv, &cli);
        mirage_flow_close(srv); /* the server closes first: TIME-WAIT is A's */
        CHECK_INT(mirage_flow_read(cli, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
        CHECK_INT(got, 0);
        mirage_flow_close(cli);
        mirage_sleep_ns(MIRAGE_MS(10));
        CHECK_INT(tstats(&H, 0).time_wait, 1);
        mirage_tcp_listener_close(l);
        if (round == 2)
            break;
        mirage_sleep_ns(MIRAGE_MS(5));
    }
    check_all_freed(&H);
    harness_free(&H);
}

/* Idle connections hold no buffers: under 4 KiB of heap each (both ends counted). */
static void test_idle_heap(void)
{
    enum { N = 1000 };
    static struct mirage_flow *srv[N], *cli[N];
    struct mirage_tcp_listener *l;
    struct mirage_ipaddr dst;
    struct acceptor a = {.deadline = MIRAGE_FOREVER};
    uint64_t h0, h1;

    harness_init(&H, 13, NULL, &(struct link_params){.delay = MIRAGE_MS(1)});
    dst = H.ep[0].addr;
    CHECK_INT(mirage_tcp_listener_open(H.ep[0].tcp, 80,
                                       &(struct mirage_tcp_listen_opts){.backlog = N}, &l),
              0);
    a.l = l;
    h0 = tstats(&H, 0).heap + tstats(&H, 1).heap;
    for (int i = 0; i < N; i++) {
        CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 80, &cli[i], MIRAGE_FOREVER), 0);
        CHECK_INT(accept_fn(&a), 0);
        srv[i] = a.f;
        mirage_flow_write(cli[i], "x", 1, MIRAGE_FOREVER);
    }
    mirage_sleep_ns(MIRAGE_SEC(1));
    for (int i = 0; i < N; i++) {
        uint8_t b;
        size_t got;
        mirage_flow_read(srv[i], &b, 1, &got, MIRAGE_FOREVER);
    }
    h1 = tstats(&H, 0).heap + tstats(&H, 1).heap;
    printf("  heap per idle connection: %llu bytes (one end)\n",
           (unsigned long long)((h1 - h0) / (2 * N)));
    CHECK((h1 - h0) / (2 * N) < 4096);
    for (int i = 0; i < N; i++) {
        mirage_flow_close(cli[i]);
        mirage_flow_close(srv[i]);
    }
    mirage_tcp_listener_close(l);
    check_all_freed(&H);
    harness_free(&H);
}

int main(int argc, char **argv)
{
    uint64_t big = 100u * 1024 * 1024;

    /* Virtual time makes the 100 MB transfers take seconds; "small" runs 4 MB. */
    if (argc > 1 && strcmp(argv[1], "small") == 0)
        big = 4u * 1024 * 1024;
    test_parse();
    test_refused_and_timeout();
    test_simultaneous_open_close();
    test_rst_validation();
    test_zero_window();
    test_zero_window_silent_peer();
    test_zero_window_answered_for_ever();
    test_user_timeout();
    test_keepalive();
    test_nagle();
    test_shutdown_read();
    test_listener_close_pending();
    test_syn_flood();
    test_conn_limit();
    test_buffers_grow();
    test_ports();
    test_time_wait_reuse();
    test_idle_heap();
    test_clean_transfer();
    test_window_autotune();
    lossy(0.01, big, MIRAGE_TCP_CUBIC, 11);
    lossy(0.05, big, MIRAGE_TCP_CUBIC, 12);
    lossy(0.20, big, MIRAGE_TCP_CUBIC, 13);
    lossy(0.05, big / 4, MIRAGE_TCP_NEWRENO, 14);
    return CHECK_DONE();
}
