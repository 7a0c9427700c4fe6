/* dhcp.c: the DHCPv4 client: parsing and building messages, and the lease state machine. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mirage/dhcp.h"
#include "mirage/error.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/time.h"
#include "mirage/wire.h"

MIRAGE_LOG_SOURCE(dhcp_log, "dhcp", "DHCP client");

#define BOOTP_FIXED 236 /* up to the magic cookie */
#define OPTIONS_AT  240
#define SNAME_AT    44
#define SNAME_LEN   64
#define FILE_AT     108
#define FILE_LEN    128
#define BOOTP_MIN   300 /* some servers drop shorter requests */

#define OPT_PAD       0
#define OPT_NETMASK   1
#define OPT_ROUTER    3
#define OPT_DNS       6
#define OPT_HOSTNAME  12
#define OPT_REQUESTED 50
#define OPT_LEASE     51
#define OPT_OVERLOAD  52
#define OPT_TYPE      53
#define OPT_SERVER_ID 54
#define OPT_PARAMS    55
#define OPT_MAX_SIZE  57
#define OPT_T1        58
#define OPT_T2        59
#define OPT_CLIENT_ID 61
#define OPT_END       255

static const uint8_t cookie[4] = {99, 130, 83, 99};
static const uint8_t any[4] = {0, 0, 0, 0};
static const uint8_t everyone[4] = {255, 255, 255, 255};

static int fail(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errsize > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    return MIRAGE_EINVAL;
}

/* The prefix length of a contiguous netmask, or -1. */
static int mask_prefix(const uint8_t m[4])
{
    struct mirage_rd r = mirage_rd_init(m, 4);
    uint32_t v = mirage_rd_be32(&r);
    int bits = 0;

    while (bits < 32 && (v & (0x80000000u >> bits)))
        bits++;
    if (bits < 32 && (v << bits) != 0)
        return -1;
    return bits;
}

/* Options a message may carry only once: a second copy is refused, not guessed at. */
static int once(uint8_t *seen, uint8_t code, char *err, size_t errsize)
{
    if (*seen)
        return fail(err, errsize, "option %u appears twice", code);
    *seen = 1;
    return 0;
}

static int fixed(uint8_t code, size_t len, size_t want, char *err, size_t errsize)
{
    if (len != want)
        return fail(err, errsize, "option %u has length %zu, expected %zu", code, len, want);
    return 0;
}

/* Reads the options in one area (the options field, file or sname). */
static int parse_area(struct mirage_rd c, const char *area, struct mirage_dhcp_msg *m,
                      uint8_t *overload, uint8_t *seen, char *err, size_t errsize)
{
    for (;;) {
        const uint8_t *v;
        uint8_t code;
        size_t len;
        int r = 0;

        if (mirage_rd_left(&c) < 1)
            return fail(err, errsize, "%s: options end without the END option (255)", area);
        code = mirage_rd_u8(&c);
        if (code == OPT_END)
            return 0;
        if (code == OPT_PAD)
            continue;
        if (mirage_rd_left(&c) < 1)
            return fail(err, errsize, "%s: option %u has no length byte", area, code);
        len = mirage_rd_u8(&c);
        if (len > mirage_rd_left(&c))
            return fail(err, errsize, "%s: option %u of length %zu runs past the end (%zu left)",
                        area, code, len, mirage_rd_left(&c));
        v = mirage_rd_take(&c, len);
        switch (code) {
        case OPT_TYPE:
            if ((r = fixed(code, len, 1, err, errsize)) == 0 &&
                (r = once(&seen[code], code, err, errsize)) == 0) {
                m->type = v[0];
                if (m->type < MIRAGE_DHCP_DISCOVER || m->type > MIRAGE_DHCP_INFORM)
                    r = fail(err, errsize, "message type %u is not one of 1..8", m->type);
            }
            break;
        case OPT_OVERLOAD:
            if ((r = fixed(code, len, 1, err, errsize)) == 0 &&
                (r = once(&seen[code], code, err, errsize)) == 0) {
                *overload = v[0];
                if (*overload < 1 || *overload > 3)
                    r = fail(err, errsize, "option 52 (overload) is %u, not 1..3", v[0]);
            }
            break;
        case OPT_NETMASK:
        case OPT_SERVER_ID:
        case OPT_REQUESTED: {
            uint8_t *dst = code == OPT_NETMASK     ? m->netmask
                           : code == OPT_SERVER_ID ? m->server_id
                                                   : m->requested;
            if ((r = fixed(code, len, 4, err, errsize)) == 0 &&
                (r = once(&seen[code], code, err, errsize)) == 0)
                memcpy(dst, v, 4);
            if (r == 0 && code == OPT_NETMASK && mask_prefix(v) < 0)
                r = fail(err, errsize, "option 1: netmask %u.%u.%u.%u is not contiguous", v[0],
                         v[1], v[2], v[3]);
            m->has_netmask |= code == OPT_NETMASK;
            m->has_server_id |= code == OPT_SERVER_ID;
            m->has_requested |= code == OPT_REQUESTED;
            break;
        }
        case OPT_LEASE:
        case OPT_T1:
        case OPT_T2:
            if ((r = fixed(code, len, 4, err, errsize)) == 0 &&
                (r = once(&seen[code], code, err, errsize)) == 0) {
                struct mirage_rd t = mirage_rd_init(v, len);
                if (code == OPT_LEASE) {
                    m->lease = mirage_rd_be32(&t);
                    m->has_lease = 1;
                } else if (code == OPT_T1) {
                    m->t1 = mirage_rd_be32(&t);
                    m->has_t1 = 1;
                } else {
                    m->t2 = mirage_rd_be32(&t);
                    m->has_t2 = 1;
                }
            }
            break;
        case OPT_ROUTER:
        case OPT_DNS:
            /* RFC 3396: a long option may come in pieces; the pieces join up. */
            if (len == 0 || len % 4 != 0) {
                r = fail(err, errsize, "option %u has length %zu, not a multiple of 4", code, len);
                break;
            }
            for (size_t i = 0; i < len; i += 4) {
                if (code == OPT_ROUTER && !m->has_router) {
                    memcpy(m->router, v + i, 4);
                    m->has_router = 1;
                } else if (code == OPT_DNS && m->ndns < MIRAGE_DHCP_MAX_DNS) {
                    memcpy(m->dns[m->ndns++], v + i, 4);
                }
            }
            break;
        case OPT_HOSTNAME:
            /* Informational only: kept when printable, else left out. */
            if (len > 0 && len <= MIRAGE_DHCP_HOSTNAME_MAX) {
                size_t i = 0;
                while (i < len && v[i] > ' ' && v[i] < 0x7f)
                    i++;
                if (i == len) {
                    memcpy(m->hostname, v, len);
                    m->hostname[len] = '\0';
                }
            }
            break;
        default:
            break; /* options we do not use are skipped whole */
        }
        if (r < 0)
            return r;
    }
}

/* A reader over the (n) bytes at (at) of the message (buf, len). */
static struct mirage_rd area(const uint8_t *buf, size_t len, size_t at, size_t n)
{
    struct mirage_rd r = mirage_rd_init(buf, len);

    mirage_rd_seek(&r, at);
    return mirage_rd_sub(&r, n);
}

int mirage_dhcp_parse(const uint8_t *buf, size_t len, struct mirage_dhcp_msg *m, char *err,
                      size_t errsize)
{
    struct mirage_rd c = mirage_rd_init(buf, len);
    const uint8_t *ck;
    uint8_t htype, hlen, overload = 0, seen[256] = {0};
    int r;

    memset(m, 0, sizeof(*m));
    if (mirage_rd_left(&c) < BOOTP_FIXED)
        return fail(err, errsize, "message of %zu bytes is shorter than the %d-byte BOOTP header",
                    len, BOOTP_FIXED + 4);
    m->op = mirage_rd_u8(&c);
    htype = mirage_rd_u8(&c);
    hlen = mirage_rd_u8(&c);
    mirage_rd_skip(&c, 1); /* hops */
    m->xid = mirage_rd_be32(&c);
    m->secs = mirage_rd_be16(&c);
    m->flags = mirage_rd_be16(&c);
    mirage_rd_bytes(&c, m->ciaddr, 4);
    mirage_rd_bytes(&c, m->yiaddr, 4);
    mirage_rd_bytes(&c, m->siaddr, 4);
    mirage_rd_bytes(&c, m->giaddr, 4);
    mirage_rd_bytes(&c, m->chaddr, 6);
    mirage_rd_seek(&c, BOOTP_FIXED);
    ck = mirage_rd_take(&c, 4);
    if (ck == NULL || memcmp(ck, cookie, 4) != 0)
        return fail(err, errsize, "no DHCP magic cookie 99.130.83.99 at byte %d", BOOTP_FIXED);
    if (m->op != 1 && m->op != 2)
        return fail(err, errsize, "op %u is neither 1 (request) nor 2 (reply)", m->op);
    if (htype != 1 || hlen != 6)
        return fail(err, errsize, "hardware type %u length %u: only Ethernet (1, 6) is handled",
                    htype, hlen);
    r = parse_area(area(buf, len, OPTIONS_AT, len - OPTIONS_AT), "options", m, &overload, seen, err,
                   errsize);
    if (r == 0 && (overload & 1))
        r = parse_area(area(buf, len, FILE_AT, FILE_LEN), "file field", m, &overload, seen, err,
                       errsize);
    if (r == 0 && (overload & 2))
        r = parse_area(area(buf, len, SNAME_AT, SNAME_LEN), "sname field", m, &overload, seen, err,
                       errsize);
    if (r == 0 && m->type == 0)
        r = fail(err, errsize, "no message type (option 53): a BOOTP message, not DHCP");
    return r;
}

/* ---- building ------------------------------------------------------------- */

static void put_opt(struct mirage_wr *w, uint8_t code, const void *v, uint8_t len)
{
    mirage_wr_u8(w, code);
    mirage_wr_u8(w, len);
    mirage_wr_bytes(w, v, len);
}

size_t mirage_dhcp_build(uint8_t *buf, size_t cap, const struct mirage_dhcp_msg *m)
{
    static const uint8_t params[] = {OPT_NETMASK, OPT_ROUTER, OPT_DNS, 15 /* domain */,
                                     OPT_LEASE,   OPT_T1,     OPT_T2};
    struct mirage_wr w = mirage_wr_init(buf, cap < MIRAGE_DHCP_MSG_MAX ? 0 : MIRAGE_DHCP_MSG_MAX);
    uint8_t client_id[7] = {1};
    uint8_t max_size[2] = {MIRAGE_DHCP_MSG_MAX >> 8, MIRAGE_DHCP_MSG_MAX & 0xff};
    size_t hlen = strnlen(m->hostname, sizeof(m->hostname));

    /* Everything below fits: 240 fixed bytes, at most 3 + 9 + 6 + 6 + 65 + 9 + 4 + 1 of options. */
    if (cap < MIRAGE_DHCP_MSG_MAX)
        return 0;
    mirage_wr_zeros(&w, MIRAGE_DHCP_MSG_MAX);
    mirage_wr_seek(&w, 0);
    mirage_wr_u8(&w, 1); /* op: request */
    mirage_wr_u8(&w, 1); /* htype: Ethernet */
    mirage_wr_u8(&w, 6); /* hlen */
    mirage_wr_u8(&w, 0); /* hops */
    mirage_wr_be32(&w, m->xid);
    mirage_wr_be16(&w, m->secs);
    mirage_wr_be16(&w, m->flags);
    mirage_wr_bytes(&w, m->ciaddr, 4);
    mirage_wr_seek(&w, 28); /* yiaddr, siaddr, giaddr: zero */
    mirage_wr_bytes(&w, m->chaddr, 6);
    mirage_wr_seek(&w, BOOTP_FIXED);
    mirage_wr_bytes(&w, cookie, 4);
    put_opt(&w, OPT_TYPE, &m->type, 1);
    memcpy(client_id + 1, m->chaddr, 6);
    put_opt(&w, OPT_CLIENT_ID, client_id, sizeof(client_id));
    if (m->has_requested)
        put_opt(&w, OPT_REQUESTED, m->requested, 4);
    if (m->has_server_id)
        put_opt(&w, OPT_SERVER_ID, m->server_id, 4);
    if (hlen > 0)
        put_opt(&w, OPT_HOSTNAME, m->hostname, (uint8_t)hlen);
    if (m->type != MIRAGE_DHCP_RELEASE && m->type != MIRAGE_DHCP_DECLINE) {
        put_opt(&w, OPT_PARAMS, params, sizeof(params));
        put_opt(&w, OPT_MAX_SIZE, max_size, 2);
    }
    mirage_wr_u8(&w, OPT_END);
    if (w.bad)
        return 0;
    return w.off < BOOTP_MIN ? BOOTP_MIN : w.off;
}

/* ---- the client ----------------------------------------------------------- */

static const char *const state_names[] = {"INIT",  "SELECTING", "REQUESTING",
                                          "BOUND", "RENEWING",  "REBINDING"};

const char *mirage_dhcp_state_name(enum mirage_dhcp_state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

static int valid_hostname(const char *h)
{
    size_t n = strlen(h);

    if (n == 0 || n > MIRAGE_DHCP_HOSTNAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.'))
            return 0;
    }
    return 1;
}

int mirage_dhcp_client_init(struct mirage_dhcp_client *c, const uint8_t mac[6],
                            const char *hostname, mirage_dhcp_send_fn send,
                            mirage_dhcp_bound_fn bound, mirage_dhcp_lost_fn lost, void *ctx)
{
    memset(c, 0, sizeof(*c));
    if (send == NULL || (mac[0] & 1))
        return MIRAGE_EINVAL;
    if (hostname != NULL && hostname[0] != '\0') {
        if (!valid_hostname(hostname))
            return MIRAGE_EINVAL;
        strcpy(c->hostname, hostname);
    }
    memcpy(c->mac, mac, 6);
    c->send = send;
    c->bound = bound;
    c->lost = lost;
    c->ctx = ctx;
    c->state = MIRAGE_DHCP_INIT;
    c->deadline = UINT64_MAX;
    return 0;
}

static void set_state(struct mirage_dhcp_client *c, enum mirage_dhcp_state s)
{
    if (c->state != s)
        mirage_log_debug(&dhcp_log, "%s -> %s", mirage_dhcp_state_name(c->state),
                         mirage_dhcp_state_name(s));
    c->state = s;
    c->tries = 0;
}

/* RFC 2131 4.1: 4, 8, 16, 32 then 64 s between tries, each +-1 s at random. */
static uint64_t backoff(unsigned tries)
{
    unsigned shift = tries < 5 ? tries : 4;
    uint64_t base = MIRAGE_SEC(4) << shift;

    return base - MIRAGE_SEC(1) + mirage_random_uniform(MIRAGE_SEC(2));
}

static void transmit(struct mirage_dhcp_client *c, uint8_t type, uint64_t now)
{
    struct mirage_dhcp_msg m = {0};
    uint8_t buf[MIRAGE_DHCP_MSG_MAX];
    const uint8_t *src = any, *dst = everyone;
    uint64_t secs = (now - c->begun) / MIRAGE_SEC(1);
    size_t len;
    int r;

    m.type = type;
    m.xid = c->xid;
    m.secs = secs > 0xffff ? 0xffff : (uint16_t)secs;
    memcpy(m.chaddr, c->mac, 6);
    strcpy(m.hostname, c->hostname);
    switch (c->state) {
    case MIRAGE_DHCP_SELECTING:
    case MIRAGE_DHCP_REQUESTING:
        /* With no address yet the answer cannot be unicast to us. */
        m.flags = MIRAGE_DHCP_FLAG_BROADCAST;
        if (type == MIRAGE_DHCP_REQUEST) {
            memcpy(m.requested, c->offered, 4);
            memcpy(m.server_id, c->offer_server, 4);
            m.has_requested = m.has_server_id = 1;
        }
        break;
    case MIRAGE_DHCP_RENEWING:
        dst = c->lease.server;
        /* fall through */
    case MIRAGE_DHCP_REBINDING:
        src = c->lease.addr;
        memcpy(m.ciaddr, c->lease.addr, 4);
        break;
    case MIRAGE_DHCP_BOUND: /* RELEASE */
        src = c->lease.addr;
        dst = c->lease.server;
        memcpy(m.ciaddr, c->lease.addr, 4);
        memcpy(m.server_id, c->lease.server, 4);
        m.has_server_id = 1;
        m.hostname[0] = '\0';
        break;
    default:
        return;
    }
    len = mirage_dhcp_build(buf, sizeof(buf), &m);
    r = c->send(c->ctx, buf, len, src, dst);
    c->stats.sent++;
    c->tries++;
    if (r < 0)
        mirage_log_debug(&dhcp_log, "sending %s failed: %s",
                         type == MIRAGE_DHCP_DISCOVER ? "DISCOVER" : "REQUEST", mirage_strerror(r));
}

static void discover(struct mirage_dhcp_client *c, uint64_t now)
{
    set_state(c, MIRAGE_DHCP_SELECTING);
    c->xid = (uint32_t)mirage_random_u64();
    c->begun = now;
    transmit(c, MIRAGE_DHCP_DISCOVER, now);
    c->deadline = now + backoff(0);
    mirage_log_info(&dhcp_log, "DISCOVER sent (xid 0x%08x)", (unsigned)c->xid);
}

void mirage_dhcp_client_start(struct mirage_dhcp_client *c, uint64_t now)
{
    discover(c, now);
}

static uint64_t at(uint64_t start, uint32_t secs)
{
    return secs == MIRAGE_DHCP_INFINITE ? UINT64_MAX : start + MIRAGE_SEC(secs);
}

/* RFC 2131 4.4.5: in RENEWING and REBINDING wait half the time left to
 * (end), but at least 60 s, and never past (end). */
static uint64_t halfway(uint64_t now, uint64_t end)
{
    uint64_t wait;

    if (end == UINT64_MAX)
        return UINT64_MAX;
    wait = end > now ? (end - now) / 2 : 0;
    if (wait < MIRAGE_SEC(60))
        wait = MIRAGE_SEC(60);
    return now + wait < end ? now + wait : end;
}

static void lose(struct mirage_dhcp_client *c, const char *why, uint64_t now)
{
    int had = c->has_lease;

    mirage_log_warn(&dhcp_log, "%s", why);
    c->has_lease = 0;
    if (had && c->lost)
        c->lost(c->ctx);
    /* A pause before starting over, so a server that only NAKs is not flooded. */
    set_state(c, MIRAGE_DHCP_INIT);
    c->deadline = now + MIRAGE_SEC(2);
}

static void take_lease(struct mirage_dhcp_client *c, const struct mirage_dhcp_msg *m)
{
    struct mirage_dhcp_lease *l = &c->lease;
    uint32_t t1 = m->lease == MIRAGE_DHCP_INFINITE ? m->lease : m->lease / 2;
    uint32_t t2 =
        m->lease == MIRAGE_DHCP_INFINITE ? m->lease : (uint32_t)((uint64_t)m->lease * 7 / 8);

    memcpy(l->addr, m->yiaddr, 4);
    if (m->has_netmask) {
        memcpy(l->netmask, m->netmask, 4);
    } else {
        /* RFC 2131 leaves it to the client; the classful mask is the old default. */
        uint8_t def[4] = {255, m->yiaddr[0] >= 128 ? 255 : 0, m->yiaddr[0] >= 192 ? 255 : 0, 0};
        memcpy(l->netmask, def, 4);
    }
    l->prefix = (uint8_t)mask_prefix(l->netmask);
    memcpy(l->server, m->has_server_id ? m->server_id : c->offer_server, 4);
    l->has_gateway = m->has_router;
    memcpy(l->gateway, m->router, 4);
    l->ndns = m->ndns;
    memcpy(l->dns, m->dns, sizeof(l->dns));
    /* T1 <= T2 <= lease, or the defaults (RFC 2131 4.4.5). */
    if (m->has_t2 && m->t2 <= m->lease)
        t2 = m->t2;
    if (m->has_t1 && m->t1 <= t2)
        t1 = m->t1;
    if (t1 > t2)
        t1 = t2;
    l->lease_s = m->lease;
    l->t1_s = t1;
    l->t2_s = t2;
    l->start = c->begun;
    c->has_lease = 1;
}

/* Whether (a) can be a host's own unicast address. */
static int usable(const uint8_t a[4])
{
    return a[0] != 0 && a[0] != 127 && a[0] < 224 && memcmp(a, everyone, 4) != 0;
}

static void handle_ack(struct mirage_dhcp_client *c, const struct mirage_dhcp_msg *m, uint64_t now)
{
    int changed = !c->has_lease || memcmp(c->lease.addr, m->yiaddr, 4) != 0;

    if (!m->has_lease || !usable(m->yiaddr)) {
        snprintf(c->last_error, sizeof(c->last_error), "ACK %s",
                 m->has_lease ? "offers an address no host can use" : "has no lease time");
        c->stats.bad++;
        mirage_log_warn(&dhcp_log, "ignored: %s", c->last_error);
        return;
    }
    c->stats.acks++;
    if (changed && c->has_lease && c->lost)
        c->lost(c->ctx);
    take_lease(c, m);
    set_state(c, MIRAGE_DHCP_BOUND);
    c->deadline = at(c->lease.start, c->lease.t1_s);
    mirage_log_info(&dhcp_log, "lease %u.%u.%u.%u/%u from %u.%u.%u.%u for %u s (renew after %u s)",
                    c->lease.addr[0], c->lease.addr[1], c->lease.addr[2], c->lease.addr[3],
                    c->lease.prefix, c->lease.server[0], c->lease.server[1], c->lease.server[2],
                    c->lease.server[3], (unsigned)c->lease.lease_s, (unsigned)c->lease.t1_s);
    if (c->bound)
        c->bound(c->ctx, &c->lease);
    (void)now;
}

void mirage_dhcp_client_input(struct mirage_dhcp_client *c, const uint8_t *buf, size_t len,
                              uint64_t now)
{
    struct mirage_dhcp_msg m;

    if (mirage_dhcp_parse(buf, len, &m, c->last_error, sizeof(c->last_error)) < 0) {
        c->stats.bad++;
        mirage_log_debug(&dhcp_log, "dropped: %s", c->last_error);
        return;
    }
    if (m.op != 2 || m.xid != c->xid || memcmp(m.chaddr, c->mac, 6) != 0) {
        c->stats.ignored++;
        return;
    }
    switch (m.type) {
    case MIRAGE_DHCP_OFFER:
        if (c->state != MIRAGE_DHCP_SELECTING || !m.has_server_id || !usable(m.yiaddr)) {
            c->stats.ignored++;
            return;
        }
        c->stats.offers++;
        memcpy(c->offered, m.yiaddr, 4);
        memcpy(c->offer_server, m.server_id, 4);
        set_state(c, MIRAGE_DHCP_REQUESTING);
        transmit(c, MIRAGE_DHCP_REQUEST, now);
        c->deadline = now + backoff(0);
        mirage_log_info(&dhcp_log, "OFFER of %u.%u.%u.%u from %u.%u.%u.%u: REQUEST sent",
                        m.yiaddr[0], m.yiaddr[1], m.yiaddr[2], m.yiaddr[3], m.server_id[0],
                        m.server_id[1], m.server_id[2], m.server_id[3]);
        return;
    case MIRAGE_DHCP_ACK:
        if (c->state != MIRAGE_DHCP_REQUESTING && c->state != MIRAGE_DHCP_RENEWING &&
            c->state != MIRAGE_DHCP_REBINDING) {
            c->stats.ignored++;
            return;
        }
        if (c->state == MIRAGE_DHCP_REQUESTING && memcmp(m.yiaddr, c->offered, 4) != 0) {
            c->stats.ignored++;
            return;
        }
        handle_ack(c, &m, now);
        return;
    case MIRAGE_DHCP_NAK:
        if (c->state != MIRAGE_DHCP_REQUESTING && c->state != MIRAGE_DHCP_RENEWING &&
            c->state != MIRAGE_DHCP_REBINDING) {
            c->stats.ignored++;
            return;
        }
        c->stats.naks++;
        lose(c, "NAK from the server: starting over", now);
        return;
    default:
        c->stats.ignored++;
        return;
    }
}

uint64_t mirage_dhcp_client_tick(struct mirage_dhcp_client *c, uint64_t now)
{
    uint64_t t2, end;

    if (now < c->deadline)
        return c->deadline;
    switch (c->state) {
    case MIRAGE_DHCP_INIT:
        discover(c, now);
        break;
    case MIRAGE_DHCP_SELECTING:
        transmit(c, MIRAGE_DHCP_DISCOVER, now);
        c->deadline = now + backoff(c->tries - 1);
        mirage_log_info(&dhcp_log, "no OFFER yet: DISCOVER sent again (try %u)", c->tries);
        break;
    case MIRAGE_DHCP_REQUESTING:
        if (c->tries >= 4) {
            lose(c, "no answer to REQUEST: starting over", now);
            break;
        }
        transmit(c, MIRAGE_DHCP_REQUEST, now);
        c->deadline = now + backoff(c->tries - 1);
        break;
    case MIRAGE_DHCP_BOUND:
    case MIRAGE_DHCP_RENEWING:
    case MIRAGE_DHCP_REBINDING:
        t2 = at(c->lease.start, c->lease.t2_s);
        end = at(c->lease.start, c->lease.lease_s);
        if (now >= end) {
            lose(c, "lease expired", now);
            break;
        }
        if (now >= t2 && c->state != MIRAGE_DHCP_REBINDING) {
            set_state(c, MIRAGE_DHCP_REBINDING);
            mirage_log_info(&dhcp_log, "T2 reached without a renewal: rebinding");
        } else if (c->state == MIRAGE_DHCP_BOUND) {
            set_state(c, MIRAGE_DHCP_RENEWING);
            mirage_log_info(&dhcp_log, "T1 reached: renewing");
        }
        if (c->tries == 0) {
            /* A new exchange: new xid, and the lease counts from this REQUEST. */
            c->xid = (uint32_t)mirage_random_u64();
            c->begun = now;
        }
        transmit(c, MIRAGE_DHCP_REQUEST, now);
        c->deadline = halfway(now, c->state == MIRAGE_DHCP_RENEWING ? t2 : end);
        break;
    }
    return c->deadline;
}

void mirage_dhcp_client_release(struct mirage_dhcp_client *c)
{
    if (c->has_lease) {
        enum mirage_dhcp_state s = c->state;
        c->state = MIRAGE_DHCP_BOUND;
        transmit(c, MIRAGE_DHCP_RELEASE, c->begun);
        c->state = s;
        c->has_lease = 0;
    }
    set_state(c, MIRAGE_DHCP_INIT);
    c->deadline = UINT64_MAX;
}
