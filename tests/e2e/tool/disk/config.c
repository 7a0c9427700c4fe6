/* config.c: a test unikernel taking a block device and a network interface, with a runtime key. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *main_job = job("start", BLOCK, NETWORK);

    runtime_key("greeting", "string", "what to print first", "disk says");
    if (configure_flag("with-net", "also declare the network interface"))
        register_unikernel("disk", main_job, block("storage"), default_network());
    else
        register_unikernel("disk", job("start_disk", BLOCK), block("storage"));
}
