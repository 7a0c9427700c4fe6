/* fuzz_arp.c: ARP packets (a series of them) into the cache: no crash, bounded queues, sane
 * answers. */
#include "net_fuzz.h"

/* Input: records of [1 byte: action][28 bytes: an ARP packet]. Actions also
 * send to, add statics for, and age the addresses the packets mention. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_stack *s = fz_stack();

    while (size >= 29) {
        uint8_t *p = fz_copy(data + 1, 28);
        uint32_t ip = 0x0a000000u | p[27];
        switch (data[0] & 7) {
        case 0:
            mirage_udp_send(s->udp, 1, (struct mirage_ipaddr[]){mirage_ipv4_to_ipaddr(ip)}, 7, -1, "x", 1);
            break;
        case 1:
            mirage_arp_add_static(s->arp, ip, p + 8);
            break;
        case 2:
            mirage_arp_remove(s->arp, ip);
            break;
        case 3:
            fz_now += (uint64_t)data[0] * 100000000ull;
            break;
        default:
            break;
        }
        mirage_arp_input(s->arp, p, (data[0] & 0x80) ? 28 : (size_t)(data[0] & 31));
        free(p);
        data += 29;
        size -= 29;
    }
    uint8_t *rest = fz_copy(data, size);
    mirage_arp_input(s->arp, rest, size);
    free(rest);
    return 0;
}
