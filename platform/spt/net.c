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
static uint32_t offloads_on[SPT_MAX_DEVS];
static uint8_t extra[1];
#define OVERSIZED_PER_READ 64

#define TUNSETOFFLOAD 0x400454d0

struct iov {
    const void *base;
    size_t len;
};

int mirage_net_acquire(const char *name, mirage_handle_t *h, struct mirage_net_info *info)
{
    int r = spt_acquire(name, MIRAGE_DEV_NET);

    if (r < 0)
        return r;
    *h = (mirage_handle_t)r;
    for (int i = 0; i < 6; i++)
        info->mac[i] = spt_boot->devs[r].mac[i];
    info->mtu = spt_boot->devs[r].mtu;
    info->offloads = (spt_boot->devs[r].flags & SPT_DEV_VNET) ? spt_boot->devs[r].offloads : 0;
    return 0;
}

int mirage_net_set_offloads(mirage_handle_t h, uint32_t offloads)
{
    const struct spt_dev_info *d = spt_device(h, MIRAGE_DEV_NET);
    long n;

    if (d == NULL || (offloads & ~((d->flags & SPT_DEV_VNET) ? d->offloads : 0)) != 0 ||
        !mirage_net_offloads_valid(offloads))
        return MIRAGE_EINVAL;
    if (d->offloads != 0) {
        n = spt_syscall3(SYS_ioctl, d->fd, TUNSETOFFLOAD, (long)mirage_tun_offload_flags(offloads));
        if (n == -SPT_EBADFD)
            spt_net_lost(h);
        if (n < 0)
            return MIRAGE_EIO;
    }
    offloads_on[h] = offloads;
    return 0;
}

/* Device (h) as the offload rules of platform.h see it. */
static struct mirage_net_info info_of(mirage_handle_t h, const struct spt_dev_info *d)
{
    struct mirage_net_info info = {{0}, d->mtu, offloads_on[h]};

    return info;
}

static int write_frame(mirage_handle_t h, const struct mirage_frame *f)
{
    const struct spt_dev_info *d = spt_device(h, MIRAGE_DEV_NET);
    struct mirage_vnet_hdr vh = mirage_vnet_hdr_of(&f->meta);
    struct iov iov[2] = {{&vh, sizeof(vh)}, {f->buf, f->len}};
    struct mirage_net_info info;
    size_t want;
    long n;

    if (d == NULL)
        return MIRAGE_EINVAL;
    info = info_of(h, d);
    if (!mirage_net_tx_ok(&info, &f->meta, f->len))
        return MIRAGE_EINVAL;
    want = f->len + ((d->flags & SPT_DEV_VNET) ? sizeof(vh) : 0);
    do
        n = (d->flags & SPT_DEV_VNET) ? spt_syscall3(SYS_writev, d->fd, (long)iov, 2)
                                      : spt_syscall3(SYS_write, d->fd, (long)f->buf, (long)f->len);
    while (n == -SPT_EINTR);
    if (n == -SPT_EAGAIN)
        return MIRAGE_EAGAIN;
    if (n == -SPT_EBADFD)
        spt_net_lost(h);
    /* A tap takes a frame whole or not at all. */
    return n == (long)want ? 0 : MIRAGE_EIO;
}

int mirage_net_write(mirage_handle_t h, const uint8_t *buf, size_t size)
{
    struct mirage_frame f = {(uint8_t *)buf, size, size, {0}};

    return write_frame(h, &f);
}

static int read_frame(mirage_handle_t h, struct mirage_frame *f)
{
    const struct spt_dev_info *d = spt_device(h, MIRAGE_DEV_NET);
    struct mirage_net_info info;
    struct mirage_vnet_hdr vh;
    size_t cap, hdr;
    long n = -SPT_EAGAIN;

    if (d == NULL)
        return MIRAGE_EINVAL;
    info = info_of(h, d);
    cap = mirage_net_frame_max(&info);
    hdr = (d->flags & SPT_DEV_VNET) ? sizeof(vh) : 0;
    if (f->cap < cap)
        return MIRAGE_EINVAL;
    /* A tap's read silently cuts a frame longer than the buffer: read one
     * more byte than the device's largest frame into (extra), so a longer
     * frame shows. It is gone from the tap then: count it and read on, a
     * bounded number of times before other fibers get a turn. A coalesced
     * TCP frame (GSO) may be longer than the MTU when TSO is on. */
    for (int i = 0; i < OVERSIZED_PER_READ; i++) {
        struct iov iov[3] = {{&vh, sizeof(vh)}, {f->buf, cap}, {extra, sizeof(extra)}};

        vh = (struct mirage_vnet_hdr){0};
        do
            n = spt_syscall3(SYS_readv, d->fd, (long)(hdr ? iov : iov + 1), hdr ? 3 : 2);
        while (n == -SPT_EINTR);
        if (n < 0)
            break;
        if (n < (long)hdr)
            return MIRAGE_EIO;
        n -= (long)hdr;
        if (mirage_net_rx_ok(&info, vh.gso_type, (size_t)n))
            break;
        rx_oversized[h]++;
        n = -SPT_EAGAIN;
    }
    if (n == -SPT_EAGAIN)
        return MIRAGE_EAGAIN;
    if (n == -SPT_EBADFD)
        spt_net_lost(h);
    if (n < 0)
        return MIRAGE_EIO;
    f->len = (size_t)n;
    f->meta = info.offloads ? mirage_net_meta_of(&vh) : (struct mirage_net_meta){0};
    return 0;
}

int mirage_net_read(mirage_handle_t h, uint8_t *buf, size_t size, size_t *read_size)
{
    struct mirage_frame f = {buf, size, 0, {0}};
    int r = read_frame(h, &f);

    if (r == 0)
        *read_size = f.len;
    return r;
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
        int r = write_frame(h, &frames[i]);
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
        int r = read_frame(h, &frames[i]);
        if (r == MIRAGE_EAGAIN)
            break;
        if (r < 0)
            return *got > 0 ? 0 : r;
        *got = i + 1;
    }
    return *got > 0 ? 0 : MIRAGE_EAGAIN;
}
