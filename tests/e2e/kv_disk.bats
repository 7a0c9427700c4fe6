#!/usr/bin/env bats
# kv_disk.bats: kv_rw_disk survives SIGKILLs on every target; mirage-kv makes, edits and checks images.

load helpers

setup() {
    TMP=$(mktemp -d)
    KV=$B/bin/mirage-kv
}

teardown() {
    rm -rf "$TMP"
}

# crash TARGET KILLS: crashrun kills crashkv on TARGET KILLS times (seeded by
# the target's name, bounded at 150 s) and checks the store after each kill.
crash() {
    local seed
    seed=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
    run "$B/tests/crashrun" --target="$1" --image="$TMP/store.img" --kills="$2" --seconds=150 \
        --seed="$seed" --window-ms="${3:-20}"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"$2 kills"*"every check passed"* ]]
}

@test "kv_rw_disk: 400 SIGKILLs of the unix process, every acknowledged change kept" {
    require_target unix crashkv
    crash unix 400
}

@test "kv_rw_disk: 400 SIGKILLs of mirage-spt, every acknowledged change kept" {
    require_target spt crashkv
    crash spt 400
}

@test "kv_rw_disk: 250 SIGKILLs of mirage-hvt, every acknowledged change kept" {
    require_target hvt crashkv
    crash hvt 250 60
}

@test "mirage-kv: make from a directory, ls, get, put, mv, rm, check" {
    mkdir -p "$TMP/src/docs/deep"
    echo hello >"$TMP/src/a.txt"
    head -c 300000 /dev/urandom >"$TMP/src/docs/deep/big.bin"
    : >"$TMP/src/empty"
    "$KV" make "$TMP/img" "$TMP/src"
    run "$KV" ls "$TMP/img"
    [ "$status" -eq 0 ]
    [ "$output" = $'a.txt\ndocs/\nempty' ]
    run "$KV" ls "$TMP/img" -R
    [[ "$output" == *"/docs/deep/big.bin 300000"* ]]
    "$KV" get "$TMP/img" /docs/deep/big.bin "$TMP/out"
    cmp "$TMP/out" "$TMP/src/docs/deep/big.bin"
    echo note | "$KV" put "$TMP/img" /notes/1
    [ "$("$KV" get "$TMP/img" /notes/1)" = note ]
    "$KV" mv "$TMP/img" /notes/1 /docs
    [ "$("$KV" get "$TMP/img" /docs/1)" = note ]
    "$KV" rm "$TMP/img" /docs
    run "$KV" get "$TMP/img" /docs/deep/big.bin
    [ "$status" -eq 1 ]
    [[ "$output" == *"key /docs/deep/big.bin: not found"* ]]
    [ "$("$KV" ls "$TMP/img")" = $'a.txt\nempty' ] # /notes went with its last entry
    echo again | "$KV" put "$TMP/img" /notes/2
    run "$KV" mv "$TMP/img" /notes /notes/inner
    [ "$status" -eq 1 ]
    [[ "$output" == *"rename source is a prefix of destination /notes/inner"* ]]
    run "$KV" check "$TMP/img"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"clean: 0 damaged extents"* ]]
}

@test "mirage-kv check: a flipped bit in a value names the key and its units; the rest reads" {
    mkdir -p "$TMP/src"
    head -c 100000 /dev/urandom >"$TMP/src/victim"
    echo fine >"$TMP/src/other"
    "$KV" make "$TMP/img" "$TMP/src"
    # find the unit holding bytes 65536.. of the value and flip one bit in it
    off=$(python3 -c "
import sys
img = open('$TMP/img', 'rb').read(); v = open('$TMP/src/victim', 'rb').read()
print(img.find(v[65536:65536 + 64]))")
    [ "$off" -gt 0 ]
    python3 -c "
f = open('$TMP/img', 'r+b'); f.seek($off + 10); b = f.read(1); f.seek($off + 10)
f.write(bytes([b[0] ^ 4]))"
    run "$KV" check "$TMP/img"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"key /victim: bytes "*"(units "*") fail their checksum"* ]]
    [[ "$output" == *"DAMAGED: 1 damaged extent"* ]]
    run "$KV" get "$TMP/img" /victim
    [ "$status" -eq 1 ]
    [[ "$output" == *"key /victim: bytes"*"fail their checksum"* ]]
    [ "$("$KV" get "$TMP/img" /other)" = fine ]
}

@test "mirage-kv check: zeroed superblock, damaged index, truncated image, other formats" {
    mkdir -p "$TMP/src"
    echo a >"$TMP/src/a"
    "$KV" make "$TMP/img" "$TMP/src" --size=1M
    cp "$TMP/img" "$TMP/orig"
    # superblock 0 zeroed: the store still mounts from superblock 1, check reports it
    dd if=/dev/zero of="$TMP/img" bs=512 count=1 conv=notrunc status=none
    run "$KV" check "$TMP/img"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"superblock 0 (unit 0): no superblock magic"* ]]
    [[ "$output" == *"DAMAGED: superblock 0 unreadable"* ]]
    [ "$("$KV" get "$TMP/img" /a)" = a ]
    # the checkpoint (the index) damaged: mount refuses, naming the units
    cp "$TMP/orig" "$TMP/img"
    unit=$("$KV" info "$TMP/img" | sed -n 's/^superblock 0 .*checkpoint at unit \([0-9]*\).*/\1/p')
    [ -n "$unit" ]
    printf '\377' | dd of="$TMP/img" bs=1 seek=$((unit * 4096 + 49)) conv=notrunc status=none
    run "$KV" check "$TMP/img"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"DAMAGED: checkpoint chunk 0 at units "*"is damaged"* ]]
    run "$KV" put "$TMP/img" /b /dev/null
    [ "$status" -eq 2 ]
    # truncated
    cp "$TMP/orig" "$TMP/img"
    truncate -s 512K "$TMP/img"
    run "$KV" check "$TMP/img"
    [ "$status" -eq 1 ]
    [[ "$output" == *"image truncated: the store spans 1048576 bytes, the device holds 524288"* ]]
    # a tar archive, zeros, random bytes
    tar -cf "$TMP/t.tar" -C "$TMP/src" a
    run "$KV" ls "$TMP/t.tar"
    [ "$status" -eq 2 ]
    [[ "$output" == *"not a kv_rw_disk store: it holds a tar archive"* ]]
    truncate -s 1M "$TMP/zero"
    run "$KV" check "$TMP/zero"
    [ "$status" -eq 2 ]
    [[ "$output" == *"a blank device"* ]]
    head -c 1M /dev/urandom >"$TMP/rand"
    run "$KV" check "$TMP/rand"
    [ "$status" -eq 2 ]
    [[ "$output" == *"no superblock magic at units 0 and 1"* ]]
}
