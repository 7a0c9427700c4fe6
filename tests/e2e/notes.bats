#!/usr/bin/env bats
# notes.bats: the notes example keeps its notes in kv_rw_disk: back after a SIGKILL and a restart, on unix, spt and hvt.

load helpers

setup() {
    net_setup notes 10.207
    netns_tap "$NS" tap1 "$NET.1/24"
    IMG=$BATS_TEST_TMPDIR/notes.img
    truncate -s 8M "$IMG"
}

teardown() {
    net_teardown
}

# notes_start TARGET: boots build/uk/notes on TARGET with tap1 and the image; waits until it serves.
notes_start() {
    local nic=service
    require_target "$1" notes
    [ "$1" != unix ] || nic=tap0
    case $1 in
    unix) ARGV=("$UK/notes" "--net:$nic=tap1" "--block:notes=$IMG" -- "--ipv4=$NET.2/24") ;;
    *) ARGV=("$B/bin/mirage-$1" "--net:$nic=tap1" "--block:notes=$IMG" "$UK/notes.$1"
        "--ipv4=$NET.2/24") ;;
    esac
    : >"$LOG"
    uk_spawn "$NS" "$LOG" "${ARGV[@]}"
    uk_wait_line "$LOG" "notes on TCP port 7777, $2 notes kept" 30
}

# say LINES: sends LINES to the service, sets output to its answers.
say() {
    run in_ns timeout 15 socat -t 5 - "TCP:$NET.2:7777" <<<"$1"
    echo "$output"
    [ "$status" -eq 0 ]
}

notes_survive() {
    notes_start "$1" 0
    say $'PUT a hello\nADD b line1\nADD b line2\nGET b\nLIST\nGET zz\nQUIT'
    [ "$output" = $'OK\nOK\nOK\nOK line1\\nline2\\n\nOK 2\na\nb\nERR not found: /notes/zz' ]
    # a crash right after the answers: every acknowledged note is on the disk
    kill -KILL "$UK_PID"
    wait "$UK_PID" 2>/dev/null || true
    UK_PID=
    notes_start "$1" 2
    say $'GET a\nMV a c\nDEL b\nLIST\nQUIT'
    [ "$output" = $'OK hello\nOK\nOK\nOK 1\nc' ]
    uk_stop
    # the image, read on the host with the same store code
    [ "$("$B/bin/mirage-kv" ls "$IMG" /notes)" = c ]
    [ "$("$B/bin/mirage-kv" get "$IMG" /notes/c)" = hello ]
    run "$B/bin/mirage-kv" check "$IMG"
    echo "$output"
    [ "$status" -eq 0 ]
}

# A device holding something else is refused at boot, naming it, and left as it was.
@test "notes: a device that is not a store (a tar archive) is refused by name and not written, on every target" {
    tar -C examples/kv-ro/data -cf "$IMG" .
    truncate -s 1M "$IMG"
    local before
    before=$(sha256sum <"$IMG")
    for t in unix spt hvt; do
        require_target "$t" notes
        case $t in
        unix) run in_ns timeout 20 "$UK/notes" --net:tap0=tap1 --block:notes="$IMG" -- --ipv4="$NET.2/24" ;;
        *) run in_ns timeout 20 "$B/bin/mirage-$t" --net:service=tap1 --block:notes="$IMG" "$UK/notes.$t" --ipv4="$NET.2/24" ;;
        esac
        echo "$output"
        [ "$status" -eq 1 ]
        [[ "$output" == *"kv_rw_disk on block device 'notes': not a kv_rw_disk store: it holds a tar archive"* ]]
        [ "$(sha256sum <"$IMG")" = "$before" ]
    done
}

@test "notes on unix: notes back after a SIGKILL and a restart" { notes_survive unix; }
@test "notes on spt: notes back after a SIGKILL and a restart" { notes_survive spt; }
@test "notes on hvt: notes back after a SIGKILL and a restart" { notes_survive hvt; }
