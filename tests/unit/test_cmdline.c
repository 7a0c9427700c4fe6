/* test_cmdline.c: splitting the boot command line the way MirageOS does. */
#include "check.h"
#include "mirage/cmdline.h"
#include "mirage/error.h"

static char buf[256];
static char *argv[16];
static const char *err;

static int split(const char *line)
{
    memset(argv, 0x55, sizeof(argv));
    return mirage_cmdline_split(line, buf, sizeof(buf), argv, 16, &err);
}

#define ARGS(line, n)                                                                              \
    do {                                                                                           \
        CHECK_INT(split(line), n);                                                                 \
        CHECK(err == NULL);                                                                        \
        CHECK(argv[n] == NULL);                                                                    \
    } while (0)

#define REFUSED(line, msg)                                                                         \
    do {                                                                                           \
        CHECK_INT(split(line), MIRAGE_EINVAL);                                                     \
        CHECK_STR(err, msg);                                                                       \
    } while (0)

static void test_whitespace(void)
{
    ARGS("", 0);
    ARGS("   \t\n ", 0);
    ARGS("a", 1);
    CHECK_STR(argv[0], "a");
    ARGS("  -l   debug\t--port=80 \r\n", 3);
    CHECK_STR(argv[0], "-l");
    CHECK_STR(argv[1], "debug");
    CHECK_STR(argv[2], "--port=80");
    ARGS("a\vb\fc", 3);
    CHECK_STR(argv[2], "c");
}

static void test_escapes_and_quotes(void)
{
    ARGS("a\\ b c", 2);
    CHECK_STR(argv[0], "a b");
    CHECK_STR(argv[1], "c");
    ARGS("\\\\ \\\" \\x", 3);
    CHECK_STR(argv[0], "\\");
    CHECK_STR(argv[1], "\"");
    CHECK_STR(argv[2], "x");
    ARGS("\"hello world\"  x", 2);
    CHECK_STR(argv[0], "hello world");
    ARGS("pre\"mid dle\"post", 1);
    CHECK_STR(argv[0], "premid dlepost");
    ARGS("\"a \\\" b\"", 1);
    CHECK_STR(argv[0], "a \" b");
    ARGS("\"\"", 1);
    CHECK_STR(argv[0], "");
    ARGS("a \"\" b", 3);
    CHECK_STR(argv[1], "");
    CHECK_STR(argv[2], "b");
    ARGS("\"\"\"\"", 1);
    CHECK_STR(argv[0], "");
    ARGS("--msg=\"it works\"", 1);
    CHECK_STR(argv[0], "--msg=it works");
    ARGS("\"\t\n\"", 1);
    CHECK_STR(argv[0], "\t\n");
}

static void test_errors(void)
{
    REFUSED("a\\", "trailing backslash");
    REFUSED("\"a\\", "trailing backslash");
    REFUSED("\"abc", "unterminated quote");
    REFUSED("a \"", "unterminated quote");
    REFUSED("x\"\"\"", "unterminated quote");

    /* argv holds 16 pointers, the last for NULL: 15 arguments fit. */
    ARGS("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", 15);
    REFUSED("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", "too many arguments");

    CHECK_INT(mirage_cmdline_split("a", buf, sizeof(buf), argv, 0, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "no room for arguments");
    CHECK_INT(mirage_cmdline_split("a", buf, 0, argv, 4, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "no room for arguments");
    CHECK_INT(mirage_cmdline_split("", buf, sizeof(buf), argv, 1, &err), 0);
    CHECK(argv[0] == NULL);
    CHECK_INT(mirage_cmdline_split("a", buf, sizeof(buf), argv, 1, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "too many arguments");
}

/* Each argument takes its bytes plus a NUL: "ab cd" needs exactly 6. */
static void test_buffer(void)
{
    char small[8];

    memset(small, 0x7f, sizeof(small));
    CHECK_INT(mirage_cmdline_split("ab cd", small, 6, argv, 4, &err), 2);
    CHECK_STR(argv[0], "ab");
    CHECK_STR(argv[1], "cd");
    CHECK_INT(small[6], 0x7f);
    memset(small, 0x7f, sizeof(small));
    CHECK_INT(mirage_cmdline_split("ab cd", small, 5, argv, 4, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "arguments too long");
    CHECK_INT(small[5], 0x7f);
    CHECK_INT(mirage_cmdline_split("abcdef", small, 6, argv, 4, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "arguments too long");
    CHECK_INT(mirage_cmdline_split("\"\" \"\"", small, 2, argv, 4, &err), 2);
    CHECK_INT(mirage_cmdline_split("\"\" \"\" \"\"", small, 2, argv, 4, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "arguments too long");
    CHECK_INT(mirage_cmdline_split("", small, 1, argv, 4, &err), 0);
    CHECK_INT(mirage_cmdline_split("a", small, 1, argv, 4, &err), MIRAGE_EINVAL);
    CHECK_STR(err, "arguments too long");
}

int main(void)
{
    test_whitespace();
    test_escapes_and_quotes();
    test_errors();
    test_buffer();
    return CHECK_DONE();
}
