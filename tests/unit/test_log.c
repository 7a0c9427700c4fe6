/* test_log.c: the log library's per-source rate limit: bursts held back, counted, and said. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/log.h"

MIRAGE_LOG_SOURCE(noisy, "noisy", "a source a peer can make talk");
MIRAGE_LOG_SOURCE(other, "other", "a source beside it");

/* How many times (needle) occurs in the console so far. */
static int count(const char *needle)
{
    int n = 0;

    for (const char *p = fake_console_text(); (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* A flood of warnings from one source prints MIRAGE_LOG_BURST a second; the
 * next line after the window says how many were held back, exactly. */
static void test_burst_then_count(void)
{
    mirage_log_reset();
    fake_console_clear();
    for (int i = 0; i < 5000; i++)
        mirage_log_warn(&noisy, "claim %d", i);
    CHECK_INT(count("[WARNING] [noisy] claim "), MIRAGE_LOG_BURST);
    CHECK(strstr(fake_console_text(), "claim 9\n") != NULL);
    CHECK(strstr(fake_console_text(), "claim 10\n") == NULL);
    CHECK_INT(count("suppressed"), 0);

    fake_now += 999999999; /* still the same second */
    mirage_log_warn(&noisy, "claim late");
    CHECK_INT(count("suppressed"), 0);
    fake_now += 1;
    mirage_log_warn(&noisy, "claim next");
    CHECK(strstr(fake_console_text(),
                 "[WARNING] [noisy] suppressed 4991 messages (over 10 a second)\n") != NULL);
    /* the count comes on the line right before the one that follows it */
    CHECK(strstr(fake_console_text(), "second)\n1.000000: [WARNING] [noisy] claim next\n") != NULL);
    CHECK_INT(count("[noisy] "), MIRAGE_LOG_BURST + 2);
}

/* Sources are limited each on its own; errors and info lines count like
 * warnings; app and debug lines, asked for, are never held back; a source
 * below its level counts nothing. */
static void test_per_source_and_levels(void)
{
    char err[64];

    mirage_log_reset();
    fake_now += 10000000000ULL;
    fake_console_clear();
    for (int i = 0; i < 20; i++) {
        mirage_log_err(&noisy, "e%d", i);
        mirage_log_info(&other, "i%d", i);
    }
    CHECK_INT(count("[ERROR] [noisy] e"), MIRAGE_LOG_BURST);
    CHECK_INT(count("[INFO] [other] i"), MIRAGE_LOG_BURST);
    for (int i = 0; i < 50; i++)
        mirage_log_app_msg(&noisy, "app%d", i);
    CHECK_INT(count("[APP] [noisy] app"), 50);
    CHECK_INT(mirage_log_set("noisy:debug", err, sizeof(err)), 0);
    for (int i = 0; i < 50; i++)
        mirage_log_debug(&noisy, "dbg%d", i);
    CHECK_INT(count("[DEBUG] [noisy] dbg"), 50);

    CHECK_INT(mirage_log_set("other:error", err, sizeof(err)), 0);
    fake_now += 2000000000ULL;
    for (int i = 0; i < 100; i++)
        mirage_log_info(&other, "hidden"); /* below its level: not even counted */
    mirage_log_err(&other, "shown");
    CHECK(strstr(fake_console_text(), "[ERROR] [other] suppressed 10 messages") != NULL);
    CHECK_INT(count("hidden"), 0);
    CHECK_INT(count("[other] shown"), 1);
    mirage_log_reset();
}

/* Another limit, and none. */
static void test_set_limit(void)
{
    mirage_log_reset();
    fake_now += 10000000000ULL;
    fake_console_clear();
    mirage_log_set_limit(3);
    for (int i = 0; i < 20; i++)
        mirage_log_warn(&noisy, "w%d", i);
    CHECK_INT(count("[noisy] w"), 3);
    fake_now += 1000000000ULL;
    mirage_log_warn(&noisy, "next");
    CHECK(strstr(fake_console_text(), "[noisy] suppressed 17 messages (over 3 a second)") != NULL);
    mirage_log_set_limit(0);
    for (int i = 0; i < 500; i++)
        mirage_log_warn(&other, "x%d", i);
    CHECK_INT(count("[other] x"), 500);
    mirage_log_set_limit(MIRAGE_LOG_BURST);
    mirage_log_reset();
}

/* Records (an access log) are never held back, and do not use up the
 * source's allowance for its reports; -l silences them like info lines. */
static void test_records(void)
{
    mirage_log_reset();
    fake_now += 10000000000ULL;
    fake_console_clear();
    for (int i = 0; i < 100; i++)
        mirage_log_record(&noisy, "GET /%d", i);
    CHECK_INT(count("[INFO] [noisy] GET /"), 100);
    CHECK(strstr(fake_console_text(), "GET /99\n") != NULL);
    CHECK_INT(count("suppressed"), 0);
    for (int i = 0; i < 20; i++)
        mirage_log_warn(&noisy, "w%d", i);
    CHECK_INT(count("[WARNING] [noisy] w"), MIRAGE_LOG_BURST);
    noisy.level = MIRAGE_LOG_WARNING;
    mirage_log_record(&noisy, "GET /silenced");
    CHECK(strstr(fake_console_text(), "silenced") == NULL);
    noisy.level = -1;
}

int main(void)
{
    test_burst_then_count();
    test_set_limit();
    test_records();
    test_per_source_and_levels();
    return CHECK_DONE();
}
