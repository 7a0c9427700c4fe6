/* hello.c: prints its arguments, then exits with the status asked for by --exit=N (default 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* config.c's job: main.c calls it with the boot arguments and exits with its status. */
int start(int argc, char **argv)
{
    int status = 0;

    printf("hello from %s\n", argv[0]);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--exit=", 7) == 0)
            status = atoi(argv[i] + 7);
        else if (strcmp(argv[i], "--abort") == 0)
            abort();
        else
            printf("arg %d: [%s]\n", i, argv[i]);
    }
    return status;
}
