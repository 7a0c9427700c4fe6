/* ipv6.c: IPv6 input (the extension-header chain, reassembly, dispatch) and output (source, next
 * hop, path MTU, fragments). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipv6_internal.h"
#include "mirage/checksum.h"
#include "mirage/log.h"
#include "mirage/netif.h"
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

int ipv6_same_prefix(const uint8_t *a, const uint8_t *b, unsigned bits)
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
 * usable address whose prefix holds them, else the first usable global;
 * a deprecated address only when there is no other (rule 3). */
int mirage_ipv6_src(const struct mirage_ipv6 *ip, const uint8_t dst[16], uint8_t src[16])
{
    const struct addr6 *pick = NULL;
    int link =
        mirage_ipv6_is_link_local(dst) || (mirage_ipv6_is_multicast(dst) && (dst[1] & 0x0f) <= 2);

    for (size_t i = 0; i < ip->n_addrs; i++) {
        const struct addr6 *a = &ip->addrs[i];
        if (a->state != MIRAGE_IPV6_PREFERRED || mirage_ipv6_is_link_local(a->a) != link)
            continue;
        if (pick == NULL || (pick->deprecated && !a->deprecated) ||
            (pick->deprecated == a->deprecated && ipv6_same_prefix(a->a, dst, a->prefix) &&
             !ipv6_same_prefix(pick->a, dst, pick->prefix)))
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

/* Whether we hold an address of (dst)'s scope (link-local or not) in (state). */
static int scoped(const struct mirage_ipv6 *ip, const uint8_t dst[16],
                  enum mirage_ipv6_addr_state state)
{
    int link =
        mirage_ipv6_is_link_local(dst) || (mirage_ipv6_is_multicast(dst) && (dst[1] & 0x0f) <= 2);

    for (size_t i = 0; i < ip->n_addrs; i++)
        if (ip->addrs[i].state == state && mirage_ipv6_is_link_local(ip->addrs[i].a) == link)
            return 1;
    return 0;
}

int mirage_ipv6_src_wait(struct mirage_ipv6 *ip, const uint8_t dst[16], uint8_t src[16],
                         uint64_t deadline)
{
    /* Not the link-local fallback for a global destination while the global
     * address is still in DAD: the peer would see the wrong source. */
    while (!scoped(ip, dst, MIRAGE_IPV6_PREFERRED) && scoped(ip, dst, MIRAGE_IPV6_TENTATIVE)) {
        ip->src_waiters++;
        int w = mirage_cond_wait(&ip->addr_change, deadline);
        ip->src_waiters--;
        if (ip->closing) { /* the stack went while we waited: the last one out frees it */
            if (ip->src_waiters == 0)
                free(ip);
            return MIRAGE_EHOSTUNREACH;
        }
        if (w == MIRAGE_ECANCELED)
            return w;
        if (w != 0)
            break;
    }
    return mirage_ipv6_src(ip, dst, src);
}

/* ---- the destination cache: path MTUs and redirects ---------------------- */

struct dest6 *ipv6_dest(struct mirage_ipv6 *ip, const uint8_t dst[16], int make, uint64_t now)
{
    struct dest6 *victim = NULL;

    for (size_t i = 0; i < IPV6_DEST_MAX; i++) {
        struct dest6 *d = &ip->dests[i];
        if (d->expires > now && memcmp(d->dst, dst, 16) == 0)
            return d;
        if (victim == NULL || d->expires < victim->expires)
            victim = d;
    }
    if (!make)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->dst, dst, 16);
    return victim;
}

size_t mirage_ipv6_mtu(const struct mirage_ipv6 *ip, const uint8_t dst[16])
{
    const struct dest6 *d =
        ipv6_dest((struct mirage_ipv6 *)ip, dst, 0, mirage_clock_monotonic());
    size_t mtu = ip->link_mtu;

    if (d != NULL && d->mtu != 0 && d->mtu < mtu)
        mtu = d->mtu;
    return mtu - MIRAGE_IPV6_HLEN;
}

uint32_t mirage_ipv6_offloads(const struct mirage_ipv6 *ip)
{
    const struct mirage_netif *nif = mirage_eth_netif(ip->eth);

    return nif != NULL ? nif->info.offloads : 0;
}

int mirage_ipv6_too_big(struct mirage_ipv6 *ip, const uint8_t dst[16], uint32_t mtu)
{
    uint64_t now = mirage_clock_monotonic();
    struct dest6 *d;
    char a[46];

    /* RFC 8201 4: never below the minimum link MTU, and never raised by one. */
    if (mtu < MIRAGE_IPV6_MIN_MTU)
        mtu = MIRAGE_IPV6_MIN_MTU;
    if (mirage_ipv6_is_multicast(dst) || mtu >= mirage_ipv6_mtu(ip, dst) + MIRAGE_IPV6_HLEN)
        return 0;
    d = ipv6_dest(ip, dst, 1, now);
    d->mtu = (uint16_t)mtu;
    d->expires = now + MIRAGE_IPV6_PMTU_EXPIRY_NS;
    ip->st.pmtu_updates++;
    mirage_log_info(&ipv6_log, "path MTU to %s is now %u (packet too big)",
                    mirage_ipv6_format(dst, a), (unsigned)mtu);
    for (size_t i = 0; i < IPV6_PMTU_FNS; i++)
        if (ip->pmtu_fn[i].fn)
            ip->pmtu_fn[i].fn(ip->pmtu_fn[i].ctx, dst, mtu - MIRAGE_IPV6_HLEN);
    return 1;
}

int mirage_ipv6_on_pmtu(struct mirage_ipv6 *ip, mirage_ipv6_pmtu_fn fn, void *ctx)
{
    for (size_t i = 0; i < IPV6_PMTU_FNS; i++)
        if (ip->pmtu_fn[i].ctx == ctx && ip->pmtu_fn[i].fn != NULL) {
            ip->pmtu_fn[i].fn = fn;
            return 0;
        }
    if (fn == NULL)
        return 0;
    for (size_t i = 0; i < IPV6_PMTU_FNS; i++)
        if (ip->pmtu_fn[i].fn == NULL) {
            ip->pmtu_fn[i].fn = fn;
            ip->pmtu_fn[i].ctx = ctx;
            return 0;
        }
    return MIRAGE_ENOSPC;
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

struct addr6 *ipv6_add_addr(struct mirage_ipv6 *ip, const uint8_t a[16], uint8_t prefix)
{
    struct addr6 *ad;

    if (ip->n_addrs == IPV6_MAX_ADDRS)
        return NULL;
    ad = &ip->addrs[ip->n_addrs++];
    memset(ad, 0, sizeof(*ad));
    memcpy(ad->a, a, 16);
    ad->prefix = prefix;
    ad->state = MIRAGE_IPV6_TENTATIVE;
    ad->preferred = ad->valid = UINT64_MAX;
    return ad;
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
    ip->link_mtu = mirage_eth_mtu(eth);
    reasm_init(&ip->reasm, &(struct reasm_limits){MIRAGE_IPV6_REASM_BYTES,
                                                  MIRAGE_IPV6_REASM_FRAGMENTS,
                                                  MIRAGE_IPV6_REASM_TIMEOUT_NS, MAX_PAYLOAD,
                                                  MIRAGE_IPV6_MIN_MTU});
    ipv6_add_addr(ip, ll, 64);
    if (cfg->has_addr && memcmp(cfg->addr, ll, 16) != 0)
        ipv6_add_addr(ip, cfg->addr, cfg->prefix);
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
    reasm_clear(&ip->reasm);
    if (ip->src_waiters > 0) { /* fibers in mirage_ipv6_src_wait: the last frees it */
        ip->closing = 1;
        mirage_cond_broadcast(&ip->addr_change);
        return;
    }
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

static void input(struct mirage_ipv6 *ip, const uint8_t *smac, const uint8_t *pkt, size_t len,
                  int whole);

/* A reassembled datagram: the first fragment's headers up to its fragment
 * header (hdr), then the payload. The fragment header goes, the field that
 * named it names what it named, and the packet is read again from the top. */
static void reassembled(void *ctx, const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                        size_t len)
{
    struct mirage_ipv6 *ip = ctx;
    size_t frag_at = hdr_len - 8, field = 6, off = MIRAGE_IPV6_HLEN, total = frag_at + len;
    uint8_t *pkt;

    if (total - MIRAGE_IPV6_HLEN > MAX_PAYLOAD) {
        ip->st.reasm_dropped++;
        return;
    }
    /* The chain was walked on arrival: every header fits before frag_at. */
    while (off < frag_at) {
        uint8_t next = hdr[field];
        field = off;
        off += next == MIRAGE_IPV6_PROTO_FRAGMENT ? 8 : ((size_t)hdr[off + 1] + 1) * 8;
    }
    pkt = malloc(total);
    if (pkt == NULL) {
        ip->st.reasm_dropped++;
        return;
    }
    memcpy(pkt, hdr, frag_at);
    pkt[field] = hdr[frag_at];
    memcpy(pkt + frag_at, payload, len);
    pkt[4] = (uint8_t)((total - MIRAGE_IPV6_HLEN) >> 8);
    pkt[5] = (uint8_t)(total - MIRAGE_IPV6_HLEN);
    ip->st.reassembled++;
    input(ip, NULL, pkt, total, 1);
    free(pkt);
}

/* A datagram whose fragments stopped coming: time exceeded, code 1, quoting
 * its first fragment (RFC 8200 4.5). */
static void expired(void *ctx, const uint8_t *hdr, size_t hdr_len, const uint8_t *data, size_t len)
{
    struct mirage_ipv6 *ip = ctx;
    uint8_t quote[MIRAGE_IPV6_MIN_MTU];
    struct mirage_ipv6_rx rx = {.src = hdr + 8, .dst = hdr + 24, .pkt = quote};

    ip->st.reasm_timeouts++;
    if (ip->err_fn == NULL)
        return;
    rx.pkt_len = hdr_len + len < sizeof(quote) ? hdr_len + len : sizeof(quote);
    memcpy(quote, hdr, hdr_len);
    memcpy(quote + hdr_len, data, rx.pkt_len - hdr_len);
    ip->err_fn(ip->err_ctx, 3, 1, 0, &rx);
}

void ipv6_reasm_expire(struct mirage_ipv6 *ip, uint64_t now)
{
    reasm_expire(&ip->reasm, now, expired, ip);
}

/* A fragment whose fragment header is at (off) in rx->pkt (RFC 8200 4.5). */
static void fragment(struct mirage_ipv6 *ip, const struct mirage_ipv6_rx *rx, size_t off)
{
    const uint8_t *p = rx->pkt;
    uint16_t fo = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
    struct reasm_frag f = {p, off + 8, p + off + 8, rx->pkt_len - off - 8, fo & 0xfff8, fo & 1};
    struct reasm_key k = {.id = (uint32_t)p[off + 4] << 24 | (uint32_t)p[off + 5] << 16 |
                                (uint32_t)p[off + 6] << 8 | p[off + 7]};
    uint64_t now = mirage_clock_monotonic(), dropped = ip->reasm.dropped;

    ip->st.rx_fragments++;
    if (f.more && f.len % 8 != 0) {
        ip->st.reasm_dropped++;
        problem(ip, rx, 0, 4); /* the payload length */
        return;
    }
    if (f.off + f.len > MAX_PAYLOAD) {
        ip->st.reasm_dropped++;
        problem(ip, rx, 0, off + 2); /* the fragment offset */
        return;
    }
    memcpy(k.src, rx->src, 16);
    memcpy(k.dst, rx->dst, 16);
    ipv6_reasm_expire(ip, now);
    reasm_input(&ip->reasm, &k, &f, now, reassembled, ip);
    ip->st.reasm_dropped += ip->reasm.dropped - dropped;
    nd_rearm(ip);
}

static void input(struct mirage_ipv6 *ip, const uint8_t *smac, const uint8_t *pkt, size_t len,
                  int whole)
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
    /* A reassembled datagram was checked by nobody: its fragments were separate frames. */
    rx.csum_ok = !whole && mirage_netif_rx_csum_ok(mirage_eth_netif(ip->eth));
    rx.gso_size = 0;
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
             * (RFC 6946); real fragments wait for reassembly. A reassembled
             * datagram holds no second one. */
            if ((fo & 0xfff9) != 0) {
                if (whole || mirage_netif_rx_udp_gso(mirage_eth_netif(ip->eth), 0, NULL, 0) < 0) {
                    ip->st.rx_bad++;
                    return;
                }
                fragment(ip, &rx, off);
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
    if (!whole) {
        int gso = mirage_netif_rx_udp_gso(mirage_eth_netif(ip->eth), next, rx.payload, rx.len);

        if (gso < 0)
            return;
        rx.gso_size = (uint16_t)gso;
    }
    if (next == MIRAGE_IPV6_PROTO_NONE)
        return;
    if (next == MIRAGE_IPV6_PROTO_ICMPV6 && rx.len >= 4 &&
        ((rx.payload[0] >= 133 && rx.payload[0] <= 137) || rx.payload[0] == 130)) {
        struct mirage_csum cs = MIRAGE_CSUM_INIT;
        mirage_csum_add_pseudo6(&cs, rx.src, rx.dst, next, (uint32_t)rx.len);
        mirage_csum_add(&cs, rx.payload, rx.len);
        /* RFC 6980: neighbour discovery is never fragmented. */
        if (mirage_csum_finish(&cs) != 0 || whole) {
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
    input(ip, NULL, pkt, len, 0);
}

static void eth_rx(void *ctx, const struct mirage_eth_rx *rx)
{
    input(ctx, rx->src, rx->payload, rx->len, 0);
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

/* A datagram over the path MTU, sent as fragments (RFC 8200 4.5): the
 * payload is built whole once, then each fragment copies its part. */
struct frag_tx {
    const struct tx *t;
    const uint8_t *data;
    size_t off, len;
    int more;
    uint32_t id;
};

static int fill_frag(void *ctx, uint8_t *buf, size_t size)
{
    const struct frag_tx *f = ctx;
    struct mirage_wr w = mirage_wr_init(buf, size);

    mirage_wr_be32(&w, 6u << 28);
    mirage_wr_be16(&w, (uint16_t)(8 + f->len));
    mirage_wr_u8(&w, MIRAGE_IPV6_PROTO_FRAGMENT);
    mirage_wr_u8(&w, f->t->hop_limit);
    mirage_wr_bytes(&w, f->t->src, 16);
    mirage_wr_bytes(&w, f->t->out->dst, 16);
    mirage_wr_u8(&w, f->t->out->proto);
    mirage_wr_u8(&w, 0);
    mirage_wr_be16(&w, (uint16_t)(f->off | (f->more ? 1 : 0)));
    mirage_wr_be32(&w, f->id);
    mirage_wr_bytes(&w, f->data + f->off, f->len);
    return w.bad ? MIRAGE_EMSGSIZE : (int)w.off;
}

/* Hands a packet of (size) bytes to the link: to (mac) when known, else to
 * next hop (hop) through neighbour discovery; (meta) for the device or NULL. */
static int emit(struct mirage_ipv6 *ip, const uint8_t *mac, const uint8_t *hop, size_t size,
                const struct mirage_net_meta *meta, mirage_fill_fn fill, void *ctx)
{
    if (mac != NULL)
        return mirage_eth_write_meta(ip->eth, NULL, mac, MIRAGE_ETHERTYPE_IPV6, size, meta, fill,
                                     ctx);
    return nd_output(ip, hop, size, meta, fill, ctx);
}

static int send_fragments(struct mirage_ipv6 *ip, const struct tx *t, const uint8_t *mac,
                          const uint8_t *hop, size_t total)
{
    size_t per = (mirage_ipv6_mtu(ip, t->out->dst) - 8) & ~(size_t)7, len = 0;
    struct frag_tx f = {t, NULL, 0, 0, 0, (uint32_t)mirage_random_u64()};
    uint8_t *buf = malloc(total);
    int r = 0;

    if (buf == NULL)
        return MIRAGE_ENOMEM;
    if (t->out->size) {
        r = t->fill(t->ctx, buf, t->out->size);
        if (r < 0 || (size_t)r > t->out->size) {
            free(buf);
            return r < 0 ? r : MIRAGE_EINVAL;
        }
        len = (size_t)r;
    }
    for (size_t i = 0; i < t->n; i++) {
        memcpy(buf + len, t->iov[i].base, t->iov[i].len);
        len += t->iov[i].len;
    }
    f.data = buf;
    for (r = 0; f.off < len && r == 0; f.off += per) {
        f.len = len - f.off > per ? per : len - f.off;
        f.more = f.off + f.len < len;
        r = emit(ip, mac, hop, MIRAGE_IPV6_HLEN + 8 + f.len, NULL, fill_frag, &f);
        if (r == 0)
            ip->st.tx_fragments++;
    }
    free(buf);
    return r;
}

/* The next hop towards unicast (dst) (RFC 4861 5.2): a redirect's target,
 * (dst) itself on-link, else the configured gateway or a default router. */
const uint8_t *ipv6_next_hop(struct mirage_ipv6 *ip, const uint8_t *dst)
{
    uint64_t now = mirage_clock_monotonic();
    const struct dest6 *d;

    if (mirage_ipv6_is_link_local(dst))
        return dst;
    d = ipv6_dest(ip, dst, 0, now);
    if (d != NULL && d->has_hop)
        return d->hop;
    for (size_t i = 1; i < ip->n_addrs; i++)
        if (ip->addrs[i].state != MIRAGE_IPV6_DUPLICATE &&
            ipv6_same_prefix(ip->addrs[i].a, dst, ip->addrs[i].prefix))
            return dst;
    if (ip->cfg.has_gateway)
        return ip->cfg.gateway;
    return nd_router(ip, now);
}

int ipv6_send(struct mirage_ipv6 *ip, const uint8_t *mac, const struct mirage_ipv6_out *out,
              mirage_fill_fn fill, void *ctx, const struct mirage_iovec *iov, size_t n)
{
    struct tx t = {out, out->src, 0, fill, ctx, iov, n};
    uint8_t src[16], m[6];
    size_t total = out->size + iov_total(iov, n);
    const uint8_t *dst = out->dst;
    const uint8_t *hop = dst;

    if (out->size && fill == NULL)
        return counted(ip, MIRAGE_EINVAL);
    if (total > MAX_PAYLOAD)
        return counted(ip, MIRAGE_EMSGSIZE);
    if (t.src == NULL) {
        int r = mirage_ipv6_src(ip, dst, src);
        if (r < 0)
            return counted(ip, r);
        t.src = src;
    }
    t.hop_limit = out->hop_limit > 0 ? (uint8_t)(out->hop_limit > 255 ? 255 : out->hop_limit)
                                     : ip->cfg.hop_limit;
    if (mac == NULL && mirage_ipv6_is_multicast(dst)) {
        m[0] = m[1] = 0x33;
        memcpy(m + 2, dst + 12, 4);
        mac = m;
    } else if (mac == NULL && (hop = ipv6_next_hop(ip, dst)) == NULL) {
        return counted(ip, MIRAGE_EHOSTUNREACH);
    }
    if (out->meta != NULL) {
        /* For the device: offsets from the frame's IPv6 header, never fragments;
         * a GSO datagram up to the payload length's 65535 bytes. */
        struct mirage_net_meta dm = mirage_net_meta_behind(out->meta, MIRAGE_IPV6_HLEN);

        if (dm.gso_type == MIRAGE_NET_GSO_NONE && total > mirage_ipv6_mtu(ip, dst))
            return counted(ip, MIRAGE_EMSGSIZE);
        return counted(ip, emit(ip, mac, hop, MIRAGE_IPV6_HLEN + total, &dm, fill_whole, &t));
    }
    if (total > mirage_ipv6_mtu(ip, dst))
        return counted(ip, send_fragments(ip, &t, mac, hop, total));
    return counted(ip, emit(ip, mac, hop, MIRAGE_IPV6_HLEN + total, NULL, fill_whole, &t));
}

int mirage_ipv6_write(struct mirage_ipv6 *ip, const struct mirage_ipv6_out *out,
                      mirage_fill_fn fill, void *ctx, const struct mirage_iovec *iov, size_t n)
{
    if (out->dst == NULL || mirage_ipv6_is_unspecified(out->dst))
        return counted(ip, MIRAGE_EINVAL);
    return ipv6_send(ip, NULL, out, fill, ctx, iov, n);
}
