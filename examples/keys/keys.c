/* keys.c: one boot key of every type plus the standard network keys; prints the values it got. */
#include <stdio.h>

#include "mirage/key.h"
#include "mirage/manifest.h"
#include "mirage/platform.h"

MIRAGE_MANIFEST();

static struct mirage_key name = MIRAGE_KEY_STR("name", "world", "Who to greet.");
static struct mirage_key port = MIRAGE_KEY_INTEGER("port", "8080", 0, 65535, "A TCP port.");
static struct mirage_key verbose = MIRAGE_KEY_FLAG("verbose", "false", "Say more.");
static struct mirage_key mac = MIRAGE_KEY_OF("mac", MIRAGE_KEY_MAC, NULL, "A MAC address.");
static struct mirage_key peers = MIRAGE_KEY_OF("peers", MIRAGE_KEY_LIST, "", "Peer names.");
static struct mirage_key *const keys[] = {&name,
                                          &port,
                                          &verbose,
                                          &mac,
                                          &peers,
                                          &mirage_key_ipv4,
                                          &mirage_key_ipv4_gateway,
                                          &mirage_key_ipv6,
                                          NULL};

int mirage_main(int argc, char **argv)
{
    const uint8_t *a = mirage_key_ipv4.v.ip.addr, *m = mac.v.mac;
    int r = mirage_key_parse_args(argc, argv, keys);

    if (r != 0)
        return r;
    printf("name=%s port=%lld verbose=%d\n", name.v.str, (long long)port.v.num, verbose.v.flag);
    printf("ipv4=%u.%u.%u.%u/%u\n", a[0], a[1], a[2], a[3], mirage_key_ipv4.v.ip.bits);
    if (mac.has_value)
        printf("mac=%02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1], m[2], m[3], m[4], m[5]);
    if (mirage_key_ipv6.has_value)
        printf("ipv6 prefix length=%u\n", mirage_key_ipv6.v.ip.bits);
    for (size_t i = 0; i < peers.v.list.count; i++)
        printf("peer %zu=%s\n", i, peers.v.list.items[i]);
    return 0;
}
