#!/usr/bin/env bash
# Runs every Go fuzz target in the tree for FUZZTIME each (default 30s):
# `make fuzz` for a long run, `make test` for a short one. FUZZTIME is
# what go test -fuzztime takes: a duration (30s) or a count of runs (2000x).
# go test -fuzz takes one target at a time, so the targets are listed here
# from the source.
#
# Go before 1.27 may fail a duration-bounded run with a bare "context
# deadline exceeded" just as the time is up (go.dev/issue/75804): the
# coordinator's own shutdown race, not a finding. A real finding always
# writes a failing input under testdata/fuzz, so such a run counts as
# passed when it wrote none and the target's corpus still replays clean.
# `make test` uses a count instead, which has no deadline to race.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}
failed=0
while IFS=: read -r file name; do
	pkg=./$(dirname "${file#./}")
	printf '%-14s %-28s ' "$pkg" "$name"
	# -fuzzminimizetime keeps a large seed corpus from eating the whole run.
	if out=$(go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=2s "$pkg" 2>&1); then
		echo "ok $(grep -o 'execs: [0-9]*' <<<"$out" | tail -n1)"
	elif grep -q 'context deadline exceeded' <<<"$out" &&
		! grep -q -e 'Failing input written' -e 'panic:' <<<"$out" &&
		go test -run="^${name}\$" "$pkg" >/dev/null 2>&1; then
		echo "ok $(grep -o 'execs: [0-9]*' <<<"$out" | tail -n1) (go.dev/issue/75804 at the deadline; corpus replays clean)"
	else
		echo "FAIL"
		echo "$out" | tail -n 30
		failed=1
	fi
done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/func //' | sort)
exit $failed
