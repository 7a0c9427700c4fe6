#!/usr/bin/env bats
# virtio.bats: NAME.virtio booted by QEMU (-kernel; KVM when /dev/kvm runs a ring-0 guest, else TCG):
# arguments, exit statuses through isa-debug-exit, faults, the PVH entry, HLT idle, memory;
# virtio-net (modern, legacy, two NICs) under the direct stack over taps in a namespace;
# virtio-blk (modern, legacy, 4096-byte sectors, read-only) against the host file; the tool and
# its libvirt domain; the static website on one NIC and two disks.

load helpers
load tenders

# QEMU's exit code is (status << 1) | 1 with isa-debug-exit: 0..127 come back
# as 1, 3, ..., 255; 128..255 alias them (254 a fault: 253, 255 abort: 255).
qemu_status() { echo $(((($1 << 1) | 1) & 255)); }

# vm NAME [QEMU OPTIONS...] -- ARGS: boots $UK/NAME.virtio under `run`, 32 MiB,
# bounded to 60 s; ARGS become the command line.
vm() {
    local name=$1 opts=() args=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    args=("$@")
    [ -f "$UK/$name.virtio" ] || { echo "missing $UK/$name.virtio: run make" >&2; return 1; }
    run timeout 60 qemu-system-x86_64 -accel "$QEMU_ACCEL" -m 32 -nodefaults -no-reboot -display none \
        -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 "${opts[@]}" \
        -kernel "$UK/$name.virtio" -append "${args[*]}"
}

setup() { net_setup virtio 10.215; }
teardown() { net_teardown; }

setup_file() {
    command -v qemu-system-x86_64 >/dev/null ||
        { echo "qemu-system-x86_64 missing: make deps installs qemu-system-x86" >&2; return 1; }
    # KVM when /dev/kvm runs a normal ring-0 guest: hello boots and exits 0
    # in milliseconds there. This host's nested PVM emulates ring-0 code and
    # stops at its first SSE instruction ("KVM internal error"): TCG then.
    # (isa-debug-exit makes hello's exit 0 QEMU's status 1.)
    local probe=none
    export QEMU_ACCEL=tcg
    if [ -c /dev/kvm ]; then
        probe=0
        timeout 5 qemu-system-x86_64 -accel kvm -m 32 -nodefaults -no-reboot \
            -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
            -kernel "$UK/hello.virtio" -append probe >/dev/null 2>&1 </dev/null || probe=$?
        if [ "$probe" -eq 1 ]; then export QEMU_ACCEL=kvm; fi
    fi
    echo "# virtio.bats: QEMU runs with -accel $QEMU_ACCEL" \
        "$([ "$probe" = none ] && echo "(no /dev/kvm on this machine)")" \
        "$([ "$probe" != none ] && [ "$QEMU_ACCEL" = tcg ] && echo "(/dev/kvm does not run a ring-0 guest here)")" >&3
}

@test "virtio: hello prints its arguments as on unix" {
    vm hello -- a 'b\ c' '"d e"' '""' "it's"
    echo "$output"
    [ "$status" -eq "$(qemu_status 0)" ]
    [ "${lines[0]}" = "hello from hello" ]
    local vm_out=$output
    run "$UK/hello" a 'b\ c' '"d e"' '""' "it's"
    [ "$output" = "$vm_out" ]
}

@test "virtio: exit statuses reach QEMU's exit code" {
    for s in 0 1 7 42 100 127; do
        vm hello -- --exit=$s
        [ "$status" -eq "$(qemu_status $s)" ]
        vm fault -- exit $s
        [ "$status" -eq "$(qemu_status $s)" ]
    done
    vm hello -- 'x\'
    echo "$output"
    [ "$status" -eq "$(qemu_status 64)" ]
    [[ "$output" == *"hello: bad boot arguments: trailing backslash"* ]]
}

@test "virtio: abort and faults are reported on the console with distinct statuses" {
    vm hello -- --abort
    [ "$status" -eq "$(qemu_status 255)" ]
    [[ "$output" == *"abort() called"* ]]
    vm fault -- null-write
    echo "$output"
    [ "$status" -eq "$(qemu_status 254)" ]
    [[ "$output" =~ virtio:\ guest\ fault:\ \#PF\ \(page\ fault\)\ writing\ 0x8\ at\ rip\ 0x[0-9a-f]+:\ page\ not\ present ]]
    vm fault -- text-write
    [ "$status" -eq "$(qemu_status 254)" ]
    [[ "$output" =~ \#PF\ \(page\ fault\)\ writing\ 0x[0-9a-f]+\ at\ rip\ 0x[0-9a-f]+:\ protection\ violation ]]
    vm fault -- rodata-write
    [[ "$output" =~ \#PF\ \(page\ fault\)\ writing\ .*protection\ violation ]]
    vm fault -- exec-data
    [ "$status" -eq "$(qemu_status 254)" ]
    local re='#PF \(page fault\) executing 0x([0-9a-f]+) at rip 0x\1: protection violation'
    [[ "$output" =~ $re ]]
    vm fault -- exec-heap
    [[ "$output" =~ \#PF\ \(page\ fault\)\ executing\ .*protection\ violation ]]
    vm fault -- ud2
    [ "$status" -eq "$(qemu_status 254)" ]
    [[ "$output" == *"virtio: guest fault: #UD (invalid opcode) at rip 0x"* ]]
    vm fault -- stack-smash
    [ "$status" -eq "$(qemu_status 255)" ]
    [[ "$output" == *"stack smashing detected"* ]]
}

@test "virtio: stack overflows name the fiber or the boot stack" {
    vm fault -- fiber-overflow
    echo "$output"
    [ "$status" -eq "$(qemu_status 254)" ]
    [[ "$output" =~ virtio:\ guest\ fault:\ stack\ overflow\ of\ fiber\ \'deep-diver\'\ \(guard\ page\ at\ 0x[0-9a-f]+ ]]
    vm fault -- fiber-overflow-reused
    [[ "$output" == *"stack overflow of fiber 'second-diver'"* ]]
    vm fault -- stack-overflow
    echo "$output"
    [ "$status" -eq "$(qemu_status 254)" ]
    [[ "$output" == *"virtio: guest fault: stack overflow of the boot stack"* ]]
}

@test "virtio: the PVH entry boots the same image when there is no multiboot header" {
    local img=$BATS_TEST_TMPDIR/hello.virtio
    # QEMU prefers multiboot; with its magic blanked it takes the ELF note.
    python3 - "$UK/hello.virtio" "$img" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
i = d.find(bytes.fromhex("02b0ad1b"), 0, 8192)
assert i >= 0 and i % 4 == 0
d[i:i + 4] = bytes(4)
open(sys.argv[2], "wb").write(d)
PY
    readelf -nW "$img" | grep -q 'Xen.*0x00000012'
    run timeout 60 qemu-system-x86_64 -accel "$QEMU_ACCEL" -m 32 -nodefaults -no-reboot -display none \
        -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$img" -append "--exit=5 x y\ z"
    echo "$output"
    [ "$status" -eq "$(qemu_status 5)" ]
    [ "${lines[0]}" = "hello from unikernel" ]
    [ "${lines[1]}" = "arg 2: [x]" ]
    [ "${lines[2]}" = "arg 3: [y z]" ]
}

@test "virtio: sleeps are timed by the PIT and idle in HLT (little CPU)" {
    local t0 t1
    t0=$(date +%s%N)
    run /usr/bin/time -f 'cpu %U %S' timeout 60 qemu-system-x86_64 -accel "$QEMU_ACCEL" -m 32 -nodefaults \
        -no-reboot -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -kernel "$UK/hello-log.virtio"
    t1=$(date +%s%N)
    echo "$output"
    [ "$status" -eq "$(qemu_status 0)" ]
    [ "$(grep -c 'hello$' <<<"$output")" -eq 4 ]
    # Three 1 s sleeps: at least 3 s of the host's time, not much more.
    [ $(((t1 - t0) / 1000000)) -ge 3000 ]
    [ $(((t1 - t0) / 1000000)) -lt 8000 ]
    # QEMU's own CPU time stays well under the 3 s the guest slept.
    read -r user sys < <(sed -n 's/^cpu \([0-9.]*\) \([0-9.]*\)$/\1 \2/p' <<<"$output")
    echo "cpu user $user sys $sys"
    python3 -c "import sys; sys.exit(0 if $user + $sys < 1.5 else 1)"
    # The wall clock comes from the RTC: the clock example prints today's date.
    vm clock
    [[ "$output" == *"wall $(date -u +%Y-%m-%d)T"* ]]
}

@test "virtio: the heap is the memory above the image; too little is refused" {
    vm hello-key -m 64 -- -l memory:debug --hello=x
    echo "$output"
    [ "$status" -eq "$(qemu_status 0)" ]
    [[ "$output" =~ \[DEBUG\]\ \[memory\]\ boot:\ heap\ [0-9]+\ KiB\ in\ use\ of\ (6[0-3])[0-9]{3}\ KiB ]]
    vm fault -m 64 -- fibers
    [[ "$output" =~ \[ERROR\]\ \[memory\]\ no\ memory\ for\ the\ stack\ of\ fiber\ \'hog\'\ \(1024\ KiB\):\ heap\ [0-9]+\ KiB\ in\ use ]]
    vm hello -m 4
    echo "$output"
    [ "$status" -eq "$(qemu_status 254)" ]
    [[ "$output" == *"virtio: no memory map from the boot loader, or less than 4 MiB above the image"* ]]
}

@test "virtio: without isa-debug-exit the VM powers off and says the status" {
    run timeout 60 qemu-system-x86_64 -accel "$QEMU_ACCEL" -m 32 -nodefaults -no-reboot -display none \
        -serial stdio -kernel "$UK/hello.virtio" -append "--exit=3"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"virtio: exit status 3 (no isa-debug-exit device): powering off"* ]]
}

@test "virtio: images are laid out in the file as in memory up to _edata" {
    local f
    for f in "$UK"/*.virtio; do
        # Every section with file contents: offset = address - 1 MiB, and below _edata.
        python3 - "$f" <<'PY'
import subprocess, sys
f = sys.argv[1]
edata = int(next(l.split()[0] for l in subprocess.run(["nm", f], capture_output=True,
            text=True).stdout.splitlines() if l.endswith(" _edata")), 16)
for l in subprocess.run(["readelf", "-SW", f], capture_output=True, text=True).stdout.splitlines():
    p = l.replace("[ ", "[").split()
    if len(p) > 6 and p[2] in ("PROGBITS", "NOTE") and "A" in p[7]:
        addr, off, size = int(p[3], 16), int(p[4], 16), int(p[5], 16)
        assert off == addr - 0x100000, (f, p[1], hex(addr), hex(off))
        assert addr + size <= edata, (f, p[1], "beyond _edata")
PY
    done
}

# ---- virtio-net: the direct stack over a tap in a namespace of the test's own ----------------

# vm_start NAME NICS QEMU_OPTS... -- ARGS...: boots NAME.virtio in the background inside $NS
# with one virtio-net device per tap in NICS (space-separated); output in $LOG, UK_PID set.
vm_start() {
    local name=$1 nics=$2 opts=() i=0 t
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    for t in $nics; do
        opts+=(-netdev "tap,id=n$i,ifname=$t,script=no,downscript=no" -device "${NIC_MODEL:-virtio-net-pci},netdev=n$i")
        i=$((i + 1))
    done
    uk_spawn "$NS" "$LOG" timeout 120 qemu-system-x86_64 -accel "$QEMU_ACCEL" -cpu max -m 64 -nodefaults \
        -no-reboot -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
        "${opts[@]}" -kernel "$UK/$name.virtio" -append "$*"
}

# ping_checks: stack-echo or ping at $NET.2 answers five pings, the first after ARP.
ping_checks() {
    run in_ns ping -c 5 -i 0.2 -W 2 -w 30 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" = 5 ]
}

# tcp_echo_1m: a line over UDP and TCP, then 1 MiB over TCP, byte-exact by checksum.
tcp_echo_1m() {
    local blob=$BATS_TEST_TMPDIR/blob
    run in_ns timeout 10 socat -T 5 - "UDP:$NET.2:7" <<<"hello over udp"
    [ "$output" = "hello over udp" ]
    run in_ns timeout 20 socat -t 10 - "TCP:$NET.2:7" <<<"hello over tcp"
    [ "$output" = "hello over tcp" ]
    head -c 1048576 /dev/urandom >"$blob"
    run bash -c "ip netns exec '$NS' timeout 60 socat -t 20 - 'TCP:$NET.2:7' <'$blob' | sha256sum"
    echo "1 MiB over tcp: status $status sha256 '$output'"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha256sum <"$blob")" ]
}

@test "virtio-net (modern): stack-echo answers ping and echoes 1 MiB over TCP" {
    netns_tap "$NS" tap0 "$NET.1/24"
    vm_start stack-echo tap0 -- "--ipv4=$NET.2/24"
    uk_wait_line "$LOG" "listening|IPv4 $NET.2" 60
    ping_checks
    tcp_echo_1m
}

@test "virtio-net (modern only, disable-legacy=on): ping answers" {
    netns_tap "$NS" tap0 "$NET.1/24"
    NIC_MODEL="virtio-net-pci,disable-legacy=on" vm_start ping tap0 -- "--ipv4=$NET.2/24"
    uk_wait_line "$LOG" "service mac .* ipv4 " 60
    ping_checks
}

@test "virtio-net (legacy, disable-modern=on): stack-echo answers ping and echoes 1 MiB" {
    netns_tap "$NS" tap0 "$NET.1/24"
    NIC_MODEL="virtio-net-pci,disable-modern=on" vm_start stack-echo tap0 -- "--ipv4=$NET.2/24"
    uk_wait_line "$LOG" "listening|IPv4 $NET.2" 60
    ping_checks
    tcp_echo_1m
}

@test "virtio-net: two NICs in PCI order, both answer ping (ping2)" {
    netns_tap "$NS" tap0 "$NET.1/24"
    netns_tap "$NS" tap1 "10.216.$BATS_TEST_NUMBER.1/24"
    vm_start ping2 "tap0 tap1" -- "--ipv4=$NET.2/24" "--ipv4-2=10.216.$BATS_TEST_NUMBER.2/24"
    uk_wait_line "$LOG" "service2 mac .* ipv4 " 60
    cat "$LOG"
    ping_checks
    run in_ns ping -c 3 -i 0.2 -W 2 -w 30 "10.216.$BATS_TEST_NUMBER.2"
    echo "$output"
    [ "$(ping_received "$output")" = 3 ]
}

@test "virtio-net: a NIC the manifest declares but QEMU does not give is refused by name" {
    vm stack-echo -- "--ipv4=10.0.0.2/24"
    echo "$output"
    [[ "$output" == *"virtio: net device 'service' (virtio-net #0 in PCI order): no such device"* ]]
    [ "$status" -ne "$(qemu_status 0)" ]
}

# ---- virtio-blk: the block API on a disk image of the test's own ---------------------------

# disk_opts IMG [DRIVE_OPTS] [DEVICE_OPTS]: the QEMU options that attach IMG as a virtio-blk disk.
disk_opts() {
    DISK_OPTS=(-drive "file=$1,if=none,format=raw,id=d0${2:+,$2}" -device "virtio-blk-pci,drive=d0${3:+,$3}")
}

@test "virtio-blk (modern and legacy): blocktest's reads and writes land on the host file" {
    local disk=$BATS_TEST_TMPDIR/disk.img dev
    for dev in "" disable-modern=on; do
        make_disk "$disk" 4194304
        disk_opts "$disk" "" "$dev"
        vm blocktest "${DISK_OPTS[@]}"
        echo "$dev: $output"
        [ "$status" -eq "$(qemu_status 0)" ]
        [[ "$output" == *"capacity 4194304 block_size 512"* ]]
        [[ "$output" == *"checks passed"* ]]
        disk_has_guest_pattern "$disk"
    done
}

@test "virtio-blk: the block example with 512- and 4096-byte sectors, and a read-only disk" {
    local disk=$BATS_TEST_TMPDIR/disk.img ss
    for ss in 512 4096; do
        rm -f "$disk"
        truncate -s 1M "$disk"
        disk_opts "$disk" "" "logical_block_size=$ss,physical_block_size=$ss"
        vm block "${DISK_OPTS[@]}"
        echo "$output"
        [ "$status" -eq "$(qemu_status 0)" ]
        [ "${lines[0]}" = "block storage: $((1048576 / ss)) sectors of $ss bytes" ]
        [ "${lines[2]}" = "multi: sectors 8..39 ($((32 * ss)) bytes in one request): ok" ]
        [ "${lines[3]}" = "last: sectors $((1048576 / ss - 1))..$((1048576 / ss - 1)) ($ss bytes in one request): ok" ]
        [ "${lines[4]}" = "past the end: EINVAL" ]
        # The first sector, as the guest read it back, is on the host.
        [ -n "$(head -c "$ss" "$disk" | tr -d '\0')" ]
    done
    head -c 65536 /dev/zero >"$disk"
    disk_opts "$disk" readonly=on
    vm block "${DISK_OPTS[@]}"
    echo "$output"
    [ "$status" -eq "$(qemu_status 0)" ]
    [ "${lines[0]}" = "block storage: 128 sectors of 512 bytes, read-only" ]
    [ "${lines[1]}" = "write to a read-only disk: EROFS" ]
    cmp "$disk" <(head -c 65536 /dev/zero)
}

@test "virtio-blk: a disk the manifest declares but QEMU does not give is refused by name" {
    vm block
    echo "$output"
    [[ "$output" == *"virtio: block device 'storage' (virtio-blk #0 in PCI order): no such device"* ]]
    [ "$status" -ne "$(qemu_status 0)" ]
}

# ---- the tool: mirage configure -t virtio, build, query; the libvirt domain ------------------

# tool_copy EXAMPLE: a copy of examples/EXAMPLE in the test's directory; cd there.
tool_copy() {
    ROOT=${ROOT:-$PWD}
    mkdir -p "$BATS_TEST_TMPDIR/$1"
    cp "$ROOT"/examples/"$1"/*.c "$BATS_TEST_TMPDIR/$1/"
    cd "$BATS_TEST_TMPDIR/$1"
}

@test "virtio tool: configure -t virtio and build make dist/NAME.virtio and a libvirt domain that validates" {
    command -v virt-xml-validate >/dev/null ||
        { echo "virt-xml-validate missing: make deps installs libvirt-clients" >&2; return 1; }
    tool_copy stack-echo
    run "$ROOT/build/bin/mirage" configure -t virtio --net=direct --mem=48 \
        --net:service=bridge:br-mirage --virt=qemu --cmdline="--ipv4=10.0.0.2/24"
    echo "$output"
    [ "$status" -eq 0 ]
    run "$ROOT/build/bin/mirage" build
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"or:      virsh define dist/stack-echo.xml && virsh start stack-echo"* ]]
    [[ "$output" == *"qemu-system-x86_64 -accel "$QEMU_ACCEL" -m 48 "* ]] # configure's --mem, as in the domain
    [[ "$output" == *"-netdev tap,id=service,ifname=TAP,script=no,downscript=no -device virtio-net-pci,netdev=service"* ]]
    [ -f dist/stack-echo.virtio ]
    run virt-xml-validate dist/stack-echo.xml domain
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q "<memory unit='MiB'>48</memory>" dist/stack-echo.xml
    grep -q "<kernel>$PWD/dist/stack-echo.virtio</kernel>" dist/stack-echo.xml
    grep -q "<source bridge='br-mirage'/>" dist/stack-echo.xml
    grep -q "<cmdline>--ipv4=10.0.0.2/24</cmdline>" dist/stack-echo.xml
    grep -q "<domain type='qemu'" dist/stack-echo.xml
    run "$ROOT/build/bin/mirage" query files
    [[ "$output" == *"dist/stack-echo.xml"* ]]
    run "$ROOT/build/bin/mirage" query libvirt
    [[ "$output" == *"<name>stack-echo</name>"* ]]
    # virsh's own domain parser (its test driver, no daemon) defines it.
    run virsh -c test:///default "define dist/stack-echo.xml; dominfo stack-echo"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Domain 'stack-echo' defined from dist/stack-echo.xml"* ]]
    # The image the tool built boots (no NIC given: named, not a crash).
    run timeout 60 qemu-system-x86_64 -accel "$QEMU_ACCEL" -m 32 -nodefaults -no-reboot -display none \
        -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel dist/stack-echo.virtio \
        -append "--ipv4=10.0.0.2/24"
    echo "$output"
    [[ "$output" == *"virtio: net device 'service' (virtio-net #0 in PCI order): no such device"* ]]
}

@test "virtio tool: a disk and a tap in the domain; bad options are refused by name" {
    command -v virt-xml-validate >/dev/null || return 1
    tool_copy block
    run "$ROOT/build/bin/mirage" configure -t virtio --block:storage=disks/a.img --console=file:out.log
    [ "$status" -eq 0 ]
    run "$ROOT/build/bin/mirage" build
    [ "$status" -eq 0 ]
    run virt-xml-validate dist/block.xml domain
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q "<source file='$PWD/disks/a.img'/>" dist/block.xml
    grep -q "<target dev='vda' bus='virtio'/>" dist/block.xml
    grep -q "<source path='$PWD/out.log'/>" dist/block.xml
    grep -q "<domain type='kvm'" dist/block.xml
    run virsh -c test:///default "define dist/block.xml"
    [ "$status" -eq 0 ]
    run "$ROOT/build/bin/mirage" configure -t virtio --mem=4 --net:nope=bridge:x \
        --block:storage="a<b" --virt=xen --console=tty
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--mem=4: expected the guest's memory in MiB, 8..65536"* ]]
    [[ "$output" == *"--net:nope=bridge:x: the unikernel has no network device of that name"* ]]
    [[ "$output" == *"--block:storage=a<b: expected the disk image's path"* ]]
    [[ "$output" == *"--virt=xen: expected kvm or qemu (TCG)"* ]]
    [[ "$output" == *"--console=tty: expected pty or file:PATH"* ]]
    # Not virtio: the options are unknown there.
    run "$ROOT/build/bin/mirage" configure -t hvt --mem=64
    [ "$status" -ne 0 ]
    [[ "$output" == *"unknown option --mem"* ]]
    tool_copy stack-echo
    run "$ROOT/build/bin/mirage" configure -t virtio --net=direct --net:service=tap:tap-mirage0
    [ "$status" -eq 0 ]
    run "$ROOT/build/bin/mirage" build
    grep -q "<target dev='tap-mirage0' managed='no'/>" dist/stack-echo.xml
    run virt-xml-validate dist/stack-echo.xml domain
    [ "$status" -eq 0 ]
}

@test "virtio tool: under libvirtd, virsh define + start boot hello and its console shows the output" {
    if ! virsh -c qemu:///system version >/dev/null 2>&1; then
        echo "# skipped: no libvirtd answers on qemu:///system here (the domain XML is validated and defined by virsh's test driver above)" >&3
        skip "no libvirtd on qemu:///system"
    fi
    tool_copy hello
    "$ROOT/build/bin/mirage" configure -t virtio --virt=qemu --console=file:console.log \
        --cmdline="a b\\ c" >/dev/null
    "$ROOT/build/bin/mirage" build >/dev/null
    virsh -c qemu:///system undefine hello >/dev/null 2>&1 || true
    run virsh -c qemu:///system "define dist/hello.xml; start hello"
    echo "$output"
    [ "$status" -eq 0 ]
    for i in $(seq 1 100); do
        grep -q "arg 2: \[b c\]" console.log 2>/dev/null && break
        sleep 0.2
    done
    virsh -c qemu:///system destroy hello >/dev/null 2>&1 || true
    virsh -c qemu:///system undefine hello >/dev/null 2>&1 || true
    cat console.log
    grep -q "hello from hello" console.log
    grep -q "arg 2: \[b c\]" console.log
}

@test "virtio: the static website serves HTTP and HTTPS from two virtio-blk tar disks" {
    local ca=$PWD/build/democert/ca.pem
    [ -f build/site/htdocs.tar ] && [ -f build/site/tls.tar ] || { echo "missing build/site: run make" >&2; return 1; }
    netns_tap "$NS" tap0 "$NET.1/24"
    vm_start static_website tap0 -drive "file=build/site/htdocs.tar,if=none,format=raw,id=h,readonly=on" \
        -device virtio-blk-pci,drive=h -drive "file=build/site/tls.tar,if=none,format=raw,id=t,readonly=on" \
        -device virtio-blk-pci,drive=t -- "--ipv4=$NET.2/24" --tls=true
    uk_wait_line "$LOG" "serving https://" 90
    run in_ns curl -s --max-time 30 "http://$NET.2/"
    [ "$status" -eq 0 ]
    [ "$output" = "$(cat examples/static_website/htdocs/index.html)" ]
    run in_ns curl -s --max-time 30 --cacert "$ca" --resolve "mirage.test:443:$NET.2" \
        "https://mirage.test/"
    [ "$status" -eq 0 ]
    [ "$output" = "$(cat examples/static_website/htdocs/index.html)" ]
}
