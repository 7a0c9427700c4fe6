/* time.c: time(), clock_gettime() over the platform clocks, and UTC calendar arithmetic. */
#include <errno.h>
#include <limits.h>
#include <time.h>

#include "mirage/platform.h"

#define NS_PER_SEC   1000000000ULL
#define SECS_PER_DAY 86400

time_t time(time_t *t)
{
    time_t now = (time_t)(mirage_clock_wall() / NS_PER_SEC);

    if (t)
        *t = now;
    return now;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    uint64_t ns;

    if (id == CLOCK_REALTIME) {
        ns = mirage_clock_wall();
    } else if (id == CLOCK_MONOTONIC) {
        ns = mirage_clock_monotonic();
    } else {
        errno = EINVAL;
        return -1;
    }
    ts->tv_sec = (time_t)(ns / NS_PER_SEC);
    ts->tv_nsec = (long)(ns % NS_PER_SEC);
    return 0;
}

clock_t clock(void)
{
    return (clock_t)(mirage_clock_monotonic() / (NS_PER_SEC / CLOCKS_PER_SEC));
}

double difftime(time_t end, time_t start)
{
    return (double)end - (double)start;
}

static long long floor_div(long long a, long long b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 of the proleptic Gregorian date (y, m 1..12, d).
 * Counts in 400-year eras (146097 days) of years that start on March 1st, so
 * the leap day is the last day of its year. */
static long long days_from_civil(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = floor_div(y, 400);
    long long yoe = y - era * 400;
    long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int is_leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static const short days_before_month[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

struct tm *gmtime_r(const time_t *t, struct tm *out)
{
    long long days = floor_div(*t, SECS_PER_DAY);
    long long secs = *t - days * SECS_PER_DAY;

    /* The inverse of days_from_civil: era, year of era, day of (March) year. */
    long long z = days + 719468;
    long long era = floor_div(z, 146097);
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    int mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    int mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    long long year = yoe + era * 400 + (mon <= 2);

    if (year - 1900 > INT_MAX || year - 1900 < INT_MIN) {
        errno = EOVERFLOW;
        return NULL;
    }
    out->tm_year = (int)(year - 1900);
    out->tm_mon = mon - 1;
    out->tm_mday = mday;
    out->tm_yday = days_before_month[mon - 1] + mday - 1 + (mon > 2 && is_leap(year));
    out->tm_wday = (int)(days - floor_div(days + 4, 7) * 7 + 4);
    out->tm_hour = (int)(secs / 3600);
    out->tm_min = (int)(secs / 60 % 60);
    out->tm_sec = (int)(secs % 60);
    out->tm_isdst = 0;
    out->tm_gmtoff = 0;
    out->tm_zone = "UTC";
    return out;
}

struct tm *gmtime(const time_t *t)
{
    static struct tm tm;
    return gmtime_r(t, &tm);
}

time_t timegm(struct tm *tm)
{
    long long mon = tm->tm_mon;
    long long year = (long long)tm->tm_year + 1900 + floor_div(mon, 12);

    mon -= floor_div(mon, 12) * 12;
    long long days = days_from_civil(year, (int)mon + 1, 1) + tm->tm_mday - 1;
    time_t t = (time_t)(days * SECS_PER_DAY + (long long)tm->tm_hour * 3600 +
                        (long long)tm->tm_min * 60 + tm->tm_sec);
    if (!gmtime_r(&t, tm))
        return (time_t)-1;
    return t;
}
