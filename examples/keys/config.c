/* config.c: keys's configuration: one runtime key of every type plus standard network keys. */
#include <mirage/config.h>

void mirage_config(void)
{
    runtime_key("name", "string", "Who to greet.", "world");
    runtime_key_int("port", "A TCP port.", "8080", 0, 65535);
    runtime_key("verbose", "bool", "Say more.", "false");
    runtime_key("mac", "mac", "A MAC address.", NULL);
    runtime_key("peers", "list", "Peer names.", "");
    standard_key("ipv4");
    standard_key("ipv4-gateway");
    standard_key("ipv6");
    register_unikernel("keys", job("start"));
}
