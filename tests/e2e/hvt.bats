#!/usr/bin/env bats
# hvt.bats: mirage-hvt runs unikernels in KVM: arguments, exit statuses, faults, bad hypercalls, memory, block, net.

load helpers
load tenders

HVT=$B/bin/mirage-hvt

setup() {
    # Refusals and --help come before the tender opens /dev/kvm: they run without it.
    case $BATS_TEST_DESCRIPTION in
    *"bad inputs"* | *"--help"*) [ -f "$UK/hello.hvt" ] ;;
    *) require_target hvt hello ;;
    esac
    NS=
    UK_PID=
}

teardown() {
    uk_stop
    if [ -n "$NS" ]; then netns_delete "$NS"; fi
}

# ---- arguments and exit statuses ------------------------------------------------

@test "hvt: hello prints its arguments, split as MirageOS does, as on unix" { hello_args hvt; }
@test "hvt: arguments after -- are the unikernel's, even ones that look like options" {
    args_after_dashes hvt
}
@test "hvt: exit statuses 0, 1, N and 255 pass through the tender" { exit_statuses hvt; }
@test "hvt: abort ends with 255" { abort_255 hvt; }
@test "hvt: bad boot arguments end with 64 and a message" { bad_boot_args hvt; }

# ---- faults: each ends with a clear message and its own status -------------------

@test "hvt: writing page 0 is a page fault naming the address" {
    require_target hvt fault
    expect_fault hvt null-write 254 \
        'mirage-hvt: guest fault: #PF \(page fault\) writing 0x8 at rip 0x[0-9a-f]+: page not present \(error code 0x6\)'
    expect_fault hvt null-read 254 \
        'mirage-hvt: guest fault: #PF \(page fault\) reading 0x10 at rip 0x[0-9a-f]+: page not present'
}

@test "hvt: text and rodata are read-only" {
    require_target hvt fault
    expect_fault hvt text-write 254 \
        '#PF \(page fault\) writing 0x[0-9a-f]+ at rip 0x[0-9a-f]+: protection violation \(error code 0x7\)'
    expect_fault hvt rodata-write 254 \
        '#PF \(page fault\) writing 0x[0-9a-f]+ at rip 0x[0-9a-f]+: protection violation'
}

@test "hvt: data, stack and heap are not executable" {
    require_target hvt fault
    expect_fault hvt exec-data 254 \
        '#PF \(page fault\) executing 0x([0-9a-f]+) at rip 0x\1: protection violation \(error code 0x15\)'
    expect_fault hvt exec-stack 254 \
        '#PF \(page fault\) executing 0x[0-9a-f]+ .*: protection violation'
    expect_fault hvt exec-heap 254 \
        '#PF \(page fault\) executing 0x[0-9a-f]+ .*: protection violation'
    expect_fault hvt wild-jump 254 \
        '#PF \(page fault\) executing 0xdead000 at rip 0xdead000: page not present'
}

@test "hvt: other CPU exceptions are named with their RIP" {
    require_target hvt fault
    expect_fault hvt ud2 254 'mirage-hvt: guest fault: #UD \(invalid opcode\) at rip 0x[0-9a-f]+'
    expect_fault hvt noncanonical 254 \
        'mirage-hvt: guest fault: #GP \(general protection\) at rip 0x[0-9a-f]+'
    expect_fault hvt int3 254 \
        'mirage-hvt: guest fault: #(BP \(breakpoint\)|GP \(general protection\)) at rip'
}

@test "hvt: a smashed stack aborts with 255, an overflowing one hits the guard page" {
    require_target hvt fault
    expect_fault hvt stack-smash 255 'stack smashing detected'
    expect_fault hvt stack-overflow 254 \
        '#PF \(page fault\) writing 0x[0-9a-f]+ at rip 0x[0-9a-f]+: page not present'
}

@test "hvt: a system call is refused with 253" {
    require_target hvt fault
    expect_fault hvt syscall 253 'mirage-hvt: guest made system call 39 at rip 0x[0-9a-f]+'
}

# ---- hypercalls with bad pointers ----------------------------------------------------

# badptr MODE PATTERN: badptr.hvt MODE ends with 253 and a message matching PATTERN.
badptr() {
    run "$HVT" --block:disk="$DISK" "$UK/badptr.hvt" "$1"
    echo "$output"
    [ "$status" -eq 253 ]
    [[ "$output" == *"badptr: $1"* ]]
    [[ "$output" =~ $2 ]]
    [[ "$output" != *"let it through"* ]]
}

@test "hvt: hypercall buffers outside guest memory end the guest with 253" {
    require_target hvt badptr
    DISK=$BATS_TEST_TMPDIR/disk.img
    make_disk "$DISK" 65536
    badptr console-beyond 'bad hypercall 0 \(console\): buffer 0x[0-9a-f]+ \+ 4294967296 outside guest memory'
    badptr console-wrap 'bad hypercall 0 \(console\): buffer 0x200000 \+ 18446744073709547519 outside'
    badptr console-tender 'bad hypercall 0 \(console\): buffer 0x10000 \+ 64 outside guest memory \[0x100000,'
    badptr struct 'bad hypercall 0 \(console\): argument 0xfffffff0 \+ 16 outside guest memory'
    badptr block "bad block request on 'disk': buffer 0xfffff000 \\+ 4096 outside guest memory"
    # every entry point through the one translation: past memory, wrapping, the
    # tender's first MiB, ending in a guard page
    badptr block-wrap "bad block request on 'disk': buffer 0x200000 \\+ 18446744073709547520 outside guest memory"
    badptr block-tender "bad block request on 'disk': buffer 0x10000 \\+ 4096 outside guest memory \\[0x100000,"
    badptr block-guard "bad block request on 'disk': buffer 0x[0-9a-f]+ \\+ 4096 touches a guard page"
    badptr exit-beyond 'bad hypercall 1 \(exit\): argument 0xfffffff0 \+ [0-9]+ outside guest memory'
    badptr yield-beyond 'bad hypercall 2 \(yield\): argument 0xfffffff0 \+ [0-9]+ outside guest memory'
    badptr guard-beyond 'bad hypercall 3 \(guard\): argument 0xfffffff0 \+ [0-9]+ outside guest memory'
    badptr exit-guard 'bad hypercall 1 \(exit\): argument 0x[0-9a-f]+ \+ [0-9]+ touches a guard page'
    badptr yield-guard 'bad hypercall 2 \(yield\): argument 0x[0-9a-f]+ \+ [0-9]+ touches a guard page'
    badptr guard-guard 'bad hypercall 3 \(guard\): argument 0x[0-9a-f]+ \+ [0-9]+ touches a guard page'
    badptr console-guard 'bad hypercall 0 \(console\): argument 0x[0-9a-f]+ \+ 16 touches a guard page'
    badptr port 'bad hypercall: write of 4 byte\(s\) at port 0x3f8'
    badptr in 'bad hypercall: read of 1 byte\(s\) at port 0x80'
    # a request beyond the disk is the guest's error, not a violation
    run "$HVT" --block:disk="$DISK" "$UK/badptr.hvt" block-range
    [ "$status" -eq 0 ]
    [[ "$output" == *"block-range: EINVAL"* ]]
}

@test "hvt: guard pages: bad ranges refused, lifted pages keep their data, touching one ends the guest" {
    require_target hvt badptr
    DISK=$BATS_TEST_TMPDIR/disk.img
    make_disk "$DISK" 65536
    # outside the heap, unaligned, empty, wrapping, the tender's own memory: EINVAL
    run "$HVT" --block:disk="$DISK" "$UK/badptr.hvt" guard-range
    [ "$status" -eq 0 ]
    [[ "$output" == *"guard-range: EINVAL"* ]]
    run "$HVT" --block:disk="$DISK" "$UK/badptr.hvt" guard-lift
    [ "$status" -eq 0 ]
    [[ "$output" == *"guard-lift: ok"* ]]
    # the guest reading a guard page far from any stack: a fault (254), not a crash
    run "$HVT" --block:disk="$DISK" "$UK/badptr.hvt" guard-touch
    echo "$output"
    [ "$status" -eq 254 ]
    [[ "$output" =~ "mirage-hvt: guest fault: access to a guard page (rip 0x"[0-9a-f]+", rsp 0x" ]]
    # a hypercall naming a guard page: the tender keeps its hands off it (253)
    badptr guard-console 'bad hypercall 0 \(console\): buffer 0x[0-9a-f]+ \+ 16 touches a guard page'
}

# ---- memory, clocks, TLS ---------------------------------------------------------------

@test "hvt: --mem sizes the heap, and every heap page is usable" {
    require_target hvt hvtprobe
    run "$HVT" "$UK/hvtprobe.hvt" heap
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ heap_mb:\ (2[0-9]|3[01]) ]]
    run "$HVT" --mem=256 "$UK/hvtprobe.hvt" heap
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ heap_mb:\ 25[0-4] ]]
}

@test "hvt: too little memory for the image is refused with 125" {
    run "$HVT" --mem=2 "$UK/hello.hvt"
    [ "$status" -eq 125 ]
    [[ "$output" == *"mirage-hvt: --mem=2 is too small for this image"* ]]
}

@test "hvt: the stack takes 512 KiB of frames and ends at a guard page" {
    require_target hvt hvtprobe
    run "$HVT" "$UK/hvtprobe.hvt" stack 512
    [ "$status" -eq 0 ]
    [[ "$output" == *"stack: ok"* ]]
    run "$HVT" "$UK/hvtprobe.hvt" stack 4096
    [ "$status" -eq 254 ]
    [[ "$output" == *"#PF (page fault) writing"*"page not present"* ]]
}

@test "hvt: clocks advance without exits and match the host's wall clock" {
    require_target hvt hvtprobe
    run "$HVT" "$UK/hvtprobe.hvt" clock
    echo "$output"
    [ "$status" -eq 0 ]
    wall=$(sed -n 's/^wall_s: //p' <<<"$output")
    now=$(date +%s)
    [ $((now - wall)) -ge -2 ] && [ $((now - wall)) -le 2 ]
}

@test "hvt: FS points at a TCB with a canary, SSE works, the guest sees its CPU features" {
    require_target hvt hvtprobe
    run "$HVT" "$UK/hvtprobe.hvt" tls
    [ "$status" -eq 0 ]
    run "$HVT" "$UK/hvtprobe.hvt" sse
    [ "$status" -eq 0 ]
    run "$HVT" "$UK/hvtprobe.hvt" cpuid
    [ "$status" -eq 0 ]
    [[ "$output" == *"fsgsbase: yes"* ]]
}

# ---- block devices ------------------------------------------------------------------------

@test "hvt: blocktest reads and writes across a disk, refusals past the end and misaligned" {
    blocktest hvt $((1024 * 1024 + 3 * 512)) # every request size ends in a partial chunk
}
@test "hvt: a one-sector disk works" { blocktest hvt 512; }

# ---- refusals ---------------------------------------------------------------------------------

@test "hvt: bad inputs are refused with 125 and a message" {
    run "$HVT" "$BATS_TEST_TMPDIR/missing.hvt"
    [ "$status" -eq 125 ]
    [[ "$output" == "mirage-hvt: "* ]]
    printf 'not an elf' >"$BATS_TEST_TMPDIR/junk.hvt"
    run "$HVT" "$BATS_TEST_TMPDIR/junk.hvt"
    [ "$status" -eq 125 ]
    [[ "$output" == "mirage-hvt: "* ]]
    run "$HVT" --net:service=tap0 "$UK/hello.hvt"
    [ "$status" -eq 125 ]
    [[ "$output" == *"service"* ]]
    run "$HVT" --bogus "$UK/hello.hvt"
    [ "$status" -eq 125 ]
    run "$HVT" --mem=0 "$UK/hello.hvt"
    [ "$status" -eq 125 ]
    run "$HVT"
    [ "$status" -eq 125 ]
}

@test "hvt: --help prints the usage and exits 0" { help_usage hvt; }

# ---- network: frames both ways through the rings -------------------------------------------------

# 300 frames: the ring must deliver all of them, even those written just before exit.
@test "hvt: frames the unikernel writes reach the tap, all of them" { tap_frames hvt 300; }

@test "hvt: ping round trips through the rings: ARP, echoes, big frames and a flood" {
    require_target hvt ping
    NS=mirage-hvt-$$-$BATS_TEST_NUMBER
    NET=10.202.$BATS_TEST_NUMBER
    LOG=$BATS_TEST_TMPDIR/uk.log
    netns_create "$NS"
    netns_tap "$NS" tap0 "$NET.1/24"
    TENDER_OPTS=(--net:service=tap0)
    uk_start "$NS" "$LOG" hvt ping "--ipv4=$NET.2/24"
    uk_wait_line "$LOG" "service mac .* ipv4 " 20
    run ip netns exec "$NS" ping -c 5 -i 0.2 -W 2 -w 20 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" = 5 ]
    run ip netns exec "$NS" ping -c 3 -i 0.2 -s 1472 -M do -W 2 -w 20 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" = 3 ]
    # Many frames in flight: the rings must not lose more than 1%.
    run ip netns exec "$NS" ping -f -c 2000 -W 2 -w 30 "$NET.2"
    echo "$output"
    got=$(ping_received "$output")
    [ "$got" -ge 1980 ]
}

@test "hvt: a guest that corrupts its net ring is stopped with 253, the tender intact" {
    require_target hvt badring
    NS=mirage-hvt-$$-$BATS_TEST_NUMBER
    netns_create "$NS"
    ip netns exec "$NS" ip tuntap add dev tap0 mode tap
    ip netns exec "$NS" ip link set tap0 up
    for mode in prod len vnethdr rxcons; do
        run timeout 20 ip netns exec "$NS" "$HVT" --net:service=tap0 "$UK/badring.hvt" $mode
        echo "$output"
        [ "$status" -eq 253 ]
        [[ "$output" == *"badring: $mode"* ]]
        [[ "$output" == *"mirage-hvt: bad net ring: "* ]]
        [[ "$output" != *"let it through"* ]]
    done
}
