// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdlib.h>

#include "base/hash_map.h"
#include "base/large_alloc.h"
#include "base/sort.h"
#include "base/vector.h"
#include "report/type_groups.h"

DEFINE_VECTOR(type_group_vector, struct ch_type_group);

/*
 * While grouping: named types are dense indices of the heap's type names,
 * so their groups are found through an array; unknown types by usable size,
 * through a hash map.
 */
struct grouping {
	const struct ch_heap *heap;
	struct type_group_vector groups;
	/** Group of each type name index, or CH_TYPE_GROUP_NONE. */
	uint32_t *group_of_type;
	struct ch_u64_map group_of_size;
	/**
	 * The group of size UINT64_MAX, which the map cannot hold as a key
	 * (it marks its empty slots); no plugin reports it, but the core is
	 * hostile input.
	 */
	uint32_t group_of_max_size;
};

static void grouping_deinit(struct grouping *g)
{
	type_group_vector_deinit(&g->groups);
	free(g->group_of_type);
	ch_u64_map_deinit(&g->group_of_size);
}

static struct ch_error *new_group(struct grouping *g, const char *type,
				  uint32_t node, uint32_t *ret)
{
	struct ch_type_group *group;
	struct ch_error *err;

	if (g->groups.len >= CH_TYPE_GROUP_NONE)
		return &ch_enomem;
	err = type_group_vector_append_entry(&g->groups, &group);
	if (err)
		return err;
	*group = (struct ch_type_group){
		.type = type,
		.size = type ? 0 : ch_block_size(&g->heap->live.blocks[node]),
		.first_node = node,
	};
	*ret = g->groups.len - 1;
	return NULL;
}

/*
 * The group of live block v, made if it is the first of its group: type is
 * the name of its type names' group type_group (ch_heap_block_group()), or
 * NULL.
 */
static struct ch_error *group_of_block(struct grouping *g, uint32_t v,
				       const char *type, uint32_t type_group,
				       uint32_t *ret)
{
	uint64_t size = ch_block_size(&g->heap->live.blocks[v]), value;
	uint32_t *slot;
	struct ch_error *err;

	if (type) {
		slot = &g->group_of_type[type_group];
	} else if (size == CH_U64_MAP_EMPTY) {
		slot = &g->group_of_max_size;
	} else if (ch_u64_map_get(&g->group_of_size, size, &value)) {
		*ret = value;
		return NULL;
	} else {
		err = new_group(g, NULL, v, ret);
		return err ? err : ch_u64_map_put(&g->group_of_size, size, *ret);
	}
	if (*slot == CH_TYPE_GROUP_NONE) {
		err = new_group(g, type, v, slot);
		if (err)
			return err;
	}
	*ret = *slot;
	return NULL;
}

struct ch_error *ch_type_groups_init(struct ch_type_groups *groups,
				     const struct ch_program *program,
				     bool (*include)(uint32_t node, void *arg),
				     void *arg)
{
	return ch_type_groups_init_nodes(groups, program, NULL,
					 program->heap.live.len, include, arg);
}

/*
 * ch_type_groups_init_nodes(), and with keep_group_of false
 * ch_type_groups_count(): the same groups, without group_of.
 */
static struct ch_error *group_nodes(struct ch_type_groups *groups,
				    const struct ch_program *program,
				    const uint32_t *nodes, size_t n,
				    bool (*include)(uint32_t node, void *arg),
				    void *arg, bool keep_group_of)
{
	const struct ch_heap *heap = &program->heap;
	struct grouping g = {
		.heap = heap,
		.group_of_max_size = CH_TYPE_GROUP_NONE,
	};
	struct ch_error *err = NULL;

	*groups = (struct ch_type_groups){ 0 };
	if (keep_group_of) {
		groups->group_of = ch_malloc_large((n + 1) *
						   sizeof(*groups->group_of));
		if (!groups->group_of)
			return &ch_enomem;
	}
	// A name is only returned for a block when block_types says which.
	g.group_of_type = malloc((heap->num_type_names + 1) *
				 sizeof(*g.group_of_type));
	if (!g.group_of_type) {
		err = &ch_enomem;
		goto out;
	}
	for (size_t t = 0; t < heap->num_type_names; t++)
		g.group_of_type[t] = CH_TYPE_GROUP_NONE;
	for (size_t k = 0; k < n; k++) {
		uint32_t v = nodes ? nodes[k] : (uint32_t)k;
		enum ch_type_source source = CH_TYPE_UNKNOWN;
		const char *type;
		struct ch_type_group *group;
		uint32_t type_group, index;

		if (groups->group_of)
			groups->group_of[k] = CH_TYPE_GROUP_NONE;
		if (include && !include(v, arg))
			continue;
		// Arrays of T, counted or not, are one group: "T[]".
		type_group = ch_heap_block_group(heap, v, &source);
		type = heap->type_names ? heap->type_names[type_group] : NULL;
		err = group_of_block(&g, v, type, type_group, &index);
		if (err)
			goto out;
		if (groups->group_of)
			groups->group_of[k] = index;
		group = &g.groups.data[index];
		group->count++;
		group->bytes += ch_block_size(&heap->live.blocks[v]);
		group->sources |= 1u << source;
		groups->total_count++;
		groups->total_bytes += ch_block_size(&heap->live.blocks[v]);
	}
	groups->groups = type_group_vector_steal(&g.groups, &groups->num_groups);
out:
	grouping_deinit(&g);
	if (err)
		ch_type_groups_deinit(groups);
	return err;
}

struct ch_error *ch_type_groups_init_nodes(struct ch_type_groups *groups,
					   const struct ch_program *program,
					   const uint32_t *nodes, size_t n,
					   bool (*include)(uint32_t node,
							   void *arg),
					   void *arg)
{
	return group_nodes(groups, program, nodes, n, include, arg, true);
}

struct ch_error *ch_type_groups_count(struct ch_type_groups *groups,
				      const struct ch_program *program)
{
	return group_nodes(groups, program, NULL, program->heap.live.len,
			   NULL, NULL, false);
}

void ch_type_groups_deinit(struct ch_type_groups *groups)
{
	free(groups->groups);
	ch_free_large(groups->group_of);
	*groups = (struct ch_type_groups){ 0 };
}

struct ch_error *ch_type_groups_order(const struct ch_type_groups *groups,
				      int (*compare)(const void *a,
						     const void *b, void *arg),
				      void *arg, uint32_t **order_ret)
{
	size_t n = groups->num_groups;
	uint32_t *order = malloc((n + 1) * sizeof(*order));

	if (!order)
		return &ch_enomem;
	for (size_t g = 0; g < n; g++)
		order[g] = g;
	ch_sort_r(order, n, sizeof(*order), compare, arg);
	*order_ret = order;
	return NULL;
}

void ch_out_group_name(struct ch_out *out, const struct ch_type_group *group)
{
	if (group->type)
		ch_out_str(out, group->type);
	else
		ch_out_printf(out, "unknown (%" PRIu64 " bytes)", group->size);
}

void ch_json_group(struct ch_json *json, const struct ch_type_group *group)
{
	ch_json_member_string_or_null(json, "type", group->type);
	ch_json_key(json, "size");
	if (group->type)
		ch_json_null(json);
	else
		ch_json_u64(json, group->size);
}
