#!/usr/bin/env bats
# gdb.bats: the plain routes to a debugger: gdb on mirage-spt with tender/spt/mirage-spt-gdb.py (the image's symbols, stopped before its first instruction) and gdb on a unix unikernel, in batch mode: a breakpoint in a fiber, a variable, a step, a backtrace, the fault's signal.

load helpers

setup() {
    command -v gdb >/dev/null || { echo "gdb is missing: make deps" >&2; return 1; }
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
