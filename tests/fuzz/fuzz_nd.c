/* fuzz_nd.c: neighbour discovery messages (RS, RA, NS, NA, redirect) with valid envelopes, so
 * the fuzzer spends its time in their fields and options. */
#include "mirage/sched.h"
#include "mirage/time.h"
#include "net_fuzz.h"

/*
 * Input: records of [1 byte: kind][1 byte: length n][n bytes: the message
 * after its type, code and checksum]. The kind picks the type (bits 0-2,
 * modulo 5: 133..137), the source (bits 3-4: fe80::1, our gateway; fe80::9;
 * the unspecified address; fd00::9) and the destination (bits 5-6: fd00::2,
 * ours; our link-local; all-nodes; our solicited-node group); bit 7 lets
 * 1.5 s pass after it (timers: DAD, probes, solicitations, lifetimes). The
 * envelope is what RFC 4861 asks (hop limit 255, code 0, the checksum right),
 * from MAC 02:00:00:00:00:09.
 *
 * Invariants besides net_fuzz.h's (every frame sent well-formed, ASan):
 * at most 8 addresses and 4 default routers however many prefixes and
 * routers are advertised, and the path MTU stays between the minimum (1280)
 * and the link's (1500) whatever MTU option comes.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static const uint8_t ours[16] = {0xfd, [15] = 2};
    static const uint8_t ll_ours[16] = {0xfe, 0x80, [11] = 0xff, [12] = 0xfe, [15] = 2};
    static const uint8_t srcs[4][16] = {
        {0xfe, 0x80, [15] = 1}, {0xfe, 0x80, [15] = 9}, {0}, {0xfd, [15] = 9}};
    static const uint8_t far[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    struct fz_stack *s = fz_stack();
    uint8_t addrs[16][16], routers[8][16];

    if (!ready) {
        mirage_sleep_ns(MIRAGE_SEC(2));
        ready = 1;
    }
    while (size >= 2) {
        uint8_t kind = data[0];
        size_t n = data[1], plen;
        static uint8_t f[14 + 40 + 4 + 255];
        uint8_t *p = f + 14, *copy, dst[16];
        struct mirage_csum c = MIRAGE_CSUM_INIT;
        uint16_t k;

        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        switch ((kind >> 5) & 3) {
        case 0:
            memcpy(dst, ours, 16);
            break;
        case 1:
            memcpy(dst, ll_ours, 16);
            break;
        case 2:
            memcpy(dst, (uint8_t[16]){0xff, 0x02, [15] = 1}, 16);
            break;
        default:
            mirage_ipv6_solicited_node(ours, dst);
            break;
        }
        if (dst[0] == 0xff)
            memcpy(f, (uint8_t[6]){0x33, 0x33, dst[12], dst[13], dst[14], dst[15]}, 6);
        else
            memcpy(f, (uint8_t[6]){2, 0, 0, 0, 0, 2}, 6);
        memcpy(f + 6, (uint8_t[6]){2, 0, 0, 0, 0, 9}, 6);
        f[12] = 0x86;
        f[13] = 0xdd;
        plen = 4 + n;
        memset(p, 0, 40);
        p[0] = 0x60;
        p[4] = (uint8_t)(plen >> 8);
        p[5] = (uint8_t)plen;
        p[6] = 58;
        p[7] = 255;
        memcpy(p + 8, srcs[(kind >> 3) & 3], 16);
        memcpy(p + 24, dst, 16);
        p[40] = (uint8_t)(133 + (kind & 7) % 5);
        p[41] = 0;
        p[42] = p[43] = 0;
        memcpy(p + 44, data, n);
        mirage_csum_add_pseudo6(&c, p + 8, p + 24, 58, (uint32_t)plen);
        mirage_csum_add(&c, p + 40, plen);
        k = mirage_csum_finish(&c);
        p[42] = (uint8_t)(k >> 8);
        p[43] = (uint8_t)k;
        copy = fz_copy(f, 14 + 40 + plen); /* exactly its length, for ASan */
        mirage_eth_input(s->eth, copy, 14 + 40 + plen);
        free(copy);
        if (kind & 0x80)
            mirage_sleep_ns(MIRAGE_MS(1500));
        fz_check(mirage_ipv6_addresses(s->ip6, addrs, NULL, NULL, 16) <= 8);
        fz_check(mirage_ipv6_routers(s->ip6, routers, 8) <= 4);
        fz_check(mirage_ipv6_mtu(s->ip6, far) >= 1280 - 40);
        fz_check(mirage_ipv6_mtu(s->ip6, far) <= 1500 - 40);
        data += n;
        size -= n;
    }
    return 0;
}
