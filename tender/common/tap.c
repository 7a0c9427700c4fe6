/* tap.c: attaching to an existing tap device by name. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "mirage/platform.h"
#include "tender.h"

_Static_assert(MIRAGE_TUN_F_CSUM == TUN_F_CSUM && MIRAGE_TUN_F_TSO4 == TUN_F_TSO4 &&
                   MIRAGE_TUN_F_TSO6 == TUN_F_TSO6,
               "platform.h's TUNSETOFFLOAD flags are linux/if_tun.h's");
_Static_assert(MIRAGE_NET_GSO_TCPV4 == VIRTIO_NET_HDR_GSO_TCPV4 &&
                   MIRAGE_NET_GSO_TCPV6 == VIRTIO_NET_HDR_GSO_TCPV6 &&
                   MIRAGE_VNET_GSO_ECN == VIRTIO_NET_HDR_GSO_ECN,
               "platform.h's GSO types are linux/virtio_net.h's");
#ifdef TUN_F_USO4 /* Linux 6.2's headers on; platform.h carries the values for older ones */
_Static_assert(MIRAGE_TUN_F_USO4 == TUN_F_USO4 && MIRAGE_TUN_F_USO6 == TUN_F_USO6,
               "platform.h's USO flags are linux/if_tun.h's");
#endif
#ifdef VIRTIO_NET_HDR_GSO_UDP_L4
_Static_assert(MIRAGE_NET_GSO_UDP_L4 == VIRTIO_NET_HDR_GSO_UDP_L4,
               "platform.h's UDP GSO type is linux/virtio_net.h's");
#endif

/* The kernel's own rule for interface names, checked here to name the problem. */
static const char *name_problem(const char *name)
{
    size_t len = strlen(name);

    if (len == 0)
        return "is empty";
    if (len >= IFNAMSIZ)
        return "is longer than 15 characters";
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return "is not an interface name";
    for (size_t i = 0; i < len; i++)
        if (name[i] == '/' || name[i] == ':' || name[i] == ' ' ||
            (name[i] >= '\t' && name[i] <= '\r'))
            return "has a character not allowed in interface names";
    return NULL;
}

int tender_tap_open(const char *name, char *err)
{
    int vnet_on;
    uint32_t offloads;

    return tender_tap_open_vnet(name, 0, &vnet_on, &offloads, err);
}

/* The most TUNSETOFFLOAD takes on (fd), one set after the other (a kernel
 * without USO keeps TSO6, one that refuses TSO6 keeps TSO4), left all off. */
static uint32_t probe_offloads(int fd)
{
    uint32_t r = 0;

    for (unsigned i = 0; mirage_net_offload_probe(i) != 0; i++)
        if (ioctl(fd, TUNSETOFFLOAD, mirage_tun_offload_flags(mirage_net_offload_probe(i))) == 0) {
            r = mirage_net_offload_probe(i);
            break;
        }
    return ioctl(fd, TUNSETOFFLOAD, 0) == 0 ? r : 0;
}

int tender_tap_open_vnet(const char *name, int vnet, int *vnet_on, uint32_t *offloads, char *err)
{
    const char *problem = name_problem(name);
    struct ifreq ifr;
    int fd, flags;
    unsigned features = 0;

    *vnet_on = 0;
    *offloads = 0;
    if (problem != NULL)
        return tender_fail(err, "tap name '%s' %s", name, problem);
    /* TUNSETIFF would quietly create a missing tap (as root): refuse instead. */
    if (if_nametoindex(name) == 0)
        return tender_fail(err, "tap '%s' does not exist (create it: ip tuntap add %s mode tap)",
                           name, name);
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return tender_fail(err, "tap '%s': cannot open /dev/net/tun: %s", name, strerror(errno));
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (vnet && ioctl(fd, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR))
        ifr.ifr_flags |= IFF_VNET_HDR;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;

        close(fd);
        return tender_fail(err, "tap '%s': cannot attach: %s%s", name, strerror(e),
                           e == EINVAL  ? " (is it a tap device?)"
                           : e == EBUSY ? " (is another process attached to it?)"
                                        : "");
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        int e = errno;

        close(fd);
        return tender_fail(err, "tap '%s': cannot make it non-blocking: %s", name, strerror(e));
    }
    if (ifr.ifr_flags & IFF_VNET_HDR) {
        int hdr = (int)sizeof(struct virtio_net_hdr);

        if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
            int e = errno;

            close(fd);
            return tender_fail(err, "tap '%s': cannot set its virtio-net header size: %s", name,
                               strerror(e));
        }
        *vnet_on = 1;
        *offloads = probe_offloads(fd);
    } else {
        /* Offloads outlive their process on a persistent tap: a reader without the header
         * would get frames with partial checksums from a previous user's settings. */
        ioctl(fd, TUNSETOFFLOAD, 0);
    }
    return fd;
}

int tender_tap_mtu(const char *name, uint16_t *mtu, char *err)
{
    struct ifreq ifr;
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int r;

    if (sock < 0)
        return tender_fail(err, "tap '%s': cannot read its MTU: %s", name, strerror(errno));
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    r = ioctl(sock, SIOCGIFMTU, &ifr);
    close(sock);
    if (r < 0)
        return tender_fail(err, "tap '%s': cannot read its MTU: %s", name, strerror(errno));
    if (ifr.ifr_mtu < TENDER_MTU_MIN || ifr.ifr_mtu > TENDER_MTU_MAX)
        return tender_fail(err,
                           "tap '%s' has MTU %d: the tenders take %d to %d "
                           "(ip link set %s mtu 1500)",
                           name, ifr.ifr_mtu, TENDER_MTU_MIN, TENDER_MTU_MAX, name);
    *mtu = (uint16_t)ifr.ifr_mtu;
    return 0;
}
