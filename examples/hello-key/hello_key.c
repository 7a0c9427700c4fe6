/* hello_key.c: the MirageOS "hello-key" tutorial: logs --hello=TEXT four times, one second apart. */
#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/manifest.h"
#include "mirage/platform.h"
#include "mirage/time.h"

MIRAGE_MANIFEST();

static struct mirage_key hello = MIRAGE_KEY_STR("hello", "Hello World!", "How to say hello.");
static struct mirage_key *const keys[] = {&hello, NULL};

int mirage_main(int argc, char **argv)
{
    int r = mirage_key_parse_args(argc, argv, keys);

    if (r != 0)
        return r;
    for (int i = 0; i < 4; i++) {
        if (i > 0 && mirage_sleep_ns(MIRAGE_SEC(1)) < 0)
            return 1;
        mirage_log_info(&mirage_log_app, "%s", hello.v.str);
    }
    return 0;
}
