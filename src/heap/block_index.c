// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitmap.h"
#include "base/large_alloc.h"
#include "heap/block_index.h"

#define LEAF_ENTRIES ((size_t)CH_BLOCK_INDEX_GRANULES + 1)
#define DIRECTORY_SLOTS \
	((size_t)1 << (CH_BLOCK_INDEX_ADDRESS_BITS - CH_BLOCK_INDEX_TABLE_SHIFT))
#define REGION_SIZE ((uint64_t)1 << CH_BLOCK_INDEX_REGION_SHIFT)
// A region entry that wants a leaf, before the leaves are numbered.
#define NEEDS_LEAF (CH_NO_BLOCK - 1)

// Treat a zero-size block as one byte long, so that it owns its address.
// A wrapping end saturates, and is then above user space: left out below.
static uint64_t indexed_end(const struct ch_block *block)
{
	uint64_t size = ch_block_size(block);

	return size ? ch_block_end(block) :
		      block->address == UINT64_MAX ? UINT64_MAX :
		      block->address + 1;
}

static uint32_t *region_entry(struct ch_block_index *index, uint64_t region)
{
	uint64_t slot = region >> (CH_BLOCK_INDEX_TABLE_SHIFT -
				   CH_BLOCK_INDEX_REGION_SHIFT);

	return index->regions +
	       (size_t)index->directory[slot] * CH_BLOCK_INDEX_REGIONS +
	       (region & (CH_BLOCK_INDEX_REGIONS - 1));
}

// Give every GiB that a block touches a region table; count them first,
// so that one allocation holds them all.
static struct ch_error *make_region_tables(struct ch_block_index *index)
{
	uint64_t last_slot = UINT64_MAX;
	size_t num_tables = 0;

	for (size_t i = 0; i < index->num_blocks; i++) {
		const struct ch_block *block = &index->blocks[i];

		for (uint64_t slot = block->address >> CH_BLOCK_INDEX_TABLE_SHIFT;
		     slot <= (indexed_end(block) - 1) >> CH_BLOCK_INDEX_TABLE_SHIFT;
		     slot++) {
			if (slot != last_slot)
				index->directory[slot] = num_tables++;
			last_slot = slot;
		}
	}
	index->num_region_tables = num_tables;
	index->regions = malloc(num_tables * CH_BLOCK_INDEX_REGIONS *
				sizeof(*index->regions));
	if (!index->regions)
		return &ch_enomem;
	memset(index->regions, 0xff,
	       num_tables * CH_BLOCK_INDEX_REGIONS * sizeof(*index->regions));
	return NULL;
}

/*
 * A region wholly inside one block names it; any other that a block
 * touches needs a leaf. The blocks are disjoint and in order: once a
 * region needs a leaf, no later block can cover it, and the many small
 * blocks after inside it are passed over.
 */
static void mark_regions(struct ch_block_index *index)
{
	uint64_t leaf_region = UINT64_MAX;

	for (size_t i = 0; i < index->num_blocks; i++) {
		const struct ch_block *block = &index->blocks[i];
		uint64_t end = indexed_end(block);
		uint64_t first = block->address >> CH_BLOCK_INDEX_REGION_SHIFT;
		uint64_t last = (end - 1) >> CH_BLOCK_INDEX_REGION_SHIFT;

		if (first == leaf_region && last == leaf_region)
			continue;
		for (uint64_t region = first; region <= last; region++) {
			uint64_t start = region << CH_BLOCK_INDEX_REGION_SHIFT;
			uint32_t *entry = region_entry(index, region);

			if (block->address <= start &&
			    end - start >= REGION_SIZE) {
				*entry = CH_BLOCK_INDEX_WHOLE | (uint32_t)i;
			} else {
				*entry = NEEDS_LEAF;
				leaf_region = region;
			}
		}
	}
}

#define LINE_BITS (64 * CH_START_LINE_WORDS)
#define LINE_BYTES sizeof(struct ch_start_line)
_Static_assert(sizeof(struct ch_start_line) == 64, "a start line is a cache line");

// How many start lines a leaf's region has.
static size_t lines_per_leaf(const struct ch_block_index *index)
{
	return (size_t)((REGION_SIZE >> index->start_shift) + LINE_BITS - 1) /
	       LINE_BITS;
}

// Room for the start lines of num_leaves leaves, aligned to a line.
static struct ch_error *allocate_starts(struct ch_block_index *index,
					size_t num_leaves)
{
	size_t lines = num_leaves * lines_per_leaf(index);

	if (!index->start_shift || !lines)
		return NULL;
	index->start_lines_room = ch_calloc_large(lines + 1, LINE_BYTES);
	if (!index->start_lines_room)
		return &ch_enomem;
	index->start_lines = (struct ch_start_line *)(((uintptr_t)index->start_lines_room +
						       LINE_BYTES - 1) &
						      ~(uintptr_t)(LINE_BYTES - 1));
	return NULL;
}

static void free_starts(struct ch_block_index *index)
{
	ch_free_large(index->start_lines_room);
	index->start_lines_room = NULL;
	index->start_lines = NULL;
	index->start_shift = 0;
}

/*
 * Fill the start lines of leaf's region, which begins at region_start:
 * *cursor is the first block not yet counted, and only moves forward.
 * False if two blocks start at one address (a bit would stand for two).
 */
static bool fill_starts(struct ch_block_index *index, size_t leaf,
			uint64_t region_start, size_t *cursor)
{
	size_t lines = lines_per_leaf(index);
	uint64_t line_bytes = (uint64_t)LINE_BITS << index->start_shift;

	for (size_t l = 0; l < lines; l++) {
		uint64_t line_start = region_start + l * line_bytes;
		struct ch_start_line *line = &index->start_lines[leaf * lines + l];
		// The last line may reach past the region: its bits there
		// stay clear.
		uint64_t reach = REGION_SIZE - l * line_bytes < line_bytes ?
					 REGION_SIZE - l * line_bytes :
					 line_bytes;
		unsigned before = 0;

		// Blocks of the regions without a leaf before it.
		while (*cursor < index->num_blocks &&
		       index->blocks[*cursor].address < line_start)
			++*cursor;
		line->count = (uint32_t)*cursor;
		for (; *cursor < index->num_blocks &&
		       index->blocks[*cursor].address - line_start < reach;
		     ++*cursor) {
			uint64_t at = (index->blocks[*cursor].address -
				       line_start) >> index->start_shift;

			if (ch_bit_get(line->bits, at))
				return false;
			ch_bit_set(line->bits, at);
		}
		for (unsigned w = 1; w < CH_START_LINE_WORDS; w++) {
			before += ch_count_bits(line->bits[w - 1]);
			line->before[w - 1] = (uint16_t)before;
		}
	}
	return true;
}

/*
 * Number the leaves in address order and fill them in one sweep: the
 * cursor (the first block that ends after a granule's start) only moves
 * forward. The start bits are set in the same sweep.
 */
static struct ch_error *fill_leaves(struct ch_block_index *index)
{
	size_t num_entries = index->num_region_tables * CH_BLOCK_INDEX_REGIONS;
	size_t num_leaves = 0, cursor = 0, start_cursor = 0;
	struct ch_error *err;

	for (size_t e = 0; e < num_entries; e++)
		num_leaves += index->regions[e] == NEEDS_LEAF;
	index->num_leaves = num_leaves;
	// Every lookup reads a leaf at random: huge pages spare each a walk
	// of the page tables (tens of MiB of leaves for a heap of GiBs).
	index->leaves = ch_malloc_large(num_leaves * LEAF_ENTRIES *
					sizeof(*index->leaves));
	if (!index->leaves && num_leaves)
		return &ch_enomem;
	err = allocate_starts(index, num_leaves);
	if (err)
		return err;

	num_leaves = 0;
	for (uint64_t region = index->low >> CH_BLOCK_INDEX_REGION_SHIFT;
	     region <= (index->high - 1) >> CH_BLOCK_INDEX_REGION_SHIFT;
	     region++) {
		uint64_t slot = region >> (CH_BLOCK_INDEX_TABLE_SHIFT -
					   CH_BLOCK_INDEX_REGION_SHIFT);
		uint32_t *entry, *leaf;

		if (index->directory[slot] == CH_NO_BLOCK) {
			// Skip the rest of an empty GiB at once.
			region |= CH_BLOCK_INDEX_REGIONS - 1;
			continue;
		}
		entry = region_entry(index, region);
		if (*entry != NEEDS_LEAF)
			continue;
		*entry = num_leaves;
		leaf = index->leaves + num_leaves++ * LEAF_ENTRIES;
		for (size_t g = 0; g < LEAF_ENTRIES; g++) {
			uint64_t start = (region << CH_BLOCK_INDEX_REGION_SHIFT) +
					 ((uint64_t)g << CH_BLOCK_INDEX_GRANULE_SHIFT);

			while (cursor < index->num_blocks &&
			       indexed_end(&index->blocks[cursor]) <= start)
				cursor++;
			leaf[g] = cursor;
		}
		if (index->start_shift &&
		    !fill_starts(index, num_leaves - 1,
				 region << CH_BLOCK_INDEX_REGION_SHIFT,
				 &start_cursor))
			free_starts(index);
	}
	return NULL;
}

struct ch_error *ch_block_index_init(struct ch_block_index *index,
				     const struct ch_block *blocks,
				     size_t num_blocks)
{
	struct ch_error *err;
	uint64_t starts = 0;

	*index = (struct ch_block_index){ .blocks = blocks,
					  .num_blocks = num_blocks };
	if (num_blocks >= CH_BLOCK_INDEX_WHOLE)
		return ch_error_create(CH_ERROR_CORRUPT,
				       "too many live allocations to index: %zu",
				       num_blocks);
	index->directory = malloc(DIRECTORY_SLOTS * sizeof(*index->directory));
	if (!index->directory)
		return &ch_enomem;
	memset(index->directory, 0xff,
	       DIRECTORY_SLOTS * sizeof(*index->directory));
	if (num_blocks == 0)
		return NULL;

	// Blocks that reach above user space (only from a damaged heap) are
	// left out of the range, so they are simply never found.
	index->low = blocks[0].address;
	for (size_t i = 0; i < num_blocks; i++) {
		uint64_t end = indexed_end(&blocks[i]);

		if (end < blocks[i].address ||
		    end > (UINT64_C(1) << CH_BLOCK_INDEX_ADDRESS_BITS)) {
			index->num_blocks = i;
			break;
		}
		index->high = end;
		starts |= blocks[i].address;
	}
	if (index->num_blocks == 0)
		return NULL;
	index->start_shift = !(starts & 15) ? 4 : !(starts & 7) ? 3 : 0;
	err = make_region_tables(index);
	if (!err) {
		mark_regions(index);
		err = fill_leaves(index);
	}
	if (err)
		ch_block_index_deinit(index);
	return err;
}

// One lock for every heap's first index: two threads may ask at once.
static pthread_mutex_t heap_index_lock = PTHREAD_MUTEX_INITIALIZER;

struct ch_error *ch_heap_block_index(struct ch_heap *heap,
				     const struct ch_block_index **ret)
{
	struct ch_block_index *index =
		__atomic_load_n(&heap->block_index, __ATOMIC_ACQUIRE);
	struct ch_error *err = NULL;

	if (!index) {
		pthread_mutex_lock(&heap_index_lock);
		index = heap->block_index;
		if (!index) {
			index = malloc(sizeof(*index));
			err = index ? ch_block_index_init(index, heap->live.blocks,
							  heap->live.len) :
				      &ch_enomem;
			if (err) {
				free(index);
				index = NULL;
			}
			__atomic_store_n(&heap->block_index, index,
					 __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&heap_index_lock);
	}
	*ret = index;
	return err;
}

void ch_block_index_deinit(struct ch_block_index *index)
{
	free(index->directory);
	free(index->regions);
	free(index->leaves);
	free_starts(index);
	*index = (struct ch_block_index){ 0 };
}

// The granule of rank(), as a shift: see ch_block_index_sort().
static unsigned rank_shift(const struct ch_block_index *index)
{
	uint64_t regions = ch_block_index_num_regions(index);
	unsigned bits = CH_BLOCK_INDEX_REGION_SHIFT, shift = 4;

	while (bits < 64 &&
	       regions > UINT64_C(1) << (bits - CH_BLOCK_INDEX_REGION_SHIFT))
		bits++;
	while (bits > shift + CH_SORT_RANK_BITS)
		shift++;
	return shift;
}

// The rank of addr among the heap's addresses in granules of 1 << shift
// bytes, counted in the heap's regions: below 1 << CH_SORT_RANK_BITS.
static uint32_t rank(const struct ch_block_index *index, unsigned shift,
		     uint64_t addr)
{
	uint64_t dense = ch_block_index_region_number(index, addr)
				 << CH_BLOCK_INDEX_REGION_SHIFT |
			 (addr & ((UINT64_C(1) << CH_BLOCK_INDEX_REGION_SHIFT) - 1));

	return (uint32_t)(dense >> shift);
}

void ch_block_index_sort(const struct ch_block_index *index,
			 struct ch_sort_pair *pairs, size_t n,
			 struct ch_sort_pair *sorted,
			 struct ch_sort_counts *counts, bool two_threads)
{
	unsigned shift = rank_shift(index);

	if (n < CH_SORT_FEW) {
		for (size_t k = 0; k < n; k++)
			pairs[k].rank = rank(index, shift, pairs[k].key);
		ch_sort_pairs_few(pairs, n, sorted);
		return;
	}
	memset(counts->of_rank, 0, sizeof(counts->of_rank));
	for (size_t k = 0; k < n; k++) {
		pairs[k].rank = rank(index, shift, pairs[k].key);
		ch_sort_count(counts, pairs[k].rank);
	}
	ch_sort_pairs_counted(pairs, n, sorted, counts, two_threads);
}

// How far ahead a sorted lookup finds an address's granule entry (and
// prefetches it), and reads the entry (and prefetches the block it names).
#define AHEAD_ENTRY 32
#define AHEAD_BLOCK 16

/*
 * ch_block_index_entry() for addresses in order: the last region's leaf is
 * kept, and an address in the same region (a sorted batch stays in one for
 * many) needs no look at the directory and the region table.
 */
struct entry_finder {
	uint64_t region_start;
	const uint32_t *leaf;
};

static const uint32_t *find_entry(const struct ch_block_index *index,
				  struct entry_finder *finder, uint64_t addr)
{
	uint64_t granule = ch_block_index_granule(addr);
	const uint32_t *entry;

	if (finder->leaf && addr - finder->region_start < REGION_SIZE)
		return finder->leaf + granule;
	entry = ch_block_index_entry(index, addr);
	finder->region_start = addr & ~(REGION_SIZE - 1);
	finder->leaf = entry && *entry != CH_NO_BLOCK &&
				       !(*entry & CH_BLOCK_INDEX_WHOLE) ?
			       entry - granule :
			       NULL;
	return entry;
}

// Read a granule entry into candidates (first, last), and prefetch the
// first block's lines: the few after it are searched too.
static void read_entry(const struct ch_block_index *index,
		       const uint32_t *entry, uint32_t candidates[2])
{
	candidates[0] = ch_block_index_first(index, entry, &candidates[1]);
	if (candidates[0] != CH_NO_BLOCK) {
		__builtin_prefetch(&index->blocks[candidates[0]]);
		__builtin_prefetch((const char *)&index->blocks[candidates[0]] + 64);
	}
}

void ch_block_index_find_sorted(const struct ch_block_index *index,
				const struct ch_sort_pair *pairs, size_t from,
				size_t to, bool interior, uint32_t *found,
				struct ch_found_block *spans)
{
	const uint32_t *entries[AHEAD_ENTRY];
	uint32_t candidates[AHEAD_BLOCK][2];
	struct entry_finder finder = { .region_start = 1 };

	// Pair j's entry is found when pair j - AHEAD_ENTRY is picked, and
	// read when pair j - AHEAD_BLOCK is.
	for (size_t j = from; j < to && j < from + AHEAD_ENTRY; j++) {
		entries[(j - from) % AHEAD_ENTRY] =
			find_entry(index, &finder, pairs[j].key);
		__builtin_prefetch(entries[(j - from) % AHEAD_ENTRY]);
	}
	for (size_t j = from; j < to && j < from + AHEAD_BLOCK; j++)
		read_entry(index, entries[(j - from) % AHEAD_ENTRY],
			   candidates[(j - from) % AHEAD_BLOCK]);
	for (size_t k = from; k < to; k++) {
		uint32_t *now = candidates[(k - from) % AHEAD_BLOCK];
		const uint32_t **entry = &entries[(k - from) % AHEAD_ENTRY];

		found[k] = ch_block_index_pick(index, pairs[k].key, now[0],
					       now[1], interior);
		if (spans && found[k] != CH_NO_BLOCK)
			spans[k] = ch_found_block_of(&index->blocks[found[k]]);
		if (k + AHEAD_BLOCK < to)
			read_entry(index,
				   entries[(k + AHEAD_BLOCK - from) % AHEAD_ENTRY],
				   now);
		if (k + AHEAD_ENTRY < to) {
			*entry = find_entry(index, &finder,
					    pairs[k + AHEAD_ENTRY].key);
			__builtin_prefetch(*entry);
		}
	}
}

struct ch_error *ch_lookup_batch_init(struct ch_lookup_batch *batch,
				      size_t capacity)
{
	*batch = (struct ch_lookup_batch){
		.pairs = ch_malloc_large(capacity * sizeof(*batch->pairs)),
		.sorted = ch_malloc_large(capacity * sizeof(*batch->sorted)),
		.counts = malloc(sizeof(*batch->counts)),
		.found = ch_malloc_large(capacity * sizeof(*batch->found)),
		.capacity = capacity,
	};
	if (batch->pairs && batch->sorted && batch->counts && batch->found)
		return NULL;
	ch_lookup_batch_deinit(batch);
	return &ch_enomem;
}

void ch_lookup_batch_deinit(struct ch_lookup_batch *batch)
{
	ch_free_large(batch->pairs);
	ch_free_large(batch->sorted);
	free(batch->counts);
	ch_free_large(batch->found);
	*batch = (struct ch_lookup_batch){ 0 };
}

// How far ahead an unsorted lookup fetches a key's line of start bits
// (a power of two), and a block that may reach a key inside it.
#define AHEAD_LINE 32
#define AHEAD_INSIDE 16

/*
 * Where a key's start bit is: its line and the bit in it, or (line NULL)
 * the block that covers the key's whole region, or CH_NO_BLOCK.
 */
struct start_probe {
	const struct ch_start_line *line;
	uint32_t whole;
	unsigned bit;
};

static inline struct start_probe probe_start(const struct ch_block_index *index,
					     uint64_t addr)
{
	const uint32_t *entry = ch_block_index_region_entry(index, addr);
	struct start_probe probe = { .whole = CH_NO_BLOCK };
	uint64_t at;

	if (!entry || *entry == CH_NO_BLOCK)
		return probe;
	if (*entry & CH_BLOCK_INDEX_WHOLE) {
		probe.whole = *entry & ~CH_BLOCK_INDEX_WHOLE;
		return probe;
	}
	at = (addr & (REGION_SIZE - 1)) >> index->start_shift;
	probe.bit = (unsigned)(at % LINE_BITS);
	probe.line = &index->start_lines[(size_t)*entry * lines_per_leaf(index) +
					 at / LINE_BITS];
	return probe;
}

/*
 * The last block that starts at or before addr, if a block can hold addr
 * (else CH_NO_BLOCK), and whether it starts at addr (*exact_ret), from
 * addr's probe.
 */
static inline uint32_t start_at_or_before(const struct ch_block_index *index,
					  const struct start_probe *probe,
					  uint64_t addr, bool *exact_ret)
{
	const struct ch_start_line *line = probe->line;
	unsigned bit = probe->bit;
	uint32_t count;
	uint64_t word;

	*exact_ret = false;
	if (!line) {
		if (probe->whole != CH_NO_BLOCK)
			*exact_ret = index->blocks[probe->whole].address == addr;
		return probe->whole;
	}
	count = line->count + (bit >= 64 ? line->before[bit / 64 - 1] : 0);
	// The bits up to addr's own.
	word = line->bits[bit / 64] & (~UINT64_C(0) >> (63 - bit % 64));
	count += ch_count_bits(word);
	*exact_ret = word >> (bit % 64) &&
		     !(addr & ((UINT64_C(1) << index->start_shift) - 1));
	return count ? count - 1 : CH_NO_BLOCK;
}

bool ch_block_index_find_unsorted(const struct ch_block_index *index,
				  const struct ch_sort_pair *pairs, size_t n,
				  bool interior, uint32_t *found,
				  uint32_t *inside, size_t *num_inside_ret)
{
	struct start_probe probes[AHEAD_LINE];
	size_t num_inside = 0;

	if (!ch_block_index_has_start_lines(index))
		return false;
	// Key k is probed (its line fetched) AHEAD_LINE keys before it is
	// looked up, in the probe it then leaves to key k + AHEAD_LINE.
	for (size_t k = 0; k < n + AHEAD_LINE; k++) {
		struct start_probe *probe = &probes[k % AHEAD_LINE];

		if (k >= AHEAD_LINE) {
			size_t j = k - AHEAD_LINE;
			bool exact;

			found[j] = start_at_or_before(index, probe, pairs[j].key,
						      &exact);
			if (found[j] != CH_NO_BLOCK && !exact) {
				inside[num_inside++] = (uint32_t)j;
				if (!interior)
					found[j] = CH_NO_BLOCK;
			}
		}
		if (k < n) {
			*probe = probe_start(index, pairs[k].key);
			if (probe->line)
				__builtin_prefetch(probe->line);
		}
	}
	if (num_inside_ret)
		*num_inside_ret = num_inside;
	if (!interior)
		return true;
	// The keys past a block's start: whether the block reaches them.
	for (size_t j = 0; j < num_inside && j < AHEAD_INSIDE; j++)
		__builtin_prefetch(&index->blocks[found[inside[j]]]);
	for (size_t j = 0; j < num_inside; j++) {
		uint32_t k = inside[j];

		if (j + AHEAD_INSIDE < num_inside)
			__builtin_prefetch(&index->blocks[found[inside[j + AHEAD_INSIDE]]]);
		if (!ch_block_index_holds(&index->blocks[found[k]],
					  pairs[k].key, true))
			found[k] = CH_NO_BLOCK;
	}
	return true;
}
