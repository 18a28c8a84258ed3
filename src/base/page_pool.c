// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/large_alloc.h"
#include "base/page_pool.h"

#define POOL_PAGES (CH_PAGE_POOL_BYTES / CH_HUGE_PAGE_SIZE)

/*
 * The kept pages fill the first count huge pages of an address range of
 * the pool's own (a mapping never touched but by moves). A page moved out
 * leaves its place mapped and empty (MREMAP_DONTUNMAP): no hole opens in
 * the range that another mapping could take before the next move in.
 */
static struct {
	pthread_mutex_t lock;
	uint8_t *base;
	size_t count;
	/** Open phases (ch_page_pool_open()): pages are kept while any is. */
	unsigned open;
	/** A move or the range failed: nothing is kept from then on. */
	bool broken;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

// The whole huge pages of [p, p + size), whether there are any.
static bool huge_pages_of(void *p, size_t size, uintptr_t *start,
			  uintptr_t *end)
{
	if (!p)
		return false;
	*start = ch_huge_page_up((uintptr_t)p);
	*end = ch_huge_page_down((uintptr_t)p + size);
	return *end > *start;
}

// Move the huge page at from to to, from left mapped and empty.
static bool move_page(uintptr_t from, uintptr_t to)
{
#ifdef MREMAP_DONTUNMAP
	return mremap((void *)from, CH_HUGE_PAGE_SIZE, CH_HUGE_PAGE_SIZE,
		      MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
		      (void *)to) != MAP_FAILED;
#else
	(void)from;
	(void)to;
	return false;
#endif
}

// Whether the pool can take pages: its range made on first use. Locked.
static bool pool_ready(void)
{
	if (!pool.base && !pool.broken) {
		pool.base = ch_map_huge_aligned(CH_PAGE_POOL_BYTES);
		pool.broken = !pool.base;
	}
	return !pool.broken;
}

// Locked.
static void drop_kept(void)
{
	if (pool.count)
		madvise(pool.base, pool.count * CH_HUGE_PAGE_SIZE,
			MADV_DONTNEED);
	pool.count = 0;
}

// A move failed: the kernel cannot, here. Locked.
static void break_pool(void)
{
	drop_kept();
	pool.broken = true;
}

static uintptr_t slot(size_t i)
{
	return (uintptr_t)pool.base + i * CH_HUGE_PAGE_SIZE;
}

// Whether any page of the huge page at a is in memory (or the kernel
// cannot say).
static bool resident(uintptr_t a)
{
	unsigned char in_core[CH_HUGE_PAGE_SIZE / 4096];
	size_t pages = CH_HUGE_PAGE_SIZE / (size_t)getpagesize();

	if (pages > sizeof(in_core) ||
	    mincore((void *)a, CH_HUGE_PAGE_SIZE, in_core) != 0)
		return true;
	for (size_t i = 0; i < pages; i++) {
		if (in_core[i] & 1)
			return true;
	}
	return false;
}

void ch_page_pool_keep(void *p, size_t size)
{
	uintptr_t start, end;

	if (huge_pages_of(p, size, &start, &end)) {
		pthread_mutex_lock(&pool.lock);
		for (uintptr_t a = start; a < end && pool.open > 0 &&
					  pool.count < POOL_PAGES && pool_ready();
		     a += CH_HUGE_PAGE_SIZE) {
			if (!resident(a))
				continue;
			if (!move_page(a, slot(pool.count))) {
				break_pool();
				break;
			}
			pool.count++;
		}
		pthread_mutex_unlock(&pool.lock);
	}
	// What did not move, and the partial pages at the ends.
	ch_release_pages(p, size);
}

void ch_page_pool_reuse(void *p, size_t size)
{
	uintptr_t start, end, a;

	if (!huge_pages_of(p, size, &start, &end))
		return;
	pthread_mutex_lock(&pool.lock);
	for (a = start; a < end && pool.count > 0; a += CH_HUGE_PAGE_SIZE) {
		// A page of the range in memory already stays.
		if (resident(a))
			continue;
		if (!move_page(slot(pool.count - 1), a)) {
			break_pool();
			break;
		}
		pool.count--;
		// It holds another array's bytes.
		memset((void *)a, 0, CH_HUGE_PAGE_SIZE);
	}
	pthread_mutex_unlock(&pool.lock);
}

void ch_page_pool_open(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.open++;
	pthread_mutex_unlock(&pool.lock);
}

void ch_page_pool_close(void)
{
	pthread_mutex_lock(&pool.lock);
	if (pool.open > 0 && --pool.open == 0)
		drop_kept();
	pthread_mutex_unlock(&pool.lock);
}

size_t ch_page_pool_bytes(void)
{
	size_t bytes;

	pthread_mutex_lock(&pool.lock);
	bytes = pool.count * CH_HUGE_PAGE_SIZE;
	pthread_mutex_unlock(&pool.lock);
	return bytes;
}
