#!/usr/bin/env bats
# storage.bats: crunch (a directory in the image) and tar_kv_ro (a GNU tar image on a block device)
# on unix, spt and hvt; crunch built reproducibly and again when the directory changes; errors of
# mirage crunch; bad tar images refused by name.

load helpers

MIRAGE=$PWD/build/bin/mirage

setup() {
    [ -x "$MIRAGE" ] || { echo "missing $MIRAGE: run make" >&2; return 1; }
    WORK=$(mktemp -d /tmp/mirage-storage.XXXXXX)
}

teardown() {
    rm -rf "$WORK"
}

# What the kv-ro example prints for a store (crunch or tar) of DIR (default examples/kv-ro/data),
# computed by sha256sum and stat.
expected_store() {
    (cd "${2:-examples/kv-ro/data}" && find . -type f | LC_ALL=C sort | while read -r f; do
        printf '%s %s  %s  %s\n' "$1" "$(sha256sum <"$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "${f#.}"
    done)
}

# kv-ro on TARGET with the GNU tar image made by TAR_ARGS... of examples/kv-ro/data as its
# block device "tar" (SECTOR: --block-sector-size on the tenders).
kv_ro_on() {
    local target=$1 sector=$2
    shift 2
    require_target "$target" kv-ro
    tar -C examples/kv-ro/data -cf "$WORK/data.tar" "$@" .
    truncate -s %4096 "$WORK/data.tar"
    TENDER_OPTS=(--block:tar="$WORK/data.tar")
    if [ "$sector" != 512 ]; then TENDER_OPTS+=(--block-sector-size:tar="$sector"); fi
    run run_target "$target" kv-ro
    [ "$status" -eq 0 ]
    [ "$output" = "$(expected_store crunch; expected_store tar)" ]
}

@test "storage: kv-ro reads its crunched directory and a GNU tar image on unix: every digest as sha256sum's" {
    kv_ro_on unix 512
    kv_ro_on unix 512 --format=posix
}

@test "storage: kv-ro reads its crunched directory and GNU tar images (gnu, pax, ustar; 512, 4096) on spt" {
    kv_ro_on spt 512
    kv_ro_on spt 4096 --format=posix
    kv_ro_on spt 512 --format=ustar
}

@test "storage: kv-ro reads its crunched directory and GNU tar images (gnu, pax, ustar; 512, 4096) on hvt" {
    kv_ro_on hvt 512
    kv_ro_on hvt 4096 --format=posix
    kv_ro_on hvt 512 --format=ustar
}

# A tar image of long names, an empty directory and a hard link, read on TARGET.
@test "storage: tar_kv_ro: long names, empty directories and hard links as GNU tar writes them, on every target" {
    local long=$WORK/t/$(printf 'd%.0s' {1..90})/$(printf 'f%.0s' {1..120})
    mkdir -p "$(dirname "$long")" "$WORK/t/empty"
    echo long >"$long"
    echo same >"$WORK/t/orig"
    ln "$WORK/t/orig" "$WORK/t/hard"
    tar -C "$WORK/t" -cf "$WORK/data.tar" .
    TENDER_OPTS=(--block:tar="$WORK/data.tar")
    for target in unix spt hvt; do
        require_target "$target" kv-ro
        run run_target "$target" kv-ro
        [ "$status" -eq 0 ]
        [ "$(grep '^tar ' <<<"$output")" = "$(expected_store tar "$WORK/t")" ]
    done
}

# A damaged image stops the boot with the problem, its offset and the device named.
@test "storage: tar_kv_ro refuses a damaged or foreign image on every target, naming the problem and the offset" {
    tar -C examples/kv-ro/data -cf "$WORK/data.tar" .
    printf 'X' | dd of="$WORK/data.tar" bs=1 seek=600 conv=notrunc 2>/dev/null
    head -c 10240 /dev/urandom >"$WORK/random.img"
    for target in unix spt hvt; do
        require_target "$target" kv-ro
        TENDER_OPTS=(--block:tar="$WORK/data.tar")
        run run_target "$target" kv-ro
        [ "$status" -eq 1 ]
        [[ "$output" == *"tar_kv_ro on block device 'tar': tar header at byte 512: bad checksum (stored "* ]]
        [[ "$output" == *"cannot connect the kv_ro device 'tar_kv_ro()': EBADMSG"* ]]
        TENDER_OPTS=(--block:tar="$WORK/random.img")
        run run_target "$target" kv-ro
        [ "$status" -eq 1 ]
        [[ "$output" == *"tar header at byte 0: not a tar archive"* ]]
    done
}

# A copy of the kv-ro example in $WORK/$1 with its data files' times set to $2.
copy_kv_ro() {
    mkdir -p "$WORK/$1"
    cp -r examples/kv-ro/config.c examples/kv-ro/kv-ro.c examples/kv-ro/data "$WORK/$1/"
    find "$WORK/$1/data" -exec touch -d "@$2" {} +
}

@test "storage: crunch output is the same bytes from two copies; SOURCE_DATE_EPOCH clamps times" {
    copy_kv_ro a 1700000000
    copy_kv_ro longer/path/b 1700000000
    touch -d @1500000000 "$WORK/a/data/hello.txt" "$WORK/longer/path/b/data/hello.txt"
    for d in a longer/path/b; do
        run bash -c "cd '$WORK/$d' && '$MIRAGE' configure -t spt && SOURCE_DATE_EPOCH=1600000000 '$MIRAGE' build"
        [ "$status" -eq 0 ]
    done
    cmp "$WORK/a/_build/crunch_d0.c" "$WORK/longer/path/b/_build/crunch_d0.c"
    cmp "$WORK/a/_build/crunch_d0.bin" "$WORK/longer/path/b/_build/crunch_d0.bin"
    cmp "$WORK/a/dist/kv-ro.spt" "$WORK/longer/path/b/dist/kv-ro.spt"
    # Newer than the epoch: clamped to it; older: kept.
    grep -q '{"/docs/about.txt", MIRAGE_KV_VALUE, 0ULL, 74ULL, 1600000000000000000ULL}' \
        "$WORK/a/_build/crunch_d0.c"
    grep -q '"/hello.txt", MIRAGE_KV_VALUE, 5074ULL, 33ULL, 1500000000000000000ULL}' \
        "$WORK/a/_build/crunch_d0.c"
    # Without SOURCE_DATE_EPOCH the files' own times, still the same in both copies.
    for d in a longer/path/b; do
        rm -rf "$WORK/$d/_build/crunch_d0"*
        run bash -c "cd '$WORK/$d' && unset SOURCE_DATE_EPOCH && '$MIRAGE' build"
        [ "$status" -eq 0 ]
    done
    cmp "$WORK/a/_build/crunch_d0.c" "$WORK/longer/path/b/_build/crunch_d0.c"
    grep -q '"/docs/about.txt", MIRAGE_KV_VALUE, 0ULL, 74ULL, 1700000000000000000ULL}' \
        "$WORK/a/_build/crunch_d0.c"
}

@test "storage: a changed, added or removed file in a crunched directory builds the image again" {
    copy_kv_ro u 1700000000
    tar -cf "$WORK/data.tar" -T /dev/null
    run bash -c "cd '$WORK/u' && '$MIRAGE' configure -t unix && '$MIRAGE' build"
    [ "$status" -eq 0 ]
    run bash -c "cd '$WORK/u' && '$MIRAGE' build"
    [[ "$output" == *"dist/kv-ro is up to date"* ]]
    run "$WORK/u/dist/kv-ro" --block:tar="$WORK/data.tar"
    [[ "$output" == *"  33  /hello.txt"* ]]
    printf 'changed\n' >"$WORK/u/data/hello.txt"
    run bash -c "cd '$WORK/u' && '$MIRAGE' build"
    [[ "$output" == *"built dist/kv-ro"* ]]
    run "$WORK/u/dist/kv-ro" --block:tar="$WORK/data.tar"
    [[ "$output" == *"crunch $(printf 'changed\n' | sha256sum | cut -d' ' -f1)  8  /hello.txt"* ]]
    printf 'new\n' >"$WORK/u/data/docs/new.txt"
    run bash -c "cd '$WORK/u' && '$MIRAGE' build && dist/kv-ro --block:tar='$WORK/data.tar'"
    [[ "$output" == *"  4  /docs/new.txt"* ]]
    rm "$WORK/u/data/docs/about.txt"
    run bash -c "cd '$WORK/u' && '$MIRAGE' build && dist/kv-ro --block:tar='$WORK/data.tar'"
    [ "$status" -eq 0 ]
    [[ "$output" != *"about.txt"* ]]
    [ "$(grep -c '^crunch ' <<<"$output")" -eq 3 ]
    run bash -c "cd '$WORK/u' && '$MIRAGE' build"
    [[ "$output" == *"dist/kv-ro is up to date"* ]]
}

@test "storage: mirage crunch refuses what it cannot embed, naming it" {
    mkdir -p "$WORK/d/sub"
    mkfifo "$WORK/d/sub/fifo"
    run "$MIRAGE" crunch "$WORK/d" "$WORK/out" sym
    [ "$status" -eq 1 ]
    [ "$output" = "mirage crunch: $WORK/d/sub/fifo: neither a regular file nor a directory" ]
    rm "$WORK/d/sub/fifo"
    ln -s .. "$WORK/d/sub/loop"
    run "$MIRAGE" crunch "$WORK/d" "$WORK/out" sym
    [ "$status" -eq 1 ]
    [[ "$output" == *"directories nested more than 64 deep (a symbolic link loop?)"* ]]
    rm "$WORK/d/sub/loop"
    run env SOURCE_DATE_EPOCH=yesterday "$MIRAGE" crunch "$WORK/d" "$WORK/out" sym
    [ "$status" -eq 1 ]
    [ "$output" = "mirage crunch: SOURCE_DATE_EPOCH=yesterday: expected seconds since 1970" ]
    run "$MIRAGE" crunch "$WORK/nope" "$WORK/out" sym
    [ "$status" -eq 1 ]
    [ "$output" = "mirage crunch: $WORK/nope: No such file or directory" ]
    run "$MIRAGE" crunch "$WORK/d"
    [ "$status" -eq 2 ]
    # An empty directory is an empty dictionary; a file name make cannot spell still builds.
    touch "$WORK/d/sub/'odd: name#1'"
    run "$MIRAGE" crunch "$WORK/d" "$WORK/out" sym
    [ "$status" -eq 0 ]
    grep -q '"/sub", MIRAGE_KV_DICTIONARY' "$WORK/out.c"
    grep -qF 'odd\:\ name\#1' "$WORK/out.d"
}

# ---- block devices: the block example, sector sizes, flush, read-only images ---------------

# check_block_image PATH SECTOR_SIZE: the host file holds the example's patterns where it wrote.
check_block_image() {
    python3 - "$1" "$2" <<'PY'
import sys
path, ss = sys.argv[1], int(sys.argv[2])
data = open(path, 'rb').read()
n = len(data) // ss
def pat(s, i): return (s * 31 + i * 7 + (i >> 8)) & 0xff
for s in [0] + list(range(8, 40)) + [n - 1]:
    got = data[s * ss:(s + 1) * ss]
    if any(got[i] != pat(s, i) for i in range(ss)):
        sys.exit("sector %d is not the pattern" % s)
if any(data[1 * ss:8 * ss]) or any(data[40 * ss:(n - 1) * ss]):
    sys.exit("a sector the example never wrote is not zero")
PY
}

# block_on TARGET SECTOR_SIZE: the block example on a fresh 1 MiB disk.
block_on() {
    local target=$1 ss=$2
    require_target "$target" block
    rm -f "$WORK/disk.img"
    truncate -s 1M "$WORK/disk.img"
    TENDER_OPTS=(--block:storage="$WORK/disk.img")
    [ "$ss" = 512 ] || TENDER_OPTS+=(--block-sector-size:storage="$ss")
    run run_target "$target" block
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "block storage: $((1048576 / ss)) sectors of $ss bytes" ]
    [ "${lines[2]}" = "multi: sectors 8..39 ($((32 * ss)) bytes in one request): ok" ]
    [ "${lines[3]}" = "last: sectors $((1048576 / ss - 1))..$((1048576 / ss - 1)) ($ss bytes in one request): ok" ]
    [ "${lines[4]}" = "past the end: EINVAL" ]
    check_block_image "$WORK/disk.img" "$ss"
}

@test "storage: block example on unix with 512- and 4096-byte sectors: first, multi-sector and last sectors land on the file" {
    block_on unix 512
    block_on unix 4096
}

@test "storage: block example on spt with 512- and 4096-byte sectors" {
    block_on spt 512
    block_on spt 4096
}

@test "storage: block example on hvt with 512- and 4096-byte sectors" {
    block_on hvt 512
    block_on hvt 4096
}

@test "storage: flush is fdatasync on the image: spt's filter allows it, hvt's block thread does it" {
    command -v strace >/dev/null || { echo "strace is missing (mk/deps.sh installs it)" >&2; return 1; }
    require_target spt block
    truncate -s 1M "$WORK/disk.img"
    run strace -f -qq -e trace=fdatasync -o "$WORK/spt.trace" "$B/bin/mirage-spt" \
        --block:storage="$WORK/disk.img" "$UK/block.spt"
    [ "$status" -eq 0 ]
    [ "$(grep -c 'fdatasync(.*= 0' "$WORK/spt.trace")" -eq 3 ]
    require_target hvt block
    run strace -f -qq -e trace=fdatasync -o "$WORK/hvt.trace" "$B/bin/mirage-hvt" \
        --block:storage="$WORK/disk.img" "$UK/block.hvt"
    [ "$status" -eq 0 ]
    [ "$(grep -c 'fdatasync(.*= 0' "$WORK/hvt.trace")" -eq 3 ]
}

@test "storage: a read-only image is attached read-only on every target and refuses writes" {
    require_target spt block
    require_target hvt block
    mkdir "$WORK/ro"
    head -c 65536 /dev/zero >"$WORK/ro/disk.img"
    # A read-only bind mount: root may write any file mode, not a read-only mount.
    for t in unix spt hvt; do
        TENDER_OPTS=(--block:storage="$WORK/ro/disk.img")
        target_argv "$t" block
        run unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' \
            sh "$WORK/ro" "${TARGET_ARGV[@]}"
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "block storage: 128 sectors of 512 bytes, read-only" ]
        [ "${lines[1]}" = "write to a read-only disk: EROFS" ]
    done
    cmp "$WORK/ro/disk.img" <(head -c 65536 /dev/zero)
}

@test "storage: --block-sector-size is 512 or 4096 and must divide the image (spt, hvt, unix)" {
    require_target spt block
    truncate -s 6144 "$WORK/disk.img"
    run "$B/bin/mirage-spt" --block:storage="$WORK/disk.img" --block-sector-size:storage=1024 "$UK/block.spt"
    [ "$status" -eq 125 ]
    [[ "$output" == *"--block-sector-size:storage=1024: the sector size is 512 or 4096"* ]]
    run "$B/bin/mirage-spt" --block-sector-size:storage=4096 --block:storage="$WORK/disk.img" "$UK/block.spt"
    [ "$status" -eq 125 ]
    [[ "$output" == *"disk image '$WORK/disk.img' is 6144 bytes: not a whole number of 4096-byte sectors"* ]]
    run "$B/bin/mirage-hvt" --block-sector-size:storage=4096 "$UK/block.hvt"
    [ "$status" -eq 125 ]
    [[ "$output" == *"--block-sector-size:storage given without --block:storage=PATH"* ]]
    # unix: the same rules, as boot-argument errors (64)
    require_target unix block
    run "$UK/block" --block:storage="$WORK/disk.img" --block-sector-size:storage=1024
    [ "$status" -eq 64 ]
    [[ "$output" == *"--block-sector-size:storage=1024: the sector size is 512 or 4096"* ]]
    run "$UK/block" --block-sector-size:nope=4096
    [ "$status" -eq 64 ]
    [[ "$output" == *"device 'nope' is given but not declared by the unikernel"* ]]
    run "$UK/block" --block-sector-size:storage=4096 --block-sector-size:storage=512
    [ "$status" -eq 64 ]
    [[ "$output" == *"--block-sector-size:storage given twice"* ]]
    run "$UK/block" --block-sector-size:storage=4096 --block:storage="$WORK/disk.img"
    [ "$status" -ne 0 ]
    [[ "$output" == *"disk image '$WORK/disk.img' is 6144 bytes: not a whole number of 4096-byte sectors"* ]]
}
