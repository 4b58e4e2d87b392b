#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench-fallback: the kernel fallback at the bench's size (1M
# prefixes, BENCH_PREFIXES), in the lab's router, REPS times (default 3):
#
#   residential  the example policy + 1M residential prefixes: entries
#                that decide as the aggregate around them are left out,
#                so the sets stay small
#   business     the same prefixes as business entries: one element each
#   apart        the same prefixes as residential entries with no aggregate
#                around them (the policy's /10 and /36 taken out): each is
#                an aggregate, matched through a set
#
# For each: seconds from start to ready (policy load, sets filled, rules
# in), for a reload that changes nothing in the sets and for one that
# changes every element (a live exception added), for a clean stop (TERM
# to exit, the fallback swapped in); the sets' elements and the kernel
# memory they take (ipset's "Size in memory", and the slab growth); and
# the daemon's CPU per second while idle (its once-a-second check of the
# kernel included, and the tools it runs), beside the same daemon with
# --no-rules (no check). Medians, with min-max.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/portcullis-bench-fb.XXXXXX)
LAB_ID=f$$
. "$TOP/tests/lab.sh"
. "$TOP/tests/daemon.sh"

REPS=${BENCH_REPS:-3}
export DAEMON_WAIT_S=60
NPREFIX=${BENCH_PREFIXES:-1000000}
IDLE_S=${BENCH_IDLE_S:-20}
RAW=$WORK/raw.tsv
PC="$TOP/portcullis --control $WORK/control.sock"

die() { echo "bench: $*" >&2; exit 1; }
cleanup() {
	daemon_stop KILL
	in_rt "$TOP/portcullis" rules --remove >/dev/null 2>&1
	lab_down
	rm -rf "$WORK"
}
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RAW"; }

# The slab the kernel holds now, in KiB.
slab_kb() { awk '/^Slab:/ {print $2}' /proc/meminfo; }

sets_total() {
	in_rt ipset list -t | awk '
		/^Name: PORTCULLIS-/ { ours = 1; next }
		/^Name: / { ours = 0 }
		ours && /^Size in memory:/ { mem += $4 }
		ours && /^Number of entries:/ { n += $4 }
		END { printf "%d %d\n", n, mem }'
}

# CPU of the daemon and the tools it waited for, in ms, from /proc.
cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($14 + $15 + $16 + $17) * 1000 / hz }' \
		"/proc/$1/stat"
}

make_policy() {	# VARIANT
	local list=$WORK/bench.list
	[ -s "$list" ] || python3 "$TOP/bench/prefixes.py" "$list" "$NPREFIX" \
		"$TOP/examples/business.list" || die "prefix list"
	lab_policy "$TOP/examples/policy.yaml" "$WORK/policy.yaml"
	local profile=$1
	if [ "$1" = apart ]; then
		profile=residential
		sed -i -e '/prefix: 100.64.0.0\/10,/d' -e '/prefix: 2001:db8:1000::\/36,/d' "$WORK/policy.yaml"
	fi
	sed -i "s|^  - { file: business.list, profile: business }|&\n  - { file: bench.list, profile: $profile }|" "$WORK/policy.yaml"
	grep -q bench.list "$WORK/policy.yaml" || die "policy: no place for the list"
}

run() {	# VARIANT REP
	local v=$1 rep=$2 t0 t1 pid c0 c1 s0 s1 n mem
	make_policy "$v"
	in_rt "$TOP/portcullis" rules --remove >/dev/null 2>&1
	s0=$(slab_kb)
	t0=$(now_ms)
	daemon_start "$WORK/policy.yaml" --metrics off || die "start ($v)"
	t1=$(now_ms)
	record "$v" start_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1000}')"
	sleep 1
	s1=$(slab_kb)
	read -r n mem <<<"$(sets_total)"
	record "$v" elements "$n"
	record "$v" set_mib "$(awk -v m="$mem" 'BEGIN{printf "%.1f", m/1048576}')"
	record "$v" slab_mib "$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.1f", (b-a)/1024}')"
	pid=$DAEMON_PID
	c0=$(cpu_ms "$pid")
	sleep "$IDLE_S"
	c1=$(cpu_ms "$pid")
	record "$v" idle_cpu_ms_per_s "$(awk -v a="$c0" -v b="$c1" -v s="$IDLE_S" 'BEGIN{printf "%.2f", (b-a)/s}')"
	t0=$(now_ms)
	$PC reload >/dev/null || die "reload ($v)"
	t1=$(now_ms)
	record "$v" reload_same_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1000}')"
	t0=$(now_ms)
	$PC except add 100.64.0.0/29 --profile business --for 1h >/dev/null || die "except add ($v)"
	t1=$(now_ms)
	record "$v" except_add_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1000}')"
	$PC except del 100.64.0.0/29 >/dev/null
	t0=$(now_ms)
	daemon_stop TERM || die "stop ($v)"
	t1=$(now_ms)
	record "$v" stop_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1000}')"
	in_rt iptables -S PORTCULLIS | grep -q "portcullis fallback since" || die "no fallback after stop ($v)"
	# The same daemon with no ruleset of its own: what the check and
	# the quarantine sync cost is the difference.
	daemon_start "$WORK/policy.yaml" --metrics off --no-rules || die "start --no-rules ($v)"
	sleep 1
	c0=$(cpu_ms "$DAEMON_PID")
	sleep "$IDLE_S"
	c1=$(cpu_ms "$DAEMON_PID")
	record "$v" idle_cpu_norules "$(awk -v a="$c0" -v b="$c1" -v s="$IDLE_S" 'BEGIN{printf "%.2f", (b-a)/s}')"
	daemon_stop TERM
	echo "bench: $v repetition $rep done"
}

: >"$RAW"
lab_up >/dev/null || die "could not build the lab"
echo "bench: fallback with $NPREFIX prefixes, $REPS repetition(s)"
for rep in $(seq "$REPS"); do
	for v in residential business apart; do
		run "$v" "$rep"
	done
done
python3 - "$RAW" "$NPREFIX" <<'PY'
import collections, statistics, sys
vals = collections.defaultdict(list)
for line in open(sys.argv[1]):
    v, m, x = line.rstrip("\n").split("\t")
    vals[(v, m)].append(float(x))
metrics = [("start_s", "start to ready, s"), ("reload_same_s", "reload, sets unchanged, s"),
           ("except_add_s", "except add (sets updated), s"), ("stop_s", "clean stop, s"),
           ("elements", "set elements"), ("set_mib", "ipset memory, MiB"),
           ("slab_mib", "slab growth, MiB"), ("idle_cpu_ms_per_s", "idle CPU, ms per s"),
           ("idle_cpu_norules", "idle CPU with --no-rules, ms/s")]
print("fallback, %s prefixes (median [min-max])" % sys.argv[2])
print("%-32s %-22s %-22s %-22s" % ("", "residential", "business", "apart"))
for m, name in metrics:
    cells = []
    for v in ("residential", "business", "apart"):
        x = vals.get((v, m), [])
        if not x:
            cells.append("-")
        elif len(x) == 1:
            cells.append("%g" % x[0])
        else:
            cells.append("%g [%g-%g]" % (statistics.median(x), min(x), max(x)))
    print("%-32s %-22s %-22s %-22s" % (name, cells[0], cells[1], cells[2]))
PY
