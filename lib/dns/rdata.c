/* rdata.c: each known type's RDATA: checks, names expanded on read and compressed on write. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns_internal.h"

/*
 * The types whose RDATA holds names, as a layout of its fields: 'C' a name
 * expanded on read and compressed on write (RFC 1035's types, RFC 3597 4),
 * 'R' a name expanded on read but never compressed on write (SRV: RFC 2782
 * forbids compressing it, RFC 3597 asks readers to accept it), a digit that
 * many bytes. The RDATA ends with the layout. NULL: no names to expand.
 */
int dns_rdata_one_name(uint16_t type)
{
    switch (type) {
    case MIRAGE_DNS_NS:
    case MIRAGE_DNS_MD:
    case MIRAGE_DNS_MF:
    case MIRAGE_DNS_CNAME:
    case MIRAGE_DNS_MB:
    case MIRAGE_DNS_MG:
    case MIRAGE_DNS_MR:
    case MIRAGE_DNS_PTR:
        return 1;
    default:
        return 0;
    }
}

static const char *layout(uint16_t type)
{
    if (dns_rdata_one_name(type))
        return "C";
    switch (type) {
    case MIRAGE_DNS_SOA:
        return "CC44444";
    case MIRAGE_DNS_MINFO:
        return "CC";
    case MIRAGE_DNS_MX:
        return "2C";
    case MIRAGE_DNS_SRV:
        return "222R";
    default:
        return NULL;
    }
}

/* Character strings (a length byte, then that many bytes) up to the end;
 * at least (min) of them and none empty when (nonempty). */
static int check_strings(struct mirage_rd *r, int min, int nonempty, const char **why,
                         const char *what)
{
    int count = 0;

    while (mirage_rd_left(r) > 0) {
        uint8_t n = mirage_rd_u8(r);
        if (n == 0 && nonempty)
            return dns_fail(why, what, MIRAGE_EBADMSG);
        mirage_rd_skip(r, n);
        if (r->bad)
            return dns_fail(why, "character string runs past the end of the RDATA", MIRAGE_EBADMSG);
        count++;
    }
    if (count < min)
        return dns_fail(why, what, MIRAGE_EBADMSG);
    return 0;
}

/* SVCB and HTTPS (RFC 9460): priority, target, then parameters with keys in
 * strictly ascending order, the defined ones well formed. */
static int check_svcb(struct mirage_rd *r, const char **why)
{
    struct mirage_dns_name target;
    long prev = -1;

    mirage_rd_skip(r, 2);
    if (r->bad)
        return dns_fail(why, "SVCB RDATA shorter than its priority", MIRAGE_EBADMSG);
    if (dns_name_read(r, NULL, 0, &target, why) < 0)
        return MIRAGE_EBADMSG;
    while (mirage_rd_left(r) > 0) {
        uint16_t key = mirage_rd_be16(r), len = mirage_rd_be16(r);
        struct mirage_rd v = mirage_rd_sub(r, len);
        if (r->bad)
            return dns_fail(why, "SvcParam runs past the end of the RDATA", MIRAGE_EBADMSG);
        if ((long)key <= prev)
            return dns_fail(why, "SvcParam keys not in strictly ascending order", MIRAGE_EBADMSG);
        prev = key;
        int ok = 1;
        switch (key) {
        case 0: /* mandatory */
            ok = len > 0 && len % 2 == 0;
            break;
        case 1: /* alpn */
            ok = len > 0 && check_strings(&v, 1, 1, why, "empty alpn id") == 0;
            break;
        case 2: /* no-default-alpn */
            ok = len == 0;
            break;
        case 3: /* port */
            ok = len == 2;
            break;
        case 4: /* ipv4hint */
            ok = len > 0 && len % 4 == 0;
            break;
        case 6: /* ipv6hint */
            ok = len > 0 && len % 16 == 0;
            break;
        case 65535:
            ok = 0;
            break;
        }
        if (!ok)
            return dns_fail(why, "malformed SvcParam value", MIRAGE_EBADMSG);
    }
    return 0;
}

/* OPT (RFC 6891): options of a code, a length and that many bytes. */
static int check_opt(struct mirage_rd *r, const char **why)
{
    while (mirage_rd_left(r) > 0) {
        uint16_t code = mirage_rd_be16(r), len = mirage_rd_be16(r);
        mirage_rd_skip(r, len);
        if (r->bad)
            return dns_fail(why, "EDNS option runs past the end of the OPT record", MIRAGE_EBADMSG);
        if (code == MIRAGE_DNS_EDNS_EDE && len < 2)
            return dns_fail(why, "Extended DNS Error shorter than its code", MIRAGE_EBADMSG);
    }
    return 0;
}

/* CAA (RFC 8659): flags, a tag of 1..15 letters and digits, the value. */
static int check_caa(struct mirage_rd *r, const char **why)
{
    mirage_rd_skip(r, 1);
    uint8_t taglen = mirage_rd_u8(r);
    const uint8_t *tag = mirage_rd_take(r, taglen);

    if (r->bad)
        return dns_fail(why, "CAA RDATA shorter than its tag", MIRAGE_EBADMSG);
    if (taglen == 0 || taglen > 15)
        return dns_fail(why, "CAA tag not 1 to 15 bytes", MIRAGE_EBADMSG);
    for (size_t i = 0; i < taglen; i++) {
        uint8_t c = tag[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return dns_fail(why, "CAA tag not only letters and digits", MIRAGE_EBADMSG);
    }
    mirage_rd_skip(r, mirage_rd_left(r));
    return 0;
}

int mirage_dns_rdata_check(uint16_t type, const uint8_t *rd, size_t len, const char **why)
{
    struct mirage_rd r = mirage_rd_init(rd, len);
    const char *l = layout(type);
    struct mirage_dns_name n;
    int rc = 0;

    if (l != NULL) {
        for (; *l; l++) {
            if (*l >= '0' && *l <= '9')
                mirage_rd_skip(&r, (size_t)(*l - '0'));
            else if (dns_name_read(&r, NULL, 0, &n, why) < 0)
                return MIRAGE_EBADMSG;
        }
    } else {
        switch (type) {
        case MIRAGE_DNS_A:
            mirage_rd_skip(&r, 4);
            break;
        case MIRAGE_DNS_AAAA:
            mirage_rd_skip(&r, 16);
            break;
        case MIRAGE_DNS_TXT:
            rc = check_strings(&r, 1, 0, why, "TXT without a string");
            break;
        case MIRAGE_DNS_CAA:
            rc = check_caa(&r, why);
            break;
        case MIRAGE_DNS_TLSA:
            mirage_rd_skip(&r, 3);
            mirage_rd_skip(&r, mirage_rd_left(&r));
            break;
        case MIRAGE_DNS_SSHFP:
            mirage_rd_skip(&r, 2);
            mirage_rd_skip(&r, mirage_rd_left(&r));
            break;
        case MIRAGE_DNS_SVCB:
        case MIRAGE_DNS_HTTPS:
            rc = check_svcb(&r, why);
            break;
        case MIRAGE_DNS_OPT:
            rc = check_opt(&r, why);
            break;
        default: /* opaque (RFC 3597) */
            return 0;
        }
        if (rc < 0)
            return rc;
    }
    if (r.bad)
        return dns_fail(why, "RDATA shorter than its type needs", MIRAGE_EBADMSG);
    if (mirage_rd_left(&r) != 0)
        return dns_fail(why, "RDATA longer than its type allows", MIRAGE_EBADMSG);
    return 0;
}

int dns_rdata_read(struct mirage_dns_reader *rd, uint16_t type, size_t at, size_t rdlen,
                   const uint8_t **out, size_t *outlen)
{
    const char *l = layout(type);

    if (l == NULL) {
        *out = rd->msg + at;
        *outlen = rdlen;
        return mirage_dns_rdata_check(type, *out, rdlen, &rd->why);
    }
    /* The reader ends with the RDATA: a name's bytes in place stay inside it. */
    struct mirage_rd r = mirage_rd_init(rd->msg, at + rdlen);
    struct mirage_wr w = mirage_wr_init(rd->scratch, sizeof(rd->scratch));
    struct mirage_dns_name n;

    mirage_rd_seek(&r, at);
    for (; *l; l++) {
        if (*l >= '0' && *l <= '9') {
            size_t k = (size_t)(*l - '0');
            const uint8_t *v = mirage_rd_take(&r, k);
            if (v == NULL)
                break;
            mirage_wr_bytes(&w, v, k);
        } else {
            if (dns_name_read(&r, rd->msg, rd->len, &n, &rd->why) < 0)
                return MIRAGE_EBADMSG;
            mirage_wr_bytes(&w, n.wire, n.len);
        }
    }
    if (r.bad)
        return dns_fail(&rd->why, "RDATA shorter than its type needs", MIRAGE_EBADMSG);
    if (mirage_rd_left(&r) != 0)
        return dns_fail(&rd->why, "RDATA longer than its type allows", MIRAGE_EBADMSG);
    *out = rd->scratch;
    *outlen = w.off; /* the scratch holds two names and 20 bytes: never bad */
    return 0;
}

void dns_rdata_write(struct mirage_dns_writer *wr, uint16_t type, const uint8_t *rd, size_t len)
{
    const char *l = layout(type);

    if (l == NULL) {
        mirage_wr_bytes(&wr->w, rd, len);
        return;
    }
    struct mirage_rd r = mirage_rd_init(rd, len);
    struct mirage_dns_name n;
    for (; *l; l++) {
        if (*l >= '0' && *l <= '9') {
            size_t k = (size_t)(*l - '0');
            const uint8_t *v = mirage_rd_take(&r, k);
            if (v != NULL)
                mirage_wr_bytes(&wr->w, v, k);
        } else if (dns_name_read(&r, NULL, 0, &n, NULL) == 0) {
            dns_name_write(wr, &n, *l == 'C');
        }
    }
}

int mirage_dns_soa_read(const uint8_t *rd, size_t len, struct mirage_dns_soa *soa)
{
    struct mirage_rd r = mirage_rd_init(rd, len);

    if (dns_name_read(&r, NULL, 0, &soa->mname, NULL) < 0 ||
        dns_name_read(&r, NULL, 0, &soa->rname, NULL) < 0)
        return MIRAGE_EBADMSG;
    soa->serial = mirage_rd_be32(&r);
    soa->refresh = mirage_rd_be32(&r);
    soa->retry = mirage_rd_be32(&r);
    soa->expire = mirage_rd_be32(&r);
    soa->minimum = mirage_rd_be32(&r);
    return r.bad || mirage_rd_left(&r) ? MIRAGE_EBADMSG : 0;
}

void mirage_dns_soa_write(struct mirage_wr *w, const struct mirage_dns_soa *soa)
{
    mirage_wr_bytes(w, soa->mname.wire, soa->mname.len);
    mirage_wr_bytes(w, soa->rname.wire, soa->rname.len);
    mirage_wr_be32(w, soa->serial);
    mirage_wr_be32(w, soa->refresh);
    mirage_wr_be32(w, soa->retry);
    mirage_wr_be32(w, soa->expire);
    mirage_wr_be32(w, soa->minimum);
}

static const struct {
    uint16_t type;
    const char *name;
} type_names[] = {
    {MIRAGE_DNS_A, "A"},       {MIRAGE_DNS_NS, "NS"},       {MIRAGE_DNS_MD, "MD"},
    {MIRAGE_DNS_MF, "MF"},     {MIRAGE_DNS_CNAME, "CNAME"}, {MIRAGE_DNS_SOA, "SOA"},
    {MIRAGE_DNS_MB, "MB"},     {MIRAGE_DNS_MG, "MG"},       {MIRAGE_DNS_MR, "MR"},
    {MIRAGE_DNS_PTR, "PTR"},   {MIRAGE_DNS_MINFO, "MINFO"}, {MIRAGE_DNS_MX, "MX"},
    {MIRAGE_DNS_TXT, "TXT"},   {MIRAGE_DNS_AAAA, "AAAA"},   {MIRAGE_DNS_SRV, "SRV"},
    {MIRAGE_DNS_OPT, "OPT"},   {MIRAGE_DNS_SSHFP, "SSHFP"}, {MIRAGE_DNS_TLSA, "TLSA"},
    {MIRAGE_DNS_SVCB, "SVCB"}, {MIRAGE_DNS_HTTPS, "HTTPS"}, {MIRAGE_DNS_TSIG, "TSIG"},
    {MIRAGE_DNS_IXFR, "IXFR"}, {MIRAGE_DNS_AXFR, "AXFR"},   {MIRAGE_DNS_ANY, "ANY"},
    {MIRAGE_DNS_CAA, "CAA"},
};

const char *mirage_dns_type_name(uint16_t type, char *buf, size_t size)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (type_names[i].type == type)
            return type_names[i].name;
    snprintf(buf, size, "TYPE%u", type);
    return buf;
}

int mirage_dns_type_from_name(const char *text, size_t len)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strlen(type_names[i].name) == len && strncasecmp(type_names[i].name, text, len) == 0)
            return type_names[i].type;
    if (len > 4 && len <= 9 && strncasecmp(text, "TYPE", 4) == 0) {
        unsigned long v = 0;
        for (size_t i = 4; i < len; i++) {
            if (text[i] < '0' || text[i] > '9')
                return -1;
            v = v * 10 + (unsigned long)(text[i] - '0');
        }
        if (text[4] == '0' && len > 5)
            return -1;
        return v <= 65535 ? (int)v : -1;
    }
    return -1;
}
