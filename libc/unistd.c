/* unistd.c: POSIX file calls with no file system behind them: console output, clean failures. */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

/* Keeps the byte count representable in the ssize_t result. */
#define SSIZE_MAX_WRITE ((size_t)1 << 62)

#include "mirage/platform.h"

int open(const char *path, int flags, ...)
{
    (void)path;
    (void)flags;
    errno = ENOSYS;
    return -1;
}

ssize_t read(int fd, void *buf, size_t n)
{
    (void)fd;
    (void)buf;
    (void)n;
    errno = EBADF;
    return -1;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (fd != STDOUT_FILENO && fd != STDERR_FILENO) {
        errno = EBADF;
        return -1;
    }
    if (n > SSIZE_MAX_WRITE)
        n = SSIZE_MAX_WRITE;
    mirage_console_write(buf, n);
    return (ssize_t)n;
}

int close(int fd)
{
    (void)fd;
    errno = EBADF;
    return -1;
}
