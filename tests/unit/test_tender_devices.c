/* test_tender_devices.c: loading image files and opening the devices they declare (taps, disks). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "elfgen.h"
#include "tender.h"

static char dir[64];
static char tap[IFNAMSIZ], tun[IFNAMSIZ];
static char err[TENDER_ERR_MAX];
static struct tender_opts opts;
static struct tender_image img;
static struct tender_device devs[MIRAGE_MANIFEST_MAX];

static const char *path(const char *name)
{
    static char p[4][128];
    static int next;
    char *out = p[next++ % 4];

    snprintf(out, sizeof(p[0]), "%s/%s", dir, name);
    return out;
}

static void write_file(const char *name, const void *data, size_t size)
{
    int fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

    CHECK(fd >= 0);
    CHECK_INT(write(fd, data, size), (long long)size);
    close(fd);
}

/* Makes (name) a persistent tun/tap device of (flags), or removes it (persist 0). */
static int tuntap(const char *name, int flags, int persist)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR), rc;

    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_flags = (short)(flags | IFF_NO_PI);
    rc = ioctl(fd, TUNSETIFF, &ifr);
    if (rc == 0)
        rc = ioctl(fd, TUNSETPERSIST, persist);
    close(fd);
    return rc;
}

static void cleanup(void)
{
    const char *files[] = {"image", "bad", "empty", "big", "fifo", "disk", "disk1000", "dempty"};

    if (tap[0] != '\0')
        tuntap(tap, IFF_TAP, 0);
    if (tun[0] != '\0')
        tuntap(tun, IFF_TUN, 0);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(path(files[i]));
    rmdir(path("sub"));
    rmdir(dir);
}

static int parse_opts(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;

    argv[argc++] = (char *)"mirage-hvt";
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 30; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc++] = (char *)"image";
    argv[argc] = NULL;
    return tender_opts_parse(argc, argv, &opts, err);
}

static void set_image(const struct elfgen_dev *d, unsigned n)
{
    memset(&img, 0, sizeof(img));
    for (unsigned i = 0; i < n; i++) {
        snprintf(img.devs[i].name, sizeof(img.devs[i].name), "%s", d[i].name);
        img.devs[i].type = d[i].type;
    }
    img.ndevs = n;
}

static int open_devs(void)
{
    err[0] = '\0';
    return tender_devices_open(&opts, &img, devs, err);
}

static void close_devs(void)
{
    for (unsigned i = 0; i < img.ndevs; i++)
        if (devs[i].fd >= 0)
            close(devs[i].fd);
}

static void check_all_closed(void)
{
    for (unsigned i = 0; i < img.ndevs; i++)
        CHECK_INT(devs[i].fd, -1);
}

static void test_image_load(void)
{
    static const struct elfgen_dev d[] = {{"service", MIRAGE_DEV_NET}};
    static const struct elfgen g = {d, 1, 1, NULL, 0};
    static uint8_t buf[4096];
    char expect[TENDER_ERR_MAX];
    size_t len = elfgen_build(buf, sizeof(buf), &g), size = 1;
    uint8_t *data = (uint8_t *)"x";
    int fd;

    write_file("image", buf, len);
    CHECK_INT(tender_image_load(path("image"), &data, &size, &img, err), 0);
    CHECK(data != NULL);
    CHECK_INT(size, len);
    CHECK(data != NULL && memcmp(data, buf, len) == 0);
    CHECK_INT(img.ndevs, 1);
    CHECK_STR(img.devs[0].name, "service");
    free(data);

    write_file("bad", "#!/bin/sh\n", 10);
    CHECK_INT(tender_image_load(path("bad"), &data, &size, &img, err), -1);
    CHECK(data == NULL);
    CHECK_INT(size, 0);
    snprintf(expect, sizeof(expect), "image '%s': not an ELF file", path("bad"));
    CHECK_STR(err, expect);

    CHECK_INT(tender_image_load(path("none"), &data, &size, &img, err), -1);
    snprintf(expect, sizeof(expect), "image '%s': cannot open: No such file or directory",
             path("none"));
    CHECK_STR(err, expect);

    CHECK_INT(tender_image_load(dir, &data, &size, &img, err), -1);
    snprintf(expect, sizeof(expect), "image '%s' is a directory", dir);
    CHECK_STR(err, expect);

    write_file("empty", "", 0);
    CHECK_INT(tender_image_load(path("empty"), &data, &size, &img, err), -1);
    snprintf(expect, sizeof(expect), "image '%s' is empty", path("empty"));
    CHECK_STR(err, expect);

    fd = open(path("big"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, (64 << 20) + 1) == 0);
    close(fd);
    CHECK_INT(tender_image_load(path("big"), &data, &size, &img, err), -1);
    snprintf(expect, sizeof(expect), "image '%s' is 67108865 bytes, more than the limit of 64 MiB",
             path("big"));
    CHECK_STR(err, expect);

    /* A FIFO with no writer must not hang the tender. */
    CHECK_INT(mkfifo(path("fifo"), 0644), 0);
    CHECK_INT(tender_image_load(path("fifo"), &data, &size, &img, err), -1);
    snprintf(expect, sizeof(expect), "image '%s' is not a regular file", path("fifo"));
    CHECK_STR(err, expect);
}

static void test_matching(void)
{
    static const struct elfgen_dev d[] = {{"service", MIRAGE_DEV_NET},
                                          {"storage", MIRAGE_DEV_BLOCK}};

    set_image(d, 2);
    CHECK_INT(parse_opts("--block:storage=disk", NULL), 0);
    CHECK_INT(open_devs(), -1);
    CHECK_STR(err, "device 'service' (net) is declared by the unikernel but not given: use "
                   "--net:service=TAP");
    check_all_closed();

    CHECK_INT(parse_opts("--net:service=tap0", NULL), 0);
    CHECK_INT(open_devs(), -1);
    CHECK_STR(err, "device 'storage' (block) is declared by the unikernel but not given: use "
                   "--block:storage=PATH");

    /* Booted for its --help, the guest needs none of its devices: absent. */
    CHECK_INT(parse_opts(NULL), 0);
    opts.guest_help = 1;
    CHECK_INT(open_devs(), 0);
    CHECK_INT(devs[0].type, TENDER_DEV_ABSENT);
    CHECK_INT(devs[1].type, TENDER_DEV_ABSENT);
    check_all_closed();
    CHECK_INT(parse_opts("--block:foo=x", NULL), 0);
    opts.guest_help = 1;
    CHECK_INT(open_devs(), -1);
    CHECK_STR(err, "device 'foo' is given but not declared by the unikernel");

    CHECK_INT(parse_opts("--net:service=tap0", "--block:storage=disk", "--block:foo=x", NULL), 0);
    CHECK_INT(open_devs(), -1);
    CHECK_STR(err, "device 'foo' is given but not declared by the unikernel");

    CHECK_INT(parse_opts("--net:service=tap0", "--net:storage=tap1", NULL), 0);
    CHECK_INT(open_devs(), -1);
    CHECK_STR(err, "device 'storage' is declared as block but given as net");

    CHECK_INT(parse_opts("--block:service=disk", "--block:storage=disk", NULL), 0);
    CHECK_INT(open_devs(), -1);
    CHECK_STR(err, "device 'service' is declared as net but given as block");

    /* Names match exactly, case included. */
    CHECK_INT(parse_opts("--net:Service=tap0", "--block:storage=disk", NULL), 0);
    CHECK_INT(open_devs(), -1);
    CHECK_STR(err, "device 'Service' is given but not declared by the unikernel");

    set_image(NULL, 0);
    CHECK_INT(parse_opts(NULL), 0);
    CHECK_INT(open_devs(), 0);
    CHECK_INT(parse_opts("--net:service=tap0", NULL), 0);
    CHECK_INT(open_devs(), -1);
    CHECK_STR(err, "device 'service' is given but not declared by the unikernel");
}

static void test_block(void)
{
    static const struct elfgen_dev d[] = {{"disk", MIRAGE_DEV_BLOCK}, {"d2", MIRAGE_DEV_BLOCK}};
    static char sector[4096];
    char expect[TENDER_ERR_MAX], val[160], val2[160];
    struct tender_device first;
    int flags;

    set_image(d, 2);
    write_file("disk", sector, sizeof(sector));
    write_file("disk1000", sector, 1000);
    write_file("dempty", "", 0);
    CHECK_INT(mkdir(path("sub"), 0755), 0);

    snprintf(val, sizeof(val), "--block:disk=%s", path("disk"));
    snprintf(val2, sizeof(val2), "--block:d2=%s", path("disk1000"));
    CHECK_INT(parse_opts(val, val2, NULL), 0);
    CHECK_INT(open_devs(), -1);
    snprintf(expect, sizeof(expect),
             "disk image '%s' is 1000 bytes: not a whole number of 512-byte sectors",
             path("disk1000"));
    CHECK_STR(err, expect);
    check_all_closed();

    snprintf(val2, sizeof(val2), "--block:d2=%s", path("dempty"));
    CHECK_INT(parse_opts(val, val2, NULL), 0);
    CHECK_INT(open_devs(), -1);
    snprintf(expect, sizeof(expect), "disk image '%s' is empty", path("dempty"));
    CHECK_STR(err, expect);

    snprintf(val2, sizeof(val2), "--block:d2=%s", path("fifo"));
    CHECK_INT(parse_opts(val, val2, NULL), 0);
    CHECK_INT(open_devs(), -1);
    snprintf(expect, sizeof(expect), "disk image '%s' is not a regular file", path("fifo"));
    CHECK_STR(err, expect);

    snprintf(val2, sizeof(val2), "--block:d2=%s", path("sub"));
    CHECK_INT(parse_opts(val, val2, NULL), 0);
    CHECK_INT(open_devs(), -1);
    snprintf(expect, sizeof(expect), "disk image '%s': cannot open: Is a directory", path("sub"));
    CHECK_STR(err, expect);

    snprintf(val2, sizeof(val2), "--block:d2=%s", path("none"));
    CHECK_INT(parse_opts(val, val2, NULL), 0);
    CHECK_INT(open_devs(), -1);
    snprintf(expect, sizeof(expect), "disk image '%s': cannot open: No such file or directory",
             path("none"));
    CHECK_STR(err, expect);

    /* One disk image for two devices: the second finds it locked. */
    snprintf(val2, sizeof(val2), "--block:d2=%s", path("disk"));
    CHECK_INT(parse_opts(val, val2, NULL), 0);
    CHECK_INT(open_devs(), -1);
    snprintf(expect, sizeof(expect), "disk image '%s': in use by another process", path("disk"));
    CHECK_STR(err, expect);
    check_all_closed();

    set_image(d, 1);
    CHECK_INT(parse_opts(val, NULL), 0);
    CHECK_INT(open_devs(), 0);
    CHECK_INT(devs[0].type, MIRAGE_DEV_BLOCK);
    CHECK_INT(devs[0].capacity, 4096);
    CHECK_INT(devs[0].block_size, 512);
    CHECK(devs[0].fd >= 0);
    flags = fcntl(devs[0].fd, F_GETFL);
    CHECK_INT(flags & O_ACCMODE, O_RDWR);
    CHECK_INT(flags & O_NONBLOCK, 0);
    CHECK(fcntl(devs[0].fd, F_GETFD) & FD_CLOEXEC);
    first = devs[0];
    /* The lock lasts as long as the first tender holds the disk. */
    CHECK_INT(open_devs(), -1);
    CHECK_STR(err, expect);
    close(first.fd);
    CHECK_INT(open_devs(), 0);
    close_devs();
}

static void test_tap_names(void)
{
    CHECK_INT(tender_tap_open("", err), -1);
    CHECK_STR(err, "tap name '' is empty");
    CHECK_INT(tender_tap_open("abcdefghijklmnop", err), -1);
    CHECK_STR(err, "tap name 'abcdefghijklmnop' is longer than 15 characters");
    CHECK_INT(tender_tap_open("..", err), -1);
    CHECK_STR(err, "tap name '..' is not an interface name");
    CHECK_INT(tender_tap_open("a/b", err), -1);
    CHECK_STR(err, "tap name 'a/b' has a character not allowed in interface names");
    CHECK_INT(tender_tap_open("a b", err), -1);
    CHECK_STR(err, "tap name 'a b' has a character not allowed in interface names");
    CHECK_INT(tender_tap_open("mtt-missing0", err), -1);
    CHECK_STR(err, "tap 'mtt-missing0' does not exist (create it: ip tuntap add mtt-missing0 mode "
                   "tap)");
    CHECK_INT(tender_tap_open("lo", err), -1);
    CHECK_STR(err, "tap 'lo': cannot attach: Invalid argument (is it a tap device?)");
}

/* Needs root, like the tenders' users: creates a tap and a tun of its own. */
static void test_tap(void)
{
    static const struct elfgen_dev d[] = {{"service", MIRAGE_DEV_NET}, {"admin", MIRAGE_DEV_NET}};
    char expect[TENDER_ERR_MAX], val[64], val2[64];
    int fd, fd2;

    snprintf(tap, sizeof(tap), "mtt%d", (int)(getpid() % 100000));
    snprintf(tun, sizeof(tun), "mtn%d", (int)(getpid() % 100000));
    if (tuntap(tap, IFF_TAP, 1) < 0 || tuntap(tun, IFF_TUN, 1) < 0) {
        fprintf(stderr, "test_tender_devices: cannot create tap %s (%s): run as root\n", tap,
                strerror(errno));
        check_failures++;
        return;
    }

    fd = tender_tap_open(tap, err);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    fd2 = tender_tap_open(tap, err);
    CHECK_INT(fd2, -1);
    snprintf(expect, sizeof(expect),
             "tap '%s': cannot attach: Device or resource busy (is another process attached to "
             "it?)",
             tap);
    CHECK_STR(err, expect);
    close(fd);

    CHECK_INT(tender_tap_open(tun, err), -1);
    snprintf(expect, sizeof(expect),
             "tap '%s': cannot attach: Invalid argument (is it a tap "
             "device?)",
             tun);
    CHECK_STR(err, expect);

    set_image(d, 1);
    snprintf(val, sizeof(val), "--net:service=%s", tap);
    CHECK_INT(parse_opts(val, NULL), 0);
    CHECK_INT(open_devs(), 0);
    CHECK(devs[0].fd >= 0);
    CHECK_INT(devs[0].type, MIRAGE_DEV_NET);
    CHECK_INT(devs[0].mtu, 1500);
    CHECK_INT(devs[0].mac[0] & 3, 2); /* unicast, locally administered */
    close_devs();

    CHECK_INT(parse_opts(val, "--net-mac:service=00:16:3e:01:02:03", NULL), 0);
    CHECK_INT(open_devs(), 0);
    CHECK(memcmp(devs[0].mac, "\x00\x16\x3e\x01\x02\x03", 6) == 0);
    close_devs();

    /* The second fails: the first must be closed again, so the tap is free after. */
    set_image(d, 2);
    snprintf(val2, sizeof(val2), "--net:admin=%s", tun);
    CHECK_INT(parse_opts(val, val2, NULL), 0);
    CHECK_INT(open_devs(), -1);
    snprintf(expect, sizeof(expect),
             "tap '%s': cannot attach: Invalid argument (is it a tap "
             "device?)",
             tun);
    CHECK_STR(err, expect);
    check_all_closed();
    fd = tender_tap_open(tap, err);
    CHECK(fd >= 0);
    close(fd);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_tender_devices.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    atexit(cleanup);
    test_image_load();
    test_matching();
    test_block();
    test_tap_names();
    test_tap();
    return CHECK_DONE();
}
