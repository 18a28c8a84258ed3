// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"
#include "heap/alloc_stacks.h"

void ch_alloc_stacks_deinit(struct ch_alloc_stacks *stacks)
{
	ch_pc_vector_deinit(&stacks->pcs);
	ch_alloc_stack_vector_deinit(&stacks->stacks);
	ch_block_stack_vector_deinit(&stacks->blocks);
	ch_u64_map_deinit(&stacks->by_hash);
}

// FNV-1a over the addresses, never the map's empty key.
static uint64_t hash_pcs(const uint64_t *pcs, size_t num_pcs)
{
	uint64_t hash = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < num_pcs; i++) {
		hash ^= pcs[i];
		hash *= UINT64_C(0x100000001b3);
	}
	return hash == CH_U64_MAP_EMPTY ? 0 : hash;
}

static bool same_stack(const struct ch_alloc_stacks *stacks, uint32_t index,
		       const uint64_t *pcs, size_t num_pcs)
{
	const struct ch_alloc_stack *stack = &stacks->stacks.data[index];

	return stack->num_pcs == num_pcs &&
	       !memcmp(stacks->pcs.data + stack->first, pcs,
		       num_pcs * sizeof(*pcs));
}

/*
 * The index of the stack pcs, added if new. Keys that hash alike but hold
 * other stacks move the new one to the next free key.
 */
static struct ch_error *intern(struct ch_alloc_stacks *stacks,
			       const uint64_t *pcs, size_t num_pcs,
			       uint32_t *ret)
{
	uint64_t key = hash_pcs(pcs, num_pcs), index;
	struct ch_alloc_stack stack = {
		.first = stacks->pcs.len,
		.num_pcs = (uint32_t)num_pcs,
	};
	struct ch_error *err;

	while (ch_u64_map_get(&stacks->by_hash, key, &index)) {
		if (same_stack(stacks, (uint32_t)index, pcs, num_pcs)) {
			*ret = (uint32_t)index;
			return NULL;
		}
		key = key + 1 == CH_U64_MAP_EMPTY ? 0 : key + 1;
	}
	if (stacks->stacks.len >= UINT32_MAX)
		return &ch_enomem;
	err = ch_pc_vector_reserve(&stacks->pcs, stacks->pcs.len + num_pcs);
	if (!err)
		err = ch_u64_map_put(&stacks->by_hash, key, stacks->stacks.len);
	if (!err)
		err = ch_alloc_stack_vector_append(&stacks->stacks, &stack);
	if (err)
		return err;
	memcpy(stacks->pcs.data + stacks->pcs.len, pcs, num_pcs * sizeof(*pcs));
	stacks->pcs.len += num_pcs;
	*ret = (uint32_t)(stacks->stacks.len - 1);
	return NULL;
}

struct ch_error *ch_alloc_stacks_add(struct ch_alloc_stacks *stacks,
				     uint64_t address, const uint64_t *pcs,
				     size_t num_pcs)
{
	struct ch_block_stack block = {
		.address = address,
		.order = (uint32_t)stacks->blocks.len,
	};
	struct ch_error *err = intern(stacks, pcs, num_pcs, &block.stack);

	if (err)
		return err;
	return ch_block_stack_vector_append(&stacks->blocks, &block);
}

static int compare_block_stacks(const void *a, const void *b)
{
	const struct ch_block_stack *x = a, *y = b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

void ch_alloc_stacks_finish(struct ch_alloc_stacks *stacks)
{
	struct ch_block_stack *blocks = stacks->blocks.data;
	size_t kept = 0;

	ch_sort(blocks, stacks->blocks.len, sizeof(*blocks),
		compare_block_stacks);
	for (size_t i = 0; i < stacks->blocks.len; i++) {
		if (kept && blocks[kept - 1].address == blocks[i].address)
			kept--;
		blocks[kept++] = blocks[i];
	}
	stacks->blocks.len = kept;
}

bool ch_alloc_stacks_find(const struct ch_alloc_stacks *stacks,
			  uint64_t address, uint32_t *stack_ret)
{
	const struct ch_block_stack *blocks = stacks->blocks.data;
	size_t lo = 0, hi = stacks->blocks.len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (blocks[mid].address < address)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == stacks->blocks.len || blocks[lo].address != address)
		return false;
	*stack_ret = blocks[lo].stack;
	return true;
}

const uint64_t *ch_alloc_stack_pcs(const struct ch_alloc_stacks *stacks,
				   uint32_t stack, size_t *num_ret)
{
	if (stack >= stacks->stacks.len) {
		*num_ret = 0;
		return NULL;
	}
	*num_ret = stacks->stacks.data[stack].num_pcs;
	return stacks->pcs.data + stacks->stacks.data[stack].first;
}
