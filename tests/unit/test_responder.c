/* test_responder.c: the ARP/ICMP responder answers real requests and drops every malformed one. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "mirage/checksum.h"
#include "mirage/responder.h"
#include "mirage/error.h"

static const uint8_t our_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t our_ip[4] = {10, 0, 0, 2};
static const uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t peer_ip[4] = {10, 0, 0, 1};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static size_t arp_request(uint8_t *f, const uint8_t target[4])
{
    memset(f, 0xff, 6);
    memcpy(f + 6, peer_mac, 6);
    put16(f + 12, 0x0806);
    put16(f + 14, 1);
    put16(f + 16, 0x0800);
    f[18] = 6;
    f[19] = 4;
    put16(f + 20, 1);
    memcpy(f + 22, peer_mac, 6);
    memcpy(f + 28, peer_ip, 4);
    memset(f + 32, 0, 6);
    memcpy(f + 38, target, 4);
    return 42;
}

/* An echo request with (payload) bytes of data and (opt) bytes of IP options. */
static size_t echo_request(uint8_t *f, size_t payload, size_t opt)
{
    uint8_t *ip = f + 14, *ic;
    size_t ihl = 20 + opt;

    memcpy(f, our_mac, 6);
    memcpy(f + 6, peer_mac, 6);
    put16(f + 12, 0x0800);
    ip[0] = (uint8_t)(0x40 | ihl / 4);
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(ihl + 8 + payload));
    put16(ip + 4, 0x1234);
    put16(ip + 6, 0x4000); /* DF, as Linux ping sends */
    ip[8] = 64;
    ip[9] = 1;
    put16(ip + 10, 0);
    memcpy(ip + 12, peer_ip, 4);
    memcpy(ip + 16, our_ip, 4);
    memset(ip + 20, 1, opt); /* NOP options */
    put16(ip + 10, mirage_csum(ip, ihl));
    ic = ip + ihl;
    ic[0] = 8;
    ic[1] = 0;
    put16(ic + 2, 0);
    put16(ic + 4, 0xbeef);
    put16(ic + 6, 7);
    for (size_t i = 0; i < payload; i++)
        ic[8 + i] = (uint8_t)i;
    put16(ic + 2, mirage_csum(ic, 8 + payload));
    return 14 + ihl + 8 + payload;
}

static void test_arp(void)
{
    struct mirage_responder e;
    uint8_t in[64], out[1514];
    size_t n;

    mirage_responder_init(&e, our_mac, our_ip);
    n = mirage_responder_answer(&e, in, arp_request(in, our_ip), out, sizeof(out));
    CHECK_INT(n, 60);
    CHECK(memcmp(out, peer_mac, 6) == 0);
    CHECK(memcmp(out + 6, our_mac, 6) == 0);
    CHECK_INT(out[12] << 8 | out[13], 0x0806);
    CHECK_INT(out[20] << 8 | out[21], 2);
    CHECK(memcmp(out + 22, our_mac, 6) == 0);
    CHECK(memcmp(out + 28, our_ip, 4) == 0);
    CHECK(memcmp(out + 32, peer_mac, 6) == 0);
    CHECK(memcmp(out + 38, peer_ip, 4) == 0);
    CHECK_INT(e.stats.arp_replies, 1);

    /* For another address: no answer. */
    n = mirage_responder_answer(&e, in, arp_request(in, peer_ip), out, sizeof(out));
    CHECK_INT(n, 0);
    CHECK_INT(e.stats.ignored, 1);

    /* Every truncation of a request is dropped as bad, never read past. */
    for (size_t len = 0; len < 42; len++) {
        arp_request(in, our_ip);
        CHECK_INT(mirage_responder_answer(&e, in, len, out, sizeof(out)), 0);
    }
    CHECK_INT(e.stats.bad, 42);
    CHECK_INT(e.stats.arp_replies, 1);
}

static void check_reply(const uint8_t *out, size_t n, size_t payload)
{
    const uint8_t *ip = out + 14, *ic = out + 34;

    CHECK_INT(n, 14 + 20 + 8 + payload < 60 ? 60 : 14 + 20 + 8 + payload);
    CHECK(memcmp(out, peer_mac, 6) == 0);
    CHECK(memcmp(out + 6, our_mac, 6) == 0);
    CHECK_INT(ip[0], 0x45);
    CHECK_INT(ip[2] << 8 | ip[3], 20 + 8 + payload);
    CHECK_INT(mirage_csum(ip, 20), 0);
    CHECK(memcmp(ip + 12, our_ip, 4) == 0);
    CHECK(memcmp(ip + 16, peer_ip, 4) == 0);
    CHECK_INT(ic[0], 0);
    CHECK_INT(mirage_csum(ic, 8 + payload), 0);
    CHECK_INT(ic[4] << 8 | ic[5], 0xbeef);
    CHECK_INT(ic[6] << 8 | ic[7], 7);
    for (size_t i = 0; i < payload; i++)
        if (ic[8 + i] != (uint8_t)i) {
            CHECK_INT(ic[8 + i], (uint8_t)i);
            break;
        }
}

static void test_echo(void)
{
    static const size_t sizes[] = {0, 1, 7, 56, 1400, 1472};
    struct mirage_responder e;
    uint8_t in[1514 + 64], out[1514];
    size_t n, len;

    mirage_responder_init(&e, our_mac, our_ip);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        n = mirage_responder_answer(&e, in, echo_request(in, sizes[i], 0), out, sizeof(out));
        check_reply(out, n, sizes[i]);
    }
    /* IP options are accepted and left out of the reply. */
    n = mirage_responder_answer(&e, in, echo_request(in, 100, 8), out, sizeof(out));
    check_reply(out, n, 100);
    /* Ethernet padding after the IP total length is ignored. */
    len = echo_request(in, 0, 0);
    memset(in + len, 0xee, 18);
    n = mirage_responder_answer(&e, in, len + 18, out, sizeof(out));
    check_reply(out, n, 0);
    CHECK_INT(e.stats.icmp_replies, 8);
    CHECK_INT(e.stats.bad, 0);

    /* Too small an output buffer: no answer, nothing written past it. */
    CHECK_INT(mirage_responder_answer(&e, in, echo_request(in, 1000, 0), out, 500), 0);
}

static void test_malformed(void)
{
    struct mirage_responder e;
    uint8_t in[1600], out[1514];
    size_t len;

    mirage_responder_init(&e, our_mac, our_ip);
#define BAD(mutate)                                                                                \
    do {                                                                                           \
        uint64_t before = e.stats.bad;                                                             \
        len = echo_request(in, 64, 0);                                                             \
        mutate;                                                                                    \
        CHECK_INT(mirage_responder_answer(&e, in, len, out, sizeof(out)), 0);                      \
        CHECK_INT(e.stats.bad, before + 1);                                                        \
    } while (0)
    BAD(in[14 + 10] ^= 1);     /* IP header checksum */
    BAD(in[14 + 20 + 8] ^= 1); /* ICMP checksum over the payload */
    BAD(in[14] = 0x65);        /* version 6 in an IPv4 frame */
    BAD(in[14] = 0x44);        /* IHL below 5 */
    BAD(in[14] = 0x4f);        /* IHL past the end of the packet */
    BAD(put16(in + 16, 19));   /* total length below the header */
    BAD(put16(in + 16, 2000)); /* total length past the frame */
    BAD(len = 14 + 20 + 4);    /* truncated ICMP header */
    BAD(len = 30);             /* truncated IP header */
    BAD(in[6] = 0x01);         /* multicast source MAC */
#undef BAD
    /* The total length shrunk to a valid header but a short ICMP message. */
    len = echo_request(in, 0, 0);
    put16(in + 16, 24);
    put16(in + 24, 0);
    put16(in + 24, mirage_csum(in + 14, 20));
    CHECK_INT(mirage_responder_answer(&e, in, len, out, sizeof(out)), 0);

    /* Not for us: another IP, another MAC, a fragment, UDP, an echo reply. */
    len = echo_request(in, 8, 0);
    in[0] = 0x04;
    CHECK_INT(mirage_responder_answer(&e, in, len, out, sizeof(out)), 0);
    len = echo_request(in, 8, 0);
    put16(in + 20, 0x2000); /* more fragments */
    put16(in + 24, 0);
    put16(in + 24, mirage_csum(in + 14, 20));
    CHECK_INT(mirage_responder_answer(&e, in, len, out, sizeof(out)), 0);
    CHECK_INT(e.stats.icmp_replies, 0);
}

int main(void)
{
    test_arp();
    test_echo();
    test_malformed();
    return CHECK_DONE();
}
