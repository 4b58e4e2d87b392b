#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make demo: the lab, the daemon with the example policy, real connections
# from the subscriber blocked and passed, then the block log; then a clean
# stop, the kernel's fallback judging alone, and the start that logs it.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/portcullis-demo.XXXXXX)
. "$TOP/tests/lab.sh"
. "$TOP/tests/daemon.sh"

cleanup() {
	daemon_stop TERM
	in_rt "$TOP/portcullis" rules --remove >/dev/null 2>&1
	lab_down
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces)" >&2; exit 1; }
lab_up || { echo "could not build the lab" >&2; exit 1; }
lab_policy "$TOP/examples/policy.yaml" "$WORK/policy.yaml"
echo "== the policy: examples/policy.yaml"
"$TOP/portcullis" check "$WORK/policy.yaml" | sed 's/^/   /'
echo
echo "== the daemon, in the router namespace"
daemon_start "$WORK/policy.yaml" || exit 1
sed 's/^/   /' "$WORK/daemon.log"
echo
echo "== the router's ruleset (iptables-save, the PORTCULLIS chain)"
in_rt iptables-save | grep -E 'PORTCULLIS' | sed 's/^/   /'
echo
row() {
	local what=$1 src=$2 dst=$3 port=$4 expect=$5 out got ms mark
	out=$(lab_connect "$src" "$dst" "$port" 1.0)
	got=${out% *} ms=${out#* }
	mark=ok
	[ "$got" = "$expect" ] || mark="UNEXPECTED"
	printf '   %-18s %-18s %5s  %-10s %-10s %8s  %s  %s\n' "$src" "$dst" "$port" \
		"$expect" "$got" "$ms" "$mark" "$what"
}
connects() {
	printf '   %-18s %-18s %5s  %-10s %-10s %8s\n' source destination port expected got ms
	row "residential, spam port" $LAB_RES4 $LAB_DST4 25 refused
	row "residential, submission" $LAB_RES4 $LAB_DST4 465 connected
	row "residential, submission" $LAB_RES4 $LAB_DST4 587 connected
	row "business exception" $LAB_BIZ4 $LAB_DST4 25 connected
	row "business, list file" $LAB_LIST4 $LAB_DST4 25 connected
	row "expired exception" $LAB_EXP4 $LAB_DST4 25 refused
	row "ISP relay" $LAB_RES4 $LAB_RELAY4 25 connected
	row "not a subscriber" $LAB_NON4 $LAB_DST4 25 connected
	row "residential, spam port" $LAB_RES6 $LAB_DST6 25 refused
	row "residential, submission" $LAB_RES6 $LAB_DST6 465 connected
	row "residential, submission" $LAB_RES6 $LAB_DST6 587 connected
	row "business exception" $LAB_BIZ6 $LAB_DST6 25 connected
	row "ISP relay" $LAB_RES6 $LAB_RELAY6 25 connected
	row "not a subscriber" $LAB_NON6 $LAB_DST6 25 connected
}
echo "== real TCP connects from the subscriber namespace"
connects
sleep 0.1
echo
echo "== the block log ($WORK/blocks.jsonl)"
sed 's/^/   /' "$WORK/blocks.jsonl" 2>/dev/null
echo
PC="$TOP/portcullis --control $WORK/control.sock"
echo "== a session: the DHCP server says subscriber cust-88412 holds $LAB_SPAM4"
echo "   \$ portcullis session start cust-88412 $LAB_SPAM4 --for 1h --source kea"
$PC session start cust-88412 $LAB_SPAM4 --for 1h --source kea | sed 's/^/   /'
echo
echo "== a spam run from $LAB_SPAM4: 100 connects to 25 on 25 hosts in half a second"
echo "   $(in_sub python3 "$LAB_DIR/lab_tcp.py" burst $LAB_SPAM4 198.51.100.10 25 25 100 0.5)"
sleep 1.2	# within a second, the kernel holds it too
$PC quarantine | sed 's/^/   /'
echo "   in the kernel (nft list set inet PORTCULLIS_kq kq4):"
in_rt nft list set inet PORTCULLIS_kq kq4 | tr ',' '\n' | grep -o "$LAB_SPAM4 [^}]*" | sed 's/^/     /'
echo
echo "== it goes on: 100 more SYNs, dropped by the kernel before any queue"
echo "   $(in_sub python3 "$LAB_DIR/lab_tcp.py" burst $LAB_SPAM4 198.51.100.10 25 25 100 0.05)"
sleep 1.2	# the daemon reads the kernel's counters once a second
$PC quarantine | sed 's/^/   /'
echo
echo "== it reconnects with a new address ($LAB_EXC4): still held; $LAB_SPAM4 goes to cust-1207"
$PC session start cust-88412 $LAB_EXC4 --for 1h --source kea | sed 's/^/   /'
$PC session start cust-1207 $LAB_SPAM4 --for 1h --source kea | sed 's/^/   /'
sleep 0.1
echo "   in the kernel now:"
in_rt nft list set inet PORTCULLIS_kq kq4 | tr ',' '\n' | grep -o "100\.64\.0\.[0-9]* \. [0-9]* [^}]*" | sed 's/^/     /'
row "cust-88412 on its new address, submission" $LAB_EXC4 $LAB_DST4 587 timeout
row "cust-1207 on the old address, submission" $LAB_SPAM4 $LAB_DST4 587 connected
echo "   who held $LAB_SPAM4 when it was quarantined? (portcullis log --src $LAB_SPAM4 --at T)"
"$TOP/portcullis" log "$WORK/blocks.jsonl" --src $LAB_SPAM4 \
	--at "$(grep -m1 '"event":"quarantine"' "$WORK/blocks.jsonl" | sed 's/.*"ts":"\([^"]*\)".*/\1/')" | sed 's/^/     /'
echo
daemon_stop TERM
echo "== the stop writes what the open windows held back: the kernel's blocks too"
grep "\"summary\"" "$WORK/blocks.jsonl" | grep cust-88412 | sed 's/^/   /'
echo
echo "== a clean stop: the kernel's fallback judges port 25 alone"
in_rt iptables -S PORTCULLIS | grep fallback | sed 's/^/   /'
connects
echo
echo "== the next start swaps the queue rules back and says what the kernel judged"
: >"$WORK/blocks.jsonl"
daemon_start "$WORK/policy.yaml" || exit 1
sleep 0.2
grep 'judged alone' "$WORK/daemon.log" | sed 's/^/   /'
grep '"fallback"' "$WORK/blocks.jsonl" | sed 's/^/   /'
