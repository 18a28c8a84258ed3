// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analysis_options.h"
#include "cli/commands.h"
#include "report/page.h"
#include "report/page_model.h"

static const char *const report_usage[] = {
	"coreheap report [OPTIONS] CORE",
	"       coreheap report [OPTIONS] OLD NEW",
	"",
	"One self-contained HTML page (no network; opens from file://) of what the",
	"other commands report: the summary and address-space map, a treemap of",
	"retained memory (the dominator tree), the types table with each type's",
	"largest instances, each with its path from a root (why) and its fields",
	"(describe), the leaks by type and the heap damage. With two cores of one",
	"program, also the change per type from OLD to NEW, each type with its new",
	"allocations and their paths. The numbers are the JSON output of types,",
	"top, leaks, summary and diff, embedded in the page.",
	NULL,
};

// The same, as the parser reads its synopsis: for two cores.
static const char *const report_usage_two[] = {
	"coreheap report [OPTIONS] OLD NEW",
	NULL,
};

struct report_options {
	struct ch_page_options page;   // first: see analysis.h
	const char *output;
};

static struct ch_error *parse_output(const char *value, void *ctx)
{
	((struct report_options *)ctx)->output = value;
	return NULL;
}

static struct ch_error *parse_limit(const char *value, void *ctx)
{
	return ch_parse_u64("limit", value,
			    &((struct report_options *)ctx)->page.limit);
}

static struct ch_error *parse_tree_nodes(const char *value, void *ctx)
{
	return ch_parse_u64("tree-nodes", value,
			    &((struct report_options *)ctx)->page.tree_nodes);
}

static const struct ch_option report_options_table[] = {
	{ { "output", required_argument, NULL, 0 }, parse_output, "FILE",
	  "write the page to FILE (-o FILE; default report.html;\n"
	  "-: standard output)" },
	{ { "limit", required_argument, NULL, 0 }, parse_limit, "N",
	  "rows per view: allocations of top and leaks, types\n"
	  "listing instances and instances per type (default\n"
	  "20; 0: all); totals always count everything" },
	{ { "tree-nodes", required_argument, NULL, 0 }, parse_tree_nodes, "N",
	  "the treemap's allocations: the dominator tree's N\n"
	  "largest (default 2000; 0: all); what the others\n"
	  "retain is shown by type" },
	CH_ANALYSIS_OPTIONS,
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

/*
 * The model goes to memory first: the page holds it escaped, and a failed
 * analysis leaves no half-written file behind.
 */
static struct ch_error *write_report(struct ch_program *programs[2],
				     const struct report_options *report)
{
	char *json = NULL;
	size_t len = 0;
	FILE *model = open_memstream(&json, &len);
	FILE *page;
	struct ch_error *err;

	if (!model)
		return &ch_enomem;
	if (programs[1])
		err = ch_page_model_write_diff(programs, &report->page, model);
	else
		err = ch_page_model_write(programs[0], &report->page, model);
	if (fclose(model) != 0 && !err)
		err = &ch_enomem;
	if (err) {
		free(json);
		return err;
	}
	if (strcmp(report->output, "-") == 0) {
		err = ch_page_write(stdout, json, len);
	} else {
		page = fopen(report->output, "w");
		if (!page) {
			err = ch_error_create(CH_ERROR_OUTPUT, "cannot write %s: %s",
					      report->output, strerror(errno));
		} else {
			err = ch_page_write(page, json, len);
			if (fclose(page) != 0 && !err)
				err = ch_error_create(CH_ERROR_OUTPUT, "cannot write %s: %s",
						      report->output,
						      strerror(errno));
		}
		if (!err)
			fprintf(stderr, "coreheap: wrote %s\n", report->output);
	}
	free(json);
	return err;
}

int cmd_report(int argc, char **argv)
{
	struct report_options report = {
		.page.limit = 20,
		.page.tree_nodes = CH_PAGE_TREE_NODES,
		.output = "report.html",
	};
	struct ch_command_options options;
	struct ch_program *programs[2] = { NULL, NULL };
	struct ch_error *err;
	int status, status_new;

	// -o is --output: the shared parser takes long options only.
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-o") == 0)
			argv[i] = "--output";
	}
	// One core or two: the parser takes a synopsis's operands exactly, so
	// one is tried, then two; when neither fits, one's error is said.
	err = ch_options_parse(argc, argv, report_usage, CH_FORMAT_TEXT,
			       report_options_table, &report, &options);
	if (err) {
		struct ch_error *two_err = ch_options_parse(argc, argv,
			report_usage_two, CH_FORMAT_TEXT, report_options_table,
			&report, &options);

		if (two_err) {
			ch_error_destroy(two_err);
		} else {
			ch_error_destroy(err);
			err = NULL;
		}
	}
	if (err || options.help)
		return ch_command_finish(NULL, err);
	// With two cores, the new core is typed in its analysis, beside the
	// graph's scan (page_model.c).
	if (options.num_args == 2)
		err = ch_command_open_two(&options, false, programs);
	else
		err = ch_command_open(&options, options.args[0], &programs[0]);
	if (!err)
		err = write_report(programs, &report);
	if (!programs[1])
		return ch_command_finish(programs[0], err);
	status = ch_command_finish(programs[0], NULL);
	status_new = ch_command_finish(programs[1], err);
	return status_new > status ? status_new : status;
}
