/* fuzz_udp.c: UDP datagrams (checksum fixed up on request) into the UDP layer. */
#include "net_fuzz.h"

/* Input: [1 byte: flags][datagram]. Flag bit 0 fixes the checksum, bit 1
 * points it at the listening port 7, bit 2 sends it to the broadcast address
 * (all-nodes over IPv6), bit 3 sends it over IPv6 from fd00::1 to fd00::2,
 * bit 4 marks it a UDP GSO frame whose datagrams are 1 + 97 * (flags >> 5)
 * bytes each (gso_size). */
static uint16_t gso_of(uint8_t flags)
{
    return (flags & 16) ? (uint16_t)(1 + 97 * (flags >> 5)) : 0;
}

static void input6(struct fz_stack *s, uint8_t flags, uint8_t *p, size_t n)
{
    static const uint8_t src[16] = {0xfd, [15] = 1}, to_us[16] = {0xfd, [15] = 2},
                         all_nodes[16] = {0xff, 2, [15] = 1};
    const uint8_t *dst = (flags & 4) ? all_nodes : to_us;
    uint8_t pkt[40] = {0x60};

    if ((flags & 1) && n >= 8) {
        struct mirage_csum c = MIRAGE_CSUM_INIT;
        size_t len = (size_t)(p[4] << 8 | p[5]);
        if (len > n)
            len = n;
        p[6] = p[7] = 0;
        mirage_csum_add_pseudo6(&c, src, dst, 17, (uint32_t)len);
        mirage_csum_add(&c, p, len);
        uint16_t v = mirage_csum_finish(&c);
        p[6] = (uint8_t)(v >> 8);
        p[7] = (uint8_t)v;
    }
    struct mirage_ipv6_rx rx = {.src = src,
                                .dst = dst,
                                .proto = 17,
                                .hop_limit = 64,
                                .proto_off = 6,
                                .pkt = pkt,
                                .pkt_len = sizeof(pkt),
                                .payload = p,
                                .len = n,
                                .gso_size = gso_of(flags)};
    mirage_udp_input6(s->udp, &rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_stack *s = fz_stack();
    static const uint8_t hdr[20] = {0x45, 0, 0,  0, 0, 0, 0,  0, 64, 17,
                                    0,    0, 10, 0, 0, 1, 10, 0, 0,  2};
    uint32_t dst = (size && (data[0] & 4)) ? 0xffffffffu : 0x0a000002u;
    struct mirage_ipv4_rx rx;
    uint8_t *p;
    size_t n;

    if (size < 1)
        return 0;
    n = size - 1;
    p = fz_copy(data + 1, n);
    if ((data[0] & 2) && n >= 4)
        p[2] = 0, p[3] = 7;
    if (data[0] & 8) {
        input6(s, data[0], p, n);
        free(p);
        fz_now += 1000000;
        return 0;
    }
    if ((data[0] & 1) && n >= 8) {
        struct mirage_csum c = MIRAGE_CSUM_INIT;
        size_t len = (size_t)(p[4] << 8 | p[5]);
        if (len > n)
            len = n;
        p[6] = p[7] = 0;
        mirage_csum_add_pseudo4(&c, 0x0a000001u, dst, 17, len);
        mirage_csum_add(&c, p, len);
        uint16_t v = mirage_csum_finish(&c);
        p[6] = (uint8_t)(v >> 8);
        p[7] = (uint8_t)v;
    }
    rx = (struct mirage_ipv4_rx){0x0a000001u, dst, 17, 64, 0, hdr, 20, p, n, 0, gso_of(data[0])};
    mirage_udp_input(s->udp, &rx);
    free(p);
    fz_now += 1000000;
    return 0;
}
