# lib.sh: what the benchmark scripts share, sourced after `set -euo pipefail` and NS=...:
# the checks for what they need, the namespaces with their tap and veth, the processes
# started (PIDS) and the cleanup at exit, and the hyperfine table beside a reference.

PIDS=()      # processes to stop at exit (and at each bench_cleanup)
BENCH_RM=()  # files and directories removed at exit
BENCH_SIG=TERM

# bench_need_files -e|-x FILE...: exits naming the first FILE that is missing.
bench_need_files() {
    local t=$1 f
    shift
    for f in "$@"; do
        test "$t" "$f" || { echo "missing $f: run make" >&2; exit 1; }
    done
}

# bench_need_commands CMD...: exits naming the first CMD not installed.
bench_need_commands() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || { echo "missing $c: make deps" >&2; exit 1; }
    done
}

# bench_stop: stops every process in PIDS (signal BENCH_SIG) and waits for it.
bench_stop() {
    local p
    for p in "${PIDS[@]}"; do kill "-$BENCH_SIG" "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}

# bench_cleanup: bench_stop, then deletes $NS and its companions ($NS-a, $NS-b,
# $NS-n); between rows, and at exit.
bench_cleanup() {
    local p
    bench_stop
    for p in "$NS" "$NS-a" "$NS-b" "$NS-n"; do ip netns del "$p" 2>/dev/null || true; done
}
trap 'bench_cleanup; rm -rf "${BENCH_RM[@]}"' EXIT

in_ns() { ip netns exec "$NS" "$@"; }

# dnsperf_row NAME IP: "| NAME | queries/s | average latency ms | lost |" of dnsperf (one
# thread, 4 clients, up to 100 queries outstanding) in $NS against IP for $DUR seconds,
# with the queries of $WORK/queries.
dnsperf_row() {
    local out qps lat lost
    out=$(in_ns dnsperf -s "$2" -d "$WORK/queries" -l "$DUR" -c 4 -q 100 -T 1 2>&1) || true
    qps=$(sed -En 's|^ *Queries per second: *([0-9.]+).*|\1|p' <<<"$out" | head -1)
    lat=$(sed -En 's|^ *Average Latency \(s\): *([0-9.]+).*|\1|p' <<<"$out" | head -1)
    lost=$(sed -En 's|^ *Queries lost: *([0-9]+ \([0-9.]+%\)).*|\1|p' <<<"$out" | head -1)
    printf '| %s | %.0f | %s | %s |\n' "$1" "${qps:-0}" \
        "$(awk -v l="${lat:-0}" 'BEGIN { printf "%.3f", l * 1000 }')" "${lost:--}"
}

# bench_work: WORK, a new directory removed at exit, readable by other users (a server's
# worker that drops root reads from it).
bench_work() {
    WORK=$(mktemp -d)
    BENCH_RM+=("$WORK")
    chmod 755 "$WORK"
}

# bench_table COLUMN...: the head of a markdown table with these columns.
bench_table() {
    local c head="|" rule="|"
    for c in "$@"; do
        head+=" $c |"
        rule+="---|"
    done
    echo "$head"
    echo "$rule"
}

# bench_no_kvm_row COLUMNS: the hvt row of a table of COLUMNS columns where there is no /dev/kvm.
bench_no_kvm_row() {
    local row="| hvt | (no /dev/kvm) |" i
    for ((i = 2; i < $1; i++)); do row+=" |"; done
    echo "$row"
}

# bench_ns NAME: a new namespace with its loopback up.
bench_ns() {
    ip netns add "$1"
    ip netns exec "$1" ip link set lo up
}

# bench_tap ADDR/LEN: the namespace $NS with tap0 up at ADDR/LEN, for the unikernels.
bench_tap() {
    bench_ns "$NS"
    in_ns ip tuntap add dev tap0 mode tap
    in_ns ip addr add "$1" dev tap0
    in_ns ip link set tap0 up
}

# bench_veth A B IFA IFB ADDR_A/LEN ADDR_B/LEN [OPTION...]: a veth pair between namespaces
# A and B (both existing), IFA in A and IFB in B, up with their addresses (added with
# OPTION..., such as nodad).
bench_veth() {
    ip link add "$3" netns "$1" type veth peer name "$4" netns "$2"
    ip netns exec "$1" ip addr add "$5" dev "$3" "${@:7}"
    ip netns exec "$2" ip addr add "$6" dev "$4" "${@:7}"
    ip netns exec "$1" ip link set "$3" up
    ip netns exec "$2" ip link set "$4" up
}

# bench_hyperfine_table JSON WHAT REF DIGITS NAME...: hyperfine's results in JSON as a markdown
# table of min and median ms with DIGITS decimals, each beside the first command's median
# (the reference, shown as "median - REF"); the rows are named NAME..., WHAT heads them.
bench_hyperfine_table() {
    python3 - "$@" <<'PY'
import json, sys, statistics
path, what, ref, digits = sys.argv[1:5]
res = json.load(open(path))["results"]
names = sys.argv[5:]
d = int(digits)
base = statistics.median(res[0]["times"]) * 1e3
print(f"| {what} | min | median | median - {ref} |")
print("|---|---|---|---|")
for name, r in zip(names, res):
    med = statistics.median(r["times"]) * 1e3
    print(f"| {name} | {min(r['times'])*1e3:.{d}f} | {med:.{d}f} | {med-base:+.{d}f} |")
PY
}

# bench_setup NAME SECONDS: the usual start of a script: B (build/), DUR (SECONDS), NS
# (mirage-bench-NAME-PID), ROOT (the repository, where the script runs) and WORK (bench_work).
bench_setup() {
    B=build
    DUR=$2
    NS=mirage-bench-$1-$$
    ROOT=$PWD
    bench_work
}

# bench_tap_peer TAPNET PEERNET TAG: bench_tap at TAPNET.1/24, the unikernel to be at UK_IP
# (TAPNET.2), and a second namespace $NS-n joined to $NS by a veth pair (TAG$$a, TAG$$b) over
# PEERNET.0/24, the reference server to be at PEER_IP (PEERNET.2).
bench_tap_peer() {
    bench_tap "$1.1/24"
    bench_ns "$NS-n"
    bench_veth "$NS" "$NS-n" "$3$$a" "$3$$b" "$2.1/24" "$2.2/24"
    UK_IP=$1.2
    PEER_IP=$2.2
}

BENCH_LOGS=() # more files bench_boot looks in (a syslog server's, say)

# bench_boot TENTHS PATTERN CMD...: CMD in $NS (into PIDS), its output in $WORK/uk.log, until
# PATTERN shows there or in BENCH_LOGS: up to TENTHS tenths of a second, and not after CMD
# ended. Else the log goes to stderr and the status is 1.
bench_boot() {
    local tenths=$1 pattern=$2
    shift 2
    ip netns exec "$NS" "$@" >"$WORK/uk.log" 2>&1 &
    PIDS+=($!)
    bench_wait_line "$tenths" "$pattern" "${PIDS[-1]}" "$WORK/uk.log" "${BENCH_LOGS[@]}"
}

# bench_wait_line TENTHS PATTERN PID FILE...: 0 once PATTERN shows in a FILE, waiting up to
# TENTHS tenths of a second and not after process PID ended; else the first FILE goes to
# stderr and the status is 1.
bench_wait_line() {
    local tenths=$1 pattern=$2 pid=$3 i
    shift 3
    for ((i = 0; i < tenths; i++)); do
        grep -qs -- "$pattern" "$@" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "'$pattern' did not appear:" >&2
    cat "$1" >&2
    return 1
}

# bench_targets COLUMNS CMD...: CMD... TARGET for unix, spt and hvt; where there is no /dev/kvm,
# bench_no_kvm_row COLUMNS in place of hvt's.
bench_targets() {
    local cols=$1 t
    shift
    for t in unix spt hvt; do
        if [ "$t" = hvt ] && [ ! -w /dev/kvm ]; then
            bench_no_kvm_row "$cols"
            continue
        fi
        "$@" "$t"
    done
}
