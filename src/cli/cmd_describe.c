// SPDX-License-Identifier: MIT
#include <stdint.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "report/describe.h"
#include "report/output.h"
#include "types/types.h"

static const char *const describe_usage[] = {
	"coreheap describe [OPTIONS] ADDR CORE",
	"",
	"What lives at an address: the live allocation holding it and the offset",
	"inside it, its type and how the type was known, and its fields decoded",
	"from DWARF where the type is known (pointers annotated with what they",
	"point to), else a hex and text dump. An address inside a module is",
	"named module!symbol+offset (and a global variable there is decoded).",
	NULL,
};

#define DESCRIBE_FORMATS (CH_FORMAT_TEXT | CH_FORMAT_JSON)
#define DEFAULT_DUMP_BYTES 256
// The JSON string of a dump is built whole: keep it reasonable.
#define MAX_JSON_DUMP (1u << 20)

struct describe_options {
	uint64_t bytes;
};

static struct ch_error *parse_bytes(const char *value, void *ctx)
{
	return ch_parse_u64("bytes", value,
			    &((struct describe_options *)ctx)->bytes);
}

static const struct ch_option describe_options[] = {
	{ { "bytes", required_argument, NULL, 0 }, parse_bytes, "N",
	  "bytes to dump at most when the type is unknown\n(default 256)" },
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

int cmd_describe(int argc, char **argv)
{
	struct describe_options describe_opts = { .bytes = DEFAULT_DUMP_BYTES };
	struct ch_command_options options;
	struct ch_program *program = NULL;
	struct ch_types *types = NULL;
	struct ch_description desc;
	static struct ch_out out;
	uint64_t addr;
	struct ch_error *err;

	err = ch_options_parse(argc, argv, describe_usage, DESCRIBE_FORMATS,
			       describe_options, &describe_opts, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	err = ch_command_open_at_address(&options, "describe", &addr, &program);
	if (!err)
		err = ch_types_create(program, &types);
	if (!err)
		err = ch_description_init(&desc, program, types, addr,
			&(struct ch_describe_options){
				.max_bytes = describe_opts.bytes,
				.max_read = options.format == CH_FORMAT_JSON ?
						    MAX_JSON_DUMP : UINT64_MAX,
			});
	if (err) {
		ch_types_destroy(types);
		return ch_command_finish(program, err);
	}
	ch_out_init(&out, stdout);
	if (options.format == CH_FORMAT_JSON)
		ch_description_write_json(&out, &desc);
	else
		ch_description_write_text(&out, &desc);
	err = ch_out_finish(&out);
	ch_description_deinit(&desc);
	ch_types_destroy(types);
	return ch_command_finish(program, err);
}
