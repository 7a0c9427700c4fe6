/* log.h: named log sources with levels, set at boot with -l / --logs, lines to the console or a reporter. */
#ifndef MIRAGE_LOG_H
#define MIRAGE_LOG_H

#include <stddef.h>
#include <stdint.h>

/* A message is printed when its level is at most its source's level; quiet
 * prints nothing, app only application messages, and so on up to debug. */
enum mirage_log_level {
    MIRAGE_LOG_QUIET = 0,
    MIRAGE_LOG_APP,
    MIRAGE_LOG_ERROR,
    MIRAGE_LOG_WARNING,
    MIRAGE_LOG_INFO,
    MIRAGE_LOG_DEBUG,
};

/* A named source; level -1 follows the default (info unless --logs sets it).
 * The rest is the log library's: how many lines it printed in the current
 * second (from (window), ns since boot) and how many it held back since. */
struct mirage_log_src {
    const char *name;
    const char *doc;
    int level;
    unsigned lines;
    uint64_t window, suppressed;
};

/* Error, warning and info lines of one source are printed at most
 * MIRAGE_LOG_BURST a second (or as mirage_log_set_limit says): a peer that
 * makes the stack warn on every packet cannot flood the console. The rest are
 * counted, and the source's next line printed after them is preceded by
 * "suppressed N messages (over 10 a second)". Application (app) and debug
 * lines, asked for explicitly, are never held. */
#define MIRAGE_LOG_BURST 10

/* Sets how many lines a second each source may print (0: no limit). */
void mirage_log_set_limit(unsigned lines_per_second);

/* Defines a source at file scope, known by name to --logs from boot on
 * (its address is kept in the mirage_log_srcs section of the image):
 *   MIRAGE_LOG_SOURCE(tcp_log, "tcp", "TCP connections"); */
#define MIRAGE_LOG_SOURCE(var, nm, dc)                                                             \
    struct mirage_log_src var = {.name = (nm), .doc = (dc), .level = -1};                          \
    static struct mirage_log_src *var##_entry_                                                     \
        __attribute__((section("mirage_log_srcs"), used, aligned(8))) = &var

/* The source applications log to by default, named "application". */
extern struct mirage_log_src mirage_log_app;

/* Prints an info-level line of (src) that is a record the operator asked for
 * (an access log line) rather than a report: never held back by the rate limit
 * above (a busy server's log must not lose requests), silenced with -l like
 * any info line of its source. */
void mirage_log_record(const struct mirage_log_src *src, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether a message of (level) from (src) would be printed. */
int mirage_log_enabled(const struct mirage_log_src *src, enum mirage_log_level level);

/* Prints "SECONDS: [LEVEL] [SOURCE] MESSAGE" on one console line when
 * enabled; SECONDS is monotonic time since boot with microseconds. A message
 * longer than a line's 1 KiB buffer ends with "[...]" where it was cut. */
void mirage_log(const struct mirage_log_src *src, enum mirage_log_level level, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

#define MIRAGE_LOG_(src, lvl, ...)                                                                 \
    do {                                                                                           \
        if (mirage_log_enabled((src), (lvl)))                                                      \
            mirage_log((src), (lvl), __VA_ARGS__);                                                 \
    } while (0)
#define mirage_log_app_msg(src, ...) MIRAGE_LOG_((src), MIRAGE_LOG_APP, __VA_ARGS__)
#define mirage_log_err(src, ...) MIRAGE_LOG_((src), MIRAGE_LOG_ERROR, __VA_ARGS__)
#define mirage_log_warn(src, ...) MIRAGE_LOG_((src), MIRAGE_LOG_WARNING, __VA_ARGS__)
#define mirage_log_info(src, ...) MIRAGE_LOG_((src), MIRAGE_LOG_INFO, __VA_ARGS__)
#define mirage_log_debug(src, ...) MIRAGE_LOG_((src), MIRAGE_LOG_DEBUG, __VA_ARGS__)

/*
 * A reporter takes the printed lines instead of the console (the syslog
 * reporter, mirage/syslog.h). It gets each line as it would be printed,
 * (line, len) ending in '\n', the message itself from (msg_off) on, with the
 * source's name and the level; it returns 1 when it took the line, 0 to have
 * it printed on the console. It must not wait; a line it logs itself goes to
 * the console. NULL puts the console back.
 */
typedef int (*mirage_log_reporter_fn)(void *ctx, const char *src, enum mirage_log_level level,
                                      const char *line, size_t len, size_t msg_off);
void mirage_log_set_reporter(mirage_log_reporter_fn fn, void *ctx);

/* "quiet", "app", "error", "warning", "info", "debug" (case-insensitive,
 * also "warn"): the level of (s, len), or -1. */
int mirage_log_level_parse(const char *s, size_t len);

/* Applies a --logs value in the MirageOS syntax: a comma-separated list of
 * LEVEL, *:LEVEL (the default for every source) or SOURCE:LEVEL; a source
 * setting wins over the default whatever the order. A source no one defined
 * gets a warning on the console and is otherwise ignored. Returns 0, or
 * MIRAGE_EINVAL with (err, errsize) naming the bad item; nothing changes then. */
int mirage_log_set(const char *spec, char *err, size_t errsize);

/* Puts every source back to the default, and the default back to info. */
void mirage_log_reset(void);

/* Registers a source made at run time (not with MIRAGE_LOG_SOURCE) so that
 * later --logs settings and mirage_log_find() see it. Returns 0 or MIRAGE_ENOSPC. */
int mirage_log_register(struct mirage_log_src *src);

/* The source called (name), or NULL. */
struct mirage_log_src *mirage_log_find(const char *name);

/* Calls fn(src, arg) for every known source, for --help. */
void mirage_log_each(void (*fn)(const struct mirage_log_src *src, void *arg), void *arg);

#endif
