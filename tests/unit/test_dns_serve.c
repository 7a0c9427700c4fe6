/* test_dns_serve.c: lib/dns/serve.c between two direct stacks on a test link: quick answers over
 * UDP and TCP, slow ones queued for their fibers, and a stop that leaves nothing running on what
 * it freed (the caller frees its context right after; ASan sees any later touch). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../net/link.h"
#include "check.h"
#include "fake_platform.h"
#include "mirage/dns.h"
#include "mirage/error.h"
#include "mirage/sched.h"
#include "mirage/stack.h"
#include "mirage/tcp.h"
#include "mirage/time.h"

const char *mirage_cmdline(void)
{
    return "";
}

#define PORT 53
#define SLOW 0xAA /* a query starting with this byte is answered by the slow function */

/* The server's context: freed by the test as soon as mirage_dns_serve_stop returns. */
struct app {
    unsigned quick, slow_started, slow_cancelled;
};

/* Answers by echoing the query with its first byte + 1; slow queries are deferred. */
static size_t quick(void *ctx, const struct mirage_ipaddr *from, const uint8_t *q, size_t qlen,
                    int tcp, uint8_t *out, size_t cap)
{
    struct app *a = ctx;

    (void)from, (void)tcp;
    if (qlen == 0 || qlen > cap)
        return 0;
    if (q[0] == SLOW)
        return MIRAGE_DNS_SERVE_SLOW;
    a->quick++;
    memcpy(out, q, qlen);
    out[0]++;
    return qlen;
}

/* Waits an hour (an upstream that never answers), then answers as quick does. */
static size_t slow(void *ctx, const struct mirage_ipaddr *from, const uint8_t *q, size_t qlen,
                   int tcp, uint8_t *out, size_t cap)
{
    struct app *a = ctx;

    (void)from, (void)tcp;
    a->slow_started++;
    if (mirage_sleep_ns(MIRAGE_SEC(3600)) == MIRAGE_ECANCELED) {
        a->slow_cancelled++;
        return 0;
    }
    memcpy(out, q, qlen < cap ? qlen : cap);
    return qlen < cap ? qlen : cap;
}

static uint8_t got[64];
static size_t ngot;
static unsigned ndatagrams;

static void client_rx(void *ctx, const struct mirage_udp_rx *rx)
{
    (void)ctx;
    ndatagrams++;
    ngot = rx->len < sizeof(got) ? rx->len : sizeof(got);
    memcpy(got, rx->data, ngot);
}

static int acceptor(void *arg)
{
    return mirage_dns_serve_tcp(arg);
}

static void test_serve_and_stop(void)
{
    struct simlink_config lc = {.seed = 7, .delay_ns = MIRAGE_MS(1)};
    struct mirage_stack_config sc = {.ipv4 = mirage_ipv4_addr(10, 9, 0, 1), .ipv4_prefix = 24,
                                     .ipv4_only = 1},
                               cc = {.ipv4 = mirage_ipv4_addr(10, 9, 0, 2), .ipv4_prefix = 24,
                                     .ipv4_only = 1};
    struct simlink *link = simlink_new(&lc);
    struct mirage_stack *server, *client;
    struct app *a = calloc(1, sizeof(*a));
    struct mirage_dns_serve *sv;
    struct mirage_fiber *acc;
    struct mirage_flow *f;
    uint8_t q[4] = {1, 2, 3, 4}, tq[6] = {0, 4, 5, 6, 7, 8}, b[8];
    size_t n;
    int r;

    CHECK(link != NULL && a != NULL);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 1), &sc, &server), 0);
    CHECK_INT(mirage_stack_direct_new(simlink_netif(link, 0), &cc, &client), 0);
    struct mirage_dns_serve_config cfg = {
        .port = PORT, .answer = quick, .slow = slow, .slow_fibers = 1, .ctx = a};
    CHECK_INT(mirage_dns_serve_start(server, &cfg, &sv), 0);
    CHECK((acc = mirage_fiber_spawn("acceptor", acceptor, sv, 0)) != NULL);
    CHECK_INT(mirage_udp_listen(client, 5353, client_rx, NULL), 0);

    /* UDP: a quick answer. */
    CHECK_INT(mirage_udp_write(client, 5353, &sc.ipv4, PORT, -1, q, sizeof(q)), 0);
    mirage_sleep_ns(MIRAGE_MS(50));
    CHECK_INT(ndatagrams, 1);
    CHECK_INT(ngot, 4);
    CHECK_INT(got[0], 2);

    /* TCP: a length-prefixed query and its answer; the connection stays open. */
    CHECK_INT(mirage_tcp_connect(client, &sc.ipv4, PORT, &f, mirage_deadline_in(MIRAGE_SEC(5))),
              0);
    CHECK_INT(mirage_flow_write(f, tq, sizeof(tq), mirage_deadline_in(MIRAGE_SEC(5))), 0);
    CHECK_INT(mirage_flow_read(f, b, sizeof(b), &n, mirage_deadline_in(MIRAGE_SEC(5))), 0);
    CHECK_INT(n, 6);
    CHECK_INT(b[1], 4);
    CHECK_INT(b[2], 6);
    CHECK_INT(a->quick, 2);

    /* Three slow queries: one fiber answers (and hangs on) the first, two wait. */
    q[0] = SLOW;
    for (int i = 0; i < 3; i++)
        CHECK_INT(mirage_udp_write(client, 5353, &sc.ipv4, PORT, -1, q, sizeof(q)), 0);
    mirage_sleep_ns(MIRAGE_MS(50));
    CHECK_INT(a->slow_started, 1);

    /* Stop as the examples do: the accept loop ends, then stop. */
    mirage_fiber_cancel(acc);
    CHECK_INT(mirage_fiber_join(acc, &r), 0);
    CHECK_INT(r, MIRAGE_ECANCELED);
    mirage_dns_serve_stop(sv);
    CHECK_INT(a->slow_started, 1);   /* the waiting two were dropped */
    CHECK_INT(a->slow_cancelled, 1); /* the one answering was stopped */
    free(a);                         /* nothing of the server may touch it now */

    /* The connection was closed by the server; nothing answers on the port. */
    CHECK_INT(mirage_flow_read(f, b, sizeof(b), &n, mirage_deadline_in(MIRAGE_SEC(5))), 0);
    CHECK_INT(n, 0);
    mirage_flow_close(f);
    q[0] = 1;
    CHECK_INT(mirage_udp_write(client, 5353, &sc.ipv4, PORT, -1, q, sizeof(q)), 0);
    mirage_sleep_ns(MIRAGE_SEC(3700)); /* past every wait a leftover fiber could have had */
    CHECK_INT(ndatagrams, 1);

    mirage_udp_unlisten(client, 5353);
    mirage_stack_disconnect(client);
    mirage_stack_disconnect(server);
    simlink_free(link);
}

int main(void)
{
    test_serve_and_stop();
    return CHECK_DONE();
}
