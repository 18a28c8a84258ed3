// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/strbuf.h"
#include "report/analysis.h"
#include "types/types.h"

static void print_stats(const struct ch_analysis *analysis)
{
	const struct ch_graph_stats *stats = &analysis->graph->stats;
	double scanned = stats->heap_bytes + stats->root_bytes;
	double seconds = stats->seconds > 1e-9 ? stats->seconds : 1e-9;

	fprintf(stderr,
		"coreheap: scanned %.1f MB (heap %.1f MB, roots %.1f MB) in %.3f s with %u thread%s: %.2f GB/s; %" PRIu64 " edges, %.1f M edges/s; %zu root references\n",
		scanned / 1e6, stats->heap_bytes / 1e6, stats->root_bytes / 1e6,
		stats->seconds, stats->num_threads,
		stats->num_threads == 1 ? "" : "s", scanned / 1e9 / seconds,
		stats->num_edges, stats->num_edges / 1e6 / seconds,
		analysis->graph->num_root_refs);
}

struct ch_error *ch_analysis_init(struct ch_analysis *analysis,
				  struct ch_program *program,
				  const struct ch_analysis_options *options)
{
	struct ch_graph_options graph_options = {
		.interior = !options->no_interior,
		.num_threads = options->threads,
	};
	struct ch_error *err;

	*analysis = (struct ch_analysis){ .program = program };
	// Reports name each allocation's type where it is known.
	err = ch_program_load_types(program);
	if (err)
		return err;
	err = ch_roots_create(program, &analysis->roots);
	if (err)
		return err;
	err = ch_graph_build(&program->heap, program->address_space,
			     program->core, analysis->roots, &graph_options,
			     &analysis->graph);
	if (err) {
		ch_roots_destroy(analysis->roots);
		analysis->roots = NULL;
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

void ch_analysis_deinit(struct ch_analysis *analysis)
{
	ch_graph_destroy(analysis->graph);
	ch_roots_destroy(analysis->roots);
	analysis->graph = NULL;
	analysis->roots = NULL;
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

		if (addr - other->address < other->size)
			return ch_error_create(CH_ERROR_NOT_FOUND,
					       "0x%" PRIx64 " is not in a live allocation: it is in %s at 0x%" PRIx64 " (%" PRIu64 " bytes)",
					       addr,
					       other->state == COREHEAP_BLOCK_FREE ?
						       "free memory" :
						       "the allocator's metadata",
					       other->address, other->size);
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
	ret->address = root->kind == CH_ROOT_REGISTER ? 0 : ref->source;
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

// The group key: the interned type name's address, or for an unknown type
// its size with the top bit set (user-space names never have it).
static uint64_t group_key(const char *type, uint64_t size)
{
	return type ? (uint64_t)(uintptr_t)type : (size | (UINT64_C(1) << 63));
}

static uint64_t hash_key(uint64_t key)
{
	key ^= key >> 33;
	key *= UINT64_C(0xff51afd7ed558ccd);
	key ^= key >> 33;
	return key;
}

struct ch_error *ch_type_groups_init(struct ch_type_groups *groups,
				     const struct ch_program *program,
				     bool (*include)(uint32_t node, void *arg),
				     void *arg)
{
	const struct ch_heap *heap = &program->heap;
	size_t n = heap->live.len, capacity = 0, slots = 1024;
	_cleanup_free_ uint64_t *keys = NULL;
	_cleanup_free_ uint32_t *values = NULL;

	*groups = (struct ch_type_groups){ 0 };
	groups->group_of = malloc((n + 1) * sizeof(*groups->group_of));
	keys = malloc(slots * sizeof(*keys));
	values = malloc(slots * sizeof(*values));
	if (!groups->group_of || !keys || !values)
		goto nomem;
	memset(keys, 0xff, slots * sizeof(*keys));
	for (uint32_t v = 0; v < n; v++) {
		const char *type;
		uint64_t key;
		size_t slot;

		groups->group_of[v] = CH_GRAPH_NONE;
		if (include && !include(v, arg))
			continue;
		type = ch_heap_block_type(heap, v, NULL);
		key = group_key(type, heap->live.blocks[v].size);
		// Keep the table at most half full: grow and rehash.
		if (2 * (groups->num_groups + 1) > slots) {
			size_t new_slots = 2 * slots;
			uint64_t *new_keys = malloc(new_slots * sizeof(*new_keys));
			uint32_t *new_values = malloc(new_slots * sizeof(*new_values));

			if (!new_keys || !new_values) {
				free(new_keys);
				free(new_values);
				goto nomem;
			}
			memset(new_keys, 0xff, new_slots * sizeof(*new_keys));
			for (size_t s = 0; s < slots; s++) {
				size_t t;

				if (keys[s] == UINT64_MAX)
					continue;
				t = hash_key(keys[s]) & (new_slots - 1);
				while (new_keys[t] != UINT64_MAX)
					t = (t + 1) & (new_slots - 1);
				new_keys[t] = keys[s];
				new_values[t] = values[s];
			}
			free(keys);
			free(values);
			keys = new_keys;
			values = new_values;
			slots = new_slots;
		}
		slot = hash_key(key) & (slots - 1);
		while (keys[slot] != UINT64_MAX && keys[slot] != key)
			slot = (slot + 1) & (slots - 1);
		if (keys[slot] == UINT64_MAX) {
			if (groups->num_groups == capacity) {
				size_t new_capacity = capacity ? 2 * capacity : 64;
				struct ch_type_group *grown = realloc(groups->groups,
								      new_capacity * sizeof(*grown));

				if (!grown)
					goto nomem;
				groups->groups = grown;
				capacity = new_capacity;
			}
			keys[slot] = key;
			values[slot] = groups->num_groups;
			groups->groups[groups->num_groups++] = (struct ch_type_group){
				.type = type,
				.size = type ? 0 : heap->live.blocks[v].size,
				.first_node = v,
			};
		}
		groups->group_of[v] = values[slot];
		groups->groups[values[slot]].count++;
		groups->groups[values[slot]].bytes += heap->live.blocks[v].size;
	}
	return NULL;
nomem:
	ch_type_groups_deinit(groups);
	return &ch_enomem;
}

void ch_type_groups_deinit(struct ch_type_groups *groups)
{
	free(groups->groups);
	free(groups->group_of);
	*groups = (struct ch_type_groups){ 0 };
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

