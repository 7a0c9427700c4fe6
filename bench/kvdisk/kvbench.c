/* kvbench.c: kv_rw_disk set/get per second (durable on return) beside SQLite, and mount time after a crash. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/kv/disk.h"
#include "../../tool/kv/fileblock.h"

/*
 * usage: kvbench DIR [--n=N] [--mount-gib=G]
 * In DIR (a directory on the disk to measure), one run:
 *  - kv_rw_disk (the store code the unikernels link, over an image file:
 *    pwrite and fdatasync) sets N values of 100 B and N/10 of 64 KiB under new
 *    keys, each durable when the call returns, then gets them in random order;
 *  - SQLite (Debian's libsqlite3), synchronous=FULL, one transaction per
 *    insert, journal_mode DELETE (the default) and WAL, the same keys and values;
 *  - mount time of a store of G GiB filled with 64 KiB values, after a writer
 *    on it was SIGKILLed, with the image in the page cache and evicted from it.
 */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "kvbench: %s: %s\n", what, why);
    exit(1);
}

static void make_image(const char *path, uint64_t size)
{
    struct fileblock f;
    char msg[320];
    uint64_t uuid = 7;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

    if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
        die(path, strerror(errno));
    close(fd);
    if (fileblock_open(&f, path, 1, 512) < 0)
        die(path, strerror(errno));
    if (kvd_format(&f.blk, uuid, msg, sizeof msg))
        die(path, msg);
    mirage_block_disconnect(&f.blk);
}

static struct kvd *mount(struct fileblock *f, const char *path)
{
    struct kvd *s;
    char msg[320];

    if (fileblock_open(f, path, 1, 512) < 0)
        die(path, strerror(errno));
    if (kvd_mount(&f->blk, NULL, &s, msg, sizeof msg))
        die(path, msg);
    return s;
}

static void shuffle(int *idx, int n)
{
    for (int i = 0; i < n; i++)
        idx[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = rand() % (i + 1), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

static void row(const char *what, size_t size, int n, double set_s, double get_s)
{
    printf("| %s | %zu B | %d | %.0f | %.0f |\n", what, size, n, n / set_s, n / get_s);
    fflush(stdout);
}

static void bench_kvd(const char *dir, size_t size, int n)
{
    char path[600], key[32];
    uint8_t *v = malloc(size), *got;
    size_t len;
    int *idx = malloc(n * sizeof *idx);
    struct fileblock f;
    double t0, t1, t2;

    snprintf(path, sizeof path, "%s/kv.img", dir);
    make_image(path, (uint64_t)n * (size + 4096) * 2 + (64 << 20));
    struct kvd *s = mount(&f, path);
    memset(v, 'v', size);
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "/k%07d", i);
        memcpy(v, &i, sizeof i);
        if (kvd_set(s, key, v, size))
            die("set", kvd_message(s));
    }
    t1 = now_s();
    shuffle(idx, n);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "/k%07d", idx[i]);
        if (kvd_get(s, key, &got, &len) || len != size || memcmp(got, &idx[i], sizeof(int)))
            die("get", kvd_message(s));
        free(got);
    }
    t2 = now_s();
    row("kv_rw_disk (host file, fdatasync)", size, n, t1 - t0, t2 - t1);
    kvd_unmount(s);
    mirage_block_disconnect(&f.blk);
    unlink(path);
    free(v);
    free(idx);
}

static void bench_sqlite(const char *dir, size_t size, int n, const char *mode)
{
    char path[600], key[32], sql[200], name[80];
    uint8_t *v = malloc(size);
    int *idx = malloc(n * sizeof *idx);
    sqlite3 *db;
    sqlite3_stmt *ins, *sel;
    double t0, t1, t2;

    snprintf(path, sizeof path, "%s/kv.sqlite", dir);
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=%s; PRAGMA synchronous=FULL; "
             "CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB);",
             mode);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die("sqlite", sqlite3_errmsg(db));
    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv VALUES(?, ?)", -1, &ins, NULL);
    sqlite3_prepare_v2(db, "SELECT v FROM kv WHERE k = ?", -1, &sel, NULL);
    memset(v, 'v', size);
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "/k%07d", i);
        memcpy(v, &i, sizeof i);
        sqlite3_bind_text(ins, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 2, v, (int)size, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("sqlite insert", sqlite3_errmsg(db));
        sqlite3_reset(ins);
    }
    t1 = now_s();
    shuffle(idx, n);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "/k%07d", idx[i]);
        sqlite3_bind_text(sel, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(sel) != SQLITE_ROW || (size_t)sqlite3_column_bytes(sel, 0) != size ||
            memcmp(sqlite3_column_blob(sel, 0), &idx[i], sizeof(int)))
            die("sqlite select", sqlite3_errmsg(db));
        sqlite3_reset(sel);
    }
    t2 = now_s();
    snprintf(name, sizeof name, "SQLite %s, synchronous=FULL", mode);
    row(name, size, n, t1 - t0, t2 - t1);
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    sqlite3_close(db);
    unlink(path);
    free(v);
    free(idx);
}

static double time_mount(const char *path, int evict, struct kvd_stats *st)
{
    struct fileblock f;
    double t0;

    if (evict) {
        int fd = open(path, O_RDONLY);
        fdatasync(fd);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    t0 = now_s();
    struct kvd *s = mount(&f, path);
    double t = now_s() - t0;
    kvd_stats(s, st);
    kvd_unmount(s);
    mirage_block_disconnect(&f.blk);
    return t;
}

static void bench_mount(const char *dir, int gib)
{
    char path[600], key[32];
    uint64_t size = (uint64_t)gib << 30;
    uint8_t *v = malloc(65536);
    struct fileblock f;
    struct kvd_stats st;
    int n = 0;
    double t0 = now_s();

    snprintf(path, sizeof path, "%s/mount.img", dir);
    make_image(path, size);
    struct kvd *s = mount(&f, path);
    memset(v, 'm', 65536);
    /* fill to 90% with 64 KiB values */
    for (; (uint64_t)n * 65536 < size / 10 * 9; n++) {
        snprintf(key, sizeof key, "/fill/%06d", n);
        if (kvd_set(s, key, v, 65536))
            die("fill", kvd_message(s));
    }
    kvd_unmount(s);
    mirage_block_disconnect(&f.blk);
    double fill = now_s() - t0;
    /* a writer overwriting small and large values, SIGKILLed after 300 ms */
    pid_t pid = fork();
    if (pid == 0) {
        s = mount(&f, path);
        for (int i = 0;; i++) {
            snprintf(key, sizeof key, "/fill/%06d", i % n);
            kvd_set(s, key, v, i % 3 ? 100 : 65536);
        }
    }
    usleep(300000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    double warm = time_mount(path, 0, &st);
    double cold = time_mount(path, 1, &st);
    printf("\nStore of %d GiB, %llu values (%.0f MiB) filled in %.1f s; after a SIGKILLed writer "
           "the mount replays %llu journal records over a %llu-byte checkpoint:\n\n",
           gib, (unsigned long long)st.values, st.value_bytes / 1048576.0, fill,
           (unsigned long long)st.replayed, (unsigned long long)st.index_bytes);
    printf("| mount after a crash | image in the page cache | image evicted (posix_fadvise DONTNEED) |\n");
    printf("|---|---|---|\n");
    printf("| kv_rw_disk, %d GiB | %.1f ms | %.1f ms |\n", gib, warm * 1e3, cold * 1e3);
    unlink(path);
    free(v);
}

int main(int argc, char **argv)
{
    int n = 2000, gib = 1;

    if (argc < 2)
        die("usage", "kvbench DIR [--n=N] [--mount-gib=G]");
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--n=", 4) == 0)
            n = atoi(argv[i] + 4);
        else if (strncmp(argv[i], "--mount-gib=", 12) == 0)
            gib = atoi(argv[i] + 12);
    }
    srand(1);
    printf("| store | value | keys | set/s (durable) | get/s |\n|---|---|---|---|---|\n");
    bench_kvd(argv[1], 100, n);
    bench_sqlite(argv[1], 100, n, "DELETE");
    bench_sqlite(argv[1], 100, n, "WAL");
    bench_kvd(argv[1], 65536, n / 10);
    bench_sqlite(argv[1], 65536, n / 10, "DELETE");
    bench_sqlite(argv[1], 65536, n / 10, "WAL");
    if (gib > 0)
        bench_mount(argv[1], gib);
    return 0;
}
