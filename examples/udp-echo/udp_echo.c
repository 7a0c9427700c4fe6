/* udp_echo.c: the direct IPv4 stack by hand (ethernet, ARP, IPv4, ICMP, UDP): echoes UDP datagrams.
 */
#include <stdio.h>
#include <string.h>

#include "mirage/icmp.h"
#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/time.h"
#include "mirage/udp.h"

/*
 * Answers ping (fragmented too) and echoes every datagram sent to --port
 * back to its sender; other ports get ICMP port unreachable. --ttl sets the
 * TTL of everything it sends, so the host can see it on the wire. config.c
 * declares the keys (key_port, key_ttl, mirage_key_ipv4[_gateway]); main.c
 * parses them and connects "service" before start runs.
 */

static struct mirage_udp *udp;
static uint64_t echoed;

static void echo(void *ctx, const struct mirage_udp_rx *rx)
{
    int r;

    (void)ctx;
    r = mirage_udp_send(udp, rx->dst_port, &rx->src, rx->src_port, -1, rx->data, rx->len);
    if (r != 0)
        mirage_log_warn(&mirage_log_app, "echo of %zu bytes failed: %s", rx->len,
                        mirage_strerror(r));
    else
        echoed++;
}

int start(struct mirage_netif *nif)
{
    struct mirage_ipv4_config cfg = {0};
    struct mirage_eth *eth;
    struct mirage_arp *arp;
    struct mirage_ipv4 *ip;
    struct mirage_icmpv4 *icmp;
    char mac[18], addr[16];

    cfg.addr = mirage_ipv4_of_bytes(mirage_key_ipv4.v.ip.addr);
    cfg.prefix = mirage_key_ipv4.v.ip.bits;
    if (mirage_key_ipv4_gateway.has_value)
        cfg.gateway = mirage_ipv4_of_bytes(mirage_key_ipv4_gateway.v.ip.addr);
    cfg.ttl = (uint8_t)key_ttl.v.num;
    eth = mirage_eth_new(nif);
    arp = eth ? mirage_arp_new(eth, NULL) : NULL;
    ip = arp ? mirage_ipv4_new(eth, arp, &cfg) : NULL;
    icmp = ip ? mirage_icmpv4_new(ip, NULL) : NULL;
    udp = icmp ? mirage_udp_new(ip, icmp) : NULL;
    if (udp == NULL || mirage_udp_bind(udp, (uint16_t)key_port.v.num, echo, NULL) != 0 ||
        mirage_eth_start(eth) != 0) {
        printf("udp-echo: out of memory\n");
        return 1;
    }
    printf("service mac %s ipv4 %s/%u mtu %u ttl %u udp %u\n",
           mirage_eth_format(nif->info.mac, mac), mirage_ipv4_format(cfg.addr, addr), cfg.prefix,
           nif->info.mtu, cfg.ttl, (unsigned)key_port.v.num);
    for (;;) {
        struct mirage_ipv4_stats st;
        if (mirage_sleep_ns(MIRAGE_SEC(10)) != 0)
            break;
        mirage_ipv4_stats(ip, &st);
        mirage_log_info(&mirage_log_app,
                        "echoed %llu; ip rx %llu bad %llu fragments %llu reassembled %llu",
                        (unsigned long long)echoed, (unsigned long long)st.rx_datagrams,
                        (unsigned long long)st.rx_bad, (unsigned long long)st.rx_fragments,
                        (unsigned long long)st.reassembled);
    }
    return 0;
}
