/* block.h: block devices: whole sectors read and written at sector offsets, and flush. */
#ifndef MIRAGE_BLOCK_H
#define MIRAGE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/error.h"

/*
 * MirageOS's Mirage_block. A device is a run of sectors of one size; reads and
 * writes move whole sectors, many per request, at a sector offset. Several
 * implementations give the same operations: the platform's block devices
 * (block("name") in config.c: a disk image the tender or the unix process
 * opened), a RAM disk, and wrappers (tests put one that tears writes between
 * a store and its disk).
 *
 * Durability: a write is durable only once a flush that follows it returns.
 * Until then a crash (of the unikernel, the tender or the host) may leave any
 * subset of the writes since the last flush, and a write of several sectors
 * partly done; a store that must survive crashes flushes at its commit points.
 *
 * Waiting: a platform device's read, write or flush suspends only the calling
 * fiber on hvt (the tender's block thread serves the device's request slot;
 * the fiber is woken from mirage_yield when the slot completes) and on unix
 * for block("name") devices (a helper thread per device makes the system
 * calls), so the network and other fibers keep running during disk I/O; a
 * device takes one request at a time, later callers wait their turn. The
 * wait cannot be cancelled: the host is reading or writing the caller's
 * buffer until the request completes. On spt a request holds the whole
 * unikernel until the host is done (its pread/pwrite/fdatasync are system
 * calls of the one thread the seccomp filter allows), as do virtio-blk (its
 * driver polls its queue) and unix's block_of_file (it has no device handle
 * to be woken by). A RAM disk never waits.
 */

struct mirage_block_info {
    uint32_t sector_size; /* bytes per sector: a power of two, 512 to 65536 */
    uint64_t sectors;     /* how many sectors the device has */
    int read_only;        /* writes fail with MIRAGE_EROFS */
};

struct mirage_block;

/* What an implementation provides; the functions below have checked the
 * request (whole sectors, inside the device, writable) before calling. */
struct mirage_block_ops {
    int (*read)(struct mirage_block *b, uint64_t sector, void *buf, size_t len);
    int (*write)(struct mirage_block *b, uint64_t sector, const void *buf, size_t len);
    int (*flush)(struct mirage_block *b);
    void (*disconnect)(struct mirage_block *b);
};

/* Each implementation's device starts with this. */
struct mirage_block {
    const struct mirage_block_ops *ops;
    struct mirage_block_info info;
    const char *name; /* for messages: the manifest name, "ramdisk", ... */
};

/* Whether (len) bytes at (sector) are whole sectors inside the device. */
static inline int mirage_block_request_ok(const struct mirage_block *b, uint64_t sector, size_t len)
{
    uint64_t n = len / b->info.sector_size;

    return len % b->info.sector_size == 0 && sector <= b->info.sectors &&
           n <= b->info.sectors - sector;
}

/* Reads (len) bytes, a whole number of sectors, starting at sector (sector)
 * into the caller's (buf). Returns 0, MIRAGE_EINVAL (not whole sectors, or
 * past the end: nothing is read) or MIRAGE_EIO. Suspends as said above. */
static inline int mirage_block_read(struct mirage_block *b, uint64_t sector, void *buf, size_t len)
{
    if (!mirage_block_request_ok(b, sector, len))
        return MIRAGE_EINVAL;
    return len ? b->ops->read(b, sector, buf, len) : 0;
}

/* Writes (len) bytes, whole sectors, from (buf) starting at sector (sector).
 * Returns 0 once the host has the data (durable only after a flush),
 * MIRAGE_EINVAL, MIRAGE_EROFS (nothing is written) or MIRAGE_EIO (any part of
 * the request may have been written). */
static inline int mirage_block_write(struct mirage_block *b, uint64_t sector, const void *buf,
                                     size_t len)
{
    if (b->info.read_only)
        return MIRAGE_EROFS;
    if (!mirage_block_request_ok(b, sector, len))
        return MIRAGE_EINVAL;
    return len ? b->ops->write(b, sector, buf, len) : 0;
}

/* Makes every write that returned before this call durable (fdatasync on the
 * host's file). Returns 0 or MIRAGE_EIO (the writes are then in doubt).
 * A read-only device has nothing to flush and returns 0. */
static inline int mirage_block_flush(struct mirage_block *b)
{
    if (b->info.read_only)
        return 0;
    return b->ops->flush(b);
}

/* Ends the device and frees what its constructor allocated. */
static inline void mirage_block_disconnect(struct mirage_block *b)
{
    b->ops->disconnect(b);
}

/* The device's size in bytes. */
static inline uint64_t mirage_block_bytes(const struct mirage_block *b)
{
    return b->info.sectors * b->info.sector_size;
}

/* ---- constructors -------------------------------------------------------- */

/* The platform block device declared as (name) in the manifest (config.c's
 * block("name")): the image the tender's --block:NAME=PATH (or on unix the
 * file NAME, or --block:NAME=PATH) names, read-only when the host's file is;
 * 512- or 4096-byte sectors (--block-sector-size:NAME=N on the tenders).
 * lib/block/platform.c. Returns 0, MIRAGE_ENOENT, MIRAGE_EINVAL, MIRAGE_ENOMEM. */
int mirage_block_connect(const char *name, struct mirage_block **out);

/* The host file (path) as a block device of 512-byte sectors (config.c's
 * block_of_file on unix; the unix target only: platform/unix/block.c).
 * Read-only when the file may not be written. Returns 0, MIRAGE_ENOENT,
 * MIRAGE_EINVAL (not a whole number of sectors), MIRAGE_ENOMEM. */
int mirage_block_of_file(const char *path, struct mirage_block **out);

/* A RAM disk of (size) bytes (a whole number of sectors), zero-filled, with
 * (sector_size) 512 or 4096 (lib/block/ramdisk.c). Writes are as durable as
 * they get on return; flush does nothing. Never suspends. Returns 0,
 * MIRAGE_EINVAL or MIRAGE_ENOMEM. */
int mirage_block_ramdisk_new(const char *name, uint64_t size, uint32_t sector_size,
                             struct mirage_block **out);

#endif
