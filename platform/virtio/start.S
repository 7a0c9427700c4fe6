/* start.S: the virtio entry: multiboot header and PVH note, 32-bit protected mode to long mode, stubs. */

#define MB_MAGIC 0x1badb002
/* bit 1: memory information; bit 16: the load addresses below (an ELF64 is
 * loaded as raw bytes: QEMU's multiboot loader refuses 64-bit ELF images). */
#define MB_FLAGS 0x00010002

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

    .section .text.start, "ax", @progbits
    .code32

    .balign 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long mb_header         /* header_addr */
    .long _virtio_load      /* load_addr: the ELF header, where the text segment starts */
    .long _edata            /* load_end_addr */
    .long _end              /* bss_end_addr: the loader zeroes the rest */
    .long _start            /* entry_addr */

/* Multiboot: %eax = 0x2badb002, %ebx = the multiboot information. */
    .globl _start
    .type _start, @function
_start:
    movl $1, %esi
    jmp boot32
    .size _start, . - _start

/* PVH (QEMU's and Xen's direct boot): %ebx = struct hvm_start_info. */
    .globl pvh_start
    .type pvh_start, @function
pvh_start:
    movl $2, %esi
    /* fall through */

boot32:
    cli
    cld
    movl %ebx, %edi
    /* The first GiB identity-mapped with 2 MiB pages, enough for the image and
     * the boot information; boot.c replaces these tables with 4 KiB ones. */
    movl $boot_pdpt, %eax
    orl $3, %eax
    movl %eax, boot_pml4
    movl $boot_pd, %eax
    orl $3, %eax
    movl %eax, boot_pdpt
    xorl %ecx, %ecx
1:
    movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax /* present, writable, 2 MiB */
    movl %eax, boot_pd(, %ecx, 8)
    incl %ecx
    cmpl $512, %ecx
    jne 1b

    movl %cr4, %eax
    orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $(EFER_LME | EFER_NXE), %eax
    wrmsr
    movl %cr0, %eax
    andl $~CR0_EM, %eax
    orl $(CR0_PE | CR0_MP | CR0_WP | CR0_PG), %eax
    movl %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $boot64

    .code64
boot64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    leaq boot_stack_top(%rip), %rsp
    xorl %ebp, %ebp
    /* virtio_start(kind, info): %edi and %esi swap roles. */
    movl %esi, %eax
    movl %edi, %esi
    movl %eax, %edi
    call virtio_start
    ud2

/* ---- exceptions: every one is reported and ends the unikernel (boot.c) ---- */

    .macro EXC n, has_error
exc\n:
    .if \has_error == 0
    pushq $0
    .endif
    pushq $\n
    jmp exc_common
    .endm

    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 9, 15, 16, 18, 19, 20, 22, 23, 24, 25, 26, 27, 28, 31
    EXC \n, 0
    .endr
    .irp n, 8, 10, 11, 12, 13, 14, 17, 21, 29, 30
    EXC \n, 1
    .endr

/* The stack (IST 1) holds: vector, error code, rip, cs, rflags, rsp, ss. */
exc_common:
    movq %rsp, %rdi
    andq $-16, %rsp
    call virtio_fault
    ud2

/* ---- interrupts from the PIC: the line is masked and noted; mirage_yield
 * unmasks it once it has served the device (a level-triggered PCI line
 * would otherwise interrupt again at once). ---- */

    .macro IRQ n
irq\n:
    pushq %rax
    .if \n < 8
    inb $0x21, %al
    orb $(1 << \n), %al
    outb %al, $0x21
    .else
    inb $0xa1, %al
    orb $(1 << (\n - 8)), %al
    outb %al, $0xa1
    movb $0x20, %al
    outb %al, $0xa0
    .endif
    movb $0x20, %al
    outb %al, $0x20
    lock orl $(1 << \n), virtio_irq_pending(%rip)
    popq %rax
    iretq
    .endm

    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    IRQ \n
    .endr

    .section .rodata
    .balign 8
    .globl virtio_exc_stubs
virtio_exc_stubs:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    .quad exc\n
    .endr
    .globl virtio_irq_stubs
virtio_irq_stubs:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .quad irq\n
    .endr

    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00209a0000000000 /* 0x08: 64-bit code */
    .quad 0x0000920000000000 /* 0x10: data */
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt

/* The PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): QEMU reads its descriptor
 * as a 64-bit word at the note's 4-byte alignment. */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 8
    .long 18
    .asciz "Xen"
    .quad pvh_start

    .section .bss.boot, "aw", @nobits
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4096
    /* The boot stack, under which boot.c leaves a page unmapped. */
    .globl virtio_boot_stack_guard
virtio_boot_stack_guard:
    .skip 4096
    .globl virtio_boot_stack
virtio_boot_stack:
    .skip 1 << 20
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
