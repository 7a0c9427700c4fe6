/* metrics.h: counters and gauges from the stack, the runtime and applications, pushed in InfluxDB
 * line protocol. */
#ifndef MIRAGE_METRICS_H
#define MIRAGE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/key.h"
#include "mirage/stack.h"

/*
 * A metrics source is one measurement (InfluxDB's word: "tcp", "net", an
 * application's "requests") with an optional tag (interface=service) and a
 * function that reads its fields when a sample is taken. Sources are
 * caller-owned and linked into the registry, so registering never allocates
 * and never fails. The direct stack registers net, ipv4, udp and tcp for its
 * interface; the monitor registers runtime (fibers, heap, timers) and its own
 * counters (monitor) while it runs; an application registers what it counts.
 *
 * The monitor (--monitor=IP[:PORT]) connects over TCP to a collector that
 * reads line protocol (Telegraf's socket_listener, InfluxDB 1.x's TCP input)
 * and every --monitor-interval sends one line per source:
 *   tcp,host=stack-echo,interface=service conns=3i,retransmits=0i,... 1764656197023714000
 * Memory is bounded: one buffer of MIRAGE_METRICS_BUF bytes per sample (a
 * source that does not fit is left out and counted) and the connection's send
 * buffer. A sample the collector does not take within an interval, or a
 * collector that cannot be reached, costs that sample and nothing else: the
 * connection is closed, the sample counted lost, and the next interval tries
 * again. The application never waits for the monitor.
 */

#define MIRAGE_METRICS_FIELDS_MAX 24   /* fields of one source */
#define MIRAGE_METRICS_BUF        8192 /* bytes of one sample, every source */
#define MIRAGE_MONITOR_PORT       8094 /* Telegraf's socket_listener */

struct mirage_metrics_field {
    const char *name; /* letters, digits and '_' */
    int64_t value;    /* sent as an integer field (NAME=VALUEi) */
};

struct mirage_metrics_source {
    const char *measurement;
    const char *tag_key, *tag_value; /* one tag besides host; NULL: none */
    /* Fills up to (n) fields of (out) with their current values; returns how many. */
    size_t (*sample)(void *ctx, struct mirage_metrics_field *out, size_t n);
    void *ctx;
    struct mirage_metrics_source *next_; /* the registry's */
};

/* Adds (src) to the samples from now on; it must stay valid until
 * unregistered. Registering one already registered does nothing. */
void mirage_metrics_register(struct mirage_metrics_source *src);
void mirage_metrics_unregister(struct mirage_metrics_source *src);

/* One line of line protocol for (measurement, host, tag, fields) at
 * (wall_ns), ending in '\n', into (buf, cap): names and tags escaped as the
 * protocol says (',', '=' and ' ' after a backslash). Returns its length, or
 * 0 when it does not fit (nothing useful is left in buf then). */
size_t mirage_metrics_line(char *buf, size_t cap, const char *measurement, const char *host,
                           const char *tag_key, const char *tag_value,
                           const struct mirage_metrics_field *f, size_t n, uint64_t wall_ns);

/* A line for every registered source, sampled now, into (buf, cap); sources
 * that do not fit are left out and added to *skipped. Returns the length. */
size_t mirage_metrics_collect(char *buf, size_t cap, const char *host, uint64_t wall_ns,
                              size_t *skipped);

/* ---- the monitor ---------------------------------------------------------------------------- */

struct mirage_monitor_config {
    struct mirage_ipaddr collector; /* family 4 */
    uint16_t port;                  /* 0: 8094 */
    uint64_t interval;              /* ns between samples; 0: 10 s */
    const char *host;               /* the host tag: the unikernel's name */
};

/* Starts pushing samples over (stack) as (cfg) says (copied). Returns 0,
 * MIRAGE_EINVAL, MIRAGE_EEXIST (running already) or MIRAGE_ENOMEM. Never waits. */
int mirage_monitor_start(struct mirage_stack *stack, const struct mirage_monitor_config *cfg);

/* Ends the monitor's fiber and its connection. Suspends the calling fiber
 * until the fiber has unwound; nothing happens when none runs. */
void mirage_monitor_stop(void);

struct mirage_monitor_stats {
    uint64_t samples; /* samples handed to the connection */
    uint64_t lost; /* samples the collector did not take in time, or that found it out of reach */
    uint64_t connects; /* TCP connections made */
    uint64_t skipped;  /* source lines left out of a full sample */
};
void mirage_monitor_stats(struct mirage_monitor_stats *st);

/* Boot keys, section "MONITORING OPTIONS": --monitor=IP[:PORT] (none: no
 * monitor) and --monitor-interval=DURATION (10s, at least 100ms). */
extern struct mirage_key mirage_key_monitor;
extern struct mirage_key mirage_key_monitor_interval;

/* For generated main.c: checks the keys (says what is wrong and returns
 * MIRAGE_EXIT_USAGE, or 0), then starts the monitor over the first stack. */
int mirage_monitor_check_keys(const char *prog);
int mirage_monitor_from_keys(struct mirage_stack *stack, const char *name);

#endif
