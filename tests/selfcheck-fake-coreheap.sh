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

. "$SRCDIR/tests/lib.sh"
test_init selfcheck FIXTURES SRCDIR
require_command gcore

die() {
	fail "$*"
	finish
}

test_binary=$FIXTURES/../tests/test_glibc_exact
[ -x "$test_binary" ] || die "$test_binary is not built"

# run_exact_test MODE: the test's exit status; its output in $work/MODE.log.
run_exact_test() {
	FAKE_COREHEAP_PERTURB=$1 COREHEAP=$SRCDIR/tests/fake-coreheap.sh \
		CORE_DIR=$work "$test_binary" --jobs 1 --filter 'glibc_exact/mixed' \
		>"$work/$1.log" 2>&1
}

run_exact_test none
status=$?
[ $status -eq 0 ] || { cat "$work/none.log"; die "the exact fake coreheap did not pass (status $status)"; }
grep -q 'Tested: 1 | Passing: 1 |' "$work/none.log" ||
	{ cat "$work/none.log"; die "the exact run did not run and pass exactly one test"; }
ok "exact fake coreheap: passes"

for mode in drop add resize exit badjson; do
	if run_exact_test "$mode"; then
		cat "$work/$mode.log"
		fail "perturbation '$mode': the test PASSED, it must fail"
	elif ! grep -q 'Failing: 1 ' "$work/$mode.log"; then
		cat "$work/$mode.log"
		fail "perturbation '$mode': no failing test reported"
	else
		ok "perturbation '$mode': the test fails, as it must"
	fi
done
[ $failures -eq 0 ] && rm -rf "$work"
finish
