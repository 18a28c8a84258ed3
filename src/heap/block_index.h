/* SPDX-License-Identifier: MIT */
/**
 * @file
 * From an address to the live block holding it, fast enough to ask for every
 * word of a heap of tens of gigabytes.
 *
 * ch_heap_find() binary-searches all live blocks: some 20 dependent cache
 * misses on a large heap. This index answers with two table loads and a
 * binary search among the few blocks that overlap one 4 KiB page. It is a
 * two-level page table over the 47-bit user address space: a directory with
 * one slot per GiB, and for each GiB that holds a block, a table with one
 * entry per page: the index of the first block that ends after the page's
 * start. Memory: 512 KiB for the directory and 1 MiB per GiB of address
 * space the heap touches.
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
#include "heap/heap.h"

#define CH_BLOCK_INDEX_PAGE_SHIFT 12
#define CH_BLOCK_INDEX_TABLE_SHIFT 30
#define CH_BLOCK_INDEX_ADDRESS_BITS 47
/** No block holds the address. */
#define CH_NO_BLOCK UINT32_MAX

struct ch_block_index {
	const struct ch_block *blocks;
	size_t num_blocks;
	/** Every block lies in [low, high). */
	uint64_t low, high;
	/** Per GiB: index of its page table in tables, or CH_NO_BLOCK. */
	uint32_t *directory;
	/**
	 * Page tables, each of (1 << 18) + 1 entries (the last one is the
	 * first entry of the next GiB, so that a page's range of blocks is
	 * always [table[p], table[p + 1]]).
	 */
	uint32_t *tables;
	size_t num_tables;
};

/**
 * Index the blocks (sorted by address and disjoint, as ch_heap_finish()
 * leaves heap->live). Fails with CH_ERROR_CORRUPT if there are 2^32 - 1
 * blocks or more.
 */
struct ch_error *ch_block_index_init(struct ch_block_index *index,
				     const struct ch_block *blocks,
				     size_t num_blocks);
void ch_block_index_deinit(struct ch_block_index *index);

/**
 * The index of the block holding addr (interior: anywhere in
 * [address, address + size)), or of the block starting at addr (!interior),
 * or CH_NO_BLOCK.
 */
static inline uint32_t ch_block_index_find(const struct ch_block_index *index,
					   uint64_t addr, bool interior)
{
	uint32_t table, lo, hi;
	const uint32_t *entries;

	if (addr - index->low >= index->high - index->low)
		return CH_NO_BLOCK;
	table = index->directory[addr >> CH_BLOCK_INDEX_TABLE_SHIFT];
	if (table == CH_NO_BLOCK)
		return CH_NO_BLOCK;
	entries = index->tables +
		  (size_t)table * ((1u << (CH_BLOCK_INDEX_TABLE_SHIFT -
					   CH_BLOCK_INDEX_PAGE_SHIFT)) + 1);
	entries += (addr >> CH_BLOCK_INDEX_PAGE_SHIFT) &
		   ((1u << (CH_BLOCK_INDEX_TABLE_SHIFT -
			    CH_BLOCK_INDEX_PAGE_SHIFT)) - 1);
	lo = entries[0];
	hi = entries[1];
	if (hi >= index->num_blocks)
		hi = index->num_blocks - 1;
	// The last block starting at or before addr, among those that
	// overlap the page: [lo, hi]. Branch-free halving (conditional
	// moves): the comparisons are unpredictable.
	if (lo > hi || index->blocks[lo].address > addr)
		return CH_NO_BLOCK;
	for (uint32_t n = hi - lo + 1; n > 1;) {
		uint32_t half = n / 2;

		lo = index->blocks[lo + half].address <= addr ? lo + half : lo;
		n -= half;
	}
	if (!interior)
		return index->blocks[lo].address == addr ? lo : CH_NO_BLOCK;
	// A zero-size block holds its own address, as in ch_heap_find().
	return addr - index->blocks[lo].address < index->blocks[lo].size ||
			       addr == index->blocks[lo].address ?
		       lo :
		       CH_NO_BLOCK;
}

#endif /* COREHEAP_BLOCK_INDEX_H */
