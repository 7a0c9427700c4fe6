/* fuzz_dns_xfr.c: keys files, signed UPDATEs and transfer requests into the primary: its answers
 * and every message of a transfer are well formed, and the zone stays one that loads. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/dns.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static char zone_text[1 << 16];
static size_t zone_len;
static uint8_t out[65535];
static const char keys[] = "hmac-sha256:fuzz-key:lzsdVDHGKRjx2f9Iy8qrWIn5ZswakbIlwM0YfJYyb/E=\n";

static void load(void)
{
    FILE *f = fopen("examples/dns-primary/zones/example.com.zone", "rb");
    check(f != NULL);
    zone_len = fread(zone_text, 1, sizeof(zone_text), f);
    fclose(f);
}

/* Every record of (msg, len) reads back. */
static void well_formed(const uint8_t *msg, size_t len)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_question q;
    struct mirage_dns_rr rr;
    int section, rc;

    check(mirage_dns_read_begin(&rd, msg, len) == 0);
    check(rd.h.flags & MIRAGE_DNS_QR);
    while ((rc = mirage_dns_read_question(&rd, &q)) == 0)
        ;
    check(rc == MIRAGE_ENOENT);
    while ((rc = mirage_dns_read_rr(&rd, &rr, &section)) == 0)
        ;
    check(rc == MIRAGE_ENOENT);
    check(mirage_dns_read_end(&rd) == 0);
}

/* Signs (msg, len), as a client would, into (buf); 0 if it is not a message to sign. */
static size_t sign(const struct mirage_dns_tsig_key *key, const uint8_t *msg, size_t len,
                   uint64_t now, uint8_t *buf, size_t cap)
{
    struct mirage_dns_writer wr;
    uint8_t mac[32];

    if (len < MIRAGE_DNS_HEADER || len > cap)
        return 0;
    mirage_dns_write_begin(&wr, buf, cap, (uint16_t)(msg[0] << 8 | msg[1]),
                           (uint16_t)(msg[2] << 8 | msg[3]));
    memcpy(buf, msg, len);
    wr.w.off = len;
    for (int i = 0; i < 4; i++)
        wr.count[i] = (uint16_t)(msg[4 + 2 * i] << 8 | msg[5 + 2 * i]);
    wr.section = MIRAGE_DNS_ADDITIONAL;
    if (mirage_dns_tsig_sign(&wr, key, now, 300, NULL, 0, 0, mac) < 0)
        return 0;
    return mirage_dns_write_end(&wr);
}

/* The first byte: bit 0 a keys file or a message; bit 1 signed or not; bit 2 TCP. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t signed_msg[65535];
    struct mirage_dns_server *srv;
    struct mirage_dns_primary *p;
    struct mirage_dns_zone *z;
    struct mirage_dns_zone_error err;
    struct mirage_dns_name origin;
    char why[128];
    uint64_t now = 1796200000;

    if (zone_len == 0)
        load();
    if (size < 1)
        return 0;
    check(mirage_dns_name_from_text(&origin, "example.com.", 12, NULL, NULL) == 0);
    check(mirage_dns_zone_load(&origin, "example.com.zone", zone_text, zone_len, &z, &err) == 0);
    check(mirage_dns_server_new(&srv) == 0 && mirage_dns_server_add_zone(srv, z) == 0);
    check(mirage_dns_primary_new(srv, &p) == 0);
    if (data[0] & 1) {
        if (mirage_dns_primary_keys(p, (const char *)data + 1, size - 1, why, sizeof(why)) < 0)
            check(strncmp(why, "line ", 5) == 0);
        goto done;
    }
    check(mirage_dns_primary_keys(p, keys, sizeof(keys) - 1, why, sizeof(why)) == 0);
    struct mirage_dns_tsig_key key = {{0}, {0}, 32};
    check(mirage_dns_name_from_text(&key.name, "fuzz-key.", 9, NULL, NULL) == 0);
    /* The key's secret, as the keys line gives it in base64. */
    static const uint8_t secret[32] = {0x97, 0x3b, 0x1d, 0x54, 0x31, 0xc6, 0x29, 0x18,
                                       0xf1, 0xd9, 0xff, 0x48, 0xcb, 0xca, 0xab, 0x58,
                                       0x89, 0xf9, 0x66, 0xcc, 0x1a, 0x91, 0xb2, 0x25,
                                       0xc0, 0xcd, 0x18, 0x7c, 0x96, 0x32, 0x6f, 0xf1};
    memcpy(key.secret, secret, 32);
    const uint8_t *msg = data + 1;
    size_t len = size - 1;
    if (data[0] & 2) {
        len = sign(&key, data + 1, size - 1, now, signed_msg, sizeof(signed_msg));
        msg = signed_msg;
        if (len == 0)
            goto done;
    }
    int tcp = (data[0] & 4) != 0;
    struct mirage_dns_xfr x;
    size_t n = tcp ? mirage_dns_xfr_start(&x, p, msg, len, now, out, sizeof(out)) : 0;
    if (n > 0) {
        do {
            check(n <= sizeof(out));
            well_formed(out, n);
        } while ((n = mirage_dns_xfr_next(&x, out, sizeof(out))) > 0);
        mirage_dns_xfr_end(p, &x);
    } else {
        struct mirage_dns_update_result res;
        n = mirage_dns_primary_answer(p, msg, len, tcp, now, out, tcp ? sizeof(out) : 1232, &res);
        if (n > 0)
            well_formed(out, n);
        if (res.changed) {
            /* The new version writes out as a master file that loads into the same zone. */
            const struct mirage_dns_zone *nz = mirage_dns_primary_zone(p, &origin);
            struct mirage_dns_zone *back;
            char *text = NULL;
            size_t tlen = 0;
            check(nz != NULL && mirage_dns_zone_text(nz, &text, &tlen) == 0);
            check(mirage_dns_zone_load(&origin, "back", text, tlen, &back, &err) == 0);
            check(mirage_dns_zone_count(back) == mirage_dns_zone_count(nz));
            mirage_dns_zone_free(back);
            free(text);
        }
    }
done:
    mirage_dns_primary_free(p);
    mirage_dns_server_free(srv);
    return 0;
}
