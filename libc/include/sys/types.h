/* sys/types.h: the POSIX scalar types the freestanding libc uses. */
#ifndef _SYS_TYPES_H
#define _SYS_TYPES_H

#include <stddef.h>

typedef long ssize_t;
typedef long off_t;
typedef long time_t;
typedef int pid_t;
typedef unsigned int mode_t;
typedef long suseconds_t;
typedef int clockid_t;

#endif
