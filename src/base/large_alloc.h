/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Allocation of the large flat arrays of the graph work (tens to hundreds of
 * megabytes for tens of millions of allocations).
 *
 * The memory comes from malloc and goes back with free(), or with
 * ch_free_large(), whose pages the next large array takes (page_pool.h):
 * a fresh page costs a fault, and on a virtual machine whose host takes
 * back the guest's free memory, the host's fault as well.
 *
 * No array asks for transparent huge pages (MADV_HUGEPAGE): the system's
 * policy holds. On this project's machine, a virtual machine with free
 * page reporting, a huge page takes a whole free 2 MiB block, the kind the
 * guest hands back to its host, and a fresh one cost 5.6 to 6.3 s a GB
 * after the machine sat idle, against 1.6 to 1.8 s in 4 KiB pages. `top`
 * at 30 million, as the first run after 30 s idle, took 12.5 to 12.8 s
 * with the hint and 10.6 to 11.5 s without it; in a series of runs, 9.1
 * to 9.5 s either way.
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

/**
 * malloc(size), its pages taken from those kept for reuse
 * (ch_page_pool_reuse()) when size is large and there are.
 */
static inline void *ch_malloc_large(size_t size)
{
	void *p = malloc(size);

	if (size >= CH_PAGE_POOL_MIN_BYTES)
		ch_page_pool_reuse(p, size);
	return p;
}

/** calloc(count, size), as ch_malloc_large(). */
static inline void *ch_calloc_large(size_t count, size_t size)
{
	size_t bytes = size && count <= SIZE_MAX / size ? count * size : 0;
	// Reused pages come cleared.
	void *p = calloc(count, size);

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
 * or NULL. mremap() moves the pages of such a range a page table at a time
 * (and keeps huge pages, where the system gives them unasked) only when
 * the old and new places are both aligned: an array grown by mremap() and
 * the page pool's ranges lie in such mappings.
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
	aligned = (start + CH_HUGE_PAGE_SIZE - 1) &
		  ~(uintptr_t)(CH_HUGE_PAGE_SIZE - 1);
	if (aligned > start)
		munmap(p, aligned - start);
	if (start + reserved > aligned + size)
		munmap((void *)(aligned + size), start + reserved - aligned - size);
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
 * Give back the whole pages inside [p, p + size) of an array whose contents
 * there are no longer needed: the array's peak memory need not hold them
 * while later parts are faulted in. A later touch reads zeroes.
 */
static inline void ch_release_pages(void *p, size_t size)
{
	uintptr_t start = ch_page_up((uintptr_t)p);
	uintptr_t end = ch_page_down((uintptr_t)p + size);

	if (p && end > start)
		madvise((void *)start, end - start, MADV_DONTNEED);
}

#endif /* COREHEAP_LARGE_ALLOC_H */
