/* socket.c: the socket stack: stack.h's operations over the host's sockets (unix target only). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
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
    int fd;  /* a flow's socket; a listener's IPv4 one (-1: IPv4 off) */
    int fd6; /* a listener's IPv6 one (-1: IPv6 off); -1 for everything else */
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
    case EAFNOSUPPORT:
        return MIRAGE_EHOSTUNREACH;
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

/* A non-blocking socket of (family) (4 or 6) registered with the event loop
 * under (w); returns it. An IPv6 one takes IPv6 only: IPv4 has its own. */
static int open_fd(int family, int type, struct waitable *w)
{
    int fd = socket(family == 6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, r;

    if (fd < 0)
        return from_errno(errno);
    if (family == 6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    r = mirage_hostfd_add(fd, w);
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

/* (w) with one socket of (family) in w->fd. */
static int open_socket(int family, int type, struct waitable *w)
{
    w->cond = (struct mirage_cond)MIRAGE_COND_INIT;
    w->fd6 = -1;
    w->fd = open_fd(family, type, w);
    return w->fd;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        mirage_hostfd_del(*fd);
        close(*fd);
        *fd = -1;
    }
}

static void close_socket(struct waitable *w)
{
    close_fd(&w->fd);
    close_fd(&w->fd6);
    mirage_cond_broadcast(&w->cond);
}

/* (a) and (port) as a host socket address; returns its length. */
static socklen_t sockaddr_of(const struct mirage_ipaddr *a, uint16_t port,
                             struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == 6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, a->a, 16);
        return sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, a->a, 4);
        return sizeof(*s4);
    }
}

/* A host socket address as an address and a port. */
static struct mirage_ipaddr ipaddr_of(const struct sockaddr_storage *ss, uint16_t *port)
{
    struct mirage_ipaddr a = {.family = 4};

    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        a.family = 6;
        memcpy(a.a, &s6->sin6_addr, 16);
        *port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        memcpy(a.a, &s4->sin_addr, 4);
        *port = ntohs(s4->sin_port);
    }
    return a;
}

/* ---- the stack ------------------------------------------------------------ */

struct udp_listener;

struct sockstack {
    struct mirage_stack base;
    /* Each family's address to bind to (0.0.0.0 and :: are every one of the
     * host's), and whether it is in use (--ipv4-only, --ipv6-only). */
    struct mirage_ipaddr addr4, addr6;
    int v4, v6;
    struct udp_listener *udp; /* listeners, a list */
    /* The sockets for datagrams from port 0, per family (send[1]: IPv6); fd -1 until used. */
    struct waitable send[2];
};

/* The address the stack binds (family)'s sockets to. */
static const struct mirage_ipaddr *local(const struct sockstack *s, int family)
{
    return family == 6 ? &s->addr6 : &s->addr4;
}

static int is_any(const struct mirage_ipaddr *a)
{
    static const uint8_t zero[16];

    return memcmp(a->a, zero, a->family == 6 ? 16 : 4) == 0;
}

static int bind_to(int fd, const struct mirage_ipaddr *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len = sockaddr_of(addr, port, &ss);
    int one = 1;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0)
        return from_errno(errno);
    return 0;
}

/* Whether (dst)'s family is one the stack uses: MIRAGE_EINVAL if it is no
 * family, MIRAGE_EHOSTUNREACH if the stack has it off. */
static int family_ok(const struct sockstack *s, const struct mirage_ipaddr *dst)
{
    if (dst == NULL || (dst->family != 4 && dst->family != 6))
        return MIRAGE_EINVAL;
    if (dst->family == 6 ? !s->v6 : !s->v4)
        return MIRAGE_EHOSTUNREACH;
    return 0;
}

/* (w)'s sockets, one per family the stack uses, bound to (port) (listening
 * with (backlog) if it is not 0): IPv4 in w->fd, IPv6 in w->fd6. */
static int open_listening(struct sockstack *s, int type, uint16_t port, int backlog,
                          struct waitable *w)
{
    int r = 0;

    w->cond = (struct mirage_cond)MIRAGE_COND_INIT;
    w->fd = w->fd6 = -1;
    for (int family = 4; family <= 6 && r >= 0; family += 2) {
        int *fd = family == 6 ? &w->fd6 : &w->fd;
        int one = 1;

        if (family == 6 ? !s->v6 : !s->v4)
            continue;
        r = *fd = open_fd(family, type, w);
        if (r < 0)
            break;
        /* The destination of each datagram: replies leave from it. */
        if (type == SOCK_DGRAM && family == 6)
            setsockopt(*fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
        else if (type == SOCK_DGRAM)
            setsockopt(*fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
        r = bind_to(*fd, local(s, family), port);
        if (r >= 0 && backlog > 0 && listen(*fd, backlog) < 0)
            r = from_errno(errno);
    }
    if (r < 0)
        close_socket(w);
    return r < 0 ? r : 0;
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

    /* Each family's socket in turn (fd: IPv4, fd6: IPv6); a wait when both are empty. */
    for (unsigned idle = 0, turn = 0; !l->closing; turn ^= 1) {
        int fd = turn ? l->w.fd6 : l->w.fd;
        struct sockaddr_storage from;
        char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct iovec iov = {l->buf, sizeof(l->buf)};
        struct msghdr mh = {.msg_name = &from,
                            .msg_namelen = sizeof(from),
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cbuf,
                            .msg_controllen = sizeof(cbuf)};
        struct mirage_udp_rx rx = {.dst = {.family = turn ? 6 : 4}, .dst_port = l->port};
        ssize_t n = fd < 0 ? (errno = EAGAIN, -1) : recvmsg(fd, &mh, MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                if (++idle < 2)
                    continue;
                idle = 0;
                if (wait_fd(&l->w, MIRAGE_FOREVER) == MIRAGE_ECANCELED)
                    break;
                continue;
            }
            /* An ICMP error queued for an earlier send, for example: not fatal. */
            mirage_log_debug(&sock_log, "udp port %u: %s", l->port, strerror(errno));
            continue;
        }
        idle = 0;
        if (mh.msg_flags & MSG_TRUNC)
            continue; /* cannot happen with a 64 KiB buffer; never hand out a cut datagram */
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                memcpy(rx.dst.a, &pi.ipi_addr, 4);
            } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                struct in6_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                memcpy(rx.dst.a, &pi.ipi6_addr, 16);
            }
        }
        rx.src = ipaddr_of(&from, &rx.src_port);
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
    int r;

    if (port == 0 || fn == NULL)
        return MIRAGE_EINVAL;
    for (l = s->udp; l != NULL; l = l->next)
        if (l->port == port)
            return MIRAGE_EINVAL;
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return MIRAGE_ENOMEM;
    r = open_listening(s, SOCK_DGRAM, port, 0, &l->w);
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

/* sendto, or with (segment) sendmsg with UDP_SEGMENT (Linux 4.18): the host
 * cuts (data) into datagrams of (segment) bytes. */
static ssize_t send_dgram(int fd, const void *data, size_t len, const struct sockaddr_storage *to,
                          socklen_t tolen, uint16_t segment)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(uint16_t))];
    } ctl;
    struct iovec iov = {(void *)data, len};
    struct msghdr msg = {(void *)to, tolen, &iov, 1, ctl.buf, sizeof(ctl.buf), 0};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

    if (segment == 0)
        return sendto(fd, data, len, MSG_DONTWAIT, (const struct sockaddr *)to, tolen);
    memset(&ctl, 0, sizeof(ctl));
    c->cmsg_level = IPPROTO_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    memcpy(CMSG_DATA(c), &segment, sizeof(segment));
    return sendmsg(fd, &msg, MSG_DONTWAIT);
}

static int udp_send(struct mirage_stack *st, uint16_t src_port, const struct mirage_ipaddr *dst,
                    uint16_t dst_port, int ttl, const void *data, size_t len, uint16_t segment)
{
    struct sockstack *s = (struct sockstack *)st;
    struct sockaddr_storage to;
    socklen_t tolen;
    struct waitable tmp = {.fd = -1, .fd6 = -1};
    int fd = -1, r = family_ok(s, dst), v6;
    ssize_t n;

    if (r < 0 || dst_port == 0)
        return r < 0 ? r : MIRAGE_EINVAL;
    if (len > UDP_MAX)
        return MIRAGE_EMSGSIZE;
    v6 = dst->family == 6;
    tolen = sockaddr_of(dst, dst_port, &to);
    /* From a listened port, the listener's socket sends: replies come from it. */
    for (struct udp_listener *l = s->udp; src_port != 0 && l != NULL; l = l->next)
        if (l->port == src_port)
            fd = v6 ? l->w.fd6 : l->w.fd;
    if (fd < 0 && src_port == 0) {
        struct waitable *w = &s->send[v6];
        if (w->fd < 0) {
            r = open_socket(dst->family, SOCK_DGRAM, w);
            if (r < 0)
                return r;
            r = bind_to(w->fd, local(s, dst->family), 0);
        }
        fd = w->fd;
    } else if (fd < 0) {
        /* A one-off port: bound for this datagram only. */
        r = open_socket(dst->family, SOCK_DGRAM, &tmp);
        if (r < 0)
            return r;
        fd = tmp.fd;
        r = bind_to(fd, local(s, dst->family), src_port);
    }
    if (r == 0) {
        int one = 1, def = -1, level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
        int opt = v6 ? IPV6_UNICAST_HOPS : IP_TTL;
        if (!v6)
            setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
        if (ttl > 0)
            setsockopt(fd, level, opt, &ttl, sizeof(ttl));
        n = send_dgram(fd, data, len, &to, tolen, segment);
        r = n < 0 ? from_errno(errno) : 0;
        if (ttl > 0)
            setsockopt(fd, level, opt, &def, sizeof(def));
    }
    if (tmp.fd >= 0)
        close_socket(&tmp);
    return r;
}

static int udp_write(struct mirage_stack *st, uint16_t src_port, const struct mirage_ipaddr *dst,
                     uint16_t dst_port, int ttl, const void *data, size_t len)
{
    return udp_send(st, src_port, dst, dst_port, ttl, data, len, 0);
}

static int udp_write_segments(struct mirage_stack *st, uint16_t src_port,
                              const struct mirage_ipaddr *dst, uint16_t dst_port, int ttl,
                              const void *data, size_t len, uint16_t segment)
{
    return udp_send(st, src_port, dst, dst_port, ttl, data, len, len > segment ? segment : 0);
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
    f->w.fd6 = -1;
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
    r = open_listening(s, SOCK_STREAM, port, l->opts.backlog ? (int)l->opts.backlog : 128, &l->w);
    if (r < 0) {
        mirage_log_warn(&sock_log, "tcp port %u: %s", port, mirage_strerror(r));
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
    /* Each family's socket in turn (fd: IPv4, fd6: IPv6); a wait when neither has one. */
    for (unsigned idle = 0, turn = 0; !l->closed; turn ^= 1) {
        int lfd = turn ? l->w.fd6 : l->w.fd;
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        int fd = lfd < 0
                     ? (errno = EAGAIN, -1)
                     : accept4(lfd, (struct sockaddr *)&from, &flen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct sock_flow *f;

        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) {
                if (++idle < 2)
                    continue;
                idle = 0;
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
        {
            uint16_t pport;
            struct mirage_ipaddr pa = ipaddr_of(&from, &pport);
            if (peer != NULL)
                *peer = pa;
            if (peer_port != NULL)
                *peer_port = pport;
        }
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
    struct sockaddr_storage to;
    socklen_t tolen;
    struct sock_flow *f;
    int r = family_ok(s, dst);

    if (r < 0 || port == 0)
        return r < 0 ? r : MIRAGE_EINVAL;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return MIRAGE_ENOMEM;
    f->base.ops = &flow_ops;
    r = open_socket(dst->family, SOCK_STREAM, &f->w);
    if (r >= 0 && !is_any(local(s, dst->family)))
        r = bind_to(f->w.fd, local(s, dst->family), 0);
    tolen = sockaddr_of(dst, port, &to);
    if (r >= 0 && connect(f->w.fd, (struct sockaddr *)&to, tolen) < 0) {
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
    size_t k = 0;

    if (s->v4 && k < n)
        out[k] = s->addr4;
    k += s->v4 != 0;
    if (s->v6 && k < n)
        out[k] = s->addr6;
    return k + (s->v6 != 0);
}

static void disconnect(struct mirage_stack *st)
{
    struct sockstack *s = (struct sockstack *)st;

    while (s->udp != NULL) {
        struct udp_listener *l = s->udp;
        s->udp = l->next;
        udp_close(l);
    }
    close_socket(&s->send[0]);
    close_socket(&s->send[1]);
    free(s);
}

static const struct mirage_stack_ops socket_ops = {
    .udp_listen = udp_listen,
    .udp_unlisten = udp_unlisten,
    .udp_write = udp_write,
    .udp_write_segments = udp_write_segments,
    .tcp_listen = tcp_listen,
    .tcp_accept = tcp_accept,
    .tcp_unlisten = tcp_unlisten,
    .tcp_connect = tcp_connect,
    .ip_addresses = ip_addresses,
    .disconnect = disconnect,
};

/* Whether the host has IPv6 sockets at all (a kernel or container without
 * IPv6 refuses them with EAFNOSUPPORT). */
static int host_has_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return errno != EAFNOSUPPORT;
    close(fd);
    return 1;
}

int mirage_stack_socket_new(const struct mirage_stack_config *cfg, struct mirage_stack **out)
{
    static const struct mirage_stack_config none;
    struct sockstack *s;
    char a4[46], a6[50];

    if (cfg == NULL)
        cfg = &none;
    if ((cfg->ipv4.family != 0 && cfg->ipv4.family != 4) ||
        (cfg->ipv6.family != 0 && cfg->ipv6.family != 6))
        return MIRAGE_EINVAL;
    if (cfg->ipv4_only && cfg->ipv6_only) {
        mirage_log_err(&sock_log, "--ipv4-only and --ipv6-only together leave no IP at all");
        return MIRAGE_EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MIRAGE_ENOMEM;
    s->base.ops = &socket_ops;
    for (int i = 0; i < 2; i++)
        s->send[i].fd = s->send[i].fd6 = -1;
    s->addr4 = (struct mirage_ipaddr){.family = 4};
    s->addr6 = (struct mirage_ipaddr){.family = 6};
    if (cfg->ipv4.family == 4)
        memcpy(s->addr4.a, cfg->ipv4.a, 4);
    if (cfg->ipv6.family == 6)
        memcpy(s->addr6.a, cfg->ipv6.a, 16);
    s->v4 = !cfg->ipv6_only;
    s->v6 = !cfg->ipv4_only;
    if (s->v6 && !host_has_ipv6()) {
        if (cfg->ipv6_only) {
            mirage_log_err(&sock_log, "--ipv6-only: this host has no IPv6 sockets");
            free(s);
            return MIRAGE_EHOSTUNREACH;
        }
        mirage_log_warn(&sock_log, "this host has no IPv6 sockets: IPv4 only");
        s->v6 = 0;
    }
    mirage_ipaddr_format(&s->addr4, 0, a4, sizeof(a4));
    mirage_ipaddr_format(&s->addr6, 0, a6, sizeof(a6));
    mirage_log_info(&sock_log, "socket stack on %s%s%s", s->v4 ? a4 : "",
                    s->v4 && s->v6 ? " and " : "", s->v6 ? a6 : "");
    *out = &s->base;
    return 0;
}
