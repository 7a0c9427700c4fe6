/* dns_internal.h: what the DNS library's files share and nothing else sees. */
#ifndef MIRAGE_DNS_INTERNAL_H
#define MIRAGE_DNS_INTERNAL_H

#include "mirage/dns.h"

/* Sets *why (if why) to (what) and returns (code). */
int dns_fail(const char **why, const char *what, int code);

/* Reads a name at r->off: labels in place go through (r) (whose length may
 * end before the message, e.g. at the end of an RDATA), compression pointers
 * lead anywhere in (msg, msglen) before the name; (msg) NULL refuses
 * pointers. Moves (r) past the name's bytes in place. Returns 0 or
 * MIRAGE_EBADMSG with *why. */
int dns_name_read(struct mirage_rd *r, const uint8_t *msg, size_t msglen, struct mirage_dns_name *n,
                  const char **why);

/* Reads (rdlen) bytes of (type)'s RDATA at (at) in the reader's message into
 * its uncompressed form: a view into the message, or the reader's scratch
 * when names were expanded. Checks it as mirage_dns_rdata_check does. */
int dns_rdata_read(struct mirage_dns_reader *rd, uint16_t type, size_t at, size_t rdlen,
                   const uint8_t **out, size_t *outlen);

/* 1 for the types whose RDATA is one compressible name (NS, CNAME, PTR, MB...). */
int dns_rdata_one_name(uint16_t type);

/* Writes uncompressed (rd, len) of (type) through (wr), compressing the
 * names RFC 1035's types hold. (wr->w) is bad if it does not fit. */
void dns_rdata_write(struct mirage_dns_writer *wr, uint16_t type, const uint8_t *rd, size_t len);

/* Writes (n) at the writer's position, as a pointer to an earlier copy of a
 * suffix when (compress) and one is there, and remembers where its labels
 * are. (compress) 1 matches exactly, as RDATA names need to keep their case;
 * 2 ignores case, for owner names, which then take the question's case. */
void dns_name_write(struct mirage_dns_writer *wr, const struct mirage_dns_name *n, int compress);

/* "NOERROR", "NOTAUTH", ... for an rcode. */
const char *dns_rcode_name(unsigned rcode);

/* Canonical order (RFC 4034 6.1) of two names in wire form. */
int dns_wire_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Zone lookups (zone.c): records are sorted by owner, then type. */
struct mirage_dns_zone;
/* The first record whose owner is not before (n). */
size_t dns_zone_lower_bound(const struct mirage_dns_zone *z, const struct mirage_dns_name *n);
/* Record (i) exists and is owned by (n); or by a name strictly below (n). */
int dns_zone_owner_is(const struct mirage_dns_zone *z, size_t i, const struct mirage_dns_name *n);
int dns_zone_owner_below(const struct mirage_dns_zone *z, size_t i,
                         const struct mirage_dns_name *n);
uint16_t dns_zone_type(const struct mirage_dns_zone *z, size_t i);
/* The index of the apex's SOA record. */
size_t dns_zone_soa(const struct mirage_dns_zone *z);

/* The zone (n) is in: the served one with the longest origin (n) is under, or NULL. */
const struct mirage_dns_zone *dns_server_find_zone(const struct mirage_dns_server *s,
                                                   const struct mirage_dns_name *n);

/* RFC 4648 base64 of (s, len), padding required, into (w). Returns 0 or -1. */
int dns_base64(const uint8_t *s, size_t len, struct mirage_wr *w);

/* One step of a zone's history, for IXFR: the records it removed and added,
 * each set with its version's SOA first (zones not finished: file order). */
struct dns_diff {
    uint32_t from, to;
    struct mirage_dns_zone *del, *add;
    struct dns_diff *next; /* the next newer */
};

struct dns_journal {
    struct mirage_dns_name origin;
    struct dns_diff *oldest, *newest;
    unsigned n;
};

#define DNS_REPLAY_MAX 64 /* signatures of updates remembered against replays */

/* The primary (primary.c); xfr.c and update.c read it. */
struct mirage_dns_primary {
    struct mirage_dns_server *server;
    struct mirage_dns_tsig_key keys[MIRAGE_DNS_KEYS_MAX];
    size_t nkeys;
    struct mirage_dns_primary_stats stats;
    unsigned history; /* steps kept per zone */
    struct dns_journal *journals;
    size_t njournals;
    /* Zones replaced while transfers were being written: freed when the last ends. */
    unsigned active;
    struct mirage_dns_zone **grave;
    size_t ngrave, gcap;
    uint8_t seen[DNS_REPLAY_MAX][32];
    uint64_t seen_at[DNS_REPLAY_MAX];
    size_t seen_next;
    char why[320];
};

/* The journal of the zone (origin), made empty if there is none; NULL without memory. */
struct dns_journal *dns_primary_journal(struct mirage_dns_primary *p,
                                        const struct mirage_dns_name *origin);
void dns_journal_clear(struct mirage_dns_primary *p, struct dns_journal *j);
/* Frees (z) now, or when the last transfer being written ends. */
void dns_primary_retire(struct mirage_dns_primary *p, struct mirage_dns_zone *z);
/* A transfer holding versions ended. */
void dns_primary_transfer_ended(struct mirage_dns_primary *p);

#endif
