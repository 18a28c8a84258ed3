/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The heap graph: which live allocation points into which, and which roots
 * point into which allocation, found by a conservative scan.
 *
 * A managed runtime's object whose plugin gives its exact references (a
 * Python list's items, a dict's keys and values) has those as its edges,
 * and its words are not scanned; the objects a runtime names as roots (a
 * Python module's globals) are root references of the runtime root.
 *
 * Every other aligned 8-byte word of every root and of every live allocation whose
 * value points into a live allocation is an edge (but in the allocations the
 * options mark as holding no pointers): a pointer to anywhere
 * inside the allocation counts (interior pointers), unless the options ask
 * for pointers to its start only. Nodes are the heap's live blocks, by index
 * in heap->live.blocks.
 *
 * Edges are stored as compressed sparse rows: the targets of node i are
 * edge_targets[edge_offsets[i] .. edge_offsets[i + 1]), in the order the
 * pointers appear in the allocation, without self-edges, and without a
 * repeat of the previous word's target. Memory is 8 bytes per node plus 4
 * per edge, in a few large arrays (no allocation per edge).
 *
 * The scan is one pass over the heap, split in contiguous halves (or more
 * parts on larger machines) by bytes, each scanned by its own thread, which
 * appends to its own edge array; the parts are then joined.
 */
#ifndef COREHEAP_GRAPH_H
#define COREHEAP_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "core/address_space.h"
#include "core/core.h"
#include "graph/dominators.h"
#include "graph/roots.h"
#include "heap/block_index.h"
#include "heap/heap.h"

/** Not reached, no such node. */
#define CH_GRAPH_NONE UINT32_MAX

/** A word of a root that points into a live allocation. */
struct ch_root_ref {
	/** The word's address, or for a register root the register number. */
	uint64_t source;
	/** Index in ch_roots::roots. */
	uint32_t root;
	/** The allocation (node) it points into. */
	uint32_t target;
};

struct ch_graph_options {
	/** Pointers into an allocation count, not only to its start. */
	bool interior;
	/**
	 * A bit per node (bit i % 64 of word i / 64; NULL: none): the
	 * node's words are no references (a type with no pointers,
	 * ch_types_pointer_free()), and it gets no edges. Read during the
	 * build only.
	 */
	const uint64_t *pointer_free;
	/**
	 * Optional: what finds pointer_free (typing the heap), run on the
	 * calling thread while the other threads scan, so that the two passes
	 * over the heap take a core each; the calling thread then scans too.
	 * Its error ends the build. The bitmap it sets in *ret (NULL: none)
	 * replaces pointer_free: the edges of the blocks it marks are
	 * dropped once the scan is over, the same graph as a scan that knew
	 * them from the start.
	 */
	struct ch_error *(*find_pointer_free)(void *arg, const uint64_t **ret);
	void *find_pointer_free_arg;
	/**
	 * Threads for the scan (at most 16); 0: one per online CPU, if the
	 * heap is large enough to be worth it.
	 */
	unsigned num_threads;
	/**
	 * The program whose runtimes' plugins give the exact references of
	 * their objects (ch_program_references()): those replace the scan
	 * of the objects they cover. NULL: every block is scanned.
	 */
	struct ch_program *program;
	/**
	 * The index of the heap's live blocks to find pointers with
	 * (ch_heap_block_index(), which the typing shares); NULL: the graph
	 * makes its own, or asks find_index.
	 */
	const struct ch_block_index *index;
	/**
	 * Optional, without index: what gives the index (the heap's shared
	 * one), asked by each scanning thread before it scans, so that with
	 * find_pointer_free the index is made on another thread while the
	 * calling thread starts that. Safe to call from several threads at
	 * once; its error ends the build.
	 */
	struct ch_error *(*find_index)(void *arg,
				       const struct ch_block_index **ret);
	void *find_index_arg;
};

/** What the scan did, for --stats. */
struct ch_graph_stats {
	/** Bytes of live allocations and of roots scanned. */
	uint64_t heap_bytes, root_bytes;
	/** Bytes of allocations or roots the core does not hold. */
	uint64_t unreadable_bytes;
	uint64_t num_edges;
	/** Nodes whose edges are their runtime's exact references. */
	uint64_t exact_nodes;
	unsigned num_threads;
	/**
	 * Wall time of the scan and of building the index it uses, less
	 * alongside_seconds.
	 */
	double seconds;
	/** Wall time of options->find_pointer_free on the calling thread. */
	double alongside_seconds;
};

/**
 * The most edges a graph holds (4 bytes each, 16 GiB of them; on a heap
 * with more, ch_graph_build() fails with CH_ERROR_CORRUPT): the offsets
 * of 32 bits save 4 bytes per allocation.
 */
#define CH_GRAPH_MAX_EDGES ((uint64_t)UINT32_MAX - 1)

struct ch_graph {
	size_t num_nodes;
	const struct ch_block *blocks;
	/**
	 * num_nodes + 1 offsets into edge_targets: 32 bits, as the graph
	 * holds at most CH_GRAPH_MAX_EDGES edges.
	 */
	uint32_t *edge_offsets;
	uint32_t *edge_targets;
	/**
	 * The bytes of the mapping (ch_map_huge_aligned()) that edge_targets
	 * is, where the scan found its edges; 0 when it comes from malloc().
	 */
	size_t edge_targets_mapped;
	/**
	 * Root references, ordered by root kind (global, tls, stack,
	 * register), then as the roots were scanned (address order).
	 */
	struct ch_root_ref *root_refs;
	size_t num_root_refs;
	bool interior;
	/** options->index, or own_index. */
	const struct ch_block_index *index;
	struct ch_block_index own_index;
	struct ch_graph_stats stats;
};

/**
 * Scan the live blocks of heap and the roots of core (through as) and build
 * the graph. heap, as, core and roots must outlive the graph. Memory the
 * core does not hold is skipped and counted in stats.unreadable_bytes:
 * all of an allocation's, and of a root's what the core lost (cut off),
 * not what it left out on purpose (untouched, shared, MADV_DONTDUMP).
 */
struct ch_error *ch_graph_build(const struct ch_heap *heap,
				const struct ch_address_space *as,
				const struct ch_core *core,
				const struct ch_roots *roots,
				const struct ch_graph_options *options,
				struct ch_graph **ret);
void ch_graph_destroy(struct ch_graph *graph);

/**
 * Give back the memory of the graph's edges, for a caller that needs no more
 * than its nodes and root references from here on: on a large heap the
 * edges are the largest part of the model after the blocks. Nothing that
 * follows the edges may be called after (num_edges in stats stays).
 */
void ch_graph_release_edges(struct ch_graph *graph);

/**
 * The dominator tree of the graph, its roots' targets joined under the
 * super-root, with beside (or NULL) run during its longest pass
 * (ch_dominators_compute()). Free with ch_dominators_deinit().
 */
struct ch_error *ch_graph_dominators(const struct ch_graph *graph,
				     const struct ch_dominators_beside *beside,
				     struct ch_dominators *ret);

/**
 * The dominator tree of the graph, whose edges it gives back as it goes
 * (ch_dominators_compute_taking()): then (or NULL) runs once the search
 * from the roots is over, the edges whole; after, as after
 * ch_graph_release_edges(), whether it succeeds or not.
 */
struct ch_error *ch_graph_dominators_releasing_edges(struct ch_graph *graph,
						     const struct ch_dominators_then *then,
						     struct ch_dominators *ret);

/**
 * Breadth-first search from all root references at once, in their order:
 * (*root_of_ret)[v] is the index in root_refs of the root from which v was
 * first reached, or CH_GRAPH_NONE if no root reaches v: a leak. The caller
 * frees it. named (NULL: none) flags the root references a person knows by
 * name (ch_roots_named()): when given, a node that a named root reaches
 * gets the nearest such root (among them, the first in kind order), and
 * only the others the nearest root of all.
 */
struct ch_error *ch_graph_reach(const struct ch_graph *graph,
				const bool *named, uint32_t **root_of_ret);
/**
 * ch_graph_reach() in two steps, for a caller that makes its array apart
 * from the search (on a core the search would leave idle, say): the array,
 * num_nodes + 1 entries each CH_GRAPH_NONE, which the caller frees (with
 * ch_free_large()); then the search, which fills it, with the caller's
 * room for its queue: num_nodes + 1 entries, whose contents it overwrites
 * (pages touched before cost no fault).
 */
struct ch_error *ch_graph_reach_prepare(const struct ch_graph *graph,
				       uint32_t **root_of_ret);
struct ch_error *ch_graph_reach_queued(const struct ch_graph *graph,
				       const bool *named, uint32_t *queue,
				       uint32_t *root_of);

/**
 * Mark in marked (ch_bitmap_words(num_nodes) words) every node reachable
 * from the nodes set in pending, these included, through nodes not marked
 * on entry: a node marked on entry is not entered, so that a search stops
 * where an earlier one reached. The pending nodes must not be marked on
 * entry; pending (as large) is all zero on return. The search holds a
 * queue of at most CH_GRAPH_MARK_QUEUE nodes: a node found while it is
 * full waits in pending, and pending is swept again, at most once per
 * CH_GRAPH_MARK_QUEUE nodes marked. So it needs an eighth of a byte per
 * node where a queue or a distance needs four. On a large graph it marks
 * on as many threads as the scan used (stats.num_threads), each with its
 * share of that queue.
 */
struct ch_error *ch_graph_mark_reachable(const struct ch_graph *graph,
					 uint64_t *marked, uint64_t *pending);
#define CH_GRAPH_MARK_QUEUE ((size_t)1 << 20)

/**
 * The nodes some root reaches, as a bitmap in *reached_ret (malloc'd,
 * ch_bitmap_words(num_nodes) words, freed by the caller): the nodes that
 * ch_graph_reach() finds a root for, without saying which.
 */
struct ch_error *ch_graph_reached(const struct ch_graph *graph,
				  uint64_t **reached_ret);

/** A retention path: a root reference, then allocations to the target. */
struct ch_graph_path {
	/** Index in root_refs. */
	size_t root_ref;
	/** Nodes from the root's target to the path's target; malloc'd. */
	uint32_t *nodes;
	size_t num_nodes;
};

/**
 * Up to max_paths retention paths of node target, each through a different
 * referrer (the last step: a root word pointing into target, or an
 * allocation pointing into it), each the shortest through its referrer
 * from a named root if one reaches it, else from any root (and never
 * through target itself). Paths from named roots come first (named: one
 * flag per root reference, as for ch_graph_reach(); NULL: none named),
 * then shortest first; between paths of equal rank, in root_refs order.
 * None if no root reaches target. Free the paths with
 * ch_graph_paths_free().
 */
struct ch_error *ch_graph_paths(const struct ch_graph *graph,
				const bool *named, uint32_t target,
				size_t max_paths,
				struct ch_graph_path **paths_ret,
				size_t *num_paths_ret);
void ch_graph_paths_free(struct ch_graph_path *paths, size_t num_paths);

/**
 * The first path ch_graph_paths() gives for each of targets (node
 * indices), all from one search of the graph and one pass over its edges:
 * for a report that shows many allocations' paths at once. (*paths_ret)[i]
 * is targets[i]'s, with num_nodes 0 and nodes NULL where no root reaches
 * it; free with ch_graph_paths_free(*paths_ret, num_targets).
 */
struct ch_error *ch_graph_first_paths(const struct ch_graph *graph,
				      const bool *named,
				      const uint32_t *targets,
				      size_t num_targets,
				      struct ch_graph_path **paths_ret);

/**
 * The offset in the live block of the first aligned word that points into
 * (or, without interior, at the start of) block target; false if none does.
 */
bool ch_graph_find_pointer(const struct ch_graph *graph,
			   const struct ch_address_space *as, uint32_t from,
			   uint32_t target, uint64_t *offset_ret);

/**
 * Call fn for every aligned word in [start, end) the core holds, in order,
 * with a pointer to the word's bytes and its address; stop when fn returns
 * false. Returns the bytes of [start, end) the core does not hold.
 */
uint64_t ch_scan_words(const struct ch_address_space *as, uint64_t start,
		       uint64_t end,
		       bool (*fn)(uint64_t addr, uint64_t value, void *arg),
		       void *arg);

#endif /* COREHEAP_GRAPH_H */
