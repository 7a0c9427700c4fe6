/* config.c: dns-primary's configuration: a TCP/IP stack and the zone files crunched from zones/. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());
    /* Every zones/NAME.zone is the zone NAME (RFC 1035 master format; $INCLUDE reads other
     * files of zones/). */
    struct mirage_dev *zones = crunch("zones");

    runtime_key_int("port", "The UDP and TCP port to answer on.", "53", 1, 65535);
    runtime_key_int("tcp-idle-timeout",
                    "Seconds a TCP connection may wait for its next query before it is closed.",
                    "10", 1, 3600);
    runtime_key_int("max-conns",
                    "TCP connections open at once (each holds ~84 KiB while open: its fiber's "
                    "stack and a 64 KiB answer buffer); more are reset.",
                    "64", 1, 100000);
    register_unikernel("dns-primary", job("start", STACKV4V6, KV_RO), stack, zones);
}
