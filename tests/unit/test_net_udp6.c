/* test_net_udp6.c: UDP over IPv6 between two nodes: delivery, checksums, port unreachable. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/checksum.h"
#include "mirage/icmpv6.h"
#include "mirage/time.h"
#include "mirage/udp.h"
#include "../net/link.h"

const char *mirage_cmdline(void)
{
    return "test_net_udp6";
}

/* fd00::1 and fd00::2 */
static const struct mirage_ipaddr G_A = {6, {0xfd, [15] = 1}};
static const struct mirage_ipaddr G_B = {6, {0xfd, [15] = 2}};

struct node {
    struct mirage_eth *eth;
    struct mirage_ipv6 *ip;
    struct mirage_icmpv6 *icmp;
    struct mirage_udp *udp;
};

static struct {
    int datagrams, errors;
    struct mirage_udp_rx last;
    uint8_t data[64];
    uint8_t type, code;
} seen;

static void on_datagram(void *ctx, const struct mirage_udp_rx *rx)
{
    (void)ctx;
    seen.datagrams++;
    seen.last = *rx;
    memcpy(seen.data, rx->data, rx->len < sizeof(seen.data) ? rx->len : sizeof(seen.data));
}

static void on_error(void *ctx, const struct mirage_icmpv6_error *e)
{
    (void)ctx;
    seen.errors++;
    seen.type = e->type;
    seen.code = e->code;
}

/* An IPv6-only UDP layer: no IPv4 under it. */
static void node_up(struct node *n, struct mirage_netif *nif, const struct mirage_ipaddr *addr)
{
    struct mirage_ipv6_config cfg = {.has_addr = 1, .prefix = 64};

    memcpy(cfg.addr, addr->a, 16);
    n->eth = mirage_eth_new(nif);
    n->ip = mirage_ipv6_new(n->eth, &cfg);
    n->icmp = mirage_icmpv6_new(n->ip, NULL);
    n->udp = mirage_udp_new(NULL, NULL);
    CHECK(n->eth && n->ip && n->icmp && n->udp);
    CHECK_INT(mirage_udp_add_ipv6(n->udp, n->ip, n->icmp), 0);
    CHECK_INT(mirage_udp_add_ipv6(n->udp, n->ip, n->icmp), MIRAGE_EINVAL);
    CHECK_INT(mirage_eth_start(n->eth), 0);
}

static void node_down(struct node *n)
{
    mirage_udp_free(n->udp);
    mirage_icmpv6_free(n->icmp);
    mirage_ipv6_free(n->ip);
    mirage_eth_free(n->eth);
}

/* One datagram handed straight to (udp) as IPv6 would, from fd00::1 to
 * fd00::2, with its checksum computed (fix) or as written. */
static void inject(struct mirage_udp *udp, uint8_t *dgram, size_t len, int fix)
{
    uint8_t hdr[40] = {0x60};

    if (fix) {
        struct mirage_csum c = MIRAGE_CSUM_INIT;
        dgram[6] = dgram[7] = 0;
        mirage_csum_add_pseudo6(&c, G_A.a, G_B.a, 17, (uint32_t)len);
        mirage_csum_add(&c, dgram, len);
        uint16_t v = mirage_csum_finish(&c);
        dgram[6] = (uint8_t)(v >> 8);
        dgram[7] = (uint8_t)v;
    }
    struct mirage_ipv6_rx rx = {.src = G_A.a,
                                .dst = G_B.a,
                                .proto = 17,
                                .hop_limit = 64,
                                .proto_off = 6,
                                .pkt = hdr,
                                .pkt_len = sizeof(hdr),
                                .payload = dgram,
                                .len = len};
    mirage_udp_input6(udp, &rx);
}

static void test_udp6(void)
{
    struct simlink_config cfg = {.seed = 13, .delay_ns = MIRAGE_MS(1)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    struct mirage_udp_stats st;
    const struct mirage_ipaddr v4 = {4, {10, 0, 0, 2}};
    uint8_t big[1452] = {0};

    node_up(&a, simlink_netif(l, 0), &G_A);
    node_up(&b, simlink_netif(l, 1), &G_B);
    CHECK_INT(mirage_icmpv6_on_error(a.icmp, 17, on_error, NULL), 0);
    CHECK_INT(mirage_udp_bind(b.udp, 7, on_datagram, NULL), 0);
    mirage_sleep_ns(MIRAGE_MS(2500)); /* DAD */

    /* Delivered with both addresses family 6, the payload intact. */
    CHECK_INT(mirage_udp_send(a.udp, 5000, &G_B, 7, -1, "hello six", 9), 0);
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(seen.datagrams, 1);
    CHECK_INT(seen.last.src.family, 6);
    CHECK(memcmp(seen.last.src.a, G_A.a, 16) == 0 && memcmp(seen.last.dst.a, G_B.a, 16) == 0);
    CHECK_INT(seen.last.src_port, 5000);
    CHECK_INT(seen.last.len, 9);
    CHECK(memcmp(seen.data, "hello six", 9) == 0);
    /* A full frame's payload: 1500 - 40 - 8. */
    CHECK_INT(mirage_udp_send(a.udp, 5000, &G_B, 7, -1, big, 1452), 0);
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(seen.datagrams, 2);
    CHECK_INT(seen.last.len, 1452);

    /* No listener: ICMPv6 port unreachable back to the sender's UDP. */
    CHECK_INT(mirage_udp_send(a.udp, 5000, &G_B, 9, -1, "anyone?", 7), 0);
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(seen.errors, 1);
    CHECK_INT(seen.type, MIRAGE_ICMPV6_UNREACH);
    CHECK_INT(seen.code, MIRAGE_ICMPV6_UNREACH_PORT);
    mirage_udp_stats(b.udp, &st);
    CHECK_INT(st.rx_no_port, 1);

    /* The layer has no IPv4; a family it does not know is a bad argument. */
    CHECK_INT(mirage_udp_send(a.udp, 5000, &v4, 7, -1, "x", 1), MIRAGE_EHOSTUNREACH);
    CHECK_INT(mirage_udp_send(a.udp, 5000, &(struct mirage_ipaddr){0}, 7, -1, "x", 1),
              MIRAGE_EINVAL);

    /* Checksums: right is delivered, wrong and zero (none: not allowed over
     * IPv6) are dropped, as are lengths that disagree with the packet. */
    {
        uint8_t d[12] = {0x13, 0x88, 0, 7, 0, 12, 0, 0, 'p', 'i', 'n', 'g'};
        int before = seen.datagrams;
        inject(b.udp, d, sizeof(d), 1);
        CHECK_INT(seen.datagrams, before + 1);
        d[11] ^= 1;
        inject(b.udp, d, sizeof(d), 0);
        d[6] = d[7] = 0;
        inject(b.udp, d, sizeof(d), 0);
        d[5] = 13; /* longer than the packet */
        inject(b.udp, d, sizeof(d), 1);
        d[5] = 7; /* shorter than the header */
        inject(b.udp, d, sizeof(d), 1);
        inject(b.udp, d, 5, 0);
        CHECK_INT(seen.datagrams, before + 1);
        mirage_udp_stats(b.udp, &st);
        CHECK_INT(st.rx_bad, 5);
    }
    node_down(&a);
    node_down(&b);
    simlink_free(l);
}

int main(void)
{
    test_udp6();
    return CHECK_DONE();
}
