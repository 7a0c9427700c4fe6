/* test_net_ipv6_nd.c: IPv6 fragments both ways, reassembly rules, path MTU, router advertisements
 * and SLAAC, redirects, MLDv2 reports, over the test link. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/checksum.h"
#include "mirage/icmpv6.h"
#include "mirage/time.h"
#include "../net/link.h"
#include "ipv6_node.h"

const char *mirage_cmdline(void)
{
    return "test_net_ipv6_nd";
}

static const uint8_t FAR[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
static const uint8_t ROUTER[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99};
static const uint8_t ALL_NODES[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

/* What the link carried: the largest IPv6 packet each side sent, MLDv2 reports. */
static size_t biggest[2];
static int reports, report_records;

static int watch(void *ctx, int from, const uint8_t *f, size_t len)
{
    (void)ctx;
    if (len < 14 + 40 || f[12] != 0x86 || f[13] != 0xdd)
        return 0;
    if (len - 14 > biggest[from])
        biggest[from] = len - 14;
    /* hop-by-hop, then ICMPv6 type 143 to ff02::16 with hop limit 1 */
    if (f[14 + 6] == 0 && f[14 + 7] == 1 && f[14 + 39] == 0x16 && len >= 14 + 56 &&
        f[14 + 48] == 143) {
        reports++;
        report_records = f[14 + 54] << 8 | f[14 + 55];
    }
    return 0;
}

static int replies, errors;
static size_t reply_len;
static uint8_t err_type, err_code;

static void on_reply(void *ctx, const struct mirage_icmpv6_echo *e)
{
    (void)ctx;
    replies++;
    reply_len = e->len;
}

static void on_error(void *ctx, const struct mirage_icmpv6_error *e)
{
    (void)ctx;
    errors++;
    err_type = e->type;
    err_code = e->code;
}

static int pmtu_calls;
static size_t pmtu_last;

static void on_pmtu(void *ctx, const uint8_t dst[16], size_t mtu)
{
    (void)ctx;
    (void)dst;
    pmtu_calls++;
    pmtu_last = mtu;
}

/* An IPv6 packet (src -> dst, hop limit hl, next header nh) of (n) bytes of payload into p. */
static size_t packet(uint8_t *p, const uint8_t *src, const uint8_t *dst, uint8_t hl, uint8_t nh,
                     const uint8_t *payload, size_t n)
{
    memset(p, 0, 40);
    p[0] = 0x60;
    p[4] = (uint8_t)(n >> 8);
    p[5] = (uint8_t)n;
    p[6] = nh;
    p[7] = hl;
    memcpy(p + 8, src, 16);
    memcpy(p + 24, dst, 16);
    if (n)
        memcpy(p + 40, payload, n);
    return 40 + n;
}

/* The ICMPv6 checksum of the message at p + off of (len) bytes. */
static void icmp_sum(uint8_t *p, size_t off, size_t len)
{
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    uint16_t k;

    p[off + 2] = p[off + 3] = 0;
    mirage_csum_add_pseudo6(&c, p + 8, p + 24, 58, (uint32_t)len);
    mirage_csum_add(&c, p + off, len);
    k = mirage_csum_finish(&c);
    p[off + 2] = (uint8_t)(k >> 8);
    p[off + 3] = (uint8_t)k;
}

static void test_fragments_both_ways(void)
{
    struct simlink_config cfg = {.seed = 11, .delay_ns = MIRAGE_MS(1)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    struct mirage_ipv6_stats sa, sb;
    static uint8_t big[60000];

    node_up(&a, simlink_netif(l, 0), G_A, 1);
    node_up(&b, simlink_netif(l, 1), G_B, 1);
    simlink_set_filter(l, watch, NULL);
    mirage_icmpv6_on_echo_reply(a.icmp, on_reply, NULL);
    mirage_sleep_ns(MIRAGE_MS(2500));
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    /* A neighbour being resolved holds 16 packets: resolve B first. */
    CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 1, 0, 0, "x", 1), 0);
    mirage_sleep_ns(MIRAGE_MS(50));
    replies = 0;
    biggest[0] = biggest[1] = 0;
    /* 60000 bytes: 42 fragments each way, none over the 1500-byte link. */
    CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 1, 1, 0, big, sizeof(big)), 0);
    mirage_sleep_ns(MIRAGE_MS(50));
    CHECK_INT(replies, 1);
    CHECK_INT(reply_len, sizeof(big));
    CHECK(biggest[0] <= 1500 && biggest[1] <= 1500);
    mirage_ipv6_stats(a.ip, &sa);
    mirage_ipv6_stats(b.ip, &sb);
    CHECK_INT(sa.tx_fragments, 42);
    CHECK_INT(sb.tx_fragments, 42);
    CHECK_INT(sa.reassembled, 1);
    CHECK_INT(sb.reassembled, 1);
    /* Over 65535 bytes of payload cannot be sent at all. */
    {
        static uint8_t huge[65536];
        CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 1, 2, 0, huge, sizeof(huge) - 8),
                  MIRAGE_EMSGSIZE);
    }

    /* Path MTU: a packet too big lowers it, never under 1280, never up. */
    CHECK_INT(mirage_ipv6_on_pmtu(a.ip, on_pmtu, NULL), 0);
    CHECK_INT(mirage_ipv6_mtu(a.ip, G_B), 1460);
    CHECK_INT(mirage_ipv6_too_big(a.ip, G_B, 1400), 1);
    CHECK_INT(mirage_ipv6_mtu(a.ip, G_B), 1360);
    CHECK_INT(pmtu_calls, 1);
    CHECK_INT(pmtu_last, 1360);
    CHECK_INT(mirage_ipv6_too_big(a.ip, G_B, 1450), 0);
    CHECK_INT(mirage_ipv6_too_big(a.ip, G_B, 600), 1);
    CHECK_INT(mirage_ipv6_mtu(a.ip, G_B), 1240);
    CHECK_INT(mirage_ipv6_mtu(a.ip, FAR), 1460);
    biggest[0] = 0;
    replies = 0;
    CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 1, 3, 0, big, 3000), 0);
    mirage_sleep_ns(MIRAGE_MS(50));
    CHECK_INT(replies, 1);
    CHECK(biggest[0] <= 1280 && biggest[0] > 1200);
    /* ... for ten minutes. */
    mirage_sleep_ns(MIRAGE_SEC(601));
    CHECK_INT(mirage_ipv6_mtu(a.ip, G_B), 1460);

    /* A packet too big from the path (here: B) quoting our packet to FAR. */
    {
        uint8_t m[8 + 48], p[40 + sizeof(m)], q[40];
        memset(m, 0, sizeof(m));
        m[0] = MIRAGE_ICMPV6_TOO_BIG;
        m[4] = 0, m[5] = 0, m[6] = 0x05, m[7] = 0x14; /* 1300 */
        packet(q, G_A, FAR, 64, 17, NULL, 0);
        memcpy(m + 8, q, 40);
        size_t n = packet(p, G_B, G_A, 64, 58, m, sizeof(m));
        icmp_sum(p, 40, sizeof(m));
        mirage_ipv6_input(a.ip, p, n);
        CHECK_INT(mirage_ipv6_mtu(a.ip, FAR), 1260);
        CHECK_INT(pmtu_last, 1260);
        /* ... one quoting a packet that is not ours changes nothing. */
        memcpy(q + 8, G_B, 16);
        memcpy(m + 8, q, 40);
        memcpy(p + 40, m, sizeof(m));
        icmp_sum(p, 40, sizeof(m));
        mirage_ipv6_input(a.ip, p, n);
        CHECK_INT(pmtu_calls, 3);
    }
    simlink_set_filter(l, NULL, NULL);
    node_down(&b);
    node_down(&a);
    simlink_free(l);
}

/* Fragment (off, len, more) of an echo request of (total) bytes from A to
 * B, datagram (id); the body is pattern bytes with a checksum made over all. */
static void echo_fragment(struct mirage_ipv6 *ip, uint32_t id, const uint8_t *msg, size_t off,
                          size_t len, int more)
{
    uint8_t p[40 + 8 + 1500], fh[8 + 1500];

    fh[0] = 58;
    fh[1] = 0;
    fh[2] = (uint8_t)(off >> 8);
    fh[3] = (uint8_t)((off & 0xf8) | (more ? 1 : 0));
    fh[4] = (uint8_t)(id >> 24), fh[5] = (uint8_t)(id >> 16), fh[6] = (uint8_t)(id >> 8);
    fh[7] = (uint8_t)id;
    memcpy(fh + 8, msg + off, len);
    mirage_ipv6_input(ip, p, packet(p, G_A, G_B, 64, 44, fh, 8 + len));
}

static void test_reassembly_rules(void)
{
    struct simlink_config cfg = {.seed = 12, .delay_ns = MIRAGE_MS(1)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    struct mirage_ipv6_stats st;
    uint8_t msg[3000];
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    uint16_t k;

    node_up(&a, simlink_netif(l, 0), G_A, 1);
    node_up(&b, simlink_netif(l, 1), G_B, 1);
    mirage_icmpv6_on_echo_reply(a.icmp, on_reply, NULL);
    CHECK_INT(mirage_icmpv6_on_error(a.icmp, 58, on_error, NULL), 0);
    mirage_sleep_ns(MIRAGE_MS(2500));
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)i;
    msg[0] = 128, msg[1] = 0, msg[2] = msg[3] = 0;
    mirage_csum_add_pseudo6(&c, G_A, G_B, 58, sizeof(msg));
    mirage_csum_add(&c, msg, sizeof(msg));
    k = mirage_csum_finish(&c);
    msg[2] = (uint8_t)(k >> 8), msg[3] = (uint8_t)k;

    /* Out of order: answered once whole. */
    replies = 0;
    echo_fragment(b.ip, 1, msg, 2000, 1000, 0);
    echo_fragment(b.ip, 1, msg, 0, 1000, 1);
    echo_fragment(b.ip, 1, msg, 1000, 1000, 1);
    mirage_sleep_ns(MIRAGE_MS(50));
    CHECK_INT(replies, 1);
    CHECK_INT(reply_len, sizeof(msg) - 8);
    /* Overlapping pieces drop the whole datagram (RFC 5722). */
    replies = 0;
    echo_fragment(b.ip, 2, msg, 0, 1000, 1);
    echo_fragment(b.ip, 2, msg, 992, 1008, 1);
    echo_fragment(b.ip, 2, msg, 2000, 1000, 0);
    mirage_sleep_ns(MIRAGE_MS(50));
    CHECK_INT(replies, 0);
    mirage_ipv6_stats(b.ip, &st);
    CHECK(st.reasm_dropped >= 1);
    /* A middle fragment not a multiple of 8: parameter problem at the payload length. */
    errors = 0;
    echo_fragment(b.ip, 3, msg, 0, 1001, 1);
    mirage_sleep_ns(MIRAGE_MS(50));
    CHECK_INT(errors, 1);
    CHECK_INT(err_type, 4);
    /* Only the first fragment came: after 60 s, time exceeded code 1. */
    errors = 0;
    echo_fragment(b.ip, 4, msg, 0, 1000, 1);
    mirage_sleep_ns(MIRAGE_SEC(59));
    CHECK_INT(errors, 0);
    mirage_sleep_ns(MIRAGE_SEC(2));
    CHECK_INT(errors, 1);
    CHECK_INT(err_type, 3);
    CHECK_INT(err_code, 1);
    mirage_ipv6_stats(b.ip, &st);
    CHECK_INT(st.reasm_timeouts, 1);
    /* Without the first fragment, it times out silently. */
    echo_fragment(b.ip, 5, msg, 1000, 1000, 1);
    mirage_sleep_ns(MIRAGE_SEC(61));
    CHECK_INT(errors, 1);
    node_down(&b);
    node_down(&a);
    simlink_free(l);
}

/* A router advertisement from fe80::99 to all nodes: lifetime (life) s, MTU
 * 1400, prefix fd00:1::/64 (A and L) valid (valid) s, preferred (pref) s. */
static void advertise(struct mirage_ipv6 *ip, uint16_t life, uint32_t valid, uint32_t pref)
{
    uint8_t m[16 + 8 + 32 + 8], p[40 + sizeof(m)];
    uint8_t *o = m + 16;

    memset(m, 0, sizeof(m));
    m[0] = 134;
    m[4] = 64;
    m[6] = (uint8_t)(life >> 8), m[7] = (uint8_t)life;
    o[0] = 1, o[1] = 1, o[2] = 2, o[7] = 0x99; /* SLLA 02:00:00:00:00:99 */
    o += 8;
    o[0] = 3, o[1] = 4, o[2] = 64, o[3] = 0xc0;
    o[4] = (uint8_t)(valid >> 24), o[5] = (uint8_t)(valid >> 16), o[6] = (uint8_t)(valid >> 8),
    o[7] = (uint8_t)valid;
    o[8] = (uint8_t)(pref >> 24), o[9] = (uint8_t)(pref >> 16), o[10] = (uint8_t)(pref >> 8),
    o[11] = (uint8_t)pref;
    o[16] = 0xfd, o[19] = 1;
    o += 32;
    o[0] = 5, o[1] = 1, o[6] = 0x05, o[7] = 0x78; /* MTU 1400 */
    packet(p, ROUTER, ALL_NODES, 255, 58, m, sizeof(m));
    icmp_sum(p, 40, sizeof(m));
    mirage_ipv6_input(ip, p, sizeof(p));
}

static void test_router_advertisements(void)
{
    struct simlink_config cfg = {.seed = 13, .delay_ns = MIRAGE_MS(1)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    struct mirage_ipv6_stats st;
    enum mirage_ipv6_addr_state state[8];
    uint8_t addrs[8][16], routers[4][16];
    static const uint8_t slaac_b[16] = {0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 2};

    reports = 0;
    simlink_set_filter(l, watch, NULL);
    node_up(&a, simlink_netif(l, 0), G_A, 1);
    node_up(&b, simlink_netif(l, 1), G_B, 0);
    mirage_sleep_ns(MIRAGE_MS(2500));
    /* MLDv2: each joined its solicited-node group; fe80::ff:fe00:2 and fd00::2
     * share ff02::1:ff00:2, named once. */
    CHECK(reports >= 2);
    CHECK_INT(report_records, 1);
    /* B solicited routers; A (no_router_adv) did not. The solicitation
     * waits for the link-local address (0.1..1 s, then 1 s of DAD) and a
     * random 0..1 s more (RFC 4861 6.3.7): up to 3 s, so wait for it. */
    mirage_ipv6_stats(b.ip, &st);
    for (int i = 0; i < 20 && st.rs_sent == 0; i++) {
        mirage_sleep_ns(MIRAGE_MS(100));
        mirage_ipv6_stats(b.ip, &st);
    }
    CHECK(st.rs_sent >= 1);
    mirage_ipv6_stats(a.ip, &st);
    CHECK_INT(st.rs_sent, 0);

    advertise(a.ip, 1800, 30, 20);
    advertise(b.ip, 1800, 30, 20);
    CHECK_INT(mirage_ipv6_addresses(a.ip, NULL, NULL, NULL, 8), 2);
    CHECK_INT(mirage_ipv6_routers(a.ip, NULL, 4), 0);
    CHECK_INT(mirage_ipv6_addresses(b.ip, addrs, NULL, state, 8), 3);
    CHECK(memcmp(addrs[2], slaac_b, 16) == 0);
    CHECK_INT(state[2], MIRAGE_IPV6_TENTATIVE);
    CHECK_INT(mirage_ipv6_routers(b.ip, routers, 4), 1);
    CHECK(memcmp(routers[0], ROUTER, 16) == 0);
    CHECK_INT(mirage_ipv6_mtu(b.ip, FAR), 1360);
    mirage_sleep_ns(MIRAGE_MS(1500));
    CHECK_INT(mirage_ipv6_addresses(b.ip, NULL, NULL, state, 8), 3);
    CHECK_INT(state[2], MIRAGE_IPV6_PREFERRED);
    CHECK(mirage_ipv6_is_local(b.ip, slaac_b));
    /* Off-link traffic goes to the router: B solicits it. */
    CHECK_INT(mirage_icmpv6_ping(b.icmp, FAR, 1, 1, 0, "x", 1), 0);
    CHECK_INT(mirage_ipv6_neighbour(b.ip, ROUTER, NULL), MIRAGE_ND_DELAY);

    /* A redirect from the router for FAR to fe80::77 is taken; one from a
     * stranger is not. */
    {
        uint8_t m[40], p[80];
        static const uint8_t target[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x77};
        static const uint8_t stranger[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0,
                                             0,    0,    0, 0, 0, 0, 0, 0x55};
        memset(m, 0, sizeof(m));
        m[0] = 137;
        memcpy(m + 8, target, 16);
        memcpy(m + 24, FAR, 16);
        packet(p, stranger, G_B, 255, 58, m, sizeof(m));
        icmp_sum(p, 40, sizeof(m));
        mirage_ipv6_input(b.ip, p, sizeof(p));
        mirage_ipv6_stats(b.ip, &st);
        CHECK_INT(st.redirects_bad, 1);
        CHECK_INT(st.redirects, 0);
        packet(p, ROUTER, G_B, 255, 58, m, sizeof(m));
        icmp_sum(p, 40, sizeof(m));
        mirage_ipv6_input(b.ip, p, sizeof(p));
        mirage_ipv6_stats(b.ip, &st);
        CHECK_INT(st.redirects, 1);
        CHECK_INT(mirage_icmpv6_ping(b.icmp, FAR, 1, 2, 0, "x", 1), 0);
        CHECK_INT(mirage_ipv6_neighbour(b.ip, target, NULL), MIRAGE_ND_INCOMPLETE);
    }

    /* An MLD general query: B answers within its 1 s response delay. */
    {
        uint8_t m[28], p[40 + 8 + 28];
        int before = reports;
        memset(m, 0, sizeof(m));
        m[0] = 130;
        m[4] = 0x03, m[5] = 0xe8; /* 1000 ms */
        packet(p, ROUTER, ALL_NODES, 1, 58, m, sizeof(m));
        icmp_sum(p, 40, sizeof(m));
        mirage_ipv6_input(b.ip, p, 40 + sizeof(m));
        mirage_sleep_ns(MIRAGE_MS(1100));
        CHECK_INT(reports, before + 1);
        mirage_ipv6_stats(b.ip, &st);
        CHECK_INT(st.mld_queries, 1);
    }

    /* Lifetimes: deprecated after 20 s (still ours), gone after 30 s. */
    mirage_sleep_ns(MIRAGE_SEC(19));
    CHECK_INT(mirage_ipv6_addresses(b.ip, NULL, NULL, NULL, 8), 3);
    CHECK(mirage_ipv6_is_local(b.ip, slaac_b));
    mirage_sleep_ns(MIRAGE_SEC(10));
    CHECK_INT(mirage_ipv6_addresses(b.ip, NULL, NULL, NULL, 8), 2);
    /* A zero router lifetime withdraws the router. */
    advertise(b.ip, 0, 30, 20);
    CHECK_INT(mirage_ipv6_routers(b.ip, NULL, 4), 0);
    CHECK_INT(mirage_icmpv6_ping(b.icmp, G_A, 1, 3, 0, "x", 1), 0); /* on-link still */
    /* A malformed advertisement (an option of length 0) changes nothing. */
    {
        uint8_t m[24], p[64];
        memset(m, 0, sizeof(m));
        m[0] = 134;
        m[6] = 0x07;
        m[16] = 3; /* prefix option of length 0 */
        packet(p, ROUTER, ALL_NODES, 255, 58, m, sizeof(m));
        icmp_sum(p, 40, sizeof(m));
        mirage_ipv6_input(b.ip, p, sizeof(p));
        mirage_ipv6_stats(b.ip, &st);
        CHECK_INT(st.ra_bad, 1);
        CHECK_INT(mirage_ipv6_routers(b.ip, NULL, 4), 0);
    }
    simlink_set_filter(l, NULL, NULL);
    node_down(&b);
    node_down(&a);
    simlink_free(l);
}

int main(void)
{
    test_fragments_both_ways();
    test_reassembly_rules();
    test_router_advertisements();
    return CHECK_DONE();
}
