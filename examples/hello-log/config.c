/* config.c: hello-log's configuration: a job without devices; -l/--logs sets the log levels. */
#include <mirage/config.h>

void mirage_config(void)
{
    register_unikernel("hello-log", job("start"));
}
