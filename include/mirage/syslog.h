/* syslog.h: the log's lines to a syslog server: RFC 5424 over UDP (RFC 5426) or TCP (RFC 6587). */
#ifndef MIRAGE_SYSLOG_H
#define MIRAGE_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/stack.h"

/*
 * A log reporter (mirage/log.h) that sends every printed line to a syslog
 * server instead of the console, as MirageOS's logs-syslog does. Logging never
 * waits: a line goes into a bounded queue (MIRAGE_SYSLOG_QUEUE lines) that a
 * service fiber of its own sends; a line that finds the queue full is dropped
 * and counted, and the next line sent is preceded by one saying how many were.
 * While the server cannot be reached (a TCP connection refused, timed out or
 * reset, a datagram the stack cannot send) lines go to the console, and the
 * reporter tries again 1 s later, doubling up to 60 s.
 *
 * Each message is "<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID - MSG": the
 * facility is daemon (3); severity notice for app lines, then error, warning,
 * info and debug; TIMESTAMP the wall clock in UTC with microseconds ("-" when
 * the clock is before 2000); APP-NAME the unikernel's name; MSGID the log
 * source's name. Over TCP each message is preceded by its length in octets and
 * a space (RFC 6587 octet counting).
 */

#define MIRAGE_SYSLOG_PORT     514
#define MIRAGE_SYSLOG_QUEUE    16   /* lines waiting to be sent */
#define MIRAGE_SYSLOG_FACILITY 3    /* daemon */
#define MIRAGE_SYSLOG_MSG_MAX  1536 /* the longest message formatted, framing included */

enum mirage_syslog_transport {
    MIRAGE_SYSLOG_UDP,
    MIRAGE_SYSLOG_TCP,
};

struct mirage_syslog_config {
    struct mirage_ipaddr server; /* family 4 */
    uint16_t port;               /* 0: 514 */
    enum mirage_syslog_transport transport;
    const char *hostname; /* HOSTNAME: 1-255 printable ASCII characters, no space */
    const char *app_name; /* APP-NAME: the unikernel's name (cut at 48) */
};

/* Formats one message of (level) from source (src) with text (msg, len)
 * (a trailing newline is left out) logged at (wall_ns) into (buf, cap); with
 * (tcp) the octet count and its space come first. Returns the length, or 0
 * when (cap) is below MIRAGE_SYSLOG_MSG_MAX; a longer text is cut. */
size_t mirage_syslog_format(char *buf, size_t cap, int tcp, enum mirage_log_level level,
                            uint64_t wall_ns, const char *hostname, const char *app_name,
                            const char *src, const char *msg, size_t len);

/* Whether (s) can be a HOSTNAME (1-255 characters from '!' to '~'). */
int mirage_syslog_hostname_ok(const char *s);

/* Parses "IP[:PORT]" (an IPv4 address, the port 1-65535, 514 without one)
 * into (cfg)'s server and port. Returns 0, or MIRAGE_EINVAL with (err)
 * naming what is wrong. */
int mirage_syslog_parse_server(const char *s, struct mirage_syslog_config *cfg, char *err,
                               size_t errsize);

/* Sends the log's lines over (stack) from now on, as (cfg) says (copied).
 * Returns 0, MIRAGE_EINVAL (a bad hostname, no server address), MIRAGE_EEXIST
 * (already started) or MIRAGE_ENOMEM (no fiber). Never waits. */
int mirage_syslog_start(struct mirage_stack *stack, const struct mirage_syslog_config *cfg);

/* Gives the queued lines until (deadline) to leave, then puts the console
 * back (what is still queued is printed there), closes the connection and
 * ends the reporter's fiber. Suspends the calling fiber. Nothing happens
 * when the reporter was not started. */
void mirage_syslog_stop(uint64_t deadline);

struct mirage_syslog_stats {
    uint64_t sent;     /* messages handed to the stack */
    uint64_t dropped;  /* lines that found the queue full */
    uint64_t console;  /* lines printed on the console instead */
    uint64_t connects; /* TCP connections made */
};
void mirage_syslog_stats(struct mirage_syslog_stats *st);

/* The boot keys, section "LOGGING OPTIONS": --syslog=IP[:PORT] (none: the
 * console), --syslog-hostname=NAME (the unikernel's name by default) and
 * --syslog-transport=udp|tcp (udp). */
extern struct mirage_key mirage_key_syslog;
extern struct mirage_key mirage_key_syslog_hostname;
extern struct mirage_key mirage_key_syslog_transport;

/* For generated main.c, after the keys are parsed: checks the syslog keys,
 * says what is wrong on the console and returns MIRAGE_EXIT_USAGE, or 0. */
int mirage_syslog_check_keys(const char *prog);

/* For generated main.c, once its first stack is up: starts the reporter over
 * (stack) when --syslog was given, (name) being the unikernel's. Returns 0 or
 * what mirage_syslog_start returns (said on the console too). */
int mirage_syslog_from_keys(struct mirage_stack *stack, const char *name);

#endif
