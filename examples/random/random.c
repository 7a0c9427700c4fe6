/* random.c: draws from the generator start() is given: a 64-bit value, dice, random bytes. */
#include "mirage/log.h"
#include "mirage/random.h"

#define NBYTES 16
#define NDICE  8

int start(struct mirage_random *rng)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char bytes[NBYTES];
    char hex[2 * NBYTES + 1], dice[2 * NDICE];

    mirage_log_info(&mirage_log_app, "u64 %016llx", (unsigned long long)mirage_random_next(rng));
    for (int i = 0; i < NDICE; i++) {
        dice[2 * i] = (char)('1' + mirage_random_below(rng, 6));
        dice[2 * i + 1] = i + 1 < NDICE ? ' ' : '\0';
    }
    mirage_log_info(&mirage_log_app, "dice %s", dice);
    mirage_random_fill(rng, bytes, sizeof(bytes));
    for (int i = 0; i < NBYTES; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 15];
    }
    hex[2 * NBYTES] = '\0';
    mirage_log_info(&mirage_log_app, "bytes %s", hex);
    return 0;
}
