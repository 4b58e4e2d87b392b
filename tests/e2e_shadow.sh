#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end, the shadow policy (issue "Tuning the policy safely"): a
# candidate that rejects 587 for one /24 decides beside the running
# policy; connects still pass, shadow lines name them, the rate holds the
# rest for a summary, the metrics count them, live exceptions reach the
# candidate, a broken candidate is refused, and stop (or a daemon stop
# with a shadow running) ends it with its summaries said.
# Sourced by e2e.sh, which provides the lab, daemon_start/daemon_stop,
# conn, check, ok and no.

# sh_count PY-EXPR: how many block-log lines e satisfy it.
sh_count() {
	python3 - "$WORK/blocks.jsonl" "$1" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if eval(sys.argv[2]):
        n += 1
print(n)
PY
}

sh_metric() {
	in_rt curl -s --max-time 5 http://127.0.0.1:9638/metrics |
		awk -v k="$1" '$1 == k { print $2 }'
}

e2e_shadow() {
	local PC="$TOP/portcullis --control $WORK/control.sock" out rc i n
	local k587='portcullis_shadow_disagreements_total{port="587",direction="would_block"}'

	echo "e2e: shadow policy"
	rm -f "$WORK/blocks.jsonl"
	if ! daemon_start "$WORK/policy.a" --state "$WORK/shadow-state"; then
		no "daemon start (shadow)"
		return
	fi
	# The candidate: 100.64.0.0/24 rejects 587; and a port the running
	# rules do not queue.
	sed -e 's|^subscribers:|  strict:\n    ports: { 25: reject, 465: accept, 587: reject, 2525: reject }\n    default: accept\nsubscribers:\n  - { prefix: 100.64.0.0/24, profile: strict }|' \
		"$WORK/policy.a" >"$WORK/candidate.yaml"
	printf 'version: 1\nprofiles: { strict: { ports: { 587: rejekt } } }\n' >"$WORK/candidate.bad"

	out=$($PC shadow start "$WORK/candidate.bad" 2>&1)
	rc=$?
	check "shadow: a candidate that does not load is refused (exit $rc)" test $rc -eq 1
	check "shadow: with its file:line:col error" \
		grep -qF "candidate.bad:2:37: unknown action \"rejekt\"" <<<"$out"
	check "shadow: and nothing runs" grep -q "no shadow policy runs" <<<"$($PC shadow status 2>&1)"

	out=$($PC shadow start "$WORK/candidate.yaml" 2>&1)
	rc=$?
	check "shadow start: exit 0 ($out)" test $rc -eq 0
	check "shadow start: names what the running rules do not queue" \
		grep -qF "not seen: port 2525" <<<"$out"
	out=$(cd "$WORK" && $PC shadow start candidate.yaml 2>&1)
	rc=$?
	check "shadow start: a second one is refused (exit $rc)" \
		bash -c "[ $rc -eq 1 ] && grep -q 'runs already' <<<'$out'"
	check "metrics: the shadow runs" test "$(sh_metric portcullis_shadow_running)" = 1
	check "metrics: its ports are there from the start, at 0" test "$(sh_metric "$k587")" = 0

	for i in $(seq 12); do
		conn "shadow: 587 still connects ($i)" $LAB_EXC4 $LAB_DST4 587 connected
	done
	conn "shadow: 587 connects outside its /24 (IPv6)" $LAB_RES6 $LAB_DST6 587 connected
	conn "shadow: 25 still rejected as before" $LAB_RES4 $LAB_DST4 25 refused 100
	sleep 0.3
	n=$(sh_count 'e["event"] == "shadow" and e["src"] == "'$LAB_EXC4'" and e["dport"] == 587 and e["action"] == "accept" and e["shadow_action"] == "reject" and e["shadow_profile"] == "strict" and e["shadow_prefix"] == "100.64.0.0/24" and e["profile"] == "residential"')
	check "shadow lines name the source, both decisions and the candidate's entry: 10 (the rate), got $n" test "$n" = 10
	check "shadow: no line where the two agree" \
		test "$(sh_count 'e["event"] == "shadow" and (e["dport"] != 587 or e["src"] != "'$LAB_EXC4'")')" = 0
	check "shadow: no block line for what it would block" \
		test "$(sh_count 'e["event"] == "block" and e["dport"] == 587')" = 0
	check "metrics: 12 would block on 587" test "$(sh_metric "$k587")" = 12
	check "metrics: 10 lines, 2 held for the summary" \
		bash -c "[ '$(sh_metric 'portcullis_shadow_lines_total{as="line"}')' = 10 ] && [ '$(sh_metric 'portcullis_shadow_lines_total{as="summary"}')' = 2 ]"
	out=$($PC shadow status)
	check "shadow status: the counts" grep -qF "12 decided otherwise: 12 would block, 0 would pass" <<<"$out"
	check "shadow status: by port" grep -qE "^  port 587 +12 would block$" <<<"$out"
	check "shadow status --json" python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
assert j["running"] and j["disagreements"]["would_block"] == 12, j
assert j["by_port"] == [{"port": 587, "would_block": 12, "would_pass": 0, "would_change": 0}], j
assert j["judged"] >= 14 and j["lines"] == 10 and j["held"] == 2, j' <<<"$($PC shadow status --json)"
	check "stats: names the shadow" grep -qF "shadow:       $WORK/candidate.yaml: " <<<"$($PC stats)"

	# A live exception reaches the candidate too: no disagreement.
	out=$($PC except add $LAB_EXC4/32 --profile business --for 1h 2>&1)
	check "except add with a shadow running ($out)" test $? -eq 0
	conn "shadow: the exception's 25 connects" $LAB_EXC4 $LAB_DST4 25 connected
	sleep 0.3
	check "shadow: the candidate has the live exception (no line for 25)" \
		test "$(sh_count 'e["event"] == "shadow" and e["dport"] == 25')" = 0
	check "shadow status: loaded again with the exceptions" \
		grep -qF "loaded again 1 times" <<<"$($PC shadow status)"
	$PC except del $LAB_EXC4/32 >/dev/null 2>&1

	out=$($PC shadow stop 2>&1)
	rc=$?
	check "shadow stop: exit 0, its counts" \
		bash -c "[ $rc -eq 0 ] && grep -qF '12 would block' <<<'$out'"
	sleep 0.3
	check "shadow stop: the held-back 2 in a shadow_summary line" \
		test "$(sh_count 'e["event"] == "shadow_summary" and e["src"] == "'$LAB_EXC4'" and e["would_block"] == 2 and e["window_s"] == 60')" = 1
	check "shadow stop: ended" grep -q "no shadow policy runs" <<<"$($PC shadow status 2>&1)"
	$PC shadow stop >/dev/null 2>&1
	check "shadow stop: again, exit 1" test $? -eq 1
	check "metrics: not running, its counts kept" \
		bash -c "[ '$(sh_metric portcullis_shadow_running)' = 0 ] && [ '$(sh_metric "$k587")' = 12 ]"
	before=$(sh_count 'e["event"] == "shadow"')
	conn "shadow stopped: 587 connects" $LAB_EXC4 $LAB_DST4 587 connected
	sleep 0.3
	check "shadow stopped: no more shadow lines" test "$(sh_count 'e["event"] == "shadow"')" = "$before"
	check "portcullis log shows them" grep -qF "shadow reject (strict 100.64.0.0/24)" \
		<<<"$($TOP/portcullis log --src $LAB_EXC4 "$WORK/blocks.jsonl")"
	check "portcullis log --top counts no shadow line as a block" \
		bash -c "! $TOP/portcullis log --top 5 --json '$WORK/blocks.jsonl' | grep -qF '$LAB_EXC4'"

	# A stop of the daemon with a shadow running: its summaries said, a
	# clean exit.
	$PC shadow start "$WORK/candidate.yaml" >/dev/null 2>&1
	for i in $(seq 11); do
		lab_connect $LAB_EXC4 $LAB_DST4 587 0.9 >/dev/null
	done
	daemon_stop TERM
	rc=$?
	check "daemon stop with a shadow running: exit $rc" test $rc -eq 0
	check "daemon stop with a shadow running: its summary written" \
		test "$(sh_count 'e["event"] == "shadow_summary" and e["would_block"] == 1')" = 1
}
