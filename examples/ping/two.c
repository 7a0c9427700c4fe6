/* two.c: ping2's start: two network devices, "service" and "service2", answered at once. */
#include "ping.h"

int start(struct mirage_netif *service, struct mirage_netif *service2, int argc, char **argv)
{
    struct mirage_netif *nets[] = {service, service2};

    return ping_main(nets, 2, argc, argv);
}
