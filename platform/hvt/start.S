/* start.S: the hvt entry point: the tender starts here in ring 3 with %rdi = boot info. */
    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    xorl %ebp, %ebp
    call mirage_hvt_start
    ud2
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits
