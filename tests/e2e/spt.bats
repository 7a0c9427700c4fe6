#!/usr/bin/env bats
# spt.bats: mirage-spt runs unikernels: arguments, exit statuses, faults, the seccomp filter, devices, refusals.

load helpers

SPT=$B/bin/mirage-spt

setup() {
    require_target spt hello
    require_target spt fault
    NS=
}

teardown() {
    if [ -n "$NS" ]; then netns_delete "$NS"; fi
}

# make_disk PATH BYTES: a disk image whose byte at position p is ((p/512)*3 + p%512) & 0xff,
# the pattern blocktest expects to find.
make_disk() {
    python3 - "$1" "$2" <<'PY'
import sys
n = int(sys.argv[2])
sector = bytes(range(256)) * 2
with open(sys.argv[1], "wb") as f:
    for s in range(n // 512):
        k = (s * 3) & 0xff
        f.write(sector[k:] + sector[:k])
PY
}

# disk_has_guest_pattern PATH: whether every byte is what blocktest writes.
disk_has_guest_pattern() {
    python3 - "$1" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
bad = sum(1 for p in range(len(d)) if d[p] != ((p // 512) * 7 + (p % 512) * 13 + 0x5a) & 0xff)
print("bytes", len(d), "wrong", bad)
sys.exit(1 if bad or not d else 0)
PY
}

# ---- arguments and exit statuses ---------------------------------------------

@test "spt: hello prints its arguments, split as MirageOS does, as on unix" {
    run "$SPT" "$UK/hello.spt" a 'b\ c' '"d e"' '""' "it's"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "hello from hello" ]
    [ "${lines[1]}" = "arg 1: [a]" ]
    [ "${lines[2]}" = "arg 2: [b c]" ]
    [ "${lines[3]}" = "arg 3: [d e]" ]
    [ "${lines[4]}" = "arg 4: []" ]
    [ "${lines[5]}" = "arg 5: [it's]" ]
    spt_out=$output
    run "$UK/hello" a 'b\ c' '"d e"' '""' "it's"
    [ "$output" = "$spt_out" ]
}

@test "spt: arguments after -- are the unikernel's, even ones that look like options" {
    run "$SPT" "$UK/hello.spt" -- --mem=5 x
    [ "$status" -eq 0 ]
    [ "${lines[1]}" = "arg 1: [--mem=5]" ]
    [ "${lines[2]}" = "arg 2: [x]" ]
}

@test "spt: exit statuses 0, 1, N and 255 pass through the tender" {
    for s in 0 1 7 42 200 255; do
        run "$SPT" "$UK/hello.spt" --exit=$s
        [ "$status" -eq "$s" ]
        run "$SPT" "$UK/fault.spt" return $s
        [ "$status" -eq "$s" ]
        run "$SPT" "$UK/fault.spt" exit $s
        [ "$status" -eq "$s" ]
    done
}

@test "spt: abort ends with 255" {
    run "$SPT" "$UK/hello.spt" --abort
    [ "$status" -eq 255 ]
    run "$SPT" "$UK/fault.spt" abort
    [ "$status" -eq 255 ]
}

@test "spt: bad boot arguments end with 64 and a message" {
    run "$SPT" "$UK/hello.spt" 'x\'
    [ "$status" -eq 64 ]
    [[ "$output" == *"bad boot arguments: trailing backslash"* ]]
}

@test "spt: a closed console does not crash the tender" {
    run bash -c "'$SPT' '$UK/hello.spt' a b >&-"
    [ "$status" -eq 0 ]
    run bash -c "'$SPT' '$UK/hello.spt' a b | true"
    [ "$status" -eq 0 ]
}

@test "spt: --mem from 1 MB to 3072 MB boots" {
    for m in 1 2 32 3072; do
        run "$SPT" --mem=$m "$UK/hello.spt"
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "hello from hello" ]
    done
}

# ---- faults --------------------------------------------------------------------

# expect_fault MODE STATUS PATTERN: fault MODE ends with STATUS and a message matching PATTERN.
expect_fault() {
    run "$SPT" "$UK/fault.spt" "$1"
    echo "$1 -> $status: $output"
    [ "$status" -eq "$2" ]
    [ "${lines[0]}" = "fault: $1" ]
    [[ "$output" =~ $3 ]]
}

@test "spt: writing page 0 is a fault naming the address" {
    expect_fault null-write 254 "mirage-spt: guest fault: SIGSEGV writing address 0x8 \(rip 0x10[0-9a-f]+\)"
    expect_fault null-read 254 "guest fault: SIGSEGV reading address 0x10 "
}

@test "spt: writing text or rodata is a fault" {
    expect_fault text-write 254 "guest fault: SIGSEGV writing address 0x10[0-9a-f]+ "
    expect_fault rodata-write 254 "guest fault: SIGSEGV writing address 0x10[0-9a-f]+ "
}

@test "spt: executing data, stack or heap is a fault" {
    for m in exec-data exec-stack exec-heap wild-jump; do
        expect_fault $m 254 "guest fault: SIGSEGV executing address 0x[0-9a-f]+ \(rip 0x[0-9a-f]+\)"
    done
    expect_fault wild-jump 254 "executing address 0xdead000 "
}

@test "spt: CPU exceptions are faults: #GP, #UD, #DE, #BP" {
    expect_fault noncanonical 254 "guest fault: SIGSEGV general protection fault"
    expect_fault ud2 254 "guest fault: SIGILL illegal instruction \(rip 0x10"
    expect_fault div0 254 "guest fault: SIGFPE arithmetic error"
    expect_fault int3 254 "guest fault: SIGTRAP breakpoint"
}

@test "spt: a stack overflow hits the guard page" {
    expect_fault stack-overflow 254 "SIGSEGV writing address 0x[0-9a-f]+ \(stack overflow\)"
}

@test "spt: stack smashing is caught by the canary and aborts with 255" {
    expect_fault stack-smash 255 "stack smashing detected"
}

@test "spt: a forbidden system call ends with SIGSYS reported and 253" {
    expect_fault syscall 253 "mirage-spt: forbidden system call 39 \(getpid\) at 0x10[0-9a-f]+"
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

@test "spt: the 32-bit and x32 system call ABIs are refused by name" {
    require_target spt sptfilter
    DISK=$BATS_TEST_TMPDIR/disk.img
    make_disk "$DISK" 4096
    refused int80
    [[ "$output" == *"(not the x86_64 ABI)"* ]]
    refused nr 0x40000027
    [[ "$output" == *"(the x32 ABI)"* ]]
}

# ---- block devices -------------------------------------------------------------

@test "spt: block reads and writes across a disk, refusals past the end and misaligned" {
    require_target spt blocktest
    DISK=$BATS_TEST_TMPDIR/disk.img
    # 1 MiB and three sectors: requests of every size end in a partial chunk.
    make_disk "$DISK" $((1024 * 1024 + 3 * 512))
    run "$SPT" --block:storage="$DISK" "$UK/blocktest.spt"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"capacity 1050112 block_size 512"* ]]
    [[ "$output" == *"checks passed"* ]]
    disk_has_guest_pattern "$DISK"
}

@test "spt: a one-sector disk works" {
    require_target spt blocktest
    DISK=$BATS_TEST_TMPDIR/one.img
    make_disk "$DISK" 512
    run "$SPT" --block:storage="$DISK" "$UK/blocktest.spt"
    echo "$output"
    [ "$status" -eq 0 ]
    disk_has_guest_pattern "$DISK"
}

# ---- network -------------------------------------------------------------------

@test "spt: a tap opens and frames written by the unikernel reach it" {
    require_target spt netsend
    NS=mirage-spt-$$
    netns_create "$NS"
    ip netns exec "$NS" ip tuntap add dev tap0 mode tap
    ip netns exec "$NS" ip link set tap0 up
    before=$(ip netns exec "$NS" cat /sys/class/net/tap0/statistics/rx_packets)
    run ip netns exec "$NS" "$SPT" --net:service=tap0 --net-mac:service=02:00:00:12:34:56 \
        "$UK/netsend.spt" 7
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"netsend: mac 02:00:00:12:34:56 mtu 1500"* ]]
    [[ "$output" == *"netsend: sent 10 frames"* ]]
    after=$(ip netns exec "$NS" cat /sys/class/net/tap0/statistics/rx_packets)
    [ $((after - before)) -eq 10 ]
}

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
    refuses "--mem=5000" --mem=5000 "$UK/hello.spt"
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
def wx(c): c[64 + 4] = 7                           # first program header: RWX
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

@test "spt: --help prints the usage and exits 0" {
    run "$SPT" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: mirage-spt"* ]]
}
