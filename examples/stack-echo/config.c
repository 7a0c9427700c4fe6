/* config.c: stack-echo's configuration: one TCP/IP stack, direct or host sockets as configured. */
#include <mirage/config.h>

void mirage_config(void)
{
    /* The network device and the stack over it: `mirage configure --net=direct|socket`,
     * --no-dhcp, --ipv4=ADDR/PREFIX and --ipv4-gateway=ADDR choose how it comes up. */
    struct mirage_dev *stack = generic_stackv4v6(default_network());
    struct mirage_dev *main_job = job("start", STACKV4V6);

    runtime_key_int("port", "The TCP and UDP port to echo on.", "7", 1, 65535);
    runtime_key_int("connections", "Exit after this many TCP connections (0: never).", "0", 0,
                    1000000);
    runtime_key_int("max-conns",
                    "Reset TCP connections beyond this many open at once (0: a third of the "
                    "heap's worth; an idle one costs ~34 KB, 24 KiB of it its fiber's stack, a "
                    "busy one up to 128 KiB more of TCP buffers: --mem=32 holds ~360 by default).",
                    "0", 0, 1000000);
    runtime_key_int("user-timeout",
                    "Seconds a connection with data to send may go unanswered, retransmitting or "
                    "probing a zero window, before it is reset (0: TCP's default, 12 unanswered "
                    "tries in a row, 5 to 13 minutes).",
                    "0", 0, 86400);
    register_unikernel("stack-echo", main_job, stack);
}
