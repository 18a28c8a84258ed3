// SPDX-License-Identifier: MIT
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "coreheap/plugin.h"
#include "base/large_alloc.h"
#include "base/prefault.h"
#include "base/sort.h"
#include "base/vector.h"
#include "heap/block_index.h"
#include "heap/heap.h"

// A heap so damaged that it yields more than this many reports is not made
// clearer by more of them.
#define MAX_DAMAGE_REPORTS 10000
// An allocator's own table per region: thousands of arenas times every
// size class would be a summary nobody reads.
#define MAX_STATS 100000

const char *const ch_type_source_names[] = {
	[CH_TYPE_UNKNOWN] = "unknown", [CH_TYPE_RUNTIME] = "runtime",
	[CH_TYPE_VTABLE] = "vtable",   [CH_TYPE_DWARF] = "dwarf",
	[CH_TYPE_GUESS] = "guess",
};

void ch_heap_init(struct ch_heap *heap)
{
	*heap = (struct ch_heap){ 0 };
}

void ch_heap_deinit(struct ch_heap *heap)
{
	if (heap->block_index) {
		ch_block_index_deinit(heap->block_index);
		free(heap->block_index);
	}
	ch_block_array_deinit(&heap->live);
	ch_block_array_deinit(&heap->free);
	ch_block_array_deinit(&heap->nested);
	for (size_t i = 0; i < heap->num_regions; i++)
		free(heap->regions[i].name);
	free(heap->regions);
	for (size_t i = 0; i < heap->num_damage; i++)
		free(heap->damage[i].message);
	free(heap->damage);
	free(heap->owned);
	for (size_t i = 0; i < heap->num_stats; i++) {
		free(heap->stats[i].row);
		free(heap->stats[i].key);
	}
	free(heap->stats);
	free(heap->block_types);
	free(heap->block_type_sources);
	free(heap->pointer_free);
	for (size_t i = 0; i < heap->num_type_names; i++)
		free(heap->type_names[i]);
	free(heap->type_names);
	free(heap->type_groups);
	for (size_t i = 0; i < heap->num_runtime_type_names; i++)
		free(heap->runtime_type_names[i]);
	free(heap->runtime_type_names);
	ch_alloc_stacks_deinit(&heap->alloc_stacks);
	ch_runtime_stacks_deinit(&heap->runtime_stacks);
	*heap = (struct ch_heap){ 0 };
}

/*
 * Block arrays hold millions of entries: they live in their own mapping,
 * grown with mremap (no copy) and backed by huge pages where the kernel
 * allows, as the later passes look blocks up at random. Each mapping
 * starts at a 2 MiB boundary, so that a move takes whole page tables and
 * whole huge pages (base/large_alloc.h). First-touch page faults were a
 * fifth of a heap walk: once an array is large, another thread takes the
 * faults ahead of the pushes (base/prefault.h), as the walk that pushes
 * has the other core to itself.
 */
#define PREFAULT_MIN_BYTES ((size_t)8 << 20)
// Pushes between two reports of progress to the prefault thread.
#define PREFAULT_PROGRESS_EVERY 65536

static struct ch_error *grow_blocks(struct ch_block_array *array)
{
	size_t capacity = array->capacity ? 2 * array->capacity :
					    (2u << 20) / sizeof(struct ch_block);
	size_t old_bytes = array->capacity * sizeof(struct ch_block);
	size_t new_bytes;
	void *blocks;

	if (capacity > SIZE_MAX / sizeof(struct ch_block))
		return &ch_enomem;
	new_bytes = capacity * sizeof(struct ch_block);
	ch_prefault_pause(array->prefault);
	blocks = ch_grow_huge_aligned(array->blocks, old_bytes, new_bytes);
	if (!blocks) {
		ch_prefault_resume(array->prefault, array->blocks, old_bytes);
		return &ch_enomem;
	}
	ch_prefault_resume(array->prefault, blocks, new_bytes);
	array->blocks = blocks;
	array->capacity = capacity;
	if (!array->prefault && new_bytes >= PREFAULT_MIN_BYTES)
		array->prefault = ch_prefault_start(blocks, new_bytes,
						    array->len * sizeof(struct ch_block));
	return NULL;
}

void ch_block_array_settle(struct ch_block_array *array)
{
	size_t bytes = array->capacity * sizeof(struct ch_block);
	// The used 2 MiB ranges; a doubling left up to as much again behind.
	size_t kept = (array->len * sizeof(struct ch_block) +
		       CH_HUGE_PAGE_SIZE - 1) & ~(CH_HUGE_PAGE_SIZE - 1);

	ch_prefault_stop(array->prefault, array->len * sizeof(struct ch_block));
	array->prefault = NULL;
	// Address space too is counted (ulimit -v, strict overcommit): the
	// unused end goes back, in place.
	if (array->len && kept < bytes &&
	    mremap(array->blocks, bytes, kept, 0) != MAP_FAILED)
		array->capacity = kept / sizeof(struct ch_block);
}

void ch_block_array_deinit(struct ch_block_array *array)
{
	ch_block_array_settle(array);
	if (array->blocks)
		munmap(array->blocks, array->capacity * sizeof(*array->blocks));
	free(array->region_runs);
	free(array->runtime_types);
	*array = (struct ch_block_array){ 0 };
}

uint32_t ch_block_array_region(const struct ch_block_array *array, size_t i)
{
	const struct ch_region_run *runs = array->region_runs;
	size_t lo = 0, hi = array->num_region_runs;

	if (i >= array->len)
		return UINT32_MAX;
	// The last run starting at or before i; the first starts at 0.
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (runs[mid].first <= i)
			lo = mid;
		else
			hi = mid;
	}
	return hi ? runs[lo].region : UINT32_MAX;
}

// The next block (index i, in order) starts a run unless it shares the
// last run's region.
static struct ch_error *note_region(struct ch_block_array *array, size_t i,
				    uint32_t region)
{
	struct ch_error *err;

	if (array->num_region_runs &&
	    array->region_runs[array->num_region_runs - 1].region == region)
		return NULL;
	err = ch_vector_reserve_one((void **)&array->region_runs,
				    &array->region_runs_capacity,
				    sizeof(*array->region_runs),
				    array->num_region_runs);
	if (err)
		return err;
	array->region_runs[array->num_region_runs++] =
		(struct ch_region_run){ .first = i, .region = region };
	return NULL;
}

// The runtime types cover the blocks' capacity, zeroed past what was.
static struct ch_error *reserve_runtime_types(struct ch_block_array *array)
{
	size_t had = array->runtime_types_capacity;
	uint16_t *grown;

	if (had >= array->capacity)
		return NULL;
	grown = realloc(array->runtime_types,
			array->capacity * sizeof(*grown));
	if (!grown)
		return &ch_enomem;
	memset(grown + had, 0, (array->capacity - had) * sizeof(*grown));
	array->runtime_types = grown;
	array->runtime_types_capacity = array->capacity;
	return NULL;
}

struct ch_error *ch_block_array_set_runtime_type(struct ch_block_array *array,
						 size_t i, uint16_t type)
{
	struct ch_error *err;

	assert(i < array->len);
	if (!array->runtime_types && !type)
		return NULL;
	err = reserve_runtime_types(array);
	if (err)
		return err;
	array->runtime_types[i] = type;
	return NULL;
}

struct ch_error *ch_block_array_push(struct ch_block_array *array,
				     const struct ch_block *block,
				     uint32_t region)
{
	struct ch_error *err;

	if (array->len == array->capacity) {
		err = grow_blocks(array);
		if (err)
			return err;
	}
	err = note_region(array, array->len, region);
	if (!err && array->runtime_types)
		err = reserve_runtime_types(array);
	if (err)
		return err;
	// Past len, what a dropped block left (drop_overlaps()).
	if (array->runtime_types)
		array->runtime_types[array->len] = 0;
	array->blocks[array->len++] = *block;
	if (array->prefault && array->len % PREFAULT_PROGRESS_EVERY == 0)
		ch_prefault_progress(array->prefault,
				     array->len * sizeof(struct ch_block));
	return NULL;
}

struct ch_error *ch_heap_add_region(struct ch_heap *heap, uint8_t allocator,
				    const char *name, uint64_t address,
				    uint64_t control_size, uint64_t system_bytes,
				    uint64_t top_address, uint64_t top_size,
				    uint32_t *ret)
{
	struct ch_region *region;
	struct ch_error *err;

	if (heap->num_regions == UINT32_MAX - 1)
		return ch_error_create(CH_ERROR_CORRUPT, "too many regions");
	err = ch_vector_reserve_one((void **)&heap->regions,
				    &heap->regions_capacity,
				    sizeof(*heap->regions), heap->num_regions);
	if (err)
		return err;
	region = &heap->regions[heap->num_regions];
	*region = (struct ch_region){
		.allocator = allocator,
		.name = strdup(name ? name : "region"),
		.address = address,
		.control_size = control_size,
		.system_bytes = system_bytes,
		.top_address = top_address,
		.top_size = top_size,
	};
	if (!region->name)
		return &ch_enomem;
	*ret = heap->num_regions++;
	return NULL;
}

struct ch_error *ch_heap_intern_runtime_type(struct ch_heap *heap,
					     const char *name, uint16_t *ret)
{
	char **grown;

	// Runtimes have hundreds of types, not thousands: a linear search
	// over the names seen is cheaper than keeping a map.
	for (size_t i = 1; i < heap->num_runtime_type_names; i++) {
		if (strcmp(heap->runtime_type_names[i], name) == 0) {
			*ret = i;
			return NULL;
		}
	}
	if (heap->num_runtime_type_names == 0)
		heap->num_runtime_type_names = 1;
	if (heap->num_runtime_type_names > UINT16_MAX)
		return ch_error_create(CH_ERROR_CORRUPT,
				       "more than %u runtime type names",
				       UINT16_MAX);
	grown = realloc(heap->runtime_type_names,
			(heap->num_runtime_type_names + 1) * sizeof(*grown));
	if (!grown)
		return &ch_enomem;
	heap->runtime_type_names = grown;
	grown[0] = NULL;
	grown[heap->num_runtime_type_names] = strdup(name);
	if (!grown[heap->num_runtime_type_names])
		return &ch_enomem;
	*ret = heap->num_runtime_type_names++;
	return NULL;
}

struct ch_error *ch_heap_add_block(struct ch_heap *heap,
				   const struct ch_block *block, uint32_t region,
				   uint16_t runtime_type, bool nested)
{
	struct ch_region *counted = region < heap->num_regions ?
					    &heap->regions[region] :
					    NULL;
	struct ch_block_array *array = &heap->free;
	struct ch_error *err;

	switch (block->state) {
	case COREHEAP_BLOCK_LIVE:
		array = nested ? &heap->nested : &heap->live;
		// A nested object's bytes are its holder's: count them once.
		if (counted && !nested) {
			counted->live_count++;
			counted->live_bytes += ch_block_size(block);
		}
		break;
	case COREHEAP_BLOCK_FREE:
		if (counted) {
			counted->free_count++;
			counted->free_bytes += ch_block_size(block);
		}
		break;
	default:
		if (counted) {
			counted->metadata_count++;
			counted->metadata_bytes += ch_block_size(block);
		}
		break;
	}
	err = ch_block_array_push(array, block,
				  counted ? region : UINT32_MAX);
	if (!err && runtime_type)
		err = ch_block_array_set_runtime_type(array, array->len - 1,
						      runtime_type);
	return err;
}

struct ch_error *ch_heap_add_owned_range(struct ch_heap *heap,
					 uint8_t allocator, uint32_t region,
					 uint64_t start, uint64_t end,
					 uint32_t kind)
{
	struct ch_error *err;

	err = ch_vector_reserve_one((void **)&heap->owned,
				    &heap->owned_capacity,
				    sizeof(*heap->owned), heap->num_owned);
	if (err)
		return err;
	heap->owned[heap->num_owned++] = (struct ch_owned_range){
		.start = start,
		.end = end,
		.region = region < heap->num_regions ? region : UINT32_MAX,
		.allocator = allocator,
		.kind = kind,
	};
	if (kind == COREHEAP_OWNED_UNEXPLAINED && region < heap->num_regions) {
		heap->regions[region].unexplained_count++;
		heap->regions[region].unexplained_bytes += end - start;
	}
	return NULL;
}

bool ch_heap_allocator_declares_owned(const struct ch_heap *heap,
				      uint8_t allocator)
{
	for (size_t i = 0; i < heap->num_owned; i++) {
		if (heap->owned[i].allocator == allocator)
			return true;
	}
	return false;
}

struct ch_error *ch_heap_add_stat(struct ch_heap *heap, uint32_t region,
				  const char *row, const char *key,
				  uint64_t value)
{
	struct ch_stat stat = { .region = region, .value = value };
	struct ch_error *err;

	if (heap->num_stats >= MAX_STATS) {
		heap->stats_dropped++;
		return NULL;
	}
	err = ch_vector_reserve_one((void **)&heap->stats,
				    &heap->stats_capacity,
				    sizeof(*heap->stats), heap->num_stats);
	if (err)
		return err;
	stat.row = strdup(row);
	stat.key = strdup(key);
	if (!stat.row || !stat.key) {
		free(stat.row);
		free(stat.key);
		return &ch_enomem;
	}
	heap->stats[heap->num_stats++] = stat;
	return NULL;
}

struct ch_error *ch_heap_add_damage(struct ch_heap *heap, uint8_t allocator,
				    uint32_t kind, uint32_t region,
				    uint64_t address, const char *message)
{
	struct ch_damage *damage;
	struct ch_error *err;

	if (heap->num_damage >= MAX_DAMAGE_REPORTS) {
		heap->damage_dropped++;
		return NULL;
	}
	err = ch_vector_reserve_one((void **)&heap->damage,
				    &heap->damage_capacity,
				    sizeof(*heap->damage), heap->num_damage);
	if (err)
		return err;
	damage = &heap->damage[heap->num_damage];
	*damage = (struct ch_damage){
		.kind = kind,
		.region = region,
		.allocator = allocator,
		.address = address,
		.message = strdup(message ? message : "damaged metadata"),
	};
	if (!damage->message)
		return &ch_enomem;
	heap->num_damage++;
	return NULL;
}

enum block_order {
	BLOCKS_UNSORTED,
	BLOCKS_SORTED,
	/** Sorted, and no block overlaps the one before: nothing to drop. */
	BLOCKS_DISJOINT,
};

static enum block_order block_order(const struct ch_block_array *array)
{
	enum block_order order = BLOCKS_DISJOINT;

	for (size_t i = 1; i < array->len; i++) {
		const struct ch_block *prev = &array->blocks[i - 1];
		uint64_t address = array->blocks[i].address;

		if (address < prev->address)
			return BLOCKS_UNSORTED;
		if (address - prev->address < ch_block_size(prev) ||
		    address == prev->address)
			order = BLOCKS_SORTED;
	}
	return order;
}

/*
 * The region of block i, reading the num_runs runs from *run on: for i that
 * only grow, each run is read once. UINT32_MAX without runs.
 */
static uint32_t region_from(const struct ch_region_run *runs, size_t num_runs,
			    size_t i, size_t *run)
{
	if (!num_runs)
		return UINT32_MAX;
	while (*run + 1 < num_runs && runs[*run + 1].first <= i)
		(*run)++;
	return runs[*run].region;
}

/*
 * What a block carries beside it through a sort, packed: its region (low 32
 * bits) and runtime type. NULL (and no error) when they need no carrying:
 * one region for all and no runtime types.
 */
static struct ch_error *gather_beside(const struct ch_block_array *array,
				      uint64_t **ret)
{
	uint64_t *beside;
	size_t run = 0;

	*ret = NULL;
	if (array->num_region_runs <= 1 && !array->runtime_types)
		return NULL;
	beside = malloc(array->len * sizeof(*beside));
	if (!beside)
		return &ch_enomem;
	for (size_t i = 0; i < array->len; i++) {
		uint64_t type = ch_block_array_runtime_type(array, i);

		beside[i] = region_from(array->region_runs,
					array->num_region_runs, i, &run) |
			    type << 32;
	}
	*ret = beside;
	return NULL;
}

// The runs and runtime types again, from what gather_beside() made, sorted.
static struct ch_error *scatter_beside(struct ch_block_array *array,
				       const uint64_t *beside)
{
	struct ch_error *err;

	array->num_region_runs = 0;
	for (size_t i = 0; i < array->len; i++) {
		err = note_region(array, i, (uint32_t)beside[i]);
		if (err)
			return err;
		if (array->runtime_types)
			array->runtime_types[i] = beside[i] >> 32;
	}
	return NULL;
}

/*
 * LSD radix sort on the address, 16 bits a pass, skipping passes whose
 * digit is the same for every block (user-space addresses use 47 bits);
 * the regions and runtime types go along.
 */
static struct ch_error *radix_sort_blocks(struct ch_block_array *array)
{
	size_t n = array->len;
	struct ch_block *tmp, *src = array->blocks, *dst;
	uint64_t *beside, *beside_tmp = NULL, *beside_src, *beside_dst;
	size_t *counts;
	struct ch_error *err = gather_beside(array, &beside);

	if (err)
		return err;
	tmp = malloc(n * sizeof(*tmp));
	counts = malloc(65536 * sizeof(*counts));
	if (beside)
		beside_tmp = malloc(n * sizeof(*beside_tmp));
	if (!tmp || !counts || (beside && !beside_tmp)) {
		err = &ch_enomem;
		goto out;
	}
	dst = tmp;
	beside_src = beside;
	beside_dst = beside_tmp;
	for (int shift = 0; shift < 64; shift += 16) {
		size_t sum = 0;
		uint64_t first = (src[0].address >> shift) & 0xffff;
		bool same = true;

		memset(counts, 0, 65536 * sizeof(*counts));
		for (size_t i = 0; i < n; i++) {
			uint64_t digit = (src[i].address >> shift) & 0xffff;

			counts[digit]++;
			same &= digit == first;
		}
		if (same)
			continue;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = counts[d];

			counts[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) {
			size_t to = counts[(src[i].address >> shift) & 0xffff]++;

			dst[to] = src[i];
			if (beside)
				beside_dst[to] = beside_src[i];
		}
		struct ch_block *swap = src;
		uint64_t *beside_swap = beside_src;

		src = dst;
		dst = swap;
		beside_src = beside_dst;
		beside_dst = beside_swap;
	}
	if (src != array->blocks)
		memcpy(array->blocks, src, n * sizeof(*src));
	if (beside)
		err = scatter_beside(array, beside_src);
out:
	free(beside);
	free(beside_tmp);
	free(tmp);
	free(counts);
	return err;
}

static struct ch_error *drop_overlaps(struct ch_heap *heap)
{
	struct ch_block_array *live = &heap->live;
	size_t kept = 0, run = 0, num_runs = live->num_region_runs;
	struct ch_error *err;

	// The runs are noted again, in place, for the kept blocks: never past
	// the one being read (a run gives at most one).
	live->num_region_runs = 0;
	for (size_t i = 0; i < live->len; i++) {
		struct ch_block *block = &live->blocks[i];
		uint32_t region = region_from(live->region_runs, num_runs, i,
					      &run);

		if (kept) {
			struct ch_block *prev = &live->blocks[kept - 1];

			if (block->address < prev->address + ch_block_size(prev) ||
			    block->address == prev->address) {
				char message[160];

				snprintf(message, sizeof(message),
					 "allocation at 0x%" PRIx64
					 " overlaps the one at 0x%" PRIx64,
					 block->address, prev->address);
				err = ch_heap_add_damage(heap, block->allocator,
							 COREHEAP_DAMAGE_INCONSISTENT,
							 region, block->address,
							 message);
				if (err)
					return err;
				heap->overlaps++;
				if (region < heap->num_regions) {
					heap->regions[region].live_count--;
					heap->regions[region].live_bytes -=
						ch_block_size(block);
				}
				continue;
			}
		}
		// An array made by hand (the unit tests') may have no runs.
		if (num_runs) {
			err = note_region(live, kept, region);
			if (err)
				return err;
		}
		if (live->runtime_types)
			live->runtime_types[kept] = live->runtime_types[i];
		live->blocks[kept++] = *block;
	}
	live->len = kept;
	return NULL;
}

static int compare_owned(const void *a, const void *b)
{
	const struct ch_owned_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

struct ch_error *ch_heap_finish(struct ch_heap *heap)
{
	enum block_order order;
	struct ch_error *err;

	ch_block_array_settle(&heap->live);
	ch_block_array_settle(&heap->free);
	ch_sort(heap->owned, heap->num_owned, sizeof(*heap->owned),
		compare_owned);
	ch_alloc_stacks_finish(&heap->alloc_stacks);

	// A walk's blocks come in order and apart: one read says so.
	order = block_order(&heap->live);
	if (order == BLOCKS_UNSORTED) {
		err = radix_sort_blocks(&heap->live);
		if (err)
			return err;
	}
	return order == BLOCKS_DISJOINT ? NULL : drop_overlaps(heap);
}

struct ch_error *ch_heap_finish_nested(struct ch_heap *heap)
{
	ch_block_array_settle(&heap->nested);
	if (block_order(&heap->nested) == BLOCKS_UNSORTED)
		return radix_sort_blocks(&heap->nested);
	return NULL;
}

const struct ch_block *ch_heap_find(const struct ch_heap *heap, uint64_t addr)
{
	return ch_heap_find_in(heap, addr, heap->live.len);
}

size_t ch_heap_lower_bound(const struct ch_heap *heap, uint64_t addr,
			   size_t count)
{
	const struct ch_block *blocks = heap->live.blocks;
	size_t lo = 0, hi = count < heap->live.len ? count : heap->live.len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (blocks[mid].address < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct ch_block *ch_heap_find_in(const struct ch_heap *heap,
				       uint64_t addr, size_t count)
{
	const struct ch_block *blocks = heap->live.blocks;
	size_t lo = 0, hi = count < heap->live.len ? count : heap->live.len;

	// The last block starting at or before addr.
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (blocks[mid].address <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct ch_block *block = &blocks[lo - 1];

	return addr - block->address < ch_block_size(block) ||
			       (ch_block_size(block) == 0 &&
				addr == block->address) ?
		       block :
		       NULL;
}

const char *ch_heap_block_type(const struct ch_heap *heap, size_t index,
			       enum ch_type_source *source_ret)
{
	uint32_t type = 0;

	if (heap->block_types && index < heap->live.len)
		type = heap->block_types[index];
	if (source_ret)
		*source_ret = type && heap->block_type_sources ?
				      heap->block_type_sources[index] :
				      CH_TYPE_UNKNOWN;
	return type < heap->num_type_names ? heap->type_names[type] : NULL;
}

uint32_t ch_heap_block_group(const struct ch_heap *heap, size_t index,
			     enum ch_type_source *source_ret)
{
	uint32_t type = 0;

	ch_heap_block_type(heap, index, source_ret);
	if (heap->block_types && index < heap->live.len)
		type = heap->block_types[index];
	if (type >= heap->num_type_names)
		return 0;
	return heap->type_groups ? heap->type_groups[type] : type;
}
