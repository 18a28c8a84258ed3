/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Where live blocks were allocated, as their allocator recorded it (jemalloc
 * with heap profiling on keeps the stack of each sampled allocation): each
 * distinct stack once, and each block's stack by the block's address.
 *
 * A stack is the return addresses of the allocating thread, innermost
 * first, as the allocator's unwinder saw them: name pc - 1, the call.
 * A heap whose every allocation was sampled has millions of blocks but
 * few distinct stacks: blocks share theirs (an index).
 */
#ifndef COREHEAP_ALLOC_STACKS_H
#define COREHEAP_ALLOC_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/hash_map.h"
#include "base/vector.h"


/** One distinct stack: pcs[first .. first + num_pcs) of the stacks. */
struct ch_alloc_stack {
	size_t first;
	uint32_t num_pcs;
};

/** A block's stack. */
struct ch_block_stack {
	uint64_t address;
	uint32_t stack;
	/** The order it was given in: the last of a block's stacks wins. */
	uint32_t order;
};

DEFINE_VECTOR(ch_pc_vector, uint64_t);
DEFINE_VECTOR(ch_alloc_stack_vector, struct ch_alloc_stack);
DEFINE_VECTOR(ch_block_stack_vector, struct ch_block_stack);

struct ch_alloc_stacks {
	/** Every distinct stack's return addresses, one after the other. */
	struct ch_pc_vector pcs;
	struct ch_alloc_stack_vector stacks;
	/** Sorted by address once ch_alloc_stacks_finish() ran. */
	struct ch_block_stack_vector blocks;
	/** Hash of a stack's return addresses -> its index (interning). */
	struct ch_u64_map by_hash;
};

void ch_alloc_stacks_deinit(struct ch_alloc_stacks *stacks);

/**
 * Record that the block at address was allocated from pcs[0 .. num_pcs)
 * (at least 1; the caller bounds them). A block
 * given twice keeps its last stack. Errors: out of memory.
 */
struct ch_error *ch_alloc_stacks_add(struct ch_alloc_stacks *stacks,
				     uint64_t address, const uint64_t *pcs,
				     size_t num_pcs);

/** Sort the blocks by address, keeping one stack per block. */
void ch_alloc_stacks_finish(struct ch_alloc_stacks *stacks);

/**
 * The stack of the block at address (its start), as an index for
 * ch_alloc_stack_pcs(); false if the allocator recorded none. Needs
 * ch_alloc_stacks_finish().
 */
bool ch_alloc_stacks_find(const struct ch_alloc_stacks *stacks,
			  uint64_t address, uint32_t *stack_ret);

/** The return addresses of stack index, innermost first. */
const uint64_t *ch_alloc_stack_pcs(const struct ch_alloc_stacks *stacks,
				   uint32_t stack, size_t *num_ret);

#endif /* COREHEAP_ALLOC_STACKS_H */
