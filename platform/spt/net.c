/* net.c: Ethernet frames to and from the tap devices the tender opened. */
#include "sys.h"

int mirage_net_acquire(const char *name, mirage_handle_t *h, struct mirage_net_info *info)
{
    int r = spt_acquire(name, MIRAGE_DEV_NET);

    if (r < 0)
        return r;
    *h = (mirage_handle_t)r;
    for (int i = 0; i < 6; i++)
        info->mac[i] = spt_boot->devs[r].mac[i];
    info->mtu = spt_boot->devs[r].mtu;
    return 0;
}

int mirage_net_write(mirage_handle_t h, const uint8_t *buf, size_t size)
{
    const struct spt_dev_info *d = spt_device(h, MIRAGE_DEV_NET);
    long n;

    if (d == NULL || size > (size_t)d->mtu + 14)
        return MIRAGE_EINVAL;
    do
        n = spt_syscall3(SYS_write, d->fd, (long)buf, (long)size);
    while (n == -SPT_EINTR);
    if (n == -SPT_EAGAIN)
        return MIRAGE_EAGAIN;
    /* A tap takes a frame whole or not at all. */
    return n == (long)size ? 0 : MIRAGE_EIO;
}

int mirage_net_read(mirage_handle_t h, uint8_t *buf, size_t size, size_t *read_size)
{
    const struct spt_dev_info *d = spt_device(h, MIRAGE_DEV_NET);
    long n;

    if (d == NULL || size < (size_t)d->mtu + 14)
        return MIRAGE_EINVAL;
    do
        n = spt_syscall3(SYS_read, d->fd, (long)buf, (long)size);
    while (n == -SPT_EINTR);
    if (n == -SPT_EAGAIN)
        return MIRAGE_EAGAIN;
    if (n < 0)
        return MIRAGE_EIO;
    *read_size = (size_t)n;
    return 0;
}

int mirage_net_writev(mirage_handle_t h, const struct mirage_frame *frames, size_t n, size_t *sent)
{
    *sent = 0;
    for (size_t i = 0; i < n; i++) {
        int r = mirage_net_write(h, frames[i].buf, frames[i].len);
        if (r < 0)
            return r;
        *sent = i + 1;
    }
    return 0;
}

int mirage_net_readv(mirage_handle_t h, struct mirage_frame *frames, size_t n, size_t *got)
{
    *got = 0;
    for (size_t i = 0; i < n; i++) {
        int r = mirage_net_read(h, frames[i].buf, frames[i].cap, &frames[i].len);
        if (r == MIRAGE_EAGAIN)
            break;
        if (r < 0)
            return *got > 0 ? 0 : r;
        *got = i + 1;
    }
    return *got > 0 ? 0 : MIRAGE_EAGAIN;
}
