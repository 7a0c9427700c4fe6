/* one.c: ping's start: one network device, "service". */
#include "ping.h"

int start(struct mirage_netif *service, int argc, char **argv)
{
    struct mirage_netif *nets[] = {service};

    return ping_main(nets, 1, argc, argv);
}
