/* model.h: the configuration library's device graph, keys and errors, shared by its files. */
#ifndef TOOL_CONFIG_MODEL_H
#define TOOL_CONFIG_MODEL_H

#include <stdio.h>

#include "mirage/config.h"

#define CFG_MAX_DEVS 256
#define CFG_MAX_ARGS 16
#define CFG_MAX_KEYS 64
#define CFG_MAX_OPTS 64
#define CFG_MAX_ERRS 32
#define CFG_MAX_LIST 64
#define CFG_ERR_LEN  400

/* How a device comes to exist in main.c. */
enum dev_kind {
    DEV_NETIF,   /* platform net device, acquired by manifest name */
    DEV_BLOCK,   /* platform block device, acquired by manifest name */
    DEV_NOOP,    /* a job that does nothing */
    DEV_JOB,     /* the application's start function, not yet applied */
    DEV_FORWARD, /* a placeholder resolved by mirage_config_define() */
    DEV_STACK,   /* a TCP/IP stack: direct over its network argument, or host sockets */
    DEV_RANDOM,  /* the runtime's generator: mirage_random_default() */
    DEV_CRUNCH,  /* a directory embedded by the build (arg: the directory) */
    DEV_KV_MEM,  /* a read-write store in memory */
    DEV_KV_DISK, /* kv_rw_disk: the store on a block device (args[0]) */
    DEV_TAR,     /* tar_kv_ro: a tar archive on a block device (args[0]) */
    DEV_RAMDISK, /* a block device in memory (size bytes) */
    DEV_FILE,    /* unix: a host file as a block device (arg: its path) */
};

struct mirage_dev {
    int id;
    enum dev_kind kind;
    const char *impl; /* the constructor's name, as config.c spells it */
    enum mirage_sig sig;
    const char *arg; /* the constructor's string argument, or NULL */
    const char *file;
    int line;
    int nargs;
    struct mirage_dev *args[CFG_MAX_ARGS];
    enum mirage_sig want[CFG_MAX_ARGS]; /* the signature each argument must have */
    struct mirage_dev *defined_as;      /* DEV_FORWARD, once defined */
    /* DEV_STACK */
    int stack_socket; /* host sockets (unix), else the direct stack over args[0] */
    int stack_dhcp;   /* direct: DHCP unless --ipv4 is given at boot */
    /* DEV_RAMDISK: bytes; block_of_file on spt/hvt (a DEV_BLOCK): the file */
    unsigned long long size;
    const char *path;
    /* DEV_JOB */
    int nsigs;
    enum mirage_sig sigs[CFG_MAX_ARGS];
    int argv;
    int nsources;
    const char *sources[CFG_MAX_LIST];
    int nlibs;
    const char *libs[CFG_MAX_LIST];
    const char *packages[CFG_MAX_LIST];
    /* set by the checker */
    int mark;
    int order; /* position in main.c's creation order, -1 if unused */
};

struct cfg_key {
    const char *name, *doc, *def, *type, *value;
    int runtime; /* a boot argument, else configure-time */
    int flag;    /* a configure-time switch without a value */
    int ranged;  /* an int key with its own bounds */
    long long min, max;
    const char *std; /* a standard key of mirage/key.h: its C name (mirage_key_ipv4) */
    const char *file;
    int line;
};

/* A configure option given on the command line: --name or --name=value. */
struct cfg_opt {
    const char *name;
    const char *value; /* NULL for --name */
    int used;
};

struct mirage_config {
    const char *target;
    int ndevs;
    struct mirage_dev *devs[CFG_MAX_DEVS];
    int nkeys;
    struct cfg_key keys[CFG_MAX_KEYS];
    int nopts;
    struct cfg_opt opts[CFG_MAX_OPTS];
    /* the registered unikernel */
    const char *name;
    struct mirage_dev *job;
    int napplied;
    struct mirage_dev *applied[CFG_MAX_ARGS];
    const char *reg_file;
    int reg_line;
    int registered;
    /* the devices main.c creates, in dependency order */
    int norder;
    struct mirage_dev *order[CFG_MAX_DEVS];
    int nerrs;
    char errs[CFG_MAX_ERRS][CFG_ERR_LEN];
    int nstrs;
    char **strs;
};

/* Starts a configuration for (target); later mirage_config_* calls record into it. */
struct mirage_config *mirage_config_new(const char *target);
void mirage_config_free(struct mirage_config *cfg);

/* Adds a configure option "--name[=value]" or "name[=value]"; returns 0 or -1 if malformed. */
int mirage_config_option(struct mirage_config *cfg, const char *arg);

/* Checks the graph once mirage_config() has run: fills cfg->errs and
 * cfg->order; returns the number of errors. */
int mirage_config_check(struct mirage_config *cfg);

/* Records an error "FILE:LINE: message" (printf-style). */
void mirage_config_error(struct mirage_config *cfg, const char *file, int line, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));

/* A copy of (s) the configuration owns. */
const char *mirage_config_strdup(struct mirage_config *cfg, const char *s);

/* How the device is written in config.c, e.g. block("disk"), into (buf). */
const char *mirage_config_dev_label(const struct mirage_dev *d, char *buf, size_t size);

/* The manifest name of a platform device (net or block) on cfg's target. */
const char *mirage_config_dev_name(const struct mirage_dev *d);

/* ---- generation (gen.c) ---- */

struct gen_paths {
    const char *root;  /* the repository with build/ and include/ */
    const char *build; /* the build directory, relative to the unikernel directory */
    const char *config_file;
    const char *args; /* the configure arguments, for the Makefile's header */
    int no_depext;    /* leave the Debian packages out of `make all` */
};

/* Each writes one generated file's text to (out). */
void mirage_gen_main(const struct mirage_config *cfg, FILE *out);
void mirage_gen_start_h(const struct mirage_config *cfg, FILE *out);
void mirage_gen_makefile(const struct mirage_config *cfg, const struct gen_paths *p, FILE *out);
void mirage_gen_describe(const struct mirage_config *cfg, FILE *out);
void mirage_gen_dot(const struct mirage_config *cfg, FILE *out);
void mirage_gen_manifest(const struct mirage_config *cfg, FILE *out);
/* libvirt.c: -t virtio's options checked (marked used, errors recorded), and
 * the libvirt domain they describe. */
void mirage_config_check_virtio(struct mirage_config *cfg);
void mirage_gen_libvirt(const struct mirage_config *cfg, FILE *out);

#endif
