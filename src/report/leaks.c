// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "report/alloc_stack.h"
#include "report/analysis.h"
#include "report/leaks.h"
#include "report/output.h"
#include "report/rows.h"

// Addresses shown per group in the text report.
#define TEXT_EXAMPLES 4

// Frames shown per stack in the text report.
#define TEXT_FRAMES 16

/* The leaks of one allocation stack (or of none recorded). */
struct stack_group {
	/** Index in the heap's allocation stacks; UINT32_MAX: none recorded. */
	uint32_t stack;
	uint64_t count, bytes, unreferenced;
	/** Its leaked nodes: the first, then next_node[] from each. */
	uint32_t first_node, last_node;
};

struct leaks_report {
	const struct ch_program *program;
	const struct ch_graph *graph;
	/** From ch_graph_reach(): CH_GRAPH_NONE marks a leak. */
	uint32_t *root_of;
	/** Per node: distinct leaked allocations pointing into it. */
	uint32_t *referrers;
	struct ch_type_groups groups;
	uint64_t count, bytes, unreferenced;
	/** --by-stack: the groups, largest first, and each node's next. */
	struct stack_group *stack_groups;
	size_t num_stack_groups;
	uint32_t *next_node;
	/** Allocations listed at most; 0: all. */
	uint64_t max_allocations;
	/**
	 * The runtimes' garbage not yet collected: the unreachable runtime
	 * objects (Python's reference cycles) and what only they reach,
	 * marked GARBAGE in root_of and reported apart from the leaks.
	 */
	struct ch_type_groups garbage_groups;
	uint64_t garbage_count, garbage_bytes;
};

/** root_of's mark of a node in the runtimes' uncollected garbage. */
#define GARBAGE (CH_GRAPH_NONE - 1)

static bool is_leaked(uint32_t node, void *arg)
{
	const struct leaks_report *report = arg;

	return report->root_of[node] == CH_GRAPH_NONE;
}

static bool is_garbage(uint32_t node, void *arg)
{
	const struct leaks_report *report = arg;

	return report->root_of[node] == GARBAGE;
}

/*
 * Mark the runtimes' uncollected garbage: the unreachable runtime objects
 * (a Python reference cycle dropped since the collector last ran) and the
 * unreachable memory they reach (their item arrays, a native buffer only
 * they hold). A leak is what remains: native memory no object holds.
 */
static struct ch_error *mark_garbage(struct leaks_report *report)
{
	const struct ch_graph *graph = report->graph;
	size_t n = graph->num_nodes, head = 0, tail = 0;
	_cleanup_free_ uint32_t *queue = malloc((n + 1) * sizeof(*queue));

	if (!queue)
		return &ch_enomem;
	for (uint32_t v = 0; v < n; v++) {
		if (report->root_of[v] == CH_GRAPH_NONE &&
		    ch_program_runtime_object(report->program, &graph->blocks[v])) {
			report->root_of[v] = GARBAGE;
			queue[tail++] = v;
		}
	}
	while (head < tail) {
		uint32_t u = queue[head++];

		for (uint64_t e = graph->edge_offsets[u];
		     e < graph->edge_offsets[u + 1]; e++) {
			uint32_t v = graph->edge_targets[e];

			if (report->root_of[v] == CH_GRAPH_NONE) {
				report->root_of[v] = GARBAGE;
				queue[tail++] = v;
			}
		}
	}
	for (size_t i = 0; i < tail; i++) {
		report->garbage_count++;
		report->garbage_bytes += graph->blocks[queue[i]].size;
	}
	return NULL;
}

/*
 * Count each leaked node's leaked referrers. Only leaked nodes can point to
 * a leaked node (a reachable one would make it reachable), and self-edges
 * are not in the graph. A node whose words point into the same target
 * twice, not consecutively, counts once: last_from remembers the last
 * referrer seen per target.
 */
static struct ch_error *count_referrers(struct leaks_report *report)
{
	const struct ch_graph *graph = report->graph;
	size_t n = graph->num_nodes;
	_cleanup_free_ uint32_t *last_from = malloc((n + 1) * sizeof(*last_from));

	report->referrers = calloc(n + 1, sizeof(*report->referrers));
	if (!last_from || !report->referrers)
		return &ch_enomem;
	for (size_t i = 0; i <= n; i++)
		last_from[i] = CH_GRAPH_NONE;
	for (uint32_t u = 0; u < n; u++) {
		if (report->root_of[u] != CH_GRAPH_NONE)
			continue;
		report->count++;
		report->bytes += graph->blocks[u].size;
		for (uint64_t e = graph->edge_offsets[u];
		     e < graph->edge_offsets[u + 1]; e++) {
			uint32_t v = graph->edge_targets[e];

			if (last_from[v] != u) {
				last_from[v] = u;
				report->referrers[v]++;
			}
		}
	}
	return NULL;
}

/** What a listing calls leaked node v: a runtime object's id(), else its address. */
static uint64_t leak_address(const struct leaks_report *report, uint32_t v)
{
	return ch_program_identity(report->program, &report->graph->blocks[v]);
}

static const char *leak_kind(const struct leaks_report *report, uint32_t v)
{
	if (report->root_of[v] == GARBAGE)
		return "uncollected";
	return report->referrers[v] ? "indirect" : "unreferenced";
}

// The columns leaks adds to an allocation's row.
enum { LEAK_COLUMN, REFERRERS_COLUMN, NUM_LEAK_COLUMNS };

static const struct ch_row_field leak_columns[NUM_LEAK_COLUMNS] = {
	[LEAK_COLUMN] = { .key = "leak", .kind = CH_ROW_STRING },
	[REFERRERS_COLUMN] = { .key = "referrers", .kind = CH_ROW_U64 },
};

static int compare_groups(const void *a, const void *b);

// For ch_type_groups_order(): bytes, then count, then first seen.
static int compare_group_indices(const void *a, const void *b, void *arg)
{
	const struct ch_type_groups *groups = arg;

	return compare_groups(&groups->groups[*(const uint32_t *)a],
			      &groups->groups[*(const uint32_t *)b]);
}

static int compare_groups(const void *a, const void *b)
{
	const struct ch_type_group *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->first_node < y->first_node ? -1 : x->first_node > y->first_node;
}

/*
 * The groups' indices, largest first, in *order_ret; false (the output
 * marked failed) when there is no memory for them.
 */
static bool order_groups(struct ch_out *out,
			 const struct ch_type_groups *groups,
			 uint32_t **order_ret)
{
	struct ch_error *err = ch_type_groups_order(groups,
						    compare_group_indices,
						    (void *)groups, order_ret);

	if (err) {
		ch_error_destroy(err);
		out->failed = true;
		return false;
	}
	return true;
}

// Up to TEXT_EXAMPLES addresses per group, unreferenced ones first: one
// pass over the nodes per kind.
static uint32_t *pick_examples(const struct leaks_report *report)
{
	const struct ch_type_groups *groups = &report->groups;
	size_t n = report->graph->num_nodes;
	uint32_t *examples = malloc((groups->num_groups * TEXT_EXAMPLES + 1) *
				    sizeof(*examples));

	if (!examples)
		return NULL;
	for (size_t i = 0; i < groups->num_groups * TEXT_EXAMPLES; i++)
		examples[i] = CH_GRAPH_NONE;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t v = 0; v < n; v++) {
			uint32_t g = groups->group_of[v];
			uint32_t *slots = examples + (size_t)g * TEXT_EXAMPLES;
			size_t k = 0;

			if (g == CH_GRAPH_NONE ||
			    (report->referrers[v] == 0) != (pass == 0))
				continue;
			while (k < TEXT_EXAMPLES && slots[k] != CH_GRAPH_NONE)
				k++;
			if (k < TEXT_EXAMPLES)
				slots[k] = v;
		}
	}
	return examples;
}

static int compare_stack_groups(const void *a, const void *b)
{
	const struct stack_group *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->first_node < y->first_node ? -1 : x->first_node > y->first_node;
}

/*
 * Group the leaks by allocation stack: one group per stack the heap
 * recorded for a leaked block, one for the blocks without; each group's
 * nodes chained in address order through next_node.
 */
static struct ch_error *group_by_stack(struct leaks_report *report)
{
	const struct ch_alloc_stacks *stacks = &report->program->heap.alloc_stacks;
	size_t n = report->graph->num_nodes, num_slots = stacks->stacks.len + 1;
	_cleanup_free_ uint32_t *group_of_stack =
		malloc(num_slots * sizeof(*group_of_stack));
	size_t num_groups = 0;

	report->stack_groups = calloc(num_slots, sizeof(*report->stack_groups));
	report->next_node = malloc((n + 1) * sizeof(*report->next_node));
	if (!group_of_stack || !report->stack_groups || !report->next_node)
		return &ch_enomem;
	for (size_t i = 0; i < num_slots; i++)
		group_of_stack[i] = CH_GRAPH_NONE;
	for (uint32_t v = 0; v < n; v++) {
		uint32_t stack, slot;
		struct stack_group *group;

		if (report->root_of[v] != CH_GRAPH_NONE)
			continue;
		if (!ch_alloc_stacks_find(stacks, report->graph->blocks[v].address,
					  &stack))
			stack = UINT32_MAX;
		slot = stack == UINT32_MAX ? (uint32_t)num_slots - 1 : stack;
		if (group_of_stack[slot] == CH_GRAPH_NONE) {
			group_of_stack[slot] = (uint32_t)num_groups;
			report->stack_groups[num_groups++] = (struct stack_group){
				.stack = stack,
				.first_node = v,
			};
		} else {
			group = &report->stack_groups[group_of_stack[slot]];
			report->next_node[group->last_node] = v;
		}
		group = &report->stack_groups[group_of_stack[slot]];
		group->last_node = v;
		report->next_node[v] = CH_GRAPH_NONE;
		group->count++;
		group->bytes += report->graph->blocks[v].size;
		group->unreferenced += report->referrers[v] == 0;
	}
	qsort(report->stack_groups, num_groups, sizeof(*report->stack_groups),
	      compare_stack_groups);
	report->num_stack_groups = num_groups;
	return NULL;
}

static void write_stack_groups_text(struct ch_out *out,
				    const struct leaks_report *report)
{

	ch_out_str(out, "count     unreferenced  bytes         allocated at\n");
	for (size_t g = 0; g < report->num_stack_groups && !out->failed; g++) {
		const struct stack_group *group = &report->stack_groups[g];
		struct ch_named_stack named = { 0 };
		struct ch_error *err;
		size_t k = 0;

		ch_out_printf(out, "%-9" PRIu64 " %-13" PRIu64 " %" PRIu64 "%s\n",
			      group->count, group->unreferenced, group->bytes,
			      group->stack == UINT32_MAX ?
				      "  (no stack recorded)" :
				      "");
		if (group->stack != UINT32_MAX) {
			err = ch_named_stack_init(&named, report->program,
						  group->stack);
			if (err) {
				ch_error_destroy(err);
				out->failed = true;
				return;
			}
			ch_named_stack_write_text(out, &named, "          ",
						  TEXT_FRAMES);
			ch_named_stack_deinit(&named);
		}
		ch_out_str(out, "          e.g.");
		for (uint32_t v = group->first_node;
		     v != CH_GRAPH_NONE && k < TEXT_EXAMPLES;
		     v = report->next_node[v], k++)
			ch_out_printf(out, " 0x%" PRIx64 " (%s)",
				      leak_address(report, v),
				      leak_kind(report, v));
		ch_out_str(out, "\n");
	}
}

// The groups by stack, closing the JSON object.
static void write_stack_groups_json(struct ch_out *out,
				    const struct leaks_report *report)
{
	ch_out_str(out, " \"stacks\": [");
	for (size_t g = 0; g < report->num_stack_groups && !out->failed; g++) {
		const struct stack_group *group = &report->stack_groups[g];
		struct ch_named_stack named = { 0 };
		struct ch_json json;

		if (group->stack != UINT32_MAX) {
			struct ch_error *err = ch_named_stack_init(
				&named, report->program, group->stack);

			if (err) {
				ch_error_destroy(err);
				out->failed = true;
				return;
			}
		}
		ch_out_str(out, g ? ",\n  " : "\n  ");
		ch_json_init_line(&json, out);
		ch_json_begin_object(&json);
		ch_json_member_u64(&json, "count", group->count);
		ch_json_member_u64(&json, "bytes", group->bytes);
		ch_json_member_u64(&json, "unreferenced", group->unreferenced);
		ch_json_key(&json, "allocation_stack");
		if (group->stack != UINT32_MAX)
			ch_named_stack_write_json(&json, &named);
		else
			ch_json_null(&json);
		ch_json_key(&json, "allocations");
		ch_json_begin_array(&json);
		for (uint32_t v = group->first_node; v != CH_GRAPH_NONE;
		     v = report->next_node[v])
			ch_json_address(&json, leak_address(report, v));
		ch_json_end_array(&json);
		ch_json_end_object(&json);
		ch_named_stack_deinit(&named);
	}
	ch_out_str(out, report->num_stack_groups ? "\n ]}\n" : "]}\n");
}

/*
 * The runtimes' uncollected garbage by type, largest first, with the
 * identities of a few of each.
 */
static void write_garbage_text(struct ch_out *out,
			       const struct leaks_report *report)
{
	const struct ch_type_groups *groups = &report->garbage_groups;
	_cleanup_free_ uint32_t *order = NULL;

	if (!report->garbage_count)
		return;
	if (!order_groups(out, groups, &order))
		return;
	ch_out_printf(out, "\nuncollected: %" PRIu64 " allocation%s, ",
		      report->garbage_count,
		      report->garbage_count == 1 ? "" : "s");
	ch_out_bytes(out, report->garbage_bytes);
	ch_out_str(out, " of garbage the runtime has not collected yet: objects no root reaches (reference cycles, which only the cycle collector frees) and the memory only they hold\n\n");
	ch_out_str(out, "count     bytes         type\n");
	for (size_t i = 0; i < groups->num_groups; i++) {
		const struct ch_type_group *group = &groups->groups[order[i]];
		size_t shown = 0;

		ch_out_printf(out, "%-9" PRIu64 " %-13" PRIu64 " ", group->count,
			      group->bytes);
		ch_out_group_name(out, group);
		ch_out_str(out, "\n          e.g.");
		for (uint32_t v = group->first_node;
		     v < report->graph->num_nodes && shown < TEXT_EXAMPLES; v++) {
			if (groups->group_of[v] != order[i])
				continue;
			ch_out_printf(out, " 0x%" PRIx64, leak_address(report, v));
			shown++;
		}
		ch_out_str(out, "\n");
	}
}

static void write_text(struct ch_out *out, const struct leaks_report *report)
{
	const struct ch_type_groups *groups = &report->groups;
	_cleanup_free_ uint32_t *examples = NULL;
	_cleanup_free_ struct ch_type_group *sorted = NULL;

	if (report->count == 0 && report->garbage_count == 0) {
		ch_out_printf(out, "no leaks: every one of the %zu live allocations is reached from a root\n",
			      report->graph->num_nodes);
		return;
	}
	if (report->count == 0) {
		ch_out_str(out, "no leaks: every live allocation is reached from a root, but for the runtime's garbage below\n");
		write_garbage_text(out, report);
		return;
	}
	examples = pick_examples(report);
	sorted = malloc((groups->num_groups + 1) * sizeof(*sorted));
	if (!examples || !sorted) {
		out->failed = true;
		return;
	}
	ch_out_printf(out, "leaked: %" PRIu64 " allocation%s, ", report->count,
		      report->count == 1 ? "" : "s");
	ch_out_bytes(out, report->bytes);
	ch_out_printf(out, " (%" PRIu64 " unreferenced: nothing points to them; %" PRIu64 " indirect: only leaked allocations do)\n\n",
		      report->unreferenced, report->count - report->unreferenced);
	if (report->stack_groups) {
		write_stack_groups_text(out, report);
		return;
	}
	ch_out_str(out, "count     unreferenced  bytes         type\n");
	// Sort copies: group_of indexes the groups in their first order,
	// which extra keeps.
	for (size_t g = 0; g < groups->num_groups; g++) {
		sorted[g] = groups->groups[g];
		sorted[g].extra = g;
	}
	qsort(sorted, groups->num_groups, sizeof(*sorted), compare_groups);
	for (size_t g = 0; g < groups->num_groups; g++) {
		const struct ch_type_group *group = &sorted[g];
		const uint32_t *slots = examples + group->extra * TEXT_EXAMPLES;

		ch_out_printf(out, "%-9" PRIu64 " %-13" PRIu64 " %-13" PRIu64 " ",
			      group->count, groups->groups[group->extra].extra,
			      group->bytes);
		ch_out_group_name(out, group);
		ch_out_str(out, "\n          e.g.");
		for (size_t k = 0; k < TEXT_EXAMPLES && slots[k] != CH_GRAPH_NONE;
		     k++)
			ch_out_printf(out, " 0x%" PRIx64 " (%s)",
				      leak_address(report, slots[k]),
				      leak_kind(report, slots[k]));
		ch_out_str(out, "\n");
	}
	write_garbage_text(out, report);
}

/*
 * groups as the JSON member key, largest first: each group's type, count
 * and bytes, and with unreferenced its unreferenced count (its extra);
 * then end, which closes the member (and the object, for the last).
 */
static void write_groups_json(struct ch_out *out, const char *key,
			      const struct ch_type_groups *groups,
			      bool unreferenced, const char *end)
{
	_cleanup_free_ uint32_t *order = NULL;

	if (!order_groups(out, groups, &order))
		return;
	ch_out_printf(out, " \"%s\": [", key);
	for (size_t i = 0; i < groups->num_groups; i++) {
		const struct ch_type_group *group = &groups->groups[order[i]];
		struct ch_json json;

		ch_out_str(out, i ? ",\n  " : "\n  ");
		ch_json_init_line(&json, out);
		ch_json_begin_object(&json);
		ch_json_group(&json, group);
		ch_json_member_u64(&json, "count", group->count);
		ch_json_member_u64(&json, "bytes", group->bytes);
		if (unreferenced)
			ch_json_member_u64(&json, "unreferenced", group->extra);
		ch_json_end_object(&json);
	}
	ch_out_str(out, groups->num_groups ? "\n ]" : "]");
	ch_out_str(out, end);
}

static void write_objects(struct ch_out *out, const struct leaks_report *report,
			  enum ch_format format)
{
	const struct ch_graph *graph = report->graph;
	struct ch_row_field fields[NUM_LEAK_COLUMNS];
	struct ch_row_writer writer;

	ch_row_writer_begin(&writer, out, format, leak_columns,
			    NUM_LEAK_COLUMNS);
	if (format == CH_FORMAT_JSON) {
		ch_out_printf(out, "{\"leaked\": {\"count\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"unreferenced\": %" PRIu64 ", \"indirect\": %" PRIu64 "},\n \"uncollected\": {\"count\": %" PRIu64 ", \"bytes\": %" PRIu64 "},\n \"allocations\": [",
			      report->count, report->bytes, report->unreferenced,
			      report->count - report->unreferenced,
			      report->garbage_count, report->garbage_bytes);
	}
	memcpy(fields, leak_columns, sizeof(fields));
	for (uint32_t v = 0; v < graph->num_nodes; v++) {
		const struct ch_block *block = &graph->blocks[v];

		if (report->root_of[v] != CH_GRAPH_NONE &&
		    report->root_of[v] != GARBAGE)
			continue;
		if (report->max_allocations &&
		    writer.written >= report->max_allocations)
			break;
		fields[LEAK_COLUMN].string = leak_kind(report, v);
		fields[REFERRERS_COLUMN].u64 = report->referrers[v];
		ch_row_writer_write(&writer, &(struct ch_allocation_row){
			.address = leak_address(report, v),
			.size = block->size,
			.allocator = ch_analysis_allocator(report->program, v),
			.type = ch_analysis_type(report->program, v),
			.fields = fields,
			.num_fields = NUM_LEAK_COLUMNS,
		});
	}
	if (format == CH_FORMAT_JSON) {
		ch_out_str(out, writer.written ? "\n ],\n" : "],\n");
		// The runtimes' garbage (uncollected_types), then the leaks.
		write_groups_json(out, "uncollected_types",
				  &report->garbage_groups, false, ",\n");
		if (report->stack_groups)
			write_stack_groups_json(out, report);
		else
			write_groups_json(out, "types", &report->groups, true,
					  "}\n");
	}
}

struct ch_error *ch_leaks_report_write_analysis(struct ch_analysis *analysis,
						const struct ch_leaks_options *options,
						enum ch_format format, FILE *stream)
{
	const struct ch_program *program = analysis->program;
	struct leaks_report report = {
		.program = program,
		.graph = analysis->graph,
		.max_allocations = options->max_allocations,
	};
	static struct ch_out out;
	struct ch_error *err;

	err = ch_graph_reach(analysis->graph, NULL, &report.root_of);
	if (!err)
		err = mark_garbage(&report);
	if (!err)
		err = ch_type_groups_init(&report.garbage_groups, program,
					  is_garbage, &report);
	if (!err)
		err = count_referrers(&report);
	if (!err)
		err = ch_type_groups_init(&report.groups, program, is_leaked,
					  &report);
	if (!err) {
		for (uint32_t v = 0; v < analysis->graph->num_nodes; v++) {
			if (report.root_of[v] == CH_GRAPH_NONE &&
			    report.referrers[v] == 0) {
				report.unreferenced++;
				report.groups.groups[report.groups.group_of[v]].extra++;
			}
		}
		if (options->by_stack)
			err = group_by_stack(&report);
	}
	if (!err) {
		ch_out_init(&out, stream);
		if (format == CH_FORMAT_TEXT)
			write_text(&out, &report);
		else
			write_objects(&out, &report, format);
		err = ch_out_finish(&out);
	}
	ch_type_groups_deinit(&report.groups);
	ch_type_groups_deinit(&report.garbage_groups);
	free(report.stack_groups);
	free(report.next_node);
	free(report.root_of);
	free(report.referrers);
	return err;
}

struct ch_error *ch_leaks_report_write(struct ch_program *program,
				       const struct ch_leaks_options *options,
				       enum ch_format format, FILE *stream)
{
	struct ch_analysis analysis;
	struct ch_error *err;

	err = ch_analysis_init(&analysis, program, &options->analysis);
	if (err)
		return err;
	err = ch_leaks_report_write_analysis(&analysis, options, format, stream);
	ch_analysis_deinit(&analysis);
	return err;
}
