/* time.h: the platform's wall and monotonic clocks, and UTC calendar conversion. */
#ifndef _TIME_H
#define _TIME_H

#include <stddef.h>
#include <sys/types.h>

#define CLOCK_REALTIME  0
#define CLOCK_MONOTONIC 1
#define CLOCKS_PER_SEC  1000000L

typedef long clock_t;

struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

struct tm {
    int tm_sec;
    int tm_min;
    int tm_hour;
    int tm_mday;
    int tm_mon;  /* 0..11 */
    int tm_year; /* years since 1900 */
    int tm_wday; /* 0 is Sunday */
    int tm_yday; /* 0..365 */
    int tm_isdst;
    long tm_gmtoff;
    const char *tm_zone;
};

/* Seconds since the Unix epoch, from the platform's wall clock. */
time_t time(time_t *t);
/* CLOCK_REALTIME is the wall clock, CLOCK_MONOTONIC the monotonic one;
 * other ids fail with EINVAL. */
int clock_gettime(clockid_t id, struct timespec *ts);
/* Monotonic time since boot, in CLOCKS_PER_SEC units. */
clock_t clock(void);
double difftime(time_t end, time_t start);
/* UTC only: there are no time zones. NULL with EOVERFLOW if the year does
 * not fit an int. gmtime() uses one static struct. */
struct tm *gmtime_r(const time_t *t, struct tm *out);
struct tm *gmtime(const time_t *t);
/* The inverse of gmtime_r; normalises out-of-range fields like mktime. */
time_t timegm(struct tm *tm);

#endif
