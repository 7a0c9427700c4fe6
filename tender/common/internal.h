/* internal.h: helpers the tender/common files share with each other, not with the tenders. */
#ifndef TENDER_INTERNAL_H
#define TENDER_INTERNAL_H

#include <stddef.h>

/* Why the device name (s, len) is not a valid manifest name, or NULL when it is:
 * 1..MIRAGE_MANIFEST_NAME_MAX-1 characters of [A-Za-z0-9_]. */
const char *tender_name_problem(const char *s, size_t len);

#endif
