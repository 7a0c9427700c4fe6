#!/usr/bin/env bats
# tool.bats: the mirage command on copies of examples/hello and tests/e2e/tool/disk: configure,
# build, run on unix, spt and hvt; describe's golden output; every error a user will hit.

load helpers

MIRAGE=$PWD/build/bin/mirage
ROOT=$PWD

setup() {
    [ -x "$MIRAGE" ] || { echo "missing $MIRAGE: run make" >&2; return 1; }
    WORK=$(mktemp -d /tmp/mirage-tool.XXXXXX)
    cp -r examples/hello "$WORK/hello"
    cp -r tests/e2e/tool/disk "$WORK/disk"
    # A disk image: 16 sectors starting with a marker.
    head -c 8192 /dev/zero >"$WORK/disk.img"
    printf 'MIRAGEDK' | dd of="$WORK/disk.img" conv=notrunc 2>/dev/null
}

teardown() {
    rm -rf "$WORK"
}

# build_in DIR TARGET [KEYS...]: configure and build the unikernel in DIR for TARGET.
build_in() {
    local dir=$1 target=$2
    shift 2
    (cd "$dir" && "$MIRAGE" configure -t "$target" "$@" && "$MIRAGE" build)
}

@test "tool: hello on unix: configure, build, run; a second build does nothing" {
    run build_in "$WORK/hello" unix
    [ "$status" -eq 0 ]
    [[ "$output" == *"built dist/hello"* ]]
    [[ "$output" == *"run it:  dist/hello -- ARGS..."* ]]
    run "$WORK/hello/dist/hello" a 'b\ c'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "hello from hello" ]
    [ "${lines[2]}" = "arg 2: [b c]" ]
    run "$WORK/hello/dist/hello" --exit=7
    [ "$status" -eq 7 ]
    run bash -c "cd '$WORK/hello' && '$MIRAGE' build"
    [ "$status" -eq 0 ]
    [[ "$output" == *"dist/hello is up to date"* ]]
    [[ "$output" != *"CC"* ]]
    run make -C "$WORK/hello" -q
    [ "$status" -eq 0 ]
}

@test "tool: hello on spt through the tender" {
    [ -x "$B/bin/mirage-spt" ] || { echo "missing $B/bin/mirage-spt" >&2; return 1; }
    run build_in "$WORK/hello" spt
    [ "$status" -eq 0 ]
    [[ "$output" == *"run it:  $ROOT/build/bin/mirage-spt dist/hello.spt ARGS..."* ]]
    run "$B/bin/mirage-spt" "$WORK/hello/dist/hello.spt" x --exit=3
    [ "$status" -eq 3 ]
    [ "${lines[0]}" = "hello from hello" ]
    [ "${lines[1]}" = "arg 1: [x]" ]
}

@test "tool: hello on hvt through the tender" {
    require_kvm
    run build_in "$WORK/hello" hvt
    [ "$status" -eq 0 ]
    run "$B/bin/mirage-hvt" "$WORK/hello/dist/hello.hvt" y --exit=4
    [ "$status" -eq 4 ]
    [ "${lines[0]}" = "hello from hello" ]
    [ "${lines[1]}" = "arg 1: [y]" ]
}

@test "tool: a block device and a runtime key reach start on unix, spt and hvt" {
    run build_in "$WORK/disk" unix
    [ "$status" -eq 0 ]
    [[ "$output" == *"run it:  dist/disk --block:storage=FILE -- ARGS..."* ]]
    run "$WORK/disk/dist/disk" --block:storage="$WORK/disk.img"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "disk says storage: 8192 bytes in 512-byte blocks" ]
    [ "${lines[1]}" = "first bytes: MIRAGEDK" ]
    run "$WORK/disk/dist/disk" --block:storage="$WORK/disk.img" -- --greeting=unix
    [ "${lines[0]}" = "unix storage: 8192 bytes in 512-byte blocks" ]
    run "$WORK/disk/dist/disk" --block:storage="$WORK/disk.img" -- --help
    [ "$status" -eq 63 ]
    [[ "$output" == *"--greeting=STRING (default: disk says)"* ]]
    run "$WORK/disk/dist/disk" --block:storage="$WORK/disk.img" -- --nope
    [ "$status" -eq 64 ]
    run build_in "$WORK/disk" spt
    [ "$status" -eq 0 ]
    run "$B/bin/mirage-spt" --block:storage="$WORK/disk.img" "$WORK/disk/dist/disk.spt" --greeting=spt
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "spt storage: 8192 bytes in 512-byte blocks" ]
    [ "${lines[1]}" = "first bytes: MIRAGEDK" ]
    require_kvm
    run build_in "$WORK/disk" hvt
    [ "$status" -eq 0 ]
    run "$B/bin/mirage-hvt" --block:storage="$WORK/disk.img" "$WORK/disk/dist/disk.hvt" --greeting=hvt
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "hvt storage: 8192 bytes in 512-byte blocks" ]
}

@test "tool: describe --dot matches the golden files and renders with dot" {
    (cd "$WORK/hello" && "$MIRAGE" configure -t unix >/dev/null)
    run bash -c "cd '$WORK/hello' && '$MIRAGE' describe --dot"
    [ "$status" -eq 0 ]
    diff -u tests/e2e/golden/hello.dot <(echo "$output")
    (cd "$WORK/disk" && "$MIRAGE" configure -t hvt --with-net >/dev/null)
    run bash -c "cd '$WORK/disk' && '$MIRAGE' describe --dot"
    diff -u tests/e2e/golden/disk-with-net.dot <(echo "$output")
    command -v dot >/dev/null || { echo "graphviz (dot) is missing: make deps" >&2; return 1; }
    (cd "$WORK/disk" && "$MIRAGE" describe --dot) | dot -Tsvg >"$WORK/graph.svg"
    grep -q '<svg' "$WORK/graph.svg"
}

@test "tool: query, describe, help, --version, clean" {
    (cd "$WORK/disk" && "$MIRAGE" configure -t spt --with-net >/dev/null)
    cd "$WORK/disk"
    run "$MIRAGE" query name
    [ "$output" = "disk" ]
    run "$MIRAGE" query manifest
    [ "${lines[0]}" = "block storage" ]
    [ "${lines[1]}" = "net service" ]
    run "$MIRAGE" query libraries
    [ "${lines[0]}" = "$ROOT/build/spt/libmirage.a" ]
    run "$MIRAGE" query files
    [ "${lines[1]}" = "_build/main.c" ]
    run "$MIRAGE" query Makefile
    [ "${lines[0]}" = "# mirage: name=disk target=spt build=_build" ]
    run "$MIRAGE" query nonsense
    [ "$status" -eq 1 ]
    [[ "$output" == *"query: unknown 'nonsense'"* ]]
    run "$MIRAGE" describe
    [[ "$output" == *"d1  default_network()"*"manifest 'service'"* ]]
    [[ "$output" == *"--greeting=string (default disk says)"* ]]
    run "$MIRAGE" help configure
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: mirage configure"* ]]
    run "$MIRAGE" --version
    [[ "$output" == "mirage "* ]]
    run "$MIRAGE" clean
    [ "$status" -eq 0 ]
    [ ! -e Makefile ] && [ ! -e _build ] && [ ! -e dist ]
    [ -f config.c ] && [ -f disk.c ]
}

@test "tool: a changed config.c is configured again by build, with the same arguments" {
    cd "$WORK/disk"
    "$MIRAGE" configure -t unix --with-net >/dev/null
    "$MIRAGE" build >/dev/null
    sleep 0.01
    sed -i 's/what to print first/the first word/' config.c
    run "$MIRAGE" build
    [ "$status" -eq 0 ]
    [[ "$output" == *"config.c changed: configuring again"* ]]
    run "$MIRAGE" describe
    [[ "$output" == *"the first word"* ]]
    [[ "$output" == *"--with-net = true"* ]]
}

@test "tool: errors name the problem and the fix" {
    cd "$WORK"
    run "$MIRAGE" configure -t unix
    [ "$status" -eq 1 ]
    [[ "$output" == "mirage: no config.c here: write one"* ]]
    cd "$WORK/hello"
    run "$MIRAGE" build
    [ "$status" -eq 1 ]
    [[ "$output" == "mirage: not configured: run 'mirage configure -t unix, spt, hvt or virtio' first" ]]
    run "$MIRAGE" configure -t xen
    [ "$status" -eq 1 ]
    [ "$output" = "mirage: target 'xen' is not supported yet: use unix, spt, hvt or virtio" ]
    run "$MIRAGE" configure -t vax
    [ "$output" = "mirage: unknown target 'vax': use unix, spt, hvt or virtio" ]
    run "$MIRAGE" configure -x
    [[ "$output" == "mirage: unknown option '-x' for 'configure'"* ]]
    run "$MIRAGE" configure --nope=1
    [ "$status" -eq 1 ]
    [ "$output" = "mirage configure: unknown option --nope (config.c declares no configure keys)" ]
    run "$MIRAGE" frobnicate
    [[ "$output" == "mirage: unknown command 'frobnicate'"* ]]
    "$MIRAGE" configure -t unix >/dev/null
    run "$MIRAGE" build -t hvt
    [ "$status" -eq 1 ]
    [ "$output" = "mirage: configured for unix, not hvt: run 'mirage configure -t hvt' first" ]
    run "$MIRAGE" configure -o ../elsewhere
    [[ "$output" == "mirage: -o ../elsewhere: the build directory must be a relative path"* ]]
}

@test "tool: config.c errors: the compiler's own message, or one checked line with config.c's line" {
    cd "$WORK/hello"
    printf '#include <mirage/config.h>\nvoid mirage_config(void) { oops }\n' >config.c
    run "$MIRAGE" configure
    [ "$status" -eq 1 ]
    [[ "$output" == *"config.c:2:"*"error:"*"oops"* ]]
    [[ "$output" == *"mirage: config.c does not compile (the compiler's messages are above)"* ]]
    cat >config.c <<'C'
#include <mirage/config.h>
void mirage_config(void)
{
    struct mirage_dev *disk = block("disk");
    register_unikernel("hello", job("start", NETWORK), disk);
}
C
    run "$MIRAGE" configure
    [ "$status" -eq 1 ]
    [ "$output" = 'config.c:5: job("start"): device 1: expected network, given block("disk"), a block (config.c:4)' ]
    [ ! -e Makefile ]
    cat >config.c <<'C'
#include <mirage/config.h>
void mirage_config(void)
{
    register_unikernel("hello", job("start", STACKV4V6), generic_stackv4v6(default_network()));
}
C
    run "$MIRAGE" configure -t hvt --net=socket
    [ "$status" -eq 1 ]
    [ "$output" = 'config.c:4: --net=socket: hvt has no host sockets; it is always direct' ]
}

@test "tool: configure refuses what a boot would refuse: --ipv4 forms and key defaults, by name" {
    cd "$WORK/hello"
    cat >config.c <<'C'
#include <mirage/config.h>
void mirage_config(void)
{
    register_unikernel("hello", job("start", STACKV4V6), generic_stackv4v6(default_network()));
}
C
    # Each of these used to configure, then fail every boot of the image.
    for bad in 10.0.0.2 010.0.0.2/24 10.0.0.2/33 10.0.0.2/24x 10.0.0.2/024 "" 10.0.0/24; do
        run "$MIRAGE" configure -t spt "--ipv4=$bad"
        [ "$status" -eq 1 ]
        [[ "$output" == "config.c:4: --ipv4=$bad: "*"(expected A.B.C.D/PREFIX)" ]]
        [ ! -e Makefile ]
    done
    run "$MIRAGE" configure -t spt --ipv4=10.0.0.2
    [ "$output" = "config.c:4: --ipv4=10.0.0.2: '10.0.0.2' has no /LENGTH prefix length (expected A.B.C.D/PREFIX)" ]
    run "$MIRAGE" configure -t spt --ipv4-gateway=10.0.0.01
    [ "$status" -eq 1 ]
    [[ "$output" == "config.c:4: --ipv4-gateway=10.0.0.01: '10.0.0.01' is not an IPv4 address (a number has a leading zero)"* ]]
    # What configure accepts boots with the address it was given.
    "$MIRAGE" configure -t unix --net=direct --ipv4=10.0.0.2/24 >/dev/null
    grep -q 'mirage_key_ipv4.def = "10.0.0.2/24";' _build/main.c
    rm -rf Makefile _build

    cat >config.c <<'C'
#include <mirage/config.h>
void mirage_config(void)
{
    runtime_key_int("max-keys", "How many keys.", "0", 1, 100000);
    runtime_key("verbose", "bool", "Talk more.", "maybe");
    runtime_key("peer", "mac", "The peer.", "02:00:00:00:00:1");
    register_unikernel("hello", job("start"));
}
C
    run "$MIRAGE" configure -t spt
    [ "$status" -eq 1 ]
    [[ "$output" == *"config.c:4: runtime key --max-keys: the default is not a valid int: '0' is out of range 1..100000"* ]]
    [[ "$output" == *"config.c:5: runtime key --verbose: the default is not a valid bool: 'maybe' is not true or false"* ]]
    [[ "$output" == *"config.c:6: runtime key --peer: the default is not a valid mac: '02:00:00:00:00:1' is not a MAC address"* ]]
    [ ! -e Makefile ]
}

@test "tool: the compiler checks the application's start against config.c's job" {
    cd "$WORK/hello"
    sed -i 's/job("start")/job("start", BLOCK)/; s/register_unikernel("hello", main_job)/register_unikernel("hello", main_job, block("disk"))/' config.c
    run "$MIRAGE" configure
    [ "$status" -eq 0 ]
    run "$MIRAGE" build
    [ "$status" -eq 1 ]
    [[ "$output" == *"hello.c"*"conflicting types for"*"start"* ]]
    [[ "$output" == *"mirage: building dist/hello failed"* ]]
}

@test "tool: default_random() is a device start() gets; a second one is refused" {
    cp -r examples/random "$WORK/random"
    cd "$WORK/random"
    run "$MIRAGE" configure -t spt
    [ "$status" -eq 0 ]
    grep -q '^    dev0 = mirage_random_default();$' _build/main.c
    grep -q '^    return start(dev0);$' _build/main.c
    grep -q '^int start(struct mirage_random \*);$' _build/start.h
    run "$MIRAGE" describe
    [ "$status" -eq 0 ]
    [[ "$output" == *"job        job(\"start\") takes (random)  config.c:6"* ]]
    [[ "$output" == *"  d0  default_random()         random     the runtime's Fortuna  config.c:6"* ]]
    run "$MIRAGE" describe --dot
    diff -u "$ROOT/tests/e2e/golden/random.dot" <(echo "$output")
    run "$MIRAGE" query manifest
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    cat >config.c <<'C'
#include <mirage/config.h>
void mirage_config(void)
{
    struct mirage_dev *a = default_random();
    struct mirage_dev *b = default_random();
    register_unikernel("random", job("start", RANDOM, RANDOM), a, b);
}
C
    run "$MIRAGE" configure -t unix
    [ "$status" -eq 1 ]
    [ "$output" = 'config.c:5: default_random(): a second random generator (the first is at config.c:4): a unikernel has one' ]
}

@test "tool: --dry-run writes nothing" {
    cd "$WORK/hello"
    run "$MIRAGE" configure --dry-run
    [ "$status" -eq 0 ]
    [[ "$output" == *"would write _build/main.c"* ]]
    [[ "$output" == *"would write Makefile"* ]]
    [ ! -e Makefile ] && [ ! -e _build ]
}

# The depend step is run for real; apt-get is a stub on PATH that records its arguments and
# asks the real apt-get for a simulation (-s), so the test installs nothing on this machine.
@test "tool: depend: installed packages need nothing, a missing one goes to apt-get, --no-depext skips it" {
    local missing=sl
    if dpkg -s "$missing" >/dev/null 2>&1; then
        echo "$missing is installed here: the test needs a Debian package that is not" >&2
        return 1
    fi
    mkdir "$WORK/bin"
    cat >"$WORK/bin/apt-get" <<STUB
#!/bin/sh
echo "\$*" >>"$WORK/apt-get.calls"
exec /usr/bin/apt-get -s "\$@"
STUB
    chmod +x "$WORK/bin/apt-get"
    cd "$WORK/hello"
    sed -i 's/    job_argv(main_job);/&\n    job_library(main_job, "bearssl", "libbearssl-dev");/' config.c
    "$MIRAGE" configure -t unix >/dev/null
    run "$MIRAGE" query packages
    [ "$output" = "libbearssl-dev $(dpkg-query -W -f '${Version}' libbearssl-dev)" ]
    grep -q '^all: depend $(OUT) ' Makefile
    run env PATH="$WORK/bin:$PATH" "$MIRAGE" build
    [ "$status" -eq 0 ]
    [[ "$output" == *"built dist/hello"* ]]
    [[ "$output" != *"installing"* ]]
    [ ! -e "$WORK/apt-get.calls" ]
    # A package that is not installed: build asks apt-get to install it, and only it.
    sed -i "s/    job_argv(main_job);/&\n    job_library(main_job, \"m\", \"$missing\");/" config.c
    "$MIRAGE" configure -t unix >/dev/null
    run "$MIRAGE" query packages
    [[ "$output" == *"$missing (not installed)"* ]]
    run env PATH="$WORK/bin:$PATH" "$MIRAGE" build
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"mirage: installing $missing"* ]]
    [[ "$output" == *"Inst $missing "* ]]
    [ "$(cat "$WORK/apt-get.calls")" = "install -y -q $missing" ]
    ! dpkg -s "$missing" >/dev/null 2>&1
    # --no-depext: the step is left out of the build.
    rm "$WORK/apt-get.calls"
    "$MIRAGE" configure -t unix --no-depext >/dev/null
    grep -q '^all: $(OUT) compile_commands.json' Makefile
    rm -rf dist
    run env PATH="$WORK/bin:$PATH" "$MIRAGE" build
    [ "$status" -eq 0 ]
    [[ "$output" == *"built dist/hello"* ]]
    [ ! -e "$WORK/apt-get.calls" ]
    # make depend still works by hand.
    run env PATH="$WORK/bin:$PATH" make depend
    [ "$status" -eq 0 ]
    [ "$(cat "$WORK/apt-get.calls")" = "install -y -q $missing" ]
}

# README's "Writing a unikernel with mirage", step by step, on unix and spt.
@test "tool: the README walkthrough: copy hello-key, change config.c and unikernel.c, build" {
    cp -r examples/hello-key "$WORK/myuk"
    rm -rf "$WORK/myuk/Makefile" "$WORK/myuk/_build" "$WORK/myuk/dist"
    cd "$WORK/myuk"
    mv hello_key.c unikernel.c
    cat >config.c <<'C'
#include <mirage/config.h>

void mirage_config(void)
{
    runtime_key("hello", "string", "How to say hello.", "Hello World!");
    runtime_key_int("times", "How many times.", "2", 1, 10);   /* --times=N, 1..10 */
    register_unikernel("myuk", job("start"));
}
C
    sed -i 's/i < 4/i < key_times.v.num/' unikernel.c
    run build_in . unix
    [ "$status" -eq 0 ]
    run ./dist/myuk -- --hello=Hi --times=3
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    [[ "${lines[2]}" == *"[application] Hi" ]]
    run ./dist/myuk -- --times=11
    [ "$status" -eq 64 ]
    [[ "$output" == *"'11' is out of range 1..10"* ]]
    run build_in . spt
    [ "$status" -eq 0 ]
    run "$ROOT/build/bin/mirage-spt" dist/myuk.spt --times=1
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == *"[application] Hello World!" ]]
}
