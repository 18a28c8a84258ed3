/* SPDX-License-Identifier: MIT */
/*
 * The exactness check shared by the Criterion tests: make a core of a
 * fixture (tests/make-core.sh), run `$COREHEAP objects --format jsonl` on
 * it, and assert that coreheap exited 0 and reported exactly the fixture's
 * recorded live set.
 *
 * Environment (set by AM_TESTS_ENVIRONMENT): COREHEAP, FIXTURES, SRCDIR,
 * CORE_DIR. CH_KEEP_CORES=1 keeps the cores of passing tests too (those of
 * failing tests are always kept).
 */
#ifndef COREHEAP_TESTS_EXACT_HARNESS_H
#define COREHEAP_TESTS_EXACT_HARNESS_H

#include <criterion/criterion.h>
#include <stdbool.h>

enum core_source {
	CORE_FROM_GCORE,	/* gcore of the live, parked fixture */
	CORE_FROM_KERNEL,	/* the kernel's core of the aborting fixture */
};

enum libc_debuginfo {
	LIBC_DEBUGINFO_DEFAULT,	/* coreheap finds libc6-dbg as usual */
	LIBC_DEBUGINFO_HIDDEN,	/* --debuginfo-path /nonexistent */
};

/*
 * The whole test: fixture is the binary's name in $FIXTURES, name the
 * file prefix in $CORE_DIR (unique per test, tests run in parallel). Every
 * line coreheap prints must name allocator (a block reported by any other
 * allocator fails the test). Mismatches are explained with
 * gdb-heap-oracle.sh for glibc only.
 */
void exact_check_allocator(const char *fixture, const char *name,
			   enum core_source source,
			   enum libc_debuginfo debuginfo,
			   const char *allocator);

/* gcore of a fixture with many threads and a big core takes a while. */
#define EXACT_TIMEOUT 300

/*
 * Two tests in suite of one fixture of allocator: test_name with libc's
 * debug info found as usual, test_name_nodebug with it hidden. The cores'
 * files in $CORE_DIR are named prefix followed by the test's name.
 */
#define EXACT_TEST_PAIR(suite, prefix, allocator, test_name, fixture, source)	\
	Test(suite, test_name, .timeout = EXACT_TIMEOUT)			\
	{									\
		exact_check_allocator(fixture, prefix #test_name, source,	\
				      LIBC_DEBUGINFO_DEFAULT, allocator);	\
	}									\
	Test(suite, test_name##_nodebug, .timeout = EXACT_TIMEOUT)		\
	{									\
		exact_check_allocator(fixture, prefix #test_name "_nodebug",	\
				      source, LIBC_DEBUGINFO_HIDDEN, allocator);\
	}

/* exact_harness.c has the tests' main(): 77 when every test skipped. */

#endif /* COREHEAP_TESTS_EXACT_HARNESS_H */
