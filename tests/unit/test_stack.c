/* test_stack.c: two direct stacks over the test link: DHCP, UDP, TCP (lossy), errors, teardown. */
#include <stdint.h>
#include <string.h>

#include "../net/link.h"
#include "check.h"
#include "fake_platform.h"
#include "mirage/dhcp.h"
#include "mirage/error.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/stack.h"
#include "mirage/time.h"

const char *mirage_cmdline(void)
{
    return "";
}

/* ---- a DHCP server of a few lines on the server stack --------------------- */

static struct {
    struct mirage_stack *stack;
    int discovers, requests;
    char hostname[64];
    uint32_t lease;
} srv;

static void dhcp_reply(const struct mirage_dhcp_msg *q, uint8_t type)
{
    uint8_t b[400] = {2, 1, 6};
    size_t o = 240;
    const struct mirage_ipaddr all = mirage_ipv4_addr(255, 255, 255, 255);

    b[4] = (uint8_t)(q->xid >> 24), b[5] = (uint8_t)(q->xid >> 16);
    b[6] = (uint8_t)(q->xid >> 8), b[7] = (uint8_t)q->xid;
    b[16] = 10, b[17] = 0, b[18] = 0, b[19] = 50; /* yiaddr 10.0.0.50 */
    memcpy(b + 28, q->chaddr, 6);
    b[236] = 99, b[237] = 130, b[238] = 83, b[239] = 99;
    b[o++] = 53, b[o++] = 1, b[o++] = type;
    b[o++] = 54, b[o++] = 4, b[o++] = 10, b[o++] = 0, b[o++] = 0, b[o++] = 1;
    b[o++] = 1, b[o++] = 4, b[o++] = 255, b[o++] = 255, b[o++] = 255, b[o++] = 0;
    b[o++] = 3, b[o++] = 4, b[o++] = 10, b[o++] = 0, b[o++] = 0, b[o++] = 1;
    b[o++] = 51, b[o++] = 4, b[o++] = (uint8_t)(srv.lease >> 24),
    b[o++] = (uint8_t)(srv.lease >> 16);
    b[o++] = (uint8_t)(srv.lease >> 8), b[o++] = (uint8_t)srv.lease;
    b[o++] = 255;
    CHECK_INT(mirage_udp_write(srv.stack, 67, &all, 68, -1, b, 300), 0);
}

static void dhcp_server(void *ctx, const struct mirage_udp_rx *rx)
{
    struct mirage_dhcp_msg q;

    (void)ctx;
    if (mirage_dhcp_parse(rx->data, rx->len, &q, NULL, 0) < 0 || q.op != 1)
        return;
    /* The client has no address yet: it sends from 0.0.0.0 to the broadcast. */
    if (q.type == MIRAGE_DHCP_DISCOVER) {
        CHECK(rx->src.a[0] == 0 && rx->dst.a[0] == 255);
        srv.discovers++;
        strcpy(srv.hostname, q.hostname);
        dhcp_reply(&q, MIRAGE_DHCP_OFFER);
    } else if (q.type == MIRAGE_DHCP_REQUEST) {
        srv.requests++;
        dhcp_reply(&q, MIRAGE_DHCP_ACK);
    }
}

/* ---- the wire: a trace (WIRE=1) and the resets each side sent ------------- */

static struct {
    unsigned rst[2]; /* TCP segments with RST written by side 0 / side 1 */
} wire;

static int watch(void *ctx, int from, const uint8_t *fr, size_t len)
{
    (void)ctx;
    /* IPv6 with TCP right after its fixed header */
    if (len >= 74 && fr[12] == 0x86 && fr[13] == 0xdd && fr[20] == 6) {
        if (fr[67] & 0x04)
            wire.rst[from]++;
        return 0;
    }
    /* IPv4 with a 20-byte header, TCP, and the first fragment (or none) */
    if (len < 54 || fr[12] != 8 || fr[13] != 0 || fr[14] != 0x45 || fr[23] != 6 ||
        ((fr[20] & 0x1f) | fr[21]) != 0)
        return 0;
    if (fr[47] & 0x04)
        wire.rst[from]++;
    if (getenv("WIRE"))
        fprintf(
            stderr,
            "%d: %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u flags %02x len %zu seq %08x ack %08x win %u\n",
            from, fr[26], fr[27], fr[28], fr[29], fr[34] << 8 | fr[35], fr[30], fr[31], fr[32],
            fr[33], fr[36] << 8 | fr[37], fr[47], len,
            ((unsigned)fr[38] << 24 | (unsigned)fr[39] << 16 | (unsigned)fr[40] << 8 | fr[41]),
            ((unsigned)fr[42] << 24 | (unsigned)fr[43] << 16 | (unsigned)fr[44] << 8 | fr[45]),
            fr[48] << 8 | fr[49]);
    return 0;
}

/* ---- echo on the server: UDP and TCP --------------------------------------- */

static void udp_echo(void *ctx, const struct mirage_udp_rx *rx)
{
    (void)ctx;
    mirage_udp_write(srv.stack, rx->dst_port, &rx->src, rx->src_port, -1, rx->data, rx->len);
}

/* Every wait is bounded (virtual time: a DHCP stack's timers would otherwise
 * keep the clock moving forever behind a stuck test). */
#define WAIT MIRAGE_SEC(300)

static struct {
    struct mirage_tcp_listener *l;
    struct mirage_ipaddr peer; /* the client's address, as accept must report it */
    size_t echoed;
} echo;

/* Accepts one connection and sends back what it reads until the client's FIN. */
static int tcp_echo(void *arg)
{
    static uint8_t buf[16384]; /* not on the fiber's small stack */
    struct mirage_flow *f;
    struct mirage_ipaddr peer;
    size_t got;
    int r;

    (void)arg;
    r = mirage_tcp_accept(echo.l, &f, &peer, NULL, mirage_deadline_in(WAIT));
    if (r < 0)
        return r;
    CHECK(peer.family == echo.peer.family &&
          memcmp(peer.a, echo.peer.a, peer.family == 6 ? 16 : 4) == 0);
    while ((r = mirage_flow_read(f, buf, sizeof(buf), &got, mirage_deadline_in(WAIT))) == 0 &&
           got > 0) {
        r = mirage_flow_write(f, buf, got, mirage_deadline_in(WAIT));
        if (r < 0)
            break;
        echo.echoed += got;
    }
    mirage_flow_close(f);
    return r;
}

static struct {
    uint8_t data[64];
    size_t len;
    struct mirage_ipaddr src;
    struct mirage_cond got;
} reply;

static void udp_reply(void *ctx, const struct mirage_udp_rx *rx)
{
    (void)ctx;
    reply.len = rx->len < sizeof(reply.data) ? rx->len : sizeof(reply.data);
    memcpy(reply.data, rx->data, reply.len);
    reply.src = rx->src;
    mirage_cond_broadcast(&reply.got);
}

#define XFER_MAX (4u << 20)
static uint8_t out[XFER_MAX], in[XFER_MAX];

static struct {
    struct mirage_flow *f;
    size_t len;
} writer_arg;

static int write_all(void *arg)
{
    int r;

    (void)arg;
    r = mirage_flow_write(writer_arg.f, out, writer_arg.len, mirage_deadline_in(WAIT));
    CHECK_INT(r, 0);
    if (r == 0)
        r = mirage_flow_shutdown(writer_arg.f, MIRAGE_SHUT_WR);
    CHECK_INT(r, 0);
    return r;
}

/*
 * TCP between two direct stacks: (len) bytes from (client) to the echo on
 * srv.stack port 7 (server address (to)) and back, byte-exact, then an orderly
 * close from both ends. The data follows the handshake's ACK at once, so it
 * reaches the server before its application has accepted: that connection
 * used to be reset (a queued connection was taken for one its application had
 * closed, tcp_input.c), which this catches as a RST on the wire.
 */
static void tcp_echo_roundtrip(struct mirage_stack *client, struct mirage_ipaddr to,
                               struct mirage_ipaddr client_addr, size_t len)
{
    struct mirage_fiber *echo_fiber, *writer;
    struct mirage_flow *f;
    size_t n, got;
    int r, wr = -1, er = -1;

    memset(&echo, 0, sizeof(echo));
    echo.peer = client_addr;
    memset(&wire, 0, sizeof(wire));
    CHECK_INT(mirage_tcp_listen(srv.stack, 7, NULL, &echo.l), 0);
    CHECK_INT(mirage_tcp_listen(srv.stack, 7, NULL, &(struct mirage_tcp_listener *){NULL}),
              MIRAGE_EADDRINUSE);
    echo_fiber = mirage_fiber_spawn("echo", tcp_echo, NULL, 0);
    CHECK_INT(mirage_tcp_connect(client, &to, 7, &f, mirage_deadline_in(MIRAGE_SEC(30))), 0);
    if (f == NULL) {
        mirage_fiber_join(echo_fiber, NULL);
        mirage_tcp_unlisten(echo.l);
        return;
    }
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(i * 7 + i / 251);
    memset(in, 0, len);
    /* A fiber writes while this one reads, as the echo sends back what it gets. */
    writer_arg.f = f;
    writer_arg.len = len;
    writer = mirage_fiber_spawn("writer", write_all, NULL, 0);
    for (n = 0, r = 0; n < len;) {
        r = mirage_flow_read(f, in + n, len - n, &got, mirage_deadline_in(WAIT));
        if (r < 0 || got == 0)
            break;
        n += got;
    }
    CHECK_INT(r, 0);
    CHECK_INT(n, len);
    CHECK(memcmp(in, out, len) == 0);
    /* The echo's FIN follows the data. */
    CHECK_INT(mirage_flow_read(f, in, 16, &got, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(got, 0);
    CHECK_INT(mirage_fiber_join(writer, &wr), 0);
    CHECK_INT(wr, 0);
    mirage_flow_close(f);
    CHECK_INT(mirage_fiber_join(echo_fiber, &er), 0);
    CHECK_INT(er, 0);
    CHECK_INT(echo.echoed, len);
    /* Neither side reset anything: the close was orderly. */
    CHECK_INT(wire.rst[0], 0);
    CHECK_INT(wire.rst[1], 0);
    mirage_tcp_unlisten(echo.l);
}

static void test_dhcp_udp(void)
{
    struct simlink_config lc = {.seed = 5, .delay_ns = MIRAGE_MS(1)};
    struct simlink *link = simlink_new(&lc);
    struct mirage_stack_config sc = {.ipv4 = mirage_ipv4_addr(10, 0, 0, 1), .ipv4_prefix = 24};
    struct mirage_stack_config cc = {.dhcp = 1, .hostname = "client-1"};
    struct mirage_stack *client;
    struct mirage_ipaddr addrs[2];
    struct mirage_flow *f;

    simlink_set_filter(link, watch, NULL);
    memset(&srv, 0, sizeof(srv));
    srv.lease = 600;
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 1), &sc, &srv.stack), 0);
    CHECK_INT(mirage_udp_listen(srv.stack, 67, dhcp_server, NULL), 0);
    CHECK_INT(mirage_udp_listen(srv.stack, 67, dhcp_server, NULL), MIRAGE_EINVAL);

    /* The constructor returns once the lease is bound. */
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &cc, &client), 0);
    CHECK_INT(srv.discovers, 1);
    CHECK_INT(srv.requests, 1);
    CHECK_STR(srv.hostname, "client-1");
    CHECK_INT(mirage_stack_ip_addresses(client, addrs, 2), 1);
    CHECK(addrs[0].family == 4 && addrs[0].a[0] == 10 && addrs[0].a[3] == 50);

    /* UDP both ways, from a listened port. */
    CHECK_INT(mirage_udp_listen(srv.stack, 7, udp_echo, NULL), 0);
    CHECK_INT(mirage_udp_listen(client, 5000, udp_reply, NULL), 0);
    {
        const struct mirage_ipaddr to = mirage_ipv4_addr(10, 0, 0, 1);
        CHECK_INT(mirage_udp_write(client, 5000, &to, 7, -1, "ping?", 5), 0);
        CHECK_INT(mirage_cond_wait(&reply.got, mirage_deadline_in(MIRAGE_SEC(5))), 0);
        CHECK_INT(reply.len, 5);
        CHECK(memcmp(reply.data, "ping?", 5) == 0);
        CHECK(reply.src.a[3] == 1);
    }
    CHECK_INT(mirage_udp_unlisten(client, 5000), 0);
    CHECK_INT(mirage_udp_unlisten(client, 5000), MIRAGE_ENOENT);

    /* A refused connection comes back as such. */
    {
        const struct mirage_ipaddr nobody = mirage_ipv4_addr(10, 0, 0, 1);
        CHECK_INT(mirage_tcp_connect(client, &nobody, 9, &f, mirage_deadline_in(MIRAGE_SEC(5))),
                  MIRAGE_ECONNREFUSED);
    }
    /* TCP: 100 kB echoed byte-exact through the flow API, on the leased address. */
    tcp_echo_roundtrip(client, mirage_ipv4_addr(10, 0, 0, 1), mirage_ipv4_addr(10, 0, 0, 50),
                       100000);

    /* Disconnecting frees every layer (LeakSanitizer checks at exit). */
    mirage_stack_disconnect(client);
    mirage_stack_disconnect(srv.stack);
    simlink_free(link);
}

/*
 * Static addresses on both ends and a lossy link (loss, duplicates,
 * reordering and corruption, seeded): 4 MiB echoed byte-exact, then a
 * teardown while connections are still open. An echo fills both ends'
 * buffers, which a sink does not: this found the sender running past the
 * peer's window after a retransmission that filled a hole, and the receiver
 * with a full buffer ignoring the ACKs that would have let its echo go on
 * (a stall for good); see test_tcp_window.c.
 */
static void test_tcp_lossy_static(void)
{
    struct simlink_config lc = {.seed = 77,
                                .delay_ns = MIRAGE_MS(2),
                                .drop_ppm = 10000,
                                .dup_ppm = 2000,
                                .reorder_ppm = 5000,
                                .corrupt_ppm = 1000,
                                .rate_bps = 200000000};
    struct simlink *link = simlink_new(&lc);
    const struct mirage_ipaddr saddr = mirage_ipv4_addr(192, 168, 7, 1);
    const struct mirage_ipaddr caddr = mirage_ipv4_addr(192, 168, 7, 2);
    struct mirage_stack_config sc = {.ipv4 = saddr, .ipv4_prefix = 24};
    struct mirage_stack_config cc = {.ipv4 = caddr, .ipv4_prefix = 24};
    struct mirage_stack *client;
    struct mirage_tcp_listener *l;
    struct mirage_flow *cf[2] = {NULL, NULL}, *sf[2] = {NULL, NULL};
    struct simlink_stats st[2];
    size_t got;
    uint8_t b[8];

    simlink_set_filter(link, watch, NULL);
    memset(&srv, 0, sizeof(srv));
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 1), &sc, &srv.stack), 0);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &cc, &client), 0);

    tcp_echo_roundtrip(client, saddr, caddr, XFER_MAX);
    simlink_stats(link, 0, &st[0]);
    simlink_stats(link, 1, &st[1]);
    /* The impairments did happen both ways, so recovery was exercised. */
    CHECK(st[0].dropped > 0 && st[1].dropped > 0);
    CHECK(st[0].reordered > 0 && st[1].reordered > 0);

    /* Teardown with connections open on both ends: the client's stack goes
     * first and ends its held flows as a host ends an exiting process's
     * sockets: one with nothing unread gets an orderly FIN, one holding data
     * its application never read a reset. The flows fail until closed. Then
     * everything is freed (LeakSanitizer). */
    simlink_set_config(link, &(struct simlink_config){.delay_ns = MIRAGE_MS(2)});
    CHECK_INT(mirage_tcp_listen(srv.stack, 8, NULL, &l), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(mirage_tcp_connect(client, &saddr, 8, &cf[i], mirage_deadline_in(MIRAGE_SEC(30))),
                  0);
        CHECK_INT(mirage_tcp_accept(l, &sf[i], NULL, NULL, mirage_deadline_in(MIRAGE_SEC(30))), 0);
        if (cf[i] == NULL || sf[i] == NULL)
            break;
        CHECK_INT(mirage_flow_write(cf[i], "x", 1, mirage_deadline_in(MIRAGE_SEC(30))), 0);
        CHECK_INT(mirage_flow_read(sf[i], b, sizeof(b), &got, mirage_deadline_in(MIRAGE_SEC(30))),
                  0);
        CHECK_INT(got, 1);
    }
    if (cf[0] != NULL && sf[0] != NULL && cf[1] != NULL && sf[1] != NULL) {
        CHECK_INT(mirage_flow_write(sf[1], "unread", 6, mirage_deadline_in(MIRAGE_SEC(30))), 0);
        CHECK_INT(mirage_sleep_ns(MIRAGE_MS(100)), 0); /* it arrives */
        mirage_stack_disconnect(client);
        for (int i = 0; i < 2; i++) {
            CHECK(mirage_flow_write(cf[i], "y", 1, mirage_deadline_in(MIRAGE_SEC(1))) < 0);
            CHECK(mirage_flow_read(cf[i], b, sizeof(b), &got, mirage_deadline_in(MIRAGE_SEC(1))) <
                  0);
        }
        CHECK_INT(mirage_flow_read(sf[0], b, sizeof(b), &got, mirage_deadline_in(MIRAGE_SEC(30))),
                  0);
        CHECK_INT(got, 0);
        CHECK_INT(mirage_flow_read(sf[1], b, sizeof(b), &got, mirage_deadline_in(MIRAGE_SEC(30))),
                  MIRAGE_ECONNRESET);
    } else {
        mirage_stack_disconnect(client);
    }
    for (int i = 0; i < 2; i++) {
        if (cf[i] != NULL)
            mirage_flow_close(cf[i]);
        if (sf[i] != NULL)
            mirage_flow_close(sf[i]);
    }
    mirage_tcp_unlisten(l);
    mirage_stack_disconnect(srv.stack);
    simlink_free(link);
}

/* ---- the last writes before start returns --------------------------------- */

static struct {
    struct mirage_tcp_listener *l;
    size_t len, got, stop_at; /* the reader stops reading at stop_at bytes (0: never) */
    int err, eof, match;
} slow;

/* The peer of a unikernel that exits: it reads 1 KiB every 5 ms, so its
 * window stays small and the writer's send buffer is still full when the
 * writer's start returns. */
static int slow_reader(void *arg)
{
    uint8_t b[1024];
    struct mirage_flow *f;
    size_t got;
    int r;

    (void)arg;
    r = mirage_tcp_accept(slow.l, &f, NULL, NULL, mirage_deadline_in(WAIT));
    if (r < 0) {
        slow.err = r;
        return r;
    }
    slow.match = 1;
    while (slow.stop_at == 0 || slow.got < slow.stop_at) {
        r = mirage_flow_read(f, b, sizeof(b), &got, mirage_deadline_in(WAIT));
        if (r < 0) {
            slow.err = r;
            break;
        }
        if (got == 0) {
            slow.eof = 1;
            break;
        }
        if (slow.got + got > slow.len || memcmp(b, out + slow.got, got) != 0)
            slow.match = 0;
        slow.got += got;
        mirage_sleep_ns(MIRAGE_MS(5));
    }
    if (slow.stop_at != 0 && slow.got >= slow.stop_at) /* stalled: the writer must give up */
        slow.err = mirage_flow_read(f, b, 0, &got, mirage_deadline_in(WAIT));
    mirage_flow_close(f);
    return 0;
}

/*
 * What the generated main.c does: start writes (len) bytes, closes its flow
 * (or, with (hold), keeps it) and returns at once; main.c then disconnects
 * the stack and the unikernel exits. Returns how much the reader had when
 * start returned.
 */
static size_t start_then_disconnect(struct mirage_stack *client, struct mirage_ipaddr to,
                                    size_t len, int hold)
{
    struct mirage_flow *f;
    size_t had;

    CHECK_INT(mirage_tcp_connect(client, &to, 9, &f, mirage_deadline_in(MIRAGE_SEC(30))), 0);
    if (f == NULL)
        return 0;
    CHECK_INT(mirage_flow_write(f, out, len, mirage_deadline_in(WAIT)), 0);
    if (!hold)
        mirage_flow_close(f);
    had = slow.got;
    mirage_stack_disconnect(client);
    if (hold) { /* it fails once the stack is gone, until closed */
        CHECK(mirage_flow_write(f, "y", 1, mirage_deadline_in(MIRAGE_SEC(1))) < 0);
        mirage_flow_close(f);
    }
    return had;
}

/*
 * A unikernel's start closed its connection and returned, and the process
 * exited with the send buffer still queued behind a slow peer's window: the
 * peer got a truncated stream and a clean exit status (stack-echo on spt,
 * about 10 KB of a 1 MiB echo). Disconnect now lets the peers take every
 * byte and FIN first, for flows closed and flows still held, bounded by the
 * linger time; past it the rest is reset.
 */
static void test_disconnect_delivers_last_writes(void)
{
    struct simlink_config lc = {.seed = 11, .delay_ns = MIRAGE_MS(2), .drop_ppm = 5000};
    struct simlink *link = simlink_new(&lc);
    const struct mirage_ipaddr saddr = mirage_ipv4_addr(192, 168, 8, 1);
    struct mirage_stack_config sc = {.ipv4 = saddr, .ipv4_prefix = 24};
    struct mirage_stack_config cc = {.ipv4_prefix = 24, .linger = MIRAGE_SEC(3)};
    const size_t len = 1u << 20;

    simlink_set_filter(link, watch, NULL);
    memset(&srv, 0, sizeof(srv));
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(i * 13 + i / 509);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 1), &sc, &srv.stack), 0);
    for (int hold = 0; hold <= 1; hold++) {
        struct mirage_stack *client;
        struct mirage_fiber *reader;
        size_t had;

        memset(&slow, 0, sizeof(slow));
        memset(&wire, 0, sizeof(wire));
        slow.len = len;
        /* A new address for each client stack: the server's end of the last
         * connection may still be resending its FIN to the old one. */
        cc.ipv4 = mirage_ipv4_addr(192, 168, 8, (uint8_t)(2 + hold));
        CHECK_INT(mirage_tcp_listen(srv.stack, 9, NULL, &slow.l), 0);
        CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &cc, &client), 0);
        reader = mirage_fiber_spawn("slow-reader", slow_reader, NULL, 0);
        had = start_then_disconnect(client, saddr, len, hold);
        /* start returned with much of the stream still queued... */
        CHECK(had + 32768 < len);
        CHECK_INT(mirage_fiber_join(reader, NULL), 0);
        /* ...and all of it arrived, then the FIN, with no reset. */
        CHECK_INT(slow.err, 0);
        CHECK_INT(slow.got, len);
        CHECK(slow.match);
        CHECK(slow.eof);
        CHECK_INT(wire.rst[0], 0);
        mirage_tcp_unlisten(slow.l);
    }

    /* A peer that stops reading for good: disconnect waits out the linger
     * time, then resets, and the peer learns of it. */
    {
        struct mirage_stack *client;
        struct mirage_fiber *reader;
        uint64_t t0;

        memset(&slow, 0, sizeof(slow));
        memset(&wire, 0, sizeof(wire));
        /* 200 kB fits in what it reads, its receive window and our send buffer */
        slow.len = 200000;
        slow.stop_at = 100000;
        cc.ipv4 = mirage_ipv4_addr(192, 168, 8, 4);
        CHECK_INT(mirage_tcp_listen(srv.stack, 9, NULL, &slow.l), 0);
        CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &cc, &client), 0);
        reader = mirage_fiber_spawn("stalled-reader", slow_reader, NULL, 0);
        t0 = mirage_clock_monotonic();
        start_then_disconnect(client, saddr, slow.len, 0);
        CHECK(mirage_clock_monotonic() >= t0 + cc.linger);
        CHECK_INT(mirage_fiber_join(reader, NULL), 0);
        CHECK_INT(slow.err, MIRAGE_ECONNRESET);
        CHECK(slow.got < slow.len);
        CHECK(wire.rst[0] > 0);
        mirage_tcp_unlisten(slow.l);
    }
    mirage_stack_disconnect(srv.stack);
    simlink_free(link);
}

static int drop_all(void *ctx, int from, const uint8_t *frame, size_t len)
{
    (void)ctx;
    (void)from;
    (void)frame;
    (void)len;
    return 1;
}

static struct mirage_ipaddr v6(uint16_t last)
{
    struct mirage_ipaddr a = {.family = 6, .a = {0xfd, 0, 0, 8}};

    a.a[14] = (uint8_t)(last >> 8);
    a.a[15] = (uint8_t)last;
    return a;
}

/*
 * The dual stack: a server with both families and an IPv6-only client (no
 * IPv4 address, no DHCP) on a lossy link. UDP and TCP go over IPv6 through
 * the same stack.h calls as over IPv4; the server's one listener per port
 * answers both families; an IPv4-only stack has no IPv6 at all.
 */
static void test_dual_stack(void)
{
    struct simlink_config lc = {.seed = 66,
                                .delay_ns = MIRAGE_MS(1),
                                .drop_ppm = 5000,
                                .reorder_ppm = 2000,
                                .corrupt_ppm = 1000,
                                .rate_bps = 200000000};
    struct simlink *link = simlink_new(&lc);
    struct mirage_stack_config sc = {.ipv4 = mirage_ipv4_addr(192, 168, 8, 1),
                                     .ipv4_prefix = 24,
                                     .ipv6 = v6(1),
                                     .ipv6_prefix = 64};
    struct mirage_stack_config cc = {.ipv6 = v6(2), .ipv6_prefix = 64, .ipv6_only = 1,
                                     .dhcp = 1};
    struct mirage_stack_config both = {.ipv4 = mirage_ipv4_addr(10, 0, 0, 1), .ipv4_prefix = 24,
                                       .ipv4_only = 1, .ipv6_only = 1};
    struct mirage_stack *client, *v4only;
    struct mirage_ipaddr addrs[4];
    struct mirage_flow *f;
    const struct mirage_ipaddr srv6 = v6(1), srv4 = mirage_ipv4_addr(192, 168, 8, 1);

    simlink_set_filter(link, watch, NULL);
    memset(&srv, 0, sizeof(srv));
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 1), &both, &client), MIRAGE_EINVAL);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 1), &sc, &srv.stack), 0);
    /* IPv6-only: dhcp is ignored, and the constructor needs no IPv4 address. */
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &cc, &client), 0);
    mirage_sleep_ns(MIRAGE_MS(2500)); /* DAD */
    CHECK_INT(mirage_stack_ip_addresses(client, addrs, 4), 2);
    CHECK(addrs[0].family == 6 && memcmp(addrs[0].a, srv6.a, 15) == 0 && addrs[0].a[15] == 2);
    CHECK(addrs[1].family == 6 && addrs[1].a[0] == 0xfe && addrs[1].a[1] == 0x80);
    CHECK_INT(mirage_stack_ip_addresses(srv.stack, addrs, 4), 3);
    CHECK(addrs[0].family == 4 && addrs[1].family == 6 && addrs[2].family == 6);

    /* UDP over IPv6: one echo listener serves both families. */
    CHECK_INT(mirage_udp_listen(srv.stack, 7, udp_echo, NULL), 0);
    CHECK_INT(mirage_udp_listen(client, 5000, udp_reply, NULL), 0);
    memset(&reply, 0, sizeof(reply));
    for (int i = 0; i < 10 && reply.len == 0; i++) { /* the link drops some */
        CHECK_INT(mirage_udp_write(client, 5000, &srv6, 7, -1, "six?", 4), 0);
        mirage_cond_wait(&reply.got, mirage_deadline_in(MIRAGE_SEC(1)));
    }
    CHECK_INT(reply.len, 4);
    CHECK(memcmp(reply.data, "six?", 4) == 0);
    CHECK(reply.src.family == 6 && memcmp(reply.src.a, srv6.a, 16) == 0);
    /* The client has no IPv4 to send over. */
    CHECK_INT(mirage_udp_write(client, 5000, &srv4, 7, -1, "four?", 5), MIRAGE_EHOSTUNREACH);
    CHECK_INT(mirage_udp_unlisten(client, 5000), 0);

    /* TCP over IPv6: refused, then 1 MiB echoed byte-exact with an orderly close. */
    CHECK_INT(mirage_tcp_connect(client, &srv6, 9, &f, mirage_deadline_in(MIRAGE_SEC(30))),
              MIRAGE_ECONNREFUSED);
    CHECK_INT(mirage_tcp_connect(client, &srv4, 9, &f, mirage_deadline_in(MIRAGE_SEC(5))),
              MIRAGE_EHOSTUNREACH);
    tcp_echo_roundtrip(client, srv6, v6(2), 1u << 20);
    mirage_stack_disconnect(client);

    /* IPv4-only: the same server port over IPv4, and no IPv6 address at all. */
    both.ipv6_only = 0;
    both.ipv4 = mirage_ipv4_addr(192, 168, 8, 2);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &both, &v4only), 0);
    mirage_sleep_ns(MIRAGE_MS(2500));
    CHECK_INT(mirage_stack_ip_addresses(v4only, addrs, 4), 1);
    CHECK_INT(addrs[0].family, 4);
    CHECK_INT(mirage_udp_write(v4only, 5000, &srv6, 7, -1, "six?", 4), MIRAGE_EHOSTUNREACH);
    tcp_echo_roundtrip(v4only, srv4, both.ipv4, 100000);
    mirage_stack_disconnect(v4only);
    mirage_stack_disconnect(srv.stack);
    simlink_free(link);
}

/*
 * A connection asked for right after boot, while the stack's IPv6 addresses
 * are still tentative (DAD takes 1.1-2 s, RFC 4862): connect waits for an
 * address of the right scope until its deadline, instead of failing at once
 * with no source address; a deadline before DAD ends still fails so.
 */
static int dad_connect(void *arg)
{
    const struct mirage_ipaddr to = v6(1);
    struct mirage_flow *f = NULL;
    int r = mirage_tcp_connect(arg, &to, 80, &f, mirage_deadline_in(MIRAGE_SEC(10)));

    if (f != NULL)
        mirage_flow_close(f);
    return r;
}

static void test_connect_during_dad(void)
{
    struct simlink_config lc = {.seed = 67, .delay_ns = MIRAGE_MS(1)};
    struct simlink *link = simlink_new(&lc);
    struct mirage_stack_config sc = {.ipv6 = v6(1), .ipv6_prefix = 64, .ipv6_only = 1};
    struct mirage_stack_config cc = {.ipv6 = v6(2), .ipv6_prefix = 64, .ipv6_only = 1};
    struct mirage_stack *server, *client;
    struct mirage_tcp_listener *l;
    struct mirage_flow *f = NULL;
    const struct mirage_ipaddr srv6 = v6(1);
    uint64_t t0;

    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 1), &sc, &server), 0);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &cc, &client), 0);
    CHECK_INT(mirage_tcp_listen(server, 80, NULL, &l), 0);
    /* Each boot draws its own DAD delays: in some the link-local address passes first. */
    for (int boot = 0; boot < 6; boot++) {
        struct mirage_flow *sf = NULL;
        struct mirage_ipaddr peer = {0};
        if (boot > 0)
            CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &cc, &client), 0);
        t0 = mirage_clock_monotonic();
        CHECK_INT(mirage_tcp_connect(client, &srv6, 80, &f, t0 + MIRAGE_MS(50)),
                  MIRAGE_EHOSTUNREACH);
        CHECK(mirage_clock_monotonic() - t0 >= MIRAGE_MS(50));
        CHECK_INT(mirage_tcp_connect(client, &srv6, 80, &f, t0 + MIRAGE_SEC(10)), 0);
        CHECK(mirage_clock_monotonic() - t0 > MIRAGE_MS(1100)); /* it waited for DAD */
        /* From the global address, not from the link-local one. */
        CHECK_INT(mirage_tcp_accept(l, &sf, &peer, NULL, mirage_deadline_in(MIRAGE_SEC(1))), 0);
        CHECK(peer.family == 6 && memcmp(peer.a, cc.ipv6.a, 16) == 0);
        if (sf != NULL)
            mirage_flow_close(sf);
        if (f != NULL)
            mirage_flow_close(f);
        if (boot < 5)
            mirage_stack_disconnect(client);
    }
    mirage_tcp_unlisten(l);
    mirage_stack_disconnect(client);

    /* A stack taken down while two connects wait for DAD: both end, nothing touched after. */
    struct mirage_fiber *w[2];
    int r[2] = {1, 1};
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &cc, &client), 0);
    for (int i = 0; i < 2; i++)
        CHECK((w[i] = mirage_fiber_spawn("dad-connect", dad_connect, client, 0)) != NULL);
    mirage_sleep_ns(MIRAGE_MS(10));
    mirage_stack_disconnect(client);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(mirage_fiber_join(w[i], &r[i]), 0);
        CHECK_INT(r[i], MIRAGE_EHOSTUNREACH);
    }
    mirage_sleep_ns(MIRAGE_SEC(20)); /* past the connects' deadlines */
    mirage_stack_disconnect(server);
    simlink_free(link);
}

static void test_config_errors_and_no_lease(void)
{
    struct simlink_config lc = {.seed = 9, .delay_ns = MIRAGE_MS(1)};
    struct simlink *link = simlink_new(&lc);
    struct mirage_stack_config none = {0};
    struct mirage_stack_config bad = {.ipv4 = mirage_ipv4_addr(10, 0, 0, 1), .ipv4_prefix = 33};
    struct mirage_stack_config dhcp = {.dhcp = 1};
    struct mirage_stack_config badname = {.dhcp = 1, .hostname = "no spaces"};
    struct mirage_stack *s = NULL;
    uint64_t t0;

    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &none, &s), MIRAGE_EINVAL);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &bad, &s), MIRAGE_EINVAL);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &badname, &s), MIRAGE_EINVAL);
    /* No server answers: DISCOVERs go out with backoff until the deadline. */
    simlink_set_filter(link, drop_all, NULL);
    t0 = mirage_clock_monotonic();
    dhcp.dhcp_deadline = t0 + MIRAGE_SEC(30);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &dhcp, &s), MIRAGE_ETIMEDOUT);
    CHECK(mirage_clock_monotonic() >= t0 + MIRAGE_SEC(30));
    {
        struct simlink_stats st;
        simlink_stats(link, 0, &st);
        /* 4 + 8 + 16 s of backoff (+-1 s each) fit in 30 s: 3 or 4 DISCOVERs. */
        CHECK(st.filtered >= 3);
    }
    CHECK(s == NULL);
    simlink_free(link);
}

int main(void)
{
    mirage_log_set(getenv("LOGS") ? getenv("LOGS") : "info", NULL, 0);
    test_dhcp_udp();
    test_tcp_lossy_static();
    test_disconnect_delivers_last_writes();
    test_dual_stack();
    test_connect_during_dad();
    test_config_errors_and_no_lease();
    if (check_failures)
        fputs(fake_console_text(), stderr);
    return CHECK_DONE();
}
