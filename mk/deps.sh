#!/bin/sh
# deps.sh: installs the Debian packages the build, tests and benchmarks need, if any is missing.
set -eu
PKGS="build-essential clang libclang-rt-14-dev libseccomp-dev libbearssl-dev iproute2 iputils-ping
      socat netcat-openbsd dnsmasq-base tcpdump hyperfine bats python3 binutils iputils-arping graphviz
      strace openssl curl wget nginx-light wrk chromium sqlite3 libsqlite3-dev rsyslog
      dnsutils knot-dnsutils nsd dnsperf qemu-system-x86 time libvirt-clients radvd"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
    echo "deps: need root to install$missing (run as root or install them)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q $missing
