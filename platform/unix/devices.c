/* devices.c: the unix target's net (tap) devices, clocks and yield (block.c: its disks). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "mirage/key.h"
#include "mirage/platform.h"
#include "unix.h"

_Static_assert(sizeof(struct mirage_vnet_hdr) == sizeof(struct virtio_net_hdr),
               "platform.h's virtio-net header is the kernel's");

#define OVERSIZED_PER_READ 64 /* dropped by one read at most */
#define HEAP_SIZE (32u << 20)
/* The tenders' TENDER_EXIT_LOST (tender/common/tender.h): a tap deleted under us. */
#define EXIT_LOST 252

int unix_manifest_find(const char *name, size_t len)
{
    for (uint32_t i = 0; i < mirage_manifest.count; i++) {
        const char *n = mirage_manifest.entries[i].name;
        if (strnlen(n, sizeof(mirage_manifest.entries[i].name)) == len && memcmp(n, name, len) == 0)
            return (int)i;
    }
    return -1;
}

int unix_mac_parse(const char *s, uint8_t mac[6])
{
    if (mirage_key_parse_mac(s, strlen(s), mac, NULL, 0) < 0)
        return -1;
    return (mac[0] & 1) ? -1 : 0;
}

static uint64_t now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mirage_clock_monotonic(void)
{
    return now(CLOCK_MONOTONIC);
}

uint64_t mirage_clock_wall(void)
{
    return now(CLOCK_REALTIME);
}

void mirage_heap(uintptr_t *start, size_t *size)
{
    static void *heap;

    if (heap == NULL) {
        heap = mmap(NULL, HEAP_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
                    MAP_NORESERVE, -1, 0);
        if (heap == MAP_FAILED) {
            heap = NULL;
            *start = 0;
            *size = 0;
            return;
        }
    }
    *start = (uintptr_t)heap;
    *size = HEAP_SIZE;
}

int unix_tap_mtu(const char *tap, uint16_t *mtu)
{
    struct ifreq ifr = {0};
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
    r = sock < 0 ? -1 : ioctl(sock, SIOCGIFMTU, &ifr);
    if (sock >= 0)
        close(sock);
    if (r < 0) {
        fprintf(stderr, "%s: tap '%s': cannot read its MTU: %s\n", program_invocation_short_name,
                tap, strerror(errno));
        return -1;
    }
    if (ifr.ifr_mtu < UNIX_MTU_MIN || ifr.ifr_mtu > UNIX_MTU_MAX) {
        fprintf(stderr, "%s: tap '%s' has MTU %d: take %d to %d (ip link set %s mtu 1500)\n",
                program_invocation_short_name, tap, ifr.ifr_mtu, UNIX_MTU_MIN, UNIX_MTU_MAX, tap);
        return -1;
    }
    *mtu = (uint16_t)ifr.ifr_mtu;
    return 0;
}

/* 1 if a network interface (tap) exists in our namespace. */
static int if_exists(const char *name)
{
    struct ifreq ifr = {0};
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

    if (sock < 0)
        return 1; /* cannot tell: acquiring it says what is wrong */
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    r = ioctl(sock, SIOCGIFINDEX, &ifr);
    close(sock);
    return r == 0;
}

int unix_taps_check(const char *prog)
{
    for (uint32_t h = 0; h < mirage_manifest.count; h++) {
        const char *tap = unix_bindings[h].path;

        if (mirage_manifest.entries[h].type != MIRAGE_DEV_NET)
            continue;
        if (tap == NULL)
            tap = mirage_manifest.entries[h].name;
        if (strlen(tap) >= IFNAMSIZ || !if_exists(tap)) {
            fprintf(stderr,
                    "%s: net device '%s': tap '%s' does not exist (create it: ip tuntap add %s "
                    "mode tap)\n",
                    prog, mirage_manifest.entries[h].name, tap, tap);
            return -1;
        }
    }
    return 0;
}

/* Looks (name) up in the manifest as a device of (type) not yet acquired. */
int unix_lookup(const char *name, uint32_t type, struct unix_binding **b)
{
    int h = unix_manifest_find(name, strlen(name));

    if (h < 0 || mirage_manifest.entries[h].type != type)
        return MIRAGE_ENOENT;
    if (unix_bindings[h].acquired)
        return MIRAGE_EINVAL;
    *b = &unix_bindings[h];
    return h;
}

struct unix_binding *unix_handle(mirage_handle_t h, uint32_t type)
{
    if (h >= mirage_manifest.count || mirage_manifest.entries[h].type != type ||
        !unix_bindings[h].acquired)
        return NULL;
    return &unix_bindings[h];
}

int mirage_net_acquire(const char *name, mirage_handle_t *h, struct mirage_net_info *info)
{
    struct unix_binding *b;
    struct ifreq ifr = {0};
    int idx = unix_lookup(name, MIRAGE_DEV_NET, &b);
    const char *tap;
    int fd;

    if (idx < 0)
        return idx;
    tap = b->path ? b->path : name;
    if (strlen(tap) >= IFNAMSIZ) {
        fprintf(stderr, "mirage: tap name '%s' is too long\n", tap);
        return MIRAGE_EINVAL;
    }
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "mirage: cannot open /dev/net/tun: %s\n", strerror(errno));
        return MIRAGE_EUNSPEC;
    }
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    b->vnet = 0;
    b->offered = b->on = 0;
    if (!unix_net_offload_off) {
        unsigned features = 0;

        if (ioctl(fd, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR))
            ifr.ifr_flags |= IFF_VNET_HDR;
    }
    strcpy(ifr.ifr_name, tap);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        fprintf(stderr, "mirage: cannot attach to tap '%s': %s\n", tap, strerror(errno));
        close(fd);
        return MIRAGE_EUNSPEC;
    }
    if (ifr.ifr_flags & IFF_VNET_HDR) {
        int hdr = (int)sizeof(struct mirage_vnet_hdr);

        b->vnet = ioctl(fd, TUNSETVNETHDRSZ, &hdr) == 0;
        /* What the kernel takes is what we offer (the most it takes, one set
         * after the other); all off until the stack asks. */
        for (unsigned i = 0; b->vnet && mirage_net_offload_probe(i) != 0; i++)
            if (ioctl(fd, TUNSETOFFLOAD, mirage_tun_offload_flags(mirage_net_offload_probe(i))) ==
                0) {
                b->offered = mirage_net_offload_probe(i);
                break;
            }
        if (b->vnet && ioctl(fd, TUNSETOFFLOAD, 0) < 0)
            b->offered = 0;
    }
    /* Offloads outlive their process on a persistent tap: without the header
     * we would read frames with partial checksums a previous user asked for. */
    if (!b->vnet)
        ioctl(fd, TUNSETOFFLOAD, 0);
    if (unix_tap_mtu(tap, &b->mtu) < 0) {
        close(fd);
        return MIRAGE_EUNSPEC;
    }
    if (!b->has_mac) {
        if (getrandom(b->mac, 6, 0) != 6)
            memset(b->mac, 0x5a, 6);
        b->mac[0] = (uint8_t)((b->mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
    }
    b->fd = fd;
    b->acquired = 1;
    memcpy(info->mac, b->mac, 6);
    info->mtu = b->mtu;
    info->offloads = b->offered;
    *h = (mirage_handle_t)idx;
    return 0;
}

/*
 * A tap deleted while we hold it (`ip link del`, its namespace gone) leaves
 * the descriptor open but dead: poll reports POLLERR at once for ever and
 * read and write fail with EBADFD, so the unikernel would spin. It ends
 * instead, naming the device; a tap merely set down is not this (EAGAIN, EIO).
 */
__attribute__((noreturn)) static void lost(mirage_handle_t h)
{
    const struct unix_binding *b = &unix_bindings[h];
    const char *name = mirage_manifest.entries[h].name;
    int nlen = (int)strnlen(name, sizeof(mirage_manifest.entries[h].name));

    fflush(stdout);
    fprintf(stderr, "%s: net device '%.*s': tap '%s' is gone\n", program_invocation_short_name,
            nlen, name, b->path ? b->path : name);
    mirage_exit(EXIT_LOST);
}

int mirage_net_set_offloads(mirage_handle_t h, uint32_t offloads)
{
    struct unix_binding *b = unix_handle(h, MIRAGE_DEV_NET);

    if (b == NULL || (offloads & ~b->offered) != 0 || !mirage_net_offloads_valid(offloads))
        return MIRAGE_EINVAL;
    if (b->vnet && ioctl(b->fd, TUNSETOFFLOAD, mirage_tun_offload_flags(offloads)) < 0)
        return MIRAGE_EIO;
    b->on = offloads;
    return 0;
}

/* The device as the offload rules of platform.h see it. */
static struct mirage_net_info info_of(const struct unix_binding *b)
{
    struct mirage_net_info info = {{0}, b->mtu, b->on};

    return info;
}

static int write_frame(mirage_handle_t h, struct unix_binding *b, const struct mirage_frame *f)
{
    struct mirage_vnet_hdr vh = mirage_vnet_hdr_of(&f->meta);
    struct iovec iov[2] = {{&vh, sizeof(vh)}, {f->buf, f->len}};
    size_t want = f->len + (b->vnet ? sizeof(vh) : 0);
    ssize_t n;

    struct mirage_net_info info = info_of(b);

    if (!mirage_net_tx_ok(&info, &f->meta, f->len))
        return MIRAGE_EINVAL;
    if (b->vnet) {
        n = writev(b->fd, iov, 2);
    } else {
        n = write(b->fd, f->buf, f->len);
    }
    if (n == (ssize_t)want)
        return 0;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return MIRAGE_EAGAIN;
    if (n < 0 && errno == EBADFD)
        lost(h);
    return MIRAGE_EIO;
}

int mirage_net_write(mirage_handle_t h, const uint8_t *buf, size_t size)
{
    struct unix_binding *b = unix_handle(h, MIRAGE_DEV_NET);
    struct mirage_frame f = {(uint8_t *)buf, size, size, {0}};

    if (b == NULL)
        return MIRAGE_EINVAL;
    return write_frame(h, b, &f);
}

/* Reads one frame and its metadata into (f), dropping (and counting) the
 * frames too long for the device on the way. */
static int read_frame(mirage_handle_t h, struct unix_binding *b, struct mirage_frame *f)
{
    struct mirage_net_info info = info_of(b);
    size_t cap = mirage_net_frame_max(&info);
    struct mirage_vnet_hdr vh;
    ssize_t n = -1;

    if (f->cap < cap)
        return MIRAGE_EINVAL;
    /* A tap's read silently cuts a frame longer than the buffer: read one
     * more byte than the device's largest frame into (extra), so a longer
     * frame shows. It is gone from the tap then: count it and read on, a
     * bounded number of times before other fibers get a turn. A coalesced
     * TCP frame (GSO) may be longer than the MTU when TSO is on. */
    for (int i = 0; i < OVERSIZED_PER_READ; i++) {
        static uint8_t extra[1];
        struct iovec iov[3] = {{&vh, sizeof(vh)}, {f->buf, cap}, {extra, sizeof(extra)}};

        memset(&vh, 0, sizeof(vh));
        n = b->vnet ? readv(b->fd, iov, 3) : readv(b->fd, iov + 1, 2);
        if (n < 0)
            break;
        if (b->vnet && n < (ssize_t)sizeof(vh)) {
            n = -1;
            errno = EIO;
            break;
        }
        n -= b->vnet ? (ssize_t)sizeof(vh) : 0;
        if (mirage_net_rx_ok(&info, b->vnet ? vh.gso_type : 0, (size_t)n))
            break;
        b->rx_oversized++;
        n = -1;
        errno = EAGAIN;
    }
    if (n >= 0) {
        f->len = (size_t)n;
        f->meta = b->on ? mirage_net_meta_of(&vh) : (struct mirage_net_meta){0};
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return MIRAGE_EAGAIN;
    if (errno == EBADFD)
        lost(h);
    return MIRAGE_EIO;
}

int mirage_net_read(mirage_handle_t h, uint8_t *buf, size_t size, size_t *read_size)
{
    struct unix_binding *b = unix_handle(h, MIRAGE_DEV_NET);
    struct mirage_frame f = {buf, size, 0, {0}};
    int r;

    if (b == NULL)
        return MIRAGE_EINVAL;
    r = read_frame(h, b, &f);
    if (r == 0)
        *read_size = f.len;
    return r;
}

int mirage_net_stats(mirage_handle_t h, struct mirage_net_stats *st)
{
    const struct unix_binding *b = unix_handle(h, MIRAGE_DEV_NET);

    if (b == NULL)
        return MIRAGE_EINVAL;
    st->rx_oversized = b->rx_oversized;
    return 0;
}

int mirage_net_writev(mirage_handle_t h, const struct mirage_frame *frames, size_t n, size_t *sent)
{
    struct unix_binding *b = unix_handle(h, MIRAGE_DEV_NET);
    int r = 0;

    *sent = 0;
    if (b == NULL)
        return MIRAGE_EINVAL;
    for (; *sent < n; (*sent)++) {
        r = write_frame(h, b, &frames[*sent]);
        if (r < 0)
            return r;
    }
    return r;
}

int mirage_net_readv(mirage_handle_t h, struct mirage_frame *frames, size_t n, size_t *got)
{
    struct unix_binding *b = unix_handle(h, MIRAGE_DEV_NET);

    *got = 0;
    if (b == NULL)
        return MIRAGE_EINVAL;
    for (; *got < n; (*got)++) {
        int r = read_frame(h, b, &frames[*got]);
        if (r == MIRAGE_EAGAIN)
            break;
        if (r < 0)
            return *got > 0 ? 0 : r; /* the frames read are not lost; the error comes next */
    }
    return *got > 0 ? 0 : MIRAGE_EAGAIN;
}

void mirage_yield(uint64_t deadline, mirage_handle_set_t *ready)
{
    struct pollfd fds[MIRAGE_MANIFEST_MAX + 1];
    mirage_handle_t hs[MIRAGE_MANIFEST_MAX + 1];
    uint64_t t = mirage_clock_monotonic();
    uint64_t wait = deadline > t ? deadline - t : 0;
    struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000u),
                          .tv_nsec = (long)(wait % 1000000000u)};
    nfds_t n = 0;

    *ready = 0;
    for (uint32_t h = 0; h < mirage_manifest.count; h++) {
        if (mirage_manifest.entries[h].type == MIRAGE_DEV_BLOCK && unix_block_pollfd(h) >= 0) {
            fds[n].fd = unix_block_pollfd(h);
            fds[n].events = POLLIN;
            hs[n++] = h;
            continue;
        }
        if (mirage_manifest.entries[h].type != MIRAGE_DEV_NET || !unix_bindings[h].acquired)
            continue;
        fds[n].fd = unix_bindings[h].fd;
        fds[n].events = POLLIN;
        hs[n++] = h;
    }
    if (unix_hostfd_pollfd() >= 0) {
        fds[n].fd = unix_hostfd_pollfd();
        fds[n].events = POLLIN;
        hs[n++] = MIRAGE_HOSTFD_HANDLE;
    }
    if (ppoll(fds, n, &ts, NULL) <= 0)
        return;
    for (nfds_t i = 0; i < n; i++) {
        if (hs[i] != MIRAGE_HOSTFD_HANDLE &&
            mirage_manifest.entries[hs[i]].type == MIRAGE_DEV_NET &&
            (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)))
            lost(hs[i]);
        if (fds[i].revents & POLLIN)
            *ready |= 1ULL << hs[i];
    }
}
