/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The stacks of a managed runtime's threads, as its plugin reported them
 * (coreheap_host::add_runtime_stack): per runtime thread, its frames
 * (function, file, line; innermost first), the OS thread it runs on and the
 * exception it is handling. Kept in the order reported; every string is
 * owned here.
 */
#ifndef COREHEAP_RUNTIME_STACKS_H
#define COREHEAP_RUNTIME_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/vector.h"
#include "coreheap/plugin.h"

struct ch_runtime_frame {
	char *function;   /**< or NULL */
	char *file;       /**< or NULL */
	int64_t line;     /**< 0: unknown */
	uint64_t address;
};

struct ch_runtime_stack {
	/** The OS thread (tid), 0 if unknown. */
	int32_t tid;
	/** Index of the allocator (runtime) that reported it. */
	uint8_t allocator;
	uint64_t thread;
	char *context;            /**< or NULL */
	char *exception_type;     /**< or NULL: none being handled */
	char *exception_message;  /**< or NULL */
	uint64_t exception;
	/** Its frames: frames[first .. first + num_frames) of the set. */
	size_t first, num_frames;
};

DEFINE_VECTOR(ch_runtime_frame_vector, struct ch_runtime_frame);
DEFINE_VECTOR(ch_runtime_stack_vector, struct ch_runtime_stack);

struct ch_runtime_stacks {
	struct ch_runtime_frame_vector frames;
	struct ch_runtime_stack_vector stacks;
};

void ch_runtime_stacks_deinit(struct ch_runtime_stacks *stacks);

/**
 * Copy stack (checked by the caller: num_frames bounded, frames set when
 * any), reported by allocator. Errors: out of memory (nothing kept).
 */
struct ch_error *ch_runtime_stacks_add(struct ch_runtime_stacks *stacks,
				       uint8_t allocator,
				       const struct coreheap_runtime_stack *stack);

/** The frames of stack, stack->num_frames of them. */
static inline const struct ch_runtime_frame *
ch_runtime_stack_frames(const struct ch_runtime_stacks *stacks,
			const struct ch_runtime_stack *stack)
{
	return stacks->frames.data + stack->first;
}

#endif /* COREHEAP_RUNTIME_STACKS_H */
