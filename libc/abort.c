/* abort.c: every way the libc ends the unikernel: exit, abort, assert, stack and buffer checks. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mirage/platform.h"

static int errno_value;

int *__errno_location(void)
{
    return &errno_value;
}

static void say(const char *s)
{
    mirage_console_write(s, strlen(s));
}

void abort(void)
{
    say("abort() called\n");
    mirage_abort();
}

static void (*exit_handlers[32])(void);
static unsigned exit_count;

int atexit(void (*fn)(void))
{
    if (exit_count == sizeof(exit_handlers) / sizeof(exit_handlers[0]))
        return -1;
    exit_handlers[exit_count++] = fn;
    return 0;
}

void exit(int status)
{
    while (exit_count > 0)
        exit_handlers[--exit_count]();
    mirage_exit(status);
}

void _Exit(int status)
{
    mirage_exit(status);
}

void _exit(int status)
{
    mirage_exit(status);
}

void __assert_fail(const char *expr, const char *file, unsigned int line, const char *func)
{
    char num[12];
    char *p = num + sizeof(num);

    *--p = '\0';
    do {
        *--p = (char)('0' + line % 10);
        line /= 10;
    } while (line);
    say(file);
    say(":");
    say(p);
    say(": ");
    say(func);
    say(": assertion failed: ");
    say(expr);
    say("\n");
    mirage_abort();
}

/* Called by code built with -fstack-protector* when a frame's canary changed. */
__attribute__((noreturn)) void __stack_chk_fail(void)
{
    say("stack smashing detected: unikernel aborted\n");
    mirage_abort();
}

__attribute__((noreturn)) static void overflow(void)
{
    say("buffer overflow detected: unikernel aborted\n");
    mirage_abort();
}

/* The _FORTIFY_SOURCE entry points glibc-built objects (BearSSL) call: the
 * last argument is the destination's size as the compiler knew it. */
void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
    if (n > dstlen)
        overflow();
    return memcpy(dst, src, n);
}

void *__memmove_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
    if (n > dstlen)
        overflow();
    return memmove(dst, src, n);
}

void *__memset_chk(void *dst, int c, size_t n, size_t dstlen)
{
    if (n > dstlen)
        overflow();
    return memset(dst, c, n);
}
