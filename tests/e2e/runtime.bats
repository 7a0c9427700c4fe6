#!/usr/bin/env bats
# runtime.bats: the runtime's examples (fibers, sleep, logs, keys, random) on unix, spt and hvt.

load helpers

# rt TARGET NAME ARGS...: run_target under `run`, bounded to 30 s.
rt() {
    local target=$1 name=$2
    shift 2
    case $target in
    unix) run timeout 30 "$UK/$name" "${TENDER_OPTS[@]}" -- "$@" ;;
    spt) run timeout 30 "$B/bin/mirage-spt" "${TENDER_OPTS[@]}" "$UK/$name.spt" "$@" ;;
    hvt)
        require_kvm
        run timeout 30 "$B/bin/mirage-hvt" "${TENDER_OPTS[@]}" "$UK/$name.hvt" "$@"
        ;;
    esac
}

LOGLINE='^[0-9]+\.[0-9]{6}: \[INFO\] \[application\] '

# seconds LINE: the timestamp of a log line, in microseconds.
usecs() {
    local t=${1%%:*}
    echo $((10#${t%.*} * 1000000 + 10#${t#*.}))
}

# Four log lines "MSG", each at least one second after the previous one.
four_lines_a_second_apart() {
    local msg=$1 i
    [ "${#lines[@]}" -eq 4 ]
    for i in 0 1 2 3; do
        [[ "${lines[$i]}" =~ ${LOGLINE}${msg}$ ]]
    done
    for i in 1 2 3; do
        [ $(($(usecs "${lines[$i]}") - $(usecs "${lines[$((i - 1))]}"))) -ge 1000000 ]
    done
}

noop() {
    rt "$1" noop
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

hello_log() {
    rt "$1" hello-log
    [ "$status" -eq 0 ]
    four_lines_a_second_apart 'hello'
}

hello_key() {
    rt "$1" hello-key '--hello=Hola\ mundo'
    [ "$status" -eq 0 ]
    four_lines_a_second_apart 'Hola mundo'
}

heads() {
    rt "$1" heads
    [ "$status" -eq 0 ]
    local want=("join: heads after 1 s, tails after 2 s" Heads Tails Finished
        "pick: the first wins, the other is cancelled" Heads "Tails cancelled" Finished) i
    [ "${#lines[@]}" -eq 8 ]
    for i in "${!want[@]}"; do
        [[ "${lines[$i]}" =~ ${LOGLINE}${want[$i]}$ ]]
    done
}

timeout_example() {
    rt "$1" timeout --work=100 --timeout=5000
    [ "$status" -eq 0 ]
    [[ "${lines[1]}" =~ ${LOGLINE}'Returned "Heads"'$ ]]
    rt "$1" timeout --work=5000 --timeout=100
    [ "$status" -eq 0 ]
    [[ "${lines[1]}" =~ ${LOGLINE}Cancelled$ ]]
    # Without --work the job's length comes from the random generator.
    rt "$1" timeout --timeout=3001
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" =~ job\ sleeps\ [0-9]+\ ms ]]
    [[ "${lines[1]}" =~ ${LOGLINE}'Returned "Heads"'$ ]]
}

clock() {
    rt "$1" clock
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    local re="${LOGLINE}"'monotonic ([0-9]+) ns, wall (20[2-9][0-9])-[0-9]{2}-[0-9]{2}T[0-9:.]+Z' i prev=0
    for i in 0 1 2; do
        [[ "${lines[$i]}" =~ $re ]]
        [ "${BASH_REMATCH[1]}" -gt "$prev" ]
        prev=${BASH_REMATCH[1]}
    done
}

logs_and_help() {
    rt "$1" hello-key -l quiet
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    rt "$1" hello-log -l 'nosuch:debug,*:info'
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == *"[WARNING] [mirage] unknown log source 'nosuch' in --logs: ignored" ]]
    [ "${#lines[@]}" -eq 5 ]
    rt "$1" hello-key --help
    [ "$status" -eq 63 ]
    [[ "$output" == *"APPLICATION OPTIONS"* ]]
    [[ "$output" == *"--hello=STRING (default: Hello World!)"* ]]
    [[ "$output" == *"How to say hello."* ]]
    rt "$1" keys --help
    [ "$status" -eq 63 ]
    [[ "$output" == *"NETWORK OPTIONS"*"--ipv4=IPV4/LEN (default: 10.0.0.2/24)"* ]]
}

keys_typed() {
    rt "$1" keys '--name=a\ b' --port 443 --verbose --mac=02:00:00:00:00:0a --peers=x,y \
        --ipv4=192.168.7.9/16 --ipv6=fc00::9/64
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "name=a b port=443 verbose=1" ]
    [ "${lines[1]}" = "ipv4=192.168.7.9/16" ]
    [ "${lines[2]}" = "mac=02:00:00:00:00:0a" ]
    [ "${lines[3]}" = "ipv6 prefix length=64" ]
    [ "${lines[4]}" = "peer 0=x" ]
    [ "${lines[5]}" = "peer 1=y" ]
}

# usage TARGET MESSAGE ARGS...: exit 64 with MESSAGE.
usage() {
    local target=$1 msg=$2
    shift 2
    rt "$target" keys "$@"
    [ "$status" -eq 64 ]
    [[ "$output" == *"$msg"* ]]
}

bad_input() {
    # Empty and blank command lines are no arguments at all: defaults apply.
    rt "$1" keys ""
    [ "$status" -eq 0 ]
    rt "$1" keys "   "
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "name=world port=8080 verbose=0" ]
    usage "$1" "unterminated quote" '"abc'
    usage "$1" "trailing backslash" 'abc\'
    usage "$1" "argument 1 is not valid UTF-8 (byte 8)" $'--name=\xff'
    usage "$1" "option '--port': '99999' is out of range 0..65535" --port=99999
    usage "$1" "option '--ipv4': '10.0.0.300' is not an IPv4 address" --ipv4=10.0.0.300/24
    usage "$1" "unknown option '--nope'" --nope
    usage "$1" "unexpected argument 'stray'" stray
    usage "$1" "bad log level in 'tcp:loud'" -l tcp:loud
    # Nearly 8 KiB of arguments reach the unikernel whole.
    rt "$1" keys "--name=$(head -c 8000 /dev/zero | tr '\0' a)"
    [ "$status" -eq 0 ]
    [ "${#lines[0]}" -eq $((8000 + 25)) ]
    # Over the 8 KiB limit: refused with a message before the unikernel runs,
    # 64 on every target (the spt/hvt tenders refuse it as a boot-argument error).
    rt "$1" keys "--name=$(head -c 8200 /dev/zero | tr '\0' a)"
    [[ "$output" == *"command line too long"* ]]
    [ "$status" -eq 64 ]
}

# fiber_overflow TARGET MODE NAME: a fiber running 1 KiB past its 16 KiB
# stack hits its guard page (254) on every target, and the message names it:
# the unix binding's handler asks the runtime; the spt and hvt tenders read the
# label the runtime left in the guard page. In fiber-overflow-reused the stack
# is one a finished fiber left behind (the runtime keeps a few, guarded).
fiber_overflow() {
    require_target "$1" fault
    rt "$1" fault "$2"
    echo "$status: $output"
    [ "$status" -eq 254 ]
    case $1 in
    unix)
        [[ "$output" =~ "mirage: unikernel fault: stack overflow of fiber '$3' (address 0x"[0-9a-f]+" in its guard page)" ]]
        ;;
    spt)
        [[ "$output" =~ "mirage-spt: guest fault: SIGSEGV writing address 0x"[0-9a-f]+": stack overflow of fiber '$3' (guard page at 0x"[0-9a-f]+"000)" ]]
        ;;
    hvt)
        [[ "$output" =~ "mirage-hvt: guest fault: stack overflow of fiber '$3' (guard page at 0x"[0-9a-f]+"000, rip 0x"[0-9a-f]+")" ]]
        ;;
    esac
    [[ "$output" != *"did not fault"* ]]
}

# host_entropy TARGET: the host hands the unikernel 32 bytes of its getrandom
# (spt and hvt at boot, the same for the run; unix on each ask), different on
# every boot and never all zero, and the generator seeded with them draws
# differently on every boot.
host_entropy() {
    require_target "$1" entropy
    rt "$1" entropy
    echo "$status: $output"
    [ "$status" -eq 0 ]
    local host1 rnd1 again
    host1=$(sed -n 's/^host 32 \([0-9a-f]\{64\}\)$/\1/p' <<<"$output")
    again=$(sed -n 's/^again 16 \([0-9a-f]\{32\}\)$/\1/p' <<<"$output")
    rnd1=$(sed -n 's/^random 16 \([0-9a-f]\{32\}\)$/\1/p' <<<"$output")
    [ -n "$host1" ] && [ -n "$again" ] && [ -n "$rnd1" ]
    [ "$host1" != "$(printf '0%.0s' {1..64})" ]
    case $1 in
    unix) [ "$again" != "${host1:0:32}" ] ;;
    *) [ "$again" = "${host1:0:32}" ] ;;
    esac
    rt "$1" entropy
    [ "$status" -eq 0 ]
    [[ "$output" == *"host 32 "* ]]
    [[ "$output" != *"host 32 $host1"* ]]
    [[ "$output" != *"random 16 $rnd1"* ]]
    [[ "$output" != *"neither host nor CPU entropy"* ]]
}

@test "unix: runtime noop" { noop unix; }
@test "unix: runtime hello-log" { hello_log unix; }
@test "unix: runtime hello-key" { hello_key unix; }
@test "unix: runtime heads" { heads unix; }
@test "unix: runtime timeout-example" { timeout_example unix; }
@test "unix: runtime clock" { clock unix; }
@test "unix: runtime logs-and-help" { logs_and_help unix; }
@test "unix: runtime keys-typed" { keys_typed unix; }
@test "unix: runtime bad-input" { bad_input unix; }
@test "unix: runtime fiber-overflow" { fiber_overflow unix fiber-overflow deep-diver; }
@test "unix: runtime fiber-overflow on a reused stack" { fiber_overflow unix fiber-overflow-reused second-diver; }
@test "unix: runtime host entropy seeds the generator" { host_entropy unix; }
@test "spt: runtime noop" { noop spt; }
@test "spt: runtime hello-log" { hello_log spt; }
@test "spt: runtime hello-key" { hello_key spt; }
@test "spt: runtime heads" { heads spt; }
@test "spt: runtime timeout-example" { timeout_example spt; }
@test "spt: runtime clock" { clock spt; }
@test "spt: runtime logs-and-help" { logs_and_help spt; }
@test "spt: runtime keys-typed" { keys_typed spt; }
@test "spt: runtime bad-input" { bad_input spt; }
@test "spt: runtime fiber-overflow" { fiber_overflow spt fiber-overflow deep-diver; }
@test "spt: runtime fiber-overflow on a reused stack" { fiber_overflow spt fiber-overflow-reused second-diver; }
@test "spt: runtime host entropy seeds the generator" { host_entropy spt; }
@test "hvt: runtime noop" { noop hvt; }
@test "hvt: runtime hello-log" { hello_log hvt; }
@test "hvt: runtime hello-key" { hello_key hvt; }
@test "hvt: runtime heads" { heads hvt; }
@test "hvt: runtime timeout-example" { timeout_example hvt; }
@test "hvt: runtime clock" { clock hvt; }
@test "hvt: runtime logs-and-help" { logs_and_help hvt; }
@test "hvt: runtime keys-typed" { keys_typed hvt; }
@test "hvt: runtime bad-input" { bad_input hvt; }
@test "hvt: runtime fiber-overflow" { fiber_overflow hvt fiber-overflow deep-diver; }
@test "hvt: runtime fiber-overflow on a reused stack" { fiber_overflow hvt fiber-overflow-reused second-diver; }
@test "hvt: runtime host entropy seeds the generator" { host_entropy hvt; }
