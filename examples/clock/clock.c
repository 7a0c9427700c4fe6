/* clock.c: the MirageOS "clock" tutorial: prints the monotonic and wall clocks, one second apart.
 */
#include <time.h>

#include "mirage/log.h"
#include "mirage/time.h"

static void show(void)
{
    uint64_t wall = mirage_clock_wall(), mono = mirage_clock_monotonic();
    time_t secs = (time_t)(wall / 1000000000u);
    struct tm tm;

    if (gmtime_r(&secs, &tm) == NULL) {
        mirage_log_err(&mirage_log_app, "wall clock %llu ns is out of range",
                       (unsigned long long)wall);
        return;
    }
    mirage_log_info(&mirage_log_app,
                    "monotonic %llu ns, wall %04d-%02d-%02dT%02d:%02d:%02d.%06luZ (%llu ns)",
                    (unsigned long long)mono, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                    tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned long)(wall % 1000000000u / 1000u),
                    (unsigned long long)wall);
}

int start(void)
{
    for (int i = 0; i < 3; i++) {
        if (i > 0 && mirage_sleep_ns(MIRAGE_SEC(1)) < 0)
            return 1;
        show();
    }
    return 0;
}
