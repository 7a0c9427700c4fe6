/* blk_manifest.c: solo5_blk declares one block device. */
#include "mirage/manifest.h"

MIRAGE_MANIFEST(MIRAGE_BLOCK("storage"));
