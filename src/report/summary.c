// SPDX-License-Identifier: MIT
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/sort.h"
#include "base/sorted_u64.h"
#include "base/vector.h"
#include "report/summary.h"

const char *const ch_memory_kind_names[CH_MEMORY_NUM_KINDS] = {
	[CH_MEMORY_HEAP] = "heap",
	[CH_MEMORY_STACK] = "stack",
	[CH_MEMORY_MODULE_CODE] = "module_code",
	[CH_MEMORY_MODULE_DATA] = "module_data",
	[CH_MEMORY_SHARED] = "shared",
	[CH_MEMORY_FILE] = "file",
	[CH_MEMORY_ANONYMOUS] = "anonymous",
	[CH_MEMORY_NO_ACCESS] = "no_access",
	[CH_MEMORY_KERNEL] = "kernel",
};

const char *const ch_memory_kind_titles[CH_MEMORY_NUM_KINDS] = {
	[CH_MEMORY_HEAP] = "allocators' heaps",
	[CH_MEMORY_STACK] = "thread stacks",
	[CH_MEMORY_MODULE_CODE] = "modules' code",
	[CH_MEMORY_MODULE_DATA] = "modules' data",
	[CH_MEMORY_SHARED] = "shared memory",
	[CH_MEMORY_FILE] = "file mappings",
	[CH_MEMORY_ANONYMOUS] = "other anonymous",
	[CH_MEMORY_NO_ACCESS] = "no access",
	[CH_MEMORY_KERNEL] = "kernel (vdso, vvar)",
};

// x86-64's vsyscall page, which cores include.
#define VSYSCALL_START UINT64_C(0xffffffffff600000)

/** A piece of memory an allocator owns, disjoint from every other piece. */
struct owned_piece {
	uint64_t start, end;
	uint32_t region;      // index in heap->regions, or UINT32_MAX
	uint8_t allocator;
	bool unexplained;
};

DEFINE_VECTOR(piece_vector, struct owned_piece);

static int compare_pieces(const void *a, const void *b)
{
	const struct owned_piece *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

// Sort and make disjoint in place: where pieces overlap, the one that
// starts first keeps the bytes.
static void make_disjoint(struct piece_vector *v)
{
	uint64_t covered = 0;
	size_t kept = 0;

	ch_sort(v->data, v->len, sizeof(*v->data), compare_pieces);
	for (size_t i = 0; i < v->len; i++) {
		struct owned_piece piece = v->data[i];

		if (piece.start < covered)
			piece.start = covered;
		if (piece.start >= piece.end)
			continue;
		covered = piece.end;
		v->data[kept++] = piece;
	}
	v->len = kept;
}

// Append to out the pieces of a less the bytes of b (both disjoint, sorted).
static struct ch_error *append_difference(struct piece_vector *out,
					  const struct piece_vector *a,
					  const struct piece_vector *b)
{
	size_t j = 0;

	for (size_t i = 0; i < a->len; i++) {
		struct owned_piece piece = a->data[i];
		struct ch_error *err;

		while (j < b->len && b->data[j].end <= piece.start)
			j++;
		for (size_t k = j; k < b->len && b->data[k].start < piece.end &&
				   piece.start < piece.end;
		     k++) {
			if (b->data[k].start > piece.start) {
				struct owned_piece before = piece;

				before.end = b->data[k].start;
				err = piece_vector_append(out, &before);
				if (err)
					return err;
			}
			piece.start = b->data[k].end;
		}
		if (piece.start < piece.end) {
			err = piece_vector_append(out, &piece);
			if (err)
				return err;
		}
	}
	return NULL;
}

// Per allocator index: it declares nothing it owns, and is no runtime
// (whose objects live inside another allocator's blocks).
static void find_undeclared(const struct ch_program *program,
			    bool undeclared[UINT8_MAX + 1])
{
	for (size_t i = 0; i <= UINT8_MAX; i++)
		undeclared[i] = i < program->allocators.num_uses &&
				!program->allocators.uses[i].ops->is_runtime &&
				!ch_heap_allocator_declares_owned(&program->heap,
								  (uint8_t)i);
}

/*
 * An allocator that declares nothing it owns (a plugin older than
 * add_owned_range) owns, as the roots take it, every mapping that holds one
 * of its blocks.
 */
static struct ch_error *add_undeclared(const struct ch_program *program,
				       const struct ch_block_array *blocks,
				       const bool *undeclared, uint8_t *owner,
				       struct piece_vector *out)
{
	const struct ch_address_space *as = program->address_space;

	for (size_t i = 0; i < blocks->len; i++) {
		const struct ch_block *block = &blocks->blocks[i];
		const struct ch_mapping *mapping;
		size_t m;
		struct ch_error *err;

		if (!undeclared[block->allocator])
			continue;
		mapping = ch_address_space_mapping(as, block->address);
		if (!mapping)
			continue;
		m = (size_t)(mapping - as->mappings);
		if (owner[m])
			continue;
		owner[m] = 1;
		err = piece_vector_append(out, &(struct owned_piece){
			.start = mapping->start,
			.end = mapping->end,
			.region = UINT32_MAX,
			.allocator = block->allocator,
		});
		if (err)
			return err;
	}
	return NULL;
}

// Every byte some allocator owns, once: unexplained ranges first (they cut
// pieces out of heaps declared whole), then declared heaps, then the
// mappings of allocators that declare nothing.
static struct ch_error *owned_pieces(const struct ch_program *program,
				     struct piece_vector *ret)
{
	const struct ch_heap *heap = &program->heap;
	struct piece_vector unexplained = { 0 }, declared = { 0 };
	struct piece_vector undeclared = { 0 }, rest = { 0 };
	_cleanup_free_ uint8_t *owner = NULL;
	bool undeclared_allocators[UINT8_MAX + 1];
	struct ch_error *err = NULL;

	for (size_t i = 0; !err && i < heap->num_owned; i++) {
		const struct ch_owned_range *range = &heap->owned[i];
		struct owned_piece piece = {
			.start = range->start,
			.end = range->end,
			.region = range->region,
			.allocator = range->allocator,
			.unexplained = range->kind == COREHEAP_OWNED_UNEXPLAINED,
		};

		err = piece_vector_append(piece.unexplained ? &unexplained :
							      &declared,
					  &piece);
	}
	owner = calloc(program->address_space->num_mappings + 1, 1);
	if (!err && !owner)
		err = &ch_enomem;
	find_undeclared(program, undeclared_allocators);
	if (!err)
		err = add_undeclared(program, &heap->live, undeclared_allocators,
				     owner, &undeclared);
	if (!err)
		err = add_undeclared(program, &heap->free, undeclared_allocators,
				     owner, &undeclared);
	if (err)
		goto out;
	make_disjoint(&unexplained);
	make_disjoint(&declared);
	make_disjoint(&undeclared);
	for (size_t i = 0; !err && i < unexplained.len; i++)
		err = piece_vector_append(ret, &unexplained.data[i]);
	if (!err)
		err = append_difference(ret, &declared, &unexplained);
	if (!err)
		err = append_difference(&rest, &undeclared, &unexplained);
	if (!err) {
		make_disjoint(&rest);
		err = append_difference(ret, &rest, &declared);
	}
	if (!err)
		ch_sort(ret->data, ret->len, sizeof(*ret->data), compare_pieces);
out:
	piece_vector_deinit(&unexplained);
	piece_vector_deinit(&declared);
	piece_vector_deinit(&undeclared);
	piece_vector_deinit(&rest);
	return err;
}

static bool holds_any(const uint64_t *sorted, size_t n, uint64_t start,
		      uint64_t end)
{
	size_t first = ch_count_below_u64(sorted, n, start);

	return first < n && sorted[first] < end;
}

// Names the kernel gives shared memory in NT_FILE: POSIX shm, SysV
// segments, memfds, and MAP_SHARED|MAP_ANONYMOUS ("/dev/zero (deleted)").
static bool is_shared_memory(const char *path)
{
	static const char *const prefixes[] = {
		"/dev/shm/", "/SYSV", "/memfd:", "/dev/zero",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (!strncmp(path, prefixes[i], strlen(prefixes[i])))
			return true;
	}
	return false;
}

// glibc's hugetlb malloc and MAP_HUGETLB memory are named after a file the
// program never opened.
static bool is_anonymous_file(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "anon_hugepage", 13);
}

static enum ch_memory_kind mapping_kind(const struct ch_program *program,
					const struct ch_mapping *mapping,
					const uint64_t *sps, size_t num_sps)
{
	const struct ch_module *module;

	if (!(mapping->flags & (PF_R | PF_W | PF_X)))
		return CH_MEMORY_NO_ACCESS;
	if (mapping->start >= VSYSCALL_START)
		return CH_MEMORY_KERNEL;
	if (holds_any(sps, num_sps, mapping->start, mapping->end))
		return CH_MEMORY_STACK;
	module = ch_modules_find_by_address(program->modules, mapping->start);
	if (module && module->is_vdso)
		return CH_MEMORY_KERNEL;
	if (module)
		return mapping->flags & PF_X ? CH_MEMORY_MODULE_CODE :
					       CH_MEMORY_MODULE_DATA;
	// The vvar pages sit right below the vDSO, read-only, of no file.
	module = ch_modules_find_by_address(program->modules, mapping->end);
	if (module && module->is_vdso && !mapping->file &&
	    !(mapping->flags & PF_W))
		return CH_MEMORY_KERNEL;
	if (mapping->file && is_shared_memory(mapping->file))
		return CH_MEMORY_SHARED;
	if (mapping->file && !is_anonymous_file(mapping->file))
		return CH_MEMORY_FILE;
	return CH_MEMORY_ANONYMOUS;
}

static void count(const struct ch_address_space *as, uint64_t start,
		  uint64_t end, struct ch_memory_bytes *bytes)
{
	struct ch_address_bytes where;

	ch_address_space_count(as, start, end, &where);
	bytes->total += end - start;
	bytes->in_core += where.in_core;
	bytes->from_files += where.from_files;
	bytes->left_out += where.left_out;
	bytes->lost += where.lost;
	bytes->pieces++;
}

static void count_owned(const struct ch_program *program,
			struct ch_summary_map *map,
			const struct owned_piece *piece, uint64_t start,
			uint64_t end)
{
	const struct ch_address_space *as = program->address_space;

	count(as, start, end, &map->kinds[CH_MEMORY_HEAP]);
	if (piece->allocator < map->num_allocators) {
		struct ch_heap_usage *usage = &map->allocators[piece->allocator];

		count(as, start, end, &usage->bytes);
		if (piece->unexplained)
			usage->unexplained_bytes += end - start;
	}
	if (piece->region < map->num_regions) {
		struct ch_heap_usage *usage = &map->regions[piece->region];

		count(as, start, end, &usage->bytes);
		if (piece->unexplained)
			usage->unexplained_bytes += end - start;
	}
}

DEFINE_VECTOR(mapping_vector, struct ch_mapping);

static int compare_mappings(const void *a, const void *b)
{
	const struct ch_mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The core's mappings, and the file mappings only its NT_FILE note lists:
 * gcore writes no PT_LOAD for what it leaves out (a library's code). Those
 * are readable, executable where the binary's segment is, never taken as
 * writable (the core does not say), sorted with the rest.
 */
static struct ch_error *all_mappings(const struct ch_program *program,
				     struct mapping_vector *ret)
{
	const struct ch_address_space *as = program->address_space;
	const struct ch_core *core = program->core;
	uint64_t covered = 0;
	struct ch_error *err;
	size_t m = 0;

	err = mapping_vector_reserve(ret, as->num_mappings + 1);
	for (size_t i = 0; !err && i < as->num_mappings; i++)
		err = mapping_vector_append(ret, &as->mappings[i]);
	for (size_t i = 0; !err && i < core->num_files; i++) {
		const struct ch_core_file *file = &core->files[i];
		uint64_t pos = file->start > covered ? file->start : covered;

		while (!err && pos < file->end) {
			const struct ch_range *range;
			uint64_t next = file->end;

			while (m < as->num_mappings && as->mappings[m].end <= pos)
				m++;
			if (m < as->num_mappings && as->mappings[m].start <= pos) {
				pos = as->mappings[m].end;
				continue;
			}
			if (m < as->num_mappings && as->mappings[m].start < next)
				next = as->mappings[m].start;
			range = ch_address_space_range(as, pos);
			err = mapping_vector_append(ret, &(struct ch_mapping){
				.start = pos,
				.end = next,
				.flags = PF_R | (range && range->executable ? PF_X : 0),
				.file = file->path,
			});
			pos = next;
		}
		if (file->end > covered)
			covered = file->end;
	}
	if (!err && ret->len > as->num_mappings)
		ch_sort(ret->data, ret->len, sizeof(*ret->data), compare_mappings);
	return err;
}

// Each mapping, once: its bytes an allocator owns are the allocator's, the
// rest the mapping's kind.
static void sweep(const struct ch_program *program,
		  const struct mapping_vector *mappings,
		  const struct piece_vector *pieces, const uint64_t *sps,
		  size_t num_sps, struct ch_summary_map *map)
{
	const struct ch_address_space *as = program->address_space;
	uint64_t covered = 0;
	size_t p = 0;

	for (size_t i = 0; i < mappings->len; i++) {
		const struct ch_mapping *mapping = &mappings->data[i];
		enum ch_memory_kind kind = mapping_kind(program, mapping, sps,
							 num_sps);
		uint64_t pos = mapping->start > covered ? mapping->start :
							  covered;
		struct ch_memory_bytes *own = &map->kinds[kind];
		uint64_t own_pieces = own->pieces;

		while (pos < mapping->end) {
			uint64_t next = mapping->end;

			while (p < pieces->len && pieces->data[p].end <= pos)
				p++;
			if (p < pieces->len && pieces->data[p].start <= pos) {
				if (pieces->data[p].end < next)
					next = pieces->data[p].end;
				count_owned(program, map, &pieces->data[p], pos,
					    next);
			} else {
				if (p < pieces->len &&
				    pieces->data[p].start < next)
					next = pieces->data[p].start;
				count(as, pos, next, own);
			}
			count(as, pos, next, &map->total);
			pos = next;
		}
		// One mapping is one piece of its kind, however an
		// allocator cut it.
		if (own->pieces > own_pieces) {
			own->pieces = own_pieces + 1;
			if (kind == CH_MEMORY_STACK)
				map->num_stacks++;
		}
		if (mapping->end > covered)
			covered = mapping->end;
	}
	map->total.pieces = mappings->len;
}

// live, free but the top chunk's block, top; then overhead as the rest.
static void split_heaps(const struct ch_program *program,
			struct ch_summary_map *map)
{
	const struct ch_heap *heap = &program->heap;

	for (size_t r = 0; r < heap->num_regions; r++) {
		const struct ch_region *region = &heap->regions[r];
		struct ch_heap_usage *usage = &map->regions[r];

		usage->live_count = region->live_count;
		usage->live_bytes = region->live_bytes;
		usage->top_bytes = region->top_size;
	}
	for (size_t i = 0; i < heap->free.len; i++) {
		const struct ch_block *block = &heap->free.blocks[i];
		uint32_t r = ch_block_array_region(&heap->free, i);
		const struct ch_region *region;

		if (block->state != COREHEAP_BLOCK_FREE ||
		    r >= heap->num_regions)
			continue;
		region = &heap->regions[r];
		// The top chunk is reported as a free block too: counted as top.
		if (region->top_size && block->address >= region->top_address &&
		    block->address - region->top_address < region->top_size)
			continue;
		map->regions[r].free_count++;
		map->regions[r].free_bytes += ch_block_size(block);
	}
	for (size_t r = 0; r < heap->num_regions; r++) {
		const struct ch_heap_usage *from = &map->regions[r];
		uint8_t a = heap->regions[r].allocator;

		if (a >= map->num_allocators)
			continue;
		map->allocators[a].live_count += from->live_count;
		map->allocators[a].live_bytes += from->live_bytes;
		map->allocators[a].free_count += from->free_count;
		map->allocators[a].free_bytes += from->free_bytes;
		map->allocators[a].top_bytes += from->top_bytes;
	}
}

static void settle_overhead(struct ch_heap_usage *usage)
{
	uint64_t explained = usage->live_bytes + usage->free_bytes +
			     usage->top_bytes + usage->unexplained_bytes;

	if (explained <= usage->bytes.total)
		usage->overhead_bytes = usage->bytes.total - explained;
	else
		usage->excess_bytes = explained - usage->bytes.total;
}

struct ch_error *ch_summary_map_build(const struct ch_program *program,
				      struct ch_summary_map *ret)
{
	const struct ch_core *core = program->core;
	struct piece_vector pieces = { 0 };
	struct mapping_vector mappings = { 0 };
	_cleanup_free_ uint64_t *sps = NULL;
	struct ch_summary_map map = { 0 };
	struct ch_error *err;

	map.num_allocators = program->allocators.num_uses;
	map.num_regions = program->heap.num_regions;
	map.allocators = calloc(map.num_allocators + 1, sizeof(*map.allocators));
	map.regions = calloc(map.num_regions + 1, sizeof(*map.regions));
	sps = malloc((core->num_threads + 1) * sizeof(*sps));
	if (!map.allocators || !map.regions || !sps) {
		ch_summary_map_deinit(&map);
		return &ch_enomem;
	}
	for (size_t i = 0; i < core->num_threads; i++)
		sps[i] = core->threads[i].regs[CH_REG_RSP];
	ch_sort(sps, core->num_threads, sizeof(*sps), ch_compare_u64);
	err = owned_pieces(program, &pieces);
	if (!err)
		err = all_mappings(program, &mappings);
	if (!err)
		sweep(program, &mappings, &pieces, sps, core->num_threads, &map);
	piece_vector_deinit(&pieces);
	mapping_vector_deinit(&mappings);
	if (err) {
		ch_summary_map_deinit(&map);
		return err;
	}
	split_heaps(program, &map);
	for (size_t i = 0; i < map.num_allocators; i++)
		settle_overhead(&map.allocators[i]);
	for (size_t i = 0; i < map.num_regions; i++)
		settle_overhead(&map.regions[i]);
	*ret = map;
	return NULL;
}

void ch_summary_map_deinit(struct ch_summary_map *map)
{
	free(map->allocators);
	free(map->regions);
	*map = (struct ch_summary_map){ 0 };
}
