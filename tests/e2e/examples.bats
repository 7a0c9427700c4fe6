#!/usr/bin/env bats
# examples.bats: every example, copied as a user would, configured and built by mirage for unix,
# spt and hvt, then booted with a short check of what it prints.

load helpers

MIRAGE=$PWD/build/bin/mirage

setup() {
    [ -x "$MIRAGE" ] || { echo "missing $MIRAGE: run make" >&2; return 1; }
    WORK=$(mktemp -d /tmp/mirage-examples.XXXXXX)
    NS=
    UK_PID=
}

teardown() {
    uk_stop
    [ -z "$NS" ] || netns_delete "$NS"
    rm -rf "$WORK"
}

# make_example NAME DIR TARGET [KEYS...]: copies examples/DIR (without anything a configure
# left there), configures it for TARGET with mirage and builds it; sets EX to its directory
# and ARTEFACT to what build made. hvt fails loudly without /dev/kvm, before building.
make_example() {
    local name=$1 dir=$2 target=$3
    shift 3
    if [ "$target" = hvt ]; then require_kvm || return 1; fi
    EX=$WORK/$name
    cp -r "examples/$dir" "$EX"
    rm -rf "$EX/Makefile" "$EX/_build" "$EX/dist" "$EX/compile_commands.json"
    run bash -c "cd '$EX' && '$MIRAGE' configure -t $target $* && '$MIRAGE' build"
    echo "$output"
    [ "$status" -eq 0 ]
    ARTEFACT=$EX/dist/$name
    [ "$target" = unix ] || ARTEFACT=$ARTEFACT.$target
    [[ "$output" == *"mirage: built dist/${ARTEFACT##*/}"* ]]
    [ -f "$ARTEFACT" ]
}

# boot TARGET ARGS...: runs the artefact under `run`, bounded to 30 s; tender options
# (--net:, --block:) go in TENDER_OPTS.
boot() {
    local target=$1
    shift
    case $target in
    unix) run timeout 30 "$ARTEFACT" "${TENDER_OPTS[@]}" -- "$@" ;;
    *) run timeout 30 "$B/bin/mirage-$target" "${TENDER_OPTS[@]}" "$ARTEFACT" "$@" ;;
    esac
}

LOGLINE='^[0-9]+\.[0-9]{6}: \[INFO\] \[application\] '

# lines_are MSG...: the output is exactly these log lines, in order.
lines_are() {
    local i=0 msg
    [ "${#lines[@]}" -eq $# ]
    for msg in "$@"; do
        [[ "${lines[$i]}" =~ ${LOGLINE}${msg}$ ]]
        i=$((i + 1))
    done
}

ex_hello() {
    make_example hello hello "$1"
    boot "$1" a 'b\ c' --exit=3
    [ "$status" -eq 3 ]
    [ "${lines[0]}" = "hello from hello" ]
    [ "${lines[1]}" = "arg 1: [a]" ]
    [ "${lines[2]}" = "arg 2: [b c]" ]
}

ex_noop() {
    make_example noop noop "$1"
    boot "$1"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    boot "$1" --nope
    [ "$status" -eq 64 ]
}

ex_hello_log() {
    make_example hello-log hello-log "$1"
    boot "$1"
    [ "$status" -eq 0 ]
    lines_are hello hello hello hello
}

ex_hello_key() {
    make_example hello-key hello-key "$1"
    boot "$1" --hello=Hi
    [ "$status" -eq 0 ]
    lines_are Hi Hi Hi Hi
    boot "$1" --help
    [ "$status" -eq 63 ]
    [[ "$output" == *"--hello=STRING (default: Hello World!)"* ]]
}

ex_heads() {
    make_example heads heads "$1"
    boot "$1"
    [ "$status" -eq 0 ]
    lines_are "join: heads after 1 s, tails after 2 s" Heads Tails Finished \
        "pick: the first wins, the other is cancelled" Heads "Tails cancelled" Finished
}

ex_timeout() {
    make_example timeout timeout "$1"
    boot "$1" --work=10 --timeout=2000
    [ "$status" -eq 0 ]
    lines_are "job sleeps 10 ms, timeout after 2000 ms" 'Returned "Heads"'
    boot "$1" --work=2000 --timeout=10
    [ "$status" -eq 0 ]
    lines_are "job sleeps 2000 ms, timeout after 10 ms" Cancelled
    boot "$1" --timeout=-1
    [ "$status" -eq 64 ]
    [[ "$output" == *"'-1' is out of range 0..3600000"* ]]
}

ex_clock() {
    make_example clock clock "$1"
    boot "$1"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    local re="${LOGLINE}monotonic [0-9]+ ns, wall 20[2-9][0-9]-"
    [[ "${lines[2]}" =~ $re ]]
}

ex_keys() {
    make_example keys keys "$1"
    boot "$1" --name=x --port=443 --verbose --peers=p,q --ipv4=10.1.2.3/8
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "name=x port=443 verbose=1" ]
    [ "${lines[1]}" = "ipv4=10.1.2.3/8" ]
    [ "${lines[2]}" = "peer 0=p" ]
    [ "${lines[3]}" = "peer 1=q" ]
    boot "$1" --port=65536
    [ "$status" -eq 64 ]
    [[ "$output" == *"'65536' is out of range 0..65535"* ]]
}

# random: three lines drawn from the generator start() gets; a second boot draws others.
ex_random() {
    local first
    make_example random random "$1"
    boot "$1"
    [ "$status" -eq 0 ]
    lines_are 'u64 [0-9a-f]{16}' 'dice( [1-6]){8}' 'bytes [0-9a-f]{32}'
    first=("${lines[@]}")
    boot "$1"
    [ "$status" -eq 0 ]
    lines_are 'u64 [0-9a-f]{16}' 'dice( [1-6]){8}' 'bytes [0-9a-f]{32}'
    echo "first boot: ${first[2]##* }, second: ${lines[2]##* }"
    [ "${first[2]##* }" != "${lines[2]##* }" ]
    [ "${first[0]##* }" != "${lines[0]##* }" ]
    boot "$1" --nope
    [ "$status" -eq 64 ]
}

# ping_example NAME TARGET KEYS NICS: boots ping or ping2 in a namespace of its own with
# one tap per device, and wants one echo answered on each address.
ping_example() {
    local name=$1 target=$2 keys=$3 nics=$4 i log=$WORK/uk.log args=() opts=()
    make_example "$name" ping "$target" $keys
    NS=mirage-ex-$$-$BATS_TEST_NUMBER
    NET=10.203.$BATS_TEST_NUMBER
    netns_create "$NS"
    for ((i = 1; i <= nics; i++)); do
        netns_tap "$NS" tap$i "$NET.$((i * 64 + 1))/26"
        if [ $i -eq 1 ]; then
            opts+=(--net:service=tap1)
            args+=("--ipv4=$NET.66/26")
        else
            opts+=(--net:service$i=tap$i)
            args+=("--ipv4-$i=$NET.$((i * 64 + 2))/26")
        fi
    done
    case $target in
    unix) uk_spawn "$NS" "$log" "$ARTEFACT" "${opts[@]}" -- "${args[@]}" ;;
    *) uk_spawn "$NS" "$log" "$B/bin/mirage-$target" "${opts[@]}" "$ARTEFACT" "${args[@]}" ;;
    esac
    uk_wait_line "$log" "service mac .* ipv4 $NET.66/26" 20
    for ((i = 1; i <= nics; i++)); do
        run ip netns exec "$NS" ping -c 1 -W 2 -w 10 "$NET.$((i * 64 + 2))"
        echo "$output"
        [ "$(ping_received "$output")" = 1 ]
    done
}

ex_ping() {
    ping_example ping "$1" "" 1
}

ex_ping2() {
    ping_example ping2 "$1" --two 2
}

# ns_tap: a namespace of its own with one tap, tap1 at $NET.1/24 (NET=10.203.TEST).
ns_tap() {
    NS=mirage-ex-$$-$BATS_TEST_NUMBER
    NET=10.203.$BATS_TEST_NUMBER
    netns_create "$NS"
    netns_tap "$NS" tap1 "$NET.1/24"
}

# ns_argv TARGET NIC ARGS...: sets ARGV to the command booting the artefact with tap1 as its
# device NIC.
ns_argv() {
    local target=$1 nic=$2
    shift 2
    case $target in
    unix) ARGV=("$ARTEFACT" "--net:$nic=tap1" -- "$@") ;;
    *) ARGV=("$B/bin/mirage-$target" "--net:$nic=tap1" "$ARTEFACT" "$@") ;;
    esac
}

ex_udp_echo() {
    local log=$WORK/uk.log
    make_example udp-echo udp-echo "$1"
    ns_tap
    ns_argv "$1" service --ttl=256
    run ip netns exec "$NS" timeout 30 "${ARGV[@]}"
    [ "$status" -eq 64 ]
    [[ "$output" == *"'256' is out of range 1..255"* ]]
    ns_argv "$1" service "--ipv4=$NET.2/24" --port=7007 --ttl=42
    uk_spawn "$NS" "$log" "${ARGV[@]}"
    uk_wait_line "$log" "^service mac .* ipv4 $NET.2/24 mtu [0-9]+ ttl 42 udp 7007$" 20
    run ip netns exec "$NS" timeout 10 socat -T 3 - "UDP:$NET.2:7007" <<<"hello over udp"
    echo "udp: status $status output '$output'"
    [ "$status" -eq 0 ]
    [ "$output" = "hello over udp" ]
}

# stack-echo runs the direct stack everywhere: on unix its device is tap0 (--net=direct).
ex_stack_echo() {
    local log=$WORK/uk.log nic=service
    make_example stack-echo stack-echo "$1" --net=direct
    [ "$1" != unix ] || nic=tap0
    ns_tap
    ns_argv "$1" "$nic" "--ipv4=$NET.2/24" --connections=1
    uk_spawn "$NS" "$log" "${ARGV[@]}"
    uk_wait_line "$log" "echo on TCP and UDP $NET.2:7" 30
    run ip netns exec "$NS" timeout 15 socat -t 10 - "TCP:$NET.2:7" <<<"hello over tcp"
    echo "tcp: status $status output '$output'"
    [ "$status" -eq 0 ]
    [ "$output" = "hello over tcp" ]
    uk_wait_exit 10
    cat "$log"
    [ "$UK_STATUS" -eq 0 ]
    grep -q "served 1 connections: bye" "$log"
}

@test "examples: hello on unix, through mirage" { ex_hello unix; }
@test "examples: noop on unix, through mirage" { ex_noop unix; }
@test "examples: hello-log on unix, through mirage" { ex_hello_log unix; }
@test "examples: hello-key on unix, through mirage" { ex_hello_key unix; }
@test "examples: heads on unix, through mirage" { ex_heads unix; }
@test "examples: timeout on unix, through mirage" { ex_timeout unix; }
@test "examples: clock on unix, through mirage" { ex_clock unix; }
@test "examples: keys on unix, through mirage" { ex_keys unix; }
@test "examples: random on unix, through mirage" { ex_random unix; }
@test "examples: ping on unix, through mirage" { ex_ping unix; }
@test "examples: ping2 on unix, through mirage" { ex_ping2 unix; }
@test "examples: udp-echo on unix, through mirage" { ex_udp_echo unix; }
@test "examples: stack-echo on unix, through mirage" { ex_stack_echo unix; }
@test "examples: hello on spt, through mirage" { ex_hello spt; }
@test "examples: noop on spt, through mirage" { ex_noop spt; }
@test "examples: hello-log on spt, through mirage" { ex_hello_log spt; }
@test "examples: hello-key on spt, through mirage" { ex_hello_key spt; }
@test "examples: heads on spt, through mirage" { ex_heads spt; }
@test "examples: timeout on spt, through mirage" { ex_timeout spt; }
@test "examples: clock on spt, through mirage" { ex_clock spt; }
@test "examples: keys on spt, through mirage" { ex_keys spt; }
@test "examples: random on spt, through mirage" { ex_random spt; }
@test "examples: ping on spt, through mirage" { ex_ping spt; }
@test "examples: ping2 on spt, through mirage" { ex_ping2 spt; }
@test "examples: udp-echo on spt, through mirage" { ex_udp_echo spt; }
@test "examples: stack-echo on spt, through mirage" { ex_stack_echo spt; }
@test "examples: hello on hvt, through mirage" { ex_hello hvt; }
@test "examples: noop on hvt, through mirage" { ex_noop hvt; }
@test "examples: hello-log on hvt, through mirage" { ex_hello_log hvt; }
@test "examples: hello-key on hvt, through mirage" { ex_hello_key hvt; }
@test "examples: heads on hvt, through mirage" { ex_heads hvt; }
@test "examples: timeout on hvt, through mirage" { ex_timeout hvt; }
@test "examples: clock on hvt, through mirage" { ex_clock hvt; }
@test "examples: keys on hvt, through mirage" { ex_keys hvt; }
@test "examples: random on hvt, through mirage" { ex_random hvt; }
@test "examples: ping on hvt, through mirage" { ex_ping hvt; }
@test "examples: ping2 on hvt, through mirage" { ex_ping2 hvt; }
@test "examples: udp-echo on hvt, through mirage" { ex_udp_echo hvt; }
@test "examples: stack-echo on hvt, through mirage" { ex_stack_echo hvt; }
