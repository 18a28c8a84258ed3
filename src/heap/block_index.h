/* SPDX-License-Identifier: MIT */
/**
 * @file
 * From an address to the live block holding it, fast enough to ask for every
 * word of a heap of tens of gigabytes.
 *
 * ch_heap_find() binary-searches all live blocks: some 20 dependent cache
 * misses on a large heap. This index answers with one load that misses the
 * cache (a granule's entry) and a search among the two or three blocks that
 * overlap one 256-byte granule, which sit side by side in one or two cache
 * lines. It is a three-level table over the 47-bit user address space: a
 * directory with one slot per GiB, for each GiB that holds a block a table
 * with one entry per 2 MiB region, and for each region that holds a block's
 * edge a leaf with one entry per granule: the index of the first block that
 * ends after the granule's start. A region that lies wholly inside one block
 * (a large mmapped allocation) names that block in its region entry and has
 * no leaf. Memory: 512 KiB for the directory, 2 KiB per GiB and 32 KiB per
 * 2 MiB of address space where blocks begin or end (1.6% of a heap of small
 * blocks).
 *
 * Lookups in any order (a scan's words, wanted back in the order read) use
 * a second table: for each leaf's region a bit per 16 bytes (8 when blocks
 * start on 8) set where a block starts, in cache lines that carry the
 * number of blocks before them. The block at or before an address is then
 * one line's read and no sort, and a pointer to a block's start, most of
 * them, needs nothing more. Memory: 21 KiB more per leaf (43 KiB at 8).
 *
 * The index points into the heap's live blocks and stays valid while they
 * are not changed. It is read-only once built: threads may share it.
 */
#ifndef COREHEAP_BLOCK_INDEX_H
#define COREHEAP_BLOCK_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/radix_sort.h"
#include "heap/heap.h"

#define CH_BLOCK_INDEX_GRANULE_SHIFT 8
#define CH_BLOCK_INDEX_REGION_SHIFT 21
#define CH_BLOCK_INDEX_TABLE_SHIFT 30
#define CH_BLOCK_INDEX_ADDRESS_BITS 47
#define CH_BLOCK_INDEX_REGIONS \
	(1u << (CH_BLOCK_INDEX_TABLE_SHIFT - CH_BLOCK_INDEX_REGION_SHIFT))
#define CH_BLOCK_INDEX_GRANULES \
	(1u << (CH_BLOCK_INDEX_REGION_SHIFT - CH_BLOCK_INDEX_GRANULE_SHIFT))
/** A region entry with this bit names the one block covering the region. */
#define CH_BLOCK_INDEX_WHOLE 0x80000000u
/** Words of start bits in a line (struct ch_start_line). */
#define CH_START_LINE_WORDS 6

/**
 * A cache line of start bits, with what a lookup needs to count the blocks
 * before one of them: so that a lookup reads one line, and counts the bits
 * of one word.
 */
struct ch_start_line {
	/** The blocks that start before the line. */
	uint32_t count;
	/** before[w - 1]: the bits set in words [0, w). */
	uint16_t before[CH_START_LINE_WORDS - 1];
	uint64_t bits[CH_START_LINE_WORDS];
};
/** No block holds the address. */
#define CH_NO_BLOCK UINT32_MAX

struct ch_block_index {
	const struct ch_block *blocks;
	size_t num_blocks;
	/** Every block lies in [low, high). */
	uint64_t low, high;
	/** Per GiB: index of its region table in regions, or CH_NO_BLOCK. */
	uint32_t *directory;
	/**
	 * Region tables of CH_BLOCK_INDEX_REGIONS entries each: a leaf's
	 * index, CH_BLOCK_INDEX_WHOLE | the block covering the region, or
	 * CH_NO_BLOCK.
	 */
	uint32_t *regions;
	size_t num_region_tables;
	/**
	 * Leaves of CH_BLOCK_INDEX_GRANULES + 1 entries each (the last one is
	 * the first entry of the next region, so that a granule's range of
	 * blocks is always [leaf[g], leaf[g + 1]]).
	 */
	uint32_t *leaves;
	size_t num_leaves;
	/**
	 * Where blocks start, for lookups in any order
	 * (ch_block_index_find_unsorted()): for each leaf's region a bit
	 * per 1 << start_shift bytes, set where a block starts, in lines
	 * (the leaves' one after the other). start_shift is 4 when every
	 * block starts on 16 bytes, 3 when on 8, and 0 when not (there are
	 * then no start lines).
	 */
	unsigned start_shift;
	struct ch_start_line *start_lines;
	/** The allocation start_lines lies in, aligned to a line. */
	void *start_lines_room;
};

/**
 * Index the blocks (sorted by address and disjoint, as ch_heap_finish()
 * leaves heap->live). Fails with CH_ERROR_CORRUPT if there are 2^31 blocks
 * or more.
 */
struct ch_error *ch_block_index_init(struct ch_block_index *index,
				     const struct ch_block *blocks,
				     size_t num_blocks);
void ch_block_index_deinit(struct ch_block_index *index);

/**
 * The index of heap's live blocks, made on the first call (heap->live must
 * not change after it) and kept in heap->block_index, which
 * ch_heap_deinit() frees. Threads may ask at once: one makes it while the
 * others wait.
 */
struct ch_error *ch_heap_block_index(struct ch_heap *heap,
				     const struct ch_block_index **ret);

static inline bool ch_block_index_holds(const struct ch_block *block,
					uint64_t addr, bool interior)
{
	if (!interior)
		return block->address == addr;
	// A zero-size block holds its own address, as in ch_heap_find().
	return addr - block->address < ch_block_size(block) ||
	       addr == block->address;
}

/*
 * A lookup in three steps, for callers that look up many addresses at once
 * and prefetch: the granule's entry (one cache miss), the first block that
 * may hold addr (a second), then the few blocks after it.
 */

/** addr's granule within its 2 MiB region: its entry's place in a leaf. */
static inline uint64_t ch_block_index_granule(uint64_t addr)
{
	return (addr >> CH_BLOCK_INDEX_GRANULE_SHIFT) &
	       (CH_BLOCK_INDEX_GRANULES - 1);
}

/**
 * Where addr's region entry is (a leaf's number, CH_BLOCK_INDEX_WHOLE |
 * a block, or CH_NO_BLOCK), or NULL when no block can hold addr.
 */
static inline const uint32_t *
ch_block_index_region_entry(const struct ch_block_index *index, uint64_t addr)
{
	uint32_t table;

	if (addr - index->low >= index->high - index->low)
		return NULL;
	table = index->directory[addr >> CH_BLOCK_INDEX_TABLE_SHIFT];
	if (table == CH_NO_BLOCK)
		return NULL;
	return &index->regions[(size_t)table * CH_BLOCK_INDEX_REGIONS +
			       ((addr >> CH_BLOCK_INDEX_REGION_SHIFT) &
				(CH_BLOCK_INDEX_REGIONS - 1))];
}

/** Where addr's granule entry is, or NULL when no block can hold addr. */
static inline const uint32_t *
ch_block_index_entry(const struct ch_block_index *index, uint64_t addr)
{
	const uint32_t *entry = ch_block_index_region_entry(index, addr);

	if (!entry || *entry == CH_NO_BLOCK || *entry & CH_BLOCK_INDEX_WHOLE)
		return entry;
	return index->leaves + (size_t)*entry * (CH_BLOCK_INDEX_GRANULES + 1) +
	       ch_block_index_granule(addr);
}

/** How many numbers ch_block_index_region_number() gives. */
static inline uint64_t ch_block_index_num_regions(const struct ch_block_index *index)
{
	return (uint64_t)index->num_region_tables * CH_BLOCK_INDEX_REGIONS;
}

/**
 * A number for addr's 2 MiB region that grows with the address but skips
 * the GiBs where no block is, below ch_block_index_num_regions(): 0 for an
 * address no block can hold. For grouping addresses by where they are in
 * the heap, whatever the gaps between its parts (glibc's brk heap and its
 * mmapped chunks are terabytes apart).
 */
static inline uint64_t ch_block_index_region_number(const struct ch_block_index *index,
						    uint64_t addr)
{
	uint32_t table;

	if (addr - index->low >= index->high - index->low)
		return 0;
	table = index->directory[addr >> CH_BLOCK_INDEX_TABLE_SHIFT];
	if (table == CH_NO_BLOCK)
		return 0;
	return (uint64_t)table * CH_BLOCK_INDEX_REGIONS +
	       ((addr >> CH_BLOCK_INDEX_REGION_SHIFT) &
		(CH_BLOCK_INDEX_REGIONS - 1));
}

/**
 * The first block that may hold addr, from its entry (NULL: none), or
 * CH_NO_BLOCK. *last_ret is the last one that may.
 */
static inline uint32_t ch_block_index_first(const struct ch_block_index *index,
					    const uint32_t *entry,
					    uint32_t *last_ret)
{
	uint32_t first;

	if (!entry || *entry == CH_NO_BLOCK)
		return CH_NO_BLOCK;
	// A region entry naming the one block that covers the region (a
	// leaf's entries are block indices, below CH_BLOCK_INDEX_WHOLE).
	if (*entry & CH_BLOCK_INDEX_WHOLE) {
		*last_ret = *entry & ~CH_BLOCK_INDEX_WHOLE;
		return *last_ret;
	}
	first = entry[0];
	*last_ret = entry[1] < index->num_blocks ? entry[1] :
						   (uint32_t)index->num_blocks - 1;
	return first <= *last_ret ? first : CH_NO_BLOCK;
}

/** The block among [first, last] that holds addr, or CH_NO_BLOCK. */
static inline uint32_t ch_block_index_pick(const struct ch_block_index *index,
					   uint64_t addr, uint32_t first,
					   uint32_t last, bool interior)
{
	const struct ch_block *b;
	uint32_t span, i;

	if (first == CH_NO_BLOCK || index->blocks[first].address > addr)
		return CH_NO_BLOCK;
	// The last block starting at or before addr. A granule overlaps a
	// few: the three after first are counted without a branch (which
	// would be mispredicted a lookup in two), reading first itself in
	// place of those past last.
	b = &index->blocks[first];
	span = last - first;
	i = (uint32_t)(b[span >= 1 ? 1 : 0].address <= addr) & (span >= 1);
	i += (uint32_t)(b[span >= 2 ? 2 : 0].address <= addr) & (span >= 2);
	i += (uint32_t)(b[span >= 3 ? 3 : 0].address <= addr) & (span >= 3);
	i += first;
	while (i < last && index->blocks[i + 1].address <= addr)
		i++;
	return ch_block_index_holds(&index->blocks[i], addr, interior) ?
		       i :
		       CH_NO_BLOCK;
}

/**
 * The index of the block holding addr (interior: anywhere in
 * [address, address + size)), or of the block starting at addr (!interior),
 * or CH_NO_BLOCK.
 */
static inline uint32_t ch_block_index_find(const struct ch_block_index *index,
					   uint64_t addr, bool interior)
{
	uint32_t last = 0;
	uint32_t first = ch_block_index_first(
		index, ch_block_index_entry(index, addr), &last);

	return ch_block_index_pick(index, addr, first, last, interior);
}

/*
 * Many lookups at once, in the order of the addresses: sorted by
 * ch_block_index_sort(), the addresses read the index's leaves and the
 * blocks in order instead of at random, about twice as fast on a heap
 * larger than the caches.
 */

/**
 * Write pairs[0..n) into sorted (room for n pairs) in the order of where
 * their keys point, with ch_sort_pairs_counted() (counts is its room; the
 * pairs' ranks are set here), or ch_sort_pairs_few() for a few: ranked in granules of the heap's regions,
 * whatever the gaps between its parts, as small as CH_SORT_RANK_BITS
 * allow and of 16 bytes at least. Stable: a block aligned to 16 bytes has
 * its first two words in one granule, so pointers to either keep the
 * order they came in.
 */
void ch_block_index_sort(const struct ch_block_index *index,
			 struct ch_sort_pair *pairs, size_t n,
			 struct ch_sort_pair *sorted,
			 struct ch_sort_counts *counts, bool two_threads);

/** Where a block that a sorted lookup found lies. */
struct ch_found_block {
	uint64_t address, size;
};

static inline struct ch_found_block ch_found_block_of(const struct ch_block *block)
{
	return (struct ch_found_block){ .address = block->address,
					.size = ch_block_size(block) };
}

/**
 * found[k] for each pair k of pairs[from, to): the block holding its key
 * (as ch_block_index_find() with interior), or CH_NO_BLOCK; and unless
 * spans is NULL, spans[k] where that block lies (left as it was for
 * CH_NO_BLOCK): the lookup read it, and a caller that needs only that
 * reads it there, in order, instead of in the blocks. Fast when the
 * pairs are sorted by ch_block_index_sort(): the granule entries and the
 * blocks are fetched ahead, so that the cache misses overlap. Reads only:
 * threads may look up parts of one array at once.
 */
void ch_block_index_find_sorted(const struct ch_block_index *index,
				const struct ch_sort_pair *pairs, size_t from,
				size_t to, bool interior, uint32_t *found,
				struct ch_found_block *spans);

/** Whether ch_block_index_find_unsorted() can look keys up. */
static inline bool ch_block_index_has_start_lines(const struct ch_block_index *index)
{
	return index->start_shift != 0;
}

/**
 * found[k] for each pair k of pairs[0, n), in the order given: the block
 * holding its key (as ch_block_index_find() with interior, or without:
 * only a block starting there). Without a sort: one read at random (the
 * key's line of start bits, fetched ahead) finds the block that starts at
 * a key, and one more (the block, fetched ahead) tells whether the block
 * before a key reaches it. inside is room for n indices: it is left
 * holding, in order, the positions k of the keys that are not a block's
 * start but follow one (found[k]: with interior, the block when it
 * reaches the key; else CH_NO_BLOCK), *num_inside_ret of them unless
 * num_inside_ret is NULL; any other key found is a block's start. False, and nothing found,
 * when the index has no start bits (a block not aligned to 8 bytes, or
 * two at one address: only from a damaged heap), or no blocks:
 * ch_block_index_sort() and ch_block_index_find_sorted() then. Reads
 * only: threads may look up at once.
 */
bool ch_block_index_find_unsorted(const struct ch_block_index *index,
				  const struct ch_sort_pair *pairs, size_t n,
				  bool interior, uint32_t *found,
				  uint32_t *inside, size_t *num_inside_ret);

/**
 * Addresses waiting to be looked up together: pairs (key: the address;
 * value: the caller's, such as the word's position or the type of the
 * slot it was read from), sorted by ch_lookup_batch_sort() into sorted,
 * and found[k] the block holding sorted[k]'s key after
 * ch_lookup_batch_find(). Once sorted, the pairs' room (16 bytes a pair)
 * is the caller's: the found blocks' spans, or its results by position.
 */
struct ch_lookup_batch {
	struct ch_sort_pair *pairs, *sorted;
	struct ch_sort_counts *counts;
	uint32_t *found;
	size_t len, capacity;
};

/** Room for capacity pairs: 36 bytes a pair. */
struct ch_error *ch_lookup_batch_init(struct ch_lookup_batch *batch,
				      size_t capacity);
void ch_lookup_batch_deinit(struct ch_lookup_batch *batch);

/** Add a pair; true when the batch is then full. */
static inline bool ch_lookup_batch_push(struct ch_lookup_batch *batch,
					uint64_t key, uint32_t value)
{
	batch->pairs[batch->len++] =
		(struct ch_sort_pair){ .key = key, .value = value };
	return batch->len == batch->capacity;
}

/** Sort the batch's pairs into sorted: ch_block_index_sort(). */
static inline void ch_lookup_batch_sort(const struct ch_block_index *index,
					struct ch_lookup_batch *batch,
					bool two_threads)
{
	ch_block_index_sort(index, batch->pairs, batch->len, batch->sorted,
			    batch->counts, two_threads);
}

/**
 * found[k] for the sorted pairs [from, to), spans[k] too unless spans is
 * NULL: ch_block_index_find_sorted().
 */
static inline void ch_lookup_batch_find(const struct ch_block_index *index,
					struct ch_lookup_batch *batch,
					size_t from, size_t to, bool interior,
					struct ch_found_block *spans)
{
	ch_block_index_find_sorted(index, batch->sorted, from, to, interior,
				   batch->found, spans);
}

#endif /* COREHEAP_BLOCK_INDEX_H */
