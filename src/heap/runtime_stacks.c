// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "heap/runtime_stacks.h"

static void frame_deinit(struct ch_runtime_frame *frame)
{
	free(frame->function);
	free(frame->file);
}

static void stack_deinit(struct ch_runtime_stack *stack)
{
	free(stack->context);
	free(stack->exception_type);
	free(stack->exception_message);
}

void ch_runtime_stacks_deinit(struct ch_runtime_stacks *stacks)
{
	for (size_t i = 0; i < stacks->frames.len; i++)
		frame_deinit(&stacks->frames.data[i]);
	for (size_t i = 0; i < stacks->stacks.len; i++)
		stack_deinit(&stacks->stacks.data[i]);
	ch_runtime_frame_vector_deinit(&stacks->frames);
	ch_runtime_stack_vector_deinit(&stacks->stacks);
}

// A copy of string, or NULL for NULL; false when out of memory.
static bool copy(const char *string, char **ret)
{
	*ret = NULL;
	if (!string)
		return true;
	*ret = strdup(string);
	return *ret != NULL;
}

struct ch_error *ch_runtime_stacks_add(struct ch_runtime_stacks *stacks,
				       uint8_t allocator,
				       const struct coreheap_runtime_stack *stack)
{
	struct ch_runtime_stack kept = {
		.tid = stack->tid,
		.allocator = allocator,
		.thread = stack->thread,
		.exception = stack->exception,
		.first = stacks->frames.len,
		.num_frames = stack->num_frames,
	};
	struct ch_error *err;

	err = ch_runtime_frame_vector_reserve(&stacks->frames,
					      stacks->frames.len +
						      stack->num_frames);
	if (err)
		return err;
	for (uint32_t i = 0; i < stack->num_frames; i++) {
		const struct coreheap_runtime_frame *given = &stack->frames[i];
		struct ch_runtime_frame frame = {
			.line = given->line,
			.address = given->address,
		};

		if (!copy(given->function, &frame.function) ||
		    !copy(given->file, &frame.file)) {
			frame_deinit(&frame);
			goto nomem;
		}
		// Room was reserved: this append does not fail.
		ch_runtime_frame_vector_append(&stacks->frames, &frame);
	}
	if (!copy(stack->context, &kept.context) ||
	    !copy(stack->exception_type, &kept.exception_type) ||
	    !copy(stack->exception_message, &kept.exception_message))
		goto nomem_kept;
	err = ch_runtime_stack_vector_append(&stacks->stacks, &kept);
	if (err)
		goto nomem_kept;
	return NULL;

nomem_kept:
	stack_deinit(&kept);
nomem:
	// The frames copied so far stay in the vector (freed with it), and
	// belong to no stack.
	return &ch_enomem;
}
