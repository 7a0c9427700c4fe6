/* heads.c: the MirageOS "heads" tutorials: two sleeps joined, then two sleeps picked. */
#include "mirage/error.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/time.h"

struct coin {
    const char *side;
    uint64_t after;
};

/* Sleeps, then logs its side; a cancelled sleep says so instead. */
static int toss(void *arg)
{
    const struct coin *c = arg;
    int r = mirage_sleep_ns(c->after);

    if (r == MIRAGE_ECANCELED)
        mirage_log_info(&mirage_log_app, "%s cancelled", c->side);
    else
        mirage_log_info(&mirage_log_app, "%s", c->side);
    return r;
}

static int both(struct mirage_fiber **fs, int pick)
{
    static struct coin heads = {"Heads", MIRAGE_SEC(1)}, tails = {"Tails", MIRAGE_SEC(2)};

    fs[0] = mirage_fiber_spawn("heads", toss, &heads, 0);
    fs[1] = mirage_fiber_spawn("tails", toss, &tails, 0);
    if (fs[0] == NULL || fs[1] == NULL)
        return MIRAGE_ENOMEM;
    return pick ? mirage_fiber_pick(fs, 2, NULL, NULL) : mirage_fiber_join_all(fs, 2, NULL);
}

int start(void)
{
    struct mirage_fiber *fs[2];

    mirage_log_info(&mirage_log_app, "join: heads after 1 s, tails after 2 s");
    if (both(fs, 0) < 0)
        return 1;
    mirage_log_info(&mirage_log_app, "Finished");
    mirage_log_info(&mirage_log_app, "pick: the first wins, the other is cancelled");
    if (both(fs, 1) < 0)
        return 1;
    mirage_log_info(&mirage_log_app, "Finished");
    return 0;
}
