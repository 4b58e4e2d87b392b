#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Running portcullisd in the lab's router namespace; sourced after lab.sh.
# Needs: $WORK (a scratch folder), $TOP (the source tree).

DAEMON_PID=""

# lab_policy SRC_POLICY OUT [MODE]: the policy with the block log in $WORK.
lab_policy() {
	local mode=${3:-enforce}
	sed -e "s|^  blocks: .*|  blocks: $WORK/blocks.jsonl|" \
	    -e "s|^mode: .*|mode: $mode|" \
	    -e "s|^  syslog: true|  syslog: false|" "$1" >"$2"
	cp "$(dirname "$1")"/*.list "$(dirname "$2")"/ 2>/dev/null
	return 0
}

# daemon_start POLICY [ARGS...]: start and wait until it says it is ready.
daemon_start() {
	local policy=$1 i
	shift
	: >"$WORK/daemon.log"
	ip netns exec "$NS_RT" "$TOP/portcullisd" -c "$policy" --control "$WORK/control.sock" \
		--state "$WORK/state" --user root \
		"$@" >>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	# DAEMON_WAIT_S: how long a start may take (a bench's million
	# prefixes take longer than the tests' few).
	for i in $(seq $(( ${DAEMON_WAIT_S:-5} * 20 ))); do
		grep -q 'ready' "$WORK/daemon.log" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "portcullisd did not become ready:" >&2
	sed 's/^/    /' "$WORK/daemon.log" >&2
	return 1
}

# daemon_stop [SIGNAL]: stop it and wait for it to exit.
daemon_stop() {
	[ -n "$DAEMON_PID" ] || return 0
	kill "-${1:-TERM}" "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	local rc=$?
	DAEMON_PID=""
	return $rc
}
