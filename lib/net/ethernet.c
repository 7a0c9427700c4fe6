/* ethernet.c: Ethernet II headers on and off frames, dispatch by ethertype. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/ethernet.h"
#include "mirage/log.h"
#include "mirage/wire.h"

MIRAGE_LOG_SOURCE(eth_log, "ethernet", "Ethernet framing");

const uint8_t mirage_eth_broadcast[MIRAGE_ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

enum { H_ARP, H_IPV4, H_IPV6, H_COUNT };

struct mirage_eth {
    struct mirage_netif *nif;
    struct {
        mirage_eth_rx_fn fn;
        void *ctx;
    } h[H_COUNT];
    struct mirage_eth_stats st;
};

static int slot(uint16_t ethertype)
{
    switch (ethertype) {
    case MIRAGE_ETHERTYPE_ARP:
        return H_ARP;
    case MIRAGE_ETHERTYPE_IPV4:
        return H_IPV4;
    case MIRAGE_ETHERTYPE_IPV6:
        return H_IPV6;
    default:
        return -1;
    }
}

/* A VLAN tag's ethertype: 802.1Q's C-tag, 802.1ad's S-tag, or the older QinQ one. */
static int is_tag(uint16_t ethertype)
{
    return ethertype == MIRAGE_ETHERTYPE_VLAN || ethertype == 0x88a8 || ethertype == 0x9100;
}

struct mirage_eth *mirage_eth_new(struct mirage_netif *nif)
{
    struct mirage_eth *eth = calloc(1, sizeof(*eth));

    if (eth)
        eth->nif = nif;
    return eth;
}

void mirage_eth_free(struct mirage_eth *eth)
{
    if (eth == NULL)
        return;
    mirage_netif_stop(eth->nif);
    free(eth);
}

static void rx(void *ctx, const uint8_t *frame, size_t len)
{
    mirage_eth_input(ctx, frame, len);
}

int mirage_eth_start(struct mirage_eth *eth)
{
    return mirage_netif_listen(eth->nif, rx, eth);
}

int mirage_eth_set_handler(struct mirage_eth *eth, uint16_t ethertype, mirage_eth_rx_fn fn,
                           void *ctx)
{
    int i = slot(ethertype);

    if (i < 0)
        return MIRAGE_EINVAL;
    eth->h[i].fn = fn;
    eth->h[i].ctx = ctx;
    return 0;
}

void mirage_eth_input(struct mirage_eth *eth, const uint8_t *frame, size_t len)
{
    struct mirage_rd c = mirage_rd_init(frame, len);
    struct mirage_eth_rx r;
    int i;

    r.dst = mirage_rd_take(&c, 6);
    r.src = mirage_rd_take(&c, 6);
    r.ethertype = mirage_rd_be16(&c);
    if (c.bad) {
        eth->st.rx_bad++;
        return;
    }
    /* Group addresses (broadcast, multicast) have the low bit of the first octet set. */
    if (!(r.dst[0] & 1) && memcmp(r.dst, eth->nif->info.mac, 6) != 0) {
        eth->st.rx_not_for_us++;
        return;
    }
    if (is_tag(r.ethertype)) {
        uint16_t outer = r.ethertype, tci = mirage_rd_be16(&c);

        r.ethertype = mirage_rd_be16(&c);
        if (c.bad) {
            eth->st.rx_bad++;
            return;
        }
        /* We join no VLAN: a tagged frame is dropped, deliberately and
         * counted, but a priority tag (VLAN 0) means untagged (802.1Q 6.9.1). */
        if (outer != MIRAGE_ETHERTYPE_VLAN || (tci & 0x0fff) != 0 || is_tag(r.ethertype)) {
            eth->st.rx_vlan++;
            mirage_log_info(&eth_log,
                            "dropped an %s-tagged frame (VLAN %u): VLANs are not supported "
                            "(%llu so far)",
                            outer == MIRAGE_ETHERTYPE_VLAN ? "802.1Q" : "802.1ad", tci & 0x0fffu,
                            (unsigned long long)eth->st.rx_vlan);
            return;
        }
    }
    eth->st.rx_frames++;
    r.len = mirage_rd_left(&c);
    r.payload = mirage_rd_take(&c, r.len);
    i = slot(r.ethertype);
    if (i < 0 || eth->h[i].fn == NULL) {
        eth->st.rx_unknown++;
        return;
    }
    eth->h[i].fn(eth->h[i].ctx, &r);
}

const uint8_t *mirage_eth_mac(const struct mirage_eth *eth)
{
    return eth->nif->info.mac;
}

size_t mirage_eth_mtu(const struct mirage_eth *eth)
{
    return eth->nif->info.mtu;
}

struct mirage_netif *mirage_eth_netif(const struct mirage_eth *eth)
{
    return eth->nif;
}

struct eth_fill {
    const uint8_t *src, *dst;
    uint16_t ethertype;
    size_t size;
    mirage_fill_fn fill;
    void *ctx;
};

static int fill_frame(void *ctx, uint8_t *buf, size_t size)
{
    struct eth_fill *f = ctx;
    struct mirage_wr w = mirage_wr_init(buf, size);
    int n;

    mirage_wr_bytes(&w, f->dst, 6);
    mirage_wr_bytes(&w, f->src, 6);
    mirage_wr_be16(&w, f->ethertype);
    if (w.bad)
        return MIRAGE_EMSGSIZE;
    n = f->fill(f->ctx, buf + MIRAGE_ETH_HLEN, f->size);
    if (n < 0)
        return n;
    if ((size_t)n > f->size)
        return MIRAGE_EINVAL;
    return n + MIRAGE_ETH_HLEN;
}

int mirage_eth_write(struct mirage_eth *eth, const uint8_t *src, const uint8_t *dst,
                     uint16_t ethertype, size_t size, mirage_fill_fn fill, void *ctx)
{
    return mirage_eth_write_meta(eth, src, dst, ethertype, size, NULL, fill, ctx);
}

int mirage_eth_write_meta(struct mirage_eth *eth, const uint8_t *src, const uint8_t *dst,
                          uint16_t ethertype, size_t size, const struct mirage_net_meta *meta,
                          mirage_fill_fn fill, void *ctx)
{
    size_t mtu = mirage_eth_mtu(eth);
    struct eth_fill f = {
        src ? src : mirage_eth_mac(eth), dst, ethertype, size ? size : mtu, fill, ctx};
    struct mirage_net_meta m;
    int r;

    if (meta != NULL && meta->gso_type != MIRAGE_NET_GSO_NONE)
        mtu = mirage_netif_frame_max(eth->nif) - MIRAGE_ETH_HLEN;
    if (f.size > mtu) {
        eth->st.tx_errors++;
        return MIRAGE_EMSGSIZE;
    }
    if (meta != NULL)
        m = mirage_net_meta_behind(meta, MIRAGE_ETH_HLEN);
    r = mirage_netif_write_meta(eth->nif, f.size + MIRAGE_ETH_HLEN, meta ? &m : NULL, fill_frame,
                                &f);
    if (r == 0)
        eth->st.tx_frames++;
    else
        eth->st.tx_errors++;
    return r;
}

void mirage_eth_stats(const struct mirage_eth *eth, struct mirage_eth_stats *st)
{
    *st = eth->st;
}

char *mirage_eth_format(const uint8_t *mac, char *buf)
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    return buf;
}
