#!/usr/bin/env bats
# storage.bats: crunch (a directory in the image) on unix, spt and hvt, built reproducibly and
# again when the directory changes; errors of mirage crunch.

load helpers

MIRAGE=$PWD/build/bin/mirage

setup() {
    [ -x "$MIRAGE" ] || { echo "missing $MIRAGE: run make" >&2; return 1; }
    WORK=$(mktemp -d /tmp/mirage-storage.XXXXXX)
}

teardown() {
    rm -rf "$WORK"
}

# What the kv-ro example prints for examples/kv-ro/data, computed by sha256sum and stat.
expected_crunch() {
    (cd examples/kv-ro/data && find . -type f | LC_ALL=C sort | while read -r f; do
        printf 'crunch %s  %s  %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "${f#.}"
    done)
}

kv_ro_on() {
    require_target "$1" kv-ro
    run run_target "$1" kv-ro
    [ "$status" -eq 0 ]
    [ "$output" = "$(expected_crunch)" ]
}

@test "storage: kv-ro reads its crunched directory on unix: every digest as sha256sum's" {
    kv_ro_on unix
}

@test "storage: kv-ro reads its crunched directory on spt" {
    kv_ro_on spt
}

@test "storage: kv-ro reads its crunched directory on hvt" {
    kv_ro_on hvt
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
    run bash -c "cd '$WORK/u' && '$MIRAGE' configure -t unix && '$MIRAGE' build"
    [ "$status" -eq 0 ]
    run bash -c "cd '$WORK/u' && '$MIRAGE' build"
    [[ "$output" == *"dist/kv-ro is up to date"* ]]
    run "$WORK/u/dist/kv-ro"
    [[ "$output" == *"  33  /hello.txt"* ]]
    printf 'changed\n' >"$WORK/u/data/hello.txt"
    run bash -c "cd '$WORK/u' && '$MIRAGE' build"
    [[ "$output" == *"built dist/kv-ro"* ]]
    run "$WORK/u/dist/kv-ro"
    [[ "$output" == *"crunch $(printf 'changed\n' | sha256sum | cut -d' ' -f1)  8  /hello.txt"* ]]
    printf 'new\n' >"$WORK/u/data/docs/new.txt"
    run bash -c "cd '$WORK/u' && '$MIRAGE' build && dist/kv-ro"
    [[ "$output" == *"  4  /docs/new.txt"* ]]
    rm "$WORK/u/data/docs/about.txt"
    run bash -c "cd '$WORK/u' && '$MIRAGE' build && dist/kv-ro"
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
