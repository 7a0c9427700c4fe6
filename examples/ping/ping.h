/* ping.h: the answering loop behind ping's and ping2's start functions. */
#ifndef PING_H
#define PING_H

#include "mirage/device.h"

/* Parses argv (--ipv4=..., --ipv4-K=..., --count=N, --help) and answers ARP and
 * ICMP echo on the (count) connected devices; returns the exit status. */
int ping_main(struct mirage_netif *const *nets, int count, int argc, char **argv);

#endif
