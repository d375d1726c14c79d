#!/usr/bin/env bash
# Runs every Go fuzz target in the tree for FUZZTIME each (default 30s):
# `make fuzz` for a long run, `make test` for a short one (3s each).
# go test -fuzz takes one target at a time, so the targets are listed here
# from the source.
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
	else
		echo "FAIL"
		echo "$out" | tail -n 30
		failed=1
	fi
done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/func //' | sort)
exit $failed
