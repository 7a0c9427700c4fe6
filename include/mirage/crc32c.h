/* crc32c.h: CRC-32C (Castagnoli), the checksum of the on-disk formats. */
#ifndef MIRAGE_CRC32C_H
#define MIRAGE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of (len) bytes at (buf) continuing (crc): start with 0, feed
 * pieces in order, the result is the CRC of their concatenation
 * (mirage_crc32c(0, "123456789", 9) == 0xe3069283). Pure; never suspends. */
uint32_t mirage_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
