#!/usr/bin/env bats
# unix.bats: the unix target boots hello, passes arguments and exit statuses through.

load helpers

@test "unix: hello prints its arguments, split as MirageOS does" {
    run "$UK/hello" a 'b\ c' '"d e"' '""'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "hello from hello" ]
    [ "${lines[1]}" = "arg 1: [a]" ]
    [ "${lines[2]}" = "arg 2: [b c]" ]
    [ "${lines[3]}" = "arg 3: [d e]" ]
    [ "${lines[4]}" = "arg 4: []" ]
}

@test "unix: exit statuses pass through" {
    for s in 0 1 7 200; do
        run "$UK/hello" --exit=$s
        [ "$status" -eq "$s" ]
    done
}

@test "unix: abort ends with 255" {
    run "$UK/hello" --abort
    [ "$status" -eq 255 ]
}

@test "unix: a trailing backslash is refused with 64" {
    run "$UK/hello" 'x\'
    [ "$status" -eq 64 ]
    [[ "$output" == *"bad boot arguments: trailing backslash"* ]]
}

@test "unix: an unterminated quote is refused with 64" {
    run "$UK/hello" '"abc'
    [ "$status" -eq 64 ]
    [[ "$output" == *"unterminated quote"* ]]
}

@test "unix: an undeclared device is refused" {
    run "$UK/hello" --net:service=tap0
    [ "$status" -eq 64 ]
    [[ "$output" == *"device 'service' is given but not declared"* ]]
}

@test "unix: a command line over 8 KiB is refused" {
    run "$UK/hello" "$(head -c 9000 /dev/zero | tr '\0' a)"
    [ "$status" -eq 64 ]
    [[ "$output" == *"command line too long"* ]]
}
