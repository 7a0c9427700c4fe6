/* socket.c: the socket stack: stack.h's operations over the host's sockets (unix target only). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mirage/error.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/stack.h"
#include "mirage/time.h"
#include "mirage/platform.h"

MIRAGE_LOG_SOURCE(sock_log, "socket", "the socket stack (host sockets)");

/*
 * Every socket is non-blocking and registered once with the binding's epoll
 * set (hostfd.c); its fibers sleep on the socket's own condition. One poller
 * fiber sleeps on the pseudo-device MIRAGE_HOSTFD_HANDLE while anyone waits and
 * broadcasts the condition of each socket with an event, so a ready socket
 * wakes only its own fibers, whatever the number of sockets.
 */
struct waitable {
    struct mirage_cond cond;
    int fd;
};

static struct {
    struct mirage_fiber *fiber; /* NULL until first needed, or after it ended */
    struct mirage_cond idle;    /* the poller sleeps here while nobody waits */
    unsigned waiters;
} poller;

static int poll_loop(void *arg)
{
    (void)arg;
    for (;;) {
        void *tags[64];
        size_t n;
        int r;

        if (poller.waiters == 0)
            r = mirage_cond_wait(&poller.idle, MIRAGE_FOREVER);
        else
            r = mirage_wait_device(MIRAGE_HOSTFD_HANDLE, MIRAGE_FOREVER);
        if (r == MIRAGE_ECANCELED || r == MIRAGE_EDEADLK)
            break; /* nothing left to serve: started again when needed */
        do {
            n = mirage_hostfd_events(tags, 64);
            for (size_t i = 0; i < n; i++)
                mirage_cond_broadcast(&((struct waitable *)tags[i])->cond);
        } while (n == 64);
    }
    poller.fiber = NULL;
    return 0;
}

/* Suspends the caller until (w)'s socket has an event or (deadline). */
static int wait_fd(struct waitable *w, uint64_t deadline)
{
    int r;

    if (poller.fiber == NULL) {
        poller.fiber = mirage_fiber_spawn("socket-poller", poll_loop, NULL, 0);
        if (poller.fiber == NULL)
            return MIRAGE_ENOMEM;
        mirage_fiber_service(poller.fiber); /* the stack's, not the caller's */
        mirage_fiber_detach(poller.fiber);
    }
    if (poller.waiters++ == 0)
        mirage_cond_signal(&poller.idle);
    r = mirage_cond_wait(&w->cond, deadline);
    poller.waiters--;
    return r;
}

static int from_errno(int e)
{
    switch (e) {
    case EAGAIN:
        return MIRAGE_EAGAIN;
    case ECONNRESET:
    case ECONNABORTED:
        return MIRAGE_ECONNRESET;
    case EPIPE:
        return MIRAGE_EPIPE;
    case ECONNREFUSED:
        return MIRAGE_ECONNREFUSED;
    case ETIMEDOUT:
        return MIRAGE_ETIMEDOUT;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
        return MIRAGE_EHOSTUNREACH;
    case EADDRINUSE:
    case EADDRNOTAVAIL:
        return MIRAGE_EADDRINUSE;
    case EMSGSIZE:
        return MIRAGE_EMSGSIZE;
    case ENOMEM:
    case ENOBUFS:
    case EMFILE:
    case ENFILE:
        return MIRAGE_ENOMEM;
    case ENOTCONN:
        return MIRAGE_ENOTCONN;
    case EINVAL:
        return MIRAGE_EINVAL;
    default:
        return MIRAGE_EIO;
    }
}

/* A non-blocking socket registered with the event loop under (w). */
static int open_socket(int type, struct waitable *w)
{
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int r;

    if (fd < 0)
        return from_errno(errno);
    w->cond = (struct mirage_cond)MIRAGE_COND_INIT;
    w->fd = fd;
    r = mirage_hostfd_add(fd, w);
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

static void close_socket(struct waitable *w)
{
    if (w->fd >= 0) {
        mirage_hostfd_del(w->fd);
        close(w->fd);
        w->fd = -1;
    }
    mirage_cond_broadcast(&w->cond);
}

static struct sockaddr_in sockaddr_of(const uint8_t a[4], uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

    memcpy(&sa.sin_addr, a, 4);
    return sa;
}

static struct mirage_ipaddr ipaddr_of(const struct sockaddr_in *sa)
{
    struct mirage_ipaddr a = {.family = 4};

    memcpy(a.a, &sa->sin_addr, 4);
    return a;
}

/* ---- the stack ------------------------------------------------------------ */

struct udp_listener;

struct sockstack {
    struct mirage_stack base;
    uint8_t addr[4];
    struct udp_listener *udp; /* listeners, a list */
    struct waitable send;     /* the unbound socket for datagrams from port 0; fd -1 until used */
};

static int bind_to(int fd, const uint8_t addr[4], uint16_t port)
{
    struct sockaddr_in sa = sockaddr_of(addr, port);
    int one = 1;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return from_errno(errno);
    return 0;
}

/* ---- UDP ------------------------------------------------------------------ */

#define UDP_MAX 65507 /* 65535 minus the IP and UDP headers */

struct udp_listener {
    struct waitable w;
    struct udp_listener *next;
    uint16_t port;
    mirage_udp_fn fn;
    void *ctx;
    int closing;
    uint8_t buf[UDP_MAX + 1];
};

/* One fiber per listener receives and calls back; it frees the listener once
 * unlisten has closed it, so unlisten never waits (even from the callback). */
static int udp_loop(void *arg)
{
    struct udp_listener *l = arg;

    while (!l->closing) {
        struct sockaddr_in from;
        char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct iovec iov = {l->buf, sizeof(l->buf)};
        struct msghdr mh = {.msg_name = &from,
                            .msg_namelen = sizeof(from),
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cbuf,
                            .msg_controllen = sizeof(cbuf)};
        struct mirage_udp_rx rx = {.dst = {.family = 4}, .dst_port = l->port};
        ssize_t n = recvmsg(l->w.fd, &mh, MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                if (wait_fd(&l->w, MIRAGE_FOREVER) == MIRAGE_ECANCELED)
                    break;
                continue;
            }
            /* An ICMP error queued for an earlier send, for example: not fatal. */
            mirage_log_debug(&sock_log, "udp port %u: %s", l->port, strerror(errno));
            continue;
        }
        if (mh.msg_flags & MSG_TRUNC)
            continue; /* cannot happen with a 64 KiB buffer; never hand out a cut datagram */
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                memcpy(rx.dst.a, &pi.ipi_addr, 4);
            }
        rx.src = ipaddr_of(&from);
        rx.src_port = ntohs(from.sin_port);
        rx.data = l->buf;
        rx.len = (size_t)n;
        l->fn(l->ctx, &rx);
    }
    close_socket(&l->w);
    free(l);
    return 0;
}

static int udp_listen(struct mirage_stack *st, uint16_t port, mirage_udp_fn fn, void *ctx)
{
    struct sockstack *s = (struct sockstack *)st;
    struct udp_listener *l;
    struct mirage_fiber *f;
    int one = 1, r;

    if (port == 0 || fn == NULL)
        return MIRAGE_EINVAL;
    for (l = s->udp; l != NULL; l = l->next)
        if (l->port == port)
            return MIRAGE_EINVAL;
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return MIRAGE_ENOMEM;
    r = open_socket(SOCK_DGRAM, &l->w);
    if (r < 0) {
        free(l);
        return r;
    }
    setsockopt(l->w.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    r = bind_to(l->w.fd, s->addr, port);
    f = r == 0 ? mirage_fiber_spawn("udp-listener", udp_loop, l, 0) : NULL;
    mirage_fiber_service(f);
    if (f == NULL) {
        close_socket(&l->w);
        free(l);
        if (r == 0)
            return MIRAGE_ENOMEM;
        mirage_log_warn(&sock_log, "udp port %u: %s", port, mirage_strerror(r));
        return r;
    }
    mirage_fiber_detach(f);
    l->port = port;
    l->fn = fn;
    l->ctx = ctx;
    l->next = s->udp;
    s->udp = l;
    return 0;
}

static void udp_close(struct udp_listener *l)
{
    l->closing = 1;
    mirage_cond_broadcast(&l->w.cond);
}

static int udp_unlisten(struct mirage_stack *st, uint16_t port)
{
    struct sockstack *s = (struct sockstack *)st;

    for (struct udp_listener **p = &s->udp; *p != NULL; p = &(*p)->next) {
        if ((*p)->port == port) {
            struct udp_listener *l = *p;
            *p = l->next;
            udp_close(l);
            return 0;
        }
    }
    return MIRAGE_ENOENT;
}

static int udp_write(struct mirage_stack *st, uint16_t src_port, const struct mirage_ipaddr *dst,
                     uint16_t dst_port, int ttl, const void *data, size_t len)
{
    struct sockstack *s = (struct sockstack *)st;
    struct sockaddr_in to;
    struct waitable tmp = {.fd = -1};
    int fd = -1, r = 0;
    ssize_t n;

    if (dst == NULL || dst->family != 4 || dst_port == 0)
        return MIRAGE_EINVAL;
    if (len > UDP_MAX)
        return MIRAGE_EMSGSIZE;
    to = sockaddr_of(dst->a, dst_port);
    /* From a listened port, the listener's socket sends: replies come from it. */
    for (struct udp_listener *l = s->udp; src_port != 0 && l != NULL; l = l->next)
        if (l->port == src_port)
            fd = l->w.fd;
    if (fd < 0 && src_port == 0) {
        if (s->send.fd < 0) {
            r = open_socket(SOCK_DGRAM, &s->send);
            if (r < 0)
                return r;
            r = bind_to(s->send.fd, s->addr, 0);
        }
        fd = s->send.fd;
    } else if (fd < 0) {
        /* A one-off port: bound for this datagram only. */
        r = open_socket(SOCK_DGRAM, &tmp);
        if (r < 0)
            return r;
        fd = tmp.fd;
        r = bind_to(fd, s->addr, src_port);
    }
    if (r == 0) {
        int one = 1, def = -1;
        setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
        if (ttl > 0)
            setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
        n = sendto(fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
        r = n < 0 ? from_errno(errno) : 0;
        if (ttl > 0)
            setsockopt(fd, IPPROTO_IP, IP_TTL, &def, sizeof(def));
    }
    if (tmp.fd >= 0)
        close_socket(&tmp);
    return r;
}

/* ---- TCP flows ------------------------------------------------------------ */

struct tcp_listener;
struct sock_flow {
    struct mirage_flow base;
    struct waitable w;
    struct tcp_listener *origin; /* counted in its max_conns until closed */
};

static void listener_release(struct tcp_listener *l);

static int flow_read(struct mirage_flow *fl, void *buf, size_t cap, size_t *got, uint64_t deadline)
{
    struct sock_flow *f = (struct sock_flow *)fl;

    *got = 0;
    if (cap == 0)
        return MIRAGE_EINVAL;
    for (;;) {
        ssize_t n = recv(f->w.fd, buf, cap, MSG_DONTWAIT);
        int r;

        if (n >= 0) {
            *got = (size_t)n;
            return 0;
        }
        if (errno != EAGAIN && errno != EINTR)
            return from_errno(errno);
        r = wait_fd(&f->w, deadline);
        if (r < 0)
            return r;
    }
}

static int flow_writev(struct mirage_flow *fl, const struct mirage_iovec *iov, size_t n,
                       uint64_t deadline)
{
    struct sock_flow *f = (struct sock_flow *)fl;
    size_t i = 0, off = 0; /* the first byte not yet written: iov[i] at off */

    while (i < n) {
        struct iovec v[64];
        struct msghdr mh = {.msg_iov = v};
        ssize_t sent;

        for (size_t j = i, o = off; j < n && mh.msg_iovlen < 64; j++, o = 0) {
            if (iov[j].len == o)
                continue;
            v[mh.msg_iovlen].iov_base = (char *)iov[j].base + o;
            v[mh.msg_iovlen].iov_len = iov[j].len - o;
            mh.msg_iovlen++;
        }
        if (mh.msg_iovlen == 0)
            return 0;
        sent = sendmsg(f->w.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0) {
            int r;
            if (errno != EAGAIN && errno != EINTR)
                return from_errno(errno);
            r = wait_fd(&f->w, deadline);
            if (r < 0)
                return r;
            continue;
        }
        for (size_t left = (size_t)sent; i < n;) {
            size_t in = iov[i].len - off;
            if (left < in) {
                off += left;
                break;
            }
            left -= in;
            i++;
            off = 0;
        }
    }
    return 0;
}

static int flow_shutdown(struct mirage_flow *fl, int how)
{
    struct sock_flow *f = (struct sock_flow *)fl;
    int h = how == MIRAGE_SHUT_RD ? SHUT_RD : how == MIRAGE_SHUT_WR ? SHUT_WR : SHUT_RDWR;

    if (how < MIRAGE_SHUT_RD || how > MIRAGE_SHUT_RDWR)
        return MIRAGE_EINVAL;
    if (shutdown(f->w.fd, h) < 0)
        return from_errno(errno);
    mirage_cond_broadcast(&f->w.cond);
    return 0;
}

/* The host sends what is queued and closes gracefully after close(). */
static void flow_close(struct mirage_flow *fl)
{
    struct sock_flow *f = (struct sock_flow *)fl;

    close_socket(&f->w);
    if (f->origin)
        listener_release(f->origin);
    free(f);
}

static const struct mirage_flow_ops flow_ops = {flow_read, flow_writev, flow_shutdown, flow_close,
                                              NULL /* on_readable: a fiber per reader */};

static struct sock_flow *new_flow(int fd)
{
    struct sock_flow *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    f->base.ops = &flow_ops;
    f->w.fd = fd;
    if (mirage_hostfd_add(fd, &f->w) < 0) {
        free(f);
        return NULL;
    }
    return f;
}

/* ---- TCP listeners and connect -------------------------------------------- */

struct tcp_listener {
    struct mirage_tcp_listener base;
    struct waitable w;
    struct mirage_tcp_listen_opts opts;
    unsigned accepting; /* fibers inside accept: the last one out frees a closed listener */
    unsigned live;      /* flows accepted and not yet closed; a closed listener waits for them */
    int closed;
};

/* One of (l)'s flows is closed. */
static void listener_release(struct tcp_listener *l)
{
    if (--l->live == 0 && l->closed && l->accepting == 0)
        free(l);
}

/* Resets a connection the listener has no room for, as the direct stack does. */
static void refuse(int fd)
{
    struct linger lg = {1, 0};

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

static int tcp_listen(struct mirage_stack *st, uint16_t port,
                      const struct mirage_tcp_listen_opts *opts, struct mirage_tcp_listener **out)
{
    struct sockstack *s = (struct sockstack *)st;
    struct tcp_listener *l;
    int r;

    if (port == 0)
        return MIRAGE_EINVAL;
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return MIRAGE_ENOMEM;
    l->base.stack = st;
    if (opts != NULL)
        l->opts = *opts;
    r = open_socket(SOCK_STREAM, &l->w);
    if (r >= 0)
        r = bind_to(l->w.fd, s->addr, port);
    if (r >= 0 && listen(l->w.fd, l->opts.backlog ? (int)l->opts.backlog : 128) < 0)
        r = from_errno(errno);
    if (r < 0) {
        mirage_log_warn(&sock_log, "tcp port %u: %s", port, mirage_strerror(r));
        close_socket(&l->w);
        free(l);
        return r;
    }
    *out = &l->base;
    return 0;
}

static void set_keepalive(int fd, const struct mirage_tcp_listen_opts *o)
{
    int on = 1, idle, intvl, cnt;

    if (o->keepalive_after == 0)
        return;
    idle = (int)(o->keepalive_after / MIRAGE_SEC(1));
    intvl = (int)(o->keepalive_interval / MIRAGE_SEC(1));
    cnt = (int)o->keepalive_probes;
    /* The host counts in whole seconds. */
    idle = idle > 0 ? idle : 1;
    intvl = intvl > 0 ? intvl : 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    if (cnt > 0)
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static int tcp_accept(struct mirage_tcp_listener *bl, struct mirage_flow **out,
                      struct mirage_ipaddr *peer, uint16_t *peer_port, uint64_t deadline)
{
    struct tcp_listener *l = (struct tcp_listener *)bl;
    int r = 0;

    l->accepting++;
    while (!l->closed) {
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        int fd = accept4(l->w.fd, (struct sockaddr *)&from, &flen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct sock_flow *f;

        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) {
                r = wait_fd(&l->w, deadline);
                if (r < 0)
                    break;
                continue;
            }
            r = from_errno(errno);
            break;
        }
        if (l->opts.max_conns && l->live >= l->opts.max_conns) {
            refuse(fd);
            continue;
        }
        set_keepalive(fd, &l->opts);
        if (l->opts.user_timeout) {
            unsigned ms = l->opts.user_timeout / 1000000 > UINT32_MAX
                              ? UINT32_MAX
                              : (unsigned)(l->opts.user_timeout / 1000000);
            setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
        }
        f = new_flow(fd);
        if (f == NULL) {
            close(fd);
            r = MIRAGE_ENOMEM;
            break;
        }
        if (peer != NULL)
            *peer = ipaddr_of(&from);
        if (peer_port != NULL)
            *peer_port = ntohs(from.sin_port);
        f->origin = l;
        l->live++;
        *out = &f->base;
        r = 0;
        break;
    }
    if (l->closed && r == 0)
        r = MIRAGE_ENOTCONN;
    if (--l->accepting == 0 && l->closed && l->live == 0)
        free(l);
    return r;
}

static void tcp_unlisten(struct mirage_tcp_listener *bl)
{
    struct tcp_listener *l = (struct tcp_listener *)bl;

    l->closed = 1;
    close_socket(&l->w);
    if (l->accepting == 0 && l->live == 0)
        free(l);
}

static int tcp_connect(struct mirage_stack *st, const struct mirage_ipaddr *dst, uint16_t port,
                       struct mirage_flow **out, uint64_t deadline)
{
    struct sockstack *s = (struct sockstack *)st;
    struct sockaddr_in to;
    struct sock_flow *f;
    int r;

    if (dst == NULL || dst->family != 4 || port == 0)
        return MIRAGE_EINVAL;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return MIRAGE_ENOMEM;
    f->base.ops = &flow_ops;
    r = open_socket(SOCK_STREAM, &f->w);
    if (r >= 0 && memcmp(s->addr, "\0\0\0\0", 4) != 0)
        r = bind_to(f->w.fd, s->addr, 0);
    to = sockaddr_of(dst->a, port);
    if (r >= 0 && connect(f->w.fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
        r = errno == EINPROGRESS ? MIRAGE_EAGAIN : from_errno(errno);
        /* Connected once the socket turns writable; SO_ERROR says how it went. */
        while (r == MIRAGE_EAGAIN) {
            int err = 0;
            socklen_t elen = sizeof(err);
            r = wait_fd(&f->w, deadline);
            if (r < 0)
                break;
            if (getsockopt(f->w.fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
                err = errno;
            if (err != 0)
                r = from_errno(err);
            else if (getpeername(f->w.fd, (struct sockaddr *)&to, &(socklen_t){sizeof(to)}) < 0)
                r = MIRAGE_EAGAIN; /* woken before the handshake ended */
            else
                r = 0;
        }
    }
    if (r < 0) {
        close_socket(&f->w);
        free(f);
        return r;
    }
    *out = &f->base;
    return 0;
}

static size_t ip_addresses(struct mirage_stack *st, struct mirage_ipaddr *out, size_t n)
{
    struct sockstack *s = (struct sockstack *)st;

    if (n > 0) {
        out[0] = (struct mirage_ipaddr){.family = 4};
        memcpy(out[0].a, s->addr, 4);
    }
    return 1;
}

static void disconnect(struct mirage_stack *st)
{
    struct sockstack *s = (struct sockstack *)st;

    while (s->udp != NULL) {
        struct udp_listener *l = s->udp;
        s->udp = l->next;
        udp_close(l);
    }
    close_socket(&s->send);
    free(s);
}

static const struct mirage_stack_ops socket_ops = {
    .udp_listen = udp_listen,
    .udp_unlisten = udp_unlisten,
    .udp_write = udp_write,
    .tcp_listen = tcp_listen,
    .tcp_accept = tcp_accept,
    .tcp_unlisten = tcp_unlisten,
    .tcp_connect = tcp_connect,
    .ip_addresses = ip_addresses,
    .disconnect = disconnect,
};

int mirage_stack_socket_new(const struct mirage_stack_config *cfg, struct mirage_stack **out)
{
    struct sockstack *s;

    if (cfg != NULL && cfg->ipv4.family != 0 && cfg->ipv4.family != 4)
        return MIRAGE_EINVAL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MIRAGE_ENOMEM;
    s->base.ops = &socket_ops;
    s->send.fd = -1;
    if (cfg != NULL && cfg->ipv4.family == 4)
        memcpy(s->addr, cfg->ipv4.a, 4);
    mirage_log_info(&sock_log, "socket stack on %u.%u.%u.%u", s->addr[0], s->addr[1], s->addr[2],
                    s->addr[3]);
    *out = &s->base;
    return 0;
}
