/* net.c: Ethernet frames to and from the tap devices the tender opened. */
#include <string.h>

#include "sys.h"

/* Appends the (max)-bounded string (s) to (msg) of (cap) bytes at *len. */
static void put(char *msg, size_t cap, size_t *len, const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    if (n > cap - *len)
        n = cap - *len;
    memcpy(msg + *len, s, n);
    *len += n;
}

void spt_net_lost(mirage_handle_t h)
{
    char msg[160];
    size_t len = 0;
    const char *name = "?", *tap = "?";
    size_t name_max = 1, tap_max = 1;

    if (h < mirage_manifest.count && h < spt_boot->ndevs) {
        name = mirage_manifest.entries[h].name;
        name_max = sizeof(mirage_manifest.entries[h].name);
        tap = spt_boot->devs[h].tap;
        tap_max = sizeof(spt_boot->devs[h].tap);
    }
    put(msg, sizeof(msg), &len, "mirage-spt: net device '", sizeof(msg));
    put(msg, sizeof(msg), &len, name, name_max);
    put(msg, sizeof(msg), &len, "': tap '", sizeof(msg));
    put(msg, sizeof(msg), &len, tap, tap_max);
    put(msg, sizeof(msg), &len, "' is gone\n", sizeof(msg));
    spt_syscall3(SYS_write, 2, (long)msg, (long)len);
    for (;;)
        spt_syscall1(SYS_exit_group, SPT_EXIT_LOST);
}

/* Frames over mtu + 14 read and dropped, per handle; one read drops at most
 * OVERSIZED_PER_READ. */
static uint64_t rx_oversized[SPT_MAX_DEVS];
static uint8_t extra[1];
#define OVERSIZED_PER_READ 64

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
    if (n == -SPT_EBADFD)
        spt_net_lost(h);
    /* A tap takes a frame whole or not at all. */
    return n == (long)size ? 0 : MIRAGE_EIO;
}

int mirage_net_read(mirage_handle_t h, uint8_t *buf, size_t size, size_t *read_size)
{
    const struct spt_dev_info *d = spt_device(h, MIRAGE_DEV_NET);
    long n;

    if (d == NULL || size < (size_t)d->mtu + 14)
        return MIRAGE_EINVAL;
    /* A tap's read silently cuts a frame longer than the buffer: read one
     * more byte than the device's largest frame into (extra), so a longer
     * frame shows. It is gone from the tap then: count it and read on, a
     * bounded number of times before other fibers get a turn. */
    for (int i = 0; i < OVERSIZED_PER_READ; i++) {
        struct {
            void *base;
            size_t len;
        } iov[2] = {{buf, (size_t)d->mtu + 14}, {extra, sizeof(extra)}};

        do
            n = spt_syscall3(SYS_readv, d->fd, (long)iov, 2);
        while (n == -SPT_EINTR);
        if (n <= (long)d->mtu + 14)
            break;
        rx_oversized[h]++;
    }
    if (n > (long)d->mtu + 14)
        return MIRAGE_EAGAIN;
    if (n == -SPT_EAGAIN)
        return MIRAGE_EAGAIN;
    if (n == -SPT_EBADFD)
        spt_net_lost(h);
    if (n < 0)
        return MIRAGE_EIO;
    *read_size = (size_t)n;
    return 0;
}

int mirage_net_stats(mirage_handle_t h, struct mirage_net_stats *st)
{
    if (spt_device(h, MIRAGE_DEV_NET) == NULL)
        return MIRAGE_EINVAL;
    st->rx_oversized = rx_oversized[h];
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
