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
    register_unikernel("stack-echo", main_job, stack);
}
