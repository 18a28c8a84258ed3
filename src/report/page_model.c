// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/hash_map.h"
#include "base/keep_best.h"
#include "base/page_pool.h"
#include "base/sort.h"
#include "base/thread_pair.h"
#include "base/vector.h"
#include "graph/dominators.h"
#include "report/analysis.h"
#include "report/describe.h"
#include "report/diff.h"
#include "report/leaks.h"
#include "report/output.h"
#include "report/page_model.h"
#include "report/summary_report.h"
#include "report/top.h"
#include "report/type_groups.h"
#include "report/types_table.h"
#include "report/why.h"
#include "types/types.h"

// Bytes of an untyped instance the page shows.
#define DESCRIBE_BYTES 256

/* What the tree and the instances are computed from. */
struct page_model {
	struct ch_program *program;
	const struct ch_page_options *options;
	struct ch_analysis analysis;
	/** The analysis's types (analysis.types), or the model's own. */
	struct ch_types *types;
	struct ch_types *own_types;
	bool *named;
	/** top's, which the tree and instances read. */
	struct ch_top_report *top;
	const struct ch_dominators *dominators;
	const uint64_t *retained;
	uint64_t reachable_bytes;
	struct ch_type_groups groups;
	struct ch_out *out;
};

/* A max-heap of nodes by retained size, for the tree's largest nodes. */
struct node_heap {
	uint32_t *nodes;
	size_t len;
	const uint64_t *retained;
};

static bool heap_above(const void *arg, uint32_t a, uint32_t b)
{
	const struct node_heap *heap = arg;

	if (heap->retained[a] != heap->retained[b])
		return heap->retained[a] > heap->retained[b];
	return a < b;
}

static void heap_push(struct node_heap *heap, uint32_t v)
{
	size_t i = heap->len++;

	heap->nodes[i] = v;
	while (i > 0 && heap_above(heap, heap->nodes[i], heap->nodes[(i - 1) / 2])) {
		uint32_t swap = heap->nodes[i];

		heap->nodes[i] = heap->nodes[(i - 1) / 2];
		heap->nodes[(i - 1) / 2] = swap;
		i = (i - 1) / 2;
	}
}

static uint32_t heap_pop(struct node_heap *heap)
{
	uint32_t top = heap->nodes[0];
	size_t i = 0;

	heap->nodes[0] = heap->nodes[--heap->len];
	for (;;) {
		size_t best = i, l = 2 * i + 1, r = l + 1;

		if (l < heap->len && heap_above(heap, heap->nodes[l], heap->nodes[best]))
			best = l;
		if (r < heap->len && heap_above(heap, heap->nodes[r], heap->nodes[best]))
			best = r;
		if (best == i)
			return top;
		uint32_t swap = heap->nodes[i];

		heap->nodes[i] = heap->nodes[best];
		heap->nodes[best] = swap;
		i = best;
	}
}

/*
 * The analysis, typing the heap while the graph's scan runs and keeping
 * the types for the members of why's steps and describe's fields. The
 * heap is typed already only when something before typed it without
 * keeping the tables: then they are made again.
 */
static struct ch_error *analyse(struct page_model *model)
{
	struct ch_error *err;

	err = ch_analysis_init_keeping_types(&model->analysis, model->program,
					     &model->options->analysis);
	if (err) {
		model->analysis.graph = NULL;
		return err;
	}
	model->types = model->analysis.types;
	if (!model->types) {
		err = ch_types_create(model->program, &model->own_types);
		model->types = model->own_types;
	}
	return err;
}

/*
 * The tree and the retained sizes are top's: computed once, for its
 * section and for the treemap and the instances.
 */
static struct ch_error *compute_tree(struct page_model *model)
{
	struct ch_error *err;

	err = ch_top_report_create(&model->analysis,
				   &(struct ch_top_options){
					   .rows = model->options->limit },
				   &model->top);
	if (err)
		return err;
	model->dominators = ch_top_report_tree(model->top, &model->retained,
					       &model->reachable_bytes);
	err = ch_analysis_named_refs(&model->analysis, &model->named);
	if (!err)
		err = ch_type_groups_init(&model->groups, model->program, NULL,
					  NULL);
	return err;
}

static void write_node_type(struct ch_out *out, const struct ch_program *program,
			    uint32_t v)
{
	const char *type = ch_analysis_type(program, v);

	if (type)
		ch_out_json_string(out, type);
	else
		ch_out_str(out, "null");
}

/*
 * What the tree's listed nodes retain in children too small to list, by
 * type: a node's "rest", broken down, for the treemap to colour. Runs of
 * (parent, group) with their count and retained bytes, sorted by parent,
 * then largest first; parent is the listed node's index, num_listed for
 * the super-root.
 */
struct rest_type {
	uint32_t parent, group;
	uint64_t count, retained;
};

struct rest_types {
	struct rest_type *runs;
	size_t num_runs;
	/** Per parent p (0..num_listed), its runs are [start[p], start[p + 1]). */
	size_t *start;
};

static int compare_rest_by_parent_retained(const void *a, const void *b)
{
	const struct rest_type *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->retained != y->retained)
		return x->retained > y->retained ? -1 : 1;
	return x->group < y->group ? -1 : x->group > y->group;
}

DEFINE_VECTOR(rest_type_vector, struct rest_type);

/*
 * unlisted holds the num_unlisted nodes left in the heap when the listing
 * stopped: each one's dominator is listed (emitted[] gives its index) or
 * is the super-root, and the nodes below them are in their retained sizes.
 * They are most of the heap, the runs few: each node adds to its run,
 * found by (parent, group) in a map that stays in the cache.
 */
static struct ch_error *collect_rest_types(const struct page_model *model,
					   const uint32_t *unlisted,
					   size_t num_unlisted,
					   const uint32_t *emitted,
					   size_t num_listed,
					   struct rest_types *ret)
{
	const struct ch_dominators *dominators = model->dominators;
	struct rest_type_vector runs = { 0 };
	struct ch_u64_map run_of = { 0 };
	size_t *start = calloc(num_listed + 2, sizeof(*start));
	struct ch_error *err = start ? NULL : &ch_enomem;

	for (size_t i = 0; !err && i < num_unlisted; i++) {
		uint32_t v = unlisted[i];
		uint32_t d = dominators->idom[v];
		struct rest_type run = {
			.parent = d == CH_DOMINATOR_ROOT ? (uint32_t)num_listed :
							   emitted[d],
			.group = model->groups.group_of[v],
			.count = 1,
			.retained = model->retained[v],
		};
		uint64_t key = (uint64_t)run.parent << 32 | run.group, r;

		if (ch_u64_map_get(&run_of, key, &r)) {
			runs.data[r].count++;
			runs.data[r].retained += run.retained;
			continue;
		}
		err = ch_u64_map_put(&run_of, key, runs.len);
		if (!err)
			err = rest_type_vector_append(&runs, &run);
	}
	ch_u64_map_deinit(&run_of);
	if (err) {
		rest_type_vector_deinit(&runs);
		free(start);
		return err;
	}
	ch_sort(runs.data, runs.len, sizeof(*runs.data),
		compare_rest_by_parent_retained);
	for (size_t i = 0; i < runs.len; i++)
		start[runs.data[i].parent + 1]++;
	for (size_t p = 0; p <= num_listed; p++)
		start[p + 1] += start[p];
	*ret = (struct rest_types){ runs.data, runs.len, start };
	return NULL;
}

// A node's largest CH_PAGE_REST_TYPES runs as "rest_types".
static void write_rest_types(struct ch_out *out, const struct page_model *model,
			     const struct rest_types *rest_types, size_t parent)
{
	size_t first = rest_types->start[parent];
	size_t end = rest_types->start[parent + 1];

	if (end - first > CH_PAGE_REST_TYPES)
		end = first + CH_PAGE_REST_TYPES;
	ch_out_str(out, ", \"rest_types\": [");
	for (size_t i = first; i < end; i++) {
		const struct rest_type *run = &rest_types->runs[i];
		const struct ch_type_group *group =
			run->group == CH_TYPE_GROUP_NONE ?
				NULL : &model->groups.groups[run->group];

		ch_out_str(out, i > first ? ", {\"type\": " : "{\"type\": ");
		if (group && group->type) {
			ch_out_json_string(out, group->type);
			ch_out_str(out, ", \"size\": null");
		} else {
			ch_out_printf(out, "null, \"size\": %" PRIu64,
				      group ? group->size : 0);
		}
		ch_out_printf(out, ", \"count\": %" PRIu64 ", \"retained\": %" PRIu64 "}",
			      run->count, run->retained);
	}
	ch_out_char(out, ']');
}

/*
 * The children of each node in the dominator tree, in CSR form, by node:
 * index n is the super-root. Node x's are children[offsets[x + 1],
 * offsets[x + 2]) (filled backwards, each range ends where it started).
 * Two passes over the nodes in order, each reading idom in order: the
 * listing's order is the nodes' retained sizes', not the children's.
 */
static struct ch_error *tree_children(const struct ch_dominators *dominators,
				      size_t n, uint32_t **offsets_ret,
				      uint32_t **children_ret)
{
	uint32_t *offsets = calloc(n + 3, sizeof(*offsets));
	uint32_t *children = malloc((n + 1) * sizeof(*children));
	const uint32_t *idom = dominators->idom;

	*offsets_ret = offsets;
	*children_ret = children;
	if (!offsets || !children)
		return &ch_enomem;
	for (size_t v = 0; v < n; v++) {
		if (idom[v] != CH_DOMINATOR_NONE)
			offsets[(idom[v] == CH_DOMINATOR_ROOT ? n : idom[v]) + 1]++;
	}
	for (size_t x = 0; x <= n; x++)
		offsets[x + 1] += offsets[x];
	offsets[n + 2] = offsets[n + 1];
	for (size_t v = n; v-- > 0;) {
		uint32_t d = idom[v];

		if (d != CH_DOMINATOR_NONE)
			children[--offsets[(d == CH_DOMINATOR_ROOT ? n : d) + 1]] =
				(uint32_t)v;
	}
	return NULL;
}

/*
 * The root's children that can be listed: the listing pops max_listed
 * nodes at most, and a child ranking below the max_listed best of them
 * would come after all of those. They go into heap; the others, which
 * stay unlisted, to the end of heap's array (before *tail, which moves
 * down). Most of the heap's allocations are the root's children: the
 * listing's heap holds a few thousand instead.
 */
static struct ch_error *push_root_children(struct node_heap *heap,
					   const uint32_t *children,
					   size_t num_children,
					   size_t max_listed, size_t *tail)
{
	struct node_heap best = { .retained = heap->retained };
	uint32_t last;

	if (num_children <= max_listed) {
		for (size_t c = 0; c < num_children; c++)
			heap_push(heap, children[c]);
		return NULL;
	}
	if (max_listed == 0) {
		for (size_t c = 0; c < num_children; c++)
			heap->nodes[--*tail] = children[c];
		return NULL;
	}
	// The max_listed best, in a heap whose top ranks last of them.
	best.nodes = malloc(max_listed * sizeof(*best.nodes));
	if (!best.nodes)
		return &ch_enomem;
	for (size_t c = 0; c < num_children; c++)
		ch_keep_best(best.nodes, &best.len, max_listed, children[c],
			     heap_above, &best);
	last = best.nodes[0];
	free(best.nodes);
	for (size_t c = 0; c < num_children; c++) {
		uint32_t v = children[c];

		if (v == last || heap_above(heap, v, last))
			heap_push(heap, v);
		else
			heap->nodes[--*tail] = v;
	}
	return NULL;
}

/*
 * The largest nodes of the dominator tree, each after its dominator: pop
 * the largest retained node from a heap that starts with the root's
 * children and takes each popped node's children.
 */
static struct ch_error *write_tree(struct page_model *model)
{
	const struct ch_graph *graph = model->analysis.graph;
	const struct ch_dominators *dominators = model->dominators;
	size_t n = graph->num_nodes;
	struct ch_out *out = model->out;
	_cleanup_free_ uint32_t *child_offsets = NULL;
	_cleanup_free_ uint32_t *children = NULL;
	_cleanup_free_ uint32_t *emitted = malloc((n + 1) * sizeof(*emitted));
	size_t max_listed = model->options->tree_nodes &&
				    model->options->tree_nodes < n ?
			    (size_t)model->options->tree_nodes : n;
	_cleanup_free_ uint32_t *listed = malloc((max_listed + 1) * sizeof(*listed));
	_cleanup_free_ uint64_t *rest = malloc((max_listed + 1) * sizeof(*rest));
	struct node_heap heap = { .retained = model->retained };
	struct rest_types rest_types;
	size_t num_listed = 0, tail = n + 1;
	uint64_t root_rest = model->reachable_bytes;
	struct ch_error *err;

	heap.nodes = malloc((n + 1) * sizeof(*heap.nodes));
	err = tree_children(dominators, n, &child_offsets, &children);
	if (!err && (!emitted || !listed || !rest || !heap.nodes))
		err = &ch_enomem;
	if (!err)
		err = push_root_children(&heap, children + child_offsets[n + 1],
					 child_offsets[n + 2] - child_offsets[n + 1],
					 max_listed, &tail);
	if (err) {
		free(heap.nodes);
		return err;
	}
	while (heap.len && num_listed < max_listed) {
		uint32_t v = heap_pop(&heap);
		uint32_t d = dominators->idom[v];

		emitted[v] = (uint32_t)num_listed;
		listed[num_listed] = v;
		rest[num_listed++] = model->retained[v] -
				     ch_block_size(&graph->blocks[v]);
		if (d == CH_DOMINATOR_ROOT)
			root_rest -= model->retained[v];
		else
			rest[emitted[d]] -= model->retained[v];
		for (uint32_t c = child_offsets[v + 1]; c < child_offsets[v + 2]; c++)
			heap_push(&heap, children[c]);
	}
	// The unlisted: what the heap holds, then the root's children left
	// out of it.
	memmove(heap.nodes + heap.len, heap.nodes + tail,
		(n + 1 - tail) * sizeof(*heap.nodes));
	heap.len += n + 1 - tail;
	err = collect_rest_types(model, heap.nodes, heap.len, emitted,
				 num_listed, &rest_types);
	free(heap.nodes);
	if (err)
		return err;

	ch_out_printf(out, ",\n\"tree\": {\"count\": %zu, \"bytes\": %" PRIu64
			   ", \"rest\": %" PRIu64,
		      dominators->num_reachable, model->reachable_bytes, root_rest);
	write_rest_types(out, model, &rest_types, num_listed);
	ch_out_str(out, ", \"nodes\": [");
	for (size_t i = 0; i < num_listed; i++) {
		uint32_t v = listed[i];
		uint32_t d = dominators->idom[v];

		ch_out_str(out, i ? ",\n  " : "\n  ");
		ch_out_printf(out, "{\"parent\": %" PRId64 ", \"address\": \"0x%" PRIx64
				   "\", \"size\": %" PRIu64 ", \"retained\": %" PRIu64
				   ", \"rest\": %" PRIu64 ", \"type\": ",
			      d == CH_DOMINATOR_ROOT ? (int64_t)-1 : (int64_t)emitted[d],
			      ch_block_identity(&graph->blocks[v]),
			      ch_block_size(&graph->blocks[v]), model->retained[v], rest[i]);
		write_node_type(out, model->program, v);
		write_rest_types(out, model, &rest_types, i);
		ch_out_char(out, '}');
	}
	ch_out_str(out, "]}");
	free(rest_types.runs);
	free(rest_types.start);
	return NULL;
}

/* Groups and instances in the order the page lists them. */
static int compare_groups_by_bytes(const void *a, const void *b, void *arg)
{
	const struct ch_type_groups *groups = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	const struct ch_type_group *gx = &groups->groups[x], *gy = &groups->groups[y];

	if (gx->bytes != gy->bytes)
		return gx->bytes > gy->bytes ? -1 : 1;
	if (gx->count != gy->count)
		return gx->count > gy->count ? -1 : 1;
	return x < y ? -1 : x > y;
}

// Larger first, then the lower node: the order of a type's instances.
static bool instance_before(const void *arg, uint32_t x, uint32_t y)
{
	const struct ch_block *blocks = arg;
	uint64_t x_size = ch_block_size(&blocks[x]);
	uint64_t y_size = ch_block_size(&blocks[y]);

	if (x_size != y_size)
		return x_size > y_size;
	return x < y;
}

/*
 * The instances listed of the first num_types groups of order: each
 * group's limit largest (0: all), the groups in order, each's largest
 * first. One pass keeps them (a heap of limit per group) without sorting
 * all the heap's allocations.
 */
static struct ch_error *select_instances(const struct ch_type_groups *groups,
					 const struct ch_block *blocks,
					 size_t num_blocks,
					 const uint32_t *order,
					 size_t num_types, uint64_t limit,
					 uint32_t **nodes_ret, size_t *len_ret)
{
	_cleanup_free_ uint32_t *rank = malloc((groups->num_groups + 1) * sizeof(*rank));
	_cleanup_free_ size_t *start = calloc(num_types + 1, sizeof(*start));
	_cleanup_free_ size_t *len = calloc(num_types + 1, sizeof(*len));
	uint32_t *nodes;

	*nodes_ret = NULL;
	*len_ret = 0;
	if (!rank || !start || !len)
		return &ch_enomem;
	for (size_t g = 0; g < groups->num_groups; g++)
		rank[g] = UINT32_MAX;
	for (size_t t = 0; t < num_types; t++)
		rank[order[t]] = (uint32_t)t;
	// How many of each group there are, then where each's kept start.
	for (uint32_t v = 0; v < num_blocks; v++) {
		uint32_t g = groups->group_of[v];

		if (g != CH_TYPE_GROUP_NONE && rank[g] != UINT32_MAX)
			len[rank[g]]++;
	}
	for (size_t t = 0; t < num_types; t++) {
		size_t cap = limit && limit < len[t] ? (size_t)limit : len[t];

		start[t + 1] = start[t] + cap;
		len[t] = 0;
	}
	nodes = malloc((start[num_types] + 1) * sizeof(*nodes));
	if (!nodes)
		return &ch_enomem;
	for (uint32_t v = 0; v < num_blocks; v++) {
		uint32_t g = groups->group_of[v];
		uint32_t t = g == CH_TYPE_GROUP_NONE ? UINT32_MAX : rank[g];

		if (t != UINT32_MAX)
			ch_keep_best(nodes + start[t], &len[t],
				     start[t + 1] - start[t], v,
				     instance_before, blocks);
	}
	for (size_t t = 0; t < num_types; t++)
		ch_keep_best_sort(nodes + start[t], len[t], instance_before,
				  blocks);
	*nodes_ret = nodes;
	*len_ret = start[num_types];
	return NULL;
}

// An instance's path from a root (found with the others'), as why
// --format json writes it.
static struct ch_error *write_why(struct page_model *model, uint32_t v,
				  const struct ch_graph_path *path)
{
	const struct ch_block *block = &model->analysis.graph->blocks[v];

	ch_out_str(model->out, ", \"why\": ");
	return ch_why_write_path(&model->analysis, model->types,
				 block->address, v, path, CH_FORMAT_JSON,
				 model->out);
}

// An instance's fields, as describe --format json writes them.
static struct ch_error *write_describe(struct page_model *model, uint32_t v)
{
	const struct ch_block *block = &model->analysis.graph->blocks[v];
	struct ch_description desc;
	struct ch_error *err;

	ch_out_str(model->out, ", \"describe\": ");
	err = ch_description_init(&desc, model->program, model->types,
				  ch_block_identity(block),
				  &(struct ch_describe_options){
					  .max_bytes = DESCRIBE_BYTES,
					  .max_read = DESCRIBE_BYTES,
				  });
	if (err)
		return err;
	ch_description_write_json(model->out, &desc);
	ch_description_deinit(&desc);
	return NULL;
}

// A type's entry in a list of instances by type, up to its allocations'
// opening bracket: {"type": ..., "size": ..., "count": ..., "bytes": ...,
// "allocations": [
static void write_group_head(struct ch_out *out,
			     const struct ch_type_group *group, bool first)
{
	ch_out_str(out, first ? "\n {\"type\": " : ",\n {\"type\": ");
	if (group->type) {
		ch_out_json_string(out, group->type);
		ch_out_str(out, ", \"size\": null");
	} else {
		ch_out_printf(out, "null, \"size\": %" PRIu64, group->size);
	}
	ch_out_printf(out, ", \"count\": %" PRIu64 ", \"bytes\": %" PRIu64
			   ", \"allocations\": [",
		      group->count, group->bytes);
}

static void page_model_deinit(struct page_model *model)
{
	ch_type_groups_deinit(&model->groups);
	ch_top_report_destroy(model->top);
	free(model->named);
	if (model->analysis.graph)
		ch_analysis_deinit(&model->analysis);
	ch_types_destroy(model->own_types);
	free(model->out);
}

/*
 * A list of instances by type, as the member key: the largest instances of
 * the largest groups, each with why and describe.
 */
struct instance_list {
	const struct ch_type_groups *groups;
	const char *key;
	/** The groups in the page's order, the first num_types listed. */
	uint32_t *order;
	size_t num_types;
	/** Their instances, listed in order, and each one's first path. */
	uint32_t *nodes;
	size_t num_listed;
	const struct ch_graph_path *paths;
};

static void instance_list_deinit(struct instance_list *list)
{
	free(list->order);
	free(list->nodes);
}

static struct ch_error *select_list(const struct page_model *model,
				    struct instance_list *list)
{
	const struct ch_graph *graph = model->analysis.graph;
	uint64_t limit = model->options->limit;
	struct ch_error *err;

	err = ch_type_groups_order(list->groups, compare_groups_by_bytes,
				   (void *)list->groups, &list->order);
	if (err)
		return err;
	list->num_types = list->groups->num_groups;
	if (limit && limit < list->num_types)
		list->num_types = limit;
	return select_instances(list->groups, graph->blocks, graph->num_nodes,
				list->order, list->num_types, limit,
				&list->nodes, &list->num_listed);
}

/*
 * The first path of every instance of the lists, from one search of the
 * graph (of the whole heap: one for all the lists); *paths_ret holds them
 * all, each list's paths pointing into it.
 */
static struct ch_error *find_paths(const struct page_model *model,
				   struct instance_list *lists,
				   size_t num_lists,
				   struct ch_graph_path **paths_ret,
				   size_t *num_paths_ret)
{
	_cleanup_free_ uint32_t *targets = NULL;
	size_t num_targets = 0, at = 0;
	struct ch_error *err;

	*paths_ret = NULL;
	*num_paths_ret = 0;
	for (size_t l = 0; l < num_lists; l++)
		num_targets += lists[l].num_listed;
	if (num_targets == 0)
		return NULL;
	targets = malloc(num_targets * sizeof(*targets));
	if (!targets)
		return &ch_enomem;
	for (size_t l = 0; l < num_lists; l++) {
		memcpy(targets + at, lists[l].nodes,
		       lists[l].num_listed * sizeof(*targets));
		at += lists[l].num_listed;
	}
	err = ch_graph_first_paths(model->analysis.graph, model->named,
				   targets, num_targets, paths_ret);
	if (err)
		return err;
	*num_paths_ret = num_targets;
	at = 0;
	for (size_t l = 0; l < num_lists; l++) {
		lists[l].paths = *paths_ret + at;
		at += lists[l].num_listed;
	}
	return NULL;
}

static struct ch_error *write_list(struct page_model *model,
				   const struct instance_list *list)
{
	const struct ch_graph *graph = model->analysis.graph;
	const struct ch_type_groups *groups = list->groups;
	struct ch_out *out = model->out;
	struct ch_error *err = NULL;
	size_t i = 0;

	ch_out_str(out, ",\n");
	ch_out_json_string(out, list->key);
	ch_out_str(out, ": [");
	for (size_t t = 0; !err && t < list->num_types; t++) {
		const struct ch_type_group *group =
			&groups->groups[list->order[t]];
		size_t shown = 0;

		write_group_head(out, group, t == 0);
		for (; !err && i < list->num_listed &&
		       groups->group_of[list->nodes[i]] == list->order[t];
		     i++) {
			uint32_t v = list->nodes[i];

			ch_out_str(out, shown ? ",\n  " : "\n  ");
			ch_out_printf(out, "{\"address\": \"0x%" PRIx64 "\", \"size\": %" PRIu64
					   ", \"retained\": %" PRIu64,
				      ch_block_identity(&graph->blocks[v]),
				      ch_block_size(&graph->blocks[v]), model->retained[v]);
			err = write_why(model, v, &list->paths[i]);
			if (!err)
				err = write_describe(model, v);
			ch_out_char(out, '}');
			shown++;
		}
		ch_out_str(out, "]}");
	}
	ch_out_str(out, "]");
	return err;
}

static bool is_flagged(uint32_t node, void *arg)
{
	return ((const bool *)arg)[node];
}

/* The groups of the allocations of NEW that OLD does not hold. */
static struct ch_error *new_allocation_groups(struct page_model *model,
					      struct ch_program *programs[2],
					      struct ch_type_groups *ret)
{
	const struct ch_graph *graph = model->analysis.graph;
	_cleanup_free_ bool *new_flags = calloc(graph->num_nodes + 1,
						 sizeof(*new_flags));

	if (!new_flags)
		return &ch_enomem;
	ch_diff_mark_only(programs, 1, new_flags);
	return ch_type_groups_init(ret, model->program, is_flagged, new_flags);
}

/*
 * The instances of the page's types ("instances") and, with two cores,
 * of NEW's new allocations by type ("new_instances"), their paths from
 * one search.
 */
static struct ch_error *write_instances(struct page_model *model,
					struct ch_program *programs[2])
{
	struct ch_type_groups new_groups;
	struct instance_list lists[2] = {
		{ .groups = &model->groups, .key = "instances" },
		{ .groups = &new_groups, .key = "new_instances" },
	};
	size_t num_lists = programs[0] ? 2 : 1, num_paths = 0;
	struct ch_graph_path *paths = NULL;
	struct ch_error *err = NULL;

	if (programs[0]) {
		err = new_allocation_groups(model, programs, &new_groups);
		if (err)
			return err;
	}
	for (size_t l = 0; !err && l < num_lists; l++)
		err = select_list(model, &lists[l]);
	if (!err)
		err = find_paths(model, lists, num_lists, &paths, &num_paths);
	for (size_t l = 0; !err && l < num_lists; l++)
		err = write_list(model, &lists[l]);
	ch_graph_paths_free(paths, num_paths);
	for (size_t l = 0; l < num_lists; l++)
		instance_list_deinit(&lists[l]);
	if (programs[0])
		ch_type_groups_deinit(&new_groups);
	return err;
}

/*
 * The allocations of OLD that NEW does not hold, by type, largest first:
 * their addresses and sizes only (OLD has no graph here: no path from a
 * root, no retained size).
 */
static struct ch_error *write_gone_instances(struct page_model *model,
					     struct ch_program *programs[2])
{
	const struct ch_program *old = programs[0];
	const struct ch_block *blocks = old->heap.live.blocks;
	size_t num_blocks = old->heap.live.len;
	uint64_t limit = model->options->limit;
	_cleanup_free_ bool *gone = calloc(num_blocks + 1, sizeof(*gone));
	_cleanup_free_ uint32_t *nodes = NULL;
	_cleanup_free_ uint32_t *order = NULL;
	struct ch_out *out = model->out;
	struct ch_type_groups groups;
	size_t num_types, num_nodes = 0, i = 0;
	struct ch_error *err;

	if (!gone)
		return &ch_enomem;
	ch_diff_mark_only(programs, 0, gone);
	err = ch_type_groups_init(&groups, old, is_flagged, gone);
	if (err)
		return err;
	err = ch_type_groups_order(&groups, compare_groups_by_bytes, &groups,
				   &order);
	num_types = limit && limit < groups.num_groups ? limit : groups.num_groups;
	if (!err)
		err = select_instances(&groups, blocks, num_blocks, order,
				       num_types, limit, &nodes, &num_nodes);
	if (err) {
		ch_type_groups_deinit(&groups);
		return err;
	}
	ch_out_str(out, ",\n\"gone_instances\": [");
	for (size_t t = 0; t < num_types; t++) {
		const struct ch_type_group *group = &groups.groups[order[t]];
		size_t shown = 0;

		write_group_head(out, group, t == 0);
		for (; i < num_nodes && groups.group_of[nodes[i]] == order[t]; i++) {
			ch_out_printf(out, "%s{\"address\": \"0x%" PRIx64
					   "\", \"size\": %" PRIu64 "}",
				      shown ? ", " : "",
				      ch_program_identity(old, &blocks[nodes[i]]),
				      ch_block_size(&blocks[nodes[i]]));
			shown++;
		}
		ch_out_str(out, "]}");
	}
	ch_out_str(out, "]");
	ch_type_groups_deinit(&groups);
	return NULL;
}

/*
 * Every warning of the programs now: those the analysis and the diff gave
 * (a build-id mismatch) came after the summary was written.
 */
static void write_warnings(struct ch_out *out, struct ch_program *programs[2])
{
	bool first = true;

	ch_out_str(out, ",\n\"warnings\": [");
	for (int side = 1; side >= 0; side--) {
		const struct ch_program *program = programs[side];

		for (size_t i = 0; program && i < program->num_warnings; i++) {
			_cleanup_free_ char *message = NULL;

			ch_out_str(out, first ? "\n " : ",\n ");
			first = false;
			// Out of memory: the message without its prefix.
			if (side == 0 && asprintf(&message, "old core: %s",
						  program->warnings[i].message) < 0)
				message = NULL;
			ch_out_json_string(out, message ? message :
						    program->warnings[i].message);
		}
	}
	ch_out_str(out, "]");
}

/*
 * The new core's analysis (its graph, types) and its tree, once, for the
 * types table, top, leaks, the tree and the instances. The typing's, the
 * graph's and the tree's arrays hand their pages on to each other; what
 * the page's parts are made of after takes none, and the pool would only
 * add to their peak.
 */
static struct ch_error *analyse_with_tree(void *arg)
{
	struct page_model *model = arg;
	struct ch_error *err;

	ch_page_pool_open();
	err = analyse(model);
	if (!err)
		err = compute_tree(model);
	ch_page_pool_close();
	return err;
}

/*
 * The old core of `report OLD NEW`: its types, and its retained bytes per
 * type group for the diff, from a graph and a tree of its own made as the
 * new core's are (its statistics line not said: the page's is the new
 * core's).
 */
struct old_side {
	struct ch_program *program;
	struct ch_analysis_options analysis;
	uint64_t *group_retained;
};

static struct ch_error *type_and_retain_old(void *arg)
{
	struct old_side *old = arg;
	struct ch_error *err;

	err = ch_program_load_types(old->program);
	if (!err)
		err = ch_diff_group_retained(old->program, &old->analysis,
					     &old->group_retained);
	return err;
}

/*
 * The new core's analysis and tree, and the old core's typing and
 * retained sizes: for two small heaps at once, the new core's beside the
 * old one's (whose progress is muted, as diff does); else the old core's
 * first, so that only its types and sizes are held through the new core's
 * analysis. The old core's error, if any, is the one.
 */
static struct ch_error *analyse_both(struct page_model *model,
				     struct ch_program *programs[2],
				     struct old_side *old)
{
	struct ch_work works[2] = {
		{ type_and_retain_old, old, NULL },
		{ analyse_with_tree, model, NULL },
	};

	return ch_run_two(works, ch_diff_pair_fits(programs));
}

// The new core's retained bytes per type group, from the tree made once.
static struct ch_error *new_group_retained(const struct page_model *model,
					   uint64_t **ret)
{
	uint64_t *per_group = calloc(model->groups.num_groups + 1,
				     sizeof(*per_group));
	struct ch_error *err;

	if (!per_group)
		return &ch_enomem;
	err = ch_dominators_group_retained(model->dominators, model->retained,
					   model->groups.group_of,
					   model->groups.num_groups, per_group);
	if (err) {
		free(per_group);
		return err;
	}
	*ret = per_group;
	return NULL;
}

// The diff of the two cores, with retained sizes, neither core's graph
// made again.
static struct ch_error *write_diff(const struct page_model *model,
				   struct ch_program *programs[2],
				   const struct old_side *old, FILE *stream)
{
	_cleanup_free_ uint64_t *new_retained = NULL;
	struct ch_error *err;

	err = new_group_retained(model, &new_retained);
	if (err)
		return err;
	return ch_diff_report_write(programs, &(struct ch_diff_options){
		.retained = true,
		.group_retained = { old->group_retained, new_retained },
	}, CH_FORMAT_JSON, stream);
}

/*
 * The model of programs[1] (programs[0]: NULL, or OLD for the parts of a
 * diff).
 */
static struct ch_error *write_model(struct ch_program *programs[2],
				    const struct ch_page_options *options,
				    FILE *stream)
{
	struct ch_program *program = programs[1];
	struct page_model model = { .program = program, .options = options };
	struct old_side old = { .program = programs[0],
				.analysis = options->analysis };
	struct ch_error *err = NULL;

	old.analysis.stats = false;
	fprintf(stream, "{\"schema\": 1, \"generator\": \"coreheap %s\", \"limit\": %" PRIu64 ",\n",
		PACKAGE_VERSION, options->limit);
	if (programs[0]) {
		fputs("\"old_summary\": ", stream);
		err = ch_summary_report_write(programs[0], CH_FORMAT_JSON,
					      stream);
		if (!err)
			fputs(",\n", stream);
	}
	if (!err) {
		fputs("\"summary\": ", stream);
		err = ch_summary_report_write(program, CH_FORMAT_JSON, stream);
	}
	if (!err)
		err = programs[0] ? analyse_both(&model, programs, &old) :
				    analyse_with_tree(&model);
	if (!err) {
		fputs(",\n\"types\": ", stream);
		err = ch_types_report_write_types(model.types,
			&(struct ch_types_options){
				.sort = CH_TYPES_SORT_BYTES,
			}, CH_FORMAT_JSON, stream);
	}
	if (!err) {
		fputs(",\n\"top\": ", stream);
		err = ch_top_report_write_created(model.top, CH_FORMAT_JSON,
						  stream);
	}
	if (!err) {
		fputs(",\n\"leaks\": ", stream);
		err = ch_leaks_report_write_analysis(&model.analysis,
			&(struct ch_leaks_options){
				.max_allocations = options->limit,
			}, CH_FORMAT_JSON, stream);
	}
	if (!err && programs[0]) {
		fputs(",\n\"diff\": ", stream);
		err = write_diff(&model, programs, &old, stream);
	}
	if (!err) {
		model.out = malloc(sizeof(*model.out));
		if (!model.out)
			err = &ch_enomem;
	}
	free(old.group_retained);
	if (err) {
		page_model_deinit(&model);
		return err;
	}
	ch_out_init(model.out, stream);
	err = write_tree(&model);
	if (!err)
		err = write_instances(&model, programs);
	if (!err && programs[0])
		err = write_gone_instances(&model, programs);
	if (!err) {
		write_warnings(model.out, programs);
		ch_out_str(model.out, "}\n");
		err = ch_out_finish(model.out);
	}
	page_model_deinit(&model);
	return err;
}

struct ch_error *ch_page_model_write(struct ch_program *program,
				     const struct ch_page_options *options,
				     FILE *stream)
{
	return write_model((struct ch_program *[2]){ NULL, program }, options,
			   stream);
}

struct ch_error *ch_page_model_write_diff(struct ch_program *programs[2],
					  const struct ch_page_options *options,
					  FILE *stream)
{
	return write_model(programs, options, stream);
}
