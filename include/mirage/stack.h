/* stack.h: a TCP/IP stack as the application sees it: the direct stack or the host's sockets. */
#ifndef MIRAGE_STACK_H
#define MIRAGE_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/error.h"
#include "mirage/flow.h"

/*
 * MirageOS's stackv4v6: one object with udp, tcp and ip. Two implementations
 * give the same operations: the direct stack (lib/net, our own TCP/IP over a
 * network device, on every target) and the socket stack (host sockets, unix
 * only). The configuration chooses one; application code does not change.
 */

/* An IP address: IPv4 is family 4 with the address in a[0..3], IPv6 family
 * 6 with all 16 bytes (both in network order). */
struct mirage_ipaddr {
    uint8_t family;
    uint8_t a[16];
};

/* A UDP datagram received: (data, len) is valid only during the callback. */
struct mirage_udp_rx {
    struct mirage_ipaddr src, dst;
    uint16_t src_port, dst_port;
    const uint8_t *data;
    size_t len;
};
typedef void (*mirage_udp_fn)(void *ctx, const struct mirage_udp_rx *rx);

/* Listener options; zero means the default. Keepalive set here applies to
 * every connection accepted from the listener. */
struct mirage_tcp_listen_opts {
    unsigned backlog;            /* pending connections not yet accepted */
    /* Connections from this listener alive at once (half-open, waiting for
     * accept, or accepted and not yet closed, TIME_WAIT excepted); a SYN
     * beyond is answered with a reset (one that got a SYN cookie because the
     * backlog was full is reset at its ACK). 0: no limit but memory's (a SYN that
     * finds no memory for its connection goes unanswered; the peer retries).
     * The direct stack's idle connection holds 1,079 bytes of TCP state; buffers
     * grow from 2 KiB each way with use up to 64 KiB, and whatever the
     * application keeps per connection (a fiber's stack) comes on top. */
    unsigned max_conns;
    uint64_t keepalive_after;    /* ns idle before the first probe; 0: off */
    uint64_t keepalive_interval; /* ns between probes */
    unsigned keepalive_probes;   /* unanswered probes before the reset */
    /* ns a connection with data to send may go without hearing from the peer
     * (retransmitting, or probing a zero window) before it is reset (RFC 9293
     * USER TIMEOUT, RFC 5482); 0: the stack's default, max_retries unanswered
     * retransmissions or window probes in a row (a few minutes). */
    uint64_t user_timeout;
};

struct mirage_stack;

/* Each implementation's listener starts with this. */
struct mirage_tcp_listener {
    struct mirage_stack *stack;
};

struct mirage_stack_ops {
    int (*udp_listen)(struct mirage_stack *s, uint16_t port, mirage_udp_fn fn, void *ctx);
    int (*udp_unlisten)(struct mirage_stack *s, uint16_t port);
    int (*udp_write)(struct mirage_stack *s, uint16_t src_port, const struct mirage_ipaddr *dst,
                     uint16_t dst_port, int ttl, const void *data, size_t len);
    /* NULL: the stack sends no trains (mirage_udp_write_segments says MIRAGE_ENOTSUP) */
    int (*udp_write_segments)(struct mirage_stack *s, uint16_t src_port,
                              const struct mirage_ipaddr *dst, uint16_t dst_port, int ttl,
                              const void *data, size_t len, uint16_t segment);
    int (*tcp_listen)(struct mirage_stack *s, uint16_t port,
                      const struct mirage_tcp_listen_opts *opts, struct mirage_tcp_listener **out);
    int (*tcp_accept)(struct mirage_tcp_listener *l, struct mirage_flow **out,
                      struct mirage_ipaddr *peer, uint16_t *peer_port, uint64_t deadline);
    void (*tcp_unlisten)(struct mirage_tcp_listener *l);
    int (*tcp_connect)(struct mirage_stack *s, const struct mirage_ipaddr *dst, uint16_t port,
                       struct mirage_flow **out, uint64_t deadline);
    /* The addresses the stack answers to (up to n); returns how many it has. */
    size_t (*ip_addresses)(struct mirage_stack *s, struct mirage_ipaddr *out, size_t n);
    void (*disconnect)(struct mirage_stack *s);
};

struct mirage_stack {
    const struct mirage_stack_ops *ops;
};

/* Calls (fn) for every datagram to (port), from the stack's receive fiber
 * (fn must not wait). Returns 0, or MIRAGE_EINVAL if the port is 0 or
 * already has a listener. Never waits. */
static inline int mirage_udp_listen(struct mirage_stack *s, uint16_t port, mirage_udp_fn fn,
                                    void *ctx)
{
    return s->ops->udp_listen(s, port, fn, ctx);
}

/* Stops calling back for (port). Returns 0 or MIRAGE_ENOENT. Never waits. */
static inline int mirage_udp_unlisten(struct mirage_stack *s, uint16_t port)
{
    return s->ops->udp_unlisten(s, port);
}

/* Sends one datagram; src_port 0 picks an ephemeral port, ttl -1 the default.
 * A datagram from a port with a listener leaves from that port's socket.
 * Never waits: returns 0 once handed to the layer below (which may still
 * resolve the next hop), MIRAGE_EMSGSIZE when it cannot fit one IP datagram. */
static inline int mirage_udp_write(struct mirage_stack *s, uint16_t src_port,
                                   const struct mirage_ipaddr *dst, uint16_t dst_port, int ttl,
                                   const void *data, size_t len)
{
    return s->ops->udp_write(s, src_port, dst, dst_port, ttl, data, len);
}

/* Sends (data, len) as a train of datagrams of (segment) bytes each, the
 * last maybe shorter, from one source port, as Linux's UDP_SEGMENT does: the
 * direct stack hands a device with USO one frame per up to 64 of them
 * (mirage_udp_out.segment), the socket stack the host's UDP_SEGMENT. Each
 * must fit the path MTU (else MIRAGE_EMSGSIZE, nothing sent); the whole is at
 * most 65507 bytes. Otherwise as mirage_udp_write; on an error the datagrams
 * before it have gone. */
static inline int mirage_udp_write_segments(struct mirage_stack *s, uint16_t src_port,
                                            const struct mirage_ipaddr *dst, uint16_t dst_port,
                                            int ttl, const void *data, size_t len,
                                            uint16_t segment)
{
    if (s->ops->udp_write_segments == NULL)
        return MIRAGE_ENOTSUP;
    return s->ops->udp_write_segments(s, src_port, dst, dst_port, ttl, data, len, segment);
}

/* Listens on (port); opts may be NULL. Returns 0, MIRAGE_EADDRINUSE or
 * MIRAGE_EINVAL (port 0). */
static inline int mirage_tcp_listen(struct mirage_stack *s, uint16_t port,
                                    const struct mirage_tcp_listen_opts *opts,
                                    struct mirage_tcp_listener **out)
{
    return s->ops->tcp_listen(s, port, opts, out);
}

/* Waits for the next established connection; peer and peer_port may be NULL. */
static inline int mirage_tcp_accept(struct mirage_tcp_listener *l, struct mirage_flow **out,
                                    struct mirage_ipaddr *peer, uint16_t *peer_port,
                                    uint64_t deadline)
{
    return l->stack->ops->tcp_accept(l, out, peer, peer_port, deadline);
}

/* Stops listening; connections already accepted go on. A fiber waiting in
 * accept on (l) gets an error. */
static inline void mirage_tcp_unlisten(struct mirage_tcp_listener *l)
{
    l->stack->ops->tcp_unlisten(l);
}

/* Opens a connection, waiting until it is established or refused
 * (MIRAGE_ECONNREFUSED), or the deadline passes (MIRAGE_ETIMEDOUT). */
static inline int mirage_tcp_connect(struct mirage_stack *s, const struct mirage_ipaddr *dst,
                                     uint16_t port, struct mirage_flow **out, uint64_t deadline)
{
    return s->ops->tcp_connect(s, dst, port, out, deadline);
}

/*
 * Ends the stack without losing the application's last writes, as a host
 * ends an exiting process's sockets: flows the application still holds are
 * shut down for writing, then the call waits, up to the configuration's
 * linger time, until the peers have acknowledged every queued byte and every
 * FIN (mirage_flow_close never waits, so without this an exit right after it
 * would drop what the peer's window had not yet let in). Then it resets what
 * is still unfinished, stops listeners and frees the stack; flows the
 * application still holds fail from then on until it closes them.
 * Suspends the calling fiber; the generated main.c calls it for every stack
 * once start returns. The socket stack only frees itself and waits for
 * nothing: the host kernel does all this for a process's sockets, and goes
 * on delivering their data after the process has exited.
 */
static inline void mirage_stack_disconnect(struct mirage_stack *s)
{
    s->ops->disconnect(s);
}

/* ---- constructors -------------------------------------------------------- */

/* How a stack gets its IPv4 configuration (MirageOS's --ipv4, --ipv4-gateway
 * and DHCP). Zero-initialised: DHCP off, no address. */
struct mirage_stack_config {
    int dhcp;                  /* the direct stack: take address and gateway from a lease */
    struct mirage_ipaddr ipv4; /* our address (family 4); socket stack: bind to it, or 0.0.0.0 */
    uint8_t ipv4_prefix;       /* netmask length 0..32 */
    int has_gateway;
    struct mirage_ipaddr gateway; /* off-link destinations go here */
    const char *hostname;         /* DHCP option 12; NULL: none */
    uint64_t dhcp_deadline;       /* give up waiting for a lease (MIRAGE_ETIMEDOUT); 0: never */
    uint64_t linger; /* ns disconnect waits for data and FINs to be acknowledged; 0: the default */
    /* IPv6 (the direct stack): a link-local address always, and this static
     * one (family 6; family 0: none) with its on-link prefix length. */
    struct mirage_ipaddr ipv6;
    uint8_t ipv6_prefix;
    int has_ipv6_gateway;
    struct mirage_ipaddr ipv6_gateway; /* off-link IPv6 destinations go here */
    int ipv6_no_router_adv; /* 1: no router solicitations, advertisements ignored (no SLAAC) */
    /* One family only (--ipv4-only, --ipv6-only): the direct stack builds no
     * layers of the other (an IPv6-only one needs no IPv4 address and runs no
     * DHCP); the socket stack opens sockets of that family only. */
    int ipv4_only, ipv6_only;
};

/* The direct stack's default linger: long enough for a slow peer's window to
 * take the last send buffer, short enough that a vanished peer does not keep
 * an exiting unikernel for long. */
#define MIRAGE_STACK_LINGER_DEFAULT (5ull * 1000000000ull)

/* Fills (sc)'s address and gateway from the standard boot keys --ipv4 and
 * --ipv4-gateway (mirage/key.h, parsed already); with (dhcp), a lease gives
 * them unless --ipv4 was given at boot, waiting at most --dhcp-timeout.
 * --ipv6 and --ipv6-gateway give the static IPv6 address and gateway;
 * --accept-router-advertisements=false turns router discovery and SLAAC off. */
void mirage_stack_config_from_keys(struct mirage_stack_config *sc, int dhcp);

/* Says on the console that no DHCP lease came within --dhcp-timeout and how
 * to go on; returns MIRAGE_EXIT_NO_LEASE, the unikernel's exit status. */
int mirage_stack_no_lease(const char *prog);

struct mirage_netif;

/*
 * The direct stack on (nif), which must outlive it: ethernet, ARP, IPv4, ICMP,
 * IPv6 (neighbour discovery, ICMPv6), UDP and TCP from lib/net, with a
 * receive fiber for the device. With cfg->dhcp the call suspends the calling
 * fiber until the first lease is bound (the stack comes up with its address;
 * renewals and changes follow in the background). Returns 0 and *out,
 * MIRAGE_EINVAL (a bad configuration), MIRAGE_ENOMEM, MIRAGE_ETIMEDOUT (no
 * lease by cfg->dhcp_deadline) or MIRAGE_ECANCELED. lib/net/stack.c.
 */
int mirage_stack_direct_new(struct mirage_netif *nif, const struct mirage_stack_config *cfg,
                            struct mirage_stack **out);

/*
 * The socket stack: the same operations over the host's sockets (the unix
 * target only; lib/net/socket/socket.c). Listeners bind to cfg->ipv4
 * (0.0.0.0 when zero); dhcp and gateway are ignored, as the host owns its
 * routes. Fibers waiting on a socket sleep in the event loop like fibers
 * waiting on a device. Returns 0 and *out, MIRAGE_EINVAL or MIRAGE_ENOMEM.
 */
int mirage_stack_socket_new(const struct mirage_stack_config *cfg, struct mirage_stack **out);

/* The addresses the stack answers to, up to (n) into (out); returns how many
 * it has (0 while a DHCP stack has no lease). */
static inline size_t mirage_stack_ip_addresses(struct mirage_stack *s, struct mirage_ipaddr *out,
                                               size_t n)
{
    return s->ops->ip_addresses(s, out, n);
}

/* Writes (a) with (port) as "10.0.0.2:7" or "[fd00::2]:7" (RFC 3986's
 * brackets; port 0: the address alone, "fd00::2") into (buf) of (size) bytes,
 * at most 56 needed; returns buf. lib/net/ipaddr.c. */
char *mirage_ipaddr_format(const struct mirage_ipaddr *a, uint16_t port, char *buf, size_t size);

/* Writes every address (s) answers to (up to 4), each with (port) between
 * (prefix) and (suffix), separated by spaces: "http://10.0.0.2:80/
 * http://[fd00::2]:80/"; "" when it has none yet (IPv6 addresses come once
 * duplicate address detection has passed). Returns buf, cut to (size) bytes.
 * lib/net/ipaddr.c. */
char *mirage_stack_format_addresses(struct mirage_stack *s, uint16_t port, const char *prefix,
                                    const char *suffix, char *buf, size_t size);

/* Builds an IPv4 address from four octets. */
static inline struct mirage_ipaddr mirage_ipv4_addr(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct mirage_ipaddr ip = {4, {a, b, c, d}};
    return ip;
}

#endif
