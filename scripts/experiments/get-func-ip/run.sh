#!/bin/sh
# Why get_func_ip_test fails now and then beside other tests (test_progs --workers): run it N times alone, beside a
# loop of map syscalls, and beside a loop of syscalls that touch no BPF state. From the repository's root:
#   npm run vm-test -- exec --full-selftests --cpus 1 --memory 4096 --timeout 3600 --test-timeout 3500 -- \
#     sh -c 'cd /run/vm-test-build/vm-test-selftests/full && N=20 "$0"' "$PWD/scripts/experiments/get-func-ip/run.sh"
# (the current directory is shared with the guest at the same path). gcc builds the two loops on the host's root.
set -u
here=$(dirname "$0")
N=${N:-20}
bin=$(mktemp -d)
gcc -O2 -static -o "$bin/mapstress" "$here/mapstress.c" && gcc -O2 -static -o "$bin/syscallstress" "$here/syscallstress.c" || exit 1
run() {
	label=$1 f=0 i=0
	while [ "$i" -lt "$N" ]; do
		i=$((i + 1))
		if ! ./test_progs -t get_func_ip_test > "$bin/log" 2>&1; then
			f=$((f + 1))
			grep -E ':FAIL:' "$bin/log" | sort -u
		fi
	done
	echo "RESULT $label: $f of $N failed"
}
run alone
"$bin/mapstress" & p=$!
run beside-map-syscalls
kill "$p"
"$bin/syscallstress" & p=$!
run beside-getppid
kill "$p"
