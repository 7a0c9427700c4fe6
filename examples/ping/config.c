/* config.c: ping's configuration: one network device, or two with --two (then named ping2). */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *main_job;

    /* ping parses its own arguments: --ipv4-K names the K-th device's address. */
    if (configure_flag("two", "answer on two network devices, service and service2 (ping2)")) {
        main_job = job("start", NETWORK, NETWORK);
        job_sources(main_job, "ping.c", "two.c");
        job_argv(main_job);
        register_unikernel("ping2", main_job, netif("service"), netif("service2"));
    } else {
        main_job = job("start", NETWORK);
        job_sources(main_job, "ping.c", "one.c");
        job_argv(main_job);
        register_unikernel("ping", main_job, netif("service"));
    }
}
