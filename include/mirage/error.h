/* error.h: the error codes every mirage function returns (0 is success). */
#ifndef MIRAGE_ERROR_H
#define MIRAGE_ERROR_H

#define MIRAGE_OK 0
#define MIRAGE_EUNSPEC (-1)  /* an error the host reported and we cannot name */
#define MIRAGE_ENOENT (-2)   /* no such device, key or entry */
#define MIRAGE_EIO (-5)      /* the device failed */
#define MIRAGE_EAGAIN (-11)  /* nothing now; try again after yielding */
#define MIRAGE_ENOMEM (-12)  /* out of memory */
#define MIRAGE_EACCES (-13)  /* refused: the peer's certificate is not trusted */
#define MIRAGE_EEXIST (-17)  /* the key or entry is already present */
#define MIRAGE_ENOTDIR (-20) /* a dictionary (directory) was expected */
#define MIRAGE_EISDIR (-21)  /* a value was expected, the key is a dictionary */
#define MIRAGE_EINVAL (-22)  /* a bad argument: the call did nothing */
#define MIRAGE_ENOSPC (-28)  /* the device or buffer is full */
#define MIRAGE_EROFS (-30)   /* the device or store is read-only */
#define MIRAGE_ERANGE (-34)  /* a value out of its range */
#define MIRAGE_EDEADLK (-35) /* waiting would never end: nothing can wake the fiber */
#define MIRAGE_ENAMETOOLONG (-36) /* a key or name longer than allowed */
#define MIRAGE_EBADMSG (-74)      /* stored data is damaged (a checksum or format check failed) */
#define MIRAGE_ENODATA (-61) /* the stream ended before what was asked for */
#define MIRAGE_ELOOP (-40)   /* too many redirects or links followed */
#define MIRAGE_EPIPE (-32)        /* writing after the write side was shut down */
#define MIRAGE_EPROTO (-71)       /* the peer broke the protocol (TLS: handshake or record failed) */
#define MIRAGE_EMSGSIZE (-90)     /* too big for one datagram or frame */
#define MIRAGE_ENOTSUP (-95)      /* the operation is not supported by this object */
#define MIRAGE_EADDRINUSE (-98)   /* the port is taken */
#define MIRAGE_ECONNRESET (-104)  /* the peer reset the connection */
#define MIRAGE_ENOTCONN (-107)    /* the connection is not (or no longer) established */
#define MIRAGE_ETIMEDOUT (-110) /* a wait reached its deadline */
#define MIRAGE_ECONNREFUSED (-111) /* the peer refused the connection */
#define MIRAGE_EHOSTUNREACH (-113) /* no route, or the next hop did not answer ARP */
#define MIRAGE_ECANCELED (-125) /* the waiting fiber was cancelled */

/* A short constant name for (err), e.g. "EINVAL". */
const char *mirage_strerror(int err);

#endif
