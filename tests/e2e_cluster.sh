#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end, many gateways (DESIGN.md "Many gateways"): two real daemons,
# gw-a and gw-b, in routers of their own, sharing a bucket on a real
# three-node NATS JetStream cluster (tests/lab_cluster.sh). Subscriber
# cust-1 holds an address behind each. A quarantine caught on A holds it
# on B (its list, its kernel set, a subscriber's connect); a release on A
# frees it on B; an exception added on B lets it through on A; each
# within a second. Then: one NATS node killed, still converging; all of
# them stopped, both gateways still enforcing and a change made meanwhile
# reaching the other once the cluster is back; B restarted, catching up
# with what A did while it was gone.
# shellcheck disable=SC2317 # the helpers run through check, prop, trap
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/portcullis-e2e-cluster.XXXXXX)
. "$TOP/tests/lab_cluster.sh"

# Built with SANITIZE=1, the daemons and the CLI write any ASan, LSan or
# UBSan report to $WORK/sanitizer.PID; any is a failure (finish).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$WORK/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$WORK/sanitizer"
# A change is enforced everywhere within a second; a sanitized build is
# slower at everything, so it has three.
LIMIT_MS=1000
if [ "${SANITIZE:-0}" = 1 ] || grep -q fsanitize "$TOP/build/build-flags" 2>/dev/null; then
	LIMIT_MS=3000
fi
# How long a propagation is waited for, to say how late it was.
LATE_S=$((LIMIT_MS * 5 / 1000))

SUB1A=100.64.0.7	# cust-1 behind A
SUB1B=100.64.1.7	# cust-1 behind B
SUB2A=100.64.0.8	# cust-2 behind A
SUB2B=100.64.1.8	# cust-2 behind B

pass=0
fail=0
num=0
WATCHDOG=""
cleanup() {
	[ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
	cl_down
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

ok() { num=$((num + 1)) pass=$((pass + 1)); printf '  ok    %2d %s\n' $num "$*"; }
no() { num=$((num + 1)) fail=$((fail + 1)); printf '  FAIL  %2d %s\n' $num "$*"; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else no "$name"; fi
}

# prop NAME T0_MS COMMAND...: a propagation, counted from T0_MS (the
# wall clock, ms): COMMAND polled every 50 ms; ok when it held within
# LIMIT_MS. Waited for up to LATE_S more to say how late it was.
prop() {
	local name=$1 t0=$2 ms
	shift 2
	cl_wait "$LATE_S" "$@"
	local rc=$?
	ms=$(($(cl_now_ms) - t0))
	if [ $rc -ne 0 ]; then
		no "$name: not within ${LATE_S} s"
	elif [ "$ms" -gt "$LIMIT_MS" ]; then
		no "$name: in $ms ms, over $LIMIT_MS ms"
	else
		ok "$name ($ms ms)"
	fi
}

# race T0_MS 'LABEL|COMMAND'...: every COMMAND polled together, every
# 50 ms, up to LATE_S; the ms from T0_MS each first held in RACE_MS[LABEL]
# (empty when it never did): prop for things that happen side by side.
declare -A RACE_MS=()
race() {
	local t0=$1 i n item left
	shift
	RACE_MS=()
	n=$((LATE_S * 20))
	for ((i = 0; i < n; i++)); do
		left=0
		for item in "$@"; do
			[ -n "${RACE_MS[${item%%|*}]:-}" ] && continue
			if eval "${item#*|}"; then
				RACE_MS[${item%%|*}]=$(($(cl_now_ms) - t0))
			else
				left=1
			fi
		done
		[ $left = 0 ] && return 0
		sleep 0.05
	done
	return 1
}
# judge NAME LABEL: LABEL's time of the last race, against LIMIT_MS.
judge() {
	local ms=${RACE_MS[$2]:-}
	if [ -z "$ms" ]; then
		no "$1: not within ${LATE_S} s"
	elif [ "$ms" -gt "$LIMIT_MS" ]; then
		no "$1: in $ms ms, over $LIMIT_MS ms"
	else
		ok "$1 ($ms ms)"
	fi
}

# conn NAME a|b SRC PORT EXPECT: one connect from SRC behind gateway
# a or b to the internet's mail host, judged.
conn() {
	local out
	out=$(cl_connect "$2" "$3" $CL_DST "$4" 0.5)
	if [ "${out% *}" = "$5" ]; then
		ok "$1: $3 → $CL_DST:$4 ${out% *} (${out#* } ms)"
	else
		no "$1: $3 → $CL_DST:$4 $out, expected $5"
	fi
}

# blocklog_has a|b PYTHON-EXPR: a line of gateway a or b's block log for
# which the expression over e holds.
blocklog_has() {
	python3 - "$WORK/gw$1/blocks.jsonl" "$2" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1]).readlines()
except OSError:
    sys.exit(1)
for line in lines:
    e = json.loads(line)
    if eval(sys.argv[2]):
        sys.exit(0)
sys.exit(1)
PY
}

# metric a|b NAME: the value of metric NAME (no labels) on a or b.
metric() { cl_metrics "$1" | awk -v n="$2" '$1 == n { print $2; f = 1 } END { exit !f }'; }

both_connected() { cl_connected a && cl_connected b; }
queue_empty() { [ "$(cl_cstat "$1" queued)" = 0 ]; }

# quarantine_on_a: cust-1 caught on A by a spam run from its address.
quarantine_on_a() {
	local out
	out=$(cl_burst a $SUB1A)
	cl_wait 2 cl_quarantined a cust-1
	check "A quarantines cust-1 after a spam run ($out; $CL_WAITED_MS ms)" cl_quarantined a cust-1
}

# quarantine_reaches_b WHAT: A's quarantine of cust-1 held on B.
quarantine_reaches_b() {
	local t0
	t0=$(cl_now_ms)
	prop "$1: B lists cust-1 quarantined" "$t0" cl_quarantined b cust-1
	prop "$1: B's kernel set holds $SUB1B . 25" "$t0" cl_kq_in b "$SUB1B . 25"
	conn "$1: B drops cust-1's submission" b $SUB1B 587 timeout
}

# release_reaches_b WHAT: release cust-1 on A, free on B.
release_reaches_b() {
	local t0 out
	out=$(cl_pc a release cust-1 2>&1)
	t0=$(cl_now_ms)
	check "$1: A releases cust-1 ($out)" grep -q "^released cust-1" <<<"$out"
	prop "$1: B's quarantine list no longer has cust-1" "$t0" cl_not_quarantined b cust-1
	prop "$1: B's kernel set no longer holds $SUB1B" "$t0" cl_kq_out b "$SUB1B . 25"
	prop "$1: B lets cust-1's submission through" "$t0" cl_conn_is b $SUB1B $CL_DST 587 connected 0.3
}

# except_reaches_a WHAT: an exception for cust-1 added on B, then deleted.
except_reaches_a() {
	local t0 out
	out=$(cl_pc b except add --subscriber cust-1 --profile business --note T1 2>&1)
	t0=$(cl_now_ms)
	check "$1: B adds an exception for cust-1 ($out)" grep -q "^added subscriber cust-1: profile business" <<<"$out"
	prop "$1: A lets cust-1 ($SUB1A) reach 25" "$t0" cl_conn_is a $SUB1A $CL_DST 25 connected 0.3
	out=$(cl_pc a except list 2>&1)
	check "$1: A's except list shows it ($(grep cust-1 <<<"$out"))" grep -q "cust-1.*business" <<<"$out"
	out=$(cl_pc b except del --subscriber cust-1 2>&1)
	t0=$(cl_now_ms)
	check "$1: B deletes it ($out)" test -n "$out"
	prop "$1: A resets cust-1 on 25 again" "$t0" cl_conn_is a $SUB1A $CL_DST 25 refused 0.3
	out=$(cl_pc a except list 2>&1)
	check "$1: A's except list no longer shows it" bash -c "! grep -q cust-1 <<<'$out'"
}

finish() {
	local g
	if ls "$WORK"/sanitizer.* >/dev/null 2>&1; then
		no "sanitizer reports:"
		cat "$WORK"/sanitizer.* | sed 's/^/    /'
	fi
	if [ "$fail" -gt 0 ]; then
		for g in a b; do
			echo "e2e-cluster: gw-$g's daemon log (last lines):"
			tail -n 25 "$WORK/gw$g/daemon.log" 2>/dev/null | sed 's/^/    /'
			echo "e2e-cluster: gw-$g's quarantine, release and cluster lines:"
			grep -vE '"event":"(block|summary)"' "$WORK/gw$g/blocks.jsonl" 2>/dev/null |
				tail -n 15 | sed 's/^/    /'
		done
	fi
	echo "e2e-cluster: $pass passed, $fail failed in $((($(cl_now_ms) - T_START) / 1000)) s"
	[ "$fail" -eq 0 ]
	exit
}
bail() { no "$*"; finish; }
T_START=$(cl_now_ms)
section() { echo "e2e-cluster: $* (at $((($(cl_now_ms) - T_START) / 1000)) s)"; }

[ "$(id -u)" -eq 0 ] || { echo "e2e-cluster: needs root for network namespaces"; echo "e2e-cluster: 0 passed, 1 failed"; exit 1; }
command -v nats-server >/dev/null || bail "nats-server is not installed"
# The whole run is bounded: a wedged wait ends it as a failure.
# (Its sleep goes with it when cleanup stops it first.)
( trap 'kill $sl 2>/dev/null; exit 0' TERM
  sleep 300 & sl=$!
  wait $sl && { echo "e2e-cluster: over 300 s, stopped" >&2; kill -TERM $$; } ) &
WATCHDOG=$!

section "the lab (two gateways, three NATS nodes, limit $LIMIT_MS ms)"
cl_up || bail "could not build the lab"
if ! cl_sub_addr a $SUB1A $SUB2A || ! cl_sub_addr b $SUB1B $SUB2B; then
	bail "subscriber addresses"
fi
t0=$(cl_now_ms)
cl_nats_up || bail "the NATS cluster did not become ready in 20 s: $(tail -n 5 "$WORK"/nats/n0.log)"
ok "NATS: three nodes with JetStream, meta leader $(cl_nats_leader) ($(($(cl_now_ms) - t0)) ms)"
cl_gw_start a || bail "gw-a's daemon did not start"
cl_gw_start b || bail "gw-b's daemon did not start"
cl_wait 10 cl_connected a
check "gw-a is connected to the cluster ($CL_WAITED_MS ms)" cl_connected a
cl_wait 10 cl_connected b
check "gw-b is connected to the cluster ($CL_WAITED_MS ms)" cl_connected b

out=$(cl_pc a stats --json 2>&1)
check "stats --json: the cluster object (gw-a, pcctest, every count)" python3 -c '
import json, sys
c = json.loads(sys.argv[1])["cluster"]
ints = ("revision", "pending", "queued", "dropped", "published", "applied")
sys.exit(0 if c["gateway"] == "gw-a" and c["bucket"] == "pcctest" and
         c["connected"] is True and all(isinstance(c[k], int) for k in ints) else 1)' "$out"
out=$(cl_pc b stats 2>&1)
check "stats: a cluster line ($(grep '^cluster:' <<<"$out"))" grep -q '^cluster:' <<<"$out"
m=$(cl_metrics b)
check "metrics: every cluster metric" bash -c '
for n in portcullis_cluster_connected portcullis_cluster_revision \
	 portcullis_cluster_pending portcullis_cluster_queued \
	 portcullis_cluster_dropped_total portcullis_cluster_published_total \
	 portcullis_cluster_applied_total; do
	grep -qE "^$n(\{| )" <<<"$1" || { echo "    missing $n" >&2; exit 1; }
done' _ "$m"
check "metrics: portcullis_cluster_connected 1" grep -qx 'portcullis_cluster_connected 1' <<<"$m"
check "metrics: promtool check metrics takes a gateway's /metrics" \
	bash -c 'promtool check metrics <<<"$1"' _ "$m"

out=$(cl_pc a session start cust-1 $SUB1A --for 1h 2>&1)
check "A: cust-1's session ($out)" grep -q "^started cust-1: $SUB1A" <<<"$out"
out=$(cl_pc b session start cust-1 $SUB1B --for 1h 2>&1)
check "B: cust-1's session ($out)" grep -q "^started cust-1: $SUB1B" <<<"$out"
cl_pc a session start cust-2 $SUB2A --for 1h >/dev/null 2>&1
cl_pc b session start cust-2 $SUB2B --for 1h >/dev/null 2>&1
conn "before: A resets 25" a $SUB1A 25 refused
conn "before: B resets 25" b $SUB1B 25 refused
conn "before: B lets cust-1's submission through" b $SUB1B 587 connected

section "a quarantine on A, a release on A, an exception on B"
quarantine_on_a
quarantine_reaches_b "quarantine"
sleep 0.2	# the block log's writer runs on its own thread
check "B's block log: the applied quarantine names gw-a" blocklog_has b \
	"e['event'] == 'quarantine' and e.get('subscriber') == 'cust-1' and e.get('gateway') == 'gw-a'"
check "metrics: A published it ($(metric a portcullis_cluster_published_total))" \
	test "$(metric a portcullis_cluster_published_total)" -ge 1
check "metrics: B applied it ($(metric b portcullis_cluster_applied_total))" \
	test "$(metric b portcullis_cluster_applied_total)" -ge 1
release_reaches_b "release"
sleep 0.2
check "B's block log: the applied release names gw-a" blocklog_has b \
	"e['event'] == 'release' and e.get('subscriber') == 'cust-1' and e.get('gateway') == 'gw-a'"
except_reaches_a "except"

out=$(cl_pc a except history cust-1 2>&1)
check "except history cust-1: a line a record, quarantine to del ($(wc -l <<<"$out") lines)" bash -c '
grep -q "quarantine" <<<"$1" && grep -q "release" <<<"$1" &&
grep -qE "add.*business|business.*add" <<<"$1" && grep -qw "del" <<<"$1" &&
grep -qw gw-a <<<"$1" && grep -qw gw-b <<<"$1"' _ "$out"
out=$(cl_pc b except history cust-1 --json 2>&1)
f0=$fail
check "except history --json: quarantine, release by gw-a; add (T1), del by gw-b; revisions rising" python3 -c '
import json, sys
h = json.loads(sys.argv[1])
seen = [(r["kind"], r["op"], r["gateway"]) for r in h if r.get("subscriber") == "cust-1"]
want = [("quarantine", "quarantine", "gw-a"), ("quarantine", "release", "gw-a"),
        ("exception", "add", "gw-b"), ("exception", "del", "gw-b")]
add = [r for r in h if r["op"] == "add"]
revs = [r["revision"] for r in h]
ok = (all(w in seen for w in want) and add and add[0].get("profile") == "business"
      and add[0].get("note") == "T1" and all("time" in r for r in h)
      and sorted(revs) == revs)
sys.exit(0 if ok else 1)' "$out"
[ "$fail" -eq "$f0" ] || sed 's/^/    /' <<<"$out"
out=$(cl_pc a except history 2>&1)
check "except history (every key): the same four records ($(wc -l <<<"$out") lines)" \
	test "$(grep -c cust-1 <<<"$out")" -ge 4

section "one NATS node killed"
# The node that leads the bucket's stream, else the first.
victim=$(cl_nats_stream_leader KV_pcctest)
cl_nats_stop "${victim:-0}" KILL
t0=$(cl_now_ms)
cl_wait 45 cl_nats_stream_has_leader KV_pcctest
check "NATS: the bucket has a leader again after pcc-n${victim:-0} was killed ($CL_WAITED_MS ms)" \
	cl_nats_stream_has_leader KV_pcctest
cl_wait 30 both_connected
check "both gateways connected again ($(($(cl_now_ms) - t0)) ms)" both_connected
# The issue asks that it still converge with a node gone, not that it do
# so within the second: the first publish after the kill may meet a
# stream still settling ("no responders") and be tried again. Three times
# the limit, each time said.
limit_was=$LIMIT_MS
LIMIT_MS=$((LIMIT_MS * 3))
quarantine_on_a
quarantine_reaches_b "node killed: quarantine"
release_reaches_b "node killed: release"
except_reaches_a "node killed: except"
quarantine_on_a
quarantine_reaches_b "node killed: quarantine again"
LIMIT_MS=$limit_was

section "the whole NATS cluster stopped"
for i in 0 1 2; do cl_nats_stop $i TERM; done
cl_wait 10 cl_connected a false
check "gw-a says it is not connected ($CL_WAITED_MS ms)" cl_connected a false
cl_wait 10 cl_connected b false
check "gw-b says it is not connected ($CL_WAITED_MS ms)" cl_connected b false
check "metrics: portcullis_cluster_connected 0" test "$(metric b portcullis_cluster_connected)" = 0
conn "no cluster: A still resets 25" a $SUB2A 25 refused
conn "no cluster: B still resets 25" b $SUB2B 25 refused
conn "no cluster: A still holds quarantined cust-1" a $SUB1A 587 timeout
conn "no cluster: B still holds quarantined cust-1" b $SUB1B 587 timeout
out=$(cl_pc a release cust-1 2>&1)
check "no cluster: A releases cust-1 ($out)" grep -q "^released cust-1" <<<"$out"
out=$(cl_pc a except add --subscriber cust-2 --profile business --note T2 2>&1)
check "no cluster: A adds an exception for cust-2 ($out)" grep -q "^added subscriber cust-2" <<<"$out"
conn "no cluster: A enforces its own changes at once" a $SUB1A 587 connected
q=$(cl_cstat a queued)
check "no cluster: A's changes wait, queued ($q)" test "${q:-0}" -ge 2
check "no cluster: B still holds cust-1, not having heard" cl_quarantined b cust-1
for i in 0 1 2; do cl_nats_start $i; done
cl_wait 60 cl_nats_ready
t_up=$(cl_now_ms)
check "NATS: the three nodes are back, same stores, a meta leader ($CL_WAITED_MS ms)" cl_nats_ready
# Measured from the nodes' ready as NATS says it (/healthz: their streams,
# the bucket's, current); how long after the meta leader that was, said.
cl_wait 60 cl_nats_healthy
t0=$(cl_now_ms)
check "NATS: every node's /healthz ok ($((t0 - t_up)) ms after; bucket leader pcc-n$(cl_nats_stream_leader KV_pcctest))" cl_nats_healthy
race "$t0" "free|cl_not_quarantined b cust-1" "kq|cl_kq_out b '$SUB1B . 25'" \
	"except|cl_conn_is b $SUB2B $CL_DST 25 connected 0.3" \
	"a|cl_connected a" "b|cl_connected b" "queue|queue_empty a"
echo "        (from /healthz ok: A connected at ${RACE_MS[a]:-?} ms, B at ${RACE_MS[b]:-?} ms, A's queue empty at ${RACE_MS[queue]:-?} ms)"
judge "cluster back: B frees cust-1" free
judge "cluster back: B's kernel set lets $SUB1B go" kq
judge "cluster back: B lets cust-2 ($SUB2B) reach 25" except
cl_wait 5 queue_empty a
check "cluster back: A's queue is empty ($(cl_cstat a queued))" queue_empty a

section "gateway B restarted while A changes things"
t0=$(cl_now_ms)
cl_gw_stop b TERM
rc=$?
check "gw-b stops cleanly (exit $rc, $(($(cl_now_ms) - t0)) ms)" test $rc -eq 0
out=$(cl_pc a except del --subscriber cust-2 2>&1)
check "A deletes cust-2's exception while B is down ($out)" test -n "$out"
quarantine_on_a
cl_gw_start b || bail "gw-b's daemon did not start again"
t0=$(cl_now_ms)
prop "B restarted: catches up with A's quarantine of cust-1" "$t0" cl_quarantined b cust-1
prop "B restarted: its kernel set holds $SUB1B" "$t0" cl_kq_in b "$SUB1B . 25"
prop "B restarted: cust-2's exception is gone (25 reset)" "$t0" cl_conn_is b $SUB2B $CL_DST 25 refused 0.3
same_rev() {
	local ra rb
	ra=$(cl_cstat a revision) rb=$(cl_cstat b revision)
	[ -n "$ra" ] && [ "$ra" = "$rb" ] && [ "$(cl_cstat b pending)" = 0 ]
}
# Caught up: eventually, not within a second (the issue bounds the
# propagation, not a restart; pending is the server's count, read once a
# second).
cl_wait 10 same_rev
check "B restarted: its revision is A's, nothing pending ($(($(cl_now_ms) - t0)) ms)" same_rev
check "revisions: A $(cl_cstat a revision), B $(cl_cstat b revision)" same_rev

for g in a b; do
	t0=$(cl_now_ms)
	cl_gw_stop $g TERM
	rc=$?
	check "gw-$g stops cleanly (exit $rc, $(($(cl_now_ms) - t0)) ms)" test $rc -eq 0
done
finish
