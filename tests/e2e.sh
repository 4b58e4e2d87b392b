#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end: the real daemon in the lab's router, real TCP connects from
# the subscriber, every decision of DESIGN.md asserted as a subscriber sees
# it (refused, connected, timed out) and as the block log records it.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/portcullis-e2e.XXXXXX)
. "$TOP/tests/lab.sh"
. "$TOP/tests/daemon.sh"

# Built with SANITIZE=1, the daemon and the CLI write any ASan, LSan or
# UBSan report to $WORK/sanitizer.PID (a report from a process whose exit
# status no test looks at is still a failure, below).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$WORK/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$WORK/sanitizer"

pass=0
fail=0
cleanup() {
	daemon_stop KILL
	lab_down
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "  ok    $*"; }
no() { fail=$((fail + 1)); echo "  FAIL  $*"; }

# conn NAME SRC DST PORT EXPECT [MAX_MS]: one connect, judged.
conn() {
	local name=$1 out got ms
	out=$(lab_connect "$2" "$3" "$4" 1.0)
	got=${out% *} ms=${out#* }
	if [ "$got" != "$5" ]; then
		no "$name: $2 → $3:$4 $got in $ms ms, expected $5"
	elif [ -n "${6:-}" ] && [ "${ms%.*}" -ge "$6" ]; then
		no "$name: $2 → $3:$4 $got in $ms ms, expected under $6 ms"
	else
		ok "$name: $2 → $3:$4 $got ($ms ms)"
	fi
}

# check NAME COMMAND...: a shell condition.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else no "$name"; fi
}

rules_left() { in_rt iptables-save; in_rt ip6tables-save; }

[ "$(id -u)" -eq 0 ] || { echo "e2e: needs root for network namespaces"; echo "e2e: 0 passed, 1 failed"; exit 1; }
echo "e2e: the lab"
lab_up || { echo "e2e: could not build the lab"; echo "e2e: 0 passed, 1 failed"; exit 1; }
lab_policy "$TOP/examples/policy.yaml" "$WORK/policy.yaml"

echo "e2e: enforce mode, example policy"
if daemon_start "$WORK/policy.yaml"; then
	conn "residential 25 is reset at once" $LAB_RES4 $LAB_DST4 25 refused 100
	conn "residential 465 connects" $LAB_RES4 $LAB_DST4 465 connected
	conn "residential 587 connects" $LAB_RES4 $LAB_DST4 587 connected
	conn "business exception connects on 25" $LAB_BIZ4 $LAB_DST4 25 connected
	conn "expired exception falls back to residential" $LAB_EXP4 $LAB_DST4 25 refused 100
	conn "relay reachable on 25" $LAB_RES4 $LAB_RELAY4 25 connected
	conn "non-subscriber passes" $LAB_NON4 $LAB_DST4 25 connected
	conn "IPv6 residential 25 is reset at once" $LAB_RES6 $LAB_DST6 25 refused 100
	conn "IPv6 residential 587 connects" $LAB_RES6 $LAB_DST6 587 connected
	conn "IPv6 residential 465 connects" $LAB_RES6 $LAB_DST6 465 connected
	conn "IPv6 business exception connects on 25" $LAB_BIZ6 $LAB_DST6 25 connected
	conn "IPv6 relay reachable on 25" $LAB_RES6 $LAB_RELAY6 25 connected
	conn "IPv6 non-subscriber passes" $LAB_NON6 $LAB_DST6 25 connected
	sleep 0.1	# the block log's writer runs on its own thread
	check "block log: IPv4 line with every field" grep -qF \
		"\"event\":\"block\",\"src\":\"$LAB_RES4\",\"dst\":\"$LAB_DST4\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}" \
		"$WORK/blocks.jsonl"
	check "block log: IPv6 line" grep -qF \
		"\"src\":\"$LAB_RES6\",\"dst\":\"$LAB_DST6\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"2001:db8:1::/48\"}" \
		"$WORK/blocks.jsonl"
	check "block log: the expired exception's source, under residential" grep -qF \
		"\"src\":\"$LAB_EXP4\",\"dst\":\"$LAB_DST4\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\"" \
		"$WORK/blocks.jsonl"
	check "block log: nothing passed is logged" bash -c \
		"! grep -qE '\"dport\":(465|587)|\"src\":\"($LAB_BIZ4|$LAB_NON4)\"' '$WORK/blocks.jsonl'"
	check "block log: every line is JSON" python3 -c \
		"import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$WORK/blocks.jsonl"

	PC="$TOP/portcullis --control $WORK/control.sock"
	out=$($PC stats 2>&1)
	check "stats: every verdict counted (relays and non-subscribers never queued)" \
		grep -qF "verdicts:     6 accept, 0 drop, 3 reject" <<<"$out"
	check "stats --json parses" python3 -c "import json,sys; json.loads(sys.stdin.read())" <<<"$($PC stats --json)"
	out=$($PC reload 2>&1)
	check "reload: succeeds and says so" grep -q "^reloaded " <<<"$out"
	cp "$WORK/policy.yaml" "$WORK/policy.good"
	printf 'version: 1\nprofiles: { residential: { ports: { 25: rejekt } } }\n' >"$WORK/policy.yaml"
	out=$($PC reload 2>&1)
	rc=$?
	check "broken reload: exit 1" test $rc -eq 1
	check "broken reload: file:line:col and what was expected" \
		grep -qF "policy.yaml:2:41: unknown action \"rejekt\"; expected accept, drop or reject" <<<"$out"
	check "broken reload: says the running policy stays" grep -q "running policy stays" <<<"$out"
	conn "broken reload: old policy still rejects 25" $LAB_RES4 $LAB_DST4 25 refused 100
	conn "broken reload: old policy still passes business" $LAB_BIZ4 $LAB_DST4 25 connected
	cp "$WORK/policy.good" "$WORK/policy.yaml"
	check "stats: counts the failed load" grep -q "(3 loads, 1 failed)\|(2 loads, 1 failed)" <<<"$($PC stats)"
	out=$($PC frobnicate 2>&1)
	check "control: unknown command is refused" grep -q "unknown command" <<<"$out"

	echo "e2e: SYNs the daemon cannot read whole (IPv6 options past the copy range)"
	in_net ip6tables -I INPUT -p tcp --syn --dport 25
	in_net ip6tables -I INPUT -p tcp --syn --dport 587
	arrived() { in_net ip6tables -L INPUT -v -x -n | awk "/dpt:$1 /{print \$1}"; }
	in_sub python3 "$TOP/tests/lab_tcp.py" padded-syn6 $LAB_RES6 $LAB_DST6 25 264
	in_sub python3 "$TOP/tests/lab_tcp.py" padded-syn6 $LAB_RES6 $LAB_DST6 587 264
	sleep 0.2
	check "padded SYN to 25 is dropped, not let through (fail closed)" test "$(arrived 25)" = 0
	check "padded SYN to 587 passes (fail open)" test "$(arrived 587)" = 1
	check "stats: both counted as truncated" grep -q " 2 truncated" <<<"$($PC stats)"

	echo "e2e: SIGKILL: port 25 fails closed, submission fails open"
	daemon_stop KILL
	conn "no daemon: residential 25 does not pass" $LAB_RES4 $LAB_DST4 25 timeout
	conn "no daemon: residential 587 still connects" $LAB_RES4 $LAB_DST4 587 connected
	conn "no daemon: IPv6 587 still connects" $LAB_RES6 $LAB_DST6 587 connected
	conn "no daemon: relay still reachable" $LAB_RES4 $LAB_RELAY4 25 connected

	echo "e2e: restart after SIGKILL, then a clean stop"
	if daemon_start "$WORK/policy.yaml"; then
		check "restart: one jump from FORWARD, not two" \
			test "$(in_rt iptables-save | grep -c -- '-A FORWARD .*-j PORTCULLIS$')" = 1
		conn "restart: residential 25 reset again" $LAB_RES4 $LAB_DST4 25 refused 100
		daemon_stop TERM
		rc=$?
		check "clean stop: exit status 0" test $rc -eq 0
		[ $rc -eq 0 ] || sed 's/^/    /' "$WORK/daemon.log"
		check "clean stop: no portcullis rule left" bash -c \
			"! { ip netns exec $NS_RT iptables-save; ip netns exec $NS_RT ip6tables-save; } | grep -qi portcullis"
		conn "clean stop: 25 passes the unfiltered router" $LAB_RES4 $LAB_DST4 25 connected
	else
		no "restart after SIGKILL"
	fi
else
	no "daemon start"
fi

echo "e2e: monitor mode"
lab_policy "$TOP/examples/policy.yaml" "$WORK/monitor.yaml" monitor
rm -f "$WORK/blocks.jsonl"
if daemon_start "$WORK/monitor.yaml"; then
	conn "monitor: residential 25 connects" $LAB_RES4 $LAB_DST4 25 connected
	conn "monitor: IPv6 residential 25 connects" $LAB_RES6 $LAB_DST6 25 connected
	sleep 0.1
	check "monitor: logged as it would have been, marked monitor" grep -qF \
		"\"src\":\"$LAB_RES4\",\"dst\":\"$LAB_DST4\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\",\"mode\":\"monitor\"}" \
		"$WORK/blocks.jsonl"
	daemon_stop TERM
	rc=$?
	check "monitor: clean stop, exit status 0" test $rc -eq 0
	[ $rc -eq 0 ] || sed 's/^/    /' "$WORK/daemon.log"
else
	no "daemon start (monitor)"
fi

echo "e2e: start-up failures are one clear line and a non-zero exit"
printf 'version: 2\n' >"$WORK/bad.yaml"
out=$(in_rt "$TOP/portcullisd" -c "$WORK/bad.yaml" --control "$WORK/c.sock" 2>&1)
rc=$?
check "bad policy: exit non-zero" test $rc -ne 0
check "bad policy: says file:line:col" grep -q "bad.yaml:1:10: " <<<"$out"
check "bad policy: no rule installed" bash -c "! ip netns exec $NS_RT iptables-save | grep -q PORTCULLIS"
if daemon_start "$WORK/policy.yaml"; then
	out=$(in_rt "$TOP/portcullisd" -c "$WORK/policy.yaml" --control "$WORK/c2.sock" 2>&1)
	rc=$?
	check "second daemon: refused" test $rc -ne 0
	check "second daemon: says the queue is taken" grep -qi "queue .* in use\|already bound\|busy" <<<"$out"
	conn "second daemon: the first still judges" $LAB_RES4 $LAB_DST4 25 refused 100
	daemon_stop TERM
fi

reports=$(ls "$WORK"/sanitizer.* 2>/dev/null)
check "no sanitizer report from any daemon or command" test -z "$reports"
for r in $reports; do sed 's/^/    /' "$r"; done

echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
