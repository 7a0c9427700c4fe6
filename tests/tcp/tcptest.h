/* tcptest.h: what tcptest's per-target heap file provides. */
#ifndef TCPTEST_H
#define TCPTEST_H

#include <stddef.h>

/* Bytes of heap in use now. */
size_t tcptest_heap_used(void);

#endif
