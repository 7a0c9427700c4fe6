#!/usr/bin/env bats
# hostile.bats: stack-echo on unix (direct), spt and hvt against a hostile peer on its link (tests/net/rawpeer.c): oversized and 802.1Q frames, ARP floods claiming its address, a 1-byte MSS, a segment corrupted after its checksum (the tap's offloads on: the device did not vouch for it, so it is checked and dropped).

load helpers

RAWPEER=$B/bin/rawpeer

# Each test gets its own namespace and /24 (10.207.N.0) with the host at .1 on tap0.
setup() {
    net_setup hostile 10.207
    [ -x "$RAWPEER" ] || { echo "missing $RAWPEER: run make" >&2; return 1; }
    netns_tap "$NS" tap0 "$NET.1/24"
}

teardown() {
    net_teardown
}

# boot TARGET ARGS...: stack-echo at $NET.2 on tap0, listening; sets ADDR.
boot() {
    local target=$1
    shift
    require_target "$target" stack-echo
    case $target in
    unix) TENDER_OPTS=(--net:tap0=tap0) ;;
    *) TENDER_OPTS=(--net:service=tap0) ;;
    esac
    uk_start "$NS" "$LOG" "$target" stack-echo "--ipv4=$NET.2/24" "$@"
    uk_wait_line "$LOG" "echo on TCP and UDP " 30
    ADDR=$NET.2
}

# peer MODE ARGS...: rawpeer against the unikernel, bounded in time; output in $output.
peer() {
    local mode=$1
    shift
    run in_ns timeout 30 "$RAWPEER" "$mode" tap0 "$ADDR" "$@"
    echo "rawpeer $mode $*: status $status: $output"
    [ "$status" -eq 0 ]
}

# still_up: the unikernel runs and echoes a line over UDP and TCP.
still_up() {
    kill -0 "$UK_PID" || { echo "the unikernel ended:"; cat "$LOG"; return 1; }
    run in_ns timeout 5 socat -T 3 - "UDP:$ADDR:7" <<<"hello over udp"
    echo "udp: status $status output '$output'"
    [ "$output" = "hello over udp" ]
    run in_ns timeout 10 socat -t 5 - "TCP:$ADDR:7" <<<"hello over tcp"
    echo "tcp: status $status output '$output'"
    [ "$output" = "hello over tcp" ]
    kill -0 "$UK_PID" || { echo "the unikernel ended:"; cat "$LOG"; return 1; }
}

# oversized TARGET: frames longer than 1514 bytes (and a full-size 802.1Q
# frame, 1518) are dropped and counted, never truncated into a frame that is
# answered; tagged frames of any size are dropped and counted; the largest
# legal frame still works, and so does the echo afterwards.
oversized() {
    boot "$1"
    in_ns ip link set tap0 mtu 65000 # else the packet socket refuses big frames
    peer arp-frames --size 60
    [[ "$output" == *"replies 1" ]]
    peer arp-frames --size 1514
    [[ "$output" == *"replies 1" ]]
    for size in 1515 9000 65000; do
        peer arp-frames --size $size --count 3 --wait 300
        [[ "$output" == *"replies 0" ]]
    done
    peer arp-frames --size 1518 --vlan 5 --count 2 --wait 300
    [[ "$output" == *"replies 0" ]]
    peer arp-frames --size 64 --vlan 5 --count 2 --wait 300
    [[ "$output" == *"replies 0" ]]
    peer arp-frames --size 60
    [[ "$output" == *"replies 1" ]]
    # One more after a quiet second: the log's rate limit (10 lines a second per
    # source) may have held back the line of the 11th, never this one's.
    sleep 1.2
    peer arp-frames --size 1515 --count 1 --wait 300
    [[ "$output" == *"replies 0" ]]
    still_up
    cat "$LOG"
    # 9 untagged frames over 1514 and 2 tagged 1518-byte ones, then 1 more; 2 tagged that fit.
    grep -Eq "\[netif\] service: dropped [0-9]+ frames? longer than 1514 bytes \(12 so far\)|\[netif\] tap0: dropped [0-9]+ frames? longer than 1514 bytes \(12 so far\)" "$LOG"
    grep -Eq "\[ethernet\] dropped an 802.1Q-tagged frame \(VLAN 5\)" "$LOG"
    ! grep -q "receive failed" "$LOG"
}

@test "unix: oversized and 802.1Q frames are dropped and counted; the echo goes on" {
    oversized unix
}

@test "spt: oversized and 802.1Q frames are dropped and counted; the echo goes on" {
    oversized spt
}

@test "hvt: oversized and 802.1Q frames are dropped and counted; the echo goes on" {
    oversized hvt
}

# arp_flood TARGET: 2,000 ARP requests claiming the unikernel's address as fast
# as they go, then one more after a second: the warnings printed and those
# counted in "suppressed N" lines add up to the claims that reached the
# unikernel (the tap drops what its queue cannot hold, and counts it), in at
# most 10 lines a second of flood (+1 for each count) rather than one a claim.
arp_flood() {
    local dropped_before dropped_after reached printed suppressed counts start secs
    boot "$1"
    dropped_before=$(in_ns cat /sys/class/net/tap0/statistics/tx_dropped)
    start=$(date +%s%N)
    peer arp-claim --count 2000
    sleep 1.2 # past the rate limit's window, so the next warning reports the count
    peer arp-claim --count 1
    uk_wait_line "$LOG" "\[arp\] suppressed [0-9]+ messages" 10
    secs=$((($(date +%s%N) - start) / 1000000000 + 1))
    sleep 0.5
    dropped_after=$(in_ns cat /sys/class/net/tap0/statistics/tx_dropped)
    reached=$((2001 - (dropped_after - dropped_before)))
    printed=$(grep -c "claiming our address $ADDR" "$LOG")
    counts=$(grep -c "\[arp\] suppressed [0-9]* messages" "$LOG")
    suppressed=$(sed -n 's/.*\[arp\] suppressed \([0-9]*\) messages.*/\1/p' "$LOG" | paste -sd+ | bc)
    echo "claims reached $reached in $secs s: printed $printed, $counts counts of $suppressed"
    [ "$reached" -ge 100 ]
    [ "$printed" -ge 10 ]
    [ "$printed" -le $((10 * (secs + 1))) ]
    [ "$counts" -le $((secs + 1)) ]
    [ $((printed + suppressed)) -eq "$reached" ]
    still_up
}

@test "unix: an ARP flood claiming our address logs a bounded number of lines" {
    arp_flood unix
}

@test "spt: an ARP flood claiming our address logs a bounded number of lines" {
    arp_flood spt
}

@test "hvt: an ARP flood claiming our address logs a bounded number of lines" {
    arp_flood hvt
}

# tiny_mss TARGET: a peer announcing an MSS of 1, with and without the
# timestamps option, gets its echo in segments of at most 64 bytes of payload
# (the stack's floor) and never an IP fragment; the MSS minus the option's 12
# bytes wrapped to 65525 and sent 4000-byte segments in fragments.
tiny_mss() {
    boot "$1"
    peer tcp --mss 1 --ts 0 --bytes 4000
    [[ "$output" == *"echoed 4000 of 4000 bytes"* ]]
    [[ "$output" == *"largest payload 64,"* ]]
    [[ "$output" == *"fragments 0,"* ]]
    peer tcp --mss 1 --ts 1 --bytes 4000
    [[ "$output" == *"echoed 4000 of 4000 bytes"* ]]
    [[ "$output" == *"largest payload 64,"* ]]
    [[ "$output" == *"largest segment (payload and options) 76,"* ]]
    [[ "$output" == *"fragments 0,"* ]]
    peer tcp --mss 13 --ts 1 --bytes 2000
    [[ "$output" == *"largest payload 64,"* ]]
    [[ "$output" == *"fragments 0,"* ]]
    peer tcp --mss 536 --ts 1 --bytes 4000 # an ordinary small MSS: 536 - 12 of payload
    [[ "$output" == *"largest payload 524,"* ]]
    [[ "$output" == *"largest segment (payload and options) 536,"* ]]
    still_up
}

# corrupt TARGET: rawpeer's first data segment has a byte flipped after its checksum was made;
# with the tap's offloads on (the default), a frame from a packet socket comes without the
# header's checksum flags, so the stack checks it, drops it, and echoes the resent one.
corrupt() {
    boot "$1"
    peer tcp --bytes 4000 --corrupt 1
    [[ "$output" == *"echoed 4000 of 4000 bytes"* ]]
    [[ "$output" == *"wrong bytes 0"* ]]
    [[ "$output" == *"1 data segments sent with a byte flipped"* ]]
    still_up
}

@test "unix: a segment corrupted after its checksum is dropped, its resent copy echoed" {
    corrupt unix
}

@test "spt: a segment corrupted after its checksum is dropped, its resent copy echoed" {
    corrupt spt
}

@test "hvt: a segment corrupted after its checksum is dropped, its resent copy echoed" {
    corrupt hvt
}

@test "unix: a peer MSS of 1, with and without timestamps, gets unfragmented segments" {
    tiny_mss unix
}

@test "spt: a peer MSS of 1, with and without timestamps, gets unfragmented segments" {
    tiny_mss spt
}

@test "hvt: a peer MSS of 1, with and without timestamps, gets unfragmented segments" {
    tiny_mss hvt
}
