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
    uint8_t seg[60] = {0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 2, 0xa0, 0x12, 0xff, 0xff,
                       0, 0, 0, 0,
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
    CHECK_INT(x.snd_st.rcv_wscale, 1);
    CHECK_INT(x.snd_st.retransmits, 0);
    CHECK(x.snd_st.srtt_ns >= MIRAGE_MS(10));
    check_all_freed(&H);
    harness_free(&H);
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
    uint64_t t0 = mirage_time_now();

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
           (double)(mirage_time_now() - t0) / 1e9, (unsigned long long)x.snd_st.retransmits,
           (unsigned long long)x.snd_st.sack_retransmits,
           (unsigned long long)x.snd_st.sack_recoveries,
           (unsigned long long)x.snd_st.rto_timeouts,
           (unsigned long long)(H.dir[0].corrupted + H.dir[1].corrupted));
    check_all_freed(&H);
    harness_free(&H);
}

int main(int argc, char **argv)
{
    uint64_t big = 4u * 1024 * 1024;

    /* TCP_BIG=1 runs the 100 MB transfers. */
    if (getenv("TCP_BIG") || (argc > 1 && strcmp(argv[1], "big") == 0))
        big = 100u * 1024 * 1024;
    test_parse();
    test_clean_transfer();
    lossy(0.01, big, MIRAGE_TCP_CUBIC, 11);
    lossy(0.05, big, MIRAGE_TCP_CUBIC, 12);
    lossy(0.20, big / 4, MIRAGE_TCP_CUBIC, 13);
    lossy(0.05, big / 4, MIRAGE_TCP_NEWRENO, 14);
    return CHECK_DONE();
}
