#!/bin/bash
# tool.sh: time of `mirage configure && mirage build` for hello from clean and of a no-op rebuild,
# beside `make` of a plain C hello world (from clean and no-op) in the same run. Run after `make`.
set -u
cd "$(dirname "$0")/.."
MIRAGE=$PWD/build/bin/mirage
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cp -r examples/hello "$TMP/uk"
mkdir "$TMP/plain"
printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' >"$TMP/plain/hello.c"
printf 'hello: hello.c\n\tgcc -O2 -g -o hello hello.c\n' >"$TMP/plain/Makefile"

echo "## The mirage tool: hello, configure + build (hyperfine, ms)"
echo
echo "| Command | Mean [ms] | Min [ms] | Max [ms] | Relative |"
echo "|:---|---:|---:|---:|---:|"
for t in unix spt hvt; do
    hyperfine -N --warmup 1 --runs 10 --export-markdown "$TMP/$t.md" \
        --prepare "rm -rf $TMP/uk/_build $TMP/uk/dist $TMP/uk/Makefile" \
        -n "mirage configure -t $t && mirage build (clean)" \
        "bash -c 'cd $TMP/uk && $MIRAGE configure -t $t >/dev/null && $MIRAGE build >/dev/null'" \
        >/dev/null 2>&1
    tail -n +3 "$TMP/$t.md"
    hyperfine -N --warmup 2 --runs 20 --export-markdown "$TMP/$t-noop.md" \
        -n "mirage build, nothing changed ($t)" \
        "bash -c 'cd $TMP/uk && $MIRAGE build >/dev/null'" >/dev/null 2>&1
    tail -n +3 "$TMP/$t-noop.md"
done
hyperfine -N --warmup 1 --runs 10 --export-markdown "$TMP/plain.md" \
    --prepare "rm -f $TMP/plain/hello" -n "make of a plain C hello (clean)" \
    "make -s -C $TMP/plain" >/dev/null 2>&1
tail -n +3 "$TMP/plain.md"
hyperfine -N --warmup 2 --runs 20 --export-markdown "$TMP/plain-noop.md" \
    -n "make of a plain C hello, nothing changed" "make -s -C $TMP/plain" >/dev/null 2>&1
tail -n +3 "$TMP/plain-noop.md"
