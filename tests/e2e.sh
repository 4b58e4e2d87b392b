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
. "$TOP/tests/e2e_kernel.sh"
. "$TOP/tests/e2e_control.sh"
. "$TOP/tests/e2e_kquar.sh"
. "$TOP/tests/e2e_session.sh"
. "$TOP/tests/e2e_shadow.sh"

# Built with SANITIZE=1, the daemon and the CLI write any ASan, LSan or
# UBSan report to $WORK/sanitizer.PID (a report from a process whose exit
# status no test looks at is still a failure, below).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$WORK/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$WORK/sanitizer"

pass=0
fail=0
cleanup() {
	daemon_stop KILL
	umount "$WORK/full" 2>/dev/null
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
	out=$(lab_connect "$2" "$3" "$4" 0.9)
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

rules_left() { in_rt iptables-save | grep -v '^#'; in_rt ip6tables-save | grep -v '^#'; }

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
	check "the pid file beside the control socket names the daemon" \
		test "$(cat "$WORK/portcullisd.pid" 2>/dev/null)" = "$DAEMON_PID"
	out=$($PC stats 2>&1)
	check "stats: every verdict counted (relays and non-subscribers never queued)" \
		grep -qF "verdicts:     6 accept, 0 drop, 3 reject" <<<"$out"
	check "stats --json parses" python3 -c "import json,sys; json.loads(sys.stdin.read())" <<<"$($PC stats --json)"
	m=$(in_rt curl -s --max-time 5 http://127.0.0.1:9638/metrics)
	check "metrics: rejects by profile and port" grep -qxF 'portcullis_verdicts_total{action="reject",profile="residential",port="25"} 3' <<<"$m"
	check "metrics: accepts on submission" grep -qxF 'portcullis_verdicts_total{action="accept",profile="residential",port="587"} 2' <<<"$m"
	check "metrics: the kernel's queue counters" grep -qE '^portcullis_kernel_queue_dropped_total\{queue="0"\} 0$' <<<"$m"
	printf '%s\n' "$m" >"$WORK/live.metrics"
	check "metrics: promtool check metrics takes the live /metrics" \
		bash -c "promtool check metrics <'$WORK/live.metrics'"
	check "metrics: only loopback by default" bash -c "! ip netns exec $NS_RT curl -s --max-time 2 http://198.51.100.1:9638/metrics >/dev/null"
	check "metrics: 404 elsewhere" test "$(in_rt curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9638/)" = 404
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
	out=$($PC reload --dry-run 2>&1)
	rc=$?
	check "dry run of a broken file: exit 1, its errors" \
		bash -c "[ $rc -eq 1 ] && grep -qF 'unknown action \"rejekt\"' <<<'$out'"
	cp "$WORK/policy.good" "$WORK/policy.yaml"
	check "stats: counts the failed load" grep -q "(3 loads, 1 failed)\|(2 loads, 1 failed)" <<<"$($PC stats)"
	# A dry run after editing the file: what reload would change, and
	# nothing changed.
	loads=$($PC stats | sed -n 's/.*(\([0-9]*\) loads.*/\1/p')
	sed -e 's/25: reject, 465: accept, 587: accept }/25: reject, 465: accept, 587: reject }/' \
		"$WORK/policy.good" >"$WORK/policy.yaml"
	out=$($PC reload --dry-run 2>&1)
	rc=$?
	check "reload --dry-run: exit 0" test $rc -eq 0
	check "reload --dry-run: the profile's port" grep -qxF "profile residential port 587: accept → reject" <<<"$out"
	check "reload --dry-run: the lab's range" grep -qxF "100.64.0.0/28 port 587: accept → reject (profile residential changed)" <<<"$out"
	check "reload --dry-run: says nothing changed yet" grep -q "changes: nothing changed yet; portcullis reload applies them$" <<<"$out"
	conn "reload --dry-run: 587 still connects" $LAB_RES4 $LAB_DST4 587 connected
	check "reload --dry-run: no load counted" grep -qF "($loads loads," <<<"$($PC stats)"
	cp "$WORK/policy.good" "$WORK/policy.yaml"
	check "reload --dry-run: the file as running: nothing to change" \
		grep -q "reload would change nothing" <<<"$($PC reload --dry-run 2>&1)"
	out=$($PC frobnicate 2>&1)
	check "control: unknown command is refused" grep -q "unknown command" <<<"$out"
	# Raw requests, as any client of the socket may send: refused, not run.
	loads=$($PC stats | sed -n 's/.*(\([0-9]*\) loads.*/\1/p')
	for req in 'reload\n--bogus\n\n' 'reload\n--help\n\n' 'reload\nextra\n\n' \
		   'stats\n--bogus\n\n' 'release\n\n' 'top\n-5\n\n' \
		   'shadow\n\n' 'shadow\nbogus\n\n' 'shadow\nstart\n\n' \
		   'shadow\nstart\na\nb\n\n' 'shadow\nstop\n--json\n\n' \
		   'shadow\nstatus\nx\n\n' 'shadow\nstart\nrelative.yaml\n\n'; do
		out=$(python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
print(s.recv(4096).decode(), end="")' "$WORK/control.sock" "$req")
		check "control: raw '${req//\\n/ }' is refused with one line ($(sed -n 2p <<<"$out"))" \
			bash -c "[ '$(head -n 1 <<<"$out")' = 1 ] && [ $(wc -l <<<"$out") -eq 2 ]"
	done
	check "control: none of them reloaded" grep -qF "($loads loads," <<<"$($PC stats)"

	out=$(in_sub python3 "$LAB_DIR/lab_tcp.py" connect-padded $LAB_RES6 $LAB_DST6 25 1.0)
	check "512-byte IPv6 options past the copy range do not sneak to 25 ($out)" grep -q "^timeout" <<<"$out"
	out=$(in_sub python3 "$LAB_DIR/lab_tcp.py" connect-padded $LAB_RES6 $LAB_DST6 587 1.0)
	check "the same padding to 587 connects ($out)" grep -q "^connected" <<<"$out"
	out=$(in_sub python3 "$LAB_DIR/lab_tcp.py" connect-padded $LAB_BIZ6 $LAB_DST6 25 1.0)
	check "the same padding from business to 25 connects ($out)" grep -q "^connected" <<<"$out"
	sleep 0.1
	check "block log: the padded SYN, port unknown (0), dropped" grep -qF \
		"\"src\":\"$LAB_RES6\",\"dst\":\"$LAB_DST6\",\"dport\":0,\"action\":\"drop\",\"profile\":\"residential\"" "$WORK/blocks.jsonl"

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
		conn "clean stop: 25 stays shut (the kernel's fallback)" $LAB_RES4 $LAB_DST4 25 refused 100
		conn "clean stop: 587 passes" $LAB_RES4 $LAB_DST4 587 connected
	else
		no "restart after SIGKILL"
	fi
else
	no "daemon start"
fi

e2e_fragments
e2e_fallback
e2e_control

echo "e2e: 50 reloads under a steady connect loop"
lab_policy "$TOP/examples/policy.yaml" "$WORK/policy.yaml"
cp "$WORK/policy.yaml" "$WORK/policy.a"
# Variant b drops an aggregate and the list: the ruleset changes at every
# reload, and the sources under test are judged alike by both.
grep -v -e '2001:db8:1000::/36' -e 'file: business.list' "$WORK/policy.a" >"$WORK/policy.b"
if daemon_start "$WORK/policy.yaml"; then
	PC="$TOP/portcullis --control $WORK/control.sock"
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop $LAB_RES4 $LAB_DST4 25 150 1.0 0.02 >"$WORK/l25" &
	l1=$!
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop $LAB_RES4 $LAB_DST4 587 150 1.0 0.02 >"$WORK/l587" &
	l2=$!
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop $LAB_BIZ4 $LAB_DST4 25 150 1.0 0.02 >"$WORK/lbiz" &
	l3=$!
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop $LAB_RES6 $LAB_DST6 25 150 1.0 0.02 >"$WORK/l6" &
	l4=$!
	bad=0
	for i in $(seq 50); do
		if [ $((i % 2)) -eq 0 ]; then cp "$WORK/policy.a" "$WORK/policy.yaml"; else cp "$WORK/policy.b" "$WORK/policy.yaml"; fi
		$PC reload >/dev/null 2>&1 || bad=$((bad + 1))
		sleep 0.03
	done
	wait $l1 $l2 $l3 $l4
	check "50 reloads: every one succeeded" test $bad -eq 0
	check "50 reloads: residential 25 refused every time ($(cat "$WORK/l25"))" test "$(cat "$WORK/l25")" = "refused=150"
	check "50 reloads: residential 587 connected every time ($(cat "$WORK/l587"))" test "$(cat "$WORK/l587")" = "connected=150"
	check "50 reloads: business 25 connected every time ($(cat "$WORK/lbiz"))" test "$(cat "$WORK/lbiz")" = "connected=150"
	check "50 reloads: IPv6 residential 25 refused every time ($(cat "$WORK/l6"))" test "$(cat "$WORK/l6")" = "refused=150"
	check "50 reloads: loads counted" grep -qF "(51 loads, 0 failed)" <<<"$($PC stats)"
	check "50 reloads: one jump, one chain" test "$(in_rt iptables-save | grep -c -- '-j PORTCULLIS$')" = 1
	daemon_stop TERM
	cp "$WORK/policy.a" "$WORK/policy.yaml"
else
	no "daemon start (reloads)"
fi

echo "e2e: faults"
if daemon_start "$WORK/policy.yaml"; then
	PC="$TOP/portcullis --control $WORK/control.sock"
	# SIGKILL under load: 25 never passes, 587 never fails.
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop $LAB_RES4 $LAB_DST4 25 60 0.3 0.02 >"$WORK/k25" &
	l1=$!
	# 2.5 s: a SYN the kernel held for the killed daemon is dropped with
	# its queue; the client's retransmission (1 s) must then connect.
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop $LAB_RES4 $LAB_DST4 587 60 2.5 0.02 >"$WORK/k587" &
	l2=$!
	sleep 0.5
	daemon_stop KILL
	sleep 0.5
	daemon_start "$WORK/policy.yaml" || no "restart after SIGKILL under load"
	wait $l1 $l2
	check "SIGKILL under load: 25 never connected ($(cat "$WORK/k25"))" bash -c "! grep -q connected '$WORK/k25'"
	check "SIGKILL under load: 587 always connected ($(cat "$WORK/k587"))" test "$(cat "$WORK/k587")" = "connected=60"
	check "SIGKILL under load: restarted with one jump" test "$(in_rt iptables-save | grep -c -- '-j PORTCULLIS$')" = 1
	check "SIGKILL under load: and one IPv6 jump" test "$(in_rt ip6tables-save | grep -c -- '-j PORTCULLIS$')" = 1
	conn "SIGKILL under load: judging again" $LAB_RES4 $LAB_DST4 25 refused 100
	# The policy file gone, then a reload: a clear error, the old policy on.
	mv "$WORK/policy.yaml" "$WORK/policy.away"
	out=$($PC reload 2>&1)
	check "policy removed: reload says so" grep -qF "policy.yaml: cannot read: No such file or directory" <<<"$out"
	conn "policy removed: the old policy judges on" $LAB_BIZ4 $LAB_DST4 25 connected
	conn "policy removed: and still rejects" $LAB_RES4 $LAB_DST4 25 refused 100
	mv "$WORK/policy.away" "$WORK/policy.yaml"
	daemon_stop TERM
fi
# A log on a tiny, full file system: verdicts go on, losses are counted.
mkdir -p "$WORK/full"
if mount -t tmpfs -o size=64k tmpfs "$WORK/full"; then
	dd if=/dev/zero of="$WORK/full/fill" bs=4k 2>/dev/null
	sed "s|^  blocks: .*|  blocks: $WORK/full/blocks.jsonl|" "$WORK/policy.yaml" >"$WORK/fullpolicy.yaml"
	cp "$WORK"/*.list "$WORK/full/" 2>/dev/null
	if daemon_start "$WORK/fullpolicy.yaml"; then
		conn "full disk: residential 25 still reset" $LAB_RES4 $LAB_DST4 25 refused 100
		conn "full disk: again" $LAB_RES6 $LAB_DST6 25 refused 100
		conn "full disk: 587 still connects" $LAB_RES4 $LAB_DST4 587 connected
		sleep 0.3
		out=$($TOP/portcullis --control $WORK/control.sock stats)
		# Two block lines and the fallback line of the start.
		check "full disk: lost lines counted ($(grep 'block log' <<<"$out"))" \
			grep -qE "block log: +0 lines written, 3 lost \(0 queue full, 3 write failed\)" <<<"$out"
		daemon_stop TERM
	fi
	umount "$WORK/full"
else
	no "full disk: cannot mount a tmpfs"
fi

echo "e2e: spam runs: detection, quarantine, release"
sed -e "s|^  per_subscriber: .*|  per_subscriber: 10/s|" "$WORK/policy.a" >"$WORK/spam.yaml"
rm -f "$WORK/blocks.jsonl"
if daemon_start "$WORK/spam.yaml"; then
	PC="$TOP/portcullis --control $WORK/control.sock"
	out=$(in_sub python3 "$LAB_DIR/lab_tcp.py" burst $LAB_SPAMBIZ4 198.51.100.10 25 25 100 0.5)
	check "business burst: 25 is open to business ($out)" grep -qE "^connected=(99|100)" <<<"$out"
	check "business burst: quarantined" grep -qE "^$LAB_SPAMBIZ4 " <<<"$($PC quarantine)"
	conn "business burst: its 587 is now held" $LAB_SPAMBIZ4 $LAB_DST4 587 timeout
	conn "business burst: so is 25" $LAB_SPAMBIZ4 $LAB_DST4 25 timeout
	conn "business burst: its neighbour is untouched" $LAB_BIZ4 $LAB_DST4 25 connected
	out=$($PC release $LAB_SPAMBIZ4 2>&1)
	check "release: says so" grep -qF "released $LAB_SPAMBIZ4" <<<"$out"
	conn "release: 587 connects again" $LAB_SPAMBIZ4 $LAB_DST4 587 connected
	out=$($PC release $LAB_SPAMBIZ4 2>&1)
	check "release: twice is an error" grep -qF "is not quarantined" <<<"$out"
	out=$(in_sub python3 "$LAB_DIR/lab_tcp.py" burst $LAB_SPAM4 198.51.100.10 25 25 100 0.5)
	check "residential burst: refused at once ($out)" grep -qE "^refused=(99|100)" <<<"$out"
	check "residential burst: quarantine listed" grep -qE "^$LAB_SPAM4 " <<<"$($PC quarantine)"
	conn "residential burst: 587 held too" $LAB_SPAM4 $LAB_DST4 587 timeout
	check "top: the spammer first" grep -qE "^$LAB_SPAM4 +[0-9]+ +(99|100|101) " <<<"$($PC top 3 | sed -n 2p)"
	check "top --json parses" python3 -c "import json,sys; d=json.loads(sys.stdin.read()); assert d[0]['quarantined']" <<<"$($PC top 3 --json)"
	m=$(in_rt curl -s --max-time 5 http://127.0.0.1:9638/metrics)
	check "metrics: one subscriber quarantined" grep -qxF "portcullis_quarantined_subscribers 1" <<<"$m"
	check "metrics: two quarantines" grep -qxF 'portcullis_quarantines_total 2' <<<"$m"
	check "metrics: one manual release" grep -qxF 'portcullis_releases_total{reason="manual"} 1' <<<"$m"
	sleep 1.5	# the rate window ends; the tick writes the summary
	check "block log: quarantine line for the business run" grep -qE \
		"\"event\":\"quarantine\",\"src\":\"$LAB_SPAMBIZ4\",\"until\":\"[^\"]+\",\"syns\":100,\"distinct_destinations\":25" "$WORK/blocks.jsonl"
	check "block log: release line, manual" grep -qE "\"event\":\"release\",\"src\":\"$LAB_SPAMBIZ4\".*manual" "$WORK/blocks.jsonl"
	check "block log: the residential run is rate-limited (10 block lines)" \
		test "$(grep -c "\"event\":\"block\",\"src\":\"$LAB_SPAM4\"" "$WORK/blocks.jsonl")" -le 11
	check "block log: and summarised" grep -qE "\"event\":\"summary\",\"src\":\"$LAB_SPAM4\",\"blocked\":[0-9]+" "$WORK/blocks.jsonl"
	out=$("$TOP/portcullis" log "$WORK/blocks.jsonl" --top 5 --json 2>&1)
	check "portcullis log --top: the residential spammer, 101 blocked SYNs, quarantined" python3 - "$LAB_SPAM4" <<PY
import json, sys
top = json.loads("""$out""")
me = [s for s in top if s["src"] == sys.argv[1]][0]
sys.exit(0 if top[0]["src"] == sys.argv[1] and me["blocked"] == 101 and me["quarantined"] else 1)
PY
	check "portcullis log --top: the business run was released" python3 - "$LAB_SPAMBIZ4" <<PY
import json, sys
top = json.loads("""$out""")
sys.exit(0 if all(not s["quarantined"] for s in top if s["src"] == sys.argv[1]) else 1)
PY
	check "block log: lines plus summaries account for every blocked SYN" python3 - "$WORK/blocks.jsonl" "$LAB_SPAM4" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("src") != sys.argv[2]:
        continue
    if e["event"] == "block":
        n += 1
    elif e["event"] == "summary":
        n += e["blocked"]
sys.exit(0 if n >= 100 else 1)
PY
	daemon_stop TERM
else
	no "daemon start (spam runs)"
fi

e2e_kernel_quarantine
e2e_sessions
e2e_shadow

echo "e2e: overload: a SYN flood on 25 beyond what the daemon judges"
if daemon_start "$WORK/policy.yaml"; then
	mac=$(ip -n "$NS_RT" -br link show rt-sub | awk '{print $3}')
	ip netns exec "$NS_NET" "$TOP/build/bench/leakcount" -i net0 -p 25 -o "$WORK/leak" &
	lc=$!
	sleep 0.3
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop $LAB_RES4 $LAB_DST4 587 40 0.9 0.05 >"$WORK/o587" &
	l1=$!
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop $LAB_RES4 $LAB_DST4 25 40 0.9 0.05 >"$WORK/o25" &
	l2=$!
	# Spoofed residential sources (100.64.1.0/24), 3 s or 1,000,000 SYNs.
	flood=$(in_sub "$TOP/build/bench/syngen" -i sub0 -m "$mac" -4 100.64.1.0/24 \
		-D 198.51.100.0/24 -p 25 -n 1000000 -t 3 2>&1)
	wait $l1 $l2
	check "overload: the daemon kept running ($flood)" kill -0 "$DAEMON_PID"
	check "overload: 587 connected every time ($(cat "$WORK/o587"))" test "$(cat "$WORK/o587")" = "connected=40"
	check "overload: 25 never connected ($(cat "$WORK/o25"))" bash -c "! grep -q connected '$WORK/o25'"
	sleep 1
	conn "overload: 1 s after, verdicts are normal" $LAB_RES4 $LAB_DST4 25 refused 100
	kill -TERM $lc; wait $lc
	check "overload: no SYN to 25 reached the internet ($(cat "$WORK/leak"))" grep -q "^syns 0 " "$WORK/leak"
	m=$(in_rt curl -s --max-time 5 http://127.0.0.1:9638/metrics)
	kd=$(grep '^portcullis_kernel_queue_dropped_total{queue="0"}' <<<"$m" | awk '{print $2}')
	ud=$(grep '^portcullis_kernel_queue_user_dropped_total{queue="0"}' <<<"$m" | awk '{print $2}')
	eb=$(grep '^portcullis_queue_enobufs_total' <<<"$m" | awk '{print $2}')
	check "overload: drops reported (kernel queue full $kd, socket $ud, daemon overruns $eb)" test -n "$kd" -a -n "$ud" -a -n "$eb"
	daemon_stop TERM
	check "overload: clean stop after the flood" test $? -eq 0
else
	no "daemon start (overload)"
fi

echo "e2e: live exceptions"
rm -f "$WORK/blocks.jsonl"
if daemon_start "$WORK/policy.yaml"; then
	PC="$TOP/portcullis --control $WORK/control.sock"
	out=$($PC except add 100.64.0.0/29 --profile business --note "ticket 5000, mail server" 2>&1)
	check "except add: says what it added" grep -qF "added 100.64.0.0/29: profile business, no expiry, note: ticket 5000, mail server" <<<"$out"
	conn "except add: residential source now connects on 25" $LAB_RES4 $LAB_DST4 25 connected
	conn "except add: IPv6 untouched, still reset" $LAB_RES6 $LAB_DST6 25 refused 100
	out=$($PC except add 100.64.0.3/29 --profile business 2>&1)
	check "except add: host bits named" grep -qF "100.64.0.3/29 has host bits set; did you mean 100.64.0.0/29?" <<<"$out"
	out=$($PC except add 100.64.0.8/29 --profile business --for " +24h" 2>&1)
	check "except add: a duration with a space or sign is refused" grep -qF -- "--for: expected a duration such as 90s, 30m, 1h30m or 7d, up to 36525d, found ' +24h'" <<<"$out"
	out=$($PC except add 100.64.0.8/29 --profile nosuch 2>&1)
	check "except add: unknown profile refused, file:line:col-free but clear" grep -qF 'live exception 100.64.0.8/29 names profile "nosuch", which the policy does not define' <<<"$out"
	check "except list: shows it" grep -qE "^100.64.0.0/29 +business .* never +ticket 5000, mail server$" <<<"$($PC except list)"
	daemon_stop TERM
	daemon_start "$WORK/policy.yaml"
	check "restart: the live exception is still there" grep -qF "100.64.0.0/29" <<<"$($PC except list)"
	conn "restart: and still decides" $LAB_RES4 $LAB_DST4 25 connected
	out=$($PC except del 100.64.0.0/29 2>&1)
	check "except del: says so" grep -qF "deleted 100.64.0.0/29" <<<"$out"
	conn "except del: refused again" $LAB_RES4 $LAB_DST4 25 refused 100
	out=$($PC except del 100.64.0.0/29 2>&1)
	check "except del: an unknown one is an error" grep -qF "no live exception for 100.64.0.0/29" <<<"$out"
	# A live exception beats the file's entry for the same prefix.
	$PC except add 100.64.0.16/28 --profile residential --for 2s >/dev/null
	conn "except beats the file's entry for its prefix" $LAB_BIZ4 $LAB_DST4 25 refused 100
	sleep 3.2
	conn "expiry: the file's entry decides again" $LAB_BIZ4 $LAB_DST4 25 connected
	check "expiry: gone from the list" grep -qF "no live exceptions" <<<"$($PC except list)"
	sleep 0.1
	check "audit: add, del and expire lines in the block log" bash -c \
		"grep -q '\"event\":\"except\",\"op\":\"add\",\"prefix\":\"100.64.0.0/29\",\"profile\":\"business\",\"note\":\"ticket 5000, mail server\"' '$WORK/blocks.jsonl' &&
		 grep -q '\"op\":\"del\",\"prefix\":\"100.64.0.0/29\"' '$WORK/blocks.jsonl' &&
		 grep -q '\"op\":\"expire\",\"prefix\":\"100.64.0.16/28\",\"profile\":\"residential\",\"until\":' '$WORK/blocks.jsonl'"
	daemon_stop TERM
else
	no "daemon start (exceptions)"
fi

echo "e2e: log.syslog: daemon messages and block lines to syslog"
# A private /dev with a socket of our own as /dev/log, the daemon inside.
sed -e "s|^  syslog: false|  syslog: true\n  syslog_facility: local3|" \
	"$WORK/policy.yaml" >"$WORK/syslog.yaml"
rm -f "$WORK/syslog.out" "$WORK/syslog.stop"
unshare -m --propagation private sh -c '
	lab=$1 work=$2 ns=$3 top=$4
	mount -t tmpfs -o mode=755 tmpfs /dev || exit 1
	for n in "null 3" "zero 5" "full 7" "random 8" "urandom 9"; do
		mknod -m 666 "/dev/${n% *}" c 1 "${n#* }"
	done
	python3 "$lab/syslog_recv.py" /dev/log "$work/syslog.out" 12 & r=$!
	sleep 0.3
	ip netns exec "$ns" "$top/portcullisd" -c "$work/syslog.yaml" \
		--control "$work/c5.sock" --state "$work/state" --user root \
		--metrics off 2>"$work/syslog.err" & d=$!
	for i in $(seq 100); do [ -e "$work/syslog.stop" ] && break; sleep 0.1; done
	kill -TERM $d; wait $d; kill $r 2>/dev/null' sh "$LAB_DIR" "$WORK" "$NS_RT" "$TOP" &
sl=$!
for i in $(seq 50); do grep -q "ready" "$WORK/syslog.err" 2>/dev/null && break; sleep 0.1; done
conn "log.syslog: residential 25 reset" $LAB_RES4 $LAB_DST4 25 refused 100
sleep 0.3
touch "$WORK/syslog.stop"
wait $sl
# daemon.info is <30>, local3.notice <157>; both with the PID.
check "log.syslog: once ready, daemon messages at daemon.info with the PID" \
	grep -qE '^<30>.* portcullisd\[[0-9]+\]: stopping' "$WORK/syslog.out"
check "log.syslog: block lines at the chosen facility (local3.notice)" \
	grep -qE "^<157>.* portcullisd\[[0-9]+\]: \{\"ts\":.*\"event\":\"block\",\"src\":\"$LAB_RES4\"" "$WORK/syslog.out"
check "log.syslog: the start-up on stderr, where whoever started it looks" \
	grep -q 'ready' "$WORK/syslog.err"
check "log.syslog: and nothing after it ($(tail -n 1 "$WORK/syslog.err"))" \
	bash -c "! grep -q 'stopping' '$WORK/syslog.err'"

echo "e2e: links and FIFOs the daemon's account could plant"
# The block log as a link to a root-owned file: never given to the user.
: >"$WORK/root-owned"
ln -sf "$WORK/root-owned" "$WORK/planted.jsonl"
sed "s|^  blocks: .*|  blocks: $WORK/planted.jsonl|" "$WORK/policy.yaml" >"$WORK/planted.yaml"
out=$(in_rt "$TOP/portcullisd" -c "$WORK/planted.yaml" --control "$WORK/c4.sock" \
	--state "$WORK/state" --user nobody --metrics off 2>&1)
rc=$?
check "planted link: the start refuses it ($(grep -m1 'symbolic link' <<<"$out"))" \
	bash -c "[ $rc -ne 0 ] && grep -q 'planted.jsonl is a symbolic link: not giving it to nobody' <<<'$out'"
check "planted link: the file behind it is still root's" test "$(stat -c %U "$WORK/root-owned")" = root
check "planted link: nothing written through it" test ! -s "$WORK/root-owned"
rm -f "$WORK/planted.jsonl"
mkfifo "$WORK/planted.jsonl"
if daemon_start "$WORK/planted.yaml"; then
	conn "block log a FIFO: the daemon judges on" $LAB_RES4 $LAB_DST4 25 refused 100
	check "block log a FIFO: said so" grep -q "planted.jsonl is not a regular file" "$WORK/daemon.log"
	daemon_stop TERM
else
	no "block log a FIFO: the start hung or failed"
fi
rm -f "$WORK/planted.jsonl" "$WORK/planted.yaml" "$WORK/root-owned"

echo "e2e: started as root, runs as nobody with CAP_NET_ADMIN only"
if daemon_start "$WORK/policy.yaml" --user nobody; then
	st=$(cat /proc/$DAEMON_PID/status)
	check "privdrop: uid is nobody's" grep -qE "^Uid:\s+$(id -u nobody)\s+$(id -u nobody)\s+$(id -u nobody)" <<<"$st"
	check "privdrop: effective capabilities are CAP_NET_ADMIN alone" \
		grep -qE "^CapEff:\s+0000000000001000$" <<<"$st"
	check "privdrop: every thread too" bash -c \
		"! grep -h '^CapEff' /proc/$DAEMON_PID/task/*/status | grep -vqE '0000000000001000|0000000000000000'"
	conn "privdrop: residential 25 still reset" $LAB_RES4 $LAB_DST4 25 refused 100
	conn "privdrop: 587 still connects" $LAB_RES4 $LAB_DST4 587 connected
	daemon_stop TERM
	check "privdrop: clean stop as nobody puts the fallback in" bash -c \
		"ip netns exec $NS_RT iptables -S PORTCULLIS | grep -q 'portcullis fallback since' &&
		 ip netns exec $NS_RT ip6tables -S PORTCULLIS | grep -q 'portcullis fallback since'"
else
	no "daemon start --user nobody"
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
	conn "monitor: stopped, the fallback accepts as monitor does" $LAB_RES4 $LAB_DST4 25 connected
	conn "monitor: IPv6 too" $LAB_RES6 $LAB_DST6 25 connected
else
	no "daemon start (monitor)"
fi

echo "e2e: start-up failures are one clear line and a non-zero exit"
printf 'version: 2\n' >"$WORK/bad.yaml"
before=$(rules_left)
out=$(in_rt "$TOP/portcullisd" -c "$WORK/bad.yaml" --control "$WORK/c.sock" --state "$WORK/state" 2>&1)
rc=$?
check "bad policy: exit non-zero" test $rc -ne 0
check "bad policy: says file:line:col" grep -q "bad.yaml:1:10: " <<<"$out"
check "bad policy: the kernel's rules untouched" test "$before" = "$(rules_left)"
# A subscriber table the memory limit cannot hold: a clear line, exit 1
# (it used to crash in the cleanup, the workers not made yet).
# (Not under ASan, whose shadow memory no such limit leaves room for.)
if ! ldd "$TOP/portcullisd" | grep -q libasan; then
	sed 's/^  profile: quarantine$/&\n  max_subscribers: 100000000/' "$WORK/policy.yaml" >"$WORK/huge.yaml"
	out=$(in_rt prlimit --as=1500000000 "$TOP/portcullisd" -c "$WORK/huge.yaml" \
		--control "$WORK/c6.sock" --state "$WORK/state" --user root --metrics off 2>&1)
	rc=$?
	check "no memory for the subscriber table: exit 1, not a crash (exit $rc)" test $rc -eq 1
	check "no memory for the subscriber table: says so" grep -q "subscriber table (100000000 subscribers)" <<<"$out"
fi
if daemon_start "$WORK/policy.yaml"; then
	out=$(in_rt "$TOP/portcullisd" -c "$WORK/policy.yaml" --control "$WORK/c2.sock" --state "$WORK/state2" 2>&1)
	rc=$?
	check "second daemon: refused" test $rc -ne 0
	check "second daemon: says the queue is taken" grep -qi "queue .* in use\|already bound\|busy" <<<"$out"
	check "second daemon: one line, no summary of a daemon that never ran ($(wc -l <<<"$out") lines)" \
		bash -c "[ $(grep -vc 'block log' <<<"$out") -eq 1 ] && ! grep -q 'verdicts:' <<<'$out'"
	conn "second daemon: the first still judges" $LAB_RES4 $LAB_DST4 25 refused 100
	daemon_stop TERM
fi

reports=$(ls "$WORK"/sanitizer.* 2>/dev/null)
check "no sanitizer report from any daemon or command" test -z "$reports"
for r in $reports; do sed 's/^/    /' "$r"; done

echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
