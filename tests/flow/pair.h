/* pair.h: in-memory flows for tests: two connected ends, and a flow that reads from a buffer. */
#ifndef TESTS_FLOW_PAIR_H
#define TESTS_FLOW_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/flow.h"

/*
 * Two flows joined back to back, like a TCP connection inside one process:
 * what one end writes the other reads, (cap) bytes in flight each way (a
 * write waits while the peer's buffer is full). Shutdown for writing gives
 * the peer the end of the stream; each end is freed by its own close, and a
 * write to an end whose peer has closed fails with MIRAGE_ECONNRESET. Reads
 * and writes suspend the calling fiber as the stacks' flows do; each end has
 * mirage_flow_on_readable.
 */
int flow_pair_new(size_t cap, struct mirage_flow **a, struct mirage_flow **b);

/* Bytes written to (f) so far, for either kind of test flow. */
uint64_t flow_pair_written(struct mirage_flow *f);

/* A flow whose reads give (data, len) (not copied: it must outlive the flow)
 * at most (chunk) bytes at a time, then the end of the stream; writes are
 * counted and dropped. For fuzzers: a peer that sends what the input says. */
struct mirage_flow *flow_feed_new(const uint8_t *data, size_t len, size_t chunk);

#endif
