/* reload_guest.c: on spt and hvt no host signal reaches the unikernel: the certificates are
 * reloaded when the tls device's bytes change (--reload-check). */
#include "site.h"

int site_reload_signals(void)
{
    return 0;
}

int site_reload_requested(void)
{
    return 0;
}
