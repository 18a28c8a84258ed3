// SPDX-License-Identifier: MIT
/*
 * coreheap diff OLD NEW: what changed on the heap between two cores of the
 * same program. Per type (unknown types by usable size) the count and bytes
 * in each core, largest growth in bytes first; with --retained, the growth
 * in retained bytes too, so that the owner of the growth stands out.
 *
 * Native heaps do not move objects, but they reuse addresses: an
 * allocation counts as kept only if the same address holds the same type
 * and usable size in both cores.
 */
#include <stdio.h>
#include <string.h>

#include "base/thread_pair.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "report/diff.h"
#include "types/types.h"

static const char *const diff_usage[] = {
	"coreheap diff [OPTIONS] OLD NEW",
	"",
	"Per type, the live count and bytes in two cores of the same program and the",
	"change, largest growth in bytes first. Unknown types are grouped by usable",
	"size. The cores' build-ids are compared: a mismatch is a warning.",
	NULL,
};

static struct ch_error *parse_strict(const char *value, void *ctx)
{
	((struct ch_diff_options *)ctx)->strict = true;
	return NULL;
}

static struct ch_error *parse_retained(const char *value, void *ctx)
{
	((struct ch_diff_options *)ctx)->retained = true;
	return NULL;
}

static struct ch_error *parse_show(const char *value, void *ctx)
{
	struct ch_diff_options *options = ctx;

	if (strcmp(value, "new") == 0)
		options->show = CH_DIFF_SHOW_NEW;
	else if (strcmp(value, "gone") == 0)
		options->show = CH_DIFF_SHOW_GONE;
	else
		return ch_error_create(CH_ERROR_USAGE,
				       "--show takes new or gone, not '%s'", value);
	return NULL;
}

static struct ch_error *parse_top(const char *value, void *ctx)
{
	return ch_parse_u64("top", value, &((struct ch_diff_options *)ctx)->top);
}

static struct ch_error *parse_type(const char *value, void *ctx)
{
	((struct ch_diff_options *)ctx)->type = value;
	return NULL;
}

static struct ch_error *parse_limit(const char *value, void *ctx)
{
	return ch_parse_u64("limit", value,
			    &((struct ch_diff_options *)ctx)->max_listed);
}

static const struct ch_option diff_options_table[] = {
	{ { "strict", no_argument, NULL, 0 }, parse_strict, NULL,
	  "a build-id mismatch is an error" },
	{ { "show", required_argument, NULL, 0 }, parse_show, "new|gone",
	  "also list the allocations new in NEW, or gone from OLD\n(csv: only them, one row each)" },
	{ { "retained", no_argument, NULL, 0 }, parse_retained, NULL,
	  "also the growth in retained bytes (dominator tree)" },
	{ { "top", required_argument, NULL, 0 }, parse_top, "N",
	  "only the N types that grew most" },
	{ { "type", required_argument, NULL, 0 }, parse_type, "REGEX",
	  "only types whose name matches (PCRE2), in the table\nand in the --show list" },
	{ { "limit", required_argument, NULL, 0 }, parse_limit, "N",
	  "list at most N allocations with --show (default all)" },
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

/*
 * Walk and type a core opened (*program): a walk that fails leaves no
 * program, as ch_command_open() does; a typing that fails leaves it, with
 * the warnings of its walk.
 */
static struct ch_error *load_program(const struct ch_command_options *options,
				     struct ch_program **program)
{
	struct ch_error *err;

	err = ch_program_load_heap(*program, &options->program);
	if (err) {
		ch_program_destroy(*program);
		*program = NULL;
		return err;
	}
	return ch_program_load_types(*program);
}

// One core to walk and type on a thread, and how that went.
struct side_load {
	const struct ch_command_options *options;
	struct ch_program *program;
	struct ch_error *err;
};

static void *load_side(void *arg)
{
	struct side_load *side = arg;

	side->err = load_program(side->options, &side->program);
	return NULL;
}

/*
 * Both cores are opened first, in turn (a core that cannot be opened is
 * said at once); then their heaps are walked and typed at once, the new
 * one on a thread of its own, whose stages the progress shows: the later
 * core of a process that grew is the larger, the one to wait for. With
 * --verbose each is opened, walked and typed in turn, so that what is
 * said of each stays together. The old core's error, if any, is the one,
 * and the new core is then as if not read.
 */
static struct ch_error *open_both(const struct ch_command_options *options,
				  struct ch_program *programs[2])
{
	struct side_load sides[2];
	struct ch_error *err;

	for (int side = 0; side < 2; side++) {
		err = ch_program_open(options->args[side], &options->program,
				      &programs[side]);
		if (!err && options->program.verbose)
			err = load_program(options, &programs[side]);
		if (err)
			return err;
	}
	if (options->program.verbose)
		return NULL;
	for (int side = 0; side < 2; side++)
		sides[side] = (struct side_load){ options, programs[side], NULL };
	ch_run_pair_showing_second(load_side, &sides[0], &sides[1]);
	programs[0] = sides[0].program;
	programs[1] = sides[1].program;
	if (sides[0].err) {
		ch_error_destroy(sides[1].err);
		ch_program_destroy(programs[1]);
		programs[1] = NULL;
		return sides[0].err;
	}
	return sides[1].err;
}

static int finish(struct ch_program *programs[2], struct ch_error *err)
{
	int status = ch_command_finish(programs[0], NULL);
	int status_new = ch_command_finish(programs[1], err);

	return status_new > status ? status_new : status;
}

int cmd_diff(int argc, char **argv)
{
	struct ch_diff_options diff_options = { 0 };
	struct ch_command_options options;
	struct ch_program *programs[2] = { NULL, NULL };
	struct ch_error *err;

	err = ch_options_parse(argc, argv, diff_usage,
			       CH_FORMAT_TEXT | CH_FORMAT_JSON | CH_FORMAT_CSV,
			       diff_options_table, &diff_options, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	err = open_both(&options, programs);
	if (!err)
		err = ch_diff_report_write(programs, &diff_options,
					   options.format, stdout);
	return finish(programs, err);
}
