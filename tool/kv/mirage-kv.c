/* mirage-kv.c: the host tool for kv_rw_disk images: make, list, get, put, remove, rename, check. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/kv/disk.h"
#include "fileblock.h"

/*
 * The same store code as the unikernels (lib/kv/disk.c) over an image file:
 * pread, pwrite and fdatasync. Exit statuses: 0 done (check: no damage),
 * 1 the operation failed (check: damage found, listed), 2 usage, or the image
 * is not a store or cannot be mounted.
 */

static const char usage[] =
    "usage: mirage-kv COMMAND IMAGE ...\n"
    "  format IMAGE SIZE [--sector-size=512|4096]  a new empty store of SIZE (K, M, G suffixes)\n"
    "  make IMAGE DIR [--size=SIZE] [--sector-size=N]  a store holding DIR's files (keys /PATH)\n"
    "  ls IMAGE [KEY] [-R]       the entries of a dictionary (-R: every key below, with sizes)\n"
    "  get IMAGE KEY [FILE]      a value, to FILE or standard output\n"
    "  put IMAGE KEY [FILE]      a value from FILE or standard input (parents are created)\n"
    "  rm IMAGE KEY              a value, or a dictionary and everything under it\n"
    "  mv IMAGE SRC DEST         rename (into DEST when it is a dictionary)\n"
    "  check IMAGE               read everything; report and exit 1 on any damage\n"
    "  info IMAGE                superblocks, space, journal\n";

static void die(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mirage-kv: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(status);
}

static uint64_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    if (end == s)
        die(2, "size '%s': not a number", s);
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1024ull * 1024 * 1024, end++;
    if (*end || v > UINT64_MAX / mul)
        die(2, "size '%s': expected a number with an optional K, M or G", s);
    return v * mul;
}

static uint64_t wall_ns(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct mirage_block *open_dev(struct fileblock *f, const char *path, int writable,
                                     uint32_t ss)
{
    if (fileblock_open(f, path, writable, ss) < 0)
        die(2, "%s: %s", path, strerror(errno));
    return &f->blk;
}

static struct kvd *mount_or_die(struct mirage_block *d, const char *path)
{
    static const struct kvd_opts opts = {wall_ns, NULL, 0};
    struct kvd *s;
    char msg[400];
    int r = kvd_mount(d, &opts, &s, msg, sizeof msg);
    if (r)
        die(2, "%s: %s", path, msg);
    return s;
}

static void format_file(const char *path, uint64_t size, uint32_t ss)
{
    struct fileblock f;
    char msg[400];
    uint64_t uuid;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

    if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
        die(1, "%s: %s", path, strerror(errno));
    close(fd);
    if (getrandom(&uuid, sizeof uuid, 0) != sizeof uuid)
        die(1, "getrandom: %s", strerror(errno));
    struct mirage_block *d = open_dev(&f, path, 1, ss);
    int r = kvd_format(d, uuid, msg, sizeof msg);
    if (r)
        die(1, "%s: %s", path, msg);
    mirage_block_disconnect(d);
}

static uint8_t *slurp(FILE *in, size_t *len)
{
    size_t cap = 65536, n = 0;
    uint8_t *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, in)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(b, cap * 2);
            if (nb == NULL)
                free(b);
            b = nb;
            cap *= 2;
        }
    }
    if (b == NULL || ferror(in))
        die(1, "reading the value: %s", b ? strerror(errno) : "out of memory");
    *len = n;
    return b;
}

/* Adds DIR's regular files under (prefix), depth first; counts bytes. */
static void add_dir(struct kvd *s, const char *dir, const char *prefix, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL)
        die(1, "%s: %s", dir, strerror(errno));
    if (depth > KVD_DEPTH_MAX)
        die(1, "%s: deeper than %d levels", dir, KVD_DEPTH_MAX);
    while ((e = readdir(d)) != NULL) {
        char path[4096], key[KVD_KEY_MAX + 2];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if ((size_t)snprintf(key, sizeof key, "%s/%s", prefix, e->d_name) >= sizeof key)
            die(1, "%s: the key would be longer than %d bytes", path, KVD_KEY_MAX);
        if (lstat(path, &st) < 0)
            die(1, "%s: %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode)) {
            add_dir(s, path, key, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            FILE *in = fopen(path, "rb");
            size_t len;
            if (in == NULL)
                die(1, "%s: %s", path, strerror(errno));
            uint8_t *v = slurp(in, &len);
            fclose(in);
            int r = kvd_set(s, key, v, len);
            free(v);
            if (r)
                die(1, "%s: %s", path, kvd_message(s));
        } else {
            fprintf(stderr, "mirage-kv: %s: skipped (not a regular file or directory)\n", path);
        }
    }
    closedir(d);
}

static uint64_t dir_bytes(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t sum = 0;

    if (d == NULL || depth > KVD_DEPTH_MAX)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0)
            sum += S_ISDIR(st.st_mode) ? dir_bytes(path, depth + 1)
                                       : ((uint64_t)st.st_size + 4095) / 4096 * 4096 + 256;
    }
    closedir(d);
    return sum;
}

struct walk {
    struct kvd *s;
    char path[KVD_KEY_MAX + 2];
    int recursive;
};

static void print_entry(void *ctx, const char *name, enum kvd_kind kind)
{
    struct walk *w = ctx;
    size_t len = strlen(w->path);
    char full[KVD_KEY_MAX + 2];
    uint64_t size = 0;

    if ((size_t)snprintf(full, sizeof full, "%s/%s", len == 1 ? "" : w->path, name) >=
        sizeof full)
        return;
    if (!w->recursive) {
        printf("%s%s\n", name, kind == KVD_DICT ? "/" : "");
        return;
    }
    if (kind == KVD_DICT) {
        struct walk sub = {w->s, "", 1};
        snprintf(sub.path, sizeof sub.path, "%s", full);
        printf("%s/\n", full);
        kvd_list(w->s, full, print_entry, &sub);
    } else {
        kvd_size(w->s, full, &size);
        printf("%s %llu\n", full, (unsigned long long)size);
    }
}

static void print_line(void *ctx, const char *line)
{
    long *n = ctx;
    printf("%s\n", line);
    if (n)
        (*n)++;
}

static int check(const char *path, uint32_t ss)
{
    struct fileblock f;
    struct mirage_block *d = open_dev(&f, path, 0, ss);
    static const struct kvd_opts opts = {wall_ns, NULL, 0};
    struct kvd *s;
    struct kvd_stats st;
    char msg[400];
    long bad = 0;

    printf("%s: %llu bytes\n", path, (unsigned long long)mirage_block_bytes(d));
    kvd_describe_superblocks(d, print_line, NULL);
    int r = kvd_mount(d, &opts, &s, msg, sizeof msg);
    if (r) {
        printf("DAMAGED: %s\n", msg);
        return r == MIRAGE_EINVAL ? 2 : 1;
    }
    kvd_stats(s, &st);
    if (st.superblock_bad)
        printf("DAMAGED: superblock %s unreadable (the other one is in use)\n",
               st.superblock_bad == 1 ? "0" : "1");
    printf("index: %llu values (%llu bytes), %llu dictionaries, checkpoint generation %llu, "
           "%llu journal records replayed\n",
           (unsigned long long)st.values, (unsigned long long)st.value_bytes,
           (unsigned long long)st.dicts, (unsigned long long)st.generation,
           (unsigned long long)st.replayed);
    bad = kvd_verify(s, print_line, NULL);
    printf("%s: %ld damaged extent%s%s\n", bad || st.superblock_bad ? "DAMAGED" : "clean", bad,
           bad == 1 ? "" : "s", st.superblock_bad ? ", 1 damaged superblock" : "");
    kvd_unmount(s);
    mirage_block_disconnect(d);
    return bad || st.superblock_bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    uint32_t ss = 512;
    uint64_t size = 0;
    int recursive = 0, n = 0;
    char *args[8];

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--sector-size=", 14) == 0) {
            ss = (uint32_t)parse_size(argv[i] + 14);
            if (ss != 512 && ss != 1024 && ss != 2048 && ss != 4096)
                die(2, "--sector-size: 512, 1024, 2048 or 4096");
        } else if (strncmp(argv[i], "--size=", 7) == 0) {
            size = parse_size(argv[i] + 7);
        } else if (strcmp(argv[i], "-R") == 0) {
            recursive = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (n < 8) {
            args[n++] = argv[i];
        } else {
            die(2, "too many arguments\n%s", usage);
        }
    }
    if (n < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = args[0], *img = args[1];
    struct fileblock f;
    struct mirage_block *d;
    struct kvd *s;
    int r;

    if (strcmp(cmd, "format") == 0 && n == 3) {
        format_file(img, parse_size(args[2]), ss);
        return 0;
    }
    if (strcmp(cmd, "make") == 0 && n == 3) {
        if (size == 0) {
            size = dir_bytes(args[2], 0) * 2 + 4 * 1024 * 1024;
            size = (size + 4095) / 4096 * 4096;
        }
        format_file(img, size, ss);
        d = open_dev(&f, img, 1, ss);
        s = mount_or_die(d, img);
        add_dir(s, args[2], "", 0);
        kvd_unmount(s);
        return 0;
    }
    if (strcmp(cmd, "check") == 0 && n == 2)
        return check(img, ss);
    if (strcmp(cmd, "info") == 0 && n == 2) {
        struct kvd_stats st;
        d = open_dev(&f, img, 0, ss);
        kvd_describe_superblocks(d, print_line, NULL);
        s = mount_or_die(d, img);
        kvd_stats(s, &st);
        printf("units %llu (4 KiB), data %llu, free %llu; journal %llu bytes, %llu used; "
               "index %llu bytes; %llu values (%llu bytes), %llu dictionaries\n",
               (unsigned long long)st.units, (unsigned long long)st.data_units,
               (unsigned long long)st.free_units, (unsigned long long)st.journal_bytes,
               (unsigned long long)st.journal_used, (unsigned long long)st.index_bytes,
               (unsigned long long)st.values, (unsigned long long)st.value_bytes,
               (unsigned long long)st.dicts);
        kvd_unmount(s);
        return 0;
    }
    int writes = strcmp(cmd, "put") == 0 || strcmp(cmd, "rm") == 0 || strcmp(cmd, "mv") == 0;
    d = open_dev(&f, img, writes, ss);
    s = mount_or_die(d, img);
    if (strcmp(cmd, "ls") == 0 && n <= 3) {
        struct walk w = {s, "", recursive};
        snprintf(w.path, sizeof w.path, "%s", n == 3 ? args[2] : "/");
        r = kvd_list(s, w.path, print_entry, &w);
    } else if (strcmp(cmd, "get") == 0 && (n == 3 || n == 4)) {
        uint8_t *v;
        size_t len;
        r = kvd_get(s, args[2], &v, &len);
        if (r == 0) {
            FILE *out = n == 4 ? fopen(args[3], "wb") : stdout;
            if (out == NULL || fwrite(v, 1, len, out) != len || fflush(out))
                die(1, "%s: %s", n == 4 ? args[3] : "stdout", strerror(errno));
            if (n == 4)
                fclose(out);
            free(v);
        }
    } else if (strcmp(cmd, "put") == 0 && (n == 3 || n == 4)) {
        FILE *in = n == 4 ? fopen(args[3], "rb") : stdin;
        size_t len;
        if (in == NULL)
            die(1, "%s: %s", args[3], strerror(errno));
        uint8_t *v = slurp(in, &len);
        r = kvd_set(s, args[2], v, len);
        free(v);
    } else if (strcmp(cmd, "rm") == 0 && n == 3) {
        r = kvd_remove(s, args[2]);
    } else if (strcmp(cmd, "mv") == 0 && n == 4) {
        r = kvd_rename(s, args[2], args[3]);
    } else {
        fputs(usage, stderr);
        return 2;
    }
    if (r)
        die(1, "%s: %s", img, kvd_message(s));
    kvd_unmount(s);
    mirage_block_disconnect(d);
    return 0;
}
