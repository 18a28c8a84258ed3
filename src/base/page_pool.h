/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Pages of large arrays kept for the next ones, instead of given back to the
 * kernel and faulted in again.
 *
 * The analysis of a large heap is a run of phases, each with arrays of
 * hundreds of megabytes that the next phase no longer needs: freed, their
 * pages go back to the kernel, and the next phase's arrays fault in fresh
 * ones, which the kernel clears. On a virtual machine whose host takes
 * back the guest's free memory (free page reporting, balloons) a fresh page
 * costs the host's fault too: measured on this project's machines at 0.1
 * to 6.3 s a gigabyte, depending on the host and the page size
 * (large_alloc.h), a large part of `top`'s time at 30 million
 * allocations. Moving pages from one place to another
 * (mremap) costs microseconds: the pool holds up to CH_PAGE_POOL_BYTES of
 * whole 2 MiB ranges of pages given up by arrays, and moves them into
 * arrays being made, cleared (memset, a hundredth of a fault's cost).
 *
 * Kept pages stay the process's memory: the pool holds only pages that were
 * resident already, so that keeping them adds nothing to the memory in use
 * when they were given, and only while the phases that hand large arrays
 * to each other run (between ch_page_pool_open() and ch_page_pool_close()):
 * held through a phase that does not take them, they would add to its
 * peak.
 *
 * Only whole aligned 2 MiB ranges inside a range move, and only where the
 * kernel can move them without unmapping their old place (MREMAP_DONTUNMAP,
 * Linux 5.7 on, private anonymous memory): elsewhere, and once a move
 * failed, the pool keeps nothing and every call does what it would without
 * it. Any thread may call; the pool has a lock.
 */
#ifndef COREHEAP_PAGE_POOL_H
#define COREHEAP_PAGE_POOL_H

#include <stdbool.h>
#include <stddef.h>

/** The most the pool holds. */
#define CH_PAGE_POOL_BYTES ((size_t)512 << 20)

/**
 * ch_malloc_large() and ch_free_large() leave arrays smaller than this out
 * of the pool: they seldom hold a whole aligned 2 MiB range to move. From
 * two such ranges on, a move (microseconds) spares a huge page's fault:
 * at 2 million allocations `top` faulted in 34 MiB less with 4 MiB here
 * than with 32.
 */
#define CH_PAGE_POOL_MIN_BYTES ((size_t)4 << 20)

/**
 * Phases that hand large arrays to each other begin: pages given up are
 * kept until the matching ch_page_pool_close(). Nested calls count: the
 * outermost close gives back what is left.
 */
void ch_page_pool_open(void);
void ch_page_pool_close(void);

/**
 * The contents of [p, p + size) are no longer needed: its whole 2 MiB ranges
 * that are resident move into the pool while it is open and has room, and
 * every whole page of the range is then given back to the kernel (what
 * moved leaves nothing behind). A later touch of the range reads zeroes.
 */
void ch_page_pool_keep(void *p, size_t size);

/**
 * [p, p + size), inside one array of the caller's, is about to be written
 * and what it holds is not needed (a fresh array, or one whose pages were
 * given up): its whole 2 MiB ranges not in memory take kept ones, as many as
 * the pool has, each cleared. The rest of the range is left to be faulted
 * in as usual.
 */
void ch_page_pool_reuse(void *p, size_t size);

/** The bytes the pool holds now. */
size_t ch_page_pool_bytes(void);

#endif /* COREHEAP_PAGE_POOL_H */
