/* config.c: clock's configuration: a job without devices. */
#include <mirage/config.h>

void mirage_config(void)
{
    register_unikernel("clock", job("start"));
}
