/* SPDX-License-Identifier: MIT */
/*
 * coreheap must list exactly the allocations a jemalloc fixture recorded as
 * live: the very pointers jemalloc returned and their usable sizes, no
 * more, no less, and nothing from any other allocator. The fixtures link
 * Debian's libjemalloc2, which is stripped: coreheap finds jemalloc's
 * globals without symbols. --debuginfo-path /nonexistent hides libc's debug
 * info as well, which must change nothing. See exact_harness.c.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdbool.h>

#include "exact_harness.h"

#define EXACT_TIMEOUT 300

#define EXACT_TEST(test_name, fixture, source)					\
	Test(jemalloc_exact, test_name, .timeout = EXACT_TIMEOUT)		\
	{									\
		exact_check_allocator(fixture, "jemalloc_" #test_name, source,	\
				      LIBC_DEBUGINFO_DEFAULT, "jemalloc");	\
	}									\
	Test(jemalloc_exact, test_name##_nodebug, .timeout = EXACT_TIMEOUT)	\
	{									\
		exact_check_allocator(fixture, "jemalloc_" #test_name "_nodebug",\
				      source, LIBC_DEBUGINFO_HIDDEN,		\
				      "jemalloc");				\
	}

/*
 * One thread: every small class, large sizes to 16 MiB (the huge arena),
 * calloc, realloc, aligned allocations, stdio; frees in the tcache, flushed
 * into slab bitmaps, and large extents returned to the arena.
 */
EXACT_TEST(mixed, "jemalloc_mixed", CORE_FROM_GCORE)
/* A kernel core of the same heap: the fixture abort()s after recording. */
EXACT_TEST(kernel_abort, "jemalloc_abort", CORE_FROM_KERNEL)
/* The same with the thread caches off: no thread leads to the heap. */
EXACT_TEST(notcache, "jemalloc_notcache", CORE_FROM_GCORE)
/* The same with libjemalloc.a linked in: jemalloc's globals by symbol. */
EXACT_TEST(static, "jemalloc_static", CORE_FROM_GCORE)
/*
 * Three workers in three arenas, an idle thread, an exited thread;
 * cross-thread frees: other arenas' regions in a tcache and flushed back.
 */
EXACT_TEST(threads, "jemalloc_threads", CORE_FROM_GCORE)
/*
 * The same on the hugepage allocator: extents freed into its caches stay
 * active, with no size class, and their tree entries stale.
 */
EXACT_TEST(hpa, "jemalloc_hpa", CORE_FROM_GCORE)

/* Every test skipped (no gcore here): 77 for automake, not a pass. */
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
