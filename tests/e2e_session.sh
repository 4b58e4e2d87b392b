#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end, sessions (issue "Subscribers, not addresses"): through the
# control socket, a subscriber's SYNs carry its id; its quarantine follows
# it to a new address, in the daemon and in the kernel's set, and frees
# the old address the moment someone else holds it; release by id;
# exceptions by subscriber; sessions survive a restart and expire.
# Sourced by e2e.sh, which provides the lab, daemon_start/daemon_stop,
# conn, check, ok and no (and e2e_kquar.sh's kq_list, kq_elem_in).

SES_A=100.64.0.70	# addresses the session tests hand out
SES_B=100.64.0.71
SES_C=100.64.0.72

# ses_line EVENT JQ-LIKE-PY: whether the block log has a line of EVENT
# for which the Python expression (over e) is true.
ses_line() {
	python3 - "$WORK/blocks.jsonl" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == sys.argv[2] and eval(sys.argv[3]):
        sys.exit(0)
sys.exit(1)
PY
}

e2e_sessions() {
	local PC="$TOP/portcullis --control $WORK/control.sock" out a

	echo "e2e: sessions"
	for a in $SES_A $SES_B $SES_C; do
		ip -n "$NS_SUB" addr add $a/24 dev sub0
	done
	sed -e "s|^  per_subscriber: .*|  per_subscriber: 10/s|" "$WORK/policy.a" >"$WORK/ses.yaml"
	rm -f "$WORK/blocks.jsonl"
	if ! daemon_start "$WORK/ses.yaml" --state "$WORK/ses-state"; then
		no "daemon start (sessions)"
		return
	fi
	out=$($PC session start cust-1 $SES_A --for 1h --source test 2>&1)
	check "session start: started ($out)" grep -q "^started cust-1: $SES_A, until " <<<"$out"
	out=$($PC session start cust-1 $SES_A --for 2h --source test 2>&1)
	check "session start again: a renewal ($out)" grep -q "^renewed cust-1" <<<"$out"
	out=$($PC session list --json)
	check "session list --json: the session ($out)" python3 -c "
import json, sys
l = json.loads(sys.argv[1])
sys.exit(0 if l[0]['subscriber'] == 'cust-1' and l[0]['addresses'] == ['$SES_A'] and l[0]['source'] == 'test' else 1)" "$out"
	conn "session: its 25 is reset" $SES_A $LAB_DST4 25 refused 100
	sleep 0.2
	check "block log: the block line names the subscriber" \
		ses_line block "e['src'] == '$SES_A' and e.get('subscriber') == 'cust-1'"
	check "block log: a session start line" \
		ses_line session "e['src'] == '$SES_A' and e['subscriber'] == 'cust-1' and e['state'] == 'start' and e.get('source') == 'test'"
	check "block log: no second start line for the renewal" test "$(grep -c '"event":"session"' "$WORK/blocks.jsonl")" -eq 1

	# Caught on one address ...
	out=$(in_sub python3 "$LAB_DIR/lab_tcp.py" burst $SES_A 198.51.100.10 25 25 100 0.5)
	out=$($PC quarantine --json)
	check "session: the spammer is quarantined by subscriber id" python3 -c "
import json, sys
q = json.loads(sys.argv[1])
sys.exit(0 if any(s.get('subscriber') == 'cust-1' for s in q) else 1)" "$out"
	sleep 1.2
	check "session: the kernel's set holds its address" kq_elem_in kq4 "$SES_A . 25"
	# ... it reconnects with another one: held at once, the old one freed.
	out=$($PC session start cust-1 $SES_B --for 1h --source test 2>&1)
	check "session: re-addressed ($out)" grep -q "^started cust-1: $SES_B" <<<"$out"
	sleep 0.2
	check "session: the kernel's set follows at once (new address in, old out)" \
		bash -c "kq_elem_in kq4 '$SES_B . 25' && ! kq_elem_in kq4 '$SES_A . 25'"
	conn "session: the new address is still quarantined (587 dropped)" $SES_B $LAB_DST4 587 timeout
	out=$($PC session start cust-2 $SES_A --for 1h --source test 2>&1)
	conn "session: another subscriber on the old address sends mail (587)" $SES_A $LAB_DST4 587 connected
	out=$($PC session start cust-2 $SES_B --for 1h 2>&1)
	check "session: a start on another's address moves it ($out)" grep -q "^moved $SES_B from cust-1" <<<"$out"
	check "block log: a stop line, reason moved" \
		ses_line session "e['src'] == '$SES_B' and e['subscriber'] == 'cust-1' and e['state'] == 'stop' and e.get('reason') == 'moved'"
	conn "session: the address moved to cust-2 is free" $SES_B $LAB_DST4 587 connected
	check "session: cust-1 holds nothing, so its session ended" \
		bash -c "! $PC session list cust-1 >/dev/null 2>&1"
	$PC session start cust-1 $SES_C --for 1h >/dev/null
	conn "session: cust-1 back on a third address: still quarantined" $SES_C $LAB_DST4 587 timeout
	# What the kernel blocked of cust-1's just before its address moves
	# is cust-1's, not the new holder's (the counts are read after).
	sleep 1.2
	in_sub "$TOP/build/bench/syngen" -i sub0 -m "$(ip -n "$NS_RT" -br link show rt-sub | awk '{print $3}')" \
		-4 $SES_C/32 -D 198.51.100.128/26 -p 25 -n 300 -t 2 -r 3000 >/dev/null
	$PC session start cust-3 $SES_C --for 1h >/dev/null
	sleep 0.3
	$PC session start cust-1 $SES_C --for 1h >/dev/null
	out=$($PC release cust-1 2>&1)
	check "release ID ($out)" grep -q "^released cust-1" <<<"$out"
	conn "session: released, its 587 connects" $SES_C $LAB_DST4 587 connected
	sleep 0.2
	check "session: out of the kernel's set" bash -c "! kq_elem_in kq4 '$SES_C . 25'"

	# Errors say what is wrong.
	out=$($PC session start "$(printf 'x%.0s' $(seq 129))" $SES_A 2>&1)
	check "session start: a 129-character id is refused ($out)" grep -q "1 to 128 characters, found 129" <<<"$out"
	out=$($PC session start cust-9 100.64.0.0/24 2>&1)
	check "session start: an IPv4 prefix is refused ($out)" grep -q "one IPv4 address, not a prefix" <<<"$out"
	out=$($PC session stop nobody 2>&1)
	check "session stop: an unknown session, exit 1 ($out)" bash -c "! $PC session stop nobody >/dev/null 2>&1"

	# Rule 4: an exception for the subscriber, wherever it is.
	out=$($PC except add --subscriber cust-2 --profile business --note "ticket 9" 2>&1)
	check "except add --subscriber ($out)" grep -q "^added subscriber cust-2: profile business" <<<"$out"
	conn "except --subscriber: cust-2 connects on 25" $SES_B $LAB_DST4 25 connected
	$PC session start cust-2 $SES_A --for 1h >/dev/null
	conn "except --subscriber: and on its next address" $SES_A $LAB_DST4 25 connected
	conn "except --subscriber: its old address, now nobody's, is residential again" $SES_B $LAB_DST4 25 refused 100
	out=$($PC except list --json)
	check "except list --json: the subscriber's exception" python3 -c "
import json, sys
l = json.loads(sys.argv[1])
sys.exit(0 if any(e.get('subscriber') == 'cust-2' and e['profile'] == 'business' for e in l) else 1)" "$out"
	out=$("$TOP/portcullis" explain "$WORK/ses.yaml" $SES_A $LAB_DST4 25 --subscriber cust-2 --state "$WORK/ses-state/exceptions.yaml" 2>&1)
	check "explain --subscriber: the exception decides ($(head -1 <<<"$out"))" \
		bash -c "grep -q 'accept' <<<'$(head -1 <<<"$out")' && grep -q 'subscriber cust-2 has the live exception: profile business' <<<'$out'"
	sleep 0.2
	check "block log: the except line names the subscriber" \
		ses_line except "e.get('subscriber') == 'cust-2' and e['op'] == 'add' and 'prefix' not in e"
	out=$($PC except del --subscriber cust-2 2>&1)
	check "except del --subscriber ($out)" grep -q "^deleted subscriber cust-2" <<<"$out"
	conn "except del --subscriber: back to residential" $SES_A $LAB_DST4 25 refused 100

	# (Its summary line comes seconds later.)
	check "session: the kernel's counts before a move are not the new holder's" \
		bash -c "! grep '\"kernel\"' '$WORK/blocks.jsonl' | grep -q '\"subscriber\":\"cust-3\"'"

	# The abuse desk's questions, from the log.
	sleep 0.2
	a=$(python3 - "$WORK/blocks.jsonl" "$SES_A" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "quarantine" and e["src"] == sys.argv[2]:
        print(e["ts"]); break
PY
)
	out=$("$TOP/portcullis" log "$WORK/blocks.jsonl" --src $SES_A --at "$a" 2>&1)
	check "log --src A --at T: who held it when it was quarantined" grep -q "cust-1" <<<"$out"
	out=$("$TOP/portcullis" log "$WORK/blocks.jsonl" --src $SES_A --at 1s 2>&1)
	check "log --src A --at now: who holds it now" grep -q "cust-2" <<<"$out"
	out=$("$TOP/portcullis" log "$WORK/blocks.jsonl" --top 1 --json)
	check "log --top: the spammer by subscriber id, its addresses one row" python3 -c "
import json, sys
t = json.loads(sys.argv[1])
sys.exit(0 if t[0].get('subscriber') == 'cust-1' and t[0]['blocked'] >= 100 else 1)" "$out"
	out=$("$TOP/portcullis" log "$WORK/blocks.jsonl" --subscriber cust-1 --json | wc -l)
	check "log --subscriber: its lines ($out)" test "$out" -ge 5

	# IPv6: a delegated prefix.
	out=$($PC session start cust-6 2001:db8:1::/56 --for 1h 2>&1)
	check "session start: an IPv6 /56 ($out)" grep -q "^started cust-6: 2001:db8:1::/56" <<<"$out"
	conn "session: IPv6 25 reset" $LAB_RES6 $LAB_DST6 25 refused 100
	sleep 0.2
	check "block log: the IPv6 block line names the subscriber" \
		ses_line block "e['src'] == '$LAB_RES6' and e.get('subscriber') == 'cust-6'"
	out=$($PC session stop $LAB_RES6 2>&1)
	check "session stop ADDRESS inside a prefix ($out)" grep -q "^stopped $LAB_RES6 of cust-6" <<<"$out"

	# Nested prefixes: another subscriber's /64 inside a quarantined /56
	# keeps the /56 out of the kernel's set (it would drop the /64's
	# SYNs too), and with both quarantined the sets still sync.
	$PC session start cust-6 2001:db8:1::/56 --for 1h >/dev/null
	ses_flood6() {
		in_sub python3 - "$LAB_RES6" <<'PY'
import socket, sys
for i in range(120):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(0.2)
    s.bind((sys.argv[1], 0))
    try:
        s.connect(("2001:db8:2::%x" % (0x100 + i % 25), 25))
    except OSError:
        pass
    s.close()
PY
	}
	ses_flood6
	sleep 1.2
	check "nested: the quarantined /56 is in the kernel's set" kq_elem_in kq6 "2001:db8:1::/56 . 25"
	$PC session start cust-7 2001:db8:1::/64 --for 1h >/dev/null
	sleep 1.5
	check "nested: not once another subscriber holds a /64 inside it" \
		bash -c "! kq_elem_in kq6 '2001:db8:1::/56 . 25'"
	conn "nested: the /64's subscriber sends mail (587)" $LAB_RES6 $LAB_DST6 587 connected
	ses_flood6
	sleep 1.5
	check "nested: both quarantined, the /64 in the kernel's set" kq_elem_in kq6 "2001:db8:1::/64 . 25"
	check "nested: the sets synced ($(grep -m1 -o 'quarantine sets: .\{0,80\}' "$WORK/daemon.log"))" \
		bash -c "! grep -q 'quarantine sets:' '$WORK/daemon.log'"
	$PC release cust-7 >/dev/null
	$PC release cust-6 >/dev/null
	$PC session stop cust-7 >/dev/null
	$PC session stop cust-6 >/dev/null

	# Expiry.
	$PC session start cust-x 100.64.0.2 --for 1s >/dev/null
	sleep 2.2
	check "session: expired, gone" bash -c "! $PC session list cust-x >/dev/null 2>&1"
	check "block log: a stop line, reason expired" \
		ses_line session "e['subscriber'] == 'cust-x' and e['state'] == 'stop' and e.get('reason') == 'expired'"

	# A restart keeps them (state folder), quarantine aside.
	daemon_stop TERM
	if daemon_start "$WORK/ses.yaml" --state "$WORK/ses-state"; then
		out=$($PC session list)
		check "session: after a restart cust-1 and cust-2 are back" \
			bash -c "grep -q '^cust-1 .*$SES_C' <<<'$out' && grep -q '^cust-2 .*$SES_A $SES_B\|^cust-2 .*$SES_B $SES_A\|^cust-2 ' <<<'$out'"
		check "session: the expired one is not" bash -c "! grep -q cust-x <<<'$out'"
		daemon_stop TERM
	else
		no "daemon restart (sessions)"
	fi

	# A full disk under the state folder: the journal waits, said once,
	# and "written again" only once it is.
	mkdir -p "$WORK/ses-full"
	if mount -t tmpfs -o size=64k tmpfs "$WORK/ses-full"; then
		if daemon_start "$WORK/ses.yaml" --state "$WORK/ses-full/st"; then
			dd if=/dev/zero of="$WORK/ses-full/fill" bs=4k 2>/dev/null
			# More than the journal's page already there takes.
			python3 - "$WORK/control.sock" <<'PY'
import socket, sys
for i in range(1, 201):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(("session\nstart\nfull-%d\n100.64.3.%d\n--for\n1h\n\n" % (i, i)).encode())
    while s.recv(4096):
        pass
    s.close()
PY
			sleep 3.5
			check "full disk: the journal's failure said, never \"written again\" ($(grep -c 'sessions journal' "$WORK/daemon.log") lines)" \
				bash -c "grep -q 'sessions journal' '$WORK/daemon.log' && ! grep -q 'written again' '$WORK/daemon.log'"
			rm -f "$WORK/ses-full/fill"
			sleep 1.5
			check "full disk: written again once there is room" \
				bash -c "grep -q 'written again' '$WORK/daemon.log' && grep -q 'full-200$' '$WORK/ses-full/st/sessions.journal'"
			daemon_stop TERM
		else
			no "daemon start (sessions, full disk)"
		fi
		umount "$WORK/ses-full"
	fi

	# Started as root, running as nobody: the state folder is written
	# after the drop (the journal folded into a snapshot past 100,000
	# lines, an exception saved).
	# The folder a link to another disk's, as operators do.
	chmod 755 "$WORK"
	mkdir -p "$WORK/ses-priv-disk"
	ln -sfn "$WORK/ses-priv-disk" "$WORK/ses-priv"
	if daemon_start "$WORK/ses.yaml" --state "$WORK/ses-priv" --user nobody; then
		timeout 120 python3 - "$WORK/control.sock" <<'PY'
import socket, sys, time
t0 = time.time()
for i in range(101000):
    if time.time() - t0 > 100:
        break
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(("session\nstart\nr-%d\n100.64.2.%d\n--for\n1h\n\n" % (i % 50, i % 50 + 1)).encode())
    while s.recv(4096):
        pass
    s.close()
PY
		sleep 1.5
		check "privdrop: the sessions snapshot is written as nobody" test -s "$WORK/ses-priv/sessions"
		check "privdrop: the journal was folded into it ($(wc -l <"$WORK/ses-priv/sessions.journal") lines)" \
			test "$(wc -l <"$WORK/ses-priv/sessions.journal")" -lt 1000
		out=$($PC except add 100.64.0.99/32 --profile business 2>&1)
		check "privdrop: except add saves its state ($out)" grep -q "^added" <<<"$out"
		daemon_stop TERM
	else
		no "daemon start --user nobody (sessions)"
	fi
	chmod 700 "$WORK"

	# Monitor mode: the subscriber is named, nothing is blocked.
	lab_policy "$TOP/examples/policy.yaml" "$WORK/ses-mon.yaml" monitor
	rm -f "$WORK/blocks.jsonl"
	if daemon_start "$WORK/ses-mon.yaml" --state "$WORK/ses-state"; then
		conn "monitor: a session's 25 connects" $SES_C $LAB_DST4 25 connected
		sleep 0.2
		check "monitor: the line names the subscriber and says monitor" \
			ses_line block "e['src'] == '$SES_C' and e.get('subscriber') == 'cust-1' and e.get('mode') == 'monitor'"
		daemon_stop TERM
	else
		no "daemon start (sessions, monitor)"
	fi
	for a in $SES_A $SES_B $SES_C; do
		ip -n "$NS_SUB" addr del $a/24 dev sub0
	done
}
