/* error.c: names for the MIRAGE_E* error codes. */
#include "mirage/error.h"

const char *mirage_strerror(int err)
{
    switch (err) {
    case MIRAGE_OK:
        return "OK";
    case MIRAGE_ENOENT:
        return "ENOENT";
    case MIRAGE_EIO:
        return "EIO";
    case MIRAGE_EAGAIN:
        return "EAGAIN";
    case MIRAGE_ENOMEM:
        return "ENOMEM";
    case MIRAGE_EACCES:
        return "EACCES";
    case MIRAGE_EINVAL:
        return "EINVAL";
    case MIRAGE_ENOSPC:
        return "ENOSPC";
    case MIRAGE_ERANGE:
        return "ERANGE";
    case MIRAGE_EDEADLK:
        return "EDEADLK";
    case MIRAGE_ENODATA:
        return "ENODATA";
    case MIRAGE_ELOOP:
        return "ELOOP";
    case MIRAGE_ETIMEDOUT:
        return "ETIMEDOUT";
    case MIRAGE_ECANCELED:
        return "ECANCELED";
    case MIRAGE_EPIPE:
        return "EPIPE";
    case MIRAGE_EPROTO:
        return "EPROTO";
    case MIRAGE_EMSGSIZE:
        return "EMSGSIZE";
    case MIRAGE_ENOTSUP:
        return "ENOTSUP";
    case MIRAGE_EADDRINUSE:
        return "EADDRINUSE";
    case MIRAGE_ECONNRESET:
        return "ECONNRESET";
    case MIRAGE_ENOTCONN:
        return "ENOTCONN";
    case MIRAGE_ECONNREFUSED:
        return "ECONNREFUSED";
    case MIRAGE_EHOSTUNREACH:
        return "EHOSTUNREACH";
    case MIRAGE_EEXIST:
        return "EEXIST";
    case MIRAGE_ENOTDIR:
        return "ENOTDIR";
    case MIRAGE_EISDIR:
        return "EISDIR";
    case MIRAGE_EROFS:
        return "EROFS";
    case MIRAGE_ENAMETOOLONG:
        return "ENAMETOOLONG";
    case MIRAGE_EBADMSG:
        return "EBADMSG";
    default:
        return "EUNSPEC";
    }
}
