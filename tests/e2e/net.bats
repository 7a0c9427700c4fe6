#!/usr/bin/env bats
# net.bats: the ping unikernel answers ARP and ICMP from the Linux stack over tap devices, on every target.

load helpers

setup() { net_setup net 10.201; }
teardown() { net_teardown; }

# boot_ping TARGET NAME ARGS...: boots NAME in the namespace and waits for its
# start line; sets MAC to the address it announced.
boot_ping() {
    local target=$1 name=$2
    require_target "$target" "$name"
    uk_start "$NS" "$LOG" "$target" "$name" "${@:3}"
    uk_wait_line "$LOG" "service mac .* ipv4 " 20
    MAC=$(sed -n 's/.* service mac \([0-9a-f:]*\) ipv4 .*/\1/p' "$LOG" | head -1)
    [ -n "$MAC" ]
}

# expect_pings N ARGS...: runs ping ARGS in the namespace and wants N replies.
expect_pings() {
    local want=$1
    shift
    run in_ns ping "$@"
    echo "$output"
    [ "$(ping_received "$output")" = "$want" ]
}

# The whole single-NIC exercise on one target.
single_nic() {
    local target=$1
    netns_tap "$NS" tap0 "$NET.1/24"
    TENDER_OPTS=(--net:service=tap0)
    boot_ping "$target" ping "--ipv4=$NET.2/24"

    # The first ping resolves the address by ARP, then five echoes all come back.
    expect_pings 5 -c 5 -i 0.2 -W 2 -w 20 "$NET.2"
    run in_ns ip neigh show "$NET.2" dev tap0
    [[ "$output" == *"lladdr $MAC"* ]]

    # Large payloads, up to a full 1500-byte IP packet without fragments.
    expect_pings 3 -c 3 -i 0.2 -s 1400 -W 2 -w 20 "$NET.2"
    expect_pings 3 -c 3 -i 0.2 -s 1472 -M do -W 2 -w 20 "$NET.2"

    # A flood: at most 1% lost; how fast is not a pass/fail question.
    run in_ns ping -q -f -c 2000 -w 120 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" -ge 1980 ]

    # arping asks by broadcast, then by unicast; both must be answered with our MAC.
    run in_ns arping -c 3 -w 20 -I tap0 "$NET.2"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "${output,,}" == *"[${MAC}]"* ]]
    [[ "$output" == *"Received 3 response"* ]]
}

@test "unix: ping answers ARP, echo, large and flood pings on one NIC" {
    single_nic unix
}

@test "spt: ping answers ARP, echo, large and flood pings on one NIC" {
    single_nic spt
}

@test "hvt: ping answers ARP, echo, large and flood pings on one NIC" {
    single_nic hvt
}

# Two taps, two subnets, one unikernel answering both at once.
two_nics() {
    local target=$1 pid_a pid_b
    netns_tap "$NS" tap0 "$NET.1/26"
    netns_tap "$NS" tap1 "$NET.65/26"
    TENDER_OPTS=(--net:service=tap0 --net:service2=tap1)
    require_target "$target" ping2
    uk_start "$NS" "$LOG" "$target" ping2 "--ipv4=$NET.2/26" "--ipv4-2=$NET.66/26"
    uk_wait_line "$LOG" "service2 mac .* ipv4 $NET.66/26" 20
    grep -q "service mac .* ipv4 $NET.2/26" "$LOG"

    expect_pings 5 -c 5 -i 0.2 -W 2 -w 20 "$NET.2"
    expect_pings 5 -c 5 -i 0.2 -W 2 -w 20 "$NET.66"
    # Each address answers only on its own link.
    run in_ns ping -c 2 -i 0.2 -W 1 -w 5 -I tap1 "$NET.2"
    [ "$(ping_received "$output")" = 0 ]

    # Both floods at the same time.
    in_ns ping -q -f -c 1000 -w 120 "$NET.2" >"$BATS_TEST_TMPDIR/a" 2>&1 3>&- &
    pid_a=$!
    in_ns ping -q -f -c 1000 -w 120 "$NET.66" >"$BATS_TEST_TMPDIR/b" 2>&1 3>&- &
    pid_b=$!
    wait "$pid_a" || true
    wait "$pid_b" || true
    cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
    [ "$(ping_received "$(cat "$BATS_TEST_TMPDIR/a")")" -ge 990 ]
    [ "$(ping_received "$(cat "$BATS_TEST_TMPDIR/b")")" -ge 990 ]
}

@test "unix: ping2 answers on two NICs at once" {
    two_nics unix
}

@test "spt: ping2 answers on two NICs at once" {
    two_nics spt
}

@test "hvt: ping2 answers on two NICs at once" {
    two_nics hvt
}

# frame_escapes BYTES...: the bytes (two hex digits each, spaces ignored) as printf escapes.
frame_escapes() {
    local hex=${*// /} out= i
    for ((i = 0; i < ${#hex}; i += 2)); do
        out+="\\x${hex:i:2}"
    done
    printf '%s' "$out"
}

# csum16 HEX: the Internet checksum of HEX (even number of bytes), as 4 hex digits.
csum16() {
    local hex=${1// /} sum=0 i
    for ((i = 0; i < ${#hex}; i += 4)); do
        sum=$((sum + 16#${hex:i:4}))
    done
    while ((sum >> 16)); do
        sum=$(((sum & 0xffff) + (sum >> 16)))
    done
    printf '%04x' $((~sum & 0xffff))
}

ip_hex() {
    local IFS=.
    # shellcheck disable=SC2086
    printf '%02x' $1
}

# send_frame HEX: puts one raw Ethernet frame on tap0 from the host side. The
# frame goes through a file so that socat reads it whole, as one packet.
send_frame() {
    local f=$BATS_TEST_TMPDIR/frame
    # shellcheck disable=SC2059
    printf "$(frame_escapes "$1")" >"$f"
    in_ns socat -u - INTERFACE:tap0 <"$f"
}

# Malformed frames are dropped and counted, the unikernel keeps answering, and
# --count=N ends it cleanly after N answers with its counters printed.
bad_frames() {
    local target=$1 umac=02:00:00:00:00:02 hmac ip src dst hdr icmp sum
    netns_tap "$NS" tap0 "$NET.1/24"
    hmac=$(in_ns cat /sys/class/net/tap0/address)
    # A permanent neighbour entry: no ARP, so the count is exactly the pings.
    in_ns ip neigh replace "$NET.2" lladdr $umac dev tap0 nud permanent
    TENDER_OPTS=(--net:service=tap0 --net-mac:service=$umac)
    boot_ping "$target" ping "--ipv4=$NET.2/24" --count=3
    [ "$MAC" = $umac ]

    src=$(ip_hex "$NET.1")
    dst=$(ip_hex "$NET.2")
    icmp="0800 0000 4242 0001 0102030405060708"
    sum=$(csum16 "$icmp")
    icmp="0800 $sum 4242 0001 0102030405060708"
    hdr="4500 0024 0001 0000 4001 0000 $src $dst"
    sum=$(csum16 "$hdr")
    local eth="${umac//:/} ${hmac//:/} 0800"
    ip="4500 0024 0001 0000 4001 $sum $src $dst"
    # Sanity check of the frame builder: the good frame is answered (1 of 3).
    send_frame "$eth $ip $icmp"
    # A wrong IP header checksum, a wrong ICMP checksum, a total length past the frame.
    send_frame "$eth 4500 0024 0001 0000 4001 $(printf '%04x' $((16#$sum ^ 1))) $src $dst $icmp"
    send_frame "$eth $ip 0800 0000 4242 0001 0102030405060708"
    hdr="4500 0400 0001 0000 4001 0000 $src $dst"
    send_frame "$eth 4500 0400 0001 0000 4001 $(csum16 "$hdr") $src $dst $icmp"
    # Two more echoes reach the count; the unikernel ends by itself.
    run in_ns ping -c 2 -i 0.2 -W 2 -w 20 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" = 2 ]
    uk_wait_exit 20
    cat "$LOG"
    [ "$UK_STATUS" -eq 0 ]
    grep -Eq "service answered 3 \(arp 0, icmp 3\), frames [0-9]+, bad 3," "$LOG"
}

@test "unix: malformed frames are dropped and counted; --count ends cleanly" {
    bad_frames unix
}

@test "spt: malformed frames are dropped and counted; --count ends cleanly" {
    bad_frames spt
}

@test "hvt: malformed frames are dropped and counted; --count ends cleanly" {
    bad_frames hvt
}

@test "unix: ping refuses a bad address with 64" {
    # ping takes its device before its arguments: it needs a tap that exists.
    netns_tap "$NS" tap0 "$NET.1/24"
    run in_ns "$UK/ping" --net:service=tap0 -- --ipv4=10.0.0.300/24
    [ "$status" -eq 64 ]
    [[ "$output" == *"--ipv4: '10.0.0.300' is not an IPv4 address (a number is over 255)"* ]]
    run in_ns "$UK/ping" --net:service=tap0 --
    [ "$status" -eq 64 ]
    [[ "$output" == *"--ipv4=A.B.C.D/P is required"* ]]
}
