#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench-shadow: what a shadow policy adds per SYN on the CPU
# (build/bench/bench_shadow), with the policies make bench uses: the
# example policy plus 1M generated prefixes, a candidate that agrees on
# every SYN of the traffic (587 rejected for a /24 it never comes from)
# and one that disagrees on every one (residential 25 dropped, not
# rejected). BENCH_PREFIXES, BENCH_RUNS, BENCH_BURSTS.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/build/bench
N=${BENCH_PREFIXES:-1000000}
WORK=$(mktemp -d /tmp/portcullis-bshadow.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
list=$BIN/bench-$N.list
if [ ! -s "$list" ]; then
	echo "bench-shadow: generating $N subscriber prefixes"
	python3 "$TOP/bench/prefixes.py" "$list.tmp" "$N" "$TOP/examples/business.list"
	mv "$list.tmp" "$list"
fi
cp "$TOP/examples/business.list" "$list" "$WORK/"
mv "$WORK/bench-$N.list" "$WORK/bench.list"
sed "s|^  - { file: business.list, profile: business }|&\n  - { file: bench.list, profile: residential }|" \
	"$TOP/examples/policy.yaml" >"$WORK/policy.yaml"
sed -e 's|^subscribers:|  strict:\n    ports: { 25: reject, 465: accept, 587: reject }\nsubscribers:\n  - { prefix: 100.64.0.0/24, profile: strict }|' \
	"$WORK/policy.yaml" >"$WORK/agree.yaml"
sed -e 's/^    ports: { 25: reject, 465: accept, 587: accept }/    ports: { 25: drop, 465: accept, 587: accept }/' \
	"$WORK/policy.yaml" >"$WORK/differ.yaml"
! cmp -s "$WORK/policy.yaml" "$WORK/differ.yaml"
echo "bench-shadow: $N prefixes, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)"
"$BIN/bench_shadow" "$WORK/policy.yaml" "$WORK/agree.yaml" "$WORK/differ.yaml" \
	"${BENCH_RUNS:-11}" "${BENCH_BURSTS:-20000}"
