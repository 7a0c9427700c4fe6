/* main.c: the configuration program's entry: runs config.c's mirage_config(), checks, generates. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"

/*
 * `mirage configure` runs this program (config.c linked with the library) in
 * the unikernel's directory:
 *   config --target=T --build=DIR --root=DIR --config=FILE --args=TEXT [--dry-run]
 *          [--no-depext] -- OPTIONS
 * OPTIONS are the user's configure keys (--name[=value]). Exit status: 0 when
 * the files are written, 1 when config.c's graph has errors, 2 on bad use.
 */

struct opts {
    const char *target, *build, *root, *args, *config;
    int dry_run, no_depext;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Without job_sources(), the application is every *.c beside config.c. */
static void default_sources(struct mirage_config *cfg, struct mirage_dev *job, const char *config)
{
    DIR *dir = opendir(".");
    struct dirent *e;

    if (dir == NULL)
        return;
    while ((e = readdir(dir)) != NULL && job->nsources < CFG_MAX_LIST) {
        size_t n = strlen(e->d_name);
        if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0 || strcmp(e->d_name, config) == 0 ||
            strspn(e->d_name,
                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.+") != n)
            continue;
        job->sources[job->nsources++] = mirage_config_strdup(cfg, e->d_name);
    }
    closedir(dir);
    qsort(job->sources, (size_t)job->nsources, sizeof(job->sources[0]), cmp_str);
    if (job->nsources == 0)
        mirage_config_error(cfg, job->file, job->line,
                            "job(\"%s\"): no C sources beside config.c: write the application "
                            "(e.g. unikernel.c) or list them with job_sources()",
                            job->arg);
}

static void sources_exist(struct mirage_config *cfg, struct mirage_dev *job)
{
    struct stat st;

    for (int i = 0; i < job->nsources; i++)
        if (stat(job->sources[i], &st) != 0 || !S_ISREG(st.st_mode))
            mirage_config_error(cfg, job->file, job->line, "job_sources: %s: no such file",
                                job->sources[i]);
}

/* Writes (text) to (path) only when it differs, so make rebuilds nothing it need not. */
static int write_file(const char *path, const char *text, size_t len, int dry_run, int always)
{
    char tmp[4096];
    FILE *f = fopen(path, "rb");
    int same = 0;

    if (f != NULL) {
        char *old = malloc(len + 1);
        if (old != NULL && fread(old, 1, len + 1, f) == len && memcmp(old, text, len) == 0)
            same = 1;
        free(old);
        fclose(f);
    }
    if (dry_run) {
        printf("would %s %s\n", same ? "keep" : "write", path);
        return 0;
    }
    if (same && !always)
        return 0;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -1;
    f = fopen(tmp, "wb");
    if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "mirage: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "mirage: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

typedef void gen_fn(const struct mirage_config *cfg, FILE *out);

struct output {
    char *text;
    size_t len;
    FILE *f;
};

static FILE *open_output(struct output *o)
{
    o->text = NULL;
    o->len = 0;
    o->f = open_memstream(&o->text, &o->len);
    if (o->f == NULL) {
        fprintf(stderr, "mirage: out of memory\n");
        exit(2);
    }
    return o->f;
}

static int close_output(struct output *o, const char *dir, const char *name, int dry_run)
{
    /* The Makefile's date says when configure last ran (see its rule for config.c). */
    int always = dir == NULL && strcmp(name, "Makefile") == 0;
    char path[4096];
    int r;

    fclose(o->f);
    if (dir != NULL)
        snprintf(path, sizeof(path), "%s/%s", dir, name);
    else
        snprintf(path, sizeof(path), "%s", name);
    r = write_file(path, o->text, o->len, dry_run, always);
    free(o->text);
    return r;
}

static int emit(const struct mirage_config *cfg, gen_fn *fn, const char *dir, const char *name,
                int dry_run)
{
    struct output o;

    fn(cfg, open_output(&o));
    return close_output(&o, dir, name, dry_run);
}

static void package_versions(const struct mirage_config *cfg, FILE *out)
{
    const struct mirage_dev *job = cfg->job;

    for (int i = 0; job->kind == DEV_JOB && i < job->nlibs; i++) {
        char cmd[256], version[128] = "";
        FILE *p;

        if (job->packages[i] == NULL)
            continue;
        /* The name was checked to be [a-z0-9+.-], so it is safe in a shell command. */
        snprintf(cmd, sizeof(cmd), "dpkg-query -W -f '${Version}' '%s' 2>/dev/null",
                 job->packages[i]);
        p = popen(cmd, "r");
        if (p != NULL) {
            if (fgets(version, sizeof(version), p) == NULL)
                version[0] = '\0';
            pclose(p);
        }
        fprintf(out, "%s %s\n", job->packages[i], version[0] ? version : "(not installed)");
    }
}

static void libraries(const struct mirage_config *cfg, const char *root, FILE *out)
{
    const struct mirage_dev *job = cfg->job;
    const char *t = strcmp(cfg->target, "unix") == 0 ? "unix" : cfg->target;

    fprintf(out, "%s/build/%s/libmirage.a\n", root, t);
    if (strcmp(t, "unix") != 0)
        fprintf(out, "%s/build/guest/libc.a\n", root);
    for (int i = 0; job->kind == DEV_JOB && i < job->nlibs; i++)
        fprintf(out, "-l%s\n", job->libs[i]);
}

static int generate(struct mirage_config *cfg, const struct opts *o)
{
    struct gen_paths paths = {.root = o->root,
                              .build = o->build,
                              .config_file = o->config,
                              .args = o->args,
                              .no_depext = o->no_depext};
    struct output out;
    int r = 0;

    if (!o->dry_run && mkdir(o->build, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mirage: cannot create %s: %s\n", o->build, strerror(errno));
        return -1;
    }
    r |= emit(cfg, mirage_gen_main, o->build, "main.c", o->dry_run);
    r |= emit(cfg, mirage_gen_start_h, o->build, "start.h", o->dry_run);
    r |= emit(cfg, mirage_gen_describe, o->build, "describe.txt", o->dry_run);
    r |= emit(cfg, mirage_gen_dot, o->build, "graph.dot", o->dry_run);
    r |= emit(cfg, mirage_gen_manifest, o->build, "manifest.txt", o->dry_run);
    if (strcmp(cfg->target, "virtio") == 0)
        r |= emit(cfg, mirage_gen_libvirt, o->build, "libvirt.xml", o->dry_run);
    package_versions(cfg, open_output(&out));
    r |= close_output(&out, o->build, "packages.txt", o->dry_run);
    libraries(cfg, o->root, open_output(&out));
    r |= close_output(&out, o->build, "libraries.txt", o->dry_run);
    fprintf(open_output(&out), "Makefile\n%s/main.c\n%s/start.h\ncompile_commands.json\n", o->build,
            o->build);
    if (strcmp(cfg->target, "virtio") == 0)
        fprintf(out.f, "%s/libvirt.xml\ndist/%s.xml\n", o->build, cfg->name);
    r |= close_output(&out, o->build, "files.txt", o->dry_run);
    mirage_gen_makefile(cfg, &paths, open_output(&out));
    r |= close_output(&out, NULL, "Makefile", o->dry_run);
    return r ? -1 : 0;
}

static const char *value_of(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

int main(int argc, char **argv)
{
    struct opts o = {.build = "_build", .root = ".", .args = "", .config = "config.c"};
    struct mirage_config *cfg;
    int i, nerrs;

    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i], *v;
        if ((v = value_of(a, "--target")) != NULL)
            o.target = v;
        else if ((v = value_of(a, "--build")) != NULL)
            o.build = v;
        else if ((v = value_of(a, "--root")) != NULL)
            o.root = v;
        else if ((v = value_of(a, "--config")) != NULL)
            o.config = v;
        else if ((v = value_of(a, "--args")) != NULL)
            o.args = v;
        else if (strcmp(a, "--dry-run") == 0)
            o.dry_run = 1;
        else if (strcmp(a, "--no-depext") == 0)
            o.no_depext = 1;
        else {
            fprintf(stderr, "%s: unknown option %s (this program is run by mirage configure)\n",
                    argv[0], a);
            return 2;
        }
    }
    if (o.target == NULL) {
        fprintf(stderr, "%s: no --target (this program is run by mirage configure)\n", argv[0]);
        return 2;
    }
    cfg = mirage_config_new(o.target);
    if (cfg == NULL)
        return 2;
    for (i++; i < argc; i++)
        if (mirage_config_option(cfg, argv[i]) < 0)
            mirage_config_error(cfg, "mirage configure", 0, "bad option '%s': use --NAME[=VALUE]",
                                argv[i]);
    mirage_config();
    nerrs = mirage_config_check(cfg);
    if (nerrs == 0 && cfg->job->kind == DEV_JOB) {
        if (cfg->job->nsources == 0)
            default_sources(cfg, cfg->job, o.config);
        else
            sources_exist(cfg, cfg->job);
        nerrs = cfg->nerrs;
    }
    if (nerrs > 0) {
        for (int e = 0; e < cfg->nerrs; e++)
            fprintf(stderr, "%s\n", cfg->errs[e]);
        mirage_config_free(cfg);
        return 1;
    }
    i = generate(cfg, &o);
    mirage_config_free(cfg);
    return i < 0 ? 2 : 0;
}
