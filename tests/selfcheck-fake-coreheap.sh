#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Proves that the exactness tests can fail: runs tests/test_glibc_exact's
# `mixed' test with tests/fake-coreheap.sh as COREHEAP. The fake prints the
# fixture's own recorded set, so the test must pass; then the same set with
# one allocation dropped, one added, one resized, a failing exit status, or
# a malformed line, and each time the test must fail.
#
# Environment: as for the other tests (FIXTURES, SRCDIR, CORE_DIR).

set -u

die() {
	echo "selfcheck-fake-coreheap.sh: FAIL: $*" >&2
	exit 1
}

for name in FIXTURES SRCDIR CORE_DIR; do
	[ -n "${!name-}" ] || die "$name is not set (run with make check)"
done
command -v gcore >/dev/null 2>&1 || { echo "SKIP: no gcore" >&2; exit 77; }

test_binary=$FIXTURES/../tests/test_glibc_exact
[ -x "$test_binary" ] || die "$test_binary is not built"
work=$CORE_DIR/selfcheck
mkdir -p "$work" || die "cannot create $work"

# run_exact_test MODE: the test's exit status; its output in $work/MODE.log.
run_exact_test() {
	FAKE_COREHEAP_PERTURB=$1 COREHEAP=$SRCDIR/tests/fake-coreheap.sh \
		CORE_DIR=$work "$test_binary" --jobs 1 --filter 'glibc_exact/mixed' \
		>"$work/$1.log" 2>&1
}

run_exact_test none
status=$?
[ $status -eq 0 ] || { cat "$work/none.log" >&2; die "the exact fake coreheap did not pass (status $status)"; }
grep -q 'Tested: 1 | Passing: 1 |' "$work/none.log" ||
	{ cat "$work/none.log" >&2; die "the exact run did not run and pass exactly one test"; }
echo "exact fake coreheap: passes"

failures=0
for mode in drop add resize exit badjson; do
	if run_exact_test "$mode"; then
		cat "$work/$mode.log" >&2
		echo "perturbation '$mode': the test PASSED, it must fail" >&2
		failures=$((failures + 1))
	elif ! grep -q 'Failing: 1 ' "$work/$mode.log"; then
		cat "$work/$mode.log" >&2
		echo "perturbation '$mode': no failing test reported" >&2
		failures=$((failures + 1))
	else
		echo "perturbation '$mode': the test fails, as it must"
	fi
done
[ $failures -eq 0 ] || die "$failures perturbations went unnoticed"
rm -rf "$work"
echo "all perturbations caught"
