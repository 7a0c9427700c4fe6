/* tcpclient.c: the host's side of the TCP tests and benchmarks: streams, churn, many connections.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../tcp/stream.h"

/*
 * Every subcommand prints one result line and exits 0 only if every byte
 * checked was right; each has a time bound (--deadline SECONDS, default 120).
 *
 *   gen SEED BYTES                 the stream of SEED on stdout (tests/tcp/stream.h)
 *   send HOST PORT SEED BYTES      connects, sends the stream (seed 0: zeros), prints the answer
 *   recv HOST PORT                 connects, reads to EOF, prints bytes, seconds, Mbit/s
 *   churn HOST PORT N PAR          N short echo connections, PAR at a time
 *   conns HOST PORT N              N connections open at once, each echoes its own line
 *   rr HOST PORT N                 N 1-byte request/responses over one connection
 *   idle HOST PORT N SECONDS       holds N connections open for SECONDS
 *   flood HOST PORT N SECONDS      starts N connections at once, waits up to 10 s for each to
 *                                  connect or be refused, holds those still open (not reset
 *                                  right after connecting) for SECONDS
 *   stall HOST PORT N SECONDS SRC  N connections from address SRC that send but never read
 *                                  (a 2 KiB receive buffer: the peer sees a zero window), held
 *                                  for SECONDS
 *   serve-sink PORT | serve-source PORT SEED BYTES [BLOCK]   the kernel-side peer for
 *                                  bench/net.sh; the source writes BLOCK bytes a call (65536)
 */

static double deadline_s = 120;
static double t_start;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_deadline(const char *what)
{
    if (now() - t_start > deadline_s) {
        fprintf(stderr, "tcpclient: %s: deadline of %.0f s passed\n", what, deadline_s);
        exit(2);
    }
}

/* The peer: an IPv4 or an IPv6 address (fe80::1%tap0 names its interface). */
struct peer {
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } u;
    socklen_t len;
};

static struct peer addr_of(const char *host, const char *port)
{
    struct peer a;
    char h[64];
    const char *scope = strchr(host, '%');

    memset(&a, 0, sizeof(a));
    if (inet_pton(AF_INET, host, &a.u.in.sin_addr) == 1) {
        a.u.in.sin_family = AF_INET;
        a.u.in.sin_port = htons((uint16_t)atoi(port));
        a.len = sizeof(a.u.in);
        return a;
    }
    snprintf(h, sizeof(h), "%.*s", scope ? (int)(scope - host) : (int)strlen(host), host);
    if (inet_pton(AF_INET6, h, &a.u.in6.sin6_addr) != 1 ||
        (scope && (a.u.in6.sin6_scope_id = if_nametoindex(scope + 1)) == 0)) {
        fprintf(stderr, "tcpclient: '%s' is not an IPv4 or IPv6 address\n", host);
        exit(2);
    }
    a.u.in6.sin6_family = AF_INET6;
    a.u.in6.sin6_port = htons((uint16_t)atoi(port));
    a.len = sizeof(a.u.in6);
    return a;
}

static int dial(const struct peer *a)
{
    int fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {10, 0};

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, &a->u.sa, a->len) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int cmd_gen(uint64_t seed, uint64_t bytes)
{
    uint8_t buf[65536];
    struct gen g;

    gen_init(&g, seed);
    while (bytes > 0) {
        size_t n = bytes < sizeof(buf) ? (size_t)bytes : sizeof(buf);
        gen_fill(&g, buf, n);
        if (write_all(1, buf, n) < 0)
            return 1;
        bytes -= n;
    }
    return 0;
}

static void print_rate(FILE *to, const char *what, uint64_t bytes, double secs)
{
    fprintf(to, "%s %llu bytes in %.3f s: %.1f Mbit/s\n", what, (unsigned long long)bytes, secs,
            secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0.0);
}

/* Sends the stream and prints the peer's answer (the sink's "ok N"). */
static int cmd_send(const struct peer *a, uint64_t seed, uint64_t bytes)
{
    uint8_t buf[65536];
    char answer[128];
    struct gen g;
    uint64_t left = bytes;
    double t0 = now();
    ssize_t n;
    size_t got = 0;
    int fd = dial(a);

    if (fd < 0) {
        perror("tcpclient: connect");
        return 1;
    }
    gen_init(&g, seed);
    while (left > 0) {
        size_t k = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        gen_fill(&g, buf, k);
        if (write_all(fd, buf, k) < 0) {
            perror("tcpclient: send");
            return 1;
        }
        left -= k;
        check_deadline("send");
    }
    shutdown(fd, SHUT_WR);
    while (got < sizeof(answer) - 1 && (n = read(fd, answer + got, sizeof(answer) - 1 - got)) > 0)
        got += (size_t)n;
    double secs = now() - t0;
    answer[got] = '\0';
    close(fd);
    print_rate(stdout, "sent", bytes, secs);
    printf("answer: %s", got ? answer : "(none)\n");
    return 0;
}

/* Reads to EOF; the data goes to stdout when (out) is set. */
static int cmd_recv(const struct peer *a, int out)
{
    uint8_t buf[65536];
    uint64_t total = 0;
    double t0 = now();
    ssize_t n;
    int fd = dial(a);

    if (fd < 0) {
        perror("tcpclient: connect");
        return 1;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if (out && write_all(1, buf, (size_t)n) < 0)
            return 1;
        total += (uint64_t)n;
        check_deadline("recv");
    }
    if (n < 0) {
        perror("tcpclient: recv");
        return 1;
    }
    close(fd);
    print_rate(out ? stderr : stdout, "received", total, now() - t0);
    return 0;
}

/* One short connection: a line out, the same line back, EOF. */
static int one_echo(const struct peer *a, unsigned id)
{
    char msg[32], back[64];
    size_t got = 0, len = (size_t)snprintf(msg, sizeof(msg), "conn %u\n", id);
    ssize_t n;
    int fd = dial(a), ok;

    if (fd < 0)
        return -1;
    if (write_all(fd, msg, len) < 0 || shutdown(fd, SHUT_WR) < 0) {
        close(fd);
        return -1;
    }
    while (got < sizeof(back) && (n = read(fd, back + got, sizeof(back) - got)) > 0)
        got += (size_t)n;
    ok = got == len && memcmp(back, msg, len) == 0;
    close(fd);
    return ok ? 0 : -1;
}

struct churn {
    const struct peer *a;
    unsigned n, next, fails;
    pthread_mutex_t mu;
};

static void *churn_worker(void *arg)
{
    struct churn *c = arg;

    for (;;) {
        pthread_mutex_lock(&c->mu);
        unsigned id = c->next < c->n ? c->next++ : UINT32_MAX;
        pthread_mutex_unlock(&c->mu);
        if (id == UINT32_MAX || now() - t_start > deadline_s)
            return NULL;
        if (one_echo(c->a, id) < 0) {
            pthread_mutex_lock(&c->mu);
            if (c->fails++ < 5)
                fprintf(stderr, "tcpclient: connection %u failed: %s\n", id, strerror(errno));
            pthread_mutex_unlock(&c->mu);
        }
    }
}

static int cmd_churn(const struct peer *a, unsigned n, unsigned par)
{
    struct churn c = {.a = a, .n = n, .mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t th[256];
    double t0 = now();

    if (par == 0 || par > 256)
        par = 256;
    for (unsigned i = 0; i < par; i++)
        pthread_create(&th[i], NULL, churn_worker, &c);
    for (unsigned i = 0; i < par; i++)
        pthread_join(th[i], NULL);
    double secs = now() - t0;
    unsigned done = c.next < n ? c.next : n;
    printf("churn: %u of %u connections echoed, %u failed, %.2f s, %.0f conn/s\n", done - c.fails,
           n, c.fails, secs, secs > 0 ? done / secs : 0.0);
    return c.fails == 0 && done == n ? 0 : 1;
}

static void raise_nofile(unsigned n)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < n + 64) {
        r.rlim_cur = r.rlim_max < n + 64 ? r.rlim_max : n + 64;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

/* N connections open at once; then each sends its own line, then each reads it back. */
static int cmd_conns(const struct peer *a, unsigned n)
{
    int *fds = calloc(n, sizeof(int));
    unsigned ok = 0;
    double t0 = now();

    raise_nofile(n);
    for (unsigned i = 0; i < n; i++) {
        fds[i] = dial(a);
        if (fds[i] < 0) {
            fprintf(stderr, "tcpclient: connection %u: %s\n", i, strerror(errno));
            return 1;
        }
        check_deadline("conns");
    }
    printf("conns: %u open\n", n);
    for (unsigned i = 0; i < n; i++) {
        char msg[32];
        size_t len = (size_t)snprintf(msg, sizeof(msg), "connection %u\n", i);
        if (write_all(fds[i], msg, len) < 0)
            return 1;
    }
    for (unsigned i = 0; i < n; i++) {
        char msg[32], back[64];
        size_t len = (size_t)snprintf(msg, sizeof(msg), "connection %u\n", i), got = 0;
        ssize_t r;
        while (got < len && (r = read(fds[i], back + got, sizeof(back) - got)) > 0)
            got += (size_t)r;
        if (got == len && memcmp(back, msg, len) == 0)
            ok++;
        else if (ok + 5 > i)
            fprintf(stderr, "tcpclient: connection %u echoed %zu bytes wrong\n", i, got);
        check_deadline("conns");
    }
    for (unsigned i = 0; i < n; i++)
        close(fds[i]);
    printf("conns: %u of %u echoed correctly in %.2f s\n", ok, n, now() - t0);
    free(fds);
    return ok == n ? 0 : 1;
}

static int cmd_rr(const struct peer *a, unsigned n)
{
    int fd = dial(a), one = 1;
    double t0;
    char c = 'x';

    if (fd < 0) {
        perror("tcpclient: connect");
        return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    t0 = now();
    for (unsigned i = 0; i < n; i++) {
        if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1) {
            fprintf(stderr, "tcpclient: request %u failed\n", i);
            return 1;
        }
        if ((i & 1023) == 0)
            check_deadline("rr");
    }
    double secs = now() - t0;
    close(fd);
    printf("rr: %u transactions in %.3f s: %.0f /s, %.1f us each\n", n, secs, n / secs,
           secs * 1e6 / n);
    return 0;
}

static int cmd_idle(const struct peer *a, unsigned n, double secs)
{
    int *fds = calloc(n, sizeof(int));

    raise_nofile(n);
    for (unsigned i = 0; i < n; i++) {
        fds[i] = dial(a);
        if (fds[i] < 0) {
            fprintf(stderr, "tcpclient: connection %u: %s\n", i, strerror(errno));
            return 1;
        }
    }
    printf("idle: %u open\n", n);
    fflush(stdout);
    usleep((useconds_t)(secs * 1e6));
    for (unsigned i = 0; i < n; i++)
        close(fds[i]);
    return 0;
}

/* Connects (fd, nonblocking) to (a); 0 once started, -1 on an immediate error. */
static int start_connect(int fd, const struct peer *a)
{
    if (connect(fd, &a->u.sa, a->len) == 0 || errno == EINPROGRESS)
        return 0;
    return -1;
}

static int cmd_flood(const struct peer *a, unsigned n, double secs)
{
    int *fds = calloc(n, sizeof(int));
    char *done = calloc(n, 1); /* resolved: connected, refused or failed */
    struct pollfd *q = calloc(n, sizeof(*q));
    unsigned *idx = calloc(n, sizeof(*idx));
    unsigned connected = 0, refused = 0, failed = 0, pending = 0;
    double t0 = now();

    raise_nofile(n);
    for (unsigned i = 0; i < n; i++) {
        fds[i] = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fds[i] < 0 || start_connect(fds[i], a) < 0) {
            failed++;
            done[i] = 1;
            if (fds[i] >= 0)
                close(fds[i]);
            fds[i] = -1;
            continue;
        }
        pending++;
    }
    while (pending > 0 && now() - t0 < 10) {
        unsigned k = 0;
        for (unsigned i = 0; i < n; i++) {
            if (done[i])
                continue;
            q[k].fd = fds[i];
            q[k].events = POLLOUT;
            q[k].revents = 0;
            idx[k++] = i;
        }
        poll(q, k, 200);
        for (unsigned j = 0; j < k; j++) {
            unsigned i = idx[j];
            int err = 0;
            socklen_t len = sizeof(err);

            if (q[j].revents == 0)
                continue;
            getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len);
            done[i] = 1;
            pending--;
            if (err == 0) {
                connected++;
                continue;
            }
            if (err == ECONNREFUSED || err == ECONNRESET)
                refused++;
            else
                failed++;
            close(fds[i]);
            fds[i] = -1;
        }
    }
    failed += pending; /* neither connected nor refused in 10 s */
    /* A connection may be reset after it connected: a SYN cookie's ACK the
     * server had no room for, or never got. Each sends a byte: those that
     * get it back are the server's; the others are reset, or silent for 5 s
     * (counted as failed). done[i]: 0 waiting for the echo, 1 echoed. */
    unsigned reset = 0, echoed = 0, silent = 0;
    for (unsigned i = 0; i < n; i++) {
        done[i] = 0;
        if (fds[i] >= 0 && send(fds[i], "x", 1, MSG_NOSIGNAL) != 1) {
            reset++;
            close(fds[i]);
            fds[i] = -1;
        }
    }
    for (double t1 = now(); now() - t1 < 5;) {
        unsigned k = 0;
        for (unsigned i = 0; i < n; i++) {
            if (fds[i] < 0 || done[i])
                continue;
            q[k].fd = fds[i];
            q[k].events = POLLIN;
            q[k].revents = 0;
            idx[k++] = i;
        }
        if (k == 0)
            break;
        poll(q, k, 100);
        for (unsigned j = 0; j < k; j++) {
            unsigned i = idx[j];
            char c;
            if (q[j].revents == 0)
                continue;
            if (recv(fds[i], &c, 1, MSG_DONTWAIT) == 1) {
                done[i] = 1;
                echoed++;
                continue;
            }
            reset++;
            close(fds[i]);
            fds[i] = -1;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] >= 0 && !done[i]) {
            silent++;
            close(fds[i]);
            fds[i] = -1;
        }
    }
    printf("flood: %u connected, %u refused, %u failed in %.2f s; %u reset after connecting\n",
           echoed, refused, failed + silent, now() - t0, reset);
    fflush(stdout);
    usleep((useconds_t)(secs * 1e6));
    for (unsigned i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    free(done);
    free(q);
    free(idx);
    return 0;
}

static int cmd_stall(const struct peer *a, unsigned n, double secs, const char *src)
{
    struct sockaddr_in from = {.sin_family = AF_INET};
    static uint8_t junk[262144];
    unsigned long long total = 0;
    int rcv = 2048;

    if (inet_pton(AF_INET, src, &from.sin_addr) != 1) {
        fprintf(stderr, "tcpclient: '%s' is not an IPv4 address\n", src);
        return 2;
    }
    raise_nofile(n);
    memset(junk, 'z', sizeof(junk));
    for (unsigned i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return 1;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
        if (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
            connect(fd, &a->u.sa, a->len) < 0) {
            fprintf(stderr, "tcpclient: stall connection %u: %s\n", i, strerror(errno));
            return 1;
        }
        /* Sends until the peer's window and ours are full: it echoes into
         * our shut window until its buffers fill, then stops reading. */
        double t0 = now();
        int fl = 1;
        while (now() - t0 < 2) {
            ssize_t w = send(fd, junk, sizeof(junk), MSG_DONTWAIT);
            if (w > 0) {
                total += (unsigned long long)w;
                fl = 1;
                continue;
            }
            if (w < 0 && errno != EAGAIN)
                break;
            if (!fl)
                break;
            fl = 0;
            usleep(100000); /* once more after the window settles */
        }
        check_deadline("stall");
    }
    printf("stall: %u open, %llu bytes sent, none read\n", n, total);
    fflush(stdout);
    usleep((useconds_t)(secs * 1e6));
    return 0;
}

/* Both families: IPv4 peers arrive as mapped addresses. */
static int listen_on(const char *port)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port)),
                             .sin6_addr = IN6ADDR_ANY_INIT};
    int fd = socket(AF_INET6, SOCK_STREAM, 0), one = 1, zero = 0;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
        perror("tcpclient: listen");
        exit(2);
    }
    return fd;
}

/* The kernel-side servers for bench/net.sh: one connection each, then exit. */
static int cmd_serve(const char *port, int source, uint64_t seed, uint64_t bytes, size_t block)
{
    int l = listen_on(port), fd;
    uint8_t buf[65536];
    ssize_t n;

    fd = accept(l, NULL, NULL);
    if (fd < 0)
        return 1;
    if (source) {
        struct gen g;
        gen_init(&g, seed);
        while (bytes > 0) {
            size_t k = bytes < block ? (size_t)bytes : block;
            gen_fill(&g, buf, k);
            if (write_all(fd, buf, k) < 0)
                return 1;
            bytes -= k;
        }
    } else {
        uint64_t total = 0;
        char msg[64];
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            total += (uint64_t)n;
        snprintf(msg, sizeof(msg), "ok %llu\n", (unsigned long long)total);
        write_all(fd, msg, strlen(msg));
    }
    close(fd);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: tcpclient [--deadline S] gen|send|recv|churn|conns|rr|idle|flood|stall|"
                    "serve-sink|serve-source ARGS (see tests/net/tcpclient.c)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    t_start = now();
    if (argc > 2 && strcmp(argv[1], "--deadline") == 0) {
        deadline_s = atof(argv[2]);
        argc -= 2;
        argv += 2;
    }
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "gen") == 0 && argc == 4)
        return cmd_gen(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0));
    if (strcmp(cmd, "serve-sink") == 0 && argc == 3)
        return cmd_serve(argv[2], 0, 0, 0, 0);
    if (strcmp(cmd, "serve-source") == 0 && (argc == 5 || argc == 6)) {
        size_t block = argc == 6 ? strtoull(argv[5], NULL, 0) : 65536;
        if (block == 0 || block > 65536)
            usage();
        return cmd_serve(argv[2], 1, strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0),
                         block);
    }
    if (argc < 4)
        usage();
    struct peer a = addr_of(argv[2], argv[3]);
    if (strcmp(cmd, "send") == 0 && argc == 6)
        return cmd_send(&a, strtoull(argv[4], NULL, 0), strtoull(argv[5], NULL, 0));
    if (strcmp(cmd, "recv") == 0 && argc == 4)
        return cmd_recv(&a, 0);
    if (strcmp(cmd, "recv-out") == 0 && argc == 4)
        return cmd_recv(&a, 1);
    if (strcmp(cmd, "churn") == 0 && argc == 6)
        return cmd_churn(&a, (unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]));
    if (strcmp(cmd, "conns") == 0 && argc == 5)
        return cmd_conns(&a, (unsigned)atoi(argv[4]));
    if (strcmp(cmd, "rr") == 0 && argc == 5)
        return cmd_rr(&a, (unsigned)atoi(argv[4]));
    if (strcmp(cmd, "idle") == 0 && argc == 6)
        return cmd_idle(&a, (unsigned)atoi(argv[4]), atof(argv[5]));
    if (strcmp(cmd, "flood") == 0 && argc == 6)
        return cmd_flood(&a, (unsigned)atoi(argv[4]), atof(argv[5]));
    if (strcmp(cmd, "stall") == 0 && argc == 7)
        return cmd_stall(&a, (unsigned)atoi(argv[4]), atof(argv[5]), argv[6]);
    usage();
    return 2;
}
