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
 * file prefix in $CORE_DIR (unique per test, tests run in parallel).
 */
void exact_check(const char *fixture, const char *name,
		 enum core_source source, enum libc_debuginfo debuginfo);

/*
 * The same for a fixture of another allocator: every line coreheap prints
 * must name allocator (a block reported by any other allocator fails the
 * test). Mismatches are explained with gdb-heap-oracle.sh for glibc only.
 */
void exact_check_allocator(const char *fixture, const char *name,
			   enum core_source source,
			   enum libc_debuginfo debuginfo,
			   const char *allocator);

#endif /* COREHEAP_TESTS_EXACT_HARNESS_H */
