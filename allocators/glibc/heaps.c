// SPDX-License-Identifier: MIT
// Where each arena's chunks are: for thread arenas the chain of mmapped heaps
// (heap_info) from the one holding top back to the one holding the arena
// itself; the main arena's runs are found by runs.c.

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>

#include "glibc.h"

/** struct _heap_info: the fields at the same offsets in every version. */
struct heap_info {
	uint64_t ar_ptr;
	uint64_t prev;
	uint64_t size;
	uint64_t mprotect_size;
};

static int read_heap_info(const struct coreheap_host *host, uint64_t address,
			  struct heap_info *ret)
{
	return host->read(host, address, ret, sizeof(*ret));
}

int ptm_push_heap(struct ptm_walk *walk, const struct ptm_heap *heap)
{
	struct ptm_heap *heaps;

	heaps = realloc(walk->heaps, (walk->num_heaps + 1) * sizeof(*heaps));
	if (!heaps)
		return COREHEAP_NOMEM;
	walk->heaps = heaps;
	heaps[walk->num_heaps++] = *heap;
	return COREHEAP_OK;
}

// HEAP_MAX_SIZE is 64 MiB, or 4 huge pages when the glibc.malloc.hugetlb
// tunable gave mp_.hp_pagesize (2.35..2.42; 2.43 keeps 64 MiB).
static uint64_t heap_max_size(const struct ptm_walk *walk)
{
	const struct ptm_layout *layout = walk->layout;
	uint64_t hp = 0;

	if (walk->st->mp && layout->hp_heap_max &&
	    !ptm_read_u64(walk->host, walk->st->mp + layout->mp_hp_pagesize,
			  &hp) &&
	    hp && !(hp & (hp - 1)) && hp <= (1ull << 30))
		return hp * 4;
	return PTM_HEAP_MAX_SIZE;
}

bool ptm_mapping_from(const struct coreheap_host *host, uint64_t address,
		      struct coreheap_mapping *ret)
{
	size_t lo = 0, hi = host->num_mappings(host);

	// Mappings are sorted and disjoint: find the first ending after it.
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct coreheap_mapping mapping;

		if (host->mapping(host, mid, &mapping))
			return false;
		if (mapping.end <= address)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < host->num_mappings(host) && !host->mapping(host, lo, ret);
}

bool ptm_find_mapping(const struct coreheap_host *host, uint64_t address,
		      struct coreheap_mapping *ret)
{
	return ptm_mapping_from(host, address, ret) && ret->start <= address;
}

/** Adds one heap of a thread arena; false when the chain must stop. */
static bool add_thread_heap(struct ptm_walk *walk, size_t index,
			    uint64_t heap, uint64_t heap_max, int *err)
{
	struct ptm_arena *arena = &walk->arenas[index];
	const struct ptm_layout *layout = walk->layout;
	uint64_t first = arena->address - layout->hi_size;
	struct heap_info info;
	struct ptm_heap h = {.arena = index};

	if (read_heap_info(walk->host, heap, &info)) {
		ptm_damage(walk, COREHEAP_DAMAGE_UNREADABLE, arena->region, heap,
			   "heap_info not in the core");
		return false;
	}
	if (info.ar_ptr != arena->address) {
		ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, arena->region, heap,
			   "heap_info names arena 0x%llx, not 0x%llx",
			   (unsigned long long)info.ar_ptr,
			   (unsigned long long)arena->address);
		return false;
	}
	if (info.size < layout->hi_size || info.size > heap_max ||
	    info.size % PTM_PAGE_SIZE) {
		ptm_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, arena->region, heap,
			   "heap_info size 0x%llx is impossible",
			   (unsigned long long)info.size);
		return false;
	}
	// The arena's own malloc_state follows the first heap's heap_info.
	if (heap == first)
		h.start = ptm_align_chunk(arena->address + layout->ms_size);
	else
		h.start = heap + layout->hi_size;
	h.owned_start = h.system_start = heap;
	h.owned_end = heap + heap_max;
	if (arena->top_valid && arena->top >= heap &&
	    arena->top < heap + info.size) {
		h.end = arena->top;
		h.has_top = true;
	} else {
		h.end = heap + info.size;
	}
	*err = ptm_push_heap(walk, &h);
	if (*err || heap == first)
		return false;
	if (!info.prev) {
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, arena->region, heap,
			   "heap chain ends before the arena's first heap");
		return false;
	}
	return true;
}

static int collect_thread_heaps(struct ptm_walk *walk, size_t index,
				uint64_t heap_max)
{
	struct ptm_arena *arena = &walk->arenas[index];
	uint64_t first = arena->address - walk->layout->hi_size;
	struct ptm_addrset seen = {0};
	struct heap_info info;
	int err = COREHEAP_OK;
	uint64_t heap;

	if (arena->address % heap_max != walk->layout->hi_size) {
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, arena->region,
			   arena->address,
			   "thread arena does not follow a heap_info");
		return COREHEAP_OK;
	}
	heap = arena->top & ~(heap_max - 1);
	if (!arena->top_valid || read_heap_info(walk->host, heap, &info) ||
	    info.ar_ptr != arena->address) {
		ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, arena->region,
			   arena->top,
			   "top chunk 0x%llx is outside the arena's heaps",
			   (unsigned long long)arena->top);
		arena->top_valid = false;
		heap = first;
	}
	if (ptm_addrset_add(&seen, heap, 0, NULL) < 0)
		return COREHEAP_NOMEM;
	for (size_t n = 0; n < PTM_MAX_HEAPS_PER_ARENA; n++) {
		if (!add_thread_heap(walk, index, heap, heap_max, &err) ||
		    read_heap_info(walk->host, heap, &info))
			break;
		if (info.prev % heap_max) {
			ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER,
				   arena->region, heap,
				   "heap_info prev 0x%llx is misaligned",
				   (unsigned long long)info.prev);
			break;
		}
		if (ptm_addrset_find(&seen, info.prev, NULL)) {
			ptm_damage(walk, COREHEAP_DAMAGE_CYCLE, arena->region,
				   heap, "heap chain loops");
			break;
		}
		if (ptm_addrset_add(&seen, info.prev, 0, NULL) < 0) {
			err = COREHEAP_NOMEM;
			goto out;
		}
		heap = info.prev;
	}
	// The chain broke: the arena's own heap can still be walked.
	if (!err && !ptm_addrset_find(&seen, first, NULL))
		add_thread_heap(walk, index, first, heap_max, &err);
out:
	ptm_addrset_deinit(&seen);
	return err;
}

// A thread arena's first heap starts with heap_info whose ar_ptr points just
// past it; finding those catches arenas that fell off a damaged ring.
static int scan_first_heaps(struct ptm_walk *walk, uint64_t heap_max)
{
	const struct coreheap_host *host = walk->host;
	size_t n = host->num_mappings(host);

	for (size_t i = 0; i < n; i++) {
		struct coreheap_mapping m;
		uint64_t heap;

		if (host->mapping(host, i, &m) || !ptm_mapping_is_anonymous(&m) ||
		    !(m.prot & COREHEAP_PROT_WRITE))
			continue;
		uint64_t end = m.start + (m.available < m.end - m.start ?
						  m.available :
						  m.end - m.start);

		for (heap = (m.start + heap_max - 1) & ~(heap_max - 1);
		     heap >= m.start && heap + walk->layout->hi_size <= end;
		     heap += heap_max) {
			struct heap_info info;
			int err;

			if (read_heap_info(host, heap, &info) || info.prev ||
			    info.ar_ptr != heap + walk->layout->hi_size)
				continue;
			err = ptm_add_stray_arena(walk, info.ar_ptr);
			if (err)
				return err;
		}
	}
	return COREHEAP_OK;
}

// sizeof(heap_info) grew from 0x20 to 0x30 in 2.35; a thread arena sits
// right after its first heap's heap_info, so its address tells.
static void settle_heap_info_size(struct ptm_walk *walk, uint64_t heap_max)
{
	for (size_t i = 0; i < walk->num_arenas; i++) {
		uint64_t off = walk->arenas[i].address % heap_max;

		if (walk->arenas[i].is_main)
			continue;
		if (off == 0x20 || off == 0x30)
			ptm_layout_set_heap_info(&walk->st->layout, off);
		return;
	}
}

static int compare_heaps(const void *a, const void *b, void *arg)
{
	const struct ptm_heap *heaps = arg;
	uint64_t x = heaps[*(const size_t *)a].owned_start;
	uint64_t y = heaps[*(const size_t *)b].owned_start;

	return x < y ? -1 : x > y;
}

static int sort_heaps(struct ptm_walk *walk)
{
	walk->heap_order = malloc((walk->num_heaps + 1) * sizeof(size_t));
	if (!walk->heap_order)
		return COREHEAP_NOMEM;
	for (size_t i = 0; i < walk->num_heaps; i++)
		walk->heap_order[i] = i;
	qsort_r(walk->heap_order, walk->num_heaps, sizeof(size_t),
		compare_heaps, walk->heaps);
	for (size_t i = 1; i < walk->num_heaps; i++) {
		const struct ptm_heap *a = &walk->heaps[walk->heap_order[i - 1]];
		const struct ptm_heap *b = &walk->heaps[walk->heap_order[i]];

		if (a->owned_end > b->owned_start)
			ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT,
				   UINT32_MAX, b->owned_start,
				   "heaps of arenas overlap");
	}
	return COREHEAP_OK;
}

// Where the memory holding @p top ends: adjacent mappings count as one,
// since a core may split what was one run of memory. 0 if not mapped.
static uint64_t top_memory_end(const struct coreheap_host *host, uint64_t top)
{
	struct coreheap_mapping m, next;
	uint64_t end;

	if (!ptm_find_mapping(host, top, &m))
		return 0;
	end = m.end;
	for (size_t n = 0; n < 64 && ptm_find_mapping(host, end, &next) &&
			   next.start == end && next.end > end;
	     n++)
		end = next.end;
	return end;
}

static void settle_top(struct ptm_walk *walk, struct ptm_arena *arena)
{
	uint64_t size, end;

	arena->top_valid = false;
	arena->top_size = 0;
	arena->top_claimed = 0;
	if (!arena->top || arena->top % PTM_ALIGN ||
	    ptm_read_u64(walk->host, arena->top + 8, &size))
		return;
	arena->top_size = size & ~(uint64_t)PTM_FLAG_BITS;
	end = top_memory_end(walk->host, arena->top);
	// A size that reaches past top's memory was written over (House of
	// Force; glibc 2.29+ aborts on it, "corrupted top size"). The arena's
	// top pointer still says where top is: keep it, up to its memory's end.
	if (end && arena->top_size > end - arena->top) {
		arena->top_claimed = size;
		arena->top_size = end - arena->top;
	}
	arena->top_valid = arena->top_size >= PTM_MINSIZE &&
			   (arena->top + arena->top_size) % PTM_PAGE_SIZE == 0;
}

void ptm_settle_tops(struct ptm_walk *walk)
{
	for (size_t i = 0; i < walk->num_arenas; i++)
		settle_top(walk, &walk->arenas[i]);
}

int ptm_find_stray_arenas(struct ptm_walk *walk)
{
	uint64_t heap_max = heap_max_size(walk);

	settle_heap_info_size(walk, heap_max);
	return scan_first_heaps(walk, heap_max);
}

int ptm_collect_heaps(struct ptm_walk *walk)
{
	uint64_t heap_max = heap_max_size(walk);
	int err;

	// The main arena last: the search for its runs keeps out of the
	// thread arenas' heaps.
	for (int main = 0; main < 2; main++) {
		for (size_t i = 0; i < walk->num_arenas; i++) {
			struct ptm_arena *arena = &walk->arenas[i];

			if (arena->is_main != main)
				continue;
			arena->first_heap = walk->num_heaps;
			if (arena->is_main)
				err = ptm_collect_main_runs(walk, i);
			else
				err = collect_thread_heaps(walk, i, heap_max);
			if (err)
				return err;
			arena->num_heaps = walk->num_heaps - arena->first_heap;
		}
	}
	return sort_heaps(walk);
}

const struct ptm_heap *ptm_heap_of(const struct ptm_walk *walk, uint64_t addr)
{
	size_t lo = 0, hi = walk->num_heaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ptm_heap *heap = &walk->heaps[walk->heap_order[mid]];

		if (heap->owned_end <= addr)
			lo = mid + 1;
		else if (heap->owned_start > addr)
			hi = mid;
		else
			return heap;
	}
	return NULL;
}

bool ptm_chunk_in_heaps(const struct ptm_walk *walk, uint64_t chunk,
			uint64_t size, size_t arena)
{
	const struct ptm_heap *heap = ptm_heap_of(walk, chunk);

	return heap && (arena == SIZE_MAX || heap->arena == arena) &&
	       chunk >= heap->start && chunk + size > chunk &&
	       chunk + size <= heap->end;
}
