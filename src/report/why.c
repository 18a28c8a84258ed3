// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "report/alloc_stack.h"
#include "report/analysis.h"
#include "report/output.h"
#include "report/why.h"
#include "types/types.h"

struct why_report {
	struct ch_analysis *analysis;
	uint64_t addr;
	uint32_t target;
	/** The caller's: not freed with the report. */
	const struct ch_graph_path *paths;
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
	/**
	 * Per path, per step: the member is the runtime's name of the step
	 * ("['abc']", ".buffer", "[3]"), from its exact references.
	 */
	bool **runtime_steps;
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
		if (report->runtime_steps)
			free(report->runtime_steps[i]);
	}
	free(report->runtime_steps);
	free(report->roots);
	free(report->offsets);
	free(report->members);
	ch_named_stack_deinit(&report->stack);
}

/** A step's offset where the runtime named the step instead. */
#define NO_OFFSET UINT64_MAX

// Looking for the runtime's name of the step to one node.
struct step_search {
	const struct ch_graph *graph;
	uint32_t target;
	char *name;
	bool out_of_memory;
};

static int find_step(void *arg, const struct coreheap_reference *ref)
{
	struct step_search *search = arg;

	if (search->name || !ref->name ||
	    ch_block_index_find(search->graph->index, ref->target, true) !=
		    search->target)
		return COREHEAP_OK;
	search->name = strdup(ref->name);
	if (!search->name)
		search->out_of_memory = true;
	return COREHEAP_OK;
}

/*
 * The runtime's name of the step from node from to node to, if from is a
 * runtime object whose plugin lists its references: into *name_ret
 * (malloc'd), else NULL.
 */
static struct ch_error *runtime_step(struct ch_analysis *analysis,
				     uint32_t from, uint32_t to,
				     char **name_ret)
{
	struct step_search search = { .graph = analysis->graph, .target = to };
	struct ch_error *err;
	bool covered;

	*name_ret = NULL;
	if (!ch_program_runtime_object(analysis->program,
				       &analysis->graph->blocks[from]))
		return NULL;
	err = ch_program_references(analysis->program,
				    &analysis->graph->blocks[from], true,
				    find_step, &search, &covered);
	if (!err && search.out_of_memory)
		err = &ch_enomem;
	if (err || !covered) {
		free(search.name);
		return err;
	}
	*name_ret = search.name;
	return NULL;
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
	report->runtime_steps = calloc(report->num_paths + 1,
				       sizeof(*report->runtime_steps));
	if (!report->roots || !report->offsets || !report->members ||
	    !report->runtime_steps)
		return &ch_enomem;
	for (size_t i = 0; i < report->num_paths; i++) {
		const struct ch_graph_path *path = &report->paths[i];
		uint64_t *offsets = calloc(path->num_nodes, sizeof(*offsets));

		if (!offsets)
			return &ch_enomem;
		report->offsets[i] = offsets;
		report->members[i] = calloc(path->num_nodes, sizeof(**report->members));
		report->runtime_steps[i] = calloc(path->num_nodes,
						  sizeof(**report->runtime_steps));
		if (!report->members[i] || !report->runtime_steps[i])
			return &ch_enomem;
		err = ch_analysis_name_root(analysis,
					    &analysis->graph->root_refs[path->root_ref],
					    &report->roots[i]);
		if (err)
			return err;
		for (size_t k = 0; k + 1 < path->num_nodes; k++) {
			err = runtime_step(analysis, path->nodes[k],
					   path->nodes[k + 1],
					   &report->members[i][k]);
			if (err)
				return err;
			// The runtime names the step: no word's offset (a
			// dict's value is in its key table, not in it).
			if (report->members[i][k]) {
				report->runtime_steps[i][k] = true;
				offsets[k] = NO_OFFSET;
				continue;
			}
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
			report->addr - ch_program_identity(analysis->program,
						     &blocks[report->target]);
	}
	return NULL;
}

// Whether path i starts at a runtime's root or takes a runtime's step.
static bool path_is_runtime(const struct why_report *report, size_t i)
{
	const struct ch_graph_path *path = &report->paths[i];
	const struct ch_root_ref *ref =
		&report->analysis->graph->root_refs[path->root_ref];

	if (report->analysis->roots->roots[ref->root].kind == CH_ROOT_RUNTIME)
		return true;
	for (size_t k = 0; k + 1 < path->num_nodes; k++) {
		if (report->runtime_steps[i][k])
			return true;
	}
	return false;
}

/*
 * Path i in the runtime's terms, one line: the root's name, then each
 * holder's type with the step it takes, "module __main__ .sessions ->
 * dict['abc'] -> __main__.Session .buffer -> list[3]"; a step the runtime
 * does not name is the offset of the pointer ("+0x18").
 */
static struct ch_error *runtime_chain(const struct why_report *report, size_t i,
				      struct ch_strbuf *line)
{
	const struct ch_graph_path *path = &report->paths[i];
	struct ch_error *err;

	err = ch_strbuf_appendf(line, "%s", report->roots[i].name);
	for (size_t k = 0; !err && k + 1 < path->num_nodes; k++) {
		const char *type = ch_analysis_type(report->analysis->program,
						    path->nodes[k]);
		const char *member = report->members[i][k];

		if (report->runtime_steps[i][k])
			err = ch_strbuf_appendf(line, " -> %s%s%s",
						type ? type : "?",
						member[0] == '.' || member[0] == '(' ?
							" " : "",
						member);
		else
			err = ch_strbuf_appendf(line, " -> %s+0x%" PRIx64,
						type ? type : "?",
						report->offsets[i][k]);
	}
	return err;
}

static void write_json(struct ch_out *out, const struct why_report *report)
{
	const struct ch_program *program = report->analysis->program;
	const struct ch_block *blocks = report->analysis->graph->blocks;
	struct ch_json json;

	ch_json_init(&json, out, true);
	ch_json_begin_object(&json);
	ch_json_member_address(&json, "target",
			       ch_program_identity(program, &blocks[report->target]));
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
		if (path_is_runtime(report, i)) {
			struct ch_strbuf line = { 0 };

			ch_json_key(&json, "runtime_chain");
			if (runtime_chain(report, i, &line))
				ch_json_null(&json);
			else
				ch_json_string(&json, line.buf ? line.buf : "");
			ch_strbuf_deinit(&line);
		}
		ch_json_key(&json, "chain");
		ch_json_begin_array(&json);
		for (size_t k = 0; k < path->num_nodes; k++) {
			ch_json_begin_object(&json);
			ch_json_member_address(&json, "address",
					       ch_program_identity(program,
							     &blocks[path->nodes[k]]));
			ch_json_key(&json, "offset");
			if (report->offsets[i][k] == NO_OFFSET)
				ch_json_null(&json);
			else
				ch_json_u64(&json, report->offsets[i][k]);
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
		       bool runtime, const char *note)
{
	const struct ch_block *block = &report->analysis->graph->blocks[node];
	const char *type = ch_analysis_type(report->analysis->program, node);

	ch_out_printf(out, "  0x%016" PRIx64 "  ",
		      ch_program_identity(report->analysis->program, block));
	if (offset == NO_OFFSET)
		ch_out_str(out, "-        ");
	else
		ch_out_printf(out, "+0x%-6" PRIx64, offset);
	ch_out_printf(out, "  %-10" PRIu64 "  %s", ch_block_size(block),
		      type ? type : "-");
	if (member && runtime)
		ch_out_printf(out, "%s%s",
			      member[0] == '.' || member[0] == '(' ? " " : "",
			      member);
	else if (member)
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

	const struct ch_block *object = ch_program_runtime_object(program, target);

	if (object && ch_block_identity(object) == report->addr)
		ch_out_printf(out, "0x%" PRIx64 " is a %s object of type %s (%" PRIu64 " bytes with its header)\n",
			      report->addr,
			      program->allocators.uses[object->allocator].ops->name,
			      type ? type : "unknown", ch_block_size(target));
	else
		ch_out_printf(out, "0x%" PRIx64 " is in the allocation at 0x%" PRIx64 " (%" PRIu64 " bytes, %s), offset 0x%" PRIx64 "\n",
			      report->addr, target->address, ch_block_size(target),
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
		ch_out_str(out, "\n");
		if (path_is_runtime(report, i)) {
			struct ch_strbuf line = { 0 };

			if (runtime_chain(report, i, &line))
				out->failed = true;
			else
				ch_out_printf(out, "  %s\n", line.buf);
			ch_strbuf_deinit(&line);
		}
		ch_out_str(out, "  allocation          pointer at  size        type\n");
		for (size_t k = 0; k < path->num_nodes; k++)
			write_step(out, report, path->nodes[k],
				   report->offsets[i][k],
				   report->members[i][k],
				   report->runtime_steps[i][k],
				   k + 1 == path->num_nodes ? "  (the address asked about)" : "");
	}
}

/*
 * Describe paths (num_paths of them, found for target) and write them as
 * text or json.
 */
static struct ch_error *write_paths(struct ch_analysis *analysis,
				    struct ch_types *types, uint64_t addr,
				    uint32_t target,
				    const struct ch_graph_path *paths,
				    size_t num_paths, enum ch_format format,
				    struct ch_out *out)
{
	struct why_report report = {
		.analysis = analysis,
		.addr = addr,
		.target = target,
		.types = types,
		.paths = paths,
		.num_paths = num_paths,
	};
	struct ch_error *err = describe_paths(&report);

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

struct ch_error *ch_why_write(struct ch_analysis *analysis,
			      struct ch_types *types, const bool *named,
			      uint64_t addr, uint32_t target, size_t max_paths,
			      enum ch_format format, struct ch_out *out)
{
	struct ch_graph_path *paths;
	size_t num_paths;
	struct ch_error *err;

	err = ch_graph_paths(analysis->graph, named, target, max_paths,
			     &paths, &num_paths);
	if (err)
		return err;
	err = write_paths(analysis, types, addr, target, paths, num_paths,
			  format, out);
	ch_graph_paths_free(paths, num_paths);
	return err;
}

struct ch_error *ch_why_write_path(struct ch_analysis *analysis,
				   struct ch_types *types, uint64_t addr,
				   uint32_t target,
				   const struct ch_graph_path *path,
				   enum ch_format format, struct ch_out *out)
{
	return write_paths(analysis, types, addr, target, path,
			   path->num_nodes ? 1 : 0, format, out);
}
