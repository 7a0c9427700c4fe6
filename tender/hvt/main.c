/* main.c: mirage-hvt, the KVM tender: options, image, devices, then the VM until the guest ends. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

void hvt_say(const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "mirage-hvt: ");
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);
    if (write(2, buf, strlen(buf)) < 0)
        return; /* nowhere left to say it */
}

/* The unikernel's name for argv[0]: the image's file name without ".hvt". */
static void image_name(const char *path, char *name, size_t size)
{
    const char *base = strrchr(path, '/');
    size_t len;

    base = base ? base + 1 : path;
    len = strlen(base);
    if (len > 4 && !strcmp(base + len - 4, ".hvt"))
        len -= 4;
    if (len >= size)
        len = size - 1;
    memcpy(name, base, len);
    name[len] = 0;
}

int main(int argc, char **argv)
{
    static struct tender_opts opts;
    static struct tender_image img;
    static struct tender_device devs[MIRAGE_MANIFEST_MAX];
    static struct hvt_vm vm;
    char err[TENDER_ERR_MAX], name[HVT_NAME_MAX];
    uint8_t *data;
    size_t size;

    int r = tender_opts_parse(argc, argv, &opts, err);

    if (r < 0) {
        hvt_say("%s (see --help)\n", err);
        return r == TENDER_OPTS_BAD_ARGS ? TENDER_EXIT_USAGE : TENDER_EXIT_REFUSED;
    }
    if (opts.help) {
        tender_usage("mirage-hvt");
        return 0;
    }
    if (tender_mem_check(opts.mem_bytes, err) < 0 ||
        tender_image_load(opts.image, &data, &size, &img, err) < 0 ||
        tender_devices_open(&opts, &img, devs, err) < 0) {
        hvt_say("%s\n", err);
        return TENDER_EXIT_REFUSED;
    }
    image_name(opts.image, name, sizeof(name));
    vm.mem_size = opts.mem_bytes;
    vm.img = &img;
    vm.devs = devs;
    if (hvt_vm_setup(&vm, data, name, opts.cmdline, err) < 0 || hvt_net_setup(&vm, err) < 0 ||
        hvt_block_setup(&vm, err) < 0) {
        hvt_say("%s\n", err);
        return TENDER_EXIT_REFUSED;
    }
    vm.fiber_sym = tender_elf_object(data, size, "mirage_fiber_running");
    /* The image's file name, which gdb compares with the core's program name. */
    vm.name = strrchr(opts.image, '/') ? strrchr(opts.image, '/') + 1 : opts.image;
    vm.core.fd = vm.core.dirfd = -1;
    if (opts.dumpcore && tender_core_open(&vm.core, opts.dumpcore, "mirage-hvt", err) < 0) {
        hvt_say("%s\n", err);
        return TENDER_EXIT_REFUSED;
    }
    free(data);
    if (hvt_net_start(&vm, err) < 0 || hvt_block_start(&vm, err) < 0 ||
        (opts.gdb_port && hvt_gdb_wait(&vm, opts.gdb_port, err) < 0) || hvt_sandbox(&vm, err) < 0) {
        hvt_say("%s\n", err);
        return TENDER_EXIT_REFUSED;
    }
    /* _exit: nothing to flush, and the sandbox allows no more than that. */
    _exit(hvt_vm_run(&vm));
}
