/* timeout.c: the MirageOS "timeout" tutorial: a sleeping job raced against a timeout that cancels
 * it. */
#include "mirage/error.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/sched.h"
#include "mirage/time.h"

static int job(void *arg)
{
    int r = mirage_sleep_ns(MIRAGE_MS(*(int64_t *)arg));

    return r == 0 ? 1 : r; /* 1: "Heads" */
}

static int timer(void *arg)
{
    int r = mirage_sleep_ns(MIRAGE_MS(*(int64_t *)arg));

    return r == 0 ? 0 : r;
}

/* key_work and key_timeout are config.c's runtime keys, parsed before start runs. */
int start(void)
{
    struct mirage_fiber *fs[2];
    int64_t work_ms, timeout_ms;
    size_t winner;
    int r;

    work_ms = key_work.has_value ? key_work.v.num : (int64_t)mirage_random_uniform(3001);
    timeout_ms = key_timeout.v.num;
    mirage_log_info(&mirage_log_app, "job sleeps %lld ms, timeout after %lld ms",
                    (long long)work_ms, (long long)timeout_ms);
    fs[0] = mirage_fiber_spawn("job", job, &work_ms, 0);
    fs[1] = mirage_fiber_spawn("timeout", timer, &timeout_ms, 0);
    if (fs[0] == NULL || fs[1] == NULL || mirage_fiber_pick(fs, 2, &winner, &r) < 0)
        return 1;
    if (winner == 0)
        mirage_log_info(&mirage_log_app, "Returned \"Heads\"");
    else
        mirage_log_info(&mirage_log_app, "Cancelled");
    return 0;
}
