/* opts.c: the tender's command line: memory, devices, the image and the guest's arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "mirage/error.h"
#include "mirage/key.h"
#include "tender.h"

enum kind { NET, NET_MAC, BLOCK, BLOCK_SECTOR };

static const char *const kind_prefix[] = {
    "--net:", "--net-mac:", "--block:", "--block-sector-size:"};
static const char *const kind_value[] = {"TAP", "MAC", "PATH", "512|4096"};

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int parse_mem(const char *s, struct tender_opts *opts, int *mem_given, char *err)
{
    int64_t mb = 0;
    int r;

    if (*mem_given)
        return tender_fail(err, "--mem given twice");
    *mem_given = 1;
    if (*s == '\0')
        return tender_fail(err, "--mem: no value: use --mem=MB");
    r = mirage_key_parse_int(s, strlen(s), 1, TENDER_MEM_MAX_MB, &mb, NULL, 0);
    if (r == MIRAGE_EINVAL || *s == '-' || *s == '+') /* a size has no sign */
        return tender_fail(err, "--mem=%s: not a decimal number of MB", s);
    if (r < 0)
        return tender_fail(err, "--mem=%s: must be from 1 to %d MB", s, TENDER_MEM_MAX_MB);
    opts->mem_bytes = (uint64_t)mb << 20;
    return 0;
}

static struct tender_devopt *find_dev(struct tender_opts *opts, const char *name)
{
    for (unsigned i = 0; i < opts->ndevs; i++)
        if (strcmp(opts->devs[i].name, name) == 0)
            return &opts->devs[i];
    return NULL;
}

static struct tender_devopt *new_dev(struct tender_opts *opts, const char *name, uint32_t type,
                                     char *err)
{
    struct tender_devopt *d;

    if (opts->ndevs == MIRAGE_MANIFEST_MAX) {
        tender_fail(err, "too many devices: at most %d", MIRAGE_MANIFEST_MAX);
        return NULL;
    }
    d = &opts->devs[opts->ndevs++];
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->type = type;
    return d;
}

static int set_mac(struct tender_opts *opts, const char *name, const char *value, char *err)
{
    struct tender_devopt *d = find_dev(opts, name);
    uint8_t mac[6];

    if (mirage_key_parse_mac(value, strlen(value), mac, NULL, 0) < 0)
        return tender_fail(err,
                           "--net-mac:%s: '%s' is not a MAC address like "
                           "02:00:00:00:00:01",
                           name, value);
    if (mac[0] & 1)
        return tender_fail(err,
                           "--net-mac:%s: %s is a multicast address (lowest bit of the "
                           "first octet set)",
                           name, value);
    if ((mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0)
        return tender_fail(err, "--net-mac:%s: %s is the all-zero address", name, value);
    if (d != NULL && d->has_mac)
        return tender_fail(err, "--net-mac:%s given twice", name);
    if (d != NULL && d->type != MIRAGE_DEV_NET)
        return tender_fail(err, "--net-mac:%s: '%s' is given as a block device", name, name);
    /* --net-mac may come before its --net: keep it until then (value stays NULL). */
    if (d == NULL && (d = new_dev(opts, name, MIRAGE_DEV_NET, err)) == NULL)
        return -1;
    d->has_mac = 1;
    memcpy(d->mac, mac, sizeof(mac));
    return 0;
}

/* --block-sector-size:NAME=N, before or after its --block:NAME=PATH. */
static int set_sector_size(struct tender_opts *opts, const char *name, const char *value, char *err)
{
    struct tender_devopt *d = find_dev(opts, name);
    uint32_t size = strcmp(value, "512") == 0 ? 512 : strcmp(value, "4096") == 0 ? 4096 : 0;

    if (size == 0)
        return tender_fail(err, "--block-sector-size:%s=%s: the sector size is 512 or 4096", name,
                           value);
    if (d != NULL && d->type != MIRAGE_DEV_BLOCK)
        return tender_fail(err, "--block-sector-size:%s: '%s' is given as a net device", name,
                           name);
    if (d != NULL && d->sector_size)
        return tender_fail(err, "--block-sector-size:%s given twice", name);
    if (d == NULL && (d = new_dev(opts, name, MIRAGE_DEV_BLOCK, err)) == NULL)
        return -1;
    d->sector_size = size;
    return 0;
}

static int set_dev(struct tender_opts *opts, enum kind kind, const char *name, const char *value,
                   char *err)
{
    uint32_t type = kind == NET ? MIRAGE_DEV_NET : MIRAGE_DEV_BLOCK;
    struct tender_devopt *d = find_dev(opts, name);

    if (d != NULL && d->value != NULL)
        return tender_fail(err, "device '%s' is given twice", name);
    if (d != NULL && d->type != type)
        return tender_fail(err, "%s:%s given for %s device '%s'",
                           type == MIRAGE_DEV_NET ? "--block-sector-size" : "--net-mac", name,
                           type == MIRAGE_DEV_NET ? "net" : "block", name);
    if (d == NULL && (d = new_dev(opts, name, type, err)) == NULL)
        return -1;
    d->value = value;
    return 0;
}

static int parse_dev(const char *arg, enum kind kind, struct tender_opts *opts, char *err)
{
    const char *prefix = kind_prefix[kind];
    const char *name = arg + strlen(prefix);
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    const char *problem = tender_name_problem(name, len);
    char buf[MIRAGE_MANIFEST_NAME_MAX];

    if (problem != NULL)
        return tender_fail(err, "%s: device name '%.*s' %s", arg, (int)(len > 64 ? 64 : len), name,
                           problem);
    if (eq == NULL)
        return tender_fail(err, "%s: no value: use %s%s=%s", arg, prefix, name, kind_value[kind]);
    if (eq[1] == '\0')
        return tender_fail(err, "%s: empty %s", arg, kind_value[kind]);
    memcpy(buf, name, len);
    buf[len] = '\0';
    if (kind == NET_MAC)
        return set_mac(opts, buf, eq + 1, err);
    if (kind == BLOCK_SECTOR)
        return set_sector_size(opts, buf, eq + 1, err);
    return set_dev(opts, kind, buf, eq + 1, err);
}

/* --gdb[=PORT]: a TCP port, 1..65535, in decimal. */
static int parse_gdb(const char *arg, struct tender_opts *opts, char *err)
{
    const char *v = arg[5] == '=' ? arg + 6 : NULL;
    unsigned long port = TENDER_GDB_PORT;

    if (opts->gdb_port)
        return tender_fail(err, "--gdb is given twice");
    if (v) {
        size_t n = strspn(v, "0123456789");

        port = n > 0 && n <= 5 && v[n] == '\0' ? strtoul(v, NULL, 10) : 0;
        if (port == 0 || port > 65535)
            return tender_fail(err, "%s: the port must be a number from 1 to 65535", arg);
    }
    opts->gdb_port = (uint16_t)port;
    return 0;
}

static int parse_option(const char *arg, struct tender_opts *opts, int *mem_given, char *err)
{
    if (starts_with(arg, "--mem="))
        return parse_mem(arg + strlen("--mem="), opts, mem_given, err);
    if (starts_with(arg, "--net-offload=")) {
        const char *v = arg + strlen("--net-offload=");

        if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
            return tender_fail(err, "%s: take --net-offload=on or --net-offload=off", arg);
        opts->net_offload = strcmp(v, "on") == 0;
        return 0;
    }
    if (strcmp(arg, "--dumpcore") == 0 || starts_with(arg, "--dumpcore=")) {
        if (opts->dumpcore)
            return tender_fail(err, "--dumpcore is given twice");
        opts->dumpcore = arg[10] == '=' ? arg + 11 : ".";
        if (*opts->dumpcore == '\0')
            return tender_fail(err, "--dumpcore= needs a directory: use --dumpcore=DIR");
        return 0;
    }
    if (strcmp(arg, "--gdb") == 0 || starts_with(arg, "--gdb="))
        return parse_gdb(arg, opts, err);
    for (int k = NET; k <= BLOCK_SECTOR; k++)
        if (starts_with(arg, kind_prefix[k]))
            return parse_dev(arg, (enum kind)k, opts, err);
    if (strcmp(arg, "--mem") == 0)
        return tender_fail(err, "--mem needs a value: use --mem=MB");
    for (int k = NET; k <= BLOCK_SECTOR; k++)
        if (strncmp(arg, kind_prefix[k], strlen(kind_prefix[k]) - 1) == 0 &&
            arg[strlen(kind_prefix[k]) - 1] == '\0')
            return tender_fail(err, "%s needs a device: use %sNAME=%s", arg, kind_prefix[k],
                               kind_value[k]);
    return tender_fail(err, "unknown option '%s'", arg);
}

/* Joins (args) with single spaces; the guest splits them again at boot. */
static int join_args(int n, char **args, char *out, char *err)
{
    size_t total = 0, pos = 0;

    for (int i = 0; i < n; i++) {
        size_t len = strlen(args[i]) + (i > 0);

        if (len > SIZE_MAX - total) {
            tender_fail(err, "command line too long");
            return TENDER_OPTS_BAD_ARGS;
        }
        total += len;
    }
    if (total > MIRAGE_CMDLINE_MAX - 1) {
        tender_fail(err, "command line too long: %zu bytes, limit %d", total,
                    MIRAGE_CMDLINE_MAX - 1);
        return TENDER_OPTS_BAD_ARGS;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(args[i]);

        if (i > 0)
            out[pos++] = ' ';
        memcpy(out + pos, args[i], len);
        pos += len;
    }
    out[pos] = '\0';
    return 0;
}

int tender_opts_parse(int argc, char **argv, struct tender_opts *opts, char *err)
{
    int i, mem_given = 0;

    /* Not a memset of the whole struct: its 14 KB of devices and command line
     * are written only as far as they are used, and every page the tender
     * touches costs a page fault at start-up. */
    opts->mem_bytes = (uint64_t)TENDER_MEM_DEFAULT_MB << 20;
    opts->image = NULL;
    opts->ndevs = 0;
    opts->cmdline[0] = '\0';
    opts->help = 0;
    opts->guest_help = 0;
    opts->dumpcore = NULL;
    opts->gdb_port = 0;
    opts->net_offload = 1;
    err[0] = '\0';
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-')
            break;
        if (strcmp(arg, "--help") == 0) {
            opts->help = 1;
            return 0;
        }
        if (parse_option(arg, opts, &mem_given, err) < 0)
            return -1;
    }
    for (unsigned d = 0; d < opts->ndevs; d++)
        if (opts->devs[d].value == NULL)
            return opts->devs[d].type == MIRAGE_DEV_NET
                       ? tender_fail(err, "--net-mac:%s given without --net:%s=TAP",
                                     opts->devs[d].name, opts->devs[d].name)
                       : tender_fail(err, "--block-sector-size:%s given without --block:%s=PATH",
                                     opts->devs[d].name, opts->devs[d].name);
    if (i >= argc)
        return tender_fail(err, "no unikernel image given");
    if (argv[i][0] == '\0')
        return tender_fail(err, "the unikernel image path is empty");
    opts->image = argv[i++];
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    for (int a = i; a < argc; a++)
        if (strcmp(argv[a], "--help") == 0)
            opts->guest_help = 1;
    return join_args(argc - i, argv + i, opts->cmdline, err);
}

/* The host's physical memory in MB, or 0 when it cannot be read. */
static uint64_t host_mb(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

    return pages > 0 && size > 0 ? ((uint64_t)pages * (uint64_t)size) >> 20 : 0;
}

int tender_mem_check(uint64_t bytes, char *err)
{
    uint64_t host = host_mb();

    if (host != 0 && (bytes >> 20) > host)
        return tender_fail(err, "--mem=%llu: more than this host's %llu MB of memory",
                           (unsigned long long)(bytes >> 20), (unsigned long long)host);
    return 0;
}

void tender_usage(const char *prog)
{
    printf("usage: %s [OPTIONS] IMAGE [--] [ARGS...]\n"
           "Runs the unikernel IMAGE; ARGS, joined with spaces, are its command line.\n"
           "\n"
           "  --mem=MB              guest memory in MiB (default %d), at most the host's\n"
           "                        physical memory (%llu MB here)\n"
           "  --net:NAME=TAP        attach the unikernel's net device NAME to tap device TAP\n"
           "  --net-mac:NAME=MAC    give net device NAME the address MAC (aa:bb:cc:dd:ee:ff);\n"
           "                        default: a random locally administered address\n"
           "  --block:NAME=PATH     attach block device NAME to the disk image file PATH\n"
           "                        (read-only when the file is not writable)\n"
           "  --block-sector-size:NAME=512|4096\n"
           "                        the sector size of block device NAME (default 512)\n"
           "  --dumpcore[=DIR]      when the unikernel faults or aborts, write an ELF core\n"
           "                        file DIR/core.%s.PID (DIR: . by default) for gdb\n"
           "  --gdb[=PORT]          (hvt) before the first instruction, wait for gdb on\n"
           "                        127.0.0.1:PORT (default %d): `target remote :PORT`\n"
           "  --net-offload=on|off  offer the taps' checksum and TCP/UDP segmentation offloads\n"
           "                        to the guest (default on; off: frame by frame)\n"
           "  --help                show this help\n"
           "\n"
           "Every device the unikernel declares must be given, and only those (with --help\n"
           "among ARGS, the unikernel only shows its help: devices not given stay absent).\n"
           "Exit status: the unikernel's own, or %d refused to start, %d ARGS too long,\n"
           "%d sandbox violation, %d CPU fault, %d abort.\n",
           prog, TENDER_MEM_DEFAULT_MB, (unsigned long long)host_mb(), prog, TENDER_GDB_PORT,
           TENDER_EXIT_REFUSED,
           TENDER_EXIT_USAGE, TENDER_EXIT_SANDBOX, TENDER_EXIT_FAULT, TENDER_EXIT_ABORT);
}
