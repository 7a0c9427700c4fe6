#!/usr/bin/env bats
# block_async.bats: a long block request suspends only its fiber on unix and hvt (ping is answered meanwhile); on spt it holds the whole unikernel, as block.h says.

load helpers

setup() {
    net_setup blkasync 10.208
    netns_tap "$NS" tap1 "$NET.1/24"
    # On the disk (ext4 here), not tmpfs: a flush is a real fdatasync of 128 MiB.
    IMG=$BATS_TEST_TMPDIR/disk.img
    truncate -s 256M "$IMG"
    PINGLOG=$BATS_TEST_TMPDIR/ping.log
}

teardown() {
    net_teardown
}

# busy_run TARGET: boots diskbusy (rounds of a 128 MiB write request and a flush) and pings it
# every 20 ms from before its first request to after its last; sets LONGEST, the longest
# request in ms as the unikernel timed it, and MAXRTT, ping's longest round trip in ms.
busy_run() {
    local nic=service p i
    require_target "$1" diskbusy
    [ "$1" != unix ] || nic=tap0
    case $1 in
    unix) ARGV=("$UK/diskbusy" "--net:$nic=tap1" "--block:storage=$IMG" -- "--ipv4=$NET.2/24") ;;
    *) ARGV=("$B/bin/mirage-$1" --mem=256 "--net:$nic=tap1" "--block:storage=$IMG" "$UK/diskbusy.$1"
        "--ipv4=$NET.2/24") ;;
    esac
    : >"$LOG"
    uk_spawn "$NS" "$LOG" "${ARGV[@]}"
    uk_wait_line "$LOG" "diskbusy: ready" 30
    bg_spawn "$NS" "$PINGLOG" ping -n -i 0.02 -w 60 "$NET.2"
    uk_wait_line "$LOG" "diskbusy: longest request" 60
    # ping's summary, asked for with SIGINT (the only ping in this test's namespace).
    for p in $(ip netns pids "$NS"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" != ping ] || kill -INT "$p"
    done
    for ((i = 0; i < 50; i++)); do
        grep -q "^rtt " "$PINGLOG" && break
        sleep 0.1
    done
    cat "$LOG" >&3; grep -o "time=[0-9.]*" "$PINGLOG" | tr "\n" " " >&3; grep "^rtt" "$PINGLOG" >&3 || true
    LONGEST=$(sed -n 's/^diskbusy: longest request \([0-9]*\) ms.*/\1/p' "$LOG")
    MAXRTT=$(sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/[0-9.]*/\([0-9]*\).*|\1|p' "$PINGLOG")
    [ -n "$LONGEST" ] && [ -n "$MAXRTT" ]
    echo "# $1: longest block request $LONGEST ms, longest ping round trip $MAXRTT ms" >&3
    # A request shorter than this shows nothing either way: the disk was too fast.
    [ "$LONGEST" -ge 100 ] || { echo "requests of $LONGEST ms: too short to tell" >&2; return 1; }
    [ "$(ping_received "$(cat "$PINGLOG")")" -ge 20 ]
}

@test "block: unix answers ping while a long block request runs (a helper thread serves it)" {
    busy_run unix
    [ "$MAXRTT" -lt $((LONGEST / 2)) ]
}

@test "block: hvt answers ping while a long block request runs (the tender's block thread serves it)" {
    busy_run hvt
    [ "$MAXRTT" -lt $((LONGEST / 2)) ]
}

@test "block: spt's requests hold the unikernel: a ping waits for the request (block.h says so)" {
    busy_run spt
    [ "$MAXRTT" -ge $((LONGEST / 2)) ]
}
