// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitmap.h"
#include "base/cleanup.h"
#include "base/sort.h"
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
/*
 * The report's arrays are indexed by the position of a node in the list of
 * nodes no root reaches (unreached), not by node: a leak is a small part
 * of a large heap, and the report's memory is that part's.
 */

/* The leaks of one allocation stack (or of none recorded). */
struct stack_group {
	/** Index in the heap's allocation stacks; UINT32_MAX: none recorded. */
	uint32_t stack;
	uint64_t count, bytes, unreferenced;
	/** Its leaks' positions: the first, then next_leak[] from each. */
	uint32_t first_leak, last_leak;
};

struct leaks_report {
	const struct ch_program *program;
	const struct ch_graph *graph;
	/**
	 * The nodes no root reaches, in address order: the leaks, and the
	 * runtimes' garbage not yet collected (the unreachable runtime
	 * objects, Python's reference cycles, and what only they reach),
	 * which is reported apart from the leaks.
	 */
	uint32_t *unreached;
	size_t num_unreached;
	/** Bit per node: in the runtimes' garbage. */
	uint64_t *garbage;
	/** Per position: distinct leaked allocations pointing into it. */
	uint32_t *referrers;
	struct ch_type_groups groups;
	uint64_t count, bytes, unreferenced;
	/** --by-stack: the groups, largest first, and each leak's next. */
	struct stack_group *stack_groups;
	size_t num_stack_groups;
	uint32_t *next_leak;
	/** Allocations listed at most; 0: all. */
	uint64_t max_allocations;
	struct ch_type_groups garbage_groups;
	uint64_t garbage_count, garbage_bytes;
};

static bool in_garbage(const struct leaks_report *report, uint32_t node)
{
	return ch_bit_get(report->garbage, node);
}

// The groupings' filters, on the unreached nodes.
static bool is_garbage(uint32_t node, void *arg)
{
	return in_garbage(arg, node);
}

static bool is_leaked(uint32_t node, void *arg)
{
	return !in_garbage(arg, node);
}

// The position of node v in unreached, or num_unreached if it is reached.
static size_t position_of(const struct leaks_report *report, uint32_t v)
{
	size_t low = 0, high = report->num_unreached;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (report->unreached[mid] < v)
			low = mid + 1;
		else
			high = mid;
	}
	return low < report->num_unreached && report->unreached[low] == v ?
		       low :
		       report->num_unreached;
}

/*
 * The nodes no root reaches, and among them the runtimes' garbage: the
 * unreachable runtime objects and the unreachable memory they reach (their
 * item arrays, a native buffer only they hold). A leak is what remains:
 * native memory no object holds.
 */
static struct ch_error *find_unreached(struct leaks_report *report)
{
	const struct ch_graph *graph = report->graph;
	size_t n = graph->num_nodes, words = ch_bitmap_words(n) + 1, k = 0;
	_cleanup_free_ uint64_t *reached = NULL;
	_cleanup_free_ uint64_t *pending = calloc(words, sizeof(*pending));
	struct ch_error *err;

	report->garbage = malloc(words * sizeof(*report->garbage));
	if (!pending || !report->garbage)
		return &ch_enomem;
	err = ch_graph_reached(graph, &reached);
	if (err)
		return err;
	for (uint32_t v = 0; v < n; v++)
		report->num_unreached += !ch_bit_get(reached, v);
	report->unreached = malloc((report->num_unreached + 1) *
				   sizeof(*report->unreached));
	if (!report->unreached)
		return &ch_enomem;
	for (uint32_t v = 0; v < n; v++) {
		if (ch_bit_get(reached, v))
			continue;
		report->unreached[k++] = v;
		if (ch_program_runtime_object(report->program, &graph->blocks[v]))
			ch_bit_set(pending, v);
	}
	// What the garbage reaches, the search not entering the reached nodes.
	memcpy(report->garbage, reached, words * sizeof(*reached));
	err = ch_graph_mark_reachable(graph, report->garbage, pending);
	if (err)
		return err;
	for (size_t w = 0; w < words; w++)
		report->garbage[w] &= ~reached[w];
	for (k = 0; k < report->num_unreached; k++) {
		uint32_t v = report->unreached[k];

		if (!in_garbage(report, v))
			continue;
		report->garbage_count++;
		report->garbage_bytes += ch_block_size(&graph->blocks[v]);
	}
	return NULL;
}

/*
 * Count each unreached node's leaked referrers. Only unreached nodes can
 * point to an unreached node (a reachable one would make it reachable),
 * and self-edges are not in the graph. A node whose words point into the
 * same target twice, not consecutively, counts once: last_from remembers
 * the last referrer seen per target.
 */
static struct ch_error *count_referrers(struct leaks_report *report)
{
	const struct ch_graph *graph = report->graph;
	size_t num = report->num_unreached;
	_cleanup_free_ uint32_t *last_from = malloc((num + 1) * sizeof(*last_from));

	report->referrers = calloc(num + 1, sizeof(*report->referrers));
	if (!last_from || !report->referrers)
		return &ch_enomem;
	for (size_t k = 0; k < num; k++)
		last_from[k] = CH_GRAPH_NONE;
	for (size_t k = 0; k < num; k++) {
		uint32_t u = report->unreached[k];

		if (in_garbage(report, u))
			continue;
		report->count++;
		report->bytes += ch_block_size(&graph->blocks[u]);
		for (uint64_t e = graph->edge_offsets[u];
		     e < graph->edge_offsets[u + 1]; e++) {
			size_t at = position_of(report, graph->edge_targets[e]);

			if (at < num && last_from[at] != k) {
				last_from[at] = (uint32_t)k;
				report->referrers[at]++;
			}
		}
	}
	return NULL;
}

/**
 * What a listing calls the unreached node at position k: a runtime
 * object's id(), else its address.
 */
static uint64_t leak_address(const struct leaks_report *report, size_t k)
{
	return ch_program_identity(report->program,
				   &report->graph->blocks[report->unreached[k]]);
}

static const char *leak_kind(const struct leaks_report *report, size_t k)
{
	if (in_garbage(report, report->unreached[k]))
		return "uncollected";
	return report->referrers[k] ? "indirect" : "unreferenced";
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

// Up to TEXT_EXAMPLES positions per group, unreferenced ones first: one
// pass over the unreached nodes per kind.
static uint32_t *pick_examples(const struct leaks_report *report)
{
	const struct ch_type_groups *groups = &report->groups;
	uint32_t *examples = malloc((groups->num_groups * TEXT_EXAMPLES + 1) *
				    sizeof(*examples));

	if (!examples)
		return NULL;
	for (size_t i = 0; i < groups->num_groups * TEXT_EXAMPLES; i++)
		examples[i] = CH_GRAPH_NONE;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t at = 0; at < report->num_unreached; at++) {
			uint32_t g = groups->group_of[at];
			uint32_t *slots = examples + (size_t)g * TEXT_EXAMPLES;
			size_t k = 0;

			if (g == CH_TYPE_GROUP_NONE ||
			    (report->referrers[at] == 0) != (pass == 0))
				continue;
			while (k < TEXT_EXAMPLES && slots[k] != CH_GRAPH_NONE)
				k++;
			if (k < TEXT_EXAMPLES)
				slots[k] = at;
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
	return x->first_leak < y->first_leak ? -1 : x->first_leak > y->first_leak;
}

/*
 * Group the leaks by allocation stack: one group per stack the heap
 * recorded for a leaked block, one for the blocks without; each group's
 * leaks chained in address order through next_leak.
 */
static struct ch_error *group_by_stack(struct leaks_report *report)
{
	const struct ch_alloc_stacks *stacks = &report->program->heap.alloc_stacks;
	size_t num_slots = stacks->stacks.len + 1;
	_cleanup_free_ uint32_t *group_of_stack =
		malloc(num_slots * sizeof(*group_of_stack));
	size_t num_groups = 0;

	report->stack_groups = calloc(num_slots, sizeof(*report->stack_groups));
	report->next_leak = malloc((report->num_unreached + 1) *
				   sizeof(*report->next_leak));
	if (!group_of_stack || !report->stack_groups || !report->next_leak)
		return &ch_enomem;
	for (size_t i = 0; i < num_slots; i++)
		group_of_stack[i] = CH_GRAPH_NONE;
	for (uint32_t at = 0; at < report->num_unreached; at++) {
		const struct ch_block *block =
			&report->graph->blocks[report->unreached[at]];
		uint32_t stack, slot;
		struct stack_group *group;

		if (in_garbage(report, report->unreached[at]))
			continue;
		if (!ch_alloc_stacks_find(stacks, block->address, &stack))
			stack = UINT32_MAX;
		slot = stack == UINT32_MAX ? (uint32_t)num_slots - 1 : stack;
		if (group_of_stack[slot] == CH_GRAPH_NONE) {
			group_of_stack[slot] = (uint32_t)num_groups;
			report->stack_groups[num_groups++] = (struct stack_group){
				.stack = stack,
				.first_leak = at,
			};
		} else {
			group = &report->stack_groups[group_of_stack[slot]];
			report->next_leak[group->last_leak] = at;
		}
		group = &report->stack_groups[group_of_stack[slot]];
		group->last_leak = at;
		report->next_leak[at] = CH_GRAPH_NONE;
		group->count++;
		group->bytes += ch_block_size(block);
		group->unreferenced += report->referrers[at] == 0;
	}
	ch_sort(report->stack_groups, num_groups, sizeof(*report->stack_groups),
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
		for (uint32_t at = group->first_leak;
		     at != CH_GRAPH_NONE && k < TEXT_EXAMPLES;
		     at = report->next_leak[at], k++)
			ch_out_printf(out, " 0x%" PRIx64 " (%s)",
				      leak_address(report, at),
				      leak_kind(report, at));
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
		for (uint32_t at = group->first_leak; at != CH_GRAPH_NONE;
		     at = report->next_leak[at])
			ch_json_address(&json, leak_address(report, at));
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
		for (size_t at = position_of(report, group->first_node);
		     at < report->num_unreached && shown < TEXT_EXAMPLES; at++) {
			if (groups->group_of[at] != order[i])
				continue;
			ch_out_printf(out, " 0x%" PRIx64, leak_address(report, at));
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
	ch_sort(sorted, groups->num_groups, sizeof(*sorted), compare_groups);
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
	for (size_t at = 0; at < report->num_unreached; at++) {
		uint32_t v = report->unreached[at];
		const struct ch_block *block = &graph->blocks[v];

		if (report->max_allocations &&
		    writer.written >= report->max_allocations)
			break;
		fields[LEAK_COLUMN].string = leak_kind(report, at);
		fields[REFERRERS_COLUMN].u64 = report->referrers[at];
		ch_row_writer_write(&writer, &(struct ch_allocation_row){
			.address = leak_address(report, at),
			.size = ch_block_size(block),
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

	err = find_unreached(&report);
	if (!err)
		err = ch_type_groups_init_nodes(&report.garbage_groups, program,
						report.unreached,
						report.num_unreached,
						is_garbage, &report);
	if (!err)
		err = count_referrers(&report);
	if (!err)
		err = ch_type_groups_init_nodes(&report.groups, program,
						report.unreached,
						report.num_unreached, is_leaked,
						&report);
	if (!err) {
		for (size_t at = 0; at < report.num_unreached; at++) {
			if (!in_garbage(&report, report.unreached[at]) &&
			    report.referrers[at] == 0) {
				report.unreferenced++;
				report.groups.groups[report.groups.group_of[at]].extra++;
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
	free(report.next_leak);
	free(report.unreached);
	free(report.garbage);
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
