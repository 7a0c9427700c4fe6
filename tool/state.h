/* state.h: what `mirage configure` leaves for the other commands: the Makefile header, args. */
#ifndef TOOL_STATE_H
#define TOOL_STATE_H

#include <stddef.h>

#define STATE_FIELD_MAX 64
#define STATE_ARGS_MAX  64
#define STATE_ARG_LEN   512

/* The first line of a generated Makefile: "# mirage: name=N target=T build=DIR". */
struct mirage_state {
    char name[STATE_FIELD_MAX];
    char target[STATE_FIELD_MAX];
    char build[STATE_FIELD_MAX];
};

/* Parses (len) bytes of (text) (the line, without or with its newline).
 * Returns 0, or -1 when it is not a header mirage wrote or a field is bad. */
int mirage_state_parse(const char *text, size_t len, struct mirage_state *st);

/* A build directory configure accepts: relative, inside the unikernel's
 * directory, not the directory itself, of [A-Za-z0-9_./-]. Returns 1 if so. */
int mirage_state_valid_build_dir(const char *dir);

/* The remembered configure arguments: one per line, each under STATE_ARG_LEN.
 * Splits (len) bytes of (text) into args[0..*n). Returns 0 or -1 if malformed. */
int mirage_state_parse_args(const char *text, size_t len, char args[][STATE_ARG_LEN], int max,
                            int *n);

#endif
