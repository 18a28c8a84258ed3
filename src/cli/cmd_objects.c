// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>

#include "base/pattern.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "report/output.h"
#include "report/rows.h"
#include "types/types.h"

static const char *const objects_usage[] = {
	"coreheap objects [OPTIONS] CORE",
	"",
	"Every live allocation: the address the allocator returned, its usable",
	"size, its allocator and its type (null when unknown; see 'coreheap",
	"types'), in address order.",
	NULL,
};

#define OBJECTS_FORMATS \
	(CH_FORMAT_TEXT | CH_FORMAT_JSON | CH_FORMAT_JSONL | CH_FORMAT_CSV)

struct objects_options {
	const char *type;
};

static struct ch_error *parse_type(const char *value, void *ctx)
{
	((struct objects_options *)ctx)->type = value;
	return NULL;
}

static const struct ch_option objects_options[] = {
	{ { "type", required_argument, NULL, 0 }, parse_type, "REGEX",
	  "only allocations whose type matches (PCRE2)" },
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

static const char *allocator_name(const struct ch_program *program,
				  const struct ch_block *block)
{
	return program->allocators.uses[block->allocator].ops->name;
}

/* What `--type` keeps: one flag per type name and per runtime type name. */
struct type_selection {
	bool *by_type;
	bool *by_runtime_type;
};

static const char *runtime_type_name(const struct ch_heap *heap,
				     uint16_t runtime_type)
{
	return runtime_type && runtime_type < heap->num_runtime_type_names ?
		       heap->runtime_type_names[runtime_type] :
		       NULL;
}

/*
 * Live blocks and the runtime objects nested in them, merged in address
 * order (an object after the block that holds it). With a selection,
 * only allocations of a selected type are written.
 */
static void write_objects(struct ch_out *out, const struct ch_program *program,
			  enum ch_format format,
			  const struct type_selection *selection)
{
	const struct ch_heap *heap = &program->heap;
	const struct ch_block_array *live = &heap->live, *nested = &heap->nested;
	struct ch_row_writer writer;
	size_t i = 0, j = 0;

	ch_row_writer_begin(&writer, out, format, NULL, 0);
	if (format == CH_FORMAT_JSON)
		ch_out_str(out, "{\"objects\": [");
	while (i < live->len || j < nested->len) {
		const struct ch_block *block;
		struct ch_allocation_row row = { 0 };
		bool keep;

		if (j >= nested->len ||
		    (i < live->len &&
		     live->blocks[i].address <= nested->blocks[j].address)) {
			block = &live->blocks[i];
			row.type = ch_heap_block_type(heap, i, NULL);
			keep = !selection ||
			       (row.type && selection->by_type[heap->block_types[i]]);
			i++;
		} else {
			const struct ch_block *holder;
			uint16_t runtime_type =
				ch_block_array_runtime_type(nested, j);

			block = &nested->blocks[j++];
			row.type = runtime_type_name(heap, runtime_type);
			holder = ch_heap_find(heap, block->address);
			row.parent = holder ? holder->address : 0;
			keep = !selection ||
			       (row.type &&
				selection->by_runtime_type[runtime_type]);
		}
		if (!keep)
			continue;
		row.address = ch_block_identity(block);
		row.size = ch_block_size(block);
		row.allocator = allocator_name(program, block);
		ch_row_writer_write(&writer, &row);
	}
	if (format == CH_FORMAT_JSON)
		ch_out_str(out, writer.written ? "\n]}\n" : "]}\n");
}

static bool *match_names(const struct ch_pattern *pattern, char *const *names,
			 size_t count)
{
	bool *selected = calloc(count + 1, sizeof(*selected));

	for (size_t i = 1; selected && i < count; i++)
		selected[i] = names[i] && ch_pattern_match(pattern, names[i]);
	return selected;
}

// One flag per type name and per runtime type name: does it match?
static struct ch_error *select_types(const struct ch_heap *heap,
				     const char *regex,
				     struct type_selection *ret)
{
	struct ch_pattern pattern;
	struct ch_error *err = ch_pattern_init(&pattern, "type", regex);

	if (err)
		return err;
	ret->by_type = match_names(&pattern, heap->type_names,
				   heap->num_type_names);
	ret->by_runtime_type = match_names(&pattern, heap->runtime_type_names,
					   heap->num_runtime_type_names);
	// A pattern that matches "T[]" selects every array of T, counted
	// ("T[4]") or not.
	for (size_t i = 1; ret->by_type && heap->type_groups &&
			   i < heap->num_type_names; i++)
		ret->by_type[i] |= ret->by_type[heap->type_groups[i]];
	ch_pattern_deinit(&pattern);
	return ret->by_type && ret->by_runtime_type ? NULL : &ch_enomem;
}

int cmd_objects(int argc, char **argv)
{
	struct objects_options objects_opts = { 0 };
	struct ch_command_options options;
	struct ch_program *program = NULL;
	struct ch_pattern check;
	struct type_selection selection = { 0 };
	struct ch_error *err;
	static struct ch_out out;

	err = ch_options_parse(argc, argv, objects_usage, OBJECTS_FORMATS,
			       objects_options, &objects_opts, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	// A bad pattern is a usage error before the core is read.
	if (objects_opts.type) {
		err = ch_pattern_init(&check, "type", objects_opts.type);
		if (err)
			return ch_command_finish(NULL, err);
		ch_pattern_deinit(&check);
	}
	err = ch_command_open(&options, options.args[0], &program);
	if (!err)
		err = ch_program_load_types(program);
	if (!err && objects_opts.type)
		err = select_types(&program->heap, objects_opts.type, &selection);
	if (!err) {
		ch_out_init(&out, stdout);
		write_objects(&out, program, options.format,
			      objects_opts.type ? &selection : NULL);
		err = ch_out_finish(&out);
	}
	free(selection.by_type);
	free(selection.by_runtime_type);
	return ch_command_finish(program, err);
}
