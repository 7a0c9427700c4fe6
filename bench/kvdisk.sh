#!/bin/bash
# kvdisk.sh: kv_rw_disk set/get per second (durable on return) beside SQLite, and its mount time after a crash.
# Prints markdown tables; run after `make`. DIR (default: a directory under /var/tmp, on disk) holds the files.
# N=keys of 100 B (N/10 of 64 KiB), GIB=size of the store whose mount after a crash is timed.
set -u
cd "$(dirname "$0")/.."
DIR=${1:-$(mktemp -d /var/tmp/kvdisk.XXXXXX)}
trap 'rm -rf "$DIR"' EXIT
echo "kvdisk: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), files in $DIR ($(df -T "$DIR" | awk 'NR==2 {print $2}'))"
echo
build/bench/kvbench "$DIR" --n="${N:-2000}" --mount-gib="${GIB:-1}"
echo
echo "Inside unikernels (bench/kvdisk/kvbench_uk.c over --block:storage=a blank 256 MiB file in $DIR):"
echo
echo "| store | value | keys | set/s | get/s |"
echo "|---|---|---|---|---|"
n=${N:-2000}
for t in unix spt hvt; do
    img=$DIR/uk-$t.img
    rm -f "$img" && truncate -s 256M "$img"
    case $t in
    unix) build/uk/kvbench_uk --block:storage="$img" -- --n="$n" --target=unix ;;
    spt) build/bin/mirage-spt --mem=128 --block:storage="$img" build/uk/kvbench_uk.spt --n="$n" --target=spt ;;
    hvt) build/bin/mirage-hvt --mem=128 --block:storage="$img" build/uk/kvbench_uk.hvt --n="$n" --target=hvt ;;
    esac
done
