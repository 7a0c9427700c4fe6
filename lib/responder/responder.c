/* responder.c: answers ARP and ICMP echo requests without a stack, checking every header first. */
#include <string.h>

#include "mirage/checksum.h"
#include "mirage/responder.h"
#include "mirage/wire.h"

#define ETHERTYPE_IPV4     0x0800
#define ETHERTYPE_ARP      0x0806
#define ARP_HTYPE_ETHERNET 1
#define ARP_OP_REQUEST     1
#define ARP_OP_REPLY       2
#define ARP_LEN            28
#define IPV4_HLEN          20
#define IPPROTO_ICMP       1
#define ICMP_ECHO_REPLY    0
#define ICMP_ECHO_REQUEST  8
#define ICMP_HLEN          8
#define TTL                64

static const uint8_t broadcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static size_t drop_bad(struct mirage_responder *e)
{
    e->stats.bad++;
    return 0;
}

static size_t drop_ignored(struct mirage_responder *e)
{
    e->stats.ignored++;
    return 0;
}

/* Pads a short answer to the Ethernet minimum, as a NIC would. */
static size_t finish(uint8_t *out, size_t len, size_t cap)
{
    if (len < MIRAGE_RESPONDER_MIN_FRAME && cap >= MIRAGE_RESPONDER_MIN_FRAME) {
        memset(out + len, 0, MIRAGE_RESPONDER_MIN_FRAME - len);
        len = MIRAGE_RESPONDER_MIN_FRAME;
    }
    return len;
}

static void put_eth(struct mirage_wr *w, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    mirage_wr_bytes(w, dst, 6);
    mirage_wr_bytes(w, src, 6);
    mirage_wr_be16(w, type);
}

static size_t answer_arp(struct mirage_responder *e, struct mirage_rd *c, uint8_t *out, size_t cap)
{
    uint16_t htype = mirage_rd_be16(c), ptype = mirage_rd_be16(c);
    uint8_t hlen = mirage_rd_u8(c), plen = mirage_rd_u8(c);
    uint16_t op = mirage_rd_be16(c);
    uint8_t sha[6], spa[4], tha[6], tpa[4];
    struct mirage_wr w = mirage_wr_init(out, cap);

    mirage_rd_bytes(c, sha, 6);
    mirage_rd_bytes(c, spa, 4);
    mirage_rd_bytes(c, tha, 6);
    mirage_rd_bytes(c, tpa, 4);
    if (c->bad)
        return drop_bad(e);
    if (htype != ARP_HTYPE_ETHERNET || ptype != ETHERTYPE_IPV4)
        return drop_ignored(e);
    if (hlen != 6 || plen != 4 || (sha[0] & 1))
        return drop_bad(e);
    if (op != ARP_OP_REQUEST || memcmp(tpa, e->ipv4, 4) != 0)
        return drop_ignored(e);

    put_eth(&w, sha, e->mac, ETHERTYPE_ARP);
    mirage_wr_be16(&w, ARP_HTYPE_ETHERNET);
    mirage_wr_be16(&w, ETHERTYPE_IPV4);
    mirage_wr_u8(&w, 6);
    mirage_wr_u8(&w, 4);
    mirage_wr_be16(&w, ARP_OP_REPLY);
    mirage_wr_bytes(&w, e->mac, 6);
    mirage_wr_bytes(&w, e->ipv4, 4);
    mirage_wr_bytes(&w, sha, 6);
    mirage_wr_bytes(&w, spa, 4);
    if (w.bad)
        return drop_ignored(e);
    e->stats.arp_replies++;
    return finish(out, w.off, cap);
}

/* Addresses no echo reply is ever sent to: this-network, loopback, multicast, broadcast. */
static int bad_source(const uint8_t ip[4])
{
    return ip[0] == 0 || ip[0] == 127 || ip[0] >= 224;
}

static size_t answer_ipv4(struct mirage_responder *e, const uint8_t *src_mac, struct mirage_rd *c,
                          uint8_t *out, size_t cap)
{
    struct mirage_rd hdr = *c; /* the header again, for its checksum */
    uint8_t vihl = mirage_rd_u8(c);
    size_t ihl = (size_t)(vihl & 0x0f) * 4;
    uint8_t tos = mirage_rd_u8(c);
    uint16_t total = mirage_rd_be16(c);
    uint16_t frag;
    uint8_t proto, src[4], dst[4];
    struct mirage_rd icmp;
    const uint8_t *rest;
    size_t icmp_len, rest_len;
    uint8_t type, code;
    struct mirage_wr w = mirage_wr_init(out, cap);
    uint8_t *ip, *ic;

    mirage_rd_skip(c, 2); /* identification */
    frag = mirage_rd_be16(c);
    mirage_rd_skip(c, 1); /* ttl */
    proto = mirage_rd_u8(c);
    mirage_rd_skip(c, 2); /* header checksum, verified over the whole header below */
    mirage_rd_bytes(c, src, 4);
    mirage_rd_bytes(c, dst, 4);
    if (c->bad || (vihl >> 4) != 4 || ihl < IPV4_HLEN)
        return drop_bad(e);
    /* The header with its options, then the payload up to the total length;
     * bytes after it are Ethernet padding. */
    if (total < ihl || (size_t)total > mirage_rd_left(c) + IPV4_HLEN)
        return drop_bad(e);
    mirage_rd_skip(c, ihl - IPV4_HLEN); /* options: cannot fail after the check above */
    if (c->bad || mirage_csum(mirage_rd_take(&hdr, ihl), ihl) != 0)
        return drop_bad(e);
    if ((frag & 0x3fff) != 0) /* a fragment: reassembly belongs to the IPv4 stack */
        return drop_ignored(e);
    if (memcmp(dst, e->ipv4, 4) != 0 || proto != IPPROTO_ICMP || bad_source(src))
        return drop_ignored(e);

    icmp_len = total - ihl;
    icmp = mirage_rd_sub(c, icmp_len);
    if (icmp.bad)
        return drop_bad(e);
    if (icmp_len < ICMP_HLEN || mirage_csum(icmp.p, icmp_len) != 0)
        return drop_bad(e);
    type = mirage_rd_u8(&icmp);
    code = mirage_rd_u8(&icmp);
    mirage_rd_skip(&icmp, 2); /* the checksum, verified above */
    rest_len = mirage_rd_left(&icmp);
    rest = mirage_rd_take(&icmp, rest_len); /* identifier, sequence number, data */
    if (type != ICMP_ECHO_REQUEST)
        return drop_ignored(e);
    if (code != 0)
        return drop_bad(e);

    /* The reply carries no IP options: RFC 1122 lets a host leave them out. */
    put_eth(&w, src_mac, e->mac, ETHERTYPE_IPV4);
    ip = mirage_wr_take(&w, IPV4_HLEN);
    ic = mirage_wr_take(&w, icmp_len);
    if (w.bad)
        return drop_ignored(e);
    w = mirage_wr_init(ip, IPV4_HLEN);
    mirage_wr_u8(&w, 0x45);
    mirage_wr_u8(&w, tos);
    mirage_wr_be16(&w, (uint16_t)(IPV4_HLEN + icmp_len));
    mirage_wr_be16(&w, e->ip_id++);
    mirage_wr_be16(&w, 0); /* no fragmentation flags */
    mirage_wr_u8(&w, TTL);
    mirage_wr_u8(&w, IPPROTO_ICMP);
    mirage_wr_be16(&w, 0); /* the checksum, filled in below */
    mirage_wr_bytes(&w, e->ipv4, 4);
    mirage_wr_bytes(&w, src, 4);
    mirage_wr_seek(&w, 10);
    mirage_wr_be16(&w, mirage_csum(ip, IPV4_HLEN));

    w = mirage_wr_init(ic, icmp_len);
    mirage_wr_u8(&w, ICMP_ECHO_REPLY);
    mirage_wr_u8(&w, 0);
    mirage_wr_be16(&w, 0); /* the checksum, filled in below */
    mirage_wr_bytes(&w, rest, rest_len);
    mirage_wr_seek(&w, 2);
    mirage_wr_be16(&w, mirage_csum(ic, icmp_len));
    e->stats.icmp_replies++;
    return finish(out, MIRAGE_RESPONDER_ETH_HLEN + IPV4_HLEN + icmp_len, cap);
}

void mirage_responder_init(struct mirage_responder *e, const uint8_t mac[6], const uint8_t ipv4[4])
{
    memset(e, 0, sizeof(*e));
    memcpy(e->mac, mac, 6);
    memcpy(e->ipv4, ipv4, 4);
}

size_t mirage_responder_answer(struct mirage_responder *e, const uint8_t *in, size_t in_len,
                               uint8_t *out, size_t out_cap)
{
    struct mirage_rd c = mirage_rd_init(in, in_len);
    uint8_t dst[6], src[6];
    uint16_t type;

    e->stats.frames++;
    mirage_rd_bytes(&c, dst, 6);
    mirage_rd_bytes(&c, src, 6);
    type = mirage_rd_be16(&c);
    if (c.bad)
        return drop_bad(e);
    if (src[0] & 1) /* a multicast source address is never valid */
        return drop_bad(e);
    if (type == ETHERTYPE_ARP) {
        if (memcmp(dst, e->mac, 6) != 0 && memcmp(dst, broadcast_mac, 6) != 0)
            return drop_ignored(e);
        return answer_arp(e, &c, out, out_cap);
    }
    if (type == ETHERTYPE_IPV4) {
        if (memcmp(dst, e->mac, 6) != 0)
            return drop_ignored(e);
        return answer_ipv4(e, src, &c, out, out_cap);
    }
    return drop_ignored(e);
}
