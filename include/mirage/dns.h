/* dns.h: DNS messages on the wire (RFC 1035, 3597, 6891, 8914): names, records, read, write. */
#ifndef MIRAGE_DNS_H
#define MIRAGE_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/error.h"
#include "mirage/stack.h"
#include "mirage/wire.h"

/*
 * One codec for the primary, the secondary and the stub resolver. Nothing
 * here allocates: the caller owns the message buffers, the reader and the
 * writer.
 *
 * Names are kept in their uncompressed wire form (length-prefixed labels
 * ending with the root's zero byte), case preserved; comparisons ignore ASCII
 * case. Record data (RDATA) is kept in its uncompressed wire form too, the
 * form zone files and transfers use: reading a message expands compression
 * pointers in the types RFC 3597 section 4 names, writing one compresses the
 * names of RFC 1035's types only. Types this codec does not know are opaque
 * bytes (RFC 3597) and travel unchanged.
 *
 * Reading refuses, with a reason in (why), everything a hostile message can
 * try: compression pointers that loop, point forward or past the end or into
 * the header, labels over 63 bytes (reserved label types), names over 255
 * bytes, records or RDATA running past the end, RDATA that does not fill its
 * length for a known type (empty RDATA of class ANY or NONE excepted, as
 * UPDATE has them), OPT records outside the additional section, not
 * owned by the root, or more than one.
 */

#define MIRAGE_DNS_NAME_MAX  255 /* bytes of a name in wire form, the root's 0 included */
#define MIRAGE_DNS_LABEL_MAX 63
#define MIRAGE_DNS_HEADER    12
#define MIRAGE_DNS_TEXT_MAX  1024 /* a name as text, every byte escaped as \DDD, and NUL */
#define MIRAGE_DNS_UDP_MIN   512  /* the payload every UDP peer takes (RFC 1035) */
#define MIRAGE_DNS_COMP_MAX  128  /* names a writer remembers for compression */

/* Record types this codec knows; any other travels as opaque data. */
enum {
    MIRAGE_DNS_A = 1,
    MIRAGE_DNS_NS = 2,
    MIRAGE_DNS_MD = 3,
    MIRAGE_DNS_MF = 4,
    MIRAGE_DNS_CNAME = 5,
    MIRAGE_DNS_SOA = 6,
    MIRAGE_DNS_MB = 7,
    MIRAGE_DNS_MG = 8,
    MIRAGE_DNS_MR = 9,
    MIRAGE_DNS_PTR = 12,
    MIRAGE_DNS_MINFO = 14,
    MIRAGE_DNS_MX = 15,
    MIRAGE_DNS_TXT = 16,
    MIRAGE_DNS_AAAA = 28,
    MIRAGE_DNS_SRV = 33,
    MIRAGE_DNS_OPT = 41,
    MIRAGE_DNS_SSHFP = 44,
    MIRAGE_DNS_TLSA = 52,
    MIRAGE_DNS_SVCB = 64,
    MIRAGE_DNS_HTTPS = 65,
    MIRAGE_DNS_TSIG = 250,
    MIRAGE_DNS_IXFR = 251,
    MIRAGE_DNS_AXFR = 252,
    MIRAGE_DNS_ANY = 255,
    MIRAGE_DNS_CAA = 257,
};

/* Classes. */
enum {
    MIRAGE_DNS_CLASS_IN = 1,
    MIRAGE_DNS_CLASS_CH = 3,
    MIRAGE_DNS_CLASS_NONE = 254,
    MIRAGE_DNS_CLASS_ANY = 255,
};

/* Header flags (the second 16-bit word) and the fields inside it. */
#define MIRAGE_DNS_QR            0x8000
#define MIRAGE_DNS_AA            0x0400
#define MIRAGE_DNS_TC            0x0200
#define MIRAGE_DNS_RD            0x0100
#define MIRAGE_DNS_RA            0x0080
#define MIRAGE_DNS_AD            0x0020
#define MIRAGE_DNS_CD            0x0010
#define MIRAGE_DNS_OPCODE(flags) (((flags) >> 11) & 15)
#define MIRAGE_DNS_RCODE(flags)  ((flags)&15)

enum {
    MIRAGE_DNS_OP_QUERY = 0,
    MIRAGE_DNS_OP_NOTIFY = 4,
    MIRAGE_DNS_OP_UPDATE = 5,
};

enum {
    MIRAGE_DNS_NOERROR = 0,
    MIRAGE_DNS_FORMERR = 1,
    MIRAGE_DNS_SERVFAIL = 2,
    MIRAGE_DNS_NXDOMAIN = 3,
    MIRAGE_DNS_NOTIMP = 4,
    MIRAGE_DNS_REFUSED = 5,
    MIRAGE_DNS_NOTAUTH = 9,
    MIRAGE_DNS_BADVERS = 16, /* needs EDNS: the upper 8 bits go in the OPT record */
};

/* TSIG's own errors, in its record's error field (RFC 8945). */
enum {
    MIRAGE_DNS_BADSIG = 16,
    MIRAGE_DNS_BADKEY = 17,
    MIRAGE_DNS_BADTIME = 18,
};

/* The sections of a message, in order. */
enum {
    MIRAGE_DNS_QUESTION = 0,
    MIRAGE_DNS_ANSWER = 1,
    MIRAGE_DNS_AUTHORITY = 2,
    MIRAGE_DNS_ADDITIONAL = 3,
};

/* ---- names ----------------------------------------------------------------- */

struct mirage_dns_name {
    uint8_t len;                       /* bytes used in (wire), 1 (the root) .. 255 */
    uint8_t wire[MIRAGE_DNS_NAME_MAX]; /* length-prefixed labels, then 0 */
};

/* Parses the presentation form (text, len): labels separated by '.', "\X"
 * for the character X and "\DDD" for the byte DDD (decimal); "." is the root.
 * A name ending in an unescaped '.' is absolute; any other is relative and
 * (origin) is appended, or, if (origin) is NULL, it is refused. Returns 0,
 * MIRAGE_EINVAL (empty label, bad escape; *why says which) or
 * MIRAGE_ENAMETOOLONG (a label over 63 bytes, a name over 255). */
int mirage_dns_name_from_text(struct mirage_dns_name *n, const char *text, size_t len,
                              const struct mirage_dns_name *origin, const char **why);

/* Writes (n) as text, absolute with its final '.', escaping as dig does, into
 * (buf) of (size) bytes (MIRAGE_DNS_TEXT_MAX always suffices). Returns the
 * length, as snprintf does. */
size_t mirage_dns_name_to_text(const struct mirage_dns_name *n, char *buf, size_t size);

/* Checks that (wire, len) is exactly one uncompressed name. Returns 0 or
 * MIRAGE_EBADMSG with *why. */
int mirage_dns_name_check(const uint8_t *wire, size_t len, const char **why);

/* The root name. */
void mirage_dns_name_root(struct mirage_dns_name *n);

/* 1 if (a) and (b) are the same name, ignoring ASCII case. */
int mirage_dns_name_equal(const struct mirage_dns_name *a, const struct mirage_dns_name *b);

/* 1 if (n) is (zone) or below it. */
int mirage_dns_name_under(const struct mirage_dns_name *n, const struct mirage_dns_name *zone);

/* How many labels (n) has, the root not counted. */
int mirage_dns_name_labels(const struct mirage_dns_name *n);

/* Removes the leftmost (count) labels of (n) (count <= labels). */
void mirage_dns_name_strip(struct mirage_dns_name *n, int count);

/* Canonical DNS name order (RFC 4034 6.1): <0, 0, >0. */
int mirage_dns_name_compare(const struct mirage_dns_name *a, const struct mirage_dns_name *b);

/* ---- records --------------------------------------------------------------- */

/* A question. */
struct mirage_dns_question {
    struct mirage_dns_name name;
    uint16_t type, qclass;
};

/* A resource record; (rdata) is the uncompressed RDATA and points into the
 * message, the reader that read it (valid until its next read) or whatever
 * memory the caller set it to. */
struct mirage_dns_rr {
    struct mirage_dns_name name;
    uint16_t type, rclass;
    uint32_t ttl;
    uint16_t rdlen;
    const uint8_t *rdata;
};

/* Checks that (rd, len) is valid uncompressed RDATA of (type): A and AAAA
 * lengths, names, SOA's and MX's fields, TXT's character strings, SRV, CAA's
 * tag, TLSA, SSHFP, SVCB/HTTPS parameters (keys ascending, known ones well
 * formed), OPT's options; any other type is opaque and always valid. Returns
 * 0 or MIRAGE_EBADMSG with *why. */
int mirage_dns_rdata_check(uint16_t type, const uint8_t *rd, size_t len, const char **why);

/* The fields of an SOA record. */
struct mirage_dns_soa {
    struct mirage_dns_name mname, rname;
    uint32_t serial, refresh, retry, expire, minimum;
};

/* Reads uncompressed SOA RDATA. Returns 0 or MIRAGE_EBADMSG. */
int mirage_dns_soa_read(const uint8_t *rd, size_t len, struct mirage_dns_soa *soa);

/* Writes (soa) as uncompressed RDATA. (w) is bad if it does not fit. */
void mirage_dns_soa_write(struct mirage_wr *w, const struct mirage_dns_soa *soa);

/* ---- EDNS(0) --------------------------------------------------------------- */

#define MIRAGE_DNS_EDNS_EDE 15 /* Extended DNS Errors option (RFC 8914) */

/* What an OPT record says. */
struct mirage_dns_edns {
    uint16_t payload;     /* the sender's UDP payload size (values below 512 mean 512) */
    uint8_t ext_rcode;    /* the upper 8 bits of the 12-bit rcode */
    uint8_t version;      /* 0 is the only one defined */
    int dnssec_ok;        /* the DO bit */
    int has_ede;          /* an Extended DNS Error is present */
    uint16_t ede_code;    /* its INFO-CODE */
    const char *ede_text; /* its EXTRA-TEXT (UTF-8, not NUL-terminated), in the record */
    uint16_t ede_len;
};

/* Reads an OPT record (already checked by the reader). Returns 0 or
 * MIRAGE_EBADMSG with *why (an EDE option shorter than its code). */
int mirage_dns_edns_read(const struct mirage_dns_rr *opt, struct mirage_dns_edns *e,
                         const char **why);

/* ---- reading a message ----------------------------------------------------- */

struct mirage_dns_header {
    uint16_t id, flags;
    uint16_t count[4]; /* per section: QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT */
};

/* Reads one message in order: the header, the questions, then the records
 * of each section. State lives here; the message stays the caller's. */
struct mirage_dns_reader {
    const uint8_t *msg;
    size_t len, off;
    struct mirage_dns_header h;
    int section;     /* the section the next read comes from */
    unsigned left;   /* entries left in it */
    int seen_opt;    /* an OPT record was read */
    size_t opt_at;   /* where the OPT record starts, if one was read */
    const char *why; /* what was wrong, once a read returned MIRAGE_EBADMSG */
    uint8_t scratch[2 * MIRAGE_DNS_NAME_MAX + 20]; /* RDATA with names expanded */
};

/* Starts reading (msg, len): reads the header into rd->h. Returns 0 or
 * MIRAGE_EBADMSG (shorter than a header). */
int mirage_dns_read_begin(struct mirage_dns_reader *rd, const void *msg, size_t len);

/* Reads the next question. Returns 0, MIRAGE_ENOENT when none is left, or
 * MIRAGE_EBADMSG with rd->why; after an error every read fails again. */
int mirage_dns_read_question(struct mirage_dns_reader *rd, struct mirage_dns_question *q);

/* Reads the next record of the answer, authority or additional section
 * (questions not read yet are read and dropped) and says which section it
 * is in. Returns 0, MIRAGE_ENOENT after the last one, or MIRAGE_EBADMSG. */
int mirage_dns_read_rr(struct mirage_dns_reader *rd, struct mirage_dns_rr *rr, int *section);

/* After the last record: MIRAGE_EBADMSG if bytes follow it, else 0. */
int mirage_dns_read_end(struct mirage_dns_reader *rd);

/* ---- writing a message ----------------------------------------------------- */

/* Writes a message section by section into a caller-owned buffer, compressing
 * names against the ones written before. A record that does not fit leaves
 * the message as it was, so a full message is still whole (set TC). */
struct mirage_dns_writer {
    struct mirage_wr w;
    uint16_t id, flags;
    uint16_t count[4];
    int section;
    unsigned nnames;
    uint16_t names[MIRAGE_DNS_COMP_MAX]; /* where names written so far start */
};

/* Starts a message with (id) and (flags) in (buf, cap); (cap) is at least a
 * header, and at most 65535 is used. */
void mirage_dns_write_begin(struct mirage_dns_writer *wr, void *buf, size_t cap, uint16_t id,
                            uint16_t flags);

/* Appends a question. Returns 0, MIRAGE_ENOSPC (nothing written) or
 * MIRAGE_EINVAL (a record was written already). */
int mirage_dns_write_question(struct mirage_dns_writer *wr, const struct mirage_dns_question *q);

/* Appends (rr) to (section), which is not before the last one written.
 * Returns 0, MIRAGE_ENOSPC (nothing written), MIRAGE_EINVAL (section out of
 * order) or MIRAGE_EBADMSG (the RDATA is not valid for its type). */
int mirage_dns_write_rr(struct mirage_dns_writer *wr, int section, const struct mirage_dns_rr *rr);

/* Appends an OPT record for (e) to the additional section, with an EDE
 * option when e->has_ede. Returns as mirage_dns_write_rr. */
int mirage_dns_write_edns(struct mirage_dns_writer *wr, const struct mirage_dns_edns *e);

/* Where the message stands, to go back to with mirage_dns_write_restore
 * (e.g. to leave out a whole RRset that did not fit). */
struct mirage_dns_mark {
    size_t off;
    uint16_t count[4];
    int section;
    unsigned nnames;
};
void mirage_dns_write_mark(const struct mirage_dns_writer *wr, struct mirage_dns_mark *m);
void mirage_dns_write_restore(struct mirage_dns_writer *wr, const struct mirage_dns_mark *m);

/* Fills in the header (flags may have changed: wr->flags) and returns the
 * message's length. */
size_t mirage_dns_write_end(struct mirage_dns_writer *wr);

/* ---- zone files (RFC 1035 5) ---------------------------------------------- */

/* Where a zone file is wrong and why. */
struct mirage_dns_zone_error {
    char file[256];
    unsigned line;
    char msg[256];
};

/*
 * What reading a zone file needs: the origin it starts with (the zone's
 * name), a function given each record in file order (its RDATA valid during
 * the call, with the file and line it is on; a negative return stops the
 * parse, with (msg) if it filled it),
 * and one that reads a file $INCLUDE names (the caller frees *text with
 * free()), or NULL to refuse $INCLUDE.
 */
struct mirage_dns_zonefile {
    struct mirage_dns_name origin;
    int (*record)(void *arg, const struct mirage_dns_rr *rr, const char *file, unsigned line,
                  char *msg, size_t msgsize);
    int (*include)(void *arg, const char *path, char **text, size_t *len, char *why,
                   size_t whysize);
    void *arg;
};

/* Reads the zone file (text, len) named (file), calling zf->record for each
 * record: $ORIGIN, $TTL (and RFC 1035's last TTL when there is none), TTLs
 * with units (1w2d3h4m5s), relative names and '@', a blank first column for
 * the previous owner, parentheses, comments, quoted strings and \X, \DDD
 * escapes, $INCLUDE FILE [ORIGIN] (8 deep at most), class IN, the known
 * types in their text forms and any type as RFC 3597's \# LENGTH HEX.
 * Returns 0, or MIRAGE_EINVAL with (err) naming the file, line and problem. */
int mirage_dns_zonefile_parse(const struct mirage_dns_zonefile *zf, const char *file,
                              const char *text, size_t len, struct mirage_dns_zone_error *err);

/* ---- zones ----------------------------------------------------------------- */

/* A zone in memory: its records in canonical order (owner, type, RDATA),
 * duplicates dropped (RFC 2181 5), checked as a whole when loaded. */
struct mirage_dns_zone;
struct mirage_kv;

/* Loads the zone (origin) from the zone file (text, len) named (file), with
 * no $INCLUDE. Besides the parser's errors, refuses records outside the
 * zone (glue for names outside it included), an SOA away from the apex, no
 * SOA or more than one, no NS at the apex, a CNAME beside other data or a
 * second CNAME, and anything but NS, DS and glue (A, AAAA) at or below a
 * delegation. Returns 0 with *z (free with mirage_dns_zone_free), or an error
 * with (err) naming the file and line (line 0: the zone as a whole). */
int mirage_dns_zone_load(const struct mirage_dns_name *origin, const char *file, const char *text,
                         size_t len, struct mirage_dns_zone **z, struct mirage_dns_zone_error *err);

/* The same from the value of (key) in (kv); $INCLUDE reads other keys of the
 * store, relative to (key)'s dictionary or from its root for "/...". Suspends
 * the calling fiber while the store reads. */
int mirage_dns_zone_load_kv(struct mirage_kv *kv, const char *key,
                            const struct mirage_dns_name *origin, struct mirage_dns_zone **z,
                            struct mirage_dns_zone_error *err);

void mirage_dns_zone_free(struct mirage_dns_zone *z);

/* Building a zone from records that do not come from a zone file (a zone
 * transfer, an update): an empty zone (origin), then each record added, then
 * finished: sorted, duplicates dropped and checked as a whole as
 * mirage_dns_zone_load does. Until finished the zone must not be served.
 * Every call returns 0 or an error (MIRAGE_ENOMEM, MIRAGE_EINVAL with (err));
 * on error the caller still frees the zone. */
int mirage_dns_zone_new(const struct mirage_dns_name *origin, struct mirage_dns_zone **z);
/* Adds a copy of (rr): class IN, RDATA valid for its type, owned inside the
 * zone, an SOA only at the apex. (what) and (index) name the record in
 * errors ("AXFR from 10.0.0.1", its position), as a file and line. */
int mirage_dns_zone_add(struct mirage_dns_zone *z, const struct mirage_dns_rr *rr, const char *what,
                        unsigned index, struct mirage_dns_zone_error *err);
int mirage_dns_zone_finish(struct mirage_dns_zone *z, struct mirage_dns_zone_error *err);

/* The fields of the apex's SOA record, and its TTL (if ttl). Returns 0, or
 * MIRAGE_ENOENT (no SOA: not a finished zone). */
int mirage_dns_zone_soa(const struct mirage_dns_zone *z, struct mirage_dns_soa *soa, uint32_t *ttl);

const struct mirage_dns_name *mirage_dns_zone_origin(const struct mirage_dns_zone *z);

/* How many records the zone holds. */
size_t mirage_dns_zone_count(const struct mirage_dns_zone *z);

/* The (i)th record in canonical order into (rr), its RDATA in the zone.
 * Returns 0 or MIRAGE_ENOENT past the last. */
int mirage_dns_zone_record(const struct mirage_dns_zone *z, size_t i, struct mirage_dns_rr *rr);

/* ---- TSIG (RFC 8945), HMAC-SHA256 ------------------------------------------ */

struct mirage_dns_tsig_key {
    struct mirage_dns_name name; /* the key's name, as peers give it */
    uint8_t secret[64];
    size_t secret_len;
};

/* What verifying a message found. */
struct mirage_dns_tsig_result {
    int error;           /* the rcode to answer with: 0, FORMERR or NOTAUTH */
    uint16_t tsig_error; /* for the answer's TSIG: BADSIG, BADKEY or BADTIME, else 0 */
    const struct mirage_dns_tsig_key *key; /* the key that signed it */
    struct mirage_dns_name rr_name;        /* the key name in the message */
    const uint8_t *tsig_rdata;             /* the TSIG record's RDATA, in the message */
    uint16_t tsig_rdlen;
    uint64_t signed_at; /* seconds since the epoch, as signed */
    uint16_t fudge;
    uint8_t mac[32]; /* the message's MAC, for signing the answer */
    const char *why; /* what was wrong */
};

/* Verifies the TSIG that must be the last record of (msg, len) against
 * (keys): hmac-sha256 only, the full 32-byte MAC, signed within its fudge of
 * (now) (seconds since the epoch). (request_mac) is the request's MAC when
 * (msg) is an answer, else NULL. Returns 0; MIRAGE_ENOENT when the message
 * is not signed; MIRAGE_EBADMSG (malformed: res->error FORMERR) or
 * MIRAGE_EACCES (res->error NOTAUTH, res->tsig_error BADKEY, BADSIG or
 * BADTIME), with res->why. Never allocates. */
int mirage_dns_tsig_verify(const uint8_t *msg, size_t len, const struct mirage_dns_tsig_key *keys,
                           size_t nkeys, uint64_t now, const uint8_t *request_mac,
                           size_t request_mac_len, struct mirage_dns_tsig_result *res);

/* Signs the message (wr) holds with (key) at (now): appends the TSIG record
 * (error field tsig_error; a BADTIME one carries our time) and gives its
 * MAC in (mac). (request_mac) as for verify. Returns as mirage_dns_write_rr. */
int mirage_dns_tsig_sign(struct mirage_dns_writer *wr, const struct mirage_dns_tsig_key *key,
                         uint64_t now, uint16_t fudge, const uint8_t *request_mac,
                         size_t request_mac_len, uint16_t tsig_error, uint8_t mac[32]);

/* Signs a later message of a transfer (RFC 8945 5.3.1): its MAC covers the
 * previous message's MAC, given in (mac), this message and the time and
 * fudge only; (mac) is then this message's MAC. Returns as mirage_dns_tsig_sign. */
int mirage_dns_tsig_sign_next(struct mirage_dns_writer *wr, const struct mirage_dns_tsig_key *key,
                              uint64_t now, uint16_t fudge, uint8_t mac[32]);

/* Appends a TSIG without a MAC, for answers to requests whose key or MAC was
 * wrong (RFC 8945 5.3.2: error BADKEY or BADSIG, named as the request named
 * its key). Returns as mirage_dns_write_rr. */
int mirage_dns_tsig_unsigned(struct mirage_dns_writer *wr, const struct mirage_dns_name *key_name,
                             uint64_t now, uint16_t fudge, uint16_t tsig_error);

/* Verifies the answers of a transfer that runs over several messages (RFC
 * 8945 5.3.1): the first signed against the request's MAC, each later
 * signed one against the MAC before it, the messages not signed in between
 * (99 at most in a row) and its own timers. The state is the caller's. */
struct mirage_dns_tsig_stream {
    const struct mirage_dns_tsig_key *key;
    uint8_t mac[32];       /* the last MAC verified (at first the request's) */
    unsigned messages;     /* answers taken */
    unsigned unsigned_run; /* answers not signed since the last signed one */
    uint64_t hmac_[64];    /* the running MAC (BearSSL's HMAC context) */
};

void mirage_dns_tsig_stream_begin(struct mirage_dns_tsig_stream *st,
                                  const struct mirage_dns_tsig_key *key,
                                  const uint8_t request_mac[32]);

/* Takes the next answer (msg, len). Returns 0 (signed and verified: res->mac
 * is its MAC), MIRAGE_EAGAIN (not signed; the next signed one covers it), or
 * as mirage_dns_tsig_verify (the first answer unsigned: MIRAGE_EACCES). */
int mirage_dns_tsig_stream_next(struct mirage_dns_tsig_stream *st, const uint8_t *msg, size_t len,
                                uint64_t now, struct mirage_dns_tsig_result *res);

/* Parses a key as dig -y and the boot keys give it, "[hmac-sha256:]NAME:SECRET"
 * with SECRET in base64 (1 to 64 bytes). Returns 0 or MIRAGE_EINVAL with *why. */
int mirage_dns_tsig_key_parse(const char *text, size_t len, struct mirage_dns_tsig_key *key,
                              const char **why);

/* ---- the authoritative server --------------------------------------------- */

/* The zones a server answers for, and what it answered. */
struct mirage_dns_server;

struct mirage_dns_server_stats {
    uint64_t queries;    /* messages answered */
    uint64_t dropped;    /* shorter than a header, or responses: never answered */
    uint64_t truncated;  /* answers with TC set */
    uint64_t rcodes[17]; /* answers by rcode; [16] BADVERS */
};

int mirage_dns_server_new(struct mirage_dns_server **s);

/* Serves (z) from now on; the server owns it. MIRAGE_EEXIST: a zone of
 * that name is served already. */
int mirage_dns_server_add_zone(struct mirage_dns_server *s, struct mirage_dns_zone *z);

/* Serves (z) instead of the zone of the same name, or adds it if there is
 * none; every query answered after the call sees all of (z), none a mix.
 * The zone replaced goes to *old (NULL if none) for the caller to free.
 * Returns 0 or MIRAGE_ENOMEM (nothing changed). */
int mirage_dns_server_replace_zone(struct mirage_dns_server *s, struct mirage_dns_zone *z,
                                   struct mirage_dns_zone **old);

/* Stops serving the zone (origin) and gives it back in *old. Returns 0 or
 * MIRAGE_ENOENT. */
int mirage_dns_server_remove_zone(struct mirage_dns_server *s, const struct mirage_dns_name *origin,
                                  struct mirage_dns_zone **old);

/* Frees the server and its zones. */
void mirage_dns_server_free(struct mirage_dns_server *s);

void mirage_dns_server_stats(const struct mirage_dns_server *s, struct mirage_dns_server_stats *st);

/*
 * Answers the query (query, qlen) into (out, cap) and returns the answer's
 * length, or 0 when nothing is to be sent (shorter than a header, a
 * response, or (cap) too small for the question). Authoritative answers
 * from the zone the name is in: exact matches, CNAME chains inside the zone,
 * wildcards (RFC 4592), referrals with glue below a delegation (AA clear),
 * NXDOMAIN and NODATA with the SOA (TTL: the smaller of its own and its
 * minimum, RFC 2308); REFUSED outside our zones, for other classes and for
 * AXFR/IXFR; FORMERR for a malformed query or not one question; NOTIMP for
 * other opcodes; BADVERS for EDNS versions above 0. Over UDP (tcp 0) the
 * answer fits the client's EDNS payload size (512 without EDNS); a needed
 * record that does not fit leaves only the question with TC set (additional
 * records that do not fit are left out); over TCP up to 65535 bytes. Never
 * allocates or waits.
 */
size_t mirage_dns_server_answer(struct mirage_dns_server *s, const uint8_t *query, size_t qlen,
                                int tcp, uint8_t *out, size_t cap);

/* 1 if serial (a) comes before (b) in RFC 1982's arithmetic. */
int mirage_dns_serial_lt(uint32_t a, uint32_t b);

/* ---- zone transfers in (AXFR, RFC 5936; IXFR, RFC 1995) ------------------- */

#define MIRAGE_DNS_XFR_MAX (256u << 20) /* bytes of records one transfer may bring */

/*
 * Reads the answers to one AXFR or IXFR query, message by message, into a
 * new zone. An IXFR is answered incrementally (our SOA second: differences,
 * each applied to a copy of (current), every deleted record required to be
 * there), in AXFR's form, or with a lone SOA no newer than ours (nothing to
 * do). Messages must answer our id and question without error, and, with a
 * key, carry TSIG over the whole run. Records are held (copied, in one
 * growable buffer) until the last message, so a transfer broken off changes
 * nothing. The state is the caller's; the buffer is freed by _free.
 */
struct mirage_dns_xfr_in {
    struct mirage_dns_name origin;
    const struct mirage_dns_zone *current; /* our copy, or NULL */
    struct mirage_dns_soa ours;
    int have_ours;
    const struct mirage_dns_tsig_key *key;
    struct mirage_dns_tsig_stream tsig;
    uint16_t qtype, id;
    int state;
    uint32_t serial;   /* the primary's, from the first record */
    int incremental;   /* answered with differences */
    int uptodate;      /* answered with our serial or an older one */
    unsigned diffs;    /* differences in an incremental answer */
    unsigned messages; /* taken so far */
    size_t records;    /* kept so far */
    uint8_t *buf;
    size_t len, cap;
    int failed;
    const char *why; /* what was wrong, once a call failed */
    char whybuf[160];
};

/* Starts reading the answers to (qtype) (AXFR or IXFR) of (origin) asked
 * with (id); (request_mac) is the query's MAC when signed with (key). */
void mirage_dns_xfr_in_begin(struct mirage_dns_xfr_in *x, const struct mirage_dns_name *origin,
                             const struct mirage_dns_zone *current, uint16_t qtype, uint16_t id,
                             const struct mirage_dns_tsig_key *key, const uint8_t request_mac[32]);

/* Takes the next message. Returns 0 (more to come), 1 (the transfer is
 * complete), or an error with x->why: MIRAGE_EBADMSG (malformed, not ours,
 * inconsistent), MIRAGE_EPROTO (the primary answered an error), MIRAGE_EACCES
 * (TSIG), MIRAGE_ENOMEM; after an error every call fails again. */
int mirage_dns_xfr_in_message(struct mirage_dns_xfr_in *x, const uint8_t *msg, size_t len,
                              uint64_t now);

/* After 1: the new zone in *z (the caller's), or NULL when ours is current.
 * MIRAGE_EINVAL or MIRAGE_ENOMEM with (err) (file: (what), line: the record)
 * when the records do not make a valid zone or a difference does not apply. */
int mirage_dns_xfr_in_finish(struct mirage_dns_xfr_in *x, const char *what,
                             struct mirage_dns_zone **z, struct mirage_dns_zone_error *err);

void mirage_dns_xfr_in_free(struct mirage_dns_xfr_in *x);

/* ---- serving DNS over UDP and TCP ----------------------------------------- */

/* What an answer function returns when it must wait (e.g. for an upstream
 * server or a disk): the query is handed to the slow function, over UDP in a
 * slow fiber, over TCP in the connection's fiber. */
#define MIRAGE_DNS_SERVE_SLOW ((size_t)-1)

/* Answers (q, qlen) from (from) into (out, cap): its length, 0 for none. */
typedef size_t (*mirage_dns_answer_fn)(void *ctx, const struct mirage_ipaddr *from,
                                       const uint8_t *q, size_t qlen, int tcp, uint8_t *out,
                                       size_t cap);

/* A TCP connection being served; opaque. */
struct mirage_dns_serve_conn;

/* Over TCP, asked before the answer function: may answer (q, qlen) with any
 * number of messages (a zone transfer), writing each into (out, cap) and
 * sending it with mirage_dns_serve_send before writing the next. Returns 1
 * when it answered, 0 when the query is not its own (the answer function
 * answers it), or a negative error, which closes the connection. May suspend. */
typedef int (*mirage_dns_stream_fn)(void *ctx, struct mirage_dns_serve_conn *c,
                                    const struct mirage_ipaddr *from, const uint8_t *q,
                                    size_t qlen, uint8_t *out, size_t cap);

struct mirage_dns_serve_config {
    uint16_t port;
    unsigned max_conns;        /* TCP connections open at once; 0: no limit */
    uint64_t tcp_idle_timeout; /* ns a TCP connection may wait for a query (10 s) */
    mirage_dns_answer_fn answer; /* never waits; may return MIRAGE_DNS_SERVE_SLOW */
    mirage_dns_answer_fn slow;   /* may suspend; NULL: none */
    unsigned max_slow;    /* UDP queries held for slow at once (64); more are dropped, said */
    unsigned slow_fibers; /* fibers answering them in arrival order (0: one per query held) */
    size_t slow_stack;    /* bytes of a slow fiber's stack (0: 16 KiB) */
    mirage_dns_stream_fn stream; /* NULL: none */
    void *ctx;
};

/* Answers UDP on cfg->port from now on and listens on TCP (RFC 7766: any
 * number of queries per connection, 16 KiB at most each). Each connection is
 * a fiber with a 16 KiB stack holding ~0.6 KiB while idle; the buffers for a
 * query and its answer (80 KiB) come from a pool while it is read and
 * answered, which keeps 4 for the next queries. */
struct mirage_dns_serve;
int mirage_dns_serve_start(struct mirage_stack *stack, const struct mirage_dns_serve_config *cfg,
                           struct mirage_dns_serve **sv);
/* Accepts TCP connections until the listener fails; suspends the caller. */
int mirage_dns_serve_tcp(struct mirage_dns_serve *sv);
/* Sends the message of (len) bytes a stream function wrote at its (out) on
 * (c), by (deadline): 0 or the flow's error. Suspends the calling fiber. */
int mirage_dns_serve_send(struct mirage_dns_serve_conn *c, size_t len, uint64_t deadline);
/* Stops answering: unlistens, drops the UDP queries waiting for the slow
 * function, cancels and waits for the fibers answering and the connections,
 * then frees (sv). After it returns no function of the config is called, so
 * the caller may free their context. */
void mirage_dns_serve_stop(struct mirage_dns_serve *sv);

/* ---- the secondary ----------------------------------------------------------- */

/* A zone to keep as a copy of (primary)'s, transferred with (key) when has_key. */
struct mirage_dns_secondary_zone {
    struct mirage_dns_name origin;
    struct mirage_ipaddr primary;
    uint16_t port; /* 0: 53 */
    int has_key;
    struct mirage_dns_tsig_key key;
};

struct mirage_dns_secondary_stats {
    uint32_t serial; /* of the copy served */
    int loaded;      /* a copy is held */
    uint64_t checks, axfrs, ixfrs, failures, notifies, notifies_refused, servfails;
};

struct mirage_dns_secondary;

/* Secondary zones served by (server) over (stack). */
int mirage_dns_secondary_new(struct mirage_stack *stack, struct mirage_dns_server *server,
                             struct mirage_dns_secondary **sec);

/* Starts keeping (cfg)'s zone: a fiber transfers it at once and then follows
 * the SOA's REFRESH, RETRY and EXPIRE and the primary's NOTIFY. Returns 0,
 * MIRAGE_EEXIST or MIRAGE_ENOMEM. */
int mirage_dns_secondary_add(struct mirage_dns_secondary *sec,
                             const struct mirage_dns_secondary_zone *cfg);

/* Answers a message from (from): NOTIFY for our zones (REFUSED from anyone
 * but the zone's primary, NOTAUTH without its TSIG; then a check at once),
 * SERVFAIL for a zone not yet transferred or expired, anything else as the
 * server answers. Never waits (a mirage_dns_answer_fn with (sec) as ctx). */
size_t mirage_dns_secondary_answer(struct mirage_dns_secondary *sec,
                                   const struct mirage_ipaddr *from, const uint8_t *msg,
                                   size_t len, int tcp, uint8_t *out, size_t cap);

int mirage_dns_secondary_stats(const struct mirage_dns_secondary *sec,
                               const struct mirage_dns_name *origin,
                               struct mirage_dns_secondary_stats *st);

/* ---- the stub resolver --------------------------------------------------- */

/*
 * Asks the configured servers in turn (over UDP from a random port with a
 * random id, then over TCP when the answer is truncated) and keeps their
 * answers in a bounded cache for their TTL, negative answers for the SOA's
 * TTL or MINIMUM, the smaller (RFC 2308 5). An answer counts only from the
 * server asked, from its port, with our id and our question, and well formed
 * throughout. Memory: at most cache_entries entries (48 bytes each, made at
 * once) and cache_bytes of cached messages (each as it came from the server).
 */
#define MIRAGE_DNS_STUB_SERVERS 4

struct mirage_dns_stub_config {
    struct mirage_ipaddr servers[MIRAGE_DNS_STUB_SERVERS]; /* asked in turn */
    size_t nservers;
    uint16_t port;        /* the servers' port; 0: 53 */
    uint64_t timeout;     /* ns one try waits for its answer (0: 1 s) */
    unsigned attempts;    /* rounds over the servers (0: 2) */
    size_t cache_entries; /* answers cached at most (0: 1024); the least recently used go */
    size_t cache_bytes;   /* bytes of cached answers at most (0: 1 MiB) */
    uint32_t max_ttl;     /* seconds an answer is cached at most (0: 86400) */
};

struct mirage_dns_stub_stats {
    uint64_t hits, misses, sent, tcp, timeouts, ignored, evicted;
    size_t cached, cached_bytes;
};

struct mirage_dns_stub;
struct mirage_key_list;

/* Fills cfg->servers from a list of IPv4 or IPv6 literals (--dns-servers'
 * items). Returns 0 or MIRAGE_EINVAL with (err) naming the item. */
int mirage_dns_stub_servers(const struct mirage_key_list *list, struct mirage_dns_stub_config *cfg,
                            char *err, size_t errsize);

/* A stub resolver over (stack) (NULL: the cache only, for tests). Returns 0,
 * MIRAGE_EINVAL (no server) or MIRAGE_ENOMEM. */
int mirage_dns_stub_new(struct mirage_stack *stack, const struct mirage_dns_stub_config *cfg,
                        struct mirage_dns_stub **s);
void mirage_dns_stub_free(struct mirage_dns_stub *s);
void mirage_dns_stub_stats(const struct mirage_dns_stub *s, struct mirage_dns_stub_stats *st);

/* The answer to (q) into (out, cap): from the cache while its TTL lasts,
 * else from the servers (SERVFAIL, REFUSED, FORMERR, NOTIMP, a timeout or a
 * TCP failure move on to the next; a server answering our EDNS query with
 * FORMERR is asked again, and from then on, without EDNS). Suspends the calling fiber. Returns 0, MIRAGE_ETIMEDOUT
 * (the deadline passed, or no server answered), MIRAGE_EPROTO (every server
 * failed), MIRAGE_EMSGSIZE or MIRAGE_ENOMEM. */
int mirage_dns_stub_query(struct mirage_dns_stub *s, const struct mirage_dns_question *q,
                          uint8_t *out, size_t cap, size_t *len, uint64_t deadline);

/* The cached answer to (q) (valid until the next call into the stub) and
 * the seconds it has been cached, or NULL. Never waits or allocates. */
const uint8_t *mirage_dns_stub_cached(struct mirage_dns_stub *s,
                                      const struct mirage_dns_question *q, size_t *len,
                                      uint32_t *age);

/* Caches (msg, len), an answer to (q) that mirage_dns_stub_match took, for
 * as long as its TTLs say. Returns the seconds it is kept (0: not cached:
 * truncated, SERVFAIL, a negative answer without SOA, no memory). */
uint32_t mirage_dns_stub_store(struct mirage_dns_stub *s, const struct mirage_dns_question *q,
                               const uint8_t *msg, size_t len);

/* Answers (query) from (msg, len), which a server gave (age) seconds ago:
 * the query's id, question and RD, RA set, AA clear, TTLs less (age), OPT
 * and TSIG left out, within the query's UDP payload (512 without EDNS, 1232
 * at most) or truncated (TC, no records). Returns its length, 0 if (query)
 * is not a query or (msg) is malformed. Never allocates. */
size_t mirage_dns_stub_answer(const uint8_t *msg, size_t len, uint32_t age, const uint8_t *query,
                              size_t qlen, int tcp, uint8_t *out, size_t cap);

/* 0 if (msg, len) answers (q) asked with (id): a response to a query, our id,
 * one question the same (name without case, type, class), every record well
 * formed; an error other than NXDOMAIN may come without the question (RFC
 * 6891 7). MIRAGE_EBADMSG with *why otherwise. */
int mirage_dns_stub_match(const uint8_t *msg, size_t len, uint16_t id,
                          const struct mirage_dns_question *q, const char **why);

/* The addresses (type A or AAAA) of (host), a name as text, up to (max) into
 * (addrs): the answer's, or those its CNAME chain leads to (in the answer, or
 * asked for; 8 links at most). Suspends the calling fiber. Returns 0 with
 * *n > 0, MIRAGE_ENOENT (no such name or address), MIRAGE_EINVAL (not a name),
 * MIRAGE_ELOOP (a chain too long) or mirage_dns_stub_query's errors. */
int mirage_dns_resolve(struct mirage_dns_stub *s, const char *host, uint16_t type,
                       struct mirage_ipaddr *addrs, size_t max, size_t *n, uint64_t deadline);

/* A name for (type) ("A", "TYPE999"), into (buf) of at least 16 bytes. */
const char *mirage_dns_type_name(uint16_t type, char *buf, size_t size);

/* The type named (text, len) ("AAAA", "type65", any case), or -1. */
int mirage_dns_type_from_name(const char *text, size_t len);

/* ---- the primary: keys, transfers out, updates, NOTIFY --------------------- */

/*
 * A primary serves its zones through a mirage_dns_server and adds what the
 * zones' secondaries and editors need: TSIG keys, zone transfers (AXFR, RFC
 * 5936; IXFR, RFC 1995) over TCP to peers signing with one of the keys.
 */
#define MIRAGE_DNS_KEYS_MAX    16
#define MIRAGE_DNS_HISTORY_MAX 32 /* versions of a zone kept for IXFR, at most */

struct mirage_dns_primary; /* opaque; refers to the server, which the caller keeps */

struct mirage_dns_primary_stats {
    uint64_t transfers;      /* transfers started */
    uint64_t refused;        /* transfer requests refused (unsigned, bad key, not our zone) */
    uint64_t updates;        /* UPDATE requests */
    uint64_t update_refused; /* of those, the ones not applied (any rcode but NOERROR) */
};

/* A primary for the zones of (s), keeping 16 steps of each zone's history. */
int mirage_dns_primary_new(struct mirage_dns_server *s, struct mirage_dns_primary **p);

/* Keeps the last (steps) changes of each zone (up to MIRAGE_DNS_HISTORY_MAX)
 * for IXFR; 0 keeps none, and every IXFR is answered with the whole zone. */
void mirage_dns_primary_set_history(struct mirage_dns_primary *p, unsigned steps);
void mirage_dns_primary_free(struct mirage_dns_primary *p);
void mirage_dns_primary_stats(const struct mirage_dns_primary *p,
                              struct mirage_dns_primary_stats *st);

/* Reads TSIG keys, one a line as dig's -y takes them, "hmac-sha256:NAME:SECRET"
 * (SECRET in base64, at most 64 bytes), '#' starting a comment line, blank
 * lines ignored; up to MIRAGE_DNS_KEYS_MAX keys. Returns 0, or MIRAGE_EINVAL
 * with (why) naming the line and the problem (nothing kept then). */
int mirage_dns_primary_keys(struct mirage_dns_primary *p, const char *text, size_t len, char *why,
                            size_t whysize);

/* How many keys the primary holds. */
size_t mirage_dns_primary_key_count(const struct mirage_dns_primary *p);

/* One part of a transfer: (count) records of (z), the one at (first) first. */
struct mirage_dns_xfr_part {
    const struct mirage_dns_zone *z;
    size_t first, count;
};

/* A transfer out being written, message by message; the caller owns it. */
struct mirage_dns_xfr {
    int more;        /* messages follow: call mirage_dns_xfr_next */
    int failed;      /* a record did not fit a message, or the TSIG did not: stop */
    int axfr;        /* the whole zone is sent (AXFR, or IXFR answered as one) */
    const char *why; /* why the request was refused, if it was */
    size_t messages, records;
    /* private */
    const struct mirage_dns_zone *z;
    const struct mirage_dns_tsig_key *key;
    struct mirage_dns_question q;
    uint16_t id, flags;
    uint64_t now;
    uint8_t mac[32];
    size_t part, nparts, at;
    int held; /* the primary keeps the versions sent until mirage_dns_xfr_end */
    struct mirage_dns_xfr_part parts[2 + 2 * MIRAGE_DNS_HISTORY_MAX];
};

/*
 * If (query, qlen), received over TCP, asks for a transfer (AXFR or IXFR),
 * writes the first message of the answer into (out, cap) (cap at least
 * 1 KiB; messages of up to 65535 bytes) and returns its length; then
 * mirage_dns_xfr_next gives the others while x->more. (now): seconds since
 * the epoch. A request not signed with one of the primary's keys, or
 * signed by it but not for a zone we serve, is refused: unsigned, 0 is
 * returned and the ordinary answer (mirage_dns_server_answer) refuses it
 * (REFUSED, Extended DNS Error 18); a wrong key, MAC or time gets NOTAUTH
 * with the TSIG error (RFC 8945 5.3.2); a zone not ours NOTAUTH, signed.
 * Returns 0 too for anything that is not a transfer request. Every message
 * of a transfer is signed (RFC 8945 5.3.1). IXFR (RFC 1995) sends the
 * changes since the serial in the request's authority section when the
 * history has all of them, a single SOA when that serial is not older than
 * ours, and the whole zone (AXFR's form) otherwise. Never allocates or
 * waits; the versions sent stay in memory until mirage_dns_xfr_end.
 */
size_t mirage_dns_xfr_start(struct mirage_dns_xfr *x, struct mirage_dns_primary *p,
                            const uint8_t *query, size_t qlen, uint64_t now, uint8_t *out,
                            size_t cap);

/* The next message of the transfer into (out, cap), or 0 when none is left
 * (or x->failed). */
size_t mirage_dns_xfr_next(struct mirage_dns_xfr *x, uint8_t *out, size_t cap);

/* Ends the transfer (x) (sent or abandoned); any number of times. */
void mirage_dns_xfr_end(struct mirage_dns_primary *p, struct mirage_dns_xfr *x);

/* What an UPDATE did. */
struct mirage_dns_update_result {
    int rcode;                   /* the answer's */
    int changed;                 /* a new version of (zone) is served */
    struct mirage_dns_name zone; /* the zone named */
    uint32_t serial;             /* the new version's serial */
    const char *why;             /* why it was refused, if it was */
};

/*
 * If (msg, len) is an UPDATE (RFC 2136), applies it and writes the answer
 * into (out, cap) (at least 512 bytes), signed; returns its length (0 for
 * any other message). Only an update signed with one of the primary's keys
 * (REFUSED unsigned, NOTAUTH with BADKEY/BADSIG/BADTIME otherwise, and
 * NOTAUTH with BADTIME for a signature already used: a replay) for a zone we
 * serve (NOTAUTH) is considered. Prerequisites are checked against the zone
 * (NXDOMAIN, YXDOMAIN, NXRRSET, YXRRSET, NOTZONE), then the changes are
 * applied in order to a copy: added records, RRsets and names deleted,
 * single records deleted (the SOA and the apex's last NS are kept; a CNAME
 * beside other data is ignored; an SOA only replaces one of an older serial),
 * the serial moved on by one unless the update set it. The copy is checked
 * as a loaded zone is (REFUSED, res->why saying why) and then served whole
 * in place of the old version, whose step to it is kept for IXFR. The
 * caller persists the zone (mirage_dns_zone_text) and sends NOTIFY before
 * sending the answer. Allocates a working copy; never waits.
 */
size_t mirage_dns_update(struct mirage_dns_primary *p, const uint8_t *msg, size_t len, uint64_t now,
                         uint8_t *out, size_t cap, struct mirage_dns_update_result *res);

/* The zone as a master file (RFC 1035 5, every record in RFC 3597's generic
 * form, owners absolute) in a new buffer the caller frees; it loads back into
 * the same zone. Returns 0 or MIRAGE_ENOMEM. */
int mirage_dns_zone_text(const struct mirage_dns_zone *z, char **text, size_t *len);

/* The zone named (origin) served now, or NULL. */
const struct mirage_dns_zone *mirage_dns_primary_zone(const struct mirage_dns_primary *p,
                                                      const struct mirage_dns_name *origin);

/* Writes a NOTIFY (RFC 1996) for the zone (z) with (id) into (out, cap):
 * the zone's name and type SOA as the question, its SOA as the answer.
 * Returns its length, or 0 if (cap) is too small. */
size_t mirage_dns_notify_write(const struct mirage_dns_zone *z, uint16_t id, uint8_t *out,
                               size_t cap);

/*
 * What the primary says to any message but a transfer: an UPDATE is applied
 * (mirage_dns_update, *res filled), a NOTIFY request is acknowledged for a
 * zone we serve (NOERROR: we are its primary, nothing to fetch) and refused
 * for any other (NOTAUTH), FORMERR if it does not name one zone of type SOA;
 * anything else is answered by mirage_dns_server_answer. Returns the
 * answer's length, or 0 for nothing to send.
 */
size_t mirage_dns_primary_answer(struct mirage_dns_primary *p, const uint8_t *msg, size_t len,
                                 int tcp, uint64_t now, uint8_t *out, size_t cap,
                                 struct mirage_dns_update_result *res);

#endif
