/* solo5.h: the Solo5 guest interface, so programs written for Solo5 build for our targets. */
#ifndef SOLO5_H_INCLUDED
#define SOLO5_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The names, types and values here are those of the public Solo5 API; the
 * implementation (platform/solo5/solo5.c) is a thin layer over
 * mirage/platform.h and links into unix, spt and hvt images with
 * $(call solo5_unikernel,NAME,SOURCES). What differs from Solo5:
 *
 * - Devices are declared with MIRAGE_MANIFEST (mirage/manifest.h) in one C
 *   file of the program instead of a JSON manifest turned into a note.
 * - The program runs on the binding's stack, not on a stack at the top of
 *   the heap region; the heap region is its own to use all the same.
 * - Block reads and writes may cover several blocks in one call.
 * - After solo5_set_tls_base(base), the word at base + 0x28 is the
 *   stack-protector canary of all code that runs, the program's and ours;
 *   solo5_tls_init() puts the canary in use there. Thread blocks are
 *   aligned to 64 and their TCB is 128 bytes (glibc's layout), not one word.
 */

/* ---- results ---------------------------------------------------------- */

/* What the calls that can fail return. A program must not count on seeing
 * SOLO5_R_EINVAL or SOLO5_R_EUNSPEC: an implementation may abort instead. */
typedef enum {
    SOLO5_R_OK = 0,  /* done */
    SOLO5_R_AGAIN,   /* not possible now; the same call may work later */
    SOLO5_R_EINVAL,  /* an argument was wrong; nothing was done */
    SOLO5_R_EUNSPEC, /* the host failed in a way with no better name */
} solo5_result_t;

/* ---- start and end ---------------------------------------------------- */

/* Start-of-day information, read-only for the program. */
struct solo5_start_info {
    const char *cmdline;  /* the arguments after the image, joined by spaces */
    uintptr_t heap_start; /* a read/write, non-executable region the program owns */
    size_t heap_size;
};

/* The program's entry point. Returning from it is the same as calling
 * solo5_exit() with the returned value. */
int solo5_app_main(const struct solo5_start_info *info);

#define SOLO5_EXIT_SUCCESS 0
#define SOLO5_EXIT_FAILURE 1
#define SOLO5_EXIT_ABORT   255 /* statuses from 255 on are Solo5's own */

/* Ends the program; (status) reaches the host where it can. */
void solo5_exit(int status) __attribute__((noreturn));

/* Ends the program abnormally with status SOLO5_EXIT_ABORT. */
void solo5_abort(void) __attribute__((noreturn));

/* Points the architecture's thread-pointer register (FS on x86_64) at (base).
 * Returns SOLO5_R_EINVAL if the platform cannot take (base). */
solo5_result_t solo5_set_tls_base(uintptr_t base);

/* ---- thread-local storage ---------------------------------------------- */

/* Bytes of a thread block for the program's _Thread_local variables: the
 * variables (.tdata and .tbss), then the thread control block. The program
 * starts with one already in place; these make more. */
size_t solo5_tls_size(void);

/* The thread pointer of the block at (tls): what solo5_set_tls_base() takes. */
uintptr_t solo5_tls_tp_offset(uintptr_t tls);

/* Fills the block at (tls), solo5_tls_size() bytes aligned to 64: .tdata
 * copied, .tbss zeroed, the TCB with the stack-protector canary in use.
 * SOLO5_R_EINVAL if (tls) is not aligned. */
solo5_result_t solo5_tls_init(uintptr_t tls);

/* ---- time ------------------------------------------------------------- */

/* Nanoseconds. */
typedef uint64_t solo5_time_t;

/* Time since some moment in the past; it never goes backwards. */
solo5_time_t solo5_clock_monotonic(void);

/* Time since the Unix epoch (1970-01-01 UTC). */
solo5_time_t solo5_clock_wall(void);

/* ---- handles and waiting ---------------------------------------------- */

/* A device handle, and a set of up to 64 of them (bit h for handle h). */
typedef uint64_t solo5_handle_t;
typedef uint64_t solo5_handle_set_t;

/* Waits until the monotonic clock reaches (deadline) or a network device has
 * input. If (ready_set) is not NULL it receives the handles with input. */
void solo5_yield(solo5_time_t deadline, solo5_handle_set_t *ready_set);

/* ---- console ---------------------------------------------------------- */

/* Writes (size) bytes of (buf) to the console; best effort, never fails. */
void solo5_console_write(const char *buf, size_t size);

/* ---- network ---------------------------------------------------------- */

#define SOLO5_NET_ALEN 6  /* bytes in an Ethernet address */
#define SOLO5_NET_HLEN 14 /* bytes in an Ethernet header: target, source, type */

struct solo5_net_info {
    uint8_t mac_address[SOLO5_NET_ALEN];
    size_t mtu; /* the most payload bytes in a frame, without the Ethernet header */
};

/* Binds the network device the manifest declares as (name): its handle goes
 * to *handle and its properties to *info. A second call for the same name, or
 * a name that is not a declared network device, gives SOLO5_R_EINVAL. */
solo5_result_t solo5_net_acquire(const char *name, solo5_handle_t *handle,
                                 struct solo5_net_info *info);

/* Sends one frame of (size) bytes, Ethernet header included, at most
 * mtu + SOLO5_NET_HLEN. Never blocks: a frame the host cannot take now is
 * dropped and the call still succeeds. */
solo5_result_t solo5_net_write(solo5_handle_t handle, const uint8_t *buf, size_t size);

/* Receives one frame into (buf) of (size) bytes, at least mtu + SOLO5_NET_HLEN,
 * without blocking: SOLO5_R_OK with the frame's length in *read_size, or
 * SOLO5_R_AGAIN when none is waiting. */
solo5_result_t solo5_net_read(solo5_handle_t handle, uint8_t *buf, size_t size, size_t *read_size);

/* ---- block storage ---------------------------------------------------- */

/* A byte offset on a block device. */
typedef uint64_t solo5_off_t;

struct solo5_block_info {
    solo5_off_t capacity;   /* bytes */
    solo5_off_t block_size; /* the unit of every transfer, bytes */
};

/* Binds the block device the manifest declares as (name); as for
 * solo5_net_acquire(), SOLO5_R_EINVAL for a second call or an unknown name. */
solo5_result_t solo5_block_acquire(const char *name, solo5_handle_t *handle,
                                   struct solo5_block_info *info);

/* Writes (size) bytes from (buf) at byte (offset), all or nothing. Both must
 * be multiples of block_size and the range must lie within the capacity,
 * otherwise SOLO5_R_EINVAL and nothing is written. */
solo5_result_t solo5_block_write(solo5_handle_t handle, solo5_off_t offset, const uint8_t *buf,
                                 size_t size);

/* Reads (size) bytes into (buf) from byte (offset), all of them, under the
 * same rules as solo5_block_write(). */
solo5_result_t solo5_block_read(solo5_handle_t handle, solo5_off_t offset, uint8_t *buf,
                                size_t size);

#endif
