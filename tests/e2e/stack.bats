#!/usr/bin/env bats
# stack.bats: examples/stack-echo, built by mirage, echoes TCP and UDP on the socket stack and on the direct stack (unix, spt, hvt), static or by DHCP from dnsmasq.

load helpers

ROOT=$PWD

# One copy of the example per variant, configured and built by the tool once.
setup_file() {
    example_variants stack-echo socket:unix: direct:unix:--net=direct spt:spt: hvt:hvt: \
        static:spt:--no-dhcp
}

# Each test gets its own namespace and /24 (10.203.N.0).
setup() {
    DNSMASQ_LOG=$BATS_TEST_TMPDIR/dnsmasq.log
    net_setup stack 10.203
}

teardown() {
    uk_stop
    dnsmasq_stop "$DNSMASQ_LOG"
    netns_delete "$NS"
}

# boot VARIANT ARGS...: boots the variant's stack-echo in the namespace (on
# tap0 for the direct stack) and waits until it listens; sets ADDR to the
# address it announced.
boot() {
    local v=$1 dir=$BATS_FILE_TMPDIR/$1
    shift
    case $v in
    socket) TARGET_ARGV=("$dir/dist/stack-echo" -- "$@") ;;
    direct) TARGET_ARGV=("$dir/dist/stack-echo" --net:tap0=tap0 -- "$@") ;;
    spt | static) TARGET_ARGV=("$ROOT/$B/bin/mirage-spt" --net:service=tap0 "$dir/dist/stack-echo.spt" "$@") ;;
    hvt)
        require_kvm
        TARGET_ARGV=("$ROOT/$B/bin/mirage-hvt" --net:service=tap0 "$dir/dist/stack-echo.hvt" "$@")
        ;;
    esac
    uk_spawn "$NS" "$LOG" "${TARGET_ARGV[@]}"
    uk_wait_line "$LOG" "echo on TCP and UDP " 30
    ADDR=$(sed -n 's/.*echo on TCP and UDP \([0-9.]*\):.*/\1/p' "$LOG" | head -1)
    [ -n "$ADDR" ]
}

# echo_checks HOST PORT: UDP and TCP echo a line, and TCP 1 MB byte-exact.
echo_checks() {
    local host=$1 port=$2 blob=$BATS_TEST_TMPDIR/blob
    run in_ns timeout 5 socat -T 3 - "UDP:$host:$port" <<<"hello over udp"
    echo "udp: status $status output '$output'"
    [ "$status" -eq 0 ]
    [ "$output" = "hello over udp" ]
    run in_ns timeout 15 socat -t 10 - "TCP:$host:$port" <<<"hello over tcp"
    echo "tcp: status $status output '$output'"
    [ "$status" -eq 0 ]
    [ "$output" = "hello over tcp" ]
    head -c 1048576 /dev/urandom >"$blob"
    run bash -c "ip netns exec '$NS' timeout 30 socat -t 10 - 'TCP:$host:$port' <'$blob' | sha256sum"
    echo "1 MiB over tcp: status $status sha256 '$output'"
    cat "$LOG"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha256sum <"$blob")" ]
}

# The direct stack on TARGET's variant with the address given at boot.
static_run() {
    netns_tap "$NS" tap0 "$NET.1/24"
    boot "$1" "--ipv4=$NET.2/24" --connections=2
    [ "$ADDR" = "$NET.2" ]
    grep -q "IPv4 $NET.2/24, gateway none" "$LOG"
    run in_ns ping -c 3 -i 0.2 -W 2 -w 10 "$NET.2"
    [ "$(ping_received "$output")" = 3 ]
    echo_checks "$NET.2" 7
    uk_wait_exit 10
    [ "$UK_STATUS" -eq 0 ]
    grep -q "served 2 connections: bye" "$LOG"
}

# The direct stack on TARGET's variant with its address from dnsmasq.
dhcp_run() {
    netns_tap "$NS" tap0 "$NET.1/24"
    dnsmasq_start "$NS" tap0 "$NET.100" "$NET.120" 2m "$DNSMASQ_LOG"
    boot "$1" --connections=2
    [[ "$ADDR" == "$NET".1[01][0-9] || "$ADDR" == "$NET.120" ]]
    grep -Eq "\[dhcp\] lease $ADDR/24 from $NET.1 for 120 s" "$LOG"
    grep -q "IPv4 $ADDR/24 from DHCP, gateway $NET.1" "$LOG"
    # dnsmasq saw our hostname and granted the lease to our MAC.
    grep -q "client provides name: stack-echo" "$DNSMASQ_LOG"
    grep -q "DHCPACK(tap0) $ADDR " "$DNSMASQ_LOG"
    echo_checks "$ADDR" 7
    uk_wait_exit 10
    [ "$UK_STATUS" -eq 0 ]
}

@test "stack: socket stack on unix: UDP and TCP echo, 1 MB byte-exact, concurrent connections" {
    local port=$((20000 + $$ % 20000))
    boot socket "--port=$port" --connections=4
    [ "$ADDR" = 0.0.0.0 ]
    grep -q "socket stack on 0.0.0.0" "$LOG"
    echo_checks 127.0.0.1 "$port"
    # A connection held open does not stop another from being served.
    coproc SLOW { in_ns timeout 20 socat -t 5 - "TCP:127.0.0.1:$port"; }
    echo first >&"${SLOW[1]}"
    read -r -t 10 line <&"${SLOW[0]}"
    [ "$line" = first ]
    run in_ns timeout 10 socat -t 5 - "TCP:127.0.0.1:$port" <<<"second"
    [ "$output" = second ]
    exec {SLOW[1]}>&-
    wait "$SLOW_PID" || true
    uk_wait_exit 10
    [ "$UK_STATUS" -eq 0 ]
    grep -q "served 4 connections: bye" "$LOG"
}

@test "stack: socket stack binds to --ipv4 given at boot" {
    local port=$((20000 + ($$ + 7) % 20000))
    boot socket "--port=$port" --ipv4=127.0.0.1/8 --connections=1
    [ "$ADDR" = 127.0.0.1 ]
    run in_ns timeout 5 socat -t 2 - "TCP:127.0.0.1:$port" <<<"bound"
    [ "$output" = bound ]
    uk_wait_exit 10
    [ "$UK_STATUS" -eq 0 ]
}

# slow_readers_run VARIANT: two 1 MiB echoes at once to readers that start late
# and keep a small receive buffer, so the unikernel's writes suspend with its
# send buffers full, and start returns right after the last close. Every byte
# must arrive: one echo buffer shared by both fibers mixed their data up, and
# the exit after start returned lost the send buffer still queued (~10 KB).
slow_readers_run() {
    local blob=$BATS_TEST_TMPDIR/blob i pids=()
    netns_tap "$NS" tap0 "$NET.1/24"
    boot "$1" "--ipv4=$NET.2/24" --connections=2
    head -c 1048576 /dev/urandom >"$blob"
    for i in 1 2; do
        bg_spawn "$NS" "$BATS_TEST_TMPDIR/sha$i" bash -c \
            "timeout 60 socat -t 30 - 'TCP:$NET.2:7,rcvbuf=4096' <'$blob' | { sleep 2; sha256sum; }"
        pids+=("$BG_PID")
    done
    for i in 0 1; do wait "${pids[$i]}" || true; done
    uk_wait_exit 20
    cat "$LOG" "$BATS_TEST_TMPDIR"/sha[12]
    [ "$UK_STATUS" -eq 0 ]
    grep -q "served 2 connections: bye" "$LOG"
    for i in 1 2; do [ "$(cat "$BATS_TEST_TMPDIR/sha$i")" = "$(sha256sum <"$blob")" ]; done
}

@test "stack: slow readers get both concurrent 1 MiB echoes whole, though start returns at once (spt)" {
    slow_readers_run spt
}

@test "stack: slow readers get both concurrent 1 MiB echoes whole, though start returns at once (unix, direct)" {
    slow_readers_run direct
}

@test "stack: direct stack on unix, static --ipv4 at boot: ping, UDP and TCP echo" {
    static_run direct
}

@test "stack: direct stack on unix, address from the host's dnsmasq" {
    dhcp_run direct
}

@test "stack: direct stack on spt, static --ipv4 at boot" {
    static_run spt
}

@test "stack: direct stack on spt, address from dnsmasq" {
    dhcp_run spt
}

@test "stack: direct stack on hvt, static --ipv4 at boot" {
    static_run hvt
}

@test "stack: direct stack on hvt, address from dnsmasq" {
    dhcp_run hvt
}

@test "stack: configure --no-dhcp: the address is --ipv4's (spt)" {
    netns_tap "$NS" tap0 "$NET.1/24"
    boot static "--ipv4=$NET.9/24" --connections=1
    [ "$ADDR" = "$NET.9" ]
    ! grep -q "\[dhcp\]" "$LOG"
    run in_ns timeout 10 socat -t 5 - "TCP:$NET.9:7" <<<"static"
    [ "$output" = static ]
    uk_wait_exit 10
    [ "$UK_STATUS" -eq 0 ]
}

@test "stack: a DHCP lease is renewed at T1 by a unicast REQUEST to the server (unix, ~60 s)" {
    netns_tap "$NS" tap0 "$NET.1/24"
    dnsmasq_start "$NS" tap0 "$NET.100" "$NET.120" 2m "$DNSMASQ_LOG"
    boot direct
    uk_wait_line "$LOG" "T1 reached: renewing" 75
    uk_wait_line "$LOG" "\[dhcp\] lease $ADDR/24 from $NET.1 for 120 s \(renew after [0-9]+ s\)$" 5
    [ "$(grep -c "\[dhcp\] lease $ADDR/24" "$LOG")" -ge 2 ]
    [ "$(grep -c "DHCPACK(tap0) $ADDR " "$DNSMASQ_LOG")" -ge 2 ]
    # Still serving on the renewed address.
    run in_ns timeout 5 socat -T 3 - "UDP:$ADDR:7" <<<"renewed"
    [ "$output" = renewed ]
}

@test "stack: network keys in --help; a bad --ipv4 at boot is a usage error" {
    run "$BATS_FILE_TMPDIR/direct/dist/stack-echo" -- --help
    [ "$status" -eq 63 ]
    [[ "$output" == *"--ipv4=IPV4/LEN (no default)"* ]]
    [[ "$output" == *"the address comes from a DHCP lease"* ]]
    [[ "$output" == *"--ipv4-gateway=IPV4"* ]]
    run "$BATS_FILE_TMPDIR/direct/dist/stack-echo" --net:tap0=lo -- --ipv4=10.0.0.300/24
    [ "$status" -eq 64 ]
    run "$BATS_FILE_TMPDIR/socket/dist/stack-echo" -- --help
    [[ "$output" == *"--ipv4=IPV4/LEN (default: 0.0.0.0/0)"* ]]
}
