/* test_mirage_state.c: the tool reading the Makefile header and the remembered arguments. */
#include <string.h>

#include "../../tool/state.h"
#include "check.h"

static int parse(const char *s, struct mirage_state *st)
{
    return mirage_state_parse(s, strlen(s), st);
}

int main(void)
{
    struct mirage_state st;
    char args[4][STATE_ARG_LEN];
    int n;

    CHECK_INT(parse("# mirage: name=hello target=spt build=_build\n# more\n", &st), 0);
    CHECK_STR(st.name, "hello");
    CHECK_STR(st.target, "spt");
    CHECK_STR(st.build, "_build");
    CHECK_INT(parse("# mirage: name=hello target=unix build=out/x", &st), 0);
    CHECK_STR(st.build, "out/x");

    /* Anything mirage did not write, or that would point clean outside the directory. */
    CHECK_INT(parse("all:\n", &st), -1);
    CHECK_INT(parse("", &st), -1);
    CHECK_INT(parse("# mirage: name=hello target=unix\n", &st), -1);
    CHECK_INT(parse("# mirage: name=hello target=unix build=../x\n", &st), -1);
    CHECK_INT(parse("# mirage: name=hello target=unix build=/tmp\n", &st), -1);
    CHECK_INT(parse("# mirage: name=hello target=unix build=.\n", &st), -1);
    CHECK_INT(parse("# mirage: name=hello target=unix build=a/./b\n", &st), -1);
    CHECK_INT(parse("# mirage: name=he$lo target=unix build=_build\n", &st), -1);
    CHECK_INT(parse("# mirage: name= target=unix build=_build\n", &st), -1);
    CHECK_INT(parse("# mirage: name=hello target=unix build=_build extra\n", &st), -1);
    CHECK_INT(parse("# mirage: name=hello  target=unix build=_build\n", &st), -1);
    CHECK_INT(
        parse(
            "# mirage: name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
            "target=unix build=_build\n",
            &st),
        -1);
    /* A NUL inside the line is not a terminator the parser may trust. */
    CHECK_INT(mirage_state_parse("# mirage: name=a\0 target=unix build=b", 37, &st), -1);

    CHECK_INT(mirage_state_valid_build_dir("_build"), 1);
    CHECK_INT(mirage_state_valid_build_dir("a/b"), 1);
    CHECK_INT(mirage_state_valid_build_dir("a/"), 0);
    CHECK_INT(mirage_state_valid_build_dir("a//b"), 0);
    CHECK_INT(mirage_state_valid_build_dir(""), 0);
    CHECK_INT(mirage_state_valid_build_dir(".."), 0);

    CHECK_INT(mirage_state_parse_args("-t\nhvt\n--net=direct\n", 20, args, 4, &n), 0);
    CHECK_INT(n, 3);
    CHECK_STR(args[1], "hvt");
    CHECK_STR(args[2], "--net=direct");
    CHECK_INT(mirage_state_parse_args("-t\nhvt", 6, args, 4, &n), -1);
    CHECK_INT(mirage_state_parse_args("a\nb\nc\nd\ne\n", 10, args, 4, &n), -1);
    CHECK_INT(mirage_state_parse_args("", 0, args, 4, &n), 0);
    CHECK_INT(n, 0);
    return CHECK_DONE();
}
