/* disk.h: kv_rw_disk's store, a crash-consistent key-value store on a block device (internal). */
#ifndef KV_DISK_H
#define KV_DISK_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/block.h"
#include "mirage/error.h"

/*
 * The one implementation behind the kv_rw_disk device (lib/kv/disk_kv.c), the
 * host tool (tool/kv/mirage-kv.c), the tests and the fuzzer. lib/kv/DISK_FORMAT.md
 * describes what it writes. Every call runs to completion: the device's read,
 * write and flush may suspend the calling fiber, so the kv device serialises
 * calls with a lock; nothing here is re-entrant.
 *
 * Every function returns 0 or a negative MIRAGE_E* code; after an error
 * kvd_message() names what failed (the key, the region of the device).
 */

#define KVD_KEY_MAX 1024     /* bytes of a key, '/' included */
#define KVD_DEPTH_MAX 64     /* segments of a key (deeper: MIRAGE_ENAMETOOLONG) */
#define KVD_SEGMENT_MAX 255  /* bytes of one segment */
#define KVD_INLINE_MAX 512   /* values up to this size live in the metadata (and in RAM) */
#define KVD_UNIT 4096        /* allocation unit of the data area */
#define KVD_EXTENT_UNITS 16  /* data extents are at most 64 KiB, checksummed each */

struct kvd;

struct kvd_opts {
    uint64_t (*now)(void *ctx); /* wall clock, ns since the epoch (last_modified); may be NULL */
    void *now_ctx;
    int ignore_checksums;       /* fuzzing only: reach the parsers behind the checksums */
};

/* The device is any struct mirage_block (mirage/block.h) with sectors of 512
 * to 4096 bytes; the store flushes at its commit points. */

/* Writes an empty store over the whole device; (uuid) tells this store's
 * records from those of a store formatted there before. */
int kvd_format(struct mirage_block *dev, uint64_t uuid, char *msg, size_t msglen);

/* Mounts the store on (dev): reads the newer valid superblock, the checkpoint
 * and replays the journal; writes nothing. MIRAGE_EINVAL: not a store (the
 * message says what the device holds); MIRAGE_EBADMSG: damaged metadata (the
 * message names the region); MIRAGE_EIO: the device failed. (opts) may be NULL. */
int kvd_mount(struct mirage_block *dev, const struct kvd_opts *opts, struct kvd **out,
              char *msg, size_t msglen);
void kvd_unmount(struct kvd *s);

/* What the last failing call on (s) was about, e.g. "key /a/b: bytes 0-65535
 * (units 40-55) fail their checksum"; the key it names ("/a/b", "" if none),
 * a rename's destination, and which op of a batch failed. */
const char *kvd_message(const struct kvd *s);
const char *kvd_error_key(const struct kvd *s);
const char *kvd_error_dest(const struct kvd *s);
size_t kvd_error_index(const struct kvd *s);

enum kvd_kind { KVD_NONE = 0, KVD_VALUE = 1, KVD_DICT = 2 };

/* ---- reading --------------------------------------------------------------- */

int kvd_exists(struct kvd *s, const char *key, enum kvd_kind *kind);
/* The whole value in a new buffer the caller frees (a zero-length value gives a
 * 1-byte buffer). MIRAGE_EBADMSG when a part of it fails its checksum. */
int kvd_get(struct kvd *s, const char *key, uint8_t **val, size_t *len);
/* Up to (len) bytes from (off): fewer, or none, past the end. */
int kvd_get_partial(struct kvd *s, const char *key, uint64_t off, size_t len, uint8_t **val,
                    size_t *got);
int kvd_size(struct kvd *s, const char *key, uint64_t *size);
int kvd_last_modified(struct kvd *s, const char *key, uint64_t *ns);
/* SHA-256 of the value. */
int kvd_digest(struct kvd *s, const char *key, uint8_t out[32]);
/* Calls (fn) for each entry of dictionary (key) in name order. */
typedef void (*kvd_list_fn)(void *ctx, const char *name, enum kvd_kind kind);
int kvd_list(struct kvd *s, const char *key, kvd_list_fn fn, void *ctx);

/* ---- writing: each is durable when it returns 0 ---------------------------- */

enum kvd_op_type { KVD_SET = 1, KVD_REMOVE, KVD_RENAME, KVD_SET_PARTIAL, KVD_ALLOCATE };

struct kvd_op {
    enum kvd_op_type type;
    const char *key;      /* the key; rename's source */
    const char *dest;     /* rename's destination */
    const uint8_t *data;  /* set, set_partial */
    size_t len;
    uint64_t offset;      /* set_partial */
    uint64_t size;        /* allocate */
    uint64_t mtime;       /* allocate: its last-modified time (0: now) */
};

/* Applies ops[0..n) in order as one atomic change: all land or none (the first
 * failing op's error is returned and nothing changes). */
int kvd_batch(struct kvd *s, const struct kvd_op *ops, size_t n);
int kvd_set(struct kvd *s, const char *key, const uint8_t *data, size_t len);
/* Writes (data) at (off); an offset past the end writes at the end (appends). */
int kvd_set_partial(struct kvd *s, const char *key, uint64_t off, const uint8_t *data,
                    size_t len);
/* Removes a value or a dictionary with everything under it; nothing to
 * remove is no error. A dictionary emptied by a remove or rename goes too. */
int kvd_remove(struct kvd *s, const char *key);
/* Into dictionary (dest) when it is one. MIRAGE_EINVAL when (src) is a prefix
 * of where it would go; a value never replaces a dictionary nor the reverse. */
int kvd_rename(struct kvd *s, const char *src, const char *dest);
/* A zero-filled value of (size) bytes (stored as holes: the space is checked,
 * not reserved); MIRAGE_EEXIST if (key) is bound. */
int kvd_allocate(struct kvd *s, const char *key, uint64_t size, uint64_t mtime);

/* Writes the whole index as a new checkpoint and empties the journal. */
int kvd_checkpoint(struct kvd *s);

/* ---- accounting and checking ----------------------------------------------- */

struct kvd_stats {
    uint64_t units, data_units, free_units, journal_bytes, journal_used;
    uint64_t values, dicts, value_bytes, index_bytes, generation, next_seq;
    uint64_t replayed;  /* journal records replayed at mount */
    int superblock_bad; /* bit i: superblock i failed its checks at mount */
};
void kvd_stats(const struct kvd *s, struct kvd_stats *st);

/* Reads every value and checks it: (fn) gets one line per damaged part, naming
 * the key and the units. Returns how many parts are damaged. */
typedef void (*kvd_report_fn)(void *ctx, const char *line);
long kvd_verify(struct kvd *s, kvd_report_fn fn, void *ctx);

/* Describes each superblock slot of (dev) in a line to (fn) (for the checker). */
void kvd_describe_superblocks(struct mirage_block *dev, kvd_report_fn fn, void *ctx);

#endif
