/* fuzz_dns_server.c: answers to arbitrary queries are well formed and within the size allowed. */
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

static struct mirage_dns_server *srv;
static uint8_t out[65535];

/* The zone of the unit tests and the e2e tests (run from the repository's root). */
static void setup(void)
{
    static char text[1 << 16];
    FILE *f = fopen("examples/dns-primary/zones/example.com.zone", "rb");
    struct mirage_dns_zone *z;
    struct mirage_dns_zone_error err;
    struct mirage_dns_name origin;

    check(f != NULL);
    size_t len = fread(text, 1, sizeof(text), f);
    fclose(f);
    check(mirage_dns_name_from_text(&origin, "example.com.", 12, NULL, NULL) == 0);
    check(mirage_dns_zone_load(&origin, "example.com.zone", text, len, &z, &err) == 0);
    check(mirage_dns_server_new(&srv) == 0 && mirage_dns_server_add_zone(srv, z) == 0);
}

/* The first byte picks UDP or TCP and the answer buffer's size; the rest is the query. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (srv == NULL)
        setup();
    if (size < 1)
        return 0;
    int tcp = data[0] & 1;
    size_t cap = data[0] & 2 ? sizeof(out) : 12 + (size_t)(data[0] >> 2) * 16;
    size_t len = mirage_dns_server_answer(srv, data + 1, size - 1, tcp, out, cap);
    check(len <= cap);
    if (len == 0)
        return 0;
    struct mirage_dns_reader rd;
    struct mirage_dns_rr rr;
    struct mirage_dns_question q;
    int section, rc;
    check(mirage_dns_read_begin(&rd, out, len) == 0);
    check(rd.h.flags & MIRAGE_DNS_QR);
    check(size >= 1 + MIRAGE_DNS_HEADER && rd.h.id == (data[1] << 8 | data[2]));
    while ((rc = mirage_dns_read_question(&rd, &q)) == 0)
        ;
    check(rc == MIRAGE_ENOENT);
    while ((rc = mirage_dns_read_rr(&rd, &rr, &section)) == 0)
        ;
    check(rc == MIRAGE_ENOENT);
    check(mirage_dns_read_end(&rd) == 0);
    return 0;
}
