/* unistd.h: the few POSIX calls a freestanding unikernel has; fds 1 and 2 are the console. */
#ifndef _UNISTD_H
#define _UNISTD_H

#include <sys/types.h>

#define STDIN_FILENO  0
#define STDOUT_FILENO 1
#define STDERR_FILENO 2

/* There are no files: read() and close() fail with EBADF. */
ssize_t read(int fd, void *buf, size_t n);
/* Writes to fd 1 or 2 go to the console; other fds fail with EBADF. */
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);
__attribute__((noreturn)) void _exit(int status);

#endif
