/* fuzz_dns_message.c: DNS messages read, written back and read again must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/dns.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

#define MAX_ITEMS 512

/* What a message held, with RDATA copied out of the reader. */
struct item {
    int section;
    struct mirage_dns_rr rr;
};

static struct item items[2][MAX_ITEMS];
static struct mirage_dns_question questions[2][MAX_ITEMS];
static uint8_t rdata[2][MAX_ITEMS][2 * MIRAGE_DNS_NAME_MAX + 20];
static uint8_t out[65535];

/* Reads (m, len) into set (k); the number of items, or -1 if it was refused. */
static int read_message(const uint8_t *m, size_t len, int k, struct mirage_dns_header *h, int *nq)
{
    static struct mirage_dns_reader rd;
    int n = 0, rc;
    char text[MIRAGE_DNS_TEXT_MAX];

    if (mirage_dns_read_begin(&rd, m, len) < 0)
        return -1;
    *h = rd.h;
    *nq = 0;
    while (*nq < MAX_ITEMS && (rc = mirage_dns_read_question(&rd, &questions[k][*nq])) == 0) {
        check(mirage_dns_name_to_text(&questions[k][*nq].name, text, sizeof(text)) < sizeof(text));
        (*nq)++;
    }
    while (n < MAX_ITEMS &&
           (rc = mirage_dns_read_rr(&rd, &items[k][n].rr, &items[k][n].section)) == 0) {
        struct mirage_dns_rr *rr = &items[k][n].rr;
        /* UPDATE's class ANY/NONE records may have empty RDATA whatever their type
         * (RFC 2136 2.4, 2.5); every other RDATA read is valid for its type. */
        check((rr->rdlen == 0 &&
               (rr->rclass == MIRAGE_DNS_CLASS_ANY || rr->rclass == MIRAGE_DNS_CLASS_NONE)) ||
              mirage_dns_rdata_check(rr->type, rr->rdata, rr->rdlen, NULL) == 0);
        check(
            rr->rdata == NULL || rr->rdlen == 0 ||
            (rr->rdata >= m && rr->rdata + rr->rdlen <= m + len) ||
            (rr->rdata >= rd.scratch && rr->rdata + rr->rdlen <= rd.scratch + sizeof(rd.scratch)));
        if (rr->rdata >= rd.scratch && rr->rdata < rd.scratch + sizeof(rd.scratch)) {
            memcpy(rdata[k][n], rr->rdata, rr->rdlen);
            rr->rdata = rdata[k][n];
        }
        if (rr->type == MIRAGE_DNS_OPT) {
            struct mirage_dns_edns e;
            check(mirage_dns_edns_read(rr, &e, NULL) == 0);
        }
        check(mirage_dns_name_to_text(&rr->name, text, sizeof(text)) < sizeof(text));
        n++;
    }
    if (rd.why != NULL)
        return -1;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mirage_dns_header h[2];
    struct mirage_dns_writer wr;
    int nq[2];
    int n = read_message(data, size, 0, &h[0], &nq[0]);

    if (n < 0 || nq[0] != h[0].count[0] ||
        nq[0] + n != h[0].count[0] + h[0].count[1] + h[0].count[2] + h[0].count[3])
        return 0;

    mirage_dns_write_begin(&wr, out, sizeof(out), h[0].id, h[0].flags);
    for (int i = 0; i < nq[0]; i++)
        if (mirage_dns_write_question(&wr, &questions[0][i]) == MIRAGE_ENOSPC)
            return 0;
    for (int i = 0; i < n; i++) {
        int rc = mirage_dns_write_rr(&wr, items[0][i].section, &items[0][i].rr);
        if (rc == MIRAGE_ENOSPC) /* expanded names can outgrow 64 KiB */
            return 0;
        check(rc == 0);
    }
    size_t len = mirage_dns_write_end(&wr);
    check(len >= MIRAGE_DNS_HEADER);

    int n2 = read_message(out, len, 1, &h[1], &nq[1]);
    check(n2 == n && nq[1] == nq[0]);
    check(memcmp(&h[0], &h[1], sizeof(h[0])) == 0);
    for (int i = 0; i < nq[0]; i++) {
        struct mirage_dns_question *a = &questions[0][i], *b = &questions[1][i];
        check(mirage_dns_name_equal(&a->name, &b->name));
        check(a->type == b->type && a->qclass == b->qclass);
    }
    for (int i = 0; i < n; i++) {
        struct mirage_dns_rr *a = &items[0][i].rr, *b = &items[1][i].rr;
        check(items[0][i].section == items[1][i].section);
        check(mirage_dns_name_equal(&a->name, &b->name));
        check(a->type == b->type && a->rclass == b->rclass && a->ttl == b->ttl);
        check(a->rdlen == b->rdlen && memcmp(a->rdata, b->rdata, a->rdlen) == 0);
    }
    return 0;
}
