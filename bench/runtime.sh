#!/bin/bash
# runtime.sh: context switch, fiber spawn, 100k timers and sleep(1 ms) wake-up per target beside host references.
# Prints a markdown table; run after `make build/bench/rt_ref build/uk/rtbench{,.spt,.hvt}`.
set -u
cd "$(dirname "$0")/.."
B=build
UK=$B/uk
declare -A R

collect() { # collect COLUMN COMMAND...
    local col=$1 k v
    shift
    while read -r k v; do R[$col,$k]=$v; done < <(timeout 120 "$@")
}

collect ref "$B/bench/rt_ref"
cols="ref unix spt"
collect unix "$UK/rtbench"
collect spt "$B/bin/mirage-spt" "$UK/rtbench.spt"
if [ -w /dev/kvm ]; then
    collect hvt "$B/bin/mirage-hvt" "$UK/rtbench.hvt"
    cols="$cols hvt"
fi
row() { # row LABEL KEY
    printf '| %s |' "$1"
    for c in $cols; do printf ' %s |' "${R[$c,$2]:--}"; done
    echo
}
printf '| measure | host reference (ucontext / nanosleep) |'
for c in $cols; do [ "$c" = ref ] || printf ' %s |' "$c"; done
echo
printf '|---|'
for c in $cols; do printf -- '---|'; done
echo
row "context switch, ns" switch_ns
row "monotonic clock read (ref: clock_gettime), ns" clock_ns
row "spawn + join a fiber (ref: a pthread), ns" spawn_join_ns
row "spawn + join, stack guarded anew each time, ns" spawn_join_fresh_ns
row "timer insert at 100k pending, ns" timer_insert_ns
row "timer expire at 100k pending, ns" timer_expire_ns
row "sleep(1 ms) wakes late by, median µs" sleep_late_median_us
row "sleep(1 ms) wakes late by, p99 µs" sleep_late_p99_us
