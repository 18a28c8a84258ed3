// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdlib.h>

#include "base/strbuf.h"
#include "report/alloc_stack.h"

struct ch_error *ch_named_stack_init(struct ch_named_stack *named,
				     const struct ch_program *program,
				     uint32_t stack)
{
	size_t num_pcs;
	const uint64_t *pcs = ch_alloc_stack_pcs(&program->heap.alloc_stacks,
						 stack, &num_pcs);

	*named = (struct ch_named_stack){ .pcs = pcs };
	named->names = calloc(num_pcs + 1, sizeof(*named->names));
	if (!named->names)
		return &ch_enomem;
	for (size_t i = 0; i < num_pcs; i++) {
		struct ch_strbuf name = { 0 };
		// A return address: the call is the byte before it.
		struct ch_error *err = ch_modules_name_address(
			program->modules, pcs[i] ? pcs[i] - 1 : 0,
			CH_NAME_MODULE | CH_NAME_OFFSET, &name);

		if (!err) {
			named->names[named->num_frames] = ch_strbuf_detach(&name);
			if (!named->names[named->num_frames])
				err = &ch_enomem;
		}
		if (err) {
			ch_strbuf_deinit(&name);
			ch_named_stack_deinit(named);
			return err;
		}
		named->num_frames++;
	}
	return NULL;
}

struct ch_error *ch_named_stack_of_block(struct ch_named_stack *named,
					 const struct ch_program *program,
					 uint64_t address, bool *found_ret)
{
	uint32_t stack;

	*named = (struct ch_named_stack){ 0 };
	*found_ret = ch_alloc_stacks_find(&program->heap.alloc_stacks, address,
					  &stack);
	return *found_ret ? ch_named_stack_init(named, program, stack) : NULL;
}

void ch_named_stack_deinit(struct ch_named_stack *named)
{
	for (size_t i = 0; i < named->num_frames; i++)
		free(named->names[i]);
	free(named->names);
	*named = (struct ch_named_stack){ 0 };
}

void ch_named_stack_write_text(struct ch_out *out,
			       const struct ch_named_stack *named,
			       const char *indent, size_t max_frames)
{
	size_t shown = named->num_frames < max_frames ? named->num_frames :
							max_frames;

	for (size_t i = 0; i < shown; i++)
		ch_out_printf(out, "%s#%-2zu 0x%016" PRIx64 " %s\n", indent, i,
			      named->pcs[i], named->names[i]);
	if (shown < named->num_frames)
		ch_out_printf(out, "%s(%zu more frame%s)\n", indent,
			      named->num_frames - shown,
			      named->num_frames - shown == 1 ? "" : "s");
}

void ch_named_stack_write_json(struct ch_json *json,
			       const struct ch_named_stack *named)
{
	ch_json_begin_array(json);
	for (size_t i = 0; i < named->num_frames; i++)
		ch_json_string(json, named->names[i]);
	ch_json_end_array(json);
}
