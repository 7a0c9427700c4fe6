/* block.h: the one check of a block request against its device, for the bindings and the tenders. */
#ifndef MIRAGE_ABI_BLOCK_H
#define MIRAGE_ABI_BLOCK_H

#include <stdint.h>

/* 1 when (size) bytes at (offset) are whole sectors of (block_size) inside
 * [0, capacity), without overflow; 0 otherwise (a block_size of 0 included).
 * The binding refuses what the tender or the device would refuse, with the
 * same test, so a guest never learns of a bad request by being ended. */
static inline int mirage_block_range_ok(uint64_t offset, uint64_t size, uint64_t block_size,
                                        uint64_t capacity)
{
    return block_size != 0 && offset % block_size == 0 && size % block_size == 0 &&
           offset <= capacity && size <= capacity - offset;
}

#endif
