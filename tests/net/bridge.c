/* bridge.c: a lossy userspace Ethernet bridge between two taps: seeded drop, reorder, duplicate. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/*
 * netbridge [--seed N] [--drop PCT] [--reorder PCT] [--dup PCT] [--queue N] TAP_A TAP_B
 *
 * Forwards every frame read from one tap to the other (this kernel has no
 * netem). Per frame, from one seeded generator: dropped with --drop %,
 * otherwise held back with --reorder % and sent after the next frame in the
 * same direction (or after 2 ms with none), and sent twice with --dup %.
 * Frames wait in a bounded queue per direction (--queue, default 256) when a
 * tap is full; beyond it they are dropped and counted. SIGTERM or SIGINT ends
 * it; the counters go to stdout at the end (and on SIGUSR1).
 */

#define FRAME_MAX 65550
#define HOLD_NS   2000000ull

struct dir {
    const char *name;
    int in, out;
    uint64_t rx, tx, dropped, reordered, duplicated, overflow;
    uint8_t held[FRAME_MAX]; /* a frame kept back for reordering */
    size_t held_len;
    uint64_t held_at;
    uint8_t (*queue)[FRAME_MAX]; /* frames the out tap refused for now */
    size_t *qlen;
    size_t qhead, qn, qcap;
};

static volatile sig_atomic_t stop, dump;
static uint64_t rng;
static unsigned p_drop, p_reorder, p_dup; /* in 1/10000 */

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        dump = 1;
    else
        stop = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned roll(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 0x2545F4914F6CDD1Dull) >> 33) % 10000;
}

static int tap_open(const char *name)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        perror("netbridge: /dev/net/tun");
        exit(1);
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (strlen(name) >= IFNAMSIZ) {
        fprintf(stderr, "netbridge: tap name '%s' is too long\n", name);
        exit(1);
    }
    strcpy(ifr.ifr_name, name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        fprintf(stderr, "netbridge: attaching to tap '%s': %s\n", name, strerror(errno));
        exit(1);
    }
    return fd;
}

/* Writes one frame now, or queues it while the tap is full. */
static void emit(struct dir *d, const uint8_t *f, size_t len)
{
    if (d->qn == 0) {
        ssize_t w = write(d->out, f, len);
        if (w == (ssize_t)len) {
            d->tx++;
            return;
        }
        if (w >= 0 || (errno != EAGAIN && errno != ENOBUFS)) {
            d->overflow++; /* the tap refused it for good */
            return;
        }
    }
    if (d->qn == d->qcap) {
        d->overflow++;
        return;
    }
    size_t slot = (d->qhead + d->qn) % d->qcap;
    memcpy(d->queue[slot], f, len);
    d->qlen[slot] = len;
    d->qn++;
}

static void flush_queue(struct dir *d)
{
    while (d->qn > 0) {
        ssize_t w = write(d->out, d->queue[d->qhead], d->qlen[d->qhead]);
        if (w < 0 && (errno == EAGAIN || errno == ENOBUFS))
            return;
        if (w == (ssize_t)d->qlen[d->qhead])
            d->tx++;
        else
            d->overflow++;
        d->qhead = (d->qhead + 1) % d->qcap;
        d->qn--;
    }
}

static void release_held(struct dir *d)
{
    if (d->held_len > 0) {
        emit(d, d->held, d->held_len);
        d->held_len = 0;
    }
}

static void forward(struct dir *d, const uint8_t *f, size_t len)
{
    d->rx++;
    if (roll() < p_drop) {
        d->dropped++;
        return;
    }
    if (d->held_len == 0 && roll() < p_reorder) {
        memcpy(d->held, f, len);
        d->held_len = len;
        d->held_at = now_ns();
        d->reordered++;
        return;
    }
    emit(d, f, len);
    if (roll() < p_dup) {
        emit(d, f, len);
        d->duplicated++;
    }
    release_held(d); /* it now arrives after the frame that followed it */
}

static void report(const struct dir *d)
{
    printf("%s: rx %llu tx %llu dropped %llu reordered %llu duplicated %llu overflow %llu\n",
           d->name, (unsigned long long)d->rx, (unsigned long long)d->tx,
           (unsigned long long)d->dropped, (unsigned long long)d->reordered,
           (unsigned long long)d->duplicated, (unsigned long long)d->overflow);
    fflush(stdout);
}

static unsigned percent(const char *s)
{
    double v = atof(s);
    if (v < 0 || v > 100) {
        fprintf(stderr, "netbridge: '%s' is not a percentage\n", s);
        exit(1);
    }
    return (unsigned)(v * 100 + 0.5);
}

int main(int argc, char **argv)
{
    static uint8_t frame[FRAME_MAX];
    static struct dir dirs[2];
    size_t qcap = 256;
    int i;

    rng = 1;
    for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--seed") == 0)
            rng = strtoull(argv[i + 1], NULL, 0) * 0x9E3779B97F4A7C15ull | 1;
        else if (strcmp(argv[i], "--drop") == 0)
            p_drop = percent(argv[i + 1]);
        else if (strcmp(argv[i], "--reorder") == 0)
            p_reorder = percent(argv[i + 1]);
        else if (strcmp(argv[i], "--dup") == 0)
            p_dup = percent(argv[i + 1]);
        else if (strcmp(argv[i], "--queue") == 0)
            qcap = strtoul(argv[i + 1], NULL, 0);
        else
            break;
    }
    if (argc - i != 2 || qcap == 0 || qcap > 4096) {
        fprintf(stderr, "usage: netbridge [--seed N] [--drop PCT] [--reorder PCT] [--dup PCT] "
                        "[--queue 1..4096] TAP_A TAP_B\n");
        return 1;
    }
    int a = tap_open(argv[i]), b = tap_open(argv[i + 1]);
    dirs[0] = (struct dir){.name = "a->b", .in = a, .out = b, .qcap = qcap};
    dirs[1] = (struct dir){.name = "b->a", .in = b, .out = a, .qcap = qcap};
    for (int k = 0; k < 2; k++) {
        dirs[k].queue = malloc(qcap * FRAME_MAX);
        dirs[k].qlen = calloc(qcap, sizeof(size_t));
        if (dirs[k].queue == NULL || dirs[k].qlen == NULL) {
            fprintf(stderr, "netbridge: out of memory\n");
            return 1;
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGUSR1, on_signal);
    printf("netbridge: %s <-> %s, drop %.2f%% reorder %.2f%% dup %.2f%% queue %zu\n", argv[i],
           argv[i + 1], p_drop / 100.0, p_reorder / 100.0, p_dup / 100.0, qcap);
    fflush(stdout);
    while (!stop) {
        struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        for (int k = 0; k < 2; k++)
            if (dirs[k].qn > 0)
                p[1 - k].events |= POLLOUT; /* dirs[k].out is p[1-k].fd */
        int timeout = dirs[0].held_len || dirs[1].held_len ? 1 : 200;
        if (poll(p, 2, timeout) < 0 && errno != EINTR)
            break;
        /* A deleted tap keeps its fd but reports an error forever: stop, don't spin. */
        if ((p[0].revents | p[1].revents) & (POLLERR | POLLHUP | POLLNVAL)) {
            fprintf(stderr, "netbridge: tap %s is gone\n",
                    (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) ? argv[i] : argv[i + 1]);
            break;
        }
        if (dump) {
            dump = 0;
            report(&dirs[0]);
            report(&dirs[1]);
        }
        for (int k = 0; k < 2; k++) {
            flush_queue(&dirs[k]);
            /* A bounded batch per turn keeps both directions moving. */
            for (int n = 0; n < 64; n++) {
                ssize_t r = read(dirs[k].in, frame, sizeof(frame));
                if (r <= 0)
                    break;
                forward(&dirs[k], frame, (size_t)r);
            }
            if (dirs[k].held_len && now_ns() - dirs[k].held_at >= HOLD_NS)
                release_held(&dirs[k]);
        }
    }
    report(&dirs[0]);
    report(&dirs[1]);
    return 0;
}
