/* setjmp.h: non-local jumps (x86_64: rbx, rbp, r12-r15, rsp and the return address). */
#ifndef _SETJMP_H
#define _SETJMP_H

typedef long jmp_buf[8];

__attribute__((returns_twice)) int setjmp(jmp_buf env);
__attribute__((noreturn)) void longjmp(jmp_buf env, int val);

#endif
