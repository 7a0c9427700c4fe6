/* test_dhcp.c: the DHCP codec and client state machine against a scripted server, in virtual time.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "fake_platform.h"
#include "mirage/dhcp.h"
#include "mirage/error.h"
#include "mirage/time.h"

const char *mirage_cmdline(void)
{
    return "";
}

static const uint8_t MAC[6] = {0x02, 0, 0, 0, 0, 0x42};
static const uint8_t SERVER[4] = {10, 0, 0, 1};
static const uint8_t ADDR[4] = {10, 0, 0, 77};
static const uint8_t ZERO[4] = {0, 0, 0, 0};
static const uint8_t BCAST[4] = {255, 255, 255, 255};

/* What the client sent last, and what its callbacks saw. */
static struct {
    int count;
    uint8_t msg[MIRAGE_DHCP_MSG_MAX];
    size_t len;
    uint8_t src[4], dst[4];
    int bound, lost;
    struct mirage_dhcp_lease lease;
} seen;

static int send_cb(void *ctx, const uint8_t *msg, size_t len, const uint8_t src[4],
                   const uint8_t dst[4])
{
    (void)ctx;
    CHECK(len <= sizeof(seen.msg));
    memcpy(seen.msg, msg, len);
    seen.len = len;
    memcpy(seen.src, src, 4);
    memcpy(seen.dst, dst, 4);
    seen.count++;
    return 0;
}

static void bound_cb(void *ctx, const struct mirage_dhcp_lease *l)
{
    (void)ctx;
    seen.bound++;
    seen.lease = *l;
}

static void lost_cb(void *ctx)
{
    (void)ctx;
    seen.lost++;
}

static struct mirage_dhcp_msg last_sent(void)
{
    struct mirage_dhcp_msg m;
    char err[128] = "";

    CHECK_INT(mirage_dhcp_parse(seen.msg, seen.len, &m, err, sizeof(err)), 0);
    if (err[0])
        fprintf(stderr, "parse of the client's message: %s\n", err);
    return m;
}

/* A server reply of (type) for (xid), with the options a typical server sends. */
struct reply {
    uint8_t type;
    uint32_t xid;
    uint8_t yiaddr[4];
    uint32_t lease, t1, t2; /* 0: left out */
    int no_server_id;
};

static size_t server_msg(uint8_t *b, const struct reply *r)
{
    size_t o = 240;

    memset(b, 0, 548);
    b[0] = 2;
    b[1] = 1;
    b[2] = 6;
    b[4] = (uint8_t)(r->xid >> 24);
    b[5] = (uint8_t)(r->xid >> 16);
    b[6] = (uint8_t)(r->xid >> 8);
    b[7] = (uint8_t)r->xid;
    memcpy(b + 16, r->yiaddr, 4);
    memcpy(b + 28, MAC, 6);
    b[236] = 99, b[237] = 130, b[238] = 83, b[239] = 99;
    b[o++] = 53, b[o++] = 1, b[o++] = r->type;
    if (!r->no_server_id) {
        b[o++] = 54, b[o++] = 4;
        memcpy(b + o, SERVER, 4), o += 4;
    }
    b[o++] = 1, b[o++] = 4, b[o++] = 255, b[o++] = 255, b[o++] = 255, b[o++] = 0;
    b[o++] = 3, b[o++] = 4, b[o++] = 10, b[o++] = 0, b[o++] = 0, b[o++] = 254;
    b[o++] = 6, b[o++] = 8, b[o++] = 10, b[o++] = 0, b[o++] = 0, b[o++] = 53;
    b[o++] = 9, b[o++] = 9, b[o++] = 9, b[o++] = 9;
    const uint32_t vals[3] = {r->lease, r->t1, r->t2};
    const uint8_t codes[3] = {51, 58, 59};
    for (int i = 0; i < 3; i++) {
        if (vals[i] == 0)
            continue;
        b[o++] = codes[i], b[o++] = 4;
        b[o++] = (uint8_t)(vals[i] >> 24), b[o++] = (uint8_t)(vals[i] >> 16);
        b[o++] = (uint8_t)(vals[i] >> 8), b[o++] = (uint8_t)vals[i];
    }
    b[o++] = 255;
    return o;
}

static void feed(struct mirage_dhcp_client *c, const struct reply *r)
{
    uint8_t b[548];
    size_t n = server_msg(b, r);

    mirage_dhcp_client_input(c, b, n, fake_now);
}

static void test_build_parse(void)
{
    struct mirage_dhcp_msg m = {0}, p;
    uint8_t buf[MIRAGE_DHCP_MSG_MAX];
    char err[128];
    size_t n;

    m.type = MIRAGE_DHCP_REQUEST;
    m.xid = 0xdeadbeef;
    m.secs = 7;
    m.flags = MIRAGE_DHCP_FLAG_BROADCAST;
    memcpy(m.chaddr, MAC, 6);
    memcpy(m.requested, ADDR, 4);
    memcpy(m.server_id, SERVER, 4);
    m.has_requested = m.has_server_id = 1;
    strcpy(m.hostname, "stack-echo");
    CHECK_INT(mirage_dhcp_build(buf, 100, &m), 0);
    n = mirage_dhcp_build(buf, sizeof(buf), &m);
    CHECK_INT(n, 300);
    CHECK_INT(mirage_dhcp_parse(buf, n, &p, err, sizeof(err)), 0);
    CHECK_INT(p.op, 1);
    CHECK_INT(p.type, MIRAGE_DHCP_REQUEST);
    CHECK_INT(p.xid, 0xdeadbeef);
    CHECK_INT(p.secs, 7);
    CHECK_INT(p.flags, MIRAGE_DHCP_FLAG_BROADCAST);
    CHECK(memcmp(p.chaddr, MAC, 6) == 0);
    CHECK(p.has_requested && memcmp(p.requested, ADDR, 4) == 0);
    CHECK(p.has_server_id && memcmp(p.server_id, SERVER, 4) == 0);
    CHECK_STR(p.hostname, "stack-echo");
}

static void expect_error(const uint8_t *b, size_t n, const char *fragment)
{
    struct mirage_dhcp_msg m;
    char err[160] = "";

    CHECK_INT(mirage_dhcp_parse(b, n, &m, err, sizeof(err)), MIRAGE_EINVAL);
    if (strstr(err, fragment) == NULL) {
        fprintf(stderr, "error '%s' does not say '%s'\n", err, fragment);
        check_failures++;
    }
}

static void test_parse_errors(void)
{
    struct reply r = {.type = MIRAGE_DHCP_OFFER, .xid = 1, .lease = 60};
    struct mirage_dhcp_msg m;
    uint8_t b[548];
    size_t n = server_msg(b, &r);
    char err[160];

    memcpy(r.yiaddr, ADDR, 4);
    n = server_msg(b, &r);
    CHECK_INT(mirage_dhcp_parse(b, n, &m, err, sizeof(err)), 0);
    CHECK_INT(m.ndns, 2);
    CHECK(m.has_router && m.router[3] == 254);
    CHECK(m.has_lease && m.lease == 60);

    expect_error(b, 100, "shorter than");
    expect_error(b, 240 + 2, "runs past the end");
    expect_error(b, n - 1, "without the END option");
    b[236] = 98;
    expect_error(b, n, "magic cookie");
    b[236] = 99;
    b[0] = 3;
    expect_error(b, n, "op 3");
    b[0] = 2;
    b[2] = 16;
    expect_error(b, n, "only Ethernet");
    b[2] = 6;
    b[241] = 2; /* message type of length 2 */
    expect_error(b, n, "option 53 has length 2");
    b[241] = 1;
    b[242] = 9;
    expect_error(b, n, "message type 9");
    b[242] = MIRAGE_DHCP_OFFER;

    /* Netmask 255.0.255.0 (the netmask follows the server id at 243..248). */
    CHECK_INT(b[249], 1);
    b[252] = 0;
    expect_error(b, n, "not contiguous");
    b[252] = 255;

    /* A second message type is refused. */
    {
        uint8_t d[548];
        memcpy(d, b, n);
        d[n - 1] = 53, d[n] = 1, d[n + 1] = 2, d[n + 2] = 255;
        expect_error(d, n + 3, "appears twice");
    }
    /* DNS of 5 bytes. */
    CHECK_INT(b[261], 6);
    b[262] = 5;
    expect_error(b, n, "not a multiple of 4");

    /* Options moved into the file field by option 52 are read there. */
    {
        uint8_t d[548] = {0};
        size_t o = 240;
        memcpy(d, b, 240);
        d[o++] = 52, d[o++] = 1, d[o++] = 1, d[o++] = 255;
        d[108] = 53, d[109] = 1, d[110] = MIRAGE_DHCP_ACK, d[111] = 51, d[112] = 4;
        d[113] = 0, d[114] = 0, d[115] = 1, d[116] = 0, d[117] = 255;
        CHECK_INT(mirage_dhcp_parse(d, o, &m, err, sizeof(err)), 0);
        CHECK_INT(m.type, MIRAGE_DHCP_ACK);
        CHECK_INT(m.lease, 256);
        d[117] = 0; /* the file field's options never end */
        d[108 + 127] = 0;
        expect_error(d, o, "file field: options end without");
    }
    /* A BOOTP reply without option 53. */
    {
        uint8_t d[244] = {2, 1, 6};
        d[236] = 99, d[237] = 130, d[238] = 83, d[239] = 99, d[240] = 255;
        expect_error(d, 241, "no message type");
    }
}

static struct mirage_dhcp_client client;

static void start_client(void)
{
    memset(&seen, 0, sizeof(seen));
    CHECK_INT(mirage_dhcp_client_init(&client, MAC, "uk-1", send_cb, bound_cb, lost_cb, NULL), 0);
    mirage_dhcp_client_start(&client, fake_now);
}

/* Takes the client from INIT to BOUND with a lease of (lease) seconds. */
static void acquire(uint32_t lease, uint32_t t1, uint32_t t2)
{
    struct mirage_dhcp_msg m;
    struct reply r = {.type = MIRAGE_DHCP_OFFER, .lease = lease, .t1 = t1, .t2 = t2};

    start_client();
    CHECK_INT(seen.count, 1);
    m = last_sent();
    CHECK_INT(m.type, MIRAGE_DHCP_DISCOVER);
    CHECK(memcmp(seen.src, ZERO, 4) == 0 && memcmp(seen.dst, BCAST, 4) == 0);
    CHECK_INT(m.flags, MIRAGE_DHCP_FLAG_BROADCAST);
    CHECK_STR(m.hostname, "uk-1");
    CHECK_INT(client.state, MIRAGE_DHCP_SELECTING);

    r.xid = m.xid;
    memcpy(r.yiaddr, ADDR, 4);
    feed(&client, &r);
    CHECK_INT(client.state, MIRAGE_DHCP_REQUESTING);
    CHECK_INT(seen.count, 2);
    m = last_sent();
    CHECK_INT(m.type, MIRAGE_DHCP_REQUEST);
    CHECK_INT(m.xid, r.xid);
    CHECK(m.has_requested && memcmp(m.requested, ADDR, 4) == 0);
    CHECK(m.has_server_id && memcmp(m.server_id, SERVER, 4) == 0);
    CHECK(memcmp(m.ciaddr, ZERO, 4) == 0 && memcmp(seen.src, ZERO, 4) == 0);

    r.type = MIRAGE_DHCP_ACK;
    feed(&client, &r);
    CHECK_INT(client.state, MIRAGE_DHCP_BOUND);
    CHECK_INT(seen.bound, 1);
}

static void test_exchange_and_renewal(void)
{
    uint64_t t0 = fake_now;
    struct mirage_dhcp_msg m;
    struct reply r = {.type = MIRAGE_DHCP_ACK, .lease = 3600};

    acquire(3600, 0, 0);
    CHECK(memcmp(seen.lease.addr, ADDR, 4) == 0);
    CHECK_INT(seen.lease.prefix, 24);
    CHECK(seen.lease.has_gateway && seen.lease.gateway[3] == 254);
    CHECK_INT(seen.lease.ndns, 2);
    CHECK_INT(seen.lease.lease_s, 3600);
    CHECK_INT(seen.lease.t1_s, 1800);
    CHECK_INT(seen.lease.t2_s, 3150);
    CHECK_INT(mirage_dhcp_client_deadline(&client), t0 + MIRAGE_SEC(1800));

    /* Nothing happens before T1. */
    fake_now = t0 + MIRAGE_SEC(1799);
    mirage_dhcp_client_tick(&client, fake_now);
    CHECK_INT(seen.count, 2);

    /* T1: a REQUEST unicast to the server from our address, ciaddr set. */
    fake_now = t0 + MIRAGE_SEC(1800);
    mirage_dhcp_client_tick(&client, fake_now);
    CHECK_INT(client.state, MIRAGE_DHCP_RENEWING);
    CHECK_INT(seen.count, 3);
    m = last_sent();
    CHECK_INT(m.type, MIRAGE_DHCP_REQUEST);
    CHECK(memcmp(seen.src, ADDR, 4) == 0 && memcmp(seen.dst, SERVER, 4) == 0);
    CHECK(memcmp(m.ciaddr, ADDR, 4) == 0);
    CHECK(!m.has_requested && !m.has_server_id);
    /* The next try is half-way to T2: (3150 - 1800) / 2 = 675 s later. */
    CHECK_INT(mirage_dhcp_client_deadline(&client), fake_now + MIRAGE_SEC(675));

    /* No answer until T2: a broadcast REQUEST. */
    while (client.state == MIRAGE_DHCP_RENEWING && seen.count < 20) {
        fake_now = mirage_dhcp_client_deadline(&client);
        mirage_dhcp_client_tick(&client, fake_now);
    }
    CHECK_INT(client.state, MIRAGE_DHCP_REBINDING);
    CHECK_INT(fake_now, t0 + MIRAGE_SEC(3150));
    m = last_sent();
    CHECK(memcmp(seen.src, ADDR, 4) == 0 && memcmp(seen.dst, BCAST, 4) == 0);
    CHECK(memcmp(m.ciaddr, ADDR, 4) == 0);

    /* An ACK renews: bound again, the lease counted from the REQUEST. */
    r.xid = m.xid;
    memcpy(r.yiaddr, ADDR, 4);
    feed(&client, &r);
    CHECK_INT(client.state, MIRAGE_DHCP_BOUND);
    CHECK_INT(seen.bound, 2);
    CHECK_INT(seen.lost, 0);
    CHECK_INT(seen.lease.start, t0 + MIRAGE_SEC(3150));
    CHECK_INT(mirage_dhcp_client_deadline(&client), t0 + MIRAGE_SEC(3150 + 1800));

    /* Now no answer at all: the lease ends and the client starts over. */
    for (int i = 0; i < 40 && seen.lost == 0; i++) {
        fake_now = mirage_dhcp_client_deadline(&client);
        mirage_dhcp_client_tick(&client, fake_now);
    }
    CHECK_INT(seen.lost, 1);
    CHECK_INT(fake_now, t0 + MIRAGE_SEC(3150 + 3600));
    CHECK_INT(client.state, MIRAGE_DHCP_INIT);
    fake_now = mirage_dhcp_client_deadline(&client);
    mirage_dhcp_client_tick(&client, fake_now);
    CHECK_INT(client.state, MIRAGE_DHCP_SELECTING);
    CHECK_INT(last_sent().type, MIRAGE_DHCP_DISCOVER);
}

static void test_server_times(void)
{
    /* T1 and T2 from the server are used when T1 <= T2 <= lease. */
    acquire(1000, 100, 200);
    CHECK_INT(seen.lease.t1_s, 100);
    CHECK_INT(seen.lease.t2_s, 200);
    /* Bad ones fall back to the defaults. */
    acquire(1000, 900, 800);
    CHECK_INT(seen.lease.t1_s, 500);
    CHECK_INT(seen.lease.t2_s, 800);
    /* An infinite lease is never renewed. */
    acquire(MIRAGE_DHCP_INFINITE, 0, 0);
    CHECK(mirage_dhcp_client_deadline(&client) == UINT64_MAX);
}

static void test_retransmit(void)
{
    uint64_t t;

    start_client();
    /* 4, 8, 16, 32, 64, 64 s apart, each within +-1 s. */
    for (int i = 0; i < 6; i++) {
        uint64_t base = MIRAGE_SEC(4) << (i < 4 ? i : 4);
        t = fake_now;
        fake_now = mirage_dhcp_client_deadline(&client);
        CHECK(fake_now - t >= base - MIRAGE_SEC(1) && fake_now - t <= base + MIRAGE_SEC(1));
        mirage_dhcp_client_tick(&client, fake_now);
        CHECK_INT(seen.count, i + 2);
        CHECK_INT(last_sent().type, MIRAGE_DHCP_DISCOVER);
    }
    /* The secs field counts from the first DISCOVER. */
    CHECK(last_sent().secs >= 4 + 8 + 16 + 32 + 64 + 64 - 6);
}

static void test_foreign_and_nak(void)
{
    struct mirage_dhcp_msg m;
    struct reply r = {.type = MIRAGE_DHCP_OFFER, .lease = 600};
    uint8_t b[548];
    size_t n;

    start_client();
    m = last_sent();
    memcpy(r.yiaddr, ADDR, 4);
    /* Wrong xid, another client's MAC, no server id, a NAK while selecting: all ignored. */
    r.xid = m.xid + 1;
    feed(&client, &r);
    r.xid = m.xid;
    n = server_msg(b, &r);
    b[33] ^= 1;
    mirage_dhcp_client_input(&client, b, n, fake_now);
    r.no_server_id = 1;
    feed(&client, &r);
    r.no_server_id = 0;
    r.type = MIRAGE_DHCP_NAK;
    feed(&client, &r);
    CHECK_INT(client.stats.ignored, 4);
    CHECK_INT(client.state, MIRAGE_DHCP_SELECTING);
    /* Garbage is counted as bad with a reason. */
    mirage_dhcp_client_input(&client, b, 10, fake_now);
    CHECK_INT(client.stats.bad, 1);
    CHECK(strstr(client.last_error, "shorter") != NULL);

    /* An offer of 0.0.0.0 is not taken. */
    r.type = MIRAGE_DHCP_OFFER;
    memset(r.yiaddr, 0, 4);
    feed(&client, &r);
    CHECK_INT(client.state, MIRAGE_DHCP_SELECTING);

    /* A NAK to the REQUEST: back to INIT, DISCOVER again 2 s later. */
    memcpy(r.yiaddr, ADDR, 4);
    feed(&client, &r);
    CHECK_INT(client.state, MIRAGE_DHCP_REQUESTING);
    r.type = MIRAGE_DHCP_NAK;
    feed(&client, &r);
    CHECK_INT(client.state, MIRAGE_DHCP_INIT);
    CHECK_INT(client.stats.naks, 1);
    CHECK_INT(seen.lost, 0);
    CHECK_INT(mirage_dhcp_client_deadline(&client), fake_now + MIRAGE_SEC(2));
    fake_now += MIRAGE_SEC(2);
    mirage_dhcp_client_tick(&client, fake_now);
    CHECK_INT(client.state, MIRAGE_DHCP_SELECTING);
    CHECK(last_sent().xid != m.xid);

    /* An ACK without a lease time is refused. */
    acquire(600, 0, 0);
    mirage_dhcp_client_tick(&client, fake_now + MIRAGE_SEC(300));
    fake_now += MIRAGE_SEC(300);
    r.xid = last_sent().xid;
    r.type = MIRAGE_DHCP_ACK;
    r.lease = 0;
    feed(&client, &r);
    CHECK_INT(client.state, MIRAGE_DHCP_RENEWING);
    CHECK(strstr(client.last_error, "no lease time") != NULL);
    /* A NAK while renewing loses the lease. */
    r.type = MIRAGE_DHCP_NAK;
    feed(&client, &r);
    CHECK_INT(seen.lost, 1);
    CHECK_INT(client.state, MIRAGE_DHCP_INIT);
}

static void test_init_and_release(void)
{
    uint8_t multicast[6] = {1, 0, 0x5e, 0, 0, 1};

    CHECK_INT(mirage_dhcp_client_init(&client, MAC, "bad name", send_cb, NULL, NULL, NULL),
              MIRAGE_EINVAL);
    CHECK_INT(mirage_dhcp_client_init(&client, multicast, NULL, send_cb, NULL, NULL, NULL),
              MIRAGE_EINVAL);
    acquire(600, 0, 0);
    mirage_dhcp_client_release(&client);
    CHECK_INT(last_sent().type, MIRAGE_DHCP_RELEASE);
    CHECK(memcmp(seen.dst, SERVER, 4) == 0 && memcmp(seen.src, ADDR, 4) == 0);
    CHECK(client.deadline == UINT64_MAX);
    CHECK_STR(mirage_dhcp_state_name(MIRAGE_DHCP_REBINDING), "REBINDING");
}

int main(void)
{
    test_build_parse();
    test_parse_errors();
    test_exchange_and_renewal();
    test_server_times();
    test_retransmit();
    test_foreign_and_nak();
    test_init_and_release();
    return CHECK_DONE();
}
