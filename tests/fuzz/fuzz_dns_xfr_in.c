/* fuzz_dns_xfr_in.c: a zone transfer's answers, message by message, into a zone or a clear refusal. */
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

static struct mirage_dns_zone *current;
static struct mirage_dns_tsig_key key;

/* Our copy: the zone of the unit and e2e tests (run from the repository's root). */
static void setup(void)
{
    static char text[1 << 16];
    FILE *f = fopen("examples/dns-primary/zones/example.com.zone", "rb");
    struct mirage_dns_zone_error err;
    struct mirage_dns_name origin;
    const char *why;

    check(f != NULL);
    size_t len = fread(text, 1, sizeof(text), f);
    fclose(f);
    check(mirage_dns_name_from_text(&origin, "example.com.", 12, NULL, NULL) == 0);
    check(mirage_dns_zone_load(&origin, "example.com.zone", text, len, &current, &err) == 0);
    check(mirage_dns_tsig_key_parse("k:c2VjcmV0", 10, &key, &why) == 0);
}

/* The first byte: bit 0 IXFR (from our copy) or AXFR, bit 1 TSIG with the key; then messages,
 * each a 2-byte length and its bytes, as over TCP. The id asked with is 0x4242. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mirage_dns_xfr_in x;
    uint8_t mac[32] = {0};

    if (current == NULL)
        setup();
    if (size < 1)
        return 0;
    int ixfr = data[0] & 1;
    mirage_dns_xfr_in_begin(&x, mirage_dns_zone_origin(current), ixfr ? current : NULL,
                            ixfr ? MIRAGE_DNS_IXFR : MIRAGE_DNS_AXFR, 0x4242,
                            data[0] & 2 ? &key : NULL, mac);
    size_t off = 1;
    int rc = 0;
    while (rc == 0 && off + 2 <= size) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        rc = mirage_dns_xfr_in_message(&x, data + off, len, 1796000000);
        check(rc <= 1);
        check(rc >= 0 || (x.why != NULL && x.why[0] != '\0'));
        off += len;
    }
    if (rc == 1) {
        struct mirage_dns_zone *z;
        struct mirage_dns_zone_error err;
        int f = mirage_dns_xfr_in_finish(&x, "fuzz", &z, &err);
        check(f == 0 || err.msg[0] != '\0');
        if (f == 0 && z != NULL) {
            struct mirage_dns_soa soa;
            check(mirage_dns_zone_soa(z, &soa, NULL) == 0 && soa.serial == x.serial);
            mirage_dns_zone_free(z);
        }
    }
    mirage_dns_xfr_in_free(&x);
    return 0;
}
