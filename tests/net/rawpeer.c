/* rawpeer.c: a hostile peer on a tap's host side: raw frames of any size, ARP floods, odd SYNs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mirage/checksum.h"
#include "mirage/wire.h"

/*
 * rawpeer MODE DEV UKIP [options]: talks to the unikernel at UKIP through the
 * tap DEV (run it in the tap's namespace, as root) with a packet socket, as a
 * host of its own (MAC 02:00:00:0e:0e:0e, IP --me, default UKIP's /24 .250)
 * that the host kernel does not know, so it never answers for us. Everything
 * is bounded in count and time.
 *
 *   arp-frames: sends --count (1) ARP requests for UKIP, each padded to a
 *     frame of --size bytes (802.1Q-tagged with --vlan ID), then counts the
 *     ARP replies for --wait ms (500). Prints "replies R".
 *   arp-claim: sends --count ARP requests from other MACs claiming UKIP as
 *     their address, --pace us apart (0). Prints "sent N".
 *   tcp: connects to --port (7) with a SYN carrying MSS --mss (and the
 *     timestamps option with --ts 1; nothing else), sends --bytes (4000) and
 *     reads the echo for up to --wait ms (10000), acknowledging each segment;
 *     with --corrupt N the first N data segments go with a payload byte
 *     flipped after the checksum was made (resent intact after 1 s).
 *     Prints "echoed B of N bytes in S segments, largest payload P, largest
 *     segment (payload and options) Q, fragments F"; exits 1 unless all came
 *     back. Answers ARP for its own address meanwhile.
 *
 * Frames over the tap's MTU need it raised first (ip link set DEV mtu 65000):
 * the packet socket refuses them otherwise. Exit status 0, 1 for a failure
 * (named on stderr), 2 for bad usage.
 */

#define FRAME_MAX 65536

static const uint8_t my_mac[6] = {0x02, 0x00, 0x00, 0x0e, 0x0e, 0x0e};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

struct opts {
    const char *mode, *dev;
    uint32_t ukip, me;
    size_t size;
    int vlan, ts;
    unsigned long count, pace_us, wait_ms, port, mss, bytes, corrupt;
};

static int sock = -1;
static uint8_t frame[FRAME_MAX];
static unsigned long corrupted; /* data segments sent with a flipped byte (--corrupt) */

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "rawpeer: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void open_dev(const char *dev)
{
    struct sockaddr_ll sll = {0};
    int big = 4 << 20, ifindex = (int)if_nametoindex(dev);

    if (ifindex == 0)
        die("no interface '%s' here", dev);
    sock = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (sock < 0)
        die("packet socket: %s", strerror(errno));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex;
    if (bind(sock, (struct sockaddr *)&sll, sizeof(sll)) < 0)
        die("bind to '%s': %s", dev, strerror(errno));
    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    setsockopt(sock, SOL_PACKET, PACKET_AUXDATA, &(int){1}, sizeof(int));
    /* Frames come and go with a virtio-net header: a TCP segment the
     * unikernel handed its tap whole (TSO) is seen here as one frame, which
     * a real link would carry as segments of the header's gso_size. */
    if (setsockopt(sock, SOL_PACKET, PACKET_VNET_HDR, &(int){1}, sizeof(int)) < 0)
        die("PACKET_VNET_HDR: %s", strerror(errno));
}

/* The last frame recv_frame returned has a partial TCP/UDP checksum: the
 * unikernel left it to the tap's checksum offload, which completes it only
 * when the frame leaves the host (the kernel's own stack takes it as is);
 * and when it is a TSO segment, the payload of each segment cut from it. */
static int rx_csum_partial;
static size_t rx_gso_size;

/* Sends (len) bytes of (f); a full socket buffer is waited out (bounded). */
static void send_frame(const uint8_t *f, size_t len)
{
    struct virtio_net_hdr vh = {0};
    struct iovec iov[2] = {{&vh, sizeof(vh)}, {(void *)f, len}};
    struct msghdr msg = {NULL, 0, iov, 2, NULL, 0, 0};

    for (int tries = 0; tries < 1000; tries++) {
        if (sendmsg(sock, &msg, 0) == (ssize_t)(sizeof(vh) + len))
            return;
        if (errno != ENOBUFS && errno != EAGAIN)
            die("sending a %zu-byte frame: %s", len, strerror(errno));
        usleep(1000);
    }
    die("sending a %zu-byte frame: the device stays full", len);
}

/* The next frame the tap carries into the host, or 0 when (deadline) passes
 * (our own frames come back as PACKET_OUTGOING and are skipped). */
static size_t recv_frame(uint8_t *buf, size_t cap, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {sock, POLLIN, 0};
        struct sockaddr_ll from;
        union {
            struct cmsghdr h;
            uint8_t space[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
        } ctl;
        struct virtio_net_hdr vh;
        struct iovec iov[2] = {{&vh, sizeof(vh)}, {buf, cap}};
        struct msghdr msg = {&from, sizeof(from), iov, 2, &ctl, sizeof(ctl), 0};
        uint64_t now = now_ms();
        ssize_t n;

        if (now >= deadline)
            return 0;
        if (poll(&p, 1, (int)(deadline - now)) <= 0)
            continue;
        n = recvmsg(sock, &msg, MSG_DONTWAIT);
        if (n < (ssize_t)sizeof(vh) || from.sll_pkttype == PACKET_OUTGOING)
            continue;
        n -= (ssize_t)sizeof(vh);
        rx_gso_size = vh.gso_type != VIRTIO_NET_HDR_GSO_NONE ? vh.gso_size : 0;
        rx_csum_partial = 0;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h))
            if (h->cmsg_level == SOL_PACKET && h->cmsg_type == PACKET_AUXDATA) {
                struct tpacket_auxdata aux;

                memcpy(&aux, CMSG_DATA(h), sizeof(aux));
                rx_csum_partial = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
            }
        return (size_t)n;
    }
}

/* An Ethernet header, tagged with (vlan) >= 0. */
static void eth_header(struct mirage_wr *w, const uint8_t *dst, const uint8_t *src, uint16_t type,
                       int vlan)
{
    mirage_wr_bytes(w, dst, 6);
    mirage_wr_bytes(w, src, 6);
    if (vlan >= 0) {
        mirage_wr_be16(w, 0x8100);
        mirage_wr_be16(w, (uint16_t)vlan);
    }
    mirage_wr_be16(w, type);
}

/* An ARP packet (op) from (sha, spa) to (tha, tpa); tha NULL: zeros. */
static void arp_body(struct mirage_wr *w, uint16_t op, const uint8_t *sha, uint32_t spa,
                     const uint8_t *tha, uint32_t tpa)
{
    mirage_wr_be16(w, 1);
    mirage_wr_be16(w, 0x0800);
    mirage_wr_u8(w, 6);
    mirage_wr_u8(w, 4);
    mirage_wr_be16(w, op);
    mirage_wr_bytes(w, sha, 6);
    mirage_wr_be32(w, spa);
    if (tha)
        mirage_wr_bytes(w, tha, 6);
    else
        mirage_wr_zeros(w, 6);
    mirage_wr_be32(w, tpa);
}

/* Pads (w) with zeros to (size) bytes (at least Ethernet's 60) and sends it. */
static void send_padded(struct mirage_wr *w, size_t size)
{
    if (size < 60)
        size = 60;
    if (w->off < size)
        mirage_wr_zeros(w, size - w->off);
    if (w->bad)
        die("a frame of %zu bytes does not fit", size);
    send_frame(w->p, w->off);
}

struct arp {
    uint16_t op;
    const uint8_t *sha;
    uint32_t spa, tpa;
};

/* Parses an (untagged) ARP packet in (f, len); 0 if it is none. */
static int parse_arp(const uint8_t *f, size_t len, struct arp *a)
{
    struct mirage_rd r = mirage_rd_init(f, len);
    uint16_t type;

    mirage_rd_skip(&r, 12);
    type = mirage_rd_be16(&r);
    mirage_rd_skip(&r, 6); /* htype, ptype, hlen, plen */
    a->op = mirage_rd_be16(&r);
    a->sha = mirage_rd_take(&r, 6);
    a->spa = mirage_rd_be32(&r);
    mirage_rd_skip(&r, 6);
    a->tpa = mirage_rd_be32(&r);
    return !r.bad && type == 0x0806;
}

/* Answers (f, len) if it is an ARP request for (me); returns whether it was ARP. */
static int answer_arp(const uint8_t *f, size_t len, uint32_t me)
{
    struct arp a;
    uint8_t out[60];
    struct mirage_wr w = mirage_wr_init(out, sizeof(out));

    if (!parse_arp(f, len, &a))
        return 0;
    if (a.op == 1 && a.tpa == me) {
        eth_header(&w, a.sha, my_mac, 0x0806, -1);
        arp_body(&w, 2, my_mac, me, a.sha, a.spa);
        send_padded(&w, 60);
    }
    return 1;
}

static int arp_frames(const struct opts *o)
{
    struct mirage_wr w = mirage_wr_init(frame, o->size > 60 ? o->size : 60);
    unsigned long replies = 0;
    uint64_t deadline;
    static uint8_t in[FRAME_MAX];

    eth_header(&w, bcast, my_mac, 0x0806, o->vlan);
    arp_body(&w, 1, my_mac, o->me, NULL, o->ukip);
    for (unsigned long i = 0; i < o->count; i++) {
        mirage_wr_seek(&w, o->vlan >= 0 ? 46 : 42);
        send_padded(&w, o->size);
    }
    deadline = now_ms() + o->wait_ms;
    for (;;) {
        size_t n = recv_frame(in, sizeof(in), deadline);
        struct arp a;

        if (n == 0)
            break;
        if (parse_arp(in, n, &a) && a.op == 2 && a.spa == o->ukip && memcmp(in, my_mac, 6) == 0)
            replies++;
    }
    printf("rawpeer: sent %lu frames of %zu bytes%s, replies %lu\n", o->count, w.off,
           o->vlan >= 0 ? " (802.1Q)" : "", replies);
    return 0;
}

static int arp_claim(const struct opts *o)
{
    for (unsigned long i = 0; i < o->count; i++) {
        /* A different locally administered MAC for each. */
        uint8_t mac[6] = {0x02, 0xba, 0xd0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        struct mirage_wr w = mirage_wr_init(frame, 60);

        eth_header(&w, bcast, mac, 0x0806, -1);
        arp_body(&w, 1, mac, o->ukip, NULL, o->me);
        send_padded(&w, 60);
        if (o->pace_us)
            usleep((useconds_t)o->pace_us);
    }
    printf("rawpeer: sent %lu ARP requests claiming the unikernel's address\n", o->count);
    return 0;
}

/* ---- tcp ------------------------------------------------------------------- */

enum { F_FIN = 1, F_SYN = 2, F_RST = 4, F_PSH = 8, F_ACK = 16 };

struct conn {
    const struct opts *o;
    uint8_t ukmac[6];
    uint16_t sport;
    uint32_t iss, snd_una, snd_nxt, irs, rcv_nxt;
    uint32_t tsecr; /* the peer's latest tsval */
    int ts;
    uint16_t ip_id;
};

/* The byte at offset (i) of the stream we send (and expect back). */
static uint8_t pattern(uint32_t i)
{
    return (uint8_t)('a' + i % 26);
}

/* Sends one segment with (flags), payload (data, len), options for a SYN or not. */
static void tcp_send(struct conn *c, uint32_t seq, uint8_t flags, const uint8_t *data, size_t len)
{
    struct mirage_wr w = mirage_wr_init(frame, sizeof(frame));
    size_t opt = (flags & F_SYN ? 4 : 0) + (c->ts ? 12 : 0), tcp_len = 20 + opt + len;
    struct mirage_csum sum = MIRAGE_CSUM_INIT;
    size_t ip_at, tcp_at;

    eth_header(&w, c->ukmac, my_mac, 0x0800, -1);
    ip_at = w.off;
    mirage_wr_u8(&w, 0x45);
    mirage_wr_u8(&w, 0);
    mirage_wr_be16(&w, (uint16_t)(20 + tcp_len));
    mirage_wr_be16(&w, c->ip_id++);
    mirage_wr_be16(&w, 0x4000); /* DF */
    mirage_wr_u8(&w, 64);
    mirage_wr_u8(&w, 6);
    mirage_wr_be16(&w, 0);
    mirage_wr_be32(&w, c->o->me);
    mirage_wr_be32(&w, c->o->ukip);
    tcp_at = w.off;
    mirage_wr_be16(&w, c->sport);
    mirage_wr_be16(&w, (uint16_t)c->o->port);
    mirage_wr_be32(&w, seq);
    mirage_wr_be32(&w, flags & F_ACK ? c->rcv_nxt : 0);
    mirage_wr_u8(&w, (uint8_t)((20 + opt) / 4 << 4));
    mirage_wr_u8(&w, flags);
    mirage_wr_be16(&w, 65535);
    mirage_wr_be16(&w, 0);
    mirage_wr_be16(&w, 0);
    if (flags & F_SYN) {
        mirage_wr_u8(&w, 2);
        mirage_wr_u8(&w, 4);
        mirage_wr_be16(&w, (uint16_t)c->o->mss);
    }
    if (c->ts) {
        mirage_wr_u8(&w, 1);
        mirage_wr_u8(&w, 1);
        mirage_wr_u8(&w, 8);
        mirage_wr_u8(&w, 10);
        mirage_wr_be32(&w, (uint32_t)now_ms());
        mirage_wr_be32(&w, c->tsecr);
    }
    mirage_wr_bytes(&w, data, len);
    if (w.bad)
        die("a segment of %zu bytes does not fit a frame", len);
    mirage_csum_add_pseudo4(&sum, c->o->me, c->o->ukip, 6, tcp_len);
    mirage_csum_add(&sum, frame + tcp_at, tcp_len);
    frame[tcp_at + 16] = (uint8_t)(mirage_csum_finish(&sum) >> 8);
    frame[tcp_at + 17] = (uint8_t)mirage_csum_finish(&sum);
    sum = (struct mirage_csum)MIRAGE_CSUM_INIT;
    mirage_csum_add(&sum, frame + ip_at, 20);
    frame[ip_at + 10] = (uint8_t)(mirage_csum_finish(&sum) >> 8);
    frame[ip_at + 11] = (uint8_t)mirage_csum_finish(&sum);
    /* --corrupt N: the first N data segments sent get a payload byte flipped
     * after the checksum was made, as a bad link would. */
    if (len > 0 && corrupted < c->o->corrupt) {
        frame[w.off - 1] ^= 0x20;
        corrupted++;
    }
    send_frame(frame, w.off);
}

/* A TCP segment from the unikernel to us, as read from a frame. */
struct seg {
    int fragment; /* an IPv4 fragment (first or later): not parsed further */
    uint32_t seq, ack;
    uint8_t flags;
    size_t opt_len, len;
    const uint8_t *data;
    int has_ts;
    uint32_t tsval;
};

/* Parses (f, n): 1 for an IPv4 packet from the unikernel to us (a fragment,
 * or a TCP segment to our port with a good checksum), 0 for anything else. */
static int parse_seg(const struct conn *c, const uint8_t *f, size_t n, struct seg *s)
{
    struct mirage_rd r = mirage_rd_init(f, n), ip, tcp, opts;
    uint8_t vihl, hl;
    uint16_t total, frag;
    uint32_t src, dst;
    struct mirage_csum sum = MIRAGE_CSUM_INIT;

    memset(s, 0, sizeof(*s));
    mirage_rd_skip(&r, 12);
    if (mirage_rd_be16(&r) != 0x0800 || r.bad)
        return 0;
    ip = mirage_rd_sub(&r, mirage_rd_left(&r));
    vihl = mirage_rd_u8(&ip);
    mirage_rd_skip(&ip, 1);
    total = mirage_rd_be16(&ip);
    mirage_rd_skip(&ip, 2);
    frag = mirage_rd_be16(&ip);
    mirage_rd_skip(&ip, 4);
    src = mirage_rd_be32(&ip);
    dst = mirage_rd_be32(&ip);
    if (ip.bad || vihl >> 4 != 4 || (vihl & 15) < 5 || total < (vihl & 15) * 4 || total > ip.len ||
        src != c->o->ukip || dst != c->o->me)
        return 0;
    if (frag & 0x3fff) { /* MF or an offset */
        s->fragment = 1;
        return 1;
    }
    mirage_rd_seek(&ip, (size_t)(vihl & 15) * 4);
    tcp = mirage_rd_sub(&ip, total - (size_t)(vihl & 15) * 4);
    mirage_csum_add_pseudo4(&sum, src, dst, 6, tcp.len);
    mirage_csum_add(&sum, tcp.p, tcp.len);
    if (tcp.bad || (!rx_csum_partial && mirage_csum_finish(&sum) != 0))
        return 0;
    mirage_rd_skip(&tcp, 2);
    if (mirage_rd_be16(&tcp) != c->sport)
        return 0;
    s->seq = mirage_rd_be32(&tcp);
    s->ack = mirage_rd_be32(&tcp);
    hl = (uint8_t)(mirage_rd_u8(&tcp) >> 4) * 4;
    s->flags = mirage_rd_u8(&tcp);
    mirage_rd_skip(&tcp, 6);
    if (tcp.bad || hl < 20 || hl > tcp.len)
        return 0;
    s->opt_len = hl - 20u;
    opts = mirage_rd_sub(&tcp, s->opt_len);
    while (mirage_rd_left(&opts) > 0 && !opts.bad) {
        uint8_t kind = mirage_rd_u8(&opts), olen;

        if (kind == 0)
            break;
        if (kind == 1)
            continue;
        olen = mirage_rd_u8(&opts);
        if (kind == 8 && olen == 10) {
            s->has_ts = 1;
            s->tsval = mirage_rd_be32(&opts);
            mirage_rd_skip(&opts, 4);
        } else {
            mirage_rd_skip(&opts, olen >= 2 ? olen - 2u : 0);
        }
    }
    s->len = mirage_rd_left(&tcp);
    s->data = mirage_rd_take(&tcp, s->len);
    return 1;
}

/* The unikernel's MAC, by ARP (three tries, half a second each). */
static void resolve(struct conn *c)
{
    static uint8_t in[FRAME_MAX];

    for (int tries = 0; tries < 3; tries++) {
        struct mirage_wr w = mirage_wr_init(frame, 60);
        uint64_t deadline = now_ms() + 500;
        size_t n;

        eth_header(&w, bcast, my_mac, 0x0806, -1);
        arp_body(&w, 1, my_mac, c->o->me, NULL, c->o->ukip);
        send_padded(&w, 60);
        while ((n = recv_frame(in, sizeof(in), deadline)) > 0) {
            struct arp a;

            if (parse_arp(in, n, &a) && a.op == 2 && a.spa == c->o->ukip) {
                memcpy(c->ukmac, a.sha, 6);
                return;
            }
        }
    }
    die("no ARP answer from the unikernel");
}

static int tcp_echo(const struct opts *o)
{
    struct conn c = {.o = o, .ts = o->ts, .ip_id = 1};
    static uint8_t in[FRAME_MAX], out[1000];
    uint64_t deadline = now_ms() + o->wait_ms, rtx_at = 0;
    unsigned long segments = 0, fragments = 0, bad = 0;
    size_t most = 0, most_seg = 0, echoed = 0, sent;
    int established = 0;

    c.sport = (uint16_t)(40000 + getpid() % 20000);
    c.iss = (uint32_t)now_ms() * 2654435761u;
    resolve(&c);
    c.snd_una = c.iss;
    c.snd_nxt = c.iss + 1;
    while (echoed < o->bytes && now_ms() < deadline) {
        struct seg s;
        size_t n;

        if (now_ms() >= rtx_at) { /* the SYN, or all unacknowledged data again */
            if (!established) {
                tcp_send(&c, c.iss, F_SYN, NULL, 0);
            } else {
                c.snd_nxt = c.snd_una;
            }
            rtx_at = now_ms() + 1000;
        }
        /* Sends what the window allows: all of it, in segments of 1000. */
        while (established && c.snd_nxt - c.iss - 1 < o->bytes) {
            sent = c.snd_nxt - c.iss - 1;
            n = o->bytes - sent < sizeof(out) ? o->bytes - sent : sizeof(out);
            for (size_t i = 0; i < n; i++)
                out[i] = pattern((uint32_t)(sent + i));
            tcp_send(&c, c.snd_nxt, F_ACK | F_PSH, out, n);
            c.snd_nxt += (uint32_t)n;
        }
        n = recv_frame(in, sizeof(in), rtx_at < deadline ? rtx_at : deadline);
        if (n == 0 || answer_arp(in, n, o->me) || !parse_seg(&c, in, n, &s))
            continue;
        if (s.fragment) {
            fragments++;
            continue;
        }
        if (s.flags & F_RST)
            die("the unikernel reset the connection");
        if (s.has_ts)
            c.tsecr = s.tsval;
        if (!established) {
            if ((s.flags & (F_SYN | F_ACK)) != (F_SYN | F_ACK) || s.ack != c.iss + 1)
                continue;
            c.irs = s.seq;
            c.rcv_nxt = s.seq + 1;
            c.snd_una = s.ack;
            established = 1;
            tcp_send(&c, c.snd_nxt, F_ACK, NULL, 0);
            rtx_at = now_ms() + 1000;
            continue;
        }
        if ((s.flags & F_ACK) && (int32_t)(s.ack - c.snd_una) > 0 &&
            (int32_t)(s.ack - c.snd_nxt) <= 0) {
            c.snd_una = s.ack;
            rtx_at = now_ms() + 1000;
        }
        if (s.len == 0)
            continue;
        /* A TSO segment is rx_gso_size-byte segments on a real link. */
        size_t wire = rx_gso_size && rx_gso_size < s.len ? rx_gso_size : s.len;
        segments += (s.len + wire - 1) / wire;
        most = wire > most ? wire : most;
        most_seg = wire + s.opt_len > most_seg ? wire + s.opt_len : most_seg;
        if (s.seq == c.rcv_nxt) {
            for (size_t i = 0; i < s.len; i++)
                bad += s.data[i] != pattern((uint32_t)(echoed + i));
            echoed += s.len;
            c.rcv_nxt += (uint32_t)s.len;
        }
        tcp_send(&c, c.snd_nxt, F_ACK, NULL, 0);
    }
    if (established)
        tcp_send(&c, c.snd_nxt, F_RST | F_ACK, NULL, 0);
    printf("rawpeer: mss %lu%s: echoed %zu of %lu bytes in %lu segments, largest payload %zu, "
           "largest segment (payload and options) %zu, fragments %lu, wrong bytes %lu\n",
           o->mss, o->ts ? " with timestamps" : "", echoed, o->bytes, segments, most, most_seg,
           fragments, bad);
    if (o->corrupt)
        printf("rawpeer: %lu data segments sent with a byte flipped after the checksum\n",
               corrupted);
    return echoed == o->bytes && bad == 0 ? 0 : 1;
}

static __attribute__((noreturn)) void usage(void)
{
    fprintf(stderr, "usage: rawpeer arp-frames|arp-claim|tcp DEV UKIP [--me IP] [--size N] "
                    "[--vlan ID] [--count N] [--pace US] [--wait MS] [--port N] [--mss N] "
                    "[--ts 0|1] [--bytes N] [--corrupt N]\n");
    exit(2);
}

static uint32_t ip_arg(const char *s)
{
    struct in_addr a;

    if (inet_pton(AF_INET, s, &a) != 1)
        usage();
    return ntohl(a.s_addr);
}

static unsigned long num_arg(const char *s, unsigned long max)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v > max)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    struct opts o = {.vlan = -1, .count = 1, .wait_ms = 0, .port = 7, .mss = 1460, .bytes = 4000};

    if (argc < 4)
        usage();
    o.mode = argv[1];
    o.dev = argv[2];
    o.ukip = ip_arg(argv[3]);
    o.me = (o.ukip & ~0xffu) | 250;
    for (int i = 4; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (v == NULL)
            usage();
        if (strcmp(k, "--me") == 0)
            o.me = ip_arg(v);
        else if (strcmp(k, "--size") == 0)
            o.size = num_arg(v, FRAME_MAX);
        else if (strcmp(k, "--vlan") == 0)
            o.vlan = (int)num_arg(v, 4095);
        else if (strcmp(k, "--count") == 0)
            o.count = num_arg(v, 1000000);
        else if (strcmp(k, "--pace") == 0)
            o.pace_us = num_arg(v, 1000000);
        else if (strcmp(k, "--wait") == 0)
            o.wait_ms = num_arg(v, 60000);
        else if (strcmp(k, "--port") == 0)
            o.port = num_arg(v, 65535);
        else if (strcmp(k, "--mss") == 0)
            o.mss = num_arg(v, 65535);
        else if (strcmp(k, "--ts") == 0)
            o.ts = (int)num_arg(v, 1);
        else if (strcmp(k, "--bytes") == 0)
            o.bytes = num_arg(v, 1000000);
        else if (strcmp(k, "--corrupt") == 0)
            o.corrupt = num_arg(v, 1000);
        else
            usage();
    }
    open_dev(o.dev);
    if (strcmp(o.mode, "arp-frames") == 0) {
        o.wait_ms = o.wait_ms ? o.wait_ms : 500;
        return arp_frames(&o);
    }
    if (strcmp(o.mode, "arp-claim") == 0)
        return arp_claim(&o);
    if (strcmp(o.mode, "tcp") == 0) {
        o.wait_ms = o.wait_ms ? o.wait_ms : 10000;
        return tcp_echo(&o);
    }
    usage();
}
