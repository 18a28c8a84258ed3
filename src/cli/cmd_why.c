// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/cleanup.h"
#include "cli/analysis_options.h"
#include "cli/commands.h"
#include "report/analysis.h"
#include "report/output.h"
#include "report/why.h"
#include "types/types.h"

static const char *const why_usage[] = {
	"coreheap why [OPTIONS] ADDR CORE",
	"",
	"Why the allocation holding ADDR (0x-prefixed hex or decimal) is alive:",
	"a chain of pointers from a root (a global, a thread's TLS, stack or",
	"registers) to it, each allocation on the way with the offset of the",
	"pointer in it that leads on, and the member that holds it where DWARF",
	"knows the allocation's type. The last offset is ADDR's own. The first",
	"path starts at a variable a person knows by name (a global or static, a",
	"TLS variable, a local or parameter of a frame) if one reaches it, before",
	"unnamed stack slots and registers; among those, the shortest.",
	NULL,
};

struct why_options {
	struct ch_analysis_options analysis;   // first: see analysis.h
	uint64_t max_paths;
};

static struct ch_error *parse_paths(const char *value, void *ctx)
{
	struct why_options *options = ctx;
	struct ch_error *err = ch_parse_u64("paths", value, &options->max_paths);

	if (!err && options->max_paths == 0)
		err = ch_error_create(CH_ERROR_USAGE,
				      "--paths takes a number above 0");
	return err;
}

static const struct ch_option why_options_table[] = {
	{ { "paths", required_argument, NULL, 0 }, parse_paths, "N",
	  "up to N paths, each through a different referrer of\n"
	  "the allocation, named first, then shortest (default 1)" },
	CH_ANALYSIS_OPTIONS,
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

static struct ch_error *run_why(struct ch_program *program,
				const struct why_options *options,
				uint64_t addr, enum ch_format format)
{
	struct ch_analysis analysis;
	struct ch_types *types = NULL;
	_cleanup_free_ bool *named = NULL;
	static struct ch_out out;
	uint32_t target;
	struct ch_error *err;

	// Check the address before the scan: a wrong one is a quick error.
	err = ch_analysis_find_block(program, addr, &target);
	if (err)
		return err;
	// The types stay for the members of each step (the analysis then
	// finds the heap typed).
	err = ch_types_create(program, &types);
	if (err)
		return err;
	err = ch_analysis_init(&analysis, program, &options->analysis);
	if (err) {
		ch_types_destroy(types);
		return err;
	}
	err = ch_analysis_named_refs(&analysis, &named);
	if (!err) {
		ch_out_init(&out, stdout);
		err = ch_why_write(&analysis, types, named, addr, target,
				   options->max_paths, format, &out);
		struct ch_error *out_err = ch_out_finish(&out);

		if (!err)
			err = out_err;
		else
			ch_error_destroy(out_err);
	}
	ch_types_destroy(types);
	ch_analysis_deinit(&analysis);
	return err;
}

int cmd_why(int argc, char **argv)
{
	struct ch_command_options options;
	struct why_options why = { .max_paths = 1 };
	struct ch_program *program = NULL;
	struct ch_error *err;
	uint64_t addr;

	err = ch_options_parse(argc, argv, why_usage,
			       CH_FORMAT_TEXT | CH_FORMAT_JSON, why_options_table,
			       &why, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	err = ch_command_open_at_address(&options, "why", &addr, &program);
	if (!err)
		err = run_why(program, &why, addr, options.format);
	return ch_command_finish(program, err);
}
