/* config.c: random's configuration: a job taking the unikernel's one random generator. */
#include <mirage/config.h>

void mirage_config(void)
{
    register_unikernel("random", job("start", RANDOM), default_random());
}
