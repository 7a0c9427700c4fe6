/* state.c: reads the Makefile header and the remembered arguments `mirage configure` wrote. */
#include <string.h>

#include "state.h"

static const char field_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                  "_./-";

int mirage_state_valid_build_dir(const char *dir)
{
    size_t n = strlen(dir);

    if (n == 0 || n >= STATE_FIELD_MAX || dir[0] == '/' || strspn(dir, field_chars) != n)
        return 0;
    /* No component may be "." or "..": clean removes what is under it. */
    for (const char *p = dir; *p != '\0';) {
        size_t c = strcspn(p, "/");
        if (c == 0 || (c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += c;
        if (*p == '/')
            p++;
    }
    return dir[n - 1] != '/';
}

/* Copies the value of "key=" at (p, end) into (out); returns the bytes consumed or -1. */
static long take(const char *p, const char *end, const char *key, char *out)
{
    size_t k = strlen(key), n = 0;

    if ((size_t)(end - p) <= k || memcmp(p, key, k) != 0 || p[k] != '=')
        return -1;
    p += k + 1;
    while (p + n < end && p[n] != ' ' && p[n] != '\n') {
        if (strchr(field_chars, p[n]) == NULL || p[n] == '\0' || n + 1 >= STATE_FIELD_MAX)
            return -1;
        out[n] = p[n];
        n++;
    }
    if (n == 0)
        return -1;
    out[n] = '\0';
    return (long)(k + 1 + n);
}

int mirage_state_parse(const char *text, size_t len, struct mirage_state *st)
{
    static const char magic[] = "# mirage: ";
    const char *p = text, *end;
    const char *nl = memchr(text, '\n', len);
    char *outs[3] = {st->name, st->target, st->build};
    const char *keys[3] = {"name", "target", "build"};

    end = nl ? nl : text + len;
    memset(st, 0, sizeof(*st));
    if ((size_t)(end - p) < sizeof(magic) - 1 || memcmp(p, magic, sizeof(magic) - 1) != 0)
        return -1;
    p += sizeof(magic) - 1;
    for (int i = 0; i < 3; i++) {
        long used = take(p, end, keys[i], outs[i]);
        if (used < 0)
            return -1;
        p += used;
        if (i < 2) {
            if (p == end || *p != ' ')
                return -1;
            p++;
        }
    }
    if (p != end || !mirage_state_valid_build_dir(st->build))
        return -1;
    return 0;
}

int mirage_state_parse_args(const char *text, size_t len, char args[][STATE_ARG_LEN], int max,
                            int *n)
{
    size_t i = 0;

    *n = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t l;
        if (nl == NULL)
            return -1; /* every argument ends with a newline */
        l = (size_t)(nl - (text + i));
        if (l >= STATE_ARG_LEN || *n == max || memchr(text + i, '\0', l) != NULL)
            return -1;
        memcpy(args[*n], text + i, l);
        args[*n][l] = '\0';
        (*n)++;
        i += l + 1;
    }
    return 0;
}
