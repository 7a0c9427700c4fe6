#!/usr/bin/env bats
# coredump.bats: --dumpcore on spt and hvt: a faulting, an aborting and an overflowing unikernel each leave an ELF core that gdb -batch reads with the right function names; the core names the running fiber; a clean run leaves nothing.

load helpers

setup() {
    CORES=$BATS_TEST_TMPDIR/cores
    mkdir -p "$CORES"
    command -v gdb >/dev/null || { echo "gdb is missing: make deps" >&2; return 1; }
}

# crash TARGET MODE STATUS: runs tests/faults/fault.c in MODE with --dumpcore,
# expects STATUS and exactly one core; sets CORE and BT (gdb's backtrace).
crash() {
    local target=$1 mode=$2 want=$3
    require_target "$target" fault
    TENDER_OPTS=("--dumpcore=$CORES")
    run run_target "$target" fault "$mode"
    echo "$output"
    [ "$status" -eq "$want" ]
    [[ "$output" == *"core dumped to $CORES/core.mirage-$target."* ]]
    [ "$(ls "$CORES" | wc -l)" -eq 1 ]
    CORE=$(ls "$CORES"/core.mirage-"$target".*)
    run timeout 60 gdb -nx -batch -ex bt "$UK/fault.$target" "$CORE"
    BT=$output
    echo "$BT"
}

fault_core() {
    crash "$1" null-write 254
    [[ "$BT" == *"Program terminated with signal SIGSEGV"* ]]
    [[ "$BT" == *"#0 "*" in run ("*"mode="*"\"null-write\") at tests/faults/fault.c:"* ]]
    [[ "$BT" == *"#1 "*"mirage_main ("* ]]
    [[ "$BT" == *"mirage_boot ("* ]]
    # The note names the fiber that ran, and what happened.
    grep -aq "fiber 'main': guest fault: .*0x8" "$CORE"
}

abort_core() {
    crash "$1" abort 255
    [[ "$BT" == *"Program terminated with signal SIGABRT"* ]]
    [[ "$BT" == *"#0 "*"mirage_abort ()"* ]]
    [[ "$BT" == *" run ("*"mode="*"\"abort\") at tests/faults/fault.c:"* ]]
    grep -aq "fiber 'main': abort" "$CORE"
}

# A fiber running off its stack: the note and the backtrace name it.
overflow_core() {
    crash "$1" fiber-overflow 254
    [[ "$BT" == *"#0 "*"dive ("* ]]
    grep -aq "fiber 'deep-diver': " "$CORE"
}

# A smashed stack aborts: gdb sees __stack_chk_fail called from smash.
smash_core() {
    crash "$1" stack-smash 255
    [[ "$BT" == *"__stack_chk_fail ()"* ]]
    [[ "$BT" == *"smash ("* ]]
}

@test "dumpcore: a fault leaves a core gdb reads (spt)" { fault_core spt; }
@test "dumpcore: a fault leaves a core gdb reads (hvt)" { fault_core hvt; }
@test "dumpcore: an abort leaves a core gdb reads (spt)" { abort_core spt; }
@test "dumpcore: an abort leaves a core gdb reads (hvt)" { abort_core hvt; }
@test "dumpcore: a fiber's stack overflow names the fiber (spt)" { overflow_core spt; }
@test "dumpcore: a fiber's stack overflow names the fiber (hvt)" { overflow_core hvt; }
@test "dumpcore: a smashed stack (spt)" { smash_core spt; }
@test "dumpcore: a smashed stack (hvt)" { smash_core hvt; }

# A run that ends well leaves no file; memory never touched is a hole, so a
# core of a 256 MiB guest takes little disk; no --dumpcore, no core, same statuses.
dumpcore_quiet() {
    local target=$1 used
    require_target "$target" fault
    TENDER_OPTS=("--dumpcore=$CORES")
    run run_target "$target" fault return 3
    [ "$status" -eq 3 ]
    [ -z "$(ls -A "$CORES")" ]
    TENDER_OPTS=("--dumpcore=$CORES" --mem=256)
    run run_target "$target" fault null-read
    [ "$status" -eq 254 ]
    used=$(du -k "$CORES"/core.* | cut -f1)
    echo "core of a 256 MiB guest: $(stat -c %s "$CORES"/core.*) bytes, $used KiB on disk"
    [ "$used" -lt 8192 ]
    rm -f "$CORES"/core.*
    TENDER_OPTS=()
    run bash -c "cd '$CORES' && '$PWD/$B/bin/mirage-$target' '$PWD/$UK/fault.$target' abort"
    [ "$status" -eq 255 ]
    [ -z "$(ls -A "$CORES")" ]
}

@test "dumpcore: a clean run leaves nothing, holes stay holes, none without the option (spt)" { dumpcore_quiet spt; }
@test "dumpcore: a clean run leaves nothing, holes stay holes, none without the option (hvt)" { dumpcore_quiet hvt; }

@test "dumpcore: a directory that is not there is refused before the guest runs" {
    local t
    for t in spt hvt; do
        require_target $t fault
        run "$B/bin/mirage-$t" --dumpcore=/nonexistent/dir "$UK/fault.$t" return 0
        [ "$status" -eq 125 ]
        [[ "$output" == *"--dumpcore: directory '/nonexistent/dir': No such file or directory"* ]]
        [[ "$output" != *"fault: return"* ]]
        run "$B/bin/mirage-$t" --dumpcore= "$UK/fault.$t" return 0
        [ "$status" -eq 125 ]
        [[ "$output" == *"--dumpcore= needs a directory"* ]]
    done
}

# The filter pins the core file: a guest making its own system calls (as a
# compromised one could on spt) can neither open another file for writing nor
# give the core file, which it can write, a name of its choosing: linkat's
# names must be the tender's own (read-only strings), not the guest's.
# fds_closed CMD...: CMD with no descriptors but 0, 1 and 2 (bats leaves some
# open), so that the tender's own are numbered alike from run to run.
fds_closed() {
    local fd
    for fd in $(ls /proc/$BASHPID/fd); do
        [ "$fd" -gt 2 ] && eval "exec $fd>&-"
    done
    exec "$@"
}

@test "dumpcore: spt's filter lets the guest write no other file and name the core file nothing else" {
    local pid i fds fd dirfd evil=$BATS_TEST_TMPDIR/evil
    require_target spt fault
    require_target spt heads
    TENDER_OPTS=("--dumpcore=$CORES")
    run run_target spt fault create "$evil"
    echo "$output"
    [ "$status" -eq 253 ]
    [[ "$output" == *"forbidden system call 257 (openat)"* ]]
    [ ! -e "$evil" ]
    # The core file's descriptor and its directory's, as a guest could guess
    # them: read from a running tender with the same options and no devices.
    (fds_closed setsid setpriv --pdeathsig KILL "$B/bin/mirage-spt" --dumpcore="$CORES" \
        "$UK/heads.spt" >/dev/null 2>&1) &
    pid=$!
    for ((i = 0; i < 50; i++)); do
        fds=$(ls -l /proc/$pid/fd 2>/dev/null) && [[ "$fds" == *"(deleted)"* ]] && break
        sleep 0.1
    done
    kill -KILL $pid; wait $pid || true
    echo "$fds"
    fd=$(echo "$fds" | awk '/\(deleted\)/ {print $9; exit}')
    dirfd=$(echo "$fds" | awk -v d="$CORES" '$NF == d {print $9; exit}')
    [ -n "$fd" ] && [ -n "$dirfd" ]
    run fds_closed "$B/bin/mirage-spt" --dumpcore="$CORES" "$UK/fault.spt" link-core "$fd,$dirfd,$evil"
    echo "$output"
    [ ! -e "$evil" ]
    [ "$status" -eq 253 ]
    [[ "$output" == *"forbidden system call 265 (linkat)"* ]]
    # and the tender still names its core as before
    run run_target spt fault null-write
    [ "$status" -eq 254 ]
    [[ "$output" == *"core dumped to $CORES/core.mirage-spt."* ]]
}