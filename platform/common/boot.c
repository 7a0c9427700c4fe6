/* boot.c: from the platform's command line to mirage_main(argc, argv), the same on every target. */
#include <string.h>

#include "mirage/cmdline.h"
#include "mirage/platform.h"

#define MAX_ARGS 1024

static char arg_buf[MIRAGE_CMDLINE_MAX];
static char *arg_v[MAX_ARGS + 1];

static void say(const char *s)
{
    mirage_console_write(s, strlen(s));
}

/* Splits mirage_cmdline() and runs the application; returns its exit status,
 * or 64 after naming the problem when the arguments cannot be split. */
int mirage_boot(const char *name)
{
    const char *err;
    int argc;

    arg_v[0] = (char *)name;
    argc = mirage_cmdline_split(mirage_cmdline(), arg_buf, sizeof(arg_buf), arg_v + 1, MAX_ARGS,
                                &err);
    if (argc < 0) {
        say(name);
        say(": bad boot arguments: ");
        say(err);
        say("\n");
        return 64;
    }
    return mirage_main(argc + 1, arg_v);
}
