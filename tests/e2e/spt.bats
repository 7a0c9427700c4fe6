#!/usr/bin/env bats
# spt.bats: mirage-spt runs unikernels: arguments, exit statuses, faults, the seccomp filter, devices, refusals.

load helpers
load tenders

SPT=$B/bin/mirage-spt

setup() {
    require_target spt hello
    require_target spt fault
    NS=
}

teardown() {
    if [ -n "$NS" ]; then netns_delete "$NS"; fi
}

# ---- arguments and exit statuses ---------------------------------------------

@test "spt: hello prints its arguments, split as MirageOS does, as on unix" { hello_args spt; }
@test "spt: arguments after -- are the unikernel's, even ones that look like options" {
    args_after_dashes spt
}
@test "spt: exit statuses 0, 1, N and 255 pass through the tender" { exit_statuses spt; }
@test "spt: abort ends with 255" { abort_255 spt; }
@test "spt: bad boot arguments end with 64 and a message" { bad_boot_args spt; }

@test "spt: a closed console does not crash the tender" {
    run bash -c "'$SPT' '$UK/hello.spt' a b >&-"
    [ "$status" -eq 0 ]
    run bash -c "'$SPT' '$UK/hello.spt' a b | true"
    [ "$status" -eq 0 ]
}

@test "spt: --mem from 1 MB to 6144 MB boots" {
    for m in 1 2 32 3072 6144; do
        run "$SPT" --mem=$m "$UK/hello.spt"
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "hello from hello" ]
    done
}

# ---- faults --------------------------------------------------------------------

@test "spt: writing page 0 is a fault naming the address" {
    expect_fault spt null-write 254 \
        "mirage-spt: guest fault: SIGSEGV writing address 0x8 \(rip 0x10[0-9a-f]+\)"
    expect_fault spt null-read 254 "guest fault: SIGSEGV reading address 0x10 "
}

@test "spt: writing text or rodata is a fault" {
    expect_fault spt text-write 254 "guest fault: SIGSEGV writing address 0x10[0-9a-f]+ "
    expect_fault spt rodata-write 254 "guest fault: SIGSEGV writing address 0x10[0-9a-f]+ "
}

@test "spt: executing data, stack or heap is a fault" {
    for m in exec-data exec-stack exec-heap wild-jump; do
        expect_fault spt $m 254 \
            "guest fault: SIGSEGV executing address 0x[0-9a-f]+ \(rip 0x[0-9a-f]+\)"
    done
    expect_fault spt wild-jump 254 "executing address 0xdead000 "
}

@test "spt: CPU exceptions are faults: #GP, #UD, #DE, #BP" {
    expect_fault spt noncanonical 254 "guest fault: SIGSEGV general protection fault"
    expect_fault spt ud2 254 "guest fault: SIGILL illegal instruction \(rip 0x10"
    expect_fault spt div0 254 "guest fault: SIGFPE arithmetic error"
    expect_fault spt int3 254 "guest fault: SIGTRAP breakpoint"
}

@test "spt: a stack overflow hits the guard page" {
    expect_fault spt stack-overflow 254 "SIGSEGV writing address 0x[0-9a-f]+ \(stack overflow\)"
}

@test "spt: stack smashing is caught by the canary and aborts with 255" {
    expect_fault spt stack-smash 255 "stack smashing detected"
}

@test "spt: a forbidden system call ends with SIGSYS reported and 253" {
    expect_fault spt syscall 253 "mirage-spt: forbidden system call 39 \(getpid\) at 0x10[0-9a-f]+"
    [[ "$output" != *"getpid returned"* ]]
}

# ---- the seccomp filter, probed with raw system calls ---------------------------

# probe DISK MODE ARGS...: runs sptfilter on DISK; "allowed" or "refused" in PROBE.
probe() {
    local disk=$1
    shift
    run "$SPT" --block:storage="$disk" "$UK/sptfilter.spt" "$@"
    case $status in
    0) PROBE=allowed ;;
    253) PROBE=refused ;;
    *) PROBE="status $status: $output" ;;
    esac
    echo "$* -> $PROBE: $output"
}

allowed() {
    probe "$DISK" "$@"
    [ "$PROBE" = allowed ]
}

refused() {
    probe "$DISK" "$@"
    [ "$PROBE" = refused ]
    [[ "$output" == *"mirage-spt: forbidden system call"* ]]
}

@test "spt: the filter pins the disk's fd, sector alignment and capacity" {
    require_target spt sptfilter
    DISK=$BATS_TEST_TMPDIR/disk.img
    make_disk "$DISK" $((64 * 512))
    C=$((64 * 512))
    allowed pread 0 512
    allowed pread 0 $C
    allowed pread $((C - 512)) 512
    allowed pwrite $((C - 1024)) 1024
    allowed pread $C 0
    refused pread $((C - 512)) 1024
    refused pread $C 512
    refused pwrite $((C + 4096)) 512
    refused pread 1 512
    refused pread 0 100
    refused pwrite 512 513
    refused pread 0xfffffffffffffe00 1024
    refused pread 0x8000000000000000 512
}

@test "spt: the filter's capacity check holds above 4 GiB" {
    require_target spt sptfilter
    DISK=$BATS_TEST_TMPDIR/big.img
    truncate -s $((4 * 1024 * 1024 * 1024)) "$DISK"
    allowed pread 0xfffffe00 512  # ends exactly at 4 GiB: the low half carries
    refused pread 0xfffffe00 1024 # one sector past the end, across the carry
    refused pread 0x100000000 512
    truncate -s $((5 * 1024 * 1024 * 1024)) "$DISK"
    allowed pread 0xfffffe00 1024
    allowed pread $((5 * 1024 * 1024 * 1024 - 512)) 512
    refused pread $((5 * 1024 * 1024 * 1024 - 512)) 1024
    refused pread 0x200000000 512
    refused pwrite 0x13ffffe00 0x100000400 # a count of 2^32 or more
}

@test "spt: the filter allows only the console and taps for write, clocks, ARCH_SET_FS, our epoll" {
    require_target spt sptfilter
    DISK=$BATS_TEST_TMPDIR/disk.img
    make_disk "$DISK" 4096
    allowed write 1
    allowed write 2
    refused write 0
    refused write 5
    refused read 0
    refused readv 0 # the taps' only (there is none here)
    allowed clock 0
    allowed clock 1
    refused clock 2
    refused arch_prctl 0x1003
    refused epoll-sigmask
    refused epoll-fd 0
    for nr in 2 9 10 39 56 57 59 60 62 101 157 257 322; do
        refused nr $nr
    done
    refused nr 15 # rt_sigreturn: the handlers never return
}

# probe_net MODE ARGS...: runs sptfilternet on a tap (in NS) with the tender options in
# NET_OPTS; "allowed" or "refused" in PROBE.
probe_net() {
    run ip netns exec "$NS" "$SPT" --net:service=tap0 "${NET_OPTS[@]}" "$UK/sptfilternet.spt" "$@"
    case $status in
    0) PROBE=allowed ;;
    253) PROBE=refused ;;
    *) PROBE="status $status: $output" ;;
    esac
    echo "$* -> $PROBE: $output"
}

@test "spt: the filter allows writev of a header and a frame and TUNSETOFFLOAD only on the tap" {
    require_target spt sptfilternet
    NS=mirage-sptf-$$-$BATS_TEST_NUMBER
    netns_create "$NS"
    netns_tap "$NS" tap0 10.209.0.1/24
    NET_OPTS=()
    probe_net offloads
    # checksum, TSO4, TSO6 and USO (Linux 6.2 on; 7 without USO)
    [[ "$output" == *"offered 15"* ]] || { [[ "$output" == *"offered 7"* ]] && [ "$(uname -r | cut -d. -f1)" -lt 6 ]; }
    probe_net writev-tap 2
    [ "$PROBE" = allowed ]
    [[ "$output" == *"returned 70"* ]]
    probe_net writev-tap 3
    [ "$PROBE" = refused ]
    probe_net writev-tap 1
    [ "$PROBE" = refused ]
    probe_net writev-fd 1
    [ "$PROBE" = refused ]
    probe_net ioctl-tap 0x400454d0 3 # TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4
    [ "$PROBE" = allowed ]
    [[ "$output" == *"returned 0"* ]]
    probe_net ioctl-tap 0x400454d0 0
    [ "$PROBE" = allowed ]
    probe_net ioctl-tap 0x400454d0 7 # TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6
    [ "$PROBE" = allowed ]
    [[ "$output" == *"returned 0"* ]]
    probe_net ioctl-tap 0x400454d0 5 # TUN_F_CSUM | TUN_F_TSO6
    [ "$PROBE" = allowed ]
    probe_net ioctl-tap 0x400454d0 8 # TUN_F_TSO_ECN: never offered
    [ "$PROBE" = refused ]
    probe_net ioctl-tap 0x400454d0 0x10 # TUN_F_UFO
    [ "$PROBE" = refused ]
    probe_net offloads
    if [[ "$output" == *"offered 15"* ]]; then
        probe_net ioctl-tap 0x400454d0 0x67 # TUN_F_CSUM | TSO4 | TSO6 | USO4 | USO6
        [ "$PROBE" = allowed ]
        [[ "$output" == *"returned 0"* ]]
        probe_net ioctl-tap 0x400454d0 0x61 # TUN_F_CSUM | USO4 | USO6
        [ "$PROBE" = allowed ]
        [[ "$output" == *"returned 0"* ]]
        # Offered flags, but combinations never made: USO4 without USO6 (the kernel
        # refuses it too), USO without the checksum.
        probe_net ioctl-tap 0x400454d0 0x21
        [ "$PROBE" = refused ]
        probe_net ioctl-tap 0x400454d0 0x60
        [ "$PROBE" = refused ]
        probe_net ioctl-tap 0x400454d0 0x02 # TSO4 without the checksum
        [ "$PROBE" = refused ]
        probe_net ioctl-tap 0x400454d0 0x80 # beyond USO6: never offered
        [ "$PROBE" = refused ]
    fi
    probe_net ioctl-tap 0x400454ca 0 # TUNSETIFF
    [ "$PROBE" = refused ]
    probe_net ioctl-fd 1 0x400454d0 0
    [ "$PROBE" = refused ]
    # Without offloads the tap has no header: neither call is allowed at all.
    NET_OPTS=(--net-offload=off)
    probe_net offloads
    [[ "$output" == *"offered 0"* ]]
    probe_net writev-tap 2
    [ "$PROBE" = refused ]
    probe_net ioctl-tap 0x400454d0 0
    [ "$PROBE" = refused ]
}

@test "spt: the filter allows mprotect only to PROT_NONE or read/write, only inside the heap" {
    require_target spt sptfilter
    DISK=$BATS_TEST_TMPDIR/disk.img
    make_disk "$DISK" 4096
    allowed mprotect end -4096 4096 0
    [[ "$output" == *"filter: allowed, returned 0"* ]]
    allowed mprotect end -8192 8192 3
    allowed mprotect start 0 4096 3
    refused mprotect end -4096 4096 4 # PROT_EXEC
    refused mprotect end -4096 4096 7
    refused mprotect end -4096 4096 5
    refused mprotect end -4096 4096 1 # read-only: not a guard's state
    refused mprotect end 0 4096 3     # the initial stack's guard, above the heap
    refused mprotect end -4096 8192 0 # runs past the heap's end
    refused mprotect start -4096 4096 3 # the boot info, below the heap
    refused mprotect image 0 4096 3   # the text: W^X stays
    refused mprotect start 0 4097 0
    refused mprotect start 0x100000000 4096 0
}

@test "spt: the guest reads its clocks through the vDSO, without system calls" {
    require_target spt clock
    # clock prints both clocks and sleeps a second between lines: with the vDSO's
    # clock_gettime (found by the tender) none of that is a system call.
    run strace -f -qq -e trace=clock_gettime "$SPT" "$UK/clock.spt"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"monotonic "*" ns, wall "* ]]
    [[ "$output" != *"clock_gettime("* ]]
}

@test "spt: the 32-bit and x32 system call ABIs are refused by name" {
    require_target spt sptfilter
    DISK=$BATS_TEST_TMPDIR/disk.img
    make_disk "$DISK" 4096
    probe "$DISK" int80
    if [ "$status" -eq 254 ] && [[ "$output" == *"general protection fault"* ]]; then
        # This kernel has no 32-bit entry at all (IA32 emulation off): int 0x80
        # faults before any system call, so there is nothing for the filter to refuse.
        echo "# spt.bats: int 0x80 faults on this kernel (no IA32 emulation)" >&3
    else
        [ "$PROBE" = refused ]
        [[ "$output" == *"(not the x86_64 ABI)"* ]]
    fi
    refused nr 0x40000027
    [[ "$output" == *"(the x32 ABI)"* ]]
}

# ---- block devices -------------------------------------------------------------

@test "spt: blocktest reads and writes across a disk, refusals past the end and misaligned" {
    blocktest spt $((1024 * 1024 + 3 * 512)) # every request size ends in a partial chunk
}
@test "spt: a one-sector disk works" { blocktest spt 512; }

# ---- network -------------------------------------------------------------------

@test "spt: frames the unikernel writes reach the tap, all of them" { tap_frames spt 7; }

@test "spt: a tap that does not exist is refused with 125" {
    require_target spt netsend
    NS=mirage-spt-$$
    netns_create "$NS"
    run ip netns exec "$NS" "$SPT" --net:service=tap0 "$UK/netsend.spt"
    [ "$status" -eq 125 ]
    [[ "$output" == *"mirage-spt: tap 'tap0' does not exist"* ]]
}

# ---- refusals: options, images, devices ------------------------------------------

# refuses PATTERN ARGS...: mirage-spt ARGS exits 125 with a message matching PATTERN.
refuses() {
    local pattern=$1
    shift
    run "$SPT" "$@"
    echo "$* -> $status: $output"
    [ "$status" -eq 125 ]
    [[ "$output" =~ mirage-spt:\ .*$pattern ]]
}

@test "spt: unknown options and bad --mem are refused with 125" {
    refuses "unknown option '--frobnicate'" --frobnicate "$UK/hello.spt"
    refuses "--mem=0" --mem=0 "$UK/hello.spt"
    refuses "--mem=524289" --mem=524289 "$UK/hello.spt"
    refuses "--mem=abc" --mem=abc "$UK/hello.spt"
}

@test "spt: missing, extra and mistyped devices are refused with 125" {
    require_target spt blocktest
    DISK=$BATS_TEST_TMPDIR/disk.img
    make_disk "$DISK" 4096
    refuses "device 'storage' \(block\) is declared by the unikernel but not given" \
        "$UK/blocktest.spt"
    refuses "device 'other' is given but not declared" --block:storage="$DISK" \
        --block:other="$DISK" "$UK/blocktest.spt"
    refuses "device 'storage' is declared as block but given as net" --net:storage=tap0 \
        "$UK/blocktest.spt"
    refuses "device 'service' is given but not declared" --net:service=tap0 "$UK/hello.spt"
}

@test "spt: bad disk images are refused with 125" {
    require_target spt blocktest
    head -c 1000 /dev/zero >"$BATS_TEST_TMPDIR/odd.img"
    refuses "not a whole number of 512-byte sectors" --block:storage="$BATS_TEST_TMPDIR/odd.img" \
        "$UK/blocktest.spt"
    : >"$BATS_TEST_TMPDIR/empty.img"
    refuses "disk image '.*empty.img'" --block:storage="$BATS_TEST_TMPDIR/empty.img" \
        "$UK/blocktest.spt"
    refuses "cannot open" --block:storage="$BATS_TEST_TMPDIR/nonexistent.img" "$UK/blocktest.spt"
    refuses "disk image" --block:storage="$BATS_TEST_TMPDIR" "$UK/blocktest.spt"
}

@test "spt: missing, empty, truncated and corrupt images are refused with 125" {
    refuses "cannot open" "$BATS_TEST_TMPDIR/nonexistent.spt"
    refuses "is a directory" "$BATS_TEST_TMPDIR"
    : >"$BATS_TEST_TMPDIR/empty.spt"
    refuses "empty" "$BATS_TEST_TMPDIR/empty.spt"
    refuses "not an ELF file" /etc/hostname
    head -c 100 "$UK/hello.spt" >"$BATS_TEST_TMPDIR/trunc.spt"
    refuses "truncated" "$BATS_TEST_TMPDIR/trunc.spt"
    python3 - "$UK/hello.spt" "$BATS_TEST_TMPDIR" <<'PY'
import sys
src, out = sys.argv[1], sys.argv[2]
d = bytearray(open(src, "rb").read())
def patched(name, edit):
    c = bytearray(d)
    edit(c)
    open(out + "/" + name, "wb").write(c)
def machine(c): c[18] = 0x03                       # e_machine: i386
def first_load(c):                                # the first PT_LOAD header (PT_INTERP comes first)
    off, n = int.from_bytes(c[32:40], "little"), int.from_bytes(c[56:58], "little")
    return next(off + 56 * i for i in range(n) if c[off + 56 * i] == 1)
def wx(c): c[first_load(c) + 4] = 7                # first loaded segment: RWX
def version(c): c[c.find(b"MIRAGE\0\0") + 8] = 99  # manifest version
def phoff(c): c[32:40] = (1 << 40).to_bytes(8, "little")
patched("machine.spt", machine)
patched("wx.spt", wx)
patched("manifest.spt", version)
patched("phoff.spt", phoff)
# Cut inside the last loaded segment's bytes, past the headers.
phoff, phnum = int.from_bytes(d[32:40], "little"), int.from_bytes(d[56:58], "little")
end = 0
for i in range(phnum):
    ph = d[phoff + 56 * i : phoff + 56 * (i + 1)]
    if int.from_bytes(ph[0:4], "little") == 1:  # PT_LOAD
        end = max(end, int.from_bytes(ph[8:16], "little") + int.from_bytes(ph[32:40], "little"))
open(out + "/cut.spt", "wb").write(d[: end - 1])
PY
    refuses "not an x86_64 ELF" "$BATS_TEST_TMPDIR/machine.spt"
    refuses "writable and executable" "$BATS_TEST_TMPDIR/wx.spt"
    refuses "manifest: version 99" "$BATS_TEST_TMPDIR/manifest.spt"
    refuses "image '.*phoff.spt'" "$BATS_TEST_TMPDIR/phoff.spt"
    refuses "image '.*cut.spt'" "$BATS_TEST_TMPDIR/cut.spt"
}

@test "spt: --help prints the usage and exits 0" { help_usage spt; }
