/* log.c: log sources, levels and the --logs syntax; lines go straight to the console. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/log.h"
#include "mirage/platform.h"
#include "runtime.h"

#define LINE_MAX_BYTES 1024
#define DYNAMIC_MAX 64
#define SPEC_ITEMS_MAX 64

MIRAGE_LOG_SOURCE(mirage_log_app, "application", "the application's own messages");

/* Every MIRAGE_LOG_SOURCE in the image; the linker provides the bounds. */
extern struct mirage_log_src *__start_mirage_log_srcs[];
extern struct mirage_log_src *__stop_mirage_log_srcs[];

static struct mirage_log_src *dynamic[DYNAMIC_MAX];
static size_t ndynamic;
static int default_level = MIRAGE_LOG_INFO;
static unsigned limit = MIRAGE_LOG_BURST; /* lines a second per source; 0: none */
static uint64_t boot_time;
static int boot_time_set;
static mirage_log_reporter_fn reporter;
static void *reporter_ctx;
static int in_reporter; /* a line the reporter itself logs goes to the console */

static const char *const level_names[] = {"quiet", "app", "error", "warning", "info", "debug"};
static const char *const level_tags[] = {"", "APP", "ERROR", "WARNING", "INFO", "DEBUG"};

void runtime_say(const char *a, const char *b, const char *c)
{
    mirage_console_write("mirage: ", 8);
    mirage_console_write(a, strlen(a));
    mirage_console_write(b, strlen(b));
    mirage_console_write(c, strlen(c));
    mirage_console_write("\n", 1);
}

void mirage_log_each(void (*fn)(const struct mirage_log_src *src, void *arg), void *arg)
{
    for (struct mirage_log_src **p = __start_mirage_log_srcs; p < __stop_mirage_log_srcs; p++)
        if (*p)
            fn(*p, arg);
    for (size_t i = 0; i < ndynamic; i++)
        fn(dynamic[i], arg);
}

struct mirage_log_src *mirage_log_find(const char *name)
{
    for (struct mirage_log_src **p = __start_mirage_log_srcs; p < __stop_mirage_log_srcs; p++)
        if (*p && strcmp((*p)->name, name) == 0)
            return *p;
    for (size_t i = 0; i < ndynamic; i++)
        if (strcmp(dynamic[i]->name, name) == 0)
            return dynamic[i];
    return NULL;
}

int mirage_log_register(struct mirage_log_src *src)
{
    if (mirage_log_find(src->name) == src)
        return 0;
    if (ndynamic == DYNAMIC_MAX)
        return MIRAGE_ENOSPC;
    dynamic[ndynamic++] = src;
    return 0;
}

int mirage_log_level_parse(const char *s, size_t len)
{
    if (len == 4 && strncasecmp(s, "warn", 4) == 0)
        return MIRAGE_LOG_WARNING;
    for (int i = 0; i <= MIRAGE_LOG_DEBUG; i++)
        if (strlen(level_names[i]) == len && strncasecmp(s, level_names[i], len) == 0)
            return i;
    return -1;
}

int mirage_log_enabled(const struct mirage_log_src *src, enum mirage_log_level level)
{
    int l = src->level >= 0 ? src->level : default_level;

    return level != MIRAGE_LOG_QUIET && (int)level <= l;
}

static void reset_one(const struct mirage_log_src *src, void *arg)
{
    struct mirage_log_src *s = (struct mirage_log_src *)src;

    (void)arg;
    s->level = -1;
    s->lines = 0;
    s->suppressed = 0;
}

void mirage_log_reset(void)
{
    default_level = MIRAGE_LOG_INFO;
    mirage_log_each(reset_one, NULL);
}

static uint64_t since_boot(void)
{
    uint64_t now = mirage_clock_monotonic();

    if (!boot_time_set) {
        boot_time = now;
        boot_time_set = 1;
    }
    return now - boot_time;
}

__attribute__((format(printf, 3, 0))) static void vemit(const char *src, enum mirage_log_level level,
                                                        const char *fmt, va_list ap)
{
    static const char cut[] = "[...]\n";
    char line[LINE_MAX_BYTES];
    uint64_t t = since_boot();
    int n, m, msg_off;

    n = snprintf(line, sizeof(line), "%llu.%06llu: [%s] [%.64s] ",
                 (unsigned long long)(t / 1000000000u),
                 (unsigned long long)(t % 1000000000u / 1000u), level_tags[level], src);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    msg_off = n;
    m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m < 0)
        m = 0;
    if ((size_t)n + (size_t)m + 1 >= sizeof(line)) {
        memcpy(line + sizeof(line) - sizeof(cut), cut, sizeof(cut));
        n = (int)sizeof(line) - 1;
    } else {
        n += m;
        if (line[n - 1] != '\n')
            line[n++] = '\n';
    }
    if (reporter && !in_reporter) {
        int taken;

        in_reporter = 1;
        taken = reporter(reporter_ctx, src, level, line, (size_t)n, (size_t)msg_off);
        in_reporter = 0;
        if (taken)
            return;
    }
    mirage_console_write(line, (size_t)n);
}

void mirage_log_set_reporter(mirage_log_reporter_fn fn, void *ctx)
{
    reporter = fn;
    reporter_ctx = ctx;
}

__attribute__((format(printf, 3, 4))) static void emit(const char *src,
                                                       enum mirage_log_level level,
                                                       const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vemit(src, level, fmt, ap);
    va_end(ap);
}

/* Whether a line of (level) from (s) may be printed now (see MIRAGE_LOG_BURST);
 * first says how many were held back, if any. */
static int let_through(struct mirage_log_src *s, enum mirage_log_level level)
{
    uint64_t now;

    if (level == MIRAGE_LOG_APP || level == MIRAGE_LOG_DEBUG || limit == 0)
        return 1;
    now = since_boot();
    if (s->lines == 0 || now - s->window >= 1000000000u) {
        s->window = now;
        s->lines = 0;
    }
    if (s->lines >= limit) {
        s->suppressed++;
        return 0;
    }
    if (s->suppressed) {
        emit(s->name, level, "suppressed %llu messages (over %u a second)",
             (unsigned long long)s->suppressed, limit);
        s->suppressed = 0;
    }
    s->lines++;
    return 1;
}

void mirage_log_set_limit(unsigned lines_per_second)
{
    limit = lines_per_second;
}

void mirage_log(const struct mirage_log_src *src, enum mirage_log_level level, const char *fmt,
                ...)
{
    va_list ap;

    /* Sources are never const objects: the pointer is, for callers' sake. */
    if (!mirage_log_enabled(src, level) || !let_through((struct mirage_log_src *)src, level))
        return;
    va_start(ap, fmt);
    vemit(src->name, level, fmt, ap);
    va_end(ap);
}

static void set_error(char *err, size_t errsize, const char *what, const char *item, size_t len)
{
    if (err && errsize)
        snprintf(err, errsize, "%s '%.*s'", what, (int)(len > 64 ? 64 : len), item);
}

/* Source names are made of letters, digits, '_', '-' and '.': anything else
 * ("-l=tcp:debug" gives "=tcp") is a mistake, not an unknown source. */
static int source_name_ok(const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* One parsed item of a --logs value: src == NULL for the default. */
struct spec_item {
    const char *src;
    size_t srclen;
    int level;
};

int mirage_log_set(const char *spec, char *err, size_t errsize)
{
    struct spec_item items[SPEC_ITEMS_MAX];
    size_t n = 0;
    const char *p = spec;
    int def = -1;

    since_boot();
    if (*p == '\0') {
        set_error(err, errsize, "empty log setting", spec, 0);
        return MIRAGE_EINVAL;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        struct spec_item it = {NULL, 0, -1};

        if (n == SPEC_ITEMS_MAX) {
            set_error(err, errsize, "too many log settings from", p, len);
            return MIRAGE_EINVAL;
        }
        if (colon) {
            it.src = p;
            it.srclen = (size_t)(colon - p);
            it.level = mirage_log_level_parse(colon + 1, len - it.srclen - 1);
            if (it.srclen == 0) {
                set_error(err, errsize, "no source name in log setting", p, len);
                return MIRAGE_EINVAL;
            }
            if (it.srclen == 1 && *p == '*')
                it.src = NULL;
            else if (!source_name_ok(p, it.srclen)) {
                set_error(err, errsize, "bad source name in log setting", p, len);
                return MIRAGE_EINVAL;
            }
        } else {
            it.level = mirage_log_level_parse(p, len);
        }
        if (it.level < 0) {
            set_error(err, errsize, "bad log level in", p, len);
            return MIRAGE_EINVAL;
        }
        items[n++] = it;
        if (end == NULL)
            break;
        p = end + 1;
    }
    /* Every item is valid: apply them, defaults first so sources win. */
    for (size_t i = 0; i < n; i++)
        if (items[i].src == NULL)
            def = items[i].level;
    if (def >= 0) {
        default_level = def;
        mirage_log_each(reset_one, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        char name[64];
        struct mirage_log_src *s;

        if (items[i].src == NULL)
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)items[i].srclen, items[i].src);
        s = items[i].srclen < sizeof(name) ? mirage_log_find(name) : NULL;
        if (s == NULL) {
            /* Printed whatever the levels say: the user asked for a source. */
            emit("mirage", MIRAGE_LOG_WARNING, "unknown log source '%s' in --logs: ignored",
                 name);
            continue;
        }
        s->level = items[i].level;
    }
    return 0;
}

void mirage_log_record(const struct mirage_log_src *src, const char *fmt, ...)
{
    va_list ap;

    if (!mirage_log_enabled(src, MIRAGE_LOG_INFO))
        return;
    va_start(ap, fmt);
    vemit(src->name, MIRAGE_LOG_INFO, fmt, ap);
    va_end(ap);
}
