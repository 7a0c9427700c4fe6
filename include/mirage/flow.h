/* flow.h: a reliable byte stream (a TCP connection, on either stack), read and written by fibers. */
#ifndef MIRAGE_FLOW_H
#define MIRAGE_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/error.h"
#include "mirage/netif.h"

/*
 * A flow is what connect and accept give the application; the direct stack's
 * TCP and the socket stack's host sockets both provide one, so application
 * code does not know which it has. Calls that wait suspend only the calling
 * fiber, until (deadline) (MIRAGE_FOREVER for none): they then return
 * MIRAGE_ETIMEDOUT, or MIRAGE_ECANCELED when the fiber is cancelled.
 */
struct mirage_flow;

struct mirage_flow_ops {
    int (*read)(struct mirage_flow *f, void *buf, size_t cap, size_t *got, uint64_t deadline);
    int (*writev)(struct mirage_flow *f, const struct mirage_iovec *iov, size_t n,
                  uint64_t deadline);
    int (*shutdown)(struct mirage_flow *f, int how);
    void (*close)(struct mirage_flow *f);
    /* Optional (NULL: the flow cannot); see mirage_flow_on_readable. */
    int (*on_readable)(struct mirage_flow *f, void (*fn)(void *ctx), void *ctx);
};

struct mirage_flow {
    const struct mirage_flow_ops *ops;
};

/* Reads what has arrived, up to (cap) bytes, waiting until something has.
 * Returns 0 with *got > 0, 0 with *got == 0 at the end of the stream (the
 * peer closed its side), or MIRAGE_ECONNRESET, MIRAGE_ETIMEDOUT, ... */
static inline int mirage_flow_read(struct mirage_flow *f, void *buf, size_t cap, size_t *got,
                                   uint64_t deadline)
{
    return f->ops->read(f, buf, cap, got, deadline);
}

/* Queues all of iov[0..n) for sending, waiting while the send buffer is
 * full. Returns 0 once everything is queued (not yet acknowledged), or an
 * error; after an error an unknown prefix may have been queued. */
static inline int mirage_flow_writev(struct mirage_flow *f, const struct mirage_iovec *iov,
                                     size_t n, uint64_t deadline)
{
    return f->ops->writev(f, iov, n, deadline);
}

static inline int mirage_flow_write(struct mirage_flow *f, const void *buf, size_t len,
                                    uint64_t deadline)
{
    struct mirage_iovec iov = {buf, len};
    return f->ops->writev(f, &iov, 1, deadline);
}

#define MIRAGE_SHUT_RD 1
#define MIRAGE_SHUT_WR 2
#define MIRAGE_SHUT_RDWR 3

/* Ends reading and/or writing (writing: a FIN after the queued data). */
static inline int mirage_flow_shutdown(struct mirage_flow *f, int how)
{
    return f->ops->shutdown(f, how);
}

/* Gives the flow back: queued data is still sent and the connection closed
 * gracefully in the background; (f) must not be used again. Never waits. */
static inline void mirage_flow_close(struct mirage_flow *f)
{
    f->ops->close(f);
}

/*
 * Asks for fn(ctx) to be called once, from the event loop, as soon as a read
 * would not wait (data arrived, the end of the stream, an error): a server
 * can thus keep an idle connection with no fiber (and no stack) waiting on
 * it. fn must not wait; it may signal conditions. A new call replaces the
 * registration; fn NULL cancels it. Returns 0 (registered), 1 when a read
 * would not wait now (nothing is registered), or MIRAGE_ENOTSUP when the
 * flow has no such notification (read from a fiber of its own instead).
 * A flow wrapping another (TLS) forwards it when it holds nothing decrypted.
 */
static inline int mirage_flow_on_readable(struct mirage_flow *f, void (*fn)(void *ctx), void *ctx)
{
    if (f->ops->on_readable == NULL)
        return MIRAGE_ENOTSUP;
    return f->ops->on_readable(f, fn, ctx);
}

#endif
