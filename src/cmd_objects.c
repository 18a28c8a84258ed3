// SPDX-License-Identifier: MIT
#include <stdio.h>

#include "commands.h"
#include "options.h"
#include "output.h"

static const char *const objects_usage[] = {
	"coreheap objects [OPTIONS] CORE",
	"",
	"Every live allocation: the address the allocator returned, its usable",
	"size and its allocator, in address order.",
	NULL,
};

#define OBJECTS_FORMATS \
	(CH_FORMAT_TEXT | CH_FORMAT_JSON | CH_FORMAT_JSONL | CH_FORMAT_CSV)

static const char *allocator_name(const struct ch_program *program,
				  const struct ch_block *block)
{
	return program->allocators.uses[block->allocator].ops->name;
}

// The fixed part of every JSON object; "type" is filled by the types work.
static void write_json_object(struct ch_out *out,
			      const struct ch_program *program,
			      const struct ch_block *block)
{
	ch_out_str(out, "{\"address\": \"");
	ch_out_hex(out, block->address);
	ch_out_str(out, "\", \"size\": ");
	ch_out_u64(out, block->size);
	ch_out_str(out, ", \"allocator\": ");
	ch_out_json_string(out, allocator_name(program, block));
	ch_out_str(out, ", \"type\": null}");
}

static void write_objects(struct ch_out *out, const struct ch_program *program,
			  enum ch_format format)
{
	const struct ch_block_array *live = &program->heap.live;

	if (format == CH_FORMAT_CSV)
		ch_out_str(out, "address,size,allocator,type\n");
	else if (format == CH_FORMAT_JSON)
		ch_out_str(out, "{\"objects\": [");
	else if (format == CH_FORMAT_TEXT)
		ch_out_str(out, "address             size        allocator  type\n");
	for (size_t i = 0; i < live->len; i++) {
		const struct ch_block *block = &live->blocks[i];

		switch (format) {
		case CH_FORMAT_JSONL:
			write_json_object(out, program, block);
			ch_out_char(out, '\n');
			break;
		case CH_FORMAT_JSON:
			ch_out_str(out, i ? ",\n  " : "\n  ");
			write_json_object(out, program, block);
			break;
		case CH_FORMAT_CSV:
			ch_out_hex(out, block->address);
			ch_out_char(out, ',');
			ch_out_u64(out, block->size);
			ch_out_char(out, ',');
			ch_out_csv_field(out, allocator_name(program, block));
			ch_out_str(out, ",\n");
			break;
		default:
			ch_out_printf(out, "0x%016llx  %-10llu  %-9s  -\n",
				      (unsigned long long)block->address,
				      (unsigned long long)block->size,
				      allocator_name(program, block));
			break;
		}
	}
	if (format == CH_FORMAT_JSON)
		ch_out_str(out, live->len ? "\n]}\n" : "]}\n");
}

int cmd_objects(int argc, char **argv)
{
	struct ch_command_options options;
	struct ch_program *program = NULL;
	struct ch_error *err;
	static struct ch_out out;

	err = ch_options_parse(argc, argv, objects_usage, OBJECTS_FORMATS, NULL,
			       NULL, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	if (options.num_args != 1)
		return ch_command_finish(NULL, ch_error_create(CH_ERROR_USAGE,
			"objects takes one core (see 'coreheap objects --help')"));
	err = ch_command_open(&options, options.args[0], &program);
	if (!err) {
		ch_out_init(&out, stdout);
		write_objects(&out, program, options.format);
		err = ch_out_finish(&out);
	}
	return ch_command_finish(program, err);
}
