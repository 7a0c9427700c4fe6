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
# blocks), reads it back and checks out-of-range requests are refused.
blk() {
    local target=$1 disk=$BATS_TEST_TMPDIR/disk.img
    require_target "$target" solo5_blk
    truncate -s $((1024 * 1024 + 512)) "$disk"
    TENDER_OPTS=("--block:storage=$disk")
    run run_target "$target" solo5_blk
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"capacity 1049088 bytes, block size 512"* ]]
    [[ "$output" == *"patterns: ok"* ]]
    [[ "$output" == *"refusals: ok"* ]]
    [[ "$output" == *$'\nSUCCESS'* ]]
    # The patterns reached the file, up to its last sector.
    [ "$(stat -c %s "$disk")" -eq 1049088 ]
    [ "$(tail -c 512 "$disk" | tr -d '\0' | wc -c)" -gt 0 ]
    [ "$(head -c 512 "$disk" | tr -d '\0' | wc -c)" -gt 0 ]
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
    if [ "$target" = hvt ]; then
        ip netns exec "$NS" ip link set tap0 mtu 4000
        run timeout 20 ip netns exec "$NS" "${TARGET_ARGV[@]}"
        echo "$output"
        [ "$status" -eq 125 ]
        [[ "$output" == *"mirage-hvt: tap 'tap0' has MTU 4000: mirage-hvt's ring slots carry at most 2034"* ]]
    fi
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
