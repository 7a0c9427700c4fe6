/* time.h: the monotonic and wall clocks in nanoseconds, deadlines and sleep. */
#ifndef MIRAGE_TIME_H
#define MIRAGE_TIME_H

#include <stdint.h>

#include "mirage/sched.h"

#define MIRAGE_US(n) ((uint64_t)(n) * 1000u)
#define MIRAGE_MS(n) ((uint64_t)(n) * 1000000u)
#define MIRAGE_SEC(n) ((uint64_t)(n) * 1000000000u)

/* The clocks are the platform's: mirage_clock_monotonic() (ns since boot,
 * never backwards) and mirage_clock_wall() (ns since the Unix epoch, may
 * jump), declared in platform.h, which sched.h includes. */

/* The deadline (ns) from now; saturates at MIRAGE_FOREVER. */
uint64_t mirage_deadline_in(uint64_t ns);

/* Suspends the calling fiber for (ns) nanoseconds / until the monotonic clock
 * reaches (deadline). Returns 0, or MIRAGE_ECANCELED if the fiber was
 * cancelled (early), or MIRAGE_EDEADLK for an endless sleep nothing can end. */
int mirage_sleep_ns(uint64_t ns);
int mirage_sleep_until(uint64_t deadline);

#endif
