/* standalone.c: what `mirage configure` generates for hello, for the repository's own build. */
#include "mirage/manifest.h"
#include "mirage/platform.h"

int start(int argc, char **argv);

MIRAGE_MANIFEST();

int mirage_main(int argc, char **argv)
{
    return start(argc, argv);
}
