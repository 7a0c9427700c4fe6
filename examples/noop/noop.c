/* noop.c: the smallest unikernel: parses the standard options and returns 0. */
#include "mirage/key.h"
#include "mirage/manifest.h"
#include "mirage/platform.h"

MIRAGE_MANIFEST();

int mirage_main(int argc, char **argv)
{
    return mirage_key_parse_args(argc, argv, NULL);
}
