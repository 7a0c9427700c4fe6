/* uplink.h: the way to a collector (a syslog server, a metrics collector) over UDP or TCP: a TCP
 * connection opened when needed and dropped at the first error, the back-off between attempts,
 * and whether the collector is out of reach; what the syslog reporter and the monitor share. */
#ifndef LIB_RUNTIME_UPLINK_H
#define LIB_RUNTIME_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/stack.h"

#define UPLINK_CONNECT_TIMEOUT MIRAGE_SEC(3) /* one TCP connection attempt at most */

/* The caller fills the first fields and zeroes the rest; the state is the caller's too. */
struct uplink {
    struct mirage_stack *stack;
    struct mirage_ipaddr addr;
    uint16_t port;
    int udp;                     /* datagrams, no connection */
    uint64_t retry_first;        /* ns to the first retry after a failure; 0: no back-off */
    uint64_t retry_max;          /* the back-off doubles up to this */
    struct mirage_flow *flow;    /* TCP, while connected */
    int down;                    /* from a failure until the collector is reached again */
    uint64_t backoff, retry_at;  /* the wait after the last failure, and its end (monotonic) */
    uint64_t connects;           /* TCP connections made */
};

/* Makes sure the collector can be written to: connects over TCP unless connected (within
 * (deadline) and UPLINK_CONNECT_TIMEOUT). Returns 1 when this ends a time out of reach (the
 * caller says it is back), 0, or the connection's error (for uplink_fail). Suspends the
 * calling fiber while it connects. */
int uplink_ready(struct uplink *u, uint64_t deadline);

/* Sends (p, n): one datagram, or bytes on the connection by (deadline). 0 or the error. */
int uplink_write(struct uplink *u, const void *p, size_t n, uint64_t deadline);

/* After a failure: drops the connection and waits the back-off (retry_at) before the next
 * attempt. Returns 1 when the collector was in reach until now (the caller says so, once). */
int uplink_fail(struct uplink *u);

/* Drops the connection, if there is one. */
void uplink_close(struct uplink *u);

#endif
