#!/usr/bin/env bats
# gdb.bats: debuggers on every target: mirage-hvt --gdb (its remote stub) with gdb -batch and with a small client sending bad packets and Ctrl-C; gdb on mirage-spt with tender/spt/mirage-spt-gdb.py (the image's symbols, stopped before its first instruction) and gdb on a unix unikernel: a breakpoint in a fiber, a variable, a step, a backtrace, the fault's signal.
# Budget: under 90 s on an idle machine (each hvt session ~2-10 s; `next` over a loop is single steps).

load helpers

setup() {
    command -v gdb >/dev/null || { echo "gdb is missing: make deps" >&2; return 1; }
    HVT_PID=
}

teardown() {
    if [ -n "$HVT_PID" ]; then
        kill -KILL "$HVT_PID" 2>/dev/null || true
        wait "$HVT_PID" 2>/dev/null || true
    fi
}

# hvt_gdb PORT NAME ARGS...: starts mirage-hvt --gdb=PORT on unikernel NAME in
# the background (its output in $LOG) and waits up to 10 s for it to listen.
hvt_gdb() {
    local port=$1 name=$2 i
    shift 2
    require_target hvt "$name"
    LOG=$BATS_TEST_TMPDIR/hvt.log
    setsid setpriv --pdeathsig KILL "$B/bin/mirage-hvt" --gdb="$port" "$UK/$name.hvt" "$@" \
        >"$LOG" 2>&1 3>&- &
    HVT_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -q "waiting for gdb on 127.0.0.1:$port" "$LOG" && return 0
        kill -0 "$HVT_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$LOG"
    echo "mirage-hvt did not listen on $port" >&2
    return 1
}

# hvt_status: waits up to 20 s for the background tender to end; sets HVT_STATUS.
hvt_status() {
    local i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$HVT_PID" 2>/dev/null || break
        sleep 0.1
    done
    HVT_STATUS=124
    if ! kill -0 "$HVT_PID" 2>/dev/null; then
        wait "$HVT_PID" && HVT_STATUS=0 || HVT_STATUS=$?
    fi
    HVT_PID=
    echo "--- mirage-hvt (status $HVT_STATUS):"
    cat "$LOG"
}

# The fault program's fiber-overflow mode: a breakpoint in dive (run by the
# fiber 'deep-diver'), its argument, a step, a backtrace into the fiber's
# entry, then the overflow's SIGSEGV with dive on top.
check_session() {
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Breakpoint 1, dive (top="*"limit=17408) at tests/faults/fault.c:"* ]] ||
        [[ "$output" == *"Breakpoint 2, dive (top="*"limit=17408) at tests/faults/fault.c:"* ]]
    [[ "$output" == *'$1 = 17408'* ]]
    [[ "$output" == *"#1 "*" in diver ("*"tests/faults/fault.c:"* ]]
    [[ "$output" == *"fiber_entry ("*"lib/runtime/sched.c:"* ]]
    # the fiber's backtrace ends at its first frame, with no made-up callers
    [[ "$output" == *"mirage_ctx_start () at lib/runtime/switch.S:"* ]]
    [[ "$output" != *" in ?? ()"* ]]
    # next: one source line further in dive
    [[ "$output" == *"for (size_t i = 0; i < sizeof(frame); i++)"* ]]
    [[ "$output" == *"received signal SIGSEGV"* ]]
    [[ "$output" == *"#0  dive (top="* ]]
}

@test "gdb: mirage-spt with mirage-spt-gdb.py: a breakpoint in a fiber, a variable, next, bt, the fault" {
    require_target spt fault
    run timeout 120 gdb -nx -batch -x tender/spt/mirage-spt-gdb.py -ex mirage-start \
        -ex 'break dive' -ex continue -ex bt -ex 'print limit' -ex next -ex next -ex delete \
        -ex continue -ex 'bt 2' --args "$B/bin/mirage-spt" "$UK/fault.spt" fiber-overflow
    check_session
    # stopped before the guest ran: its first line came after mirage-start
    [[ "$output" == *"spt_filter_install"*"fault: fiber-overflow"* ]]
}

@test "gdb: a unix unikernel is a process: gdb --args" {
    require_target unix fault
    run timeout 120 gdb -nx -batch -ex 'break dive' -ex run -ex bt -ex 'print limit' -ex next \
        -ex next -ex delete -ex continue -ex 'bt 2' --args "$UK/fault" -- fiber-overflow
    check_session
}

@test "gdb: mirage-start says what is missing without an image" {
    run timeout 60 gdb -nx -batch -x tender/spt/mirage-spt-gdb.py -ex mirage-start \
        --args "$B/bin/mirage-spt" --mem=32
    echo "$output"
    [[ "$output" == *"mirage-start: no image among the arguments"* ]]
}

@test "gdb: mirage-hvt --gdb: break in start, a variable, next, step, bt, continue to the exit" {
    hvt_gdb 41231 hello one two
    run timeout 120 gdb -nx -batch -ex 'target remote :41231' -ex 'break start' -ex continue \
        -ex 'print argc' -ex 'print argv[1]' -ex next -ex next -ex step -ex bt -ex delete \
        -ex continue "$UK/hello.hvt"
    echo "$output"
    hvt_status
    [ "$status" -eq 0 ]
    [[ "$output" == *"Breakpoint 1, start (argc=3, argv="*"examples/hello/hello.c:"* ]]
    [[ "$output" == *'$1 = 3'* ]]
    [[ "$output" == *'$2 = '*'"one"'* ]]
    [[ "$output" == *"printf (fmt="* || "$output" == *"puts ("* || "$output" == *"for (int i = 1; i < argc; i++)"* ]]
    [[ "$output" == *"#1 "*"mirage_main ("* || "$output" == *"#2 "*"mirage_main ("* ]]
    [[ "$output" == *"exited normally"* ]]
    [ "$HVT_STATUS" -eq 0 ]
    [[ "$(cat "$LOG")" == *"arg 2: [two]"* ]]
}

@test "gdb: mirage-hvt --gdb: a breakpoint in a fiber, a variable, next, bt through the fiber, the fault" {
    hvt_gdb 41232 fault fiber-overflow
    run timeout 120 gdb -nx -batch -ex 'target remote :41232' \
        -ex 'break dive' -ex continue -ex bt -ex 'print limit' -ex next -ex next -ex delete \
        -ex continue -ex 'bt 2' "$UK/fault.hvt"
    hvt_status
    check_session
    [ "$HVT_STATUS" -eq 254 ]
    [[ "$(cat "$LOG")" == *"stack overflow of fiber 'deep-diver'"* ]]
}

@test "gdb: mirage-hvt --gdb: a faulting guest stops gdb with SIGSEGV in the faulting function" {
    hvt_gdb 41233 fault null-write
    run timeout 60 gdb -nx -batch -ex 'target remote :41233' -ex continue -ex bt \
        -ex 'info registers rip' "$UK/fault.hvt"
    echo "$output"
    hvt_status
    [[ "$output" == *"Program received signal SIGSEGV"* ]]
    [[ "$output" == *"#0 "*"run (mode="*"\"null-write\""*"tests/faults/fault.c:"* ]]
    [[ "$output" == *"#1 "*"mirage_main ("* ]]
    [ "$HVT_STATUS" -eq 254 ]
    [[ "$(cat "$LOG")" == *"guest fault: #PF (page fault) writing 0x8"* ]]
}

@test "gdb: mirage-hvt --gdb: bad packets get errors and NAKs, the tender serves on" {
    hvt_gdb 41234 hello
    run timeout 60 python3 tests/gdb/rsp.py 41234 bad
    echo "$output"
    hvt_status
    [ "$status" -eq 0 ]
    [ "$HVT_STATUS" -eq 0 ]
    [[ "$(cat "$LOG")" == *"gdb: packet with a wrong checksum (asked again)"* ]]
    [[ "$(cat "$LOG")" == *"gdb: packet refused: packet longer than PacketSize (4096 bytes)"* ]]
    [[ "$(cat "$LOG")" == *"hello from hello"* ]]
}

@test "gdb: mirage-hvt --gdb: Ctrl-C stops a running guest, k ends it" {
    hvt_gdb 41235 heads
    run timeout 60 python3 tests/gdb/rsp.py 41235 interrupt
    echo "$output"
    hvt_status
    [ "$status" -eq 0 ]
    [ "$HVT_STATUS" -eq 255 ]
    [[ "$(cat "$LOG")" == *"gdb killed the unikernel"* ]]
}

@test "gdb: --gdb is refused on spt and with a bad port" {
    require_target spt hello
    run "$B/bin/mirage-spt" --gdb "$UK/hello.spt"
    [ "$status" -eq 125 ]
    [[ "$output" == *"--gdb is mirage-hvt's"* ]]
    run "$B/bin/mirage-hvt" --gdb=0 "$UK/hello.hvt"
    [ "$status" -eq 125 ]
    [[ "$output" == *"--gdb=0: the port must be a number from 1 to 65535"* ]]
}
