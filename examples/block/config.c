/* config.c: block's configuration: a job taking the platform block device "storage". */
#include <mirage/config.h>

void mirage_config(void)
{
    register_unikernel("block", job("start", BLOCK), block("storage"));
}
