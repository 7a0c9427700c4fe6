/* crunch.h: `mirage crunch DIR OUT SYMBOL`, run by a unikernel's Makefile for config.c's crunch().
 */
#ifndef TOOL_CRUNCH_H
#define TOOL_CRUNCH_H

/*
 * Embeds directory DIR: writes OUT.bin (the files' bytes, in key order),
 * OUT.c (the struct mirage_crunch SYMBOL of mirage/kv.h over them, the bytes
 * pulled in with .incbin "OUT.bin") and OUT.d (make's dependencies: every
 * file and directory read). argv holds DIR, OUT, SYMBOL. Returns the exit
 * status: 0, 1 (a problem, named on stderr) or 2 (bad use).
 */
int mirage_crunch_main(int argc, char **argv);

#endif
