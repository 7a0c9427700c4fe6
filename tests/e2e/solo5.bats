#!/usr/bin/env bats
# solo5.bats: programs written against solo5.h only run through the shim on unix, spt and hvt.

load helpers

setup() {
    NS=mirage-solo5-$$-$BATS_TEST_NUMBER
    NET=10.202.$BATS_TEST_NUMBER
    LOG=$BATS_TEST_TMPDIR/uk.log
    UK_PID=
    TENDER_OPTS=()
}

teardown() {
    uk_stop
    netns_delete "$NS"
}

hello() {
    local target=$1
    require_target "$target" solo5_hello
    run run_target "$target" solo5_hello one 'two three'
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *$'\nHello, World\n'* ]]
    [[ "$output" == *"Command line is: 'one two three'"* ]]
    [[ "$output" == *"clocks: ok"* ]]
    [[ "$output" == *$'\nSUCCESS'* ]]
    # The host libc owns FS on unix; the guests must really move it.
    if [ "$target" = unix ]; then
        [[ "$output" == *"TLS base: refused"* ]]
    else
        [[ "$output" == *"TLS base: ok"* ]]
    fi
    run run_target "$target" solo5_hello --exit=7
    [ "$status" -eq 7 ]
    run run_target "$target" solo5_hello --abort
    [ "$status" -eq 255 ]
}

@test "unix: Solo5 hello prints its command line and exits as told" {
    hello unix
}

@test "spt: Solo5 hello prints its command line and exits as told" {
    hello spt
}

@test "hvt: Solo5 hello prints its command line and exits as told" {
    hello hvt
}

# blk writes every block of a disk (1 MiB + one sector: an odd number of
# blocks), reads it back and checks out-of-range requests are refused; the
# sector size is 512, or the tenders' --block-sector-size when given.
blk() {
    local target=$1 bs=${2:-512} disk=$BATS_TEST_TMPDIR/disk.img size
    require_target "$target" solo5_blk
    size=$((1024 * 1024 + bs))
    truncate -s $size "$disk"
    TENDER_OPTS=("--block:storage=$disk")
    [ "$bs" = 512 ] || TENDER_OPTS+=("--block-sector-size:storage=$bs")
    run run_target "$target" solo5_blk
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"capacity $size bytes, block size $bs"* ]]
    [[ "$output" == *"patterns: ok"* ]]
    [[ "$output" == *"refusals: ok"* ]]
    [[ "$output" == *$'\nSUCCESS'* ]]
    # The patterns reached the file, up to its last sector.
    [ "$(stat -c %s "$disk")" -eq $size ]
    [ "$(tail -c "$bs" "$disk" | tr -d '\0' | wc -c)" -gt 0 ]
    [ "$(head -c "$bs" "$disk" | tr -d '\0' | wc -c)" -gt 0 ]
}

@test "unix: Solo5 blk writes and reads the whole disk, refuses out-of-range requests" {
    blk unix
}

@test "spt: Solo5 blk writes and reads the whole disk, refuses out-of-range requests" {
    blk spt
}

@test "hvt: Solo5 blk writes and reads the whole disk, refuses out-of-range requests" {
    blk hvt
}

@test "spt: Solo5 blk on 4096-byte sectors (--block-sector-size)" {
    blk spt 4096
}

@test "hvt: Solo5 blk on 4096-byte sectors (--block-sector-size)" {
    blk hvt 4096
}

# net answers ARP and echo requests from the namespace's Linux stack.
net() {
    local target=$1 mac
    netns_create "$NS"
    netns_tap "$NS" tap0 "$NET.1/24"
    require_target "$target" solo5_net
    TENDER_OPTS=(--net:service=tap0)
    uk_start "$NS" "$LOG" "$target" solo5_net "--ipv4=$NET.2"
    uk_wait_line "$LOG" "service mac .* mtu 1500 ipv4 $NET.2\$" 20
    mac=$(sed -n 's/^service mac \([0-9a-f:]*\) .*/\1/p' "$LOG")

    run ip netns exec "$NS" ping -c 5 -i 0.2 -W 2 -w 20 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" = 5 ]
    run ip netns exec "$NS" ping -c 3 -i 0.2 -s 1400 -W 2 -w 20 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" = 3 ]
    run ip netns exec "$NS" ping -q -f -c 1000 -w 120 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" -ge 990 ]
    run ip netns exec "$NS" arping -c 2 -w 20 -I tap0 "$NET.2"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "${output,,}" == *"[$mac]"* ]]
}

@test "unix: Solo5 net answers ARP and ICMP echo" {
    net unix
}

@test "spt: Solo5 net answers ARP and ICMP echo" {
    net spt
}

@test "hvt: Solo5 net answers ARP and ICMP echo" {
    net hvt
}

# The device's MTU is the tap's (SIOCGIFMTU), and frames of that size pass.
mtu() {
    local target=$1
    netns_create "$NS"
    netns_tap "$NS" tap0 "$NET.1/24"
    ip netns exec "$NS" ip link set tap0 mtu 1280
    require_target "$target" solo5_net
    TENDER_OPTS=(--net:service=tap0)
    uk_start "$NS" "$LOG" "$target" solo5_net "--ipv4=$NET.2"
    uk_wait_line "$LOG" "service mac .* mtu 1280 ipv4 $NET.2\$" 20
    # 1252 bytes of payload + 28 of headers: a full 1280-byte packet, unfragmented.
    run ip netns exec "$NS" ping -c 3 -i 0.2 -M do -s 1252 -W 2 -w 20 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" = 3 ]
    uk_stop
    # An MTU the binding cannot carry is refused before the unikernel runs.
    ip netns exec "$NS" ip link set tap0 mtu 9001
    target_argv "$target" solo5_net "--ipv4=$NET.2"
    run timeout 20 ip netns exec "$NS" "${TARGET_ARGV[@]}"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"tap 'tap0' has MTU 9001"* ]]
}

@test "unix: Solo5 net reports the tap's MTU" {
    mtu unix
}

@test "spt: Solo5 net reports the tap's MTU" {
    mtu spt
}

@test "hvt: Solo5 net reports the tap's MTU" {
    mtu hvt
}

# net2 answers on two NICs, each on its own tap and subnet.
two_nics() {
    local target=$1 net2=10.205.$BATS_TEST_NUMBER
    netns_create "$NS"
    netns_tap "$NS" tap0 "$NET.1/24"
    netns_tap "$NS" tap1 "$net2.1/24"
    require_target "$target" solo5_net2
    case $target in
    unix) TENDER_OPTS=(--net:service=tap0 --net:service2=tap1) ;;
    *) TENDER_OPTS=(--net:service=tap0 --net:service2=tap1) ;;
    esac
    uk_start "$NS" "$LOG" "$target" solo5_net2 "--ipv4=$NET.2" "--ipv4-2=$net2.2" --limit=1000
    uk_wait_line "$LOG" "service2 mac .* ipv4 $net2.2\$" 20
    grep -q "^service mac .* ipv4 $NET.2\$" "$LOG"
    run ip netns exec "$NS" ping -c 3 -i 0.2 -W 2 -w 20 "$NET.2"
    [ "$(ping_received "$output")" = 3 ]
    run ip netns exec "$NS" ping -c 3 -i 0.2 -W 2 -w 20 "$net2.2"
    [ "$(ping_received "$output")" = 3 ]
    # Both at once, flooding.
    ip netns exec "$NS" ping -q -f -c 300 -w 60 "$NET.2" >"$BATS_TEST_TMPDIR/p1" &
    local p1=$!
    run ip netns exec "$NS" ping -q -f -c 300 -w 60 "$net2.2"
    wait "$p1" || true
    cat "$BATS_TEST_TMPDIR/p1"
    echo "$output"
    [ "$(ping_received "$output")" -ge 297 ]
    [ "$(ping_received "$(cat "$BATS_TEST_TMPDIR/p1")")" -ge 297 ]
}

@test "unix: Solo5 net2 answers on two NICs" {
    two_nics unix
}

@test "spt: Solo5 net2 answers on two NICs" {
    two_nics spt
}

@test "hvt: Solo5 net2 answers on two NICs" {
    two_nics hvt
}

@test "unix: Solo5 net refuses a command line without an address" {
    run "$UK/solo5_net" --net:service=lo -- --ipv4=10.0.0.256
    [ "$status" -eq 1 ]
    [[ "$output" == *"usage: --ipv4=A.B.C.D"* ]]
}

# ---- what Solo5 programs expect of the platform ---------------------------------

# --solo5: words are the platform's, not the program's; solo5_abort() says so.
options_and_abort() {
    local target=$1
    require_target "$target" solo5_hello
    run run_target "$target" solo5_hello --solo5:quiet one --solo5:debug two --solo5:loud
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Command line is: 'one two'"* ]]
    [[ "$output" == *"solo5: unknown option '--solo5:loud': ignored"* ]]
    run run_target "$target" solo5_hello --abort
    [ "$status" -eq 255 ]
    [[ "$output" == *"solo5: solo5_abort() called"* ]]
}

@test "unix: --solo5: options are taken by the platform; solo5_abort() says it was called" {
    options_and_abort unix
}
@test "spt: --solo5: options are taken by the platform; solo5_abort() says it was called" {
    options_and_abort spt
}
@test "hvt: --solo5: options are taken by the platform; solo5_abort() says it was called" {
    options_and_abort hvt
}

# A smashed stack aborts (255), a write to text and a read of page zero fault (254).
faults() {
    local target=$1
    require_target "$target" solo5_faults
    run run_target "$target" solo5_faults fine
    [ "$status" -eq 0 ]
    run run_target "$target" solo5_faults smash
    echo "$output"
    [ "$status" -eq 255 ]
    [[ "$output" == *"smashing the stack"* ]]
    [[ "$output" != *"still running"* ]]
    run run_target "$target" solo5_faults text
    echo "$output"
    [ "$status" -eq 254 ]
    [[ "$output" != *"still running"* ]]
    run run_target "$target" solo5_faults zero
    echo "$output"
    [ "$status" -eq 254 ]
    [[ "$output" == *"0x8"* ]]
    [[ "$output" != *"still running"* ]]
}

@test "unix: Solo5 faults: stack smash 255, write to text and read of page zero 254" { faults unix; }
@test "spt: Solo5 faults: stack smash 255, write to text and read of page zero 254" { faults spt; }
@test "hvt: Solo5 faults: stack smash 255, write to text and read of page zero 254" { faults hvt; }

# _Thread_local variables: the boot block from .tdata/.tbss, and solo5_tls_* blocks.
tls() {
    local target=$1
    require_target "$target" solo5_tls
    run run_target "$target" solo5_tls
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"tls: ok"* ]]
    if [ "$target" = unix ]; then
        [[ "$output" == *"TLS base: refused"* ]]
    else
        [[ "$output" == *"second block: ok"* ]]
    fi
}

@test "unix: Solo5 _Thread_local variables and solo5_tls_*" { tls unix; }
@test "spt: Solo5 _Thread_local variables and solo5_tls_*" { tls spt; }
@test "hvt: Solo5 _Thread_local variables and solo5_tls_*" { tls hvt; }

# A program with its own memcpy, strlen, ... links and runs; only the Solo5 API,
# the entry point and __stack_chk_fail are global in the bindings.
ownlibc() {
    local target=$1
    require_target "$target" solo5_ownlibc
    run run_target "$target" solo5_ownlibc x
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"command line 'x'"* ]]
    [[ "$output" == *$'\nSUCCESS'* ]]
}

@test "unix: a Solo5 program with its own libc functions" { ownlibc unix; }
@test "spt: a Solo5 program with its own libc functions" { ownlibc spt; }
@test "hvt: a Solo5 program with its own libc functions" { ownlibc hvt; }

@test "spt, hvt: the Solo5 bindings export only the Solo5 API, _start and __stack_chk_fail" {
    local t bad
    for t in spt hvt; do
        bad=$(nm -g --defined-only "$B/guest/solo5_$t.o" | awk '{print $3}' |
            grep -v -e '^solo5_' -e '^_start$' -e '^__stack_chk_fail$' || true)
        echo "$t: $bad"
        [ -z "$bad" ]
    done
}

@test "spt, hvt: images run directly on the host are refused (127); the tenders run them" {
    local t
    for t in spt hvt; do
        require_target "$t" solo5_hello
        run readelf -lW "$UK/solo5_hello.$t"
        [[ "$output" == *"[Requesting program interpreter: /nonexistent/mirage/]"* ]]
        # Not `run`: bats would warn about 127; the shell's own status is the point.
        local st=0
        "$UK/solo5_hello.$t" 2>/dev/null || st=$?
        [ "$st" -eq 127 ]
        run run_target "$t" solo5_hello
        [ "$status" -eq 0 ]
    done
    # Any other interpreter is still refused: test_tender_elf.c.
}

@test "a manifest of 64 devices is refused when it compiles" {
    run gcc -std=gnu11 -Iinclude -c tests/solo5/manifest_full.c -o "$BATS_TEST_TMPDIR/m.o"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"MIRAGE_MANIFEST: more than 63 devices (MIRAGE_MANIFEST_MAX)"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/m.o" ]
}
