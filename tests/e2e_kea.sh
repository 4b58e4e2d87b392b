#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end, the Kea DHCPv4 session feed (integrations/kea): the real
# kea-dhcp4 with its run_script hook calling integrations/kea's script in
# the lab's router, real DHCP clients (busybox udhcpc) on a segment of
# their own, the real daemon. A lease starts the client's session (its
# SYNs carry its subscriber id), a renewal extends it, a release, an
# expiry end it; a quarantine follows the subscriber to its next address
# and stays off its old one; a daemon that is gone costs Kea nothing.
#
#   dhcp-a ──┐
#   dhcp-b ──┼─ br-dh (router, 100.64.1.1/24, kea-dhcp4: 100.64.1.100-150)
#   dhcp-c ──┤
#   dhcp-d ──┘
# shellcheck disable=SC2317 # the helpers run through check, wait_for, trap
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/portcullis-e2e-kea.XXXXXX)
. "$TOP/tests/lab.sh"
. "$TOP/tests/daemon.sh"

NS_DHA=pc-dha-$LAB_ID		# DHCP client A
NS_DHB=pc-dhb-$LAB_ID		# DHCP client B
NS_DHC=pc-dhc-$LAB_ID		# DHCP client C, the short lease
NS_DHD=pc-dhd-$LAB_ID		# DHCP client D, which declines
MAC_A=02:00:00:00:0a:01
MAC_B=02:00:00:00:0b:01
MAC_C=02:00:00:00:0c:01
MAC_D=02:00:00:00:0d:01
ID_A=01:$MAC_A			# udhcpc's client id: 01 and the MAC
ID_B=$MAC_B			# B sends none (-C): the hardware address
ID_C=01:$MAC_C
ID_D=01:$MAC_D
ADDR1=100.64.1.100		# A's first lease, then B's
ADDR2=100.64.1.101		# A's second lease
ADDR3=100.64.1.110		# C's, a 3 s lease left to expire
ADDR4=100.64.1.120		# offered to D, but a squatter (C) has it
LEASE_S=120			# Kea's valid lifetime
GRACE_S=60			# the hook's GRACE
KEA_PID=""

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$WORK/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$WORK/sanitizer"

pass=0
fail=0
cleanup() {
	local ns
	# A reader gone (… | head) must not cut the cleanup short.
	trap '' PIPE
	[ -n "$KEA_PID" ] && kill "$KEA_PID" 2>/dev/null
	daemon_stop KILL
	for ns in "$NS_DHA" "$NS_DHB" "$NS_DHC" "$NS_DHD"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
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
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/kea.out" 2>/dev/null; then
		no "sanitizer reports from the script's portcullis:"
		grep -E -A5 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/kea.out" | sed 's/^/    /'
	fi
	if [ "$fail" -gt 0 ]; then
		echo "e2e-kea: kea-dhcp4's log:"
		tail -n 30 "$WORK/kea.out" 2>/dev/null | sed 's/^/    /'
		echo "$(basename "$0" .sh): the block log's session and quarantine lines:"
		grep -E '"event":"(session|quarantine|release)"' "$WORK/blocks.jsonl" 2>/dev/null |
			tail -n 20 | sed 's/^/    /'
	fi
	echo "e2e-kea: $pass passed, $fail failed"
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

# conn NAME NS SRC DST PORT EXPECT: one connect from namespace NS, judged.
conn() {
	local out
	out=$(ip netns exec "$2" python3 "$LAB_DIR/lab_tcp.py" connect "$3" "$4" "$5" 0.9)
	if [ "${out% *}" = "$6" ]; then
		ok "$1: $3 → $4:$5 ${out% *} (${out#* } ms)"
	else
		no "$1: $3 → $4:$5 ${out% *} in ${out#* } ms, expected $6"
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
later_than() { [ "$(expires "$1")" -gt "$2" ] 2>/dev/null; }
# blocked SRC ID PORT: the last block line of SRC to PORT carries
# subscriber ID.
blocked() {
	python3 - "$WORK/blocks.jsonl" "$@" <<'PY'
import json, sys
log, src, sub, port = sys.argv[1:]
last = None
for line in open(log):
    e = json.loads(line)
    if e["event"] == "block" and e["src"] == src and e["dport"] == int(port):
        last = e
sys.exit(0 if last and last.get("subscriber") == sub else 1)
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

# dhcp NS NAME ARGS...: udhcpc on NS's dh0 in the background, its pid in
# $WORK/NAME.pid; $WORK/NAME.addr holds the address it is bound to.
dhcp() {
	local ns=$1 name=$2
	shift 2
	rm -f "$WORK/$name.addr"
	ip netns exec "$ns" env UD_ADDR="$WORK/$name.addr" \
		udhcpc -f -i dh0 -s "$WORK/udhcpc.sh" -t 5 -T 1 -A 1 "$@" \
		>>"$WORK/$name.log" 2>&1 &
	echo $! >"$WORK/$name.pid"
}
bound() { [ "$(cat "$WORK/$1.addr" 2>/dev/null)" = "$2" ]; }
unbound() { [ ! -s "$WORK/$1.addr" ]; }
dhcp_signal() { kill "-$1" "$(cat "$WORK/$2.pid")" 2>/dev/null; }
dhcp_end() {
	local pid
	pid=$(cat "$WORK/$1.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$WORK/$1.pid"
}

[ "$(id -u)" -eq 0 ] || bail "e2e-kea: needs root for network namespaces"
for p in kea-dhcp4 udhcpc; do
	command -v $p >/dev/null || bail "$p is not installed (sh tests/deps.sh installs it)"
done
HOOKLIB=$(dpkg -L kea-common 2>/dev/null | grep '/libdhcp_run_script\.so$' | head -n 1)
[ -f "$HOOKLIB" ] || bail "Kea's libdhcp_run_script.so not found (package kea-common)"

# The hook as installed, but for the two settings at its top: the
# portcullis built here and the test daemon's control socket. The test
# fails if either is not there to set.
src="$TOP/integrations/kea/portcullis-kea-hook"
if [ "$(grep -c '^PORTCULLIS=@BINDIR@/portcullis$' "$src")" != 1 ] ||
   [ "$(grep -c '^CONTROL=/run/portcullis/control.sock$' "$src")" != 1 ]; then
	bail "$src: the PORTCULLIS= and CONTROL= settings are not as expected"
fi
sed -e "s|^PORTCULLIS=@BINDIR@/portcullis$|PORTCULLIS=$TOP/portcullis|" \
    -e "s|^CONTROL=.*|CONTROL=$WORK/control.sock|" \
    -e "s|^SYSLOG=.*|SYSLOG=|" "$src" >"$WORK/portcullis-kea-hook"
chmod 0755 "$WORK/portcullis-kea-hook"

# udhcpc's event script: the lease on dh0 and the default route; the
# address bound (or nothing) in $UD_ADDR.
cat >"$WORK/udhcpc.sh" <<'EOF'
#!/bin/sh
case $1 in
deconfig)
	ip addr flush dev "$interface"
	: >"$UD_ADDR" ;;
bound | renew)
	ip addr replace "$ip/$mask" dev "$interface"
	ip route replace default via "$router" dev "$interface"
	echo "$ip" >"$UD_ADDR" ;;
esac
exit 0
EOF
chmod 0755 "$WORK/udhcpc.sh"

cat >"$WORK/kea.json" <<EOF
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "br-dh" ] },
    "lease-database": { "type": "memfile", "persist": true,
                        "name": "$WORK/leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": $LEASE_S, "min-valid-lifetime": 3,
    "max-valid-lifetime": 600,
    "expired-leases-processing": { "reclaim-timer-wait-time": 1,
                                   "hold-reclaimed-time": 0,
                                   "flush-reclaimed-timer-wait-time": 0 },
    "hooks-libraries": [ { "library": "$HOOKLIB",
        "parameters": { "name": "$WORK/portcullis-kea-hook", "sync": false } } ],
    "subnet4": [ { "id": 1, "subnet": "100.64.1.0/24",
        "pools": [ { "pool": "100.64.1.100 - 100.64.1.150" } ],
        "option-data": [ { "name": "routers", "data": "100.64.1.1" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "INFO",
        "output_options": [ { "output": "stdout" } ] } ]
} }
EOF

echo "e2e-kea: the lab, a DHCP segment, kea-dhcp4"
lab_up || bail "could not build the lab"
{ ip netns add "$NS_DHA" && ip netns add "$NS_DHB" && ip netns add "$NS_DHC" &&
	ip netns add "$NS_DHD"; } ||
	bail "could not add the DHCP namespaces"
ip -n "$NS_RT" link add br-dh type bridge
ip -n "$NS_RT" link set br-dh up
ip -n "$NS_RT" addr add 100.64.1.1/24 dev br-dh
# One host a namespace: two on one segment in one namespace answer each
# other's ARP and their SYNs leave by either interface.
for x in a b c d; do
	case $x in
	a) ns=$NS_DHA mac=$MAC_A ;;
	b) ns=$NS_DHB mac=$MAC_B ;;
	c) ns=$NS_DHC mac=$MAC_C ;;
	d) ns=$NS_DHD mac=$MAC_D ;;
	esac
	ip link add dh0 netns "$ns" address "$mac" type veth peer name rt-dh$x netns "$NS_RT"
	ip -n "$NS_RT" link set rt-dh$x master br-dh up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set dh0 up
done

lab_policy "$TOP/examples/policy.yaml" "$WORK/policy.yaml"
daemon_start "$WORK/policy.yaml" || bail "daemon start"

(cd "$WORK" && exec ip netns exec "$NS_RT" env KEA_PIDFILE_DIR="$WORK" \
	KEA_LOCKFILE_DIR="$WORK" kea-dhcp4 -c "$WORK/kea.json" >"$WORK/kea.out" 2>&1) &
KEA_PID=$!
wait_for 10 grep -q DHCP4_STARTED "$WORK/kea.out" || bail "kea-dhcp4 did not start"

echo "e2e-kea: a lease starts a session"
dhcp "$NS_DHA" a -r $ADDR1
check "client A is bound to $ADDR1" wait_for 5 bound a $ADDR1
t0=$(date +%s)
check "session list: $ADDR1 held by A's client id $ID_A" wait_for 3 held_by $ADDR1 "$ID_A"
e=$(expires "$ID_A")
check "its expiry is the lease's $LEASE_S s and the hook's $GRACE_S s ($((e - t0)) s)" \
	test $((e - t0)) -ge $((LEASE_S + GRACE_S - 5)) -a $((e - t0)) -le $((LEASE_S + GRACE_S + 5))
conn "A's 25 is reset" "$NS_DHA" $ADDR1 $LAB_DST4 25 refused
conn "A's 587 connects" "$NS_DHA" $ADDR1 $LAB_DST4 587 connected
check "block log: A's SYN to 25 carries its subscriber id" wait_for 2 blocked $ADDR1 "$ID_A" 25
check "block log: a session line for A, source kea" wait_for 1 event \
	event=session subscriber="$ID_A" src=$ADDR1 state=start source=kea

# C: a lease of 3 s it never renews (-q: udhcpc leaves once bound).
ip netns exec "$NS_DHC" env UD_ADDR="$WORK/c.addr" udhcpc -q -n -i dh0 \
	-s "$WORK/udhcpc.sh" -t 5 -T 1 -r $ADDR3 -x lease:3 >>"$WORK/c.log" 2>&1
check "client C is bound to $ADDR3 for 3 s" bound c $ADDR3
check "session list: $ADDR3 held by C" wait_for 3 held_by $ADDR3 "$ID_C"
tc=$(date +%s)

echo "e2e-kea: a renewal extends it"
sleep 1.1
dhcp_signal USR1 a
check "a renewal moves A's expiry on (was $e)" wait_for 3 later_than "$ID_A" "$e"
check "and A still holds $ADDR1" held_by $ADDR1 "$ID_A"

echo "e2e-kea: a spam run quarantines A; the quarantine follows it"
out=$(ip netns exec "$NS_DHA" python3 "$LAB_DIR/lab_tcp.py" burst $ADDR1 198.51.100.10 25 25 100 0.5)
# 100 SYNs in the window (the one above included) quarantine it: the
# last few of the burst are dropped.
check "A's burst: refused at once until quarantined ($out)" \
	grep -qE "^refused=(9[7-9]|100)( timeout=[0-3])?$" <<<"$out"
check "block log: the quarantine names A's subscriber id" wait_for 2 event \
	event=quarantine src=$ADDR1 subscriber="$ID_A"
conn "quarantined: A's 587 is held" "$NS_DHA" $ADDR1 $LAB_DST4 587 timeout

dhcp_signal USR2 a
check "A releases $ADDR1" wait_for 3 unbound a
check "session list: the release ended the session on $ADDR1" wait_for 3 free $ADDR1
dhcp_end a
dhcp "$NS_DHA" a -r $ADDR2
check "A is bound again, to $ADDR2" wait_for 5 bound a $ADDR2
check "session list: $ADDR2 held by A" wait_for 3 held_by $ADDR2 "$ID_A"
conn "A on its new address: 587 still held" "$NS_DHA" $ADDR2 $LAB_DST4 587 timeout
conn "A on its new address: 25 held" "$NS_DHA" $ADDR2 $LAB_DST4 25 timeout

echo "e2e-kea: B gets A's old address, free of A's quarantine"
dhcp "$NS_DHB" b -C -r $ADDR1
check "B (no client id) is bound to $ADDR1" wait_for 5 bound b $ADDR1
check "session list: $ADDR1 held by B's hardware address $ID_B" wait_for 3 held_by $ADDR1 "$ID_B"
conn "B's 587 connects" "$NS_DHB" $ADDR1 $LAB_DST4 587 connected
conn "B's 25 is reset (residential, not quarantined)" "$NS_DHB" $ADDR1 $LAB_DST4 25 refused
check "block log: B's SYN to 25 carries B's id" wait_for 2 blocked $ADDR1 "$ID_B" 25
check "A is still held on $ADDR2" held_by $ADDR2 "$ID_A"
# Kea starts hooks without waiting: an expire of A's old lease run after
# B's commit (a reclaimed lease handed on) must not end B's session.
env -i LEASE4_ADDRESS=$ADDR1 LEASE4_CLIENT_ID="$ID_A" LEASE4_HWADDR=$MAC_A \
	"$WORK/portcullis-kea-hook" lease4_expire
check "A's expire of $ADDR1 coming after B's commit leaves B's session" held_by $ADDR1 "$ID_B"

echo "e2e-kea: an expired lease ends its session"
now=$(date +%s)
[ $((tc + 3 - now)) -gt 0 ] && sleep $((tc + 3 - now))
check "session list: C's lease expired, $ADDR3 is free" wait_for 4 free $ADDR3

echo "e2e-kea: a declined lease holds no session"
ip -n "$NS_DHC" addr add $ADDR4/24 dev dh0	# C squats on it
dhcp "$NS_DHD" d -a -r $ADDR4
check "D is offered $ADDR4, finds it taken and declines it" \
	wait_for 5 grep -q "declining" "$WORK/d.log"
check "block log: D's session on $ADDR4 started, then stopped" wait_for 3 event \
	event=session subscriber="$ID_D" src=$ADDR4 state=stop
sleep 0.3	# Kea's commit of the declined lease, after the decline
check "session list: $ADDR4 is free (the declined lease's commit started nothing)" free $ADDR4
dhcp_end d

echo "e2e-kea: a daemon that is gone costs Kea nothing"
daemon_stop TERM
dhcp_signal USR2 b
check "B releases $ADDR1 with no daemon" wait_for 3 unbound b
dhcp_end b
t=$(date +%s%N)
dhcp "$NS_DHB" b -C -r $ADDR1
wait_for 3 bound b $ADDR1
ms=$((($(date +%s%N) - t) / 1000000))
check "B is bound again within a second, no daemon ($ms ms)" test "$ms" -lt 1000 -a -s "$WORK/b.addr"
check "the hook said what failed, in Kea's log" wait_for 3 grep -qE \
	"portcullis-kea-hook: leases4_committed: portcullis session start .*$ADDR1" "$WORK/kea.out"
check "kea-dhcp4 still runs" kill -0 "$KEA_PID"
dhcp_end a
dhcp_end b
finish
