/* test_net_reasm.c: IPv4 reassembly limits: order, overlap, 16 pieces, 10 s, the 256 KiB LRU cache.
 */
#include "check.h"
#include "fake_platform.h"
#include "mirage/checksum.h"
#include "mirage/ipv4.h"
#include "mirage/time.h"
#include "../net/link.h"

const char *mirage_cmdline(void)
{
    return "test_net_reasm";
}

static struct mirage_ipv4 *ip;
static int delivered;
static size_t last_len;
static uint8_t last[65536];

static void rx(void *ctx, const struct mirage_ipv4_rx *r)
{
    (void)ctx;
    delivered++;
    last_len = r->len;
    memcpy(last, r->payload, r->len);
}

/* Sends IP fragment [off, off + len) of datagram (id) with pattern bytes. */
static void frag(uint16_t id, size_t off, size_t len, int more)
{
    uint8_t p[20 + 1480];
    uint16_t f = (uint16_t)((more ? 0x2000 : 0) | off / 8);

    memset(p, 0, 20);
    p[0] = 0x45;
    p[2] = (uint8_t)((20 + len) >> 8), p[3] = (uint8_t)(20 + len);
    p[4] = (uint8_t)(id >> 8), p[5] = (uint8_t)id;
    p[6] = (uint8_t)(f >> 8), p[7] = (uint8_t)f;
    p[8] = 64, p[9] = 253;
    p[12] = 10, p[15] = 1, p[16] = 10, p[19] = 2;
    uint16_t c = mirage_csum(p, 20);
    p[10] = (uint8_t)(c >> 8), p[11] = (uint8_t)c;
    for (size_t i = 0; i < len; i++)
        p[20 + i] = (uint8_t)(off + i);
    mirage_ipv4_input(ip, p, 20 + len);
}

static int pattern_ok(size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (last[i] != (uint8_t)i)
            return 0;
    return 1;
}

int main(void)
{
    struct simlink_config lc = {.seed = 1};
    struct simlink *l = simlink_new(&lc);
    struct mirage_eth *eth = mirage_eth_new(simlink_netif(l, 0));
    struct mirage_arp *arp = mirage_arp_new(eth, NULL);
    struct mirage_ipv4_config cfg = {.addr = 0x0a000002, .prefix = 24};
    struct mirage_ipv4_stats st;

    ip = mirage_ipv4_new(eth, arp, &cfg);
    CHECK_INT(mirage_ipv4_register(ip, 253, rx, NULL), 0);
    CHECK_INT(mirage_ipv4_register(ip, 253, rx, &cfg), MIRAGE_EADDRINUSE);

    /* Out of order: last, first, middle. */
    frag(1, 2960, 100, 0);
    frag(1, 0, 1480, 1);
    CHECK_INT(delivered, 0);
    frag(1, 1480, 1480, 1);
    CHECK_INT(delivered, 1);
    CHECK_INT(last_len, 3060);
    CHECK(pattern_ok(3060));

    /* 45 fragments in order: one growing piece, 65000 bytes. */
    for (size_t off = 0; off < 65000; off += 1480)
        frag(2, off, off + 1480 < 65000 ? 1480 : 65000 - off, off + 1480 < 65000);
    CHECK_INT(delivered, 2);
    CHECK_INT(last_len, 65000);
    CHECK(pattern_ok(65000));

    /* Any overlap, even an exact duplicate, drops the whole datagram. */
    frag(3, 0, 800, 1);
    frag(3, 400, 800, 1);
    frag(3, 1200, 100, 0);
    frag(4, 0, 800, 1);
    frag(4, 0, 800, 1);
    frag(4, 800, 8, 0);
    CHECK_INT(delivered, 2);

    /* 17 separate pieces is too many; 16 is fine. */
    for (int k = 0; k < 16; k++)
        frag(5, (size_t)k * 16, 8, 1);
    for (int k = 0; k < 16; k++)
        frag(5, (size_t)k * 16 + 8, 8, k < 15);
    CHECK_INT(delivered, 3);
    CHECK_INT(last_len, 256);
    for (int k = 0; k < 17; k++)
        frag(6, (size_t)k * 16, 8, 1);
    for (int k = 0; k < 17; k++)
        frag(6, (size_t)k * 16 + 8, 8, k < 16);
    CHECK_INT(delivered, 3);

    /* More than 10 s between first and last: dropped. */
    frag(7, 0, 8, 1);
    fake_now += MIRAGE_SEC(11);
    frag(7, 8, 8, 0);
    CHECK_INT(delivered, 3);
    frag(8, 0, 8, 1);
    fake_now += MIRAGE_SEC(9);
    frag(8, 8, 8, 0);
    CHECK_INT(delivered, 4);

    /* The cache holds 256 KiB: 200 datagrams of 1480 bytes each missing
     * their end push the oldest out; the newest can still complete. */
    for (uint16_t id = 100; id < 300; id++)
        frag(id, 0, 1480, 1);
    frag(100, 1480, 8, 0);
    CHECK_INT(delivered, 4);
    frag(299, 1480, 8, 0);
    CHECK_INT(delivered, 5);
    mirage_ipv4_stats(ip, &st);
    CHECK(st.reasm_dropped >= 200 - 256 * 1024 / 1480);

    /* Malformed: a middle fragment not a multiple of 8, past 65535. */
    frag(9, 0, 100, 1);
    frag(9, 100, 8, 0);
    CHECK_INT(delivered, 5);
    frag(10, 65528, 100, 0);
    CHECK_INT(delivered, 5);

    mirage_ipv4_free(ip);
    mirage_arp_free(arp);
    mirage_eth_free(eth);
    simlink_free(l);
    return CHECK_DONE();
}
