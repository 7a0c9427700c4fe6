/* metrics.c: the registry of metrics sources and InfluxDB line protocol. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mirage/metrics.h"

static struct mirage_metrics_source *sources;

void mirage_metrics_register(struct mirage_metrics_source *src)
{
    struct mirage_metrics_source **p = &sources;

    for (; *p; p = &(*p)->next_)
        if (*p == src)
            return;
    src->next_ = NULL;
    *p = src; /* at the end: lines keep the order of registration */
}

void mirage_metrics_unregister(struct mirage_metrics_source *src)
{
    for (struct mirage_metrics_source **p = &sources; *p; p = &(*p)->next_)
        if (*p == src) {
            *p = src->next_;
            src->next_ = NULL;
            return;
        }
}

/* Appends (s) to (buf) at *at, a backslash before each of (specials);
 * returns 0 when it does not fit. */
static int put(char *buf, size_t cap, size_t *at, const char *s, const char *specials)
{
    for (; *s; s++) {
        if (strchr(specials, *s) != NULL) {
            if (*at + 1 >= cap)
                return 0;
            buf[(*at)++] = '\\';
        }
        if (*at + 1 >= cap)
            return 0;
        buf[(*at)++] = *s;
    }
    return 1;
}

static int putf(char *buf, size_t cap, size_t *at, const char *fmt, int64_t v)
{
    int n = snprintf(buf + *at, cap - *at, fmt, v);

    if (n < 0 || (size_t)n >= cap - *at)
        return 0;
    *at += (size_t)n;
    return 1;
}

size_t mirage_metrics_line(char *buf, size_t cap, const char *measurement, const char *host,
                           const char *tag_key, const char *tag_value,
                           const struct mirage_metrics_field *f, size_t n, uint64_t wall_ns)
{
    static const char tag_specials[] = ",= ", name_specials[] = ", ";
    size_t at = 0;

    if (cap == 0 || n == 0 || !put(buf, cap, &at, measurement, name_specials))
        return 0;
    if (host && *host &&
        (!put(buf, cap, &at, ",host=", "") || !put(buf, cap, &at, host, tag_specials)))
        return 0;
    if (tag_key && tag_value && *tag_key && *tag_value &&
        (!put(buf, cap, &at, ",", "") || !put(buf, cap, &at, tag_key, tag_specials) ||
         !put(buf, cap, &at, "=", "") || !put(buf, cap, &at, tag_value, tag_specials)))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!put(buf, cap, &at, i ? "," : " ", "") ||
            !put(buf, cap, &at, f[i].name, tag_specials) ||
            !putf(buf, cap, &at, "=%" PRId64 "i", f[i].value))
            return 0;
    if (!putf(buf, cap, &at, " %" PRId64 "\n", (int64_t)wall_ns))
        return 0;
    return at;
}

size_t mirage_metrics_collect(char *buf, size_t cap, const char *host, uint64_t wall_ns,
                              size_t *skipped)
{
    struct mirage_metrics_field f[MIRAGE_METRICS_FIELDS_MAX];
    size_t at = 0;

    for (struct mirage_metrics_source *s = sources; s; s = s->next_) {
        size_t n = s->sample(s->ctx, f, MIRAGE_METRICS_FIELDS_MAX), len;

        if (n == 0)
            continue;
        len = mirage_metrics_line(buf + at, cap - at, s->measurement, host, s->tag_key,
                                  s->tag_value, f, n, wall_ns);
        if (len == 0)
            (*skipped)++;
        at += len;
    }
    return at;
}
