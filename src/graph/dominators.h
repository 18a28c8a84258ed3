/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Dominators and retained sizes.
 *
 * A node d dominates v when every path from the roots to v passes through
 * d: free d (and drop every pointer it holds) and v becomes unreachable. The
 * roots are joined under a virtual super-root, so that a node reached from
 * two roots is dominated by the super-root alone. The retained size of v is
 * the sum of the sizes of the nodes v dominates, itself included: what would
 * be freed if v were.
 *
 * The immediate dominators are computed with Semi-NCA (Lengauer and
 * Tarjan's semidominators with path compression, then each idom as a
 * nearest common ancestor in the growing tree), over flat arrays indexed by DFS
 * number, without recursion: the depth-first search and the path
 * compression keep their own stacks, so a linked list of tens of millions
 * of nodes is no deeper for it than a star. Memory: 20 bytes per node,
 * and 4 per edge that is not the one the search entered its target by,
 * each given back once its target is processed (the forest that the
 * processed vertices take grows about as fast); freed before returning
 * but for the result. The predecessors are made from the edges through
 * buckets (6 bytes an edge) that give their pages back as they are read:
 * when the edges are the computation's (ch_dominators_compute_taking()),
 * theirs are given back as they are read too, and no pass holds both the
 * graph's edges and the predecessors whole.
 */
#ifndef COREHEAP_DOMINATORS_H
#define COREHEAP_DOMINATORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "heap/heap.h"

/** idom of a node dominated by the super-root alone. */
#define CH_DOMINATOR_ROOT (UINT32_MAX - 1)
/** idom of a node that no root reaches. */
#define CH_DOMINATOR_NONE UINT32_MAX

struct ch_dominators {
	size_t num_nodes;
	/**
	 * Immediate dominator of each node: a node index,
	 * CH_DOMINATOR_ROOT or CH_DOMINATOR_NONE.
	 */
	uint32_t *idom;
	/**
	 * The reachable nodes in a preorder of the dominator tree: each node
	 * followed by the nodes it dominates.
	 */
	uint32_t *order;
	size_t num_reachable;
};

/**
 * Work of the caller's that does not need the dominator tree, to be done
 * while it is computed: fn(arg) on a thread of its own, from the start,
 * beside the depth-first search that takes one core the longest. What it
 * allocates adds to the computation's peak.
 */
struct ch_dominators_beside {
	void *(*fn)(void *arg);
	void *arg;
};

/**
 * Dominators of the graph of num_nodes nodes whose edges are the CSR arrays
 * offsets (num_nodes + 1 entries) and targets, with the super-root pointing
 * to each node in roots (repeats allowed). num_nodes must be below
 * CH_DOMINATOR_ROOT, and the edges with the roots' fewer than 2^32 (or
 * it fails with CH_ERROR_CORRUPT). Free with ch_dominators_deinit().
 * With beside (or NULL), beside->fn has run once when it succeeds (on
 * this thread if no other can be made); when it fails, maybe not at all.
 */
struct ch_error *ch_dominators_compute(size_t num_nodes,
				       const uint32_t *offsets,
				       const uint32_t *targets,
				       const uint32_t *roots, size_t num_roots,
				       const struct ch_dominators_beside *beside,
				       struct ch_dominators *ret);

/**
 * Work of the caller's that needs the edges, to be done before
 * ch_dominators_compute_taking() gives them back: fn(arg, scratch) on the
 * calling thread once the search from the roots is over and only its
 * numbers are held (the least memory of the computation). scratch is room
 * of the computation's for num_nodes + 1 entries, in pages the search
 * touched, that fn may use as it likes (a queue, say). Its error ends the
 * computation and is returned.
 */
struct ch_dominators_then {
	/**
	 * Or NULL: prepare(arg) runs on a thread of its own beside the
	 * search, which takes one core, and is over before fn(arg, scratch):
	 * fn's arrays made, say, their pages faulted in on the other core.
	 * What it allocates adds to the search's peak. Its error ends the
	 * computation and is returned.
	 */
	struct ch_error *(*prepare)(void *arg);
	struct ch_error *(*fn)(void *arg, uint32_t *scratch);
	void *arg;
};

/**
 * ch_dominators_compute() of the edges *offsets (allocated with malloc())
 * and *targets (with malloc() when targets_mapped is 0, else a
 * ch_map_huge_aligned() mapping of targets_mapped bytes), which it takes:
 * it gives back their pages as it reads them for the last time, after
 * after_search (or NULL) has run, and frees them; *offsets and *targets
 * are NULL when it returns, whether it succeeds or not. For a caller that
 * needs the edges no more after the tree: its peak memory is the graph's
 * or the tree's, not both.
 */
struct ch_error *ch_dominators_compute_taking(size_t num_nodes,
					      uint32_t **offsets,
					      uint32_t **targets,
					      size_t targets_mapped,
					      const uint32_t *roots,
					      size_t num_roots,
					      const struct ch_dominators_then *after_search,
					      struct ch_dominators *ret);
void ch_dominators_deinit(struct ch_dominators *dominators);

/**
 * Retained sizes: (*retained_ret)[v] is the sum of blocks[u].size over the
 * nodes u that v dominates (v included), 0 for unreachable nodes; *total_ret
 * is what the super-root retains, all reachable bytes. The caller frees
 * *retained_ret.
 */
struct ch_error *ch_dominators_retained(const struct ch_dominators *dominators,
					const struct ch_block *blocks,
					uint64_t **retained_ret,
					uint64_t *total_ret);

/**
 * Retained size per group (a type, say): for each group g, the sum of
 * retained[v] over the reachable nodes v of group g that no other node of
 * group g dominates, so that a list of nodes of one type is counted once,
 * at its head. group_of[v] < num_groups for every node. group_retained
 * (num_groups entries) is zeroed and filled.
 */
struct ch_error *ch_dominators_group_retained(const struct ch_dominators *dominators,
					      const uint64_t *retained,
					      const uint32_t *group_of,
					      size_t num_groups,
					      uint64_t *group_retained);

#endif /* COREHEAP_DOMINATORS_H */
