/* test_tcp_window.c: the peer's window as our sender keeps it; ACKs on data a full buffer drops. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/error.h"
#include "mirage/sched.h"
#include "mirage/tcp.h"
#include "mirage/time.h"
#include "tcp_harness.h"

/*
 * One real instance, A (ep[0]), against a peer played by hand: A's segments
 * are watched at the link and dropped (dir[0].down), and the peer's are
 * built here, without options (no window scaling, no timestamps, no SACK;
 * A's MSS toward the peer is then 536), so every window is exact.
 */
static struct harness H;

static int after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

static struct {
    uint32_t data_end; /* the right end of the furthest data A sent */
    int any;
    size_t longest; /* the longest data segment, header and options included */
    int with_sack;  /* data segments that carried SACK blocks */
    uint32_t last_ack; /* the ACK field of A's last segment */
    int updates;       /* pure window updates: no data, the same ACK as before, a wider window */
    uint16_t last_wnd; /* the window of A's last segment */
} sent;

static void tap(struct harness *h, int from, const uint8_t *seg, size_t len)
{
    struct mirage_tcp_seg s;

    (void)h;
    if (from != 0 || mirage_tcp_parse(seg, len, &s, NULL) != 0)
        return;
    if (s.len == 0 && s.flags == MIRAGE_TCP_ACK && s.ack == sent.last_ack && s.wnd > sent.last_wnd)
        sent.updates++;
    sent.last_ack = s.ack;
    sent.last_wnd = s.wnd;
    if (s.len == 0)
        return;
    if (!sent.any || after(s.seq + (uint32_t)s.len, sent.data_end))
        sent.data_end = s.seq + (uint32_t)s.len;
    sent.any = 1;
    if (len > sent.longest)
        sent.longest = len;
    if (s.nsack)
        sent.with_sack++;
}

static const uint16_t PEER_PORT = 40000, PORT = 80;

/* A segment from the peer (10.0.0.2) to A, with (olen) bytes of options
 * (a multiple of 4). */
static void from_peer_opt(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
                          const uint8_t *opt, size_t olen, const uint8_t *data, size_t len)
{
    static uint8_t seg[1600];
    struct mirage_ipaddr src = H.ep[1].addr, dst = H.ep[0].addr;
    size_t hl = 20 + olen;
    uint16_t sum;

    memset(seg, 0, 20);
    seg[0] = PEER_PORT >> 8, seg[1] = PEER_PORT & 0xff;
    seg[2] = PORT >> 8, seg[3] = PORT & 0xff;
    for (int i = 0; i < 4; i++) {
        seg[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        seg[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    seg[12] = (uint8_t)(hl / 4) << 4;
    seg[13] = flags;
    seg[14] = (uint8_t)(wnd >> 8), seg[15] = (uint8_t)wnd;
    if (olen)
        memcpy(seg + 20, opt, olen);
    if (len)
        memcpy(seg + hl, data, len);
    sum = mirage_tcp_checksum(mirage_tcp_pseudo(&src, &dst, hl + len), seg, hl + len);
    seg[16] = (uint8_t)(sum >> 8), seg[17] = (uint8_t)sum;
    mirage_tcp_input(H.ep[0].tcp, &src, &dst, seg, hl + len);
}

static void from_peer(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *data,
                      size_t len)
{
    from_peer_opt(seq, ack, flags, wnd, NULL, 0, data, len);
}

/* A listens, the peer opens with ISN (irs) and window (wnd), its SYN
 * offering (syn_opt) when not NULL (8 bytes); returns A's flow and its ISN. */
static struct mirage_flow *open_from_peer_opt(const struct mirage_tcp_config *cfg, uint32_t irs,
                                              uint16_t wnd, const uint8_t *syn_opt, size_t olen,
                                              uint32_t *iss, struct mirage_tcp_listener **l)
{
    struct mirage_flow *f = NULL;
    struct mirage_tcp_seg synack;

    harness_init(&H, 3, cfg, &(struct link_params){.delay = MIRAGE_MS(1)});
    H.dir[0].down = 1;
    H.tap = tap;
    memset(&sent, 0, sizeof(sent));
    CHECK_INT(mirage_tcp_listener_open(H.ep[0].tcp, PORT, NULL, l), 0);
    from_peer_opt(irs, 0, MIRAGE_TCP_SYN, wnd, syn_opt, olen, NULL, 0);
    CHECK_INT(mirage_tcp_parse(H.ep[0].last, H.ep[0].last_len, &synack, NULL), 0);
    CHECK_INT(synack.flags, MIRAGE_TCP_SYN | MIRAGE_TCP_ACK);
    CHECK_INT(synack.ack, irs + 1);
    *iss = synack.seq;
    from_peer(irs + 1, *iss + 1, MIRAGE_TCP_ACK, wnd, NULL, 0);
    CHECK_INT(mirage_tcp_listener_accept(*l, &f, NULL, NULL, mirage_deadline_in(MIRAGE_SEC(1))), 0);
    return f;
}

static struct mirage_flow *open_from_peer(const struct mirage_tcp_config *cfg, uint32_t irs,
                                          uint16_t wnd, uint32_t *iss,
                                          struct mirage_tcp_listener **l)
{
    return open_from_peer_opt(cfg, irs, wnd, NULL, 0, iss, l);
}

/*
 * The peer's segment that fills a hole in what A received carries a newer
 * ACK than the out-of-order segment before it, but an older sequence number.
 * RFC 9293's SND.WL1 test alone keeps the window from the earlier segment,
 * which was relative to the earlier ACK: SND.UNA moved, SND.WND did not, and
 * A sent past the peer's right edge (two of our stacks echoing over a lossy
 * link then stalled: the receiver had to drop what it had no room for).
 */
static void test_window_from_hole_filling_retransmission(void)
{
    static uint8_t out[20000], pdata[100];
    struct mirage_tcp_listener *l;
    struct mirage_flow *f;
    uint32_t iss, irs = 1000, edge;

    f = open_from_peer(NULL, irs, 3000, &iss, &l);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    edge = iss + 1 + 3000;
    CHECK_INT(mirage_flow_write(f, out, sizeof(out), mirage_deadline_in(MIRAGE_SEC(1))), 0);
    CHECK(sent.any && !after(sent.data_end, edge));
    /* The peer's first segment is lost; its second arrives out of order with
     * the ACK and window of that time. */
    from_peer(irs + 1 + 100, iss + 1, MIRAGE_TCP_ACK, 3000, pdata, 100);
    /* The first, retransmitted, acknowledges two of A's segments; the
     * window is smaller by as much, as the peer's application read nothing:
     * the right edge stays where it was. */
    from_peer(irs + 1, iss + 1 + 1072, MIRAGE_TCP_ACK, 3000 - 1072, pdata, 100);
    CHECK(!after(sent.data_end, edge));
    /* Everything A sent acknowledged with the window open again: A goes on,
     * up to the new edge. */
    edge = sent.data_end + 3000;
    from_peer(irs + 1 + 200, sent.data_end, MIRAGE_TCP_ACK, 3000, NULL, 0);
    CHECK(after(sent.data_end, edge - 3000));
    CHECK(!after(sent.data_end, edge));
    mirage_flow_close(f);
    mirage_tcp_listener_close(l);
    harness_free(&H);
}

/* A segment from an old ACK (reordered behind a newer one) must not set the
 * window either: its window counts from an edge already passed. */
static void test_window_not_from_old_ack(void)
{
    static uint8_t out[20000], pdata[100];
    struct mirage_tcp_listener *l;
    struct mirage_flow *f;
    uint32_t iss, irs = 5000, edge;

    f = open_from_peer(NULL, irs, 3000, &iss, &l);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    edge = iss + 1 + 3000;
    CHECK_INT(mirage_flow_write(f, out, sizeof(out), mirage_deadline_in(MIRAGE_SEC(1))), 0);
    /* The peer sends 100 bytes (lost) with the ACK of one segment, then 100
     * more; then resends the first with the ACK of two (window smaller by
     * as much). The resent one arrives first, the second after it: its ACK
     * is older, its sequence number later, and its window counts from an
     * edge A has passed. The right edge stays put. */
    from_peer(irs + 1, iss + 1 + 1072, MIRAGE_TCP_ACK, 3000 - 1072, pdata, 100);
    CHECK(!after(sent.data_end, edge));
    from_peer(irs + 1 + 100, iss + 1 + 536, MIRAGE_TCP_ACK, 3000 - 536, pdata, 100);
    CHECK(!after(sent.data_end, edge));
    mirage_flow_close(f);
    mirage_tcp_listener_close(l);
    harness_free(&H);
}

/*
 * The SACK blocks A reports while data from the peer is missing ride on its
 * data segments too; the payload must shrink by as much, or the segment
 * exceeds the peer's MSS (and, at a 1500-byte MTU, leaves as two IP
 * fragments, both of which must then arrive).
 */
static void test_sack_blocks_fit_the_mss(void)
{
    /* MSS 1460, NOP, NOP, SACK-permitted; no timestamps (four blocks fit) */
    static const uint8_t syn_opt[8] = {2, 4, 1460 >> 8, 1460 & 0xff, 1, 1, 4, 2};
    static uint8_t out[60000], pdata[100];
    struct mirage_tcp_listener *l;
    struct mirage_flow *f;
    uint32_t iss, irs = 9000;

    f = open_from_peer_opt(NULL, irs, 60000, syn_opt, sizeof(syn_opt), &iss, &l);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    /* Four pieces past a hole: A holds four ranges out of order. */
    for (uint32_t i = 0; i < 4; i++)
        from_peer(irs + 1 + 200 + 200 * i, iss + 1, MIRAGE_TCP_ACK, 60000, pdata, 100);
    CHECK_INT(mirage_flow_write(f, out, sizeof(out), mirage_deadline_in(MIRAGE_SEC(1))), 0);
    CHECK(sent.with_sack > 0);
    CHECK(sent.longest <= 20 + 1460);
    mirage_flow_close(f);
    mirage_tcp_listener_close(l);
    harness_free(&H);
}

/*
 * A peer's MSS smaller than any useful payload: A sends TCP_MIN_PAYLOAD (64)
 * bytes of data a segment, and the timestamps option on top when it is on.
 * The option's 12 bytes used to come off the MSS before the floor: 1 - 12
 * wrapped to 65525, and A sent 4000-byte segments as IP fragments.
 */
static void test_tiny_peer_mss(void)
{
    static const struct {
        uint16_t mss;
        int ts;
        uint16_t payload;
    } cases[] = {{1, 0, 64},  {1, 1, 64},  {13, 1, 64},   {63, 0, 64},   {75, 1, 64},
                 {76, 1, 64}, {77, 1, 65}, {536, 1, 524}, {536, 0, 536}, {1460, 1, 1448}};
    static uint8_t out[4000];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint16_t mss = cases[i].mss;
        /* MSS, then NOP, NOP and the timestamps (tsval 7, tsecr 0), or four NOPs */
        uint8_t opt[16] = {2, 4, (uint8_t)(mss >> 8), (uint8_t)mss, 1, 1, 1, 1};
        struct mirage_tcp_listener *l;
        struct mirage_tcp_conn_stats st;
        struct mirage_flow *f;
        uint32_t iss;

        if (cases[i].ts)
            memcpy(opt + 6, (uint8_t[10]){8, 10, 0, 0, 0, 7, 0, 0, 0, 0}, 10);
        f = open_from_peer_opt(NULL, 5000, 60000, opt, cases[i].ts ? 16 : 8, &iss, &l);
        CHECK(f != NULL);
        if (f == NULL)
            continue;
        CHECK_INT(mirage_tcp_conn_stats(f, &st), 0);
        CHECK_INT(st.timestamps, cases[i].ts);
        CHECK_INT(st.mss, cases[i].payload);
        CHECK_INT(mirage_flow_write(f, out, sizeof(out), mirage_deadline_in(MIRAGE_SEC(1))), 0);
        mirage_sleep_ns(MIRAGE_MS(10));
        CHECK_INT(sent.longest, 20 + (cases[i].ts ? 12 : 0) + cases[i].payload);
        mirage_flow_close(f);
        mirage_tcp_listener_close(l);
        harness_free(&H);
    }
}

static struct {
    struct mirage_flow *f;
    size_t len;
    int r, done;
} wr;

static int writer(void *arg)
{
    static uint8_t out[12000];

    (void)arg;
    wr.r = mirage_flow_write(wr.f, out, wr.len, mirage_deadline_in(MIRAGE_SEC(30)));
    wr.done = 1;
    return 0;
}

/*
 * A's receive buffer is full (its application waits to send before it
 * reads again, as an echo does) and its send buffer too. The peer's segment
 * at A's edge brings data A has no room for, and the ACK of all A sent: the
 * data goes, the ACK must count (RFC 9293 3.10.7.4), or A's application
 * never sends, never reads, and the window never opens.
 */
static void test_zero_window_still_takes_acks(void)
{
    struct mirage_tcp_config cfg = {.rcvbuf = 4096, .sndbuf = 4096};
    static uint8_t pdata[1024], in[8192];
    struct mirage_tcp_listener *l;
    struct mirage_fiber *fw;
    struct mirage_flow *f;
    struct mirage_tcp_conn_stats st;
    uint32_t iss, irs = 7000, nxt = irs + 1, sent_before;
    size_t got;

    f = open_from_peer(&cfg, irs, 30000, &iss, &l);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    /* The peer fills A's receive buffer. */
    for (int i = 0; i < 4; i++, nxt += sizeof(pdata)) {
        memset(pdata, 'a' + i, sizeof(pdata));
        from_peer(nxt, iss + 1, MIRAGE_TCP_ACK, 30000, pdata, sizeof(pdata));
    }
    mirage_tcp_conn_stats(f, &st);
    CHECK_INT(st.rcv_wnd, 0);
    /* A's application writes more than its send buffer holds, and waits. */
    wr.f = f;
    wr.len = 12000;
    wr.done = 0;
    fw = mirage_fiber_spawn("writer", writer, NULL, 0);
    mirage_sleep_ns(MIRAGE_MS(1));
    CHECK(!wr.done);
    CHECK(sent.any);
    sent_before = sent.data_end;
    /* Data at A's edge, with the ACK of everything A sent. */
    memset(pdata, 'z', sizeof(pdata));
    from_peer(nxt, sent_before, MIRAGE_TCP_ACK, 30000, pdata, 100);
    mirage_sleep_ns(MIRAGE_MS(1));
    CHECK(after(sent.data_end, sent_before)); /* A sends on */
    /* Only what fitted was taken. */
    for (size_t n = 0; n < 4096; n += got)
        if (mirage_flow_read(f, in + n, sizeof(in) - n, &got, mirage_deadline_in(MIRAGE_SEC(1))) !=
                0 ||
            got == 0)
            break;
    CHECK(in[0] == 'a' && in[4095] == 'd');
    CHECK_INT(mirage_flow_read(f, in, sizeof(in), &got, mirage_deadline_in(MIRAGE_MS(100))),
              MIRAGE_ETIMEDOUT);
    /* The rest of the write goes as the peer acknowledges it. */
    for (int i = 0; i < 20 && !wr.done; i++) {
        from_peer(nxt, sent.data_end, MIRAGE_TCP_ACK, 30000, NULL, 0);
        mirage_sleep_ns(MIRAGE_MS(1));
    }
    CHECK(wr.done);
    CHECK_INT(wr.r, 0);
    CHECK_INT(mirage_fiber_join(fw, NULL), 0);
    mirage_flow_close(f);
    mirage_tcp_listener_close(l);
    harness_free(&H);
}

/*
 * The peer takes everything, then offers a window of 12 bytes and keeps it
 * there (Linux with a tiny receive buffer its application never reads).
 * Sender SWS avoidance holds the data back, nothing is in flight, the
 * window is not zero: with no timer at all the connection once sat there
 * for ever, even after the peer vanished. The override timeout sends what
 * fits (RFC 9293 3.8.6.2.1).
 */
static void test_small_window_is_not_a_deadlock(void)
{
    struct mirage_tcp_config cfg = {.rcvbuf = 4096, .sndbuf = 4096};
    struct mirage_tcp_listener *l;
    struct mirage_fiber *fw;
    struct mirage_flow *f;
    uint32_t iss, irs = 9000, before;

    f = open_from_peer(&cfg, irs, 30000, &iss, &l);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    wr.f = f;
    wr.len = 12000;
    wr.done = 0;
    fw = mirage_fiber_spawn("writer", writer, NULL, 0);
    mirage_sleep_ns(MIRAGE_MS(1));
    CHECK(sent.any);
    before = sent.data_end;
    from_peer(irs + 1, before, MIRAGE_TCP_ACK, 12, NULL, 0);
    mirage_sleep_ns(MIRAGE_SEC(2));
    CHECK_INT(sent.data_end - before, 12);
    CHECK(!wr.done);
    mirage_flow_close(f); /* resets: the writer's wait ends */
    mirage_fiber_join(fw, NULL);
    mirage_tcp_listener_close(l);
    harness_free(&H);
}

/* read_n F N STEP: reads N bytes from (f) in reads of at most STEP bytes. */
static size_t read_n(struct mirage_flow *f, size_t n, size_t step)
{
    static uint8_t in[4096];
    size_t total = 0, got;

    while (total < n && mirage_flow_read(f, in, step < n - total ? step : n - total, &got,
                                         mirage_deadline_in(MIRAGE_MS(100))) == 0 &&
           got > 0)
        total += got;
    mirage_sleep_ns(MIRAGE_MS(1));
    return total;
}

/*
 * The application's reads open the window; telling the peer each time costs
 * a segment (on a tap, a write(2) that runs the host's whole TCP input):
 * reading 64 MiB in 4 KiB pieces sent 16,000 window updates beside 1,270
 * ACKs of data. A's update waits until the peer's room would at least double
 * (as Linux does) or half the buffer opened; a peer left with less than two
 * segments of room gets one as soon as two segments' worth is read.
 */
static void test_window_update_only_when_it_matters(void)
{
    struct mirage_tcp_config cfg = {.rcvbuf = 32768, .sndbuf = 4096};
    static uint8_t pdata[1024];
    struct mirage_tcp_listener *l;
    struct mirage_flow *f;
    uint32_t iss, irs = 11000, nxt = irs + 1;

    f = open_from_peer(&cfg, irs, 30000, &iss, &l);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    memset(pdata, 'w', sizeof(pdata));
    /* 8 KiB in: 24 KiB of room left; reading it back in 512-byte pieces
     * opens 8 KiB, less than the room the peer has: no update. */
    for (int i = 0; i < 8; i++, nxt += sizeof(pdata))
        from_peer(nxt, iss + 1, MIRAGE_TCP_ACK, 30000, pdata, sizeof(pdata));
    mirage_sleep_ns(MIRAGE_MS(1));
    sent.updates = 0;
    CHECK_INT(read_n(f, 8192, 512), 8192);
    CHECK_INT(sent.updates, 0);
    /* The buffer full (window 0): the read of two segments' worth and more
     * (2 KiB against an MSS of 536) sends one update, no more. */
    for (int i = 0; i < 32; i++, nxt += sizeof(pdata))
        from_peer(nxt, iss + 1, MIRAGE_TCP_ACK, 30000, pdata, sizeof(pdata));
    mirage_sleep_ns(MIRAGE_MS(1));
    CHECK_INT(sent.last_wnd, 0);
    sent.updates = 0;
    CHECK_INT(read_n(f, 1024, 1024), 1024);
    CHECK_INT(sent.updates, 0); /* 1 KiB: less than two segments */
    CHECK_INT(read_n(f, 1024, 1024), 1024);
    CHECK_INT(sent.updates, 1);
    CHECK_INT(sent.last_wnd, 2048);
    /* The peer still has 2 KiB of room: reading 1 KiB more is no news. */
    CHECK_INT(read_n(f, 1024, 1024), 1024);
    CHECK_INT(sent.updates, 1);
    mirage_flow_close(f);
    mirage_tcp_listener_close(l);
    harness_free(&H);
}

static struct {
    struct mirage_flow *f;
    uint8_t buf[4096];
    size_t cap, got;
    int r;
} rd;

static int reader(void *arg)
{
    (void)arg;
    rd.r = mirage_flow_read(rd.f, rd.buf, rd.cap, &rd.got, mirage_deadline_in(MIRAGE_SEC(1)));
    return 0;
}

/* Spawns the reader of (cap) bytes and lets it start waiting. */
static struct mirage_fiber *reader_waits(struct mirage_flow *f, size_t cap)
{
    struct mirage_fiber *fb;

    memset(&rd, 0, sizeof(rd));
    rd.f = f;
    rd.cap = cap;
    rd.r = 1;
    fb = mirage_fiber_spawn("reader", reader, NULL, 0);
    mirage_fiber_yield();
    CHECK_INT(rd.r, 1); /* still waiting */
    return fb;
}

static uint64_t tcp_counter(int direct)
{
    struct mirage_tcp_stats st;

    mirage_tcp_stats(H.ep[0].tcp, &st);
    return direct ? st.rcv_direct : st.heap;
}

/*
 * Bytes at the left edge of the window, arriving while a fiber waits in read
 * on an empty buffer, go straight into that fiber's buffer: through the
 * receive ring they were copied twice (in, then out to the reader), and on a
 * tap that second copy was a fifth of the receiving unikernel's time
 * (BENCHMARKS.md, "Receiving side, profiled"). What does not fit its buffer,
 * and whatever arrives while anything is buffered (unread bytes, an
 * out-of-order range), goes through the ring, in order.
 */
static void test_waiting_reader_takes_bytes_directly(void)
{
    struct mirage_tcp_config cfg = {.rcvbuf = 32768, .sndbuf = 4096};
    static uint8_t pdata[3000];
    struct mirage_tcp_listener *l;
    struct mirage_flow *f;
    struct mirage_fiber *fb;
    uint32_t iss, irs = 21000, nxt = irs + 1;
    uint64_t heap0;
    size_t got;

    f = open_from_peer(&cfg, irs, 30000, &iss, &l);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    for (size_t i = 0; i < sizeof(pdata); i++)
        pdata[i] = (uint8_t)(i * 7 + 3);
    /* 1,000 bytes for a reader of 4 KiB: all of it straight in, no buffer. */
    heap0 = tcp_counter(0);
    fb = reader_waits(f, 4096);
    from_peer(nxt, iss + 1, MIRAGE_TCP_ACK, 30000, pdata, 1000);
    nxt += 1000;
    CHECK_INT(mirage_fiber_join(fb, NULL), 0);
    CHECK_INT(rd.r, 0);
    CHECK_INT(rd.got, 1000);
    CHECK(memcmp(rd.buf, pdata, 1000) == 0);
    CHECK_INT(tcp_counter(1), 1000);
    CHECK_INT(tcp_counter(0), heap0); /* the receive ring was never made */
    /* 1,000 bytes for a reader of 600: 600 straight in, 400 through the ring. */
    fb = reader_waits(f, 600);
    from_peer(nxt, iss + 1, MIRAGE_TCP_ACK, 30000, pdata + 1000, 1000);
    nxt += 1000;
    CHECK_INT(mirage_fiber_join(fb, NULL), 0);
    CHECK_INT(rd.got, 600);
    CHECK(memcmp(rd.buf, pdata + 1000, 600) == 0);
    CHECK_INT(tcp_counter(1), 1600);
    CHECK_INT(mirage_flow_read(f, rd.buf, sizeof(rd.buf), &got, mirage_deadline_in(MIRAGE_MS(1))),
              0);
    CHECK_INT(got, 400);
    CHECK(memcmp(rd.buf, pdata + 1600, 400) == 0);
    /* Out of order: the later 500 bytes wait in the ring; the earlier 500
     * that fill the hole follow them there, and the reader gets all 1,000 in
     * order from the ring. */
    fb = reader_waits(f, 4096);
    from_peer(nxt + 500, iss + 1, MIRAGE_TCP_ACK, 30000, pdata + 2500, 500);
    mirage_fiber_yield();
    CHECK_INT(rd.r, 1);
    from_peer(nxt, iss + 1, MIRAGE_TCP_ACK, 30000, pdata + 2000, 500);
    nxt += 1000;
    CHECK_INT(mirage_fiber_join(fb, NULL), 0);
    CHECK_INT(rd.r, 0);
    CHECK_INT(rd.got, 1000);
    CHECK(memcmp(rd.buf, pdata + 2000, 1000) == 0);
    CHECK_INT(tcp_counter(1), 1600);
    mirage_flow_close(f);
    mirage_tcp_listener_close(l);
    harness_free(&H);
}

/*
 * The receive ring grows as data arrives further right (from 2 KiB up to the
 * window); growing moves only the bytes that hold data, the unread ones and
 * the out-of-order ranges after them, not the whole old ring. Both must
 * survive: the ring grows twice here, the second time with an out-of-order
 * range past the unread bytes and a hole between them.
 */
static void test_ring_growth_keeps_out_of_order_bytes(void)
{
    struct mirage_tcp_config cfg = {.rcvbuf = 32768, .sndbuf = 4096};
    static uint8_t pdata[4600], in[4600];
    struct mirage_tcp_listener *l;
    struct mirage_flow *f;
    uint32_t iss, irs = 31000, nxt = irs + 1;
    size_t got, total = 0;

    f = open_from_peer(&cfg, irs, 30000, &iss, &l);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    for (size_t i = 0; i < sizeof(pdata); i++)
        pdata[i] = (uint8_t)(i * 11 + i / 251);
    from_peer(nxt, iss + 1, MIRAGE_TCP_ACK, 30000, pdata, 1500);               /* unread */
    from_peer(nxt + 2500, iss + 1, MIRAGE_TCP_ACK, 30000, pdata + 2500, 1000); /* to 4 KiB */
    from_peer(nxt + 3600, iss + 1, MIRAGE_TCP_ACK, 30000, pdata + 3600, 1000); /* to 8 KiB */
    from_peer(nxt + 1500, iss + 1, MIRAGE_TCP_ACK, 30000, pdata + 1500, 1000);
    from_peer(nxt + 3500, iss + 1, MIRAGE_TCP_ACK, 30000, pdata + 3500, 100);
    while (total < sizeof(in) &&
           mirage_flow_read(f, in + total, sizeof(in) - total, &got,
                            mirage_deadline_in(MIRAGE_MS(1))) == 0 &&
           got > 0)
        total += got;
    CHECK_INT(total, sizeof(in));
    CHECK(memcmp(in, pdata, sizeof(in)) == 0);
    mirage_flow_close(f);
    mirage_tcp_listener_close(l);
    harness_free(&H);
}

int main(void)
{
    (void)stream_fill; /* the harness's stream helper is for transfers */
    test_window_from_hole_filling_retransmission();
    test_window_not_from_old_ack();
    test_zero_window_still_takes_acks();
    test_sack_blocks_fit_the_mss();
    test_small_window_is_not_a_deadlock();
    test_tiny_peer_mss();
    test_window_update_only_when_it_matters();
    test_waiting_reader_takes_bytes_directly();
    test_ring_growth_keeps_out_of_order_bytes();
    return CHECK_DONE();
}
