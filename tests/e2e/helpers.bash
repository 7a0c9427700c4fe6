# helpers.bash: shared set-up for the end-to-end tests (bats).

B=build
UK=$B/uk

# Fails the test loudly when KVM is missing: hvt tests never pass without running.
require_kvm() {
    if [ ! -c /dev/kvm ] || [ ! -w /dev/kvm ]; then
        echo "no /dev/kvm: the hvt tests need KVM and cannot pass without it" >&2
        return 1
    fi
}

# run_target TARGET NAME ARGS...: runs unikernel NAME on unix, spt or hvt.
# Tender options (--net:, --block:, --mem=) go in the TENDER_OPTS array.
run_target() {
    local target=$1 name=$2
    shift 2
    case $target in
    unix) "$UK/$name" "${TENDER_OPTS[@]}" -- "$@" ;;
    spt) "$B/bin/mirage-spt" "${TENDER_OPTS[@]}" "$UK/$name.spt" "$@" ;;
    hvt) "$B/bin/mirage-hvt" "${TENDER_OPTS[@]}" "$UK/$name.hvt" "$@" ;;
    esac
}
TENDER_OPTS=()

# ---- network namespaces and background unikernels (net.bats, solo5.bats) ----

# target_argv TARGET NAME ARGS...: sets TARGET_ARGV to the command that runs
# unikernel NAME on TARGET with TENDER_OPTS, for callers that cannot run a shell
# function (ip netns exec).
target_argv() {
    local target=$1 name=$2
    shift 2
    case $target in
    unix) TARGET_ARGV=("$UK/$name" "${TENDER_OPTS[@]}" -- "$@") ;;
    spt) TARGET_ARGV=("$B/bin/mirage-spt" "${TENDER_OPTS[@]}" "$UK/$name.spt" "$@") ;;
    hvt) TARGET_ARGV=("$B/bin/mirage-hvt" "${TENDER_OPTS[@]}" "$UK/$name.hvt" "$@") ;;
    *) echo "unknown target '$target'" >&2; return 1 ;;
    esac
}

# require_target TARGET NAME: fails naming what is missing to run NAME on TARGET
# (and KVM for hvt).
require_target() {
    local target=$1 name=$2
    case $target in
    unix) [ -x "$UK/$name" ] || { echo "missing $UK/$name: run make" >&2; return 1; } ;;
    spt | hvt)
        [ -x "$B/bin/mirage-$target" ] || { echo "missing $B/bin/mirage-$target" >&2; return 1; }
        [ -f "$UK/$name.$target" ] || { echo "missing $UK/$name.$target" >&2; return 1; }
        if [ "$target" = hvt ]; then require_kvm || return 1; fi
        ;;
    esac
}

# netns_create NS: a fresh network namespace NS with loopback up.
netns_create() {
    ip netns del "$1" 2>/dev/null || true
    ip netns add "$1" && ip netns exec "$1" ip link set lo up
}

# netns_tap NS TAP CIDR: a tap device TAP inside NS, up, with the host address CIDR.
netns_tap() {
    ip netns exec "$1" ip tuntap add dev "$2" mode tap &&
        ip netns exec "$1" ip addr add "$3" dev "$2" &&
        ip netns exec "$1" ip link set "$2" up
}

# netns_delete NS: deletes NS and every tap in it; never fails.
netns_delete() {
    local dev
    for dev in $(ip netns exec "$1" ls /sys/class/net 2>/dev/null); do
        [ "$dev" = lo ] || ip netns exec "$1" ip link del "$dev" 2>/dev/null || true
    done
    ip netns del "$1" 2>/dev/null || true
}

# uk_start NS LOG TARGET NAME ARGS...: boots a unikernel inside NS in the
# background, its output in LOG; sets UK_PID. fd 3 is closed so bats does not wait on it.
uk_start() {
    local ns=$1 log=$2
    shift 2
    target_argv "$@" || return 1
    ip netns exec "$ns" "${TARGET_ARGV[@]}" >"$log" 2>&1 3>&- &
    UK_PID=$!
}

# uk_wait_line LOG REGEX SECONDS: waits until LOG has a line matching REGEX;
# fails (printing LOG) if it does not appear in time or the unikernel ended.
uk_wait_line() {
    local log=$1 re=$2 tenths=$(($3 * 10)) i
    for ((i = 0; i < tenths; i++)); do
        grep -Eq -- "$re" "$log" 2>/dev/null && return 0
        if [ -n "${UK_PID:-}" ] && ! kill -0 "$UK_PID" 2>/dev/null; then
            grep -Eq -- "$re" "$log" 2>/dev/null && return 0
            echo "unikernel ended before printing /$re/:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "no line /$re/ within $3 s:" >&2
    cat "$log" >&2
    return 1
}

# uk_wait_exit SECONDS: waits for UK_PID to end by itself; sets UK_STATUS.
uk_wait_exit() {
    local tenths=$(($1 * 10)) i
    for ((i = 0; i < tenths; i++)); do
        if ! kill -0 "$UK_PID" 2>/dev/null; then
            wait "$UK_PID"
            UK_STATUS=$?
            UK_PID=
            return 0
        fi
        sleep 0.1
    done
    echo "unikernel $UK_PID still running after $1 s" >&2
    return 1
}

# uk_stop: ends UK_PID (TERM, then KILL after 3 s); never fails.
uk_stop() {
    local i
    [ -n "${UK_PID:-}" ] || return 0
    kill "$UK_PID" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$UK_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$UK_PID" 2>/dev/null || true
    wait "$UK_PID" 2>/dev/null || true
    UK_PID=
}

# ping_received OUTPUT: the number of replies in ping's summary line.
ping_received() {
    sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$1" | tail -1
}

# ---- DHCP (stack.bats) ----

# dnsmasq_start NS TAP FIRST LAST LEASE LOG: the host's dnsmasq as the DHCP
# server of TAP inside NS, handing out FIRST..LAST (/24) for LEASE (e.g. 2m)
# with the tap's own address as router; no DNS, no address probing. Its pid
# file is $LOG.pid; dnsmasq_stop LOG ends it.
dnsmasq_start() {
    local ns=$1 tap=$2 first=$3 last=$4 lease=$5 log=$6
    command -v dnsmasq >/dev/null || { echo "dnsmasq is missing: make deps" >&2; return 1; }
    ip netns exec "$ns" dnsmasq --conf-file=/dev/null --port=0 --no-resolv --no-hosts \
        --interface="$tap" --bind-interfaces --no-ping --user=root --log-dhcp --log-facility="$log" \
        --dhcp-range="$first,$last,255.255.255.0,$lease" --dhcp-leasefile="$log.leases" \
        --pid-file="$log.pid" 3>&- || return 1
    local i
    for ((i = 0; i < 50; i++)); do
        [ -s "$log.pid" ] && return 0
        sleep 0.1
    done
    echo "dnsmasq did not start:" >&2
    cat "$log" >&2
    return 1
}

# dnsmasq_stop LOG: ends the dnsmasq started with LOG; never fails.
dnsmasq_stop() {
    local pid
    [ -s "$1.pid" ] || return 0
    pid=$(cat "$1.pid")
    kill "$pid" 2>/dev/null || true
    rm -f "$1.pid"
}
