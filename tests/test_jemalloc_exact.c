/* SPDX-License-Identifier: MIT */
/*
 * coreheap must list exactly the allocations a jemalloc fixture recorded as
 * live: the very pointers jemalloc returned and their usable sizes, no
 * more, no less, and nothing from any other allocator. The fixtures link
 * Debian's libjemalloc2, which is stripped: coreheap finds jemalloc's
 * globals without symbols. --debuginfo-path /nonexistent hides libc's debug
 * info as well, which must change nothing. See exact_harness.c.
 */
#include "exact_harness.h"

#define EXACT_TEST(test_name, fixture, source) \
	EXACT_TEST_PAIR(jemalloc_exact, "jemalloc_", "jemalloc", test_name, fixture, source)

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
/*
 * The heap profiler on, every allocation sampled (prof:true,
 * lg_prof_sample:0): its tdata, tctx and gctx records and its hash tables
 * are regions of arena 0 that the program never had.
 */
EXACT_TEST(prof_internal, "jemalloc_prof_internal", CORE_FROM_GCORE)
/* The same with three workers, an idle and an exited thread. */
EXACT_TEST(prof_threads, "jemalloc_prof_threads", CORE_FROM_GCORE)
