/* config.c: noop's configuration: a job without devices or keys. */
#include <mirage/config.h>

void mirage_config(void)
{
    register_unikernel("noop", job("start"));
}
