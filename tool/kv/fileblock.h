/* fileblock.h: a host file as a struct mirage_block (pread, pwrite, fdatasync), for host programs. */
#ifndef TOOL_KV_FILEBLOCK_H
#define TOOL_KV_FILEBLOCK_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mirage/block.h"

struct fileblock {
    struct mirage_block blk; /* first: what the store sees */
    int fd;
};

static inline int fileblock_read(struct mirage_block *b, uint64_t sector, void *buf, size_t len)
{
    struct fileblock *f = (struct fileblock *)b;
    size_t done = 0;

    while (done < len) {
        ssize_t r = pread(f->fd, (char *)buf + done, len - done,
                          (off_t)(sector * b->info.sector_size + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return MIRAGE_EIO;
        done += (size_t)r;
    }
    return 0;
}

static inline int fileblock_write(struct mirage_block *b, uint64_t sector, const void *buf,
                                  size_t len)
{
    struct fileblock *f = (struct fileblock *)b;
    size_t done = 0;

    while (done < len) {
        ssize_t r = pwrite(f->fd, (const char *)buf + done, len - done,
                           (off_t)(sector * b->info.sector_size + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 && errno == ENOSPC ? MIRAGE_ENOSPC : MIRAGE_EIO;
        done += (size_t)r;
    }
    return 0;
}

static inline int fileblock_flush(struct mirage_block *b)
{
    return fdatasync(((struct fileblock *)b)->fd) ? MIRAGE_EIO : 0;
}

static inline void fileblock_disconnect(struct mirage_block *b)
{
    close(((struct fileblock *)b)->fd);
}

static const struct mirage_block_ops fileblock_ops = {fileblock_read, fileblock_write,
                                                      fileblock_flush, fileblock_disconnect};

/* Opens (path) with sectors of (ss) bytes; -1 with errno set on failure. */
static inline int fileblock_open(struct fileblock *f, const char *path, int writable, uint32_t ss)
{
    struct stat st;

    f->fd = open(path, writable ? O_RDWR : O_RDONLY);
    if (f->fd < 0)
        return -1;
    if (fstat(f->fd, &st) < 0) {
        close(f->fd);
        return -1;
    }
    f->blk.ops = &fileblock_ops;
    f->blk.name = path;
    f->blk.info.sector_size = ss;
    f->blk.info.sectors = (uint64_t)st.st_size / ss;
    f->blk.info.read_only = !writable;
    return 0;
}

#endif
