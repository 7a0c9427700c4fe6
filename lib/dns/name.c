/* name.c: DNS names: text form, order, and safe reading of compressed names. */
#include <stdio.h>
#include <string.h>

#include "dns_internal.h"

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

void mirage_dns_name_root(struct mirage_dns_name *n)
{
    n->len = 1;
    n->wire[0] = 0;
}

/* Appends one label of (len) bytes; MIRAGE_ENAMETOOLONG if it or the name grows too long. */
static int append_label(struct mirage_dns_name *n, const uint8_t *label, size_t len)
{
    if (len > MIRAGE_DNS_LABEL_MAX)
        return MIRAGE_ENAMETOOLONG;
    /* The label, its length byte and the root's 0 still to come. */
    if ((size_t)n->len + 1 + len + 1 > MIRAGE_DNS_NAME_MAX)
        return MIRAGE_ENAMETOOLONG;
    n->wire[n->len++] = (uint8_t)len;
    memcpy(n->wire + n->len, label, len);
    n->len = (uint8_t)(n->len + len);
    return 0;
}

int mirage_dns_name_from_text(struct mirage_dns_name *n, const char *text, size_t len,
                              const struct mirage_dns_name *origin, const char **why)
{
    uint8_t label[MIRAGE_DNS_LABEL_MAX + 1];
    size_t ll = 0, i = 0;
    int absolute = 0, rc;

    n->len = 0;
    if (len == 1 && text[0] == '.') {
        mirage_dns_name_root(n);
        return 0;
    }
    if (len == 0)
        return dns_fail(why, "empty name", MIRAGE_EINVAL);
    while (i < len) {
        uint8_t c = (uint8_t)text[i++];
        if (c == '.') {
            if (ll == 0)
                return dns_fail(why, "empty label", MIRAGE_EINVAL);
            if ((rc = append_label(n, label, ll)) < 0)
                return dns_fail(why, "name longer than 255 bytes", rc);
            ll = 0;
            if (i == len)
                absolute = 1;
            continue;
        }
        if (c == '\\') {
            if (i == len)
                return dns_fail(why, "'\\' at the end of a name", MIRAGE_EINVAL);
            c = (uint8_t)text[i++];
            if (c >= '0' && c <= '9') {
                unsigned v = c - '0';
                for (int k = 0; k < 2; k++) {
                    if (i == len || text[i] < '0' || text[i] > '9')
                        return dns_fail(why, "\\DDD needs three digits", MIRAGE_EINVAL);
                    v = v * 10 + (unsigned)(text[i++] - '0');
                }
                if (v > 255)
                    return dns_fail(why, "\\DDD over 255", MIRAGE_EINVAL);
                c = (uint8_t)v;
            }
        }
        if (ll == MIRAGE_DNS_LABEL_MAX)
            return dns_fail(why, "label longer than 63 bytes", MIRAGE_ENAMETOOLONG);
        label[ll++] = c;
    }
    if (ll > 0 && (rc = append_label(n, label, ll)) < 0)
        return dns_fail(why, "name longer than 255 bytes", rc);
    if (!absolute) {
        if (origin == NULL)
            return dns_fail(why, "relative name without an origin", MIRAGE_EINVAL);
        if ((size_t)n->len + origin->len > MIRAGE_DNS_NAME_MAX)
            return dns_fail(why, "name longer than 255 bytes", MIRAGE_ENAMETOOLONG);
        memcpy(n->wire + n->len, origin->wire, origin->len);
        n->len = (uint8_t)(n->len + origin->len);
        return 0;
    }
    n->wire[n->len++] = 0;
    return 0;
}

size_t mirage_dns_name_to_text(const struct mirage_dns_name *n, char *buf, size_t size)
{
    size_t out = 0, i = 0;
    char tmp[8];

#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (out + 1 < size)                                                                        \
            buf[out] = (c);                                                                        \
        out++;                                                                                     \
    } while (0)
    if (n->len <= 1)
        PUT('.');
    while (i < n->len && n->wire[i] != 0) {
        size_t ll = n->wire[i++];
        for (size_t k = 0; k < ll && i < n->len; k++, i++) {
            uint8_t c = n->wire[i];
            if (strchr(".\\\"();@$", c) && c != 0) {
                PUT('\\');
                PUT((char)c);
            } else if (c <= 0x20 || c >= 0x7f) {
                snprintf(tmp, sizeof(tmp), "\\%03u", c);
                for (const char *t = tmp; *t; t++)
                    PUT(*t);
            } else {
                PUT((char)c);
            }
        }
        PUT('.');
    }
#undef PUT
    if (size > 0)
        buf[out < size ? out : size - 1] = '\0';
    return out;
}

int mirage_dns_name_check(const uint8_t *wire, size_t len, const char **why)
{
    struct mirage_rd r = mirage_rd_init(wire, len);
    struct mirage_dns_name n;

    if (dns_name_read(&r, NULL, 0, &n, why) < 0)
        return MIRAGE_EBADMSG;
    if (mirage_rd_left(&r) != 0)
        return dns_fail(why, "bytes after the name", MIRAGE_EBADMSG);
    return 0;
}

int mirage_dns_name_equal(const struct mirage_dns_name *a, const struct mirage_dns_name *b)
{
    if (a->len != b->len)
        return 0;
    /* Length bytes are at most 63, below 'A', so lowering every byte is safe. */
    for (size_t i = 0; i < a->len; i++)
        if (lower(a->wire[i]) != lower(b->wire[i]))
            return 0;
    return 1;
}

int mirage_dns_name_labels(const struct mirage_dns_name *n)
{
    int count = 0;

    for (size_t i = 0; i < n->len && n->wire[i] != 0; i += 1 + (size_t)n->wire[i])
        count++;
    return count;
}

void mirage_dns_name_strip(struct mirage_dns_name *n, int count)
{
    size_t i = 0;

    for (int k = 0; k < count && i < n->len && n->wire[i] != 0; k++)
        i += 1 + (size_t)n->wire[i];
    memmove(n->wire, n->wire + i, n->len - i);
    n->len = (uint8_t)(n->len - i);
}

int mirage_dns_name_under(const struct mirage_dns_name *n, const struct mirage_dns_name *zone)
{
    int extra = mirage_dns_name_labels(n) - mirage_dns_name_labels(zone);
    size_t i = 0;

    if (extra < 0)
        return 0;
    for (int k = 0; k < extra; k++)
        i += 1 + (size_t)n->wire[i];
    if (n->len - i != zone->len)
        return 0;
    for (size_t j = 0; j < zone->len; j++)
        if (lower(n->wire[i + j]) != lower(zone->wire[j]))
            return 0;
    return 1;
}

/* Where each label of (wire, len) starts; returns their number. */
static int label_starts(const uint8_t *wire, size_t len, uint8_t at[128])
{
    int count = 0;

    for (size_t i = 0; i < len && wire[i] != 0 && count < 128; i += 1 + (size_t)wire[i])
        at[count++] = (uint8_t)i;
    return count;
}

int mirage_dns_name_compare(const struct mirage_dns_name *a, const struct mirage_dns_name *b)
{
    return dns_wire_compare(a->wire, a->len, b->wire, b->len);
}

int dns_wire_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    uint8_t sa[128], sb[128];
    int na = label_starts(a, alen, sa), nb = label_starts(b, blen, sb);

    /* From the rightmost label: bytes lowered, a shorter label first. */
    for (int ia = na - 1, ib = nb - 1; ia >= 0 && ib >= 0; ia--, ib--) {
        const uint8_t *la = a + sa[ia], *lb = b + sb[ib];
        size_t common = la[0] < lb[0] ? la[0] : lb[0];
        for (size_t k = 1; k <= common; k++) {
            int d = lower(la[k]) - lower(lb[k]);
            if (d != 0)
                return d;
        }
        if (la[0] != lb[0])
            return la[0] - lb[0];
    }
    return na - nb;
}

int dns_name_read(struct mirage_rd *r, const uint8_t *msg, size_t msglen, struct mirage_dns_name *n,
                  const char **why)
{
    /* Labels are read from (at): first in place, through (r), then from
     * wherever a compression pointer leads in the whole message. A pointer
     * must lead before every byte of this name read so far (limit): that
     * refuses forward pointers and pointers to themselves, and, since the
     * limit only goes down, no sequence of pointers can loop. */
    struct mirage_rd at = *r;
    size_t limit = r->off;
    int jumped = 0;

    n->len = 0;
    for (;;) {
        uint8_t b = mirage_rd_u8(&at);
        if (at.bad)
            goto truncated;
        if ((b & 0xc0) == 0xc0) {
            if (msg == NULL)
                return dns_fail(why, "compression pointer where none is allowed", MIRAGE_EBADMSG);
            size_t target = (size_t)(b & 0x3f) << 8 | mirage_rd_u8(&at);
            if (at.bad)
                goto truncated;
            if (!jumped) {
                r->off = at.off;
                jumped = 1;
            }
            if (target >= msglen)
                return dns_fail(why, "compression pointer past the end", MIRAGE_EBADMSG);
            if (target < MIRAGE_DNS_HEADER)
                return dns_fail(why, "compression pointer into the header", MIRAGE_EBADMSG);
            if (target >= limit)
                return dns_fail(why, "compression pointer forward or in a loop", MIRAGE_EBADMSG);
            limit = target;
            at = mirage_rd_init(msg, msglen);
            mirage_rd_seek(&at, target);
            continue;
        }
        if (b & 0xc0)
            return dns_fail(why, "label over 63 bytes (reserved label type)", MIRAGE_EBADMSG);
        if (b != 0 && (size_t)n->len + 1 + b + 1 > MIRAGE_DNS_NAME_MAX)
            return dns_fail(why, "name longer than 255 bytes", MIRAGE_EBADMSG);
        n->wire[n->len++] = b;
        if (b == 0)
            break;
        mirage_rd_bytes(&at, n->wire + n->len, b);
        if (at.bad)
            goto truncated;
        n->len = (uint8_t)(n->len + b);
    }
    if (!jumped)
        r->off = at.off;
    return 0;
truncated:
    mirage_rd_fail(r);
    return dns_fail(why, "name runs past the end", MIRAGE_EBADMSG);
}

int dns_fail(const char **why, const char *what, int code)
{
    if (why != NULL)
        *why = what;
    return code;
}
