#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end, the FreeRADIUS accounting session feed (integrations/
# freeradius): the real FreeRADIUS 3 in the lab's router with the exec
# module instance and virtual server shipped there, radclient on a BNG of
# its own sending Accounting-Requests as a BNG does, the real daemon. A
# Start holds the User-Name's IPv4 address, Framed-IPv6-Prefix and
# Delegated-IPv6-Prefix (its SYNs carry the User-Name), an Interim-Update
# extends it, a Stop ends it, a Start for a held address moves it, and
# a daemon that is gone costs the BNG no Accounting-Response.
#
#   bng 203.0.113.2 ── router 203.0.113.1:1813 (freeradius)
# shellcheck disable=SC2317 # the helpers run through check, wait_for, trap
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/portcullis-e2e-radius.XXXXXX)
. "$TOP/tests/lab.sh"
. "$TOP/tests/daemon.sh"

NS_BNG=pc-bng-$LAB_ID
BNG=203.0.113.2
RADIUS=203.0.113.1
SECRET=lab-secret-$LAB_ID
PD6=2001:db8:1:100::/56		# alice's delegated prefix
PD6_SRC=2001:db8:1:100::2	# a host inside it
RADIUS_PID=""

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$WORK/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$WORK/sanitizer"

pass=0
fail=0
cleanup() {
	# A reader gone (… | head) must not cut the cleanup short.
	trap '' PIPE
	[ -n "$RADIUS_PID" ] && kill "$RADIUS_PID" 2>/dev/null
	daemon_stop KILL
	ip netns pids "$NS_BNG" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$NS_BNG" 2>/dev/null
	lab_down
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

ok() { pass=$((pass + 1)); echo "  ok    $*"; }
no() { fail=$((fail + 1)); echo "  FAIL  $*"; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else no "$name"; fi
}
finish() {
	if ls "$WORK"/sanitizer.* >/dev/null 2>&1; then
		no "sanitizer reports:"
		cat "$WORK"/sanitizer.* | sed 's/^/    /'
	fi
	# The portcullis the server's script runs has none of our environment
	# (ASAN_OPTIONS included): its reports go to the server's output.
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/radius.out" 2>/dev/null; then
		no "sanitizer reports from the script's portcullis:"
		grep -E -A5 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/radius.out" | sed 's/^/    /'
	fi
	if [ "$fail" -gt 0 ]; then
		echo "e2e-radius: freeradius's log:"
		tail -n 30 "$WORK/radius.out" 2>/dev/null | sed 's/^/    /'
		echo "$(basename "$0" .sh): the block log's session and quarantine lines:"
		grep -E '"event":"(session|quarantine|release)"' "$WORK/blocks.jsonl" 2>/dev/null |
			tail -n 20 | sed 's/^/    /'
	fi
	echo "e2e-radius: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
bail() { no "$*"; finish; }

# wait_for SECONDS COMMAND...: until COMMAND succeeds, polled every 0.1 s.
wait_for() {
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# conn NAME SRC DST PORT EXPECT: one connect from the subscriber, judged.
conn() {
	local out
	out=$(lab_connect "$2" "$3" "$4" 0.9)
	if [ "${out% *}" = "$5" ]; then
		ok "$1: $2 → $3:$4 ${out% *} (${out#* } ms)"
	else
		no "$1: $2 → $3:$4 ${out% *} in ${out#* } ms, expected $5"
	fi
}

PC="$TOP/portcullis --control $WORK/control.sock"

# holder ADDR: the subscriber id whose session holds ADDR, from
# portcullis session list --json; nothing when none does.
holder() {
	$PC session list --json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if sys.argv[1] in s.get("addresses", []):
        print(s["subscriber"])' "$1"
}
# expires ID: the expiry of ID's session, UNIX seconds (0: none).
expires() {
	$PC session list --json 2>/dev/null | python3 -c '
import datetime, json, sys
for s in json.load(sys.stdin):
    if s["subscriber"] == sys.argv[1]:
        e = s.get("until")
        if not e:
            print(0)
        elif isinstance(e, (int, float)):
            print(int(e))
        else:
            print(int(datetime.datetime.fromisoformat(e.replace("Z", "+00:00")).timestamp()))' "$1"
}
held_by() { [ "$(holder "$1")" = "$2" ]; }
free() { [ -z "$(holder "$1")" ]; }
listed() { $PC session list --json 2>/dev/null | python3 -c '
import json, sys
sys.exit(0 if any(s["subscriber"] == sys.argv[1] for s in json.load(sys.stdin)) else 1)' "$1"; }
unlisted() { ! listed "$1"; }
# expires_in ID SECONDS: ID's session ends SECONDS from now (± 5).
expires_in() {
	local d=$(($(expires "$1") - $(date +%s)))
	[ "$d" -ge $(($2 - 5)) ] && [ "$d" -le $(($2 + 5)) ]
}
# blocked SRC ID PORT: the last block line of SRC to PORT carries
# subscriber ID (none when ID is empty).
blocked() {
	python3 - "$WORK/blocks.jsonl" "$@" <<'PY'
import json, sys
log, src, sub, port = sys.argv[1:]
last = None
for line in open(log):
    e = json.loads(line)
    if e["event"] == "block" and e["src"] == src and e["dport"] == int(port):
        last = e
sys.exit(0 if last and last.get("subscriber") == (sub or None) else 1)
PY
}

# event KEY=VALUE...: a block log line with each KEY at VALUE
# ("event=quarantine src=100.64.1.100 subscriber=...").
event() {
	python3 - "$WORK/blocks.jsonl" "$@" <<'PY'
import json, sys
want = dict(a.split("=", 1) for a in sys.argv[2:])
for line in open(sys.argv[1]):
    e = json.loads(line)
    if all(str(e.get(k)) == v for k, v in want.items()):
        sys.exit(0)
sys.exit(1)
PY
}

# acct NAME ATTRIBUTE...: one Accounting-Request from the BNG, as
# radclient sends it (one try, 2 s); judged on its Accounting-Response.
acct() {
	local name=$1 out
	shift
	out=$(printf '%s\n' "NAS-IP-Address = $BNG" "$@" |
		ip netns exec "$NS_BNG" radclient -r 1 -t 2 -x "$RADIUS:1813" acct "$SECRET" 2>&1)
	if grep -q "Received Accounting-Response" <<<"$out"; then
		ok "$name: Accounting-Response"
	else
		no "$name: no Accounting-Response:"
		printf '    %s\n' "$out"
	fi
}

[ "$(id -u)" -eq 0 ] || bail "e2e-radius: needs root for network namespaces"
for p in freeradius radclient; do
	command -v $p >/dev/null || bail "$p is not installed (sh tests/deps.sh installs it)"
done

# The script and module as installed, but for the two settings at the
# script's top (the portcullis built here, the test daemon's control
# socket) and the script's path in the module.
src="$TOP/integrations/freeradius/portcullis-radius-accounting"
if [ "$(grep -c '^PORTCULLIS=@BINDIR@/portcullis$' "$src")" != 1 ] ||
   [ "$(grep -c '^CONTROL=/run/portcullis/control.sock$' "$src")" != 1 ]; then
	bail "$src: the PORTCULLIS= and CONTROL= settings are not as expected"
fi
R=$WORK/raddb
mkdir -p "$R/mods-enabled" "$R/sites-enabled" "$WORK/run"
sed -e "s|^PORTCULLIS=@BINDIR@/portcullis$|PORTCULLIS=$TOP/portcullis|" \
    -e "s|^CONTROL=.*|CONTROL=$WORK/control.sock|" \
    -e "s|^SYSLOG=.*|SYSLOG=|" "$src" >"$WORK/portcullis-radius-accounting"
chmod 0755 "$WORK/portcullis-radius-accounting"
sed "s|@PKGLIBDIR@|$WORK|" "$TOP/integrations/freeradius/mods-available/portcullis" \
	>"$R/mods-enabled/portcullis"
cp "$TOP/integrations/freeradius/sites-available/portcullis" "$R/sites-enabled/portcullis"
# The rest of a radiusd.conf, as little as FreeRADIUS 3 takes: the paths
# in $WORK, the BNG as the one client, "ok" for the accounting section.
cat >"$R/radiusd.conf" <<EOF
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = \${exec_prefix}/sbin
logdir = $WORK/run
raddbdir = $R
radacctdir = \${logdir}/radacct
name = freeradius
confdir = \${raddbdir}
modconfdir = \${confdir}/mods-config
run_dir = $WORK/run
db_dir = \${raddbdir}
libdir = /usr/lib/freeradius
pidfile = \${run_dir}/\${name}.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
log {
	destination = stdout
	colourise = no
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 1
	status_server = no
}
client bng {
	ipaddr = $BNG
	secret = $SECRET
}
thread pool {
	start_servers = 2
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 2
	max_requests_per_server = 0
	auto_limit_acct = no
}
modules {
	always ok {
		rcode = ok
	}
	\$INCLUDE mods-enabled/
}
\$INCLUDE sites-enabled/
EOF
out=$(freeradius -C -d "$R" 2>&1) || bail "freeradius -C: the configuration does not load: $out"
ok "freeradius -C: the shipped module and virtual server load"

echo "e2e-radius: the lab, a BNG, freeradius"
lab_up || bail "could not build the lab"
ip netns add "$NS_BNG" || bail "could not add the BNG's namespace"
ip link add bng0 netns "$NS_BNG" type veth peer name rt-bng netns "$NS_RT"
ip -n "$NS_BNG" link set lo up
ip -n "$NS_BNG" link set bng0 up
ip -n "$NS_RT" link set rt-bng up
ip -n "$NS_BNG" addr add $BNG/24 dev bng0
ip -n "$NS_RT" addr add $RADIUS/24 dev rt-bng
# A host in alice's delegated prefix, behind her CPE.
ip -n "$NS_SUB" addr add $PD6_SRC/64 dev sub0 nodad
ip -n "$NS_RT" -6 route add $PD6 dev rt-sub

lab_policy "$TOP/examples/policy.yaml" "$WORK/policy.yaml"
daemon_start "$WORK/policy.yaml" || bail "daemon start"

# -x: the exec'd script's stderr reaches freeradius's (it is /dev/null
# without); -f: in the foreground, threads as in production.
ip netns exec "$NS_RT" freeradius -f -x -l stdout -d "$R" >"$WORK/radius.out" 2>&1 &
RADIUS_PID=$!
wait_for 10 grep -q "Ready to process requests" "$WORK/radius.out" ||
	bail "freeradius did not start"

echo "e2e-radius: Start"
acct "alice Start" 'Acct-Status-Type = Start' 'User-Name = "alice"' \
	'Acct-Session-Id = "bng-0001"' "Framed-IP-Address = $LAB_RES4" \
	'Framed-IPv6-Prefix = 2001:db8:1::/64' "Delegated-IPv6-Prefix = $PD6" \
	'Acct-Interim-Interval = 300'
check "session list: $LAB_RES4 held by alice" held_by $LAB_RES4 alice
check "session list: her Framed-IPv6-Prefix" held_by 2001:db8:1::/64 alice
check "session list: her Delegated-IPv6-Prefix" held_by $PD6 alice
check "her session lasts three interim intervals (900 s)" expires_in alice 900
conn "alice's 25 is reset" $LAB_RES4 $LAB_DST4 25 refused
conn "alice's 587 connects" $LAB_RES4 $LAB_DST4 587 connected
conn "alice's IPv6 25 is reset" $LAB_RES6 $LAB_DST6 25 refused
conn "her delegated prefix's 25 is reset" $PD6_SRC $LAB_DST6 25 refused
sleep 0.2	# the block log's writer runs on its own thread
check "block log: alice's SYN to 25 carries her User-Name" blocked $LAB_RES4 alice 25
check "block log: so does her IPv6 SYN (Framed-IPv6-Prefix)" blocked $LAB_RES6 alice 25
check "block log: and her LAN's (Delegated-IPv6-Prefix)" blocked $PD6_SRC alice 25
check "block log: a session line for alice, source radius" event \
	event=session subscriber=alice src=$LAB_RES4 state=start source=radius

echo "e2e-radius: Interim-Update"
acct "alice Interim-Update" 'Acct-Status-Type = Interim-Update' 'User-Name = "alice"' \
	'Acct-Session-Id = "bng-0001"' "Framed-IP-Address = $LAB_RES4" \
	'Framed-IPv6-Prefix = 2001:db8:1::/64' "Delegated-IPv6-Prefix = $PD6" \
	'Acct-Interim-Interval = 600' 'Acct-Session-Time = 300'
check "the update extends her session (1800 s)" expires_in alice 1800
check "and she still holds $LAB_RES4" held_by $LAB_RES4 alice

echo "e2e-radius: a quoted User-Name that starts with '-', no interim interval, no IPv6"
BOB='-Bob "B" O'"'"'Neil\x'
acct "Bob Start" 'Acct-Status-Type = Start' 'User-Name = "-Bob \"B\" O'"'"'Neil\\x"' \
	'Acct-Session-Id = "bng-0002"' "Framed-IP-Address = $LAB_SPAM4"
check "session list: $LAB_SPAM4 held by $BOB, as sent" held_by $LAB_SPAM4 "$BOB"
check "his session lasts the default 3600 s" expires_in "$BOB" 3600
conn "Bob's 25 is reset" $LAB_SPAM4 $LAB_DST4 25 refused
sleep 0.2
check "block log: Bob's SYN carries his User-Name" blocked $LAB_SPAM4 "$BOB" 25

echo "e2e-radius: Stop"
acct "alice Stop" 'Acct-Status-Type = Stop' 'User-Name = "alice"' \
	'Acct-Session-Id = "bng-0001"' "Framed-IP-Address = $LAB_RES4" \
	'Acct-Session-Time = 600' 'Acct-Terminate-Cause = User-Request'
check "session list: alice is gone" unlisted alice
check "session list: $LAB_RES4 is free" free $LAB_RES4
check "session list: so is her delegated prefix" free $PD6
conn "$LAB_RES4's 25 is still reset" $LAB_RES4 $LAB_DST4 25 refused
sleep 0.2
check "block log: without a subscriber now" blocked $LAB_RES4 "" 25
check "block log: a session line for alice's stop" event \
	event=session subscriber=alice src=$LAB_RES4 state=stop

echo "e2e-radius: a Start for a held address moves it"
acct "carol Start on Bob's address" 'Acct-Status-Type = Start' 'User-Name = "carol"' \
	'Acct-Session-Id = "bng-0003"' "Framed-IP-Address = $LAB_SPAM4" \
	'Framed-IPv6-Address = 2001:db8:1::2'
check "session list: $LAB_SPAM4 held by carol" held_by $LAB_SPAM4 carol
check "session list: her Framed-IPv6-Address as its /64" held_by 2001:db8:1::/64 carol
check "session list: Bob holds nothing, his session ended" unlisted "$BOB"
conn "carol's 25 is reset" $LAB_SPAM4 $LAB_DST4 25 refused
sleep 0.2
check "block log: $LAB_SPAM4's SYN now carries carol" blocked $LAB_SPAM4 carol 25

echo "e2e-radius: a Stop that comes after the user's next Start"
acct "dave Start" 'Acct-Status-Type = Start' 'User-Name = "dave"' \
	'Acct-Session-Id = "bng-0005"' "Framed-IP-Address = $LAB_EXP4"
acct "dave Start again (a re-dial), another address" 'Acct-Status-Type = Start' \
	'User-Name = "dave"' 'Acct-Session-Id = "bng-0006"' "Framed-IP-Address = $LAB_EXC4"
acct "the first session's Stop, late" 'Acct-Status-Type = Stop' 'User-Name = "dave"' \
	'Acct-Session-Id = "bng-0005"' "Framed-IP-Address = $LAB_EXP4"
check "session list: dave's new session on $LAB_EXC4 stays" held_by $LAB_EXC4 dave
acct "the new session's Stop" 'Acct-Status-Type = Stop' 'User-Name = "dave"' \
	'Acct-Session-Id = "bng-0006"' "Framed-IP-Address = $LAB_EXC4"
check "session list: it ends dave's session" unlisted dave

echo "e2e-radius: what is no one subscriber's session"
acct "Accounting-On" 'Acct-Status-Type = Accounting-On'
acct "a Start without a User-Name" 'Acct-Status-Type = Start' \
	'Acct-Session-Id = "bng-0004"' 'Framed-IP-Address = 100.64.0.70'
check "nothing changed: carol still holds $LAB_SPAM4" held_by $LAB_SPAM4 carol
check "nothing changed: 100.64.0.70 is free" free 100.64.0.70

echo "e2e-radius: a daemon that is gone costs the BNG nothing"
daemon_stop TERM
t=$(date +%s%N)
acct "carol Stop, no daemon" 'Acct-Status-Type = Stop' 'User-Name = "carol"' \
	'Acct-Session-Id = "bng-0003"' "Framed-IP-Address = $LAB_SPAM4"
ms=$((($(date +%s%N) - t) / 1000000))
check "... within a second ($ms ms)" test "$ms" -lt 1000
check "the script said what failed, in freeradius's log" grep -qE \
	"portcullis-radius-accounting: Stop of 'carol' \(bng-0003\): portcullis session (list|stop) .*carol" \
	"$WORK/radius.out"
check "freeradius still runs" kill -0 "$RADIUS_PID"
finish
