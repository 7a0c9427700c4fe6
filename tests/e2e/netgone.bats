#!/usr/bin/env bats
# netgone.bats: a unikernel whose tap is deleted under it ends at once with 252 naming the device, on every target; no test leaves a process behind.

load helpers

setup() { net_setup gone 10.205; }
teardown() { net_teardown; }

# prefix TARGET NAME: who says that a device is gone: the tender, or the unix unikernel itself.
prefix() {
    case $1 in
    unix) echo "$2" ;;
    *) echo "mirage-$1" ;;
    esac
}

# boot TARGET NAME ARGS...: boots NAME in the namespace with TENDER_OPTS and
# checks that it answers a ping on $NET.2.
boot() {
    local target=$1 name=$2
    require_target "$target" "$name"
    uk_start "$NS" "$LOG" "$target" "$name" "${@:3}"
    uk_wait_line "$LOG" "service mac .* ipv4 $NET.2/" 20
    run in_ns ping -c 1 -W 2 -w 10 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" = 1 ]
}

# expect_gone TARGET NAME DEVICE TAP: the unikernel ended by itself (bounded
# wait: a spinning one never would) with 252 and one line naming DEVICE and TAP.
expect_gone() {
    local line="$(prefix "$1" "$2"): net device '$3': tap '$4' is gone"
    uk_wait_exit 3 || { cat "$LOG"; return 1; }
    cat "$LOG"
    [ "$UK_STATUS" -eq 252 ]
    [ "$(grep -cxF "$line" "$LOG")" -eq 1 ]
}

# The tap deleted with `ip link del` while the unikernel waits for frames.
tap_deleted() {
    local target=$1
    netns_tap "$NS" tap0 "$NET.1/24"
    TENDER_OPTS=(--net:service=tap0)
    boot "$target" ping "--ipv4=$NET.2/24"
    in_ns ip link del tap0
    expect_gone "$target" ping service tap0
}

@test "unix: a deleted tap ends the unikernel with 252, naming the device" {
    tap_deleted unix
}

@test "spt: a deleted tap ends the unikernel with 252, naming the device" {
    tap_deleted spt
}

@test "hvt: a deleted tap ends the unikernel with 252, naming the device" {
    tap_deleted hvt
}

# Two NICs: the one whose tap goes is named, the other one is not.
second_deleted() {
    local target=$1
    netns_tap "$NS" tap0 "$NET.1/26"
    netns_tap "$NS" tap1 "$NET.65/26"
    TENDER_OPTS=(--net:service=tap0 --net:service2=tap1)
    boot "$target" ping2 "--ipv4=$NET.2/26" "--ipv4-2=$NET.66/26"
    in_ns ip link del tap1
    expect_gone "$target" ping2 service2 tap1
    ! grep -q "device 'service':" "$LOG"
}

@test "unix: of two NICs, the one whose tap is deleted is named" {
    second_deleted unix
}

@test "spt: of two NICs, the one whose tap is deleted is named" {
    second_deleted spt
}

@test "hvt: of two NICs, the one whose tap is deleted is named" {
    second_deleted hvt
}

# The whole namespace deleted as a test's teardown does (netns_delete), in the
# middle of a flood: the unikernel is busy, not waiting, when its tap goes.
netns_deleted() {
    local target=$1 flood
    netns_tap "$NS" tap0 "$NET.1/24"
    TENDER_OPTS=(--net:service=tap0)
    boot "$target" ping "--ipv4=$NET.2/24"
    bg_spawn "$NS" "$BATS_TEST_TMPDIR/flood" ping -q -f -c 100000 -w 20 "$NET.2"
    flood=$BG_PID
    sleep 0.5
    netns_delete "$NS"
    expect_gone "$target" ping service tap0
    bg_kill 3 "$flood"
}

@test "unix: deleting the namespace under a flood ends the unikernel with 252" {
    netns_deleted unix
}

@test "spt: deleting the namespace under a flood ends the unikernel with 252" {
    netns_deleted spt
}

@test "hvt: deleting the namespace under a flood ends the unikernel with 252" {
    netns_deleted hvt
}

# A tap set down and up again is not gone: the unikernel keeps answering.
tap_down_up() {
    local target=$1
    netns_tap "$NS" tap0 "$NET.1/24"
    TENDER_OPTS=(--net:service=tap0)
    boot "$target" ping "--ipv4=$NET.2/24"
    in_ns ip link set tap0 down
    sleep 0.5
    kill -0 "$UK_PID"
    in_ns ip link set tap0 up
    in_ns ip addr replace "$NET.1/24" dev tap0
    run in_ns ping -c 2 -i 0.3 -W 2 -w 10 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" -ge 1 ]
    kill -0 "$UK_PID"
    ! grep -q "is gone" "$LOG"
}

@test "unix: a tap set down and up again does not end the unikernel" {
    tap_down_up unix
}

@test "spt: a tap set down and up again does not end the unikernel" {
    tap_down_up spt
}

@test "hvt: a tap set down and up again does not end the unikernel" {
    tap_down_up hvt
}

# ---- test hygiene: whatever happens to a test, its processes end with it ----

# left MARK: the processes whose command line holds MARK (none of ours: ps and grep run with it too).
left() {
    ps -eo pid=,ppid=,args= | grep -F -- "$1" | grep -v -e "grep -F" -e "ps -eo" || true
}

# wait_none MARK SECONDS: no process with MARK remains within SECONDS, else prints them.
wait_none() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ -z "$(left "$1")" ] && return 0
        sleep 0.1
    done
    echo "left running:" >&2
    left "$1" >&2
    return 1
}

@test "hygiene: uk_start records the unikernel's own pid, which uk_stop ends" {
    local pid
    require_target spt ping
    netns_tap "$NS" tap0 "$NET.1/24"
    TENDER_OPTS=(--net:service=tap0)
    boot spt ping "--ipv4=$NET.2/24"
    [ "$(ps -o comm= -p "$UK_PID")" = mirage-spt ]
    # Its own process group: a group kill reaches whatever it might fork.
    [ "$(ps -o pgid= -p "$UK_PID" | tr -d ' ')" = "$UK_PID" ]
    pid=$UK_PID
    uk_stop
    ! kill -0 "$pid" 2>/dev/null
    wait_none "--ipv4=$NET.2/24" 3
}

@test "hygiene: a test that fails midway leaves no unikernel (of two), dnsmasq, namespace or tap" {
    local root=$PWD mark=mirage-gone-inner-$$ inner=$BATS_TEST_TMPDIR/inner.bats
    require_target unix timeout
    require_target spt ping
    # "${at}test": bats would rewrite an @test line of this file, even in a here-document.
    local at=@
    cat >"$inner" <<EOF
load $root/tests/e2e/helpers
setup() { cd $root; UK_PID=; netns_create $mark; }
teardown() { uk_stop; dnsmasq_stop $BATS_TEST_TMPDIR/dnsmasq.log; netns_delete $mark; }
${at}test "inner: fails after starting two unikernels and dnsmasq" {
    netns_tap $mark tap0 10.205.250.1/24
    dnsmasq_start $mark tap0 10.205.250.100 10.205.250.120 2m $BATS_TEST_TMPDIR/dnsmasq.log
    uk_start $mark $BATS_TEST_TMPDIR/inner.log unix timeout --work=577000 --timeout=577000
    TENDER_OPTS=(--net:service=tap0)
    uk_start $mark $BATS_TEST_TMPDIR/inner2.log spt ping --ipv4=10.205.250.2/24
    uk_wait_line $BATS_TEST_TMPDIR/inner2.log "service mac" 20
    false
}
EOF
    # A bats of its own: the outer one's BATS_* variables and PATH (its libexec
    # first) would confuse it.
    run env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" \
        bats "$inner"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"not ok 1 inner: fails after starting"* ]]
    grep -q "service mac" "$BATS_TEST_TMPDIR/inner2.log"
    # The first unikernel has no tap: nothing but the teardown can end it.
    wait_none "--timeout=577000" 3
    wait_none "10.205.250." 3
    ! ip netns list | grep -qF "$mark"
}

@test "hygiene: a unikernel dies with the shell that started it, even with no teardown" {
    local root=$PWD mark=10.205.251.2/24 sh
    require_target unix ping
    netns_tap "$NS" tap0 10.205.251.1/24
    # A shell that starts a unikernel, says so, and is killed before it can stop it.
    sh="cd $root; source tests/e2e/helpers.bash; TENDER_OPTS=(--net:service=tap0)
        uk_start $NS $BATS_TEST_TMPDIR/orphan.log unix ping --ipv4=$mark
        uk_wait_line $BATS_TEST_TMPDIR/orphan.log 'service mac' 20 && echo started
        kill -KILL \$\$"
    run timeout 30 bash -c "$sh"
    echo "$output"
    [[ "$output" == *started* ]]
    wait_none "--ipv4=$mark" 3
}
