#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The Prometheus rules in examples/prometheus/: promtool checks the rules
# file and runs its unit tests (portcullis-rules.test.yml, and the 8-day
# one, portcullis-rules.week.test.yml), and every
# portcullis_* metric the rules and the tests name must be one the daemon
# prints (filter/, stats/), so a metric renamed in the C sources breaks
# this test. Needs promtool (Debian package prometheus); without it this
# fails, it does not skip.
set -eu
cd "$(dirname "$0")/.."
DIR=examples/prometheus
RULES=$DIR/portcullis-rules.yml
TESTS="$DIR/portcullis-rules.test.yml $DIR/portcullis-rules.week.test.yml"

if ! command -v promtool >/dev/null 2>&1; then
	echo "FAIL: promtool not found: install the Debian package prometheus" \
	     "(apt-get install --no-install-recommends prometheus; make check" \
	     "installs it)" >&2
	exit 1
fi

fail=0
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# Each metric name the files use, once; the recording rules'
# portcullis:… names are not metrics of the daemon.
# shellcheck disable=SC2086
names=$(grep -ho 'portcullis_[a-z0-9_]*' "$RULES" $TESTS |
	sort -u)
[ -n "$names" ] || bad "no portcullis_* metric found in $RULES"
for m in $names; do
	# As a whole word: portcullis_sessions is not portcullis_sessions_max.
	grep -rqw --include='*.c' -e "$m" filter stats ||
		bad "$m is used in $DIR but printed nowhere in filter/ or stats/"
done

promtool check rules "$RULES" || bad "promtool check rules $RULES"
# shellcheck disable=SC2086
promtool test rules $TESTS || bad "promtool test rules $TESTS"

if [ "$fail" -ne 0 ]; then
	echo "promtool: $fail failed"
	exit 1
fi
echo "promtool: rules checked, unit tests passed, $(echo "$names" |
	wc -l) metric names found in the sources"
