/* kv.h: read-only and read-write key-value stores (MirageOS's Mirage_kv.RO and RW). */
#ifndef MIRAGE_KV_H
#define MIRAGE_KV_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/error.h"

/*
 * A store maps keys to values (byte strings) and dictionaries, like files
 * and directories. Several implementations give the same operations: crunch
 * (a directory embedded at build time) and tar_kv_ro (a tar archive on a
 * block device) are read-only; kv_rw_mem (in memory) and kv_rw_disk (a
 * crash-safe store on a block device) are read-write. The configuration
 * chooses one; application code does not change.
 *
 * Keys are '/'-separated paths: "/a/b" and "a/b" name the same key, "" and
 * "/" the root dictionary, and one trailing '/' is allowed ("a/b/"). A key is
 * refused with MIRAGE_EINVAL when a segment is empty ("a//b"), "." or "..",
 * and with MIRAGE_ENAMETOOLONG when a segment exceeds MIRAGE_KV_SEGMENT_MAX
 * bytes or the key, written as "/a/b", exceeds MIRAGE_KV_KEY_MAX bytes. Any
 * other byte but NUL and '/' may appear in a segment. Errors, listings and
 * the implementations see every key in that canonical form: "/a/b", "/".
 *
 * Dictionaries are made by binding keys under them (set creates missing
 * parents) and exist while something is under them: in a read-write store,
 * removing or moving away the last entry of a dictionary removes it too
 * (the root always exists). A read-only store shows its source's empty
 * directories as empty dictionaries.
 *
 * Every operation returns 0 or a negative MIRAGE_E* code and, when (err) is
 * not NULL, fills *err with the code and the key it is about:
 *   MIRAGE_ENOENT    not found: the key is bound to nothing
 *   MIRAGE_ENOTDIR   dictionary expected: err->key is a value where a
 *                    dictionary is needed (a prefix of the key, or the key)
 *   MIRAGE_EISDIR    value expected: err->key is a dictionary
 *   MIRAGE_ENOSPC    no space left in the store
 *   MIRAGE_EEXIST    already present (allocate)
 *   MIRAGE_EINVAL    rename source is a prefix of destination (err->key and
 *                    err->dest), or a bad key (err->detail says why)
 *   MIRAGE_EROFS     a write operation on a read-only store
 *   MIRAGE_EIO, MIRAGE_EBADMSG   the device failed, or what it holds is
 *                    damaged (err->detail names the region)
 *   MIRAGE_ENOMEM    out of memory
 * A failed operation changes nothing. Operations suspend the calling fiber
 * while the store waits for its device (never for kv_rw_mem and crunch).
 * Calls from several fibers on one store are serialised by the store: each
 * call sees the store as the calls before it left it.
 */

#define MIRAGE_KV_KEY_MAX     1024 /* bytes of "/a/b", the NUL excluded */
#define MIRAGE_KV_SEGMENT_MAX 255  /* bytes of one segment */

struct mirage_kv;

/* What a key is bound to. */
enum mirage_kv_kind {
    MIRAGE_KV_NONE = 0,
    MIRAGE_KV_VALUE,
    MIRAGE_KV_DICTIONARY,
};

/* What went wrong, for messages and for code that tells errors apart. */
struct mirage_kv_error {
    int code;                         /* what the call returned */
    char key[MIRAGE_KV_KEY_MAX + 1];  /* the key it is about ("/a/b"), or "" */
    char dest[MIRAGE_KV_KEY_MAX + 1]; /* rename: its destination, else "" */
    size_t index;                     /* batch: the operation that failed */
    char detail[160];                 /* more: why a key is bad, what is damaged */
};

/* One line for (e), e.g. "not found: /a/b", "dictionary expected: /a",
 * "rename source is a prefix of destination: /a -> /a/b", into (buf). */
const char *mirage_kv_strerror(const struct mirage_kv_error *e, char *buf, size_t size);

/* An entry of a dictionary, as list gives it. */
struct mirage_kv_entry {
    const char *key; /* the full key, "/dict/name" */
    enum mirage_kv_kind kind;
};

/* One operation of an atomic batch. */
enum mirage_kv_op_kind {
    MIRAGE_KV_OP_SET,    /* set(key, data, len) */
    MIRAGE_KV_OP_REMOVE, /* remove(key) */
    MIRAGE_KV_OP_RENAME, /* rename(key, dest) */
};

struct mirage_kv_op {
    enum mirage_kv_op_kind op;
    const char *key;
    const char *dest;
    const void *data;
    size_t len;
};

/* ---- read-only stores (Mirage_kv.RO) ------------------------------------ */

/* Whether (key) is bound: *kind is MIRAGE_KV_NONE, _VALUE or _DICTIONARY.
 * Returns 0, or MIRAGE_ENOTDIR when a prefix of (key) is a value. */
int mirage_kv_exists(struct mirage_kv *kv, const char *key, enum mirage_kv_kind *kind,
                     struct mirage_kv_error *err);

/* Copies the value of (key) into a new buffer (*value, *len) the caller
 * frees with free(); an empty value gives a valid zero-length buffer.
 * Returns 0, MIRAGE_ENOENT, MIRAGE_EISDIR, MIRAGE_ENOTDIR, MIRAGE_ENOMEM. */
int mirage_kv_get(struct mirage_kv *kv, const char *key, uint8_t **value, size_t *len,
                  struct mirage_kv_error *err);

/* Copies up to (len) bytes of (key)'s value from byte (offset) into the
 * caller's (buf); *got is how many: fewer than (len) at the end of the value,
 * 0 at or past it (any 64-bit offset). Errors as get. */
int mirage_kv_get_partial(struct mirage_kv *kv, const char *key, uint64_t offset, void *buf,
                          size_t len, size_t *got, struct mirage_kv_error *err);

/* The entries of dictionary (key), sorted by key (byte order), in one block
 * (*entries, *n) the caller frees with free() (NULL when *n is 0).
 * Returns 0, MIRAGE_ENOENT, MIRAGE_ENOTDIR (a value), MIRAGE_ENOMEM. */
int mirage_kv_list(struct mirage_kv *kv, const char *key, struct mirage_kv_entry **entries,
                   size_t *n, struct mirage_kv_error *err);

/* When (key) was last changed: ns since the Unix epoch. For a dictionary,
 * the last change to anything under it where the store knows (every store
 * here), which is at least as late as each of its entries'. */
int mirage_kv_last_modified(struct mirage_kv *kv, const char *key, uint64_t *ns,
                            struct mirage_kv_error *err);

/* The SHA-256 of (key)'s value into (out). MIRAGE_EISDIR for a dictionary. */
int mirage_kv_digest(struct mirage_kv *kv, const char *key, uint8_t out[32],
                     struct mirage_kv_error *err);

/* The length of (key)'s value in bytes. MIRAGE_EISDIR for a dictionary. */
int mirage_kv_size(struct mirage_kv *kv, const char *key, uint64_t *size,
                   struct mirage_kv_error *err);

/* ---- read-write stores (Mirage_kv.RW) ----------------------------------- */

/* Whether the store takes the operations below (else they give MIRAGE_EROFS). */
int mirage_kv_writable(const struct mirage_kv *kv);

/* Binds (key) to a copy of (data, len), replacing its value; missing parent
 * dictionaries are created. Durable when it returns. Returns 0, MIRAGE_EISDIR
 * (the key, or the root, is a dictionary), MIRAGE_ENOTDIR (a prefix is a
 * value), MIRAGE_ENOSPC, MIRAGE_ENOMEM. */
int mirage_kv_set(struct mirage_kv *kv, const char *key, const void *data, size_t len,
                  struct mirage_kv_error *err);

/* Writes (data, len) into (key)'s value at byte (offset); an offset past the
 * end appends at the end. A missing key is created (with its parents) as if
 * its value were empty. Errors as set. */
int mirage_kv_set_partial(struct mirage_kv *kv, const char *key, uint64_t offset, const void *data,
                          size_t len, struct mirage_kv_error *err);

/* Removes (key): a value, or a dictionary and everything under it (the root:
 * everything, the root itself stays). Removing an unbound key does nothing
 * and returns 0. Durable when it returns. MIRAGE_ENOTDIR as exists. */
int mirage_kv_remove(struct mirage_kv *kv, const char *key, struct mirage_kv_error *err);

/*
 * Moves (source) to (dest); when (dest) is a dictionary, to dest/NAME where
 * NAME is source's last segment. A value there is replaced by a value, a
 * dictionary by a dictionary; a value never replaces a dictionary
 * (MIRAGE_EISDIR) nor a dictionary a value (MIRAGE_ENOTDIR). Missing parents
 * of the destination are created; last-modified times move with the entries.
 * Moving a key onto itself does nothing. Returns 0, MIRAGE_ENOENT (no source),
 * MIRAGE_EINVAL (source is the root or a prefix of the destination), ...
 * Durable when it returns.
 */
int mirage_kv_rename(struct mirage_kv *kv, const char *source, const char *dest,
                     struct mirage_kv_error *err);

/* Binds (key) to (size) zero bytes, with last-modified (last_modified) ns
 * since the epoch (0: now). Returns 0, MIRAGE_EEXIST if (key) is bound
 * (value or dictionary), MIRAGE_ENOSPC, ... Durable when it returns. */
int mirage_kv_allocate(struct mirage_kv *kv, const char *key, uint64_t size, uint64_t last_modified,
                       struct mirage_kv_error *err);

/* Applies ops[0..n) in order, atomically: all of them, durably, or (on any
 * error, or a crash before it returns) none. Each operation sees the store as
 * the ones before it in the batch left it. On error err->index names the
 * failing operation and the rest of *err is that operation's error. */
int mirage_kv_batch(struct mirage_kv *kv, const struct mirage_kv_op *ops, size_t n,
                    struct mirage_kv_error *err);

/* Ends the store and frees it; (kv) must not be used again. */
void mirage_kv_disconnect(struct mirage_kv *kv);

/* ---- constructors -------------------------------------------------------- */

/* A new empty read-write store in memory (lib/kv/mem.c). (capacity) bounds
 * the bytes of all values together (0: only memory does), so MIRAGE_ENOSPC
 * can be met on purpose. Returns 0, MIRAGE_ENOMEM. */
int mirage_kv_mem_new(uint64_t capacity, struct mirage_kv **out);

/* A directory embedded in the image: what `mirage crunch` (run by the build
 * for config.c's crunch("dir")) generates. Every directory, the root "/"
 * first, and every file has an entry; keys are canonical and sorted by
 * strcmp; a value is (size) bytes at data + offset. */
struct mirage_crunch_entry {
    const char *key;
    uint8_t kind; /* MIRAGE_KV_VALUE or MIRAGE_KV_DICTIONARY */
    uint64_t offset, size;
    uint64_t mtime; /* ns since the epoch, clamped to SOURCE_DATE_EPOCH */
};

struct mirage_crunch {
    const struct mirage_crunch_entry *entries;
    size_t n;
    const uint8_t *data;
    uint64_t size;
};

/* The read-only store over (img), which must outlive it (lib/kv/crunch.c).
 * Never suspends. Returns 0, MIRAGE_EINVAL (a table that is not as above),
 * MIRAGE_ENOMEM. */
int mirage_kv_crunch_new(const struct mirage_crunch *img, struct mirage_kv **out);

struct mirage_block;
/* kv_rw_disk: the crash-consistent store on (block) (lib/kv/disk.c; its
 * format is lib/kv/DISK_FORMAT.md), mounted (and recovered after a crash);
 * a blank device (zeros where the superblocks go) is formatted first when
 * (format_blank). Returns 0, MIRAGE_EINVAL (not a store: another format),
 * MIRAGE_EBADMSG (damaged metadata), MIRAGE_EIO or MIRAGE_ENOMEM, with (msg)
 * naming what and where. The store keeps (block) but does not disconnect it.
 * Each change is durable when its call returns; calls suspend the fiber for
 * the device's I/O. */
int mirage_kv_disk_connect(struct mirage_block *block, int format_blank, struct mirage_kv **out,
                           char *msg, size_t msglen);
/* tar_kv_ro: the read-only store over a tar archive on (block) (lib/kv/tar.c),
 * as GNU tar makes one: ustar, GNU long names and pax headers, regular files,
 * directories (and the ones paths imply) and hard links to earlier files. The
 * archive is indexed once here (keys and where each value is: a few dozen
 * bytes an entry); get, get_partial and digest read the device on demand.
 * Checksums are verified; a bad header, a name that is absolute or has '..',
 * a symbolic link, device or sparse file refuses the archive:
 * MIRAGE_EBADMSG with (msg) naming the problem and the header's byte offset.
 * Also MIRAGE_EIO, MIRAGE_ENOMEM. The store keeps (block) but does not
 * disconnect it. Reads suspend the calling fiber as the device does. */
int mirage_kv_tar_connect(struct mirage_block *block, struct mirage_kv **out, char *msg,
                          size_t msglen);
/* What main.c calls for config.c's tar_kv_ro(block): mirage_kv_tar_connect,
 * printing on the console what is wrong with the archive, naming the device. */
int mirage_kv_tar_open(struct mirage_block *block, struct mirage_kv **out);
/* What main.c calls for config.c's kv_rw_disk(block): mirage_kv_disk_connect
 * formatting a blank device, printing on the console what is wrong with the
 * device, naming it, when it fails. */
int mirage_kv_disk_open(struct mirage_block *block, struct mirage_kv **out);

/* ---- for implementations ------------------------------------------------- */

/*
 * An implementation fills an ops table; read-only stores leave the write
 * operations NULL. The functions above check and canonicalise every key,
 * clear *err and refuse writes to read-only stores before calling these, so
 * an implementation sees only canonical keys ("/", "/a/b") and a non-NULL
 * (err); it fills err with mirage_kv_fail when it fails. batch gets ops
 * whose keys are canonical too.
 */
struct mirage_kv_ops {
    int (*exists)(struct mirage_kv *kv, const char *key, enum mirage_kv_kind *kind,
                  struct mirage_kv_error *err);
    int (*get)(struct mirage_kv *kv, const char *key, uint8_t **value, size_t *len,
               struct mirage_kv_error *err);
    int (*get_partial)(struct mirage_kv *kv, const char *key, uint64_t offset, void *buf,
                       size_t len, size_t *got, struct mirage_kv_error *err);
    int (*list)(struct mirage_kv *kv, const char *key, struct mirage_kv_entry **entries, size_t *n,
                struct mirage_kv_error *err);
    int (*last_modified)(struct mirage_kv *kv, const char *key, uint64_t *ns,
                         struct mirage_kv_error *err);
    int (*digest)(struct mirage_kv *kv, const char *key, uint8_t out[32],
                  struct mirage_kv_error *err);
    int (*size)(struct mirage_kv *kv, const char *key, uint64_t *size, struct mirage_kv_error *err);
    int (*set)(struct mirage_kv *kv, const char *key, const void *data, size_t len,
               struct mirage_kv_error *err);
    int (*set_partial)(struct mirage_kv *kv, const char *key, uint64_t offset, const void *data,
                       size_t len, struct mirage_kv_error *err);
    int (*remove)(struct mirage_kv *kv, const char *key, struct mirage_kv_error *err);
    int (*rename)(struct mirage_kv *kv, const char *source, const char *dest,
                  struct mirage_kv_error *err);
    int (*allocate)(struct mirage_kv *kv, const char *key, uint64_t size, uint64_t last_modified,
                    struct mirage_kv_error *err);
    int (*batch)(struct mirage_kv *kv, const struct mirage_kv_op *ops, size_t n,
                 struct mirage_kv_error *err);
    void (*disconnect)(struct mirage_kv *kv);
};

/* Each implementation's store starts with this. */
struct mirage_kv {
    const struct mirage_kv_ops *ops;
};

/* Checks (key) and writes its canonical form ("/a/b", "/") into (out).
 * Returns 0, MIRAGE_EINVAL or MIRAGE_ENAMETOOLONG (err, if not NULL, says why). */
int mirage_kv_key_canonical(const char *key, char out[MIRAGE_KV_KEY_MAX + 1],
                            struct mirage_kv_error *err);

/* Fills (err) with (code), (key) and a printf-style detail (fmt may be NULL)
 * and returns (code). */
int mirage_kv_fail(struct mirage_kv_error *err, int code, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The part of canonical (key) after its last '/' ("b" for "/a/b", "" for "/"). */
const char *mirage_kv_key_basename(const char *key);

/* Whether canonical (prefix) is (key) or one of its parent dictionaries. */
int mirage_kv_key_is_prefix(const char *prefix, const char *key);

/* Gathers list entries in any order and hands them out as list promises. */
struct mirage_kv_list_builder {
    struct mirage_kv_entry *entries; /* keys point into names */
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
    int failed; /* out of memory on the way */
};

/* Adds dictionary (dict)'s entry (name) of (kind). Returns 0 or MIRAGE_ENOMEM. */
int mirage_kv_list_add(struct mirage_kv_list_builder *b, const char *dict, const char *name,
                       enum mirage_kv_kind kind);
/* Sorts and packs the entries into one block (*entries, *n) and frees the
 * builder. Returns 0 or MIRAGE_ENOMEM (nothing handed out, builder freed). */
int mirage_kv_list_finish(struct mirage_kv_list_builder *b, struct mirage_kv_entry **entries,
                          size_t *n);
/* Frees the builder without handing anything out. */
void mirage_kv_list_abandon(struct mirage_kv_list_builder *b);

#endif
