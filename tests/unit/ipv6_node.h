/* ipv6_node.h: one IPv6 node (Ethernet, IPv6, ICMPv6) on a test link's interface, for the IPv6
 * unit tests; fd00::1 and fd00::2 for its addresses. */
#ifndef IPV6_NODE_H
#define IPV6_NODE_H

#include <string.h>

#include "check.h"
#include "mirage/ethernet.h"
#include "mirage/icmpv6.h"
#include "mirage/ipv6.h"

static const uint8_t G_A[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t G_B[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

struct node {
    struct mirage_eth *eth;
    struct mirage_ipv6 *ip;
    struct mirage_icmpv6 *icmp;
};

/* Brings (n) up on (nif) with (addr)/64 (NULL: link-local only); router
 * advertisements are ignored when (no_ra). */
static void node_up(struct node *n, struct mirage_netif *nif, const uint8_t *addr, int no_ra)
{
    struct mirage_ipv6_config cfg = {.prefix = 64, .no_router_adv = no_ra};

    if (addr) {
        cfg.has_addr = 1;
        memcpy(cfg.addr, addr, 16);
    }
    n->eth = mirage_eth_new(nif);
    n->ip = mirage_ipv6_new(n->eth, &cfg);
    n->icmp = mirage_icmpv6_new(n->ip, NULL);
    CHECK(n->eth && n->ip && n->icmp);
    CHECK_INT(mirage_eth_start(n->eth), 0);
}

static void node_down(struct node *n)
{
    mirage_icmpv6_free(n->icmp);
    mirage_ipv6_free(n->ip);
    mirage_eth_free(n->eth);
}

#endif
