/* net.c: a Solo5 program: answers ARP and ICMP echo requests on 'service' (and 'service2'). */
#include "solo5.h"
#include "util.h"

/*
 * Command line: --ipv4=A.B.C.D [--ipv4-2=A.B.C.D] [--limit=N]; with a limit
 * it exits after N answers. Every received header is read through (struct in), which never
 * hands out a byte past the end of the frame; a frame that fails a length or
 * checksum check is dropped and counted.
 */

#define FRAME_MAX 9018

static uint8_t rx[FRAME_MAX], tx[FRAME_MAX];
static uint8_t my_mac[6], my_ip[4];
static uint64_t answered, bad;

struct in {
    const uint8_t *p;
    size_t len, off;
    int past_end;
};

/* The next (n) bytes, or NULL (and past_end set) if fewer remain. */
static const uint8_t *in_take(struct in *c, size_t n)
{
    if (c->past_end || n > c->len - c->off) {
        c->past_end = 1;
        return NULL;
    }
    c->off += n;
    return c->p + c->off - n;
}

static unsigned in_u8(struct in *c)
{
    const uint8_t *b = in_take(c, 1);
    return b ? b[0] : 0;
}

static unsigned in_u16(struct in *c)
{
    const uint8_t *b = in_take(c, 2);
    return b ? (unsigned)(b[0] << 8 | b[1]) : 0;
}

static void out_u16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static unsigned cksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;

    for (size_t i = 0; i < n; i += 2)
        sum += (uint32_t)(p[i] << 8) | (i + 1 < n ? p[i + 1] : 0);
    while (sum > 0xffff)
        sum = (sum >> 16) + (sum & 0xffff);
    return ~sum & 0xffff;
}

/* Builds the ARP reply in tx; returns its length or 0. */
static size_t arp(struct in *c)
{
    unsigned htype = in_u16(c), ptype = in_u16(c), hlen = in_u8(c), plen = in_u8(c);
    unsigned op = in_u16(c);
    const uint8_t *sha = in_take(c, 6), *spa = in_take(c, 4);
    const uint8_t *tha = in_take(c, 6), *tpa = in_take(c, 4);

    if (c->past_end || htype != 1 || ptype != 0x0800 || hlen != 6 || plen != 4) {
        bad++;
        return 0;
    }
    (void)tha;
    if (op != 1 || !t_memeq(tpa, my_ip, 4))
        return 0;
    t_memcpy(tx, sha, 6);
    t_memcpy(tx + 6, my_mac, 6);
    out_u16(tx + 12, 0x0806);
    out_u16(tx + 14, 1);
    out_u16(tx + 16, 0x0800);
    tx[18] = 6;
    tx[19] = 4;
    out_u16(tx + 20, 2);
    t_memcpy(tx + 22, my_mac, 6);
    t_memcpy(tx + 28, my_ip, 4);
    t_memcpy(tx + 32, sha, 6);
    t_memcpy(tx + 38, spa, 4);
    for (size_t i = 42; i < 60; i++)
        tx[i] = 0;
    return 60;
}

/* Builds the echo reply in tx; returns its length or 0. */
static size_t icmp(struct in *c, const uint8_t *src_mac)
{
    unsigned vihl = in_u8(c);
    size_t hl = (vihl & 15u) * 4, total, n;
    const uint8_t *hdr, *msg;

    if (c->past_end || vihl >> 4 != 4 || hl < 20) {
        bad++;
        return 0;
    }
    c->off--; /* back to the header's start, to take it whole */
    hdr = in_take(c, hl);
    if (hdr == NULL || cksum(hdr, hl) != 0) {
        bad++;
        return 0;
    }
    total = (size_t)(hdr[2] << 8 | hdr[3]);
    if (total < hl || (msg = in_take(c, total - hl)) == NULL) {
        bad++;
        return 0;
    }
    n = total - hl;
    if ((hdr[6] & 0x3f) != 0 || hdr[7] != 0 || hdr[9] != 1 || !t_memeq(hdr + 16, my_ip, 4))
        return 0; /* a fragment, not ICMP, or not for us */
    if (n < 8 || cksum(msg, n) != 0) {
        bad++;
        return 0;
    }
    if (msg[0] != 8 || msg[1] != 0)
        return 0;
    t_memcpy(tx, src_mac, 6);
    t_memcpy(tx + 6, my_mac, 6);
    out_u16(tx + 12, 0x0800);
    tx[14] = 0x45;
    tx[15] = hdr[1];
    out_u16(tx + 16, (unsigned)(20 + n));
    out_u16(tx + 18, (unsigned)answered);
    out_u16(tx + 20, 0);
    tx[22] = 64;
    tx[23] = 1;
    out_u16(tx + 24, 0);
    t_memcpy(tx + 26, my_ip, 4);
    t_memcpy(tx + 30, hdr + 12, 4);
    out_u16(tx + 24, cksum(tx + 14, 20));
    t_memcpy(tx + 34, msg, n);
    tx[34] = 0;
    out_u16(tx + 36, 0);
    out_u16(tx + 36, cksum(tx + 34, n));
    for (size_t i = 34 + n; i < 60; i++)
        tx[i] = 0;
    return 34 + n < 60 ? 60 : 34 + n;
}

static size_t answer(const uint8_t *frame, size_t len)
{
    struct in c = {.p = frame, .len = len};
    const uint8_t *dst = in_take(&c, 6), *src = in_take(&c, 6);
    unsigned type = in_u16(&c);
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

    if (c.past_end) {
        bad++;
        return 0;
    }
    if (type == 0x0806 && (t_memeq(dst, my_mac, 6) || t_memeq(dst, bcast, 6)))
        return arp(&c);
    if (type == 0x0800 && t_memeq(dst, my_mac, 6))
        return icmp(&c, src);
    return 0;
}

/* Parses "A.B.C.D" ending at a space or the end of the string. */
static int parse_ip(const char *s, uint8_t ip[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned v = 0, digits = 0;
        for (; *s >= '0' && *s <= '9' && digits < 3; s++, digits++)
            v = v * 10 + (unsigned)(*s - '0');
        if (digits == 0 || v > 255 || (i < 3 && *s++ != '.'))
            return -1;
        ip[i] = (uint8_t)v;
    }
    return (*s == '\0' || *s == ' ') ? 0 : -1;
}

/* The NICs: 'service' always, 'service2' when --ipv4-2 is given (the
 * solo5_net2 build declares it). */
struct nic {
    const char *name;
    solo5_handle_t h;
    struct solo5_net_info info;
    uint8_t ip[4];
    int used;
};
static struct nic nics[2] = {{.name = "service"}, {.name = "service2"}};

static int parse_args(const char *s, uint64_t *limit)
{
    const char *v;

    while (*s != '\0') {
        if (*s == ' ') {
            s++;
            continue;
        }
        if (t_prefix(s, "--ipv4=", &v) || t_prefix(s, "--ipv4-2=", &v)) {
            struct nic *n = &nics[s[6] == '-'];

            if (parse_ip(v, n->ip) < 0)
                return -1;
            n->used = 1;
            s = v;
        } else if (t_prefix(s, "--limit=", &v)) {
            for (*limit = 0; *v >= '0' && *v <= '9' && *limit < 1000000000ull; v++)
                *limit = *limit * 10 + (uint64_t)(*v - '0');
            s = v;
        } else {
            return -1;
        }
        while (*s != '\0' && *s != ' ')
            s++;
    }
    return nics[0].used ? 0 : -1;
}

static int start_nic(struct nic *n)
{
    if (solo5_net_acquire(n->name, &n->h, &n->info) != SOLO5_R_OK || n->h >= 64 ||
        n->info.mtu + SOLO5_NET_HLEN > FRAME_MAX) {
        t_puts("FAILURE: cannot use network device '");
        t_puts(n->name);
        t_puts("'\n");
        return -1;
    }
    t_puts(n->name);
    t_puts(" mac ");
    for (int i = 0; i < 6; i++) {
        t_puthex8(n->info.mac_address[i]);
        t_puts(i < 5 ? ":" : "");
    }
    t_puts(" mtu ");
    t_putu(n->info.mtu);
    t_puts(" ipv4 ");
    for (int i = 0; i < 4; i++) {
        t_putu(n->ip[i]);
        t_puts(i < 3 ? "." : "\n");
    }
    return 0;
}

/* Answers what waits on (n); returns how many answers went out. */
static uint64_t serve(struct nic *n, uint64_t room)
{
    uint64_t done = 0;
    size_t len;

    t_memcpy(my_mac, n->info.mac_address, 6);
    t_memcpy(my_ip, n->ip, 4);
    while (done < room &&
           solo5_net_read(n->h, rx, n->info.mtu + SOLO5_NET_HLEN, &len) == SOLO5_R_OK) {
        size_t out = answer(rx, len);

        if (out > 0 && solo5_net_write(n->h, tx, out) == SOLO5_R_OK)
            done++;
    }
    return done;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    uint64_t limit = 0;

    t_puts("\n**** Solo5 shim test: net ****\n\n");
    if (parse_args(si->cmdline, &limit) < 0) {
        t_puts("usage: --ipv4=A.B.C.D [--ipv4-2=A.B.C.D] [--limit=N]\n");
        return SOLO5_EXIT_FAILURE;
    }
    for (int i = 0; i < 2; i++)
        if (nics[i].used && start_nic(&nics[i]) < 0)
            return SOLO5_EXIT_FAILURE;

    while (limit == 0 || answered < limit) {
        solo5_handle_set_t ready = 0;

        solo5_yield(solo5_clock_monotonic() + 1000000000ull, &ready);
        for (int i = 0; i < 2; i++)
            if (nics[i].used && (ready & (1ull << nics[i].h)))
                answered += serve(&nics[i], limit == 0 ? UINT64_MAX : limit - answered);
    }
    t_puts("answered ");
    t_putu(answered);
    t_puts(", bad ");
    t_putu(bad);
    t_puts("\nSUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
