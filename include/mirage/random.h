/* random.h: the unikernel's one cryptographically secure generator (Fortuna over BearSSL). */
#ifndef MIRAGE_RANDOM_H
#define MIRAGE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fortuna (Ferguson, Schneier, Kohno: Cryptography Engineering, ch. 9):
 * a generator (AES-256 in counter mode, rekeyed after every request) and an
 * accumulator of 32 SHA-256 pools fed with event data; pool i takes part in
 * every 2^i-th reseed, a reseed happens at most every 100 ms and only once
 * pool 0 holds 64 bytes. SHA_d-256(m) is SHA-256(SHA-256(m)). The 128-bit
 * block counter is big-endian (BearSSL's CTR layout); the book's is
 * little-endian, which changes no property of the design.
 *
 * The runtime's generator is seeded on first use from the host's getrandom
 * (mirage_host_entropy), RDSEED/RDRAND (where the CPU has them), TSC jitter,
 * both clocks and the boot command line, and fed with the timing of every
 * event-loop wake-up after that.
 */

/* Fills (buf) with (len) random bytes. Never fails. */
void mirage_random_bytes(void *buf, size_t len);
uint64_t mirage_random_u64(void);
/* A uniform value in [0, bound), without modulo bias; bound 0 gives 0. */
uint64_t mirage_random_uniform(uint64_t bound);
/* Adds (len) bytes of unpredictable data from (source) to the pools. */
void mirage_random_add(uint8_t source, const void *data, size_t len);

/* ---- the generator as a device: what a job taking RANDOM gets ----------- */

/* Stands for the runtime's one generator: config.c's default_random(), which
 * main.c hands to start(). Passing it keeps start()'s signature honest about
 * what the application uses; the draws below are those of the functions above. */
struct mirage_random; /* opaque; never freed */

/* The unikernel's generator, the same handle on every call. Never NULL. */
struct mirage_random *mirage_random_default(void);
/* Fills (buf) with (len) random bytes. Never fails; a handle that did not come
 * from mirage_random_default() aborts the unikernel. */
void mirage_random_fill(struct mirage_random *r, void *buf, size_t len);
/* 64 random bits. */
uint64_t mirage_random_next(struct mirage_random *r);
/* A uniform value in [0, bound), without modulo bias; bound 0 gives 0. */
uint64_t mirage_random_below(struct mirage_random *r, uint64_t bound);

/* ---- a Fortuna instance of one's own (tests, benchmarks) ---------------- */

struct mirage_fortuna; /* opaque; ~4 KiB */

/* A new, unseeded instance; (clock) gives monotonic ns for the 100 ms rule.
 * Returns NULL when out of memory. */
struct mirage_fortuna *mirage_fortuna_new(uint64_t (*clock)(void));
void mirage_fortuna_free(struct mirage_fortuna *f);

/* The book's AddRandomEvent: (len) 1..32 bytes into pool (pool) 0..31.
 * Returns 0 or MIRAGE_EINVAL. */
int mirage_fortuna_add_event(struct mirage_fortuna *f, uint8_t source, unsigned pool,
                             const void *data, size_t len);

/* The generator's Reseed: K = SHA_d-256(K || seed), counter + 1. */
void mirage_fortuna_reseed(struct mirage_fortuna *f, const void *seed, size_t len);

/* The book's RandomData: reseeds from the pools when due, then fills (buf)
 * (any length; generated 1 MiB per rekey). Returns 0, or MIRAGE_EAGAIN (and
 * writes nothing) while the generator has never been seeded. */
int mirage_fortuna_read(struct mirage_fortuna *f, void *buf, size_t len);

/* How many times the accumulator has reseeded the generator. */
uint64_t mirage_fortuna_reseed_count(const struct mirage_fortuna *f);

#endif
