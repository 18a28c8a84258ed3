/* SPDX-License-Identifier: MIT */
/*
 * coreheap must list exactly the allocations a fixture recorded as live:
 * the very pointers malloc returned and their usable sizes, no more, no
 * less. Each test makes its core at test time (tests/make-core.sh), with
 * libc's debug info found as usual, or hidden with --debuginfo-path
 * /nonexistent so that coreheap must find main_arena and the tcaches
 * without symbols. See exact_harness.c for the checking itself.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdbool.h>

#include "exact_harness.h"

/* gcore of a fixture with many threads and a big core takes a while. */
#define EXACT_TIMEOUT 300

#define EXACT_TEST(test_name, fixture, source)					\
	Test(glibc_exact, test_name, .timeout = EXACT_TIMEOUT)			\
	{									\
		exact_check(fixture, #test_name, source,			\
			    LIBC_DEBUGINFO_DEFAULT);				\
	}									\
	Test(glibc_exact, test_name##_nodebug, .timeout = EXACT_TIMEOUT)	\
	{									\
		exact_check(fixture, #test_name "_nodebug", source,		\
			    LIBC_DEBUGINFO_HIDDEN);				\
	}

/* One thread: tcache, fastbins, small/large/unsorted bins, calloc, realloc, stdio. */
EXACT_TEST(mixed, "glibc_mixed", CORE_FROM_GCORE)
/* posix_memalign, aligned_alloc, memalign 32 B .. 1 MiB, valloc, pvalloc. */
EXACT_TEST(aligned, "glibc_aligned", CORE_FROM_GCORE)
/* Three threads in three arenas, cross-arena frees into tcaches and fastbins. */
EXACT_TEST(threads, "glibc_threads", CORE_FROM_GCORE)
/* mmapped blocks, aligned mmapped blocks, mremap'd reallocs, the threshold rising. */
EXACT_TEST(mmap, "glibc_mmap", CORE_FROM_GCORE)
/* 24 threads sharing 4 arenas, two exited threads' arenas reused. */
EXACT_TEST(many_threads, "glibc_many_threads", CORE_FROM_GCORE)
/* A kernel core: the fixture abort()s after recording. */
EXACT_TEST(kernel_abort, "glibc_abort", CORE_FROM_KERNEL)
/* A thread arena grown past its first 64 MiB heap into a second. */
EXACT_TEST(multiheap, "glibc_multiheap", CORE_FROM_GCORE)
/* tcache_count=12, tcache_max=512, mxfast=160: limits read from the process. */
EXACT_TEST(tuned, "glibc_tuned", CORE_FROM_GCORE)
/* main_arena in two pieces: brk blocked, glibc went on in an mmap. */
EXACT_TEST(noncontiguous, "glibc_noncontiguous", CORE_FROM_GCORE)
/* The program moved the break itself: before malloc started, and in between. */
EXACT_TEST(foreign_sbrk, "glibc_foreign_sbrk", CORE_FROM_GCORE)
/* main_arena in seven runs: foreign sbrks with junk, mmaps, brk again. */
EXACT_TEST(runs, "glibc_runs", CORE_FROM_GCORE)

/*
 * If every test skipped (no gcore here, no core files), say so to automake
 * with 77 rather than pass: a suite that checked nothing must not look
 * green.
 */
static bool every_test_skipped;

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	every_test_skipped = stats->nb_tests > 0 &&
			     stats->tests_skipped == stats->nb_tests;
}

int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	int status = 0;

	if (criterion_handle_args(argc, argv, true))
		status = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	if (status == 0 && every_test_skipped)
		return 77;
	return status;
}
