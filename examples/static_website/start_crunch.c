/* start_crunch.c: static_website with its site and certificates compiled into the image. */
#include "site.h"

int start(struct mirage_stack *stack, struct mirage_kv *htdocs, struct mirage_kv *certs)
{
    return site_main(stack, htdocs, certs, NULL);
}
