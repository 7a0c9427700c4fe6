/* start.S: the spt entry: a fresh canary first, then spt_main with the tender's boot info. */
    .text
    .globl _start
    .type _start, @function
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    /* %rbx survives the call; nothing protected runs before FS holds our TCB. */
    mov %rdi, %rbx
    call mirage_tls_init
    mov %rbx, %rdi
    call spt_main
    ud2
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits
