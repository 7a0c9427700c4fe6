/* config.c: dns-stub's configuration: a TCP/IP stack and the resolvers it forwards to. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());

    /* --dns-servers=IP[,IP...]: the runtime's network key, as for every stub resolver. */
    standard_key("dns-servers");
    runtime_key_int("port", "The UDP and TCP port to answer on.", "53", 1, 65535);
    runtime_key_int("cache-size", "Answers cached at most (the least recently used go first).",
                    "1024", 1, 1000000);
    runtime_key_int("cache-bytes", "Bytes of cached answers at most.", "1048576", 65536,
                    1073741824);
    runtime_key_int("tcp-idle-timeout",
                    "Seconds a TCP connection may wait for its next query before it is closed.",
                    "10", 1, 3600);
    runtime_key_int("max-conns",
                    "TCP connections open at once (an idle one holds its fiber's 16 KiB stack "
                    "and ~0.6 KiB; one being answered 80 KiB more); more are reset.",
                    "64", 1, 100000);
    register_unikernel("dns-stub", job("start", STACKV4V6), stack);
}
