# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by tests/cli.sh (uses its PC, tmp, ok and bad): the command
# line's contract, every command and subcommand (DESIGN.md "Commands"):
#   --help        its usage on stdout, nothing on stderr, exit 0;
#   --bogus, a missing or an extra argument
#                 nothing on stdout; on stderr one line naming it, then
#                 the usage; exit 2.
# The daemon's commands get a socket that does not exist: a connect
# attempt would say "cannot reach portcullisd", so none may; a well-formed
# request (the table's last column) must try, or that proves nothing.

NOSOCK=/nonexistent/x.sock
P=examples/policy.yaml

# args_case NAME REMOTE CODE FIRST-LINE ARGS...: run portcullis ARGS
# (with --control NOSOCK first when REMOTE is y) and check the case:
# CODE 0: --help; 2: a usage error whose first line is FIRST-LINE;
# 1: well formed, so it tries to connect.
args_case() {
	name=$1 remote=$2 code=$3 first=$4
	shift 4
	if [ "$remote" = y ]; then
		set -- --control "$NOSOCK" "$@"
		usage="usage: portcullis [--control PATH] $name"
	else
		usage="usage: portcullis $name"
	fi
	[ -n "$name" ] || usage="usage: portcullis "
	what="args: portcullis $*"
	$PC "$@" >"$tmp/o" 2>"$tmp/e"
	got=$?
	if [ "$got" -ne "$code" ]; then
		bad "$what: exit $got, expected $code"
		sed 's/^/    out: /' "$tmp/o"; sed 's/^/    err: /' "$tmp/e"
		return
	fi
	case $code in
	0)
		if [ -s "$tmp/e" ]; then
			bad "$what: wrote to stderr"; sed 's/^/    /' "$tmp/e"
		elif ! head -n 1 "$tmp/o" | grep -qF -- "$usage"; then
			bad "$what: stdout does not begin with '$usage'"
			sed 's/^/    /' "$tmp/o"
		else
			ok
		fi
		;;
	1)
		if grep -qF "cannot reach portcullisd at $NOSOCK" "$tmp/e"; then
			ok
		else
			bad "$what: did not try the socket"
			sed 's/^/    /' "$tmp/e"
		fi
		;;
	2)
		if [ -s "$tmp/o" ]; then
			bad "$what: wrote to stdout"; sed 's/^/    /' "$tmp/o"
		elif [ "$(head -n 1 "$tmp/e")" != "$first" ]; then
			bad "$what: first line is not '$first'"
			sed 's/^/    /' "$tmp/e"
		elif ! sed -n 2p "$tmp/e" | grep -qF -- "$usage"; then
			bad "$what: the usage does not follow"
			sed 's/^/    /' "$tmp/e"
		elif grep -q "cannot reach portcullisd" "$tmp/e"; then
			bad "$what: tried to reach the daemon"
		else
			ok
		fi
		;;
	esac
}

# NAME; daemon's; missing: args (-: none required); what it says; extra:
# args, the last one extra (-: any number taken); well formed
set -f
while IFS=';' read -r name remote miss says extra good; do
	case $name in '#'*|'') continue ;; esac
	args_case "$name" "$remote" 0 "" $name --help
	args_case "$name" "$remote" 0 "" $name -h
	args_case "$name" "$remote" 2 \
		"portcullis: $name: unknown option '--bogus'" $name --bogus
	if [ "$miss" != - ]; then
		args_case "$name" "$remote" 2 "portcullis: $name: missing $says" \
			$miss
	fi
	if [ "$extra" != - ]; then
		last=${extra##* }
		args_case "$name" "$remote" 2 \
			"portcullis: $name: unexpected argument '$last'" $extra
	fi
	if [ "$good" != - ]; then
		[ "$remote" = n ] || args_case "$name" y 1 "" $good
		# --help anywhere wins: nothing sent, nothing read.
		args_case "$name" "$remote" 0 "" $good --help
	fi
done <<TABLE
check;n;check;POLICY;check $P x;check $P
explain;n;explain $P 100.64.0.5;DST PORT;explain $P 100.64.0.5 203.0.113.9 25 x;explain $P 100.64.0.5 203.0.113.9 25
rules;n;rules;POLICY;rules $P x;rules $P
log;n;-;-;-;log --top 3 /nonexistent/blocks.jsonl
report;n;-;-;-;report -o /nonexistent/r.html /nonexistent/blocks.jsonl
diff;n;diff $P;NEW;diff $P $P x;diff $P $P
stats;y;-;-;stats x;stats --json
top;y;-;-;top 5 x;top 5 --json
quarantine;y;-;-;quarantine x;quarantine
release;y;release;SRC|ID;release 100.64.0.5 x;release 100.64.0.5
reload;y;-;-;reload x;reload
except;y;except;add|del|list|history;-;-
except add;y;except add;PREFIX or --subscriber ID;except add 100.64.0.0/29 --profile business x;except add 100.64.0.0/29 --profile business --note ticket
except del;y;except del;PREFIX or --subscriber ID;except del 100.64.0.0/29 x;except del 100.64.0.0/29
except list;y;-;-;except list --json x;except list --json
except history;y;-;-;except history a b;except history cust-1 --json
session;y;session;start|stop|list;-;-
session start;y;session start;ID ADDRESS;session start c1 100.64.0.5 2001:db8::/56 2001:db8:1::/56 x;session start c1 100.64.0.5 --for 1h --source kea
session stop;y;session stop;ID|ADDRESS;session stop c1 x;session stop c1
session list;y;-;-;session list c1 x;session list --json
shadow;y;shadow;start|status|stop;-;-
shadow start;y;shadow start;POLICY;shadow start $P x;shadow start $P
shadow status;y;-;-;shadow status x;shadow status --json
shadow stop;y;-;-;shadow stop x;shadow stop
TABLE
set +f

# The command itself: no command, an unknown one, its own options.
args_case "" n 0 "" --help
args_case "" n 0 "" -h
args_case "" n 2 "portcullis: unknown option '--bogus'" --bogus
args_case "" n 2 "portcullis: missing COMMAND"
args_case "" n 2 "portcullis: unknown command 'frobnicate'" frobnicate
args_case "" n 2 "portcullis: option '--control' needs a value" --control
args_case "except" y 2 "portcullis: except: unknown command 'bogus'" \
	except bogus
args_case "shadow" y 2 "portcullis: shadow: unknown command 'bogus'" \
	shadow bogus

# What else a usage error names: values, the rest of the rules.
args_case "check" n 2 "portcullis: check: unknown option '-x'" check -x $P
args_case "rules" n 2 "portcullis: rules: option '--queues' needs a value" \
	rules $P --queues
args_case "log" n 2 "portcullis: log: ambiguous option '--s' (--since, --src, --subscriber)" \
	log --s 1h
args_case "log" n 2 "portcullis: log: option '--json' takes no value" \
	log --json=yes
args_case "report" n 2 "portcullis: report: -o FILE.html is needed: where to write the report (- for stdout)" \
	report /nonexistent/blocks.jsonl
args_case "report" n 2 "portcullis: report: option '-o' needs a value" \
	report /nonexistent/blocks.jsonl -o
args_case "report" n 2 "portcullis: report: --top: N must be a number from 1 to 10000, found '0'" \
	report --top 0 -o x.html
args_case "top" y 2 "portcullis: top: N must be a number from 1 to 10000, found '-5x'" \
	top -- -5x
args_case "top" y 2 "portcullis: top: unknown option '-5'" top -5
args_case "stats" y 2 "portcullis: stats: unknown option '--control'" \
	stats --control /x
args_case "except add" y 2 "portcullis: except add: missing --profile P" \
	except add 100.64.0.0/29
args_case "except add" y 2 \
	"portcullis: except add: --for and --until exclude each other" \
	except add 100.64.0.0/29 --profile business --for 1h --until \
	2099-01-01T00:00:00Z
args_case "except add" y 2 \
	"portcullis: except add: option '--profile' needs a value" \
	except add 100.64.0.0/29 --profile
