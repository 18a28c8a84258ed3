// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/pattern.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "report/types_table.h"

static const char *const types_usage[] = {
	"coreheap types [OPTIONS] CORE",
	"",
	"The live heap by type: per type the number of allocations, their usable",
	"bytes, their share of all live bytes and their average size, largest",
	"first. A type comes from a C++ vtable, from DWARF (typed pointers from",
	"globals and, transitively, from typed allocations) or from a guess",
	"(text); allocations of unknown type are grouped by usable size.",
	NULL,
};

#define TYPES_FORMATS (CH_FORMAT_TEXT | CH_FORMAT_JSON | CH_FORMAT_CSV)

static struct ch_error *parse_sort(const char *value, void *ctx)
{
	struct ch_types_options *options = ctx;

	if (strcmp(value, "bytes") == 0)
		options->sort = CH_TYPES_SORT_BYTES;
	else if (strcmp(value, "count") == 0)
		options->sort = CH_TYPES_SORT_COUNT;
	else
		return ch_error_create(CH_ERROR_USAGE,
				       "--sort takes bytes or count, not '%s'",
				       value);
	return NULL;
}

static struct ch_error *parse_top(const char *value, void *ctx)
{
	return ch_parse_u64("top", value, &((struct ch_types_options *)ctx)->top);
}

static struct ch_error *parse_match(const char *value, void *ctx)
{
	((struct ch_types_options *)ctx)->match = value;
	return NULL;
}

static const struct ch_option types_options[] = {
	{ { "sort", required_argument, NULL, 0 }, parse_sort, "bytes|count",
	  "order of the rows (default bytes)" },
	{ { "top", required_argument, NULL, 0 }, parse_top, "N",
	  "only the first N rows" },
	{ { "match", required_argument, NULL, 0 }, parse_match, "REGEX",
	  "only types whose name matches (PCRE2)" },
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

int cmd_types(int argc, char **argv)
{
	struct ch_types_options types_opts = { .sort = CH_TYPES_SORT_BYTES };
	struct ch_command_options options;
	struct ch_program *program = NULL;
	struct ch_pattern check;
	struct ch_error *err;

	err = ch_options_parse(argc, argv, types_usage, TYPES_FORMATS,
			       types_options, &types_opts, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	// A bad pattern is a usage error before the core is read.
	if (types_opts.match) {
		err = ch_pattern_init(&check, "match", types_opts.match);
		if (err)
			return ch_command_finish(NULL, err);
		ch_pattern_deinit(&check);
	}
	err = ch_command_open(&options, options.args[0], &program);
	if (!err)
		err = ch_types_report_write(program, &types_opts, options.format,
					    stdout);
	return ch_command_finish(program, err);
}
