/* crunch.c: `mirage crunch`: a directory into C and data the build links, reproducibly. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crunch.h"
#include "mirage/heap.h"
#include "mirage/kv.h"

/*
 * The output depends only on the directory's relative paths, contents and
 * modification times (clamped to SOURCE_DATE_EPOCH when it is set): entries
 * are sorted by key, nothing else of the host (absolute paths, owners, the
 * time of the build, readdir order) reaches it. OUT.d lists every file and
 * directory read, so make runs this again when one changes, appears or goes.
 */

#define MAX_DEPTH   64
#define MAX_ENTRIES 1000000
#define MAX_BYTES   (1ULL << 30)

struct ent {
    char *key;  /* canonical, "/a/b" */
    char *path; /* on the host */
    int dict;
    uint64_t size, mtime, offset;
};

struct walk {
    struct ent *e;
    size_t n, cap;
    uint64_t bytes;
    int clamp;
    uint64_t epoch_ns;
};

static int say(const char *path, const char *what)
{
    fprintf(stderr, "mirage crunch: %s: %s\n", path, what);
    return -1;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);

    if (!s)
        return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

static int add(struct walk *w, const char *key, const char *path, const struct stat *st)
{
    char canon[MIRAGE_KV_KEY_MAX + 1];
    struct mirage_kv_error err;
    struct ent *e;

    if (mirage_kv_key_canonical(key, canon, &err) < 0) {
        char msg[2400];
        return say(path, mirage_kv_strerror(&err, msg, sizeof(msg)));
    }
    if (w->n == MAX_ENTRIES)
        return say(path, "more than 1000000 files and directories");
    if (mirage_grow(&w->e, &w->cap, w->n + 1, sizeof *w->e) != 0)
        return say(path, "out of memory");
    e = &w->e[w->n];
    memset(e, 0, sizeof(*e));
    e->dict = S_ISDIR(st->st_mode);
    e->size = e->dict ? 0 : (uint64_t)st->st_size;
    e->mtime = (uint64_t)st->st_mtim.tv_sec * 1000000000ULL + (uint64_t)st->st_mtim.tv_nsec;
    if (w->clamp && e->mtime > w->epoch_ns)
        e->mtime = w->epoch_ns;
    if (!(e->key = strdup(canon)) || !(e->path = strdup(path)))
        return say(path, "out of memory");
    w->n++;
    if (e->size > MAX_BYTES - w->bytes)
        return say(path, "the directory holds more than 1 GiB: too much to embed");
    w->bytes += e->size;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the directory (path) as (key) and everything under it. */
static int walk_dir(struct walk *w, const char *path, const char *key, const struct stat *st,
                    int depth)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int r = 0;

    if (depth > MAX_DEPTH)
        return say(path, "directories nested more than 64 deep (a symbolic link loop?)");
    if (add(w, key, path, st) < 0)
        return -1;
    if (!(d = opendir(path)))
        return say(path, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (mirage_grow(&names, &cap, n + 1, sizeof *names) != 0) {
            r = say(path, "out of memory");
            break;
        }
        if (!(names[n++] = strdup(de->d_name))) {
            r = say(path, "out of memory");
            break;
        }
    }
    closedir(d);
    if (r == 0)
        qsort(names, n, sizeof(*names), cmp_name);
    for (size_t i = 0; i < n && r == 0; i++) {
        char *child = join(path, names[i]);
        char *ckey = join(strcmp(key, "/") == 0 ? "" : key, names[i]);
        struct stat cst;
        if (!child || !ckey)
            r = say(path, "out of memory");
        else if (stat(child, &cst) != 0) /* a link is what it points at */
            r = say(child, strerror(errno));
        else if (S_ISDIR(cst.st_mode))
            r = walk_dir(w, child, ckey, &cst, depth + 1);
        else if (S_ISREG(cst.st_mode))
            r = add(w, ckey, child, &cst);
        else
            r = say(child, "neither a regular file nor a directory");
        free(child);
        free(ckey);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return r;
}

static int cmp_ent(const void *a, const void *b)
{
    return strcmp(((const struct ent *)a)->key, ((const struct ent *)b)->key);
}

/* Writes (s) as a C string literal. */
static void c_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < ' ' || c >= 0x7f || c == '?')
            fprintf(f, "\\%03o", c); /* '?': no trigraphs */
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* Writes (path) as a make prerequisite; 0 if it cannot be written as one. */
static int make_word(FILE *f, const char *path)
{
    for (const char *p = path; *p; p++) {
        if (*p == '\n' || *p == '\r')
            return 0;
        if (*p == '$')
            fputc('$', f);
        else if (*p == ' ' || *p == '\t' || *p == '#' || *p == ':' || *p == '\\' || *p == '%' ||
                 *p == '*' || *p == '?' || *p == '[')
            fputc('\\', f);
        fputc(*p, f);
    }
    return 1;
}

static FILE *create(const char *out, const char *ext, char *path, size_t size)
{
    FILE *f;

    snprintf(path, size, "%s%s", out, ext);
    if (!(f = fopen(path, "wb")))
        say(path, strerror(errno));
    return f;
}

static int copy_into(FILE *bin, struct ent *e)
{
    FILE *in = fopen(e->path, "rb");
    char buf[65536];
    uint64_t left = e->size;

    if (!in)
        return say(e->path, strerror(errno));
    while (left > 0) {
        size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        size_t got = fread(buf, 1, want, in);
        if (got != want) {
            fclose(in);
            return say(e->path, "changed size while being read");
        }
        if (fwrite(buf, 1, got, bin) != got) {
            fclose(in);
            return say(e->path, "cannot write the data file");
        }
        left -= got;
    }
    fclose(in);
    return 0;
}

static int write_outputs(struct walk *w, const char *out, const char *sym)
{
    char path[4096], binpath[4096];
    const char *base = strrchr(out, '/');
    FILE *f;
    uint64_t off = 0;
    int r = 0, ok = 1;

    if (!(f = create(out, ".bin", binpath, sizeof(binpath))))
        return -1;
    for (size_t i = 0; i < w->n && r == 0; i++) {
        w->e[i].offset = off;
        if (!w->e[i].dict) {
            r = copy_into(f, &w->e[i]);
            off += w->e[i].size;
        }
    }
    if (fclose(f) != 0 && r == 0)
        r = say(binpath, "cannot write");
    if (r < 0 || !(f = create(out, ".c", path, sizeof(path))))
        return -1;
    base = base ? base + 1 : out;
    fprintf(f, "/* %s.c: generated by mirage crunch: %zu entries, %llu bytes; do not edit. */\n",
            base, w->n, (unsigned long long)off);
    fprintf(f, "#include \"mirage/kv.h\"\n\n");
    fprintf(f,
            "__asm__(\".section .rodata.%s,\\\"a\\\"\\n.balign 16\\n.globl %s_data\\n"
            ".hidden %s_data\\n%s_data:\\n.incbin \\\"%s.bin\\\"\\n.previous\\n\");\n",
            sym, sym, sym, sym, out);
    fprintf(f, "extern const uint8_t %s_data[] __attribute__((visibility(\"hidden\")));\n\n", sym);
    fprintf(f, "static const struct mirage_crunch_entry entries[] = {\n");
    for (size_t i = 0; i < w->n; i++) {
        fprintf(f, "    {");
        c_string(f, w->e[i].key);
        fprintf(f, ", %s, %lluULL, %lluULL, %lluULL},\n",
                w->e[i].dict ? "MIRAGE_KV_DICTIONARY" : "MIRAGE_KV_VALUE",
                (unsigned long long)w->e[i].offset, (unsigned long long)w->e[i].size,
                (unsigned long long)w->e[i].mtime);
    }
    fprintf(f, "};\n\nconst struct mirage_crunch %s = {entries, %zu, %s_data, %lluULL};\n", sym,
            w->n, sym, (unsigned long long)off);
    if (fclose(f) != 0)
        return say(path, "cannot write");

    /* The dependencies: every file and directory read. */
    if (!(f = create(out, ".d", path, sizeof(path))))
        return -1;
    fprintf(f, "%s.c %s.bin:", out, out);
    for (size_t i = 0; i < w->n && ok; i++) {
        fputc(' ', f);
        ok = make_word(f, w->e[i].path);
    }
    fputc('\n', f);
    for (size_t i = 0; i < w->n && ok; i++) {
        ok = make_word(f, w->e[i].path);
        fprintf(f, ":\n");
    }
    if (!ok) {
        /* A name make cannot spell: crunch again on every build instead. */
        rewind(f);
        if (ftruncate(fileno(f), 0) != 0)
            ok = 0;
        fprintf(f, "%s.c %s.bin: FORCE\nFORCE:\n", out, out);
    }
    if (fclose(f) != 0)
        return say(path, "cannot write");
    return 0;
}

int mirage_crunch_main(int argc, char **argv)
{
    struct walk w = {0};
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    struct stat st;
    int r;

    if (argc != 3) {
        fprintf(stderr, "usage: mirage crunch DIR OUT SYMBOL\n");
        return 2;
    }
    if (sde && *sde) {
        char *end;
        unsigned long long v;
        errno = 0;
        v = strtoull(sde, &end, 10);
        if (errno || *end || sde[0] < '0' || sde[0] > '9' || v > UINT64_MAX / 1000000000ULL) {
            fprintf(stderr, "mirage crunch: SOURCE_DATE_EPOCH=%s: expected seconds since 1970\n",
                    sde);
            return 1;
        }
        w.clamp = 1;
        w.epoch_ns = v * 1000000000ULL;
    }
    if (stat(argv[0], &st) != 0)
        r = say(argv[0], strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        r = say(argv[0], "not a directory");
    else
        r = walk_dir(&w, argv[0], "/", &st, 0);
    if (r == 0) {
        qsort(w.e, w.n, sizeof(*w.e), cmp_ent);
        r = write_outputs(&w, argv[1], argv[2]);
    }
    for (size_t i = 0; i < w.n; i++) {
        free(w.e[i].key);
        free(w.e[i].path);
    }
    free(w.e);
    return r < 0 ? 1 : 0;
}
