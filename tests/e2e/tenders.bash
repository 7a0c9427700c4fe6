# tenders.bash: the cases spt.bats and hvt.bats share, as functions taking the target (spt or hvt).

# make_disk PATH BYTES: a disk image whose byte at position p is ((p/512)*3 + p%512) & 0xff,
# the pattern blocktest expects to find.
make_disk() {
    python3 - "$1" "$2" <<'PY'
import sys
n = int(sys.argv[2])
sector = bytes(range(256)) * 2
with open(sys.argv[1], "wb") as f:
    for s in range(n // 512):
        k = (s * 3) & 0xff
        f.write(sector[k:] + sector[:k])
PY
}

# disk_has_guest_pattern PATH: whether every byte is what blocktest writes.
disk_has_guest_pattern() {
    python3 - "$1" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
bad = sum(1 for p in range(len(d)) if d[p] != ((p // 512) * 7 + (p % 512) * 13 + 0x5a) & 0xff)
print("bytes", len(d), "wrong", bad)
sys.exit(1 if bad or not d else 0)
PY
}

# expect_fault TARGET MODE STATUS PATTERN: fault MODE prints its mode first, then the tender ends
# it with STATUS and a message matching PATTERN.
expect_fault() {
    run run_target "$1" fault "$2"
    echo "$2 -> $status: $output"
    [ "$status" -eq "$3" ]
    [ "${lines[0]}" = "fault: $2" ]
    [[ "$output" =~ $4 ]]
    [[ "$output" != *"did not fault"* ]]
}

# ---- arguments and exit statuses ---------------------------------------------------------------

hello_args() {
    run run_target "$1" hello a 'b\ c' '"d e"' '""' "it's"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "hello from hello" ]
    [ "${lines[1]}" = "arg 1: [a]" ]
    [ "${lines[2]}" = "arg 2: [b c]" ]
    [ "${lines[3]}" = "arg 3: [d e]" ]
    [ "${lines[4]}" = "arg 4: []" ]
    [ "${lines[5]}" = "arg 5: [it's]" ]
    local tender_out=$output
    run "$UK/hello" a 'b\ c' '"d e"' '""' "it's"
    [ "$output" = "$tender_out" ]
}

args_after_dashes() {
    run run_target "$1" hello -- --mem=5 x
    [ "$status" -eq 0 ]
    [ "${lines[1]}" = "arg 1: [--mem=5]" ]
    [ "${lines[2]}" = "arg 2: [x]" ]
}

exit_statuses() {
    require_target "$1" fault
    for s in 0 1 7 42 200 255; do
        run run_target "$1" hello --exit=$s
        [ "$status" -eq "$s" ]
        run run_target "$1" fault return $s
        [ "$status" -eq "$s" ]
        run run_target "$1" fault exit $s
        [ "$status" -eq "$s" ]
    done
}

abort_255() {
    require_target "$1" fault
    run run_target "$1" hello --abort
    [ "$status" -eq 255 ]
    [[ "$output" == *"abort() called"* ]]
    run run_target "$1" fault abort
    [ "$status" -eq 255 ]
}

bad_boot_args() {
    run run_target "$1" hello 'x\'
    [ "$status" -eq 64 ]
    [[ "$output" == *"bad boot arguments: trailing backslash"* ]]
}

# ---- block devices -----------------------------------------------------------------------------

# blocktest TARGET BYTES: blocktest on a disk of BYTES passes and leaves its own pattern.
blocktest() {
    require_target "$1" blocktest
    DISK=$BATS_TEST_TMPDIR/disk.img
    make_disk "$DISK" "$2"
    TENDER_OPTS=(--block:storage="$DISK")
    run run_target "$1" blocktest
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"capacity $2 block_size 512"* ]]
    [[ "$output" == *"checks passed"* ]]
    disk_has_guest_pattern "$DISK"
}

# ---- network and usage -------------------------------------------------------------------------

# tap_frames TARGET N: netsend N writes N + 3 frames to a tap in a namespace of the test's own,
# and the tap receives every one of them.
tap_frames() {
    require_target "$1" netsend
    NS=mirage-$1-$$-$BATS_TEST_NUMBER
    netns_create "$NS"
    ip netns exec "$NS" ip tuntap add dev tap0 mode tap
    ip netns exec "$NS" ip link set tap0 up
    before=$(ip netns exec "$NS" cat /sys/class/net/tap0/statistics/rx_packets)
    TENDER_OPTS=(--net:service=tap0 --net-mac:service=02:00:00:12:34:56)
    target_argv "$1" netsend "$2"
    run ip netns exec "$NS" "${TARGET_ARGV[@]}"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"netsend: mac 02:00:00:12:34:56 mtu 1500"* ]]
    [[ "$output" == *"netsend: sent $(($2 + 3)) frames"* ]]
    after=$(ip netns exec "$NS" cat /sys/class/net/tap0/statistics/rx_packets)
    [ $((after - before)) -eq $(($2 + 3)) ]
}

help_usage() {
    run "$B/bin/mirage-$1" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: mirage-$1"* ]]
    [[ "$output" == *"--mem"* ]]
}
