/* config.c: hello-key's configuration: a job without devices and one runtime key, --hello. */
#include <mirage/config.h>

void mirage_config(void)
{
    runtime_key("hello", "string", "How to say hello.", "Hello World!");
    register_unikernel("hello-key", job("start"));
}
