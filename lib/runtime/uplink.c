/* uplink.c: the way to a collector over UDP or TCP, connected when needed, backing off after a failure. */
#include "uplink.h"

#include "mirage/time.h"

int uplink_ready(struct uplink *u, uint64_t deadline)
{
    if (!u->udp && u->flow == NULL) {
        uint64_t d = mirage_deadline_in(UPLINK_CONNECT_TIMEOUT);
        int r = mirage_tcp_connect(u->stack, &u->addr, u->port, &u->flow,
                                   d < deadline ? d : deadline);
        if (r < 0) {
            u->flow = NULL;
            return r;
        }
        u->connects++;
    }
    if (!u->down)
        return 0;
    u->down = 0;
    u->backoff = 0;
    return 1;
}

int uplink_write(struct uplink *u, const void *p, size_t n, uint64_t deadline)
{
    if (u->udp)
        return mirage_udp_write(u->stack, 0, &u->addr, u->port, -1, p, n);
    return mirage_flow_write(u->flow, p, n, deadline);
}

int uplink_fail(struct uplink *u)
{
    uplink_close(u);
    if (u->retry_first) {
        u->backoff = u->backoff ? u->backoff * 2 : u->retry_first;
        if (u->backoff > u->retry_max)
            u->backoff = u->retry_max;
        u->retry_at = mirage_clock_monotonic() + u->backoff;
    }
    if (u->down)
        return 0;
    u->down = 1;
    return 1;
}

void uplink_close(struct uplink *u)
{
    if (u->flow != NULL) {
        mirage_flow_close(u->flow);
        u->flow = NULL;
    }
}
