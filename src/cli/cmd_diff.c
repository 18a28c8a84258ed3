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
	err = ch_command_open_two(&options, true, programs);
	if (!err)
		err = ch_diff_report_write(programs, &diff_options,
					   options.format, stdout);
	return finish(programs, err);
}
