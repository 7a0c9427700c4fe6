/* config.c: heads's configuration: a job without devices. */
#include <mirage/config.h>

void mirage_config(void)
{
    register_unikernel("heads", job("start"));
}
