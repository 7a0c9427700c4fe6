/* tcptest.c: TCP servers for the e2e tests and benchmarks: echo, sink, source, idle, control. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/log.h"
#include "mirage/metrics.h"
#include "mirage/sched.h"
#include "mirage/stack.h"
#include "stream.h"
#include "tcptest.h"

/*
 * Ports: 7 echoes until EOF; 9 (sink) checks what arrives against the stream
 * of seed 1 and answers "ok N" or "bad at N"; 19 (source) sends the first
 * --source-bytes of the stream of seed 2; 10 (idle) accepts and holds
 * connections without a fiber; 8 (control) answers "heap" with the heap in
 * use, "drop" by closing the idle connections, "net" and "tcp" with the stack's net
 * measurement (frames, bytes, GSO frames each way) and tcp measurement (segments, bytes handed
 * straight to a waiting reader, ...) in line protocol. The streams are
 * tests/tcp/stream.h's, which tests/net/tcpclient.c generates too. For
 * bench/net.sh, where checking every byte would be what is measured, 11
 * (discard) only counts and answers "ok N", and 20 sends --source-bytes of
 * zeros, 64 KiB a write as tcpclient's serve-source does.
 *
 * UDP (tests/e2e/uso.bats, bench/uso.sh): datagrams to 9 are checked in
 * order against the stream of seed 1, as if one stream were cut into them
 * (a host's UDP_SEGMENT burst); "udp" on the control port answers
 * "udp datagrams N bytes B bad OFFSET|none". A datagram "BYTES SEGMENT
 * [COUNT]" to 19 is answered with the first BYTES (at most 65507) of the
 * stream of seed 2 as a train of SEGMENT-byte datagrams
 * (mirage_udp_write_segments: one UDP GSO frame per 64 with the tap's USO),
 * COUNT times (default 1; bench/uso.sh); 11 counts datagrams and bytes
 * without checking them, and "udp" reports those as "discard N B NS" too, NS
 * the nanoseconds from the first to the last.
 */

#define PORT_ECHO    7
#define PORT_CONTROL 8
#define PORT_SINK    9
#define PORT_IDLE    10
#define PORT_SOURCE  19
#define PORT_DISCARD 11
#define PORT_ZEROS   20
#define UDP_MAX      65507
#define IDLE_MAX     16384
#define CONN_STACK   (32u * 1024u)

static struct mirage_flow *idle[IDLE_MAX];
static unsigned nidle;

/* The heap in use, less the scheduler's cache of finished fibers' stacks
 * (given back first): that cache keeps up to 4 MiB for the next spawns and
 * grows with the most connections ever served at once, which varies from run
 * to run by a few (40 KiB each), so the churn test could not tell it from a
 * leak. TCP's own buffer pool is bounded at 16 buffers and stays. */
static size_t heap_now(void)
{
    mirage_sched_release_stacks();
    return tcptest_heap_used();
}

static void report_heap(const char *why)
{
    struct mirage_sched_stats ss;

    mirage_sched_stats(&ss);
    mirage_log_app_msg(&mirage_log_app, "heap: %zu bytes in use (%s), %llu fibers", heap_now(),
                       why, (unsigned long long)ss.fibers);
}

static void finish(struct mirage_flow *f)
{
    mirage_flow_shutdown(f, MIRAGE_SHUT_WR);
    mirage_flow_close(f);
}

static int echo_conn(void *arg)
{
    struct mirage_flow *f = arg;
    uint8_t buf[4096];
    size_t got;

    while (mirage_flow_read(f, buf, sizeof(buf), &got, MIRAGE_FOREVER) == 0 && got > 0)
        if (mirage_flow_write(f, buf, got, MIRAGE_FOREVER) < 0)
            break;
    finish(f);
    return 0;
}

static int sink_conn(void *arg)
{
    struct mirage_flow *f = arg;
    uint8_t buf[4096];
    char msg[64];
    struct gen g;
    uint64_t total = 0, bad = UINT64_MAX;
    size_t got;
    int r;

    gen_init(&g, 1);
    while ((r = mirage_flow_read(f, buf, sizeof(buf), &got, MIRAGE_FOREVER)) == 0 && got > 0) {
        for (size_t i = 0; i < got; i++)
            if (gen_byte(&g) != buf[i] && bad == UINT64_MAX)
                bad = total + i;
        total += got;
    }
    if (r < 0)
        snprintf(msg, sizeof(msg), "error %s after %llu\n", mirage_strerror(r),
                 (unsigned long long)total);
    else if (bad != UINT64_MAX)
        snprintf(msg, sizeof(msg), "bad at %llu of %llu\n", (unsigned long long)bad,
                 (unsigned long long)total);
    else
        snprintf(msg, sizeof(msg), "ok %llu\n", (unsigned long long)total);
    mirage_log_app_msg(&mirage_log_app, "sink: %.*s", (int)strlen(msg) - 1, msg);
    mirage_flow_write(f, msg, strlen(msg), MIRAGE_FOREVER);
    finish(f);
    return 0;
}

/* What the discard port reads per call: 64 KiB, as tcpclient's serve-sink (the kernel's side of
 * bench/net.sh) does. Nothing reads it back, so every connection shares it. */
static uint8_t discard_block[65536];

static int discard_conn(void *arg)
{
    struct mirage_flow *f = arg;
    char msg[32];
    uint64_t total = 0;
    size_t got;

    while (mirage_flow_read(f, discard_block, sizeof(discard_block), &got, MIRAGE_FOREVER) == 0 &&
           got > 0)
        total += got;
    snprintf(msg, sizeof(msg), "ok %llu\n", (unsigned long long)total);
    mirage_flow_write(f, msg, strlen(msg), MIRAGE_FOREVER);
    finish(f);
    return 0;
}

/* What the zeros port writes per call: --zeros-write, 64 KiB by default, as tcpclient's
 * serve-source (the kernel's side of bench/net.sh) does; bench/net.sh's small-writes table
 * sets 4 KiB on both sides. */
static const uint8_t zero_block[65536];

/* Sends --source-bytes of the stream of seed 2 (4 KiB a write), or of zeros (--zeros-write). */
static int send_conn(struct mirage_flow *f, int zeros)
{
    uint64_t left = (uint64_t)key_source_bytes.v.num;
    uint8_t buf[4096];
    struct gen g;
    size_t got;

    gen_init(&g, 2);
    while (left > 0) {
        size_t cap = zeros ? (size_t)key_zeros_write.v.num : sizeof(buf);
        size_t n = left < cap ? (size_t)left : cap;
        for (size_t i = 0; i < n && !zeros; i++)
            buf[i] = gen_byte(&g);
        if (mirage_flow_write(f, zeros ? zero_block : buf, n, MIRAGE_FOREVER) < 0)
            break;
        left -= n;
    }
    mirage_log_app_msg(&mirage_log_app, "source: sent %llu bytes",
                       (unsigned long long)((uint64_t)key_source_bytes.v.num - left));
    mirage_flow_shutdown(f, MIRAGE_SHUT_WR);
    while (mirage_flow_read(f, buf, sizeof(buf), &got, MIRAGE_FOREVER) == 0 && got > 0)
        ;
    mirage_flow_close(f);
    return 0;
}

static int source_conn(void *arg)
{
    return send_conn(arg, 0);
}

static int zeros_conn(void *arg)
{
    return send_conn(arg, 1);
}

/* ---- UDP ---------------------------------------------------------------- */

static struct mirage_stack *the_stack;
static struct gen udp_sink_gen;
static uint64_t udp_rx, udp_bytes, udp_bad = UINT64_MAX, discard_rx, discard_bytes;
static uint64_t discard_first, discard_last; /* monotonic ns of the first and last datagram */
static uint8_t udp_train[UDP_MAX];

static void udp_sink(void *ctx, const struct mirage_udp_rx *rx)
{
    (void)ctx;
    for (size_t i = 0; i < rx->len; i++)
        if (gen_byte(&udp_sink_gen) != rx->data[i] && udp_bad == UINT64_MAX)
            udp_bad = udp_bytes + i;
    udp_rx++;
    udp_bytes += rx->len;
}

static void udp_discard(void *ctx, const struct mirage_udp_rx *rx)
{
    (void)ctx;
    discard_last = mirage_clock_monotonic();
    if (discard_rx++ == 0)
        discard_first = discard_last;
    discard_bytes += rx->len;
}

/* "BYTES SEGMENT": the stream of seed 2 back to the sender as a train. */
static void udp_source(void *ctx, const struct mirage_udp_rx *rx)
{
    char req[32], *end;
    unsigned long bytes, seg, count = 1, sent = 0;
    struct gen g;
    int r = 0;

    (void)ctx;
    memcpy(req, rx->data, rx->len < sizeof(req) - 1 ? rx->len : sizeof(req) - 1);
    req[rx->len < sizeof(req) - 1 ? rx->len : sizeof(req) - 1] = '\0';
    bytes = strtoul(req, &end, 10);
    seg = end != req && *end == ' ' ? strtoul(end + 1, &end, 10) : 0;
    if (*end == ' ')
        count = strtoul(end + 1, &end, 10);
    if (bytes > UDP_MAX || seg == 0 || seg > 65535 || count == 0 || count > 1000000) {
        mirage_log_err(&mirage_log_app, "udp source: bad request '%s'", req);
        return;
    }
    gen_init(&g, 2);
    for (size_t i = 0; i < bytes; i++)
        udp_train[i] = gen_byte(&g);
    /* A train that finds the device full is lost, as a host's would be. */
    for (unsigned long i = 0; i < count; i++)
        if ((r = mirage_udp_write_segments(the_stack, rx->dst_port, &rx->src, rx->src_port, -1,
                                           udp_train, bytes, (uint16_t)seg)) == 0)
            sent++;
    if (count == 1)
        mirage_log_app_msg(&mirage_log_app, "udp source: %lu bytes in %lu-byte datagrams: %s",
                           bytes, seg, r == 0 ? "sent" : mirage_strerror(r));
    else
        mirage_log_app_msg(&mirage_log_app, "udp source: %lu of %lu trains of %lu bytes sent",
                           sent, count, bytes);
}

/* The line of measurement (name) ("net" or "tcp") of a metrics sample into (out, cap), or
 * "none\n". */
static void metrics_line(const char *name, char *out, size_t cap)
{
    static char all[MIRAGE_METRICS_BUF];
    size_t skipped = 0, len = mirage_metrics_collect(all, sizeof(all) - 1, "tcptest", 0, &skipped);
    size_t nlen = strlen(name);
    char *p = all, *end;

    all[len] = '\0';
    while (p != NULL && (strncmp(p, name, nlen) != 0 || p[nlen] != ','))
        p = (p = strchr(p, '\n')) ? p + 1 : NULL;
    if (p == NULL || (end = strchr(p, '\n')) == NULL || (size_t)(end - p) + 2 > cap) {
        snprintf(out, cap, "none\n");
        return;
    }
    memcpy(out, p, (size_t)(end - p) + 1);
    out[end - p + 1] = '\0';
}

static int control_conn(void *arg)
{
    struct mirage_flow *f = arg;
    char out[1024];
    char line[64];
    size_t len = 0, got;

    for (;;) {
        if (mirage_flow_read(f, line + len, sizeof(line) - 1 - len, &got, MIRAGE_FOREVER) < 0 ||
            got == 0)
            break;
        len += got;
        line[len] = '\0';
        char *nl = strchr(line, '\n');
        if (nl == NULL) {
            if (len == sizeof(line) - 1)
                break; /* no command is this long */
            continue;
        }
        *nl = '\0';
        if (strcmp(line, "heap") == 0) {
            report_heap("asked");
            snprintf(out, sizeof(out), "heap %zu idle %u\n", heap_now(), nidle);
        } else if (strcmp(line, "net") == 0 || strcmp(line, "tcp") == 0) {
            metrics_line(line, out, sizeof(out));
        } else if (strcmp(line, "udp") == 0) {
            char bad[24] = "none";

            if (udp_bad != UINT64_MAX)
                snprintf(bad, sizeof(bad), "%llu", (unsigned long long)udp_bad);
            snprintf(out, sizeof(out),
                     "udp datagrams %llu bytes %llu bad %s discard %llu %llu %llu\n",
                     (unsigned long long)udp_rx, (unsigned long long)udp_bytes, bad,
                     (unsigned long long)discard_rx, (unsigned long long)discard_bytes,
                     (unsigned long long)(discard_last - discard_first));
        } else if (strcmp(line, "drop") == 0) {
            unsigned n = nidle;
            while (nidle > 0)
                mirage_flow_close(idle[--nidle]);
            snprintf(out, sizeof(out), "dropped %u\n", n);
        } else {
            snprintf(out, sizeof(out), "unknown command\n");
        }
        if (mirage_flow_write(f, out, strlen(out), MIRAGE_FOREVER) < 0)
            break;
        len = strlen(nl + 1);
        memmove(line, nl + 1, len + 1);
    }
    finish(f);
    return 0;
}

struct server {
    uint16_t port;
    mirage_fiber_fn serve; /* NULL: hold the connection idle */
    struct mirage_tcp_listener *l;
};

static int accept_loop(void *arg)
{
    struct server *s = arg;

    for (;;) {
        struct mirage_flow *f;
        struct mirage_fiber *fb;
        int r = mirage_tcp_accept(s->l, &f, NULL, NULL, MIRAGE_FOREVER);

        if (r < 0) {
            mirage_log_err(&mirage_log_app, "accept on %u: %s", s->port, mirage_strerror(r));
            return 1;
        }
        if (s->serve == NULL) {
            if (nidle < IDLE_MAX)
                idle[nidle++] = f;
            else
                mirage_flow_close(f);
            continue;
        }
        fb = mirage_fiber_spawn("conn", s->serve, f, CONN_STACK);
        if (fb == NULL) {
            mirage_flow_close(f);
            continue;
        }
        mirage_fiber_detach(fb);
    }
}

int start(struct mirage_stack *stack)
{
    static struct server servers[] = {
        {PORT_ECHO, echo_conn, NULL},     {PORT_CONTROL, control_conn, NULL},
        {PORT_SINK, sink_conn, NULL},     {PORT_IDLE, NULL, NULL},
        {PORT_SOURCE, source_conn, NULL}, {PORT_DISCARD, discard_conn, NULL},
        {PORT_ZEROS, zeros_conn, NULL},
    };
    struct mirage_tcp_listen_opts opts = {.backlog = 1024};
    struct mirage_fiber *fibers[sizeof(servers) / sizeof(servers[0])];
    struct mirage_ipaddr addr;
    size_t n = sizeof(servers) / sizeof(servers[0]);

    the_stack = stack;
    gen_init(&udp_sink_gen, 1);
    if (mirage_udp_listen(stack, PORT_SINK, udp_sink, NULL) < 0 ||
        mirage_udp_listen(stack, PORT_SOURCE, udp_source, NULL) < 0 ||
        mirage_udp_listen(stack, PORT_DISCARD, udp_discard, NULL) < 0) {
        mirage_log_err(&mirage_log_app, "udp listen failed");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        int r = mirage_tcp_listen(stack, servers[i].port, &opts, &servers[i].l);
        if (r < 0) {
            mirage_log_err(&mirage_log_app, "listen on %u: %s", servers[i].port,
                           mirage_strerror(r));
            return 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        fibers[i] = mirage_fiber_spawn("accept", accept_loop, &servers[i], 0);
        if (fibers[i] == NULL)
            return 1;
    }
    if (mirage_stack_ip_addresses(stack, &addr, 1) == 0)
        addr = mirage_ipv4_addr(0, 0, 0, 0);
    report_heap("boot");
    mirage_log_app_msg(&mirage_log_app, "tcptest on %u.%u.%u.%u", addr.a[0], addr.a[1], addr.a[2],
                       addr.a[3]);
    /* Runs until the host stops it. */
    for (size_t i = 0; i < n; i++)
        mirage_fiber_join(fibers[i], NULL);
    return 1;
}
