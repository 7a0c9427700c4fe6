#!/bin/bash
# run.sh: the whole test suite after `make`: unit tests, a short run of every fuzzer, end-to-end tests.
# FUZZ_SECONDS sets each fuzzer's run (default 20); ONLY=unit|fuzz|e2e runs one part.
set -u
cd "$(dirname "$0")/.."
B=build
failed=()
section() { printf '\n==== %s ====\n' "$1"; }
want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

if want unit; then
    section "unit tests (ASan + UBSan)"
    for t in "$B"/tests/test_*; do
        [ -x "$t" ] || continue
        if ! "$t"; then failed+=("unit: $(basename "$t")"); fi
    done
fi

if want fuzz; then
    section "fuzzers, ${FUZZ_SECONDS:-20} s each"
    for f in "$B"/fuzz/fuzz_*; do
        [ -x "$f" ] || continue
        name=$(basename "$f")
        corpus=$(mktemp -d)
        seeds=tests/fuzz/seeds/$name
        [ -d "$seeds" ] || seeds=
        if "$f" -max_total_time="${FUZZ_SECONDS:-20}" -print_final_stats=0 -artifact_prefix="$corpus/" \
            "$corpus" $seeds >"$corpus/log" 2>&1; then
            echo "$name: ok ($(grep -o 'Done [0-9]* runs' "$corpus/log" | tail -1))"
        else
            tail -40 "$corpus/log"
            failed+=("fuzz: $name")
        fi
        rm -rf "$corpus"
    done
fi

if want e2e; then
    section "end-to-end tests"
    for t in tests/e2e/*.bats; do
        [ -f "$t" ] || continue
        if ! bats "$t"; then failed+=("e2e: $t"); fi
    done
fi

section "summary"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "all tests passed"
