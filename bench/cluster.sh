#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Many gateways over NATS JetStream (make bench-cluster; root, the lab of
# tests/lab_cluster.sh: gw-a and gw-b, a three-node cluster):
#   1. propagation: Q quarantines caught on gw-a (a small spam run from
#      each of Q subscribers, sessions on both gateways), each timed from
#      its quarantine line in A's block log (ts) to its address appearing
#      in B's kernel quarantine set (polled every 5 ms): p50, p99, max;
#   2. a new gateway loading the bucket: RECORDS quarantine records put
#      straight into it (bench/kvfill), then a gateway with an empty state
#      folder started, timed until its stats --json cluster.revision is the
#      bucket's last revision with nothing pending; REPS times, median.
# Results to stdout and BENCH_OUT (bench/results/DATE-cluster.txt).
# shellcheck disable=SC2317 # the helpers run through cl_wait, trap
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/portcullis-bcluster.XXXXXX)
. "$TOP/tests/lab_cluster.sh"
Q=${CLUSTER_QUARANTINES:-50}
RECORDS=${CLUSTER_RECORDS:-100000}
REPS=${BENCH_REPS:-3}
LOAD_MAX_S=${CLUSTER_LOAD_MAX_S:-300}
OUT=${BENCH_OUT:-$TOP/bench/results/$(date -u +%F)-cluster.txt}
URLS=nats://192.0.2.10:4222,nats://192.0.2.11:4222,nats://192.0.2.12:4222

cleanup() { cl_down; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say() { echo "$*" | tee -a "$OUT"; }
die() { echo "bench-cluster: $*" >&2; exit 1; }
# pct P: the P-th percentile (nearest rank) of the numbers on stdin.
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'; }

[ "$(id -u)" -eq 0 ] || die "needs root"
[ $Q -le 200 ] || die "at most 200 quarantines (the subscribers' /24s)"
for f in portcullisd portcullis build/bench/kvfill; do
	[ -x "$TOP/$f" ] || die "$f is not built (make all build/bench/kvfill)"
done
mkdir -p "$(dirname "$OUT")"
cl_up || die "could not build the lab"
cl_nats_up || die "the NATS cluster did not become ready"
cl_gw_start a || die "gw-a did not start"
cl_gw_start b || die "gw-b did not start"
cl_wait 10 cl_connected a && cl_wait 10 cl_connected b || die "a gateway did not connect"

say "# make bench-cluster: $(date -u +%FT%TZ) at $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null), $(nproc) CPUs, $(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1)"
say "# nats-server $(nats-server --version | sed 's/.* v//'), 3 nodes, JetStream, one host (network namespaces); libnats $(pkg-config --modversion libnats)"

# 1. Propagation.
for i in $(seq "$Q"); do
	cl_sub_addr a 100.64.0.$((9 + i)) || die "address"
	cl_sub_addr b 100.64.1.$((9 + i)) || die "address"
	cl_pc a session start bench-q$i 100.64.0.$((9 + i)) --for 1h >/dev/null || die "session on A"
	cl_pc b session start bench-q$i 100.64.1.$((9 + i)) --for 1h >/dev/null || die "session on B"
done
: >"$WORK/prop"
slow=0
for i in $(seq "$Q"); do
	addr=100.64.1.$((9 + i))
	# The poller, in B's router: B's kernel set every 5 ms, at most 10 s;
	# prints the wall clock (ms) it first saw the address in.
	ip netns exec "$NS_RTB" bash -c '
		for ((n = 0; n < 2000; n++)); do
			if nft list set inet PORTCULLIS_kq kq4 2>/dev/null |
				grep -qE "(^|[^0-9.])${1//./\\.} \\. 25 "; then
				t=${EPOCHREALTIME/./}; echo $((t / 1000)); exit 0
			fi
			sleep 0.005
		done; exit 1' _ "$addr" >"$WORK/seen" &
	poller=$!
	cl_burst a 100.64.0.$((9 + i)) >/dev/null
	wait $poller || { slow=$((slow + 1)); continue; }
	seen=$(cat "$WORK/seen")
	ts=$(python3 - "$WORK/gwa/blocks.jsonl" "bench-q$i" <<'PY'
import datetime, json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "quarantine" and e.get("subscriber") == sys.argv[2]:
        t = datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
        print(int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))
        break
PY
)
	[ -n "$ts" ] || { slow=$((slow + 1)); continue; }
	echo $((seen - ts)) >>"$WORK/prop"
done
n=$(wc -l <"$WORK/prop")
say ""
say "## 1. propagation: a quarantine on gw-a to gw-b's kernel set"
say "$n of $Q quarantines seen on B ($slow not within 10 s or without a quarantine line on A)"
if [ "$n" -gt 0 ]; then
	say "ms from A's quarantine line (ts) to the element in B's kq4 (polled every 5 ms; one nft listing takes ~$(ip netns exec "$NS_RTB" bash -c 't=${EPOCHREALTIME/./}; nft list set inet PORTCULLIS_kq kq4 >/dev/null; u=${EPOCHREALTIME/./}; echo $(((u - t) / 1000))') ms):"
	say "  p50 $(pct 50 <"$WORK/prop")  p99 $(pct 99 <"$WORK/prop")  max $(pct 100 <"$WORK/prop")  min $(pct 0 <"$WORK/prop")  (p99 of $n is nearest rank)"
	say "  all: $(sort -n "$WORK/prop" | tr '\n' ' ')"
fi

# 2. A new gateway loading the bucket.
cl_gw_stop b TERM
out=$(ip netns exec "$NS_RTA" timeout 300 "$TOP/build/bench/kvfill" -s "$URLS" -b pcctest -n "$RECORDS" 2>&1) ||
	die "kvfill: $out"
last=$(sed -n 's/.*last_revision \([0-9]*\).*/\1/p' <<<"$out")
say ""
say "## 2. a new gateway (empty state folder) loading the bucket"
say "kvfill: $out"
CL_GATEWAY=gw-new cl_policy c "$WORK/gwc.yaml"
mkdir -p "$WORK/gwc" && mv "$WORK/gwc.yaml" "$WORK/gwc/policy.yaml"
caught_up() {
	local r p
	r=$(cl_cstat c revision) p=$(cl_cstat c pending)
	[ -n "$r" ] && [ "$r" -ge "$last" ] && [ "$p" = 0 ]
}
: >"$WORK/load"
for r in $(seq "$REPS"); do
	rm -rf "$WORK/gwc/state"
	t0=$(cl_now_ms)
	CL_GW_WAIT_S=60 cl_gw_start c "$WORK/gwc/state" || die "the new gateway did not start"
	tr=$(cl_now_ms)
	if ! cl_wait "$LOAD_MAX_S" caught_up; then
		say "  run $r: not caught up in $LOAD_MAX_S s (revision $(cl_cstat c revision), pending $(cl_cstat c pending), bucket $last)"
		cl_gw_stop c TERM
		continue
	fi
	t1=$(cl_now_ms)
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/${CL_GW_PID[c]}/status")
	applied=$(cl_cstat c applied)
	s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
	say "  run $r: $s s from start ($(awk -v a="$tr" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1000 }') s after ready) to revision $last, pending 0; applied $applied; $(awk -v n="$last" -v s="$s" 'BEGIN { printf "%.0f", n / s }') records/s; RSS $((rss / 1024)) MiB"
	echo "$s" >>"$WORK/load"
	cl_gw_stop c TERM
done
if [ -s "$WORK/load" ]; then
	m=$(pct 50 <"$WORK/load")
	say "median of $(wc -l <"$WORK/load"): $m s, $(awk -v n="$last" -v s="$m" 'BEGIN { printf "%.0f", n / s }') records/s ($last records in the bucket: $RECORDS of kvfill, the rest part 1's)"
fi
