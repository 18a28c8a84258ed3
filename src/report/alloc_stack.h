/* SPDX-License-Identifier: MIT */
/**
 * @file
 * An allocation's stack, as its allocator recorded it (heap/alloc_stacks.h),
 * named for a person: each frame as every report names code,
 * module!function+0xoffset of the call (the return address less one), as
 * triage names a thread's frames. describe, why and leaks show it.
 */
#ifndef COREHEAP_ALLOC_STACK_H
#define COREHEAP_ALLOC_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap/program.h"
#include "report/output.h"

struct ch_named_stack {
	/** The return addresses, innermost first; the heap's. */
	const uint64_t *pcs;
	/** Their names. Owned. */
	char **names;
	size_t num_frames;
};

/**
 * Name the frames of stack (an index of program->heap.alloc_stacks). On
 * success the caller frees stack with ch_named_stack_deinit(); on error
 * (out of memory) nothing is left to free.
 */
struct ch_error *ch_named_stack_init(struct ch_named_stack *named,
				     const struct ch_program *program,
				     uint32_t stack);

/**
 * The same for the stack of the live block at address, if its allocator
 * recorded one: else *found_ret is false and named is empty (and needs no
 * deinit, though it is safe).
 */
struct ch_error *ch_named_stack_of_block(struct ch_named_stack *named,
					 const struct ch_program *program,
					 uint64_t address, bool *found_ret);

void ch_named_stack_deinit(struct ch_named_stack *named);

/**
 * The frames as text, one a line after indent: "#0  0x00007f... name";
 * at most max_frames of them, then how many more there are.
 */
void ch_named_stack_write_text(struct ch_out *out,
			       const struct ch_named_stack *named,
			       const char *indent, size_t max_frames);

/** The frames' names as a JSON array, a value of json's document. */
void ch_named_stack_write_json(struct ch_json *json,
			       const struct ch_named_stack *named);

#endif /* COREHEAP_ALLOC_STACK_H */
