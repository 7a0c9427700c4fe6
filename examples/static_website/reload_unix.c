/* reload_unix.c: on unix, SIGHUP asks static_website to reload its certificates. */
#include <signal.h>

#include "site.h"

static volatile sig_atomic_t hup;

static void on_hup(int sig)
{
    (void)sig;
    hup = 1;
}

int site_reload_signals(void)
{
    struct sigaction sa = {0};

    sa.sa_handler = on_hup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return sigaction(SIGHUP, &sa, NULL) == 0;
}

int site_reload_requested(void)
{
    if (!hup)
        return 0;
    hup = 0;
    return 1;
}
