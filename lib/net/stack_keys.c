/* stack_keys.c: a stack's configuration from the standard boot keys, for generated main.c. */
#include <string.h>

#include "mirage/key.h"
#include "mirage/platform.h"
#include "mirage/stack.h"
#include "mirage/time.h"

void mirage_stack_config_from_keys(struct mirage_stack_config *sc, int dhcp)
{
    sc->ipv4_only = mirage_key_ipv4_only.v.flag;
    sc->ipv6_only = mirage_key_ipv6_only.v.flag;
    sc->dhcp = dhcp && !mirage_key_ipv4.set && !sc->ipv6_only;
    if (mirage_key_ipv4.has_value) {
        sc->ipv4.family = 4;
        memcpy(sc->ipv4.a, mirage_key_ipv4.v.ip.addr, 4);
        sc->ipv4_prefix = mirage_key_ipv4.v.ip.bits;
    }
    if (mirage_key_ipv4_gateway.has_value) {
        sc->has_gateway = 1;
        sc->gateway.family = 4;
        memcpy(sc->gateway.a, mirage_key_ipv4_gateway.v.ip.addr, 4);
    }
    if (mirage_key_ipv6.has_value) {
        sc->ipv6.family = 6;
        memcpy(sc->ipv6.a, mirage_key_ipv6.v.ip.addr, 16);
        sc->ipv6_prefix = mirage_key_ipv6.v.ip.bits;
    }
    if (mirage_key_ipv6_gateway.has_value) {
        sc->has_ipv6_gateway = 1;
        sc->ipv6_gateway.family = 6;
        memcpy(sc->ipv6_gateway.a, mirage_key_ipv6_gateway.v.ip.addr, 16);
    }
    if (mirage_key_accept_router_advertisements.has_value)
        sc->ipv6_no_router_adv = !mirage_key_accept_router_advertisements.v.flag;
    if (sc->dhcp && mirage_key_dhcp_timeout.has_value && mirage_key_dhcp_timeout.v.num > 0)
        sc->dhcp_deadline =
            mirage_clock_monotonic() + (uint64_t)mirage_key_dhcp_timeout.v.num * 1000000000u;
}

int mirage_stack_no_lease(const char *prog)
{
    static const char why[] = ": no DHCP lease within --dhcp-timeout: give the address with "
                              "--ipv4=ADDR/LEN, or start a DHCP server on the network\n";

    mirage_console_write(prog, strlen(prog));
    mirage_console_write(why, sizeof(why) - 1);
    return MIRAGE_EXIT_NO_LEASE;
}
