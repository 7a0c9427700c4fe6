/* hello_log.c: the MirageOS "hello" tutorial: logs "hello" four times, one second apart. */
#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/manifest.h"
#include "mirage/platform.h"
#include "mirage/time.h"

MIRAGE_MANIFEST();

int mirage_main(int argc, char **argv)
{
    int r = mirage_key_parse_args(argc, argv, NULL);

    if (r != 0)
        return r;
    for (int i = 0; i < 4; i++) {
        if (i > 0 && (r = mirage_sleep_ns(MIRAGE_SEC(1))) < 0)
            return 1;
        mirage_log_info(&mirage_log_app, "hello");
    }
    return 0;
}
