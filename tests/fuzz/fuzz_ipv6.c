/* fuzz_ipv6.c: IPv6 frames into the layer: the extension-header chain, ICMPv6, neighbour discovery.
 */
#include "mirage/sched.h"
#include "mirage/time.h"
#include "net_fuzz.h"

/*
 * Input: records of [2 bytes: length][1 byte: flags][IPv6 packet], each sent
 * in a frame to our MAC. Flag bit 0 fixes the ICMPv6 checksum when the
 * fixed header names ICMPv6, bit 1 sets the destination to our address
 * fd00::2, bit 2 to its solicited-node group (the frame to 33:33:ff:00:00:02),
 * bit 3 makes the frame come from our own MAC (a looped-back probe); bits
 * 4..7 let that many tenths of a second pass (timers run: DAD, probes).
 * Before the first input one DAD period passes, so our addresses are in use.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct fz_stack *s = fz_stack();
    static const uint8_t ours[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

    if (!ready) {
        mirage_sleep_ns(MIRAGE_SEC(2));
        ready = 1;
    }
    while (size >= 3) {
        size_t n = (size_t)(data[0] << 8 | data[1]);
        uint8_t flags = data[2];
        static uint8_t f[14 + 65536];
        uint8_t *copy;

        data += 3;
        size -= 3;
        if (n > size)
            n = size;
        memcpy(f, (uint8_t[6]){2, 0, 0, 0, 0, 2}, 6);
        memcpy(f + 6, (flags & 8) ? (uint8_t[6]){2, 0, 0, 0, 0, 2} : (uint8_t[6]){2, 0, 0, 0, 0, 9},
               6);
        f[12] = 0x86;
        f[13] = 0xdd;
        memcpy(f + 14, data, n);
        if (n >= 40) {
            uint8_t *p = f + 14;
            if (flags & 2)
                memcpy(p + 24, ours, 16);
            if (flags & 4) {
                mirage_ipv6_solicited_node(ours, p + 24);
                memcpy(f, (uint8_t[6]){0x33, 0x33, 0xff, 0, 0, 2}, 6);
            }
            if ((flags & 1) && p[6] == 58 && n >= 44) {
                size_t plen = (size_t)(p[4] << 8 | p[5]);
                struct mirage_csum c = MIRAGE_CSUM_INIT;
                if (plen > n - 40)
                    plen = n - 40;
                if (plen >= 4) {
                    p[42] = p[43] = 0;
                    mirage_csum_add_pseudo6(&c, p + 8, p + 24, 58, (uint32_t)plen);
                    mirage_csum_add(&c, p + 40, plen);
                    uint16_t k = mirage_csum_finish(&c);
                    p[42] = (uint8_t)(k >> 8);
                    p[43] = (uint8_t)k;
                }
            }
        }
        copy = fz_copy(f, 14 + n); /* exactly its length, for ASan */
        mirage_eth_input(s->eth, copy, 14 + n);
        free(copy);
        if (flags >> 4)
            mirage_sleep_ns(MIRAGE_MS(100) * (flags >> 4));
        data += n;
        size -= n;
    }
    return 0;
}
