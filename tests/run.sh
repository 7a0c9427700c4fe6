#!/bin/bash
# run.sh: the whole test suite after `make`: unit tests, a short run of every fuzzer, end-to-end tests.
# FUZZ_SECONDS sets each fuzzer's run (default 20); ONLY=unit|fuzz|e2e runs one part.
set -u
cd "$(dirname "$0")/.."
B=build
failed=()
passed=0 nfailed=0 skipped=0
kvm_skips=()
section() { printf '\n==== %s ====\n' "$1"; }
want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

if want unit; then
    section "unit tests (ASan + UBSan)"
    for t in "$B"/tests/test_*; do
        [ -x "$t" ] || continue
        if "$t"; then passed=$((passed + 1)); else failed+=("unit: $(basename "$t")"); fi
    done
fi

# One fuzzer: its seconds, then "ok" with its run count, or the tail of its log.
fuzz_one() {
    local f=$1 out=$2 name corpus seeds
    name=$(basename "$f")
    corpus=$(mktemp -d)
    seeds=tests/fuzz/seeds/$name
    [ -d "$seeds" ] || seeds=
    if "$f" -max_total_time="${FUZZ_SECONDS:-20}" -print_final_stats=0 -artifact_prefix="$corpus/" \
        "$corpus" $seeds >"$corpus/log" 2>&1; then
        echo "$name: ok ($(grep -o 'Done [0-9]* runs' "$corpus/log" | tail -1))" >"$out"
    else
        { tail -40 "$corpus/log"; echo "$name: FAILED"; } >"$out"
        touch "$out.failed"
    fi
    rm -rf "$corpus"
}

if want fuzz; then
    # libFuzzer runs on one core: as many at once as there are cores, reported in order.
    jobs=$(nproc 2>/dev/null || echo 1)
    section "fuzzers, ${FUZZ_SECONDS:-20} s each, $jobs at a time"
    results=$(mktemp -d)
    fuzzers=()
    for f in "$B"/fuzz/fuzz_*; do [ -x "$f" ] && fuzzers+=("$f"); done
    for f in "${fuzzers[@]}"; do
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
        fuzz_one "$f" "$results/$(basename "$f")" &
    done
    wait
    for f in "${fuzzers[@]}"; do
        name=$(basename "$f")
        cat "$results/$name"
        if [ -e "$results/$name.failed" ]; then failed+=("fuzz: $name"); else passed=$((passed + 1)); fi
    done
    rm -rf "$results"
fi

if want e2e; then
    section "end-to-end tests"
    if [ ! -c /dev/kvm ] || [ ! -w /dev/kvm ]; then
        # A machine without KVM cannot run hvt at all: say so before and after,
        # and report each case that needed it as skipped, never as passed.
        printf '\n!!!! NO /dev/kvm ON THIS MACHINE: hvt cannot run here. Every case that needs\n'
        printf '!!!! it is reported SKIPPED and named in the summary; none of them passed.\n\n'
        export MIRAGE_NO_KVM=skip
    fi
    tap=$(mktemp)
    for t in tests/e2e/*.bats; do
        [ -f "$t" ] || continue
        start=$SECONDS
        bats --formatter tap "$t" | tee "$tap"
        echo "# $(basename "$t"): $((SECONDS - start)) s"
        [ "${PIPESTATUS[0]}" = 0 ] || failed+=("e2e: $t")
        passed=$((passed + $(grep -Ec '^ok ' "$tap") - $(grep -Ec '^ok .* # skip' "$tap")))
        skipped=$((skipped + $(grep -Ec '^ok .* # skip' "$tap")))
        nfailed=$((nfailed + $(grep -Ec '^not ok ' "$tap")))
        while IFS= read -r line; do
            kvm_skips+=("$(basename "$t"): ${line#ok }")
        done < <(grep -E '^ok .* # skip .*no /dev/kvm' "$tap")
    done
    rm -f "$tap"
fi

section "summary"
if [ ${#kvm_skips[@]} -gt 0 ]; then
    printf '%s cases did not run for want of /dev/kvm (hvt):\n' "${#kvm_skips[@]}"
    printf '  %s\n' "${kvm_skips[@]}"
fi
# Unit test programs and fuzzers count one each; end-to-end tests by case.
nfailed=$((nfailed + $(printf '%s\n' "${failed[@]}" | grep -Ecv '^(e2e: |$)')))
echo "$passed passed, $nfailed failed, $skipped skipped"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "all tests passed"
