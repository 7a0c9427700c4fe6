/* hostfd.c: host file descriptors (sockets) the unix binding's yield waits on beside its devices.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "mirage/error.h"
#include "unix.h"

/*
 * One epoll set holds every registered descriptor, edge-triggered, so a
 * descriptor costs one epoll_ctl when it is added and nothing per wait.
 * mirage_yield() polls the epoll descriptor itself beside the tap devices
 * and reports pseudo-handle MIRAGE_HOSTFD_HANDLE ready when any registered
 * descriptor has an event; mirage_hostfd_events() then says which, each with
 * the tag it was registered with.
 */
static int epfd = -1;

int mirage_hostfd_add(int fd, void *tag)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = tag};

    if (epfd < 0) {
        epfd = epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0)
            return errno == ENOMEM ? MIRAGE_ENOMEM : MIRAGE_EUNSPEC;
    }
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return errno == ENOMEM || errno == ENOSPC ? MIRAGE_ENOMEM : MIRAGE_EINVAL;
    return 0;
}

void mirage_hostfd_del(int fd)
{
    if (epfd >= 0)
        epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

int unix_hostfd_pollfd(void)
{
    return epfd;
}

size_t mirage_hostfd_events(void **tags, size_t max)
{
    struct epoll_event evs[64];
    int n;

    if (epfd < 0 || max == 0)
        return 0;
    if (max > 64)
        max = 64;
    do
        n = epoll_wait(epfd, evs, (int)max, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    for (int i = 0; i < n; i++)
        tags[i] = evs[i].data.ptr;
    return (size_t)n;
}
