#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end, the kernel side (issue "port 25 never opens"): fragmented
# SYNs crafted with scapy, the fallback while no daemon runs, stops,
# restarts, failed starts and reloads under a connect loop, a flushed
# FORWARD put back, and rules --remove. Sourced by e2e.sh, which provides
# the lab, daemon_start/daemon_stop, conn, check, ok and no.

SCAPY=/usr/bin/python3	# Debian's, where python3-scapy is

# frag_run NAME: every fragment case through the router as it is now;
# the internet side captures what arrives. Checks that no attack makes a
# SYN to 25 arrive or be answered, and that the legitimate ones connect.
frag_run() {
	local name=$1 line c a j s
	local specs="tiny8:$LAB_RES4:$LAB_DST4:25 tiny16:$LAB_RES4:$LAB_DST4:25
		overlap:$LAB_RES4:$LAB_DST4:25 portswap:$LAB_RES4:$LAB_DST4:25
		reorder:$LAB_RES4:$LAB_DST4:25
		v6hdr2:[$LAB_RES6]:[$LAB_DST6]:25 v6tiny:[$LAB_RES6]:[$LAB_DST6]:25
		v6overlap:[$LAB_RES6]:[$LAB_DST6]:25
		legit:$LAB_RES4:$LAB_DST4:587 legit6:[$LAB_RES6]:[$LAB_DST6]:587
		legit:$LAB_BIZ4:$LAB_DST4:25"
	rm -f "$WORK/frag.cap"
	in_net "$SCAPY" "$LAB_DIR/lab_frag.py" capture net0 "$WORK/frag.cap" 12 &
	local cap=$!
	sleep 1.2	# scapy's import, then the sniffer
	# shellcheck disable=SC2086
	in_sub "$SCAPY" "$LAB_DIR/lab_frag.py" send $specs >"$WORK/frag.sent" 2>&1
	wait $cap
	j=$("$SCAPY" "$LAB_DIR/lab_frag.py" judge "$WORK/frag.cap" "$WORK/frag.sent" 2>&1)
	local i=0
	for s in $specs; do
		c=${s%%:*}
		a=$(sed -n "$((i + 1))p" "$WORK/frag.sent")
		line=$(sed -n "$((i + 1))p" <<<"$j")
		i=$((i + 1))
		case $s in
		legit:$LAB_BIZ4:*)
			check "$name: business fragmented SYN to 25 is answered ($a; $line)" \
				grep -q "synack=[1-9]" <<<"$a";;
		legit*)
			check "$name: $c to 587 is answered ($a; $line)" \
				grep -q "synack=[1-9]" <<<"$a";;
		*)
			check "$name: $c: no SYN to 25 arrives or is answered ($a; $line)" \
				bash -c "grep -q 'synack=0' <<<'$a' && grep -q ' syn=0' <<<'$line'";;
		esac
	done
}

e2e_fragments() {
	echo "e2e: fragmented SYNs (scapy), router without conntrack"
	if ! "$SCAPY" -c 'import scapy' 2>/dev/null; then
		no "fragments: $SCAPY has no scapy (python3-scapy)"
		return
	fi
	if ! daemon_start "$WORK/policy.yaml"; then
		no "daemon start (fragments)"
		return
	fi
	frag_run "no conntrack"
	echo "e2e: fragmented SYNs, router with conntrack (it reassembles)"
	in_rt iptables -A INPUT -m conntrack --ctstate INVALID -j DROP
	in_rt ip6tables -A INPUT -m conntrack --ctstate INVALID -j DROP
	frag_run "conntrack"
	in_rt iptables -D INPUT -m conntrack --ctstate INVALID -j DROP
	in_rt ip6tables -D INPUT -m conntrack --ctstate INVALID -j DROP
	daemon_stop TERM
	echo "e2e: fragmented SYNs while no daemon runs (the fallback)"
	frag_run "fallback"
}

# loops_start: residential 25, residential 587, business 25 and IPv6
# residential 25, every 50 ms, until $WORK/loops.stop exists.
loops_start() {
	rm -f "$WORK/loops.stop"
	LOOPS=""
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop-until $LAB_RES4 $LAB_DST4 25 "$WORK/loops.stop" 1.0 0.05 >"$WORK/lp25" &
	LOOPS="$LOOPS $!"
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop-until $LAB_RES4 $LAB_DST4 587 "$WORK/loops.stop" 2.5 0.05 >"$WORK/lp587" &
	LOOPS="$LOOPS $!"
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop-until $LAB_BIZ4 $LAB_DST4 25 "$WORK/loops.stop" 2.5 0.05 >"$WORK/lpbiz" &
	LOOPS="$LOOPS $!"
	in_sub python3 "$LAB_DIR/lab_tcp.py" loop-until $LAB_RES6 $LAB_DST6 25 "$WORK/loops.stop" 1.0 0.05 >"$WORK/lp6" &
	LOOPS="$LOOPS $!"
	sleep 0.3
}

loops_check() {
	local name=$1
	touch "$WORK/loops.stop"
	# shellcheck disable=SC2086
	wait $LOOPS
	check "$name: residential 25 never connected ($(cat "$WORK/lp25"))" \
		bash -c "grep -qE '^refused=[0-9]+$' '$WORK/lp25'"
	check "$name: IPv6 residential 25 never connected ($(cat "$WORK/lp6"))" \
		bash -c "grep -qE '^refused=[0-9]+$' '$WORK/lp6'"
	check "$name: residential 587 always connected ($(cat "$WORK/lp587"))" \
		bash -c "grep -qE '^connected=[0-9]+$' '$WORK/lp587'"
	check "$name: business 25 always connected ($(cat "$WORK/lpbiz"))" \
		bash -c "grep -qE '^connected=[0-9]+$' '$WORK/lpbiz'"
}

# Nothing of ours in any of the kernel's tables.
nothing_left() {
	! { in_rt iptables-save; in_rt ip6tables-save; in_rt ipset list -n
	    in_rt nft list ruleset; } 2>/dev/null | grep -qi portcullis
}

e2e_fallback() {
	local PC="$TOP/portcullis --control $WORK/control.sock" out rc t0 ms

	echo "e2e: stop and restart never open port 25"
	rm -f "$WORK/blocks.jsonl"
	if ! daemon_start "$WORK/policy.yaml"; then
		no "daemon start (fallback)"
		return
	fi
	$PC except add $LAB_EXC4/32 --profile business --note "fallback test" >/dev/null
	out=$(in_sub python3 "$LAB_DIR/lab_tcp.py" burst $LAB_SPAM4 198.51.100.10 25 25 100 0.5)
	check "a spammer is quarantined ($out)" grep -qE "^$LAB_SPAM4 " <<<"$($PC quarantine)"
	sleep 1.2	# the tick puts it in the kernel's quarantine set
	check "the kernel's quarantine set holds it" bash -c \
		"ip netns exec $NS_RT ipset list PORTCULLIS-q4 | grep -q '^$LAB_SPAM4 timeout'"
	loops_start
	daemon_stop TERM
	rc=$?
	check "clean stop: exit status 0" test $rc -eq 0
	check "clean stop: the fallback rules are in, IPv4 and IPv6" bash -c \
		"ip netns exec $NS_RT iptables -S PORTCULLIS | grep -q 'portcullis fallback since .* -j PORTCULLIS-FB' &&
		 ip netns exec $NS_RT ip6tables -S PORTCULLIS | grep -q 'portcullis fallback since .* -j PORTCULLIS-FB'"
	check "clean stop: no queue rule is reached" bash -c \
		"! ip netns exec $NS_RT iptables -S PORTCULLIS | grep -q -- '-j PORTCULLIS-CLOSED'"
	conn "stopped: residential 25 is reset at once" $LAB_RES4 $LAB_DST4 25 refused 100
	conn "stopped: IPv6 residential 25 is reset at once" $LAB_RES6 $LAB_DST6 25 refused 100
	conn "stopped: residential 587 connects" $LAB_RES4 $LAB_DST4 587 connected
	conn "stopped: IPv6 residential 465 connects" $LAB_RES6 $LAB_DST6 465 connected
	conn "stopped: the business entry connects on 25" $LAB_BIZ4 $LAB_DST4 25 connected
	conn "stopped: IPv6 business entry connects on 25" $LAB_BIZ6 $LAB_DST6 25 connected
	conn "stopped: the list file's entry connects on 25" $LAB_LIST4 $LAB_DST4 25 connected
	conn "stopped: the live exception connects on 25" $LAB_EXC4 $LAB_DST4 25 connected
	conn "stopped: the expired entry is reset" $LAB_EXP4 $LAB_DST4 25 refused 100
	conn "stopped: the relay is reachable" $LAB_RES4 $LAB_RELAY4 25 connected
	conn "stopped: a non-subscriber passes" $LAB_NON4 $LAB_DST4 25 connected
	conn "stopped: the quarantined subscriber stays held on 587" $LAB_SPAM4 $LAB_DST4 587 timeout
	conn "stopped: and on 25" $LAB_SPAM4 $LAB_DST4 25 timeout

	echo "e2e: a start that fails leaves the fallback in"
	mkdir -p "$WORK/badstate"
	printf 'version: 1\nexceptions: [ {' >"$WORK/badstate/exceptions.yaml"
	out=$(in_rt "$TOP/portcullisd" -c "$WORK/policy.yaml" --control "$WORK/c3.sock" \
		--state "$WORK/badstate" --user root 2>&1)
	rc=$?
	check "bad state file: the start fails ($(tail -n 1 <<<"$out"))" test $rc -ne 0
	out=$(in_rt "$TOP/portcullisd" -c "$WORK/policy.yaml" --control "$WORK/c3.sock" \
		--state "$WORK/state" --user root --backend nft --metrics off 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		check "--backend nft without nft_queue: one clear line" \
			grep -q "this kernel lacks nft's queue expression (nft_queue): use --backend iptables" <<<"$out"
	else
		ok "--backend nft: this kernel has nft_queue"
	fi
	check "failed starts: the fallback is still in" bash -c \
		"ip netns exec $NS_RT iptables -S PORTCULLIS | grep -q 'portcullis fallback since'"
	conn "failed starts: residential 25 still reset" $LAB_RES4 $LAB_DST4 25 refused 100
	conn "failed starts: business still connects" $LAB_BIZ4 $LAB_DST4 25 connected

	echo "e2e: the start after the fallback"
	if daemon_start "$WORK/policy.yaml"; then
		sleep 0.2
		check "start: says what the kernel judged alone" grep -q "the kernel judged alone since" "$WORK/daemon.log"
		check "start: a fallback line with what it judged" python3 - "$WORK/blocks.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
fb = [l for l in lines if l["event"] == "fallback"]
ok = fb and fb[-1]["rejected"] >= 3 and fb[-1]["accepted"] >= 5 and \
    fb[-1]["dropped"] >= 2 and fb[-1]["since"] <= fb[-1]["until"]
sys.exit(0 if ok else 1)
PY
		out=$("$TOP/portcullis" log "$WORK/blocks.jsonl" 2>&1)
		check "portcullis log shows the fallback line" grep -q "fallback .*no daemon from .* rejected [0-9]" <<<"$out"
		check "start: the queue rules are back" bash -c \
			"ip netns exec $NS_RT iptables -S PORTCULLIS | grep -q -- '-j PORTCULLIS-CLOSED'"
		$PC reload >/dev/null 2>&1
		check "reload under the loop succeeds" test $? -eq 0
		daemon_stop TERM
		daemon_start "$WORK/policy.yaml" || no "restart under the loop"
	else
		no "start after the fallback"
	fi
	loops_check "stop, failed starts, start, reload, restart"

	echo "e2e: a flushed FORWARD chain is put back"
	out=$($PC except del $LAB_EXC4/32 2>&1)
	in_rt iptables -F FORWARD
	in_rt ip6tables -F FORWARD
	t0=$(date +%s%N)
	while :; do
		out=$(lab_connect $LAB_RES4 $LAB_DST4 25 0.3)
		[ "${out% *}" = refused ] && break
		[ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 3000 ] && break
		sleep 0.1
	done
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	check "flushed FORWARD: residential 25 refused again within 2 s ($ms ms)" \
		bash -c "[ '${out% *}' = refused ] && [ $ms -le 2000 ]"
	conn "flushed FORWARD: IPv6 residential 25 refused again" $LAB_RES6 $LAB_DST6 25 refused 100
	check "flushed FORWARD: logged as a warning" grep -q "the kernel ruleset was changed (iptables lacks: -A FORWARD" "$WORK/daemon.log"
	m=$(in_rt curl -s --max-time 5 http://127.0.0.1:9638/metrics)
	check "flushed FORWARD: counted in portcullis_rules_restored_total" \
		grep -qE '^portcullis_rules_restored_total [1-9]' <<<"$m"
	check "flushed FORWARD: stats says so" grep -qE "put back after a change from outside: [1-9]" <<<"$($PC stats)"
	in_rt iptables -F FORWARD
	out=$($PC reload 2>&1)
	check "reload checks the kernel, not only the text ($(head -n 1 <<<"$out"))" \
		grep -q "the kernel ruleset was changed (.*): put back" <<<"$out"
	in_rt ipset flush PORTCULLIS-4-1-1
	sleep 1.5
	conn "flushed set: business connects again (queue rules)" $LAB_BIZ4 $LAB_DST4 25 connected
	check "flushed set: refilled" bash -c \
		"ip netns exec $NS_RT ipset list -t PORTCULLIS-4-1-1 | grep -q 'Number of entries: [1-9]'"
	daemon_stop TERM

	echo "e2e: portcullis rules --remove takes everything out"
	out=$(in_rt "$TOP/portcullis" rules --remove 2>&1)
	check "rules --remove: says so ($out)" test $? -eq 0
	check "rules --remove: nothing named portcullis in iptables, ip6tables, ipset or nft" nothing_left
	conn "rules --remove: the router is unfiltered" $LAB_RES4 $LAB_DST4 25 connected
	out=$(in_rt "$TOP/portcullis" rules --remove 2>&1)
	check "rules --remove twice: no error" test $? -eq 0

	echo "e2e: --on-stop remove keeps the old behaviour"
	if daemon_start "$WORK/policy.yaml" --on-stop remove; then
		daemon_stop TERM
		check "--on-stop remove: nothing left" nothing_left
	else
		no "daemon start --on-stop remove"
	fi
}
