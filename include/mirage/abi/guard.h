/* guard.h: the label the runtime leaves in a stack guard page, for the tenders to name a fiber. */
#ifndef MIRAGE_ABI_GUARD_H
#define MIRAGE_ABI_GUARD_H

#include <stdint.h>

/*
 * Before a guard page is made inaccessible (mirage_mem_guard), the runtime
 * writes this label at its start. A tender that sees the guest fault there
 * may read the label back (the guest is ending) and, if the magic matches,
 * the name at (name): up to MIRAGE_GUARD_NAME_MAX - 1 bytes, NUL-terminated,
 * outside any guard page. The name belongs to the fiber currently on that
 * stack (a stack is reused by later fibers), so it is a pointer, not a copy.
 * All of it is untrusted: a tender checks the address and prints only
 * printable bytes.
 */
#define MIRAGE_GUARD_MAGIC    0x64726175672d6d6bULL /* "km-guard" */
#define MIRAGE_GUARD_NAME_MAX 24

struct mirage_guard_label {
    uint64_t magic;
    uint64_t name; /* address */
};

#endif
