/* devices.c: binding the --net/--block options to the devices the image's manifest declares. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "tender.h"

#define SECTOR 512u

static const char *type_name(uint32_t type)
{
    return type == MIRAGE_DEV_NET ? "net" : "block";
}

static const struct tender_devopt *find_opt(const struct tender_opts *opts, const char *name)
{
    for (unsigned i = 0; i < opts->ndevs; i++)
        if (strcmp(opts->devs[i].name, name) == 0)
            return &opts->devs[i];
    return NULL;
}

static int find_decl(const struct tender_image *img, const char *name)
{
    for (unsigned i = 0; i < img->ndevs; i++)
        if (strcmp(img->devs[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Every check that needs no system call, so nothing is opened before all pass. */
static int match(const struct tender_opts *opts, const struct tender_image *img, char *err)
{
    for (unsigned i = 0; i < opts->ndevs; i++) {
        const struct tender_devopt *o = &opts->devs[i];
        int d = find_decl(img, o->name);

        if (d < 0)
            return tender_fail(err, "device '%s' is given but not declared by the unikernel",
                               o->name);
        if (img->devs[d].type != o->type)
            return tender_fail(err, "device '%s' is declared as %s but given as %s", o->name,
                               type_name(img->devs[d].type), type_name(o->type));
    }
    for (unsigned i = 0; i < img->ndevs; i++) {
        const struct mirage_manifest_entry *e = &img->devs[i];

        if (find_opt(opts, e->name) == NULL && !opts->guest_help)
            return tender_fail(err,
                               "device '%s' (%s) is declared by the unikernel but not given: "
                               "use --%s:%s=%s",
                               e->name, type_name(e->type), type_name(e->type), e->name,
                               e->type == MIRAGE_DEV_NET ? "TAP" : "PATH");
    }
    return 0;
}

static int random_mac(uint8_t mac[6], char *err)
{
    size_t got = 0;

    while (got < 6) {
        ssize_t n = getrandom(mac + got, 6 - got, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return tender_fail(err, "cannot get random bytes for a MAC address: %s",
                               strerror(errno));
        got += (size_t)n;
    }
    mac[0] = (uint8_t)((mac[0] & ~1u) | 2u); /* unicast, locally administered */
    return 0;
}

static int open_net(const struct tender_devopt *o, int offload, struct tender_device *dev,
                    char *err)
{
    if (o->has_mac)
        memcpy(dev->mac, o->mac, sizeof(dev->mac));
    else if (random_mac(dev->mac, err) < 0)
        return -1;
    dev->fd = tender_tap_open_vnet(o->value, offload, &dev->vnet, &dev->offloads, err);
    if (dev->fd < 0)
        return -1;
    return tender_tap_mtu(o->value, &dev->mtu, err);
}

static int open_block(const struct tender_devopt *o, struct tender_device *dev, char *err)
{
    const char *path = o->value;
    struct stat st;
    int fd;

    uint32_t sector = o->sector_size ? o->sector_size : SECTOR;

    /* O_NONBLOCK so that a FIFO given by mistake cannot hang the open. An
     * image we may not write is attached read-only: the guest is told so. */
    fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        dev->read_only = 1;
    }
    if (fd < 0)
        return tender_fail(err, "disk image '%s': cannot open: %s", path, strerror(errno));
    dev->fd = fd;
    if (fstat(fd, &st) < 0)
        return tender_fail(err, "disk image '%s': cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tender_fail(err, "disk image '%s' is not a regular file", path);
    if (st.st_size == 0)
        return tender_fail(err, "disk image '%s' is empty", path);
    if (st.st_size % sector != 0)
        return tender_fail(err,
                           "disk image '%s' is %lld bytes: not a whole number of %u-byte "
                           "sectors",
                           path, (long long)st.st_size, sector);
    if (fcntl(fd, F_SETFL, 0) < 0)
        return tender_fail(err, "disk image '%s': %s", path, strerror(errno));
    /* Two guests writing one disk would corrupt it; readers may share one. */
    if (flock(fd, (dev->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
        return tender_fail(err, "disk image '%s': %s", path,
                           errno == EWOULDBLOCK ? "in use by another process" : strerror(errno));
    dev->capacity = (uint64_t)st.st_size;
    dev->block_size = sector;
    return 0;
}

int tender_devices_open(const struct tender_opts *opts, const struct tender_image *img,
                        struct tender_device *devs, char *err)
{
    for (unsigned i = 0; i < img->ndevs; i++) {
        memset(&devs[i], 0, sizeof(devs[i]));
        devs[i].fd = -1;
        devs[i].type = img->devs[i].type;
    }
    if (match(opts, img, err) < 0)
        return -1;
    for (unsigned i = 0; i < img->ndevs; i++) {
        const struct tender_devopt *o = find_opt(opts, img->devs[i].name);
        int rc;

        if (o == NULL) { /* booted for --help only */
            devs[i].type = TENDER_DEV_ABSENT;
            devs[i].host = "(not given)";
            continue;
        }
        rc = o->type == MIRAGE_DEV_NET ? open_net(o, opts->net_offload, &devs[i], err)
                                       : open_block(o, &devs[i], err);
        devs[i].host = o->value;

        if (rc < 0) {
            for (unsigned j = 0; j <= i; j++) {
                if (devs[j].fd >= 0)
                    close(devs[j].fd);
                devs[j].fd = -1;
            }
            return -1;
        }
    }
    return 0;
}
