#!/bin/bash
# virtio.sh: boot to exit of hello.virtio under QEMU (TCG) beside QEMU's own floor, and image sizes.
# The floor is a 32-bit multiboot kernel of a few instructions that exits through isa-debug-exit at
# once: QEMU, SeaBIOS and the multiboot loader with no guest work. Prints markdown; run after make.
set -u
cd "$(dirname "$0")/.."
source bench/lib.sh # its EXIT trap is replaced by this script's below
UK=build/uk
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
RUNS=${RUNS:-30}

cat >"$TMP/floor.S" <<'ASM'
    .section .text
    .code32
    .globl _start
    .balign 4
mb: .long 0x1badb002, 0x00010000, -(0x1badb002 + 0x00010000)
    .long mb, 0x100000, _edata, _end, _start
_start:
    movb $0, %al
    outb %al, $0xf4
1:  hlt
    jmp 1b
ASM
gcc -m32 -nostdlib -static -Wl,-Ttext=0x100074 -Wl,--build-id=none -Wl,-N -o "$TMP/floor.elf" \
    "$TMP/floor.S" 2>/dev/null || { echo "cannot build the floor kernel (gcc -m32)" >&2; exit 1; }
# Multiboot's load_addr must be the file's first byte: a flat binary at 1 MiB.
objcopy -O binary "$TMP/floor.elf" "$TMP/floor.bin.raw"
printf '' >"$TMP/floor.bin"
head -c $((0x74)) /dev/zero >"$TMP/floor.bin"
cat "$TMP/floor.bin.raw" >>"$TMP/floor.bin"

Q="qemu-system-x86_64 -accel tcg -m 32 -nodefaults -no-reboot -display none -serial none \
-device isa-debug-exit,iobase=0xf4,iosize=4"
for k in "$TMP/floor.bin" "$UK/hello.virtio"; do
    $Q -kernel "$k" >/dev/null 2>&1
    [ $? -eq 1 ] || { echo "$k does not exit with status 0 under QEMU" >&2; exit 1; }
done

echo "## Boot to exit under QEMU 7.2, TCG (hyperfine -N -i, $RUNS runs, ms)"
echo
hyperfine -N -i --warmup 3 --runs "$RUNS" --export-json "$TMP/boot.json" \
    "$Q -kernel $TMP/floor.bin" "$Q -kernel $UK/hello.virtio" "$Q -kernel $UK/noop.virtio" \
    >/dev/null 2>&1
bench_hyperfine_table "$TMP/boot.json" kernel floor 1 "QEMU floor (reference)" "hello.virtio" "noop.virtio"
echo
echo "## Stripped image size (bytes)"
echo
echo "| image | bytes |"
echo "|---|---|"
for f in "$UK/hello.virtio" "$UK/hello.hvt"; do
    strip -o "$TMP/s" "$f" && echo "| $(basename "$f") | $(stat -c %s "$TMP/s") |"
done
echo "| QEMU floor | $(stat -c %s "$TMP/floor.bin") |"
