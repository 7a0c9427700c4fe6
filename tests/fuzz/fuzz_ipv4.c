/* fuzz_ipv4.c: IPv4 packets and fragment series into the layer and its reassembly cache. */
#include "net_fuzz.h"

/*
 * Input: records of [2 bytes: length][1 byte: flags][packet]. Flag bit 0 makes
 * the header checksum right (so the fuzzer reaches reassembly), bit 1 points
 * the packet at us, bits 2..7 advance the clock by that many seconds / 4.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_stack *s = fz_stack();
    struct mirage_ipv4_stats st;

    while (size >= 3) {
        size_t n = (size_t)(data[0] << 8 | data[1]);
        uint8_t flags = data[2];
        uint8_t *p;

        data += 3;
        size -= 3;
        if (n > size)
            n = size;
        p = fz_copy(data, n);
        if (n >= 20) {
            size_t hl = (size_t)(p[0] & 15) * 4;
            if (flags & 2) {
                p[16] = 10, p[17] = 0, p[18] = 0, p[19] = 2;
            }
            if ((flags & 1) && hl >= 20 && hl <= n) {
                p[10] = p[11] = 0;
                uint16_t c = mirage_csum(p, hl);
                p[10] = (uint8_t)(c >> 8);
                p[11] = (uint8_t)c;
            }
        }
        mirage_ipv4_input(s->ip, p, n);
        free(p);
        fz_now += (uint64_t)(flags >> 2) * 250000000ull;
        data += n;
        size -= n;
    }
    mirage_ipv4_stats(s->ip, &st);
    return 0;
}
