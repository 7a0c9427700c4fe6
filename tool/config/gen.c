/* gen.c: writes what a checked configuration becomes: main.c, start.h, Makefile, descriptions. */
#include <ctype.h>
#include <string.h>

#include "model.h"

/* The C type start() takes for a device of each signature. */
static const char *c_type(enum mirage_sig sig)
{
    switch (sig) {
    case MIRAGE_SIG_NETWORK:
        return "struct mirage_netif *";
    case MIRAGE_SIG_BLOCK:
        return "struct mirage_block *";
    case MIRAGE_SIG_STACKV4V6:
        return "struct mirage_stack *";
    case MIRAGE_SIG_KV_RO:
    case MIRAGE_SIG_KV_RW:
        return "struct mirage_kv *";
    case MIRAGE_SIG_RANDOM:
        return "struct mirage_random *";
    default:
        return "void *";
    }
}

static int is_platform(const struct mirage_dev *d)
{
    return d->kind == DEV_NETIF || d->kind == DEV_BLOCK;
}

/* A store or block device main.c builds with a constructor (mirage/kv.h,
 * mirage/block.h), and gives back with disconnect once start returns. A
 * platform block device is one too, beside its manifest entry. */
static int is_storage(const struct mirage_dev *d)
{
    return d->kind == DEV_CRUNCH || d->kind == DEV_KV_MEM || d->kind == DEV_KV_DISK ||
           d->kind == DEV_TAR || d->kind == DEV_RAMDISK || d->kind == DEV_FILE ||
           d->kind == DEV_BLOCK;
}

static int is_kv(const struct mirage_dev *d)
{
    return d->sig == MIRAGE_SIG_KV_RO || d->sig == MIRAGE_SIG_KV_RW;
}

static int is_solo5(const struct mirage_config *cfg)
{
    return strcmp(cfg->target, "unix") != 0;
}

/* Writes (s) as a C string literal. */
static void c_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < ' ' || c >= 0x7f)
            fprintf(out, "\\%03o", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* The C name of runtime key (name): key_ and the name with '-' as '_'. */
static void key_var(FILE *out, const char *name)
{
    fputs("key_", out);
    for (; *name != '\0'; name++)
        fputc(*name == '-' ? '_' : *name, out);
}

/* The key.h name of a runtime key type: "ipv4_prefix" is MIRAGE_KEY_IPV4_PREFIX. */
static void key_type(FILE *out, const char *type)
{
    fputs("MIRAGE_KEY_", out);
    for (; *type != '\0'; type++)
        fputc(toupper((unsigned char)*type), out);
}

static int parses_keys(const struct mirage_config *cfg)
{
    return cfg->job->kind != DEV_JOB || !cfg->job->argv;
}

static void gen_keys(const struct mirage_config *cfg, FILE *out)
{
    int n = 0;

    for (int i = 0; i < cfg->nkeys; i++) {
        const struct cfg_key *k = &cfg->keys[i];
        if (!k->runtime || k->std != NULL)
            continue; /* a standard key is the runtime's own */
        fprintf(out, "struct mirage_key ");
        key_var(out, k->name);
        fprintf(out, " = {.name = \"%s\", .type = ", k->name);
        key_type(out, k->type);
        fprintf(out, ", .def = ");
        if (k->def != NULL)
            c_string(out, k->def);
        else
            fprintf(out, "NULL");
        fprintf(out, ", .doc = ");
        c_string(out, k->doc);
        if (k->ranged)
            fprintf(out, ", .min = %lldLL, .max = %lldLL", k->min, k->max);
        else if (strcmp(k->type, "int") == 0)
            fprintf(out, ", .min = INT64_MIN, .max = INT64_MAX");
        else if (strcmp(k->type, "duration") == 0)
            fprintf(out, ", .min = 0, .max = INT64_MAX");
        fprintf(out, "};\n");
    }
    fprintf(out, "static struct mirage_key *const keys[] = {");
    for (int i = 0; i < cfg->nkeys; i++) {
        if (!cfg->keys[i].runtime)
            continue;
        fprintf(out, "%s&", n++ ? ", " : "");
        if (cfg->keys[i].std != NULL)
            fputs(cfg->keys[i].std, out);
        else
            key_var(out, cfg->keys[i].name);
    }
    fprintf(out, "%sNULL};\n", n ? ", " : "");
}

static int count_kind(const struct mirage_config *cfg, enum dev_kind kind)
{
    int n = 0;

    for (int i = 0; i < cfg->norder; i++)
        n += cfg->order[i]->kind == kind;
    return n;
}

static int count_stacks(const struct mirage_config *cfg)
{
    return count_kind(cfg, DEV_STACK);
}

static int count_storage(const struct mirage_config *cfg)
{
    int n = 0;

    for (int i = 0; i < cfg->norder; i++)
        n += is_storage(cfg->order[i]);
    return n;
}

/* What main.c calls to build storage device (d) into dev<order>. */
static void gen_storage(const struct mirage_dev *d, FILE *out)
{
    char b[160];

    if (d->kind == DEV_CRUNCH)
        fprintf(out, "    r = mirage_kv_crunch_new(&mirage_crunch_d%d, &dev%d);\n", d->order,
                d->order);
    else if (d->kind == DEV_KV_MEM)
        fprintf(out, "    r = mirage_kv_mem_new(0, &dev%d);\n", d->order);
    else if (d->kind == DEV_KV_DISK)
        fprintf(out, "    r = mirage_kv_disk_open(dev%d, &dev%d);\n", d->args[0]->order, d->order);
    else if (d->kind == DEV_TAR)
        fprintf(out, "    r = mirage_kv_tar_open(dev%d, &dev%d);\n", d->args[0]->order, d->order);
    else if (d->kind == DEV_RAMDISK)
        fprintf(out, "    r = mirage_block_ramdisk_new(\"ramdisk\", %lluULL, 512, &dev%d);\n",
                d->size, d->order);
    else if (d->kind == DEV_FILE || d->kind == DEV_BLOCK) {
        fprintf(out, "    r = mirage_block_%s(", d->kind == DEV_FILE ? "of_file" : "connect");
        c_string(out, d->kind == DEV_FILE ? d->arg : mirage_config_dev_name(d));
        fprintf(out, ", &dev%d);\n", d->order);
    }
    fprintf(out, "    if (r < 0)\n        return mirage_device_connect_failed(argv[0], \"%s\", ",
            mirage_config_sig_name(d->sig));
    c_string(out, mirage_config_dev_label(d, b, sizeof(b)));
    fprintf(out, ", r);\n");
}

/* 1 if start() takes a device of signature (sig): start.h then needs its type. */
static int job_takes(const struct mirage_dev *job, enum mirage_sig sig)
{
    for (int i = 0; job->kind == DEV_JOB && i < job->nsigs; i++)
        if (job->sigs[i] == sig)
            return 1;
    return 0;
}

/* What a stack device becomes in main.c: its configuration from the boot
 * keys, then the constructor; a direct stack waits here for its DHCP lease. */
static void gen_stack(const struct mirage_config *cfg, const struct mirage_dev *d, FILE *out)
{
    fprintf(out, "    {\n        struct mirage_stack_config sc = {.hostname = ");
    c_string(out, cfg->name);
    fprintf(out, "};\n\n        mirage_stack_config_from_keys(&sc, %d);\n", d->stack_dhcp);
    if (d->stack_socket)
        fprintf(out, "        r = mirage_stack_socket_new(&sc, &dev%d);\n", d->order);
    else
        fprintf(out, "        r = mirage_stack_direct_new(&dev%d, &sc, &dev%d);\n",
                d->args[0]->order, d->order);
    if (d->stack_dhcp)
        fprintf(out, "        if (r == MIRAGE_ETIMEDOUT && sc.dhcp)\n"
                     "            return mirage_stack_no_lease(argv[0]);\n");
    fprintf(out, "        if (r < 0)\n            return mirage_device_connect_failed(");
    fprintf(out, "argv[0], \"stack\", \"%s\", r);\n", d->stack_socket ? "socket" : "direct");
    /* The log goes to syslog (--syslog) and metrics to a collector
     * (--monitor) over the first stack, from here on. */
    if (parses_keys(cfg)) {
        fprintf(out, "        mirage_syslog_from_keys(dev%d, ", d->order);
        c_string(out, cfg->name);
        fprintf(out, ");\n        mirage_monitor_from_keys(dev%d, ", d->order);
        c_string(out, cfg->name);
        fprintf(out, ");\n");
    }
    fprintf(out, "    }\n");
}

static int has_dhcp_stack(const struct mirage_config *cfg)
{
    for (int i = 0; i < cfg->norder; i++)
        if (cfg->order[i]->kind == DEV_STACK && cfg->order[i]->stack_dhcp)
            return 1;
    return 0;
}

/* Standard keys whose default configure changed (--ipv4=... at configure
 * time; the socket stack's --ipv6=::/0). With a DHCP stack --ipv4 has no default: without it, a lease gives
 * the address, and --help says so. */
static void gen_key_defaults(const struct mirage_config *cfg, FILE *out)
{
    int dhcp = has_dhcp_stack(cfg);

    for (int i = 0; i < cfg->nkeys; i++) {
        const struct cfg_key *k = &cfg->keys[i];
        if (!k->runtime || k->std == NULL || k->def == NULL ||
            (strcmp(k->name, "ipv4") != 0 && strcmp(k->name, "ipv4-gateway") != 0 &&
             strcmp(k->name, "ipv6") != 0) ||
            (dhcp && strcmp(k->name, "ipv4") == 0))
            continue;
        fprintf(out, "    %s.def = ", k->std);
        c_string(out, k->def);
        fprintf(out, ";\n");
    }
    if (dhcp)
        fprintf(out, "    mirage_key_ipv4.def = NULL;\n"
                     "    mirage_key_ipv4.doc = \"The IPv4 address and network of the unikernel. "
                     "Without it, the\"\n"
                     "                          \" address comes from a DHCP lease (see "
                     "--dhcp-timeout).\";\n");
}

void mirage_gen_start_h(const struct mirage_config *cfg, FILE *out)
{
    const struct mirage_dev *job = cfg->job;

    fprintf(out, "/* start.h: generated by mirage configure from config.c: the job's start "
                 "function; do not edit. */\n");
    fprintf(out, "#ifndef MIRAGE_GENERATED_START_H\n#define MIRAGE_GENERATED_START_H\n\n");
    fprintf(out, "#include \"mirage/device.h\"\n#include \"mirage/key.h\"\n");
    if (count_stacks(cfg) > 0)
        fprintf(out, "#include \"mirage/stack.h\"\n");
    if (job_takes(job, MIRAGE_SIG_RANDOM))
        fprintf(out, "#include \"mirage/random.h\"\n");
    if (job_takes(job, MIRAGE_SIG_KV_RO) || job_takes(job, MIRAGE_SIG_KV_RW))
        fprintf(out, "#include \"mirage/kv.h\"\n");
    if (job_takes(job, MIRAGE_SIG_BLOCK))
        fprintf(out, "#include \"mirage/block.h\"\n");
    fprintf(out, "\n");
    for (int i = 0; i < cfg->nkeys; i++) {
        if (!cfg->keys[i].runtime || cfg->keys[i].std != NULL)
            continue;
        fprintf(out, "extern struct mirage_key ");
        key_var(out, cfg->keys[i].name);
        fprintf(out, "; /* --%s, parsed before start runs */\n", cfg->keys[i].name);
    }
    if (job->kind == DEV_JOB) {
        fprintf(out, "/* Defined by the application; main.c calls it with the devices, in order, "
                     "and\n * returns what it returns as the exit status. */\n");
        fprintf(out, "int %s(", job->arg);
        for (int i = 0; i < job->nsigs; i++)
            fprintf(out, "%s%s", i ? ", " : "", c_type(job->sigs[i]));
        if (job->argv)
            fprintf(out, "%sint argc, char **argv", job->nsigs ? ", " : "");
        else if (job->nsigs == 0)
            fprintf(out, "void");
        fprintf(out, ");\n");
    }
    fprintf(out, "\n#endif\n");
}

void mirage_gen_manifest(const struct mirage_config *cfg, FILE *out)
{
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        if (is_platform(d))
            fprintf(out, "%s %s\n", d->kind == DEV_NETIF ? "net" : "block",
                    mirage_config_dev_name(d));
    }
}

static void gen_manifest_macro(const struct mirage_config *cfg, FILE *out)
{
    int n = 0;

    fprintf(out, "MIRAGE_MANIFEST(");
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        if (!is_platform(d))
            continue;
        fprintf(out, "%s%s(\"%s\")", n++ ? ", " : "",
                d->kind == DEV_NETIF ? "MIRAGE_NET" : "MIRAGE_BLOCK", mirage_config_dev_name(d));
    }
    fprintf(out, ");\n");
}

void mirage_gen_main(const struct mirage_config *cfg, FILE *out)
{
    const struct mirage_dev *job = cfg->job;
    int nplatform = 0;

    fprintf(out,
            "/* main.c: generated by mirage configure from config.c for %s on %s; "
            "do not edit. */\n",
            cfg->name, cfg->target);
    fprintf(out, "#include <stdint.h>\n#include <string.h>\n\n");
    fprintf(out, "#include \"mirage/device.h\"\n#include \"mirage/error.h\"\n");
    fprintf(out, "#include \"mirage/heap.h\"\n#include \"mirage/key.h\"\n");
    fprintf(out, "#include \"mirage/manifest.h\"\n#include \"mirage/platform.h\"\n");
    if (count_stacks(cfg) + count_storage(cfg) > 0)
        fprintf(out, "#include \"mirage/sched.h\"\n");
    if (count_stacks(cfg) > 0)
        fprintf(out, "#include \"mirage/metrics.h\"\n#include \"mirage/stack.h\"\n"
                     "#include \"mirage/syslog.h\"\n#include \"mirage/time.h\"\n");
    if (count_kind(cfg, DEV_RANDOM) > 0)
        fprintf(out, "#include \"mirage/random.h\"\n");
    if (count_storage(cfg) > 0)
        fprintf(out, "#include \"mirage/block.h\"\n#include \"mirage/kv.h\"\n");
    fprintf(out, "#include \"start.h\"\n\n");
    gen_manifest_macro(cfg, out);
    if (parses_keys(cfg)) {
        fprintf(out, "\n");
        gen_keys(cfg, out);
    }
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        char b[160];
        if (!is_platform(d))
            continue;
        nplatform++;
        if (d->kind != DEV_NETIF)
            continue; /* a block device is storage */
        fprintf(out, "/* %s, %s:%d */\n", mirage_config_dev_label(d, b, sizeof(b)), d->file,
                d->line);
        fprintf(out, "static struct mirage_netif dev%d = {.name = \"%s\"};\n", d->order,
                mirage_config_dev_name(d));
    }
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        char b[160];
        if (d->kind != DEV_STACK)
            continue;
        fprintf(out, "/* %s: the %s stack, %s:%d */\n", mirage_config_dev_label(d, b, sizeof(b)),
                d->stack_socket ? "socket"
                : d->stack_dhcp ? "direct (DHCP)"
                                : "direct",
                d->file, d->line);
        fprintf(out, "static struct mirage_stack *dev%d;\n", d->order);
    }
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        char b[160];
        if (d->kind != DEV_RANDOM)
            continue;
        fprintf(out, "/* %s: the runtime's generator, %s:%d */\n",
                mirage_config_dev_label(d, b, sizeof(b)), d->file, d->line);
        fprintf(out, "static struct mirage_random *dev%d;\n", d->order);
    }
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        char b[160];
        if (!is_storage(d))
            continue;
        fprintf(out, "/* %s, %s:%d */\n", mirage_config_dev_label(d, b, sizeof(b)), d->file,
                d->line);
        if (d->kind == DEV_CRUNCH)
            fprintf(out, "extern const struct mirage_crunch mirage_crunch_d%d;\n", d->order);
        fprintf(out, "static struct %s *dev%d;\n", is_kv(d) ? "mirage_kv" : "mirage_block",
                d->order);
    }
    fprintf(out, "\nint mirage_main(int argc, char **argv)\n{\n");
    if (parses_keys(cfg) || nplatform > 0 || count_stacks(cfg) > 0 || count_storage(cfg) > 0)
        fprintf(out, "    int r;\n\n");
    gen_key_defaults(cfg, out);
    if (parses_keys(cfg))
        fprintf(out, "    /* Boot keys, -l/--logs and --help; 63 after help, 64 for bad ones. */\n"
                     "    r = mirage_key_parse_args(argc, argv, keys);\n"
                     "    if (r != 0)\n        return r;\n"
                     "    mirage_memory_boot_log(); /* -l memory:debug */\n");
    if (parses_keys(cfg) && count_stacks(cfg) > 0)
        fprintf(out, "    r = mirage_syslog_check_keys(argv[0]);\n"
                     "    if (r != 0)\n        return r;\n"
                     "    r = mirage_monitor_check_keys(argv[0]);\n"
                     "    if (r != 0)\n        return r;\n");
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        if (d->kind == DEV_STACK)
            gen_stack(cfg, d, out);
        if (d->kind == DEV_RANDOM)
            fprintf(out, "    dev%d = mirage_random_default();\n", d->order);
        if (is_storage(d))
            gen_storage(d, out);
        if (d->kind != DEV_NETIF)
            continue;
        fprintf(out, "    r = mirage_net_acquire(dev%d.name, &dev%d.handle, &dev%d.info);\n",
                d->order, d->order, d->order);
        fprintf(out, "    if (r < 0)\n        return mirage_device_connect_failed(argv[0], ");
        fprintf(out, "\"network\", dev%d.name, r);\n", d->order);
    }
    if (job->kind != DEV_JOB) {
        fprintf(out, "    return 0; /* noop */\n}\n");
        return;
    }
    if (count_stacks(cfg) + count_storage(cfg) > 0)
        fprintf(out, "    /* Fibers start leaves running are stopped before the devices run the\n"
                     "     * loop again (they may point into its frame): mirage/sched.h. */\n"
                     "    mirage_sched_app_begin();\n");
    fprintf(out, "    %s%s(", count_stacks(cfg) + count_storage(cfg) > 0 ? "r = " : "return ",
            job->arg);
    for (int i = 0; i < cfg->napplied; i++)
        fprintf(out, "%s%sdev%d", i ? ", " : "", cfg->applied[i]->kind == DEV_NETIF ? "&" : "",
                cfg->applied[i]->order);
    if (job->argv)
        fprintf(out, "%sargc, argv", cfg->napplied ? ", " : "");
    fprintf(out, ");\n");
    if (count_stacks(cfg) + count_storage(cfg) == 0) {
        fprintf(out, "}\n");
        return;
    }
    fprintf(out, "    mirage_sched_app_end();\n");
    if (count_stacks(cfg) > 0)
        fprintf(out,
                "    /* The log's last lines leave for syslog (at most 2 s), and what start's\n"
                "     * connections still have to send reaches the peers (bounded by the\n"
                "     * stack's linger time) before the exit status goes back. */\n"
                "    mirage_monitor_stop();\n"
                "    mirage_syslog_stop(mirage_deadline_in(MIRAGE_SEC(2)));\n");
    for (int i = cfg->norder - 1; i >= 0; i--) {
        const struct mirage_dev *d = cfg->order[i];
        if (d->kind == DEV_STACK)
            fprintf(out, "    mirage_stack_disconnect(dev%d);\n", d->order);
        else if (is_storage(d))
            fprintf(out, "    mirage_%s_disconnect(dev%d);\n", is_kv(d) ? "kv" : "block", d->order);
    }
    fprintf(out, "    return r;\n}\n");
}

/* The link step: mk/config.mk's one recipe for the target. */
static void gen_link(const struct mirage_config *cfg, FILE *out)
{
    if (!is_solo5(cfg))
        fprintf(out, "\t$(call say,LD,$@)$(call link_unix,$@,$(OBJS) $(LIBS),$(LDLIBS))\n");
    else
        fprintf(out, "\t$(call say,LD,$@)$(call "
                     "link_guest,$@,$(LDSCRIPT),$(OBJS),$(LIBS),$(LDLIBS))\n");
}

void mirage_gen_makefile(const struct mirage_config *cfg, const struct gen_paths *p, FILE *out)
{
    const struct mirage_dev *job = cfg->job;
    const char *t = cfg->target;
    const char *suffix = is_solo5(cfg) ? t : NULL;
    int npkg = 0;

    fprintf(out, "# mirage: name=%s target=%s build=%s\n", cfg->name, t, p->build);
    fprintf(out,
            "# Makefile: generated by `mirage configure%s` from %s; do not edit: "
            "configure again.\n",
            p->args, p->config_file);
    fprintf(out, "# `make` (or `mirage build`) builds dist/%s%s%s; V=1 shows every command.\n\n",
            cfg->name, suffix ? "." : "", suffix ? suffix : "");
    fprintf(out, "MIRAGE_ROOT ?= %s\n", p->root);
    fprintf(out, "include $(MIRAGE_ROOT)/mk/config.mk\n\n");
    fprintf(out, "NAME := %s\nTARGET := %s\nBUILD := %s\n", cfg->name, t, p->build);
    fprintf(out, "OUT := dist/%s%s%s\n", cfg->name, suffix ? "." : "", suffix ? suffix : "");
    fprintf(out, "SRCS :=");
    for (int i = 0; job->kind == DEV_JOB && i < job->nsources; i++)
        fprintf(out, " %s", job->sources[i]);
    fprintf(out, "\nLDLIBS :=");
    for (int i = 0; job->kind == DEV_JOB && i < job->nlibs; i++)
        fprintf(out, " -l%s", job->libs[i]);
    fprintf(out, "\nPACKAGES :=");
    for (int i = 0; job->kind == DEV_JOB && i < job->nlibs; i++)
        if (job->packages[i] != NULL) {
            fprintf(out, " %s", job->packages[i]);
            npkg++;
        }
    fprintf(out, "\n\n");
    fprintf(out, "# config.mk's paths are relative to the repository; here they must be "
                 "absolute.\n");
    fprintf(out, "rooted = $(patsubst -Iinclude,-I$(MIRAGE_ROOT)/include,$(patsubst "
                 "libc/include,$(MIRAGE_ROOT)/libc/include,$(1)))\n");
    fprintf(out, "say = $(if $(V),,@printf '  %%-3s %%s\\n' '$(1)' '$(2)';)\n");
    fprintf(out, "# The unikernel's directory is '.' in its debug information: the same sources\n"
                 "# give the same image wherever they are built.\n");
    fprintf(out, "REPRO := -ffile-prefix-map=$(CURDIR)=.\n");
    if (is_solo5(cfg)) {
        fprintf(out, "CFLAGS := $(call rooted,$(GUEST_CFLAGS)) -I$(BUILD) $(REPRO)\n");
        fprintf(out,
                "LIBS := $(MIRAGE_ROOT)/build/%s/libmirage.a "
                "$(MIRAGE_ROOT)/build/guest/libc.a\n",
                t);
        fprintf(out, "LDSCRIPT := $(MIRAGE_ROOT)/platform/%s/%s.ld\n", t, t);
    } else {
        fprintf(out, "CFLAGS := $(call rooted,$(UNIX_CFLAGS)) -I$(BUILD) $(REPRO)\n");
        fprintf(out, "LIBS := $(MIRAGE_ROOT)/build/unix/libmirage.a\nLDSCRIPT :=\n");
    }
    fprintf(out, "# Objects are per target: the same sources build with other flags for "
                 "another.\n");
    fprintf(out, "OBJDIR := $(BUILD)/$(TARGET)\n");
    fprintf(out, "OBJS := $(patsubst %%.c,$(OBJDIR)/%%.o,$(SRCS)) $(OBJDIR)/main.o");
    for (int i = 0; i < cfg->norder; i++)
        if (cfg->order[i]->kind == DEV_CRUNCH)
            fprintf(out, " $(OBJDIR)/crunch_d%d.o", cfg->order[i]->order);
    fprintf(out, "\n\n");
    if (strcmp(t, "virtio") == 0) {
        /* The libvirt domain configure wrote, beside the image it boots. */
        fprintf(out, "XML := dist/%s.xml\n", cfg->name);
        fprintf(out, "all: %s$(OUT) $(XML) compile_commands.json\n\n",
                npkg && !p->no_depext ? "depend " : "");
        fprintf(out, "$(XML): $(BUILD)/libvirt.xml\n\t@mkdir -p $(@D)\n\tcp $< $@\n\n");
    } else {
        fprintf(out, "all: %s$(OUT) compile_commands.json\n\n",
                npkg && !p->no_depext ? "depend " : "");
    }
    /* The Makefile holds the link line (libraries, job_library): a new one links again. */
    fprintf(out, "$(OUT): $(OBJS) $(LIBS) $(LDSCRIPT) Makefile\n\t@mkdir -p $(@D)\n");
    gen_link(cfg, out);
    fprintf(out, "\n# The application's sources see start.h, so the compiler checks its start "
                 "against config.c.\n");
    fprintf(out, "$(OBJDIR)/%%.o: %%.c $(BUILD)/start.h\n\t@mkdir -p $(@D)\n"
                 "\t$(call say,CC,$<)$(CC) $(CFLAGS) -include $(BUILD)/start.h -MMD -MP -c $< "
                 "-o $@\n\n");
    fprintf(out, "$(OBJDIR)/main.o: $(BUILD)/main.c $(BUILD)/start.h\n\t@mkdir -p $(@D)\n"
                 "\t$(call say,CC,$<)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@\n\n");
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        if (d->kind != DEV_CRUNCH)
            continue;
        fprintf(out,
                "# crunch(\"%s\"), %s:%d: the directory as data; crunch_d%d.d names every "
                "file read,\n# so a change there crunches again.\n",
                d->arg, d->file, d->line, d->order);
        fprintf(out,
                "$(BUILD)/crunch_d%d.c $(BUILD)/crunch_d%d.bin &: $(MIRAGE_ROOT)/build/bin/mirage\n"
                "\t$(call say,GEN,%s)$(MIRAGE_ROOT)/build/bin/mirage crunch %s "
                "$(BUILD)/crunch_d%d mirage_crunch_d%d\n",
                d->order, d->order, d->arg, d->arg, d->order, d->order);
        fprintf(out, "-include $(BUILD)/crunch_d%d.d\n", d->order);
        fprintf(out,
                "$(OBJDIR)/crunch_d%d.o: $(BUILD)/crunch_d%d.c $(BUILD)/crunch_d%d.bin\n"
                "\t@mkdir -p $(@D)\n\t$(call say,CC,$<)$(CC) $(CFLAGS) -c $< -o $@\n\n",
                d->order, d->order, d->order);
    }
    fprintf(out,
            "# configure rewrites this Makefile every time, so it is older only when %s "
            "changed.\n",
            p->config_file);
    fprintf(out,
            "Makefile: %s\n"
            "\t@echo \"mirage: %s changed since configure: run 'mirage build' (it "
            "configures again) or 'mirage configure'\" >&2; exit 1\n\n",
            p->config_file, p->config_file);
    fprintf(out, "$(LIBS) $(LDSCRIPT):\n\t@echo \"mirage: $@ is missing: run 'make' in "
                 "$(MIRAGE_ROOT) first\" >&2; exit 1\n\n");
    fprintf(out, "# For clangd and editors: how each file here compiles, main.c included.\n");
    fprintf(out, "cc_entry = {\"directory\": \"$(CURDIR)\", \"file\": \"$(1)\", "
                 "\"command\": \"$(CC) $(CFLAGS) $(2) -c $(1)\"}\n");
    fprintf(out, "compile_commands.json: Makefile\n\t$(file >$@,[)\n"
                 "\t$(foreach s,$(SRCS),$(file >>$@,$(call cc_entry,$(s),-include "
                 "$(BUILD)/start.h),))\n"
                 "\t$(file >>$@,$(call cc_entry,$(BUILD)/main.c,)])\n\n");
    fprintf(out, "# Installs the Debian packages the unikernel needs that are missing.\n");
    fprintf(out, "depend:\n\t@missing=; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 "
                 "|| missing=\"$$missing $$p\"; done; \\\n"
                 "\tif [ -n \"$$missing\" ]; then echo \"mirage: installing$$missing\"; "
                 "apt-get install -y -q $$missing; fi\n\n");
    fprintf(out,
            "clean:\n\trm -rf $(BUILD)/unix $(BUILD)/spt $(BUILD)/hvt $(BUILD)/virtio "
            "$(BUILD)/crunch_* $(OUT) %scompile_commands.json\n\n",
            strcmp(t, "virtio") == 0 ? "$(XML) " : "");
    fprintf(out, ".PHONY: all depend clean\n.DELETE_ON_ERROR:\n");
    fprintf(out, "-include $(OBJS:.o=.d)\n");
}

static void dot_label(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
}

void mirage_gen_dot(const struct mirage_config *cfg, FILE *out)
{
    const struct mirage_dev *job = cfg->job;
    char b[160];

    fprintf(out, "digraph \"%s\" {\n    rankdir = LR;\n", cfg->name);
    fprintf(out, "    node [shape = box, fontname = \"monospace\"];\n");
    fprintf(out, "    job [shape = doubleoctagon, label = \"");
    dot_label(out, mirage_config_dev_label(job, b, sizeof(b)));
    fprintf(out, "\\n%s:%d\"];\n", job->file, job->line);
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        fprintf(out, "    d%d [label = \"", d->order);
        dot_label(out, mirage_config_dev_label(d, b, sizeof(b)));
        fprintf(out, "\\n%s", mirage_config_sig_name(d->sig));
        if (is_platform(d))
            fprintf(out, " '%s'", mirage_config_dev_name(d));
        fprintf(out, "\\n%s:%d\"];\n", d->file, d->line);
    }
    for (int i = 0; i < cfg->napplied; i++)
        fprintf(out, "    job -> d%d [label = \"%d\"];\n", cfg->applied[i]->order, i + 1);
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        for (int a = 0; a < d->nargs; a++)
            fprintf(out, "    d%d -> d%d [label = \"%d\"];\n", d->order, d->args[a]->order, a + 1);
    }
    fprintf(out, "}\n");
}

void mirage_gen_describe(const struct mirage_config *cfg, FILE *out)
{
    const struct mirage_dev *job = cfg->job;
    char b[160];
    int nrun = 0, ncfg = 0;

    fprintf(out, "name       %s\ntarget     %s\n", cfg->name, cfg->target);
    fprintf(out, "job        %s", mirage_config_dev_label(job, b, sizeof(b)));
    if (job->kind == DEV_JOB) {
        fprintf(out, " takes (");
        for (int i = 0; i < job->nsigs; i++)
            fprintf(out, "%s%s", i ? ", " : "", mirage_config_sig_name(job->sigs[i]));
        fprintf(out, "%s)", job->argv ? (job->nsigs ? ", argv" : "argv") : "");
    }
    fprintf(out, "  %s:%d\n", job->file, job->line);
    fprintf(out, "devices    (in the order main.c creates them)\n");
    if (cfg->norder == 0)
        fprintf(out, "  (none)\n");
    for (int i = 0; i < cfg->norder; i++) {
        const struct mirage_dev *d = cfg->order[i];
        fprintf(out, "  d%d  %-24s %-10s", d->order, mirage_config_dev_label(d, b, sizeof(b)),
                mirage_config_sig_name(d->sig));
        if (is_platform(d))
            fprintf(out, " manifest '%s'", mirage_config_dev_name(d));
        if (d->kind == DEV_STACK)
            fprintf(out, " %s",
                    d->stack_socket ? "socket"
                    : d->stack_dhcp ? "direct, DHCP"
                                    : "direct");
        if (d->kind == DEV_RANDOM)
            fprintf(out, " the runtime's Fortuna");
        for (int a = 0; a < d->nargs; a++)
            fprintf(out, "%s d%d", a ? "," : " uses", d->args[a]->order);
        fprintf(out, "  %s:%d\n", d->file, d->line);
    }
    for (int i = 0; i < cfg->nkeys; i++)
        if (cfg->keys[i].runtime)
            nrun++;
        else
            ncfg++;
    fprintf(out, "configure keys\n");
    if (ncfg == 0)
        fprintf(out, "  (none)\n");
    for (int i = 0; i < cfg->nkeys; i++) {
        const struct cfg_key *k = &cfg->keys[i];
        if (k->runtime)
            continue;
        fprintf(out, "  --%s%s = %s  %s\n", k->name, k->flag ? "" : "=VALUE",
                k->value ? k->value : (k->flag ? "false" : "(unset)"), k->doc);
    }
    fprintf(out, "runtime keys (boot arguments)\n");
    if (nrun == 0)
        fprintf(out, "  (none)\n");
    for (int i = 0; i < cfg->nkeys; i++) {
        const struct cfg_key *k = &cfg->keys[i];
        if (k->runtime)
            fprintf(out, "  --%s=%s (default %s)  %s\n", k->name, k->type, k->def ? k->def : "none",
                    k->doc);
    }
}
