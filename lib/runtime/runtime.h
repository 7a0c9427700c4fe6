/* runtime.h: what the files of lib/runtime share and nothing outside it may use. */
#ifndef LIB_RUNTIME_H
#define LIB_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/sched.h"

/* timer.c: the earliest pending deadline (MIRAGE_FOREVER if none), and
 * running every timer due at (now); returns how many ran. */
uint64_t runtime_timer_next(void);
size_t runtime_timer_expire(uint64_t now);

/* sched.c calls this (set by random.c once the generator exists) with the
 * timing of every event-loop wake-up, so images without random stay small. */
extern void (*runtime_event_hook)(uint8_t source, const void *data, size_t len);

/* log.c: prints one line "mirage: MSG" straight to the console, for the
 * runtime's own fatal messages (no log levels, no allocation). */
void runtime_say(const char *a, const char *b, const char *c);

#endif
