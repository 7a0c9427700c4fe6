/* fuzz_icmp.c: ICMP messages (checksum fixed up on request) into the ICMP layer. */
#include "net_fuzz.h"

/* Input: [1 byte: flags][message]. Flag bit 0 fixes the ICMP checksum, bit 1
 * makes the source a broadcast, bit 2 sends a port unreachable about it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_stack *s = fz_stack();
    static const uint8_t hdr[20] = {0x45, 0, 0,  0, 0, 0, 0,  0, 64, 1,
                                    0,    0, 10, 0, 0, 1, 10, 0, 0,  2};
    struct mirage_ipv4_rx rx;
    uint8_t *p;

    if (size < 1)
        return 0;
    p = fz_copy(data + 1, size - 1);
    if ((data[0] & 1) && size - 1 >= 4) {
        p[2] = p[3] = 0;
        uint16_t c = mirage_csum(p, size - 1);
        p[2] = (uint8_t)(c >> 8);
        p[3] = (uint8_t)c;
    }
    rx = (struct mirage_ipv4_rx){
        (data[0] & 2) ? 0xffffffffu : 0x0a000001u, 0x0a000002u, 1, 64, 0, hdr, 20, p, size - 1, 0, 0};
    mirage_icmpv4_input(s->icmp, &rx);
    if (data[0] & 4)
        mirage_icmpv4_unreachable(s->icmp, MIRAGE_ICMP_UNREACH_PORT, &rx);
    free(p);
    fz_now += 1000000;
    return 0;
}
