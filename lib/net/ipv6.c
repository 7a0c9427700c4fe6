/* ipv6.c: IPv6 input (the extension-header chain, dispatch) and output (source, next hop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipv6_internal.h"
#include "mirage/checksum.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/time.h"
#include "mirage/wire.h"

MIRAGE_LOG_SOURCE(ipv6_log, "ipv6", "IPv6 layer");

#define MAX_PAYLOAD 65535

/* ---- addresses ---------------------------------------------------------- */

char *mirage_ipv6_format(const uint8_t a[16], char *buf)
{
    int best = -1, best_len = 0, run = -1;
    size_t n = 0;

    /* RFC 5952 4.2: the longest run of two or more zero groups, the first if tied. */
    for (int i = 0; i <= 8; i++) {
        int zero = i < 8 && a[2 * i] == 0 && a[2 * i + 1] == 0;
        if (zero && run < 0)
            run = i;
        if (!zero && run >= 0) {
            if (i - run > best_len && i - run >= 2) {
                best = run;
                best_len = i - run;
            }
            run = -1;
        }
    }
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            n += (size_t)snprintf(buf + n, 46 - n, "::");
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len)
            buf[n++] = ':';
        n += (size_t)snprintf(buf + n, 46 - n, "%x", (unsigned)a[2 * i] << 8 | a[2 * i + 1]);
    }
    buf[n] = '\0';
    return buf;
}

int mirage_ipv6_is_link_local(const uint8_t a[16])
{
    return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

int mirage_ipv6_is_multicast(const uint8_t a[16])
{
    return a[0] == 0xff;
}

int mirage_ipv6_is_unspecified(const uint8_t a[16])
{
    static const uint8_t zero[16];

    return memcmp(a, zero, 16) == 0;
}

void mirage_ipv6_solicited_node(const uint8_t a[16], uint8_t out[16])
{
    static const uint8_t base[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};

    memcpy(out, base, 13);
    memcpy(out + 13, a + 13, 3);
}

/* Whether (a) and (b) share their first (bits) bits. */
static int same_prefix(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, whole) != 0)
        return 0;
    return rest == 0 || ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

struct addr6 *ipv6_find_addr(struct mirage_ipv6 *ip, const uint8_t a[16])
{
    for (size_t i = 0; i < ip->n_addrs; i++)
        if (memcmp(ip->addrs[i].a, a, 16) == 0)
            return &ip->addrs[i];
    return NULL;
}

int mirage_ipv6_is_local(const struct mirage_ipv6 *ip, const uint8_t a[16])
{
    const struct addr6 *ad = ipv6_find_addr((struct mirage_ipv6 *)ip, a);

    return ad != NULL && ad->state == MIRAGE_IPV6_PREFERRED;
}

/* The multicast groups we listen to: all-nodes (interface and link scope)
 * and the solicited-node group of each address we hold or are testing. */
static int is_our_group(const struct mirage_ipv6 *ip, const uint8_t a[16])
{
    static const uint8_t all_nodes[14] = {0xff, 0x02};
    uint8_t sn[16];

    if ((a[1] == 0x01 || a[1] == 0x02) && memcmp(a + 2, all_nodes + 2, 12) == 0 && a[14] == 0 &&
        a[15] == 1)
        return 1;
    for (size_t i = 0; i < ip->n_addrs; i++) {
        if (ip->addrs[i].state == MIRAGE_IPV6_DUPLICATE)
            continue;
        mirage_ipv6_solicited_node(ip->addrs[i].a, sn);
        if (memcmp(sn, a, 16) == 0)
            return 1;
    }
    return 0;
}

/* RFC 6724, simplified to what one interface needs: a link-local or
 * multicast destination gets the link-local source; others the first
 * usable address whose prefix holds them, else the first usable global. */
int mirage_ipv6_src(const struct mirage_ipv6 *ip, const uint8_t dst[16], uint8_t src[16])
{
    const struct addr6 *pick = NULL;
    int link =
        mirage_ipv6_is_link_local(dst) || (mirage_ipv6_is_multicast(dst) && (dst[1] & 0x0f) <= 2);

    for (size_t i = 0; i < ip->n_addrs; i++) {
        const struct addr6 *a = &ip->addrs[i];
        if (a->state != MIRAGE_IPV6_PREFERRED || mirage_ipv6_is_link_local(a->a) != link)
            continue;
        if (pick == NULL ||
            (same_prefix(a->a, dst, a->prefix) && !same_prefix(pick->a, dst, pick->prefix)))
            pick = a;
    }
    if (pick == NULL && !link)
        for (size_t i = 0; i < ip->n_addrs && pick == NULL; i++)
            if (ip->addrs[i].state == MIRAGE_IPV6_PREFERRED)
                pick = &ip->addrs[i];
    if (pick == NULL)
        return MIRAGE_EHOSTUNREACH;
    memcpy(src, pick->a, 16);
    return 0;
}

size_t mirage_ipv6_mtu(const struct mirage_ipv6 *ip, const uint8_t dst[16])
{
    (void)dst;
    return mirage_eth_mtu(ip->eth) - MIRAGE_IPV6_HLEN;
}

size_t mirage_ipv6_addresses(const struct mirage_ipv6 *ip, uint8_t (*out)[16], uint8_t *prefix,
                             enum mirage_ipv6_addr_state *state, size_t n)
{
    for (size_t i = 0; i < ip->n_addrs && i < n; i++) {
        if (out)
            memcpy(out[i], ip->addrs[i].a, 16);
        if (prefix)
            prefix[i] = ip->addrs[i].prefix;
        if (state)
            state[i] = (enum mirage_ipv6_addr_state)ip->addrs[i].state;
    }
    return ip->n_addrs;
}

void mirage_ipv6_stats(const struct mirage_ipv6 *ip, struct mirage_ipv6_stats *st)
{
    *st = ip->st;
}

/* ---- the layer ---------------------------------------------------------- */

static void eth_rx(void *ctx, const struct mirage_eth_rx *rx);

static void add_addr(struct mirage_ipv6 *ip, const uint8_t a[16], uint8_t prefix)
{
    struct addr6 *ad = &ip->addrs[ip->n_addrs++];

    memset(ad, 0, sizeof(*ad));
    memcpy(ad->a, a, 16);
    ad->prefix = prefix;
    ad->state = MIRAGE_IPV6_TENTATIVE;
}

struct mirage_ipv6 *mirage_ipv6_new(struct mirage_eth *eth, const struct mirage_ipv6_config *cfg)
{
    struct mirage_ipv6 *ip;
    const uint8_t *mac = mirage_eth_mac(eth);
    uint8_t ll[16] = {0xfe, 0x80};

    if (cfg->prefix > 128 ||
        (cfg->has_addr &&
         (mirage_ipv6_is_multicast(cfg->addr) || mirage_ipv6_is_unspecified(cfg->addr))) ||
        (cfg->has_gateway && mirage_ipv6_is_multicast(cfg->gateway)))
        return NULL;
    ip = calloc(1, sizeof(*ip));
    if (ip == NULL)
        return NULL;
    ip->eth = eth;
    ip->cfg = *cfg;
    if (ip->cfg.hop_limit == 0)
        ip->cfg.hop_limit = 64;
    if (ip->cfg.reachable == 0)
        ip->cfg.reachable = MIRAGE_SEC(30);
    if (ip->cfg.retrans == 0)
        ip->cfg.retrans = MIRAGE_SEC(1);
    if (ip->cfg.dad_transmits == 0)
        ip->cfg.dad_transmits = 1;
    if (ip->cfg.cache_max == 0)
        ip->cfg.cache_max = 256;
    if (ip->cfg.queue_max == 0)
        ip->cfg.queue_max = 16;
    /* RFC 4861 6.3.2: uniformly between 0.5 and 1.5 times the base. */
    ip->reachable_time =
        ip->cfg.reachable / 2 + mirage_random_u64() % (ip->cfg.reachable ? ip->cfg.reachable : 1);
    /* The link-local address: fe80::/64 and the MAC's modified EUI-64. */
    ll[8] = mac[0] ^ 0x02;
    ll[9] = mac[1];
    ll[10] = mac[2];
    ll[11] = 0xff;
    ll[12] = 0xfe;
    ll[13] = mac[3];
    ll[14] = mac[4];
    ll[15] = mac[5];
    add_addr(ip, ll, 64);
    if (cfg->has_addr && memcmp(cfg->addr, ll, 16) != 0)
        add_addr(ip, cfg->addr, cfg->prefix);
    if (nd_init(ip) < 0) {
        free(ip);
        return NULL;
    }
    mirage_eth_set_handler(eth, MIRAGE_ETHERTYPE_IPV6, eth_rx, ip);
    nd_start(ip);
    return ip;
}

void mirage_ipv6_free(struct mirage_ipv6 *ip)
{
    if (ip == NULL)
        return;
    mirage_eth_set_handler(ip->eth, MIRAGE_ETHERTYPE_IPV6, NULL, NULL);
    nd_free(ip);
    free(ip);
}

int mirage_ipv6_register(struct mirage_ipv6 *ip, uint8_t proto, mirage_ipv6_rx_fn fn, void *ctx)
{
    if (fn && ip->proto[proto].fn && (ip->proto[proto].fn != fn || ip->proto[proto].ctx != ctx))
        return MIRAGE_EADDRINUSE;
    ip->proto[proto].fn = fn;
    ip->proto[proto].ctx = fn ? ctx : NULL;
    return 0;
}

void mirage_ipv6_on_error(struct mirage_ipv6 *ip, mirage_ipv6_error_fn fn, void *ctx)
{
    ip->err_fn = fn;
    ip->err_ctx = ctx;
}

/* ---- input -------------------------------------------------------------- */

/* ICMPv6 parameter problem (RFC 4443 3.4) about the packet, through the ICMPv6 layer. */
static void problem(struct mirage_ipv6 *ip, const struct mirage_ipv6_rx *rx, uint8_t code,
                    size_t pointer)
{
    if (ip->err_fn)
        ip->err_fn(ip->err_ctx, 4, code, (uint32_t)pointer, rx);
}

/*
 * The options of a hop-by-hop or destination options header at [off, end).
 * Returns 0 to go on, -1 to drop the packet. An unknown option is handled as
 * the two high bits of its type say (RFC 8200 4.2): skip it, drop silently,
 * drop with a parameter problem, or that unless the destination is multicast.
 */
static int options(struct mirage_ipv6 *ip, const struct mirage_ipv6_rx *rx, size_t off, size_t end)
{
    const uint8_t *p = rx->pkt;
    size_t i = off + 2;

    while (i < end) {
        uint8_t type = p[i], olen;

        if (type == 0) { /* Pad1 */
            i++;
            continue;
        }
        if (end - i < 2 || (size_t)p[i + 1] > end - i - 2) {
            ip->st.rx_bad++;
            return -1;
        }
        olen = p[i + 1];
        /* PadN and the router alert (RFC 2711) change nothing for a host. */
        if (type != 1 && type != 5) {
            switch (type >> 6) {
            case 0:
                break;
            case 1:
                ip->st.rx_option_drops++;
                return -1;
            case 3:
                if (mirage_ipv6_is_multicast(rx->dst)) {
                    ip->st.rx_option_drops++;
                    return -1;
                }
                /* fall through */
            default:
                ip->st.rx_option_drops++;
                problem(ip, rx, 2, i);
                return -1;
            }
        }
        i += 2 + (size_t)olen;
    }
    return 0;
}

static void input(struct mirage_ipv6 *ip, const uint8_t *smac, const uint8_t *pkt, size_t len)
{
    struct mirage_rd c = mirage_rd_init(pkt, len);
    uint32_t vtf = mirage_rd_be32(&c);
    uint16_t plen = mirage_rd_be16(&c);
    uint8_t next = mirage_rd_u8(&c);
    struct mirage_ipv6_rx rx;
    size_t off = MIRAGE_IPV6_HLEN;

    rx.hop_limit = mirage_rd_u8(&c);
    rx.src = mirage_rd_take(&c, 16);
    rx.dst = mirage_rd_take(&c, 16);
    if (c.bad || vtf >> 28 != 6 || (size_t)plen > len - MIRAGE_IPV6_HLEN ||
        mirage_ipv6_is_multicast(rx.src)) {
        ip->st.rx_bad++;
        return;
    }
    if (mirage_ipv6_is_multicast(rx.dst) ? !is_our_group(ip, rx.dst)
                                         : !mirage_ipv6_is_local(ip, rx.dst)) {
        ip->st.rx_not_for_us++;
        return;
    }
    rx.tclass = (uint8_t)(vtf >> 20);
    rx.pkt = pkt;
    rx.pkt_len = MIRAGE_IPV6_HLEN + (size_t)plen; /* Ethernet padding goes */
    rx.proto_off = 6;
    rx.proto = next;
    rx.payload = NULL; /* until the walk reaches the upper layer */
    rx.len = 0;
    /* Each header moves at least 8 bytes on, so the walk ends within the
     * packet; MIRAGE_IPV6_MAX_EXT bounds it further. */
    for (int n_ext = 0;; n_ext++) {
        size_t hlen;

        if (n_ext > MIRAGE_IPV6_MAX_EXT) {
            ip->st.rx_bad++;
            return;
        }
        if (next != MIRAGE_IPV6_PROTO_HOPOPT && next != MIRAGE_IPV6_PROTO_DSTOPTS &&
            next != MIRAGE_IPV6_PROTO_ROUTING && next != MIRAGE_IPV6_PROTO_FRAGMENT)
            break;
        if (rx.pkt_len - off < 8) {
            ip->st.rx_bad++;
            return;
        }
        hlen = next == MIRAGE_IPV6_PROTO_FRAGMENT ? 8 : ((size_t)pkt[off + 1] + 1) * 8;
        if (hlen > rx.pkt_len - off) {
            ip->st.rx_bad++;
            return;
        }
        switch (next) {
        case MIRAGE_IPV6_PROTO_HOPOPT:
            /* Only right after the fixed header (RFC 8200 4.3). */
            if (off != MIRAGE_IPV6_HLEN) {
                ip->st.rx_bad++;
                problem(ip, &rx, 1, rx.proto_off);
                return;
            }
            /* fall through */
        case MIRAGE_IPV6_PROTO_DSTOPTS:
            if (options(ip, &rx, off, off + hlen) < 0)
                return;
            break;
        case MIRAGE_IPV6_PROTO_ROUTING:
            /* A host implements no routing type (type 0 is gone, RFC 5095):
             * with segments left it cannot go on (RFC 8200 4.4). */
            if (pkt[off + 3] != 0) {
                ip->st.rx_bad++;
                problem(ip, &rx, 0, off + 2);
                return;
            }
            break;
        case MIRAGE_IPV6_PROTO_FRAGMENT: {
            uint16_t fo = (uint16_t)(pkt[off + 2] << 8 | pkt[off + 3]);
            /* An atomic fragment (offset 0, no more) is the whole datagram
             * (RFC 6946); real fragments wait for reassembly, not done yet. */
            if ((fo & 0xfff9) != 0) {
                ip->st.rx_fragments++;
                return;
            }
            break;
        }
        }
        rx.proto_off = off;
        next = pkt[off];
        off += hlen;
    }
    rx.proto = next;
    rx.payload = pkt + off;
    rx.len = rx.pkt_len - off;
    if (next == MIRAGE_IPV6_PROTO_NONE)
        return;
    if (next == MIRAGE_IPV6_PROTO_ICMPV6 && rx.len >= 4 && rx.payload[0] >= 133 &&
        rx.payload[0] <= 137) {
        struct mirage_csum cs = MIRAGE_CSUM_INIT;
        mirage_csum_add_pseudo6(&cs, rx.src, rx.dst, next, (uint32_t)rx.len);
        mirage_csum_add(&cs, rx.payload, rx.len);
        if (mirage_csum_finish(&cs) != 0) {
            ip->st.nd_bad++;
            return;
        }
        nd_input(ip, smac, &rx);
        return;
    }
    if (ip->proto[next].fn == NULL) {
        ip->st.rx_no_proto++;
        problem(ip, &rx, 1, rx.proto_off);
        return;
    }
    ip->st.rx_datagrams++;
    ip->proto[next].fn(ip->proto[next].ctx, &rx);
}

void mirage_ipv6_input(struct mirage_ipv6 *ip, const uint8_t *pkt, size_t len)
{
    input(ip, NULL, pkt, len);
}

static void eth_rx(void *ctx, const struct mirage_eth_rx *rx)
{
    input(ctx, rx->src, rx->payload, rx->len);
}

/* ---- output ------------------------------------------------------------- */

struct tx {
    const struct mirage_ipv6_out *out;
    const uint8_t *src;
    uint8_t hop_limit;
    mirage_fill_fn fill;
    void *ctx;
    const struct mirage_iovec *iov;
    size_t n;
};

static size_t iov_total(const struct mirage_iovec *iov, size_t n)
{
    size_t t = 0;

    for (size_t i = 0; i < n; i++)
        t += iov[i].len;
    return t;
}

static int fill_whole(void *ctx, uint8_t *buf, size_t size)
{
    struct tx *t = ctx;
    size_t rest = iov_total(t->iov, t->n), n = 0;
    struct mirage_wr w;
    uint8_t *p;

    if (t->out->size) {
        int r;
        if (MIRAGE_IPV6_HLEN + t->out->size > size)
            return MIRAGE_EMSGSIZE;
        r = t->fill(t->ctx, buf + MIRAGE_IPV6_HLEN, t->out->size);
        if (r < 0)
            return r;
        if ((size_t)r > t->out->size)
            return MIRAGE_EINVAL;
        n = (size_t)r;
    }
    if (MIRAGE_IPV6_HLEN + n + rest > size || n + rest > MAX_PAYLOAD)
        return MIRAGE_EMSGSIZE;
    p = buf + MIRAGE_IPV6_HLEN + n;
    for (size_t i = 0; i < t->n; i++) {
        memcpy(p, t->iov[i].base, t->iov[i].len);
        p += t->iov[i].len;
    }
    w = mirage_wr_init(buf, MIRAGE_IPV6_HLEN);
    mirage_wr_be32(&w, 6u << 28);
    mirage_wr_be16(&w, (uint16_t)(n + rest));
    mirage_wr_u8(&w, t->out->proto);
    mirage_wr_u8(&w, t->hop_limit);
    mirage_wr_bytes(&w, t->src, 16);
    mirage_wr_bytes(&w, t->out->dst, 16);
    return (int)(MIRAGE_IPV6_HLEN + n + rest);
}

static int counted(struct mirage_ipv6 *ip, int r)
{
    if (r == 0)
        ip->st.tx_datagrams++;
    else
        ip->st.tx_errors++;
    return r;
}

int ipv6_send(struct mirage_ipv6 *ip, const uint8_t *mac, const struct mirage_ipv6_out *out,
              mirage_fill_fn fill, void *ctx, const struct mirage_iovec *iov, size_t n)
{
    struct tx t = {out, out->src, 0, fill, ctx, iov, n};
    uint8_t src[16];
    size_t total = out->size + iov_total(iov, n);
    const uint8_t *dst = out->dst;
    const uint8_t *hop = dst;

    if (out->size && fill == NULL)
        return counted(ip, MIRAGE_EINVAL);
    if (total > mirage_ipv6_mtu(ip, dst))
        return counted(ip, MIRAGE_EMSGSIZE);
    if (t.src == NULL) {
        int r = mirage_ipv6_src(ip, dst, src);
        if (r < 0)
            return counted(ip, r);
        t.src = src;
    }
    t.hop_limit = out->hop_limit > 0 ? (uint8_t)(out->hop_limit > 255 ? 255 : out->hop_limit)
                                     : ip->cfg.hop_limit;
    if (mac != NULL)
        return counted(ip, mirage_eth_write(ip->eth, NULL, mac, MIRAGE_ETHERTYPE_IPV6,
                                            MIRAGE_IPV6_HLEN + total, fill_whole, &t));
    if (mirage_ipv6_is_multicast(dst)) {
        uint8_t m[6] = {0x33, 0x33, dst[12], dst[13], dst[14], dst[15]};
        return counted(ip, mirage_eth_write(ip->eth, NULL, m, MIRAGE_ETHERTYPE_IPV6,
                                            MIRAGE_IPV6_HLEN + total, fill_whole, &t));
    }
    /* On-link: link-local, or inside the prefix of one of our addresses. */
    if (!mirage_ipv6_is_link_local(dst)) {
        int on_link = 0;
        for (size_t i = 1; i < ip->n_addrs && !on_link; i++)
            on_link = ip->addrs[i].state != MIRAGE_IPV6_DUPLICATE &&
                      same_prefix(ip->addrs[i].a, dst, ip->addrs[i].prefix);
        if (!on_link) {
            if (!ip->cfg.has_gateway)
                return counted(ip, MIRAGE_EHOSTUNREACH);
            hop = ip->cfg.gateway;
        }
    }
    return counted(ip, nd_output(ip, hop, MIRAGE_IPV6_HLEN + total, fill_whole, &t));
}

int mirage_ipv6_write(struct mirage_ipv6 *ip, const struct mirage_ipv6_out *out,
                      mirage_fill_fn fill, void *ctx, const struct mirage_iovec *iov, size_t n)
{
    if (out->dst == NULL || mirage_ipv6_is_unspecified(out->dst))
        return counted(ip, MIRAGE_EINVAL);
    return ipv6_send(ip, NULL, out, fill, ctx, iov, n);
}
