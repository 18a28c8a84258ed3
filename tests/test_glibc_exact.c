/* SPDX-License-Identifier: MIT */
/*
 * coreheap must list exactly the allocations a fixture recorded as live:
 * the very pointers malloc returned and their usable sizes, no more, no
 * less. Each test makes its core at test time (tests/make-core.sh), with
 * libc's debug info found as usual, or hidden with --debuginfo-path
 * /nonexistent so that coreheap must find main_arena and the tcaches
 * without symbols. See exact_harness.c for the checking itself.
 */
#include "exact_harness.h"

#define EXACT_TEST(test_name, fixture, source) \
	EXACT_TEST_PAIR(glibc_exact, "", "glibc", test_name, fixture, source)

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
/* tcache_max=4000000: 2.42's large tcache bins, mmapped chunks in them (2.43). */
EXACT_TEST(large_tcache, "glibc_large_tcache", CORE_FROM_GCORE)
EXACT_TEST(tcache_remainder, "glibc_tcache_remainder", CORE_FROM_GCORE)
