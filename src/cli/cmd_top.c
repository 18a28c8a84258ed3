// SPDX-License-Identifier: MIT
#include <stdio.h>

#include "cli/analysis_options.h"
#include "cli/commands.h"
#include "report/top.h"

static const char *const top_usage[] = {
	"coreheap top [OPTIONS] CORE",
	"",
	"Retained sizes, largest first: for each allocation, the bytes that would",
	"be freed with it (it and everything reached only through it, from the",
	"dominator tree of the heap graph), and per type, the retained size of",
	"the type's outermost allocations (those no other allocation of the type",
	"dominates, so that nothing counts twice). Each allocation is shown with",
	"the root that holds it: the nearest variable a person knows by name (a",
	"global, a TLS variable, a frame's local), else the nearest root of all.",
	"jsonl and csv list the allocations only.",
	NULL,
};

#define TOP_FORMATS \
	(CH_FORMAT_TEXT | CH_FORMAT_JSON | CH_FORMAT_JSONL | CH_FORMAT_CSV)

static struct ch_error *parse_top(const char *value, void *ctx)
{
	return ch_parse_u64("top", value, &((struct ch_top_options *)ctx)->rows);
}

static const struct ch_option top_options_table[] = {
	{ { "top", required_argument, NULL, 0 }, parse_top, "N",
	  "rows per table (default 20; 0: all)" },
	CH_ANALYSIS_OPTIONS,
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

int cmd_top(int argc, char **argv)
{
	struct ch_command_options options;
	struct ch_top_options top = { .rows = 20 };
	struct ch_program *program = NULL;
	struct ch_error *err;

	err = ch_options_parse(argc, argv, top_usage, TOP_FORMATS,
			       top_options_table, &top, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	err = ch_command_open(&options, options.args[0], &program);
	if (!err)
		err = ch_top_report_write(program, &top, options.format, stdout);
	return ch_command_finish(program, err);
}
