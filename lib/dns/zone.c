/* zone.c: a zone in memory: records from zone files or a kv store, sorted canonically and checked.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"
#include "mirage/heap.h"
#include "mirage/kv.h"

/* One record: its owner and RDATA live in the zone's arena. */
struct zrec {
    uint32_t name, rd; /* arena offsets */
    uint32_t ttl;
    uint32_t line;
    uint16_t type, rdlen;
    uint16_t file; /* index into files */
    uint8_t namelen;
};

struct mirage_dns_zone {
    struct mirage_dns_name origin;
    struct zrec *recs;
    size_t n, cap;
    uint8_t *arena;
    size_t used, acap;
    char **files;
    size_t nfiles, files_cap;
};

static int fail(struct mirage_dns_zone_error *err, const struct mirage_dns_zone *z,
                const struct zrec *r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct mirage_dns_zone_error *err, const struct mirage_dns_zone *z,
                const struct zrec *r, const char *fmt, ...)
{
    va_list ap;

    snprintf(err->file, sizeof(err->file), "%s", r ? z->files[r->file] : "");
    err->line = r ? r->line : 0;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return MIRAGE_EINVAL;
}

static void owner_of(const struct mirage_dns_zone *z, const struct zrec *r,
                     struct mirage_dns_name *n)
{
    n->len = r->namelen;
    memcpy(n->wire, z->arena + r->name, r->namelen);
}

static const char *owner_text(const struct mirage_dns_zone *z, const struct zrec *r, char *buf,
                              size_t size)
{
    struct mirage_dns_name n;
    owner_of(z, r, &n);
    mirage_dns_name_to_text(&n, buf, size);
    return buf;
}

static int arena_add(struct mirage_dns_zone *z, const void *p, size_t len, uint32_t *at)
{
    /* Offsets are 32 bits. */
    if (len > UINT32_MAX - z->used || mirage_grow(&z->arena, &z->acap, z->used + len, 1) < 0)
        return MIRAGE_ENOMEM;
    memcpy(z->arena + z->used, p, len);
    *at = (uint32_t)z->used;
    z->used += len;
    return 0;
}

/* The parser's record function: refuses out-of-zone data and an SOA away from the apex. */
static int add(void *arg, const struct mirage_dns_rr *rr, const char *file, unsigned line,
               char *msg, size_t msgsize)
{
    struct mirage_dns_zone *z = arg;
    char a[MIRAGE_DNS_TEXT_MAX], b[MIRAGE_DNS_TEXT_MAX];

    if (!mirage_dns_name_under(&rr->name, &z->origin)) {
        mirage_dns_name_to_text(&rr->name, a, sizeof(a));
        mirage_dns_name_to_text(&z->origin, b, sizeof(b));
        snprintf(msg, msgsize, "out-of-zone record: %s is not in zone %s%s", a, b,
                 rr->type == MIRAGE_DNS_A || rr->type == MIRAGE_DNS_AAAA
                     ? " (glue for a name outside the zone is not served)"
                     : "");
        return MIRAGE_EINVAL;
    }
    if (rr->type == MIRAGE_DNS_SOA && !mirage_dns_name_equal(&rr->name, &z->origin)) {
        snprintf(msg, msgsize, "SOA record not at the zone's apex");
        return MIRAGE_EINVAL;
    }
    if (z->nfiles == 0 || strcmp(z->files[z->nfiles - 1], file) != 0) {
        if (z->nfiles == UINT16_MAX)
            return MIRAGE_ENOMEM;
        if (mirage_grow(&z->files, &z->files_cap, z->nfiles + 1, sizeof(*z->files)) < 0 ||
            (z->files[z->nfiles] = strdup(file)) == NULL)
            return MIRAGE_ENOMEM;
        z->nfiles++;
    }
    if (mirage_grow(&z->recs, &z->cap, z->n + 1, sizeof(*z->recs)) < 0)
        return MIRAGE_ENOMEM;
    struct zrec *r = &z->recs[z->n];
    if (arena_add(z, rr->name.wire, rr->name.len, &r->name) < 0 ||
        arena_add(z, rr->rdata, rr->rdlen, &r->rd) < 0)
        return MIRAGE_ENOMEM;
    r->namelen = rr->name.len;
    r->type = rr->type;
    r->rdlen = rr->rdlen;
    r->ttl = rr->ttl;
    r->line = line;
    r->file = (uint16_t)(z->nfiles - 1);
    z->n++;
    return 0;
}

/* Canonical order: owner, then type, then RDATA bytes. */
static int rec_compare(const struct mirage_dns_zone *z, const struct zrec *a, const struct zrec *b)
{
    int c = dns_wire_compare(z->arena + a->name, a->namelen, z->arena + b->name, b->namelen);
    if (c != 0)
        return c;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    size_t common = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
    c = memcmp(z->arena + a->rd, z->arena + b->rd, common);
    if (c != 0)
        return c;
    return (int)a->rdlen - (int)b->rdlen;
}

/* A stable merge sort (records of equal keys keep file order, so the first
 * of two duplicates is the one kept). */
static int sort(struct mirage_dns_zone *z)
{
    struct zrec *tmp = malloc((z->n ? z->n : 1) * sizeof(*tmp));
    if (tmp == NULL)
        return MIRAGE_ENOMEM;
    for (size_t width = 1; width < z->n; width *= 2) {
        for (size_t lo = 0; lo < z->n; lo += 2 * width) {
            size_t mid = lo + width < z->n ? lo + width : z->n;
            size_t hi = lo + 2 * width < z->n ? lo + 2 * width : z->n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] =
                    rec_compare(z, &z->recs[j], &z->recs[i]) < 0 ? z->recs[j++] : z->recs[i++];
            while (i < mid)
                tmp[k++] = z->recs[i++];
            while (j < hi)
                tmp[k++] = z->recs[j++];
        }
        memcpy(z->recs, tmp, z->n * sizeof(*tmp));
    }
    free(tmp);
    return 0;
}

static int same_owner(const struct mirage_dns_zone *z, const struct zrec *a, const struct zrec *b)
{
    return dns_wire_compare(z->arena + a->name, a->namelen, z->arena + b->name, b->namelen) == 0;
}

/* Drops duplicates (RFC 2181 5) and checks the zone as a whole. */
static int check(struct mirage_dns_zone *z, struct mirage_dns_zone_error *err)
{
    char a[MIRAGE_DNS_TEXT_MAX], b[MIRAGE_DNS_TEXT_MAX], tn[16];
    size_t out = 0, soas = 0, apex_ns = 0;

    for (size_t i = 0; i < z->n; i++)
        if (out == 0 || rec_compare(z, &z->recs[out - 1], &z->recs[i]) != 0)
            z->recs[out++] = z->recs[i];
    z->n = out;

    const struct zrec *cut = NULL; /* the delegation we are below */
    for (size_t i = 0; i < z->n;) {
        /* One owner: records i .. end. */
        size_t end = i + 1;
        while (end < z->n && same_owner(z, &z->recs[i], &z->recs[end]))
            end++;
        struct mirage_dns_name owner;
        owner_of(z, &z->recs[i], &owner);
        int apex = mirage_dns_name_equal(&owner, &z->origin);
        const struct zrec *cname = NULL, *other = NULL, *ns = NULL;
        for (size_t k = i; k < end; k++) {
            const struct zrec *r = &z->recs[k];
            if (r->type == MIRAGE_DNS_CNAME) {
                if (cname != NULL)
                    return fail(err, z, r, "more than one CNAME at %s",
                                owner_text(z, r, a, sizeof(a)));
                cname = r;
            } else if (r->type != 46 && r->type != 47) { /* RRSIG and NSEC may sit beside */
                other = r;
            }
            if (r->type == MIRAGE_DNS_SOA)
                soas++;
            if (r->type == MIRAGE_DNS_NS)
                ns = r;
        }
        if (cname != NULL && other != NULL) {
            const struct zrec *later = cname->line > other->line ? cname : other;
            return fail(err, z, later, "CNAME beside other data (%s) at %s",
                        mirage_dns_type_name(other->type, tn, sizeof(tn)),
                        owner_text(z, cname, a, sizeof(a)));
        }
        if (cut != NULL) {
            struct mirage_dns_name cutname;
            owner_of(z, cut, &cutname);
            if (!mirage_dns_name_under(&owner, &cutname))
                cut = NULL;
        }
        if (cut != NULL) {
            int at_cut = same_owner(z, cut, &z->recs[i]);
            for (size_t k = i; k < end; k++) {
                const struct zrec *r = &z->recs[k];
                int glue = r->type == MIRAGE_DNS_A || r->type == MIRAGE_DNS_AAAA;
                int ok = glue || (at_cut && (r->type == MIRAGE_DNS_NS || r->type == 43));
                if (!ok)
                    return fail(err, z, r,
                                "%s record at %s is below the delegation to %s (only glue, A "
                                "and AAAA, may be)",
                                mirage_dns_type_name(r->type, tn, sizeof(tn)),
                                owner_text(z, r, a, sizeof(a)), owner_text(z, cut, b, sizeof(b)));
            }
        } else if (ns != NULL && !apex) {
            cut = ns;
            for (size_t k = i; k < end; k++) {
                const struct zrec *r = &z->recs[k];
                if (r->type != MIRAGE_DNS_NS && r->type != 43 && r->type != MIRAGE_DNS_A &&
                    r->type != MIRAGE_DNS_AAAA)
                    return fail(err, z, r, "%s record beside the delegation at %s",
                                mirage_dns_type_name(r->type, tn, sizeof(tn)),
                                owner_text(z, r, a, sizeof(a)));
            }
        }
        if (apex && ns != NULL)
            apex_ns++;
        i = end;
    }
    mirage_dns_name_to_text(&z->origin, a, sizeof(a));
    if (soas == 0)
        return fail(err, z, NULL, "zone %s has no SOA record at its apex", a);
    if (soas > 1)
        return fail(err, z, NULL, "zone %s has more than one SOA record", a);
    if (apex_ns == 0)
        return fail(err, z, NULL, "zone %s has no NS record at its apex", a);
    return 0;
}

void mirage_dns_zone_free(struct mirage_dns_zone *z)
{
    if (z == NULL)
        return;
    for (size_t i = 0; i < z->nfiles; i++)
        free(z->files[i]);
    free(z->files);
    free(z->recs);
    free(z->arena);
    free(z);
}

/* Reads $INCLUDE files from a kv store: relative to the including zone
 * file's dictionary, or from the store's root when they start with '/'. */
struct kv_source {
    struct mirage_dns_zone *z;
    struct mirage_kv *kv;
    char dir[MIRAGE_KV_KEY_MAX + 1];
};

static int kv_include(void *arg, const char *path, char **text, size_t *len, char *why,
                      size_t whysize)
{
    struct kv_source *src = arg;
    char key[2 * MIRAGE_KV_KEY_MAX + 2];
    struct mirage_kv_error e;
    uint8_t *v;
    int rc;

    if (src->kv == NULL) {
        snprintf(why, whysize, "no store to read it from");
        return MIRAGE_ENOENT;
    }
    snprintf(key, sizeof(key), "%s%s%s", path[0] == '/' ? "" : src->dir, path[0] == '/' ? "" : "/",
             path);
    if ((rc = mirage_kv_get(src->kv, key, &v, len, &e)) < 0) {
        char buf[MIRAGE_KV_KEY_MAX + 64];
        snprintf(why, whysize, "%s", mirage_kv_strerror(&e, buf, sizeof(buf)));
        return rc;
    }
    *text = (char *)v;
    return 0;
}

static int kv_add(void *arg, const struct mirage_dns_rr *rr, const char *file, unsigned line,
                  char *msg, size_t msgsize)
{
    struct kv_source *src = arg;
    return add(src->z, rr, file, line, msg, msgsize);
}

static int load(struct mirage_kv *kv, const char *dir, const struct mirage_dns_name *origin,
                const char *file, const char *text, size_t len, struct mirage_dns_zone **out,
                struct mirage_dns_zone_error *err)
{
    struct mirage_dns_zone *z = calloc(1, sizeof(*z));
    struct kv_source src;
    int rc;

    *out = NULL;
    memset(err, 0, sizeof(*err));
    if (z == NULL)
        return MIRAGE_ENOMEM;
    z->origin = *origin;
    src.z = z;
    src.kv = kv;
    snprintf(src.dir, sizeof(src.dir), "%s", dir);
    struct mirage_dns_zonefile zf = {*origin, kv_add, kv ? kv_include : NULL, &src};
    if ((rc = mirage_dns_zonefile_parse(&zf, file, text, len, err)) < 0 || (rc = sort(z)) < 0 ||
        (rc = check(z, err)) < 0) {
        if (rc == MIRAGE_ENOMEM && err->msg[0] == '\0')
            snprintf(err->msg, sizeof(err->msg), "out of memory");
        mirage_dns_zone_free(z);
        return rc;
    }
    *out = z;
    return 0;
}

int mirage_dns_zone_load(const struct mirage_dns_name *origin, const char *file, const char *text,
                         size_t len, struct mirage_dns_zone **z, struct mirage_dns_zone_error *err)
{
    return load(NULL, "", origin, file, text, len, z, err);
}

int mirage_dns_zone_load_kv(struct mirage_kv *kv, const char *key,
                            const struct mirage_dns_name *origin, struct mirage_dns_zone **z,
                            struct mirage_dns_zone_error *err)
{
    struct mirage_kv_error e;
    uint8_t *text;
    size_t len;
    char dir[MIRAGE_KV_KEY_MAX + 1];
    int rc;

    *z = NULL;
    memset(err, 0, sizeof(*err));
    if ((rc = mirage_kv_get(kv, key, &text, &len, &e)) < 0) {
        char buf[MIRAGE_KV_KEY_MAX + 64];
        snprintf(err->file, sizeof(err->file), "%s", key);
        snprintf(err->msg, sizeof(err->msg), "%s", mirage_kv_strerror(&e, buf, sizeof(buf)));
        return rc;
    }
    snprintf(dir, sizeof(dir), "%s", key);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        dir[0] = '\0';
    rc = load(kv, dir, origin, key, (const char *)text, len, z, err);
    free(text);
    return rc;
}

int mirage_dns_zone_new(const struct mirage_dns_name *origin, struct mirage_dns_zone **out)
{
    struct mirage_dns_zone *z = calloc(1, sizeof(*z));

    *out = z;
    if (z == NULL)
        return MIRAGE_ENOMEM;
    z->origin = *origin;
    return 0;
}

int mirage_dns_zone_add(struct mirage_dns_zone *z, const struct mirage_dns_rr *rr, const char *what,
                        unsigned index, struct mirage_dns_zone_error *err)
{
    const char *why;
    int rc;

    memset(err, 0, sizeof(*err));
    snprintf(err->file, sizeof(err->file), "%s", what);
    err->line = index;
    if (rr->rclass != MIRAGE_DNS_CLASS_IN) {
        snprintf(err->msg, sizeof(err->msg), "record of class %u, not IN", rr->rclass);
        return MIRAGE_EINVAL;
    }
    if (mirage_dns_rdata_check(rr->type, rr->rdata, rr->rdlen, &why) < 0) {
        snprintf(err->msg, sizeof(err->msg), "bad RDATA: %s", why);
        return MIRAGE_EINVAL;
    }
    if ((rc = add(z, rr, what, index, err->msg, sizeof(err->msg))) == MIRAGE_ENOMEM)
        snprintf(err->msg, sizeof(err->msg), "out of memory");
    return rc;
}

int mirage_dns_zone_finish(struct mirage_dns_zone *z, struct mirage_dns_zone_error *err)
{
    int rc;

    memset(err, 0, sizeof(*err));
    if ((rc = sort(z)) < 0) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return rc;
    }
    return check(z, err);
}

int mirage_dns_zone_soa(const struct mirage_dns_zone *z, struct mirage_dns_soa *soa, uint32_t *ttl)
{
    struct mirage_dns_rr rr;

    if (mirage_dns_zone_record(z, dns_zone_soa(z), &rr) < 0 || rr.type != MIRAGE_DNS_SOA)
        return MIRAGE_ENOENT;
    if (ttl != NULL)
        *ttl = rr.ttl;
    return mirage_dns_soa_read(rr.rdata, rr.rdlen, soa);
}

const struct mirage_dns_name *mirage_dns_zone_origin(const struct mirage_dns_zone *z)
{
    return &z->origin;
}

size_t mirage_dns_zone_count(const struct mirage_dns_zone *z)
{
    return z->n;
}

int mirage_dns_zone_record(const struct mirage_dns_zone *z, size_t i, struct mirage_dns_rr *rr)
{
    if (i >= z->n)
        return MIRAGE_ENOENT;
    const struct zrec *r = &z->recs[i];
    owner_of(z, r, &rr->name);
    rr->type = r->type;
    rr->rclass = MIRAGE_DNS_CLASS_IN;
    rr->ttl = r->ttl;
    rr->rdlen = r->rdlen;
    rr->rdata = z->arena + r->rd;
    return 0;
}

/* ---- lookups for the server ------------------------------------------------ */

static int owner_compare(const struct mirage_dns_zone *z, size_t i, const struct mirage_dns_name *n)
{
    const struct zrec *r = &z->recs[i];
    return dns_wire_compare(z->arena + r->name, r->namelen, n->wire, n->len);
}

size_t dns_zone_lower_bound(const struct mirage_dns_zone *z, const struct mirage_dns_name *n)
{
    size_t lo = 0, hi = z->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (owner_compare(z, mid, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int dns_zone_owner_is(const struct mirage_dns_zone *z, size_t i, const struct mirage_dns_name *n)
{
    return i < z->n && owner_compare(z, i, n) == 0;
}

int dns_zone_owner_below(const struct mirage_dns_zone *z, size_t i, const struct mirage_dns_name *n)
{
    struct mirage_dns_name o;

    if (i >= z->n)
        return 0;
    owner_of(z, &z->recs[i], &o);
    return o.len > n->len && mirage_dns_name_under(&o, n);
}

uint16_t dns_zone_type(const struct mirage_dns_zone *z, size_t i)
{
    return z->recs[i].type;
}

size_t dns_zone_soa(const struct mirage_dns_zone *z)
{
    size_t i = dns_zone_lower_bound(z, &z->origin);
    while (i < z->n && z->recs[i].type != MIRAGE_DNS_SOA)
        i++;
    return i;
}
