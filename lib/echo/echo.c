/* echo.c: answers ARP requests and ICMP echo requests, checking every received header first. */
#include <string.h>

#include "mirage/echo.h"
#include "mirage/error.h"

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

/*
 * A read-only view of received bytes. Reading past the end yields zeros and
 * sets (short_read) once; callers check it after a group of reads, so no
 * byte outside [p, p + len) is ever touched.
 */
struct cursor {
    const uint8_t *p;
    size_t len;
    size_t off;
    int short_read;
};

static struct cursor cursor(const uint8_t *p, size_t len)
{
    return (struct cursor){.p = p, .len = len};
}

static size_t left(const struct cursor *c)
{
    return c->len - c->off;
}

/* Returns a pointer to the next (n) bytes and moves past them, or NULL. */
static const uint8_t *take(struct cursor *c, size_t n)
{
    const uint8_t *r;

    if (n > left(c)) {
        c->short_read = 1;
        c->off = c->len;
        return NULL;
    }
    r = c->p + c->off;
    c->off += n;
    return r;
}

static uint8_t get8(struct cursor *c)
{
    const uint8_t *b = take(c, 1);
    return b ? b[0] : 0;
}

static uint16_t get16(struct cursor *c)
{
    const uint8_t *b = take(c, 2);
    return b ? (uint16_t)(b[0] << 8 | b[1]) : 0;
}

/* Copies the next (n) bytes into (dst), or zeros when they are not there. */
static void get_bytes(struct cursor *c, uint8_t *dst, size_t n)
{
    const uint8_t *b = take(c, n);
    if (b)
        memcpy(dst, b, n);
    else
        memset(dst, 0, n);
}

/* A sub-view of the next (n) bytes of (c); short if fewer remain. */
static struct cursor sub(struct cursor *c, size_t n)
{
    const uint8_t *b = take(c, n);
    return b ? cursor(b, n) : (struct cursor){.short_read = 1};
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

uint16_t mirage_echo_checksum(const uint8_t *buf, size_t len)
{
    uint64_t sum = 0;
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(buf[i] << 8 | buf[i + 1]);
    if (i < len)
        sum += (uint32_t)buf[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static const uint8_t broadcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static size_t drop_bad(struct mirage_echo *e)
{
    e->stats.bad++;
    return 0;
}

static size_t drop_ignored(struct mirage_echo *e)
{
    e->stats.ignored++;
    return 0;
}

/* Pads a short answer to the Ethernet minimum, as a NIC would. */
static size_t finish(uint8_t *out, size_t len, size_t cap)
{
    if (len < MIRAGE_ECHO_MIN_FRAME && cap >= MIRAGE_ECHO_MIN_FRAME) {
        memset(out + len, 0, MIRAGE_ECHO_MIN_FRAME - len);
        len = MIRAGE_ECHO_MIN_FRAME;
    }
    return len;
}

static void put_eth(uint8_t *out, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    memcpy(out, dst, 6);
    memcpy(out + 6, src, 6);
    put16(out + 12, type);
}

static size_t answer_arp(struct mirage_echo *e, struct cursor *c, uint8_t *out, size_t cap)
{
    uint16_t htype = get16(c), ptype = get16(c);
    uint8_t hlen = get8(c), plen = get8(c);
    uint16_t op = get16(c);
    uint8_t sha[6], spa[4], tha[6], tpa[4];
    uint8_t *a = out + MIRAGE_ECHO_ETH_HLEN;

    get_bytes(c, sha, 6);
    get_bytes(c, spa, 4);
    get_bytes(c, tha, 6);
    get_bytes(c, tpa, 4);
    if (c->short_read)
        return drop_bad(e);
    if (htype != ARP_HTYPE_ETHERNET || ptype != ETHERTYPE_IPV4)
        return drop_ignored(e);
    if (hlen != 6 || plen != 4 || (sha[0] & 1))
        return drop_bad(e);
    if (op != ARP_OP_REQUEST || memcmp(tpa, e->ipv4, 4) != 0)
        return drop_ignored(e);
    if (cap < MIRAGE_ECHO_ETH_HLEN + ARP_LEN)
        return drop_ignored(e);

    put_eth(out, sha, e->mac, ETHERTYPE_ARP);
    put16(a, ARP_HTYPE_ETHERNET);
    put16(a + 2, ETHERTYPE_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, ARP_OP_REPLY);
    memcpy(a + 8, e->mac, 6);
    memcpy(a + 14, e->ipv4, 4);
    memcpy(a + 18, sha, 6);
    memcpy(a + 24, spa, 4);
    e->stats.arp_replies++;
    return finish(out, MIRAGE_ECHO_ETH_HLEN + ARP_LEN, cap);
}

/* Addresses no echo reply is ever sent to: this-network, loopback, multicast, broadcast. */
static int bad_source(const uint8_t ip[4])
{
    return ip[0] == 0 || ip[0] == 127 || ip[0] >= 224;
}

static size_t answer_ipv4(struct mirage_echo *e, const uint8_t *src_mac, struct cursor *c,
                          uint8_t *out, size_t cap)
{
    const uint8_t *hdr = c->p + c->off;
    uint8_t vihl = get8(c);
    size_t ihl = (size_t)(vihl & 0x0f) * 4;
    uint8_t tos = get8(c);
    uint16_t total = get16(c);
    uint16_t frag;
    uint8_t proto, src[4], dst[4];
    struct cursor icmp;
    const uint8_t *icmp_bytes;
    size_t icmp_len, reply_len;
    uint8_t type, code;
    uint8_t *ip, *ic;

    (void)get16(c); /* identification */
    frag = get16(c);
    (void)get8(c); /* ttl */
    proto = get8(c);
    (void)get16(c); /* header checksum, verified over the whole header below */
    get_bytes(c, src, 4);
    get_bytes(c, dst, 4);
    if (c->short_read || (vihl >> 4) != 4 || ihl < IPV4_HLEN)
        return drop_bad(e);
    /* The header with its options, then the payload up to the total length;
     * bytes after it are Ethernet padding. */
    if (total < ihl || (size_t)total > left(c) + IPV4_HLEN)
        return drop_bad(e);
    if (take(c, ihl - IPV4_HLEN) == NULL) /* options: cannot fail after the check above */
        return drop_bad(e);
    if (mirage_echo_checksum(hdr, ihl) != 0)
        return drop_bad(e);
    if ((frag & 0x3fff) != 0) /* a fragment: reassembly belongs to the IPv4 stack */
        return drop_ignored(e);
    if (memcmp(dst, e->ipv4, 4) != 0 || proto != IPPROTO_ICMP || bad_source(src))
        return drop_ignored(e);

    icmp_len = total - ihl;
    icmp = sub(c, icmp_len);
    if (icmp.short_read)
        return drop_bad(e);
    icmp_bytes = icmp.p;
    type = get8(&icmp);
    code = get8(&icmp);
    if (icmp_len < ICMP_HLEN || mirage_echo_checksum(icmp_bytes, icmp_len) != 0)
        return drop_bad(e);
    if (type != ICMP_ECHO_REQUEST)
        return drop_ignored(e);
    if (code != 0)
        return drop_bad(e);
    reply_len = MIRAGE_ECHO_ETH_HLEN + IPV4_HLEN + icmp_len;
    if (reply_len > cap)
        return drop_ignored(e);

    /* The reply carries no IP options: RFC 1122 lets a host leave them out. */
    put_eth(out, src_mac, e->mac, ETHERTYPE_IPV4);
    ip = out + MIRAGE_ECHO_ETH_HLEN;
    ip[0] = 0x45;
    ip[1] = tos;
    put16(ip + 2, (uint16_t)(IPV4_HLEN + icmp_len));
    put16(ip + 4, e->ip_id++);
    put16(ip + 6, 0);
    ip[8] = TTL;
    ip[9] = IPPROTO_ICMP;
    put16(ip + 10, 0);
    memcpy(ip + 12, e->ipv4, 4);
    memcpy(ip + 16, src, 4);
    put16(ip + 10, mirage_echo_checksum(ip, IPV4_HLEN));

    ic = ip + IPV4_HLEN;
    memcpy(ic, icmp_bytes, icmp_len);
    ic[0] = ICMP_ECHO_REPLY;
    put16(ic + 2, 0);
    put16(ic + 2, mirage_echo_checksum(ic, icmp_len));
    e->stats.icmp_replies++;
    return finish(out, reply_len, cap);
}

void mirage_echo_init(struct mirage_echo *e, const uint8_t mac[6], const uint8_t ipv4[4])
{
    memset(e, 0, sizeof(*e));
    memcpy(e->mac, mac, 6);
    memcpy(e->ipv4, ipv4, 4);
}

size_t mirage_echo_answer(struct mirage_echo *e, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t out_cap)
{
    struct cursor c = cursor(in, in_len);
    uint8_t dst[6], src[6];
    uint16_t type;

    e->stats.frames++;
    get_bytes(&c, dst, 6);
    get_bytes(&c, src, 6);
    type = get16(&c);
    if (c.short_read)
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

/* Parses a decimal number 0..(max) without leading zeros; moves *s past it. */
static int parse_num(const char **s, unsigned max, unsigned *out)
{
    const char *p = *s;
    unsigned v = 0;
    int digits = 0;

    while (*p >= '0' && *p <= '9') {
        if (digits > 0 && v == 0)
            return -1; /* a leading zero: "010" could mean octal elsewhere */
        v = v * 10 + (unsigned)(*p - '0');
        if (v > max)
            return -1;
        p++;
        digits++;
    }
    if (digits == 0)
        return -1;
    *s = p;
    *out = v;
    return 0;
}

int mirage_echo_parse_cidr(const char *s, uint8_t ipv4[4], int *prefix)
{
    unsigned v;

    for (int i = 0; i < 4; i++) {
        if (parse_num(&s, 255, &v) < 0)
            return MIRAGE_EINVAL;
        ipv4[i] = (uint8_t)v;
        if (*s++ != (i < 3 ? '.' : '/'))
            return MIRAGE_EINVAL;
    }
    if (parse_num(&s, 32, &v) < 0 || *s != '\0')
        return MIRAGE_EINVAL;
    *prefix = (int)v;
    return 0;
}
