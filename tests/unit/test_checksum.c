/* test_checksum.c: the Internet checksum against a word-at-a-time reference and RFC examples. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "mirage/checksum.h"

/* RFC 1071's definition, one 16-bit word at a time: the reference. */
static uint16_t reference(const uint8_t *p, size_t n)
{
    uint32_t s = 0;

    for (size_t i = 0; i < n; i++)
        s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;

    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}

static void test_known(void)
{
    /* RFC 1071 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
    const uint8_t v[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    /* An IPv4 header whose stored checksum is b861. */
    uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                    0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

    CHECK_INT(mirage_csum(v, 8), (uint16_t)~0xddf2);
    CHECK_INT(mirage_csum(ip, sizeof(ip)), 0xb861);
    ip[10] = 0xb8;
    ip[11] = 0x61;
    CHECK_INT(mirage_csum(ip, sizeof(ip)), 0);
    CHECK_INT(mirage_csum(NULL, 0), 0xffff);
    /* All ones: the sum never folds to zero by carry loss. */
    uint8_t ones[64];
    memset(ones, 0xff, sizeof(ones));
    CHECK_INT(mirage_csum(ones, sizeof(ones)), reference(ones, sizeof(ones)));
}

static void test_against_reference(void)
{
    uint8_t buf[1500 + 8];

    /* Every length to 300 and some large ones, at every alignment of 0..7. */
    for (unsigned align = 0; align < 8; align++)
        for (size_t n = 0; n <= 1500; n = n < 300 ? n + 1 : n + 97) {
            fill(buf + align, n, (unsigned)(n + align));
            CHECK_INT(mirage_csum(buf + align, n), reference(buf + align, n));
        }
}

static void test_pieces(void)
{
    uint8_t buf[257];

    fill(buf, sizeof(buf), 7);
    /* Any split into any number of pieces, odd or even, sums as the whole. */
    for (size_t a = 0; a <= sizeof(buf); a += 3)
        for (size_t b = a; b <= sizeof(buf); b += 5) {
            struct mirage_csum c = MIRAGE_CSUM_INIT;
            mirage_csum_add(&c, buf, a);
            mirage_csum_add(&c, buf + a, b - a);
            mirage_csum_add(&c, buf + b, 0);
            mirage_csum_add(&c, buf + b, sizeof(buf) - b);
            CHECK_INT(mirage_csum_finish(&c), reference(buf, sizeof(buf)));
        }
    /* One byte at a time. */
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    for (size_t i = 0; i < sizeof(buf); i++)
        mirage_csum_add(&c, buf + i, 1);
    CHECK_INT(mirage_csum_finish(&c), reference(buf, sizeof(buf)));
}

static void test_pseudo4(void)
{
    /* The pseudo-header laid out as RFC 768 draws it, then the message. */
    uint8_t msg[37], whole[12 + sizeof(msg)];
    const uint32_t src = 0x0a000001, dst = 0xc0a80a02;

    fill(msg, sizeof(msg), 3);
    const uint8_t ph[12] = {10, 0, 0, 1, 192, 168, 10, 2, 0, 17, 0, sizeof(msg)};
    memcpy(whole, ph, 12);
    memcpy(whole + 12, msg, sizeof(msg));
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    mirage_csum_add_pseudo4(&c, src, dst, 17, sizeof(msg));
    mirage_csum_add(&c, msg, 5);
    mirage_csum_add(&c, msg + 5, sizeof(msg) - 5);
    CHECK_INT(mirage_csum_finish(&c), reference(whole, sizeof(whole)));
    /* After an odd piece, the pseudo-header keeps the message's parity. */
    c = (struct mirage_csum)MIRAGE_CSUM_INIT;
    mirage_csum_add(&c, msg, 5);
    mirage_csum_add_pseudo4(&c, src, dst, 17, sizeof(msg));
    mirage_csum_add(&c, msg + 5, sizeof(msg) - 5);
    CHECK_INT(mirage_csum_finish(&c), reference(whole, sizeof(whole)));
}

static void test_pseudo6(void)
{
    /* RFC 8200 8.1: source, destination, 32-bit length, three zeros, next header. */
    uint8_t src[16], dst[16], msg[70001 % 1000], whole[40 + sizeof(msg)];

    fill(src, 16, 1);
    fill(dst, 16, 2);
    fill(msg, sizeof(msg), 9);
    memcpy(whole, src, 16);
    memcpy(whole + 16, dst, 16);
    /* A length over 65535 (a jumbogram's) to see its high half counted. */
    const uint32_t len = 0x00012345;
    const uint8_t tail[8] = {0x00, 0x01, 0x23, 0x45, 0, 0, 0, 58};
    memcpy(whole + 32, tail, 8);
    memcpy(whole + 40, msg, sizeof(msg));
    struct mirage_csum c = MIRAGE_CSUM_INIT;
    mirage_csum_add_pseudo6(&c, src, dst, 58, len);
    mirage_csum_add(&c, msg, sizeof(msg));
    CHECK_INT(mirage_csum_finish(&c), reference(whole, sizeof(whole)));
}

int main(void)
{
    test_known();
    test_against_reference();
    test_pieces();
    test_pseudo4();
    test_pseudo6();
    return CHECK_DONE();
}
