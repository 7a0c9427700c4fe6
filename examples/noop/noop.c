/* noop.c: the smallest unikernel: main.c has parsed the standard options; start returns 0. */

int start(void)
{
    return 0;
}
