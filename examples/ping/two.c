/* two.c: the manifest of `ping2`, two network devices answered at once. */
#include "mirage/manifest.h"

MIRAGE_MANIFEST(MIRAGE_NET("service"), MIRAGE_NET("service2"));
