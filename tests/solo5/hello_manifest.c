/* hello_manifest.c: solo5_hello declares no devices. */
#include "mirage/manifest.h"

MIRAGE_MANIFEST();
