/* mirage.c: the mirage command: configure, build, clean, query, describe, help for a unikernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crunch.h"
#include "state.h"

#ifndef MIRAGE_ROOT
#define MIRAGE_ROOT "."
#endif
#define MIRAGE_VERSION "0.1.0"
#define DEFAULT_BUILD  "_build"
#define MAX_ARGV       128

static const char *const targets[] = {"unix", "spt", "hvt", "virtio"};
static const char *const unsupported[] = {"xen", "qubes", "muen", "genode", "macosx"};
#define SUPPORTED "unix, spt, hvt or virtio"

struct help {
    const char *cmd, *usage, *text;
};

static const struct help helps[] = {
    {"configure",
     "mirage configure [-t unix|spt|hvt|virtio] [-f FILE] [-o DIR] [--dry-run] [--no-depext] "
     "[--KEY[=V]]",
     "Compiles and runs config.c (or FILE) for the target (default unix), checks its device\n"
     "graph and writes DIR/main.c (default _build), DIR/start.h and the Makefile. --KEY=V sets\n"
     "a configure key config.c declares; --dry-run only says what would be written."},
    {"build", "mirage build [-t TARGET] [-f FILE] [--verbose]",
     "Builds dist/NAME (unix) or dist/NAME.spt / .hvt / .virtio with make, configuring again\n"
     "first if config.c changed; prints how to run it. --verbose shows every command."},
    {"clean", "mirage clean [-f FILE]", "Removes what configure and build wrote."},
    {"query", "mirage query [-f FILE] name|packages|libraries|files|manifest|Makefile|libvirt",
     "Prints one thing configure decided."},
    {"describe", "mirage describe [-f FILE] [--dot]",
     "Prints the job, the devices in creation order and the keys; --dot prints the device\n"
     "graph for Graphviz (mirage describe --dot | dot -Tsvg > graph.svg)."},
    {"help", "mirage help [COMMAND]", "Prints how to use mirage or one command."},
    {"crunch", "mirage crunch DIR OUT SYMBOL",
     "Embeds directory DIR for config.c's crunch(\"DIR\"): writes OUT.c, OUT.bin and OUT.d\n"
     "(the build runs it; the output depends only on DIR's paths, contents and times,\n"
     "the times clamped to SOURCE_DATE_EPOCH when it is set)."},
};
#define NHELPS (sizeof(helps) / sizeof(helps[0]))

static const char *root(void)
{
    const char *r = getenv("MIRAGE_ROOT");
    return r != NULL && *r != '\0' ? r : MIRAGE_ROOT;
}

static int fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "mirage: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    return 1;
}

/* Runs argv[0] with (argv); returns its exit status, or 127 if it could not start. */
static int run(const char *const argv[])
{
    pid_t pid;
    int status;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv); /* execvp does not write them */
        fprintf(stderr, "mirage: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 127;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reads a whole small file into a new buffer; NULL if it cannot. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t cap = 1 << 20;

    if (f == NULL)
        return NULL;
    buf = malloc(cap + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    *len = fread(buf, 1, cap, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static int print_file(const char *path)
{
    size_t len;
    char *text = slurp(path, &len);

    if (text == NULL)
        return fail("cannot read %s: configure again%s", path, "");
    fwrite(text, 1, len, stdout);
    free(text);
    return 0;
}

/* ---- command lines ---- */

struct args {
    const char *cmd;
    const char *target; /* -t */
    const char *file;   /* -f: the config file, default config.c */
    const char *build;  /* -o */
    int dry_run, no_depext, verbose, dot;
    int from_build; /* configure run again by build */
    int nkeys;
    const char *keys[MAX_ARGV]; /* --KEY[=V] for config.c */
    int npos;
    const char *pos[4];
};

static int known_target(const char *t)
{
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
        if (strcmp(t, targets[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (strcmp(t, unsupported[i]) == 0)
            return fail("target '%s' is not supported yet: use %s", t, SUPPORTED) - 1;
    return fail("unknown target '%s': use %s", t, SUPPORTED) - 1;
}

/* Options with a value: "-t V", "-tV", "--target=V", "--target V". */
static const char *opt_value(int argc, char **argv, int *i, const char *s, const char *l)
{
    const char *a = argv[*i];
    size_t ln = strlen(l);

    if (strcmp(a, s) == 0 || strcmp(a, l) == 0) {
        if (*i + 1 >= argc) {
            fail("option %s needs a value", a, "");
            return "";
        }
        return argv[++*i];
    }
    if (strncmp(a, l, ln) == 0 && a[ln] == '=')
        return a + ln + 1;
    if (strncmp(a, s, 2) == 0 && a[2] != '\0' && a[1] != '-')
        return a + 2;
    return NULL;
}

/* Parses argv[first..] for (cmd); returns 0 or 1 after naming the problem. */
static int parse_args(int argc, char **argv, int first, struct args *a)
{
    int keys_ok = strcmp(a->cmd, "configure") == 0;

    for (int i = first; i < argc; i++) {
        const char *s = argv[i], *v;
        if ((v = opt_value(argc, argv, &i, "-t", "--target")) != NULL) {
            if (*v == '\0')
                return 1;
            a->target = v;
        } else if ((v = opt_value(argc, argv, &i, "-f", "--file")) != NULL) {
            if (*v == '\0')
                return 1;
            a->file = v;
        } else if (keys_ok && (v = opt_value(argc, argv, &i, "-o", "--output")) != NULL) {
            if (*v == '\0')
                return 1;
            a->build = v;
        } else if (keys_ok && strcmp(s, "--dry-run") == 0) {
            a->dry_run = 1;
        } else if (keys_ok && strcmp(s, "--no-depext") == 0) {
            a->no_depext = 1;
        } else if (strcmp(a->cmd, "build") == 0 &&
                   (strcmp(s, "--verbose") == 0 || strcmp(s, "-v") == 0)) {
            a->verbose = 1;
        } else if (strcmp(a->cmd, "describe") == 0 && strcmp(s, "--dot") == 0) {
            a->dot = 1;
        } else if (keys_ok && strncmp(s, "--", 2) == 0 && s[2] != '\0' && strchr(s, '\n') == NULL &&
                   strlen(s) < STATE_ARG_LEN) {
            if (a->nkeys == MAX_ARGV)
                return fail("too many options%s%s", "", "");
            a->keys[a->nkeys++] = s; /* config.c says whether it declares it */
        } else if (s[0] == '-') {
            return fail("unknown option '%s' for '%s': see 'mirage help'", s, a->cmd);
        } else {
            if (a->npos == 4)
                return fail("unexpected argument '%s' for '%s'", s, a->cmd);
            a->pos[a->npos++] = s;
        }
    }
    if (a->target != NULL && !known_target(a->target))
        return 1;
    return 0;
}

/* Moves into the directory of the config file; the rest works there. */
static int enter_unikernel_dir(struct args *a, const char **config)
{
    static char dir[4096];
    const char *file = a->file ? a->file : "config.c";
    const char *slash = strrchr(file, '/');

    *config = slash ? slash + 1 : file;
    if (slash != NULL) {
        size_t n = (size_t)(slash - file);
        if (n >= sizeof(dir))
            return fail("path too long: %s%s", file, "");
        memcpy(dir, file, n);
        dir[n] = '\0';
        if (n == 0)
            strcpy(dir, "/");
        if (chdir(dir) != 0)
            return fail("cannot enter %s: %s", dir, strerror(errno));
    }
    if (**config == '\0' || strchr(*config, '\'') != NULL)
        return fail("'%s' is not a config file name%s", file, "");
    return 0;
}

static int load_state(struct mirage_state *st)
{
    size_t len;
    char *text = slurp("Makefile", &len);
    int r;

    if (text == NULL)
        return fail("not configured: run 'mirage configure -t %s' first%s", SUPPORTED, "");
    r = mirage_state_parse(text, len, st);
    free(text);
    if (r < 0)
        return fail("the Makefile here was not written by mirage configure: run 'mirage "
                    "configure -t %s' first%s",
                    SUPPORTED, "");
    return 0;
}

/* ---- configure ---- */

static int remember_args(const char *build, const struct args *a)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/configure.args", build);
    f = fopen(path, "w");
    if (f == NULL)
        return fail("cannot write %s: %s", path, strerror(errno));
    fprintf(f, "-t\n%s\n-o\n%s\n", a->target, build);
    if (a->no_depext)
        fprintf(f, "--no-depext\n");
    for (int i = 0; i < a->nkeys; i++)
        fprintf(f, "%s\n", a->keys[i]);
    return fclose(f) == 0 ? 0 : fail("cannot write %s%s", path, "");
}

static void args_text(const struct args *a, const char *build, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, " -t %s", a->target);
    if (strcmp(build, DEFAULT_BUILD) != 0 && n < size)
        n += (size_t)snprintf(out + n, size - n, " -o %s", build);
    for (int i = 0; i < a->nkeys && n < size; i++) {
        /* The text goes into a Makefile comment: keep it to one printable line. */
        n += (size_t)snprintf(out + n, size - n, " ");
        for (const char *p = a->keys[i]; *p != '\0' && n + 1 < size; p++)
            out[n++] = (*p >= ' ' && *p != 0x7f) ? *p : '?';
        if (n < size)
            out[n] = '\0';
    }
}

static int configure(struct args *a)
{
    const char *config, *build = a->build ? a->build : DEFAULT_BUILD;
    char lib[4096], prog[4096], tmpdir[] = "/tmp/mirage-configure.XXXXXX";
    char inc[4096], targ[128], buildarg[4200], rootarg[4200], configarg[4200], argsarg[2200];
    char text[2048];
    const char *argv[MAX_ARGV + 16];
    const char *dir = build;
    int n = 0, r;

    if (a->npos > 0)
        return fail("unexpected argument '%s' for configure%s", a->pos[0], "");
    if (a->target == NULL)
        a->target = "unix";
    if (!mirage_state_valid_build_dir(build))
        return fail("-o %s: the build directory must be a relative path inside the unikernel's "
                    "directory (letters, digits, _./-), not '.' and without '..'%s",
                    build, "");
    if (enter_unikernel_dir(a, &config))
        return 1;
    if (!exists(config))
        return fail("no %s here: write one (see %s/examples/hello/config.c) or give -f FILE",
                    config, root());
    snprintf(lib, sizeof(lib), "%s/build/host/libmirage-config.a", root());
    if (!exists(lib))
        return fail("%s is missing: run 'make' in %s first", lib, root());
    if (a->dry_run) {
        if (mkdtemp(tmpdir) == NULL)
            return fail("cannot create a temporary directory: %s%s", strerror(errno), "");
        dir = tmpdir;
    } else if (mkdir(build, 0777) != 0 && errno != EEXIST) {
        return fail("cannot create %s: %s", build, strerror(errno));
    }
    snprintf(prog, sizeof(prog), "%s/config", dir);
    snprintf(inc, sizeof(inc), "-I%s/include", root());
    {
        const char *cc[] = {"gcc",
                            "-std=gnu11",
                            "-O0",
                            "-g",
                            "-Wall",
                            "-Wextra",
                            "-Werror=implicit-function-declaration",
                            inc,
                            "-o",
                            prog,
                            config,
                            lib,
                            NULL};
        r = run(cc);
    }
    if (r != 0) {
        fail("%s does not compile (the compiler's messages are above): fix it and configure "
             "again%s",
             config, "");
        goto out;
    }
    args_text(a, build, text, sizeof(text));
    snprintf(targ, sizeof(targ), "--target=%s", a->target);
    snprintf(buildarg, sizeof(buildarg), "--build=%s", build);
    snprintf(rootarg, sizeof(rootarg), "--root=%s", root());
    snprintf(configarg, sizeof(configarg), "--config=%s", config);
    snprintf(argsarg, sizeof(argsarg), "--args=%s", text);
    argv[n++] = prog;
    argv[n++] = targ;
    argv[n++] = buildarg;
    argv[n++] = rootarg;
    argv[n++] = configarg;
    argv[n++] = argsarg;
    if (a->dry_run)
        argv[n++] = "--dry-run";
    if (a->no_depext)
        argv[n++] = "--no-depext";
    argv[n++] = "--";
    for (int i = 0; i < a->nkeys; i++)
        argv[n++] = a->keys[i];
    argv[n] = NULL;
    r = run(argv);
    if (r != 0) {
        if (r != 1) /* 1: config.c's errors, already one line each */
            fail("%s failed (status %s)", prog, r == 127 ? "127: could not run" : "non-zero");
        r = 1;
        goto out;
    }
    if (!a->dry_run) {
        r = remember_args(build, a);
        if (r == 0 && !a->from_build)
            printf("mirage: configured for %s: now run 'mirage build'\n", a->target);
    }
out:
    if (a->dry_run) {
        unlink(prog);
        rmdir(tmpdir);
    }
    return r;
}

/* ---- build ---- */

static int newer(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_mtim.tv_sec > sb.st_mtim.tv_sec ||
           (sa.st_mtim.tv_sec == sb.st_mtim.tv_sec && sa.st_mtim.tv_nsec > sb.st_mtim.tv_nsec);
}

/* Runs configure again with the arguments it was last given. */
static int reconfigure(const struct mirage_state *st, const char *file)
{
    static char saved[STATE_ARGS_MAX][STATE_ARG_LEN];
    char path[256];
    char *argv[STATE_ARGS_MAX + 3];
    static char prog[] = "mirage", cmd[] = "configure";
    struct args a = {.cmd = "configure"};
    size_t len;
    char *text;
    int n, r;

    snprintf(path, sizeof(path), "%s/configure.args", st->build);
    text = slurp(path, &len);
    if (text == NULL || mirage_state_parse_args(text, len, saved, STATE_ARGS_MAX, &n) < 0) {
        free(text);
        return fail("%s is missing or damaged: run 'mirage configure' again%s", path, "");
    }
    free(text);
    argv[0] = prog;
    argv[1] = cmd;
    for (int i = 0; i < n; i++)
        argv[i + 2] = saved[i];
    argv[n + 2] = NULL;
    if (parse_args(n + 2, argv, 2, &a))
        return 1;
    a.file = file;
    a.from_build = 1;
    printf("mirage: %s changed: configuring again\n", file);
    r = configure(&a);
    return r;
}

/* The guest memory configure was given (--mem=MB, remembered in
 * configure.args; libvirt.c checked it), or its default. */
static const char *configured_mem(const struct mirage_state *st)
{
    static char saved[STATE_ARGS_MAX][STATE_ARG_LEN];
    static char mem[16] = "32";
    char path[256];
    size_t len;
    int n = 0;
    char *text;

    snprintf(path, sizeof(path), "%s/configure.args", st->build);
    text = slurp(path, &len);
    if (text != NULL && mirage_state_parse_args(text, len, saved, STATE_ARGS_MAX, &n) == 0)
        for (int i = 0; i < n; i++)
            if (strncmp(saved[i], "--mem=", 6) == 0 && strlen(saved[i] + 6) < sizeof(mem))
                strcpy(mem, saved[i] + 6);
    free(text);
    return mem;
}

static void run_hint(const struct mirage_state *st, const char *out)
{
    char path[256], line[128], opts[2048] = "";
    size_t n = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/manifest.txt", st->build);
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL && n < sizeof(opts)) {
        char kind[16], name[64];
        if (sscanf(line, "%15s %63s", kind, name) != 2)
            continue;
        if (strcmp(st->target, "virtio") == 0 && strcmp(kind, "net") == 0)
            n += (size_t)snprintf(opts + n, sizeof(opts) - n,
                                  " -netdev tap,id=%s,ifname=TAP,script=no,downscript=no"
                                  " -device virtio-net-pci,netdev=%s",
                                  name, name);
        else if (strcmp(st->target, "virtio") == 0)
            n += (size_t)snprintf(opts + n, sizeof(opts) - n,
                                  " -drive file=FILE,if=none,format=raw,id=%s"
                                  " -device virtio-blk-pci,drive=%s",
                                  name, name);
        else if (strcmp(kind, "net") == 0)
            n += (size_t)snprintf(opts + n, sizeof(opts) - n, " --net:%s=TAP", name);
        else
            n += (size_t)snprintf(opts + n, sizeof(opts) - n, " --block:%s=FILE", name);
    }
    if (f != NULL)
        fclose(f);
    if (strcmp(st->target, "unix") == 0) {
        printf("run it:  %s%s -- ARGS...\n", out, opts);
    } else if (strcmp(st->target, "virtio") == 0) {
        printf("run it:  qemu-system-x86_64 -accel tcg -m %s -nodefaults -no-reboot -display none "
               "-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4%s -kernel %s "
               "-append 'ARGS...'\n",
               configured_mem(st), opts, out);
        printf("or:      virsh define dist/%s.xml && virsh start %s\n", st->name, st->name);
    } else {
        printf("run it:  %s/build/bin/mirage-%s%s %s ARGS...\n", root(), st->target, opts, out);
    }
}

static int build(struct args *a)
{
    struct mirage_state st;
    const char *config;
    char out[256];
    const char *make[] = {"make", "--no-print-directory", a->verbose ? "V=1" : NULL, NULL};
    const char *query[] = {"make", "-q", "--no-print-directory", out, "compile_commands.json",
                           NULL};

    if (a->npos > 0)
        return fail("unexpected argument '%s' for build%s", a->pos[0], "");
    if (enter_unikernel_dir(a, &config) || load_state(&st))
        return 1;
    if (a->target != NULL && strcmp(a->target, st.target) != 0) {
        fprintf(stderr, "mirage: configured for %s, not %s: run 'mirage configure -t %s' first\n",
                st.target, a->target, a->target);
        return 1;
    }
    if (newer(config, "Makefile") &&
        (reconfigure(&st, a->file ? a->file : config) || load_state(&st)))
        return 1;
    snprintf(out, sizeof(out), "dist/%s%s%s", st.name, strcmp(st.target, "unix") ? "." : "",
             strcmp(st.target, "unix") ? st.target : "");
    if (run(query) == 0) {
        printf("mirage: %s is up to date\n", out);
    } else if (run(make) != 0) {
        return fail("building %s failed (the messages are above)%s", out, "");
    } else {
        printf("mirage: built %s\n", out);
    }
    run_hint(&st, out);
    return 0;
}

/* ---- clean, query, describe ---- */

static int clean(struct args *a)
{
    static const char *const files[] = {
        "main.c",       "start.h",       "describe.txt", "graph.dot", "manifest.txt",
        "packages.txt", "libraries.txt", "files.txt",    "config",    "configure.args"};
    struct mirage_state st;
    const char *config;
    char path[256];
    const char *make[] = {"make", "-s", "--no-print-directory", "clean", NULL};

    if (enter_unikernel_dir(a, &config))
        return 1;
    if (!exists("Makefile")) {
        printf("mirage: nothing to clean\n");
        return 0;
    }
    if (load_state(&st))
        return 1;
    if (run(make) != 0)
        return fail("make clean failed%s%s", "", "");
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", st.build, files[i]);
        unlink(path);
    }
    rmdir(st.build);
    rmdir("dist");
    unlink("Makefile");
    printf("mirage: cleaned\n");
    return 0;
}

static int query(struct args *a)
{
    static const char *const whats[] = {"packages", "libraries", "files", "manifest"};
    char xml[256];
    struct mirage_state st;
    const char *config;
    char path[256];

    if (a->npos != 1)
        return fail("query what? name, packages, libraries, files, manifest, Makefile or "
                    "libvirt%s%s",
                    "", "");
    if (enter_unikernel_dir(a, &config) || load_state(&st))
        return 1;
    if (strcmp(a->pos[0], "name") == 0) {
        printf("%s\n", st.name);
        return 0;
    }
    if (strcmp(a->pos[0], "Makefile") == 0)
        return print_file("Makefile");
    if (strcmp(a->pos[0], "libvirt") == 0) {
        if (strcmp(st.target, "virtio") != 0)
            return fail("query libvirt: configured for %s: the libvirt domain is -t virtio's%s",
                        st.target, "");
        snprintf(xml, sizeof(xml), "%s/libvirt.xml", st.build);
        return print_file(xml);
    }
    for (size_t i = 0; i < sizeof(whats) / sizeof(whats[0]); i++) {
        if (strcmp(a->pos[0], whats[i]) == 0) {
            snprintf(path, sizeof(path), "%s/%s.txt", st.build, whats[i]);
            return print_file(path);
        }
    }
    return fail("query: unknown '%s': use name, packages, libraries, files, manifest, Makefile "
                "or libvirt%s",
                a->pos[0], "");
}

static int describe(struct args *a)
{
    struct mirage_state st;
    const char *config;
    char path[256];

    if (a->npos > 0)
        return fail("unexpected argument '%s' for describe%s", a->pos[0], "");
    if (enter_unikernel_dir(a, &config) || load_state(&st))
        return 1;
    snprintf(path, sizeof(path), "%s/%s", st.build, a->dot ? "graph.dot" : "describe.txt");
    return print_file(path);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mirage COMMAND [OPTIONS]   (mirage %s, libraries in %s)\n\n", MIRAGE_VERSION,
            root());
    for (size_t i = 0; i < NHELPS; i++)
        fprintf(f, "  %s\n", helps[i].usage);
    fprintf(f, "\nA unikernel is a directory with config.c and the application's C files:\n"
               "  mirage configure -t hvt && mirage build\n"
               "'mirage help COMMAND' says more about one command.\n");
}

static int help(struct args *a)
{
    if (a->npos == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NHELPS; i++) {
        if (strcmp(a->pos[0], helps[i].cmd) == 0) {
            printf("usage: %s\n\n%s\n", helps[i].usage, helps[i].text);
            return 0;
        }
    }
    return fail("help: unknown command '%s': see 'mirage help'%s", a->pos[0], "");
}

int main(int argc, char **argv)
{
    struct args a = {0};
    static const struct {
        const char *name;
        int (*fn)(struct args *);
    } cmds[] = {{"configure", configure}, {"build", build},       {"clean", clean},
                {"query", query},         {"describe", describe}, {"help", help}};

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("mirage %s\n", MIRAGE_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "crunch") == 0)
        return mirage_crunch_main(argc - 2, argv + 2);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        a.cmd = cmds[i].name;
        if (parse_args(argc, argv, 2, &a))
            return 1;
        return cmds[i].fn(&a);
    }
    if (argv[1][0] == '-')
        return fail("unknown option '%s': the command comes first, e.g. 'mirage configure %s'",
                    argv[1], argv[1]);
    return fail(
        "unknown command '%s': use configure, build, clean, query, describe, crunch or help "
        "(see 'mirage help')%s",
        argv[1], "");
}
