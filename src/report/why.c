// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "report/alloc_stack.h"
#include "report/analysis.h"
#include "report/output.h"
#include "report/why.h"
#include "types/types.h"

struct why_report {
	struct ch_analysis *analysis;
	uint64_t addr;
	uint32_t target;
	struct ch_graph_path *paths;
	size_t num_paths;
	/** The heap's types, for the members (not owned). */
	struct ch_types *types;
	/**
	 * Per path: its root's name, and the offset of each step and the
	 * member there (NULL where DWARF does not say; the last step's is
	 * always NULL: it is the address asked about).
	 */
	struct ch_root_name *roots;
	uint64_t **offsets;
	char ***members;
	/** Where the allocation was allocated, if its allocator recorded it. */
	bool has_stack;
	struct ch_named_stack stack;
};

static void why_report_deinit(struct why_report *report)
{
	for (size_t i = 0; i < report->num_paths; i++) {
		if (report->roots)
			free(report->roots[i].name);
		if (report->offsets)
			free(report->offsets[i]);
		for (size_t k = 0; report->members && report->members[i] &&
				   k < report->paths[i].num_nodes; k++)
			free(report->members[i][k]);
		if (report->members)
			free(report->members[i]);
	}
	free(report->roots);
	free(report->offsets);
	free(report->members);
	ch_named_stack_deinit(&report->stack);
	ch_graph_paths_free(report->paths, report->num_paths);
}

// Name each path's root and find, in each step, the pointer to the next.
static struct ch_error *describe_paths(struct why_report *report)
{
	struct ch_analysis *analysis = report->analysis;
	const struct ch_block *blocks = analysis->graph->blocks;
	struct ch_error *err;

	report->roots = calloc(report->num_paths + 1, sizeof(*report->roots));
	report->offsets = calloc(report->num_paths + 1, sizeof(*report->offsets));
	report->members = calloc(report->num_paths + 1, sizeof(*report->members));
	if (!report->roots || !report->offsets || !report->members)
		return &ch_enomem;
	for (size_t i = 0; i < report->num_paths; i++) {
		const struct ch_graph_path *path = &report->paths[i];
		uint64_t *offsets = calloc(path->num_nodes, sizeof(*offsets));

		if (!offsets)
			return &ch_enomem;
		report->offsets[i] = offsets;
		report->members[i] = calloc(path->num_nodes, sizeof(**report->members));
		if (!report->members[i])
			return &ch_enomem;
		err = ch_analysis_name_root(analysis,
					    &analysis->graph->root_refs[path->root_ref],
					    &report->roots[i]);
		if (err)
			return err;
		for (size_t k = 0; k + 1 < path->num_nodes; k++) {
			if (!ch_graph_find_pointer(analysis->graph,
						   analysis->program->address_space,
						   path->nodes[k],
						   path->nodes[k + 1], &offsets[k]))
				continue;
			err = ch_types_member_name(report->types, path->nodes[k],
						   offsets[k],
						   &report->members[i][k]);
			if (err)
				return err;
		}
		offsets[path->num_nodes - 1] =
			report->addr - blocks[report->target].address;
	}
	return NULL;
}

static void write_json(struct ch_out *out, const struct why_report *report)
{
	const struct ch_program *program = report->analysis->program;
	const struct ch_block *blocks = report->analysis->graph->blocks;
	struct ch_json json;

	ch_json_init(&json, out, true);
	ch_json_begin_object(&json);
	ch_json_member_address(&json, "target", blocks[report->target].address);
	ch_json_key(&json, "allocation_stack");
	if (report->has_stack)
		ch_named_stack_write_json(&json, &report->stack);
	else
		ch_json_null(&json);
	ch_json_key(&json, "paths");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < report->num_paths; i++) {
		const struct ch_graph_path *path = &report->paths[i];

		ch_json_begin_object(&json);
		ch_json_key(&json, "root");
		ch_json_root(&json, &report->roots[i]);
		ch_json_key(&json, "chain");
		ch_json_begin_array(&json);
		for (size_t k = 0; k < path->num_nodes; k++) {
			ch_json_begin_object(&json);
			ch_json_member_address(&json, "address", blocks[path->nodes[k]].address);
			ch_json_member_u64(&json, "offset", report->offsets[i][k]);
			ch_json_member_string_or_null(&json, "member",
						      report->members[i][k]);
			ch_json_key(&json, "type");
			ch_json_string_or_null(&json,
					       ch_analysis_type(program, path->nodes[k]));
			ch_json_end_object(&json);
		}
		ch_json_end_array(&json);
		ch_json_end_object(&json);
	}
	ch_json_end_array(&json);
	ch_json_end_object(&json);
	ch_out_char(out, '\n');
}

// A step's type, then the member holding the pointer: "Registry::sessions"
// for C++ as the language writes it, "struct node.next" for C.
static void write_step(struct ch_out *out, const struct why_report *report,
		       uint32_t node, uint64_t offset, const char *member,
		       const char *note)
{
	const struct ch_block *block = &report->analysis->graph->blocks[node];
	const char *type = ch_analysis_type(report->analysis->program, node);

	ch_out_printf(out, "  0x%016" PRIx64 "  +0x%-6" PRIx64 "  %-10" PRIu64 "  %s",
		      block->address, offset, block->size, type ? type : "-");
	if (member)
		ch_out_printf(out, "%s%s",
			      member[0] == '[' ? "" :
			      ch_types_is_cxx(report->types, node) ? "::" : ".",
			      member);
	ch_out_printf(out, "%s\n", note);
}

static void write_text(struct ch_out *out, const struct why_report *report)
{
	const struct ch_program *program = report->analysis->program;
	const struct ch_block *blocks = report->analysis->graph->blocks;
	const struct ch_block *target = &blocks[report->target];
	const char *type = ch_analysis_type(program, report->target);

	ch_out_printf(out, "0x%" PRIx64 " is in the allocation at 0x%" PRIx64 " (%" PRIu64 " bytes, %s), offset 0x%" PRIx64 "\n",
		      report->addr, target->address, target->size,
		      type ? type : "type unknown",
		      report->addr - target->address);
	if (report->has_stack) {
		ch_out_printf(out, "allocated at (the stack %s recorded):\n",
			      ch_analysis_allocator(program, report->target));
		ch_named_stack_write_text(out, &report->stack, "  ", SIZE_MAX);
	}
	if (report->num_paths == 0) {
		ch_out_str(out, "no root reaches it: it is leaked (see 'coreheap leaks')\n");
		return;
	}
	for (size_t i = 0; i < report->num_paths; i++) {
		const struct ch_graph_path *path = &report->paths[i];
		const struct ch_root_name *root = &report->roots[i];

		ch_out_printf(out, "\npath %zu: %zu allocation%s from %s %s",
			      i + 1, path->num_nodes,
			      path->num_nodes == 1 ? "" : "s", root->kind,
			      root->name);
		if (root->address)
			ch_out_printf(out, " (0x%" PRIx64 ")", root->address);
		ch_out_str(out, "\n  allocation          pointer at  size        type\n");
		for (size_t k = 0; k < path->num_nodes; k++)
			write_step(out, report, path->nodes[k],
				   report->offsets[i][k],
				   report->members[i][k],
				   k + 1 == path->num_nodes ? "  (the address asked about)" : "");
	}
}

struct ch_error *ch_why_write(struct ch_analysis *analysis,
			      struct ch_types *types, const bool *named,
			      uint64_t addr, uint32_t target, size_t max_paths,
			      enum ch_format format, struct ch_out *out)
{
	struct why_report report = {
		.analysis = analysis,
		.addr = addr,
		.target = target,
		.types = types,
	};
	struct ch_error *err;

	err = ch_graph_paths(analysis->graph, named, target, max_paths,
			     &report.paths, &report.num_paths);
	if (!err)
		err = describe_paths(&report);
	if (!err)
		err = ch_named_stack_of_block(&report.stack, analysis->program,
					      analysis->graph->blocks[target].address,
					      &report.has_stack);
	if (!err) {
		if (format == CH_FORMAT_JSON)
			write_json(out, &report);
		else
			write_text(out, &report);
	}
	why_report_deinit(&report);
	return err;
}
