// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "heap/block_index.h"

#define PAGES_PER_TABLE \
	((size_t)1 << (CH_BLOCK_INDEX_TABLE_SHIFT - CH_BLOCK_INDEX_PAGE_SHIFT))
#define TABLE_ENTRIES (PAGES_PER_TABLE + 1)
#define DIRECTORY_SLOTS \
	((size_t)1 << (CH_BLOCK_INDEX_ADDRESS_BITS - CH_BLOCK_INDEX_TABLE_SHIFT))

// Treat a zero-size block as one byte long, so that it owns its address.
// A wrapping end saturates, and is then above user space: left out below.
static uint64_t indexed_end(const struct ch_block *block)
{
	struct ch_block one_byte = { .address = block->address, .size = 1 };

	return ch_block_end(block->size ? block : &one_byte);
}

struct ch_error *ch_block_index_init(struct ch_block_index *index,
				     const struct ch_block *blocks,
				     size_t num_blocks)
{
	size_t num_tables = 0;
	uint64_t last_slot = UINT64_MAX;

	*index = (struct ch_block_index){ .blocks = blocks,
					  .num_blocks = num_blocks };
	if (num_blocks >= CH_NO_BLOCK)
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
			index->num_blocks = num_blocks = i;
			break;
		}
		for (uint64_t slot = blocks[i].address >> CH_BLOCK_INDEX_TABLE_SHIFT;
		     slot <= (end - 1) >> CH_BLOCK_INDEX_TABLE_SHIFT; slot++) {
			if (slot != last_slot)
				index->directory[slot] = num_tables++;
			last_slot = slot;
		}
		index->high = end;
	}
	if (num_blocks == 0)
		return NULL;
	index->num_tables = num_tables;
	index->tables = malloc(num_tables * TABLE_ENTRIES *
			       sizeof(*index->tables));
	if (!index->tables) {
		ch_block_index_deinit(index);
		return &ch_enomem;
	}

	// One sweep: tables are numbered in address order, and the cursor
	// only moves forward.
	size_t cursor = 0;

	for (size_t slot = index->low >> CH_BLOCK_INDEX_TABLE_SHIFT;
	     slot <= (index->high - 1) >> CH_BLOCK_INDEX_TABLE_SHIFT; slot++) {
		uint32_t table = index->directory[slot];
		uint32_t *entries;

		if (table == CH_NO_BLOCK)
			continue;
		entries = index->tables + (size_t)table * TABLE_ENTRIES;
		for (size_t page = 0; page < TABLE_ENTRIES; page++) {
			uint64_t start = ((uint64_t)slot << CH_BLOCK_INDEX_TABLE_SHIFT) +
					 ((uint64_t)page << CH_BLOCK_INDEX_PAGE_SHIFT);

			while (cursor < num_blocks &&
			       indexed_end(&blocks[cursor]) <= start)
				cursor++;
			entries[page] = cursor;
		}
	}
	return NULL;
}

void ch_block_index_deinit(struct ch_block_index *index)
{
	free(index->directory);
	free(index->tables);
	*index = (struct ch_block_index){ 0 };
}
