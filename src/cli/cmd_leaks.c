// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "cli/analysis_options.h"
#include "cli/commands.h"
#include "report/leaks.h"

static const char *const leaks_usage[] = {
	"coreheap leaks [OPTIONS] CORE",
	"",
	"The live allocations that no root reaches (leaked cycles included),",
	"grouped by type (text) or one by one. Each is \"unreferenced\" when no",
	"allocation points to it (the leaks to look at first: what was dropped),",
	"or \"indirect\" when only other leaked allocations do.",
	NULL,
};

#define LEAKS_FORMATS \
	(CH_FORMAT_TEXT | CH_FORMAT_JSON | CH_FORMAT_JSONL | CH_FORMAT_CSV)

static struct ch_error *parse_by_stack(const char *value, void *ctx)
{
	((struct ch_leaks_options *)ctx)->by_stack = true;
	return NULL;
}

static const struct ch_option leaks_options_table[] = {
	{ { "by-stack", no_argument, NULL, 0 }, parse_by_stack, NULL,
	  "group by the stack that allocated them, where the\n"
	  "allocator recorded it (jemalloc's heap profiling),\n"
	  "instead of by type (text and json)" },
	CH_ANALYSIS_OPTIONS,
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

int cmd_leaks(int argc, char **argv)
{
	struct ch_command_options options;
	struct ch_leaks_options leaks = { 0 };
	struct ch_program *program = NULL;
	struct ch_error *err;

	err = ch_options_parse(argc, argv, leaks_usage, LEAKS_FORMATS,
			       leaks_options_table, &leaks, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	err = ch_command_open(&options, options.args[0], &program);
	if (!err)
		err = ch_leaks_report_write(program, &leaks, options.format, stdout);
	return ch_command_finish(program, err);
}
