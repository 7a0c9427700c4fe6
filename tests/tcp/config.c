/* config.c: tcptest's configuration: the TCP servers of tests/e2e/tcp.bats and bench/net.sh. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());
    struct mirage_dev *main_job = job("start", STACKV4V6);

    /* Heap accounting differs: the freestanding libc's on spt/hvt, glibc's on unix. */
    if (target_is_unix())
        job_sources(main_job, "tcptest.c", "heap_unix.c");
    else
        job_sources(main_job, "tcptest.c", "heap_guest.c");
    runtime_key_int("source-bytes", "Bytes the source port (19) sends per connection.", "52428800",
                    0, 1LL << 40);
    runtime_key_int("zeros-write", "Bytes the zeros port (20) writes per call.", "65536", 1, 65536);
    register_unikernel("tcptest", main_job, stack);
}
