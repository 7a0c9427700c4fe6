/* monitor.c: a fiber that pushes a metrics sample every interval to a line-protocol collector over
 * TCP. */
#include <stdio.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/heap.h"
#include "mirage/log.h"
#include "mirage/metrics.h"
#include "mirage/platform.h"
#include "mirage/sched.h"
#include "mirage/time.h"
#include "uplink.h"

MIRAGE_LOG_SOURCE(monitor_log, "monitor", "the metrics monitor");

#define INTERVAL_DEFAULT MIRAGE_SEC(10)

static struct {
    int started;
    struct mirage_monitor_config cfg;
    char host[64];
    struct uplink link; /* TCP; a sample that finds it down tries again (no back-off) */
    struct mirage_fiber *fiber;
    struct mirage_monitor_stats st;
    struct mirage_metrics_source self;
    char buf[MIRAGE_METRICS_BUF];
} mon;

/* The runtime's measurement: fibers, heap and timers, read at each sample. */
static size_t runtime_sample(void *ctx, struct mirage_metrics_field *f, size_t n)
{
    struct mirage_sched_stats st;
    size_t heap_free = mirage_heap_free(), k = 0;

    (void)ctx;
    if (n < 6)
        return 0;
    mirage_sched_stats(&st);
    f[k++] = (struct mirage_metrics_field){"fibers", (int64_t)st.fibers};
    f[k++] = (struct mirage_metrics_field){"heap_used", (int64_t)mirage_heap_used()};
    if (heap_free != SIZE_MAX)
        f[k++] = (struct mirage_metrics_field){"heap_free", (int64_t)heap_free};
    f[k++] = (struct mirage_metrics_field){"timers", (int64_t)mirage_timer_count()};
    f[k++] = (struct mirage_metrics_field){"switches", (int64_t)st.switches};
    f[k++] = (struct mirage_metrics_field){"yields", (int64_t)st.yields};
    return k;
}

static struct mirage_metrics_source runtime_src = {.measurement = "runtime",
                                                   .sample = runtime_sample};

static size_t self_sample(void *ctx, struct mirage_metrics_field *f, size_t n)
{
    (void)ctx;
    if (n < 4)
        return 0;
    f[0] = (struct mirage_metrics_field){"samples", (int64_t)mon.st.samples};
    f[1] = (struct mirage_metrics_field){"lost", (int64_t)mon.st.lost};
    f[2] = (struct mirage_metrics_field){"connects", (int64_t)mon.link.connects};
    f[3] = (struct mirage_metrics_field){"skipped", (int64_t)mon.st.skipped};
    return 4;
}

static void lose(int why, const char *doing)
{
    mon.st.lost++;
    if (uplink_fail(&mon.link))
        mirage_log_warn(&monitor_log,
                        "collector %u.%u.%u.%u:%u: %s: %s; samples are lost until it takes them",
                        mon.cfg.collector.a[0], mon.cfg.collector.a[1], mon.cfg.collector.a[2],
                        mon.cfg.collector.a[3], mon.cfg.port, doing, mirage_strerror(why));
}

/* One sample: connect if need be, then the lines, each bounded by the interval. */
static int push(uint64_t deadline)
{
    size_t skipped = 0, len;
    int r;

    if ((r = uplink_ready(&mon.link, deadline)) < 0) {
        if (r != MIRAGE_ECANCELED)
            lose(r, "cannot connect");
        return r;
    }
    if (r == 1)
        mirage_log_info(&monitor_log, "collector %u.%u.%u.%u:%u reached again",
                        mon.cfg.collector.a[0], mon.cfg.collector.a[1], mon.cfg.collector.a[2],
                        mon.cfg.collector.a[3], mon.cfg.port);
    len = mirage_metrics_collect(mon.buf, sizeof(mon.buf), mon.host, mirage_clock_wall(), &skipped);
    mon.st.skipped += skipped;
    r = uplink_write(&mon.link, mon.buf, len, deadline);
    if (r < 0) {
        if (r != MIRAGE_ECANCELED)
            lose(r, r == MIRAGE_ETIMEDOUT ? "did not take a sample within the interval"
                                          : "connection lost");
        return r;
    }
    mon.st.samples++;
    return 0;
}

static int pusher(void *arg)
{
    uint64_t next = mirage_clock_monotonic();

    (void)arg;
    for (;;) {
        next += mon.cfg.interval;
        if (push(next) == MIRAGE_ECANCELED)
            return 0;
        /* A late sample does not make the next ones come in a burst. */
        if (next < mirage_clock_monotonic())
            next = mirage_clock_monotonic();
        if (mirage_sleep_until(next) == MIRAGE_ECANCELED)
            return 0;
    }
}

int mirage_monitor_start(struct mirage_stack *stack, const struct mirage_monitor_config *cfg)
{
    if (mon.started)
        return MIRAGE_EEXIST;
    if (stack == NULL || cfg->collector.family != 4)
        return MIRAGE_EINVAL;
    memset(&mon, 0, sizeof(mon));
    mon.cfg = *cfg;
    if (mon.cfg.port == 0)
        mon.cfg.port = MIRAGE_MONITOR_PORT;
    if (mon.cfg.interval == 0)
        mon.cfg.interval = INTERVAL_DEFAULT;
    snprintf(mon.host, sizeof(mon.host), "%s", cfg->host ? cfg->host : "");
    mon.cfg.host = mon.host;
    mon.link.stack = stack;
    mon.link.addr = cfg->collector;
    mon.link.port = mon.cfg.port;
    mon.fiber = mirage_fiber_spawn("monitor", pusher, NULL, MIRAGE_FIBER_STACK_MIN);
    if (mon.fiber == NULL)
        return MIRAGE_ENOMEM;
    mirage_fiber_service(mon.fiber);
    mon.self.measurement = "monitor";
    mon.self.sample = self_sample;
    mirage_metrics_register(&runtime_src);
    mirage_metrics_register(&mon.self);
    mon.started = 1;
    return 0;
}

void mirage_monitor_stop(void)
{
    if (!mon.started)
        return;
    mirage_fiber_cancel(mon.fiber);
    mirage_fiber_join(mon.fiber, NULL);
    uplink_close(&mon.link);
    mirage_metrics_unregister(&runtime_src);
    mirage_metrics_unregister(&mon.self);
    mon.started = 0;
}

void mirage_monitor_stats(struct mirage_monitor_stats *st)
{
    *st = mon.st;
    st->connects = mon.link.connects;
}

/* ---- boot keys
 * ----------------------------------------------------------------------------------- */

struct mirage_key mirage_key_monitor = {
    .name = "monitor",
    .type = MIRAGE_KEY_STRING,
    .doc = "Push metrics (stack, runtime, application) in InfluxDB line protocol over TCP to "
           "this collector, IPV4[:PORT] (port 8094, Telegraf's socket_listener).",
    .section = "MONITORING OPTIONS"};
struct mirage_key mirage_key_monitor_interval = {.name = "monitor-interval",
                                                 .type = MIRAGE_KEY_DURATION,
                                                 .def = "10s",
                                                 .doc = "Time between two metrics samples.",
                                                 .section = "MONITORING OPTIONS",
                                                 .min = 100000000,
                                                 .max = 3600000000000};

static struct mirage_monitor_config boot_cfg;

int mirage_monitor_check_keys(const char *prog)
{
    char why[200], msg[300];

    if (!mirage_key_monitor.has_value)
        return 0;
    boot_cfg.port = MIRAGE_MONITOR_PORT;
    if (mirage_key_parse_ipv4_port(mirage_key_monitor.v.str, strlen(mirage_key_monitor.v.str),
                                   boot_cfg.collector.a, &boot_cfg.port, why, sizeof(why)) != 0) {
        snprintf(msg, sizeof(msg), "%s: --monitor: %s (IPV4[:PORT] expected)\n", prog, why);
        mirage_console_write(msg, strlen(msg));
        return MIRAGE_EXIT_USAGE;
    }
    boot_cfg.collector.family = 4;
    if (mirage_key_monitor_interval.has_value)
        boot_cfg.interval = (uint64_t)mirage_key_monitor_interval.v.num;
    return 0;
}

int mirage_monitor_from_keys(struct mirage_stack *stack, const char *name)
{
    int r;

    if (!mirage_key_monitor.has_value || mon.started)
        return 0;
    boot_cfg.host = name;
    r = mirage_monitor_start(stack, &boot_cfg);
    if (r < 0)
        mirage_log_err(&monitor_log, "cannot start the monitor: %s", mirage_strerror(r));
    return r;
}
