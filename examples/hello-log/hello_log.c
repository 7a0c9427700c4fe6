/* hello_log.c: the MirageOS "hello" tutorial: logs "hello" four times, one second apart. */
#include "mirage/log.h"
#include "mirage/time.h"

int start(void)
{
    for (int i = 0; i < 4; i++) {
        if (i > 0 && mirage_sleep_ns(MIRAGE_SEC(1)) < 0)
            return 1;
        mirage_log_info(&mirage_log_app, "hello");
    }
    return 0;
}
