/* fail.c: formatting the one-line error messages the tender prints when it refuses to start. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"
#include "tender.h"

int tender_fail(char *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, TENDER_ERR_MAX, fmt, ap);
    va_end(ap);
    return -1;
}
