/* cmdline.c: splits the boot command line into arguments, as MirageOS does. */
#include "mirage/cmdline.h"
#include "mirage/error.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int mirage_cmdline_split(const char *line, char *buf, size_t bufsize, char **argv, int max,
                         const char **err)
{
    size_t out = 0;
    int argc = 0;

    *err = NULL;
    if (max < 1 || bufsize < 1) {
        *err = "no room for arguments";
        return MIRAGE_EINVAL;
    }
    while (*line != '\0') {
        int quoted = 0;

        while (is_space(*line))
            line++;
        if (*line == '\0')
            break;
        if (argc + 1 >= max) {
            *err = "too many arguments";
            return MIRAGE_EINVAL;
        }
        argv[argc++] = buf + out;
        while (*line != '\0' && (quoted || !is_space(*line))) {
            char c = *line++;

            if (c == '"') {
                quoted = !quoted;
                continue;
            }
            if (c == '\\') {
                if (*line == '\0') {
                    *err = "trailing backslash";
                    return MIRAGE_EINVAL;
                }
                c = *line++;
            }
            if (out + 1 >= bufsize) {
                *err = "arguments too long";
                return MIRAGE_EINVAL;
            }
            buf[out++] = c;
        }
        if (quoted) {
            *err = "unterminated quote";
            return MIRAGE_EINVAL;
        }
        if (out >= bufsize) {
            *err = "arguments too long";
            return MIRAGE_EINVAL;
        }
        buf[out++] = '\0';
    }
    argv[argc] = NULL;
    return argc;
}
