#!/bin/bash
# run.sh: the main job: boots the showcase unikernel on the best available target and says how to reach it.
# The showcase is stack-echo (TCP and UDP echo on our own TCP/IP stack) until the static
# website exists. It runs until Ctrl-C;
# the tap device it creates (mirage0, 10.0.0.1/24 on the host) is removed on exit.
set -eu
cd "$(dirname "$0")/.."
B=build
TAP=${TAP:-mirage0} # TAP, HOST_IP and UK_IP may be set in the environment
HOST_IP=${HOST_IP:-10.0.0.1}
UK_IP=${UK_IP:-10.0.0.2}

if [ -w /dev/kvm ]; then
    target=hvt
    cmd=("$B/bin/mirage-hvt" "--net:service=$TAP" "$B/uk/stack-echo.hvt")
else
    echo "run: no /dev/kvm here, so the showcase runs on spt (the seccomp-sandboxed process)"
    target=spt
    cmd=("$B/bin/mirage-spt" "--net:service=$TAP" "$B/uk/stack-echo.spt")
fi

created=
if ! ip link show "$TAP" >/dev/null 2>&1; then
    ip tuntap add dev "$TAP" mode tap
    ip addr add "$HOST_IP/24" dev "$TAP"
    created=1
fi
ip link set "$TAP" up
cleanup() { [ -n "$created" ] && ip link del "$TAP" 2>/dev/null; true; }
trap cleanup EXIT INT TERM

cat <<MSG
run: booting the stack-echo showcase (TCP and UDP echo on port 7) on $target:
       ${cmd[*]} --ipv4=$UK_IP/24
     reach it from this host (host side: $TAP, $HOST_IP/24):
       ping $UK_IP
       echo hello | socat - TCP:$UK_IP:7
       echo hello | socat - UDP:$UK_IP:7
     stop it with Ctrl-C.
MSG
"${cmd[@]}" "--ipv4=$UK_IP/24"
