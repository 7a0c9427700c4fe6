/* block.c: the unix target's disks: image files as platform block devices and as block_of_file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mirage/abi/block.h"
#include "mirage/block.h"
#include "mirage/platform.h"
#include "unix.h"

#define SECTOR 512

/* Opens the image (path): read-write, or read-only when the file may not be
 * written. Returns 0 or a MIRAGE_E* code after saying what is wrong. */
static int open_image(const char *path, uint32_t ss, int *fd, uint64_t *capacity, int *read_only)
{
    struct stat st;

    *read_only = 0;
    *fd = open(path, O_RDWR | O_CLOEXEC);
    if (*fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
        *fd = open(path, O_RDONLY | O_CLOEXEC);
        *read_only = 1;
    }
    if (*fd < 0) {
        fprintf(stderr, "mirage: cannot open disk image '%s': %s\n", path, strerror(errno));
        return MIRAGE_ENOENT;
    }
    if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size % ss != 0) {
        fprintf(stderr,
                "mirage: disk image '%s' is %lld bytes: not a whole number of %u-byte sectors\n",
                path, (long long)st.st_size, ss);
        close(*fd);
        return MIRAGE_EINVAL;
    }
    *capacity = (uint64_t)st.st_size;
    return 0;
}

/* One whole transfer: pread/pwrite until done, restarting after signals. */
static int fd_io(int fd, int write_op, uint64_t offset, uint8_t *buf, size_t size)
{
    while (size > 0) {
        ssize_t n =
            write_op ? pwrite(fd, buf, size, (off_t)offset) : pread(fd, buf, size, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return MIRAGE_EIO;
        buf += n;
        offset += (uint64_t)n;
        size -= (size_t)n;
    }
    return 0;
}

static int fd_flush(int fd)
{
    while (fdatasync(fd) < 0)
        if (errno != EINTR)
            return MIRAGE_EIO;
    return 0;
}

/* ---- platform block devices (the manifest's) ---------------------------- */

int mirage_platform_block_acquire(const char *name, mirage_handle_t *h,
                                  struct mirage_platform_block_info *info)
{
    struct unix_binding *b;
    int idx = unix_lookup(name, MIRAGE_DEV_BLOCK, &b), r;

    if (idx < 0)
        return idx;
    if (!b->sector_size)
        b->sector_size = SECTOR;
    if ((r = open_image(b->path ? b->path : name, b->sector_size, &b->fd, &b->capacity,
                        &b->read_only)) < 0)
        return r;
    b->acquired = 1;
    info->capacity = b->capacity;
    info->block_size = b->sector_size;
    info->read_only = b->read_only;
    *h = (mirage_handle_t)idx;
    return 0;
}

static struct unix_binding *block_request(mirage_handle_t h, uint64_t offset, size_t size)
{
    struct unix_binding *b = unix_handle(h, MIRAGE_DEV_BLOCK);

    if (b == NULL || !mirage_block_range_ok(offset, size, b->sector_size, b->capacity))
        return NULL;
    return b;
}

int mirage_platform_block_write(mirage_handle_t h, uint64_t offset, const uint8_t *buf, size_t size)
{
    struct unix_binding *b = block_request(h, offset, size);

    if (b == NULL)
        return MIRAGE_EINVAL;
    if (b->read_only)
        return MIRAGE_EROFS;
    return fd_io(b->fd, 1, offset, (uint8_t *)(uintptr_t)buf, size);
}

int mirage_platform_block_read(mirage_handle_t h, uint64_t offset, uint8_t *buf, size_t size)
{
    struct unix_binding *b = block_request(h, offset, size);

    return b == NULL ? MIRAGE_EINVAL : fd_io(b->fd, 0, offset, buf, size);
}

int mirage_platform_block_flush(mirage_handle_t h)
{
    struct unix_binding *b = unix_handle(h, MIRAGE_DEV_BLOCK);

    if (b == NULL)
        return MIRAGE_EINVAL;
    return b->read_only ? 0 : fd_flush(b->fd);
}

/* ---- requests served by a helper thread ---------------------------------- */

/*
 * Each platform block device gets a thread at its first submitted request:
 * it makes the request's system calls while the unikernel goes on, then
 * signals the device's eventfd, which mirage_yield polls beside the taps and
 * reports as the device's handle. One request per device at a time.
 */
struct aio {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int efd;      /* readable once the request is done */
    int started;  /* the thread runs */
    int inflight; /* submitted, not yet completed */
    int pending;  /* submitted, not yet taken by the thread (under mu) */
    int done;     /* finished, result in ret (under mu) */
    enum mirage_platform_block_op op;
    int fd;
    uint64_t offset;
    uint8_t *buf;
    size_t size;
    int ret;
};
static struct aio aios[MIRAGE_MANIFEST_MAX];

static void *aio_thread(void *arg)
{
    struct aio *a = arg;
    uint64_t one = 1;

    for (;;) {
        int r;
        pthread_mutex_lock(&a->mu);
        while (!a->pending)
            pthread_cond_wait(&a->cv, &a->mu);
        a->pending = 0;
        pthread_mutex_unlock(&a->mu);
        if (a->op == MIRAGE_PLATFORM_BLOCK_FLUSH)
            r = fd_flush(a->fd);
        else
            r = fd_io(a->fd, a->op == MIRAGE_PLATFORM_BLOCK_WRITE, a->offset, a->buf, a->size);
        /* The eventfd before (done): complete drains it once it sees (done). */
        while (write(a->efd, &one, sizeof(one)) < 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&a->mu);
        a->ret = r;
        a->done = 1;
        pthread_mutex_unlock(&a->mu);
    }
    return NULL;
}

/* Starts (a)'s thread; MIRAGE_ENOTSUP (requests stay synchronous) if it cannot. */
static int aio_start(struct aio *a)
{
    sigset_t all, old;
    int r;

    if (a->started)
        return 0;
    if ((a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        return MIRAGE_ENOTSUP;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    /* Signals (the guard-page handler's, the host's) stay with the main thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&a->thread, NULL, aio_thread, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        close(a->efd);
        return MIRAGE_ENOTSUP;
    }
    pthread_detach(a->thread);
    a->started = 1;
    return 0;
}

int mirage_platform_block_submit(mirage_handle_t h, enum mirage_platform_block_op op,
                                 uint64_t offset, uint8_t *buf, size_t size)
{
    struct unix_binding *b;
    struct aio *a;
    uint64_t junk;
    int r;

    if ((unsigned)op > MIRAGE_PLATFORM_BLOCK_FLUSH)
        return MIRAGE_EINVAL;
    if (op == MIRAGE_PLATFORM_BLOCK_FLUSH)
        offset = size = 0;
    if ((b = block_request(h, offset, size)) == NULL)
        return MIRAGE_EINVAL;
    if (op == MIRAGE_PLATFORM_BLOCK_WRITE && b->read_only)
        return MIRAGE_EROFS;
    a = &aios[h];
    if (a->inflight)
        return MIRAGE_EAGAIN;
    if (op == MIRAGE_PLATFORM_BLOCK_FLUSH && b->read_only)
        return MIRAGE_ENOTSUP; /* nothing to do: the synchronous call says 0 */
    if ((r = aio_start(a)) < 0)
        return r;
    pthread_mutex_lock(&a->mu);
    if (read(a->efd, &junk, sizeof(junk)) < 0) /* nothing left from an earlier one */
        junk = 0;
    a->op = op;
    a->fd = b->fd;
    a->offset = offset;
    a->buf = buf;
    a->size = size;
    a->done = 0;
    a->pending = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    a->inflight = 1;
    return 0;
}

int mirage_platform_block_complete(mirage_handle_t h)
{
    struct aio *a;
    uint64_t junk;
    int done;

    if (h >= MIRAGE_MANIFEST_MAX || !aios[h].inflight)
        return MIRAGE_EINVAL;
    a = &aios[h];
    pthread_mutex_lock(&a->mu);
    done = a->done;
    pthread_mutex_unlock(&a->mu);
    if (!done)
        return MIRAGE_EAGAIN;
    if (read(a->efd, &junk, sizeof(junk)) < 0)
        junk = 0; /* already drained */
    a->inflight = 0;
    return a->ret;
}

int unix_block_pollfd(mirage_handle_t h)
{
    return h < MIRAGE_MANIFEST_MAX && aios[h].inflight ? aios[h].efd : -1;
}

/* ---- block_of_file: an image named by its path, outside the manifest ------ */

struct file_block {
    struct mirage_block blk;
    int fd;
};

static int file_read(struct mirage_block *b, uint64_t sector, void *buf, size_t len)
{
    return fd_io(((struct file_block *)b)->fd, 0, sector * SECTOR, buf, len);
}

static int file_write(struct mirage_block *b, uint64_t sector, const void *buf, size_t len)
{
    return fd_io(((struct file_block *)b)->fd, 1, sector * SECTOR, (uint8_t *)(uintptr_t)buf, len);
}

static int file_flush(struct mirage_block *b)
{
    return fd_flush(((struct file_block *)b)->fd);
}

static void file_disconnect(struct mirage_block *b)
{
    close(((struct file_block *)b)->fd);
    free(b);
}

static const struct mirage_block_ops file_ops = {file_read, file_write, file_flush,
                                                 file_disconnect};

int mirage_block_of_file(const char *path, struct mirage_block **out)
{
    struct file_block *f = calloc(1, sizeof(*f));
    uint64_t capacity;
    int r;

    if (!f)
        return MIRAGE_ENOMEM;
    if ((r = open_image(path, SECTOR, &f->fd, &capacity, &f->blk.info.read_only)) < 0) {
        free(f);
        return r;
    }
    f->blk.ops = &file_ops;
    f->blk.info.sector_size = SECTOR;
    f->blk.info.sectors = capacity / SECTOR;
    f->blk.name = path;
    *out = &f->blk;
    return 0;
}
