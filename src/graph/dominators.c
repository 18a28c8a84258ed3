// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitmap.h"
#include "base/cleanup.h"
#include "base/large_alloc.h"
#include "base/progress.h"
#include "base/thread_pair.h"
#include "graph/dominators.h"

// eval()'s stack: the longest path it compresses at once.
#define EVAL_STACK ((size_t)1 << 16)
/*
 * The progress of the whole computation, one stage: the search counts
 * SEARCH_WEIGHT a node, reached or not, each of the predecessors' two
 * passes 1 an edge or root, the parents' pass and the semidominators 1 a
 * node each: about their shares of the time on a large heap. The vertices are reported a step of
 * PROGRESS_STEP at a time.
 */
#define SEARCH_WEIGHT 6
#define PROGRESS_STEP ((size_t)1 << 16)

/*
 * What eval() reads of a vertex, together: on a large graph every step of
 * eval is a cache miss, one instead of two. best is the semi of the
 * vertex that the classic algorithm calls its label. A vertex's own semi
 * is read only when the vertex is processed and in the last pass: it is
 * kept apart (compute_idoms()), so that eight vertices share a cache line.
 */
struct lt_vertex {
	uint32_t ancestor;     // in the link-eval forest, once linked
	uint32_t best;         // least semi on the compressed path
};

/*
 * The state of Semi-NCA, every array indexed by DFS number; DFS
 * number 0 is the virtual super-root, whose successors are the roots.
 *
 * On a large heap the computation's peak memory, not only its time, is
 * what it costs: the graph, the heap's model and the types are held
 * throughout, and each array below is held only while a pass needs it,
 * in pages the pass before touched where it can. Two arrays of a vertex
 * each serve the passes in turn: lt->by_number (the search's numbers of
 * the vertices, then the second share's counts of the predecessors, then
 * the DFS parents, then the idoms) and lt->work (below).
 */
struct lengauer_tarjan {
	size_t count;          // reachable vertices, super-root included
	/**
	 * By DFS number: the node numbered (the search), the second share's
	 * counts (collect_predecessors()), the DFS parent (find_parents()),
	 * the idom (compute_idoms()).
	 */
	uint32_t *by_number;
	struct lt_vertex *vertices;
	uint32_t *path;        // eval's explicit stack,
	size_t path_capacity;  // this long
	/**
	 * One buffer for four uses in turn: the search's stack
	 * (work_stack()); then the predecessors' offsets; then the same
	 * offsets, each vertex's semidominator taking its place, and the
	 * link-eval forest's vertices (work_vertices()); then the result's
	 * idoms by node, the nodes by DFS number (work_vertex()) and the
	 * order's counts.
	 */
	void *work;
	/**
	 * The edges the search entered a vertex by (bit e of the graph's
	 * edges, bit r of the roots): each is its target's DFS parent, the
	 * one predecessor whose eval() need not be asked.
	 */
	uint64_t *tree_edges, *tree_roots;
	// The other predecessors, by DFS number, in CSR form.
	uint32_t *pred_offsets;
	uint32_t *preds;
	// Where the pages of preds given back so far begin (page-aligned).
	uintptr_t preds_kept_end;
};

static void lengauer_tarjan_deinit(struct lengauer_tarjan *lt)
{
	free(lt->by_number);
	free(lt->work);
	free(lt->path);
	free(lt->tree_edges);
	free(lt->tree_roots);
	free(lt->preds);
}

// A vertex on the depth-first search's stack: the edges of it not
// followed yet, [next, end); of the roots for the bottom entry, the
// super-root's. Nothing else: the stack is as deep as the longest path
// the search takes (two thirds of the heap's allocations on the
// benchmark's), each byte of an entry tens of megabytes.
struct dfs_entry {
	uint32_t next, end;
};

static struct dfs_entry *work_stack(const struct lengauer_tarjan *lt)
{
	return lt->work;
}

// The vertices start on a cache line after the offsets of count vertices.
static struct lt_vertex *work_vertices(const struct lengauer_tarjan *lt,
				       size_t count)
{
	uintptr_t after = (uintptr_t)((uint32_t *)lt->work + count + 1);

	return (struct lt_vertex *)((after + 63) & ~(uintptr_t)63);
}

// The nodes by DFS number, at the end: after the idoms by node of n1
// entries (num_nodes + 1) that take the front, and before the order's
// counts of as many.
static uint32_t *work_vertex(const struct lengauer_tarjan *lt, size_t n1)
{
	return (uint32_t *)lt->work + n1;
}

// The bytes of lt->work for n1 vertices: the largest of the stack, the
// offsets with the vertices, and the idoms with the nodes and the order's
// counts (work_vertex()).
static size_t work_bytes(size_t n1)
{
	size_t stack = n1 * sizeof(struct dfs_entry);
	size_t forest = (n1 + 1) * sizeof(uint32_t) + 64 +
			n1 * sizeof(struct lt_vertex);
	size_t result = 3 * n1 * sizeof(uint32_t);
	size_t most = stack > forest ? stack : forest;

	return most > result ? most : result;
}

// The first of those bytes, which the offsets take.
static size_t work_offsets_bytes(size_t n1)
{
	return (n1 + 1) * sizeof(uint32_t);
}

// Give back lt->work's pages past the offsets of count vertices: what the
// pass before left there is read no more, and the next fills it slowly.
static void release_work_after_offsets(struct lengauer_tarjan *lt,
				       size_t n1, size_t count)
{
	size_t offsets = work_offsets_bytes(count);

	ch_release_pages((char *)lt->work + offsets, work_bytes(n1) - offsets);
}

/*
 * A vertex is new: fetch whether each of its targets was seen, and the
 * offsets of each, one of which the search enters next. Its targets' line
 * was read, and the search would otherwise wait on these one by one.
 */
static void prefetch_targets(const uint32_t *offsets, const uint32_t *targets,
			     const uint64_t *seen, uint32_t from, uint32_t to)
{
	for (uint32_t e = from; e < to; e++) {
		__builtin_prefetch(&seen[targets[e] / 64]);
		__builtin_prefetch(&offsets[targets[e]]);
	}
}

/*
 * Iterative depth-first search from the super-root: the reachable nodes in
 * preorder (lt->by_number). Whether a target was seen is asked of a bitmap
 * (an eighth of a byte a node, in the cache where the numbers were a miss
 * an edge); the numbers by node are written after, in one pass
 * (search_and_number()). A vertex's stack entry keeps where its edges are:
 * going back to it reads nothing else. The edge each vertex is entered by
 * is marked in lt->tree_edges (or lt->tree_roots): the spanning tree, whose
 * parents are written only when they are needed (find_parents()).
 */
static struct ch_error *number_vertices(size_t num_nodes,
					const uint32_t *offsets,
					const uint32_t *targets,
					const uint32_t *roots, size_t num_roots,
					struct lengauer_tarjan *lt)
{
	struct dfs_entry *stack = work_stack(lt);
	struct ch_progress_batch progress = {
		.step = SEARCH_WEIGHT * PROGRESS_STEP
	};
	_cleanup_free_ uint64_t *seen = ch_calloc_large(ch_bitmap_words(num_nodes) + 1,
							sizeof(*seen));
	size_t depth = 0, count = 1;

	if (!seen)
		return &ch_enomem;
	lt->by_number[0] = CH_DOMINATOR_ROOT;
	stack[depth++] = (struct dfs_entry){ .next = 0,
					     .end = (uint32_t)num_roots };
	while (depth > 0) {
		struct dfs_entry *top = &stack[depth - 1];
		bool from_root = depth == 1;
		const uint32_t *out = from_root ? roots : targets;
		uint32_t v = CH_DOMINATOR_NONE, e;

		for (e = top->next; e < top->end; e++) {
			uint32_t candidate = out[e];

			if (candidate < num_nodes && !ch_bit_get(seen, candidate)) {
				v = candidate;
				e++;
				break;
			}
		}
		top->next = e;
		if (v == CH_DOMINATOR_NONE) {
			depth--;
			continue;
		}
		ch_bit_set(seen, v);
		ch_bit_set(from_root ? lt->tree_roots : lt->tree_edges, e - 1);
		lt->by_number[count] = v;
		stack[depth++] = (struct dfs_entry){ .next = offsets[v],
						     .end = offsets[v + 1] };
		prefetch_targets(offsets, targets, seen, offsets[v],
				 offsets[v + 1]);
		count++;
		ch_progress_count(&progress, SEARCH_WEIGHT);
	}
	lt->count = count;
	ch_progress_flush(&progress);
	// The nodes no root reaches (count has the super-root).
	ch_progress_add(SEARCH_WEIGHT * (num_nodes + 1 - count));
	return NULL;
}

/*
 * The arrays the search writes, made ready on a thread of its own while it
 * runs: the search is a cache miss after another on one core, and the
 * first touch of each page of these arrays (hundreds of megabytes on a
 * large heap) would add a fault in which the kernel clears the page.
 * number_of is filled with CH_DOMINATOR_NONE there too: the search writes
 * it only once it is over. And the part of lt->work that the offsets will
 * take after the search's stack (which seldom goes deeper).
 */
struct search_arrays {
	uint32_t *number_of, *vertex;
	void *work;
	size_t len;
};

static void *prepare_search_arrays(void *arg)
{
	const struct search_arrays *arrays = arg;

	memset(arrays->number_of, 0xff, arrays->len * sizeof(uint32_t));
	ch_populate(arrays->vertex, arrays->len * sizeof(uint32_t));
	ch_populate(arrays->work, work_offsets_bytes(arrays->len));
	return NULL;
}

/*
 * The search, with its arrays prepared beside it, then number_of, the
 * inverse of lt->by_number (CH_DOMINATOR_NONE where no root reaches).
 */
static struct ch_error *search_and_number(size_t num_nodes,
					  const uint32_t *offsets,
					  const uint32_t *targets,
					  const uint32_t *roots,
					  size_t num_roots,
					  uint32_t *number_of,
					  struct lengauer_tarjan *lt)
{
	struct search_arrays arrays = {
		.number_of = number_of,
		.vertex = lt->by_number,
		.work = lt->work,
		.len = num_nodes + 1,
	};
	pthread_t thread;
	bool threaded = pthread_create(&thread, NULL, prepare_search_arrays,
				       &arrays) == 0;
	struct ch_error *err;

	if (!threaded)
		prepare_search_arrays(&arrays);
	err = number_vertices(num_nodes, offsets, targets, roots, num_roots,
			      lt);
	if (threaded)
		pthread_join(thread, NULL);
	if (err)
		return err;
	for (size_t w = 1; w < lt->count; w++)
		number_of[lt->by_number[w]] = w;
	return NULL;
}

/*
 * The edges of the reachable vertices but the search's tree edges, as
 * (source, target) DFS numbers, a buffer at a time, the super-root's
 * first, then in node order: the graph's rows are read one after the
 * other (in DFS order each was a jump to another part of the arrays), the
 * numbers of the targets at random, prefetched ahead. The order of a
 * vertex's predecessors is of no consequence: its semidominator is their
 * least eval().
 */
#define EDGE_BUFFER 4096
#define AHEAD 16
// Below this many edges, one thread collects the predecessors.
#define MIN_PARALLEL_EDGES ((uint64_t)1 << 20)

struct edge_stream {
	const uint32_t *offsets;
	const uint32_t *targets;
	const uint32_t *roots;
	size_t num_roots, num_nodes;
	const uint32_t *number_of;
	// The search's tree edges (see struct lengauer_tarjan): the stream
	// gives only these when tree is set, else all the others.
	const uint64_t *tree_edges, *tree_roots;
	bool tree;
	/**
	 * Where the stream is: source's edge e; source 0 is the super-root,
	 * source u + 1 node u. It stops before source end.
	 */
	size_t source, end;
	uint64_t e;
	uint32_t sources[EDGE_BUFFER], dests[EDGE_BUFFER];
};

// The next buffer of edges; 0 when there are no more.
static size_t next_edges(struct edge_stream *s)
{
	size_t n = 0;

	while (n < EDGE_BUFFER && s->source < s->end) {
		uint64_t start = 0, end = s->num_roots;
		uint32_t from = 0;

		if (s->source > 0) {
			size_t u = s->source - 1;

			from = s->number_of[u];
			start = s->offsets[u];
			end = s->offsets[u + 1];
			if (from == CH_DOMINATOR_NONE)
				start = end; // unreachable: no edges here
		}
		if (s->e < start)
			s->e = start;
		for (; n < EDGE_BUFFER && s->e < end; s->e++) {
			const uint64_t *tree = s->source == 0 ? s->tree_roots :
								s->tree_edges;
			uint32_t t = s->source == 0 ? s->roots[s->e] :
						      s->targets[s->e];

			if (t >= s->num_nodes ||
			    ch_bit_get(tree, s->e) != s->tree)
				continue;
			s->sources[n] = from;
			s->dests[n++] = t;
		}
		if (s->e >= end) {
			s->source++;
			s->e = 0;
		}
	}
	for (size_t k = 0; k < n; k++) {
		if (k + AHEAD < n)
			__builtin_prefetch(&s->number_of[s->dests[k + AHEAD]]);
		s->dests[k] = s->number_of[s->dests[k]];
	}
	return n;
}

/*
 * One thread's share of a pass over the edges: those of the sources
 * [stream.source, stream.end). For the predecessors, counted by target
 * into counts (one per DFS number, zeroed), then, once the counts are made
 * into where each target's predecessors from this share go, written
 * there; for the DFS parents, the tree edges, written into parents.
 */
struct predecessor_share {
	struct edge_stream stream;
	size_t first_source;
	uint32_t *counts;
	uint32_t *preds;
	uint32_t *parents;
	uint64_t total;
};

static void *count_share(void *arg)
{
	struct predecessor_share *share = arg;
	struct edge_stream *s = &share->stream;
	uint32_t *counts = share->counts;
	size_t n;

	while ((n = next_edges(s)) > 0) {
		share->total += n;
		ch_progress_add(n);
		for (size_t k = 0; k < n; k++) {
			if (k + AHEAD < n)
				__builtin_prefetch(&counts[s->dests[k + AHEAD]], 1);
			counts[s->dests[k]]++;
		}
	}
	return NULL;
}

static void *fill_share(void *arg)
{
	struct predecessor_share *share = arg;
	struct edge_stream *s = &share->stream;
	uint32_t *next = share->counts, *preds = share->preds;
	size_t n;

	s->source = share->first_source;
	s->e = 0;
	while ((n = next_edges(s)) > 0) {
		ch_progress_add(n);
		for (size_t k = 0; k < n; k++) {
			// Two misses an edge, its target's cursor and the slot
			// it names: the cursor fetched AHEAD edges before, the
			// slot AHEAD / 2 before, from that cursor.
			if (k + AHEAD < n)
				__builtin_prefetch(&next[s->dests[k + AHEAD]], 1);
			if (k + AHEAD / 2 < n)
				__builtin_prefetch(&preds[next[s->dests[k + AHEAD / 2]]], 1);
			preds[next[s->dests[k]]++] = s->sources[k];
		}
	}
	return NULL;
}

/*
 * Each vertex but the super-root has one tree edge, from its DFS parent:
 * the shares write disjoint entries. Two misses an edge, the target's
 * number (prefetched in next_edges()) and its entry, fetched AHEAD before.
 */
static void *parent_share(void *arg)
{
	struct predecessor_share *share = arg;
	struct edge_stream *s = &share->stream;
	uint32_t *parents = share->parents;
	size_t n;

	while ((n = next_edges(s)) > 0) {
		ch_progress_add(n);
		for (size_t k = 0; k < n; k++) {
			if (k + AHEAD < n)
				__builtin_prefetch(&parents[s->dests[k + AHEAD]], 1);
			parents[s->dests[k]] = s->sources[k];
		}
	}
	return NULL;
}

/*
 * The two shares of a pass over the edges (the tree edges with tree, else
 * the others): on two threads when there are many edges, each taking the
 * sources of about half of them; else the first takes all, and the second
 * none.
 */
static void init_shares(struct predecessor_share shares[2],
			const uint32_t *offsets, const uint32_t *targets,
			const uint32_t *roots, size_t num_roots,
			const uint32_t *number_of, size_t num_nodes,
			const struct lengauer_tarjan *lt, bool tree)
{
	size_t split = num_nodes + 1;

	if (offsets[num_nodes] >= MIN_PARALLEL_EDGES) {
		// The first node whose edges start past the middle: the
		// second share's first source (source u + 1 is node u).
		size_t low = 0, high = num_nodes;

		while (low < high) {
			size_t mid = low + (high - low) / 2;

			if (offsets[mid] < offsets[num_nodes] / 2)
				low = mid + 1;
			else
				high = mid;
		}
		split = low + 1;
	}
	for (int t = 0; t < 2; t++) {
		shares[t] = (struct predecessor_share){
			.stream = { .offsets = offsets, .targets = targets,
				    .roots = roots, .num_roots = num_roots,
				    .num_nodes = num_nodes,
				    .number_of = number_of,
				    .tree_edges = lt->tree_edges,
				    .tree_roots = lt->tree_roots,
				    .tree = tree,
				    .source = t == 0 ? 0 : split,
				    .end = t == 0 ? split : num_nodes + 1 },
			.first_source = t == 0 ? 0 : split,
		};
	}
}

static bool has_second_share(const struct predecessor_share shares[2])
{
	return shares[1].first_source < shares[1].stream.end;
}

// Run fn on both shares, the second on a thread of its own.
static void run_shares(void *(*fn)(void *),
		       struct predecessor_share shares[2])
{
	ch_run_pair(fn, &shares[0], has_second_share(shares) ? &shares[1] : NULL);
}

/*
 * The predecessors in CSR form by DFS number, on two threads when there
 * are many edges: each share counts its own; a target's predecessors from
 * the first share then come before those from the second, as one thread
 * puts them. The offsets take the front of lt->work; the second share's
 * counts, lt->by_number (whose numbered nodes number_of holds too).
 */
static struct ch_error *collect_predecessors(const uint32_t *offsets,
					     const uint32_t *targets,
					     const uint32_t *roots,
					     size_t num_roots,
					     const uint32_t *number_of,
					     size_t num_nodes,
					     struct lengauer_tarjan *lt)
{
	_cleanup_free_ struct predecessor_share *shares = malloc(2 * sizeof(*shares));
	uint32_t *second_counts = NULL;
	size_t count = lt->count;
	uint64_t total, offset = 0;

	if (!shares)
		return &ch_enomem;
	init_shares(shares, offsets, targets, roots, num_roots, number_of,
		    num_nodes, lt, false);
	// In lt->work, where the search's stack was.
	lt->pred_offsets = lt->work;
	memset(lt->pred_offsets, 0, (count + 1) * sizeof(*lt->pred_offsets));
	if (has_second_share(shares)) {
		second_counts = lt->by_number;
		memset(second_counts, 0, (count + 1) * sizeof(*second_counts));
	}
	shares[0].counts = lt->pred_offsets;
	shares[1].counts = second_counts;
	run_shares(count_share, shares);
	total = shares[0].total + shares[1].total;
	// The tree edges and the edges of nodes not reached, in both passes.
	ch_progress_add(2 * ((uint64_t)offsets[num_nodes] + num_roots - total));
	// Past this, a vertex's count may have wrapped, and its offsets would.
	if (total >= UINT32_MAX)
		return ch_error_create(CH_ERROR_CORRUPT,
				       "%" PRIu64 " references and roots: more than the dominator tree's %" PRIu32,
				       total, UINT32_MAX - 1);
	lt->preds = ch_malloc_large((total + 1) * sizeof(*lt->preds));
	if (!lt->preds)
		return &ch_enomem;
	lt->preds_kept_end = (uintptr_t)(lt->preds + total + 1);
	// Each count becomes where its share's predecessors of that target
	// go: the first share's at the target's start, the second's after.
	for (size_t w = 0; w < count; w++) {
		uint32_t first = lt->pred_offsets[w];
		uint32_t second = second_counts ? second_counts[w] : 0;

		lt->pred_offsets[w] = offset;
		if (second_counts)
			second_counts[w] = offset + first;
		offset += first + second;
	}
	lt->pred_offsets[count] = offset;
	shares[0].preds = shares[1].preds = lt->preds;
	run_shares(fill_share, shares);
	// Filling moved each cursor to the next one's start: the last share
	// to write a target's predecessors ends where the next target's begin.
	memmove(lt->pred_offsets + 1,
		second_counts ? second_counts : lt->pred_offsets,
		count * sizeof(*lt->pred_offsets));
	lt->pred_offsets[0] = 0;
	return NULL;
}

/*
 * eval(v) of the link-eval forest with path compression, while vertex w is
 * processed: the least semidominator on the forest path from v's tree root
 * (excluded) to v. Vertices are linked in reverse preorder once processed,
 * so the forest's roots are exactly the vertices numbered w or less: a
 * comparison, where reading the ancestor's ancestor was a cache miss.
 * compress() is made iterative: walk up to the vertex just below the root,
 * then fix the bests on the way back. A path longer than the stack has
 * only its lowest part compressed (each step of a compression is valid on
 * its own), and the rest is read for the answer.
 *
 * No semidominator is less than 0, the super-root's number: the walk stops
 * at the first vertex whose best is 0, what lies above it cannot change
 * the answer, and only the part walked is compressed. On a heap most
 * vertices have semidominator 0 (see compute_idoms()), and so do most
 * paths' upper parts.
 */
static uint32_t eval(struct lengauer_tarjan *lt, uint32_t v, uint32_t w)
{
	struct lt_vertex *vs = lt->vertices;
	size_t depth = 0;
	uint32_t x = v, best;

	if (v <= w)
		return v;
	while (vs[x].ancestor > w && vs[x].best > 0 &&
	       depth < lt->path_capacity) {
		lt->path[depth++] = x;
		x = vs[x].ancestor;
	}
	while (depth > 0) {
		struct lt_vertex *y = &vs[lt->path[--depth]];
		const struct lt_vertex *a = &vs[y->ancestor];

		if (a->best < y->best)
			y->best = a->best;
		y->ancestor = a->ancestor;
	}
	best = vs[v].best;
	for (x = vs[v].ancestor; best > 0 && x > w; x = vs[x].ancestor) {
		if (vs[x].best < best)
			best = vs[x].best;
	}
	return best;
}

/*
 * Prefetch the entry steps up the link-eval forest from v (0: v's own), as
 * far as vertices processed (above w) go: an eval's walk is a cache miss a
 * step, and the steps below were prefetched by the calls for earlier
 * evals.
 */
static inline void prefetch_ancestor(const struct lt_vertex *vs, uint32_t v,
				     uint32_t w, unsigned steps)
{
	for (unsigned i = 0; i < steps && v > w; i++)
		v = vs[v].ancestor;
	if (v > w)
		__builtin_prefetch(&vs[v]);
}

/*
 * Whether one of w's predecessors has an eval() of 0 that needs no walk:
 * the super-root itself, or a vertex processed (linked) whose own best is
 * 0. Asked of all of them before any walk, because one such is common (see
 * compute_idoms()) and spares the walks of the others.
 */
static bool eval_is_zero_at_once(const struct lengauer_tarjan *lt, size_t w)
{
	for (uint64_t e = lt->pred_offsets[w]; e < lt->pred_offsets[w + 1]; e++) {
		uint32_t v = lt->preds[e];

		if (v <= w ? v == 0 : lt->vertices[v].best == 0)
			return true;
	}
	return false;
}

/*
 * Give back the pages of lt->preds from entry start on, which the
 * vertices processed have read for the last time, once a huge page's
 * worth has built up.
 */
static void release_preds_from(struct lengauer_tarjan *lt, uint64_t start)
{
	uintptr_t page = (uintptr_t)getpagesize();
	uintptr_t from = ((uintptr_t)(lt->preds + start) + page - 1) &
			 ~(page - 1);

	if (from < lt->preds_kept_end &&
	    lt->preds_kept_end - from >= CH_HUGE_PAGE_SIZE) {
		ch_release_pages((void *)from, lt->preds_kept_end - from);
		lt->preds_kept_end = from;
	}
}

/*
 * Semi-NCA (Georgiadis): the semidominators as Lengauer-Tarjan computes
 * them, in reverse preorder, then each idom as the nearest common ancestor
 * in the growing dominator tree of the DFS parent and the semidominator,
 * in preorder. No buckets and at most one eval per edge: on a heap graph,
 * where each eval is a run of cache misses, that is what the time goes
 * into. A vertex's predecessors are asked only until its semidominator is
 * 0, the super-root, below which none can take it: on a heap of random
 * cross references that is most vertices (two thirds of the benchmark's,
 * which no allocation then dominates), and half the evals are left out,
 * more when a predecessor says so before any walk
 * (eval_is_zero_at_once()).
 *
 * A vertex's entry in the forest is written when it is processed, and only
 * the entries of vertices processed are read (eval() reads no vertex
 * numbered w or less): the forest's pages are touched as the predecessors
 * of the vertices processed are given back, each pass about as large.
 */
static void compute_idoms(struct lengauer_tarjan *lt)
{
	struct lt_vertex *vs = lt->vertices;
	size_t count = lt->count;
	uint32_t *parents = lt->by_number;

	// w's semidominator takes the place of the end of w's predecessors,
	// read for the last time when w is processed.
	uint32_t *semi_of = lt->pred_offsets + 1;

	for (size_t w = count - 1; w >= 1; w--) {
		// The DFS parent, a predecessor numbered below w, is its
		// own eval(): semi starts there, its edge left out of preds.
		uint32_t parent = parents[w], semi = parent;

		if (w % PROGRESS_STEP == 0)
			ch_progress_add(PROGRESS_STEP);
		if (eval_is_zero_at_once(lt, w))
			semi = 0;
		// Backwards: the next vertex's predecessors are just below
		// these, and those AHEAD below are prefetched.
		for (uint64_t e = lt->pred_offsets[w + 1];
		     semi > 0 && e-- > lt->pred_offsets[w];) {
			// The walks of the evals ahead, a step further the
			// nearer they are.
			if (e >= AHEAD)
				prefetch_ancestor(vs, lt->preds[e - AHEAD], w, 0);
			if (e >= AHEAD / 2)
				prefetch_ancestor(vs, lt->preds[e - AHEAD / 2], w, 1);
			if (e >= AHEAD / 4)
				prefetch_ancestor(vs, lt->preds[e - AHEAD / 4], w, 2);
			uint32_t best = eval(lt, lt->preds[e], w);

			if (best < semi)
				semi = best;
		}
		semi_of[w] = semi;
		vs[w].best = semi;
		vs[w].ancestor = parent;
		release_preds_from(lt, lt->pred_offsets[w]);
	}
	// A vertex's idom is an ancestor of its parent in the dominator tree
	// (built in preorder, so final above it), the first not below semi.
	// In place: parent[w] is read once, before idom[w] takes its slot.
	uint32_t *idoms = lt->by_number;

	idoms[0] = 0;
	for (size_t w = 1; w < count; w++) {
		uint32_t d = idoms[w];

		while (d > semi_of[w])
			d = idoms[d];
		idoms[w] = d;
	}
}

/*
 * The DFS parent of each vertex, from the search's tree edges, into
 * lt->by_number (the second share's counts are read no more): written now
 * rather than by the search, so that the predecessors' passes do not hold
 * them.
 */
static struct ch_error *find_parents(const uint32_t *offsets,
				     const uint32_t *targets,
				     const uint32_t *roots, size_t num_roots,
				     const uint32_t *number_of,
				     size_t num_nodes,
				     struct lengauer_tarjan *lt)
{
	_cleanup_free_ struct predecessor_share *shares = malloc(2 * sizeof(*shares));

	if (!shares)
		return &ch_enomem;
	init_shares(shares, offsets, targets, roots, num_roots, number_of,
		    num_nodes, lt, true);
	shares[0].parents = shares[1].parents = lt->by_number;
	lt->by_number[0] = 0;
	run_shares(parent_share, shares);
	// A tree edge a vertex but the super-root; the stage counts a node.
	ch_progress_add(num_nodes + 1 - lt->count);
	return NULL;
}

/*
 * The nodes in a preorder of the dominator tree into order (count - 1
 * entries), the super-root left out: each node's subtree takes the
 * positions after it. Two passes in DFS numbers, where a vertex's idom
 * (idoms) comes before it: the subtrees' sizes summed up in reverse, then
 * each vertex placed at the next free position in its idom's range, which
 * it then opens for its own children. next (count entries) is for the
 * sizes and positions.
 */
static void order_by_tree(size_t count, const uint32_t *idoms,
			  const uint32_t *vertex, uint32_t *next,
			  uint32_t *order)
{
	for (size_t w = 0; w < count; w++)
		next[w] = 1;
	for (size_t w = count - 1; w >= 1; w--)
		next[idoms[w]] += next[w];
	next[0] = 0;
	for (size_t w = 1; w < count; w++) {
		uint32_t position = next[idoms[w]];

		next[idoms[w]] += next[w];
		order[position] = vertex[w];
		next[w] = position + 1;
	}
}

/*
 * The result, from the idoms by DFS number (lt->by_number), in pages
 * touched before: fresh ones would cost a fault each (and on a virtual
 * machine, maybe one of the host's too). The nodes by DFS number, rebuilt
 * from *number_of (the search's were given up for the predecessors'
 * counts), go where the forest was, in lt->work; the idoms by node take
 * its front, where the semidominators were, and the order *number_of's
 * buffer, which the result takes; then lt->work is cut down to the idoms.
 */
static struct ch_error *make_result(struct lengauer_tarjan *lt,
				    uint32_t **number_of, size_t num_nodes,
				    struct ch_dominators *result)
{
	size_t n1 = num_nodes + 1;
	uint32_t *vertex = work_vertex(lt, n1), *idom = lt->work;
	const uint32_t *idoms = lt->by_number;

	lt->vertices = NULL;
	lt->pred_offsets = NULL;
	for (size_t v = 0; v < num_nodes; v++) {
		if ((*number_of)[v] != CH_DOMINATOR_NONE)
			vertex[(*number_of)[v]] = v;
	}
	memset(idom, 0xff, n1 * sizeof(*idom));
	for (size_t w = 1; w < lt->count; w++) {
		uint32_t d = idoms[w];

		idom[vertex[w]] = d == 0 ? CH_DOMINATOR_ROOT : vertex[d];
	}
	order_by_tree(lt->count, idoms, vertex, vertex + n1, *number_of);
	result->order = *number_of;
	*number_of = NULL;
	result->idom = realloc(lt->work, n1 * sizeof(*idom));
	if (!result->idom)
		return &ch_enomem;
	lt->work = NULL;
	result->num_reachable = lt->count - 1;
	return NULL;
}

struct ch_error *ch_dominators_compute(size_t num_nodes,
				       const uint32_t *offsets,
				       const uint32_t *targets,
				       const uint32_t *roots, size_t num_roots,
				       const struct ch_dominators_beside *beside,
				       struct ch_dominators *ret)
{
	struct lengauer_tarjan lt = { 0 };
	pthread_t beside_thread;
	bool beside_threaded = false;
	_cleanup_free_ uint32_t *number_of = NULL;
	struct ch_dominators result = { .num_nodes = num_nodes };
	size_t n1 = num_nodes + 1;
	struct ch_error *err;

	if (num_nodes >= CH_DOMINATOR_ROOT)
		return ch_error_create(CH_ERROR_CORRUPT,
				       "too many nodes for the dominator tree: %zu",
				       num_nodes);
	// The search's stack holds edge indices in 32 bits.
	if (num_roots >= UINT32_MAX)
		return ch_error_create(CH_ERROR_CORRUPT,
				       "%zu roots: more than the dominator tree's %" PRIu32,
				       num_roots, UINT32_MAX - 1);
	number_of = ch_malloc_large(n1 * sizeof(*number_of));
	// One more: the second share's counts, of count + 1 vertices.
	lt.by_number = ch_malloc_large((n1 + 1) * sizeof(*lt.by_number));
	lt.work = ch_malloc_large(work_bytes(n1));
	lt.tree_edges = ch_calloc_large(ch_bitmap_words(offsets[num_nodes]) + 1,
					sizeof(*lt.tree_edges));
	lt.tree_roots = ch_calloc_large(ch_bitmap_words(num_roots) + 1,
					sizeof(*lt.tree_roots));
	if (!number_of || !lt.by_number || !lt.work || !lt.tree_edges ||
	    !lt.tree_roots) {
		err = &ch_enomem;
		goto out;
	}
	ch_progress_start("dominator tree",
			  SEARCH_WEIGHT * (uint64_t)num_nodes +
				  2 * ((uint64_t)offsets[num_nodes] + num_roots) +
				  2 * (uint64_t)num_nodes);
	if (beside) {
		beside_threaded = pthread_create(&beside_thread, NULL,
						 beside->fn, beside->arg) == 0;
		if (!beside_threaded)
			beside->fn(beside->arg);
	}
	err = search_and_number(num_nodes, offsets, targets, roots, num_roots,
				number_of, &lt);
	if (err)
		goto out;
	// The search's stack, past where the offsets go.
	release_work_after_offsets(&lt, n1, lt.count);
	err = collect_predecessors(offsets, targets, roots, num_roots,
				   number_of, num_nodes, &lt);
	if (!err)
		err = find_parents(offsets, targets, roots, num_roots,
				   number_of, num_nodes, &lt);
	if (err)
		goto out;
	free(lt.tree_edges);
	free(lt.tree_roots);
	lt.tree_edges = lt.tree_roots = NULL;
	lt.vertices = work_vertices(&lt, lt.count);
	// Deeper walks than this are rare: a heap-sized stack is not needed.
	lt.path_capacity = lt.count < EVAL_STACK ? lt.count : EVAL_STACK;
	lt.path = ch_malloc_large(lt.path_capacity * sizeof(*lt.path));
	if (!lt.path) {
		err = &ch_enomem;
		goto out;
	}
	compute_idoms(&lt);
	free(lt.preds);
	lt.preds = NULL;
	err = make_result(&lt, &number_of, num_nodes, &result);
	if (err)
		goto out;
	*ret = result;
	result = (struct ch_dominators){ 0 };
out:
	ch_progress_end();
	// The work beside goes on through the steps after the search.
	if (beside_threaded)
		pthread_join(beside_thread, NULL);
	ch_dominators_deinit(&result);
	lengauer_tarjan_deinit(&lt);
	return err;
}

void ch_dominators_deinit(struct ch_dominators *dominators)
{
	free(dominators->idom);
	free(dominators->order);
	*dominators = (struct ch_dominators){ 0 };
}

struct ch_error *ch_dominators_retained(const struct ch_dominators *dominators,
					const struct ch_block *blocks,
					uint64_t **retained_ret,
					uint64_t *total_ret)
{
	uint64_t *retained = ch_calloc_large(dominators->num_nodes + 1,
				    sizeof(*retained));
	uint64_t total = 0;

	if (!retained)
		return &ch_enomem;
	// Preorder puts every node after its dominator: sum up in reverse.
	for (size_t i = dominators->num_reachable; i-- > 0;) {
		uint32_t v = dominators->order[i];
		uint32_t d = dominators->idom[v];

		retained[v] += ch_block_size(&blocks[v]);
		if (d == CH_DOMINATOR_ROOT)
			total += retained[v];
		else
			retained[d] += retained[v];
	}
	*retained_ret = retained;
	*total_ret = total;
	return NULL;
}

/*
 * Walk the dominator tree in the order's preorder, keeping the current
 * node's dominators on a stack: a node's idom is on it, and what lies above
 * the idom are the subtrees just left. For each group, how many of the
 * stacked nodes belong to it: a node counts for its group only when none
 * does. The nodes a few places ahead have their idom, group and retained
 * size fetched ahead.
 */
#define GROUP_AHEAD 8

struct ch_error *ch_dominators_group_retained(const struct ch_dominators *dominators,
					      const uint64_t *retained,
					      const uint32_t *group_of,
					      size_t num_groups,
					      uint64_t *group_retained)
{
	size_t r = dominators->num_reachable;
	const uint32_t *order = dominators->order, *idom = dominators->idom;
	// As deep as the tree: a list is as deep as it is long, but the
	// pages past the deepest point are never touched.
	_cleanup_free_ uint32_t *stack = ch_malloc_large((r + 1) * sizeof(*stack));
	_cleanup_free_ uint32_t *active = ch_calloc_large(num_groups + 1, sizeof(*active));
	size_t depth = 0;

	if (!stack || !active)
		return &ch_enomem;
	memset(group_retained, 0, num_groups * sizeof(*group_retained));
	for (size_t i = 0; i < r; i++) {
		if (i + GROUP_AHEAD < r) {
			uint32_t ahead = order[i + GROUP_AHEAD];

			__builtin_prefetch(&idom[ahead]);
			__builtin_prefetch(&group_of[ahead]);
			__builtin_prefetch(&retained[ahead]);
		}
		uint32_t v = order[i], d = idom[v];

		while (depth > 0 && stack[depth - 1] != d)
			active[group_of[stack[--depth]]]--;
		if (depth == 0 && d != CH_DOMINATOR_ROOT)
			return ch_error_create(CH_ERROR_CORRUPT,
					       "node %" PRIu32 " is not in its dominator's subtree",
					       v);
		if (active[group_of[v]]++ == 0)
			group_retained[group_of[v]] += retained[v];
		stack[depth++] = v;
	}
	return NULL;
}
