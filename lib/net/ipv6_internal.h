/* ipv6_internal.h: the IPv6 layer's state, shared by ipv6.c (datagrams) and ndp.c (neighbours,
 * routers, SLAAC, MLD). */
#ifndef NET_IPV6_INTERNAL_H
#define NET_IPV6_INTERNAL_H

#include "mirage/ipv6.h"
#include "pending.h"
#include "reasm.h"
#include "mirage/sched.h"

#define IPV6_MAX_ADDRS   8  /* link-local, static, and SLAAC ones */
#define IPV6_MAX_ROUTERS 4  /* the default-router list */
#define IPV6_DEST_MAX    64 /* the destination cache: path MTUs and redirects */
#define IPV6_PMTU_FNS    4

struct addr6 {
    uint8_t a[16];
    uint8_t prefix;
    uint8_t state;       /* enum mirage_ipv6_addr_state */
    uint8_t slaac;       /* made from a router's prefix: the lifetimes below apply */
    uint8_t deprecated;  /* past its preferred lifetime: not chosen for new traffic */
    unsigned dad_sent;   /* DAD solicitations sent so far */
    uint64_t dad_at;     /* when the next one goes, or when DAD ends */
    uint64_t preferred;  /* SLAAC: when it is deprecated (UINT64_MAX: never) */
    uint64_t valid;      /* SLAAC: when it goes (UINT64_MAX: never) */
};

/* A router that advertised a non-zero lifetime (RFC 4861 6.3.4). */
struct router6 {
    uint8_t ip[16];
    uint64_t expires; /* 0: a free slot */
};

/* What we learnt about one destination (RFC 4861 5.1's destination cache):
 * its path MTU from packet-too-big (RFC 8201) and its next hop from a
 * redirect (RFC 4861 8.3); both are forgotten at (expires). */
struct dest6 {
    uint8_t dst[16];
    uint8_t hop[16];
    uint8_t has_hop;
    uint16_t mtu;     /* whole packets; 0: the link's */
    uint64_t expires; /* 0: a free slot */
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
    size_t link_mtu;     /* the Ethernet MTU, or a router's smaller MTU option */
    struct reasm_cache reasm;
    struct dest6 dests[IPV6_DEST_MAX];
    struct {
        mirage_ipv6_pmtu_fn fn;
        void *ctx;
    } pmtu_fn[IPV6_PMTU_FNS];
    struct router6 routers[IPV6_MAX_ROUTERS];
    unsigned rs_sent;  /* router solicitations sent (RFC 4861 6.3.7: 3 at most) */
    uint64_t rs_at;    /* when the next goes; UINT64_MAX: none */
    uint64_t mld_at;   /* when an MLDv2 report goes; UINT64_MAX: none */
    uint8_t mld_type;  /* of its records: 2 (answer to a query) or 4 (a join) */
    struct mirage_ipv6_stats st;
    struct mirage_cond addr_change; /* an address left the tentative state */
    unsigned src_waiters;           /* fibers in mirage_ipv6_src_wait */
    int closing;                    /* freed: the last waiter frees the struct */
};

/* ipv6.c: sends a datagram whose link-layer destination is already known
 * (mac), or routes it when mac is NULL. */
int ipv6_send(struct mirage_ipv6 *ip, const uint8_t *mac, const struct mirage_ipv6_out *out,
              mirage_fill_fn fill, void *ctx, const struct mirage_iovec *iov, size_t n);
/* Whether (a) is ours in any state (DAD is about tentative ones too). */
struct addr6 *ipv6_find_addr(struct mirage_ipv6 *ip, const uint8_t a[16]);
/* Adds a tentative address; NULL when all IPV6_MAX_ADDRS are taken. */
struct addr6 *ipv6_add_addr(struct mirage_ipv6 *ip, const uint8_t a[16], uint8_t prefix);
/* Whether the first (bits) bits of (a) and (b) agree. */
int ipv6_same_prefix(const uint8_t *a, const uint8_t *b, unsigned bits);
/* The next hop towards unicast (dst); NULL when there is none. */
const uint8_t *ipv6_next_hop(struct mirage_ipv6 *ip, const uint8_t *dst);
/* Drops timed-out reassemblies (time exceeded goes to their sources). */
void ipv6_reasm_expire(struct mirage_ipv6 *ip, uint64_t now);
/* The destination cache's entry for (dst), made if (make) (the oldest goes). */
struct dest6 *ipv6_dest(struct mirage_ipv6 *ip, const uint8_t dst[16], int make, uint64_t now);

/* ndp.c */
int nd_init(struct mirage_ipv6 *ip);
void nd_free(struct mirage_ipv6 *ip);
/* Starts DAD on every tentative address, and router solicitation. */
void nd_start(struct mirage_ipv6 *ip);
/* Recomputes when the timer must next run. */
void nd_rearm(struct mirage_ipv6 *ip);
/* A default router for off-link destinations (NULL: none). */
const uint8_t *nd_router(struct mirage_ipv6 *ip, uint64_t now);
/* Hands the (size)-byte packet built by fill to next hop (hop), resolving it.
 * One with metadata for the device (meta, NULL: none) is never queued: while
 * the neighbour is resolved it is MIRAGE_EAGAIN, and its sender tries again
 * (the queue keeps finished packets, as ARP's). */
int nd_output(struct mirage_ipv6 *ip, const uint8_t hop[16], size_t size,
              const struct mirage_net_meta *meta, mirage_fill_fn fill, void *ctx);
/* An ND message (ICMPv6 types 133..137) or an MLD query (130), its checksum checked already;
 * (smac) is the frame's source MAC or NULL. */
void nd_input(struct mirage_ipv6 *ip, const uint8_t *smac, const struct mirage_ipv6_rx *rx);

#endif
