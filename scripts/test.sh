#!/bin/sh
# Runs every test: installs what is needed, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the suite, runs each fuzz target
# briefly (clang, build-fuzz/), then builds normally and runs the suite
# again. The second command of the README; .ci/run runs it.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export DEBUGINFOD_URLS=
jobs=$(nproc)

# Prints the suite's totals and fails if any test failed.
run_suite() {
	label=$1
	shift
	status=0
	make -j"$jobs" check "$@" > "check-$label.out" 2>&1 || status=$?
	grep -E '^(PASS|FAIL|SKIP|ERROR|XPASS|XFAIL):' "check-$label.out" || true
	if [ "$status" -ne 0 ]; then
		echo "== $label: failed; the logs of the failing tests:"
		for log in $(grep -lE '^(FAIL|ERROR)' tests/*.log 2>/dev/null); do
			echo "--- $log"; tail -n 60 "$log"
		done
		tail -n 20 "check-$label.out"
	fi
	pass=$(grep -c '^PASS:' "check-$label.out" || true)
	fail=$(grep -cE '^(FAIL|ERROR):' "check-$label.out" || true)
	skip=$(grep -c '^SKIP:' "check-$label.out" || true)
	echo "$label: $pass passed, $fail failed, $skip skipped"
	return "$status"
}

[ -x configure ] || ./autogen.sh > /dev/null
if [ -f Makefile ]; then make -s distclean > /dev/null 2>&1 || true; fi

./configure -q --enable-sanitizers --enable-werror
make -s -j"$jobs"
asan_status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	run_suite sanitizers || asan_status=$?
make -s distclean > /dev/null

# The fuzz targets, built with clang in a directory of their own (the
# source tree is clean between the two suites), each run FUZZ_SECONDS on
# the seeds made from the fixtures' cores: short, it catches what lies
# near the seeds and keeps the targets building. FUZZ_SECONDS=0 skips it.
fuzz_seconds=${FUZZ_SECONDS:-20}
fuzz_status=0
if [ "$fuzz_seconds" -gt 0 ]; then
	rm -rf build-fuzz
	mkdir build-fuzz
	(
		cd build-fuzz &&
		../configure -q CC=clang CXX=clang++ --enable-fuzzing --enable-werror &&
		make -s -j"$jobs" > make.out 2>&1 || { tail -n 30 make.out; exit 1; }
		make -s fuzz FUZZ_SECONDS="$fuzz_seconds"
	) || fuzz_status=$?
	echo "fuzzing: $([ "$fuzz_status" -eq 0 ] && echo passed || echo failed)"
fi

./configure -q --enable-werror
make -s -j"$jobs"
status=0
run_suite plain || status=$?

if [ "$asan_status" -ne 0 ] || [ "$status" -ne 0 ] || [ "$fuzz_status" -ne 0 ]; then
	exit 1
fi
