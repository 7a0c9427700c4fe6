/* config.h: the configuration library a unikernel's config.c uses to declare its job, devices. */
#ifndef MIRAGE_CONFIG_H
#define MIRAGE_CONFIG_H

#include <stddef.h> /* NULL: a key without a default */

/*
 * config.c is a small host program: `mirage configure -t TARGET` compiles it
 * with this library and runs it. It defines mirage_config(), which declares
 * the devices, the job (the application's start function and the signatures
 * of the devices it takes, in order) and registers the unikernel:
 *
 *   #include <mirage/config.h>
 *
 *   void mirage_config(void)
 *   {
 *       struct mirage_dev *main = job("start", NETWORK, BLOCK);
 *       register_unikernel("echo", main, default_network(), block("storage"));
 *   }
 *
 * Every constructor records the line of config.c it was called from, so the
 * checker names that line when a device is used where another signature is
 * expected, a job gets the wrong number of devices, there are two random
 * generators, or the graph has a cycle. Nothing is reported while config.c
 * runs: all problems are collected and printed, one line each, at the end.
 */

/* The signature (type) of a device. */
enum mirage_sig {
    MIRAGE_SIG_END = 0, /* ends the variadic lists below; not a signature */
    MIRAGE_SIG_NETWORK, /* an Ethernet interface: struct mirage_netif * */
    MIRAGE_SIG_BLOCK,   /* a block device: struct mirage_block * (mirage/block.h) */
    MIRAGE_SIG_STACKV4V6,
    MIRAGE_SIG_KV_RO,
    MIRAGE_SIG_KV_RW,
    MIRAGE_SIG_RANDOM,
    MIRAGE_SIG_JOB, /* what register_unikernel() takes: a job, or noop() */
    MIRAGE_SIG_COUNT
};

struct mirage_dev; /* a device: an implementation applied to its arguments */

/* The signature's name as the checker prints it ("network", "kv_ro", ...). */
const char *mirage_config_sig_name(enum mirage_sig sig);

/* ---- targets ------------------------------------------------------------ */

/* The target being configured: "unix", "spt", "hvt" or "virtio". */
const char *mirage_config_target(void);
int mirage_config_target_is(const char *target);

/* ---- devices ------------------------------------------------------------ */

/* The platform's default network interface: "service" on spt/hvt, "tap0" on unix. */
struct mirage_dev *mirage_config_default_network(const char *file, int line);
/* The platform network interface declared as (name) in the manifest. */
struct mirage_dev *mirage_config_netif(const char *file, int line, const char *name);
/* The platform block device declared as (name) in the manifest. */
struct mirage_dev *mirage_config_block(const char *file, int line, const char *name);
/* A job that does nothing: the unikernel boots and exits with status 0. */
struct mirage_dev *mirage_config_noop(const char *file, int line);
/* The runtime's cryptographically secure generator (mirage/random.h): start()
 * gets struct mirage_random *. A unikernel has one: a second is an error. */
struct mirage_dev *mirage_config_default_random(const char *file, int line);

/* The TCP/IP stack (mirage/stack.h): generic_stackv4v6 is the direct stack
 * over (net), or on unix host sockets unless configure gets --net=direct. */
struct mirage_dev *mirage_config_generic_stackv4v6(const char *file, int line,
                                                   struct mirage_dev *net);
struct mirage_dev *mirage_config_direct_stackv4v6(const char *file, int line,
                                                  struct mirage_dev *net);
struct mirage_dev *mirage_config_socket_stackv4v6(const char *file, int line);

/* ---- storage (mirage/kv.h, mirage/block.h) ------------------------------ */

/* The directory (dir), beside config.c, embedded in the image by the build
 * (reproducibly; rebuilt when a file in it changes): a kv_ro store. */
struct mirage_dev *mirage_config_crunch(const char *file, int line, const char *dir);
/* An empty read-write store in memory. */
struct mirage_dev *mirage_config_kv_rw_mem(const char *file, int line);
/* A block device of (size) bytes in memory, zero-filled, 512-byte sectors. */
struct mirage_dev *mirage_config_ramdisk(const char *file, int line, unsigned long long size);
/* The host file (path) as a block device: on unix the file itself; on spt and
 * hvt the platform block device named after it ("disk.img": disk_img), which
 * the tender attaches with --block:disk_img=PATH. */
struct mirage_dev *mirage_config_block_of_file(const char *file, int line, const char *path);

/* The tar archive on (block), as GNU tar makes one, as a kv_ro store: indexed
 * at boot (a bad archive stops the boot with a message naming the problem
 * and its byte offset), values read from the device on demand. */
struct mirage_dev *mirage_config_tar_kv_ro(const char *file, int line, struct mirage_dev *block);
/* The crash-consistent store on (block) (lib/kv/disk.c, lib/kv/DISK_FORMAT.md):
 * a blank device (zeros where its superblocks go) is formatted at the first
 * boot; a device holding anything else that is not a store is refused. */
struct mirage_dev *mirage_config_kv_rw_disk(const char *file, int line, struct mirage_dev *block);

/* A placeholder of signature (sig) for a device defined later with
 * mirage_config_define(); the only way a graph can have a cycle. */
struct mirage_dev *mirage_config_forward(const char *file, int line, enum mirage_sig sig);
void mirage_config_define(const char *file, int line, struct mirage_dev *fwd,
                          struct mirage_dev *dev);

/* ---- jobs --------------------------------------------------------------- */

/* The application's (start) function taking devices of the signatures that
 * follow, in order, ended by MIRAGE_SIG_END. start returns the exit status. */
struct mirage_dev *mirage_config_job(const char *file, int line, const char *start, ...);
/* The application's source files (default: every *.c beside config.c but it),
 * ended by NULL. */
void mirage_config_job_sources(const char *file, int line, struct mirage_dev *job, ...);
/* Links library (lib) (-l(lib)), which Debian package (package) provides. */
void mirage_config_job_library(const char *file, int line, struct mirage_dev *job, const char *lib,
                               const char *package);
/* start also takes (int argc, char **argv) after its devices: the boot
 * arguments as they are, argv[0] being the unikernel's name. Such a job
 * parses its own arguments, so it declares no runtime keys. */
void mirage_config_job_argv(const char *file, int line, struct mirage_dev *job);

/* Registers the unikernel (name) running (job) applied to the devices that
 * follow, ended by NULL. Called once. */
void mirage_config_register(const char *file, int line, const char *name, struct mirage_dev *job,
                            ...);

/* ---- keys --------------------------------------------------------------- */

/* A configure-time key: `mirage configure --(name)=VALUE`. Returns the value
 * given, else (def). Such keys change what is built. */
const char *mirage_config_key(const char *file, int line, const char *name, const char *doc,
                              const char *def);
/* A configure-time switch: `mirage configure --(name)`. Returns 1 if given. */
int mirage_config_flag(const char *file, int line, const char *name, const char *doc);
/* A runtime key: a boot argument --(name)=VALUE of (type) ("string", "int",
 * "bool", "ipv4", "ipv4_prefix", "ipv6", "ipv6_prefix", "mac", "list"), with
 * (doc) and default (def, NULL for none). main.c parses it (mirage/key.h)
 * before start runs; the application reads `struct mirage_key key_NAME`
 * (NAME with '-' as '_'), which start.h declares. */
void mirage_config_runtime_key(const char *file, int line, const char *name, const char *type,
                               const char *doc, const char *def);
/* A runtime int key whose value must lie within [min, max]. */
void mirage_config_runtime_key_int(const char *file, int line, const char *name, const char *doc,
                                   const char *def, long long min, long long max);
/* One of the runtime's standard network keys (mirage/key.h, section NETWORK
 * OPTIONS): "ipv4", "ipv4-gateway", "ipv4-only", "ipv6", "ipv6-gateway",
 * "ipv6-only" or "accept-router-advertisements". The application reads it as
 * mirage_key_NAME (NAME with '-' as '_'), e.g. mirage_key_ipv4. */
void mirage_config_standard_key(const char *file, int line, const char *name);

/* config.c defines this; the library's main() calls it once. */
void mirage_config(void);

/* ---- the short names config.c uses -------------------------------------- */

#define NETWORK   MIRAGE_SIG_NETWORK
#define BLOCK     MIRAGE_SIG_BLOCK
#define STACKV4V6 MIRAGE_SIG_STACKV4V6
#define KV_RO     MIRAGE_SIG_KV_RO
#define KV_RW     MIRAGE_SIG_KV_RW
#define RANDOM    MIRAGE_SIG_RANDOM
#define JOB       MIRAGE_SIG_JOB

#define target_is_unix()  mirage_config_target_is("unix")
#define target_is_solo5()                                                                          \
    (mirage_config_target_is("spt") || mirage_config_target_is("hvt") ||                           \
     mirage_config_target_is("virtio"))
#define target_is_xen()   mirage_config_target_is("xen")
#define target_name()     mirage_config_target()

#define default_network()      mirage_config_default_network(__FILE__, __LINE__)
#define netif(name)            mirage_config_netif(__FILE__, __LINE__, name)
#define block(name)            mirage_config_block(__FILE__, __LINE__, name)
#define noop()                 mirage_config_noop(__FILE__, __LINE__)
#define generic_stackv4v6(net) mirage_config_generic_stackv4v6(__FILE__, __LINE__, net)
#define direct_stackv4v6(net)  mirage_config_direct_stackv4v6(__FILE__, __LINE__, net)
#define socket_stackv4v6()     mirage_config_socket_stackv4v6(__FILE__, __LINE__)
#define crunch(dir)            mirage_config_crunch(__FILE__, __LINE__, dir)
#define tar_kv_ro(blk)         mirage_config_tar_kv_ro(__FILE__, __LINE__, blk)
#define kv_rw_mem()            mirage_config_kv_rw_mem(__FILE__, __LINE__)
#define kv_rw_disk(blk)        mirage_config_kv_rw_disk(__FILE__, __LINE__, blk)
#define block_of_file(path)    mirage_config_block_of_file(__FILE__, __LINE__, path)
#define ramdisk(size)          mirage_config_ramdisk(__FILE__, __LINE__, size)
#define default_random()       mirage_config_default_random(__FILE__, __LINE__)
#define forward(sig)           mirage_config_forward(__FILE__, __LINE__, sig)
#define define(fwd, dev)       mirage_config_define(__FILE__, __LINE__, fwd, dev)

#define job(...)                 mirage_config_job(__FILE__, __LINE__, __VA_ARGS__, MIRAGE_SIG_END)
#define job_sources(...)         mirage_config_job_sources(__FILE__, __LINE__, __VA_ARGS__, (char *)0)
#define job_library(j, lib, pkg) mirage_config_job_library(__FILE__, __LINE__, j, lib, pkg)
#define job_argv(j)              mirage_config_job_argv(__FILE__, __LINE__, j)
#define register_unikernel(...)                                                                    \
    mirage_config_register(__FILE__, __LINE__, __VA_ARGS__, (struct mirage_dev *)0)

#define configure_key(name, doc, def) mirage_config_key(__FILE__, __LINE__, name, doc, def)
#define configure_flag(name, doc)     mirage_config_flag(__FILE__, __LINE__, name, doc)
#define runtime_key(name, type, doc, def)                                                          \
    mirage_config_runtime_key(__FILE__, __LINE__, name, type, doc, def)
#define runtime_key_int(name, doc, def, min, max)                                                  \
    mirage_config_runtime_key_int(__FILE__, __LINE__, name, doc, def, min, max)
#define standard_key(name) mirage_config_standard_key(__FILE__, __LINE__, name)

#endif
