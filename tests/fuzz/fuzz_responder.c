/* fuzz_responder.c: any frame given to the ARP/ICMP responder yields no answer or a good one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/checksum.h"
#include "mirage/responder.h"
#include "mirage/key.h"

static const uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t ip[4] = {10, 0, 0, 2};

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mirage_responder e;
    uint8_t out[1514];
    char text[64];
    size_t n;

    mirage_responder_init(&e, mac, ip);
    /* A copy of exactly (size) bytes on the heap, so ASan catches any read past it. */
    uint8_t *in = malloc(size ? size : 1);
    memcpy(in, data, size);
    n = mirage_responder_answer(&e, in, size, out, sizeof(out));
    free(in);
    check(n <= sizeof(out));
    check(e.stats.frames == 1);
    check(e.stats.arp_replies + e.stats.icmp_replies + e.stats.bad + e.stats.ignored == 1);
    if (n > 0) {
        check(n <= (size > MIRAGE_RESPONDER_MIN_FRAME ? size : MIRAGE_RESPONDER_MIN_FRAME));
        check(memcmp(out + 6, mac, 6) == 0);
        check(memcmp(out, data + 6, 6) == 0 || (out[12] == 0x08 && out[13] == 0x06));
        if (out[12] == 0x08 && out[13] == 0x00) {
            size_t total = (size_t)(out[16] << 8 | out[17]);
            check(n >= 14 + total && total >= 28);
            check(mirage_csum(out + 14, 20) == 0);
            check(mirage_csum(out + 34, total - 20) == 0);
            check(e.stats.icmp_replies == 1);
        } else {
            check(out[12] == 0x08 && out[13] == 0x06 && e.stats.arp_replies == 1);
        }
    }

    /* The same bytes as a boot argument. */
    if (size < sizeof(text)) {
        memcpy(text, data, size);
        text[size] = '\0';
        struct mirage_key_ip ip;
        if (mirage_key_parse_prefix(text, size, 0, &ip, NULL, 0) == 0)
            check(ip.bits <= 32);
    }
    return 0;
}
