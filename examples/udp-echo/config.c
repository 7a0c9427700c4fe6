/* config.c: udp-echo's configuration: one network device, "service", and its runtime keys. */
#include <mirage/config.h>

void mirage_config(void)
{
    /* The stack is wired by hand in udp_echo.c, so the job takes the bare device. */
    standard_key("ipv4");
    standard_key("ipv4-gateway");
    runtime_key_int("port", "UDP echo port.", "7", 1, 65535);
    runtime_key_int("ttl", "TTL of sent datagrams.", "64", 1, 255);
    register_unikernel("udp-echo", job("start", NETWORK), netif("service"));
}
