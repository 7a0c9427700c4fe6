/* hello_key.c: the MirageOS "hello-key" tutorial: logs --hello=TEXT four times, one second apart.
 */
#include "mirage/log.h"
#include "mirage/time.h"

/* key_hello is config.c's runtime key, parsed by main.c before start runs. */
int start(void)
{
    for (int i = 0; i < 4; i++) {
        if (i > 0 && mirage_sleep_ns(MIRAGE_SEC(1)) < 0)
            return 1;
        mirage_log_info(&mirage_log_app, "%s", key_hello.v.str);
    }
    return 0;
}
