/* site.h: what static_website's files share: the site itself, and the per-target helpers. */
#ifndef SITE_H
#define SITE_H

#include <stddef.h>

struct mirage_stack;
struct mirage_kv;
struct mirage_block;

/* Serves (htdocs) over HTTP, and over HTTPS with the certificates of (certs), a kv store, or of
 * the tar image on (certs_dev), which is read again when it changes or on a signal. */
int site_main(struct mirage_stack *stack, struct mirage_kv *htdocs, struct mirage_kv *certs,
              struct mirage_block *certs_dev);

/* The bytes the heap holds (heap_unix.c, heap_guest.c). */
size_t site_heap_used(void);

/* reload_unix.c: SIGHUP asks for a reload; reload_guest.c: no signal reaches spt or hvt.
 * site_reload_signals says whether a signal can ask (installing the handler), and
 * site_reload_requested whether one did since the last call. */
int site_reload_signals(void);
int site_reload_requested(void);

#endif
