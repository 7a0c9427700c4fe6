#!/usr/bin/env bats
# boot.bats: booting as users expect on unix, spt and hvt: --help without devices, the DHCP
# default and its timeout, malformed -l, missing taps, --mem beyond 4 GiB, the heap at debug.

load helpers

ROOT=$PWD
MIRAGE=$ROOT/build/bin/mirage

# stack-echo on unix with the direct stack (the default build there uses host sockets).
setup_file() {
    [ -x "$MIRAGE" ] || { echo "missing $MIRAGE: run make" >&2; return 1; }
    mkdir -p "$BATS_FILE_TMPDIR/direct"
    cp "$ROOT"/examples/stack-echo/*.c "$BATS_FILE_TMPDIR/direct/"
    (cd "$BATS_FILE_TMPDIR/direct" && "$MIRAGE" configure -t unix --net=direct >/dev/null &&
        "$MIRAGE" build >/dev/null)
}

setup() {
    net_setup boot 10.204
}

teardown() {
    net_teardown
}

# echo_argv TARGET ARGS...: TARGET_ARGV for stack-echo (direct stack) with TENDER_OPTS.
echo_argv() {
    local target=$1
    shift
    case $target in
    unix) TARGET_ARGV=("$BATS_FILE_TMPDIR/direct/dist/stack-echo" "${TENDER_OPTS[@]}" -- "$@") ;;
    *)
        require_target "$target" stack-echo
        target_argv "$target" stack-echo "$@"
        ;;
    esac
}

# ---- 8: --help needs no device -------------------------------------------------

help_without_devices() {
    echo_argv "$1" --help
    run in_ns timeout 30 "${TARGET_ARGV[@]}"
    echo "$output"
    [ "$status" -eq 63 ]
    [[ "$output" == *"NETWORK OPTIONS"* ]]
    [[ "$output" == *"--port=INT (1..65535) (default: 7)"* ]]
    [[ "$output" != *"not given"* ]]
    # Without --help the device is still required (unix: its tap, named after
    # it, does not exist in the test's namespace).
    echo_argv "$1" --port=7
    run in_ns timeout 30 "${TARGET_ARGV[@]}"
    echo "$output"
    [ "$status" -eq 125 ]
    [[ "$output" == *"does not exist"* || "$output" == *"not given"* ]]
}

@test "unix: --help is shown without any device" { help_without_devices unix; }
@test "spt: --help is shown without any device" { help_without_devices spt; }
@test "hvt: --help is shown without any device" { help_without_devices hvt; }

# ---- 9: what --help says about --ipv4 is what happens; DHCP gives up ------------

dhcp_timeout() {
    echo_argv "$1" --help
    run timeout 30 "${TARGET_ARGV[@]}"
    [ "$status" -eq 63 ]
    [[ "$output" == *"--ipv4=IPV4/LEN (no default)"* ]]
    [[ "$output" == *"the address comes from a DHCP lease"* ]]
    [[ "$output" == *"--dhcp-timeout=INT (0..86400) (default: 60)"* ]]
    [[ "$output" != *"10.0.0.2/24"* ]]
    # No DHCP server on the tap: the stack gives up after 2 s with status 2.
    netns_tap "$NS" tap0 "$NET.1/24"
    case $1 in
    unix) TENDER_OPTS=(--net:tap0=tap0) ;;
    *) TENDER_OPTS=(--net:service=tap0) ;;
    esac
    echo_argv "$1" --dhcp-timeout=2
    uk_spawn "$NS" "$LOG" "${TARGET_ARGV[@]}"
    local t0=$SECONDS
    uk_wait_exit 30
    cat "$LOG"
    [ "$UK_STATUS" -eq 2 ]
    [ $((SECONDS - t0)) -le 15 ]
    grep -q "no DHCP lease within --dhcp-timeout: give the address with --ipv4=ADDR/LEN" "$LOG"
    grep -q "\[ERROR\] \[stack\] no DHCP lease in time" "$LOG"
    # A bad timeout is a boot-argument error.
    echo_argv "$1" --dhcp-timeout=-1
    run in_ns timeout 30 "${TARGET_ARGV[@]}"
    [ "$status" -eq 64 ]
}

@test "unix: without --ipv4 the help says DHCP, and no lease in --dhcp-timeout exits 2" {
    dhcp_timeout unix
}
@test "spt: without --ipv4 the help says DHCP, and no lease in --dhcp-timeout exits 2" {
    dhcp_timeout spt
}
@test "hvt: without --ipv4 the help says DHCP, and no lease in --dhcp-timeout exits 2" {
    dhcp_timeout hvt
}

# ---- 10: a malformed -l is a boot-argument error --------------------------------

bad_logs() {
    local a
    for a in -l=notes:info --logs==x:debug '-l tcp:info,=udp:debug'; do
        run_args "$1" hello-key $a
        echo "$a -> $status: $output"
        [ "$status" -eq 64 ]
        [[ "$output" == *"option '--logs': bad source name in log setting"* ]]
        [[ "$output" == *"expected LEVEL, *:LEVEL or SOURCE:LEVEL, comma-separated"* ]]
        [[ "$output" != *"unknown log source"* ]]
    done
    run_args "$1" hello-key -l=debug
    [ "$status" -eq 64 ]
    [[ "$output" == *"bad log level in '=debug'"* ]]
    # Well formed but unknown: still only a warning.
    run_args "$1" keys -l nosuch:debug
    [ "$status" -eq 0 ]
    [[ "$output" == *"unknown log source 'nosuch' in --logs: ignored"* ]]
}

# run_args TARGET NAME ARGS...: run_target under `run`, bounded to 30 s.
run_args() {
    local target=$1 name=$2
    shift 2
    require_target "$target" "$name"
    target_argv "$target" "$name" "$@"
    run timeout 30 "${TARGET_ARGV[@]}"
}

@test "unix: a malformed -l is refused with 64 and the syntax" { bad_logs unix; }
@test "spt: a malformed -l is refused with 64 and the syntax" { bad_logs spt; }
@test "hvt: a malformed -l is refused with 64 and the syntax" { bad_logs hvt; }

# ---- --mem: what the host can back, beyond 4 GiB ---------------------------------

big_mem() {
    local host_mb
    host_mb=$(($(getconf _PHYS_PAGES) * $(getconf PAGESIZE) / 1048576))
    if [ "$host_mb" -gt 6144 ]; then
        TENDER_OPTS=(--mem=6144)
        run_args "$1" hello a 'b c'
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"arg 2: [b]"* ]]
    else
        echo "the host has $host_mb MB: --mem=6144 not tried" >&3
    fi
    TENDER_OPTS=(--mem=$((host_mb + 1024)))
    run_args "$1" hello
    echo "$output"
    [ "$status" -eq 125 ]
    [[ "$output" == *"mirage-$1: --mem=$((host_mb + 1024)): more than this host's $host_mb MB of memory"* ]]
}

@test "spt: --mem beyond 4 GiB boots; beyond the host's memory is refused" { big_mem spt; }
@test "hvt: --mem beyond 4 GiB boots; beyond the host's memory is refused" { big_mem hvt; }

# ---- 12: memory limits are visible ----------------------------------------------

memory_visible() {
    local target=$1
    # The heap in use and its limit, at debug boot.
    run_args "$target" hello-key -l memory:debug --hello=x
    echo "$output"
    [ "$status" -eq 0 ]
    if [ "$target" = unix ]; then
        [[ "$output" =~ \[DEBUG\]\ \[memory\]\ boot:\ heap\ [0-9]+\ KiB\ in\ use,\ no\ limit ]]
    else
        [[ "$output" =~ \[DEBUG\]\ \[memory\]\ boot:\ heap\ [0-9]+\ KiB\ in\ use\ of\ (2[6-9]|3[0-2])[0-9]{3}\ KiB ]]
    fi
    # An allocation that fails says what it was for and how full the heap is.
    if [ "$target" = unix ]; then
        require_target unix fault
        run bash -c "ulimit -v 400000; timeout 60 '$UK/fault' -- fibers"
    else
        TENDER_OPTS=(--mem=64)
        run_args "$target" fault fibers
    fi
    echo "$output"
    [[ "$output" =~ \[ERROR\]\ \[memory\]\ no\ memory\ for\ the\ stack\ of\ fiber\ \'hog\'\ \(1024\ KiB\):\ heap\ [0-9]+\ KiB\ in\ use ]]
    [[ "$output" =~ spawned\ [1-9][0-9]*\ fibers\ of\ 1\ MiB ]]
}

@test "unix: the heap at -l memory:debug boot; a failed allocation names itself and the heap" {
    memory_visible unix
}
@test "spt: the heap at -l memory:debug boot; a failed allocation names itself and the heap" {
    memory_visible spt
}
@test "hvt: the heap at -l memory:debug boot; a failed allocation names itself and the heap" {
    memory_visible hvt
}
