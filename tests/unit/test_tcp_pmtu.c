/* test_tcp_pmtu.c: a packet too big (IPv6, RFC 8201) or fragmentation needed (IPv4, RFC 1191)
 * lowers a live TCP connection's MSS. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../net/link.h"
#include "check.h"
#include "fake_platform.h"
#include "icmp_error_frame.h"
#include "mirage/error.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/stack.h"
#include "mirage/tcp.h"
#include "mirage/time.h"

const char *mirage_cmdline(void)
{
    return "";
}

#define WAIT     MIRAGE_SEC(120)
#define PATH_MTU 1280u
#define ETH      14u
#define XFER     (1u << 20)

static uint8_t out[XFER], in[XFER];

static struct mirage_ipaddr v6(uint16_t last)
{
    struct mirage_ipaddr a = {.family = 6, .a = {0xfd, 0, 0, 9}};

    a.a[15] = (uint8_t)last;
    return a;
}

/*
 * The router: the link's filter plays a router whose next link has an MTU of
 * PATH_MTU. A frame from side 0 (the sender) with an IPv6 packet longer than
 * that is dropped, and a packet too big quoting it goes back 0.5 ms later
 * (from a timer: the filter runs inside the sender's write), so that it
 * arrives half-way between the link's whole-millisecond deliveries and
 * nothing else happens at that instant. From then on the filter notes the
 * first TCP segment with data the sender writes: it must be the lost one,
 * resent smaller at once.
 */
static struct {
    struct simlink *link;
    struct mirage_timer timer;
    int enabled, v4;
    unsigned path_mtu; /* the router's far link */
    unsigned no_df;    /* IPv4 TCP segments sent without DF */
    unsigned dropped, ptb_sent, fragments, big_after;
    uint8_t quote[PATH_MTU - 48]; /* RFC 4443 2.4 (c): the error fits the minimum MTU */
    size_t quote_len;
    uint32_t lost_seq;     /* the first dropped segment's sequence number */
    uint64_t delivered_at; /* when the error reaches the sender (0: not sent yet) */
    int next_seen;         /* the first data segment after it: */
    uint32_t next_seq;     /* its sequence number */
    size_t next_len;       /* and its IPv6 packet's length */
} rt;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void send_ptb(struct mirage_timer *t)
{
    static const uint8_t router[16] = {0xfd, 0, 0, 9, [15] = 0xfe};
    uint8_t f[ETH + 48 + sizeof(rt.quote)];
    size_t n = icmp6_error_frame(f, router, 2, 0, PATH_MTU, rt.quote, rt.quote_len);

    (void)t;
    rt.delivered_at = mirage_clock_monotonic() + MIRAGE_MS(1); /* the link's delay */
    CHECK_INT(mirage_netif_send(simlink_netif(rt.link, 1), f, n), 0);
    rt.ptb_sent++;
}

/* ICMP destination unreachable, fragmentation needed (RFC 1191 4), from
 * 10.9.0.254, with the next-hop MTU and the start of the dropped datagram. */
static void send_frag_needed(struct mirage_timer *t)
{
    uint8_t f[ETH + 28 + 576];
    size_t quote = rt.quote_len < 576 - 28 ? rt.quote_len : 576 - 28;
    size_t n = icmp4_error_frame(f, (const uint8_t *)"\x0a\x09\x00\xfe", 3, 4, rt.path_mtu,
                                 rt.quote, quote);

    (void)t;
    rt.delivered_at = mirage_clock_monotonic() + MIRAGE_MS(1);
    CHECK_INT(mirage_netif_send(simlink_netif(rt.link, 1), f, n), 0);
    rt.ptb_sent++;
}

/* The IPv4 router: as the IPv6 one, with fragmentation needed. */
static int router4(const uint8_t *fr, size_t len, int after)
{
    size_t ihl = (size_t)(fr[ETH] & 15) * 4;

    if (len < ETH + 20 || fr[ETH + 9] != 6)
        return 0;
    if ((fr[ETH + 6] & 0x3f) | fr[ETH + 7])
        rt.fragments++; /* MF or an offset */
    if (!(fr[ETH + 6] & 0x40))
        rt.no_df++;
    if (!rt.enabled)
        return 0;
    if (len > ETH + rt.path_mtu) {
        if (after)
            rt.big_after++;
        if (rt.dropped++ == 0) {
            rt.lost_seq = be32(fr + ETH + ihl + 4);
            rt.quote_len = len - ETH < sizeof(rt.quote) ? len - ETH : sizeof(rt.quote);
            memcpy(rt.quote, fr + ETH, rt.quote_len);
            mirage_timer_start(&rt.timer, mirage_clock_monotonic() + MIRAGE_US(500),
                               send_frag_needed);
        }
        return 1;
    }
    if (after && !rt.next_seen && len > ETH + ihl + (size_t)(fr[ETH + ihl + 12] >> 4) * 4) {
        rt.next_seen = 1;
        rt.next_seq = be32(fr + ETH + ihl + 4);
        rt.next_len = len - ETH;
    }
    return 0;
}

static int router(void *ctx, int from, const uint8_t *fr, size_t len)
{
    int after = rt.delivered_at != 0 && mirage_clock_monotonic() >= rt.delivered_at;

    (void)ctx;
    if (from == 0 && rt.v4 && len >= ETH && fr[12] == 0x08 && fr[13] == 0x00)
        return router4(fr, len, after);
    if (from != 0 || len < ETH + 40 || fr[12] != 0x86 || fr[13] != 0xdd)
        return 0;
    if (fr[ETH + 6] == 44)
        rt.fragments++;
    if (!rt.enabled)
        return 0;
    if (len > ETH + rt.path_mtu) {
        if (after)
            rt.big_after++;
        if (rt.dropped++ == 0 && fr[ETH + 6] == 6) {
            rt.lost_seq = be32(fr + ETH + 40 + 4);
            rt.quote_len = len - ETH < sizeof(rt.quote) ? len - ETH : sizeof(rt.quote);
            memcpy(rt.quote, fr + ETH, rt.quote_len);
            mirage_timer_start(&rt.timer, mirage_clock_monotonic() + MIRAGE_US(500), send_ptb);
        }
        return 1;
    }
    /* a TCP segment carrying data: longer than its header and options */
    if (after && !rt.next_seen && fr[ETH + 6] == 6 &&
        len > ETH + 40 + (size_t)(fr[ETH + 40 + 12] >> 4) * 4) {
        rt.next_seen = 1;
        rt.next_seq = be32(fr + ETH + 40 + 4);
        rt.next_len = len - ETH;
    }
    return 0;
}

static struct {
    struct mirage_tcp_listener *l;
    size_t got;
} sink;

/* Accepts one connection and reads it to its end into (in). */
static int sink_fiber(void *arg)
{
    struct mirage_flow *f;
    size_t got;
    int r;

    (void)arg;
    r = mirage_tcp_accept(sink.l, &f, NULL, NULL, mirage_deadline_in(WAIT));
    if (r < 0)
        return r;
    while (sink.got < XFER &&
           (r = mirage_flow_read(f, in + sink.got, XFER - sink.got, &got,
                                 mirage_deadline_in(WAIT))) == 0 &&
           got > 0)
        sink.got += got;
    if (r == 0)
        r = mirage_flow_read(f, in, 1, &got, mirage_deadline_in(WAIT)); /* the FIN */
    if (r == 0 && got != 0)
        r = MIRAGE_EINVAL;
    mirage_flow_close(f);
    return r;
}

/*
 * 1 MiB from an IPv6-only stack through the "router": the first full-sized
 * segment is dropped and answered with a packet too big. From then on the
 * connection's MSS fits 1280-byte packets (with timestamps: 1280 - 40 - 20 -
 * 12), the lost segment goes again at once (the next data segment the sender
 * writes), nothing is sent as IPv6 fragments or bigger than the path takes,
 * and no congestion response follows (not a loss of congestion: no RTO, no
 * fast recovery). The data arrives byte-exact.
 */
static void test_pmtu_lowers_mss(void)
{
    struct simlink_config lc = {.seed = 13, .delay_ns = MIRAGE_MS(1)};
    struct mirage_stack_config sc = {.ipv6 = v6(1), .ipv6_prefix = 64, .ipv6_only = 1};
    struct mirage_stack_config cc = {.ipv6 = v6(2), .ipv6_prefix = 64, .ipv6_only = 1};
    const struct mirage_ipaddr srv = v6(1);
    struct mirage_stack *server, *client;
    struct mirage_fiber *fib;
    struct mirage_tcp_conn_stats st;
    struct mirage_flow *f;
    int r = -1;

    memset(&rt, 0, sizeof(rt));
    rt.path_mtu = PATH_MTU;
    rt.link = simlink_new(&lc);
    simlink_set_filter(rt.link, router, NULL);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(rt.link, 1), &sc, &server), 0);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(rt.link, 0), &cc, &client), 0);
    mirage_sleep_ns(MIRAGE_MS(2500)); /* DAD */
    CHECK_INT(mirage_tcp_listen(server, 9, NULL, &sink.l), 0);
    fib = mirage_fiber_spawn("sink", sink_fiber, NULL, 0);
    CHECK_INT(mirage_tcp_connect(client, &srv, 9, &f, mirage_deadline_in(MIRAGE_SEC(30))), 0);
    CHECK_INT(mirage_tcp_conn_stats(f, &st), 0);
    CHECK_INT(st.mss, 1500 - 40 - 20 - 12);
    for (size_t i = 0; i < XFER; i++)
        out[i] = (uint8_t)(i * 13 + i / 509);
    rt.enabled = 1;
    CHECK_INT(mirage_flow_write(f, out, XFER, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(mirage_flow_shutdown(f, MIRAGE_SHUT_WR), 0);
    CHECK_INT(mirage_fiber_join(fib, &r), 0);
    CHECK_INT(r, 0);
    CHECK_INT(sink.got, XFER);
    CHECK(memcmp(in, out, XFER) == 0);

    CHECK_INT(mirage_tcp_conn_stats(f, &st), 0);
    CHECK_INT(st.mss, PATH_MTU - 40 - 20 - 12);
    CHECK_INT(rt.ptb_sent, 1);
    CHECK(rt.dropped >= 1);
    CHECK_INT(rt.big_after, 0);
    CHECK_INT(rt.fragments, 0);
    CHECK(rt.next_seen);
    CHECK_INT(rt.next_seq, rt.lost_seq);
    CHECK(rt.next_len <= PATH_MTU);
    CHECK_INT(st.pmtu_drops, 1);
    CHECK_INT(st.rto_timeouts, 0);
    CHECK_INT(st.fast_recoveries, 0);
    CHECK(st.retransmits >= 1);
    mirage_flow_close(f);
    mirage_tcp_unlisten(sink.l);
    mirage_stack_disconnect(client);
    mirage_stack_disconnect(server);
    simlink_free(rt.link);
}

/*
 * The same over IPv4 (RFC 1191): TCP's segments carry DF, the router's far
 * link takes 1000-byte datagrams and answers fragmentation needed with that
 * next-hop MTU; the MSS drops to 1000 - 20 - 20 - 12, the lost segment goes
 * again at once, nothing is fragmented, no congestion response.
 */
static void test_frag_needed_lowers_mss(void)
{
    struct simlink_config lc = {.seed = 14, .delay_ns = MIRAGE_MS(1)};
    struct mirage_stack_config sc = {
        .ipv4 = mirage_ipv4_addr(10, 9, 0, 1), .ipv4_prefix = 24, .ipv4_only = 1};
    struct mirage_stack_config cc = {
        .ipv4 = mirage_ipv4_addr(10, 9, 0, 2), .ipv4_prefix = 24, .ipv4_only = 1};
    const struct mirage_ipaddr srv = mirage_ipv4_addr(10, 9, 0, 1);
    struct mirage_stack *server, *client;
    struct mirage_fiber *fib;
    struct mirage_tcp_conn_stats st;
    struct mirage_flow *f;
    int r = -1;

    memset(&rt, 0, sizeof(rt));
    memset(&sink, 0, sizeof(sink));
    rt.v4 = 1;
    rt.path_mtu = 1000;
    rt.link = simlink_new(&lc);
    simlink_set_filter(rt.link, router, NULL);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(rt.link, 1), &sc, &server), 0);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(rt.link, 0), &cc, &client), 0);
    CHECK_INT(mirage_tcp_listen(server, 9, NULL, &sink.l), 0);
    fib = mirage_fiber_spawn("sink", sink_fiber, NULL, 0);
    CHECK_INT(mirage_tcp_connect(client, &srv, 9, &f, mirage_deadline_in(MIRAGE_SEC(30))), 0);
    CHECK_INT(mirage_tcp_conn_stats(f, &st), 0);
    CHECK_INT(st.mss, 1500 - 20 - 20 - 12);
    for (size_t i = 0; i < XFER; i++)
        out[i] = (uint8_t)(i * 11 + i / 499);
    rt.enabled = 1;
    CHECK_INT(mirage_flow_write(f, out, XFER, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(mirage_flow_shutdown(f, MIRAGE_SHUT_WR), 0);
    CHECK_INT(mirage_fiber_join(fib, &r), 0);
    CHECK_INT(r, 0);
    CHECK_INT(sink.got, XFER);
    CHECK(memcmp(in, out, XFER) == 0);

    CHECK_INT(mirage_tcp_conn_stats(f, &st), 0);
    CHECK_INT(st.mss, 1000 - 20 - 20 - 12);
    CHECK_INT(st.pmtu_drops, 1);
    CHECK_INT(rt.ptb_sent, 1);
    CHECK_INT(rt.big_after, 0);
    CHECK_INT(rt.fragments, 0);
    CHECK_INT(rt.no_df, 0);
    CHECK(rt.next_seen);
    CHECK_INT(rt.next_seq, rt.lost_seq);
    CHECK(rt.next_len <= 1000);
    CHECK_INT(st.rto_timeouts, 0);
    CHECK_INT(st.fast_recoveries, 0);
    mirage_flow_close(f);
    mirage_tcp_unlisten(sink.l);
    mirage_stack_disconnect(client);
    mirage_stack_disconnect(server);
    simlink_free(rt.link);
}

int main(void)
{
    mirage_log_set(getenv("LOGS") ? getenv("LOGS") : "info", NULL, 0);
    test_pmtu_lowers_mss();
    test_frag_needed_lowers_mss();
    if (check_failures)
        fputs(fake_console_text(), stderr);
    return CHECK_DONE();
}
