/* device.c: what a generated main.c says when a device cannot be connected. */
#include <string.h>

#include "mirage/device.h"
#include "mirage/error.h"
#include "mirage/platform.h"

static void say(const char *s)
{
    mirage_console_write(s, strlen(s));
}

int mirage_device_connect_failed(const char *prog, const char *kind, const char *name, int err)
{
    say(prog);
    say(": cannot connect the ");
    say(kind);
    say(" device '");
    say(name);
    say("': ");
    say(mirage_strerror(err));
    say("\n");
    return 1;
}
