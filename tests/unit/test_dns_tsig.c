/* test_dns_tsig.c: TSIG with HMAC-SHA256: dig's signed query verifies, tampering is refused. */
#include <string.h>

#include "check.h"
#include "mirage/dns.h"

/* dig -y hmac-sha256:test.key.:c2VjcmV0LWtleS1mb3ItbWlyYWdlLXRzaWctdGVzdHM= example.com SOA
 * (BIND 9.18, with an EDNS cookie), as it came off the wire. */
static const uint8_t dig_query[] =
    "\x10\x73\x01\x20\x00\x01\x00\x00\x00\x00\x00\x02\x07\x65\x78\x61"
    "\x6d\x70\x6c\x65\x03\x63\x6f\x6d\x00\x00\x06\x00\x01\x00\x00\x29"
    "\x04\xd0\x00\x00\x00\x00\x00\x0c\x00\x0a\x00\x08\x17\x11\x55\x43"
    "\x70\x8d\x45\xc4\x04\x74\x65\x73\x74\x03\x6b\x65\x79\x00\x00\xfa"
    "\x00\xff\x00\x00\x00\x00\x00\x3d\x0b\x68\x6d\x61\x63\x2d\x73\x68"
    "\x61\x32\x35\x36\x00\x00\x00\x6b\x0f\xcf\x19\x01\x2c\x00\x20\x28"
    "\x28\xc7\x0b\x39\xf4\x4b\x02\xfa\xa0\x54\xa5\x81\xbf\x95\xdd\x2f"
    "\x5c\x7f\xc4\x82\x68\x71\xba\xdd\x0e\xa8\x72\x8d\x21\xdb\x3a\x10"
    "\x73\x00\x00\x00\x00";
#define SIGNED_AT 1796198169u

static struct mirage_dns_tsig_key key(const char *name, const char *secret)
{
    struct mirage_dns_tsig_key k;
    CHECK_INT(mirage_dns_name_from_text(&k.name, name, strlen(name), NULL, NULL), 0);
    k.secret_len = strlen(secret);
    memcpy(k.secret, secret, k.secret_len);
    return k;
}

static void test_dig(void)
{
    struct mirage_dns_tsig_key keys[2] = {key("other.", "x"),
                                          key("Test.Key.", "secret-key-for-mirage-tsig-tests")};
    struct mirage_dns_tsig_result res;
    uint8_t m[sizeof(dig_query)];
    size_t len = sizeof(dig_query) - 1;

    CHECK_INT(mirage_dns_tsig_verify(dig_query, len, keys, 2, SIGNED_AT + 10, NULL, 0, &res), 0);
    CHECK(res.key == &keys[1]);
    CHECK_INT(res.error, 0);
    CHECK_INT(res.fudge, 300);
    /* Out of its fudge either way: BADTIME (the MAC is right). */
    CHECK_INT(mirage_dns_tsig_verify(dig_query, len, keys, 2, SIGNED_AT + 301, NULL, 0, &res),
              MIRAGE_EACCES);
    CHECK_INT(res.tsig_error, MIRAGE_DNS_BADTIME);
    CHECK_INT(res.error, MIRAGE_DNS_NOTAUTH);
    CHECK_INT(mirage_dns_tsig_verify(dig_query, len, keys, 2, SIGNED_AT - 301, NULL, 0, &res),
              MIRAGE_EACCES);
    /* Another secret, no such key. */
    struct mirage_dns_tsig_key wrong = key("test.key.", "secret-key-for-mirage-tsig-test");
    CHECK_INT(mirage_dns_tsig_verify(dig_query, len, &wrong, 1, SIGNED_AT, NULL, 0, &res),
              MIRAGE_EACCES);
    CHECK_INT(res.tsig_error, MIRAGE_DNS_BADSIG);
    CHECK_INT(mirage_dns_tsig_verify(dig_query, len, keys, 1, SIGNED_AT, NULL, 0, &res),
              MIRAGE_EACCES);
    CHECK_INT(res.tsig_error, MIRAGE_DNS_BADKEY);
    /* Any byte changed but the header's id (the MAC covers the original id
     * the TSIG carries) and the case of names (covered in canonical form):
     * BADSIG before the TSIG, BADSIG, BADKEY or malformed in it. */
    for (size_t i = 2; i < len; i++) {
        memcpy(m, dig_query, len);
        m[i] ^= 0x01;
        int rc = mirage_dns_tsig_verify(m, len, keys, 2, SIGNED_AT, NULL, 0, &res);
        if (rc == 0)
            fprintf(stderr, "byte %zu changed and still verified\n", i);
        CHECK(rc != 0);
    }
    /* Not signed at all. */
    CHECK_INT(mirage_dns_tsig_verify((const uint8_t *)"\x12\x34\0\0\0\0\0\0\0\0\0\0", 12, keys, 2,
                                     SIGNED_AT, NULL, 0, &res),
              MIRAGE_ENOENT);
}

/* An answer we sign verifies with the request's MAC, and not without it. */
static void test_sign(void)
{
    struct mirage_dns_tsig_key k = key("test.key.", "secret-key-for-mirage-tsig-tests");
    struct mirage_dns_tsig_result req, res;
    struct mirage_dns_writer wr;
    struct mirage_dns_question q;
    uint8_t buf[512], mac[32];

    CHECK_INT(
        mirage_dns_tsig_verify(dig_query, sizeof(dig_query) - 1, &k, 1, SIGNED_AT, NULL, 0, &req),
        0);
    CHECK_INT(mirage_dns_name_from_text(&q.name, "example.com.", 12, NULL, NULL), 0);
    q.type = MIRAGE_DNS_SOA;
    q.qclass = MIRAGE_DNS_CLASS_IN;
    mirage_dns_write_begin(&wr, buf, sizeof(buf), 0x1073, MIRAGE_DNS_QR | MIRAGE_DNS_AA);
    CHECK_INT(mirage_dns_write_question(&wr, &q), 0);
    CHECK_INT(mirage_dns_tsig_sign(&wr, &k, SIGNED_AT + 1, 300, req.mac, 32, 0, mac), 0);
    size_t len = mirage_dns_write_end(&wr);
    CHECK_INT(mirage_dns_tsig_verify(buf, len, &k, 1, SIGNED_AT + 2, req.mac, 32, &res), 0);
    CHECK(memcmp(res.mac, mac, 32) == 0);
    CHECK_INT(mirage_dns_tsig_verify(buf, len, &k, 1, SIGNED_AT + 2, NULL, 0, &res), MIRAGE_EACCES);
    CHECK_INT(res.tsig_error, MIRAGE_DNS_BADSIG);
    /* The key name goes uncompressed (RFC 8945 4.2). */
    int found = 0;
    for (size_t i = 0; i + 11 <= len; i++)
        found |= memcmp(buf + i, "\4test\3key\0\0\xfa", 11) == 0;
    CHECK(found);
}

int main(void)
{
    test_dig();
    test_sign();
    return CHECK_DONE();
}
