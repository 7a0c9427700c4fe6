#!/bin/bash
# storage.sh: block.h read/write throughput per target beside dd (and Python's os.pread/pwrite for
# random 4 KiB) on the same file, and tar_kv_ro get of a 1 MiB file beside cat of it. Run after
# `make`; DIR (default: a directory under /var/tmp, on disk) holds the files. Prints markdown.
set -u
cd "$(dirname "$0")/.."
B=build
DIR=${1:-$(mktemp -d /var/tmp/storage.XXXXXX)}
trap 'rm -rf "$DIR"' EXIT
IMG=$DIR/disk.img
echo "storage: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), files in $DIR ($(df -T "$DIR" | awk 'NR==2 {print $2}'))"
head -c 128M /dev/urandom >"$IMG"
cat "$IMG" >/dev/null # in the page cache: every reader starts alike

# dd's rate in MB/s from its last line.
dd_rate() { dd "$@" 2>&1 | awk '/copied/ { printf "%d", $(NF-1) * ($NF == "GB/s" ? 1000 : ($NF == "kB/s" ? 0.001 : 1)) }'; }
# Random 4 KiB requests by the host: N of them at the sectors blockbench uses' distribution.
py_random() {
    python3 - "$IMG" "$1" "$2" <<'PY'
import os, random, sys, time
path, n, write = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "w"
fd = os.open(path, os.O_RDWR)
blocks = os.fstat(fd).st_size // 4096
buf = b"\x5a" * 4096
rng = random.Random(1)
t = time.monotonic()
for _ in range(n):
    off = rng.randrange(blocks) * 4096
    if write:
        os.pwrite(fd, buf, off)
    else:
        os.pread(fd, 4096, off)
if write:
    os.fdatasync(fd)
print("%d" % (n * 4096 / (time.monotonic() - t) / 1e6))
PY
}

echo
echo "### block.h throughput on a 128 MiB file in the page cache (MB/s; writes end with one flush)"
echo
echo "| reader/writer | read 64 KiB | read 1 MiB | read 4 KiB random | write 64 KiB | write 1 MiB | write 4 KiB random |"
echo "|---|---|---|---|---|---|---|"
echo "| host: dd, Python pread/pwrite (reference) | $(dd_rate if="$IMG" of=/dev/null bs=64K) | $(dd_rate if="$IMG" of=/dev/null bs=1M) | $(py_random 20000 r) | $(dd_rate if=/dev/zero of="$IMG" bs=64K count=2048 conv=notrunc,fdatasync) | $(dd_rate if=/dev/zero of="$IMG" bs=1M count=128 conv=notrunc,fdatasync) | $(py_random 5000 w) |"

# The tar image: big.bin (1 MiB + 17) among a few small files, as GNU tar writes it.
mkdir -p "$DIR/site/dir"
head -c $((1048576 + 17)) /dev/urandom >"$DIR/site/big.bin"
for i in $(seq 1 50); do echo "file $i" >"$DIR/site/dir/f$i.txt"; done
tar -C "$DIR/site" -cf "$DIR/site.tar" .
cat "$DIR/site.tar" >/dev/null
tars=()
for t in unix spt hvt; do
    case $t in
    unix) out=$("$B/uk/blockbench" --block:storage="$IMG" --block:tar="$DIR/site.tar" -- --target=unix 2>&1) ;;
    *) out=$("$B/bin/mirage-$t" --mem=64 --block:storage="$IMG" --block:tar="$DIR/site.tar" "$B/uk/blockbench.$t" --target=$t 2>&1) ;;
    esac
    grep '^| ' <<<"$out" || echo "| mirage $t | failed: $(tr '\n' ' ' <<<"$out") |"
    tars+=("$(sed -n 's/^TAR //p' <<<"$out")")
done

echo
echo "### tar_kv_ro get of a 1 MiB file (20 gets; the archive in the page cache)"
echo
echo "| reader | ms per get | MB/s | index at connect (ms) |"
echo "|---|---|---|---|"
t0=$(date +%s%N)
for i in $(seq 1 20); do cat "$DIR/site/big.bin" >/dev/null; done
t1=$(date +%s%N)
awk -v ns=$((t1 - t0)) 'BEGIN { printf "| host: cat of the file, 20 times (reference; a process each) | %.3f | %.0f | - |\n", ns / 20 / 1e6, 20 * 1048593 * 1000 / ns }'
t0=$(date +%s%N)
python3 -c "
import sys
for _ in range(20):
    open('$DIR/site/big.bin','rb').read()
"
t1=$(date +%s%N)
awk -v ns=$((t1 - t0)) 'BEGIN { printf "| host: Python reading the file 20 times in one process (reference, start-up included) | %.3f | %.0f | - |\n", ns / 20 / 1e6, 20 * 1048593 * 1000 / ns }'
for l in "${tars[@]}"; do echo "$l"; done
