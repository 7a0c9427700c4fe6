/* config.c: dns-secondary's configuration: a TCP/IP stack, the primary and the zones to copy from it. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());

    runtime_key("primary", "string",
                "The primary the zones are transferred from, IPV4[:PORT] or [IPV6][:PORT] (port 53); "
                "NOTIFY is taken from this address only.",
                NULL);
    runtime_key("zones", "list", "The zones to keep a copy of (example.com,example.org).", NULL);
    runtime_key("tsig-key", "string",
                "The TSIG key (HMAC-SHA256) transfers and NOTIFY are signed with, as dig -y "
                "takes it: [hmac-sha256:]NAME:BASE64 (empty: none).",
                "");
    runtime_key_int("port", "The UDP and TCP port to answer on.", "53", 1, 65535);
    runtime_key_int("tcp-idle-timeout",
                    "Seconds a TCP connection may wait for its next query before it is closed.",
                    "10", 1, 3600);
    runtime_key_int("max-conns",
                    "TCP connections open at once (an idle one holds its fiber's 16 KiB stack "
                    "and ~0.6 KiB; one being answered 80 KiB more); more are reset.",
                    "64", 1, 100000);
    register_unikernel("dns-secondary", job("start", STACKV4V6), stack);
}
