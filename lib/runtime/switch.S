/* switch.S: the x86_64 context switch between fibers and the first frame of a new fiber. */

/*
 * A suspended fiber's stack pointer points at what mirage_ctx_switch pushed:
 *   [sp+0]  MXCSR (low 4 bytes), x87 control word (next 2)
 *   [sp+8]  r15, r14, r13, r12, rbx, rbp
 *   [sp+56] the return address
 * These are all the SysV ABI asks a callee to preserve; everything else the
 * compiler already assumes clobbered across the call.
 */

    /* Unwind information beside the C code's (.debug_frame: -g without unwind tables). */
    .cfi_sections .debug_frame
    .text
    .globl mirage_ctx_switch
    .type mirage_ctx_switch, @function
/* void mirage_ctx_switch(void **save_sp, void *load_sp) */
mirage_ctx_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size mirage_ctx_switch, .-mirage_ctx_switch

    .globl mirage_ctx_start
    .type mirage_ctx_start, @function
/* A new fiber's first "return" lands here with r12 = argument, r13 = function
 * and a 16-byte aligned stack; the function never returns. */
mirage_ctx_start:
    .cfi_startproc
    /* The outermost frame of a fiber: a debugger's backtrace ends here
     * instead of reading the fresh stack's leftovers as return addresses. */
    .cfi_undefined rip
    movq %r12, %rdi
    callq *%r13
    ud2
    .cfi_endproc
    .size mirage_ctx_start, .-mirage_ctx_start

    .section .note.GNU-stack,"",@progbits
