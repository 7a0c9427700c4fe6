/* dhcp.h: a DHCPv4 client (RFC 2131, options RFC 2132): message codec and lease state machine. */
#ifndef MIRAGE_DHCP_H
#define MIRAGE_DHCP_H

#include <stddef.h>
#include <stdint.h>

/*
 * The client is event-driven and owns no timer, socket or fiber: its caller
 * (the direct stack) feeds it the datagrams that reach UDP port 68 and calls
 * mirage_dhcp_client_tick() at mirage_dhcp_client_deadline(), and the client
 * answers through the send callback. Time is always the caller's (monotonic
 * ns), so tests drive it with a virtual clock. Transaction ids and the
 * retransmission jitter come from the runtime's generator (mirage/random.h).
 *
 * States (RFC 2131 4.4): INIT -> SELECTING (DISCOVER sent, waiting for an
 * OFFER) -> REQUESTING (REQUEST sent for the first OFFER) -> BOUND (ACK) ->
 * RENEWING at T1 (REQUEST unicast to the server) -> REBINDING at T2
 * (REQUEST broadcast) -> back to INIT when the lease expires or on a NAK.
 */

#define MIRAGE_DHCP_SERVER_PORT  67
#define MIRAGE_DHCP_CLIENT_PORT  68
#define MIRAGE_DHCP_MSG_MAX      576 /* what every host must accept (RFC 2131 2) */
#define MIRAGE_DHCP_MAX_DNS      4
#define MIRAGE_DHCP_HOSTNAME_MAX 63
#define MIRAGE_DHCP_INFINITE     0xffffffffu /* a lease that never expires */

enum mirage_dhcp_type {
    MIRAGE_DHCP_DISCOVER = 1,
    MIRAGE_DHCP_OFFER = 2,
    MIRAGE_DHCP_REQUEST = 3,
    MIRAGE_DHCP_DECLINE = 4,
    MIRAGE_DHCP_ACK = 5,
    MIRAGE_DHCP_NAK = 6,
    MIRAGE_DHCP_RELEASE = 7,
    MIRAGE_DHCP_INFORM = 8,
};

/* A DHCP message as the codec sees it: the fixed BOOTP fields and the
 * options this client uses. Addresses are in network order. */
struct mirage_dhcp_msg {
    uint8_t op; /* 1 request, 2 reply */
    uint32_t xid;
    uint16_t secs, flags;
    uint8_t ciaddr[4], yiaddr[4], siaddr[4], giaddr[4];
    uint8_t chaddr[6]; /* Ethernet only: htype 1, hlen 6 */
    uint8_t type;      /* option 53 (enum mirage_dhcp_type) */
    uint8_t has_server_id, has_netmask, has_router, has_lease, has_t1, has_t2, has_requested;
    uint8_t server_id[4], netmask[4], router[4], requested[4];
    uint32_t lease, t1, t2; /* seconds */
    uint8_t ndns;
    uint8_t dns[MIRAGE_DHCP_MAX_DNS][4];
    char hostname[MIRAGE_DHCP_HOSTNAME_MAX + 1]; /* option 12; "" when absent */
};

#define MIRAGE_DHCP_FLAG_BROADCAST 0x8000

/* Parses the UDP payload (buf, len) of a DHCP message into *m. Returns 0, or
 * MIRAGE_EINVAL with (err, errsize) naming the problem (a short message, a
 * bad cookie, an option running past its area, a wrong option length, ...).
 * Options may also live in the file and sname fields (option 52). */
int mirage_dhcp_parse(const uint8_t *buf, size_t len, struct mirage_dhcp_msg *m, char *err,
                      size_t errsize);

/* Writes a client message (op 1) from *m into (buf, cap): the fixed fields,
 * options 53, 61 (client id: the MAC), 50/54 when set, 12 when hostname is
 * set, 55 (the parameters wanted) and 57, padded to the BOOTP minimum of 300
 * bytes. Returns the length, or 0 if cap < MIRAGE_DHCP_MSG_MAX. */
size_t mirage_dhcp_build(uint8_t *buf, size_t cap, const struct mirage_dhcp_msg *m);

enum mirage_dhcp_state {
    MIRAGE_DHCP_INIT,
    MIRAGE_DHCP_SELECTING,
    MIRAGE_DHCP_REQUESTING,
    MIRAGE_DHCP_BOUND,
    MIRAGE_DHCP_RENEWING,
    MIRAGE_DHCP_REBINDING,
};

/* What the client has been given. */
struct mirage_dhcp_lease {
    uint8_t addr[4], netmask[4], server[4];
    uint8_t prefix;      /* netmask as a prefix length (/24) */
    uint8_t has_gateway; /* option 3 was given */
    uint8_t gateway[4];
    uint8_t ndns;
    uint8_t dns[MIRAGE_DHCP_MAX_DNS][4];
    uint32_t lease_s, t1_s, t2_s; /* seconds, as granted (T1/T2 defaulted) */
    uint64_t start;               /* monotonic ns the REQUEST went out */
};

/* Sends (msg, len) as a UDP datagram from port 68 at (src) to port 67 at
 * (dst); src 0.0.0.0 until an address is bound, dst 255.255.255.255 for a
 * broadcast. Returns 0 or a negative error (the client retries later). */
typedef int (*mirage_dhcp_send_fn)(void *ctx, const uint8_t *msg, size_t len, const uint8_t src[4],
                                   const uint8_t dst[4]);
/* A lease was granted or renewed (addresses may differ from the last). */
typedef void (*mirage_dhcp_bound_fn)(void *ctx, const struct mirage_dhcp_lease *lease);
/* The lease ended (expired, or NAKed while held): stop using the address. */
typedef void (*mirage_dhcp_lost_fn)(void *ctx);

struct mirage_dhcp_stats {
    uint64_t sent, offers, acks, naks;
    uint64_t bad;     /* failed to parse */
    uint64_t ignored; /* well-formed but not ours or not wanted in this state */
};

/* One client; caller-owned, set up by mirage_dhcp_client_init(). */
struct mirage_dhcp_client {
    uint8_t mac[6];
    char hostname[MIRAGE_DHCP_HOSTNAME_MAX + 1];
    mirage_dhcp_send_fn send;
    mirage_dhcp_bound_fn bound;
    mirage_dhcp_lost_fn lost;
    void *ctx;
    enum mirage_dhcp_state state;
    uint32_t xid;
    uint64_t begun;    /* when this exchange began, for the secs field */
    uint64_t deadline; /* the next retransmission or lease event */
    unsigned tries;    /* transmissions in this state */
    uint8_t offered[4], offer_server[4];
    int has_lease;
    struct mirage_dhcp_lease lease;
    struct mirage_dhcp_stats stats;
    char last_error[96]; /* why the last bad message was dropped */
};

/* Prepares (c) for the interface with (mac); (hostname) (NULL or "" for
 * none) is sent as option 12 and must be 1..63 letters, digits, '-' or '.'.
 * Returns 0 or MIRAGE_EINVAL. Sends nothing until started. */
int mirage_dhcp_client_init(struct mirage_dhcp_client *c, const uint8_t mac[6],
                            const char *hostname, mirage_dhcp_send_fn send,
                            mirage_dhcp_bound_fn bound, mirage_dhcp_lost_fn lost, void *ctx);

/* Sends the first DISCOVER at (now). */
void mirage_dhcp_client_start(struct mirage_dhcp_client *c, uint64_t now);

/* Hands the client one datagram received on port 68; may call bound, lost
 * and send before it returns. Malformed or foreign messages are counted. */
void mirage_dhcp_client_input(struct mirage_dhcp_client *c, const uint8_t *buf, size_t len,
                              uint64_t now);

/* Does what is due at (now): retransmits, renews at T1, rebinds at T2,
 * gives the lease up at its end. Returns the next deadline. */
uint64_t mirage_dhcp_client_tick(struct mirage_dhcp_client *c, uint64_t now);

/* When tick next has something to do (MIRAGE_FOREVER-like UINT64_MAX: never). */
static inline uint64_t mirage_dhcp_client_deadline(const struct mirage_dhcp_client *c)
{
    return c->deadline;
}

/* Gives a held lease back (RELEASE unicast to its server) and stops. */
void mirage_dhcp_client_release(struct mirage_dhcp_client *c);

/* "INIT", "SELECTING", ... */
const char *mirage_dhcp_state_name(enum mirage_dhcp_state s);

#endif
