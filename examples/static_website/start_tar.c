/* start_tar.c: static_website with its site and certificates in tar images on block devices. */
#include "site.h"

int start(struct mirage_stack *stack, struct mirage_kv *htdocs, struct mirage_block *certs)
{
    return site_main(stack, htdocs, NULL, certs);
}
