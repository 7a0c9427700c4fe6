/* badring.c: hvt-only unikernel that corrupts its net ring as argv[1] says; the tender must stop
 * it. */
#include <stdint.h>
#include <string.h>

#include "mirage/abi/hvt.h"
#include "mirage/manifest.h"
#include "mirage/platform.h"

MIRAGE_MANIFEST(MIRAGE_NET("service"));

extern const struct hvt_boot_info *hvt_boot; /* the binding's, to find the ring */

static void say(const char *s)
{
    mirage_console_write(s, strlen(s));
}

int mirage_main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    struct mirage_net_info info;
    mirage_handle_t h;
    mirage_handle_set_t ready;
    struct hvt_ring_hdr *r;
    uint64_t give_up;

    if (mirage_net_acquire("service", &h, &info) < 0)
        return 2;
    r = (struct hvt_ring_hdr *)(uintptr_t)hvt_boot->devs[h].ring;
    say("badring: ");
    say(what);
    say("\n");
    if (!strcmp(what, "prod")) {
        __atomic_store_n(&r->tx_prod, r->tx_prod + 1000, __ATOMIC_RELEASE);
    } else if (!strcmp(what, "len")) {
        r->tx_len[r->tx_prod % HVT_RING_SLOTS] = 60000;
        __atomic_store_n(&r->tx_prod, r->tx_prod + 1, __ATOMIC_RELEASE);
    } else if (!strcmp(what, "vnethdr")) {
        /* a 20 KiB TCP segmentation request the device never offered (offloads are off) */
        static const struct mirage_vnet_hdr vh = {1, 1, 54, 1448, 34, 16};
        uint8_t *slot = (uint8_t *)r + HVT_RING_HDR_SIZE + HVT_SLOT_OFF(r->tx_prod);
        memcpy(slot, &vh, sizeof(vh));
        r->tx_len[r->tx_prod % HVT_RING_SLOTS] = 20000;
        __atomic_store_n(&r->tx_prod, r->tx_prod + HVT_FRAME_SLOTS(20000), __ATOMIC_RELEASE);
    } else if (!strcmp(what, "rxcons")) {
        __atomic_store_n(&r->rx_cons, r->rx_cons + 5000, __ATOMIC_RELEASE);
    } else {
        say("usage: badring prod|len|vnethdr|rxcons\n");
        return 2;
    }
    /* wake the network thread whatever state it is in, then give it time: up to
     * 15 s (the test allows 20), since a loaded host may not run that thread for seconds (the
     * tender stops the guest as soon as it looks, so a passing run does not wait) */
    __asm__ volatile("outb %%al, %0" : : "N"(HVT_PORT_KICK), "a"(0) : "memory");
    give_up = mirage_clock_monotonic() + 15000000000ULL;
    while (mirage_clock_monotonic() < give_up)
        mirage_yield(give_up, &ready);
    say("badring: the tender let it through\n");
    return 1;
}
