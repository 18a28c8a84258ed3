// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cleanup.h"
#include "base/keep_best.h"
#include "base/page_pool.h"
#include "base/thread_pair.h"
#include "graph/dominators.h"
#include "report/analysis.h"
#include "report/output.h"
#include "report/rows.h"
#include "report/top.h"

struct ch_top_report {
	struct ch_analysis *analysis;
	uint32_t *root_of;
	struct ch_dominators dominators;
	uint64_t *retained;
	uint64_t reachable_bytes, leaked_count, leaked_bytes;
	struct ch_type_groups groups;
	uint64_t *group_retained;
	/** The rows: allocations and groups, largest retained first. */
	uint32_t *nodes;
	size_t num_nodes;
	uint32_t *group_order;
	size_t num_group_rows;
	/** Names of the root references used, made once each. */
	char **root_names;
	/**
	 * The analysis is the report's own (ch_top_report_write()): its
	 * graph's edges can be given back once searched. Another caller's
	 * (the HTML report's) goes on to other reports.
	 */
	bool owns_analysis;
};

static bool is_reachable(uint32_t node, void *arg)
{
	return ((const struct ch_top_report *)arg)->root_of[node] != CH_GRAPH_NONE;
}

// Larger retained first, then lower address: a total order, so the output
// does not depend on the selection's internals.
static bool ranks_before(const void *arg, uint32_t a, uint32_t b)
{
	const struct ch_top_report *report = arg;

	if (report->retained[a] != report->retained[b])
		return report->retained[a] > report->retained[b];
	return a < b;
}

/*
 * The rows largest retained first: keep the best `rows` (O(V log rows)),
 * then sort them.
 */
static struct ch_error *select_nodes(struct ch_top_report *report, size_t rows)
{
	const struct ch_dominators *dominators = &report->dominators;
	size_t len = 0;

	if (rows == 0 || rows > dominators->num_reachable)
		rows = dominators->num_reachable;
	report->nodes = malloc((rows + 1) * sizeof(*report->nodes));
	if (!report->nodes)
		return &ch_enomem;
	for (size_t i = 0; i < dominators->num_reachable; i++)
		ch_keep_best(report->nodes, &len, rows, dominators->order[i],
			     ranks_before, report);
	report->num_nodes = len;
	ch_keep_best_sort(report->nodes, len, ranks_before, report);
	return NULL;
}

static int compare_groups(const void *a, const void *b, void *arg)
{
	const struct ch_top_report *report = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (report->group_retained[x] != report->group_retained[y])
		return report->group_retained[x] > report->group_retained[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static struct ch_error *order_groups(struct ch_top_report *report, size_t rows)
{
	size_t n = report->groups.num_groups;
	struct ch_error *err = ch_type_groups_order(&report->groups,
						    compare_groups, report,
						    &report->group_order);

	if (err)
		return err;
	report->num_group_rows = rows == 0 || rows > n ? n : rows;
	return NULL;
}

/*
 * What compute() does beside the dominator tree and after it: the search
 * from the roots, in the graph, and the type groups of what it reached
 * (beside the tree, or after it: dominators_and_search()); the retained
 * sizes, from the tree; then two jobs on two threads, the groups' retained
 * sizes beside the leaked count and the selection of the rows. Jobs run
 * at once never need each other.
 */
enum top_step {
	TOP_SEARCH_AND_GROUP,
	TOP_GROUP,
	TOP_RETAINED,
	TOP_GROUPS,
	TOP_ROWS,
};

struct top_job {
	struct ch_top_report *report;
	enum top_step step;
	const bool *named;
	size_t rows;
	struct ch_error *err;
};

// The type groups of the allocations the search reached.
static struct ch_error *group_types(struct ch_top_report *report)
{
	struct ch_error *err = ch_type_groups_init(&report->groups,
						   report->analysis->program,
						   is_reachable, report);

	if (err)
		return err;
	report->group_retained = calloc(report->groups.num_groups + 1,
					sizeof(*report->group_retained));
	return report->group_retained ? NULL : &ch_enomem;
}

// The search from the roots, and the type groups of what it reached.
static struct ch_error *search_and_group(struct ch_top_report *report,
					 const bool *named)
{
	struct ch_error *err = ch_graph_reach(report->analysis->graph, named,
					      &report->root_of);

	return err ? err : group_types(report);
}

static void *run_top_job(void *arg)
{
	struct top_job *job = arg;
	struct ch_top_report *report = job->report;
	const struct ch_graph *graph = report->analysis->graph;

	switch (job->step) {
	case TOP_SEARCH_AND_GROUP:
		job->err = search_and_group(report, job->named);
		break;
	case TOP_GROUP:
		job->err = group_types(report);
		break;
	case TOP_RETAINED:
		job->err = ch_dominators_retained(&report->dominators,
						  graph->blocks,
						  &report->retained,
						  &report->reachable_bytes);
		break;
	case TOP_GROUPS:
		job->err = ch_dominators_group_retained(&report->dominators,
							report->retained,
							report->groups.group_of,
							report->groups.num_groups,
							report->group_retained);
		break;
	case TOP_ROWS:
		for (uint32_t v = 0; v < graph->num_nodes; v++) {
			if (report->root_of[v] == CH_GRAPH_NONE) {
				report->leaked_count++;
				report->leaked_bytes +=
					ch_block_size(&graph->blocks[v]);
			}
		}
		job->err = select_nodes(report, job->rows);
		break;
	}
	return NULL;
}

// Run the pair of jobs; the first error, if any.
static struct ch_error *run_top_jobs(struct top_job jobs[2])
{
	ch_run_pair(run_top_job, &jobs[0], &jobs[1]);
	if (jobs[0].err) {
		ch_error_destroy(jobs[1].err);
		return jobs[0].err;
	}
	return jobs[1].err;
}

/*
 * The dominator tree, and the search from the roots beside its longest
 * pass, when the search's arrays (8 bytes an allocation) add little to the
 * peak. On a larger heap, where the peak costs more than the time (see
 * the README's Speed), the search comes alone, when the tree's own search
 * is over and holds the least (its numbers); then, when the analysis is
 * the report's own, the tree gives the graph's edges back as it reads them
 * for the last time, which nothing after needs: at 30 million the peak
 * fell from 1788 to 1472 MiB, for about the same time. The retained
 * sizes and the type groups are made after, beside each other.
 */
#define SEARCH_BESIDE_MAX_NODES ((size_t)1 << 22)

struct search_then {
	struct ch_top_report *report;
	const bool *named;
};

// Its array's pages faulted in beside the tree's search, which leaves the
// other core idle: a third of the search's time was those faults.
static struct ch_error *prepare_search(void *arg)
{
	const struct search_then *then = arg;

	return ch_graph_reach_prepare(then->report->analysis->graph,
				      &then->report->root_of);
}

static struct ch_error *search_after_numbering(void *arg, uint32_t *queue)
{
	const struct search_then *then = arg;

	return ch_graph_reach_queued(then->report->analysis->graph,
				     then->named, queue,
				     then->report->root_of);
}

static struct ch_error *dominators_then_search(struct ch_top_report *report,
					       const bool *named)
{
	struct ch_graph *graph = report->analysis->graph;
	struct search_then search = { report, named };
	struct ch_dominators_then then = { prepare_search,
					   search_after_numbering, &search };
	struct ch_error *err;

	// The search's queue is the tree's scratch.
	if (report->owns_analysis)
		return ch_graph_dominators_releasing_edges(graph, &then,
							   &report->dominators);
	err = ch_graph_dominators(graph, NULL, &report->dominators);
	return err ? err : ch_graph_reach(graph, named, &report->root_of);
}

static struct ch_error *dominators_and_search(struct ch_top_report *report,
					      const bool *named)
{
	struct ch_graph *graph = report->analysis->graph;
	struct top_job search = { .report = report,
				  .step = TOP_SEARCH_AND_GROUP,
				  .named = named };
	struct ch_error *err;

	if (graph->num_nodes > SEARCH_BESIDE_MAX_NODES) {
		err = dominators_then_search(report, named);
		if (err)
			return err;
		return run_top_jobs((struct top_job[2]){
			{ .report = report, .step = TOP_RETAINED },
			{ .report = report, .step = TOP_GROUP },
		});
	}
	err = ch_graph_dominators(graph,
				  &(struct ch_dominators_beside){
					  run_top_job, &search },
				  &report->dominators);
	if (err) {
		ch_error_destroy(search.err);
		return err;
	}
	if (search.err)
		return search.err;
	return ch_dominators_retained(&report->dominators, graph->blocks,
				      &report->retained,
				      &report->reachable_bytes);
}

static struct ch_error *compute(struct ch_top_report *report, size_t rows)
{
	const struct ch_graph *graph = report->analysis->graph;
	_cleanup_free_ bool *named = NULL;
	struct ch_error *err;

	// Each allocation is shown held by a named root where one reaches it.
	err = ch_analysis_named_refs(report->analysis, &named);
	if (!err)
		err = dominators_and_search(report, named);
	if (!err)
		err = run_top_jobs((struct top_job[2]){
			{ .report = report, .step = TOP_GROUPS },
			{ .report = report, .step = TOP_ROWS, .rows = rows },
		});
	if (err)
		return err;
	report->root_names = calloc(graph->num_root_refs + 1,
				    sizeof(*report->root_names));
	if (!report->root_names)
		return &ch_enomem;
	return order_groups(report, rows);
}

static void top_report_deinit(struct ch_top_report *report)
{
	const struct ch_graph *graph = report->analysis->graph;

	for (size_t r = 0; report->root_names && r < graph->num_root_refs; r++)
		free(report->root_names[r]);
	free(report->root_names);
	free(report->root_of);
	ch_dominators_deinit(&report->dominators);
	free(report->retained);
	ch_type_groups_deinit(&report->groups);
	free(report->group_retained);
	free(report->nodes);
	free(report->group_order);
}

// The name of the root that holds node (cached per root reference).
static struct ch_error *holder(struct ch_top_report *report, uint32_t node,
			       const char **kind_ret, const char **name_ret)
{
	uint32_t r = report->root_of[node];
	const struct ch_root_ref *ref = &report->analysis->graph->root_refs[r];
	struct ch_root_name name;
	struct ch_error *err;

	*kind_ret = ch_root_kind_names[report->analysis->roots->roots[ref->root].kind];
	if (!report->root_names[r]) {
		err = ch_analysis_name_root(report->analysis, ref, &name);
		if (err)
			return err;
		report->root_names[r] = name.name;
	}
	*name_ret = report->root_names[r];
	return NULL;
}

static struct ch_error *write_text(struct ch_out *out, struct ch_top_report *report)
{
	const struct ch_program *program = report->analysis->program;
	const struct ch_block *blocks = report->analysis->graph->blocks;
	char retained[32], size[32];
	struct ch_error *err;

	ch_out_printf(out, "reachable: %zu allocations, ",
		      report->dominators.num_reachable);
	ch_out_bytes(out, report->reachable_bytes);
	ch_out_printf(out, "; leaked: %" PRIu64 " allocations, ",
		      report->leaked_count);
	ch_out_bytes(out, report->leaked_bytes);
	ch_out_str(out, report->leaked_count ? " (see 'coreheap leaks')\n" : "\n");

	ch_out_str(out, "\nlargest retained sizes (what freeing the allocation would free):\n"
			"retained    size        allocation          type  <-  held by\n");
	for (size_t i = 0; i < report->num_nodes; i++) {
		uint32_t v = report->nodes[i];
		const char *type = ch_analysis_type(program, v), *kind, *name;

		err = holder(report, v, &kind, &name);
		if (err)
			return err;
		ch_format_bytes(report->retained[v], retained);
		ch_format_bytes(ch_block_size(&blocks[v]), size);
		ch_out_printf(out, "%-11s %-11s 0x%016" PRIx64 "  %s  <-  %s %s\n",
			      retained, size,
			      ch_program_identity(report->analysis->program,
						  &blocks[v]),
			      type ? type : "-", kind, name);
	}

	ch_out_str(out, "\nper type (the type's outermost allocations):\n"
			"retained    count       bytes       type\n");
	for (size_t i = 0; i < report->num_group_rows; i++) {
		uint32_t g = report->group_order[i];
		const struct ch_type_group *group = &report->groups.groups[g];

		ch_format_bytes(report->group_retained[g], retained);
		ch_format_bytes(group->bytes, size);
		ch_out_printf(out, "%-11s %-11" PRIu64 " %-11s ", retained,
			      group->count, size);
		ch_out_group_name(out, group);
		ch_out_char(out, '\n');
	}
	return NULL;
}

// The columns top adds to an allocation's row.
enum { RETAINED_COLUMN, HELD_BY_COLUMN, NUM_TOP_COLUMNS };

static const struct ch_row_field top_columns[NUM_TOP_COLUMNS] = {
	[RETAINED_COLUMN] = { .key = "retained", .kind = CH_ROW_U64 },
	[HELD_BY_COLUMN] = { .key = "held_by", .kind = CH_ROW_ROOT },
};

// Node v's row; fields has NUM_TOP_COLUMNS entries, filled here.
static struct ch_error *allocation_row(struct ch_top_report *report, uint32_t v,
				       struct ch_row_field *fields,
				       struct ch_allocation_row *ret)
{
	const struct ch_program *program = report->analysis->program;
	const struct ch_block *block = &report->analysis->graph->blocks[v];
	const char *kind, *name;
	struct ch_error *err = holder(report, v, &kind, &name);

	if (err)
		return err;
	memcpy(fields, top_columns, sizeof(top_columns));
	fields[RETAINED_COLUMN].u64 = report->retained[v];
	fields[HELD_BY_COLUMN].root_kind = kind;
	fields[HELD_BY_COLUMN].string = name;
	*ret = (struct ch_allocation_row){
		.address = ch_block_identity(block),
		.size = ch_block_size(block),
		.allocator = ch_analysis_allocator(program, v),
		.type = ch_analysis_type(program, v),
		.fields = fields,
		.num_fields = NUM_TOP_COLUMNS,
	};
	return NULL;
}

static struct ch_error *write_json(struct ch_out *out, struct ch_top_report *report)
{
	struct ch_json json;
	struct ch_error *err;

	ch_json_init(&json, out, true);
	ch_json_begin_object(&json);
	ch_json_key(&json, "reachable");
	ch_json_begin_object(&json);
	ch_json_member_u64(&json, "count", report->dominators.num_reachable);
	ch_json_member_u64(&json, "bytes", report->reachable_bytes);
	ch_json_end_object(&json);
	ch_json_key(&json, "leaked");
	ch_json_begin_object(&json);
	ch_json_member_u64(&json, "count", report->leaked_count);
	ch_json_member_u64(&json, "bytes", report->leaked_bytes);
	ch_json_end_object(&json);
	ch_json_key(&json, "allocations");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < report->num_nodes; i++) {
		struct ch_row_field fields[NUM_TOP_COLUMNS];
		struct ch_allocation_row row;

		err = allocation_row(report, report->nodes[i], fields, &row);
		if (err)
			return err;
		ch_row_json(&json, &row);
	}
	ch_json_end_array(&json);
	ch_json_key(&json, "types");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < report->num_group_rows; i++) {
		uint32_t g = report->group_order[i];
		const struct ch_type_group *group = &report->groups.groups[g];

		ch_json_begin_object(&json);
		ch_json_group(&json, group);
		ch_json_member_u64(&json, "count", group->count);
		ch_json_member_u64(&json, "bytes", group->bytes);
		ch_json_member_u64(&json, "retained", report->group_retained[g]);
		ch_json_end_object(&json);
	}
	ch_json_end_array(&json);
	ch_json_end_object(&json);
	ch_out_char(out, '\n');
	return NULL;
}

// jsonl and csv: the allocations only.
static struct ch_error *write_rows(struct ch_out *out, struct ch_top_report *report,
				   enum ch_format format)
{
	struct ch_row_writer writer;
	struct ch_error *err;

	ch_row_writer_begin(&writer, out, format, top_columns,
			    NUM_TOP_COLUMNS);
	for (size_t i = 0; i < report->num_nodes; i++) {
		struct ch_row_field fields[NUM_TOP_COLUMNS];
		struct ch_allocation_row row;

		err = allocation_row(report, report->nodes[i], fields, &row);
		if (err)
			return err;
		ch_row_writer_write(&writer, &row);
	}
	return NULL;
}

// The tree and the rows of report->analysis, the stage's time said when
// asked.
static struct ch_error *compute_report(struct ch_top_report *report,
				       const struct ch_top_options *options)
{
	const struct ch_program *program = report->analysis->program;
	struct timespec start, end;
	struct ch_error *err;

	clock_gettime(CLOCK_MONOTONIC, &start);
	// The tree's arrays, then the retained sizes' and the groups'.
	ch_page_pool_open();
	err = compute(report, options->rows);
	ch_page_pool_close();
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (!err && (options->analysis.stats || program->verbose))
		fprintf(stderr,
			"coreheap: dominator tree and retained sizes of %zu allocations in %.3f s\n",
			report->dominators.num_reachable,
			(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) * 1e-9);
	return err;
}

static struct ch_error *write_computed(struct ch_top_report *report,
				       enum ch_format format, FILE *stream)
{
	static struct ch_out out;
	struct ch_error *err, *out_err;

	ch_out_init(&out, stream);
	if (format == CH_FORMAT_TEXT)
		err = write_text(&out, report);
	else if (format == CH_FORMAT_JSON)
		err = write_json(&out, report);
	else
		err = write_rows(&out, report, format);
	out_err = ch_out_finish(&out);
	if (!err)
		return out_err;
	ch_error_destroy(out_err);
	return err;
}

struct ch_error *ch_top_report_create(struct ch_analysis *analysis,
				      const struct ch_top_options *options,
				      struct ch_top_report **ret)
{
	struct ch_top_report *report = calloc(1, sizeof(*report));
	struct ch_error *err;

	*ret = NULL;
	if (!report)
		return &ch_enomem;
	report->analysis = analysis;
	err = compute_report(report, options);
	if (err) {
		ch_top_report_destroy(report);
		return err;
	}
	*ret = report;
	return NULL;
}

struct ch_error *ch_top_report_write_created(struct ch_top_report *report,
					     enum ch_format format,
					     FILE *stream)
{
	return write_computed(report, format, stream);
}

const struct ch_dominators *ch_top_report_tree(const struct ch_top_report *report,
					       const uint64_t **retained_ret,
					       uint64_t *reachable_bytes_ret)
{
	*retained_ret = report->retained;
	*reachable_bytes_ret = report->reachable_bytes;
	return &report->dominators;
}

void ch_top_report_destroy(struct ch_top_report *report)
{
	if (!report)
		return;
	top_report_deinit(report);
	free(report);
}

struct ch_error *ch_top_report_write(struct ch_program *program,
				     const struct ch_top_options *options,
				     enum ch_format format, FILE *stream)
{
	struct ch_analysis analysis;
	struct ch_top_report report = { .analysis = &analysis,
					.owns_analysis = true };
	struct ch_error *err;

	// The typing's arrays hand their pages on to the tree's.
	ch_page_pool_open();
	err = ch_analysis_init(&analysis, program, &options->analysis);
	if (!err) {
		err = compute_report(&report, options);
		if (!err)
			err = write_computed(&report, format, stream);
		top_report_deinit(&report);
		ch_analysis_deinit(&analysis);
	}
	ch_page_pool_close();
	return err;
}
