// SPDX-License-Identifier: MIT
// The pool of kept pages: what an array gives up reads zeroes and goes to
// the next array, cleared, while the pool is open; bytes in memory and
// bytes outside the ranges are never touched; large arrays from malloc
// come back from it zeroed.
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "all_bytes.h"
#include "base/large_alloc.h"
#include "base/page_pool.h"

#define HUGE CH_HUGE_PAGE_SIZE

// Whether this kernel moves pages and leaves their old place mapped: the
// pool keeps nothing where it does not.
static bool kernel_moves_pages(void)
{
#ifdef MREMAP_DONTUNMAP
	uint8_t *from = ch_map_huge_aligned(HUGE), *to = ch_map_huge_aligned(HUGE);
	bool moved;

	cr_assert(from && to);
	from[0] = 1;
	moved = mremap(from, HUGE, HUGE,
		       MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
		       to) != MAP_FAILED;
	munmap(from, HUGE);
	munmap(to, HUGE);
	return moved;
#else
	return false;
#endif
}

// Whether every page of [p, p + size) is in memory.
static bool all_resident(void *p, size_t size)
{
	size_t pages = size / (size_t)getpagesize();
	unsigned char *in_core = malloc(pages);
	bool all = in_core && mincore(p, size, in_core) == 0;

	for (size_t i = 0; all && i < pages; i++)
		all = in_core[i] & 1;
	free(in_core);
	return all;
}

// An array of pages huge pages, written, then given up to the pool, opened.
static uint8_t *give_up_pages(size_t pages)
{
	uint8_t *given = ch_map_huge_aligned(pages * HUGE);

	cr_assert(given);
	memset(given, 0xab, pages * HUGE);
	ch_page_pool_open();
	ch_page_pool_keep(given, pages * HUGE);
	return given;
}

Test(page_pool, kept_pages_go_to_the_next_array_cleared)
{
	bool moves = kernel_moves_pages();
	uint8_t *given = give_up_pages(4);
	uint8_t *taking = ch_map_huge_aligned(4 * HUGE);

	cr_assert(taking);
	cr_expect_eq(ch_page_pool_bytes(), moves ? 4 * HUGE : 0);
	ch_page_pool_reuse(taking, 4 * HUGE);
	cr_expect_eq(ch_page_pool_bytes(), 0);
	// Moved in, not faulted in by the reads below.
	if (moves)
		cr_expect(all_resident(taking, 4 * HUGE));
	cr_expect(all_bytes(taking, 4 * HUGE, 0));
	cr_expect(all_bytes(given, 4 * HUGE, 0));
	ch_page_pool_close();
	munmap(given, 4 * HUGE);
	munmap(taking, 4 * HUGE);
}

Test(page_pool, reuse_leaves_pages_in_memory_alone)
{
	bool moves = kernel_moves_pages();
	uint8_t *given = give_up_pages(2);
	uint8_t *taking = ch_map_huge_aligned(2 * HUGE);

	cr_assert(taking);
	// Small pages: one written in the middle of the first huge page, its
	// first page not in memory.
	madvise(taking, 2 * HUGE, MADV_NOHUGEPAGE);
	taking[HUGE / 2 + 100] = 0x5a;
	ch_page_pool_reuse(taking, 2 * HUGE);
	cr_expect_eq(taking[HUGE / 2 + 100], 0x5a);
	// The second huge page, untouched, took one kept page.
	cr_expect_eq(ch_page_pool_bytes(), moves ? HUGE : 0);
	cr_expect(all_bytes(taking + HUGE, HUGE, 0));
	ch_page_pool_close();
	munmap(given, 2 * HUGE);
	munmap(taking, 2 * HUGE);
}

Test(page_pool, keep_spares_the_bytes_around_the_range)
{
	uint8_t *array = ch_map_huge_aligned(4 * HUGE);
	size_t begin = 1000, size = 5 * HUGE / 2;

	cr_assert(array);
	memset(array, 0x11, 4 * HUGE);
	ch_page_pool_open();
	ch_page_pool_keep(array + begin, size);
	cr_expect_eq(array[begin - 1], 0x11);
	cr_expect_eq(array[begin + size], 0x11);
	cr_expect(all_bytes(array + 4096, HUGE, 0));
	// Only the whole huge page inside moved; the partial ones went back.
	cr_expect_leq(ch_page_pool_bytes(), HUGE);
	ch_page_pool_close();
	cr_expect_eq(ch_page_pool_bytes(), 0);
	munmap(array, 4 * HUGE);
}

Test(page_pool, large_arrays_come_back_zeroed_from_calloc)
{
	size_t size = CH_PAGE_POOL_MIN_BYTES + 3 * HUGE;
	uint8_t *first = ch_malloc_large(size), *second;

	cr_assert(first);
	memset(first, 0xcd, size);
	ch_page_pool_open();
	ch_free_large(first);
	if (kernel_moves_pages())
		cr_expect_geq(ch_page_pool_bytes(), CH_PAGE_POOL_MIN_BYTES);
	second = ch_calloc_large(size, 1);
	cr_assert(second);
	cr_expect(all_bytes(second, size, 0));
	cr_expect_lt(ch_page_pool_bytes(), 2 * HUGE);
	ch_free_large(second);
	// Closed, the pool gives back what it holds.
	ch_page_pool_close();
	cr_expect_eq(ch_page_pool_bytes(), 0);
	// Smaller arrays stay out of it, though one holds a whole huge page.
	ch_page_pool_open();
	first = ch_malloc_large(CH_PAGE_POOL_MIN_BYTES - 4096);
	cr_assert(first);
	memset(first, 1, CH_PAGE_POOL_MIN_BYTES - 4096);
	ch_free_large(first);
	cr_expect_eq(ch_page_pool_bytes(), 0);
	ch_page_pool_close();
}

Test(page_pool, keeps_nothing_unless_open)
{
	uint8_t *array = ch_map_huge_aligned(2 * HUGE);

	cr_assert(array);
	memset(array, 0x22, 2 * HUGE);
	ch_page_pool_keep(array, 2 * HUGE);
	cr_expect_eq(ch_page_pool_bytes(), 0);
	cr_expect(all_bytes(array, 2 * HUGE, 0));
	// Nested stretches: the inner close keeps what the outer holds.
	memset(array, 0x22, 2 * HUGE);
	ch_page_pool_open();
	ch_page_pool_open();
	ch_page_pool_keep(array, HUGE);
	ch_page_pool_close();
	cr_expect_eq(ch_page_pool_bytes(), kernel_moves_pages() ? HUGE : 0);
	ch_page_pool_close();
	cr_expect_eq(ch_page_pool_bytes(), 0);
	munmap(array, 2 * HUGE);
}
