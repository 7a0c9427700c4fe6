/* net.c: the network I/O thread moving frames between taps and the guest's shared-memory rings. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_tun.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "mirage/error.h"
#include "mirage/platform.h"
#include "ring.h"
#include "vm.h"

struct nic {
    int fd;
    const char *name; /* the manifest's, for messages */
    const char *tap;
    struct hvt_ring_hdr *hdr;
    uint8_t *area;
    uint32_t tx_cons, rx_prod; /* the tender's own copies: never read back from the guest */
    uint16_t mtu;
    int vnet;           /* the tap carries a virtio-net header before each frame */
    uint32_t offered;   /* the offloads the tap takes */
    uint32_t offloads;  /* those the guest turned on (HVT_HC_NET_OFFLOAD) */
    uint64_t oversized; /* frames too long read and dropped: the ring's copy is the guest's */
    int full;           /* the RX ring had no room left */
    int rx_lock;        /* held by whichever thread fills the RX ring: rx_prod and full are its */
    int tx_lock;        /* held by whichever thread drains the TX ring: tx_cons is its */
};

struct hvt_net {
    struct nic nics[HVT_MAX_DEVS];
    unsigned n;
    int kickfd; /* the guest's kicks, via KVM_IOEVENTFD */
    int wakefd; /* the I/O thread wakes a yielding vCPU thread */
    int vcpu_waiting;
    uint32_t epoch;
    int started;   /* the I/O thread is past its start-up system calls */
    int io_asleep; /* the I/O thread is in (or about to enter) ppoll */
};

static __attribute__((noreturn)) void bad_ring(const char *what, unsigned long long v)
{
    hvt_say("bad net ring: %s %llu\n", what, v);
    _exit(TENDER_EXIT_SANDBOX);
}

/*
 * A tap deleted under a running guest (`ip link del`, its namespace gone)
 * keeps its descriptor, but dead: poll reports POLLERR at once for ever and
 * read and write fail with EBADFD, so both threads would spin. Whichever
 * notices first names the device and ends the tender; the other waits for
 * that exit rather than say it twice.
 */
static __attribute__((noreturn)) void lost(const struct nic *c)
{
    static int said;
    struct timespec pause = {1, 0};

    if (!__atomic_exchange_n(&said, 1, __ATOMIC_SEQ_CST)) {
        hvt_say("net device '%s': tap '%s' is gone\n", c->name, c->tap);
        _exit(TENDER_EXIT_LOST);
    }
    for (;;)
        nanosleep(&pause, NULL);
}

/* Whether poll's (revents) for a tap say it was deleted; a tap merely set
 * down reports nothing (and fails writes with EIO, which drop the frame). */
static int gone(short revents)
{
    return (revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
}

static uint32_t load_acq(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_rel(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* The device as mirage_net_tx_ok() and mirage_net_rx_ok() see it now. */
static struct mirage_net_info info_of(const struct nic *c)
{
    struct mirage_net_info info = {{0}, c->mtu, __atomic_load_n(&c->offloads, __ATOMIC_RELAXED)};

    return info;
}

/* Sends what the guest published on its TX ring; returns how many frames. */
static unsigned tx_drain(struct nic *c)
{
    uint32_t prod = load_acq(&c->hdr->tx_prod), avail = prod - c->tx_cons;
    uint8_t *ring = HVT_TX_RING(c->area);
    struct mirage_net_info info = info_of(c);
    unsigned frames = 0;

    if (avail > HVT_RING_SLOTS)
        bad_ring("TX frames published beyond the ring's 256 slots:", avail);
    while (avail > 0) {
        uint32_t idx = c->tx_cons, len, slots;
        struct mirage_vnet_hdr vh; /* read once: the guest may change the slot meanwhile */
        unsigned long long bad;
        const char *problem = hvt_ring_tx_frame(c->hdr, ring, idx, avail, &info, &vh, &len,
                                                &slots, &bad);
        struct iovec iov[3];
        int n;

        if (problem)
            bad_ring(problem, bad);
        iov[0] = (struct iovec){&vh, sizeof(vh)};
        n = hvt_ring_iov(ring, (HVT_SLOT_OFF(idx) + HVT_VNET_HDR_SIZE) % HVT_RING_BYTES, len,
                         iov + 1);
        /* A tap that cannot take the frame drops it, as a wire would. */
        if (writev(c->fd, c->vnet ? iov : iov + 1, c->vnet ? n + 1 : n) < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EBADFD)
                lost(c);
        }
        __atomic_store_n(&c->tx_cons, idx + slots, __ATOMIC_RELAXED); /* pending() reads it */
        avail -= slots;
        frames++;
    }
    if (frames)
        store_rel(&c->hdr->tx_cons, c->tx_cons);
    return frames;
}

/* Reads frames from the tap into free RX slots; returns how many. */
static unsigned rx_fill(struct nic *c)
{
    uint32_t used = c->rx_prod - load_acq(&c->hdr->rx_cons);
    uint8_t *ring = HVT_RX_RING(c->area);
    struct mirage_net_info info = info_of(c);
    size_t max = mirage_net_frame_max(&info);
    uint32_t need = (uint32_t)HVT_FRAME_SLOTS(max);
    unsigned got = 0, dropped = 0;
    uint8_t extra;

    if (used > HVT_RING_SLOTS)
        bad_ring("RX consumer ahead of the producer by", -used);
    while (HVT_RING_SLOTS - used >= need && dropped < HVT_RING_SLOTS) {
        uint32_t off = HVT_SLOT_OFF(c->rx_prod), hoff = c->vnet ? 0 : HVT_VNET_HDR_SIZE;
        struct mirage_vnet_hdr vh = {0};
        struct iovec iov[3];
        int k = hvt_ring_iov(ring, (off + hoff) % HVT_RING_BYTES, max + HVT_VNET_HDR_SIZE - hoff,
                             iov);
        ssize_t n;

        /* One byte past the largest frame the offloads allow: a longer one
         * (the tap cuts it silently) shows by filling it. */
        iov[k++] = (struct iovec){&extra, 1};
        n = readv(c->fd, iov, k);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EBADFD)
            lost(c);
        if (n <= 0)
            break;
        if (c->vnet) {
            if ((size_t)n < sizeof(vh))
                continue;
            hvt_ring_get(ring, off, &vh, sizeof(vh));
            n -= (ssize_t)sizeof(vh);
        } else {
            memcpy(ring + off, &vh, sizeof(vh)); /* the slots always carry one */
        }
        if ((size_t)n > max || !mirage_net_rx_ok(&info, vh.gso_type, (size_t)n)) {
            __atomic_store_n(&c->hdr->rx_oversized, ++c->oversized, __ATOMIC_RELAXED);
            dropped++;
            continue;
        }
        c->hdr->rx_len[c->rx_prod % HVT_RING_SLOTS] = (uint32_t)n;
        c->rx_prod += (uint32_t)HVT_FRAME_SLOTS((size_t)n);
        used += (uint32_t)HVT_FRAME_SLOTS((size_t)n);
        store_rel(&c->hdr->rx_prod, c->rx_prod);
        got++;
    }
    __atomic_store_n(&c->full, HVT_RING_SLOTS - used < need, __ATOMIC_RELAXED);
    return got;
}

/* fn(c) if this thread takes (lock), else 0: another thread is doing it. */
static unsigned try_locked(int *lock, unsigned (*fn)(struct nic *), struct nic *c)
{
    unsigned n;

    if (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
        return 0;
    n = fn(c);
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
    return n;
}

/* rx_fill() by whichever thread gets there first: the I/O thread while the
 * guest runs, the vCPU thread itself while the guest waits in yield (saving a
 * thread wake-up on the way from the tap to the guest). */
static unsigned rx_fill_try(struct nic *c)
{
    return try_locked(&c->rx_lock, rx_fill, c);
}

/* tx_drain() by whichever thread gets there first: the I/O thread, or the
 * vCPU thread when the guest yields, so that an answer leaves at the latest
 * with the guest's exit even when the I/O thread sleeps or waits for a CPU. */
static unsigned tx_drain_try(struct nic *c)
{
    return try_locked(&c->tx_lock, tx_drain, c);
}

static int pending(struct hvt_net *net)
{
    for (unsigned i = 0; i < net->n; i++) {
        struct nic *c = &net->nics[i];

        if (load_acq(&c->hdr->tx_prod) != __atomic_load_n(&c->tx_cons, __ATOMIC_RELAXED))
            return 1;
        if (__atomic_load_n(&c->full, __ATOMIC_RELAXED) &&
            load_acq(&c->hdr->rx_prod) - load_acq(&c->hdr->rx_cons) <= HVT_RING_SLOTS / 2)
            return 1;
    }
    return 0;
}

/* Sleeps until the guest kicks or a tap with RX room has input. */
static void io_sleep(struct hvt_net *net)
{
    struct pollfd pfd[HVT_MAX_DEVS + 1];
    const struct nic *of[HVT_MAX_DEVS + 1]; /* the nic polled at each pfd, NULL for the kick */
    unsigned n = 0;
    uint64_t junk;

    net->epoch += 2;
    for (unsigned i = 0; i < net->n; i++) {
        struct nic *c = &net->nics[i];

        int full = __atomic_load_n(&c->full, __ATOMIC_RELAXED);

        __atomic_store_n(&c->hdr->rx_blocked, full, __ATOMIC_RELAXED);
        __atomic_store_n(&c->hdr->sleeping, net->epoch, __ATOMIC_SEQ_CST);
        if (!full) {
            of[n] = c;
            pfd[n++] = (struct pollfd){.fd = c->fd, .events = POLLIN};
        }
    }
    of[n] = NULL;
    pfd[n++] = (struct pollfd){.fd = net->kickfd, .events = POLLIN};
    __atomic_store_n(&net->io_asleep, 1, __ATOMIC_SEQ_CST);
    /* A guest that published just before it saw (sleeping) did not kick. */
    if (!pending(net)) {
        while (ppoll(pfd, n, NULL, NULL) < 0 && errno == EINTR)
            ;
        for (unsigned i = 0; i < n; i++)
            if (of[i] && gone(pfd[i].revents))
                lost(of[i]);
    }
    __atomic_store_n(&net->io_asleep, 0, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < net->n; i++)
        __atomic_store_n(&net->nics[i].hdr->sleeping, 0, __ATOMIC_SEQ_CST);
    if (read(net->kickfd, &junk, sizeof(junk)) < 0)
        return; /* no kick: woken by a tap */
}

static void wake_vcpu(struct hvt_net *net)
{
    uint64_t one = 1;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&net->vcpu_waiting, __ATOMIC_SEQ_CST) &&
        write(net->wakefd, &one, sizeof(one)) < 0)
        return; /* the counter is saturated: the vCPU thread is awake anyway */
}

static unsigned io_serve(void *arg)
{
    struct hvt_net *net = arg;
    unsigned work = 0;

    for (unsigned i = 0; i < net->n; i++)
        work += tx_drain_try(&net->nics[i]) + rx_fill_try(&net->nics[i]);
    if (work)
        wake_vcpu(net);
    return work;
}

static void io_idle(void *arg)
{
    io_sleep(arg);
}

static void *io_thread(void *arg)
{
    struct hvt_net *net = arg;

    hvt_io_loop(&net->started, io_serve, io_idle, net);
    return NULL;
}

static int rx_ready(struct hvt_net *net)
{
    for (unsigned i = 0; i < net->n; i++) {
        struct hvt_ring_hdr *h = net->nics[i].hdr;

        if (load_acq(&h->rx_prod) != load_acq(&h->rx_cons))
            return 1;
    }
    return 0;
}

/* How long a yielding vCPU thread keeps looking at the taps before it sleeps. */
#define WAIT_SPIN_NS 30000ULL

static int fill_all(struct hvt_net *net)
{
    unsigned got = 0;

    for (unsigned i = 0; i < net->n; i++)
        got += rx_fill_try(&net->nics[i]);
    return got > 0;
}

void hvt_net_wait(struct hvt_vm *vm, uint64_t timeout_ns, int donefd)
{
    struct hvt_net *net = vm->net;
    uint64_t start = hvt_now_ns(), junk, one = 1;

    for (unsigned i = 0; i < net->n; i++)
        tx_drain_try(&net->nics[i]);
    for (;;) {
        struct pollfd pfd[HVT_MAX_DEVS + 2];
        const struct nic *of[HVT_MAX_DEVS + 2];
        uint64_t spent, left;
        struct timespec ts;
        unsigned n = 0;

        __atomic_store_n(&net->vcpu_waiting, 1, __ATOMIC_SEQ_CST);
        if (rx_ready(net) || fill_all(net)) {
            /* The guest will answer soon: have the I/O thread awake and
             * polling the TX ring by then rather than wait for a kick (an
             * exit). The tap may not have woken it: this thread took the frame. */
            if (__atomic_load_n(&net->io_asleep, __ATOMIC_SEQ_CST) &&
                write(net->kickfd, &one, sizeof(one)) < 0)
                break;
            break;
        }
        spent = hvt_now_ns() - start;
        if (spent >= timeout_ns)
            break;
        if (spent < WAIT_SPIN_NS) {
            sched_yield();
            continue;
        }
        left = timeout_ns - spent;
        if (left > 86400000000000ULL)
            left = 86400000000000ULL;
        ts.tv_sec = left / 1000000000;
        ts.tv_nsec = left % 1000000000;
        of[n] = NULL;
        pfd[n++] = (struct pollfd){.fd = net->wakefd, .events = POLLIN};
        for (unsigned i = 0; i < net->n; i++) {
            if (__atomic_load_n(&net->nics[i].full, __ATOMIC_RELAXED))
                continue;
            of[n] = &net->nics[i];
            pfd[n++] = (struct pollfd){.fd = net->nics[i].fd, .events = POLLIN};
        }
        if (donefd >= 0) {
            of[n] = NULL;
            pfd[n++] = (struct pollfd){.fd = donefd, .events = POLLIN};
        }
        if (ppoll(pfd, n, &ts, NULL) <= 0)
            continue;
        if (donefd >= 0 && (pfd[n - 1].revents & POLLIN)) {
            if (read(donefd, &junk, sizeof(junk)) < 0)
                junk = 0; /* drained by nobody else: cannot fail but for EAGAIN */
            break;
        }
        for (unsigned i = 1; i < n; i++)
            if (of[i] && gone(pfd[i].revents))
                lost(of[i]);
        if ((pfd[0].revents & POLLIN) && read(net->wakefd, &junk, sizeof(junk)) < 0)
            break;
    }
    __atomic_store_n(&net->vcpu_waiting, 0, __ATOMIC_SEQ_CST);
}

void hvt_net_flush(struct hvt_vm *vm)
{
    struct hvt_net *net = vm->net;
    struct timespec pause = {0, 50000};
    uint64_t one = 1;

    if (!net)
        return;
    for (unsigned i = 0; i < net->n; i++)
        tx_drain_try(&net->nics[i]);
    for (int tries = 0; tries < 4000; tries++) { /* at most ~0.2 s */
        unsigned left = 0;

        for (unsigned i = 0; i < net->n; i++) {
            struct hvt_ring_hdr *h = net->nics[i].hdr;

            left += load_acq(&h->tx_prod) != load_acq(&h->tx_cons);
        }
        if (!left)
            return;
        if (write(net->kickfd, &one, sizeof(one)) < 0)
            return;
        nanosleep(&pause, NULL);
    }
}

int hvt_net_fds(const struct hvt_vm *vm, int *fds, int max)
{
    const struct hvt_net *net = vm->net;
    int n = 0;

    if (!net || max < (int)net->n + 2)
        return 0;
    fds[n++] = net->kickfd;
    fds[n++] = net->wakefd;
    for (unsigned i = 0; i < net->n; i++)
        fds[n++] = net->nics[i].fd;
    return n;
}

int hvt_net_setup(struct hvt_vm *vm, char *err)
{
    struct hvt_net *net;

    if (hvt_ndevs(vm, MIRAGE_DEV_NET) == 0)
        return 0;
    net = vm->net = calloc(1, sizeof(*vm->net));
    if (!net)
        return tender_fail(err, "out of memory");
    for (unsigned i = 0; i < vm->img->ndevs; i++) {
        struct nic *c = &net->nics[net->n];

        if (vm->devs[i].type != MIRAGE_DEV_NET)
            continue;
        c->fd = vm->devs[i].fd;
        c->name = vm->img->devs[i].name;
        c->tap = vm->devs[i].host;
        c->area = vm->mem + vm->ring_gpa[i];
        c->hdr = (struct hvt_ring_hdr *)c->area;
        c->mtu = vm->devs[i].mtu;
        c->vnet = vm->devs[i].vnet;
        c->offered = c->vnet ? vm->devs[i].offloads : 0;
        net->n++;
    }
    net->epoch = 1;
    net->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (net->wakefd < 0)
        return tender_fail(err, "eventfd: %s", strerror(errno));
    return hvt_kick_fd(vm, HVT_PORT_KICK, &net->kickfd, err);
}

int hvt_net_start(struct hvt_vm *vm, char *err)
{
    if (!vm->net)
        return 0;
    return hvt_thread_start(io_thread, vm->net, &vm->net->started, "network", err);
}

int hvt_net_offload(struct hvt_vm *vm, uint32_t handle, uint32_t offloads)
{
    struct hvt_net *net = vm->net;
    struct nic *c = NULL;
    unsigned k = 0;

    for (unsigned i = 0; net && i < vm->img->ndevs && i <= handle; i++)
        if (vm->devs[i].type == MIRAGE_DEV_NET && i == handle)
            c = &net->nics[k];
        else if (vm->devs[i].type == MIRAGE_DEV_NET)
            k++;
    if (c == NULL || (offloads & ~c->offered) != 0 || !mirage_net_offloads_valid(offloads))
        return MIRAGE_EINVAL;
    if (c->offered && ioctl(c->fd, TUNSETOFFLOAD, mirage_tun_offload_flags(offloads)) < 0) {
        if (errno == EBADFD)
            lost(c);
        return MIRAGE_EIO;
    }
    __atomic_store_n(&c->offloads, offloads, __ATOMIC_RELAXED);
    return 0;
}

