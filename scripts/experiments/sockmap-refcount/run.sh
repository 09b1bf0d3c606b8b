#!/bin/bash
# Is the sk_psock_backlog refcount warning the series' or the tree's? The sockmap tests, base and series, N rounds,
# the base run every round (--base-again, not its kept verdict); prints each side's count of the warning a round.
# Run from the project's root: scripts/experiments/sockmap-refcount/run.sh [ROUNDS] [RUN_DIR_PREFIX]
# Measured 2026-12-08 (7.2.6, v1, 8 rounds of 2 to 3 minutes; before --base-again, the kept base verdict removed by
# hand, and round 2 reused round 1's): the series 1 of 8, the base 0 of 7 (README, "Why each test that failed ...").
set -u
rounds=${1:-8}
prefix=${2:-$HOME/.cache/vm-test/runs/sockmap-refcount}
for i in $(seq 1 "$rounds"); do
	dir=$prefix-$i
	npm run vm-test -- bpf-ci --runners test_progs,test_progs-cpuv4 -a 'sockmap*' --base-again --run-dir "$dir" < /dev/null > "$dir.log" 2>&1
	rc=$?
	echo "round $i: exit $rc; base $(grep -c 'refcount_t: underflow' "$dir/base/console.log" 2>/dev/null), series $(grep -c 'refcount_t: underflow' "$dir/series/console.log" 2>/dev/null)"
done
