#!/usr/bin/env bats
# syslog.bats: --syslog sends stack-echo's log lines to Debian's rsyslogd in the namespace, RFC 5424 over UDP and over TCP with octet counting, on unix, spt and hvt; the console takes them while the server is down.

load helpers

setup() {
    net_setup syslog 10.207
    netns_tap "$NS" tap0 "$NET.1/24"
    RS=$BATS_TEST_TMPDIR/rsyslog
    mkdir -p "$RS"
}

teardown() {
    net_teardown
}

# rsyslog_start: Debian's rsyslogd in the namespace, listening on NET.1:1514
# for UDP and TCP (octet-counted framing is on by default in imtcp), writing
# each message's RFC 5424 fields, '|'-separated, one line each, to $RS/out.
rsyslog_start() {
    command -v rsyslogd >/dev/null || { echo "rsyslogd is missing: make deps" >&2; return 1; }
    cat >"$RS/conf" <<EOF
global(workDirectory="$RS")
module(load="imudp")
module(load="imtcp")
input(type="imudp" port="1514" address="$NET.1")
input(type="imtcp" port="1514" address="$NET.1")
template(name="fields" type="string"
         string="%protocol-version%|%pri%|%timereported:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\n")
*.* action(type="omfile" file="$RS/out" template="fields")
EOF
    rm -f "$RS/pid"
    bg_spawn "$NS" "$RS/log" rsyslogd -n -f "$RS/conf" -i "$RS/pid"
    RS_PID=$BG_PID
    wait_for 5 tcp_listening 1514 || { cat "$RS/log" >&2; return 1; }
}

# syslog_wait REGEX SECONDS: waits until rsyslogd wrote a line matching REGEX.
syslog_wait() {
    peer_wait "$RS/out" "$@"
}

# echo_boot TARGET ARGS...: stack-echo on TARGET at NET.2, exiting after one connection.
echo_boot() {
    local target=$1
    shift
    require_target "$target" stack-echo
    case $target in
    unix) TENDER_OPTS=(--net:tap0=tap0) ;;
    *) TENDER_OPTS=(--net:service=tap0) ;;
    esac
    uk_start "$NS" "$LOG" "$target" stack-echo "--ipv4=$NET.2/24" --connections=1 "$@"
}

# One connection, then the exit: its lines reach rsyslogd, none the console.
syslog_run() {
    local target=$1 transport=$2 now
    rsyslog_start
    echo_boot "$target" "--syslog=$NET.1:1514" --syslog-hostname=echo-box \
        "--syslog-transport=$transport"
    syslog_wait "echo on TCP and UDP $NET.2:7" 20
    run in_ns timeout 10 socat -t 5 - "TCP:$NET.2:7" <<<"hello"
    [ "$output" = hello ]
    uk_wait_exit 20
    [ "$UK_STATUS" -eq 0 ]
    syslog_wait "served 1 connections: bye" 10
    cat "$RS/out"
    # Every field as RFC 5424 has it, read back by rsyslog's own parser:
    # version 1, daemon.notice (29) for app lines, our hostname and name,
    # no PROCID or structured data, the source as MSGID, and a timestamp of now.
    now=$(date -u +%Y-%m-%dT%H)
    grep -Eq "^1\|29\|$now:[0-9]{2}:[0-9]{2}\.[0-9]{6}(\+00:00|Z)\|echo-box\|stack-echo\|-\|application\|-\|echo on TCP and UDP $NET.2:7, at most [0-9]+ connections$" "$RS/out"
    grep -Eq "^1\|29\|.*\|application\|-\|tcp $NET.1:[0-9]+ connected$" "$RS/out"
    grep -Eq "^1\|29\|.*\|application\|-\|tcp $NET.1:[0-9]+ closed after 6 bytes$" "$RS/out"
    grep -Eq "^1\|29\|.*\|application\|-\|served 1 connections: bye$" "$RS/out"
    # Nothing rsyslogd could not parse as RFC 5424 (it would show as version 0 or '-').
    run grep -Ecv "^1\|" "$RS/out"
    [ "$output" -eq 0 ]
    # The console no longer gets what syslog got.
    cat "$LOG"
    ! grep -q "served 1 connections" "$LOG"
    ! grep -q "connected" "$LOG"
}

@test "syslog: UDP to rsyslogd on unix" { syslog_run unix udp; }
@test "syslog: UDP to rsyslogd on spt" { syslog_run spt udp; }
@test "syslog: UDP to rsyslogd on hvt" { syslog_run hvt udp; }
@test "syslog: TCP with octet counting to rsyslogd on unix" { syslog_run unix tcp; }
@test "syslog: TCP with octet counting to rsyslogd on spt" { syslog_run spt tcp; }
@test "syslog: TCP with octet counting to rsyslogd on hvt" { syslog_run hvt tcp; }

# No server at first: the lines and a warning go to the console and the
# unikernel serves on; once rsyslogd listens, the retry (1 s, doubling) finds it.
fallback_run() {
    local target=$1
    echo_boot "$target" "--syslog=$NET.1:1514" --syslog-transport=tcp
    uk_wait_line "$LOG" "\[syslog\] cannot reach $NET.1:1514 over TCP: .*; log lines go to the console" 20
    uk_wait_line "$LOG" "echo on TCP and UDP $NET.2:7" 20
    run in_ns timeout 5 socat -T 3 - "UDP:$NET.2:7" <<<"served while down"
    [ "$output" = "served while down" ]
    rsyslog_start
    syslog_wait "\|syslog\|-\|reached $NET.1:1514 over TCP again$" 30
    run in_ns timeout 10 socat -t 5 - "TCP:$NET.2:7" <<<"hello"
    [ "$output" = hello ]
    uk_wait_exit 20
    syslog_wait "served 1 connections: bye" 10
    ! grep -q "served 1 connections" "$LOG"
}

@test "syslog: the console while the server is down, then the server (unix)" { fallback_run unix; }
@test "syslog: the console while the server is down, then the server (spt)" { fallback_run spt; }
@test "syslog: the console while the server is down, then the server (hvt)" { fallback_run hvt; }

@test "syslog: bad keys are refused by name" {
    require_target unix stack-echo
    run in_ns "$UK/stack-echo" --net:tap0=tap0 -- --syslog=loghost
    echo "$output"
    [ "$status" -eq 64 ]
    [[ "$output" == *"syslog server 'loghost'"*"IPV4[:PORT] expected"* ]]
    run in_ns "$UK/stack-echo" --net:tap0=tap0 -- --syslog=10.0.0.1:99999
    [ "$status" -eq 64 ]
    [[ "$output" == *"syslog server '10.0.0.1:99999': '10.0.0.1:99999' has no port after its ':'"* ]]
    run in_ns "$UK/stack-echo" --net:tap0=tap0 -- --syslog=10.0.0.1 --syslog-transport=sctp
    [ "$status" -eq 64 ]
    [[ "$output" == *"--syslog-transport: 'sctp' is neither udp nor tcp"* ]]
    # (the boot line is split as MirageOS does: quotes keep the space)
    run in_ns "$UK/stack-echo" --net:tap0=tap0 -- --syslog=10.0.0.1 '--syslog-hostname="two words"'
    [ "$status" -eq 64 ]
    [[ "$output" == *"'two words' is not a syslog HOSTNAME"* ]]
    run in_ns "$UK/stack-echo" --net:tap0=tap0 -- --syslog=10.0.0.1 '--syslog-hostname=caf€'
    [ "$status" -eq 64 ]
    [[ "$output" == *"'caf€' is not a syslog HOSTNAME"* ]]
    run in_ns "$UK/stack-echo" --net:tap0=tap0 -- --help
    [[ "$output" == *"LOGGING OPTIONS"*"--syslog="* ]]
}
