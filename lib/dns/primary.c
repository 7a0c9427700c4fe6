/* primary.c: the primary's state beside its server: TSIG keys (read from a keys file) and counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"

int mirage_dns_primary_new(struct mirage_dns_server *s, struct mirage_dns_primary **out)
{
    struct mirage_dns_primary *p = calloc(1, sizeof(*p));

    *out = p;
    if (p == NULL)
        return MIRAGE_ENOMEM;
    p->server = s;
    p->history = 16;
    return 0;
}

void mirage_dns_primary_set_history(struct mirage_dns_primary *p, unsigned steps)
{
    p->history = steps < MIRAGE_DNS_HISTORY_MAX ? steps : MIRAGE_DNS_HISTORY_MAX;
    for (size_t i = 0; i < p->njournals; i++)
        if (p->journals[i].n > p->history)
            dns_journal_clear(p, &p->journals[i]);
}

struct dns_journal *dns_primary_journal(struct mirage_dns_primary *p,
                                        const struct mirage_dns_name *origin)
{
    for (size_t i = 0; i < p->njournals; i++)
        if (mirage_dns_name_equal(&p->journals[i].origin, origin))
            return &p->journals[i];
    struct dns_journal *j = realloc(p->journals, (p->njournals + 1) * sizeof(*j));
    if (j == NULL)
        return NULL;
    p->journals = j;
    j = &p->journals[p->njournals++];
    memset(j, 0, sizeof(*j));
    j->origin = *origin;
    return j;
}

void dns_journal_clear(struct mirage_dns_primary *p, struct dns_journal *j)
{
    while (j->oldest != NULL) {
        struct dns_diff *d = j->oldest;
        j->oldest = d->next;
        dns_primary_retire(p, d->del);
        dns_primary_retire(p, d->add);
        free(d);
    }
    j->newest = NULL;
    j->n = 0;
}

void dns_primary_retire(struct mirage_dns_primary *p, struct mirage_dns_zone *z)
{
    if (z == NULL)
        return;
    if (p->active == 0) {
        mirage_dns_zone_free(z);
        return;
    }
    if (p->ngrave == p->gcap) {
        size_t cap = p->gcap ? 2 * p->gcap : 8;
        struct mirage_dns_zone **g = realloc(p->grave, cap * sizeof(*g));
        if (g == NULL)
            return; /* kept for ever rather than freed under a transfer */
        p->grave = g;
        p->gcap = cap;
    }
    p->grave[p->ngrave++] = z;
}

void dns_primary_transfer_ended(struct mirage_dns_primary *p)
{
    if (--p->active > 0)
        return;
    for (size_t i = 0; i < p->ngrave; i++)
        mirage_dns_zone_free(p->grave[i]);
    p->ngrave = 0;
}

void mirage_dns_primary_free(struct mirage_dns_primary *p)
{
    if (p == NULL)
        return;
    p->active = 0;
    for (size_t i = 0; i < p->njournals; i++)
        dns_journal_clear(p, &p->journals[i]);
    free(p->journals);
    for (size_t i = 0; i < p->ngrave; i++)
        mirage_dns_zone_free(p->grave[i]);
    free(p->grave);
    memset(p->keys, 0, sizeof(p->keys)); /* the secrets do not outlive it */
    free(p);
}

/* ---- the zone as a master file ------------------------------------------- */

int mirage_dns_zone_text(const struct mirage_dns_zone *z, char **text, size_t *len)
{
    struct mirage_dns_rr rr;
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    char owner[MIRAGE_DNS_TEXT_MAX], tn[16];
    static const char hex[] = "0123456789abcdef";

    if (buf == NULL)
        return MIRAGE_ENOMEM;
    for (size_t i = 0; mirage_dns_zone_record(z, i, &rr) == 0; i++) {
        size_t need = MIRAGE_DNS_TEXT_MAX + 64 + 2 * (size_t)rr.rdlen;
        if (used + need > cap) {
            while (used + need > cap)
                cap *= 2;
            char *b = realloc(buf, cap);
            if (b == NULL) {
                free(buf);
                return MIRAGE_ENOMEM;
            }
            buf = b;
        }
        mirage_dns_name_to_text(&rr.name, owner, sizeof(owner));
        used += (size_t)snprintf(buf + used, cap - used, "%s %u IN %s \\# %u ", owner, rr.ttl,
                                 mirage_dns_type_name(rr.type, tn, sizeof(tn)), rr.rdlen);
        for (size_t k = 0; k < rr.rdlen; k++) {
            buf[used++] = hex[rr.rdata[k] >> 4];
            buf[used++] = hex[rr.rdata[k] & 15];
        }
        buf[used++] = '\n';
    }
    *text = buf;
    *len = used;
    return 0;
}

void mirage_dns_primary_stats(const struct mirage_dns_primary *p,
                              struct mirage_dns_primary_stats *st)
{
    *st = p->stats;
}

size_t mirage_dns_primary_key_count(const struct mirage_dns_primary *p)
{
    return p->nkeys;
}

/* One line "hmac-sha256:NAME:SECRET" into (k); *what says what is wrong. */
static int key_line(const char *s, size_t len, struct mirage_dns_tsig_key *k, const char **what)
{
    static const char alg[] = "hmac-sha256:";
    uint8_t secret[96];
    const char *why;

    if (len < sizeof(alg) - 1 || memcmp(s, alg, sizeof(alg) - 1) != 0) {
        *what = "not hmac-sha256:NAME:SECRET (hmac-sha256 is the one algorithm)";
        return MIRAGE_EINVAL;
    }
    s += sizeof(alg) - 1;
    len -= sizeof(alg) - 1;
    const char *colon = memchr(s, ':', len);
    if (colon == NULL || colon == s) {
        *what = "no NAME:SECRET after the algorithm";
        return MIRAGE_EINVAL;
    }
    size_t nlen = (size_t)(colon - s);
    if (mirage_dns_name_from_text(&k->name, s, nlen, &(struct mirage_dns_name){1, {0}}, &why) <
        0) {
        *what = "the key's name is not a domain name";
        return MIRAGE_EINVAL;
    }
    const uint8_t *b64 = (const uint8_t *)colon + 1;
    size_t blen = len - nlen - 1;
    struct mirage_wr w = mirage_wr_init(secret, sizeof(secret));
    if (blen > 4 * sizeof(secret) / 3 || dns_base64(b64, blen, &w) < 0 || w.bad) {
        *what = "the secret is not base64";
        return MIRAGE_EINVAL;
    }
    if (w.off == 0 || w.off > sizeof(k->secret)) {
        *what = "the secret is empty or over 64 bytes";
        return MIRAGE_EINVAL;
    }
    memcpy(k->secret, secret, w.off);
    k->secret_len = w.off;
    memset(secret, 0, sizeof(secret));
    return 0;
}

int mirage_dns_primary_keys(struct mirage_dns_primary *p, const char *text, size_t len, char *why,
                            size_t whysize)
{
    struct mirage_dns_tsig_key keys[MIRAGE_DNS_KEYS_MAX];
    size_t n = 0;
    unsigned line = 0;
    const char *what = NULL;

    for (size_t at = 0; at < len;) {
        const char *s = text + at, *nl = memchr(s, '\n', len - at);
        size_t l = nl ? (size_t)(nl - s) : len - at;
        at += l + (nl != NULL);
        line++;
        while (l > 0 && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
            l--;
        while (l > 0 && (*s == ' ' || *s == '\t'))
            s++, l--;
        if (l == 0 || *s == '#')
            continue;
        if (n == MIRAGE_DNS_KEYS_MAX)
            what = "more than 16 keys";
        else if (key_line(s, l, &keys[n], &what) == 0)
            for (size_t i = 0; i < n && what == NULL; i++)
                if (mirage_dns_name_equal(&keys[i].name, &keys[n].name))
                    what = "a key of that name is given already";
        if (what != NULL) {
            snprintf(why, whysize, "line %u: %s", line, what);
            memset(keys, 0, sizeof(keys));
            return MIRAGE_EINVAL;
        }
        n++;
    }
    memcpy(p->keys, keys, n * sizeof(keys[0]));
    p->nkeys = n;
    memset(keys, 0, sizeof(keys));
    return 0;
}

const struct mirage_dns_zone *mirage_dns_primary_zone(const struct mirage_dns_primary *p,
                                                      const struct mirage_dns_name *origin)
{
    const struct mirage_dns_zone *z = dns_server_find_zone(p->server, origin);
    return z != NULL && mirage_dns_name_equal(mirage_dns_zone_origin(z), origin) ? z : NULL;
}

/* ---- NOTIFY (RFC 1996) ------------------------------------------------------ */

size_t mirage_dns_notify_write(const struct mirage_dns_zone *z, uint16_t id, uint8_t *out,
                               size_t cap)
{
    struct mirage_dns_writer wr;
    struct mirage_dns_question q = {*mirage_dns_zone_origin(z), MIRAGE_DNS_SOA,
                                    MIRAGE_DNS_CLASS_IN};
    struct mirage_dns_rr soa;

    if (cap < MIRAGE_DNS_HEADER)
        return 0;
    mirage_dns_write_begin(&wr, out, cap, id,
                           (uint16_t)(MIRAGE_DNS_OP_NOTIFY << 11 | MIRAGE_DNS_AA));
    if (mirage_dns_write_question(&wr, &q) < 0 ||
        mirage_dns_zone_record(z, dns_zone_soa(z), &soa) < 0 ||
        mirage_dns_write_rr(&wr, MIRAGE_DNS_ANSWER, &soa) < 0)
        return 0;
    return mirage_dns_write_end(&wr);
}

/* The answer to a NOTIFY request: we are the zones' primary, so there is nothing to fetch. */
static size_t notify_answer(struct mirage_dns_primary *p, struct mirage_dns_reader *rd,
                            uint8_t *out, size_t cap)
{
    struct mirage_dns_writer wr;
    struct mirage_dns_question q;
    int rcode = MIRAGE_DNS_NOERROR, have_q = 0;

    if (rd->h.count[0] != 1 || mirage_dns_read_question(rd, &q) < 0 || q.type != MIRAGE_DNS_SOA)
        rcode = MIRAGE_DNS_FORMERR;
    else if (have_q = 1, q.qclass != MIRAGE_DNS_CLASS_IN || !mirage_dns_primary_zone(p, &q.name))
        rcode = MIRAGE_DNS_NOTAUTH;
    mirage_dns_write_begin(&wr, out, cap, rd->h.id,
                           (uint16_t)(MIRAGE_DNS_QR | MIRAGE_DNS_OP_NOTIFY << 11 |
                                      (rcode == 0 ? MIRAGE_DNS_AA : 0) | rcode));
    if (have_q)
        mirage_dns_write_question(&wr, &q);
    return mirage_dns_write_end(&wr);
}

size_t mirage_dns_primary_answer(struct mirage_dns_primary *p, const uint8_t *msg, size_t len,
                                 int tcp, uint64_t now, uint8_t *out, size_t cap,
                                 struct mirage_dns_update_result *res)
{
    struct mirage_dns_reader rd;

    memset(res, 0, sizeof(*res));
    if (mirage_dns_read_begin(&rd, msg, len) == 0 && !(rd.h.flags & MIRAGE_DNS_QR) &&
        cap >= 512) {
        if (MIRAGE_DNS_OPCODE(rd.h.flags) == MIRAGE_DNS_OP_UPDATE)
            return mirage_dns_update(p, msg, len, now, out, cap, res);
        if (MIRAGE_DNS_OPCODE(rd.h.flags) == MIRAGE_DNS_OP_NOTIFY)
            return notify_answer(p, &rd, out, cap);
    }
    return mirage_dns_server_answer(p->server, msg, len, tcp, out, cap);
}
