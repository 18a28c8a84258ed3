/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Allocation of the large flat arrays of the graph work (tens to hundreds of
 * megabytes for tens of millions of allocations).
 *
 * Filling a fresh array costs a page fault per 4 KiB page, a large share of
 * the time of a linear pass, and the later passes read the arrays at
 * random. ch_malloc_large() asks the kernel for transparent huge pages for
 * the array (when THP is in "madvise" mode, the default on Debian): one
 * fault per 2 MiB, and a TLB entry for as much. The memory comes from
 * malloc and goes back with free(), or with ch_free_large(), whose pages
 * the next large array takes (page_pool.h); the advice is only a hint.
 *
 * On a virtual machine whose host takes back the guest's free memory, a
 * fresh page costs the host's fault as well, and the hint's worth depends
 * on the host. Measured on two machines of this project's kind: on one
 * (twenty-ninth session), a fresh huge page cost 5.6 to 6.3 s a GB after
 * the machine sat idle against 1.6 to 1.8 s in 4 KiB pages, and `top` at
 * 30 million took 12.5 to 12.8 s with the hint against 10.6 to 11.5 s
 * without it after 30 s idle, the same in a series; on the other
 * (thirtieth session, 4 KiB faults of about 10 us), huge pages cost 1.8 s
 * a GB fresh and 0.1 s once the host had backed them, against 2.7 to
 * 3.4 s in 4 KiB pages, and the hint took `top` at 2 million from 1.3 to
 * 1.9 s to 1.0 to 1.6 s, at 30 million from 24.8 to 27.6 s to 20.4 to
 * 24.0 s in a series, the same after 30 s idle. On a machine that is not
 * virtual, huge pages only save.
 */
#ifndef COREHEAP_LARGE_ALLOC_H
#define COREHEAP_LARGE_ALLOC_H

#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/page_pool.h"

#define CH_HUGE_PAGE_SIZE ((size_t)2 << 20)

/** The start of the huge page that holds address a. */
static inline uintptr_t ch_huge_page_down(uintptr_t a)
{
	return a & ~(uintptr_t)(CH_HUGE_PAGE_SIZE - 1);
}

/** The start of the first huge page at or after address a. */
static inline uintptr_t ch_huge_page_up(uintptr_t a)
{
	return ch_huge_page_down(a + CH_HUGE_PAGE_SIZE - 1);
}

// Ask for huge pages for the whole 2 MiB pages inside [p, p + size). Only a
// hint: on memory already touched, or not mmap'd for this array, it costs
// nothing but the call.
static inline void *ch_hint_huge_pages(void *p, size_t size)
{
	if (p && size >= 2 * CH_HUGE_PAGE_SIZE) {
		uintptr_t start = ch_huge_page_up((uintptr_t)p);
		uintptr_t end = ch_huge_page_down((uintptr_t)p + size);

		if (end > start)
			madvise((void *)start, end - start, MADV_HUGEPAGE);
	}
	return p;
}

/**
 * malloc(size), with huge pages asked for when size is large, and taken
 * from the pages kept for reuse (ch_page_pool_reuse()) when there are.
 */
static inline void *ch_malloc_large(size_t size)
{
	void *p = ch_hint_huge_pages(malloc(size), size);

	if (size >= CH_PAGE_POOL_MIN_BYTES)
		ch_page_pool_reuse(p, size);
	return p;
}

/** calloc(count, size), as ch_malloc_large(). */
static inline void *ch_calloc_large(size_t count, size_t size)
{
	size_t bytes = size && count <= SIZE_MAX / size ? count * size : 0;
	// glibc's calloc does not touch the fresh mmap'd memory of a large
	// allocation, so the hint comes in time (and reused pages come
	// cleared).
	void *p = ch_hint_huge_pages(calloc(count, size), bytes);

	if (bytes >= CH_PAGE_POOL_MIN_BYTES)
		ch_page_pool_reuse(p, bytes);
	return p;
}

/**
 * free(p), p from malloc(): the pages of a large array are kept for the
 * next one (ch_page_pool_keep()).
 */
static inline void ch_free_large(void *p)
{
	if (p) {
		size_t size = malloc_usable_size(p);

		if (size >= CH_PAGE_POOL_MIN_BYTES)
			ch_page_pool_keep(p, size);
		free(p);
	}
}

/**
 * munmap() of a mapping of bytes (ch_map_huge_aligned()): the pages of a
 * large one are kept for the next array, as ch_free_large() does.
 */
static inline void ch_unmap_large(void *p, size_t bytes)
{
	if (p) {
		if (bytes >= CH_PAGE_POOL_MIN_BYTES)
			ch_page_pool_keep(p, bytes);
		munmap(p, bytes);
	}
}

/**
 * An array that is a mapping of mapped bytes (ch_unmap_large()), or one
 * from malloc() when mapped is 0 (ch_free_large()).
 */
static inline void ch_free_large_or_unmap(void *p, size_t mapped)
{
	if (mapped)
		ch_unmap_large(p, mapped);
	else
		ch_free_large(p);
}

static inline void ch_free_largep(void *p)
{
	ch_free_large(*(void **)p);
}

/** A local freed by ch_free_large() when it goes out of scope. */
#define _cleanup_free_large_ __attribute__((__cleanup__(ch_free_largep)))

/**
 * A fresh anonymous mapping of size bytes that starts at a 2 MiB boundary,
 * asked for huge pages, or NULL. The kernel backs only the aligned 2 MiB
 * pages of a mapping with huge pages, and mremap() keeps them (and moves
 * pages a page table at a time) only when the old and new places are both
 * aligned: an array grown by mremap() and the page pool's ranges lie in
 * such mappings.
 */
static inline void *ch_map_huge_aligned(size_t size)
{
	size_t page = (size_t)getpagesize(), reserved;
	uintptr_t start, aligned;
	void *p;

	if (size > SIZE_MAX - 2 * CH_HUGE_PAGE_SIZE)
		return NULL;
	size = (size + page - 1) & ~(page - 1);
	reserved = size + CH_HUGE_PAGE_SIZE;
	p = mmap(NULL, reserved, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (uintptr_t)p;
	aligned = ch_huge_page_up(start);
	if (aligned > start)
		munmap(p, aligned - start);
	if (start + reserved > aligned + size)
		munmap((void *)(aligned + size), start + reserved - aligned - size);
	madvise((void *)aligned, size, MADV_HUGEPAGE);
	return (void *)aligned;
}

/**
 * Move the old_bytes at old (a ch_map_huge_aligned() mapping, or NULL with
 * old_bytes 0) to a fresh one of new_bytes, larger, without copying: the
 * pages change places (mremap), huge ones included. Returns the new
 * mapping, or NULL with old left as it was.
 */
static inline void *ch_grow_huge_aligned(void *old, size_t old_bytes,
					 size_t new_bytes)
{
	void *grown = ch_map_huge_aligned(new_bytes);

	if (!grown || !old)
		return grown;
	if (mremap(old, old_bytes, new_bytes, MREMAP_MAYMOVE | MREMAP_FIXED,
		   grown) == MAP_FAILED) {
		munmap(grown, new_bytes);
		return NULL;
	}
	return grown;
}

/** The start of the page that holds address a. */
static inline uintptr_t ch_page_down(uintptr_t a)
{
	return a & ~((uintptr_t)getpagesize() - 1);
}

/** The start of the first page at or after address a. */
static inline uintptr_t ch_page_up(uintptr_t a)
{
	return ch_page_down(a + (uintptr_t)getpagesize() - 1);
}

/**
 * Fault in the pages of [p, p + size) for writing, where the kernel can
 * (Linux 5.14 on): for a thread that prepares an array another will fill.
 * Nothing is written. False when the pages could not be faulted in (no
 * such call here, a kernel without it, no memory): they are then faulted
 * in by their first write, as always.
 */
static inline bool ch_populate(void *p, size_t size)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t start = ch_page_down((uintptr_t)p);

	return p && size &&
	       madvise((void *)start, size + ((uintptr_t)p - start),
		       MADV_POPULATE_WRITE) == 0;
#else
	return false;
#endif
}

/**
 * The whole pages inside [p, p + size), as [*start, *end): false when
 * there are none (p NULL, or no page begins and ends inside the range).
 */
static inline bool ch_whole_pages(const void *p, size_t size,
				  uintptr_t *start, uintptr_t *end)
{
	*start = ch_page_up((uintptr_t)p);
	*end = ch_page_down((uintptr_t)p + size);
	return p && *end > *start;
}

/**
 * Give back the whole pages inside [p, p + size) of an array whose contents
 * there are no longer needed: the array's peak memory need not hold them
 * while later parts are faulted in. A later touch reads zeroes.
 */
static inline void ch_release_pages(void *p, size_t size)
{
	uintptr_t start, end;

	if (ch_whole_pages(p, size, &start, &end))
		madvise((void *)start, end - start, MADV_DONTNEED);
}

#endif /* COREHEAP_LARGE_ALLOC_H */
