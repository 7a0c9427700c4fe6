/* random_dev.c: the runtime's generator as a device handle (config.c's default_random()). */
#include "mirage/platform.h"
#include "mirage/random.h"
#include "runtime.h"

/* There is one generator per unikernel (the configuration checker refuses a
 * second), so the handle holds nothing of its own: it only names it. */
struct mirage_random {
    char unused;
};

static struct mirage_random generator;

struct mirage_random *mirage_random_default(void)
{
    return &generator;
}

/* A wild pointer here is an application bug; drawing anyway would hide it. */
static void check(const struct mirage_random *r)
{
    if (r != &generator) {
        runtime_say("random: ", "a handle that is not mirage_random_default()'s", "");
        mirage_abort();
    }
}

void mirage_random_fill(struct mirage_random *r, void *buf, size_t len)
{
    check(r);
    mirage_random_bytes(buf, len);
}

uint64_t mirage_random_next(struct mirage_random *r)
{
    check(r);
    return mirage_random_u64();
}

uint64_t mirage_random_below(struct mirage_random *r, uint64_t bound)
{
    check(r);
    return mirage_random_uniform(bound);
}
