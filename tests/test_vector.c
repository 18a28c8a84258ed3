// SPDX-License-Identifier: MIT
// The typed growable array: appends keep order and contents across growth,
// failures leave the vector as it was, sizes that overflow fail. The heap's
// block arrays, and the thread that faults their pages in ahead.
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/large_alloc.h"
#include "base/prefault.h"
#include "base/vector.h"
#include "heap/heap.h"

struct pair {
	uint64_t key;
	uint32_t value;
};

DEFINE_VECTOR(pair_vector, struct pair);
DEFINE_VECTOR(u8_vector, uint8_t);

Test(vector, zeroed_is_empty)
{
	struct pair_vector v = { 0 };

	cr_expect_null(v.data);
	cr_expect_eq(v.len, 0);
	pair_vector_deinit(&v);
	pair_vector_init(&v);
	cr_expect_eq(v.capacity, 0);
}

Test(vector, append_keeps_order_across_growth)
{
	struct pair_vector v;

	pair_vector_init(&v);
	for (uint32_t i = 0; i < 1000; i++) {
		struct pair p = { .key = 3 * (uint64_t)i, .value = i };

		cr_assert_null(pair_vector_append(&v, &p));
		cr_assert_geq(v.capacity, v.len);
	}
	cr_assert_eq(v.len, 1000);
	for (uint32_t i = 0; i < 1000; i++) {
		cr_expect_eq(v.data[i].key, 3 * (uint64_t)i);
		cr_expect_eq(v.data[i].value, i);
	}
	// Doubling: 1000 appends from 8 end at 1024, not at 1000 + a step.
	cr_expect_eq(v.capacity, 1024);
	pair_vector_deinit(&v);
	cr_expect_null(v.data);
	cr_expect_eq(v.len, 0);
}

Test(vector, append_entry_and_reserve)
{
	struct u8_vector v = { 0 };
	uint8_t *slot = NULL, *before;

	cr_assert_null(u8_vector_reserve(&v, 100));
	cr_expect_eq(v.capacity, 100);
	cr_expect_eq(v.len, 0);
	before = v.data;
	for (int i = 0; i < 100; i++) {
		cr_assert_null(u8_vector_append_entry(&v, &slot));
		*slot = (uint8_t)i;
	}
	// Reserved room is used without moving the array.
	cr_expect_eq(v.data, before);
	cr_expect_eq(v.data[99], 99);
	// Reserving less than there is does nothing.
	cr_assert_null(u8_vector_reserve(&v, 10));
	cr_expect_eq(v.capacity, 100);
	u8_vector_deinit(&v);
}

Test(vector, steal_hands_over_the_array)
{
	struct u8_vector v = { 0 };
	uint8_t *data;
	size_t len = 7;

	data = u8_vector_steal(&v, &len);
	cr_expect_null(data);
	cr_expect_eq(len, 0);
	cr_assert_null(u8_vector_append(&v, &(uint8_t){ 42 }));
	data = u8_vector_steal(&v, &len);
	cr_assert_not_null(data);
	cr_expect_eq(len, 1);
	cr_expect_eq(data[0], 42);
	cr_expect_null(v.data);
	cr_expect_eq(v.len, 0);
	cr_expect_eq(v.capacity, 0);
	free(data);
}

Test(vector, overflow_fails_and_keeps_the_vector)
{
	struct pair_vector v = { 0 };
	struct pair p = { .key = 1, .value = 2 };

	cr_assert_null(pair_vector_append(&v, &p));
	// SIZE_MAX / sizeof(struct pair) + 1 elements cannot be sized.
	cr_expect_eq(pair_vector_reserve(&v, SIZE_MAX / sizeof(p) + 1),
		     &ch_enomem);
	cr_expect_eq(pair_vector_reserve(&v, SIZE_MAX), &ch_enomem);
	cr_expect_eq(v.len, 1);
	cr_expect_eq(v.capacity, CH_VECTOR_MIN_CAPACITY);
	cr_expect_eq(v.data[0].key, 1);
	pair_vector_deinit(&v);
}

Test(vector, reserve_one_refuses_a_full_size_t)
{
	void *data = NULL;
	size_t capacity = 0;

	// len == SIZE_MAX has no next index: out of memory, not a wrap to 0.
	cr_expect_eq(ch_vector_reserve_one(&data, &capacity, 1, SIZE_MAX),
		     &ch_enomem);
	cr_expect_null(data);
	cr_expect_null(ch_vector_reserve_one(&data, &capacity, 1, 0));
	cr_expect_eq(capacity, CH_VECTOR_MIN_CAPACITY);
	free(data);
}

/*
 * The block arrays of a heap walk: the pushes keep every block across
 * growth while a prefault thread faults pages in ahead of them (from 8 MiB
 * on), and after the array settled, which gave back the end of its
 * mapping past the huge page of the last block; the regions and runtime
 * types beside them follow.
 */
Test(block_array, keeps_blocks_across_growth_and_prefaulting)
{
	struct ch_block_array array = { 0 };
	const size_t count = 3000000, more = 1000;

	for (size_t i = 0; i < count + more; i++) {
		struct ch_block block = { .address = 16 * (uint64_t)i,
					  .size_bits = i };

		if (i == count) {
			size_t used = count * sizeof(struct ch_block);

			ch_block_array_settle(&array);
			cr_assert_geq(array.capacity, count);
			cr_assert_leq(array.capacity * sizeof(struct ch_block),
				      (used + CH_HUGE_PAGE_SIZE - 1) &
					      ~(CH_HUGE_PAGE_SIZE - 1));
		}
		cr_assert_null(ch_block_array_push(&array, &block,
						   i / 100000));
		if (i % 7 == 0)
			cr_assert_null(ch_block_array_set_runtime_type(
				&array, i, i % 65536));
	}
	cr_assert_eq(array.len, count + more);
	cr_expect_eq(array.num_region_runs, (count + more + 99999) / 100000);
	for (size_t i = 0; i < array.len; i++) {
		cr_assert_eq(array.blocks[i].address, 16 * (uint64_t)i);
		cr_assert_eq(ch_block_size(&array.blocks[i]), i);
		cr_assert_eq(ch_block_array_region(&array, i), i / 100000);
		cr_assert_eq(ch_block_array_runtime_type(&array, i),
			     i % 7 ? 0 : i % 65536);
	}
	cr_expect_eq(ch_block_array_region(&array, array.len), UINT32_MAX);
	ch_block_array_deinit(&array);
	cr_expect_null(array.prefault);
}

/*
 * A heap's live blocks reported out of order, from two regions, some with
 * a runtime type: the sort takes each block's region and type along, and
 * the block that overlaps another is dropped with its region's count.
 */
Test(block_array, regions_and_runtime_types_follow_the_sort)
{
	struct ch_heap heap;
	uint32_t first, second;
	// address, size, region (0 or 1), runtime type
	static const uint64_t reported[][4] = {
		{ 0x5000, 16, 1, 0 }, { 0x1000, 32, 0, 3 },
		{ 0x9000, 64, 1, 2 }, { 0x3000, 16, 0, 0 },
		{ 0x3008, 16, 1, 1 }, { 0x7000, 16, 0, 4 },
	};
	static const uint64_t sorted[][3] = {
		{ 0x1000, 0, 3 }, { 0x3000, 0, 0 }, { 0x5000, 1, 0 },
		{ 0x7000, 0, 4 }, { 0x9000, 1, 2 },
	};

	ch_heap_init(&heap);
	cr_assert_null(ch_heap_add_region(&heap, 0, "a", 0, 0, 0, 0, 0,
					  &first));
	cr_assert_null(ch_heap_add_region(&heap, 0, "b", 0, 0, 0, 0, 0,
					  &second));
	for (size_t i = 0; i < 6; i++) {
		struct ch_block block = { .address = reported[i][0],
					  .state = COREHEAP_BLOCK_LIVE };

		ch_block_set_size(&block, reported[i][1]);
		cr_assert_null(ch_heap_add_block(&heap, &block,
						 reported[i][2] ? second : first,
						 reported[i][3], false));
	}
	cr_assert_null(ch_heap_finish(&heap));
	cr_assert_eq(heap.live.len, 5);
	cr_expect_eq(heap.overlaps, 1);
	for (size_t i = 0; i < 5; i++) {
		cr_expect_eq(heap.live.blocks[i].address, sorted[i][0]);
		cr_expect_eq(ch_block_array_region(&heap.live, i),
			     sorted[i][1] ? second : first, "block %zu", i);
		cr_expect_eq(ch_block_array_runtime_type(&heap.live, i),
			     sorted[i][2], "block %zu", i);
	}
	// 0x3008 (region b, 16 bytes) overlapped 0x3000: counted out of b.
	cr_expect_eq(heap.regions[first].live_count, 3);
	cr_expect_eq(heap.regions[second].live_count, 2);
	cr_expect_eq(heap.regions[second].live_bytes, 80);
	cr_expect_eq(heap.num_damage, 1);
	cr_expect_eq(heap.damage[0].region, second);

	// A block reported after the finish starts with no runtime type,
	// whatever the dropped one had left past the end.
	struct ch_block later = { .address = 0xb000,
				  .state = COREHEAP_BLOCK_LIVE };

	cr_assert_null(ch_heap_add_block(&heap, &later, first, 0, false));
	cr_expect_eq(ch_block_array_runtime_type(&heap.live, 5), 0);
	cr_expect_eq(ch_block_array_region(&heap.live, 5), first);
	ch_heap_deinit(&heap);
}

/*
 * Whether the pages of [p, p + want) came in memory (pages: one byte per
 * page of [p, p + len)), polled for a few seconds while the writer reports
 * having written filled bytes, as a walk does every so many pushes (a
 * report made while the thread is busy is dropped).
 */
static bool wait_resident(struct ch_prefault *prefault, size_t filled,
			  const char *p, size_t want, size_t len,
			  unsigned char *pages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	for (int tries = 0; tries < 500; tries++) {
		size_t k = 0;

		ch_prefault_progress(prefault, filled);
		cr_assert_eq(mincore((void *)p, len, pages), 0);
		while (k < want / page && (pages[k] & 1))
			k++;
		if (k == want / page)
			return true;
		usleep(10000);
	}
	return false;
}

Test(prefault, faults_in_ahead_of_the_writer_and_no_further)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = 4 * CH_PREFAULT_LEAD, bigger = 2 * size;
	unsigned char *pages = malloc(bigger / page);
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct ch_prefault *prefault;
	char *moved;

	cr_assert(pages && p != MAP_FAILED);
	// The first page, which the thread would fault in first anyway.
	if (!ch_populate(p, page)) {
		munmap(p, size);
		free(pages);
		cr_skip_test("this kernel cannot populate memory (MADV_POPULATE_WRITE)");
	}
	prefault = ch_prefault_start(p, size, 0);
	cr_assert(prefault);
	// The lead is faulted in, not a page more (the writer touched none).
	cr_assert(wait_resident(prefault, 0, p, CH_PREFAULT_LEAD, size, pages));
	usleep(50000);
	cr_assert_eq(mincore(p, size, pages), 0);
	for (size_t k = CH_PREFAULT_LEAD / page; k < size / page; k++)
		cr_assert_eq(pages[k] & 1, 0, "page %zu", k);
	// The writer got further: the lead moves with it.
	memset(p, 1, CH_PREFAULT_LEAD);
	cr_assert(wait_resident(prefault, CH_PREFAULT_LEAD, p,
				2 * CH_PREFAULT_LEAD, size, pages));
	// The mapping moves and grows while the thread is paused: it goes on
	// in the new place, which kept what was written.
	ch_prefault_pause(prefault);
	moved = mremap(p, size, bigger, MREMAP_MAYMOVE);
	cr_assert(moved != MAP_FAILED);
	ch_prefault_resume(prefault, moved, bigger);
	cr_assert_eq(moved[CH_PREFAULT_LEAD - 1], 1);
	cr_assert_eq(moved[CH_PREFAULT_LEAD], 0);
	memset(moved, 2, size);
	cr_assert(wait_resident(prefault, size, moved, size + CH_PREFAULT_LEAD,
				bigger, pages));
	cr_assert_eq(moved[size], 0);
	// Stopped, it gives back what it faulted in past the writer.
	ch_prefault_stop(prefault, size);
	cr_assert_eq(mincore(moved, bigger, pages), 0);
	for (size_t k = size / page; k < bigger / page; k++)
		cr_assert_eq(pages[k] & 1, 0, "page %zu", k);
	cr_assert_eq(moved[size - 1], 2);
	munmap(moved, bigger);
	free(pages);
}

/*
 * An array that does not start on a page (one from malloc(), say): the
 * thread faults in from its first whole page, the writer's progress
 * counted from the array's start, and leaves the page the array starts in
 * to the writer.
 */
Test(prefault, an_array_off_a_page_boundary_from_its_first_whole_page)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = 4 * CH_PREFAULT_LEAD, skip = 100;
	unsigned char *pages = malloc(size / page);
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *array = p + skip, *end;
	struct ch_prefault *prefault;

	cr_assert(pages && p != MAP_FAILED);
	if (!ch_populate(p + page, page)) {
		munmap(p, size);
		free(pages);
		cr_skip_test("this kernel cannot populate memory (MADV_POPULATE_WRITE)");
	}
	madvise(p + page, page, MADV_DONTNEED);
	prefault = ch_prefault_start(array, size - skip, 0);
	cr_assert(prefault);
	// The writer is a lead's worth in: pages up to a lead past that.
	memset(array, 1, CH_PREFAULT_LEAD);
	end = (char *)ch_page_down((uintptr_t)array + 2 * CH_PREFAULT_LEAD);
	cr_assert(wait_resident(prefault, CH_PREFAULT_LEAD, p, end - p, size,
				pages));
	usleep(50000);
	cr_assert_eq(mincore(p, size, pages), 0);
	for (size_t k = (end - p) / page + 1; k < size / page; k++)
		cr_assert_eq(pages[k] & 1, 0, "page %zu", k);
	ch_prefault_stop(prefault, CH_PREFAULT_LEAD);
	cr_assert_eq(array[CH_PREFAULT_LEAD - 1], 1);
	// What it faulted in past the huge page of the writer's last byte
	// went back.
	end = (char *)ch_huge_page_up((uintptr_t)array + CH_PREFAULT_LEAD);
	cr_assert_eq(mincore(p, size, pages), 0);
	for (size_t k = (end - p) / page; k < size / page; k++)
		cr_assert_eq(pages[k] & 1, 0, "page %zu", k);
	munmap(p, size);
	free(pages);
}
