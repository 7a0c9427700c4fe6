/* unikernel.c: dns-stub: a caching DNS forwarder on UDP and TCP to the servers of --dns-servers. */
#include <stdlib.h>
#include <string.h>

#include "mirage/dns.h"
#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/stack.h"
#include "mirage/time.h"

/*
 * Answers from the stub resolver's cache without waiting or allocating; a
 * query it has no answer for waits in a fiber of its own for the servers
 * (5 s at most, then SERVFAIL), whose answer is cached for its TTL.
 */

#define FORWARD_DEADLINE MIRAGE_SEC(5)

static struct mirage_dns_stub *stub;

/* The query's question, if it is a query with one of class IN. */
static int question(const uint8_t *q, size_t qlen, struct mirage_dns_question *out)
{
    struct mirage_dns_reader rd;

    return mirage_dns_read_begin(&rd, q, qlen) == 0 && !(rd.h.flags & MIRAGE_DNS_QR) &&
           MIRAGE_DNS_OPCODE(rd.h.flags) == MIRAGE_DNS_OP_QUERY && rd.h.count[0] == 1 &&
           mirage_dns_read_question(&rd, out) == 0 && out->qclass == MIRAGE_DNS_CLASS_IN &&
           out->type != MIRAGE_DNS_AXFR && out->type != MIRAGE_DNS_IXFR;
}

/* The question alone with (rcode); nothing for what is not a query. */
static size_t refuse(const uint8_t *q, size_t qlen, int rcode, uint8_t *out, size_t cap)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_question qq;
    struct mirage_dns_writer wr;

    if (cap < MIRAGE_DNS_UDP_MIN || mirage_dns_read_begin(&rd, q, qlen) < 0 ||
        (rd.h.flags & MIRAGE_DNS_QR))
        return 0;
    mirage_dns_write_begin(&wr, out, cap, rd.h.id,
                           (uint16_t)(MIRAGE_DNS_QR | MIRAGE_DNS_RA |
                                      (rd.h.flags & (0x7800 | MIRAGE_DNS_RD)) | rcode));
    if (rd.h.count[0] == 1 && mirage_dns_read_question(&rd, &qq) == 0)
        mirage_dns_write_question(&wr, &qq);
    return mirage_dns_write_end(&wr);
}

static size_t quick(void *ctx, const struct mirage_ipaddr *from, const uint8_t *q, size_t qlen,
                    int tcp, uint8_t *out, size_t cap)
{
    struct mirage_dns_question qq;
    const uint8_t *msg;
    size_t len, n;
    uint32_t age;

    (void)ctx;
    (void)from;
    if (!question(q, qlen, &qq))
        return refuse(q, qlen, MIRAGE_DNS_FORMERR, out, cap);
    if ((msg = mirage_dns_stub_cached(stub, &qq, &len, &age)) == NULL)
        return MIRAGE_DNS_SERVE_SLOW;
    if ((n = mirage_dns_stub_answer(msg, len, age, q, qlen, tcp, out, cap)) == 0)
        return refuse(q, qlen, MIRAGE_DNS_FORMERR, out, cap);
    return n;
}

static size_t slow(void *ctx, const struct mirage_ipaddr *from, const uint8_t *q, size_t qlen,
                   int tcp, uint8_t *out, size_t cap)
{
    struct mirage_dns_question qq;
    uint8_t *buf = malloc(65535);
    size_t len, n = 0;
    int r;

    (void)ctx;
    (void)from;
    if (buf == NULL || !question(q, qlen, &qq)) {
        free(buf);
        return refuse(q, qlen, MIRAGE_DNS_SERVFAIL, out, cap);
    }
    r = mirage_dns_stub_query(stub, &qq, buf, 65535, &len, mirage_deadline_in(FORWARD_DEADLINE));
    if (r == 0)
        n = mirage_dns_stub_answer(buf, len, 0, q, qlen, tcp, out, cap);
    else
        mirage_log_warn(&mirage_log_app, "no answer from the servers: %s", mirage_strerror(r));
    if (n == 0)
        n = refuse(q, qlen, MIRAGE_DNS_SERVFAIL, out, cap);
    free(buf);
    return n;
}

int start(struct mirage_stack *stack)
{
    struct mirage_dns_stub_config sc = {.cache_entries = (size_t)key_cache_size.v.num,
                                        .cache_bytes = (size_t)key_cache_bytes.v.num};
    struct mirage_dns_serve *sv;
    char err[128];
    int r;

    if (mirage_dns_stub_servers(&mirage_key_dns_servers.v.list, &sc, err, sizeof(err)) < 0) {
        mirage_log_err(&mirage_log_app, "--dns-servers: %s", err);
        return 64;
    }
    if (mirage_dns_stub_new(stack, &sc, &stub) < 0) {
        mirage_log_err(&mirage_log_app, "out of memory for the cache");
        return 1;
    }
    struct mirage_dns_serve_config cfg = {
        .port = (uint16_t)key_port.v.num,
        .max_conns = (unsigned)key_max_conns.v.num,
        .tcp_idle_timeout = (uint64_t)key_tcp_idle_timeout.v.num * 1000000000ull,
        .answer = quick,
        .slow = slow,
    };
    if ((r = mirage_dns_serve_start(stack, &cfg, &sv)) < 0) {
        mirage_log_err(&mirage_log_app, "cannot listen on port %u: %s", cfg.port,
                       mirage_strerror(r));
        mirage_dns_stub_free(stub);
        return 1;
    }
    mirage_log_app_msg(&mirage_log_app, "forwarding UDP and TCP port %u to %zu servers", cfg.port,
                       sc.nservers);
    mirage_dns_serve_tcp(sv);
    mirage_dns_serve_stop(sv);
    mirage_dns_stub_free(stub);
    return 1;
}
