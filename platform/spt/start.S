/* start.S: the spt entry: an aligned stack, then spt_main with the tender's boot info. */
    .text
    .globl _start
    .type _start, @function
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    call spt_main
    ud2
    .size _start, . - _start

    /* The image's PT_INTERP (the linker script places it): see tender.h, TENDER_INTERP. */
    .section .interp, "a", @progbits
    .asciz "/nonexistent/mirage/"

    .section .note.GNU-stack, "", @progbits
