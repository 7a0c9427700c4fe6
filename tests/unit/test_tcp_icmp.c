/* test_tcp_icmp.c: ICMP and ICMPv6 errors about our segments reach TCP (RFC 1122 4.2.3.9,
 * RFC 5461, RFC 5927): a hard error ends a connection attempt at once, a soft one names why
 * the attempt timed out, an established connection lives through either, and an error
 * whose quoted sequence number we never sent is ignored. */
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

#define ETH 14u

/*
 * The firewall: the link's filter drops every TCP segment side 0 (the client)
 * sends to port FW_PORT and answers it 0.5 ms later, from a timer, with the
 * ICMP (v4) or ICMPv6 (v6) error (type, code) quoting the segment, as a
 * firewall rule "reject with ..." does. Segments to other ports pass.
 */
#define FW_PORT 81
static struct {
    struct simlink *link;
    struct mirage_timer timer;
    uint8_t type, code;
    int seq_delta; /* added to the quoted sequence number: not one we sent */
    int pass;      /* let the segments through (an established connection) */
    unsigned dropped, sent;
    uint8_t quote[40 + 20 + 8];
    size_t quote_len;
    int v6;
} fw;

static void send_error(struct mirage_timer *t)
{
    uint8_t f[ETH + 48 + sizeof(fw.quote)];
    size_t n = fw.v6 ? icmp6_error_frame(f, fw.quote + 24, fw.type, fw.code, 0, fw.quote,
                                         fw.quote_len) /* from the quoted destination */
                     : icmp4_error_frame(f, fw.quote + 16, fw.type, fw.code, 0, fw.quote,
                                         fw.quote_len);

    (void)t;
    CHECK_INT(mirage_netif_send(simlink_netif(fw.link, 1), f, n), 0);
    fw.sent++;
}

static int firewall(void *ctx, int from, const uint8_t *fr, size_t len)
{
    size_t ip_len, tcp_at;

    (void)ctx;
    if (from != 0 || len < ETH + 40)
        return 0;
    if (fw.v6 && fr[12] == 0x86 && fr[13] == 0xdd && fr[ETH + 6] == 6)
        ip_len = 40;
    else if (!fw.v6 && fr[12] == 0x08 && fr[13] == 0x00 && fr[ETH + 9] == 6)
        ip_len = (size_t)(fr[ETH] & 15) * 4;
    else
        return 0;
    tcp_at = ETH + ip_len;
    if (len < tcp_at + 20 || ((unsigned)fr[tcp_at + 2] << 8 | fr[tcp_at + 3]) != FW_PORT ||
        fw.pass)
        return 0;
    fw.dropped++;
    fw.quote_len = ip_len + 8; /* RFC 792: the header and 64 bits of the data */
    memcpy(fw.quote, fr + ETH, fw.quote_len);
    if (fw.seq_delta) {
        uint32_t seq = (uint32_t)fw.quote[ip_len + 4] << 24 | (uint32_t)fw.quote[ip_len + 5] << 16 |
                       (uint32_t)fw.quote[ip_len + 6] << 8 | fw.quote[ip_len + 7];
        seq += (uint32_t)fw.seq_delta;
        fw.quote[ip_len + 4] = (uint8_t)(seq >> 24);
        fw.quote[ip_len + 5] = (uint8_t)(seq >> 16);
        fw.quote[ip_len + 6] = (uint8_t)(seq >> 8);
        fw.quote[ip_len + 7] = (uint8_t)seq;
    }
    mirage_timer_start(&fw.timer, mirage_clock_monotonic() + MIRAGE_US(500), send_error);
    return 1;
}

struct pair {
    struct mirage_stack *server, *client;
    struct mirage_ipaddr srv;
};

static void pair_up(struct pair *p, int v6, uint64_t seed)
{
    struct simlink_config lc = {.seed = seed, .delay_ns = MIRAGE_MS(1)};
    struct mirage_stack_config sc = {0}, cc = {0};

    if (v6) {
        sc = (struct mirage_stack_config){
            .ipv6 = {.family = 6, .a = {0xfd, 0, 0, 9, [15] = 1}}, .ipv6_prefix = 64, .ipv6_only = 1};
        cc = (struct mirage_stack_config){
            .ipv6 = {.family = 6, .a = {0xfd, 0, 0, 9, [15] = 2}}, .ipv6_prefix = 64, .ipv6_only = 1};
        p->srv = sc.ipv6;
    } else {
        sc = (struct mirage_stack_config){
            .ipv4 = mirage_ipv4_addr(10, 9, 0, 1), .ipv4_prefix = 24, .ipv4_only = 1};
        cc = (struct mirage_stack_config){
            .ipv4 = mirage_ipv4_addr(10, 9, 0, 2), .ipv4_prefix = 24, .ipv4_only = 1};
        p->srv = sc.ipv4;
    }
    memset(&fw, 0, sizeof(fw));
    fw.v6 = v6;
    fw.link = simlink_new(&lc);
    simlink_set_filter(fw.link, firewall, NULL);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(fw.link, 1), &sc, &p->server), 0);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(fw.link, 0), &cc, &p->client), 0);
    if (v6)
        mirage_sleep_ns(MIRAGE_MS(2500)); /* DAD */
}

static void pair_down(struct pair *p)
{
    mirage_stack_disconnect(p->client);
    mirage_stack_disconnect(p->server);
    simlink_free(fw.link);
}

/* A connect to the firewalled port answered by (type, code): its result and how long it took. */
static int connect_through(struct pair *p, uint8_t type, uint8_t code, uint64_t *took)
{
    struct mirage_flow *f = NULL;
    uint64_t t0 = mirage_clock_monotonic();
    int r;

    fw.type = type;
    fw.code = code;
    r = mirage_tcp_connect(p->client, &p->srv, FW_PORT, &f, mirage_deadline_in(MIRAGE_SEC(600)));
    *took = mirage_clock_monotonic() - t0;
    if (f != NULL)
        mirage_flow_close(f);
    return r;
}

/* Hard errors (RFC 1122 4.2.3.9: port and protocol unreachable; administratively
 * prohibited, as Linux and the BSDs treat it) end the attempt when the first
 * one arrives; soft ones (host unreachable, time exceeded) leave it to its
 * retransmissions, and its timeout then reports the error, not a bare timeout. */
static void test_connect_errors(int v6)
{
    static const struct {
        uint8_t type4, code4, type6, code6;
        int hard, err;
    } cases[] = {
        {3, 3, 1, 4, 1, MIRAGE_ECONNREFUSED},  /* port unreachable */
        {3, 2, 4, 1, 1, MIRAGE_ECONNREFUSED},  /* protocol / next header unrecognised */
        {3, 13, 1, 1, 1, MIRAGE_EHOSTUNREACH}, /* administratively prohibited */
        {3, 1, 1, 3, 0, MIRAGE_EHOSTUNREACH},  /* host / address unreachable */
        {11, 0, 3, 0, 0, MIRAGE_EHOSTUNREACH}, /* time exceeded in transit */
    };
    struct pair p;
    uint64_t took;

    pair_up(&p, v6, 21 + (uint64_t)v6);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned before = fw.dropped;
        int r = connect_through(&p, v6 ? cases[i].type6 : cases[i].type4,
                                v6 ? cases[i].code6 : cases[i].code4, &took);
        CHECK_INT(r, cases[i].err);
        if (cases[i].hard) {
            CHECK_INT(fw.dropped - before, 1); /* the first SYN's answer ended it */
            CHECK(took < MIRAGE_MS(10));
        } else {
            CHECK_INT(fw.dropped - before, 6); /* the SYN and its 5 retransmissions */
            CHECK(took > MIRAGE_SEC(10));
        }
    }
    /* The port next door was never firewalled: the stack still connects. */
    struct mirage_tcp_listener *l;
    struct mirage_flow *f;
    CHECK_INT(mirage_tcp_listen(p.server, FW_PORT + 1, NULL, &l), 0);
    CHECK_INT(mirage_tcp_connect(p.client, &p.srv, FW_PORT + 1, &f, mirage_deadline_in(MIRAGE_SEC(5))),
              0);
    mirage_flow_close(f);
    mirage_tcp_unlisten(l);
    pair_down(&p);
}

/* RFC 5927 3: an error quoting a sequence number outside what we sent and
 * the peer has not acknowledged is not about our connection: ignored, the
 * attempt runs to its plain timeout. */
static void test_forged_sequence_ignored(int v6)
{
    struct pair p;
    uint64_t took;

    pair_up(&p, v6, 31 + (uint64_t)v6);
    fw.seq_delta = 100000;
    CHECK_INT(connect_through(&p, v6 ? 1 : 3, v6 ? 4 : 3, &took), MIRAGE_ETIMEDOUT);
    CHECK_INT(fw.dropped, 6);
    CHECK_INT(fw.sent, 6);
    pair_down(&p);
}

static int echo_one(void *arg)
{
    struct mirage_tcp_listener *l = arg;
    struct mirage_flow *f;
    uint8_t b[64];
    size_t got;
    int r;

    if ((r = mirage_tcp_accept(l, &f, NULL, NULL, mirage_deadline_in(MIRAGE_SEC(60)))) < 0)
        return r;
    while ((r = mirage_flow_read(f, b, sizeof(b), &got, mirage_deadline_in(MIRAGE_SEC(60)))) == 0 &&
           got > 0)
        if ((r = mirage_flow_write(f, b, got, mirage_deadline_in(MIRAGE_SEC(60)))) < 0)
            break;
    mirage_flow_close(f);
    return r;
}

/* RFC 5461 4 / RFC 1122 4.2.3.9: an established connection is not aborted by
 * ICMP errors, hard or soft: a firewall that starts rejecting mid-way (or a
 * forged error) leaves it to TCP's own timers, and when the path comes back
 * the connection carries on. */
static void test_established_survives(int v6)
{
    struct mirage_tcp_listener *l;
    struct mirage_fiber *fib;
    struct mirage_flow *f;
    struct pair p;
    uint8_t b[8];
    size_t got;
    int r = -1;

    pair_up(&p, v6, 41 + (uint64_t)v6);
    CHECK_INT(mirage_tcp_listen(p.server, FW_PORT, NULL, &l), 0);
    fib = mirage_fiber_spawn("echo", echo_one, l, 0);
    fw.pass = 1;
    CHECK_INT(mirage_tcp_connect(p.client, &p.srv, FW_PORT, &f, mirage_deadline_in(MIRAGE_SEC(5))), 0);
    fw.pass = 0;
    fw.type = v6 ? 1 : 3;
    fw.code = v6 ? 4 : 3; /* port unreachable: hard during a handshake */
    CHECK_INT(mirage_flow_write(f, "hello", 5, mirage_deadline_in(MIRAGE_SEC(5))), 0);
    mirage_sleep_ns(MIRAGE_SEC(2)); /* errors about the data and its retransmissions */
    CHECK(fw.sent >= 2);
    fw.pass = 1;
    CHECK_INT(mirage_flow_read(f, b, sizeof(b), &got, mirage_deadline_in(MIRAGE_SEC(30))), 0);
    CHECK_INT(got, 5);
    CHECK(memcmp(b, "hello", 5) == 0);
    CHECK_INT(mirage_flow_shutdown(f, MIRAGE_SHUT_WR), 0);
    CHECK_INT(mirage_fiber_join(fib, &r), 0);
    CHECK_INT(r, 0);
    mirage_flow_close(f);
    mirage_tcp_unlisten(l);
    pair_down(&p);
}

int main(void)
{
    mirage_log_set(getenv("LOGS") ? getenv("LOGS") : "info", NULL, 0);
    for (int v6 = 0; v6 <= 1; v6++) {
        test_connect_errors(v6);
        test_forged_sequence_ignored(v6);
        test_established_survives(v6);
    }
    if (check_failures)
        fputs(fake_console_text(), stderr);
    return CHECK_DONE();
}
