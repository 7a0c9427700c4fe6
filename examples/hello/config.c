/* config.c: hello's configuration: no devices; start reads the boot arguments itself. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *main_job = job("start");

    job_sources(main_job, "hello.c");
    job_argv(main_job);
    register_unikernel("hello", main_job);
}
