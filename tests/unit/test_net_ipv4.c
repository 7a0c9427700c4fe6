/* test_net_ipv4.c: two stacks over the test link: ARP, IPv4 fragments and reassembly, ICMP, UDP. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/checksum.h"
#include "mirage/icmp.h"
#include "mirage/time.h"
#include "mirage/udp.h"
#include "../net/link.h"

/* The runtime's generator seeds from the command line too. */
const char *mirage_cmdline(void)
{
    return "test_net_ipv4";
}

#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u
/* A uint32_t IPv4 address as the family-tagged one mirage_udp_send takes. */
#define TO(ip) ((const struct mirage_ipaddr[]){mirage_ipv4_to_ipaddr(ip)})

struct node {
    struct mirage_eth *eth;
    struct mirage_arp *arp;
    struct mirage_ipv4 *ip;
    struct mirage_icmpv4 *icmp;
    struct mirage_udp *udp;
};

static void node_up(struct node *n, struct mirage_netif *nif, uint32_t addr)
{
    struct mirage_ipv4_config cfg = {.addr = addr, .prefix = 24};

    n->eth = mirage_eth_new(nif);
    n->arp = mirage_arp_new(n->eth, NULL);
    n->ip = mirage_ipv4_new(n->eth, n->arp, &cfg);
    n->icmp = mirage_icmpv4_new(n->ip, NULL);
    n->udp = mirage_udp_new(n->ip, n->icmp);
    CHECK(n->eth && n->arp && n->ip && n->icmp && n->udp);
    CHECK_INT(mirage_eth_start(n->eth), 0);
}

static void node_down(struct node *n)
{
    mirage_udp_free(n->udp);
    mirage_icmpv4_free(n->icmp);
    mirage_ipv4_free(n->ip);
    mirage_arp_free(n->arp);
    mirage_eth_free(n->eth);
}

struct got {
    int count;
    uint8_t data[70000];
    size_t len;
    uint16_t src_port;
    uint32_t src;
};

static void udp_rx(void *ctx, const struct mirage_udp_rx *rx)
{
    struct got *g = ctx;

    g->count++;
    g->len = rx->len;
    g->src_port = rx->src_port;
    mirage_ipv4_of_ipaddr(&rx->src, &g->src);
    if (rx->len <= sizeof(g->data))
        memcpy(g->data, rx->data, rx->len);
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31 + seed) ^ (i >> 8));
}

static void test_checksum(void)
{
    /* RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
    const uint8_t v[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint8_t buf[101];
    struct mirage_csum c = MIRAGE_CSUM_INIT;

    CHECK_INT(mirage_csum(v, 8), (uint16_t)~0xddf2);
    fill_pattern(buf, sizeof(buf), 5);
    /* Odd-length pieces sum as one string. */
    mirage_csum_add(&c, buf, 3);
    mirage_csum_add(&c, buf + 3, 0);
    mirage_csum_add(&c, buf + 3, 50);
    mirage_csum_add(&c, buf + 53, 48);
    CHECK_INT(mirage_csum_finish(&c), mirage_csum(buf, sizeof(buf)));
    char s[16];
    CHECK_STR(mirage_ipv4_format(0xc0a80a01, s), "192.168.10.1");
}

static void test_udp_arp_and_fragments(void)
{
    struct simlink_config cfg = {.seed = 11, .delay_ns = MIRAGE_MS(1)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    static struct got gb, ga;
    static uint8_t big[60000];
    struct mirage_arp_stats as;
    struct mirage_ipv4_stats is;
    uint8_t mac[6];

    memset(&gb, 0, sizeof(gb));
    memset(&ga, 0, sizeof(ga));
    node_up(&a, simlink_netif(l, 0), IP_A);
    node_up(&b, simlink_netif(l, 1), IP_B);
    CHECK_INT(mirage_udp_bind(b.udp, 7, udp_rx, &gb), 0);
    CHECK_INT(mirage_udp_bind(b.udp, 7, udp_rx, &gb), MIRAGE_EINVAL);
    CHECK_INT(mirage_udp_bind(a.udp, 5000, udp_rx, &ga), 0);
    mirage_sleep_ns(MIRAGE_MS(10)); /* the gratuitous ARPs cross */

    /* Three datagrams before B's MAC is known: queued, then sent in order. */
    CHECK_INT(mirage_arp_lookup(a.arp, IP_B, mac), MIRAGE_ENOENT);
    CHECK_INT(mirage_udp_send(a.udp, 5000, TO(IP_B), 7, -1, "one", 3), 0);
    CHECK_INT(mirage_udp_send(a.udp, 5000, TO(IP_B), 7, -1, "two", 3), 0);
    CHECK_INT(mirage_udp_send(a.udp, 5000, TO(IP_B), 7, -1, "three", 5), 0);
    mirage_arp_stats(a.arp, &as);
    CHECK_INT(as.queued, 3);
    CHECK_INT(as.requests_sent, 2); /* the announcement and one query */
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(gb.count, 3);
    CHECK_INT(gb.len, 5);
    CHECK(memcmp(gb.data, "three", 5) == 0);
    CHECK_INT(gb.src_port, 5000);
    CHECK_INT(gb.src, IP_A);
    CHECK_INT(mirage_arp_lookup(a.arp, IP_B, mac), 0);
    CHECK(memcmp(mac, simlink_netif(l, 1)->info.mac, 6) == 0);
    /* B learnt A from A's query for it. */
    CHECK_INT(mirage_arp_lookup(b.arp, IP_A, mac), 0);

    /* A 60000-byte datagram goes as 41 fragments and comes back whole. */
    fill_pattern(big, sizeof(big), 1);
    CHECK_INT(mirage_udp_send(a.udp, 0, TO(IP_B), 7, -1, big, sizeof(big)), 0);
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(gb.count, 4);
    CHECK_INT(gb.len, sizeof(big));
    CHECK(memcmp(gb.data, big, sizeof(big)) == 0);
    CHECK(gb.src_port >= MIRAGE_UDP_EPHEMERAL_MIN);
    mirage_ipv4_stats(a.ip, &is);
    CHECK_INT(is.tx_fragments, 41);
    mirage_ipv4_stats(b.ip, &is);
    CHECK_INT(is.rx_fragments, 41);
    CHECK_INT(is.reassembled, 1);

    /* Too big for one datagram, or for one frame with DF. */
    CHECK_INT(mirage_udp_send(a.udp, 0, TO(IP_B), 7, -1, big, 65508), MIRAGE_EMSGSIZE);
    struct mirage_udp_out df = {.dst = *TO(IP_B), .dst_port = 7, .ip_flags = MIRAGE_IPV4_DF};
    struct mirage_iovec iov = {big, 1473};
    CHECK_INT(mirage_udp_writev(a.udp, &df, &iov, 1), MIRAGE_EMSGSIZE);
    iov.len = 1472;
    CHECK_INT(mirage_udp_writev(a.udp, &df, &iov, 1), 0);
    /* Off-link with no gateway: no route. */
    CHECK_INT(mirage_udp_send(a.udp, 0, TO(0x0b000001), 7, -1, "x", 1), MIRAGE_EHOSTUNREACH);
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(gb.count, 5);

    node_down(&a);
    node_down(&b);
    simlink_free(l);
}

struct echo_seen {
    int count;
    uint8_t ttl;
    size_t len;
    int data_ok;
};

static uint8_t ping_data[30000];

static void echo_rx(void *ctx, const struct mirage_icmpv4_echo *e)
{
    struct echo_seen *s = ctx;

    s->count++;
    s->ttl = e->ttl;
    s->len = e->len;
    s->data_ok = e->len <= sizeof(ping_data) && memcmp(e->data, ping_data, e->len) == 0;
}

struct err_seen {
    int count;
    uint8_t type, code;
    uint16_t port;
};

static void err_rx(void *ctx, const struct mirage_icmpv4_error *e)
{
    struct err_seen *s = ctx;
    size_t hl = (size_t)(e->orig[0] & 15) * 4;

    s->count++;
    s->type = e->type;
    s->code = e->code;
    if (e->len >= hl + 4)
        s->port = (uint16_t)(e->orig[hl + 2] << 8 | e->orig[hl + 3]);
}

static void test_icmp(void)
{
    struct simlink_config cfg = {.seed = 12, .delay_ns = MIRAGE_US(100)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    struct echo_seen es = {0};
    struct err_seen er = {0};
    struct mirage_icmpv4_stats st;
    struct mirage_ipv4_config ic;

    node_up(&a, simlink_netif(l, 0), IP_A);
    node_up(&b, simlink_netif(l, 1), IP_B);
    mirage_ipv4_get_config(b.ip, &ic);
    ic.ttl = 33;
    CHECK_INT(mirage_ipv4_set_config(b.ip, &ic), 0);
    mirage_icmpv4_on_echo_reply(a.icmp, echo_rx, &es);
    CHECK_INT(mirage_icmpv4_on_error(a.icmp, MIRAGE_IPV4_PROTO_UDP, err_rx, &er), 0);

    /* Small and fragmented pings are answered with B's TTL. */
    fill_pattern(ping_data, sizeof(ping_data), 9);
    CHECK_INT(mirage_icmpv4_ping(a.icmp, IP_B, 1, 1, -1, ping_data, 56), 0);
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(es.count, 1);
    CHECK_INT(es.ttl, 33);
    CHECK_INT(es.len, 56);
    CHECK(es.data_ok);
    CHECK_INT(mirage_icmpv4_ping(a.icmp, IP_B, 1, 2, -1, ping_data, sizeof(ping_data)), 0);
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(es.count, 2);
    CHECK_INT(es.len, sizeof(ping_data));
    CHECK(es.data_ok);

    /* A closed port: port unreachable quoting our datagram; then rate-limited. */
    CHECK_INT(mirage_udp_send(a.udp, 4000, TO(IP_B), 9999, -1, "hello", 5), 0);
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(er.count, 1);
    CHECK_INT(er.type, MIRAGE_ICMP_UNREACH);
    CHECK_INT(er.code, MIRAGE_ICMP_UNREACH_PORT);
    CHECK_INT(er.port, 9999);
    for (int i = 0; i < 100; i++)
        mirage_udp_send(a.udp, 4000, TO(IP_B), 9999, -1, "x", 1);
    mirage_sleep_ns(MIRAGE_MS(10));
    mirage_icmpv4_stats(b.icmp, &st);
    CHECK(st.errors_sent >= 50 && st.errors_sent <= 52); /* the burst, ~1 ms of refill */
    CHECK(st.errors_limited >= 49);
    CHECK_INT(er.count, (int)st.errors_sent);
    /* A second later the bucket has refilled. */
    mirage_sleep_ns(MIRAGE_SEC(1));
    mirage_udp_send(a.udp, 4000, TO(IP_B), 9999, -1, "x", 1);
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(er.count, (int)st.errors_sent + 1);

    node_down(&a);
    node_down(&b);
    simlink_free(l);
}

static void test_arp_give_up_and_cache(void)
{
    struct simlink_config cfg = {.seed = 13, .delay_ns = MIRAGE_US(100)};
    struct mirage_arp_config acfg = {.cache_max = 4};
    struct simlink *l = simlink_new(&cfg);
    struct node a;
    struct mirage_arp_stats st;
    uint8_t mac[6], m2[6] = {2, 9, 9, 9, 9, 9};

    a.eth = mirage_eth_new(simlink_netif(l, 0));
    a.arp = mirage_arp_new(a.eth, &acfg);
    struct mirage_ipv4_config ic = {.addr = IP_A, .prefix = 24};
    a.ip = mirage_ipv4_new(a.eth, a.arp, &ic);
    a.icmp = mirage_icmpv4_new(a.ip, NULL);
    a.udp = mirage_udp_new(a.ip, a.icmp);
    mirage_eth_start(a.eth);

    /* Nobody at .99: three queries a second apart, then the queue is dropped. */
    for (int i = 0; i < 70; i++)
        mirage_udp_send(a.udp, 1, TO(0x0a000063), 7, -1, "q", 1);
    mirage_arp_stats(a.arp, &st);
    CHECK_INT(st.queued, 64);
    CHECK_INT(st.queue_dropped, 6);
    mirage_sleep_ns(MIRAGE_MS(3500));
    mirage_arp_stats(a.arp, &st);
    CHECK_INT(st.give_ups, 1);
    CHECK_INT(st.requests_sent, 2 + 3);
    CHECK_INT(st.queue_dropped, 70);
    CHECK(strstr(fake_console_text(), "no answer from 10.0.0.99 after 3 queries: dropping 64") !=
          NULL);
    CHECK_INT(mirage_udp_send(a.udp, 1, TO(0x0a000063), 7, -1, "q", 1), MIRAGE_EHOSTUNREACH);
    /* The failure is forgotten after a while: a new query goes out. */
    mirage_sleep_ns(MIRAGE_MS(1500));
    CHECK_INT(mirage_udp_send(a.udp, 1, TO(0x0a000063), 7, -1, "q", 1), 0);
    mirage_arp_stats(a.arp, &st);
    CHECK_INT(st.requests_sent, 2 + 4);

    /* Static entries: used at once, never evicted by a full cache. */
    CHECK_INT(mirage_arp_add_static(a.arp, 0x0a000005, m2), 0);
    CHECK_INT(mirage_arp_lookup(a.arp, 0x0a000005, mac), 0);
    CHECK(memcmp(mac, m2, 6) == 0);
    for (uint32_t i = 10; i < 20; i++)
        mirage_udp_send(a.udp, 1, TO(0x0a000000 + i), 7, -1, "q", 1);
    CHECK_INT(mirage_arp_lookup(a.arp, 0x0a000005, mac), 0);
    CHECK_INT(mirage_arp_remove(a.arp, 0x0a000005), 0);
    CHECK_INT(mirage_arp_remove(a.arp, 0x0a000005), MIRAGE_ENOENT);
    mirage_sleep_ns(MIRAGE_SEC(10));

    node_down(&a);
    simlink_free(l);
}

/* A raw ARP packet from side 1 of the link, as a hostile or confused peer. */
static void raw_arp(struct mirage_netif *nif, uint16_t op, const uint8_t sha[6], uint32_t spa,
                    uint32_t tpa, const uint8_t *dst)
{
    uint8_t f[42];

    memcpy(f, dst, 6);
    memcpy(f + 6, sha, 6);
    f[12] = 0x08, f[13] = 0x06, f[14] = 0, f[15] = 1, f[16] = 8, f[17] = 0, f[18] = 6, f[19] = 4;
    f[20] = 0, f[21] = (uint8_t)op;
    memcpy(f + 22, sha, 6);
    f[28] = (uint8_t)(spa >> 24), f[29] = (uint8_t)(spa >> 16), f[30] = (uint8_t)(spa >> 8);
    f[31] = (uint8_t)spa;
    memset(f + 32, 0, 6);
    f[38] = (uint8_t)(tpa >> 24), f[39] = (uint8_t)(tpa >> 16), f[40] = (uint8_t)(tpa >> 8);
    f[41] = (uint8_t)tpa;
    CHECK_INT(mirage_netif_send(nif, f, sizeof(f)), 0);
}

static int arp_count;
static int count_arp(void *ctx, int from, const uint8_t *frame, size_t len)
{
    (void)ctx;
    if (from == 0 && len >= 14 && frame[12] == 0x08 && frame[13] == 0x06)
        arp_count++;
    return 0;
}

/* ARP frames side 0 sends, broadcast and unicast; (drop_b_arp) silences side 1's. */
static int arp_bcast, arp_ucast, drop_b_arp;
static int watch_arp(void *ctx, int from, const uint8_t *frame, size_t len)
{
    (void)ctx;
    if (len < 14 || frame[12] != 0x08 || frame[13] != 0x06)
        return 0;
    if (from == 1)
        return drop_b_arp;
    if (memcmp(frame, mirage_eth_broadcast, 6) == 0)
        arp_bcast++;
    else
        arp_ucast++;
    return 0;
}

/* An entry in steady use is renewed by unicast polls before it expires:
 * nothing is ever queued again; a peer that stops answering expires as before. */
static void test_arp_refresh(void)
{
    struct simlink_config cfg = {.seed = 15, .delay_ns = MIRAGE_US(100)};
    struct mirage_arp_config acfg = {.entry_timeout = MIRAGE_SEC(32)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    struct mirage_arp_stats st;
    struct got g = {0};
    struct mirage_ipv4_config ic = {.addr = IP_A, .prefix = 24};

    a.eth = mirage_eth_new(simlink_netif(l, 0));
    a.arp = mirage_arp_new(a.eth, &acfg);
    a.ip = mirage_ipv4_new(a.eth, a.arp, &ic);
    a.icmp = mirage_icmpv4_new(a.ip, NULL);
    a.udp = mirage_udp_new(a.ip, a.icmp);
    mirage_eth_start(a.eth);
    node_up(&b, simlink_netif(l, 1), IP_B);
    CHECK_INT(mirage_udp_bind(b.udp, 7, udp_rx, &g), 0);
    simlink_set_filter(l, watch_arp, NULL);
    mirage_sleep_ns(MIRAGE_SEC(2)); /* the announcements are over */
    arp_bcast = arp_ucast = drop_b_arp = 0;

    /* 70 s of a packet every 100 ms: one broadcast query at first, then only
     * polls in the last 4 s of each 32 s life, each answered at once. */
    for (int i = 0; i < 700; i++) {
        CHECK_INT(mirage_udp_send(a.udp, 1, TO(IP_B), 7, -1, "r", 1), 0);
        mirage_sleep_ns(MIRAGE_MS(100));
    }
    mirage_arp_stats(a.arp, &st);
    CHECK_INT(g.count, 700);
    CHECK_INT(st.queued, 1);
    CHECK_INT(arp_bcast, 1);
    CHECK_INT(arp_ucast, 2);
    CHECK_INT(st.polls, arp_ucast);

    /* B stops answering ARP: three polls a second apart, then the entry
     * expires and a broadcast query goes out, as without polls. */
    drop_b_arp = 1;
    arp_ucast = 0;
    for (int i = 0; i < 400; i++) {
        mirage_udp_send(a.udp, 1, TO(IP_B), 7, -1, "r", 1);
        mirage_sleep_ns(MIRAGE_MS(100));
    }
    CHECK_INT(arp_ucast, 3);
    CHECK(arp_bcast >= 2);
    mirage_arp_stats(a.arp, &st);
    CHECK(st.queued > 1);

    simlink_set_filter(l, NULL, NULL);
    mirage_sleep_ns(MIRAGE_SEC(5));
    node_down(&b);
    node_down(&a);
    simlink_free(l);
}

static void test_arp_gratuitous(void)
{
    struct simlink_config cfg = {.seed = 14, .delay_ns = MIRAGE_US(100)};
    struct simlink *l = simlink_new(&cfg);
    struct node a;
    struct mirage_netif *peer = simlink_netif(l, 1);
    const uint8_t evil[6] = {2, 0xe, 0xe, 0xe, 0xe, 0xe}, good[6] = {2, 7, 7, 7, 7, 7};
    struct mirage_arp_stats st;
    struct mirage_ipv4_config ic;
    uint8_t mac[6];

    simlink_set_filter(l, count_arp, NULL);
    arp_count = 0;
    node_up(&a, simlink_netif(l, 0), IP_A);
    /* Announced on start, and again a second later. */
    CHECK_INT(arp_count, 1);
    mirage_sleep_ns(MIRAGE_MS(1100));
    CHECK_INT(arp_count, 2);
    /* A gratuitous reply claiming our address changes nothing. */
    raw_arp(peer, 2, evil, IP_A, IP_A, mirage_eth_broadcast);
    mirage_sleep_ns(MIRAGE_MS(10));
    mirage_arp_stats(a.arp, &st);
    CHECK_INT(st.ignored_own, 1);
    CHECK_INT(mirage_arp_lookup(a.arp, IP_A, mac), MIRAGE_ENOENT);
    CHECK(strstr(fake_console_text(), "claiming our address 10.0.0.1") != NULL);
    /* A request for us is answered, and its sender learnt. */
    raw_arp(peer, 1, good, 0x0a000007, IP_A, mirage_eth_broadcast);
    mirage_sleep_ns(MIRAGE_MS(10));
    mirage_arp_stats(a.arp, &st);
    CHECK_INT(st.replies_sent, 1);
    CHECK_INT(mirage_arp_lookup(a.arp, 0x0a000007, mac), 0);
    CHECK(memcmp(mac, good, 6) == 0);
    /* A gratuitous announcement of a new MAC for a known peer updates it. */
    raw_arp(peer, 1, evil, 0x0a000007, 0x0a000007, mirage_eth_broadcast);
    mirage_sleep_ns(MIRAGE_MS(10));
    CHECK_INT(mirage_arp_lookup(a.arp, 0x0a000007, mac), 0);
    CHECK(memcmp(mac, evil, 6) == 0);
    /* A new address is announced at once. */
    mirage_ipv4_get_config(a.ip, &ic);
    ic.addr = 0x0a000009;
    arp_count = 0;
    CHECK_INT(mirage_ipv4_set_config(a.ip, &ic), 0);
    CHECK_INT(arp_count, 1);
    mirage_sleep_ns(MIRAGE_SEC(2));
    CHECK_INT(arp_count, 2);
    node_down(&a);
    simlink_free(l);
}

/* UDP over a lossy, reordering, duplicating link: what arrives is intact. */
static void test_udp_lossy(void)
{
    struct simlink_config cfg = {.seed = 15,
                                 .drop_ppm = 50000,
                                 .reorder_ppm = 50000,
                                 .dup_ppm = 50000,
                                 .corrupt_ppm = 50000,
                                 .delay_ns = MIRAGE_MS(1),
                                 .jitter_ns = MIRAGE_US(300)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    static struct got g;
    struct mirage_udp_stats us;
    struct mirage_ipv4_stats is;
    int intact = 0;

    memset(&g, 0, sizeof(g));
    node_up(&a, simlink_netif(l, 0), IP_A);
    node_up(&b, simlink_netif(l, 1), IP_B);
    mirage_arp_add_static(a.arp, IP_B, simlink_netif(l, 1)->info.mac);
    mirage_arp_add_static(b.arp, IP_A, simlink_netif(l, 0)->info.mac);
    CHECK_INT(mirage_udp_bind(b.udp, 7, udp_rx, &g), 0);
    for (uint32_t i = 0; i < 300; i++) {
        static uint8_t d[4000];
        int before = g.count;
        size_t n = 100 + (i * 37) % 3900;
        fill_pattern(d, n, i);
        mirage_udp_send(a.udp, 1000, TO(IP_B), 7, -1, d, n);
        mirage_sleep_ns(MIRAGE_MS(5));
        if (g.count > before && g.len == n && memcmp(g.data, d, n) == 0)
            intact++;
    }
    mirage_udp_stats(b.udp, &us);
    mirage_ipv4_stats(b.ip, &is);
    /* Every datagram delivered was exact (corruption caught by checksums). */
    CHECK(intact > 150);
    CHECK(us.rx_datagrams >= (uint64_t)intact);
    CHECK(us.rx_bad + is.rx_bad + is.reasm_dropped > 0);
    node_down(&a);
    node_down(&b);
    simlink_free(l);
}

int main(void)
{
    test_checksum();
    test_udp_arp_and_fragments();
    test_icmp();
    test_arp_give_up_and_cache();
    test_arp_refresh();
    test_arp_gratuitous();
    test_udp_lossy();
    return CHECK_DONE();
}
