#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end, the daemon's doors against slow and hostile clients (issue
# 12): a client that trickles, hundreds that sit idle, a thousand that
# come and go, an oversized request, one that never reads its reply, and
# idle TCP connections to the metrics port. What is asserted is what a
# real client sees: `portcullis stats` answers quickly, SIGHUP and SIGTERM
# act at once, a scrape gets its page. Sourced by e2e.sh, which provides
# the lab, daemon_start/daemon_stop, check, ok and no. Every client below
# is bounded in time and in count.

# The clients: plain sockets, one job each (python3 ctl.py JOB ...).
ctl_clients() {
	cat >"$WORK/ctl.py" <<'PY'
import os, socket, subprocess, sys, time

def unix(path, timeout=1.0):
    """Connected, or OSError after timeout seconds: a full backlog is
    EAGAIN at once for a unix socket, so that is tried again."""
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
            s.settimeout(timeout)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.001)
        except OSError:
            s.close()
            raise

def read_all(s, limit):
    """Everything until EOF or limit seconds; (bytes, how it ended)."""
    got, end = b"", time.monotonic() + limit
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return got, "timeout"
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            return got, "timeout"
        except OSError as e:
            return got, "error %s" % e.errno
        if not b:
            return got, "eof"
        got += b

def trickle(path, interval, duration):
    """A byte every interval seconds, reconnecting whenever the daemon
    closes, for duration seconds: the slowest client there is."""
    stop = time.monotonic() + float(duration)
    conns, replies = 0, []
    while time.monotonic() < stop:
        try:
            s = unix(path)
        except OSError:
            time.sleep(0.1)
            continue
        conns += 1
        opened = time.monotonic()
        closed = False
        while time.monotonic() < stop and not closed:
            try:
                s.send(b"s")
            except OSError:
                closed = True
                break
            s.settimeout(float(interval))
            try:
                b = s.recv(4096)
                if b:
                    rest, _ = read_all(s, 1.0)
                    replies.append("%.1fs %r" % (time.monotonic() - opened,
                                                 (b + rest).decode()))
                closed = True
            except socket.timeout:
                pass
            except OSError:
                closed = True
        s.close()
    print("connections=%d" % conns)
    for r in replies[:3]:
        print("reply " + r)

def hold(path, n, seconds):
    """n connections that send nothing, held for seconds; how many the
    daemon closed meanwhile."""
    socks, stop = [], time.monotonic() + 10
    for _ in range(int(n)):
        if time.monotonic() > stop:
            break
        try:
            socks.append(unix(path))
        except OSError:
            pass
    time.sleep(float(seconds))
    closed = 0
    for s in socks:
        s.settimeout(0.01)
        try:
            s.recv(4096)    # the end, or the daemon's last words
            closed += 1
        except socket.timeout:
            pass
        except OSError:
            closed += 1
        s.close()
    print("opened=%d closed_by_daemon=%d" % (len(socks), closed))

def flood(path, n):
    """n connections opened as fast as they go (10 s at most), then all
    closed."""
    socks, failed, stop = [], 0, time.monotonic() + 10
    t0 = time.monotonic()
    for _ in range(int(n)):
        if time.monotonic() > stop:
            break
        try:
            socks.append(unix(path, 0.5))
        except OSError:
            failed += 1
    took = time.monotonic() - t0
    for s in socks:
        s.close()
    print("opened=%d failed=%d in %.2fs" % (len(socks), failed, took))

def oversize(path, n):
    s = unix(path, 3.0)
    try:
        s.sendall(b"x" * int(n) + b"\n\n")
    except OSError as e:
        print("send error %s" % e.errno)
    got, how = read_all(s, 3.0)
    print(repr(got.decode(errors="replace")) + " " + how)

def noread(path, seconds, *args):
    """A request whose reply is never read for seconds; then how much of
    it arrives."""
    s = unix(path, 3.0)
    s.sendall(b"".join(a.encode() + b"\n" for a in args) + b"\n")
    time.sleep(float(seconds))
    got, how = read_all(s, 5.0)
    print("bytes=%d %s" % (len(got), how))

def tcphold(host, port, n, seconds):
    """n idle TCP connections (nothing sent) held for seconds."""
    socks = []
    for _ in range(int(n)):
        try:
            socks.append(socket.create_connection((host, int(port)), 1.0))
        except OSError:
            pass
    print("opened=%d" % len(socks), flush=True)
    time.sleep(float(seconds))
    for s in socks:
        s.close()

def timed(*cmd):
    """Run cmd; print its exit status and wall time in ms."""
    t0 = time.monotonic()
    try:
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, timeout=30).returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    print("%s %d" % (rc, (time.monotonic() - t0) * 1000))

def exceptions(path, n):
    """A state file of n live exceptions, with notes: a reply of some
    hundreds of kilobytes for `except list --json`."""
    with open(path, "w") as f:
        for i in range(int(n)):
            f.write('- prefix: "10.%d.%d.0/24"\n  profile: "business"\n'
                    '  added: 2024-01-01T00:00:00Z\n'
                    '  note: "ticket %06d, a note long enough to weigh"\n'
                    % (i // 256, i % 256, i))

globals()[sys.argv[1]](*sys.argv[2:])
PY
}

# ctl_ms NAME LIMIT_MS COMMAND...: COMMAND succeeds in under LIMIT_MS.
ctl_ms() {
	local name=$1 limit=$2 out rc ms
	shift 2
	out=$(python3 "$WORK/ctl.py" timed "$@")
	rc=${out% *} ms=${out#* }
	if [ "$rc" != 0 ]; then
		no "$name: exit $rc after $ms ms"
	elif [ "$ms" -ge "$limit" ]; then
		no "$name: $ms ms, expected under $limit ms"
	else
		ok "$name ($ms ms)"
	fi
}

# ctl_loaded: how many policy loads the daemon's log shows.
ctl_loaded() { grep -c ' loaded .* IPv4 and ' "$WORK/daemon.log"; }

# ctl_wait_loaded COUNT_BEFORE LIMIT_MS: ms until the log shows one more
# load than COUNT_BEFORE, or LIMIT_MS if it never does.
ctl_wait_loaded() {
	local before=$1 limit=$2 t0 now
	t0=$(date +%s%N)
	while :; do
		now=$(date +%s%N)
		[ "$(ctl_loaded)" -gt "$before" ] && { echo $(((now - t0) / 1000000)); return; }
		[ $(((now - t0) / 1000000)) -ge "$limit" ] && { echo "$limit"; return; }
		sleep 0.01
	done
}

e2e_control() {
	local sock="$WORK/control.sock" PC out ms n before t0 rc jobs j
	PC="$TOP/portcullis --control $sock"
	echo "e2e: the control socket and metrics against slow and hostile clients"
	ctl_clients
	lab_policy "$TOP/examples/policy.yaml" "$WORK/ctl.yaml"
	mkdir -p "$WORK/ctlstate"
	python3 "$WORK/ctl.py" exceptions "$WORK/ctlstate/exceptions.yaml" 5000
	if ! daemon_start "$WORK/ctl.yaml" --state "$WORK/ctlstate"; then
		no "daemon start (control)"
		return
	fi
	ctl_ms "control: stats with no other client" 500 $PC stats
	# Never read within the reply's 10 s: closed, its slot and memory
	# given back, while everything below goes on.
	python3 "$WORK/ctl.py" noread "$sock" 11 except list --json >"$WORK/noread0" &
	local late=$!

	# A byte every 0.5 s: the daemon must not wait on it.
	python3 "$WORK/ctl.py" trickle "$sock" 0.5 5 >"$WORK/trickle" &
	jobs=$!
	sleep 0.3
	before=$(ctl_loaded)
	kill -HUP "$DAEMON_PID"
	ms=$(ctl_wait_loaded "$before" 3000)
	check "slow client: SIGHUP reloads at once ($ms ms)" test "$ms" -lt 500
	for n in 1 2 3; do
		ctl_ms "slow client: stats answers at once ($n)" 500 $PC stats
		sleep 0.3
	done
	ctl_ms "slow client: reload over the socket" 1000 $PC reload
	wait $jobs
	check "slow client: closed at the 2 s deadline, told why ($(sed -n 2p "$WORK/trickle"))" \
		grep -qE "^reply 2\.[0-9]s '1\\\\nrequest not complete within 2 s\\\\n'" "$WORK/trickle"

	# Idle connections past the cap; the daemon keeps serving.
	python3 "$WORK/ctl.py" hold "$sock" 100 3 >"$WORK/hold" &
	jobs=$!
	sleep 0.5
	ctl_ms "100 idle connections: stats answers" 500 $PC stats
	ctl_ms "100 idle connections: and again" 500 $PC stats
	wait $jobs
	check "100 idle connections: all closed by the daemon ($(cat "$WORK/hold"))" \
		grep -qE "^opened=100 closed_by_daemon=100$" "$WORK/hold"

	out=$(python3 "$WORK/ctl.py" flood "$sock" 1000)
	check "1,000 connections come and go ($out)" grep -q "^opened=1000 " <<<"$out"
	ctl_ms "1,000 connections: stats answers after" 500 $PC stats
	# And while they come and go.
	python3 "$WORK/ctl.py" flood "$sock" 1000 >"$WORK/flood" &
	jobs=$!
	ctl_ms "1,000 connections: stats answers during" 1000 $PC stats
	wait $jobs

	out=$(python3 "$WORK/ctl.py" oversize "$sock" 10000)
	check "oversized request: the error text, then the end ($out)" \
		test "$out" = "'1\\nrequest over 4096 bytes\\n' eof"
	out=$(python3 "$WORK/ctl.py" oversize "$sock" 1000000)
	check "a megabyte of request: the same ($out)" \
		test "$out" = "'1\\nrequest over 4096 bytes\\n' eof"

	# A reply bigger than the socket buffer, never read.
	out=$(python3 "$WORK/ctl.py" timed $PC except list --json)
	python3 "$WORK/ctl.py" noread "$sock" 2 except list --json >"$WORK/noread1" &
	jobs=$!
	python3 "$WORK/ctl.py" noread "$sock" 2 except list --json >"$WORK/noread2" &
	jobs="$jobs $!"
	sleep 0.5
	ctl_ms "clients that do not read a big reply: stats answers" 500 $PC stats
	ctl_ms "clients that do not read: except list answers too" 2000 $PC except list --json
	wait $jobs
	n=$($PC except list --json | wc -c)
	check "the big reply ($n bytes) reaches a late reader whole ($(cat "$WORK/noread1"))" \
		grep -qx "bytes=$((n + 2)) eof" "$WORK/noread1"
	check "every byte of it, to the second one too ($(cat "$WORK/noread2"))" \
		grep -qx "bytes=$((n + 2)) eof" "$WORK/noread2"

	wait $late
	out=$(cat "$WORK/noread0")
	n=${out#bytes=} n=${n%% *}
	check "a reply not read within 10 s: cut there, the connection closed ($out)" \
		bash -c "[ $n -gt 0 ] && [ $n -lt $(($($PC except list --json | wc -c) + 2)) ] && grep -q ' eof$' <<<'$out'"

	# SIGTERM while a slow client and idle ones are connected.
	python3 "$WORK/ctl.py" trickle "$sock" 0.5 3 >/dev/null &
	jobs=$!
	python3 "$WORK/ctl.py" hold "$sock" 50 3 >/dev/null &
	jobs="$jobs $!"
	sleep 0.7
	t0=$(date +%s%N)
	daemon_stop TERM
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	check "slow and idle clients: SIGTERM stops at once ($ms ms, exit $rc)" test "$ms" -lt 1500 -a "$rc" -eq 0
	wait $jobs

	# Metrics: idle TCP connections from a local user, then a scrape.
	if daemon_start "$WORK/ctl.yaml" --state "$WORK/ctlstate"; then
		for n in 40 300; do
			in_rt python3 "$WORK/ctl.py" tcphold 127.0.0.1 9638 $n 6 >"$WORK/tcphold" &
			jobs=$!
			for j in $(seq 50); do [ -s "$WORK/tcphold" ] && break; sleep 0.1; done
			out=$(in_rt curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 http://127.0.0.1:9638/metrics)
			out="$out s, curl exit $?"
			check "metrics: $n idle connections ($(cat "$WORK/tcphold")), a scrape gets in ($out)" \
				grep -qE '^200 [0-3]\.' <<<"$out"
			kill $jobs 2>/dev/null
			wait $jobs 2>/dev/null
		done
		daemon_stop TERM
	else
		no "daemon start (metrics)"
	fi
	rm -rf "$WORK/ctlstate"
}
