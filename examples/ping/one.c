/* one.c: the manifest of `ping`, one network device. */
#include "mirage/manifest.h"

MIRAGE_MANIFEST(MIRAGE_NET("service"));
