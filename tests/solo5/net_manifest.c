/* net_manifest.c: solo5_net declares one network device. */
#include "mirage/manifest.h"

MIRAGE_MANIFEST(MIRAGE_NET("service"));
