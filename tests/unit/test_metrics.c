/* test_metrics.c: InfluxDB line protocol (escapes, integer fields, a buffer too small) and the
 * source registry. */
#include "check.h"
#include "mirage/metrics.h"

static void test_line(void)
{
    struct mirage_metrics_field f[2] = {{"conns", 3}, {"drops", -1}};
    char buf[256];
    size_t n;

    n = mirage_metrics_line(buf, sizeof(buf), "tcp", "web1", "interface", "service", f, 2,
                            1764656197023714000ull);
    buf[n] = '\0';
    CHECK_STR(buf, "tcp,host=web1,interface=service conns=3i,drops=-1i 1764656197023714000\n");
    /* no host, no tag */
    n = mirage_metrics_line(buf, sizeof(buf), "runtime", NULL, NULL, NULL, f, 1, 5);
    buf[n] = '\0';
    CHECK_STR(buf, "runtime conns=3i 5\n");
    /* Escapes: measurement ',' and ' '; tag keys, values and field keys also '='. */
    n = mirage_metrics_line(buf, sizeof(buf), "my app,x", "a b", "k=1", "v,2", f, 1, 7);
    buf[n] = '\0';
    CHECK_STR(buf, "my\\ app\\,x,host=a\\ b,k\\=1=v\\,2 conns=3i 7\n");
    /* No fields: no line (the protocol needs one). Too small: 0, never a cut line. */
    CHECK_INT(mirage_metrics_line(buf, sizeof(buf), "tcp", "h", NULL, NULL, f, 0, 1), 0);
    n = mirage_metrics_line(buf, sizeof(buf), "tcp", "web1", "interface", "service", f, 2, 1);
    for (size_t cap = 0; cap <= n; cap++)
        CHECK_INT(mirage_metrics_line(buf, cap, "tcp", "web1", "interface", "service", f, 2, 1), 0);
    CHECK_INT(mirage_metrics_line(buf, n + 1, "tcp", "web1", "interface", "service", f, 2, 1), n);
}

static int64_t requests;

static size_t app_sample(void *ctx, struct mirage_metrics_field *f, size_t n)
{
    (void)ctx;
    if (n < 1)
        return 0;
    f[0] = (struct mirage_metrics_field){"requests", requests};
    return 1;
}

static size_t empty_sample(void *ctx, struct mirage_metrics_field *f, size_t n)
{
    (void)ctx, (void)f, (void)n;
    return 0;
}

static void test_registry(void)
{
    struct mirage_metrics_source app = {.measurement = "http", .sample = app_sample};
    struct mirage_metrics_source quiet = {.measurement = "quiet", .sample = empty_sample};
    struct mirage_metrics_source tagged = {
        .measurement = "http", .tag_key = "port", .tag_value = "80", .sample = app_sample};
    char buf[256];
    size_t skipped = 0, n;

    mirage_metrics_register(&app);
    mirage_metrics_register(&app); /* twice: still one line */
    mirage_metrics_register(&quiet);
    mirage_metrics_register(&tagged);
    requests = 42;
    n = mirage_metrics_collect(buf, sizeof(buf), "h", 9, &skipped);
    buf[n] = '\0';
    CHECK_STR(buf, "http,host=h requests=42i 9\nhttp,host=h,port=80 requests=42i 9\n");
    CHECK_INT(skipped, 0);
    /* A sample that does not fit keeps the lines that do and counts the rest. */
    n = mirage_metrics_collect(buf, 30, "h", 9, &skipped);
    buf[n] = '\0';
    CHECK_STR(buf, "http,host=h requests=42i 9\n");
    CHECK_INT(skipped, 1);
    mirage_metrics_unregister(&app);
    mirage_metrics_unregister(&app);
    skipped = 0;
    n = mirage_metrics_collect(buf, sizeof(buf), "h", 9, &skipped);
    buf[n] = '\0';
    CHECK_STR(buf, "http,host=h,port=80 requests=42i 9\n");
    mirage_metrics_unregister(&tagged);
    mirage_metrics_unregister(&quiet);
    CHECK_INT(mirage_metrics_collect(buf, sizeof(buf), "h", 9, &skipped), 0);
}

int main(void)
{
    test_line();
    test_registry();
    return CHECK_DONE();
}
