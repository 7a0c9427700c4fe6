/* keys.c: one boot key of every type plus the standard network keys; prints the values it got. */
#include <stdio.h>

/* config.c declares the keys: key_NAME for its own, mirage_key_NAME for the runtime's
 * network keys; main.c has parsed all of them before start runs. */
int start(void)
{
    const uint8_t *a = mirage_key_ipv4.v.ip.addr, *m = key_mac.v.mac;

    printf("name=%s port=%lld verbose=%d\n", key_name.v.str, (long long)key_port.v.num,
           key_verbose.v.flag);
    printf("ipv4=%u.%u.%u.%u/%u\n", a[0], a[1], a[2], a[3], mirage_key_ipv4.v.ip.bits);
    if (key_mac.has_value)
        printf("mac=%02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1], m[2], m[3], m[4], m[5]);
    if (mirage_key_ipv6.has_value)
        printf("ipv6 prefix length=%u\n", mirage_key_ipv6.v.ip.bits);
    for (size_t i = 0; i < key_peers.v.list.count; i++)
        printf("peer %zu=%s\n", i, key_peers.v.list.items[i]);
    return 0;
}
