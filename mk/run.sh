#!/bin/bash
# run.sh: the main job: boots the static website (HTTP and HTTPS) on the best available target and prints the URLs to open.
# The site is examples/static_website/htdocs as a GNU tar image on the block device htdocs
# (build/site/htdocs.tar); its certificates, made at build time by a local CA (build/democert,
# mk/democert.sh), are the image on the block device tls (build/site/tls.tar): rewrite that
# file in place and the running site serves the new certificates within 5 s. It runs until Ctrl-C;
# the tap device it creates (mirage0, 10.0.0.1/24 and fd00::1/64 on the host) is removed on exit.
# The site answers on both families: 10.0.0.2 and fd00::2.
set -eu
cd "$(dirname "$0")/.."
B=build
TAP=${TAP:-mirage0} # TAP, HOST_IP, UK_IP, HOST_IP6 and UK_IP6 may be set in the environment
HOST_IP=${HOST_IP:-10.0.0.1}
UK_IP=${UK_IP:-10.0.0.2}
HOST_IP6=${HOST_IP6:-fd00::1}
UK_IP6=${UK_IP6:-fd00::2}
CA=$PWD/$B/democert/ca.pem
DISKS=("--block:htdocs=$PWD/$B/site/htdocs.tar" "--block:tls=$PWD/$B/site/tls.tar")

if [ -w /dev/kvm ]; then
    target=hvt
    cmd=("$B/bin/mirage-hvt" --mem=32 "--net:service=$TAP" "${DISKS[@]}" "$B/uk/static_website.hvt")
else
    echo "run: no /dev/kvm here, so the website runs on spt (the seccomp-sandboxed process)"
    target=spt
    cmd=("$B/bin/mirage-spt" "--net:service=$TAP" "${DISKS[@]}" "$B/uk/static_website.spt")
fi

created=
if ! ip link show "$TAP" >/dev/null 2>&1; then
    ip tuntap add dev "$TAP" mode tap
    ip addr add "$HOST_IP/24" dev "$TAP"
    # No duplicate address detection on the host side: it talks at once.
    ip -6 addr add "$HOST_IP6/64" dev "$TAP" nodad
    created=1
fi
ip link set "$TAP" up
cleanup() { [ -n "$created" ] && ip link del "$TAP" 2>/dev/null; true; }
trap cleanup EXIT INT TERM

cat <<MSG
run: booting the static website on $target (HTTP on port 80, HTTPS on 443):
       ${cmd[*]} --ipv4=$UK_IP/24 --ipv6=$UK_IP6/64 --tls=true
     open it from this host (host side: $TAP, $HOST_IP/24 and $HOST_IP6/64):
       curl http://$UK_IP/
       curl --cacert $CA https://$UK_IP/
       curl --cacert $CA --resolve mirage.test:443:$UK_IP https://mirage.test/
     over IPv6 (once the log says "IPv6 $UK_IP6/64 ready"):
       curl -6 'http://[$UK_IP6]/'
       curl -6 --cacert $CA --resolve 'mirage.test:443:[$UK_IP6]' https://mirage.test/
     in a browser: http://$UK_IP/, https://$UK_IP/ and http://[$UK_IP6]/ (trust $CA first, or
     accept the warning)
     every request is logged below; stop it with Ctrl-C.
MSG
"${cmd[@]}" "--ipv4=$UK_IP/24" "--ipv6=$UK_IP6/64" --tls=true
