/* start.S: the hvt entry point: the tender starts here in ring 3 with %rdi = boot info. */
    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    xorl %ebp, %ebp
    call mirage_hvt_start
    ud2
    .size _start, . - _start

    /* The image's PT_INTERP (the linker script places it): see tender.h, TENDER_INTERP. */
    .section .interp, "a", @progbits
    .asciz "/nonexistent/mirage/"

    .section .note.GNU-stack, "", @progbits
