/* config.c: diskbusy's configuration: a TCP/IP stack and the platform block device "storage". */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());

    runtime_key_int("rounds", "Rounds of one large write and a flush, at most.", "30", 1, 1000);
    runtime_key_int("enough-ms", "Stop after a round once a request took this long.", "250", 1,
                    100000);
    runtime_key_int("mib", "MiB written by each round's one request.", "128", 1, 1024);
    register_unikernel("diskbusy", job("start", BLOCK, STACKV4V6), block("storage"), stack);
}
