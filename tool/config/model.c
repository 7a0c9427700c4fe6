/* model.c: what config.c's calls record: devices, jobs, keys and the registered unikernel. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mirage/key.h"
#include "mirage/manifest.h"
#include "model.h"

/* config.c calls short functions with no context argument, as config.ml does
 * in MirageOS; the one configuration being recorded is this host program's only state. */
static struct mirage_config *cur;

static const char *const sig_names[MIRAGE_SIG_COUNT] = {
    [MIRAGE_SIG_END] = "(none)",    [MIRAGE_SIG_NETWORK] = "network",
    [MIRAGE_SIG_BLOCK] = "block",   [MIRAGE_SIG_STACKV4V6] = "stackv4v6",
    [MIRAGE_SIG_KV_RO] = "kv_ro",   [MIRAGE_SIG_KV_RW] = "kv_rw",
    [MIRAGE_SIG_RANDOM] = "random", [MIRAGE_SIG_JOB] = "job",
};

const char *mirage_config_sig_name(enum mirage_sig sig)
{
    if ((int)sig < 0 || sig >= MIRAGE_SIG_COUNT)
        return "(bad signature)";
    return sig_names[sig];
}

static struct mirage_config *need_cfg(void)
{
    if (cur == NULL) {
        fprintf(stderr, "mirage: a mirage_config_* function was called outside mirage configure\n");
        exit(2);
    }
    return cur;
}

struct mirage_config *mirage_config_new(const char *target)
{
    struct mirage_config *cfg = calloc(1, sizeof(*cfg));

    if (cfg == NULL)
        return NULL;
    cfg->target = target;
    cur = cfg;
    return cfg;
}

void mirage_config_free(struct mirage_config *cfg)
{
    if (cfg == NULL)
        return;
    for (int i = 0; i < cfg->ndevs; i++)
        free(cfg->devs[i]);
    for (int i = 0; i < cfg->nstrs; i++)
        free(cfg->strs[i]);
    free(cfg->strs);
    if (cur == cfg)
        cur = NULL;
    free(cfg);
}

static void out_of_memory(void)
{
    fprintf(stderr, "mirage: out of memory\n");
    exit(2);
}

const char *mirage_config_strdup(struct mirage_config *cfg, const char *s)
{
    char **strs;
    char *copy;

    if (s == NULL)
        return NULL;
    strs = realloc(cfg->strs, sizeof(*strs) * (size_t)(cfg->nstrs + 1));
    copy = strdup(s);
    if (strs == NULL || copy == NULL)
        out_of_memory();
    cfg->strs = strs;
    cfg->strs[cfg->nstrs++] = copy;
    return copy;
}

void mirage_config_error(struct mirage_config *cfg, const char *file, int line, const char *fmt,
                         ...)
{
    va_list ap;
    char *e;
    int n;

    if (cfg->nerrs == CFG_MAX_ERRS)
        return;
    e = cfg->errs[cfg->nerrs++];
    if (line > 0)
        n = snprintf(e, CFG_ERR_LEN, "%s:%d: ", file ? file : "config.c", line);
    else
        n = snprintf(e, CFG_ERR_LEN, "%s: ", file ? file : "config.c");
    if (n < 0 || n >= CFG_ERR_LEN)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(e + n, CFG_ERR_LEN - (size_t)n, fmt, ap);
    va_end(ap);
}

int mirage_config_option(struct mirage_config *cfg, const char *arg)
{
    const char *eq;
    struct cfg_opt *o;

    while (*arg == '-')
        arg++;
    eq = strchr(arg, '=');
    if (*arg == '\0' || eq == arg || cfg->nopts == CFG_MAX_OPTS)
        return -1;
    o = &cfg->opts[cfg->nopts++];
    if (eq) {
        char *name = strndup(arg, (size_t)(eq - arg));
        if (name == NULL)
            out_of_memory();
        o->name = mirage_config_strdup(cfg, name);
        free(name);
        o->value = mirage_config_strdup(cfg, eq + 1);
    } else {
        o->name = mirage_config_strdup(cfg, arg);
    }
    return 0;
}

const char *mirage_config_target(void)
{
    return need_cfg()->target;
}

int mirage_config_target_is(const char *target)
{
    return strcmp(need_cfg()->target, target) == 0;
}

static struct mirage_dev *new_dev(const char *file, int line, enum dev_kind kind, const char *impl,
                                  enum mirage_sig sig)
{
    struct mirage_config *cfg = need_cfg();
    struct mirage_dev *d;

    if (cfg->ndevs == CFG_MAX_DEVS) {
        mirage_config_error(cfg, file, line, "%s: too many devices: at most %d", impl,
                            CFG_MAX_DEVS);
        exit(1);
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        out_of_memory();
    d->id = cfg->ndevs;
    d->kind = kind;
    d->impl = impl;
    d->sig = sig;
    d->file = mirage_config_strdup(cfg, file);
    d->line = line;
    d->order = -1;
    cfg->devs[cfg->ndevs++] = d;
    return d;
}

static void add_arg(struct mirage_dev *d, struct mirage_dev *arg, enum mirage_sig want)
{
    if (d->nargs < CFG_MAX_ARGS) {
        d->args[d->nargs] = arg;
        d->want[d->nargs] = want;
        d->nargs++;
    }
}

/* Manifest names are what tenders accept: [A-Za-z0-9_], 1..59 characters. */
static int valid_dev_name(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++)
        if (!isalnum((unsigned char)s[n]) && s[n] != '_')
            return 0;
    return n > 0 && n < MIRAGE_MANIFEST_NAME_MAX;
}

static struct mirage_dev *named_dev(const char *file, int line, enum dev_kind kind,
                                    const char *impl, enum mirage_sig sig, const char *name)
{
    struct mirage_dev *d = new_dev(file, line, kind, impl, sig);

    d->arg = mirage_config_strdup(cur, name ? name : "");
    if (!valid_dev_name(name))
        mirage_config_error(cur, file, line,
                            "%s(\"%s\"): a device name is 1 to %d letters, digits or '_'", impl,
                            name ? name : "(null)", MIRAGE_MANIFEST_NAME_MAX - 1);
    return d;
}

struct mirage_dev *mirage_config_default_network(const char *file, int line)
{
    struct mirage_dev *d = new_dev(file, line, DEV_NETIF, "default_network", MIRAGE_SIG_NETWORK);

    d->arg = NULL; /* named by the target: see mirage_config_dev_name() */
    return d;
}

struct mirage_dev *mirage_config_netif(const char *file, int line, const char *name)
{
    return named_dev(file, line, DEV_NETIF, "netif", MIRAGE_SIG_NETWORK, name);
}

struct mirage_dev *mirage_config_block(const char *file, int line, const char *name)
{
    return named_dev(file, line, DEV_BLOCK, "block", MIRAGE_SIG_BLOCK, name);
}

struct mirage_dev *mirage_config_noop(const char *file, int line)
{
    return new_dev(file, line, DEV_NOOP, "noop", MIRAGE_SIG_JOB);
}

struct mirage_dev *mirage_config_default_random(const char *file, int line)
{
    return new_dev(file, line, DEV_RANDOM, "default_random", MIRAGE_SIG_RANDOM);
}

static struct cfg_opt *find_opt(const char *name);

/* The runtime key types by their config.c names, as key.h numbers them. */
static const struct {
    const char *name;
    enum mirage_key_type type;
} key_types[] = {
    {"string", MIRAGE_KEY_STRING},
    {"int", MIRAGE_KEY_INT},
    {"bool", MIRAGE_KEY_BOOL},
    {"ipv4", MIRAGE_KEY_IPV4},
    {"ipv4_prefix", MIRAGE_KEY_IPV4_PREFIX},
    {"ipv6", MIRAGE_KEY_IPV6},
    {"ipv6_prefix", MIRAGE_KEY_IPV6_PREFIX},
    {"mac", MIRAGE_KEY_MAC},
    {"list", MIRAGE_KEY_LIST},
    {"duration", MIRAGE_KEY_DURATION},
};
#define NKEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

/* The index of (name) in key_types, or NKEY_TYPES. */
static size_t key_type_index(const char *name)
{
    size_t i = 0;

    while (i < NKEY_TYPES && (name == NULL || strcmp(name, key_types[i].name) != 0))
        i++;
    return i;
}

/* Parses (text) as a value of runtime key type (type) with the boot-key
 * parser itself (lib/runtime/key_parse.c), so that configure accepts exactly
 * what every boot accepts. Returns 0, or an error code with (err). */
static int parse_as_boot_does(const char *type, long long min, long long max, const char *text,
                              char *err, size_t errsize)
{
    struct mirage_key k = {
        .name = "", .type = key_types[key_type_index(type)].type, .min = min, .max = max};
    union mirage_key_value v;
    void *mem = NULL;
    int r = mirage_key_parse_value(&k, text, &v, &mem, err, errsize);

    free(mem);
    return r;
}

/* A runtime key's default is refused here, at config.c's line, when a boot
 * would refuse it. */
static void check_default(const char *file, int line, const struct cfg_key *k)
{
    char err[200];
    long long min;

    if (k == NULL || k->def == NULL || k->type == NULL)
        return;
    min = strcmp(k->type, "duration") == 0 ? 0 : INT64_MIN; /* main.c's bounds when unranged */
    if (parse_as_boot_does(k->type, k->ranged ? k->min : min, k->ranged ? k->max : INT64_MAX,
                           k->def, err, sizeof(err)) < 0)
        mirage_config_error(cur, file, line, "runtime key --%s: the default is not a valid %s: %s",
                            k->name, k->type, err);
}

/* Registers the runtime's standard key (name) unless config.c already did,
 * with (def) as its default when not NULL. */
static void stack_runtime_key(const char *file, int line, const char *name, const char *def)
{
    struct cfg_key *k = NULL;

    for (int i = 0; i < cur->nkeys && k == NULL; i++)
        if (cur->keys[i].runtime && strcmp(cur->keys[i].name, name) == 0)
            k = &cur->keys[i];
    if (k == NULL) {
        mirage_config_standard_key(file, line, name);
        if (cur->nkeys == 0 || strcmp(cur->keys[cur->nkeys - 1].name, name) != 0)
            return;
        k = &cur->keys[cur->nkeys - 1];
    }
    if (def != NULL)
        k->def = mirage_config_strdup(cur, def);
    check_default(file, line, k);
}

/* --ipv4 / --ipv4-gateway given to configure: the runtime key's default. */
static const char *stack_address_option(const char *file, int line, const char *name, int prefix)
{
    struct cfg_opt *o = find_opt(name);
    char err[200] = "no value";

    if (o == NULL)
        return NULL;
    o->used = 1;
    if (o->value == NULL ||
        parse_as_boot_does(prefix ? "ipv4_prefix" : "ipv4", 0, 0, o->value, err, sizeof(err)) < 0) {
        mirage_config_error(cur, file, line, "--%s=%s: %s (expected %s)", name,
                            o->value ? o->value : "", err, prefix ? "A.B.C.D/PREFIX" : "A.B.C.D");
        return NULL;
    }
    return o->value;
}

/* A stack device and the keys that configure it, as MirageOS's generic stack:
 * --net=direct|socket and --no-dhcp at configure time; --ipv4 and
 * --ipv4-gateway at boot, whose defaults configure may set. */
static struct mirage_dev *stack_dev(const char *file, int line, const char *impl,
                                    struct mirage_dev *net, int socket)
{
    struct mirage_dev *d;
    const char *ipv4, *gw;
    int no_dhcp;

    need_cfg();
    no_dhcp = mirage_config_flag(file, line, "no-dhcp",
                                 "the direct stack: IPv4 from --ipv4 and --ipv4-gateway, not DHCP");
    ipv4 = stack_address_option(file, line, "ipv4", 1);
    gw = stack_address_option(file, line, "ipv4-gateway", 0);
    d = new_dev(file, line, DEV_STACK, impl, MIRAGE_SIG_STACKV4V6);
    d->stack_socket = socket;
    /* An address given to configure means a static one, as --no-dhcp does. */
    d->stack_dhcp = !socket && !no_dhcp && ipv4 == NULL;
    if (socket && strcmp(cur->target, "unix") != 0)
        mirage_config_error(cur, file, line,
                            "%s: the socket stack needs host sockets: only the unix "
                            "target has them (use the direct stack)",
                            impl);
    /* The socket stack binds to --ipv4 and --ipv6; by default to every host address. */
    stack_runtime_key(file, line, "ipv4", ipv4 ? ipv4 : socket ? "0.0.0.0/0" : NULL);
    stack_runtime_key(file, line, "ipv4-gateway", gw);
    if (d->stack_dhcp)
        stack_runtime_key(file, line, "dhcp-timeout", NULL);
    /* Every unikernel with a stack can send its log to syslog (mirage/syslog.h). */
    stack_runtime_key(file, line, "syslog", NULL);
    stack_runtime_key(file, line, "syslog-hostname", NULL);
    stack_runtime_key(file, line, "syslog-transport", NULL);
    /* ... and push metrics to a collector (mirage/metrics.h). */
    stack_runtime_key(file, line, "monitor", NULL);
    stack_runtime_key(file, line, "monitor-interval", NULL);
    /* IPv6: the direct stack's static address (link-local always), the
     * socket stack's address to bind to (:: is every one of the host's). */
    stack_runtime_key(file, line, "ipv6", socket ? "::/0" : NULL);
    if (!socket)
        stack_runtime_key(file, line, "ipv6-gateway", NULL);
    /* One family only: no IPv4 layer and no DHCP, or no IPv6 (the socket
     * stack: sockets of that family only). */
    stack_runtime_key(file, line, "ipv4-only", NULL);
    stack_runtime_key(file, line, "ipv6-only", NULL);
    if (!socket) {
        /* SLAAC and default routers from router advertisements, on by default. */
        stack_runtime_key(file, line, "accept-router-advertisements", NULL);
        add_arg(d, net, MIRAGE_SIG_NETWORK);
    }
    return d;
}

struct mirage_dev *mirage_config_generic_stackv4v6(const char *file, int line,
                                                   struct mirage_dev *net)
{
    const char *which = mirage_config_key(file, line, "net",
                                          "the stack: direct or socket (unix: socket by "
                                          "default; spt and hvt: always direct)",
                                          NULL);
    int socket = which != NULL ? strcmp(which, "socket") == 0 : mirage_config_target_is("unix");

    /* check.c refuses a --net other than direct or socket, and socket off unix. */
    if (which != NULL && strcmp(which, "socket") == 0 && !mirage_config_target_is("unix"))
        socket = 0;
    return stack_dev(file, line, "generic_stackv4v6", net, socket);
}

struct mirage_dev *mirage_config_direct_stackv4v6(const char *file, int line,
                                                  struct mirage_dev *net)
{
    return stack_dev(file, line, "direct_stackv4v6", net, 0);
}

struct mirage_dev *mirage_config_socket_stackv4v6(const char *file, int line)
{
    return stack_dev(file, line, "socket_stackv4v6", NULL, 1);
}

/* A directory crunch can embed: it exists here (configure runs beside
 * config.c), and its name is one the generated Makefile can spell. */
static int valid_crunch_dir(const char *file, int line, const char *dir)
{
    struct stat st;

    if (dir == NULL || *dir == '\0' ||
        strspn(dir, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+") !=
            strlen(dir)) {
        mirage_config_error(cur, file, line,
                            "crunch(\"%s\"): a directory name of letters, digits and _-./+",
                            dir ? dir : "(null)");
        return 0;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        mirage_config_error(cur, file, line, "crunch(\"%s\"): no such directory beside config.c",
                            dir);
        return 0;
    }
    return 1;
}

struct mirage_dev *mirage_config_crunch(const char *file, int line, const char *dir)
{
    struct mirage_dev *d = new_dev(file, line, DEV_CRUNCH, "crunch", MIRAGE_SIG_KV_RO);

    d->arg = mirage_config_strdup(cur, dir ? dir : "");
    valid_crunch_dir(file, line, dir);
    return d;
}

struct mirage_dev *mirage_config_tar_kv_ro(const char *file, int line, struct mirage_dev *block)
{
    struct mirage_dev *d = new_dev(file, line, DEV_TAR, "tar_kv_ro", MIRAGE_SIG_KV_RO);

    add_arg(d, block, MIRAGE_SIG_BLOCK);
    return d;
}

struct mirage_dev *mirage_config_kv_rw_disk(const char *file, int line, struct mirage_dev *block)
{
    struct mirage_dev *d = new_dev(file, line, DEV_KV_DISK, "kv_rw_disk", MIRAGE_SIG_KV_RW);

    add_arg(d, block, MIRAGE_SIG_BLOCK);
    return d;
}

struct mirage_dev *mirage_config_kv_rw_mem(const char *file, int line)
{
    return new_dev(file, line, DEV_KV_MEM, "kv_rw_mem", MIRAGE_SIG_KV_RW);
}

struct mirage_dev *mirage_config_ramdisk(const char *file, int line, unsigned long long size)
{
    struct mirage_dev *d = new_dev(file, line, DEV_RAMDISK, "ramdisk", MIRAGE_SIG_BLOCK);

    d->size = size;
    if (size == 0 || size % 512 != 0)
        mirage_config_error(cur, file, line,
                            "ramdisk(%llu): the size is in bytes, a non-zero multiple of 512",
                            size);
    return d;
}

/* On unix the file itself; on spt and hvt a platform block device named
 * after the file ("disk.img": disk_img), which the tender's --block gives. */
struct mirage_dev *mirage_config_block_of_file(const char *file, int line, const char *path)
{
    struct mirage_dev *d;
    char name[MIRAGE_MANIFEST_NAME_MAX];
    const char *base;
    size_t n = 0;

    need_cfg();
    if (path == NULL || *path == '\0') {
        d = new_dev(file, line, DEV_FILE, "block_of_file", MIRAGE_SIG_BLOCK);
        d->arg = mirage_config_strdup(cur, "");
        mirage_config_error(cur, file, line, "block_of_file(\"\"): no file named");
        return d;
    }
    if (strcmp(cur->target, "unix") == 0) {
        d = new_dev(file, line, DEV_FILE, "block_of_file", MIRAGE_SIG_BLOCK);
        d->arg = mirage_config_strdup(cur, path);
        return d;
    }
    base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    for (; base[n] != '\0' && n + 1 < sizeof(name); n++)
        name[n] = isalnum((unsigned char)base[n]) ? base[n] : '_';
    name[n] = '\0';
    d = named_dev(file, line, DEV_BLOCK, "block_of_file", MIRAGE_SIG_BLOCK, name);
    d->path = mirage_config_strdup(cur, path);
    return d;
}

struct mirage_dev *mirage_config_forward(const char *file, int line, enum mirage_sig sig)
{
    return new_dev(file, line, DEV_FORWARD, "forward", sig);
}

void mirage_config_define(const char *file, int line, struct mirage_dev *fwd,
                          struct mirage_dev *dev)
{
    char a[128], b[128];

    need_cfg();
    if (fwd == NULL || fwd->kind != DEV_FORWARD) {
        mirage_config_error(cur, file, line,
                            "define: the first argument is not a forward() device");
        return;
    }
    if (fwd->defined_as != NULL) {
        mirage_config_error(cur, file, line, "define: forward() of line %d is defined twice",
                            fwd->line);
        return;
    }
    if (dev == NULL) {
        mirage_config_error(cur, file, line, "define: the device is NULL");
        return;
    }
    if (dev->sig != fwd->sig) {
        mirage_config_error(cur, file, line, "%s: expected %s, given %s, a %s (%s:%d)",
                            mirage_config_dev_label(fwd, a, sizeof(a)),
                            mirage_config_sig_name(fwd->sig),
                            mirage_config_dev_label(dev, b, sizeof(b)),
                            mirage_config_sig_name(dev->sig), dev->file, dev->line);
        return;
    }
    fwd->defined_as = dev;
}

static int valid_c_name(const char *s)
{
    if (s == NULL || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

struct mirage_dev *mirage_config_job(const char *file, int line, const char *start, ...)
{
    struct mirage_dev *d = new_dev(file, line, DEV_JOB, "job", MIRAGE_SIG_JOB);
    va_list ap;
    int s;

    d->arg = mirage_config_strdup(cur, start ? start : "");
    if (!valid_c_name(start) || strcmp(start, "main") == 0 || strcmp(start, "mirage_main") == 0)
        mirage_config_error(cur, file, line,
                            "job(\"%s\"): the start function must be a C name other than main and "
                            "mirage_main (main.c defines those)",
                            start ? start : "(null)");
    va_start(ap, start);
    while ((s = va_arg(ap, int)) != MIRAGE_SIG_END) {
        if (s <= 0 || s >= MIRAGE_SIG_COUNT || s == MIRAGE_SIG_JOB) {
            mirage_config_error(cur, file, line,
                                "job(\"%s\"): argument %d is not a device signature", d->arg,
                                d->nsigs + 1);
            break;
        }
        if (d->nsigs == CFG_MAX_ARGS) {
            mirage_config_error(cur, file, line, "job(\"%s\"): more than %d devices", d->arg,
                                CFG_MAX_ARGS);
            break;
        }
        d->sigs[d->nsigs++] = (enum mirage_sig)s;
    }
    va_end(ap);
    return d;
}

static struct mirage_dev *need_job(const char *file, int line, const char *what,
                                   struct mirage_dev *job)
{
    need_cfg();
    if (job == NULL || job->kind != DEV_JOB) {
        mirage_config_error(cur, file, line, "%s: the first argument is not a job()", what);
        return NULL;
    }
    return job;
}

/* A file name the Makefile can use as it is: no spaces, quotes, '$' or "..". */
static int valid_source(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 3 || strcmp(s + n - 2, ".c") != 0 || s[0] == '/' || strstr(s, "..") != NULL)
        return 0;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("_-./+", *s) == NULL)
            return 0;
    return 1;
}

void mirage_config_job_sources(const char *file, int line, struct mirage_dev *job, ...)
{
    struct mirage_dev *j = need_job(file, line, "job_sources", job);
    const char *s;
    va_list ap;

    if (j == NULL)
        return;
    va_start(ap, job);
    while ((s = va_arg(ap, const char *)) != NULL) {
        if (!valid_source(s) || strcmp(s, "config.c") == 0) {
            mirage_config_error(
                cur, file, line,
                "job_sources: \"%s\" is not a C source in the unikernel's directory "
                "(a relative *.c path of letters, digits and _-./+, not config.c)",
                s);
            continue;
        }
        if (j->nsources == CFG_MAX_LIST) {
            mirage_config_error(cur, file, line, "job_sources: more than %d files", CFG_MAX_LIST);
            break;
        }
        j->sources[j->nsources++] = mirage_config_strdup(cur, s);
    }
    va_end(ap);
}

void mirage_config_job_library(const char *file, int line, struct mirage_dev *job, const char *lib,
                               const char *package)
{
    struct mirage_dev *j = need_job(file, line, "job_library", job);

    if (j == NULL)
        return;
    if (!valid_c_name(lib) && !(lib && *lib &&
                                strspn(lib, "abcdefghijklmnopqrstuvwxyz"
                                            "0123456789_-+.") == strlen(lib))) {
        mirage_config_error(cur, file, line, "job_library: \"%s\" is not a library name",
                            lib ? lib : "(null)");
        return;
    }
    if (package != NULL &&
        strspn(package, "abcdefghijklmnopqrstuvwxyz0123456789-+.") != strlen(package)) {
        mirage_config_error(cur, file, line, "job_library: \"%s\" is not a Debian package name",
                            package);
        return;
    }
    if (j->nlibs == CFG_MAX_LIST) {
        mirage_config_error(cur, file, line, "job_library: more than %d libraries", CFG_MAX_LIST);
        return;
    }
    j->libs[j->nlibs] = mirage_config_strdup(cur, lib);
    j->packages[j->nlibs] = mirage_config_strdup(cur, package);
    j->nlibs++;
}

void mirage_config_job_argv(const char *file, int line, struct mirage_dev *job)
{
    struct mirage_dev *j = need_job(file, line, "job_argv", job);

    if (j != NULL)
        j->argv = 1;
}

void mirage_config_register(const char *file, int line, const char *name, struct mirage_dev *job,
                            ...)
{
    struct mirage_config *cfg = need_cfg();
    struct mirage_dev *d;
    va_list ap;

    if (cfg->registered) {
        mirage_config_error(cfg, file, line,
                            "register_unikernel: called twice (first at %s:%d): register one "
                            "unikernel",
                            cfg->reg_file, cfg->reg_line);
        return;
    }
    cfg->registered = 1;
    cfg->reg_file = mirage_config_strdup(cfg, file);
    cfg->reg_line = line;
    cfg->name = mirage_config_strdup(cfg, name ? name : "");
    if (name == NULL || !isalpha((unsigned char)*name) ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
            strlen(name) ||
        strlen(name) >= MIRAGE_MANIFEST_NAME_MAX)
        mirage_config_error(cfg, file, line,
                            "register_unikernel(\"%s\"): a unikernel name is letters, digits, '-' "
                            "and '_', starting with a letter",
                            name ? name : "(null)");
    cfg->job = job;
    va_start(ap, job);
    while ((d = va_arg(ap, struct mirage_dev *)) != NULL) {
        if (cfg->napplied == CFG_MAX_ARGS) {
            mirage_config_error(cfg, file, line, "register_unikernel: more than %d devices",
                                CFG_MAX_ARGS);
            break;
        }
        cfg->applied[cfg->napplied++] = d;
    }
    va_end(ap);
}

/* Key names become command-line options: lower-case letters, digits and '-'. */
static int valid_key_name(const char *s)
{
    return s != NULL && islower((unsigned char)*s) &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s) && strlen(s) < 40;
}

static struct cfg_key *new_key(const char *file, int line, const char *name, const char *doc,
                               const char *def, int runtime)
{
    struct mirage_config *cfg = need_cfg();
    struct cfg_key *k;

    if (!valid_key_name(name)) {
        mirage_config_error(cfg, file, line,
                            "key \"%s\": a key name is lower-case letters, digits and '-', "
                            "starting with a letter",
                            name ? name : "(null)");
        return NULL;
    }
    for (int i = 0; i < cfg->nkeys; i++) {
        k = &cfg->keys[i];
        if (strcmp(k->name, name) == 0) {
            if (k->runtime == runtime && !runtime)
                return k; /* the same configure key read twice, e.g. by two stacks */
            mirage_config_error(cfg, file, line, "key --%s is declared twice (first at %s:%d)",
                                name, k->file, k->line);
            return NULL;
        }
    }
    if (cfg->nkeys == CFG_MAX_KEYS) {
        mirage_config_error(cfg, file, line, "too many keys: at most %d", CFG_MAX_KEYS);
        return NULL;
    }
    k = &cfg->keys[cfg->nkeys++];
    k->name = mirage_config_strdup(cfg, name);
    k->doc = mirage_config_strdup(cfg, doc ? doc : "");
    k->def = mirage_config_strdup(cfg, def);
    k->runtime = runtime;
    k->file = mirage_config_strdup(cfg, file);
    k->line = line;
    return k;
}

static struct cfg_opt *find_opt(const char *name)
{
    for (int i = 0; i < cur->nopts; i++)
        if (strcmp(cur->opts[i].name, name) == 0)
            return &cur->opts[i];
    return NULL;
}

const char *mirage_config_key(const char *file, int line, const char *name, const char *doc,
                              const char *def)
{
    struct cfg_key *k = new_key(file, line, name, doc, def, 0);
    struct cfg_opt *o;

    if (k == NULL)
        return def;
    if (k->flag) {
        mirage_config_error(cur, file, line, "key --%s is declared as a flag and as a key", name);
        return def;
    }
    k->value = k->def;
    o = find_opt(name);
    if (o != NULL) {
        o->used = 1;
        if (o->value == NULL)
            mirage_config_error(cur, file, line, "option --%s needs a value: --%s=VALUE", name,
                                name);
        else
            k->value = o->value;
    }
    return k->value;
}

int mirage_config_flag(const char *file, int line, const char *name, const char *doc)
{
    struct cfg_key *k = new_key(file, line, name, doc, NULL, 0);
    struct cfg_opt *o;

    if (k == NULL)
        return 0;
    k->flag = 1;
    o = find_opt(name);
    if (o == NULL)
        return 0;
    o->used = 1;
    if (o->value != NULL) {
        mirage_config_error(cur, file, line, "option --%s takes no value", name);
        return 0;
    }
    k->value = "true";
    return 1;
}

void mirage_config_runtime_key(const char *file, int line, const char *name, const char *type,
                               const char *doc, const char *def)
{
    struct cfg_key *k;
    size_t i = key_type_index(type);

    if (i == NKEY_TYPES) {
        mirage_config_error(need_cfg(), file, line,
                            "runtime key \"%s\": type \"%s\" is not one of string, int, bool, "
                            "ipv4, ipv4_prefix, ipv6, ipv6_prefix, mac, list, duration",
                            name ? name : "(null)", type ? type : "(null)");
        return;
    }
    k = new_key(file, line, name, doc, def, 1);
    if (k == NULL)
        return;
    k->type = key_types[i].name;
    check_default(file, line, k);
}

void mirage_config_runtime_key_int(const char *file, int line, const char *name, const char *doc,
                                   const char *def, long long min, long long max)
{
    struct cfg_key *k;

    if (min > max) {
        mirage_config_error(need_cfg(), file, line,
                            "runtime key \"%s\": min %lld is above max %lld",
                            name ? name : "(null)", min, max);
        return;
    }
    k = new_key(file, line, name, doc, def, 1);
    if (k == NULL)
        return;
    k->type = "int";
    k->ranged = 1;
    k->min = min;
    k->max = max;
    check_default(file, line, k);
}

/* The standard keys key.h defines; their docs and defaults live in the runtime. */
static const char *const std_keys[][4] = {
    {"ipv4", "mirage_key_ipv4", "ipv4_prefix", "10.0.0.2/24"},
    {"ipv4-gateway", "mirage_key_ipv4_gateway", "ipv4", NULL},
    {"ipv4-only", "mirage_key_ipv4_only", "bool", "false"},
    {"ipv6", "mirage_key_ipv6", "ipv6_prefix", NULL},
    {"ipv6-gateway", "mirage_key_ipv6_gateway", "ipv6", NULL},
    {"ipv6-only", "mirage_key_ipv6_only", "bool", "false"},
    {"accept-router-advertisements", "mirage_key_accept_router_advertisements", "bool", "true"},
    {"dhcp-timeout", "mirage_key_dhcp_timeout", "int", "60"},
    {"dns-servers", "mirage_key_dns_servers", "list", NULL},
    {"syslog", "mirage_key_syslog", "string", NULL},
    {"syslog-hostname", "mirage_key_syslog_hostname", "string", NULL},
    {"syslog-transport", "mirage_key_syslog_transport", "string", "udp"},
    {"monitor", "mirage_key_monitor", "string", NULL},
    {"monitor-interval", "mirage_key_monitor_interval", "duration", "10s"},
};

void mirage_config_standard_key(const char *file, int line, const char *name)
{
    struct cfg_key *k;
    size_t i;

    for (i = 0; i < sizeof(std_keys) / sizeof(std_keys[0]); i++)
        if (name != NULL && strcmp(name, std_keys[i][0]) == 0)
            break;
    if (i == sizeof(std_keys) / sizeof(std_keys[0])) {
        mirage_config_error(need_cfg(), file, line,
                            "standard_key(\"%s\"): not a standard key: use ipv4, ipv4-gateway, "
                            "ipv4-only, ipv6, ipv6-gateway, ipv6-only, "
                            "accept-router-advertisements, dhcp-timeout, dns-servers, syslog, "
                            "syslog-hostname, syslog-transport, monitor or monitor-interval",
                            name ? name : "(null)");
        return;
    }
    k = new_key(file, line, name, "(the runtime's network key)", std_keys[i][3], 1);
    if (k == NULL)
        return;
    k->type = std_keys[i][2];
    k->std = std_keys[i][1];
    check_default(file, line, k);
}

const char *mirage_config_dev_label(const struct mirage_dev *d, char *buf, size_t size)
{
    if (d->kind == DEV_JOB)
        snprintf(buf, size, "job(\"%s\")", d->arg);
    else if (d->kind == DEV_RAMDISK)
        snprintf(buf, size, "ramdisk(%llu)", d->size);
    else if (d->path != NULL)
        snprintf(buf, size, "%s(\"%s\")", d->impl, d->path);
    else if (d->arg != NULL)
        snprintf(buf, size, "%s(\"%s\")", d->impl, d->arg);
    else if (d->kind == DEV_FORWARD)
        snprintf(buf, size, "forward(%s)", mirage_config_sig_name(d->sig));
    else
        snprintf(buf, size, "%s()", d->impl);
    return buf;
}

const char *mirage_config_dev_name(const struct mirage_dev *d)
{
    if (d->kind == DEV_NETIF && d->arg == NULL)
        return cur != NULL && strcmp(cur->target, "unix") == 0 ? "tap0" : "service";
    return d->arg;
}
