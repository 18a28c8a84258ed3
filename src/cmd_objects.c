// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "options.h"
#include "output.h"
#include "pattern.h"
#include "types.h"

static const char *const objects_usage[] = {
	"coreheap objects [OPTIONS] CORE",
	"",
	"Every live allocation: the address the allocator returned, its usable",
	"size, its allocator and its type (null when unknown; see 'coreheap",
	"types'), in address order.",
	"",
	"  --type REGEX          only allocations whose type matches (PCRE2)",
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
	{ { "type", required_argument, NULL, 0 }, parse_type },
	{ { NULL, 0, NULL, 0 }, NULL },
};

static const char *allocator_name(const struct ch_program *program,
				  const struct ch_block *block)
{
	return program->allocators.uses[block->allocator].ops->name;
}

static void write_json_object(struct ch_out *out,
			      const struct ch_program *program,
			      const struct ch_block *block, const char *type)
{
	ch_out_str(out, "{\"address\": \"");
	ch_out_hex(out, block->address);
	ch_out_str(out, "\", \"size\": ");
	ch_out_u64(out, block->size);
	ch_out_str(out, ", \"allocator\": ");
	ch_out_json_string(out, allocator_name(program, block));
	ch_out_str(out, ", \"type\": ");
	if (type)
		ch_out_json_string(out, type);
	else
		ch_out_str(out, "null");
	ch_out_char(out, '}');
}

/*
 * selected (one flag per type name, NULL for all) says which types to
 * write; unknown allocations are written only when there is no filter.
 */
static void write_objects(struct ch_out *out, const struct ch_program *program,
			  enum ch_format format, const bool *selected)
{
	const struct ch_heap *heap = &program->heap;
	const struct ch_block_array *live = &heap->live;
	size_t written = 0;

	if (format == CH_FORMAT_CSV)
		ch_out_str(out, "address,size,allocator,type\n");
	else if (format == CH_FORMAT_JSON)
		ch_out_str(out, "{\"objects\": [");
	else if (format == CH_FORMAT_TEXT)
		ch_out_str(out, "address             size        allocator  type\n");
	for (size_t i = 0; i < live->len; i++) {
		const struct ch_block *block = &live->blocks[i];
		const char *type = ch_heap_block_type(heap, i, NULL);

		if (selected && !(type && selected[heap->block_types[i]]))
			continue;
		switch (format) {
		case CH_FORMAT_JSONL:
			write_json_object(out, program, block, type);
			ch_out_char(out, '\n');
			break;
		case CH_FORMAT_JSON:
			ch_out_str(out, written ? ",\n  " : "\n  ");
			write_json_object(out, program, block, type);
			break;
		case CH_FORMAT_CSV:
			ch_out_hex(out, block->address);
			ch_out_char(out, ',');
			ch_out_u64(out, block->size);
			ch_out_char(out, ',');
			ch_out_csv_field(out, allocator_name(program, block));
			ch_out_char(out, ',');
			if (type)
				ch_out_csv_field(out, type);
			ch_out_char(out, '\n');
			break;
		default:
			ch_out_printf(out, "0x%016llx  %-10llu  %-9s  %s\n",
				      (unsigned long long)block->address,
				      (unsigned long long)block->size,
				      allocator_name(program, block),
				      type ? type : "-");
			break;
		}
		written++;
	}
	if (format == CH_FORMAT_JSON)
		ch_out_str(out, written ? "\n]}\n" : "]}\n");
}

// One flag per type name: does it match the pattern?
static struct ch_error *select_types(const struct ch_heap *heap,
				     const char *regex, bool **ret)
{
	struct ch_pattern pattern;
	bool *selected;
	struct ch_error *err = ch_pattern_init(&pattern, "type", regex);

	if (err)
		return err;
	selected = calloc(heap->num_type_names + 1, sizeof(*selected));
	if (!selected) {
		ch_pattern_deinit(&pattern);
		return &ch_enomem;
	}
	for (size_t i = 1; i < heap->num_type_names; i++)
		selected[i] = ch_pattern_match(&pattern, heap->type_names[i]);
	ch_pattern_deinit(&pattern);
	*ret = selected;
	return NULL;
}

int cmd_objects(int argc, char **argv)
{
	struct objects_options objects_opts = { 0 };
	struct ch_command_options options;
	struct ch_program *program = NULL;
	struct ch_pattern check;
	bool *selected = NULL;
	struct ch_error *err;
	static struct ch_out out;

	err = ch_options_parse(argc, argv, objects_usage, OBJECTS_FORMATS,
			       objects_options, &objects_opts, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	if (options.num_args != 1)
		return ch_command_finish(NULL, ch_error_create(CH_ERROR_USAGE,
			"objects takes one core (see 'coreheap objects --help')"));
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
		err = select_types(&program->heap, objects_opts.type, &selected);
	if (!err) {
		ch_out_init(&out, stdout);
		write_objects(&out, program, options.format, selected);
		err = ch_out_finish(&out);
	}
	free(selected);
	return ch_command_finish(program, err);
}
