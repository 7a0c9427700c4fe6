# helpers.bash: shared set-up for the end-to-end tests (bats).

B=build
UK=$B/uk

# Fails the test loudly when KVM is missing: hvt tests never pass without running.
# tests/run.sh, having found no /dev/kvm on the whole machine and said so, sets
# MIRAGE_NO_KVM=skip: the case is then reported skipped (never passed), and
# the run's summary counts and names every such case.
require_kvm() {
    if [ ! -c /dev/kvm ] || [ ! -w /dev/kvm ]; then
        if [ "${MIRAGE_NO_KVM:-}" = skip ]; then
            skip "no /dev/kvm on this machine: the hvt part did not run"
        fi
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

# Background processes and how they are ended. A test's unikernels (and dnsmasq)
# must never outlive it: an orphan whose tap is deleted used to spin for minutes.
# - Start them only with bg_spawn (uk_start, uk_spawn, dnsmasq_start): never as
#   `some_function ... &` (the pid is then a bash subshell's; killing it orphans
#   the real process) nor inside `run`, `$(...)` or a pipeline.
# - bg_spawn runs the command as the leader of a process group of its own
#   (setsid, no fork without job control) that `ip netns exec` and the tender
#   keep by exec, so the pid recorded is the process itself and a group kill
#   also reaches anything it forked; and with a parent-death signal, so it is
#   killed even if the test's shell dies before its teardown.
# - Every pid goes into BG_PIDS; uk_stop (in every teardown) ends them all.
BG_PIDS=()

# bg_spawn NS LOG ARGV...: runs ARGV inside NS in the background, its output in
# LOG (fd 3 closed so bats does not wait on it); sets BG_PID.
bg_spawn() {
    local ns=$1 log=$2
    shift 2
    setsid setpriv --pdeathsig KILL ip netns exec "$ns" "$@" >"$log" 2>&1 3>&- &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}

# bg_ours PID: PID is still this shell's child (not a pid reused by another process).
bg_ours() {
    [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$BASHPID" ]
}

# bg_kill SECONDS PID...: TERM to each PID's process group and itself, KILL after
# SECONDS for any still there, then reaps them; never fails.
bg_kill() {
    local tenths=$(($1 * 10)) pid i left
    shift
    for pid in "$@"; do
        bg_ours "$pid" || continue
        kill -TERM -- "-$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < tenths; i++)); do
        left=0
        for pid in "$@"; do
            if bg_ours "$pid" && kill -0 "$pid" 2>/dev/null; then left=1; fi
        done
        [ $left = 1 ] || break
        sleep 0.1
    done
    for pid in "$@"; do
        if bg_ours "$pid"; then
            kill -KILL -- "-$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

# uk_spawn NS LOG ARGV...: bg_spawn for a unikernel (or a tender) given as a full
# command; sets UK_PID, which uk_wait_line and uk_wait_exit watch.
uk_spawn() {
    bg_spawn "$@"
    UK_PID=$BG_PID
}

# uk_start NS LOG TARGET NAME ARGS...: boots a unikernel inside NS in the
# background, its output in LOG; sets UK_PID.
uk_start() {
    local ns=$1 log=$2
    shift 2
    target_argv "$@" || return 1
    uk_spawn "$ns" "$log" "${TARGET_ARGV[@]}"
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
            # A non-zero status is a result here, not a failure of the test.
            UK_STATUS=0
            wait "$UK_PID" || UK_STATUS=$?
            UK_PID=
            return 0
        fi
        sleep 0.1
    done
    echo "unikernel $UK_PID still running after $1 s" >&2
    return 1
}

# uk_stop: ends every process bg_spawn started in this test, and UK_PID however
# it was started (TERM, then KILL after 3 s); never fails. Call it in teardown.
uk_stop() {
    local pids=("${BG_PIDS[@]}")
    [ -z "${UK_PID:-}" ] || pids+=("$UK_PID")
    [ ${#pids[@]} -eq 0 ] || bg_kill 3 "${pids[@]}"
    BG_PIDS=()
    UK_PID=
}

# ping_received OUTPUT: the number of replies in ping's summary line.
ping_received() {
    sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$1" | tail -1
}

# ---- DHCP (stack.bats) ----

# dnsmasq_start NS TAP FIRST LAST LEASE LOG: the host's dnsmasq as the DHCP
# server of TAP inside NS, handing out FIRST..LAST (/24) for LEASE (e.g. 2m)
# with the tap's own address as router; no DNS, no address probing. It stays
# in the foreground as a bg_spawn child (its pid also in $LOG.pid), so uk_stop
# ends it too; dnsmasq_stop LOG ends it alone.
dnsmasq_start() {
    local ns=$1 tap=$2 first=$3 last=$4 lease=$5 log=$6 i
    command -v dnsmasq >/dev/null || { echo "dnsmasq is missing: make deps" >&2; return 1; }
    rm -f "$log.pid"
    bg_spawn "$ns" "$log.out" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
        --no-resolv --no-hosts --interface="$tap" --bind-interfaces --no-ping --user=root \
        --log-dhcp --log-facility="$log" --dhcp-range="$first,$last,255.255.255.0,$lease" \
        --dhcp-leasefile="$log.leases" --pid-file="$log.pid"
    echo "$BG_PID" >"$log.bgpid"
    for ((i = 0; i < 50; i++)); do
        [ -s "$log.pid" ] && return 0
        kill -0 "$BG_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "dnsmasq did not start:" >&2
    cat "$log" "$log.out" >&2 2>/dev/null
    return 1
}

# dnsmasq_stop LOG: ends the dnsmasq started with LOG; never fails.
dnsmasq_stop() {
    [ -s "$1.bgpid" ] || return 0
    bg_kill 3 "$(cat "$1.bgpid")"
    rm -f "$1.pid" "$1.bgpid"
}

# ---- per-test network namespace ----------------------------------------------------------------

# net_setup NAME SUBNET: gives the test its own namespace (mirage-NAME-PID-N, in NS) and
# /24 (SUBNET.N.0, in NET), so nothing leaks between tests; LOG is the unikernel's log.
net_setup() {
    NS=mirage-$1-$$-$BATS_TEST_NUMBER
    NET=$2.$BATS_TEST_NUMBER
    LOG=$BATS_TEST_TMPDIR/uk.log
    UK_PID=
    netns_create "$NS"
}

# net_teardown: stops every process the test started, then deletes its namespace.
net_teardown() {
    uk_stop
    netns_delete "$NS"
}

# ipv6_net_setup NAME SUBNET: net_setup, then tap0 in the namespace with both families: the
# kernel at $NET.1/24 and $PFX::1/64, PFX being fd00:X:N (SUBNET 10.X, N the test's number), with
# no duplicate address detection, so the kernel talks at once; the unikernel takes .2 and ::2.
ipv6_net_setup() {
    net_setup "$1" "$2"
    PFX=fd00:${2#*.}:$BATS_TEST_NUMBER
    in_ns sysctl -qw net.ipv6.conf.default.accept_dad=0
    netns_tap "$NS" tap0 "$NET.1/24"
    in_ns ip -6 addr add "$PFX::1/64" dev tap0 nodad
}

# wait_for SECONDS CMD...: runs CMD every 0.2 s until it succeeds, at most SECONDS.
wait_for() {
    local tenths=$(($1 * 10)) i
    shift
    for ((i = 0; i < tenths; i += 2)); do
        "$@" && return 0
        sleep 0.2
    done
    echo "not within $((tenths / 10)) s: $*" >&2
    return 1
}

# tap_setup NAME PREFIX [CMD...]: net_setup NAME PREFIX with tap0 at $NET.1 and ADDR=$NET.2 for
# the unikernel; fails naming the first CMD not installed.
tap_setup() {
    local c
    net_setup "$1" "$2"
    netns_tap "$NS" tap0 "$NET.1/24"
    ADDR=$NET.2
    for c in "${@:3}"; do
        command -v "$c" >/dev/null || { echo "$c is missing: make deps" >&2; return 1; }
    done
}

# tcp_listening PORT: something in $NS listens on TCP PORT.
tcp_listening() {
    in_ns ss -Hltn "sport = :$1" | grep -q ":$1"
}

# peer_wait FILE REGEX SECONDS: waits until a peer (a collector, a syslog server) wrote a line
# matching REGEX to FILE; else shows what it wrote and the unikernel's console ($LOG), and fails.
peer_wait() {
    local tenths=$(($3 * 10)) i
    for ((i = 0; i < tenths; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "no line /$2/ in $1 within $3 s; it has:" >&2
    tail -20 "$1" >&2 2>/dev/null
    echo "console:" >&2
    cat "$LOG" >&2
    return 1
}

# tcptest_tender_opts TARGET: TENDER_OPTS for tests/tcp's tcptest on tap0 (512 MiB on spt, hvt).
tcptest_tender_opts() {
    case $1 in
    unix) TENDER_OPTS=("--net:tap0=tap0") ;;
    spt | hvt) TENDER_OPTS=(--mem=512 "--net:service=tap0") ;;
    esac
}

# tcptest_control ADDR CMD: tests/tcp's tcptest's answer to CMD ("net", "tcp", "udp", "heap") on
# its control port at socat address ADDR (TCP:A.B.C.D:8, TCP6:[...]:8), also appended to
# $BATS_TEST_TMPDIR/control for the failure's output.
tcptest_control() {
    in_ns timeout 10 socat -t 5 - "$1" <<<"$2" | tee -a "$BATS_TEST_TMPDIR/control"
}

# tcptest_stat ADDR CMD FIELD: the integer FIELD of that answer (a line-protocol measurement).
tcptest_stat() {
    tcptest_control "$1" "$2" | sed -n "s/.*[ ,]$3=\([0-9]*\)i.*/\1/p"
}

# in_ns CMD...: runs CMD inside the test's namespace.
in_ns() {
    ip netns exec "$NS" "$@"
}

# example_variants EXAMPLE NAME:TARGET:OPTION...: one copy of examples/EXAMPLE per
# variant in $BATS_FILE_TMPDIR/NAME, configured (-t TARGET OPTION) and built by the
# tool once, as a user would (for setup_file).
example_variants() {
    local example=$1 v mirage=$PWD/$B/bin/mirage
    shift
    [ -x "$mirage" ] || { echo "missing $mirage: run make" >&2; return 1; }
    for v in "$@"; do
        local name=${v%%:*} rest=${v#*:}
        local target=${rest%%:*} opt=${rest#*:}
        mkdir -p "$BATS_FILE_TMPDIR/$name"
        cp "$PWD/examples/$example"/*.c "$BATS_FILE_TMPDIR/$name/"
        (cd "$BATS_FILE_TMPDIR/$name" && "$mirage" configure -t "$target" $opt >/dev/null &&
            "$mirage" build >/dev/null) || return 1
    done
}

# stack_echo_boot VARIANT ARGS...: boots the VARIANT (direct, spt, hvt) of
# example_variants' stack-echo on tap0 and waits until it listens; sets MAC and
# LL (its link-local address, empty without IPv6) from its log.
stack_echo_boot() {
    local v=$1 dir=$BATS_FILE_TMPDIR/$1
    shift
    case $v in
    direct) TARGET_ARGV=("$dir/dist/stack-echo" --net:tap0=tap0 -- "$@") ;;
    spt) TARGET_ARGV=("$PWD/$B/bin/mirage-spt" --net:service=tap0 "$dir/dist/stack-echo.spt" "$@") ;;
    hvt)
        require_kvm
        TARGET_ARGV=("$PWD/$B/bin/mirage-hvt" --net:service=tap0 "$dir/dist/stack-echo.hvt" "$@")
        ;;
    esac
    uk_spawn "$NS" "$LOG" "${TARGET_ARGV[@]}"
    uk_wait_line "$LOG" "echo on TCP and UDP " 30
    MAC=$(sed -n "s/.*direct stack on '[^']*' (\([0-9a-f:]*\), MTU.*/\1/p" "$LOG" | head -1)
    LL=$(sed -n 's/.*IPv6 link-local \(fe80:[0-9a-f:]*\)\/64.*/\1/p' "$LOG" | head -1)
    [ -n "$MAC" ]
}
