/* syslog.c: the syslog reporter: log lines queued, formatted as RFC 5424 and sent by a fiber over
 * UDP or TCP. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mirage/error.h"
#include "mirage/key.h"
#include "mirage/platform.h"
#include "mirage/sched.h"
#include "mirage/syslog.h"
#include "mirage/time.h"
#include "uplink.h"

MIRAGE_LOG_SOURCE(syslog_log, "syslog", "the syslog reporter");

#define LINE_MAX_BYTES  1024          /* log.c's longest line */
#define WRITE_TIMEOUT   MIRAGE_SEC(5) /* one message over TCP */
#define RETRY_FIRST     MIRAGE_SEC(1)
#define RETRY_MAX       MIRAGE_SEC(60)
#define SRC_MAX         32  /* MSGID's limit */
#define APP_MAX         48  /* APP-NAME's limit */
#define HOST_MAX        255 /* HOSTNAME's limit */

/* One queued line, as the console would print it and with what syslog needs. */
struct slot {
    enum mirage_log_level level;
    uint64_t wall;
    uint64_t dropped_before; /* lines that found the queue full right before this one */
    char src[SRC_MAX + 1];
    uint16_t len, msg_off;
    char line[LINE_MAX_BYTES];
};

static struct {
    int started, stopping;
    struct mirage_syslog_config cfg;
    char hostname[HOST_MAX + 1], app[APP_MAX + 1];
    struct uplink link; /* while link.down, lines go to the console until link.retry_at */
    struct mirage_fiber *fiber;
    struct mirage_cond changed;
    struct slot q[MIRAGE_SYSLOG_QUEUE];
    unsigned head, count;
    uint64_t dropped_unsaid;
    struct mirage_syslog_stats st;
    char out[MIRAGE_SYSLOG_MSG_MAX];
} rep;

/* ---- the message format ---------------------------------------------------------------------- */

static const unsigned severity[] = {
    [MIRAGE_LOG_QUIET] = 6,   [MIRAGE_LOG_APP] = 5,  [MIRAGE_LOG_ERROR] = 3,
    [MIRAGE_LOG_WARNING] = 4, [MIRAGE_LOG_INFO] = 6, [MIRAGE_LOG_DEBUG] = 7,
};

int mirage_syslog_hostname_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '!' || s[i] > '~')
            return 0;
    return 1;
}

/* Copies (s) as a header field of at most (max) printable characters, NILVALUE if empty. */
static size_t field(char *p, const char *s, size_t max)
{
    size_t n = 0;

    for (; s[n] != '\0' && n < max; n++)
        p[n] = (s[n] >= '!' && s[n] <= '~') ? s[n] : '_';
    if (n == 0)
        p[n++] = '-';
    return n;
}

/* RFC 3339 in UTC with microseconds, or "-" before 2000 (a clock not yet set). */
static size_t timestamp(char *p, uint64_t wall_ns)
{
    time_t secs = (time_t)(wall_ns / 1000000000u);
    struct tm tm;

    if (wall_ns < 946684800ull * 1000000000u || gmtime_r(&secs, &tm) == NULL) {
        p[0] = '-';
        return 1;
    }
    return (size_t)snprintf(p, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                            (unsigned)(wall_ns % 1000000000u / 1000u));
}

size_t mirage_syslog_format(char *buf, size_t cap, int tcp, enum mirage_log_level level,
                            uint64_t wall_ns, const char *hostname, const char *app_name,
                            const char *src, const char *msg, size_t len)
{
    /* Room for the octet count ("1536 ") is kept in front and closed up after. */
    size_t at = tcp ? 5 : 0, n, body;
    char *p;

    if (cap < MIRAGE_SYSLOG_MSG_MAX)
        return 0;
    p = buf + at;
    n = (size_t)snprintf(
        p, 8, "<%u>1 ",
        MIRAGE_SYSLOG_FACILITY * 8 +
            severity[(unsigned)level <= MIRAGE_LOG_DEBUG ? level : MIRAGE_LOG_INFO]);
    n += timestamp(p + n, wall_ns);
    p[n++] = ' ';
    n += field(p + n, hostname, HOST_MAX);
    p[n++] = ' ';
    n += field(p + n, app_name, APP_MAX);
    memcpy(p + n, " - ", 3);
    n += 3;
    n += field(p + n, src, SRC_MAX);
    memcpy(p + n, " - ", 3);
    n += 3;
    while (len > 0 && msg[len - 1] == '\n')
        len--;
    if (len > MIRAGE_SYSLOG_MSG_MAX - at - n)
        len = MIRAGE_SYSLOG_MSG_MAX - at - n;
    memcpy(p + n, msg, len);
    body = n + len;
    if (!tcp)
        return body;
    n = (size_t)snprintf(buf, 6, "%zu ", body);
    memmove(buf + n, p, body);
    return n + body;
}

int mirage_syslog_parse_server(const char *s, struct mirage_syslog_config *cfg, char *err,
                               size_t errsize)
{
    char why[200];
    uint16_t port = MIRAGE_SYSLOG_PORT;

    if (mirage_key_parse_ipv4_port(s, strlen(s), cfg->server.a, &port, why, sizeof(why)) != 0) {
        snprintf(err, errsize, "syslog server '%s': %s (IPV4[:PORT] expected)", s, why);
        return MIRAGE_EINVAL;
    }
    cfg->server.family = 4;
    cfg->port = port;
    return 0;
}

/* ---- the reporter ------------------------------------------------------------------------------
 */

static void console_slot(const struct slot *s)
{
    mirage_console_write(s->line, s->len);
    rep.st.console++;
}

/* log.c's reporter: queues the line, or leaves it to the console while the server is out of reach.
 */
static int report(void *ctx, const char *src, enum mirage_log_level level, const char *line,
                  size_t len, size_t msg_off)
{
    struct slot *s;

    (void)ctx;
    if (rep.link.down) {
        rep.st.console++;
        return 0;
    }
    if (rep.count == MIRAGE_SYSLOG_QUEUE) {
        rep.st.dropped++;
        rep.dropped_unsaid++;
        return 1;
    }
    s = &rep.q[(rep.head + rep.count) % MIRAGE_SYSLOG_QUEUE];
    s->level = level;
    s->wall = mirage_clock_wall();
    s->dropped_before = rep.dropped_unsaid;
    rep.dropped_unsaid = 0;
    snprintf(s->src, sizeof(s->src), "%s", src);
    if (len > sizeof(s->line))
        len = sizeof(s->line);
    memcpy(s->line, line, len);
    s->len = (uint16_t)len;
    s->msg_off = (uint16_t)(msg_off <= len ? msg_off : len);
    rep.count++;
    mirage_cond_signal(&rep.changed);
    return 1;
}

static void pop(void)
{
    rep.head = (rep.head + 1) % MIRAGE_SYSLOG_QUEUE;
    rep.count--;
    mirage_cond_broadcast(&rep.changed);
}

/* Everything queued goes to the console: the server is out of reach. */
static void flush_to_console(void)
{
    while (rep.count > 0) {
        console_slot(&rep.q[rep.head]);
        pop();
    }
}

static const char *transport_name(void)
{
    return rep.cfg.transport == MIRAGE_SYSLOG_TCP ? "TCP" : "UDP";
}

/* The server is out of reach for (why): console until rep.link.retry_at. */
static void went_down(int why)
{
    if (uplink_fail(&rep.link))
        mirage_log_warn(&syslog_log,
                        "cannot reach %u.%u.%u.%u:%u over %s: %s; log lines go to the console",
                        rep.cfg.server.a[0], rep.cfg.server.a[1], rep.cfg.server.a[2],
                        rep.cfg.server.a[3], rep.cfg.port, transport_name(), mirage_strerror(why));
    flush_to_console();
}

static int send_bytes(const char *p, size_t n)
{
    return uplink_write(&rep.link, p, n, mirage_deadline_in(WRITE_TIMEOUT));
}

static int send_slot(const struct slot *s) /* the queue's head */
{
    int tcp = rep.cfg.transport == MIRAGE_SYSLOG_TCP;
    size_t n;
    int r;

    if (s->dropped_before) {
        char note[96];
        int m = snprintf(note, sizeof(note),
                         "%llu log lines dropped: the syslog queue (%u lines) was full",
                         (unsigned long long)s->dropped_before, MIRAGE_SYSLOG_QUEUE);

        n = mirage_syslog_format(rep.out, sizeof(rep.out), tcp, MIRAGE_LOG_WARNING,
                                 mirage_clock_wall(), rep.hostname, rep.app, "syslog", note,
                                 (size_t)m);
        if ((r = send_bytes(rep.out, n)) < 0)
            return r;
        rep.q[rep.head].dropped_before = 0;
        rep.st.sent++;
    }
    n = mirage_syslog_format(rep.out, sizeof(rep.out), tcp, s->level, s->wall, rep.hostname,
                             rep.app, s->src, s->line + s->msg_off, s->len - s->msg_off);
    if ((r = send_bytes(rep.out, n)) < 0)
        return r;
    rep.st.sent++;
    return 0;
}

static int sender(void *arg)
{
    (void)arg;
    for (;;) {
        int r;

        if (rep.link.down) {
            /* Nothing is queued while down: wait for the retry, then try. */
            r = mirage_cond_wait(&rep.changed, rep.link.retry_at);
            if (r == MIRAGE_ECANCELED || rep.stopping)
                return 0;
            if (mirage_clock_monotonic() < rep.link.retry_at)
                continue;
            r = uplink_ready(&rep.link, MIRAGE_FOREVER);
            if (r < 0) {
                went_down(r);
                continue;
            }
            mirage_log_info(&syslog_log, "reached %u.%u.%u.%u:%u over %s again",
                            rep.cfg.server.a[0], rep.cfg.server.a[1], rep.cfg.server.a[2],
                            rep.cfg.server.a[3], rep.cfg.port, transport_name());
            continue;
        }
        if (rep.count == 0) {
            if (rep.stopping)
                return 0;
            if (mirage_cond_wait(&rep.changed, MIRAGE_FOREVER) == MIRAGE_ECANCELED)
                return 0;
            continue;
        }
        r = uplink_ready(&rep.link, MIRAGE_FOREVER);
        if (r >= 0)
            r = send_slot(&rep.q[rep.head]);
        if (r == MIRAGE_ECANCELED)
            return 0;
        if (r < 0) {
            went_down(r); /* the line at the head goes to the console with the rest */
            continue;
        }
        pop();
    }
}

int mirage_syslog_start(struct mirage_stack *stack, const struct mirage_syslog_config *cfg)
{
    if (rep.started)
        return MIRAGE_EEXIST;
    if (cfg->server.family != 4 || cfg->hostname == NULL ||
        !mirage_syslog_hostname_ok(cfg->hostname))
        return MIRAGE_EINVAL;
    memset(&rep, 0, sizeof(rep));
    rep.cfg = *cfg;
    if (rep.cfg.port == 0)
        rep.cfg.port = MIRAGE_SYSLOG_PORT;
    snprintf(rep.hostname, sizeof(rep.hostname), "%s", cfg->hostname);
    snprintf(rep.app, sizeof(rep.app), "%s", cfg->app_name ? cfg->app_name : "mirage");
    rep.cfg.hostname = rep.hostname;
    rep.cfg.app_name = rep.app;
    rep.link = (struct uplink){.stack = stack,
                               .addr = cfg->server,
                               .port = rep.cfg.port,
                               .udp = rep.cfg.transport == MIRAGE_SYSLOG_UDP,
                               .retry_first = RETRY_FIRST,
                               .retry_max = RETRY_MAX};
    rep.fiber = mirage_fiber_spawn("syslog", sender, NULL, MIRAGE_FIBER_STACK_MIN);
    if (rep.fiber == NULL)
        return MIRAGE_ENOMEM;
    mirage_fiber_service(rep.fiber);
    rep.started = 1;
    mirage_log_set_reporter(report, NULL);
    return 0;
}

void mirage_syslog_stop(uint64_t deadline)
{
    if (!rep.started)
        return;
    while (rep.count > 0 && !rep.link.down && mirage_clock_monotonic() < deadline)
        if (mirage_cond_wait(&rep.changed, deadline) == MIRAGE_ECANCELED)
            break;
    mirage_log_set_reporter(NULL, NULL);
    rep.stopping = 1;
    mirage_fiber_cancel(rep.fiber);
    mirage_fiber_join(rep.fiber, NULL);
    flush_to_console();
    uplink_close(&rep.link);
    rep.started = 0;
}

void mirage_syslog_stats(struct mirage_syslog_stats *st)
{
    *st = rep.st;
    st->connects = rep.link.connects;
}

/* ---- boot keys
 * ----------------------------------------------------------------------------------- */

#define LOG_KEY(var, n, d, dc)                                                                     \
    struct mirage_key var = {.name = (n),                                                          \
                             .type = MIRAGE_KEY_STRING,                                            \
                             .def = (d),                                                           \
                             .doc = (dc),                                                          \
                             .section = "LOGGING OPTIONS"}

LOG_KEY(mirage_key_syslog, "syslog", NULL,
        "Send log lines to this syslog server, IPV4[:PORT] (port 514), instead of the console "
        "(RFC 5424; the console gets them while the server cannot be reached).");
LOG_KEY(mirage_key_syslog_hostname, "syslog-hostname", NULL,
        "The HOSTNAME of syslog messages (default: the unikernel's name).");
LOG_KEY(mirage_key_syslog_transport, "syslog-transport", "udp",
        "How syslog messages travel: udp (RFC 5426) or tcp (octet counting, RFC 6587).");

static struct mirage_syslog_config boot_cfg;

static int usage(const char *prog, const char *msg)
{
    mirage_console_write(prog, strlen(prog));
    mirage_console_write(": ", 2);
    mirage_console_write(msg, strlen(msg));
    mirage_console_write("\n", 1);
    return MIRAGE_EXIT_USAGE;
}

int mirage_syslog_check_keys(const char *prog)
{
    char err[300];
    const char *t =
        mirage_key_syslog_transport.has_value ? mirage_key_syslog_transport.v.str : "udp";

    if (strcmp(t, "udp") == 0)
        boot_cfg.transport = MIRAGE_SYSLOG_UDP;
    else if (strcmp(t, "tcp") == 0)
        boot_cfg.transport = MIRAGE_SYSLOG_TCP;
    else {
        snprintf(err, sizeof(err), "--syslog-transport: '%.64s' is neither udp nor tcp", t);
        return usage(prog, err);
    }
    if (mirage_key_syslog_hostname.has_value &&
        !mirage_syslog_hostname_ok(mirage_key_syslog_hostname.v.str)) {
        snprintf(err, sizeof(err),
                 "--syslog-hostname: '%.64s' is not a syslog HOSTNAME (1 to 255 printable "
                 "ASCII characters, no space)",
                 mirage_key_syslog_hostname.v.str);
        return usage(prog, err);
    }
    if (mirage_key_syslog.has_value &&
        mirage_syslog_parse_server(mirage_key_syslog.v.str, &boot_cfg, err, sizeof(err)) != 0)
        return usage(prog, err);
    return 0;
}

int mirage_syslog_from_keys(struct mirage_stack *stack, const char *name)
{
    int r;

    if (!mirage_key_syslog.has_value || rep.started)
        return 0;
    boot_cfg.hostname =
        mirage_key_syslog_hostname.has_value ? mirage_key_syslog_hostname.v.str : name;
    boot_cfg.app_name = name;
    r = mirage_syslog_start(stack, &boot_cfg);
    if (r < 0)
        mirage_log_err(&syslog_log, "cannot start the syslog reporter: %s", mirage_strerror(r));
    return r;
}
