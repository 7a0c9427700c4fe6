/* libvirt.c: -t virtio's configure options (--mem, --net:NAME=, --block:NAME=, ...) and the libvirt
 * domain. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"

/*
 * Options, all optional, checked here and refused by name:
 *   --mem=MB                  guest memory (8..65536, default 32)
 *   --net:NAME=bridge:BRIDGE  the NIC on a host bridge (libvirt's <interface type='bridge'>)
 *   --net:NAME=tap:TAP        the NIC on an existing tap (type='ethernet', not managed)
 *   --net:NAME=network:NET    the NIC on a libvirt network (default: network:default)
 *   --block:NAME=PATH         the disk's image (default: NAME.img beside config.c)
 *   --virt=kvm|qemu           libvirt's domain type (default kvm; qemu is TCG)
 *   --console=pty|file:PATH   the serial console (default pty: `virsh console`)
 *   --cmdline=ARGS            the unikernel's boot arguments
 */

static const char *opt_value(const struct mirage_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->nopts; i++)
        if (strcmp(cfg->opts[i].name, name) == 0)
            return cfg->opts[i].value;
    return NULL;
}

/* Printable, and nothing XML or a shell would read otherwise. */
static int plain(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || strchr("<>&'\"", *s))
            return 0;
    return 1;
}

/* An interface name as Linux allows it: 1..15 of [A-Za-z0-9_.-]. */
static int ifname(const char *s)
{
    size_t n = strlen(s);

    return n >= 1 && n <= 15 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int is_dev(const struct mirage_config *cfg, const char *name, enum dev_kind kind)
{
    for (int i = 0; i < cfg->norder; i++)
        if (cfg->order[i]->kind == kind && strcmp(mirage_config_dev_name(cfg->order[i]), name) == 0)
            return 1;
    return 0;
}

static void bad(struct mirage_config *cfg, const char *name, const char *value, const char *why)
{
    mirage_config_error(cfg, "mirage configure", 0, "--%s%s%s: %s", name, value ? "=" : "",
                        value ? value : "", why);
}

void mirage_config_check_virtio(struct mirage_config *cfg)
{
    for (int i = 0; i < cfg->nopts; i++) {
        struct cfg_opt *o = &cfg->opts[i];
        const char *n = o->name, *v = o->value;

        if (strcmp(n, "mem") == 0) {
            char *end;
            long mb = v ? strtol(v, &end, 10) : 0;

            o->used = 1;
            if (v == NULL || *end != '\0' || mb < 8 || mb > 65536)
                bad(cfg, n, v, "expected the guest's memory in MiB, 8..65536");
        } else if (strcmp(n, "virt") == 0) {
            o->used = 1;
            if (v == NULL || (strcmp(v, "kvm") != 0 && strcmp(v, "qemu") != 0))
                bad(cfg, n, v, "expected kvm or qemu (TCG)");
        } else if (strcmp(n, "console") == 0) {
            o->used = 1;
            if (v == NULL || (strcmp(v, "pty") != 0 &&
                              (strncmp(v, "file:", 5) != 0 || v[5] == '\0' || !plain(v))))
                bad(cfg, n, v, "expected pty or file:PATH");
        } else if (strcmp(n, "cmdline") == 0) {
            o->used = 1;
            if (v == NULL || !plain(v) || strlen(v) > 4000)
                bad(cfg, n, v, "expected the boot arguments (no <>&'\" or control characters)");
        } else if (strncmp(n, "net:", 4) == 0) {
            o->used = 1;
            if (!is_dev(cfg, n + 4, DEV_NETIF))
                bad(cfg, n, v, "the unikernel has no network device of that name");
            else if (v == NULL || !((strncmp(v, "bridge:", 7) == 0 && ifname(v + 7)) ||
                                    (strncmp(v, "tap:", 4) == 0 && ifname(v + 4)) ||
                                    (strncmp(v, "network:", 8) == 0 && ifname(v + 8))))
                bad(cfg, n, v, "expected bridge:BRIDGE, tap:TAP or network:NETWORK");
        } else if (strncmp(n, "block:", 6) == 0) {
            o->used = 1;
            if (!is_dev(cfg, n + 6, DEV_BLOCK))
                bad(cfg, n, v, "the unikernel has no block device of that name");
            else if (v == NULL || *v == '\0' || !plain(v))
                bad(cfg, n, v, "expected the disk image's path");
        }
    }
}

/* (path) made absolute against the unikernel's directory. */
static void absolute(const char *path, char *out, size_t size)
{
    char cwd[PATH_MAX];

    if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
        snprintf(out, size, "%s", path);
    else
        snprintf(out, size, "%s/%s", cwd, path);
}

void mirage_gen_libvirt(const struct mirage_config *cfg, FILE *out)
{
    const char *mem = opt_value(cfg, "mem"), *virt = opt_value(cfg, "virt");
    const char *console = opt_value(cfg, "console"), *cmdline = opt_value(cfg, "cmdline");
    char path[PATH_MAX + 64], key[80];
    int nnet = 0, nblk = 0;

    fprintf(out,
            "<!-- %s.xml: the libvirt domain of %s, written by mirage configure -t virtio.\n"
            "     virsh define %s.xml && virsh start %s -->\n",
            cfg->name, cfg->name, cfg->name, cfg->name);
    fprintf(out, "<domain type='%s' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n",
            virt ? virt : "kvm");
    fprintf(out, "  <name>%s</name>\n", cfg->name);
    fprintf(out, "  <memory unit='MiB'>%s</memory>\n", mem ? mem : "32");
    fprintf(out, "  <vcpu>1</vcpu>\n");
    snprintf(key, sizeof(key), "dist/%s.virtio", cfg->name);
    absolute(key, path, sizeof(path));
    fprintf(out, "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n");
    fprintf(out, "    <kernel>%s</kernel>\n", path);
    fprintf(out, "    <cmdline>%s</cmdline>\n  </os>\n", cmdline ? cmdline : "");
    fprintf(out, "  <features>\n    <acpi/>\n  </features>\n");
    if (virt && strcmp(virt, "qemu") == 0)
        fprintf(out, "  <cpu mode='maximum'/>\n");
    else
        fprintf(out, "  <cpu mode='host-passthrough'/>\n");
    fprintf(out, "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n"
                 "  <on_crash>destroy</on_crash>\n  <devices>\n");
    /* NICs, then disks, each in the manifest's order: the binding takes them in PCI
     * order, which libvirt assigns in this order. */
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        const char *v;

        if (d->kind != DEV_NETIF)
            continue;
        snprintf(key, sizeof(key), "net:%s", mirage_config_dev_name(d));
        v = opt_value(cfg, key);
        fprintf(out, "    <!-- net device '%s' (NIC %d) -->\n", mirage_config_dev_name(d), nnet++);
        if (v && strncmp(v, "bridge:", 7) == 0)
            fprintf(out, "    <interface type='bridge'>\n      <source bridge='%s'/>\n", v + 7);
        else if (v && strncmp(v, "tap:", 4) == 0)
            fprintf(out, "    <interface type='ethernet'>\n      <target dev='%s' managed='no'/>\n",
                    v + 4);
        else
            fprintf(out, "    <interface type='network'>\n      <source network='%s'/>\n",
                    v ? v + 8 : "default");
        fprintf(out, "      <model type='virtio'/>\n    </interface>\n");
    }
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        const char *v;
        char img[PATH_MAX];

        if (d->kind != DEV_BLOCK)
            continue;
        snprintf(key, sizeof(key), "block:%s", mirage_config_dev_name(d));
        v = opt_value(cfg, key);
        snprintf(img, sizeof(img), "%s.img", mirage_config_dev_name(d));
        absolute(v ? v : img, path, sizeof(path));
        fprintf(out, "    <!-- block device '%s' -->\n", mirage_config_dev_name(d));
        fprintf(out,
                "    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw'/>\n"
                "      <source file='%s'/>\n      <target dev='vd%c' bus='virtio'/>\n"
                "    </disk>\n",
                path, 'a' + (nblk < 26 ? nblk : 25));
        nblk++;
    }
    if (console && strncmp(console, "file:", 5) == 0) {
        absolute(console + 5, path, sizeof(path));
        fprintf(out,
                "    <serial type='file'>\n      <source path='%s'/>\n"
                "      <target port='0'/>\n    </serial>\n",
                path);
    } else {
        fprintf(out, "    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n"
                     "    <console type='pty'>\n      <target type='serial' port='0'/>\n"
                     "    </console>\n");
    }
    fprintf(out, "    <memballoon model='none'/>\n  </devices>\n");
    /* The exit status through isa-debug-exit, as under plain QEMU. */
    fprintf(out, "  <qemu:commandline>\n    <qemu:arg value='-device'/>\n"
                 "    <qemu:arg value='isa-debug-exit,iobase=0xf4,iosize=4'/>\n"
                 "  </qemu:commandline>\n</domain>\n");
}
