/* test_net_offload.c: the offload rules of platform.h for TCP/IPv4 and TCP/IPv6, and TCP over
 * both families through two devices that segment and coalesce (TSO4, TSO6) as a tap does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_platform.h"
#include "mirage/checksum.h"
#include "mirage/log.h"
#include "mirage/metrics.h"
#include "mirage/netif.h"
#include "mirage/sched.h"
#include "mirage/stack.h"
#include "mirage/time.h"

const char *mirage_cmdline(void)
{
    return "";
}

/* ---- the rules -------------------------------------------------------------------------------- */

static void test_rules(void)
{
    struct mirage_net_info v4 = {{0}, 1500, MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO4};
    struct mirage_net_info v6 = {{0}, 1500, MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO6};
    struct mirage_net_info both = {{0}, 1500, MIRAGE_NET_OFFLOAD_ALL};
    struct mirage_net_info none = {{0}, 1500, 0};
    struct mirage_net_meta g4 = {MIRAGE_NET_META_NEEDS_CSUM, MIRAGE_NET_GSO_TCPV4, 66, 1448, 34, 16};
    struct mirage_net_meta g6 = {MIRAGE_NET_META_NEEDS_CSUM, MIRAGE_NET_GSO_TCPV6, 86, 1428, 54, 16};
    struct mirage_vnet_hdr h;
    struct mirage_net_meta m;

    /* The largest frame: an IPv6 header and a full 16-bit payload length. */
    CHECK_INT(MIRAGE_NET_GSO_MAX, 14 + 40 + 65535);
    CHECK_INT(mirage_net_frame_max(&none), 1514);
    CHECK_INT(mirage_net_frame_max(&v4), MIRAGE_NET_GSO_MAX);
    CHECK_INT(mirage_net_frame_max(&v6), MIRAGE_NET_GSO_MAX);
    CHECK_INT(mirage_net_gso_offload(MIRAGE_NET_GSO_TCPV4), MIRAGE_NET_OFFLOAD_TSO4);
    CHECK_INT(mirage_net_gso_offload(MIRAGE_NET_GSO_TCPV6 | 0x80), MIRAGE_NET_OFFLOAD_TSO6);
    CHECK_INT(mirage_net_gso_offload(3), 0); /* UDP (UFO): never asked for */
    CHECK_INT(mirage_net_gso_offload(5), MIRAGE_NET_OFFLOAD_USO); /* UDP_L4 (USO) */
    CHECK_INT(MIRAGE_NET_GSO_UDP_L4, 5);

    /* Transmit: each GSO type only with its own family's TSO, up to the bound. */
    CHECK(mirage_net_tx_ok(&v4, &g4, 65535 + 14));
    CHECK(!mirage_net_tx_ok(&v4, &g6, 30000));
    CHECK(mirage_net_tx_ok(&v6, &g6, MIRAGE_NET_GSO_MAX));
    CHECK(!mirage_net_tx_ok(&v6, &g6, MIRAGE_NET_GSO_MAX + 1));
    CHECK(!mirage_net_tx_ok(&v6, &g4, 30000));
    CHECK(mirage_net_tx_ok(&both, &g4, 30000) && mirage_net_tx_ok(&both, &g6, 30000));
    CHECK(!mirage_net_tx_ok(&none, &g6, 1000));
    m = g6;
    m.flags = 0; /* segmentation needs the checksum left to the device */
    CHECK(!mirage_net_tx_ok(&both, &m, 30000));
    m = g6;
    m.gso_size = 0;
    CHECK(!mirage_net_tx_ok(&both, &m, 30000));
    m = g6;
    m.hdr_len = 30000;
    CHECK(!mirage_net_tx_ok(&both, &m, 30000));
    m = g6;
    m.gso_type = 3;
    CHECK(!mirage_net_tx_ok(&both, &m, 30000));
    m = g6;
    m.gso_type = MIRAGE_NET_GSO_NONE; /* checksum offload alone, within the MTU */
    CHECK(mirage_net_tx_ok(&v4, &m, 1514));
    CHECK(!mirage_net_tx_ok(&v4, &m, 1515));

    /* Receive: a coalesced frame over the MTU only of a family whose TSO is on. */
    CHECK(mirage_net_rx_ok(&none, 0, 1514));
    CHECK(!mirage_net_rx_ok(&none, MIRAGE_NET_GSO_TCPV6, 1515));
    CHECK(mirage_net_rx_ok(&v6, MIRAGE_NET_GSO_TCPV6, MIRAGE_NET_GSO_MAX));
    CHECK(mirage_net_rx_ok(&v6, MIRAGE_NET_GSO_TCPV6 | MIRAGE_VNET_GSO_ECN, 30000));
    CHECK(!mirage_net_rx_ok(&v6, MIRAGE_NET_GSO_TCPV6, MIRAGE_NET_GSO_MAX + 1));
    CHECK(!mirage_net_rx_ok(&v6, MIRAGE_NET_GSO_TCPV4, 30000));
    CHECK(!mirage_net_rx_ok(&v4, MIRAGE_NET_GSO_TCPV6, 30000));
    CHECK(mirage_net_rx_ok(&v4, MIRAGE_NET_GSO_TCPV4, 65535 + 14));
    CHECK(!mirage_net_rx_ok(&v6, 0, 1515));

    /* The header both ways: what is sent reads back, the ECN bit goes. */
    h = mirage_vnet_hdr_of(&g6);
    CHECK(h.flags == 1 && h.gso_type == 4 && h.hdr_len == 86 && h.gso_size == 1428 &&
          h.csum_start == 54 && h.csum_offset == 16);
    m = mirage_net_meta_of(&h);
    CHECK(memcmp(&m, &g6, sizeof(m)) == 0);
    h.gso_type = MIRAGE_NET_GSO_TCPV6 | MIRAGE_VNET_GSO_ECN;
    h.flags = MIRAGE_NET_META_CSUM_VALID | 0x40;
    m = mirage_net_meta_of(&h);
    CHECK_INT(m.gso_type, MIRAGE_NET_GSO_TCPV6);
    CHECK_INT(m.flags, MIRAGE_NET_META_CSUM_VALID);
    h.gso_type = 3;
    CHECK_INT(mirage_net_meta_of(&h).gso_type, MIRAGE_NET_GSO_NONE);

    /* What may be on together, and what the tap is told. */
    CHECK(mirage_net_offloads_valid(0) && mirage_net_offloads_valid(MIRAGE_NET_OFFLOAD_ALL));
    CHECK(mirage_net_offloads_valid(MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO6));
    CHECK(!mirage_net_offloads_valid(MIRAGE_NET_OFFLOAD_TSO6));
    CHECK(!mirage_net_offloads_valid(MIRAGE_NET_OFFLOAD_USO)); /* USO needs the checksum too */
    CHECK(mirage_net_offloads_valid(MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_USO));
    CHECK(!mirage_net_offloads_valid(16));
    /* TUN_F_CSUM|TSO4|TSO6|USO4|USO6: USO4 and USO6 only together (Linux 6.2+ refuses one) */
    CHECK_INT(mirage_tun_offload_flags(MIRAGE_NET_OFFLOAD_ALL), 0x67);
    CHECK_INT(mirage_tun_offload_flags(MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO6), 0x05);
    CHECK_INT(mirage_tun_offload_flags(MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_USO), 0x61);
    /* USO first, then the TCP sets as before: a kernel without USO keeps TSO. */
    CHECK_INT(mirage_net_offload_probe(0), MIRAGE_NET_OFFLOAD_ALL);
    CHECK_INT(mirage_net_offload_probe(1), MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO);
    CHECK_INT(mirage_net_offload_probe(2), MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO4);
    CHECK_INT(mirage_net_offload_probe(3), MIRAGE_NET_OFFLOAD_CSUM);
    CHECK_INT(mirage_net_offload_probe(4), 0);
    /* What the tenders' filters pin: 9 settings with USO, 5 without, never USO4 alone. */
    {
        unsigned k = 0;

        CHECK_INT(mirage_tun_offload_setting(MIRAGE_NET_OFFLOAD_ALL, 0), 0);
        CHECK_INT(mirage_tun_offload_setting(MIRAGE_NET_OFFLOAD_ALL, 1), 0x01);
        for (; mirage_tun_offload_setting(MIRAGE_NET_OFFLOAD_ALL, k) != ~0UL; k++) {
            unsigned long f = mirage_tun_offload_setting(MIRAGE_NET_OFFLOAD_ALL, k);

            CHECK(((f & 0x20) != 0) == ((f & 0x40) != 0) && (f == 0 || (f & 0x01)));
        }
        CHECK_INT(k, 9);
        for (k = 0; mirage_tun_offload_setting(MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO, k) !=
                    ~0UL;
             k++)
            CHECK(!(mirage_tun_offload_setting(MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO, k) &
                    0x60));
        CHECK_INT(k, 5);
    }

    /* UDP GSO (USO): both ways only with USO on, same bounds as TCP's. */
    {
        struct mirage_net_info uso = {{0}, 1500, MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_USO};
        struct mirage_net_meta gu = {MIRAGE_NET_META_NEEDS_CSUM, MIRAGE_NET_GSO_UDP_L4, 42, 1400, 34, 6};

        CHECK(mirage_net_tx_ok(&uso, &gu, 30042) && mirage_net_tx_ok(&both, &gu, MIRAGE_NET_GSO_MAX));
        CHECK(!mirage_net_tx_ok(&uso, &gu, MIRAGE_NET_GSO_MAX + 1));
        CHECK(!mirage_net_tx_ok(&v4, &gu, 30042) && !mirage_net_tx_ok(&v6, &gu, 30042));
        CHECK(!mirage_net_tx_ok(&uso, &g4, 30000));
        CHECK_INT(mirage_net_frame_max(&uso), MIRAGE_NET_GSO_MAX);
        CHECK(mirage_net_rx_ok(&uso, MIRAGE_NET_GSO_UDP_L4, 30042));
        CHECK(!mirage_net_rx_ok(&v4, MIRAGE_NET_GSO_UDP_L4, 30042));
        CHECK(!mirage_net_rx_ok(&uso, 3, 4042)); /* UFO frames: too long, dropped */
        h = mirage_vnet_hdr_of(&gu);
        m = mirage_net_meta_of(&h);
        CHECK(memcmp(&m, &gu, sizeof(m)) == 0);
    }
}

/* ---- two platform devices joined as two taps on one host --------------------------------------- */

/*
 * Handles 0 and 1 are two devices whose frames go to each other, as between
 * two taps on one host: a frame the sender left partial (NEEDS_CSUM, a GSO
 * frame) arrives whole and marked NEEDS_CSUM, never cut, so a receiver that
 * checked its checksum anyway would drop it. Each GSO frame is checked on
 * the way as the kernel's TSO would take it.
 */
struct qframe {
    struct qframe *next;
    struct mirage_net_meta meta;
    size_t len;
    uint8_t data[];
};

static struct dev {
    uint32_t offered, on;
    struct qframe *head, *tail;
    /* what went out of this device */
    unsigned gso4, gso6, gso_udp, partial, whole, bad;
    unsigned max_len;
    struct mirage_net_meta first_gso6; /* the first TCP/IPv6 GSO frame's */
    uint8_t first_gso6_hdr[128];
    struct mirage_net_meta last_udp; /* the last UDP GSO frame's */
} devs[2];

int mirage_net_set_offloads(mirage_handle_t h, uint32_t offloads)
{
    if (h > 1 || (offloads & ~devs[h].offered))
        return MIRAGE_EINVAL;
    devs[h].on = offloads;
    return 0;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)be16(p) << 16 | be16(p + 2);
}

/* A frame (f) leaving device (d): its headers and checksum as a tap's TSO would see them. */
static void inspect(struct dev *d, const struct mirage_frame *f)
{
    const struct mirage_net_meta *m = &f->meta;
    const uint8_t *b = f->buf;
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    size_t ip = 14, l4, len = f->len;
    uint16_t partial;
    int six = len >= 54 && b[12] == 0x86 && b[13] == 0xdd;
    uint8_t proto = six ? b[ip + 6] : b[ip + 9];

    if (len > d->max_len)
        d->max_len = (unsigned)len;
    if (!(m->flags & MIRAGE_NET_META_NEEDS_CSUM)) {
        d->whole++;
        return;
    }
    d->partial++;
    l4 = six ? ip + 40 : ip + (size_t)(b[ip] & 15) * 4;
    /* The checksum covers the TCP segment (the UDP datagram, or all of a UDP
     * GSO frame's: its length field says so) from its header; the field
     * holds the pseudo-header's sum, folded, not complemented. */
    if (m->csum_start != l4 || m->csum_offset != (proto == 17 ? 6 : 16) ||
        (proto != 6 && proto != 17) || (proto == 17 && be16(b + l4 + 4) != len - l4)) {
        d->bad++;
        return;
    }
    if (six) {
        if (be16(b + ip + 4) != len - l4) /* the payload length */
            d->bad++;
        mirage_csum_add_pseudo6(&c, b + ip + 8, b + ip + 24, proto, (uint32_t)(len - l4));
    } else {
        if (be16(b + ip + 2) != len - ip)
            d->bad++;
        mirage_csum_add_pseudo4(&c, be32(b + ip + 12), be32(b + ip + 16), proto, len - l4);
    }
    partial = (uint16_t)~mirage_csum_finish(&c);
    if (be16(b + l4 + m->csum_offset) != partial)
        d->bad++;
    if (m->gso_type == MIRAGE_NET_GSO_NONE)
        return;
    if (proto == 17) {
        /* Linux cuts it (__udp_gso_segment): one header, segments of gso_size. */
        if (m->gso_type == MIRAGE_NET_GSO_UDP_L4 && m->hdr_len == l4 + 8 &&
            len - m->hdr_len > m->gso_size &&
            (len - m->hdr_len + m->gso_size - 1) / m->gso_size <= MIRAGE_NET_USO_MAX_SEGS)
            d->gso_udp++;
        else
            d->bad++;
        d->last_udp = *m;
        return;
    }
    if (m->gso_type == (six ? MIRAGE_NET_GSO_TCPV6 : MIRAGE_NET_GSO_TCPV4) &&
        m->hdr_len == l4 + (size_t)(b[l4 + 12] >> 4) * 4 && len - m->hdr_len > m->gso_size)
        six ? d->gso6++ : d->gso4++;
    else
        d->bad++;
    if (six && d->gso6 == 1) {
        d->first_gso6 = *m;
        memcpy(d->first_gso6_hdr, b, sizeof(d->first_gso6_hdr));
    }
}

int mirage_net_writev(mirage_handle_t h, const struct mirage_frame *frames, size_t n, size_t *sent)
{
    struct mirage_net_info info = {{0}, 1500, 0};

    *sent = 0;
    if (h > 1)
        return MIRAGE_EINVAL;
    info.offloads = devs[h].on;
    for (size_t i = 0; i < n; i++) {
        struct dev *to = &devs[1 - h];
        struct qframe *q;

        if (!mirage_net_tx_ok(&info, &frames[i].meta, frames[i].len))
            return MIRAGE_EINVAL;
        inspect(&devs[h], &frames[i]);
        q = malloc(sizeof(*q) + frames[i].len);
        if (q == NULL)
            return MIRAGE_ENOMEM;
        q->next = NULL;
        q->len = frames[i].len;
        q->meta = frames[i].meta;
        memcpy(q->data, frames[i].buf, q->len);
        if (to->tail)
            to->tail->next = q;
        else
            to->head = q;
        to->tail = q;
        fake_ready |= 1ull << (1 - h);
        fake_ready_at = fake_now;
        ++*sent;
    }
    return 0;
}

int mirage_net_write(mirage_handle_t h, const uint8_t *buf, size_t size)
{
    struct mirage_frame f = {(uint8_t *)buf, size, size, {0}};
    size_t sent;

    return mirage_net_writev(h, &f, 1, &sent);
}

int mirage_net_readv(mirage_handle_t h, struct mirage_frame *frames, size_t n, size_t *got)
{
    struct mirage_net_info info = {{0}, 1500, 0};

    *got = 0;
    if (h > 1)
        return MIRAGE_EINVAL;
    info.offloads = devs[h].on;
    while (*got < n && devs[h].head != NULL) {
        struct qframe *q = devs[h].head;
        struct mirage_frame *f = &frames[*got];

        devs[h].head = q->next;
        if (devs[h].head == NULL)
            devs[h].tail = NULL;
        /* What the receiver's rules let in; the sender's test fails otherwise. */
        if (f->cap < mirage_net_frame_max(&info) || !mirage_net_rx_ok(&info, q->meta.gso_type, q->len)) {
            free(q);
            return MIRAGE_EINVAL;
        }
        memcpy(f->buf, q->data, q->len);
        f->len = q->len;
        f->meta = info.offloads ? q->meta : (struct mirage_net_meta){0};
        free(q);
        ++*got;
    }
    return *got ? 0 : MIRAGE_EAGAIN;
}

int mirage_net_stats(mirage_handle_t h, struct mirage_net_stats *st)
{
    (void)h;
    st->rx_oversized = 0;
    return 0;
}

/* ---- TCP over both families through them --------------------------------------------------- */

#define WAIT  MIRAGE_SEC(60)
#define BYTES (1u << 20)

static uint8_t out[BYTES], in[BYTES];
static struct mirage_tcp_listener *listener;

/* Accepts one connection and reads it to its end into (in). */
static int sink(void *arg)
{
    struct mirage_flow *f;
    size_t n = 0, got;
    int r;

    (void)arg;
    r = mirage_tcp_accept(listener, &f, NULL, NULL, mirage_deadline_in(WAIT));
    if (r < 0)
        return r;
    while ((r = mirage_flow_read(f, in + n, BYTES - n, &got, mirage_deadline_in(WAIT))) == 0 &&
           got > 0)
        n += got;
    mirage_flow_close(f);
    return r == 0 ? (int)(n == BYTES) : r;
}

/* BYTES from the client stack to the server's sink at (to), byte-exact,
 * written (chunk) bytes a call (0: all at once). */
static void transfer_by(struct mirage_stack *client, struct mirage_stack *server,
                        struct mirage_ipaddr to, size_t chunk)
{
    struct mirage_fiber *fb;
    struct mirage_flow *f;
    int r = -1;

    for (size_t i = 0; i < BYTES; i++)
        out[i] = (uint8_t)(i * 13 + i / 509);
    memset(in, 0, sizeof(in));
    CHECK_INT(mirage_tcp_listen(server, 9, NULL, &listener), 0);
    fb = mirage_fiber_spawn("sink", sink, NULL, 0);
    CHECK_INT(mirage_tcp_connect(client, &to, 9, &f, mirage_deadline_in(WAIT)), 0);
    if (f != NULL) {
        for (size_t at = 0, k = chunk ? chunk : BYTES; at < BYTES; at += k)
            CHECK_INT(mirage_flow_write(f, out + at, k, mirage_deadline_in(WAIT)), 0);
        CHECK_INT(mirage_flow_shutdown(f, MIRAGE_SHUT_WR), 0);
    }
    CHECK_INT(mirage_fiber_join(fb, &r), 0);
    CHECK_INT(r, 1);
    CHECK(memcmp(in, out, BYTES) == 0);
    if (f != NULL)
        mirage_flow_close(f);
    mirage_tcp_unlisten(listener);
}

static void transfer(struct mirage_stack *client, struct mirage_stack *server,
                     struct mirage_ipaddr to)
{
    transfer_by(client, server, to, 0);
}

static struct mirage_ipaddr v6(uint8_t last)
{
    struct mirage_ipaddr a = {.family = 6, .a = {0xfd, 0, 0, 0, 0, 0, 0, 14}};

    a.a[15] = last;
    return a;
}

/* Two dual stacks on devices offering (offered); 1 MiB over IPv6, then over IPv4. */
static void run_pair(uint32_t offered, struct mirage_netif nif[2], struct mirage_stack *s[2])
{
    struct mirage_stack_config c[2] = {
        {.ipv4 = mirage_ipv4_addr(10, 0, 14, 1), .ipv4_prefix = 24, .ipv6 = v6(1), .ipv6_prefix = 64},
        {.ipv4 = mirage_ipv4_addr(10, 0, 14, 2), .ipv4_prefix = 24, .ipv6 = v6(2), .ipv6_prefix = 64}};

    memset(devs, 0, sizeof(devs));
    for (int i = 0; i < 2; i++) {
        devs[i].offered = offered;
        nif[i] = (struct mirage_netif){.name = i ? "b" : "a", .handle = (mirage_handle_t)i};
        nif[i].info = (struct mirage_net_info){{2, 0, 0, 0, 14, (uint8_t)(i + 1)}, 1500, offered};
        CHECK_INT(mirage_stack_direct_new(&nif[i], &c[i], &s[i]), 0);
    }
    mirage_sleep_ns(MIRAGE_MS(2500)); /* DAD */
    transfer(s[0], s[1], v6(2));
}

/* Both stacks stop before either queue is emptied: the second one's last segments (a FIN sent
 * again, say) go to the first one's device while it stops. */
static void stop_pair(struct mirage_netif nif[2], struct mirage_stack *s[2])
{
    for (int i = 0; i < 2; i++) {
        mirage_stack_disconnect(s[i]);
        mirage_netif_close(&nif[i]);
    }
    for (int i = 0; i < 2; i++) {
        while (devs[i].head) {
            struct qframe *q = devs[i].head;
            devs[i].head = q->next;
            free(q);
        }
    }
}

/* The tcp measurement's (field) for interface (ifname), from a metrics sample. */
static long long tcp_stat(const char *ifname, const char *field)
{
    static char buf[MIRAGE_METRICS_BUF];
    char tag[32], key[48];
    size_t skipped = 0, len = mirage_metrics_collect(buf, sizeof(buf) - 1, "t", 0, &skipped);
    const char *line, *f;

    buf[len] = '\0';
    snprintf(tag, sizeof(tag), "tcp,host=t,interface=%s ", ifname);
    snprintf(key, sizeof(key), "%s=", field);
    if ((line = strstr(buf, tag)) == NULL || (f = strstr(line, key)) == NULL)
        return -1;
    return atoll(f + strlen(key));
}

/* A SYN from v6 (1) to a closed port of v6 (2), to device 1 with (meta);
 * its checksum right or not. */
/* Queues (q) of (len) bytes with (meta) on side 1's device, as the host's
 * frame read next, and tells the platform it is ready. */
static void inject(struct qframe *q, size_t len, const struct mirage_net_meta *meta)
{
    q->len = len;
    q->meta = *meta;
    if (devs[1].tail)
        devs[1].tail->next = q;
    else
        devs[1].head = q;
    devs[1].tail = q;
    fake_ready |= 2;
    fake_ready_at = fake_now;
}

static void inject_syn6(const struct mirage_net_meta *meta, int good)
{
    static const uint8_t hdr[] = {2, 0, 0, 0, 14, 2, 2, 0, 0, 0, 14, 1, 0x86, 0xdd};
    struct qframe *q = calloc(1, sizeof(*q) + 74);
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    uint8_t *b = q->data, *tcp = b + 54;
    uint16_t sum;

    memcpy(b, hdr, sizeof(hdr));
    b[14] = 0x60;
    b[19] = 20; /* payload length */
    b[20] = 6;
    b[21] = 64;
    memcpy(b + 22, v6(1).a, 16);
    memcpy(b + 38, v6(2).a, 16);
    tcp[0] = 0x9c, tcp[1] = 0x40; /* port 40000 */
    tcp[2] = 0x11, tcp[3] = 0x5c; /* port 4444: nobody listens */
    tcp[7] = 1;
    tcp[12] = 5 << 4;
    tcp[13] = 0x02; /* SYN */
    tcp[14] = 0x10;
    mirage_csum_add_pseudo6(&c, b + 22, b + 38, 6, 20);
    mirage_csum_add(&c, tcp, 20);
    sum = (uint16_t)(mirage_csum_finish(&c) ^ (good ? 0 : 0x1234));
    tcp[16] = (uint8_t)(sum >> 8), tcp[17] = (uint8_t)sum;
    inject(q, 74, meta);
    mirage_sleep_ns(MIRAGE_MS(10));
}

/* On a device with offloads on, a TCP/IPv6 segment skips the checksum only
 * when its frame is marked (CSUM_VALID, NEEDS_CSUM), as over IPv4. */
static void test_csum_rule6(void)
{
    const struct mirage_net_meta none = {0}, valid = {MIRAGE_NET_META_CSUM_VALID, 0, 0, 0, 0, 0};
    long long bad0 = tcp_stat("b", "bad_checksums"), rst0 = tcp_stat("b", "resets_sent");

    CHECK(bad0 >= 0 && rst0 >= 0);
    inject_syn6(&none, 0); /* unmarked, wrong: dropped */
    CHECK_INT(tcp_stat("b", "bad_checksums"), bad0 + 1);
    CHECK_INT(tcp_stat("b", "resets_sent"), rst0);
    inject_syn6(&none, 1); /* unmarked, right: refused with a reset */
    CHECK_INT(tcp_stat("b", "resets_sent"), rst0 + 1);
    inject_syn6(&valid, 0); /* the device vouched for it: not checked again */
    CHECK_INT(tcp_stat("b", "bad_checksums"), bad0 + 1);
    CHECK_INT(tcp_stat("b", "resets_sent"), rst0 + 2);
}

/* A device offering TSO6: the sender hands it 64 KiB TCP/IPv6 frames with
 * the right fields, and the receiver takes them coalesced, unverified. */
static void test_tso6(void)
{
    struct mirage_netif nif[2];
    struct mirage_stack *s[2];
    struct mirage_netif_stats st;
    const struct mirage_net_meta *m = &devs[0].first_gso6;
    const uint8_t *b = devs[0].first_gso6_hdr;

    run_pair(MIRAGE_NET_OFFLOAD_ALL, nif, s);
    CHECK_INT(devs[0].on, MIRAGE_NET_OFFLOAD_ALL);
    CHECK(devs[0].gso6 > 0);
    CHECK_INT(devs[0].gso4, 0);
    CHECK_INT(devs[0].bad, 0);
    /* Over the MTU, at most the bound: 14 + 40 + 32 + 65448 (45 segments of 1428 + ...). */
    CHECK(devs[0].max_len > 1514 && devs[0].max_len <= MIRAGE_NET_GSO_MAX);
    /* MSS 1440 less the timestamps per segment; headers: Ethernet, IPv6, TCP with timestamps. */
    CHECK_INT(m->gso_size, 1428);
    CHECK_INT(m->hdr_len, 14 + 40 + 32);
    CHECK_INT(m->csum_start, 14 + 40);
    CHECK_INT(m->csum_offset, 16);
    CHECK_INT(m->flags, MIRAGE_NET_META_NEEDS_CSUM);
    CHECK_INT(b[20], 6); /* next header TCP, no extension header in front of it */
    mirage_netif_stats(&nif[0], &st);
    CHECK_INT(st.tx_gso, devs[0].gso6);
    mirage_netif_stats(&nif[1], &st);
    CHECK(st.rx_gso > 0);

    test_csum_rule6();

    /* The same devices over IPv4: TCPV4 frames, as before. */
    transfer(s[0], s[1], mirage_ipv4_addr(10, 0, 14, 2));
    CHECK(devs[0].gso4 > 0);
    CHECK_INT(devs[0].bad, 0);
    stop_pair(nif, s);
}

/* A tap that took TSO4 but not TSO6: IPv6 segments go one by one, their
 * checksums still left to the device; IPv4 keeps its large segments. */
static void test_tso4_only(void)
{
    struct mirage_netif nif[2];
    struct mirage_stack *s[2];

    run_pair(MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO4, nif, s);
    CHECK_INT(devs[0].gso6, 0);
    CHECK(devs[0].partial > 700); /* 1 MiB of data segments, their checksums partial */
    CHECK_INT(devs[0].bad, 0);
    CHECK_INT(devs[0].max_len, 1514);
    transfer(s[0], s[1], mirage_ipv4_addr(10, 0, 14, 2));
    CHECK(devs[0].gso4 > 0);
    CHECK_INT(devs[0].bad, 0);
    stop_pair(nif, s);
}

/* No offloads: every frame whole and within the MTU, checksums complete. */
static void test_no_offloads(void)
{
    struct mirage_netif nif[2];
    struct mirage_stack *s[2];

    run_pair(0, nif, s);
    CHECK_INT(devs[0].partial, 0);
    CHECK(devs[0].whole > 700);
    CHECK_INT(devs[0].max_len, 1514);
    stop_pair(nif, s);
}

/* ---- UDP trains and UDP GSO frames (USO) ----------------------------------------------------- */

#define TRAIN     60000 /* bytes of one train */
#define UDP_PORT  5000
#define MAX_DGRAM 256

static uint8_t train[TRAIN], got_buf[TRAIN];
static size_t got_len, got_n, got_sizes[MAX_DGRAM];

/* Each datagram to UDP_PORT: its bytes appended, its size noted. */
static void on_udp(void *ctx, const struct mirage_udp_rx *rx)
{
    (void)ctx;
    if (got_n < MAX_DGRAM)
        got_sizes[got_n] = rx->len;
    got_n++;
    if (got_len + rx->len <= TRAIN)
        memcpy(got_buf + got_len, rx->data, rx->len);
    got_len += rx->len;
}

static void got_reset(void)
{
    got_len = got_n = 0;
    memset(got_buf, 0, sizeof(got_buf));
}

/* What arrived is (len) bytes of train in datagrams of (seg), the last maybe shorter. */
static void check_got(size_t len, size_t seg)
{
    size_t n = (len + seg - 1) / seg;

    CHECK_INT(got_n, n);
    CHECK_INT(got_len, len);
    for (size_t i = 0; i < n && i < MAX_DGRAM; i++)
        CHECK_INT(got_sizes[i], i + 1 < n ? seg : len - (n - 1) * seg);
    CHECK(got_len == len && memcmp(got_buf, train, len) == 0);
}

/* A train of (len) bytes in datagrams of (seg) from stack 0 to (to), port UDP_PORT of stack 1. */
static int send_train(struct mirage_stack *s, struct mirage_ipaddr to, size_t len, uint16_t seg)
{
    int r;

    got_reset();
    r = mirage_udp_write_segments(s, 0, &to, UDP_PORT, -1, train, len, seg);
    mirage_sleep_ns(MIRAGE_MS(10));
    return r;
}

/* A device with USO: a train leaves as UDP GSO frames of up to 64 datagrams
 * with the fields Linux's USO takes, and the receiver splits them back into
 * the datagrams, byte-exact and in order, over IPv6 and IPv4. */
static void test_uso_tx(void)
{
    struct mirage_netif nif[2];
    struct mirage_stack *s[2];
    struct mirage_netif_stats st;
    unsigned before;

    for (size_t i = 0; i < TRAIN; i++)
        train[i] = (uint8_t)(i * 7 + i / 251);
    run_pair(MIRAGE_NET_OFFLOAD_ALL, nif, s);
    CHECK_INT(devs[0].on, MIRAGE_NET_OFFLOAD_ALL);
    CHECK_INT(mirage_udp_listen(s[1], UDP_PORT, on_udp, NULL), 0);

    CHECK_INT(send_train(s[0], v6(2), TRAIN, 1400), 0); /* 43 datagrams, one frame */
    CHECK_INT(devs[0].gso_udp, 1);
    CHECK_INT(devs[0].last_udp.gso_size, 1400);
    CHECK_INT(devs[0].last_udp.hdr_len, 14 + 40 + 8);
    CHECK_INT(devs[0].last_udp.csum_start, 14 + 40);
    CHECK_INT(devs[0].last_udp.flags, MIRAGE_NET_META_NEEDS_CSUM);
    check_got(TRAIN, 1400);

    /* The first train to 10.0.14.2 finds its MAC unknown: no frame with
     * metadata waits for ARP, so it goes datagram by datagram (queued). */
    CHECK_INT(send_train(s[0], mirage_ipv4_addr(10, 0, 14, 2), TRAIN, 1400), 0);
    CHECK_INT(devs[0].gso_udp, 1);
    check_got(TRAIN, 1400);
    CHECK_INT(send_train(s[0], mirage_ipv4_addr(10, 0, 14, 2), TRAIN, 1400), 0);
    CHECK_INT(devs[0].gso_udp, 2);
    CHECK_INT(devs[0].last_udp.hdr_len, 14 + 20 + 8);
    CHECK_INT(devs[0].last_udp.csum_start, 14 + 20);
    check_got(TRAIN, 1400);

    /* 100 datagrams of 600: two frames, 64 and 36. */
    CHECK_INT(send_train(s[0], mirage_ipv4_addr(10, 0, 14, 2), TRAIN, 600), 0);
    CHECK_INT(devs[0].gso_udp, 4);
    check_got(TRAIN, 600);

    /* One datagram's worth (or less) is an ordinary datagram. */
    before = devs[0].gso_udp;
    CHECK_INT(send_train(s[0], v6(2), 1000, 1400), 0);
    CHECK_INT(devs[0].gso_udp, before);
    check_got(1000, 1400);

    /* Each datagram must fit the MTU: 1472 + 8 + 20 does, 1473 does not. */
    CHECK_INT(send_train(s[0], mirage_ipv4_addr(10, 0, 14, 2), 3000, 1473), MIRAGE_EMSGSIZE);
    CHECK_INT(got_n, 0);
    CHECK_INT(send_train(s[0], mirage_ipv4_addr(10, 0, 14, 2), 3000, 1472), 0);
    check_got(3000, 1472);
    CHECK_INT(devs[0].bad, 0);
    mirage_netif_stats(&nif[0], &st);
    CHECK(st.tx_gso >= devs[0].gso_udp);
    mirage_netif_stats(&nif[1], &st);
    CHECK(st.rx_gso >= devs[0].gso_udp);
    CHECK_INT(st.rx_gso_bad, 0);
    stop_pair(nif, s);
}

/* A device without USO (TSO and the checksum only): the same trains go
 * datagram by datagram, each within the MTU. */
static void test_uso_off(void)
{
    struct mirage_netif nif[2];
    struct mirage_stack *s[2];

    run_pair(MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO, nif, s);
    CHECK_INT(mirage_udp_listen(s[1], UDP_PORT, on_udp, NULL), 0);
    devs[0].max_len = 0;
    CHECK_INT(send_train(s[0], v6(2), TRAIN, 1400), 0);
    check_got(TRAIN, 1400);
    CHECK_INT(send_train(s[0], mirage_ipv4_addr(10, 0, 14, 2), TRAIN, 1400), 0);
    check_got(TRAIN, 1400);
    CHECK_INT(devs[0].gso_udp, 0);
    CHECK_INT(devs[0].bad, 0);
    CHECK(devs[0].max_len <= 1514);
    stop_pair(nif, s);
}

/* Checksum of a UDP GSO frame built by hand; CSUM_FRAGMENT: partial, and over IPv4 the
 * datagram's first fragment (more fragments). */
enum csum_mode { CSUM_PARTIAL, CSUM_FULL, CSUM_WRONG, CSUM_FRAGMENT };

/* A UDP GSO frame (meta) to device 1 from stack 0's address over IPv4 or
 * IPv6: (len) payload bytes of train to UDP_PORT, its UDP length field off by
 * (ulen_delta), its IP protocol (proto), its checksum as (cm) says. */
static void inject_udp(int six, const struct mirage_net_meta *meta, size_t len, int ulen_delta,
                       uint8_t proto, enum csum_mode cm)
{
    static const uint8_t eth4[] = {2, 0, 0, 0, 14, 2, 2, 0, 0, 0, 14, 1, 0x08, 0x00};
    static const uint8_t eth6[] = {2, 0, 0, 0, 14, 2, 2, 0, 0, 0, 14, 1, 0x86, 0xdd};
    size_t l4 = 14 + (six ? 40 : 20), flen = l4 + 8 + len;
    struct qframe *q = calloc(1, sizeof(*q) + flen);
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    uint8_t *b = q->data, *ip = b + 14, *u = b + l4;
    uint16_t ulen = (uint16_t)(8 + len + (size_t)ulen_delta), sum;

    memcpy(b, six ? eth6 : eth4, 14);
    if (six) {
        ip[0] = 0x60;
        ip[4] = (uint8_t)((8 + len) >> 8), ip[5] = (uint8_t)(8 + len);
        ip[6] = proto;
        ip[7] = 64;
        memcpy(ip + 8, v6(1).a, 16);
        memcpy(ip + 24, v6(2).a, 16);
        mirage_csum_add_pseudo6(&c, ip + 8, ip + 24, 17, (uint32_t)(8 + len));
    } else {
        ip[0] = 0x45;
        ip[2] = (uint8_t)((28 + len) >> 8), ip[3] = (uint8_t)(28 + len);
        ip[6] = cm == CSUM_FRAGMENT ? 0x20 : 0;
        ip[8] = 64;
        ip[9] = proto;
        ip[12] = 10, ip[14] = 14, ip[15] = 1;
        ip[16] = 10, ip[18] = 14, ip[19] = 2;
        sum = mirage_csum(ip, 20);
        ip[10] = (uint8_t)(sum >> 8), ip[11] = (uint8_t)sum;
        mirage_csum_add_pseudo4(&c, 0x0a000e01u, 0x0a000e02u, 17, 8 + len);
    }
    u[0] = 0x9c, u[1] = 0x40; /* port 40000 */
    u[2] = UDP_PORT >> 8, u[3] = UDP_PORT & 0xff;
    u[4] = (uint8_t)(ulen >> 8), u[5] = (uint8_t)ulen;
    memcpy(u + 8, train, len);
    if (cm == CSUM_PARTIAL || cm == CSUM_FRAGMENT) {
        sum = (uint16_t)~mirage_csum_finish(&c);
    } else {
        mirage_csum_add(&c, u, 8 + len);
        sum = (uint16_t)(mirage_csum_finish(&c) ^ (cm == CSUM_WRONG ? 0x0101 : 0));
    }
    u[6] = (uint8_t)(sum >> 8), u[7] = (uint8_t)sum;
    inject(q, flen, meta);
    got_reset();
    mirage_sleep_ns(MIRAGE_MS(10));
}

/* UDP GSO frames as the host's kernel hands them over (a UDP_SEGMENT send):
 * split into their datagrams over both families; malformed ones (segment
 * size 0, hdr_len past the frame, a UDP length that disagrees, not UDP, a
 * fragment) dropped and counted, never delivered. */
static void test_uso_rx(void)
{
    struct mirage_netif nif[2];
    struct mirage_stack *s[2];
    struct mirage_netif_stats st;
    struct mirage_net_meta g4 = {MIRAGE_NET_META_NEEDS_CSUM, MIRAGE_NET_GSO_UDP_L4, 42, 1000, 34, 6};
    struct mirage_net_meta g6 = {MIRAGE_NET_META_NEEDS_CSUM, MIRAGE_NET_GSO_UDP_L4, 62, 1000, 54, 6};
    struct mirage_net_meta m;
    uint64_t bad = 0;

    run_pair(MIRAGE_NET_OFFLOAD_ALL, nif, s);
    CHECK_INT(mirage_udp_listen(s[1], UDP_PORT, on_udp, NULL), 0);
    inject_udp(0, &g4, 3500, 0, 17, CSUM_PARTIAL);
    check_got(3500, 1000);
    inject_udp(1, &g6, 2500, 0, 17, CSUM_PARTIAL);
    check_got(2500, 1000);
    m = g4;
    m.hdr_len = 200; /* only a hint of the kernel's (its skb's linear part) */
    inject_udp(0, &m, 3500, 0, 17, CSUM_PARTIAL);
    check_got(3500, 1000);
    m.flags = 0; /* no flag: the checksum covers the whole and is checked */
    inject_udp(0, &m, 3500, 0, 17, CSUM_FULL);
    check_got(3500, 1000);
    inject_udp(0, &m, 3500, 0, 17, CSUM_WRONG);
    CHECK_INT(got_n, 0);
    m = g6;
    m.flags = MIRAGE_NET_META_CSUM_VALID;
    inject_udp(1, &m, 5000, 0, 17, CSUM_FULL);
    check_got(5000, 1000);
    mirage_netif_stats(&nif[1], &st);
    CHECK_INT(st.rx_gso_bad, 0);

    m = g4;
    m.gso_size = 0;
    inject_udp(0, &m, 3500, 0, 17, CSUM_PARTIAL);
    CHECK_INT(got_n, 0);
    m = g6;
    m.hdr_len = 2563; /* past the frame's 14 + 40 + 8 + 2500 */
    inject_udp(1, &m, 2500, 0, 17, CSUM_PARTIAL);
    CHECK_INT(got_n, 0);
    inject_udp(0, &g4, 3500, -1, 17, CSUM_PARTIAL); /* UDP length one short */
    CHECK_INT(got_n, 0);
    inject_udp(1, &g6, 2500, 1, 17, CSUM_PARTIAL); /* one long */
    CHECK_INT(got_n, 0);
    inject_udp(0, &g4, 3500, 0, 6, CSUM_PARTIAL); /* TCP with a UDP GSO header */
    inject_udp(1, &g6, 2500, 0, 58, CSUM_PARTIAL); /* ICMPv6 */
    inject_udp(0, &g4, 1400, 0, 17, CSUM_FRAGMENT); /* a GSO frame is never a fragment */
    CHECK_INT(got_n, 0);
    mirage_netif_stats(&nif[1], &st);
    bad = st.rx_gso_bad;
    CHECK_INT(bad, 7);
    /* The device goes on serving: a good one after them. */
    inject_udp(1, &g6, 2500, 0, 17, CSUM_PARTIAL);
    check_got(2500, 1000);
    stop_pair(nif, s);
}

/* Autocorking: 1 MiB written 4 KiB a call leaves in large TSO frames, not in
 * one 4 KiB frame per write (tcp_push), byte-exact, over both families. */
static void test_small_writes(void)
{
    struct mirage_netif nif[2];
    struct mirage_stack *s[2];

    run_pair(MIRAGE_NET_OFFLOAD_ALL, nif, s);
    for (int six = 0; six < 2; six++) {
        devs[0].gso4 = devs[0].gso6 = devs[0].max_len = 0;
        transfer_by(s[0], s[1], six ? v6(2) : mirage_ipv4_addr(10, 0, 14, 2), 4096);
        unsigned gso = six ? devs[0].gso6 : devs[0].gso4;
        fprintf(stderr, "small writes over IPv%d: %u GSO frames, the largest %u bytes\n",
                six ? 6 : 4, gso, devs[0].max_len);
        CHECK(gso > 0 && gso < 64);
        CHECK(devs[0].max_len > 32768);
        CHECK_INT(devs[0].bad, 0);
    }
    stop_pair(nif, s);
}

int main(void)
{
    mirage_log_set(getenv("LOGS") ? getenv("LOGS") : "warning", NULL, 0);
    test_rules();
    test_tso6();
    test_tso4_only();
    test_no_offloads();
    test_uso_rx();
    test_uso_tx();
    test_uso_off();
    test_small_writes();
    if (check_failures)
        fputs(fake_console_text(), stderr);
    return CHECK_DONE();
}
