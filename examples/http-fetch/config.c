/* config.c: http-fetch's configuration: a TCP/IP stack and the URL to fetch. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());

    runtime_key("uri", "string", "The URL to fetch (http://IPV4[:PORT]/PATH).", "http://10.0.0.1/");
    runtime_key("method", "string", "GET, HEAD or POST.", "GET");
    runtime_key("data", "string", "The body of a POST.", "");
    runtime_key_int("repeat", "Fetch this many times (over one kept-alive connection).", "1", 1,
                    1000);
    runtime_key("headers", "bool", "Print the response's status line and fields first.", "false");
    register_unikernel("http-fetch", job("start", STACKV4V6), stack);
}
