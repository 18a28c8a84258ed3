// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/strbuf.h"
#include "heap/block_index.h"
#include "report/analysis.h"
#include "types/types.h"

static void print_stats(const struct ch_analysis *analysis)
{
	const struct ch_graph_stats *stats = &analysis->graph->stats;
	double scanned = stats->heap_bytes + stats->root_bytes;
	double seconds = stats->seconds > 1e-9 ? stats->seconds : 1e-9;

	fprintf(stderr,
		"coreheap: scanned %.1f MB (heap %.1f MB, roots %.1f MB) in %.3f s with %u thread%s: %.2f GB/s; %" PRIu64 " edges, %.1f M edges/s; %zu root references",
		scanned / 1e6, stats->heap_bytes / 1e6, stats->root_bytes / 1e6,
		stats->seconds, stats->num_threads,
		stats->num_threads == 1 ? "" : "s", scanned / 1e9 / seconds,
		stats->num_edges, stats->num_edges / 1e6 / seconds,
		analysis->graph->num_root_refs);
	if (stats->exact_nodes)
		fprintf(stderr, "; %" PRIu64 " runtime objects by their exact references",
			stats->exact_nodes);
	fputc('\n', stderr);
}

// The graph's find_index: the heap's index, which the typing shares.
static struct ch_error *heap_index(void *arg,
				   const struct ch_block_index **ret)
{
	return ch_heap_block_index(arg, ret);
}

/*
 * Type the heap if it is not typed yet: the tables the typing made are
 * kept in analysis->types when asked (the HTML report describes fields
 * with them), else given back.
 */
static struct ch_error *load_types(struct ch_analysis *analysis,
				   bool keep_types)
{
	if (!keep_types || analysis->program->heap.block_types)
		return ch_program_load_types(analysis->program);
	return ch_types_create(analysis->program, &analysis->types);
}

struct typing {
	struct ch_analysis *analysis;
	bool keep_types;
};

// The graph's find_pointer_free: type the heap, which says which
// allocations hold no pointers.
static struct ch_error *type_heap(void *arg, const uint64_t **ret)
{
	const struct typing *typing = arg;
	struct ch_error *err = load_types(typing->analysis, typing->keep_types);

	*ret = err ? NULL : typing->analysis->program->heap.pointer_free;
	return err;
}

static struct ch_error *init(struct ch_analysis *analysis,
			     struct ch_program *program,
			     const struct ch_analysis_options *options,
			     bool keep_types)
{
	// The scanning threads make the index (or wait for the typing's) while
	// the calling thread starts typing.
	struct ch_graph_options graph_options = {
		.interior = !options->no_interior,
		.num_threads = options->threads,
		.find_index = heap_index,
		.find_index_arg = &program->heap,
	};
	struct typing typing = { analysis, keep_types };
	struct ch_error *err;

	*analysis = (struct ch_analysis){ .program = program };
	// Reports name each allocation's type where it is known; the types
	// also say which allocations hold no pointers at all. Unless asked to
	// scan everything, the heap is typed while the graph's scan runs, and
	// the runtimes' objects have their exact references.
	if (!options->conservative) {
		if (program->heap.block_types) {
			graph_options.pointer_free = program->heap.pointer_free;
		} else {
			graph_options.find_pointer_free = type_heap;
			graph_options.find_pointer_free_arg = &typing;
		}
		graph_options.program = program;
	}
	err = ch_roots_create(program, &analysis->roots);
	if (!err)
		err = ch_graph_build(&program->heap, program->address_space,
				     program->core, analysis->roots,
				     &graph_options, &analysis->graph);
	// The reports name types with --conservative too.
	if (!err)
		err = load_types(analysis, keep_types);
	if (err) {
		ch_analysis_deinit(analysis);
		return err;
	}
	if (analysis->graph->stats.unreadable_bytes)
		ch_program_warn(program, true,
				"%" PRIu64 " bytes of allocations and roots are not in the core: pointers there are unknown, and what only they held is reported as leaked",
				analysis->graph->stats.unreadable_bytes);
	if (options->stats || program->verbose)
		print_stats(analysis);
	return NULL;
}

struct ch_error *ch_analysis_init(struct ch_analysis *analysis,
				  struct ch_program *program,
				  const struct ch_analysis_options *options)
{
	return init(analysis, program, options, false);
}

struct ch_error *ch_analysis_init_keeping_types(struct ch_analysis *analysis,
						struct ch_program *program,
						const struct ch_analysis_options *options)
{
	return init(analysis, program, options, true);
}

void ch_analysis_deinit(struct ch_analysis *analysis)
{
	ch_graph_destroy(analysis->graph);
	ch_roots_destroy(analysis->roots);
	ch_types_destroy(analysis->types);
	analysis->graph = NULL;
	analysis->roots = NULL;
	analysis->types = NULL;
}

struct ch_error *ch_analysis_find_block(const struct ch_program *program,
					uint64_t addr, uint32_t *ret)
{
	const struct ch_heap *heap = &program->heap;
	const struct ch_block *block = ch_heap_find(heap, addr);

	if (block) {
		*ret = block - heap->live.blocks;
		return NULL;
	}
	for (size_t i = 0; i < heap->free.len; i++) {
		const struct ch_block *other = &heap->free.blocks[i];

		if (addr - other->address < ch_block_size(other))
			return ch_error_create(CH_ERROR_NOT_FOUND,
					       "0x%" PRIx64 " is not in a live allocation: it is in %s at 0x%" PRIx64 " (%" PRIu64 " bytes)",
					       addr,
					       other->state == COREHEAP_BLOCK_FREE ?
						       "free memory" :
						       "the allocator's metadata",
					       other->address, ch_block_size(other));
	}
	return ch_error_create(CH_ERROR_NOT_FOUND,
			       "0x%" PRIx64 " is not in a live allocation",
			       addr);
}

struct ch_error *ch_analysis_name_root(struct ch_analysis *analysis,
				       const struct ch_root_ref *ref,
				       struct ch_root_name *ret)
{
	const struct ch_root *root = &analysis->roots->roots[ref->root];
	struct ch_strbuf name = { 0 };
	struct ch_error *err;

	err = ch_roots_describe(analysis->roots, analysis->program, ref->root,
				ref->source, &name);
	if (err) {
		ch_strbuf_deinit(&name);
		return err;
	}
	ret->kind = ch_root_kind_names[root->kind];
	ret->name = ch_strbuf_detach(&name);
	if (!ret->name)
		return &ch_enomem;
	ret->address = root->kind == CH_ROOT_REGISTER ||
				       root->kind == CH_ROOT_RUNTIME ?
			       0 :
			       ref->source;
	return NULL;
}

struct ch_error *ch_analysis_named_refs(struct ch_analysis *analysis,
					bool **ret)
{
	const struct ch_graph *graph = analysis->graph;
	_cleanup_free_ bool *named = calloc(graph->num_root_refs + 1,
					    sizeof(*named));
	struct ch_error *err;

	if (!named)
		return &ch_enomem;
	for (size_t r = 0; r < graph->num_root_refs; r++) {
		const struct ch_root_ref *ref = &graph->root_refs[r];

		err = ch_roots_named(analysis->roots, analysis->program,
				     ref->root, ref->source, &named[r]);
		if (err)
			return err;
	}
	*ret = no_cleanup_ptr(named);
	return NULL;
}

void ch_json_root(struct ch_json *json, const struct ch_root_name *name)
{
	ch_json_begin_object(json);
	ch_json_member_string(json, "kind", name->kind);
	ch_json_member_string(json, "name", name->name);
	ch_json_end_object(json);
}

const char *ch_analysis_type(const struct ch_program *program, uint32_t node)
{
	return ch_heap_block_type(&program->heap, node, NULL);
}

const char *ch_analysis_allocator(const struct ch_program *program,
				  uint32_t node)
{
	uint8_t allocator = program->heap.live.blocks[node].allocator;

	return allocator < program->allocators.num_uses ?
		       program->allocators.uses[allocator].ops->name :
		       "?";
}
