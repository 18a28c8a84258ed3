// SPDX-License-Identifier: MIT
// Unit tests of the heap graph: the block index, the dominator computation
// (against a naive one), the scan on a synthetic core, roots and paths.
#include <criterion/criterion.h>
#include <elf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph/dominators.h"
#include "base/bitmap.h"
#include "base/large_alloc.h"
#include "graph/graph.h"
#include "graph/roots.h"
#include "heap/block_index.h"
#include "heap/heap.h"
#include "heap/program.h"
#include "report/analysis.h"
#include "error_assertions.h"
#include "rng.h"
#include "synthetic_core.h"

/* The block index. */

// The answer of a linear search, the definition the index must meet.
static uint32_t find_linear(const struct ch_block *blocks, size_t n,
			    uint64_t addr, bool interior)
{
	for (size_t i = 0; i < n; i++) {
		if (interior ? addr - blocks[i].address < ch_block_size(&blocks[i]) ||
				       addr == blocks[i].address :
			       addr == blocks[i].address)
			return i;
	}
	return CH_NO_BLOCK;
}

enum { INDEX_TEST_BLOCKS = 3000 };

/*
 * Small blocks packed in pages, runs of tiny ones (more in a granule than
 * a lookup compares at once), gaps, blocks spanning pages and GiB
 * boundaries, a jump of many GiB, a zero-size block. Returns the end of
 * the last one.
 */
static uint64_t make_aligned_index_test_blocks(struct ch_block *blocks,
					       size_t n, uint64_t align)
{
	uint64_t addr = 0x555500000000;

	for (size_t i = 0; i < n; i++) {
		uint64_t kind = rng() % 100;
		uint64_t size = kind < 70 ? 16 + rng() % 200 :
				kind < 80 ? rng() % 16 :
				kind < 97 ? 4096 + rng() % 40000 :
					    (UINT64_C(1) << 30) + rng() % 4096;

		if (i == n / 2)
			addr += UINT64_C(0x2000000000);
		if (i == n / 3)
			size = 0;
		addr += rng() % 3 == 0 ? 16 * (rng() % 64) : 0;
		blocks[i] = (struct ch_block){ .address = addr, .size_bits = size };
		addr += size + 16;
		addr &= ~(align - 1);
	}
	return addr;
}

static uint64_t make_index_test_blocks(struct ch_block *blocks, size_t n)
{
	return make_aligned_index_test_blocks(blocks, n, 16);
}

// An address to look up: a block's start, inside or past it, before it, or
// anywhere from the first block to past the last.
static uint64_t index_test_probe(const struct ch_block *blocks, size_t n,
				 uint64_t end, int probe)
{
	size_t i = rng() % n;

	switch (probe % 4) {
	case 0: return blocks[i].address;
	case 1: return blocks[i].address + rng() % (ch_block_size(&blocks[i]) + 64);
	case 2: return blocks[i].address - 1 - rng() % 64;
	default: return blocks[0].address + rng() % (end - blocks[0].address + 4096);
	}
}

Test(block_index, agrees_with_a_linear_search)
{
	static struct ch_block blocks[INDEX_TEST_BLOCKS];
	size_t n = INDEX_TEST_BLOCKS;
	struct ch_block_index index;
	uint64_t end;

	rng_state = 42;
	end = make_index_test_blocks(blocks, n);
	assert_no_error(ch_block_index_init(&index, blocks, n));
	for (int probe = 0; probe < 200000; probe++) {
		uint64_t at = index_test_probe(blocks, n, end, probe);

		for (int interior = 0; interior < 2; interior++) {
			uint32_t want = find_linear(blocks, n, at, interior);
			uint32_t got = ch_block_index_find(&index, at, interior);

			cr_assert_eq(got, want, "0x%lx (interior %d): index says %u, linear search %u",
				     at, interior, got, want);
		}
	}
	cr_assert_eq(ch_block_index_find(&index, 0, true), CH_NO_BLOCK);
	cr_assert_eq(ch_block_index_find(&index, UINT64_MAX, true), CH_NO_BLOCK);
	ch_block_index_deinit(&index);
}

// Sorted lookups of a batch, over the whole of it and over parts shorter
// and longer than how far they fetch ahead, agree with the linear search;
// the batch says it is full at its last pair, not before.
Test(block_index, sorted_lookups_agree_with_a_linear_search)
{
	static struct ch_block blocks[INDEX_TEST_BLOCKS];
	enum { PROBES = 40000 };
	size_t n = INDEX_TEST_BLOCKS;
	struct ch_lookup_batch batch;
	struct ch_found_block *spans = malloc(PROBES * sizeof(*spans));
	const struct ch_sort_pair *sorted;
	uint32_t *found;
	struct ch_block_index index;
	uint64_t end;

	cr_assert(spans);
	assert_no_error(ch_lookup_batch_init(&batch, PROBES));
	sorted = batch.sorted;
	found = batch.found;
	rng_state = 43;
	end = make_index_test_blocks(blocks, n);
	assert_no_error(ch_block_index_init(&index, blocks, n));
	for (int probe = 0; probe < PROBES; probe++) {
		uint64_t key = probe == 0 ? 0 :
			       probe == 1 ? UINT64_MAX :
					    index_test_probe(blocks, n, end, probe);

		cr_assert_eq(ch_lookup_batch_push(&batch, key, (uint32_t)probe),
			     probe == PROBES - 1, "pair %d", probe);
	}
	ch_lookup_batch_sort(&index, &batch, false);
	for (int interior = 0; interior < 2; interior++) {
		size_t from = 0;

		// Parts of 0 to 99 pairs, then the rest at once.
		for (size_t part = 0; from < PROBES; part++) {
			size_t to = part < 400 ? from + part % 100 : PROBES;

			if (to > PROBES)
				to = PROBES;
			memset(found, 0xee, PROBES * sizeof(*found));
			memset(spans, 0, PROBES * sizeof(*spans));
			// Every other part without the spans.
			ch_lookup_batch_find(&index, &batch, from, to, interior,
					     part % 2 ? spans : NULL);
			for (size_t k = 0; k < PROBES; k++) {
				uint32_t want = k >= from && k < to ?
							find_linear(blocks, n, sorted[k].key,
								    interior) :
							0xeeeeeeee;
				bool spanned = part % 2 && k >= from && k < to &&
					       want != CH_NO_BLOCK;

				cr_assert_eq(found[k], want,
					     "pair %zu of [%zu, %zu), 0x%lx (interior %d): %u, linear search %u",
					     k, from, to, sorted[k].key, interior,
					     found[k], want);
				cr_assert_eq(spans[k].address,
					     spanned ? blocks[want].address : 0,
					     "pair %zu", k);
				cr_assert_eq(spans[k].size,
					     spanned ? ch_block_size(&blocks[want]) : 0,
					     "pair %zu", k);
			}
			from = to;
		}
	}
	ch_block_index_deinit(&index);
	ch_lookup_batch_deinit(&batch);
	free(spans);
}

// Small blocks packed across a 2 MiB boundary, to be found on both sides.
static uint64_t make_packed_index_test_blocks(struct ch_block *blocks,
					      size_t n)
{
	uint64_t addr = 0x555500200000 - 0x10000;

	for (size_t i = 0; i < n; i++, addr += 64)
		blocks[i] = (struct ch_block){ .address = addr, .size_bits = 48 };
	return addr;
}

// Lookups in any order (by the start bits) of blocks that start on 16
// bytes and on 8, and of blocks packed across a region's end, agree with
// the linear search, and list every key inside a block (any other found
// is a block's start); of blocks that do not, or of two at one address,
// there are none.
Test(block_index, unsorted_lookups_agree_with_a_linear_search)
{
	static struct ch_block blocks[INDEX_TEST_BLOCKS];
	enum { PROBES = 40000 };
	size_t n = INDEX_TEST_BLOCKS;
	struct ch_sort_pair *pairs = malloc(PROBES * sizeof(*pairs));
	uint32_t *found = malloc(PROBES * sizeof(*found));
	uint32_t *inside = malloc(PROBES * sizeof(*inside));
	struct ch_block_index index;

	// Random blocks on 8 bytes, on 16, and small ones packed (on 64).
	static const struct {
		uint64_t align;
		bool packed;
		unsigned start_shift;
	} layouts[] = { { 8, false, 3 }, { 16, false, 4 }, { 64, true, 4 } };

	cr_assert(pairs && found && inside);
	for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
		uint64_t align = layouts[l].align, end;

		rng_state = 44 + align;
		end = layouts[l].packed ?
			      make_packed_index_test_blocks(blocks, n) :
			      make_aligned_index_test_blocks(blocks, n, align);
		assert_no_error(ch_block_index_init(&index, blocks, n));
		cr_assert_eq(index.start_shift, layouts[l].start_shift);
		for (int probe = 0; probe < PROBES; probe++) {
			uint64_t key = probe == 0 ? 0 :
				       probe == 1 ? UINT64_MAX :
						    index_test_probe(blocks, n, end, probe);

			pairs[probe] = (struct ch_sort_pair){ .key = key };
		}
		for (int interior = 0; interior < 2; interior++) {
			size_t num_inside, next_inside = 0;

			memset(found, 0xee, PROBES * sizeof(*found));
			cr_assert(ch_block_index_find_unsorted(&index, pairs, PROBES,
								interior, found,
								inside, &num_inside));
			for (size_t j = 1; j < num_inside; j++)
				cr_assert_gt(inside[j], inside[j - 1]);
			for (size_t k = 0; k < PROBES; k++) {
				uint32_t want = find_linear(blocks, n, pairs[k].key,
							    interior);
				bool at_start = find_linear(blocks, n, pairs[k].key,
							    false) != CH_NO_BLOCK;
				bool listed = next_inside < num_inside &&
					      inside[next_inside] == k;

				cr_assert_eq(found[k], want,
					     "align %lu, 0x%lx (interior %d): %u, linear search %u",
					     align, pairs[k].key, interior,
					     found[k], want);
				// A key found is a block's start unless listed.
				cr_assert(!(listed && at_start) &&
						  (listed || at_start ||
						   find_linear(blocks, n, pairs[k].key,
							       true) == CH_NO_BLOCK),
					  "0x%lx: listed %d, a block's start %d",
					  pairs[k].key, listed, at_start);
				next_inside += listed;
			}
		}
		ch_block_index_deinit(&index);
	}
	blocks[7].address += 4;
	assert_no_error(ch_block_index_init(&index, blocks, n));
	cr_assert_not(ch_block_index_find_unsorted(&index, pairs, PROBES, true,
						   found, inside, NULL));
	ch_block_index_deinit(&index);
	blocks[7].address -= 4;
	ch_block_set_size(&blocks[7], 0);
	blocks[8].address = blocks[7].address;
	assert_no_error(ch_block_index_init(&index, blocks, n));
	cr_assert_not(ch_block_index_find_unsorted(&index, pairs, PROBES, true,
						   found, inside, NULL));
	ch_block_index_deinit(&index);
	free(pairs);
	free(found);
	free(inside);
}

// Region numbers grow with the address and skip the GiBs without blocks:
// blocks 128 GiB apart get numbers a region table apart, not 64K tables.
Test(block_index, region_numbers_grow_and_skip_gaps)
{
	static struct ch_block blocks[4] = {
		{ .address = 0x555500000010, .size_bits = 64 },
		{ .address = 0x555500200010, .size_bits = 64 },
		{ .address = 0x557500000010, .size_bits = 64 },
		{ .address = 0x7f0000000010, .size_bits = 64 },
	};
	struct ch_block_index index;
	uint64_t last = 0;

	assert_no_error(ch_block_index_init(&index, blocks, 4));
	cr_assert_eq(ch_block_index_num_regions(&index), 3 * CH_BLOCK_INDEX_REGIONS);
	for (size_t i = 0; i < 4; i++) {
		uint64_t number = ch_block_index_region_number(&index,
							       blocks[i].address);

		cr_assert_lt(number, ch_block_index_num_regions(&index));
		cr_assert(i == 0 || number > last, "block %zu: region %lu after %lu",
			  i, number, last);
		last = number;
	}
	// The second block is one region (2 MiB) past the first.
	cr_assert_eq(ch_block_index_region_number(&index, blocks[1].address),
		     ch_block_index_region_number(&index, blocks[0].address) + 1);
	// Outside every GiB that holds a block: 0.
	cr_assert_eq(ch_block_index_region_number(&index, 0x600000000000), 0);
	cr_assert_eq(ch_block_index_region_number(&index, 0x1000), 0);
	ch_block_index_deinit(&index);
}

// Blocks (address, size) into a heap, finished; the blocks it keeps.
static void finish_blocks(struct ch_heap *heap, const uint64_t (*blocks)[2],
			  size_t n)
{
	*heap = (struct ch_heap){ 0 };
	for (size_t i = 0; i < n; i++) {
		struct ch_block block = { .address = blocks[i][0],
					  .size_bits = blocks[i][1],
					  .state = COREHEAP_BLOCK_LIVE };

		assert_no_error(ch_heap_add_block(heap, &block, UINT32_MAX, 0,
					  false));
	}
	assert_no_error(ch_heap_finish(heap));
}

static void expect_blocks(const struct ch_heap *heap, const uint64_t *addresses,
			  size_t n, size_t overlaps)
{
	cr_assert_eq(heap->live.len, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(heap->live.blocks[i].address, addresses[i],
			     "block %zu at 0x%" PRIx64, i,
			     heap->live.blocks[i].address);
	cr_assert_eq(heap->overlaps, overlaps);
	cr_assert_eq(heap->num_damage, overlaps);
}

Test(heap, finish_sorts_and_drops_overlaps)
{
	static const uint64_t apart[][2] = {
		{ 0x1000, 32 }, { 0x1020, 16 }, { 0x1040, 0 }, { 0x1050, 16 },
	};
	// Out of order; 0x2020 lies in 0x2000's block, the second 0x2040
	// starts where another does.
	static const uint64_t unsorted[][2] = {
		{ 0x2040, 32 }, { 0x2000, 48 }, { 0x2020, 16 }, { 0x2040, 16 },
	};
	// In order, but 0x3010 lies in 0x3000's block.
	static const uint64_t sorted[][2] = {
		{ 0x3000, 32 }, { 0x3010, 16 }, { 0x3040, 16 },
	};
	struct ch_heap heap;

	finish_blocks(&heap, apart, 4);
	expect_blocks(&heap, (const uint64_t[]){ 0x1000, 0x1020, 0x1040, 0x1050 },
		      4, 0);
	ch_heap_deinit(&heap);
	finish_blocks(&heap, unsorted, 4);
	expect_blocks(&heap, (const uint64_t[]){ 0x2000, 0x2040 }, 2, 2);
	ch_heap_deinit(&heap);
	finish_blocks(&heap, sorted, 3);
	expect_blocks(&heap, (const uint64_t[]){ 0x3000, 0x3040 }, 2, 1);
	ch_heap_deinit(&heap);
}

Test(block_index, empty)
{
	struct ch_block_index index;

	assert_no_error(ch_block_index_init(&index, NULL, 0));
	cr_assert_eq(ch_block_index_find(&index, 0x1000, true), CH_NO_BLOCK);
	ch_block_index_deinit(&index);
}

/* Dominators. */

struct test_graph {
	size_t n;
	uint32_t offsets[200];
	uint32_t targets[4000];
	uint32_t roots[50];
	size_t num_roots;
};

// edges: pairs (from, to), terminated by a negative number.
static void make_graph(struct test_graph *g, size_t n, const int *edges,
		       const int *roots)
{
	size_t e = 0;

	memset(g, 0, sizeof(*g));
	g->n = n;
	for (size_t u = 0; u < n; u++) {
		g->offsets[u] = e;
		for (size_t k = 0; edges[k] >= 0; k += 2) {
			if ((size_t)edges[k] == u)
				g->targets[e++] = edges[k + 1];
		}
	}
	g->offsets[n] = e;
	for (g->num_roots = 0; roots[g->num_roots] >= 0; g->num_roots++)
		g->roots[g->num_roots] = roots[g->num_roots];
}

/*
 * The textbook definition: Dom(super) = {super}; Dom(v) = {v} plus the
 * intersection of Dom(p) over v's predecessors p, iterated to a fixed
 * point; the super-root is node n. idom(v) is the strict dominator of v
 * that every other strict dominator dominates. O(n^3), for small n.
 */
static void naive_dominators(const struct test_graph *g, uint32_t *idom,
			     bool dom[][201])
{
	size_t n = g->n, super = n;
	bool changed = true;
	bool reachable[201] = { false };
	uint32_t stack[201];
	size_t depth = 0;

	for (size_t r = 0; r < g->num_roots; r++) {
		if (!reachable[g->roots[r]]) {
			reachable[g->roots[r]] = true;
			stack[depth++] = g->roots[r];
		}
	}
	while (depth) {
		uint32_t u = stack[--depth];

		for (uint64_t e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
			if (!reachable[g->targets[e]]) {
				reachable[g->targets[e]] = true;
				stack[depth++] = g->targets[e];
			}
		}
	}
	for (size_t v = 0; v <= n; v++)
		for (size_t d = 0; d <= n; d++)
			dom[v][d] = v == super ? d == super : reachable[v];
	while (changed) {
		changed = false;
		for (size_t v = 0; v < n; v++) {
			bool next[201];

			if (!reachable[v])
				continue;
			for (size_t d = 0; d <= n; d++)
				next[d] = true;
			for (size_t r = 0; r < g->num_roots; r++) {
				if (g->roots[r] == v)
					for (size_t d = 0; d <= n; d++)
						next[d] &= dom[super][d];
			}
			for (size_t u = 0; u < n; u++) {
				for (uint64_t e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
					if (g->targets[e] == v && reachable[u])
						for (size_t d = 0; d <= n; d++)
							next[d] &= dom[u][d];
				}
			}
			next[v] = true;
			for (size_t d = 0; d <= n; d++) {
				if (next[d] != dom[v][d]) {
					dom[v][d] = next[d];
					changed = true;
				}
			}
		}
	}
	for (size_t v = 0; v < n; v++) {
		idom[v] = CH_DOMINATOR_NONE;
		if (!reachable[v])
			continue;
		// The strict dominator with the most dominators is the nearest.
		size_t best = super, best_count = 0;

		for (size_t d = 0; d < n; d++) {
			size_t count = 0;

			if (d == v || !dom[v][d])
				continue;
			for (size_t x = 0; x <= n; x++)
				count += dom[d][x];
			if (count > best_count) {
				best = d;
				best_count = count;
			}
		}
		idom[v] = best == super ? CH_DOMINATOR_ROOT : best;
	}
}

/*
 * result.order is a preorder of the dominator tree: each node's idom is on
 * the path from the super-root to the node before it (what follows a node
 * until its subtree ends is that subtree).
 */
static void check_tree_preorder(const struct ch_dominators *result)
{
	uint32_t *path = malloc((result->num_reachable + 1) * sizeof(*path));
	size_t depth = 0;

	cr_assert(path);
	for (size_t i = 0; i < result->num_reachable; i++) {
		uint32_t v = result->order[i], d = result->idom[v];

		while (depth > 0 && path[depth - 1] != d)
			depth--;
		cr_assert(depth > 0 || d == CH_DOMINATOR_ROOT,
			  "node %u at %zu is outside the subtree of its dominator %u",
			  v, i, d);
		path[depth++] = v;
	}
	free(path);
}

static void *count_run(void *arg)
{
	++*(int *)arg;
	return NULL;
}

/*
 * What ch_dominators_compute_taking() gives after_search: the edges it took,
 * which must still be whole (the same as the caller's copies).
 */
struct taken_edges {
	uint32_t **offsets, **targets;
	const uint32_t *want_offsets, *want_targets;
	size_t n;
	int calls;
	struct ch_error *fail;
};

static struct ch_error *check_taken_edges(void *arg, uint32_t *scratch)
{
	struct taken_edges *taken = arg;

	// The scratch is the caller's to write, all of it.
	memset(scratch, 0xa5, (taken->n + 1) * sizeof(*scratch));

	taken->calls++;
	cr_assert(*taken->offsets && *taken->targets);
	cr_assert_arr_eq(*taken->offsets, taken->want_offsets,
			 (taken->n + 1) * sizeof(uint32_t));
	cr_assert_arr_eq(*taken->targets, taken->want_targets,
			 taken->want_offsets[taken->n] * sizeof(uint32_t));
	return taken->fail;
}

/*
 * Copies of the edges, in arrays of their own that a computation can take:
 * the targets in a mapping of *mapped_ret bytes (as the graph's scan
 * leaves them) when mapped_ret is not NULL, else from malloc().
 */
static void copy_edges(size_t n, const uint32_t *offsets,
		       const uint32_t *targets, uint32_t **offsets_ret,
		       uint32_t **targets_ret, size_t *mapped_ret)
{
	size_t targets_bytes = (offsets[n] + 1) * sizeof(**targets_ret);

	*offsets_ret = malloc((n + 1) * sizeof(**offsets_ret));
	if (mapped_ret) {
		*targets_ret = ch_map_huge_aligned(targets_bytes);
		*mapped_ret = targets_bytes;
	} else {
		*targets_ret = malloc(targets_bytes);
	}
	cr_assert(*offsets_ret && *targets_ret);
	memcpy(*offsets_ret, offsets, (n + 1) * sizeof(**offsets_ret));
	memcpy(*targets_ret, targets, offsets[n] * sizeof(**targets_ret));
}

/*
 * The computation that takes the edges finds the same tree as the one that
 * reads them (want), runs after_search once with the edges whole, and
 * frees them.
 */
static void check_taking(size_t n, const uint32_t *offsets,
			 const uint32_t *targets, const uint32_t *roots,
			 size_t num_roots, const struct ch_dominators *want)
{
	uint32_t *taken_offsets, *taken_targets;
	struct taken_edges taken = {
		.offsets = &taken_offsets,
		.targets = &taken_targets,
		.want_offsets = offsets,
		.want_targets = targets,
		.n = n,
	};
	struct ch_dominators result;
	// Every other graph's targets are a mapping.
	static bool mapped;
	size_t targets_mapped = 0;

	mapped = !mapped;
	copy_edges(n, offsets, targets, &taken_offsets, &taken_targets,
		   mapped ? &targets_mapped : NULL);
	assert_no_error(ch_dominators_compute_taking(n, &taken_offsets,
						     &taken_targets,
						     targets_mapped, roots,
						     num_roots,
						     &(struct ch_dominators_then){
							     .fn = check_taken_edges,
							     .arg = &taken },
						     &result));
	cr_assert_eq(taken.calls, 1);
	cr_assert_null(taken_offsets);
	cr_assert_null(taken_targets);
	cr_assert_eq(result.num_reachable, want->num_reachable);
	cr_assert_arr_eq(result.idom, want->idom, n * sizeof(*result.idom));
	cr_assert_arr_eq(result.order, want->order,
			 want->num_reachable * sizeof(*result.order));
	ch_dominators_deinit(&result);
}

static void check_against_naive(const struct test_graph *g,
				const struct ch_block *blocks)
{
	static int beside_runs;
	static bool dom[201][201];
	uint32_t want[200];
	struct ch_dominators result;
	uint64_t *retained, total, want_total = 0;

	naive_dominators(g, want, dom);
	beside_runs = 0;
	assert_no_error(ch_dominators_compute(g->n, g->offsets, g->targets,
					      g->roots, g->num_roots,
					      &(struct ch_dominators_beside){
						      count_run, &beside_runs },
					      &result));
	cr_assert_eq(beside_runs, 1, "the work beside ran %d times", beside_runs);
	check_taking(g->n, g->offsets, g->targets, g->roots, g->num_roots,
		     &result);
	for (size_t v = 0; v < g->n; v++)
		cr_assert_eq(result.idom[v], want[v],
			     "idom(%zu) is %u, expected %u (n %zu)", v,
			     result.idom[v], want[v], g->n);
	// Every reachable node once in the order, after its dominator.
	size_t reachable = 0;

	for (size_t v = 0; v < g->n; v++)
		reachable += want[v] != CH_DOMINATOR_NONE;
	cr_assert_eq(result.num_reachable, reachable);
	for (size_t i = 0; i < result.num_reachable; i++) {
		uint32_t v = result.order[i], d = result.idom[v];
		bool seen = d == CH_DOMINATOR_ROOT;

		for (size_t j = 0; j < i && !seen; j++)
			seen = result.order[j] == d;
		cr_assert(seen, "node %u comes before its dominator %u", v, d);
	}
	check_tree_preorder(&result);
	// Retained: the sizes of everything a node dominates.
	assert_no_error(ch_dominators_retained(&result, blocks, &retained, &total));
	for (size_t v = 0; v < g->n; v++) {
		uint64_t want_retained = 0;

		for (size_t u = 0; u < g->n; u++) {
			if (want[u] != CH_DOMINATOR_NONE && dom[u][v])
				want_retained += ch_block_size(&blocks[u]);
		}
		if (want[v] != CH_DOMINATOR_NONE && want[v] == CH_DOMINATOR_ROOT)
			want_total += retained[v];
		cr_assert_eq(retained[v], want_retained, "retained(%zu) %lu, expected %lu",
			     v, retained[v], want_retained);
	}
	cr_assert_eq(total, want_total);

	// Per group (node % 3): nodes no other node of the group dominates.
	uint32_t group_of[200];
	uint64_t groups[3], want_groups[3] = { 0 };

	for (size_t v = 0; v < g->n; v++)
		group_of[v] = v % 3;
	assert_no_error(ch_dominators_group_retained(&result, retained, group_of,
						     3, groups));
	for (size_t v = 0; v < g->n; v++) {
		bool outermost = want[v] != CH_DOMINATOR_NONE;

		for (size_t d = 0; d < g->n && outermost; d++)
			outermost = !(d != v && dom[v][d] && d % 3 == v % 3);
		if (outermost)
			want_groups[v % 3] += retained[v];
	}
	for (int k = 0; k < 3; k++)
		cr_assert_eq(groups[k], want_groups[k], "group %d: %lu, expected %lu",
			     k, groups[k], want_groups[k]);
	free(retained);
	ch_dominators_deinit(&result);
}

static struct ch_block sized_blocks[200];

static void init_sizes(void)
{
	for (size_t i = 0; i < 200; i++)
		sized_blocks[i] = (struct ch_block){ .address = 0x1000 * (i + 1),
						     .size_bits = 16 + 8 * i };
}

TestSuite(dominators, .init = init_sizes);

static void expect_idoms(const int *edges, size_t n, const int *roots,
			 const uint32_t *expected)
{
	struct test_graph g;
	struct ch_dominators result;

	make_graph(&g, n, edges, roots);
	assert_no_error(ch_dominators_compute(g.n, g.offsets, g.targets,
					      g.roots, g.num_roots, NULL,
					      &result));
	for (size_t v = 0; v < n; v++)
		cr_expect_eq(result.idom[v], expected[v], "idom(%zu) = %u, expected %u",
			     v, result.idom[v], expected[v]);
	ch_dominators_deinit(&result);
	check_against_naive(&g, sized_blocks);
}

#define R CH_DOMINATOR_ROOT
#define X CH_DOMINATOR_NONE

Test(dominators, diamond)
{
	// 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 3 -> 4
	static const int edges[] = { 0, 1, 0, 2, 1, 3, 2, 3, 3, 4, -1 };
	static const int roots[] = { 0, -1 };
	static const uint32_t want[] = { R, 0, 0, 0, 3 };

	expect_idoms(edges, 5, roots, want);
}

Test(dominators, chain_and_cycle)
{
	// 0 -> 1 -> 2 -> 3 -> 1 (a cycle below 1), 3 -> 4
	static const int edges[] = { 0, 1, 1, 2, 2, 3, 3, 1, 3, 4, -1 };
	static const int roots[] = { 0, -1 };
	static const uint32_t want[] = { R, 0, 1, 2, 3 };

	expect_idoms(edges, 5, roots, want);
}

Test(dominators, multiple_roots_share_only_the_super_root)
{
	// Roots 0 and 1 both reach 2; 2 -> 3; 1 alone reaches 4.
	static const int edges[] = { 0, 2, 1, 2, 2, 3, 1, 4, -1 };
	static const int roots[] = { 0, 1, 1, -1 };
	static const uint32_t want[] = { R, R, R, 2, 1 };

	expect_idoms(edges, 5, roots, want);
}

Test(dominators, unreachable_nodes_and_cycles)
{
	// 2 <-> 3 is a cycle no root reaches; 4 points into the reachable
	// part but is unreachable itself; 5 is alone; 1 points to itself.
	static const int edges[] = { 0, 1, 1, 1, 2, 3, 3, 2, 4, 1, -1 };
	static const int roots[] = { 0, -1 };
	static const uint32_t want[] = { R, 0, X, X, X, X };

	expect_idoms(edges, 6, roots, want);
}

Test(dominators, a_root_inside_a_cycle)
{
	// 0 -> 1 -> 2 -> 0, with 1 also a root: nothing but the super-root
	// dominates 0 or 1; 2 is reached only through 1.
	static const int edges[] = { 0, 1, 1, 2, 2, 0, -1 };
	static const int roots[] = { 0, 1, -1 };
	static const uint32_t want[] = { R, R, 1 };

	expect_idoms(edges, 3, roots, want);
}

Test(dominators, no_roots)
{
	static const int edges[] = { 0, 1, -1 };
	static const int roots[] = { -1 };
	static const uint32_t want[] = { X, X };

	expect_idoms(edges, 2, roots, want);
}

// A random graph of 1 to 60 nodes, of up to 1 to 4 edges each, no roots.
static void make_random_graph(struct test_graph *g)
{
	size_t e = 0;
	unsigned density;

	memset(g, 0, sizeof(*g));
	g->n = 1 + rng() % 60;
	density = 1 + rng() % 4;
	for (size_t u = 0; u < g->n; u++) {
		size_t degree = rng() % (density + 1);

		g->offsets[u] = e;
		for (size_t k = 0; k < degree; k++)
			g->targets[e++] = rng() % g->n;
	}
	g->offsets[g->n] = e;
}

// The graph g is, with num_refs root references refs.
static struct ch_graph graph_of(struct test_graph *g, struct ch_root_ref *refs,
				size_t num_refs)
{
	return (struct ch_graph){
		.num_nodes = g->n,
		.edge_offsets = g->offsets,
		.edge_targets = g->targets,
		.root_refs = refs,
		.num_root_refs = num_refs,
	};
}

Test(dominators, random_graphs_agree_with_the_naive_computation)
{
	rng_state = 7;
	for (int round = 0; round < 300; round++) {
		struct test_graph g;

		make_random_graph(&g);
		g.num_roots = rng() % 4;
		for (size_t r = 0; r < g.num_roots; r++)
			g.roots[r] = rng() % g.n;
		check_against_naive(&g, sized_blocks);
	}
}

Test(graph, first_paths_equal_each_targets_own_search)
{
	rng_state = 11;
	for (int round = 0; round < 300; round++) {
		struct test_graph g;
		struct ch_root_ref refs[8];
		bool named[8];
		uint32_t targets[64];
		size_t n, num_targets = 0;
		struct ch_graph_path *all;

		make_random_graph(&g);
		n = g.n;

		struct ch_graph graph = graph_of(&g, refs, rng() % 8);

		for (size_t r = 0; r < graph.num_root_refs; r++) {
			refs[r] = (struct ch_root_ref){ .source = r, .root = r,
							.target = rng() % n };
			named[r] = rng() % 2;
		}
		// Every node, and one of them twice.
		for (uint32_t v = 0; v < n; v++)
			targets[num_targets++] = v;
		targets[num_targets++] = rng() % n;
		assert_no_error(ch_graph_first_paths(&graph, round % 3 ? named : NULL,
						     targets, num_targets, &all));
		for (size_t i = 0; i < num_targets; i++) {
			struct ch_graph_path *one;
			size_t num_one;

			assert_no_error(ch_graph_paths(&graph, round % 3 ? named : NULL,
						       targets[i], 1, &one, &num_one));
			if (num_one == 0) {
				cr_assert_eq(all[i].num_nodes, 0, "round %d node %u", round, targets[i]);
			} else {
				cr_assert_eq(all[i].root_ref, one[0].root_ref, "round %d node %u", round, targets[i]);
				cr_assert_eq(all[i].num_nodes, one[0].num_nodes, "round %d node %u", round, targets[i]);
				cr_assert_eq(memcmp(all[i].nodes, one[0].nodes,
						    one[0].num_nodes * sizeof(uint32_t)), 0,
					     "round %d node %u", round, targets[i]);
			}
			ch_graph_paths_free(one, num_one);
		}
		ch_graph_paths_free(all, num_targets);
	}
}

// Nodes reachable from the set seeds through nodes outside stop, naively.
static void naive_marks(const struct test_graph *g, const bool *seeds,
			const bool *stop, bool *ret)
{
	bool changed = true;

	for (size_t v = 0; v < g->n; v++)
		ret[v] = seeds[v];
	while (changed) {
		changed = false;
		for (size_t u = 0; u < g->n; u++) {
			if (!ret[u])
				continue;
			for (uint64_t e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
				uint32_t v = g->targets[e];

				if (!ret[v] && !stop[v])
					changed = ret[v] = true;
			}
		}
	}
}

Test(graph, marks_agree_with_the_roots_search_and_a_naive_one)
{
	rng_state = 13;
	for (int round = 0; round < 300; round++) {
		struct test_graph g;
		struct ch_root_ref refs[8];
		uint64_t *reached, marked[2] = { 0 }, pending[2] = { 0 };
		uint32_t *root_of;
		bool seeds[64] = { false }, stop[64], want[64];
		size_t n;

		make_random_graph(&g);
		n = g.n;

		struct ch_graph graph = graph_of(&g, refs, rng() % 8);

		for (size_t r = 0; r < graph.num_root_refs; r++)
			refs[r] = (struct ch_root_ref){ .target = rng() % n };
		assert_no_error(ch_graph_reach(&graph, NULL, &root_of));
		assert_no_error(ch_graph_reached(&graph, &reached));
		// From a few nodes no root reaches, not entering what one does.
		for (uint32_t v = 0; v < n; v++) {
			stop[v] = root_of[v] != CH_GRAPH_NONE;
			cr_assert_eq(ch_bit_get(reached, v), stop[v],
				     "round %d node %u", round, v);
			marked[v / 64] = reached[v / 64];
			if (!stop[v] && rng() % 4 == 0) {
				seeds[v] = true;
				ch_bit_set(pending, v);
			}
		}
		naive_marks(&g, seeds, stop, want);
		assert_no_error(ch_graph_mark_reachable(&graph, marked, pending));
		for (uint32_t v = 0; v < n; v++) {
			cr_assert_eq(ch_bit_get(marked, v), want[v] || stop[v],
				     "round %d node %u", round, v);
		}
		cr_assert_eq(pending[0] | pending[1], 0);
		free(root_of);
		free(reached);
	}
}

// Nodes reachable from the set seeds through nodes outside stop, breadth
// first with a queue as long as the graph.
static void queue_marks(size_t n, const uint32_t *offsets,
			const uint32_t *targets, const uint64_t *seeds,
			const uint64_t *stop, uint64_t *ret)
{
	uint32_t *queue = malloc(n * sizeof(*queue));
	size_t head = 0, tail = 0;

	cr_assert(queue);
	for (size_t v = 0; v < n; v++) {
		if (ch_bit_get(seeds, v)) {
			ch_bit_set(ret, v);
			queue[tail++] = (uint32_t)v;
		}
	}
	while (head < tail) {
		uint32_t u = queue[head++];

		for (uint64_t e = offsets[u]; e < offsets[u + 1]; e++) {
			uint32_t v = targets[e];

			if (!ch_bit_get(ret, v) && !ch_bit_get(stop, v)) {
				ch_bit_set(ret, v);
				queue[tail++] = v;
			}
		}
	}
	free(queue);
}

// Long chains and random edges (the queue overflows, and the bitmap is
// swept again), num_seeds seeds at random, some nodes marked on entry.
static void check_large_graph_marks(size_t num_seeds)
{
	size_t n = 4 * CH_GRAPH_MARK_QUEUE, words = ch_bitmap_words(n) + 1;
	uint32_t *offsets = malloc((n + 1) * sizeof(*offsets));
	uint32_t *targets = malloc(4 * n * sizeof(*targets));
	uint64_t *seeds = calloc(words, sizeof(*seeds));
	uint64_t *stop = calloc(words, sizeof(*stop));
	uint64_t *want = calloc(words, sizeof(*want));
	uint64_t e = 0;

	cr_assert(offsets && targets && seeds && stop && want);
	rng_state = 17;
	for (size_t u = 0; u < n; u++) {
		offsets[u] = e;
		if (u % 1000 != 999 && u + 1 < n)
			targets[e++] = (uint32_t)(u + 1);
		for (int k = 1 + rng() % 3; k > 0; k--)
			targets[e++] = rng() % n;
		if (rng() % 64 == 0)
			ch_bit_set(stop, u);
	}
	offsets[n] = e;
	for (size_t k = 0; k < num_seeds; k++) {
		uint32_t seed = rng() % n;

		if (!ch_bit_get(stop, seed))
			ch_bit_set(seeds, seed);
	}
	queue_marks(n, offsets, targets, seeds, stop, want);
	struct ch_graph graph = {
		.num_nodes = n,
		.edge_offsets = offsets,
		.edge_targets = targets,
	};
	uint64_t *marked = malloc(words * sizeof(*marked));
	uint64_t *pending = malloc(words * sizeof(*pending));

	cr_assert(marked && pending);
	// Marked on as many threads as the scan used.
	for (unsigned threads = 1; threads <= 3; threads++) {
		graph.stats.num_threads = threads;
		memcpy(marked, stop, words * sizeof(*marked));
		memcpy(pending, seeds, words * sizeof(*pending));
		assert_no_error(ch_graph_mark_reachable(&graph, marked, pending));
		for (size_t w = 0; w < words; w++) {
			cr_assert_eq(marked[w], want[w] | stop[w],
				     "%u threads, word %zu", threads, w);
			cr_assert_eq(pending[w], 0, "%u threads, word %zu",
				     threads, w);
		}
	}
	free(marked);
	free(pending);
	free(offsets);
	free(targets);
	free(seeds);
	free(stop);
	free(want);
}

Test(graph, marks_a_large_graph_as_a_plain_search_does)
{
	check_large_graph_marks(3);
}

Test(graph, marks_from_more_seeds_than_the_queue_holds)
{
	// The sweep fills the queue with seeds and searches from them before
	// it goes on.
	check_large_graph_marks(2 * CH_GRAPH_MARK_QUEUE);
}

Test(graph, marks_past_a_full_queue)
{
	// A root's target (the last node) points to the even nodes below
	// reach, each of those to the next odd one: more nodes wait at once
	// than the queue holds, behind the sweep, so the bitmap is swept
	// again. What lies above reach is not reached.
	size_t n = 3 * CH_GRAPH_MARK_QUEUE, reach = 5 * CH_GRAPH_MARK_QUEUE / 2;
	uint32_t *offsets = calloc(n + 1, sizeof(*offsets));
	uint32_t *targets = malloc(n * sizeof(*targets));
	struct ch_root_ref root = { .target = (uint32_t)(n - 1) };
	uint64_t *reached, e = 0;

	cr_assert(offsets && targets);
	for (size_t u = 0; u < n; u++) {
		offsets[u] = e;
		if (u % 2 == 0 && u + 1 < n)
			targets[e++] = (uint32_t)(u + 1);
	}
	offsets[n - 1] = e;
	for (size_t v = 0; v < reach; v += 2)
		targets[e++] = (uint32_t)v;
	offsets[n] = e;
	cr_assert_leq(e, n);

	struct ch_graph graph = {
		.num_nodes = n,
		.edge_offsets = offsets,
		.edge_targets = targets,
		.root_refs = &root,
		.num_root_refs = 1,
	};

	for (unsigned threads = 1; threads <= 3; threads++) {
		graph.stats.num_threads = threads;
		assert_no_error(ch_graph_reached(&graph, &reached));
		for (size_t v = 0; v < n; v++)
			cr_assert_eq(ch_bit_get(reached, v),
				     v < reach || v == n - 1,
				     "%u threads, node %zu", threads, v);
		free(reached);
	}
	free(offsets);
	free(targets);
}

/*
 * The dominators of Cooper, Harvey and Kennedy's iterative algorithm
 * ("A Simple, Fast Dominance Algorithm"), node n standing for the
 * super-root: an independent answer for a graph too large for the naive
 * one.
 */
static uint32_t *iterative_idoms(size_t n, const uint32_t *offsets,
				 const uint32_t *targets, const uint32_t *roots,
				 size_t num_roots)
{
	const uint32_t undefined = UINT32_MAX;
	size_t num_edges = offsets[n] + num_roots, num_order = 0;
	uint32_t *pred_offsets = calloc(n + 2, sizeof(*pred_offsets));
	uint32_t *preds = malloc((num_edges + 1) * sizeof(*preds));
	uint32_t *postorder = malloc((n + 1) * sizeof(*postorder));
	uint32_t *order = malloc((n + 1) * sizeof(*order));
	uint32_t *stack = malloc((n + 1) * sizeof(*stack));
	uint32_t *cursor = malloc((n + 1) * sizeof(*cursor));
	uint32_t *doms = malloc((n + 1) * sizeof(*doms));
	size_t depth = 0;
	bool changed = true;

	cr_assert(pred_offsets && preds && postorder && order && stack &&
		  cursor && doms);
#define EDGES_OF(u, body)                                                 \
	do {                                                              \
		if ((u) == n) {                                           \
			for (size_t e = 0; e < num_roots; e++) {          \
				uint32_t t = roots[e];                    \
				body;                                     \
			}                                                 \
		} else {                                                  \
			for (size_t e = offsets[u]; e < offsets[(u) + 1]; e++) { \
				uint32_t t = targets[e];                  \
				body;                                     \
			}                                                 \
		}                                                         \
	} while (0)
	for (size_t u = 0; u <= n; u++)
		EDGES_OF(u, pred_offsets[t + 1]++);
	for (size_t v = 0; v <= n; v++)
		pred_offsets[v + 1] += pred_offsets[v];
	for (size_t u = 0; u <= n; u++)
		EDGES_OF(u, preds[pred_offsets[t]++] = u);
	memmove(pred_offsets + 1, pred_offsets, (n + 1) * sizeof(*pred_offsets));
	pred_offsets[0] = 0;
	// Postorder numbers from the super-root; order: reverse postorder.
	for (size_t v = 0; v <= n; v++) {
		postorder[v] = undefined;
		doms[v] = undefined;
	}
	postorder[n] = 0; // visited
	stack[depth] = n;
	cursor[depth++] = 0;
	while (depth > 0) {
		uint32_t u = stack[depth - 1];
		size_t degree = u == n ? num_roots : offsets[u + 1] - offsets[u];
		uint32_t next = undefined;

		while (cursor[depth - 1] < degree && next == undefined) {
			size_t k = cursor[depth - 1]++;
			uint32_t t = u == n ? roots[k] : targets[offsets[u] + k];

			if (postorder[t] == undefined) {
				postorder[t] = 0;
				next = t;
			}
		}
		if (next != undefined) {
			stack[depth] = next;
			cursor[depth++] = 0;
			continue;
		}
		postorder[u] = num_order;
		order[num_order++] = u;
		depth--;
	}
	doms[n] = n;
	while (changed) {
		changed = false;
		for (size_t k = num_order - 1; k-- > 0;) {
			uint32_t v = order[k], idom = undefined;

			for (size_t e = pred_offsets[v]; e < pred_offsets[v + 1]; e++) {
				uint32_t a = preds[e], b = idom;

				if (doms[a] == undefined)
					continue;
				while (b != undefined && a != b) {
					while (postorder[a] < postorder[b])
						a = doms[a];
					while (postorder[b] < postorder[a])
						b = doms[b];
				}
				idom = a;
			}
			if (doms[v] != idom) {
				doms[v] = idom;
				changed = true;
			}
		}
	}
#undef EDGES_OF
	for (size_t v = 0; v < n; v++)
		doms[v] = doms[v] == undefined ? CH_DOMINATOR_NONE :
			  doms[v] == n	       ? CH_DOMINATOR_ROOT :
						 doms[v];
	free(pred_offsets);
	free(preds);
	free(postorder);
	free(order);
	free(stack);
	free(cursor);
	return doms;
}

// The dominator tree of the graph has the idoms want, in a preorder.
static void check_idoms(const uint32_t *want, size_t n, const uint32_t *offsets,
			const uint32_t *targets, const uint32_t *roots,
			size_t num_roots)
{
	struct ch_dominators result;

	assert_no_error(ch_dominators_compute(n, offsets, targets, roots,
					      num_roots, NULL, &result));
	for (size_t v = 0; v < n; v++)
		cr_assert_eq(result.idom[v], want[v], "idom(%zu) = %u, expected %u",
			     v, result.idom[v], want[v]);
	check_tree_preorder(&result);
	check_taking(n, offsets, targets, roots, num_roots, &result);
	ch_dominators_deinit(&result);
}

// The dominator tree from num_roots random roots (at most 8) has the
// iterative algorithm's idoms.
static void check_from_random_roots(size_t n, const uint32_t *offsets,
				    const uint32_t *targets, size_t num_roots)
{
	uint32_t roots[8], *want;

	cr_assert_leq(num_roots, 8);
	for (size_t r = 0; r < num_roots; r++)
		roots[r] = rng() % n;
	want = iterative_idoms(n, offsets, targets, roots, num_roots);
	check_idoms(want, n, offsets, targets, roots, num_roots);
	free(want);
}

// Large enough for the predecessors to be collected on two threads.
Test(dominators, a_large_random_graph_agrees_with_the_iterative_algorithm)
{
	size_t n = 600000;
	uint32_t *offsets = malloc((n + 1) * sizeof(*offsets));
	uint32_t *targets = malloc(5 * n * sizeof(*targets));
	size_t e = 0;

	cr_assert(offsets && targets);
	rng_state = 13;
	for (size_t u = 0; u < n; u++) {
		size_t degree = rng() % 6;

		offsets[u] = e;
		for (size_t k = 0; k < degree; k++)
			targets[e++] = rng() % n;
	}
	offsets[n] = e;
	cr_assert_gt(e, (size_t)1 << 20);
	check_from_random_roots(n, offsets, targets, 5);
	free(offsets);
	free(targets);
}

/*
 * A random recursive tree under one root (each node's parent an earlier
 * node) with a random edge more into most nodes: each node's idom is then
 * an ancestor at any depth, where a random graph's are mostly the
 * super-root. Large enough for two threads and several buckets.
 */
Test(dominators, a_deep_random_graph_agrees_with_the_iterative_algorithm)
{
	size_t n = 600000, e = 0;
	uint32_t *from = malloc(2 * n * sizeof(*from));
	uint32_t *to = malloc(2 * n * sizeof(*to));
	uint32_t *offsets = calloc(n + 2, sizeof(*offsets));
	uint32_t *targets = malloc(2 * n * sizeof(*targets));
	uint32_t root = 0, *want;

	cr_assert(from && to && offsets && targets);
	rng_state = 29;
	for (size_t v = 1; v < n; v++) {
		from[e] = rng() % v;
		to[e++] = v;
		if (rng() % 4 != 0) {
			from[e] = rng() % n;
			to[e++] = v;
		}
	}
	cr_assert_gt(e, (size_t)1 << 20);
	// In CSR form: by source.
	for (size_t k = 0; k < e; k++)
		offsets[from[k] + 2]++;
	for (size_t u = 0; u < n; u++)
		offsets[u + 2] += offsets[u + 1];
	for (size_t k = 0; k < e; k++)
		targets[offsets[from[k] + 1]++] = to[k];
	want = iterative_idoms(n, offsets, targets, &root, 1);
	check_idoms(want, n, offsets, targets, &root, 1);
	free(want);
	free(from);
	free(to);
	free(offsets);
	free(targets);
}

/*
 * Rows of every length around what the search reads its end from (64
 * edges): each node a hundredth of the time holds 1 to 300 edges, else 0
 * to 3, and most nodes are reached down long paths, so that many a long
 * row waits on the search's stack, its end pushed below its next edge.
 */
Test(dominators, long_rows_agree_with_the_iterative_algorithm)
{
	size_t n = 200000, e = 0, capacity = 8 * n;
	uint32_t *offsets = malloc((n + 1) * sizeof(*offsets));
	uint32_t *targets = malloc(capacity * sizeof(*targets));
	size_t long_rows = 0;

	cr_assert(offsets && targets);
	rng_state = 41;
	for (size_t u = 0; u < n; u++) {
		size_t degree = rng() % 100 == 0 ? 1 + rng() % 300 : rng() % 4;

		offsets[u] = e;
		cr_assert_leq(e + degree, capacity);
		for (size_t k = 0; k < degree; k++)
			targets[e++] = rng() % n;
		long_rows += degree > 64;
	}
	offsets[n] = e;
	cr_assert_gt(long_rows, 100);
	check_from_random_roots(n, offsets, targets, 3);
	free(offsets);
	free(targets);
}

struct reach_then {
	struct ch_graph *graph;
	uint32_t *root_of;
};

// Beside the tree's search: the search's array, made before it is used.
static struct ch_error *prepare_reach(void *arg)
{
	struct reach_then *then = arg;

	return ch_graph_reach_prepare(then->graph, &then->root_of);
}

static struct ch_error *reach_while_whole(void *arg, uint32_t *queue)
{
	struct reach_then *then = arg;

	cr_assert(then->graph->edge_offsets && then->graph->edge_targets);
	cr_assert_not_null(then->root_of, "prepare ran first");
	return ch_graph_reach_queued(then->graph, NULL, queue, then->root_of);
}

/*
 * The graph's tree that gives the edges back: the search from the roots
 * runs first, on the whole graph, and the edges are gone after, as if
 * released. 0 -> 1 -> 2 -> 3, 2 -> 1, and 4 -> 3 that no root reaches.
 */
Test(dominators, the_graph_gives_its_edges_back)
{
	uint32_t *offsets = malloc(6 * sizeof(*offsets));
	uint32_t *targets = malloc(5 * sizeof(*targets));
	struct ch_root_ref root = { .target = 0 };
	struct ch_graph graph = { .num_nodes = 5, .root_refs = &root,
				  .num_root_refs = 1 };
	struct reach_then then = { .graph = &graph };
	struct ch_dominators result;
	const uint32_t want_idom[] = { R, 0, 1, 2, X };

	cr_assert(offsets && targets);
	memcpy(offsets, (const uint32_t[]){ 0, 1, 2, 4, 4, 5 }, 6 * sizeof(*offsets));
	memcpy(targets, (const uint32_t[]){ 1, 2, 3, 1, 3 }, 5 * sizeof(*targets));
	graph.edge_offsets = offsets;
	graph.edge_targets = targets;
	assert_no_error(ch_graph_dominators_releasing_edges(&graph,
							    &(struct ch_dominators_then){
								    .prepare = prepare_reach,
								    .fn = reach_while_whole,
								    .arg = &then },
							    &result));
	cr_assert_null(graph.edge_offsets);
	cr_assert_null(graph.edge_targets);
	cr_assert_arr_eq(result.idom, want_idom, sizeof(want_idom));
	cr_assert_eq(result.num_reachable, 4);
	for (uint32_t v = 0; v < 4; v++)
		cr_assert_eq(then.root_of[v], 0, "node %u", v);
	cr_assert_eq(then.root_of[4], CH_GRAPH_NONE);
	free(then.root_of);
	ch_dominators_deinit(&result);
}

// An error of after_search ends the computation, and the edges are freed.
Test(dominators, an_error_after_the_search_is_returned)
{
	struct test_graph g;
	uint32_t *offsets, *targets;
	struct ch_dominators result = { 0 };
	struct taken_edges taken = { .offsets = &offsets, .targets = &targets };
	struct ch_error *err;

	make_graph(&g, 4, (const int[]){ 0, 1, 1, 2, 2, 3, 3, 1, -1 },
		   (const int[]){ 0, -1 });
	copy_edges(g.n, g.offsets, g.targets, &offsets, &targets, NULL);
	taken.want_offsets = g.offsets;
	taken.want_targets = g.targets;
	taken.n = g.n;
	taken.fail = ch_error_create(CH_ERROR_OS, "the search failed");
	err = ch_dominators_compute_taking(g.n, &offsets, &targets, 0, g.roots,
					   g.num_roots,
					   &(struct ch_dominators_then){
						   .fn = check_taken_edges,
						   .arg = &taken },
					   &result);
	cr_assert_eq(err, taken.fail);
	cr_assert_eq(taken.calls, 1);
	cr_assert_null(offsets);
	cr_assert_null(targets);
	cr_assert_null(result.idom);
	ch_error_destroy(err);
}

static struct ch_error *fail_to_prepare(void *arg)
{
	(void)arg;
	return ch_error_create(CH_ERROR_OS, "no room to prepare");
}

static struct ch_error *never_after(void *arg, uint32_t *queue)
{
	(void)queue;
	*(bool *)arg = true;
	return NULL;
}

// An error of after_search's prepare ends the computation before fn, and
// the edges are freed.
Test(dominators, an_error_beside_the_search_is_returned)
{
	struct test_graph g;
	uint32_t *offsets, *targets;
	struct ch_dominators result = { 0 };
	bool called = false;
	struct ch_error *err;

	make_graph(&g, 4, (const int[]){ 0, 1, 1, 2, 2, 3, 3, 1, -1 },
		   (const int[]){ 0, -1 });
	copy_edges(g.n, g.offsets, g.targets, &offsets, &targets, NULL);
	err = ch_dominators_compute_taking(g.n, &offsets, &targets, 0, g.roots,
					   g.num_roots,
					   &(struct ch_dominators_then){
						   .prepare = fail_to_prepare,
						   .fn = never_after,
						   .arg = &called },
					   &result);
	cr_assert_not_null(err);
	cr_assert_str_eq(err->message, "no room to prepare");
	cr_assert_not(called);
	cr_assert_null(offsets);
	cr_assert_null(targets);
	cr_assert_null(result.idom);
	ch_error_destroy(err);
}

Test(dominators, a_long_list_needs_no_recursion)
{
	// A list of 2 million nodes: a recursive DFS or eval would overflow
	// the stack here.
	size_t n = 2000000;
	uint32_t *offsets = malloc((n + 1) * sizeof(*offsets));
	uint32_t *targets = malloc(n * sizeof(*targets));
	struct ch_block *blocks = calloc(n, sizeof(*blocks));
	uint32_t root = 0;
	struct ch_dominators result;
	uint64_t *retained, total;

	cr_assert(offsets && targets && blocks);
	for (size_t u = 0; u < n; u++) {
		offsets[u] = u;
		targets[u] = u + 1 < n ? u + 1 : 0;    // and back to the head
		ch_block_set_size(&blocks[u], 16);
	}
	offsets[n] = n;
	assert_no_error(ch_dominators_compute(n, offsets, targets, &root, 1,
					      NULL, &result));
	cr_assert_eq(result.num_reachable, n);
	for (size_t v = 1; v < n; v++)
		cr_assert_eq(result.idom[v], v - 1);
	assert_no_error(ch_dominators_retained(&result, blocks, &retained, &total));
	cr_assert_eq(retained[0], 16 * n);
	cr_assert_eq(retained[n - 1], 16);
	cr_assert_eq(total, 16 * n);
	// Two groups taking turns down the list: each is retained by its
	// first node, and the walk down the tree goes 2 million deep.
	uint32_t *group_of = malloc(n * sizeof(*group_of));
	uint64_t groups[2];

	cr_assert(group_of);
	for (size_t v = 0; v < n; v++)
		group_of[v] = v % 2;
	assert_no_error(ch_dominators_group_retained(&result, retained, group_of,
						     2, groups));
	cr_assert_eq(groups[0], 16 * n);
	cr_assert_eq(groups[1], 16 * (n - 1));
	free(group_of);
	free(retained);
	ch_dominators_deinit(&result);
	free(offsets);
	free(targets);
	free(blocks);
}

/*
 * An eval that walks up more vertices than its stack holds (65536), past
 * a vertex of semidominator 1, to one of 0: A (0) -> B (1) -> W (2), and
 * A -> D1 -> ... -> DN -> W, with D1 a root and A -> D2. When W is
 * processed, its one other predecessor is DN, at the end of a path of
 * linked vertices N long: only reading past the compressed part (and past
 * D2's 1) finds D1's 0, and W is then held by the two roots apart.
 */
Test(dominators, an_eval_longer_than_its_stack_reads_up_to_the_least)
{
	size_t chain = 70000, n = 3 + chain;
	uint32_t *offsets = malloc((n + 1) * sizeof(*offsets));
	uint32_t *targets = malloc((n + 4) * sizeof(*targets));
	uint32_t roots[2] = { 0, 3 }, *want;
	size_t e = 0;

	cr_assert(offsets && targets);
	offsets[0] = e;                 // A
	targets[e++] = 1;
	targets[e++] = 3;
	targets[e++] = 4;
	offsets[1] = e;                 // B
	targets[e++] = 2;
	offsets[2] = e;                 // W
	for (size_t d = 3; d < n; d++) {
		offsets[d] = e;
		targets[e++] = d + 1 < n ? d + 1 : 2;
	}
	offsets[n] = e;
	want = iterative_idoms(n, offsets, targets, roots, 2);
	cr_assert_eq(want[2], CH_DOMINATOR_ROOT);
	cr_assert_eq(want[4], CH_DOMINATOR_ROOT);
	cr_assert_eq(want[n - 1], n - 2);
	check_idoms(want, n, offsets, targets, roots, 2);
	free(want);
	free(offsets);
	free(targets);
}

/* The scan, roots and paths on a synthetic core. */

#define HEAP_BASE UINT64_C(0x10000)
#define HEAP_SIZE 0x400000   // 4 MiB: the scan cuts it in 1 MiB chunks
#define DATA_BASE UINT64_C(0x600000)
#define STACK_BASE UINT64_C(0x7ff000)

static uint64_t heap_words[HEAP_SIZE / 8];
static uint64_t data_words[512];
static uint64_t stack_words[512];

struct fixture {
	struct ch_program *program;
	char *path;
};

static void put(uint64_t *words, uint64_t base, uint64_t addr, uint64_t value)
{
	words[(addr - base) / 8] = value;
}

// Write a core of the three segments as they are now, open it, and give it
// an empty heap (the tests add the blocks).
static struct fixture open_core(void)
{
	struct ch_program_options options = { .search.debuginfo_path = "/nonexistent" };
	struct synth_core synth;
	struct fixture f;

	elf_version(EV_CURRENT);
	synth_core_init(&synth);
	synth.segments[0] = (struct synth_segment){
		.vaddr = HEAP_BASE, .memsz = HEAP_SIZE, .data = heap_words,
		.filesz = HEAP_SIZE, .flags = PF_R | PF_W };
	synth.segments[1] = (struct synth_segment){
		.vaddr = DATA_BASE, .memsz = sizeof(data_words), .data = data_words,
		.filesz = sizeof(data_words), .flags = PF_R | PF_W };
	synth.segments[2] = (struct synth_segment){
		.vaddr = STACK_BASE, .memsz = sizeof(stack_words),
		.data = stack_words, .filesz = sizeof(stack_words),
		.flags = PF_R | PF_W };
	synth.num_segments = 3;
	synth.num_threads = 1;
	synth.tids[0] = 77;
	synth.rsps[0] = STACK_BASE + 0x100;
	synth.rips[0] = 0x401000;
	f.path = synth_core_write(&synth);
	assert_no_error(ch_program_open(f.path, &options, &f.program));
	f.program->heap_loaded = true;
	return f;
}

static void add_block(struct ch_heap *heap, uint64_t address, uint64_t size)
{
	struct ch_block block = { .address = address, .size_bits = size,
				  .state = COREHEAP_BLOCK_LIVE };

	assert_no_error(ch_heap_add_block(heap, &block, UINT32_MAX, 0,
					  false));
}

/*
 * Blocks (address, size): A 0x10010/48, B 0x10050/32, C 0x10080/64,
 * D 0x100d0/32 (nothing points to it), E 0x10100/32 <-> F 0x10130/32 (a
 * cycle), G 0x10160/32 (only E points to it). Pointers: A+8 -> B+16
 * (interior), A+16 -> B, B+0 -> C, C+40 -> A (a cycle back), C+48 -> 0x55
 * (nothing). Roots: the stack word at sp+8 -> A; the writable data word at
 * DATA_BASE+24 -> C+8 (interior).
 */
static struct fixture open_fixture(void)
{
	static const uint64_t blocks[][2] = {
		{ 0x10010, 48 }, { 0x10050, 32 }, { 0x10080, 64 }, { 0x100d0, 32 },
		{ 0x10100, 32 }, { 0x10130, 32 }, { 0x10160, 32 },
	};
	struct fixture f;

	memset(heap_words, 0, sizeof(heap_words));
	memset(data_words, 0, sizeof(data_words));
	memset(stack_words, 0, sizeof(stack_words));
	put(heap_words, HEAP_BASE, 0x10018, 0x10050 + 16);
	put(heap_words, HEAP_BASE, 0x10020, 0x10050);
	put(heap_words, HEAP_BASE, 0x10050, 0x10080);
	put(heap_words, HEAP_BASE, 0x10080 + 40, 0x10010);
	put(heap_words, HEAP_BASE, 0x10080 + 48, 0x55);
	put(heap_words, HEAP_BASE, 0x10100, 0x10130);
	put(heap_words, HEAP_BASE, 0x10130, 0x10100);
	put(heap_words, HEAP_BASE, 0x10108, 0x10160);
	put(data_words, DATA_BASE, DATA_BASE + 24, 0x10080 + 8);
	put(stack_words, STACK_BASE, STACK_BASE + 0x108, 0x10010);
	// Below the stack pointer and its red zone: a stale word, not a root.
	put(stack_words, STACK_BASE, STACK_BASE + 0x20, 0x100d0);
	f = open_core();
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		add_block(&f.program->heap, blocks[i][0], blocks[i][1]);
	assert_no_error(ch_heap_finish(&f.program->heap));
	return f;
}

static void close_fixture(struct fixture *f)
{
	ch_program_destroy(f->program);
	unlink(f->path);
	free(f->path);
}

static void edges_of(const struct ch_graph *graph, uint32_t u, char *buf)
{
	buf[0] = '\0';
	for (uint64_t e = graph->edge_offsets[u]; e < graph->edge_offsets[u + 1]; e++)
		sprintf(buf + strlen(buf), "%s%u", e == graph->edge_offsets[u] ? "" : " ",
			graph->edge_targets[e]);
}

Test(graph, scans_blocks_and_roots)
{
	struct fixture f = open_fixture();
	struct ch_roots *roots;
	struct ch_graph *graph;
	struct ch_graph_options options = { .interior = true, .num_threads = 1 };
	uint32_t *root_of;
	char buf[256];

	assert_no_error(ch_roots_create(f.program, &roots));
	assert_no_error(ch_graph_build(&f.program->heap, f.program->address_space,
				       f.program->core, roots, &options, &graph));
	// A (0) -> B (1) twice in a row is one edge; B -> C; C -> A.
	edges_of(graph, 0, buf);
	cr_assert_str_eq(buf, "1");
	edges_of(graph, 1, buf);
	cr_assert_str_eq(buf, "2");
	edges_of(graph, 2, buf);
	cr_assert_str_eq(buf, "0");
	edges_of(graph, 3, buf);
	cr_assert_str_eq(buf, "");
	edges_of(graph, 4, buf);
	cr_assert_str_eq(buf, "5 6");
	edges_of(graph, 5, buf);
	cr_assert_str_eq(buf, "4");
	cr_assert_eq(graph->stats.num_edges, 6);
	cr_assert_eq(graph->stats.heap_bytes, 48 + 32 + 64 + 4 * 32);

	// Root references: the data word (global) first, then the stack.
	cr_assert_eq(graph->num_root_refs, 2);
	cr_assert_eq(roots->roots[graph->root_refs[0].root].kind, CH_ROOT_GLOBAL);
	cr_assert_eq(graph->root_refs[0].source, DATA_BASE + 24);
	cr_assert_eq(graph->root_refs[0].target, 2);
	cr_assert_eq(roots->roots[graph->root_refs[1].root].kind, CH_ROOT_STACK);
	cr_assert_eq(graph->root_refs[1].source, STACK_BASE + 0x108);
	cr_assert_eq(graph->root_refs[1].target, 0);

	// Leaks: D, and the cycle E <-> F with G hanging from it.
	assert_no_error(ch_graph_reach(graph, NULL, &root_of));
	cr_assert_eq(root_of[0], 1);
	cr_assert_eq(root_of[1], 1);
	cr_assert_eq(root_of[2], 0);
	for (uint32_t v = 3; v < 7; v++)
		cr_assert_eq(root_of[v], CH_GRAPH_NONE, "node %u reached", v);
	free(root_of);

	// Paths to B: its one referrer is A, which the stack word holds.
	struct ch_graph_path *paths;
	size_t num_paths;
	uint64_t offset;

	assert_no_error(ch_graph_paths(graph, NULL, 1, 5, &paths, &num_paths));
	cr_assert_eq(num_paths, 1);
	cr_assert_eq(paths[0].root_ref, 1);
	cr_assert_eq(paths[0].num_nodes, 2);
	cr_assert_eq(paths[0].nodes[0], 0);
	cr_assert_eq(paths[0].nodes[1], 1);
	cr_assert(ch_graph_find_pointer(graph, f.program->address_space, 0, 1, &offset));
	cr_assert_eq(offset, 8);
	ch_graph_paths_free(paths, num_paths);
	// Paths to C: the global word, then through B (never through C).
	assert_no_error(ch_graph_paths(graph, NULL, 2, 5, &paths, &num_paths));
	cr_assert_eq(num_paths, 2);
	cr_assert_eq(paths[0].root_ref, 0);
	cr_assert_eq(paths[0].num_nodes, 1);
	cr_assert_eq(paths[0].nodes[0], 2);
	cr_assert_eq(paths[1].root_ref, 1);
	cr_assert_eq(paths[1].num_nodes, 3);
	cr_assert_eq(paths[1].nodes[0], 0);
	cr_assert_eq(paths[1].nodes[1], 1);
	cr_assert_eq(paths[1].nodes[2], 2);
	ch_graph_paths_free(paths, num_paths);
	// One path asked for: the shortest.
	assert_no_error(ch_graph_paths(graph, NULL, 2, 1, &paths, &num_paths));
	cr_assert_eq(num_paths, 1);
	cr_assert_eq(paths[0].num_nodes, 1);
	ch_graph_paths_free(paths, num_paths);
	// No root reaches G.
	assert_no_error(ch_graph_paths(graph, NULL, 6, 5, &paths, &num_paths));
	cr_assert_eq(num_paths, 0);

	// Only the stack word named: its longer path to C comes first, and
	// C is held by it, not by the nearer unnamed global word.
	const bool stack_named[] = { false, true };

	assert_no_error(ch_graph_paths(graph, stack_named, 2, 5, &paths,
				       &num_paths));
	cr_assert_eq(num_paths, 2);
	cr_assert_eq(paths[0].root_ref, 1);
	cr_assert_eq(paths[0].num_nodes, 3);
	cr_assert_eq(paths[1].root_ref, 0);
	cr_assert_eq(paths[1].num_nodes, 1);
	ch_graph_paths_free(paths, num_paths);
	assert_no_error(ch_graph_reach(graph, stack_named, &root_of));
	cr_assert_eq(root_of[2], 1);
	cr_assert_eq(root_of[0], 1);
	free(root_of);
	// Both named: the shortest again.
	const bool both_named[] = { true, true };

	assert_no_error(ch_graph_paths(graph, both_named, 2, 1, &paths,
				       &num_paths));
	cr_assert_eq(num_paths, 1);
	cr_assert_eq(paths[0].root_ref, 0);
	ch_graph_paths_free(paths, num_paths);
	assert_no_error(ch_graph_reach(graph, both_named, &root_of));
	cr_assert_eq(root_of[2], 0);
	free(root_of);

	// Names: the stack word is frame-less here (nothing to unwind).
	struct ch_strbuf name = { 0 };

	assert_no_error(ch_roots_describe(roots, f.program, graph->root_refs[1].root,
					  graph->root_refs[1].source, &name));
	cr_assert(strncmp(name.buf, "tid 77 ", 7) == 0, "name '%s'", name.buf);
	ch_strbuf_deinit(&name);

	// Without its edges (top's last steps), the nodes and roots stay.
	ch_graph_release_edges(graph);
	cr_assert_null(graph->edge_offsets);
	cr_assert_null(graph->edge_targets);
	cr_assert_eq(graph->num_root_refs, 2);
	cr_assert_eq(graph->stats.num_edges, 6);
	ch_graph_destroy(graph);
	ch_roots_destroy(roots);
	close_fixture(&f);
}

Test(graph, no_interior_counts_pointers_to_starts_only)
{
	struct fixture f = open_fixture();
	struct ch_roots *roots;
	struct ch_graph *graph;
	struct ch_graph_options options = { .interior = false, .num_threads = 1 };
	char buf[256];

	assert_no_error(ch_roots_create(f.program, &roots));
	assert_no_error(ch_graph_build(&f.program->heap, f.program->address_space,
				       f.program->core, roots, &options, &graph));
	// A+8 points inside B: no longer an edge; A+16 still is.
	edges_of(graph, 0, buf);
	cr_assert_str_eq(buf, "1");
	// The global points inside C: no root reference; the stack one stays.
	cr_assert_eq(graph->num_root_refs, 1);
	cr_assert_eq(graph->root_refs[0].target, 0);
	ch_graph_destroy(graph);
	ch_roots_destroy(roots);
	close_fixture(&f);
}

#define BIG_BLOCK (HEAP_BASE + 0x100010)
#define BIG_SIZE UINT64_C(0x280000)

static const uint64_t *pointer_free_given;

static struct ch_error *give_pointer_free(void *arg, const uint64_t **ret)
{
	(void)arg;
	*ret = pointer_free_given;
	return NULL;
}

// As give_pointer_free, after the other threads had time to end the scan.
static struct ch_error *give_pointer_free_late(void *arg, const uint64_t **ret)
{
	usleep(200 * 1000);
	return give_pointer_free(arg, ret);
}

static struct ch_error *give_heap_index(void *arg,
					const struct ch_block_index **ret)
{
	return ch_heap_block_index(arg, ret);
}

/*
 * Small blocks over the heap's segment, with gaps, but for one block of
 * 2.5 MiB that the scan must cut between chunks; words pointing at random
 * places of the segment (starts, insides, gaps) or anywhere. The big block
 * holds one pointer, repeated: one edge, however it is cut. The heap is
 * not finished: a test may add blocks.
 */
static struct fixture open_random_heap(void)
{
	struct fixture f;
	struct ch_heap *heap;

	rng_state = 99;
	memset(data_words, 0, sizeof(data_words));
	memset(stack_words, 0, sizeof(stack_words));
	for (size_t i = 0; i < HEAP_SIZE / 8; i++)
		heap_words[i] = rng() % 3 ? HEAP_BASE + rng() % HEAP_SIZE : rng();
	for (uint64_t a = BIG_BLOCK; a < BIG_BLOCK + BIG_SIZE; a += 8)
		put(heap_words, HEAP_BASE, a, HEAP_BASE + 0x40 + 8);
	f = open_core();
	heap = &f.program->heap;
	for (uint64_t addr = HEAP_BASE; addr < HEAP_BASE + HEAP_SIZE - 64;) {
		uint64_t size = 16 + 8 * (rng() % 6);

		if (addr >= BIG_BLOCK && addr < BIG_BLOCK + BIG_SIZE) {
			addr = BIG_BLOCK + BIG_SIZE + 16;
			continue;
		}
		if (addr + size > BIG_BLOCK && addr < BIG_BLOCK) {
			addr = BIG_BLOCK;
			continue;
		}
		add_block(heap, addr, size);
		addr += size + 16 * (rng() % 2);
	}
	add_block(heap, BIG_BLOCK, BIG_SIZE);
	return f;
}

/*
 * The graph is the naive one: ch_heap_find on every word, the same dedup
 * rules. A block the core does not hold has no edges. Its number of edges.
 */
static uint64_t assert_naive_graph(const struct fixture *f,
				   const struct ch_graph *graph)
{
	const struct ch_heap *heap = &f->program->heap;
	uint64_t e = 0;

	for (size_t u = 0; u < heap->live.len; u++) {
		const struct ch_block *block = &heap->live.blocks[u];
		uint32_t previous = CH_GRAPH_NONE;
		uint64_t first;

		cr_assert_eq(graph->edge_offsets[u], e, "node %zu", u);
		if (!ch_address_space_read_u64(f->program->address_space,
					       block->address, &first))
			continue;
		for (uint64_t a = block->address; a + 8 <= block->address + ch_block_size(block); a += 8) {
			uint64_t value;
			const struct ch_block *found;
			uint32_t v;

			cr_assert(ch_address_space_read_u64(f->program->address_space, a, &value));
			found = ch_heap_find(heap, value);
			if (!found)
				continue;
			v = found - heap->live.blocks;
			if (v == u || v == previous)
				continue;
			previous = v;
			cr_assert_eq(graph->edge_targets[e], v, "edge %lu of node %zu", e, u);
			e++;
		}
	}
	cr_assert_eq(graph->edge_offsets[heap->live.len], e);
	cr_assert_eq(graph->stats.num_edges, e);
	return e;
}

Test(graph, parallel_scan_equals_a_naive_one)
{
	struct fixture f = open_random_heap();
	struct ch_heap *heap = &f.program->heap;
	struct ch_roots *roots;

	assert_no_error(ch_heap_finish(heap));
	assert_no_error(ch_roots_create(f.program, &roots));

	struct ch_graph *graphs[3];

	for (unsigned t = 0; t < 3; t++) {
		struct ch_graph_options options = { .interior = true,
						    .num_threads = t + 1 };

		// Three threads ask for the heap's shared index, made by
		// whichever asks first.
		if (t == 2) {
			options.find_index = give_heap_index;
			options.find_index_arg = heap;
		}
		assert_no_error(ch_graph_build(heap, f.program->address_space,
					       f.program->core, roots, &options,
					       &graphs[t]));
		cr_assert_eq(graphs[t]->stats.num_threads, t + 1);
	}
	cr_assert_eq(graphs[2]->index, heap->block_index);
	uint64_t e = assert_naive_graph(&f, graphs[0]);

	cr_assert_gt(e, 100);
	// The big block was cut in three chunks, yet has its one edge.
	size_t big = ch_heap_find(heap, BIG_BLOCK) - heap->live.blocks;

	cr_assert_eq(graphs[0]->edge_offsets[big + 1] - graphs[0]->edge_offsets[big], 1);
	for (unsigned t = 1; t < 3; t++) {
		cr_assert_eq(graphs[t]->stats.num_edges, e);
		cr_assert_eq(memcmp(graphs[t]->edge_offsets, graphs[0]->edge_offsets,
				    (heap->live.len + 1) * sizeof(*graphs[0]->edge_offsets)), 0);
		cr_assert_eq(memcmp(graphs[t]->edge_targets, graphs[0]->edge_targets,
				    e * sizeof(uint32_t)), 0);
	}
	for (unsigned t = 0; t < 3; t++)
		ch_graph_destroy(graphs[t]);

	// Blocks that hold no pointers (every third) lose their edges, the
	// same whether the scan knew them from the start or was told by
	// find_pointer_free while it ran on other threads, and the roots'
	// references are the same whichever thread ended the scan (the last,
	// when find_pointer_free is slow).
	size_t words = (heap->live.len + 63) / 64;
	uint64_t *pointer_free = calloc(words, sizeof(*pointer_free));
	struct ch_graph *graph_of[4];

	cr_assert(pointer_free);
	for (size_t u = 0; u < heap->live.len; u += 3)
		pointer_free[u / 64] |= UINT64_C(1) << (u % 64);
	pointer_free_given = pointer_free;
	for (unsigned t = 0; t < 4; t++) {
		struct ch_graph_options options = { .interior = true,
						    .num_threads = t == 3 ? 2 : t + 1 };

		if (t == 0)
			options.pointer_free = pointer_free;
		else if (t < 3)
			options.find_pointer_free = give_pointer_free;
		else
			options.find_pointer_free = give_pointer_free_late;
		if (t >= 2) {
			options.find_index = give_heap_index;
			options.find_index_arg = heap;
		}
		assert_no_error(ch_graph_build(heap, f.program->address_space,
					       f.program->core, roots, &options,
					       &graph_of[t]));
	}
	for (size_t u = 0; u < heap->live.len; u += 3)
		cr_assert_eq(graph_of[0]->edge_offsets[u + 1], graph_of[0]->edge_offsets[u]);
	cr_assert_gt(graph_of[0]->stats.num_edges, e / 2);
	cr_assert_lt(graph_of[0]->stats.num_edges, e);
	cr_assert_gt(graph_of[0]->num_root_refs, 0);
	for (unsigned t = 1; t < 4; t++) {
		cr_assert_eq(graph_of[t]->stats.num_edges, graph_of[0]->stats.num_edges);
		cr_assert_eq(memcmp(graph_of[t]->edge_offsets, graph_of[0]->edge_offsets,
				    (heap->live.len + 1) * sizeof(*graph_of[0]->edge_offsets)), 0);
		cr_assert_eq(memcmp(graph_of[t]->edge_targets, graph_of[0]->edge_targets,
				    graph_of[0]->stats.num_edges * sizeof(uint32_t)), 0);
		cr_assert_eq(graph_of[t]->num_root_refs, graph_of[0]->num_root_refs);
		cr_assert_eq(memcmp(graph_of[t]->root_refs, graph_of[0]->root_refs,
				    graph_of[0]->num_root_refs * sizeof(*graph_of[0]->root_refs)), 0);
		cr_assert_eq(graph_of[t]->stats.unreadable_bytes,
			     graph_of[0]->stats.unreadable_bytes);
	}
	for (unsigned t = 0; t < 4; t++)
		ch_graph_destroy(graph_of[t]);
	free(pointer_free);
	ch_roots_destroy(roots);
	close_fixture(&f);
}

/*
 * More block bytes than the scan's most chunks of 1 MiB: with a block of
 * 6 GiB that the core does not hold (its pieces are counted, not read),
 * the first pieces are joined two by two as the cutting goes on, twice,
 * and the graph is still the naive one, on one thread and on two.
 */
#define HUGE_BLOCK UINT64_C(0x100000000)
#define HUGE_SIZE (UINT64_C(6) << 30)

Test(graph, scan_joins_the_pieces_of_a_heap_larger_than_its_chunks)
{
	struct fixture f = open_random_heap();
	struct ch_heap *heap = &f.program->heap;
	struct ch_roots *roots;
	uint64_t total = 0, edges[2];

	add_block(heap, HUGE_BLOCK, HUGE_SIZE);
	assert_no_error(ch_heap_finish(heap));
	assert_no_error(ch_roots_create(f.program, &roots));
	for (size_t u = 0; u < heap->live.len; u++)
		total += ch_block_size(&heap->live.blocks[u]);
	for (unsigned t = 0; t < 2; t++) {
		struct ch_graph_options options = { .interior = true,
						    .num_threads = t + 1 };
		struct ch_graph *graph;

		assert_no_error(ch_graph_build(heap, f.program->address_space,
					       f.program->core, roots, &options,
					       &graph));
		cr_assert_eq(graph->stats.heap_bytes, total);
		cr_assert_eq(graph->stats.unreadable_bytes, HUGE_SIZE);
		edges[t] = assert_naive_graph(&f, graph);
		ch_graph_destroy(graph);
	}
	cr_assert_gt(edges[0], 100);
	ch_roots_destroy(roots);
	close_fixture(&f);
}

Test(roots, stack_from_its_pointer_and_writable_mappings)
{
	struct fixture f = open_fixture();
	struct ch_roots *roots;
	bool stack = false, data = false, registers = false;

	assert_no_error(ch_roots_create(f.program, &roots));
	for (size_t r = 0; r < roots->num_roots; r++) {
		const struct ch_root *root = &roots->roots[r];

		// The heap's mapping holds blocks: never a root.
		cr_assert(root->kind == CH_ROOT_REGISTER ||
			  root->end <= HEAP_BASE || root->start >= HEAP_BASE + HEAP_SIZE,
			  "root [0x%lx, 0x%lx) covers the heap", root->start, root->end);
		if (root->kind == CH_ROOT_STACK) {
			// From sp less the 128-byte red zone to the mapping's end.
			cr_assert_eq(root->start, STACK_BASE + 0x100 - 128);
			cr_assert_eq(root->end, STACK_BASE + sizeof(stack_words));
			stack = true;
		}
		if (root->kind == CH_ROOT_GLOBAL) {
			cr_assert_eq(root->start, DATA_BASE);
			cr_assert_eq(root->end, DATA_BASE + sizeof(data_words));
			data = true;
		}
		registers |= root->kind == CH_ROOT_REGISTER;
	}
	cr_assert(stack && data && registers);
	ch_roots_destroy(roots);
	close_fixture(&f);
}

Test(graph, an_empty_heap)
{
	struct fixture f;
	struct ch_roots *roots;
	struct ch_graph *graph;
	struct ch_graph_options options = { .interior = true };
	struct ch_dominators dominators;
	struct ch_graph_path *paths;
	size_t num_paths;
	uint32_t *root_of;

	memset(heap_words, 0, sizeof(heap_words));
	memset(data_words, 0, sizeof(data_words));
	memset(stack_words, 0, sizeof(stack_words));
	f = open_core();
	assert_no_error(ch_heap_finish(&f.program->heap));
	assert_no_error(ch_roots_create(f.program, &roots));
	assert_no_error(ch_graph_build(&f.program->heap, f.program->address_space,
				       f.program->core, roots, &options, &graph));
	cr_assert_eq(graph->num_nodes, 0);
	cr_assert_eq(graph->stats.num_edges, 0);
	cr_assert_eq(graph->num_root_refs, 0);
	assert_no_error(ch_graph_reach(graph, NULL, &root_of));
	free(root_of);
	assert_no_error(ch_graph_paths(graph, NULL, 0, 1, &paths, &num_paths));
	cr_assert_eq(num_paths, 0);
	assert_no_error(ch_dominators_compute(0, graph->edge_offsets,
					      graph->edge_targets, NULL, 0,
					      NULL, &dominators));
	cr_assert_eq(dominators.num_reachable, 0);
	ch_dominators_deinit(&dominators);
	ch_graph_destroy(graph);
	ch_roots_destroy(roots);
	close_fixture(&f);
}

/*
 * An allocator that declares what it owns has exactly that left out: the
 * rest of its mapping (a pool the kernel merged with it) is a root, and a
 * piece it could not explain is a root named so. The stack below sp less
 * the red zone is dead.
 */
Test(roots, owned_ranges_cut_out_exactly)
{
	struct fixture f = open_fixture();
	struct ch_heap *heap = &f.program->heap;
	struct ch_roots *roots;
	uint64_t pool = HEAP_BASE + 0x1000, unexplained = HEAP_BASE + 0x800;
	bool pool_root = false, unexplained_root = false;

	assert_no_error(ch_heap_add_owned_range(heap, 0, UINT32_MAX, HEAP_BASE,
						pool, COREHEAP_OWNED_HEAP));
	assert_no_error(ch_heap_add_owned_range(heap, 0, UINT32_MAX,
						unexplained, unexplained + 0x100,
						COREHEAP_OWNED_UNEXPLAINED));
	assert_no_error(ch_heap_finish(heap));
	cr_assert(ch_heap_allocator_declares_owned(heap, 0));
	cr_assert(!ch_heap_allocator_declares_owned(heap, 1));
	assert_no_error(ch_roots_create(f.program, &roots));
	for (size_t r = 0; r < roots->num_roots; r++) {
		const struct ch_root *root = &roots->roots[r];

		if (root->kind == CH_ROOT_REGISTER)
			continue;
		// Nothing of the owned heap but the unexplained piece.
		cr_assert(root->end <= HEAP_BASE || root->start >= pool ||
				  (root->start == unexplained &&
				   root->end == unexplained + 0x100),
			  "root [0x%lx, 0x%lx) in the owned heap", root->start,
			  root->end);
		if (root->start == pool) {
			cr_assert_eq(root->source, CH_ROOT_MAPPING);
			cr_assert_eq(root->end, HEAP_BASE + HEAP_SIZE);
			pool_root = true;
		}
		if (root->start == unexplained) {
			cr_assert_eq(root->source, CH_ROOT_UNEXPLAINED);
			unexplained_root = true;
		}
		// The stack's dead part: below sp less the red zone.
		cr_assert(root->end <= STACK_BASE ||
				  root->start >= STACK_BASE + 0x100 - 128,
			  "root [0x%lx, 0x%lx) in the dead stack", root->start,
			  root->end);
	}
	cr_assert(pool_root && unexplained_root);
	cr_assert_eq(roots->dead_stack_bytes, 0x100 - 128);
	cr_assert_eq(roots->excluded_bytes, 0x1000 - 0x100);
	ch_roots_destroy(roots);
	close_fixture(&f);
}

// Whether any root but the registers holds a byte of [start, end).
static bool root_holds(const struct ch_roots *roots, uint64_t start,
		       uint64_t end)
{
	for (size_t r = 0; r < roots->num_roots; r++) {
		const struct ch_root *root = &roots->roots[r];

		if (root->kind != CH_ROOT_REGISTER && root->start < end &&
		    start < root->end)
			return true;
	}
	return false;
}

/*
 * The live blocks of an allocator that declares what it owns but lie
 * outside it (a plugin that forgot some of its memory) are not roots of
 * themselves, wholly outside or sticking out of the end of what it
 * declared after a run of blocks inside, whose own bytes are no roots
 * either; the declared memory's other neighbour is.
 */
Test(roots, stray_blocks_left_out)
{
	struct fixture f;
	struct ch_heap *heap;
	struct ch_roots *roots;
	uint64_t owned_end = HEAP_BASE + 0x1000;
	uint64_t sticking_out = owned_end - 0x20, outside = owned_end + 0x100;

	memset(heap_words, 0, sizeof(heap_words));
	memset(data_words, 0, sizeof(data_words));
	memset(stack_words, 0, sizeof(stack_words));
	f = open_core();
	heap = &f.program->heap;
	for (uint64_t k = 0; k < 16; k++)
		add_block(heap, HEAP_BASE + 0x10 + k * 0x40, 0x30);
	add_block(heap, sticking_out, 0x40);
	add_block(heap, outside, 0x40);
	assert_no_error(ch_heap_add_owned_range(heap, 0, UINT32_MAX, HEAP_BASE,
						owned_end, COREHEAP_OWNED_HEAP));
	assert_no_error(ch_heap_finish(heap));
	assert_no_error(ch_roots_create(f.program, &roots));
	cr_assert(!root_holds(roots, HEAP_BASE, owned_end + 0x20),
		  "the declared memory or the block sticking out of it is a root");
	cr_assert(!root_holds(roots, outside, outside + 0x40),
		  "the block outside the declared memory is a root");
	cr_assert(root_holds(roots, owned_end + 0x20, outside));
	cr_assert(root_holds(roots, outside + 0x40, outside + 0x48));
	ch_roots_destroy(roots);
	close_fixture(&f);
}

/*
 * A managed runtime's plugin, for the test: A (0x10010) and E (0x10100)
 * are its objects. A's exact references are B, owned (its words then are
 * not scanned), and C, named "[0]"; it does not know E's layout (E keeps
 * its scanned edges). Its one root names G.
 */
static int toy_references(const struct coreheap_host *host, void *state,
			  const struct coreheap_object *object, bool names,
			  coreheap_reference_fn fn, void *arg)
{
	struct coreheap_reference owned = { .target = 0x10050,
					    .flags = COREHEAP_REFERENCE_OWNED };
	struct coreheap_reference item = { .target = 0x10080,
					   .name = names ? "[0]" : NULL };
	int status;

	(void)host;
	(void)state;
	if (object->address != 0x10010)
		return COREHEAP_NOT_FOUND;
	cr_assert_eq(object->size, 48);
	status = fn(arg, &owned);
	return status ? status : fn(arg, &item);
}

static int toy_roots(const struct coreheap_host *host, void *state,
		     coreheap_root_fn fn, void *arg)
{
	struct coreheap_root root = { .name = "module m .x", .target = 0x10160 };

	(void)host;
	(void)state;
	return fn(arg, &root);
}

static int toy_probe(const struct coreheap_host *host, bool forced,
		     int *confidence_ret, void **state_ret)
{
	(void)host;
	(void)forced;
	(void)state_ret;
	*confidence_ret = 0;
	return COREHEAP_OK;
}

static int toy_walk(const struct coreheap_host *host, void *state)
{
	(void)host;
	(void)state;
	return COREHEAP_OK;
}

static const struct coreheap_allocator toy_runtime = {
	COREHEAP_ALLOCATOR_INIT,
	.name = "toy-runtime",
	.description = "exact references and named roots, for the test",
	.is_runtime = true,
	.probe = toy_probe,
	.walk = toy_walk,
	.references = toy_references,
	.roots = toy_roots,
};

Test(graph, a_runtime_gives_exact_references_and_named_roots)
{
	struct fixture f = open_fixture();
	struct ch_block *blocks = f.program->heap.live.blocks;
	struct ch_allocator_set *set = &f.program->allocators;
	struct ch_graph_options options = { .interior = true, .num_threads = 1,
					    .program = f.program };
	struct ch_strbuf name = { 0 };
	struct ch_roots *roots;
	struct ch_graph *graph;
	uint32_t *root_of;
	char buf[256];
	bool named;

	set->uses = calloc(1, sizeof(*set->uses));
	cr_assert(set->uses);
	set->uses[0] = (struct ch_allocator_use){ .ops = &toy_runtime };
	set->num_uses = 1;
	blocks[0].runtime_object = 1;
	blocks[4].runtime_object = 1;
	assert_no_error(ch_roots_create(f.program, &roots));
	assert_no_error(ch_graph_build(&f.program->heap, f.program->address_space,
				       f.program->core, roots, &options, &graph));
	// A: its exact references, not its words (which point to B twice).
	edges_of(graph, 0, buf);
	cr_assert_str_eq(buf, "1 2");
	// B: owned by A, not scanned (its word points to C).
	edges_of(graph, 1, buf);
	cr_assert_str_eq(buf, "");
	edges_of(graph, 2, buf);
	cr_assert_str_eq(buf, "0");
	// E: a layout the plugin does not know, scanned.
	edges_of(graph, 4, buf);
	cr_assert_str_eq(buf, "5 6");
	cr_assert_eq(graph->stats.exact_nodes, 1);

	// The runtime's root first, named, holding G.
	cr_assert_eq(graph->num_root_refs, 3);
	cr_assert_eq(roots->roots[graph->root_refs[0].root].kind,
		     CH_ROOT_RUNTIME);
	cr_assert_eq(graph->root_refs[0].source, 0);
	cr_assert_eq(graph->root_refs[0].target, 6);
	assert_no_error(ch_roots_describe(roots, f.program,
					  graph->root_refs[0].root,
					  graph->root_refs[0].source, &name));
	cr_assert_str_eq(name.buf, "module m .x");
	ch_strbuf_deinit(&name);
	assert_no_error(ch_roots_named(roots, f.program, graph->root_refs[0].root,
				       graph->root_refs[0].source, &named));
	cr_assert(named);
	assert_no_error(ch_graph_reach(graph, NULL, &root_of));
	cr_assert_eq(root_of[6], 0);
	cr_assert_eq(root_of[4], CH_GRAPH_NONE);
	free(root_of);

	// Without the program, the same heap is scanned: A's words again.
	struct ch_graph *scanned;

	options.program = NULL;
	assert_no_error(ch_graph_build(&f.program->heap, f.program->address_space,
				       f.program->core, roots, &options, &scanned));
	edges_of(scanned, 0, buf);
	cr_assert_str_eq(buf, "1");
	edges_of(scanned, 1, buf);
	cr_assert_str_eq(buf, "2");
	cr_assert_eq(scanned->stats.exact_nodes, 0);
	ch_graph_destroy(scanned);

	ch_graph_destroy(graph);
	ch_roots_destroy(roots);
	close_fixture(&f);
}
