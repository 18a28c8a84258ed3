// SPDX-License-Identifier: MIT
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "report/summary_report.h"

static const char *const summary_usage[] = {
	"coreheap summary [OPTIONS] CORE",
	"",
	"The process and its command line, the signal that stopped it, its",
	"threads and modules (and which lack a binary or debug info), the",
	"allocators found, and per arena the live and free bytes, the top chunk and",
	"the memory the allocator owns that none of its blocks explains, and the",
	"allocator's own table per arena (jemalloc: extents, pages and size classes;",
	"glibc: what mallinfo2() would have said), and where all the mapped memory",
	"is, by kind (heaps, stacks, modules, files, shared, anonymous), adding up",
	"to the mapped total, with what the core left out.",
	NULL,
};

int cmd_summary(int argc, char **argv)
{
	struct ch_command_options options;
	struct ch_program *program = NULL;
	struct ch_error *err;

	err = ch_options_parse(argc, argv, summary_usage,
			       CH_FORMAT_TEXT | CH_FORMAT_JSON, NULL, NULL,
			       &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	// The map of memory needs no types, so no DWARF.
	options.program.read_dwarf = false;
	err = ch_command_open(&options, options.args[0], &program);
	if (!err)
		err = ch_summary_report_write(program, options.format, stdout);
	return ch_command_finish(program, err);
}
