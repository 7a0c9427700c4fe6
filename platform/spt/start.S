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

    .section .note.GNU-stack, "", @progbits
