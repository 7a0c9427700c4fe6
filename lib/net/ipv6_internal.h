/* ipv6_internal.h: the IPv6 layer's state, shared by ipv6.c (datagrams) and ndp.c (neighbours). */
#ifndef NET_IPV6_INTERNAL_H
#define NET_IPV6_INTERNAL_H

#include "mirage/ipv6.h"
#include "pending.h"
#include "mirage/sched.h"

#define IPV6_MAX_ADDRS 4

struct addr6 {
    uint8_t a[16];
    uint8_t prefix;
    uint8_t state;     /* enum mirage_ipv6_addr_state */
    unsigned dad_sent; /* DAD solicitations sent so far */
    uint64_t dad_at;   /* when the next one goes, or when DAD ends */
};

struct nd_entry {
    uint8_t ip[16];
    uint8_t mac[6];
    uint8_t state;     /* enum mirage_ipv6_nd_state; MIRAGE_ND_NONE: free */
    unsigned probes;   /* solicitations sent in INCOMPLETE or PROBE */
    uint64_t deadline; /* INCOMPLETE/PROBE: next solicitation; DELAY: probing starts;
                        * REACHABLE: it goes STALE */
    uint64_t used;     /* last sent to or learnt: the least recent goes first */
    struct pending q;  /* INCOMPLETE: IPv6 packets waiting for the answer */
};

struct mirage_ipv6 {
    struct mirage_timer timer; /* first: the callback finds the struct from it */
    struct mirage_eth *eth;
    struct mirage_ipv6_config cfg;
    uint64_t reachable_time; /* cfg.reachable randomised (RFC 4861 6.3.2) */
    struct addr6 addrs[IPV6_MAX_ADDRS];
    size_t n_addrs;
    struct {
        mirage_ipv6_rx_fn fn;
        void *ctx;
    } proto[256];
    mirage_ipv6_error_fn err_fn;
    void *err_ctx;
    struct nd_entry *nc;
    size_t nc_last;      /* the entry the last lookup found */
    size_t queued_total; /* packets waiting in every entry together */
    struct mirage_ipv6_stats st;
};

/* ipv6.c: sends a datagram whose link-layer destination is already known
 * (mac), or routes it when mac is NULL. */
int ipv6_send(struct mirage_ipv6 *ip, const uint8_t *mac, const struct mirage_ipv6_out *out,
              mirage_fill_fn fill, void *ctx, const struct mirage_iovec *iov, size_t n);
/* Whether (a) is ours in any state (DAD is about tentative ones too). */
struct addr6 *ipv6_find_addr(struct mirage_ipv6 *ip, const uint8_t a[16]);

/* ndp.c */
int nd_init(struct mirage_ipv6 *ip);
void nd_free(struct mirage_ipv6 *ip);
/* Starts DAD on every tentative address. */
void nd_start(struct mirage_ipv6 *ip);
/* Hands the (size)-byte packet built by fill to next hop (hop), resolving it. */
int nd_output(struct mirage_ipv6 *ip, const uint8_t hop[16], size_t size, mirage_fill_fn fill,
              void *ctx);
/* An ND message (ICMPv6 types 133..137), its checksum checked already;
 * (smac) is the frame's source MAC or NULL. */
void nd_input(struct mirage_ipv6 *ip, const uint8_t *smac, const struct mirage_ipv6_rx *rx);

#endif
