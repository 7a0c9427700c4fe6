/* ipv4.c: IPv4 input (checks, reassembly, dispatch) and output (routing, fragmentation). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/checksum.h"
#include "mirage/ipv4.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/time.h"
#include "mirage/wire.h"
#include "reasm.h"

MIRAGE_LOG_SOURCE(ipv4_log, "ipv4", "IPv4 layer");

#define MAX_PAYLOAD (MIRAGE_IPV4_MAX_DATAGRAM - MIRAGE_IPV4_HLEN)
#define FLAG_DF     0x4000
#define FLAG_MF     0x2000

#define PMTU_MAX 16

struct mirage_ipv4 {
    struct mirage_eth *eth;
    struct mirage_arp *arp;
    struct mirage_ipv4_config cfg;
    uint32_t mask;
    uint16_t next_id;
    struct {
        mirage_ipv4_rx_fn fn;
        void *ctx;
    } proto[256];
    uint8_t *scratch; /* MAX_PAYLOAD bytes, for datagrams sent as fragments */
    /* path MTUs fragmentation-needed taught (RFC 1191); n_pmtu live ones,
     * so that the common case costs mirage_ipv4_mtu no clock reading */
    struct {
        uint32_t dst;
        uint16_t mtu;
        uint64_t expires;
    } pmtu[PMTU_MAX];
    unsigned n_pmtu;
    struct {
        mirage_ipv4_pmtu_fn fn;
        void *ctx;
    } pmtu_fn[2];
    struct reasm_cache reasm;
    struct mirage_ipv4_stats st;
};

char *mirage_ipv4_format(uint32_t ip, char *buf)
{
    snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    return buf;
}

/* ---- configuration ------------------------------------------------------ */

static uint32_t mask_of(uint8_t prefix)
{
    return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int mirage_ipv4_set_config(struct mirage_ipv4 *ip, const struct mirage_ipv4_config *cfg)
{
    uint32_t addr = cfg->addr;

    if (cfg->prefix > 32)
        return MIRAGE_EINVAL;
    ip->cfg = *cfg;
    if (ip->cfg.ttl == 0)
        ip->cfg.ttl = 64;
    ip->mask = mask_of(cfg->prefix);
    return mirage_arp_set_ips(ip->arp, &addr, addr ? 1 : 0);
}

void mirage_ipv4_get_config(const struct mirage_ipv4 *ip, struct mirage_ipv4_config *cfg)
{
    *cfg = ip->cfg;
}

static void eth_rx(void *ctx, const struct mirage_eth_rx *rx)
{
    mirage_ipv4_input(ctx, rx->payload, rx->len);
}

struct mirage_ipv4 *mirage_ipv4_new(struct mirage_eth *eth, struct mirage_arp *arp,
                                    const struct mirage_ipv4_config *cfg)
{
    struct mirage_ipv4 *ip;

    if (cfg->prefix > 32)
        return NULL;
    ip = calloc(1, sizeof(*ip));
    if (ip == NULL)
        return NULL;
    ip->eth = eth;
    ip->arp = arp;
    ip->next_id = (uint16_t)mirage_random_u64();
    reasm_init(&ip->reasm, &(struct reasm_limits){MIRAGE_IPV4_REASM_BYTES,
                                                  MIRAGE_IPV4_REASM_FRAGMENTS,
                                                  MIRAGE_IPV4_REASM_TIMEOUT_NS,
                                                  MIRAGE_IPV4_MAX_DATAGRAM - MIRAGE_IPV4_HLEN, 60});
    mirage_ipv4_set_config(ip, cfg);
    mirage_eth_set_handler(eth, MIRAGE_ETHERTYPE_IPV4, eth_rx, ip);
    return ip;
}

void mirage_ipv4_free(struct mirage_ipv4 *ip)
{
    if (ip == NULL)
        return;
    mirage_eth_set_handler(ip->eth, MIRAGE_ETHERTYPE_IPV4, NULL, NULL);
    reasm_clear(&ip->reasm);
    free(ip->scratch);
    free(ip);
}

int mirage_ipv4_register(struct mirage_ipv4 *ip, uint8_t proto, mirage_ipv4_rx_fn fn, void *ctx)
{
    if (fn && ip->proto[proto].fn && (ip->proto[proto].fn != fn || ip->proto[proto].ctx != ctx))
        return MIRAGE_EADDRINUSE;
    ip->proto[proto].fn = fn;
    ip->proto[proto].ctx = fn ? ctx : NULL;
    return 0;
}

static int is_multicast(uint32_t a)
{
    return (a >> 28) == 0xe;
}

static int is_bcast(const struct mirage_ipv4 *ip, uint32_t a)
{
    return a == MIRAGE_IPV4_BROADCAST ||
           (ip->cfg.addr && ip->cfg.prefix < 31 && a == (ip->cfg.addr | ~ip->mask));
}

int mirage_ipv4_is_local(const struct mirage_ipv4 *ip, uint32_t addr)
{
    return (ip->cfg.addr && addr == ip->cfg.addr) || is_bcast(ip, addr);
}

uint32_t mirage_ipv4_src(const struct mirage_ipv4 *ip, uint32_t dst)
{
    (void)dst;
    return ip->cfg.addr;
}

/* The path MTU entry of (dst), if one is live. */
static int pmtu_find(const struct mirage_ipv4 *ip, uint32_t dst)
{
    if (ip->n_pmtu == 0)
        return -1;
    for (int i = 0; i < PMTU_MAX; i++)
        if (ip->pmtu[i].expires != 0 && ip->pmtu[i].dst == dst)
            return ip->pmtu[i].expires > mirage_clock_monotonic() ? i : -1;
    return -1;
}

size_t mirage_ipv4_mtu(const struct mirage_ipv4 *ip, uint32_t dst)
{
    size_t mtu = mirage_eth_mtu(ip->eth);
    int i = pmtu_find(ip, dst);

    if (i >= 0 && ip->pmtu[i].mtu < mtu)
        mtu = ip->pmtu[i].mtu;
    return mtu - MIRAGE_IPV4_HLEN;
}

/* RFC 1191 7: the plateaus to try when a router does not say its MTU. */
static uint32_t plateau_under(size_t len)
{
    static const uint16_t plateaus[] = {32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};

    for (size_t i = 0; i < sizeof(plateaus) / sizeof(plateaus[0]); i++)
        if (plateaus[i] < len)
            return plateaus[i];
    return 68;
}

int mirage_ipv4_too_big(struct mirage_ipv4 *ip, uint32_t dst, uint32_t mtu, size_t len)
{
    uint64_t now = mirage_clock_monotonic(), oldest = UINT64_MAX;
    int i = pmtu_find(ip, dst);
    char a[16];

    if (mtu == 0)
        mtu = plateau_under(len);
    if (mtu < MIRAGE_IPV4_MIN_PMTU)
        mtu = MIRAGE_IPV4_MIN_PMTU;
    if (is_bcast(ip, dst) || (dst >> 28) == 0xe ||
        mtu >= mirage_ipv4_mtu(ip, dst) + MIRAGE_IPV4_HLEN)
        return 0;
    if (i < 0) { /* a free or expired slot, else the one expiring first */
        for (int j = 0; j < PMTU_MAX; j++) {
            if (ip->pmtu[j].expires <= now) {
                if (ip->pmtu[j].expires == 0 || i < 0)
                    i = j;
                if (ip->pmtu[j].expires == 0)
                    break;
            } else if (i < 0 && ip->pmtu[j].expires < oldest) {
                oldest = ip->pmtu[j].expires;
                i = j;
            }
        }
        if (ip->pmtu[i].expires == 0)
            ip->n_pmtu++;
    }
    ip->pmtu[i].dst = dst;
    ip->pmtu[i].mtu = (uint16_t)mtu;
    ip->pmtu[i].expires = now + MIRAGE_IPV4_PMTU_EXPIRY_NS;
    ip->st.pmtu_updates++;
    mirage_log_info(&ipv4_log, "path MTU to %s is now %u (fragmentation needed)",
                    mirage_ipv4_format(dst, a), (unsigned)mtu);
    for (size_t k = 0; k < sizeof(ip->pmtu_fn) / sizeof(ip->pmtu_fn[0]); k++)
        if (ip->pmtu_fn[k].fn)
            ip->pmtu_fn[k].fn(ip->pmtu_fn[k].ctx, dst, mtu - MIRAGE_IPV4_HLEN);
    return 1;
}

int mirage_ipv4_on_pmtu(struct mirage_ipv4 *ip, mirage_ipv4_pmtu_fn fn, void *ctx)
{
    size_t n = sizeof(ip->pmtu_fn) / sizeof(ip->pmtu_fn[0]);

    for (size_t k = 0; k < n; k++)
        if (ip->pmtu_fn[k].fn != NULL && ip->pmtu_fn[k].ctx == ctx) {
            ip->pmtu_fn[k].fn = fn;
            return 0;
        }
    if (fn == NULL)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (ip->pmtu_fn[k].fn == NULL) {
            ip->pmtu_fn[k].fn = fn;
            ip->pmtu_fn[k].ctx = ctx;
            return 0;
        }
    return MIRAGE_ENOSPC;
}

void mirage_ipv4_stats(const struct mirage_ipv4 *ip, struct mirage_ipv4_stats *st)
{
    *st = ip->st;
    st->reasm_dropped = ip->reasm.dropped;
    st->reassembled = ip->reasm.completed;
}

/* ---- input -------------------------------------------------------------- */

static void deliver(struct mirage_ipv4 *ip, const struct mirage_ipv4_rx *rx)
{
    if (ip->proto[rx->proto].fn == NULL) {
        ip->st.rx_no_proto++;
        return;
    }
    ip->st.rx_datagrams++;
    ip->proto[rx->proto].fn(ip->proto[rx->proto].ctx, rx);
}

/* A reassembled datagram: the first fragment's header and the whole payload. */
static void reassembled(void *ctx, const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                        size_t len)
{
    struct mirage_ipv4_rx rx = {.header = hdr, .header_len = hdr_len, .payload = payload, .len = len};
    struct mirage_rd c = mirage_rd_init(hdr, hdr_len);

    mirage_rd_skip(&c, 1);
    rx.tos = mirage_rd_u8(&c);
    mirage_rd_skip(&c, 6);
    rx.ttl = mirage_rd_u8(&c);
    rx.proto = mirage_rd_u8(&c);
    mirage_rd_skip(&c, 2);
    rx.src = mirage_rd_be32(&c);
    rx.dst = mirage_rd_be32(&c);
    if (c.bad)
        return;
    deliver(ctx, &rx);
}

void mirage_ipv4_input(struct mirage_ipv4 *ip, const uint8_t *pkt, size_t len)
{
    struct mirage_rd c = mirage_rd_init(pkt, len);
    uint8_t vihl = mirage_rd_u8(&c);
    uint8_t tos = mirage_rd_u8(&c);
    uint16_t total = mirage_rd_be16(&c);
    uint16_t id = mirage_rd_be16(&c);
    uint16_t frag = mirage_rd_be16(&c);
    uint8_t ttl = mirage_rd_u8(&c);
    uint8_t proto = mirage_rd_u8(&c);
    struct mirage_ipv4_rx rx;
    size_t hlen = (size_t)(vihl & 15) * 4;
    int gso;

    mirage_rd_skip(&c, 2); /* the checksum, verified over the whole header below */
    rx.src = mirage_rd_be32(&c);
    rx.dst = mirage_rd_be32(&c);
    if (c.bad || vihl >> 4 != 4 || hlen < MIRAGE_IPV4_HLEN || total < hlen || total > len ||
        mirage_csum(pkt, hlen) != 0) {
        ip->st.rx_bad++;
        return;
    }
    /* Options (hlen > 20) are skipped: none changes how we handle a datagram. */
    if (!mirage_ipv4_is_local(ip, rx.dst) && ip->cfg.addr != 0 && !is_multicast(rx.dst)) {
        ip->st.rx_not_for_us++;
        return;
    }
    if (rx.src == MIRAGE_IPV4_BROADCAST || is_multicast(rx.src)) {
        ip->st.rx_bad++;
        return;
    }
    rx.proto = proto;
    rx.ttl = ttl;
    rx.tos = tos;
    rx.header = pkt;
    rx.header_len = hlen;
    mirage_rd_seek(&c, hlen); /* past the options: hlen <= total <= len */
    rx.len = total - hlen;
    rx.payload = mirage_rd_take(&c, rx.len);
    rx.csum_ok = 0;
    rx.gso_size = 0;
    if (frag & (FLAG_MF | 0x1fff)) {
        if (mirage_netif_rx_udp_gso(mirage_eth_netif(ip->eth), 0, NULL, 0) < 0)
            return; /* a GSO frame is never a fragment */
        ip->st.rx_fragments++;
        struct reasm_key k = {.id = id, .proto = proto};
        struct reasm_frag f = {pkt, hlen, rx.payload, rx.len, (size_t)(frag & 0x1fff) * 8,
                               (frag & FLAG_MF) != 0};
        memcpy(k.src, pkt + 12, 4);
        memcpy(k.dst, pkt + 16, 4);
        reasm_input(&ip->reasm, &k, &f, mirage_clock_monotonic(), reassembled, ip);
        return;
    }
    rx.csum_ok = mirage_netif_rx_csum_ok(mirage_eth_netif(ip->eth));
    gso = mirage_netif_rx_udp_gso(mirage_eth_netif(ip->eth), proto, rx.payload, rx.len);
    if (gso < 0)
        return;
    rx.gso_size = (uint16_t)gso;
    deliver(ip, &rx);
}

/* ---- output ------------------------------------------------------------- */

struct tx {
    struct mirage_ipv4 *ip;
    const struct mirage_ipv4_out *out;
    uint32_t src;
    uint8_t ttl;
    uint16_t id;
    /* one whole datagram: */
    mirage_fill_fn fill;
    void *ctx;
    /* or a fragment: bytes [off, off + len) of scratch[0..fill_len) ++ iov */
    const uint8_t *scratch;
    size_t fill_len;
    const struct mirage_iovec *iov;
    size_t n;
    size_t off, len;
    int more;
};

static void header(const struct tx *t, uint8_t *b, size_t payload, uint16_t frag)
{
    struct mirage_wr w = mirage_wr_init(b, MIRAGE_IPV4_HLEN);

    mirage_wr_u8(&w, 0x45);
    mirage_wr_u8(&w, t->out->tos);
    mirage_wr_be16(&w, (uint16_t)(MIRAGE_IPV4_HLEN + payload));
    mirage_wr_be16(&w, t->id);
    mirage_wr_be16(&w, frag);
    mirage_wr_u8(&w, t->ttl);
    mirage_wr_u8(&w, t->out->proto);
    mirage_wr_be16(&w, 0); /* the checksum, filled in below */
    mirage_wr_be32(&w, t->src);
    mirage_wr_be32(&w, t->out->dst);
    mirage_wr_seek(&w, 10);
    mirage_wr_be16(&w, mirage_csum(b, MIRAGE_IPV4_HLEN));
}

static size_t iov_total(const struct mirage_iovec *iov, size_t n)
{
    size_t t = 0;

    for (size_t i = 0; i < n; i++)
        t += iov[i].len;
    return t;
}

/* Copies bytes [off, off + len) of the iovecs into (dst). */
static void iov_copy(uint8_t *dst, const struct mirage_iovec *iov, size_t n, size_t off, size_t len)
{
    for (size_t i = 0; i < n && len > 0; i++) {
        if (off >= iov[i].len) {
            off -= iov[i].len;
            continue;
        }
        size_t k = iov[i].len - off < len ? iov[i].len - off : len;
        memcpy(dst, (const uint8_t *)iov[i].base + off, k);
        dst += k;
        len -= k;
        off = 0;
    }
}

static int fill_whole(void *ctx, uint8_t *buf, size_t size)
{
    struct tx *t = ctx;
    size_t rest = iov_total(t->iov, t->n), n = 0;
    int r;

    if (t->out->size) {
        if (MIRAGE_IPV4_HLEN + t->out->size > size)
            return MIRAGE_EMSGSIZE;
        r = t->fill(t->ctx, buf + MIRAGE_IPV4_HLEN, t->out->size);
        if (r < 0)
            return r;
        if ((size_t)r > t->out->size)
            return MIRAGE_EINVAL;
        n = (size_t)r;
    }
    if (MIRAGE_IPV4_HLEN + n + rest > size)
        return MIRAGE_EMSGSIZE;
    iov_copy(buf + MIRAGE_IPV4_HLEN + n, t->iov, t->n, 0, rest);
    header(t, buf, n + rest, (t->out->flags & MIRAGE_IPV4_DF) ? FLAG_DF : 0);
    return (int)(MIRAGE_IPV4_HLEN + n + rest);
}

static int fill_fragment(void *ctx, uint8_t *buf, size_t size)
{
    struct tx *t = ctx;
    uint8_t *p = buf + MIRAGE_IPV4_HLEN;
    size_t off = t->off, len = t->len;

    if (MIRAGE_IPV4_HLEN + len > size)
        return MIRAGE_EMSGSIZE;
    if (off < t->fill_len) {
        size_t k = t->fill_len - off < len ? t->fill_len - off : len;
        memcpy(p, t->scratch + off, k);
        p += k;
        len -= k;
        off = t->fill_len;
    }
    iov_copy(p, t->iov, t->n, off - t->fill_len, len);
    header(t, buf, t->len,
           (uint16_t)((t->more ? FLAG_MF : 0) | (t->off / 8) |
                      ((t->out->flags & MIRAGE_IPV4_DF) ? FLAG_DF : 0)));
    return (int)(MIRAGE_IPV4_HLEN + t->len);
}

/* Sends one frame of (size) bytes of IP to the datagram's next hop. */
static int output(struct mirage_ipv4 *ip, uint32_t dst, size_t size,
                  const struct mirage_net_meta *meta, mirage_fill_fn fill, void *ctx)
{
    uint32_t hop = dst;

    if (is_bcast(ip, dst))
        return mirage_eth_write_meta(ip->eth, NULL, mirage_eth_broadcast, MIRAGE_ETHERTYPE_IPV4,
                                     size, meta, fill, ctx);
    if (is_multicast(dst)) {
        uint8_t mac[6] = {
            0x01, 0x00, 0x5e, (uint8_t)((dst >> 16) & 0x7f), (uint8_t)(dst >> 8), (uint8_t)dst};
        return mirage_eth_write_meta(ip->eth, NULL, mac, MIRAGE_ETHERTYPE_IPV4, size, meta, fill,
                                     ctx);
    }
    if (ip->cfg.addr == 0 || (dst & ip->mask) != (ip->cfg.addr & ip->mask)) {
        if (ip->cfg.gateway == 0)
            return MIRAGE_EHOSTUNREACH;
        hop = ip->cfg.gateway;
    }
    return mirage_arp_output_meta(ip->arp, hop, size, meta, fill, ctx);
}

uint32_t mirage_ipv4_offloads(const struct mirage_ipv4 *ip)
{
    const struct mirage_netif *nif = mirage_eth_netif(ip->eth);

    return nif != NULL ? nif->info.offloads : 0;
}

static int counted(struct mirage_ipv4 *ip, int r)
{
    if (r == 0)
        ip->st.tx_datagrams++;
    else
        ip->st.tx_errors++;
    return r;
}

int mirage_ipv4_write(struct mirage_ipv4 *ip, const struct mirage_ipv4_out *out,
                      mirage_fill_fn fill, void *ctx, const struct mirage_iovec *iov, size_t n)
{
    size_t room = mirage_ipv4_mtu(ip, out->dst), rest = iov_total(iov, n), total, step;
    struct tx t = {ip, out, out->src, 0, 0, fill, ctx, NULL, 0, iov, n, 0, 0, 0};
    int r = 0;

    if ((out->size && fill == NULL) || out->size > MAX_PAYLOAD || rest > MAX_PAYLOAD)
        return counted(ip, out->size > MAX_PAYLOAD || rest > MAX_PAYLOAD ? MIRAGE_EMSGSIZE
                                                                         : MIRAGE_EINVAL);
    if (!(out->flags & MIRAGE_IPV4_SRC_SET) && t.src == 0)
        t.src = ip->cfg.addr;
    t.ttl = out->ttl > 0 ? (uint8_t)(out->ttl > 255 ? 255 : out->ttl) : ip->cfg.ttl;
    t.id = ip->next_id++;
    if (out->meta != NULL) {
        /* For the device: offsets from the frame's IP header, never fragments. */
        struct mirage_net_meta m = mirage_net_meta_behind(out->meta, MIRAGE_IPV4_HLEN);

        if (out->size + rest > (m.gso_type != MIRAGE_NET_GSO_NONE ? MAX_PAYLOAD : room))
            return counted(ip, MIRAGE_EMSGSIZE);
        return counted(
            ip, output(ip, out->dst, MIRAGE_IPV4_HLEN + out->size + rest, &m, fill_whole, &t));
    }
    if (out->size + rest <= room)
        return counted(
            ip, output(ip, out->dst, MIRAGE_IPV4_HLEN + out->size + rest, NULL, fill_whole, &t));
    /* Too big for one frame, or it may be: run fill aside to learn its size. */
    if (out->size) {
        if (ip->scratch == NULL && (ip->scratch = malloc(MAX_PAYLOAD)) == NULL)
            return counted(ip, MIRAGE_ENOMEM);
        r = fill(ctx, ip->scratch, out->size);
        if (r < 0)
            return counted(ip, r);
        if ((size_t)r > out->size)
            return counted(ip, MIRAGE_EINVAL);
        t.fill_len = (size_t)r;
        t.scratch = ip->scratch;
    }
    total = t.fill_len + rest;
    if (total > MAX_PAYLOAD)
        return counted(ip, MIRAGE_EMSGSIZE);
    if (total <= room) {
        t.off = 0;
        t.len = total;
        return counted(ip, output(ip, out->dst, MIRAGE_IPV4_HLEN + total, NULL, fill_fragment, &t));
    }
    if (out->flags & MIRAGE_IPV4_DF)
        return counted(ip, MIRAGE_EMSGSIZE);
    step = room & ~(size_t)7;
    for (t.off = 0; t.off < total; t.off += step) {
        t.len = total - t.off < step ? total - t.off : step;
        t.more = t.off + t.len < total;
        r = output(ip, out->dst, MIRAGE_IPV4_HLEN + t.len, NULL, fill_fragment, &t);
        if (r != 0)
            break;
        ip->st.tx_fragments++;
    }
    return counted(ip, r);
}
