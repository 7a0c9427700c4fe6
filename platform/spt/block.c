/* block.c: whole sectors to and from the disk image the tender opened. */
#include "sys.h"
#include "mirage/abi/block.h"

/* Checks a request against the device as the seccomp filter will: whole
 * sectors, inside [0, capacity). A request the filter would refuse must never
 * reach it, since the filter ends the unikernel. */
static const struct spt_dev_info *check(mirage_handle_t h, uint64_t offset, size_t size)
{
    const struct spt_dev_info *d = spt_device(h, MIRAGE_DEV_BLOCK);

    if (d == NULL || !mirage_block_range_ok(offset, size, d->block_size, d->capacity))
        return NULL;
    return d;
}

static int transfer(long nr, mirage_handle_t h, uint64_t offset, uint8_t *buf, size_t size)
{
    const struct spt_dev_info *d = check(h, offset, size);

    if (d == NULL)
        return MIRAGE_EINVAL;
    if (nr == SYS_pwrite64 && (d->flags & SPT_DEV_READ_ONLY))
        return MIRAGE_EROFS; /* the filter allows no write to it */
    while (size > 0) {
        size_t chunk = size < SPT_BLOCK_MAX_IO ? size : SPT_BLOCK_MAX_IO;
        long n = spt_syscall4(nr, d->fd, (long)buf, (long)chunk, (long)offset);
        if (n == -SPT_EINTR)
            continue;
        /* A short transfer would leave a partial sector to retry, which the
         * filter refuses; inside the file's size it only comes from a failing
         * device or a file shrunk under us. */
        if (n != (long)chunk)
            return MIRAGE_EIO;
        buf += chunk;
        offset += chunk;
        size -= chunk;
    }
    return 0;
}

int mirage_platform_block_acquire(const char *name, mirage_handle_t *h,
                                  struct mirage_platform_block_info *info)
{
    int r = spt_acquire(name, MIRAGE_DEV_BLOCK);

    if (r < 0)
        return r;
    *h = (mirage_handle_t)r;
    info->capacity = spt_boot->devs[r].capacity;
    info->block_size = spt_boot->devs[r].block_size;
    info->read_only = (spt_boot->devs[r].flags & SPT_DEV_READ_ONLY) != 0;
    return 0;
}

int mirage_platform_block_write(mirage_handle_t h, uint64_t offset, const uint8_t *buf, size_t size)
{
    return transfer(SYS_pwrite64, h, offset, (uint8_t *)buf, size);
}

int mirage_platform_block_read(mirage_handle_t h, uint64_t offset, uint8_t *buf, size_t size)
{
    return transfer(SYS_pread64, h, offset, buf, size);
}

int mirage_platform_block_flush(mirage_handle_t h)
{
    const struct spt_dev_info *d = check(h, 0, 0);
    long r;

    if (d == NULL)
        return MIRAGE_EINVAL;
    if (d->flags & SPT_DEV_READ_ONLY)
        return 0;
    while ((r = spt_syscall1(SYS_fdatasync, d->fd)) == -SPT_EINTR)
        ;
    return r == 0 ? 0 : MIRAGE_EIO;
}

/* spt's requests are system calls the seccomp filter pins, made by the one
 * thread there is: a request holds the unikernel until the host is done. */
int mirage_platform_block_submit(mirage_handle_t h, enum mirage_platform_block_op op,
                                 uint64_t offset, uint8_t *buf, size_t size)
{
    (void)h, (void)op, (void)offset, (void)buf, (void)size;
    return MIRAGE_ENOTSUP;
}

int mirage_platform_block_complete(mirage_handle_t h)
{
    (void)h;
    return MIRAGE_EINVAL;
}
