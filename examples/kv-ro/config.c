/* config.c: kv-ro's configuration: a directory crunched into the image, read as a kv_ro store. */
#include <mirage/config.h>

void mirage_config(void)
{
    register_unikernel("kv-ro", job("start", KV_RO), crunch("data"));
}
