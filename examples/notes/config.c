/* config.c: notes' configuration: a TCP/IP stack and a kv_rw_disk store on the block device
 * "notes". */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());
    struct mirage_dev *notes = kv_rw_disk(block("notes"));
    struct mirage_dev *main_job = job("start", KV_RW, STACKV4V6);

    runtime_key_int("port", "The TCP port to serve notes on.", "7777", 1, 65535);
    runtime_key_int("connections", "Exit after this many connections (0: never).", "0", 0, 1000000);
    register_unikernel("notes", main_job, notes, stack);
}
