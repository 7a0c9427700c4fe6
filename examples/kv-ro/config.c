/* config.c: kv-ro's configuration: a directory crunched into the image and a tar archive on a
 * block device, both read as kv_ro stores. */
#include <mirage/config.h>

void mirage_config(void)
{
    /* The archive is the block device "tar": --block:tar=PATH (on unix too, or a file named tar).
     */
    register_unikernel("kv-ro", job("start", KV_RO, KV_RO), crunch("data"),
                       tar_kv_ro(block("tar")));
}
