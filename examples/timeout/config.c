/* config.c: timeout's configuration: a job without devices and two runtime keys in ms. */
#include <mirage/config.h>

void mirage_config(void)
{
    runtime_key_int("work", "How long the job sleeps, in ms (default: random, 0 to 3 s).", NULL, 0,
                    3600000);
    runtime_key_int("timeout", "When the job is cancelled, in ms.", "2000", 0, 3600000);
    register_unikernel("timeout", job("start"));
}
