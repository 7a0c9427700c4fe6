/* net2_manifest.c: solo5_net2 declares two network devices. */
#include "mirage/manifest.h"

MIRAGE_MANIFEST(MIRAGE_NET("service"), MIRAGE_NET("service2"));
