/* fuzz_dns_zonefile.c: zone files of arbitrary text; what loads, written back generically, loads
 * the same. */
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

static char text[1 << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mirage_dns_name origin;
    struct mirage_dns_zone *z, *z2;
    struct mirage_dns_zone_error err;
    struct mirage_dns_rr rr, rr2;
    char owner[MIRAGE_DNS_TEXT_MAX];
    size_t len = 0;

    check(mirage_dns_name_from_text(&origin, "example.com.", 12, NULL, NULL) == 0);
    if (mirage_dns_zone_load(&origin, "f.zone", (const char *)data, size, &z, &err) < 0) {
        check(z == NULL);
        check(err.msg[0] != '\0');
        check(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
        return 0;
    }
    /* Every record as "OWNER TTL IN TYPEn \# LEN HEX": names through their
     * text form and back, RDATA through RFC 3597's generic form. */
    for (size_t i = 0; mirage_dns_zone_record(z, i, &rr) == 0; i++) {
        check(mirage_dns_rdata_check(rr.type, rr.rdata, rr.rdlen, NULL) == 0);
        check(mirage_dns_name_under(&rr.name, &origin));
        mirage_dns_name_to_text(&rr.name, owner, sizeof(owner));
        if (len + strlen(owner) + 64 + 2 * (size_t)rr.rdlen > sizeof(text))
            goto out;
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s %u IN TYPE%u \\# %u ", owner,
                                rr.ttl, rr.type, rr.rdlen);
        for (size_t k = 0; k < rr.rdlen; k++)
            len += (size_t)snprintf(text + len, sizeof(text) - len, "%02x", rr.rdata[k]);
        text[len++] = '\n';
    }
    if (mirage_dns_zone_load(&origin, "g.zone", text, len, &z2, &err) < 0) {
        fprintf(stderr, "written back: %s:%u: %s\n", err.file, err.line, err.msg);
        abort();
    }
    check(mirage_dns_zone_count(z2) == mirage_dns_zone_count(z));
    for (size_t i = 0; mirage_dns_zone_record(z, i, &rr) == 0; i++) {
        check(mirage_dns_zone_record(z2, i, &rr2) == 0);
        check(rr.name.len == rr2.name.len && memcmp(rr.name.wire, rr2.name.wire, rr.name.len) == 0);
        check(rr.type == rr2.type && rr.ttl == rr2.ttl && rr.rdlen == rr2.rdlen);
        check(memcmp(rr.rdata, rr2.rdata, rr.rdlen) == 0);
    }
    mirage_dns_zone_free(z2);
out:
    mirage_dns_zone_free(z);
    return 0;
}
