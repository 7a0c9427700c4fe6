/* test_net_ipv6.c: two IPv6 stacks over the test link: DAD, neighbour states, echo, the header
 * chain. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/checksum.h"
#include "mirage/icmpv6.h"
#include "mirage/time.h"
#include "../net/link.h"
#include "ipv6_node.h"

const char *mirage_cmdline(void)
{
    return "test_net_ipv6";
}

/* The link-local addresses of the link's MACs 02:00:00:00:00:01 and :02. */
static const uint8_t LL_A[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 1};
static const uint8_t LL_B[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 2};

struct seen {
    int replies, errors;
    uint16_t seq;
    size_t len;
    uint8_t type, code;
    uint32_t param;
};

static void on_reply(void *ctx, const struct mirage_icmpv6_echo *e)
{
    struct seen *s = ctx;

    s->replies++;
    s->seq = e->seq;
    s->len = e->len;
}

static void on_error(void *ctx, const struct mirage_icmpv6_error *e)
{
    struct seen *s = ctx;

    s->errors++;
    s->type = e->type;
    s->code = e->code;
    s->param = e->param;
}

static void test_format(void)
{
    char s[46];
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1};
    uint8_t z[16] = {0};
    uint8_t sn[16];

    CHECK_STR(mirage_ipv6_format(G_B, s), "fd00::2");
    CHECK_STR(mirage_ipv6_format(LL_A, s), "fe80::ff:fe00:1");
    /* RFC 5952 4.2.3: the longest run; the first of equal runs. */
    CHECK_STR(mirage_ipv6_format(a, s), "2001:db8::1:0:0:1");
    CHECK_STR(mirage_ipv6_format(b, s), "2001:db8:0:1::1:1");
    CHECK_STR(mirage_ipv6_format(z, s), "::");
    z[15] = 1;
    CHECK_STR(mirage_ipv6_format(z, s), "::1");
    mirage_ipv6_solicited_node(G_B, sn);
    CHECK_STR(mirage_ipv6_format(sn, s), "ff02::1:ff00:2");
}

static void test_dad_ping_and_states(void)
{
    struct simlink_config cfg = {.seed = 6, .delay_ns = MIRAGE_MS(1)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    struct seen sa = {0};
    struct mirage_ipv6_stats st;
    enum mirage_ipv6_addr_state state[4];
    uint8_t mac[6];

    node_up(&a, simlink_netif(l, 0), G_A, 0);
    node_up(&b, simlink_netif(l, 1), G_B, 0);
    mirage_icmpv6_on_echo_reply(a.icmp, on_reply, &sa);
    /* Tentative: nothing goes out from an address DAD has not cleared. */
    CHECK_INT(mirage_ipv6_addresses(a.ip, NULL, NULL, state, 4), 2);
    CHECK_INT(state[0], MIRAGE_IPV6_TENTATIVE);
    CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 1, 1, 0, "x", 1), MIRAGE_EHOSTUNREACH);
    mirage_sleep_ns(MIRAGE_MS(2500));
    CHECK_INT(mirage_ipv6_addresses(a.ip, NULL, NULL, state, 4), 2);
    CHECK_INT(state[0], MIRAGE_IPV6_PREFERRED);
    CHECK_INT(state[1], MIRAGE_IPV6_PREFERRED);
    CHECK(mirage_ipv6_is_local(b.ip, G_B) && mirage_ipv6_is_local(b.ip, LL_B));

    /* Echo over the global and the link-local address: resolved by ND. */
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_NONE);
    CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 7, 1, 0, "hello", 5), 0);
    CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 7, 2, 0, "hello", 5), 0);
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_INCOMPLETE);
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sa.replies, 2);
    CHECK_INT(sa.seq, 2);
    CHECK_INT(sa.len, 5);
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, mac), MIRAGE_ND_REACHABLE);
    CHECK_INT(mac[5], 2);
    /* B learnt A from the solicitation's source link-layer option. */
    CHECK(mirage_ipv6_neighbour(b.ip, G_A, NULL) != MIRAGE_ND_NONE);
    CHECK_INT(mirage_icmpv6_ping(a.icmp, LL_B, 7, 3, 0, "ll", 2), 0);
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sa.replies, 3);

    /* Past the reachable time (at most 45 s) the entry is stale; a send makes
     * it DELAY, and without confirmation 5 s later it is probed by unicast
     * and found reachable again. */
    mirage_sleep_ns(MIRAGE_SEC(46));
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_STALE);
    CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 7, 4, 0, "s", 1), 0);
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_DELAY);
    mirage_sleep_ns(MIRAGE_MS(4900));
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_DELAY);
    mirage_ipv6_stats(a.ip, &st);
    uint64_t ns_before = st.ns_sent;
    mirage_sleep_ns(MIRAGE_MS(200));
    mirage_ipv6_stats(a.ip, &st);
    CHECK_INT(st.ns_sent, ns_before + 1);
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_REACHABLE);

    /* An upper layer's confirmation skips the probe. */
    mirage_sleep_ns(MIRAGE_SEC(46));
    CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 7, 5, 0, "s", 1), 0);
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_DELAY);
    mirage_ipv6_confirm(a.ip, G_B);
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_REACHABLE);
    mirage_sleep_ns(MIRAGE_SEC(6));
    mirage_ipv6_stats(a.ip, &st);
    CHECK_INT(st.ns_sent, ns_before + 1);

    /* B goes away: the stale entry is probed three times, then removed; a
     * new send resolves it again by multicast, and gives up after three. */
    node_down(&b);
    mirage_sleep_ns(MIRAGE_SEC(46));
    CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 7, 6, 0, "s", 1), 0);
    mirage_sleep_ns(MIRAGE_SEC(5) + MIRAGE_MS(3500));
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_NONE);
    mirage_ipv6_stats(a.ip, &st);
    CHECK_INT(st.nd_failed, 1);
    for (int i = 0; i < 20; i++)
        CHECK_INT(mirage_icmpv6_ping(a.icmp, G_B, 7, (uint16_t)(10 + i), 0, "q", 1), 0);
    /* The queue holds the newest 16. */
    mirage_ipv6_stats(a.ip, &st);
    CHECK_INT(st.nd_queue_dropped, 4);
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_INCOMPLETE);
    mirage_sleep_ns(MIRAGE_MS(3500));
    CHECK_INT(mirage_ipv6_neighbour(a.ip, G_B, NULL), MIRAGE_ND_NONE);
    mirage_ipv6_stats(a.ip, &st);
    CHECK_INT(st.nd_failed, 2);
    CHECK_INT(st.nd_queue_dropped, 20);
    node_down(&a);
    simlink_free(l);
}

static void test_dad_duplicate(void)
{
    struct simlink_config cfg = {.seed = 7, .delay_ns = MIRAGE_MS(1)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    enum mirage_ipv6_addr_state state[4];
    struct mirage_ipv6_stats st;

    node_up(&a, simlink_netif(l, 0), G_A, 0);
    mirage_sleep_ns(MIRAGE_MS(2500));
    /* B wants A's address: A defends it, B never uses it. */
    node_up(&b, simlink_netif(l, 1), G_A, 0);
    mirage_sleep_ns(MIRAGE_MS(2500));
    CHECK_INT(mirage_ipv6_addresses(b.ip, NULL, NULL, state, 4), 2);
    CHECK_INT(state[0], MIRAGE_IPV6_PREFERRED);
    CHECK_INT(state[1], MIRAGE_IPV6_DUPLICATE);
    CHECK(!mirage_ipv6_is_local(b.ip, G_A));
    CHECK(mirage_ipv6_is_local(a.ip, G_A));
    mirage_ipv6_stats(b.ip, &st);
    CHECK_INT(st.dad_duplicates, 1);
    node_down(&b);
    node_down(&a);
    simlink_free(l);

    /* Both at once: each sees the other's probe and neither uses it. */
    l = simlink_new(&cfg);
    node_up(&a, simlink_netif(l, 0), G_B, 0);
    node_up(&b, simlink_netif(l, 1), G_B, 0);
    mirage_sleep_ns(MIRAGE_MS(2500));
    mirage_ipv6_addresses(a.ip, NULL, NULL, state, 4);
    mirage_ipv6_stats(b.ip, &st);
    /* The later prober sees the earlier's NS only if it was still
     * tentative; at least one of them must have found the duplicate. */
    CHECK(state[1] == MIRAGE_IPV6_DUPLICATE || st.dad_duplicates == 1);
    node_down(&b);
    node_down(&a);
    simlink_free(l);
}

/* A packet from fd00::1 to fd00::2 with (next) and the bytes (ext, n) after the header. */
static size_t craft(uint8_t *p, uint8_t next, const uint8_t *ext, size_t n)
{
    memset(p, 0, 40);
    p[0] = 0x60;
    p[4] = (uint8_t)(n >> 8);
    p[5] = (uint8_t)n;
    p[6] = next;
    p[7] = 64;
    memcpy(p + 8, G_A, 16);
    memcpy(p + 24, G_B, 16);
    memcpy(p + 40, ext, n);
    return 40 + n;
}

/* An echo request body with its checksum, after (off) bytes of extension headers in p. */
static void echo_body(uint8_t *p, size_t off, size_t len)
{
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    uint16_t k;

    p[off] = 128;
    p[off + 1] = 0;
    p[off + 2] = p[off + 3] = 0;
    mirage_csum_add_pseudo6(&c, G_A, G_B, 58, (uint32_t)len);
    mirage_csum_add(&c, p + off, len);
    k = mirage_csum_finish(&c);
    p[off + 2] = (uint8_t)(k >> 8);
    p[off + 3] = (uint8_t)k;
}

static void test_header_chain(void)
{
    struct simlink_config cfg = {.seed = 8, .delay_ns = MIRAGE_MS(1)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    struct seen sa = {0}, sp = {0};
    struct mirage_ipv6_stats st, st0;
    struct mirage_icmpv6_stats is;
    uint8_t p[200], ext[64];
    size_t n;

    node_up(&a, simlink_netif(l, 0), G_A, 0);
    node_up(&b, simlink_netif(l, 1), G_B, 0);
    mirage_icmpv6_on_echo_reply(a.icmp, on_reply, &sa);
    CHECK_INT(mirage_icmpv6_on_error(a.icmp, 253, on_error, &sp), 0);
    mirage_sleep_ns(MIRAGE_MS(2500));

    /* An unknown next header: parameter problem code 1 at byte 6. */
    n = craft(p, 253, (const uint8_t *)"12345678", 8);
    mirage_ipv6_input(b.ip, p, n);
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sp.errors, 1);
    CHECK_INT(sp.type, 4);
    CHECK_INT(sp.code, 1);
    CHECK_INT(sp.param, 6);

    /* Destination options naming 253: the pointer is at the option header. */
    memset(ext, 0, sizeof(ext));
    ext[0] = 253; /* next */
    ext[1] = 0;   /* 8 bytes */
    ext[2] = 1;   /* PadN of 4 */
    ext[3] = 4;
    n = craft(p, 60, ext, 16);
    mirage_ipv6_input(b.ip, p, n);
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sp.errors, 2);
    CHECK_INT(sp.param, 40);

    /* An unknown option 10xxxxxx: parameter problem code 2 at the option. */
    ext[2] = 0x80 | 0x1e;
    ext[3] = 4;
    n = craft(p, 60, ext, 16);
    mirage_ipv6_input(b.ip, p, n);
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sp.errors, 3);
    CHECK_INT(sp.code, 2);
    CHECK_INT(sp.param, 42);
    /* 00xxxxxx is skipped (on to the next header: 253 again), 01xxxxxx drops silently. */
    ext[2] = 0x1e;
    mirage_ipv6_input(b.ip, p, craft(p, 60, ext, 16));
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sp.errors, 4);
    CHECK_INT(sp.code, 1);
    ext[2] = 0x40 | 0x1e;
    mirage_ipv6_stats(b.ip, &st0);
    mirage_ipv6_input(b.ip, p, craft(p, 60, ext, 16));
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sp.errors, 4);
    mirage_ipv6_stats(b.ip, &st);
    CHECK_INT(st.rx_option_drops, st0.rx_option_drops + 1);

    /* Hop-by-hop anywhere but first: parameter problem code 1. */
    memset(ext, 0, sizeof(ext));
    ext[0] = 0; /* dst opts -> hop-by-hop */
    ext[2] = 1;
    ext[3] = 4;
    ext[8] = 253;
    ext[10] = 1;
    ext[11] = 4;
    mirage_ipv6_input(b.ip, p, craft(p, 60, ext, 16));
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sp.errors, 5);
    CHECK_INT(sp.code, 1);
    CHECK_INT(sp.param, 40);

    /* A routing header with segments left: code 0 at its type field. */
    memset(ext, 0, sizeof(ext));
    ext[0] = 253;
    ext[1] = 0;
    ext[2] = 0; /* type 0, deprecated */
    ext[3] = 1; /* segments left */
    mirage_ipv6_input(b.ip, p, craft(p, 43, ext, 8));
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sp.errors, 6);
    CHECK_INT(sp.code, 0);
    CHECK_INT(sp.param, 42);
    /* ... with none left it is passed over. */
    ext[3] = 0;
    mirage_ipv6_input(b.ip, p, craft(p, 43, ext, 8));
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sp.errors, 7);
    CHECK_INT(sp.param, 40);

    /* An atomic fragment is the whole datagram (RFC 6946): its echo answered. */
    memset(ext, 0, sizeof(ext));
    ext[0] = 58;
    ext[4] = 0xab; /* id */
    n = craft(p, 44, ext, 8 + 12);
    echo_body(p, 48, 12);
    mirage_ipv6_input(b.ip, p, n);
    mirage_sleep_ns(MIRAGE_MS(20));
    CHECK_INT(sa.replies, 1);
    /* A real fragment waits for reassembly (test_net_ipv6_nd.c), counted. */
    p[40 + 3] = 1; /* M */
    mirage_ipv6_stats(b.ip, &st0);
    mirage_ipv6_input(b.ip, p, n);
    mirage_ipv6_stats(b.ip, &st);
    CHECK_INT(st.rx_fragments, st0.rx_fragments + 1);

    /* A chain of 17 destination-options headers is refused without an answer. */
    {
        static uint8_t big[40 + 18 * 8];
        uint8_t chain[18 * 8];
        memset(chain, 0, sizeof(chain));
        for (int i = 0; i < 18; i++) {
            chain[i * 8] = i < 17 ? 60 : 59;
            chain[i * 8 + 2] = 1;
            chain[i * 8 + 3] = 4;
        }
        mirage_ipv6_stats(b.ip, &st0);
        mirage_ipv6_input(b.ip, big, craft(big, 60, chain, sizeof(chain)));
        mirage_ipv6_stats(b.ip, &st);
        CHECK_INT(st.rx_bad, st0.rx_bad + 1);
    }

    /* Lengths that lie, a wrong version, a multicast source: dropped. */
    mirage_ipv6_stats(b.ip, &st0);
    n = craft(p, 58, ext, 8);
    p[5] = 200;
    mirage_ipv6_input(b.ip, p, n);
    p[5] = 8;
    p[0] = 0x40;
    mirage_ipv6_input(b.ip, p, n);
    p[0] = 0x60;
    p[8] = 0xff;
    mirage_ipv6_input(b.ip, p, n);
    mirage_ipv6_input(b.ip, p, 39);
    mirage_ipv6_stats(b.ip, &st);
    CHECK_INT(st.rx_bad, st0.rx_bad + 4);

    /* Errors are rate-limited: a burst of 50, then refused. */
    mirage_icmpv6_stats(b.icmp, &is);
    CHECK_INT(is.errors_limited, 0);
    n = craft(p, 253, (const uint8_t *)"12345678", 8);
    for (int i = 0; i < 100; i++)
        mirage_ipv6_input(b.ip, p, n);
    mirage_icmpv6_stats(b.icmp, &is);
    CHECK(is.errors_limited >= 45);
    mirage_sleep_ns(MIRAGE_MS(50));

    node_down(&b);
    node_down(&a);
    simlink_free(l);
}

/*
 * RFC 4443 2.4 (e.1): no ICMPv6 error about an ICMPv6 error, even when the
 * problem lies in an extension header before it (the option, the upper
 * layer not yet read) or the error came in fragments that never completed;
 * the same packets carrying an echo request are answered with the error.
 */
static void test_no_error_about_error(void)
{
    struct simlink_config cfg = {.seed = 9, .delay_ns = MIRAGE_MS(1)};
    struct simlink *l = simlink_new(&cfg);
    struct node a, b;
    struct mirage_icmpv6_stats is0, is;
    struct mirage_ipv6_stats st0, st;
    uint8_t p[200], ext[128];
    size_t n;

    node_up(&a, simlink_netif(l, 0), G_A, 0);
    node_up(&b, simlink_netif(l, 1), G_B, 0);
    mirage_sleep_ns(MIRAGE_MS(2500));

    /* Destination options with an unknown 10xxxxxx option, then ICMPv6. */
    memset(ext, 0, sizeof(ext));
    ext[0] = 58;
    ext[2] = 0x80 | 0x1e;
    ext[3] = 4;
    ext[8] = 1; /* destination unreachable: an error */
    n = craft(p, 60, ext, 8 + 8 + 48);
    mirage_icmpv6_stats(b.icmp, &is0);
    mirage_ipv6_input(b.ip, p, n);
    mirage_icmpv6_stats(b.icmp, &is);
    CHECK_INT(is.errors_sent, is0.errors_sent);
    /* A 16-byte one, then an (atomic) fragment header, then the error: the
     * walk takes each header's length from its own type. */
    memset(ext, 0, sizeof(ext));
    ext[0] = 44;
    ext[1] = 1; /* 16 bytes */
    ext[2] = 0x80 | 0x1e;
    ext[3] = 12;
    ext[16] = 58;
    ext[24] = 1;
    n = craft(p, 60, ext, 16 + 8 + 8 + 48);
    mirage_ipv6_input(b.ip, p, n);
    mirage_icmpv6_stats(b.icmp, &is);
    CHECK_INT(is.errors_sent, is0.errors_sent);
    ext[24] = 128;
    mirage_ipv6_input(b.ip, p, craft(p, 60, ext, 16 + 8 + 8 + 48));
    mirage_icmpv6_stats(b.icmp, &is);
    CHECK_INT(is.errors_sent, is0.errors_sent + 1);
    is0 = is;
    memset(ext, 0, sizeof(ext));
    ext[0] = 58;
    ext[2] = 0x80 | 0x1e;
    ext[3] = 4;
    /* The same with an echo request after it: parameter problem. */
    n = craft(p, 60, ext, 8 + 12);
    echo_body(p, 48, 12);
    mirage_ipv6_input(b.ip, p, n);
    mirage_icmpv6_stats(b.icmp, &is);
    CHECK_INT(is.errors_sent, is0.errors_sent + 1);

    /* The first fragment of an ICMPv6 error, the rest never coming: the
     * reassembly times out without a time exceeded. */
    memset(ext, 0, sizeof(ext));
    ext[0] = 58;
    ext[3] = 1;    /* offset 0, M */
    ext[7] = 0x51; /* id */
    ext[8] = 3;    /* time exceeded: an error */
    n = craft(p, 44, ext, 8 + 48);
    mirage_icmpv6_stats(b.icmp, &is0);
    mirage_ipv6_stats(b.ip, &st0);
    mirage_ipv6_input(b.ip, p, n);
    mirage_sleep_ns(MIRAGE_SEC(61));
    mirage_icmpv6_stats(b.icmp, &is);
    mirage_ipv6_stats(b.ip, &st);
    CHECK_INT(st.reasm_timeouts, st0.reasm_timeouts + 1);
    CHECK_INT(is.errors_sent, is0.errors_sent);
    /* ... and of an echo request: time exceeded, code 1. */
    ext[7] = 0x52;
    ext[8] = 128;
    mirage_ipv6_input(b.ip, p, craft(p, 44, ext, 8 + 48));
    mirage_sleep_ns(MIRAGE_SEC(61));
    mirage_icmpv6_stats(b.icmp, &is);
    CHECK_INT(is.errors_sent, is0.errors_sent + 1);

    node_down(&b);
    node_down(&a);
    simlink_free(l);
}

int main(void)
{
    test_format();
    test_dad_ping_and_states();
    test_dad_duplicate();
    test_header_chain();
    test_no_error_about_error();
    return CHECK_DONE();
}
