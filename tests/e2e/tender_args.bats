#!/usr/bin/env bats
# tender_args.bats: both tenders refuse bad options, images and devices with exit 125 (a command
# line too long for the guest with 64) and a message naming the problem, before running anything.

setup_file() {
    cd "$BATS_TEST_DIRNAME/../.."
    for t in spt hvt; do
        if [ ! -x "build/bin/mirage-$t" ]; then
            echo "build/bin/mirage-$t is missing: run make first" >&2
            return 1
        fi
    done
    gcc -std=gnu11 -Wall -Wextra -Werror -Iinclude -Itests/unit -o "$BATS_FILE_TMPDIR/mkimage" \
        tests/e2e/mkimage.c
}

setup() {
    cd "$BATS_TEST_DIRNAME/../.."
    T=$BATS_TEST_TMPDIR
    MKIMAGE=$BATS_FILE_TMPDIR/mkimage
}

# refused MESSAGE ARGS...: both tenders exit 125 (or $REFUSED_STATUS) with "mirage-X: MESSAGE"
# for ARGS. In MESSAGE, @T@ stands for the tender's name ("spt" or "hvt").
refused() {
    local msg=$1 t expect want=${REFUSED_STATUS:-125}
    shift
    for t in spt hvt; do
        expect=${msg//@T@/$t}
        run "build/bin/mirage-$t" "$@"
        if [ "$status" -ne "$want" ]; then
            echo "mirage-$t $*: exit status $status, expected $want; output: $output" >&2
            return 1
        fi
        if [[ "$output" != *"mirage-$t: $expect"* ]]; then
            echo "mirage-$t $*: output '$output' does not contain 'mirage-$t: $expect'" >&2
            return 1
        fi
    done
}

# patch FILE OFFSET BYTES: overwrites bytes (printf escapes) at decimal OFFSET of FILE.
patch() {
    printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

@test "--help prints the usage and exits 0" {
    for t in spt hvt; do
        run "build/bin/mirage-$t" --help
        [ "$status" -eq 0 ]
        [[ "$output" == *"usage: mirage-$t [OPTIONS] IMAGE [--] [ARGS...]"* ]]
        [[ "$output" == *"--net:NAME=TAP"* ]]
        [[ "$output" == *"--block:NAME=PATH"* ]]
    done
}

@test "refuses a missing image and unknown options" {
    refused "no unikernel image given (see --help)"
    refused "no unikernel image given (see --help)" --mem=8
    refused "unknown option '--foo'" --foo x.spt
    refused "unknown option '-v'" -v x.spt
    refused "--mem needs a value: use --mem=MB" --mem 8 x.spt
}

@test "refuses bad --mem values" {
    refused "--mem=0: must be from 1 to 524288 MB" --mem=0 x.spt
    refused "--mem=524289: must be from 1 to 524288 MB" --mem=524289 x.spt
    refused "--mem=12abc: not a decimal number of MB" --mem=12abc x.spt
    refused "--mem=-5: not a decimal number of MB" --mem=-5 x.spt
    refused "--mem given twice" --mem=8 --mem=16 x.spt
}

@test "refuses bad device options" {
    refused "--net:my-net=tap0: device name 'my-net' may contain only A-Z, a-z, 0-9 and _" \
        --net:my-net=tap0 x.spt
    refused "--net:service: no value: use --net:service=TAP" --net:service x.spt
    refused "--block:disk=: empty PATH" --block:disk= x.spt
    refused "device 'service' is given twice" --net:service=tap0 --net:service=tap1 x.spt
    refused "--net-mac:service given without --net:service=TAP" \
        --net-mac:service=02:00:00:00:00:01 x.spt
    refused "--net-mac:service: '02:00:00:00:01' is not a MAC address like 02:00:00:00:00:01" \
        --net:service=tap0 --net-mac:service=02:00:00:00:01 x.spt
    refused "--net-mac:service: 03:00:00:00:00:01 is a multicast address" \
        --net:service=tap0 --net-mac:service=03:00:00:00:00:01 x.spt
}

# A boot-argument error, not the tender's own: 64, as every target exits for bad boot arguments.
@test "refuses a command line longer than 8191 bytes with 64" {
    local long REFUSED_STATUS=64
    long=$(head -c 8192 /dev/zero | tr '\0' a)
    refused "command line too long: 8192 bytes, limit 8191" x.spt "$long"
    refused "command line too long: 8192 bytes, limit 8191" x.spt -- "${long:0:8190}" b
}

@test "refuses image files that are not unikernels" {
    mkdir "$T/dir"
    : >"$T/empty"
    printf '#!/bin/sh\necho hi\n' >"$T/script"
    refused "image '$T/none': cannot open: No such file or directory" "$T/none"
    refused "image '$T/dir' is a directory" "$T/dir"
    refused "image '$T/empty' is empty" "$T/empty"
    refused "image '$T/script': not an ELF file" "$T/script"
    refused "image '/bin/true': not an executable ELF file (type 3: shared object or PIE)" \
        /bin/true
}

@test "refuses malformed ELF images" {
    "$MKIMAGE" "$T/good" net:service
    head -c 100 "$T/good" >"$T/short"
    refused "image '$T/short': truncated ELF: program headers end at 232, file is 100 bytes" \
        "$T/short"

    cp "$T/good" "$T/wx"
    patch "$T/wx" 68 '\007' # p_flags of the text segment: R W X
    refused "image '$T/wx': segment 0 is writable and executable" "$T/wx"

    cp "$T/good" "$T/entry"
    patch "$T/entry" 24 '\000\020\020' # e_entry = 0x101000, the data segment
    refused "image '$T/entry': entry point 0x101000 is not inside an executable segment" \
        "$T/entry"

    cp "$T/good" "$T/nonote"
    patch "$T/nonote" 176 '\000' # the PT_NOTE header becomes PT_NULL
    refused "image '$T/nonote': no MIRAGE manifest note" "$T/nonote"

    cp "$T/good" "$T/noname"
    patch "$T/noname" $((0x120 + 28)) "$(printf 'x%.0s' $(seq 60))"
    refused "image '$T/noname': manifest: entry 0 name is not NUL-terminated" "$T/noname"
}

@test "refuses devices that do not match the manifest" {
    "$MKIMAGE" "$T/uk" net:service block:storage
    head -c 4096 /dev/zero >"$T/disk.img"
    refused "device 'service' (net) is declared by the unikernel but not given: "\
"use --net:service=TAP" \
        --block:storage="$T/disk.img" "$T/uk"
    refused "device 'storage' (block) is declared by the unikernel but not given: "\
"use --block:storage=PATH" \
        --net:service=tap0 "$T/uk"
    refused "device 'foo' is given but not declared by the unikernel" \
        --net:service=tap0 --block:storage="$T/disk.img" --block:foo="$T/disk.img" "$T/uk"
    refused "device 'storage' is declared as block but given as net" \
        --net:service=tap0 --net:storage=tap1 "$T/uk"
}

@test "refuses taps and disk images that cannot be used" {
    "$MKIMAGE" "$T/net" net:service
    "$MKIMAGE" "$T/blk" block:storage
    head -c 1000 /dev/zero >"$T/odd.img"
    : >"$T/empty.img"
    refused "tap 'mtnone0' does not exist (create it: ip tuntap add mtnone0 mode tap)" \
        --net:service=mtnone0 "$T/net"
    refused "tap 'lo': cannot attach: Invalid argument (is it a tap device?)" \
        --net:service=lo "$T/net"
    refused "disk image '$T/odd.img' is 1000 bytes: not a whole number of 512-byte sectors" \
        --block:storage="$T/odd.img" "$T/blk"
    refused "disk image '$T/empty.img' is empty" --block:storage="$T/empty.img" "$T/blk"
    refused "disk image '$T/none.img': cannot open: No such file or directory" \
        --block:storage="$T/none.img" "$T/blk"
}
