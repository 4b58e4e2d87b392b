#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end, the kernel quarantine (issue "quarantine in the kernel"): a
# quarantined subscriber's flood is dropped before the queues and still
# accounted for in the summaries, the sets follow releases, expiry and
# reloads, and --no-kernel-quarantine sends it all to the daemon again.
# Sourced by e2e.sh, which provides the lab, daemon_start/daemon_stop,
# conn, check, ok and no.

KQ_SPAM6=2001:db8:1:99::5	# residential, IPv6 spam runs

# The queues' packet id counters (/proc/net/netfilter/nfnetlink_queue's
# eighth field), summed: whatever the kernel handed a queue moves it.
queue_ids() {
	in_rt awk '{ n += $8 } END { print n + 0 }' /proc/net/netfilter/nfnetlink_queue
}

# kq_flood SRC4 N: N SYNs to 25 from SRC4 (to 198.51.100.128/26: neither
# the router's own address nor its broadcast) at 10,000 a
# second at most; prints how many reached the router (counted on its
# subscriber side: the veth may drop some of a burst before any rule).
kq_flood() {
	local mac lc
	mac=$(ip -n "$NS_RT" -br link show rt-sub | awk '{print $3}')
	ip netns exec "$NS_RT" "$TOP/build/bench/leakcount" -i rt-sub -p 25 -o "$WORK/kq.in" &
	lc=$!
	sleep 0.3
	in_sub "$TOP/build/bench/syngen" -i sub0 -m "$mac" -4 "$1/32" \
		-D 198.51.100.128/26 -p 25 -n "$2" -t 10 -r 10000 >"$WORK/kq.sent"
	sleep 0.2
	kill -TERM $lc
	wait $lc
	sed -n 's/^syns \([0-9]*\) .*/\1/p' "$WORK/kq.in"
}

# kq_kernel_sum LOG SRC: the "kernel" of SRC's summaries, summed.
kq_kernel_sum() {
	python3 - "$1" "$2" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "summary" and e["src"] == sys.argv[2]:
        n += e.get("kernel", 0)
print(n)
PY
}

KQ=PORTCULLIS_kq	# the kernel quarantine's nf_tables table

# kq_list SET: nft's listing of the kernel quarantine's set, one element
# a line ("100.64.0.50 . 25 counter packets 0 bytes 0 timeout 1h ...").
kq_list() {
	ip netns exec "$NS_RT" nft list set inet $KQ "$1" 2>/dev/null | tr -d '\n' |
		sed -n 's/.*elements = {\(.*\)}.*/\1/p' | tr ',' '\n' |
		sed 's/^[[:space:]]*//'
}

# kq_packets SET ELEM: the kernel's counter of ELEM ("A . 25") in SET.
kq_packets() {
	kq_list "$1" | awk -v e="$2" 'index($0, e " counter packets ") == 1 {
		for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }' | head -n 1
}

kq_elem_in() { kq_list "$1" | grep -q "^$2 counter "; }

e2e_kernel_quarantine() {
	export -f kq_list kq_elem_in
	export NS_RT KQ
	local PC="$TOP/portcullis --control $WORK/control.sock" out q0 q1 sent
	local k s m t

	echo "e2e: the kernel quarantine"
	sed -e "s|^  per_subscriber: .*|  per_subscriber: 10/s|" "$WORK/policy.a" >"$WORK/kq.yaml"
	rm -f "$WORK/blocks.jsonl"
	if ! daemon_start "$WORK/kq.yaml"; then
		no "daemon start (kernel quarantine)"
		return
	fi
	out=$(in_sub python3 "$LAB_DIR/lab_tcp.py" burst $LAB_SPAM4 198.51.100.10 25 25 100 0.5)
	check "kq: a spammer is quarantined ($out)" grep -qE "^$LAB_SPAM4 " <<<"$($PC quarantine)"
	sleep 1.2	# the tick puts it in the kernel's sets
	t=$(kq_list kq4 | grep "^$LAB_SPAM4 \. 25 ")
	check "kq: the kernel's set holds it with port 25, timeout its hour ($t)" \
		grep -q " timeout 1h expires 59m" <<<"$t"
	check "kq: and with 465 and 587 (the quarantine drops them)" bash -c \
		"kq_elem_in kq4 '$LAB_SPAM4 . 465' && kq_elem_in kq4 '$LAB_SPAM4 . 587'"
	check "kq: its table hooks forward ahead of iptables' (and its relays return)" bash -c \
		"ip netns exec $NS_RT nft list table inet $KQ | grep -q 'hook forward priority filter - 1;' &&
		 ip netns exec $NS_RT nft list table inet $KQ | grep -q 'ip daddr 192.0.2.25 return'"

	# IPv6: raw SYNs from one /64 to many destinations.
	out=$(in_sub "$TOP/build/bench/syngen" -i sub0 -m "$(ip -n "$NS_RT" -br link show rt-sub | awk '{print $3}')" \
		-6 "$KQ_SPAM6/128" -E 2001:db8:2::/120 --v6 100 -p 25 -n 150 -r 2000 2>&1)
	sleep 1.2
	check "kq: an IPv6 spammer's /64 is in the kernel's set ($out)" \
		kq_elem_in kq6 "2001:db8:1:99::/64 . 25"

	# The flood: dropped in the kernel, never queued, every SYN said.
	ip netns exec "$NS_NET" "$TOP/build/bench/leakcount" -i net0 -p 25 -o "$WORK/kq.leak" &
	local lc=$!
	sleep 0.3
	k=$(kq_packets kq4 "$LAB_SPAM4 . 25")
	q0=$(queue_ids)
	sent=$(kq_flood $LAB_SPAM4 20000)
	q1=$(queue_ids)
	check "kq: the flood never reached a queue (ids $q0 → $q1, $sent arrived of $(cat "$WORK/kq.sent"))" \
		test "$q0" = "$q1" -a "${sent:-0}" -gt 15000
	sleep 0.3
	kill -TERM $lc; wait $lc
	check "kq: no SYN of it reached the internet ($(cat "$WORK/kq.leak"))" grep -q "^syns 0 " "$WORK/kq.leak"
	s=$(kq_packets kq4 "$LAB_SPAM4 . 25")
	check "kq: the kernel counted every SYN that arrived ($k → $s, $sent arrived)" test $((s - k)) -eq "${sent:-0}"
	sleep 2.5	# the tick reads the counters; the rate window ends
	m=$(in_rt curl -s --max-time 5 http://127.0.0.1:9638/metrics)
	t=$(sed -n 's/^portcullis_kernel_quarantine_drops_total{action="drop",port="25"} //p' <<<"$m")
	check "kq: metrics count them (drops on 25: $t)" test "${t:-0}" -ge "$sent"
	printf '%s\n' "$m" >"$WORK/kq.metrics"
	check "kq: promtool check metrics takes them (kernel quarantine, sessions)" \
		bash -c "promtool check metrics <'$WORK/kq.metrics'"
	out=$($PC quarantine)
	check "kq: portcullis quarantine shows the kernel's count" \
		awk -v a=$LAB_SPAM4 -v n="$s" '$1 == a && $5 >= n { f = 1 } END { exit !f }' <<<"$out"
	out=$($PC stats)
	check "kq: portcullis stats says it is on" grep -qE "^kernel quarantine: on; [0-9]+ SYNs blocked" <<<"$out"
	t=$(kq_kernel_sum "$WORK/blocks.jsonl" $LAB_SPAM4)
	check "kq: the summaries' kernel add up to the kernel's counter ($t, counter $s)" test "$t" -eq "$s"
	check "kq: block lines plus summaries account for every blocked SYN" python3 - "$WORK/blocks.jsonl" "$LAB_SPAM4" "$sent" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("src") != sys.argv[2]:
        continue
    n += 1 if e["event"] == "block" else e["blocked"] if e["event"] == "summary" else 0
sys.exit(0 if n >= 100 + int(sys.argv[3]) else 1)
PY
	out=$("$TOP/portcullis" log "$WORK/blocks.jsonl" --top 3 --json 2>&1)
	check "kq: log --top counts them, and says which were the kernel's" python3 - "$LAB_SPAM4" "$sent" <<PY
import json, sys
top = json.loads("""$out""")
me = [s for s in top if s["src"] == sys.argv[1]][0]
sys.exit(0 if me["kernel"] >= int(sys.argv[2]) and me["blocked"] >= 100 + me["kernel"] else 1)
PY

	# Release: out of the kernel at once, 587 connects, and caught again.
	out=$($PC release $LAB_SPAM4 2>&1)
	check "kq: release: the elements are gone at once" bash -c \
		"! kq_list kq4 | grep -q '^$LAB_SPAM4 ' &&
		 ! ip netns exec $NS_RT ipset list PORTCULLIS-q4 | grep -q '^$LAB_SPAM4 '"
	conn "kq: release: 587 connects at once" $LAB_SPAM4 $LAB_DST4 587 connected
	out=$(in_sub python3 "$LAB_DIR/lab_tcp.py" burst $LAB_SPAM4 198.51.100.10 25 25 100 0.5)
	check "kq: starting again at once: caught again" grep -qE "^$LAB_SPAM4 " <<<"$($PC quarantine)"
	sleep 1.2
	check "kq: and back in the kernel's set" kq_elem_in kq4 "$LAB_SPAM4 . 25"

	# Reload with a changed quarantine profile: reject 25, drop 465,
	# accept 587.
	sed -e 's/^    ports: { 25: drop, 465: drop, 587: drop }$/    ports: { 25: reject, 465: drop, 587: accept }/' \
		"$WORK/kq.yaml" >"$WORK/kq.new"
	check "kq: the test's policy has the quarantine profile to change" bash -c "! cmp -s '$WORK/kq.yaml' '$WORK/kq.new'"
	cp "$WORK/kq.new" "$WORK/kq.yaml"
	out=$($PC reload 2>&1)
	check "kq: reload ($out)" test $? -eq 0
	sleep 1.2
	check "kq: reload: port 25's rule rejects now" bash -c \
		"ip netns exec $NS_RT nft list table inet $KQ | grep -q 'tcp dport 25 ip saddr . tcp dport @kq4 counter packets [0-9]* bytes [0-9]* reject with tcp reset'"
	check "kq: reload: 587 has no rule, and no element" bash -c \
		"! ip netns exec $NS_RT nft list table inet $KQ | grep -q 'quarantine port 587' &&
		 ! kq_elem_in kq4 '$LAB_SPAM4 . 587'"
	conn "kq: reload: the quarantined subscriber is reset on 25" $LAB_SPAM4 $LAB_DST4 25 refused 100
	conn "kq: reload: and connects on 587" $LAB_SPAM4 $LAB_DST4 587 connected
	conn "kq: reload: but not on 465" $LAB_SPAM4 $LAB_DST4 465 timeout
	daemon_stop TERM
	check "kq: stopped: the fallback still holds it, the table is gone" bash -c \
		"ip netns exec $NS_RT ipset list PORTCULLIS-q4 | grep -q '^$LAB_SPAM4 timeout' &&
		 ! ip netns exec $NS_RT nft list tables | grep -q $KQ"
	conn "kq: stopped: the quarantined subscriber is still refused on 25" $LAB_SPAM4 $LAB_DST4 25 refused 100
	in_rt "$TOP/portcullis" rules --remove >/dev/null 2>&1

	# Expiry: a quarantine of 3 s leaves the kernel with it.
	sed -e 's/^  quarantine_for: .*/  quarantine_for: 3s/' "$WORK/kq.yaml" >"$WORK/kq3.yaml"
	rm -f "$WORK/blocks.jsonl"
	if daemon_start "$WORK/kq3.yaml"; then
		in_sub python3 "$LAB_DIR/lab_tcp.py" burst $LAB_SPAM4 198.51.100.10 25 25 100 0.5 >/dev/null
		sleep 1.2
		check "kq: expiry: in the kernel's set first" kq_elem_in kq4 "$LAB_SPAM4 . 25"
		sleep 3
		check "kq: expiry: gone with it" bash -c "! kq_list kq4 | grep -q '^$LAB_SPAM4 '"
		check "kq: expiry: a release line, expired" grep -qE \
			"\"event\":\"release\",\"src\":\"$LAB_SPAM4\",\"reason\":\"expired\"" "$WORK/blocks.jsonl"
		conn "kq: expiry: 587 connects" $LAB_SPAM4 $LAB_DST4 587 connected
		daemon_stop TERM
	else
		no "daemon start (kernel quarantine expiry)"
	fi

	# Turned off: the flood goes to the daemon, which still blocks it.
	if daemon_start "$WORK/kq.yaml" --no-kernel-quarantine; then
		in_sub python3 "$LAB_DIR/lab_tcp.py" burst $LAB_SPAM4 198.51.100.10 25 25 100 0.5 >/dev/null
		sleep 1.2
		check "kq off: quarantined, and no kernel quarantine table" bash -c \
			"$PC quarantine | grep -q '^$LAB_SPAM4 ' && ! ip netns exec $NS_RT nft list tables | grep -q $KQ"
		check "kq off: no kernel quarantine rule" bash -c \
			"! ip netns exec $NS_RT iptables -S PORTCULLIS | grep -q 'quarantine port'"
		q0=$(queue_ids)
		sent=$(kq_flood $LAB_SPAM4 2000)
		q1=$(queue_ids)
		check "kq off: the flood went to the queues (ids $q0 → $q1, $sent arrived)" test $((q1 - q0)) -ge "${sent:-1}"
		check "kq off: portcullis stats says why it is off" grep -qF "kernel quarantine: off (--no-kernel-quarantine)" <<<"$($PC stats)"
		daemon_stop TERM
	else
		no "daemon start (--no-kernel-quarantine)"
	fi
}
