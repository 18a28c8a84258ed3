// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitmap.h"
#include "base/cleanup.h"
#include "base/large_alloc.h"
#include "base/page_release.h"
#include "base/prefault.h"
#include "base/prefetch.h"
#include "base/progress.h"
#include "base/thread_pair.h"
#include "graph/dominators.h"

// eval()'s stack: the longest path it compresses at once.
#define EVAL_STACK ((size_t)1 << 16)
/*
 * The progress of the whole computation, one stage: the search counts
 * SEARCH_WEIGHT a node, reached or not, each of the predecessors' two
 * passes 1 an edge or root, the semidominators 1 a node: about their
 * shares of the time on a large heap. The vertices are reported a step of
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
 * what it costs: the heap's model and the types are held throughout, the
 * graph's edges until the predecessors are made from them (given back as
 * they are read, when they are the computation's), and each array below
 * only while a pass needs it, its pages given back between uses.
 */
struct lengauer_tarjan {
	size_t count;          // reachable vertices, super-root included
	/**
	 * By DFS number: the node numbered (the search), then after_search's
	 * scratch, then the DFS parent (partition_edges()), then the idom
	 * (compute_idoms()).
	 */
	uint32_t *by_number;
	struct lt_vertex *vertices;
	uint32_t *path;        // eval's explicit stack,
	size_t path_capacity;  // this long
	/**
	 * One buffer for three uses in turn: the search's stack
	 * (work_stack()); then the predecessors' offsets, each vertex's
	 * semidominator taking its place, and the link-eval forest's vertices
	 * (work_vertices()); then the result's idoms by node, the nodes by
	 * DFS number (work_vertex()) and the order's counts.
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
	// Where the pages of preds given back so far begin (a huge page's
	// start, once any are).
	uintptr_t preds_kept_end;
	/**
	 * Whether the arrays are large enough for the pool of pages
	 * (page_pool.h): pages given up are kept for the next array, and
	 * arrays about to be written take kept ones. A small heap's go back
	 * to the kernel, as its allocations do.
	 */
	bool pooled;
};

// Pages whose contents are not needed any more: to the pool if pooled,
// else back to the kernel.
static void give_up(bool pooled, void *p, size_t size)
{
	if (pooled)
		ch_page_pool_keep(p, size);
	else
		ch_release_pages(p, size);
}

// Pages about to be written, holding nothing needed: from the pool if
// pooled.
static void take_kept(bool pooled, void *p, size_t size)
{
	if (pooled)
		ch_page_pool_reuse(p, size);
}

static void lengauer_tarjan_deinit(struct lengauer_tarjan *lt)
{
	ch_free_large(lt->by_number);
	ch_free_large(lt->work);
	free(lt->path);
	ch_free_large(lt->tree_edges);
	free(lt->tree_roots);
	ch_free_large(lt->preds);
}

/*
 * The depth-first search's stack: for each vertex on the way down that has
 * edges left to follow, the next of them, a 32-bit edge index. Where its
 * row ends is read off the row ends' bitmap (row_end()), or, for a row
 * with more than ROW_END_SPAN edges left, from an entry of its own pushed
 * below: the stack is as deep as the longest path the search takes (two
 * thirds of the heap's allocations on the benchmark's), and each byte of
 * an entry is tens of megabytes there, faulted in while the search waits.
 */
#define ROW_END_SPAN 64

static uint32_t *work_stack(const struct lengauer_tarjan *lt)
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
	// Two entries a vertex at most (a long row's end, then its next).
	size_t stack = 2 * n1 * sizeof(uint32_t);
	size_t forest = (n1 + 1) * sizeof(uint32_t) + 64 +
			n1 * sizeof(struct lt_vertex);
	size_t result = 3 * n1 * sizeof(uint32_t);
	size_t most = stack > forest ? stack : forest;

	return most > result ? most : result;
}

/*
 * A vertex is new: fetch whether each of its targets was seen, and the
 * offsets of each, one of which the search enters next. Its targets' line
 * was read, and the search would otherwise wait on these one by one. (A
 * guess at the row of each, fetched too, made the search slower.)
 */
CH_PREFETCHER void prefetch_targets(const uint32_t *offsets,
				    const uint32_t *targets,
				    const uint64_t *seen, uint32_t from,
				    uint32_t to)
{
	for (uint32_t e = from; e < to; e++) {
		__builtin_prefetch(&seen[targets[e] / 64]);
		__builtin_prefetch(&offsets[targets[e]]);
	}
}

/*
 * The search's two arrays that grow as it goes, the numbers and the stack,
 * have their pages faulted in ahead of it by threads of their own
 * (base/prefault.h): a fresh page costs more than the search's work on
 * the entries it holds, and the other core has nothing else to do.
 */
struct search_prefault {
	struct ch_prefault *numbers, *stack;
	size_t stack_reported;  // the deepest the stack was said to be
};

// Progress is told the prefault threads every this many entries.
#define PREFAULT_STEP ((size_t)1 << 16)
// Below this many nodes the threads would cost more than the faults.
#define PREFAULT_MIN_NODES ((size_t)1 << 20)

static void search_prefault_start(struct search_prefault *pf,
				  const struct lengauer_tarjan *lt, size_t n1)
{
	*pf = (struct search_prefault){ 0 };
	if (n1 < PREFAULT_MIN_NODES)
		return;
	pf->numbers = ch_prefault_start(lt->by_number,
					n1 * sizeof(*lt->by_number), 0);
	pf->stack = ch_prefault_start(lt->work, 2 * n1 * sizeof(uint32_t), 0);
}

// count vertices are numbered and the stack is depth entries deep: tell
// the numbers' thread every step, the stack's when it is deeper than ever
// by a step.
static inline void search_prefault_progress(struct search_prefault *pf,
					    size_t count, size_t depth)
{
	if (count % PREFAULT_STEP == 0)
		ch_prefault_progress(pf->numbers, count * sizeof(uint32_t));
	if (depth >= pf->stack_reported + PREFAULT_STEP) {
		pf->stack_reported = depth;
		ch_prefault_progress(pf->stack,
				     depth * sizeof(uint32_t));
	}
}

static void search_prefault_stop(struct search_prefault *pf, size_t count)
{
	ch_prefault_stop(pf->numbers, count * sizeof(uint32_t));
	ch_prefault_stop(pf->stack,
			 pf->stack_reported * sizeof(uint32_t));
}

/*
 * The row ends of the graph's edges: bit e is set when edge e is the last
 * of its row. A word more than the edges take: row_end() reads two.
 */
static uint64_t *make_row_ends(size_t num_nodes, const uint32_t *offsets)
{
	uint64_t *row_ends = ch_calloc_large(ch_bitmap_words(offsets[num_nodes]) + 2,
					     sizeof(*row_ends));

	if (!row_ends)
		return NULL;
	for (size_t v = 0; v < num_nodes; v++) {
		if (offsets[v + 1] > offsets[v])
			ch_bit_set(row_ends, offsets[v + 1] - 1);
	}
	return row_ends;
}

// The end of the row that edge next is in, when it ends within
// ROW_END_SPAN edges of next; else 0, which no row's end is.
static inline uint32_t row_end(const uint64_t *row_ends, uint32_t next)
{
	size_t word = next / 64, shift = next % 64;
	uint64_t ahead = row_ends[word] >> shift;

	if (shift)
		ahead |= row_ends[word + 1] << (64 - shift);
	return ahead ? next + (uint32_t)__builtin_ctzll(ahead) + 1 : 0;
}

/*
 * Iterative depth-first search from the super-root: the reachable nodes in
 * preorder (lt->by_number). Whether a target was seen is asked of a bitmap
 * (an eighth of a byte a node, in the cache where the numbers were a miss
 * an edge); the numbers by node are written after, in one pass
 * (number_nodes()). Only a vertex with edges left to follow waits on the
 * stack (work_stack()): a leaf is numbered and the search goes on where it
 * was, and a vertex whose last edge was followed is done with. The edge
 * each vertex is entered by is marked in lt->tree_edges (or
 * lt->tree_roots): the spanning tree, whose parents are written only when
 * they are needed (partition_edges()).
 */
static struct ch_error *number_vertices(size_t num_nodes,
					const uint32_t *offsets,
					const uint32_t *targets,
					const uint32_t *roots, size_t num_roots,
					struct lengauer_tarjan *lt)
{
	uint32_t *stack = work_stack(lt);
	struct ch_progress_batch progress = {
		.step = SEARCH_WEIGHT * PROGRESS_STEP
	};
	_cleanup_free_ uint64_t *seen = ch_calloc_large(ch_bitmap_words(num_nodes) + 1,
							sizeof(*seen));
	_cleanup_free_ uint64_t *row_ends = make_row_ends(num_nodes, offsets);
	struct search_prefault prefault;
	size_t depth = 0, count = 1;
	/**
	 * The vertex whose edges are followed: the next of them and its row's
	 * end. The super-root's edges are the roots (from_root); while other
	 * vertices' are followed, its next waits in root_next.
	 */
	bool from_root = true;
	uint32_t e = 0, end = (uint32_t)num_roots, root_next = 0;

	if (!seen || !row_ends)
		return &ch_enomem;
	search_prefault_start(&prefault, lt, num_nodes + 1);
	lt->by_number[0] = CH_DOMINATOR_ROOT;
	for (;;) {
		const uint32_t *out = from_root ? roots : targets;
		uint32_t v = CH_DOMINATOR_NONE, first, last;

		for (; e < end; e++) {
			uint32_t candidate = out[e];

			if (candidate < num_nodes && !ch_bit_get(seen, candidate)) {
				v = candidate;
				e++;
				break;
			}
		}
		if (v == CH_DOMINATOR_NONE) {
			// Back to the last vertex with edges left, else to the
			// super-root's.
			if (depth > 0) {
				e = stack[--depth];
				end = row_end(row_ends, e);
				if (!end)
					end = stack[--depth];
			} else if (!from_root) {
				from_root = true;
				e = root_next;
				end = (uint32_t)num_roots;
			} else {
				break;
			}
			continue;
		}
		ch_bit_set(seen, v);
		ch_bit_set(from_root ? lt->tree_roots : lt->tree_edges, e - 1);
		lt->by_number[count++] = v;
		first = offsets[v];
		last = offsets[v + 1];
		if (first < last) {
			if (from_root) {
				root_next = e;
				from_root = false;
			} else if (e < end) {
				if (end - e > ROW_END_SPAN)
					stack[depth++] = end;
				stack[depth++] = e;
			}
			prefetch_targets(offsets, targets, seen, first, last);
			e = first;
			end = last;
		}
		search_prefault_progress(&prefault, count, depth);
		ch_progress_count(&progress, SEARCH_WEIGHT);
	}
	search_prefault_stop(&prefault, count);
	lt->count = count;
	ch_progress_flush(&progress);
	// The nodes no root reaches (count has the super-root).
	ch_progress_add(SEARCH_WEIGHT * (num_nodes + 1 - count));
	return NULL;
}

/*
 * number_of (n1 entries), the inverse of lt->by_number: CH_DOMINATOR_NONE
 * where no root reaches. Filled after the search, whose stack's pages are
 * given back first: the search's peak does not hold number_of, nor what
 * follows the stack. lt->by_number is read no more: it is the scratch of
 * after_search, then the parents.
 */
static void number_nodes(struct lengauer_tarjan *lt, size_t n1,
			 uint32_t *number_of)
{
	give_up(lt->pooled, lt->work, work_bytes(n1));
	take_kept(lt->pooled, number_of, n1 * sizeof(*number_of));
	memset(number_of, 0xff, n1 * sizeof(*number_of));
	for (size_t w = 1; w < lt->count; w++)
		number_of[lt->by_number[w]] = w;
}

/*
 * The edges of the reachable vertices, as (source, target) DFS numbers,
 * each marked whether it is the search's tree edge, a buffer at a time,
 * the super-root's first, then in node order: the graph's rows are read
 * one after the other (in DFS order each was a jump to another part of
 * the arrays), the numbers of the targets at random, prefetched ahead.
 */
#define EDGE_BUFFER 4096
#define AHEAD 16
// Below this many edges, one thread partitions them.
#define MIN_PARALLEL_EDGES ((uint64_t)1 << 20)

struct edge_stream {
	const uint32_t *offsets;
	const uint32_t *targets;
	const uint32_t *roots;
	size_t num_roots, num_nodes;
	const uint32_t *number_of;
	// The search's tree edges (see struct lengauer_tarjan).
	const uint64_t *tree_edges, *tree_roots;
	/**
	 * Where the stream is: source's edge e; source 0 is the super-root,
	 * source u + 1 node u. It stops before source end.
	 */
	size_t source, end;
	uint64_t e;
	uint32_t sources[EDGE_BUFFER], dests[EDGE_BUFFER];
	bool tree[EDGE_BUFFER];
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

			if (t >= s->num_nodes)
				continue;
			s->tree[n] = ch_bit_get(tree, s->e);
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
 * The predecessors are made in two passes, so that the graph's edges can
 * be given back as they are read while the predecessors take their place
 * (at no time are both whole in memory). The first (partition_edges())
 * puts each edge but the tree's in the bucket of its target's DFS number,
 * BUCKET_BITS of it at a time: its source, and its target's low bits. A
 * bucket is a list of chunks, carved out of the pages of the graph's
 * edges that were read when they are the computation's (pages touched
 * before cost no fault), else out of an arena. The second
 * (gather_buckets()) makes each bucket's predecessors in CSR form, in the
 * cache, and gives back its chunks: the predecessors take their place.
 * Six bytes an edge in the buckets, four in the predecessors, four in the
 * graph.
 */
#define BUCKET_BITS 16
#define BUCKET_SIZE ((size_t)1 << BUCKET_BITS)
#define CHUNK_BYTES ((size_t)32 << 10)
#define CHUNK_ENTRIES \
	((CHUNK_BYTES - sizeof(void *) - sizeof(uint32_t)) / \
	 (sizeof(uint32_t) + sizeof(uint16_t)))

struct chunk {
	struct chunk *next;    // the bucket's next chunk, or NULL
	uint32_t len;
	uint32_t sources[CHUNK_ENTRIES];
	uint16_t lows[CHUNK_ENTRIES];
};

_Static_assert(sizeof(struct chunk) <= CHUNK_BYTES,
	       "a chunk fits in its room");

// A bucket's chunks from one thread's share.
struct bucket_list {
	struct chunk *head, *tail;     // NULL while empty
	uint32_t len;                  // entries
};

struct arena {
	char *base;
	size_t bytes;
	size_t next_chunk;     // the next to hand out, by either thread
};

/*
 * Room for every edge and root: a thread's list of a bucket has at most
 * one chunk that is not full. Only the pages of the chunks handed out are
 * ever touched.
 */
static struct ch_error *arena_init(struct arena *arena, uint64_t entries,
				   size_t num_buckets)
{
	arena->next_chunk = 0;
	arena->bytes = (entries / CHUNK_ENTRIES + 2 * num_buckets + 1) *
		       CHUNK_BYTES;
	arena->base = ch_map_huge_aligned(arena->bytes);
	return arena->base ? NULL : &ch_enomem;
}

static void arena_deinit(struct arena *arena)
{
	if (arena->base)
		munmap(arena->base, arena->bytes);
	arena->base = NULL;
}

/*
 * One thread's share of the edges, those of the sources [stream.source,
 * stream.end): the first pass writes each tree edge's target's parent into
 * parents and puts the others in its bucket lists. With reuse, the pages
 * of the share's part of the targets it has read, from carved to read_end,
 * are room for its chunks, and those of the offsets it has read, from
 * offsets_kept on, are given back.
 */
struct partition_share {
	struct edge_stream stream;
	struct arena *arena;
	struct bucket_list *lists;
	uint32_t *parents;
	bool reuse, pooled;
	uintptr_t carved, read_end, offsets_kept;
	uint64_t total;
};

// A chunk for a list of the share's: carved out of the targets it has
// read, else from the arena, which arena_init() made room in for every
// chunk asked for.
static struct chunk *new_chunk(struct partition_share *share)
{
	struct chunk *chunk;

	if (share->read_end >= share->carved + CHUNK_BYTES) {
		chunk = (struct chunk *)share->carved;
		share->carved += CHUNK_BYTES;
	} else {
		size_t id = __atomic_fetch_add(&share->arena->next_chunk, 1,
					       __ATOMIC_RELAXED);

		chunk = (struct chunk *)(share->arena->base + id * CHUNK_BYTES);
	}
	chunk->next = NULL;
	chunk->len = 0;
	return chunk;
}

static void push_predecessor(struct partition_share *share, uint32_t target,
			     uint32_t source)
{
	struct bucket_list *list = &share->lists[target >> BUCKET_BITS];
	struct chunk *chunk = list->tail;

	if (!chunk || chunk->len == CHUNK_ENTRIES) {
		chunk = new_chunk(share);
		if (list->tail)
			list->tail->next = chunk;
		else
			list->head = chunk;
		list->tail = chunk;
	}
	chunk->sources[chunk->len] = source;
	chunk->lows[chunk->len++] = target & (BUCKET_SIZE - 1);
	list->len++;
}

// Give back the whole pages from *kept up to end, once a huge page's worth
// has built up; *kept moves to the first page not given back. Back to the
// kernel, not to the pool: the pass would hold them through its peak.
static void give_back_before(uintptr_t *kept, const void *end)
{
	if ((uintptr_t)end >= *kept + CH_HUGE_PAGE_SIZE) {
		ch_release_pages((void *)*kept, (uintptr_t)end - *kept);
		*kept = ch_page_down((uintptr_t)end);
	}
}

static void *partition_share(void *arg)
{
	struct partition_share *share = arg;
	struct edge_stream *s = &share->stream;
	uint32_t *parents = share->parents;
	size_t n;

	while ((n = next_edges(s)) > 0) {
		share->total += n;
		ch_progress_add(n);
		for (size_t k = 0; k < n; k++) {
			if (k + AHEAD < n && s->tree[k + AHEAD])
				__builtin_prefetch(&parents[s->dests[k + AHEAD]], 1);
			if (s->tree[k])
				parents[s->dests[k]] = s->sources[k];
			else
				push_predecessor(share, s->dests[k],
						 s->sources[k]);
		}
		// The rows of the sources before this one are read.
		if (share->reuse && s->source > 1) {
			size_t u = s->source - 1;

			share->read_end =
				ch_page_down((uintptr_t)&s->targets[s->offsets[u]]);
			give_back_before(&share->offsets_kept, &s->offsets[u]);
		}
	}
	// What is read but not carved holds nothing more.
	if (share->read_end > share->carved)
		give_up(share->pooled, (void *)share->carved,
			share->read_end - share->carved);
	return NULL;
}

/*
 * The two shares of the pass over the edges: on two threads when there are
 * many edges, each taking the sources of about half of them; else the
 * first takes all, and the second none. With taken_targets, each carves
 * its chunks out of the whole pages of its part of them.
 */
static void init_shares(struct partition_share shares[2],
			const uint32_t *offsets, const uint32_t *targets,
			uint32_t *taken_targets, const uint32_t *roots,
			size_t num_roots, const uint32_t *number_of,
			size_t num_nodes, const struct lengauer_tarjan *lt)
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
		size_t first = t == 0 ? 0 : split;
		// Node first - 1 is the share's first source.
		size_t first_node = first > 0 ? first - 1 : 0;

		shares[t].stream = (struct edge_stream){
			.offsets = offsets, .targets = targets,
			.roots = roots, .num_roots = num_roots,
			.num_nodes = num_nodes,
			.number_of = number_of,
			.tree_edges = lt->tree_edges,
			.tree_roots = lt->tree_roots,
			.source = first,
			.end = t == 0 ? split : num_nodes + 1,
		};
		shares[t].offsets_kept = (uintptr_t)&offsets[first_node];
		shares[t].reuse = taken_targets != NULL;
		shares[t].pooled = lt->pooled;
		if (taken_targets)
			shares[t].carved = shares[t].read_end = ch_page_up(
				(uintptr_t)&taken_targets[offsets[first_node]]);
	}
}

static bool has_second_share(const struct partition_share shares[2])
{
	return shares[1].stream.source < shares[1].stream.end;
}

/*
 * The second pass's share: buckets [first, end), whose predecessors begin
 * at bucket_start[first]. Each bucket's entries are counted by target
 * (cursors, BUCKET_SIZE of them), the counts made into the targets'
 * offsets, then each entry written at its target's cursor.
 */
struct gather_share {
	const struct bucket_list *lists[2];
	const uint32_t *bucket_start;
	size_t first, end;
	size_t count;
	uint32_t *pred_offsets, *preds;
	uint32_t *cursors;
};

static void count_bucket(const struct bucket_list *list, uint32_t *cursors)
{
	for (const struct chunk *chunk = list->head; chunk;
	     chunk = chunk->next) {
		for (uint32_t i = 0; i < chunk->len; i++)
			cursors[chunk->lows[i]]++;
	}
}

// Write the bucket's entries, and give back each chunk once written (in
// batches: one at a time, the give-backs cost more than the pass).
static void write_bucket(const struct bucket_list *list, uint32_t *cursors,
			 uint32_t *preds, struct ch_page_release *release)
{
	for (struct chunk *chunk = list->head, *next; chunk; chunk = next) {
		for (uint32_t i = 0; i < chunk->len; i++)
			preds[cursors[chunk->lows[i]]++] = chunk->sources[i];
		next = chunk->next;
		ch_page_release_add(release, chunk, CHUNK_BYTES);
	}
}

static void *gather_share(void *arg)
{
	struct gather_share *share = arg;
	struct ch_page_release release = { .len = 0 };

	for (size_t b = share->first; b < share->end; b++) {
		size_t low = b << BUCKET_BITS;
		size_t len = share->count - low < BUCKET_SIZE ?
				     share->count - low : BUCKET_SIZE;
		uint32_t offset = share->bucket_start[b];

		memset(share->cursors, 0, len * sizeof(*share->cursors));
		for (int t = 0; t < 2; t++)
			count_bucket(&share->lists[t][b], share->cursors);
		for (size_t j = 0; j < len; j++) {
			uint32_t here = share->cursors[j];

			share->pred_offsets[low + j] = offset;
			share->cursors[j] = offset;
			offset += here;
		}
		for (int t = 0; t < 2; t++)
			write_bucket(&share->lists[t][b], share->cursors,
				     share->preds, &release);
		ch_progress_add(share->bucket_start[b + 1] -
				share->bucket_start[b]);
	}
	ch_page_release_flush(&release);
	return NULL;
}

/*
 * The edges, in the predecessors' CSR form (lt->pred_offsets, at the front
 * of lt->work, and lt->preds) and the DFS parents (lt->by_number). With
 * taken_targets (the targets, the computation's), the pages of the targets
 * read are room for the chunks, and those of offsets are given back; the
 * caller frees both after the second pass.
 */
struct predecessors {
	uint64_t entries;      // edges and roots, the passes' progress
	size_t num_buckets;
	struct arena arena;
	struct bucket_list *lists[2];
	uint32_t *bucket_start;
	uint32_t *cursors[2];
};

static void predecessors_deinit(struct predecessors *p)
{
	arena_deinit(&p->arena);
	free(p->lists[0]);
	free(p->lists[1]);
	free(p->bucket_start);
	free(p->cursors[0]);
	free(p->cursors[1]);
}

static struct ch_error *partition_edges(const uint32_t *offsets,
					const uint32_t *targets,
					const uint32_t *roots,
					size_t num_roots,
					const uint32_t *number_of,
					size_t num_nodes,
					uint32_t *taken_targets,
					struct lengauer_tarjan *lt,
					struct predecessors *p)
{
	_cleanup_free_ struct partition_share *shares = calloc(2, sizeof(*shares));
	struct ch_error *err;

	if (!shares)
		return &ch_enomem;
	p->entries = (uint64_t)offsets[num_nodes] + num_roots;
	p->num_buckets = (lt->count >> BUCKET_BITS) + 1;
	err = arena_init(&p->arena, p->entries, p->num_buckets);
	if (err)
		return err;
	for (int t = 0; t < 2; t++) {
		p->lists[t] = calloc(p->num_buckets, sizeof(*p->lists[t]));
		if (!p->lists[t])
			return &ch_enomem;
	}
	init_shares(shares, offsets, targets, taken_targets, roots, num_roots,
		    number_of, num_nodes, lt);
	for (int t = 0; t < 2; t++) {
		shares[t].arena = &p->arena;
		shares[t].lists = p->lists[t];
		shares[t].parents = lt->by_number;
	}
	lt->by_number[0] = 0;
	ch_run_pair(partition_share, &shares[0],
		    has_second_share(shares) ? &shares[1] : NULL);
	// The edges of nodes not reached, and those past the nodes.
	ch_progress_add(p->entries - shares[0].total - shares[1].total);
	return NULL;
}

static struct ch_error *gather_buckets(struct lengauer_tarjan *lt,
				       struct predecessors *p)
{
	size_t count = lt->count, num_buckets = p->num_buckets;
	struct gather_share shares[2];
	uint64_t total = 0;
	size_t split = 0;

	p->bucket_start = malloc((num_buckets + 1) * sizeof(*p->bucket_start));
	p->cursors[0] = malloc(BUCKET_SIZE * sizeof(*p->cursors[0]));
	p->cursors[1] = malloc(BUCKET_SIZE * sizeof(*p->cursors[1]));
	if (!p->bucket_start || !p->cursors[0] || !p->cursors[1])
		return &ch_enomem;
	for (size_t b = 0; b < num_buckets; b++) {
		p->bucket_start[b] = total;
		total += (uint64_t)p->lists[0][b].len + p->lists[1][b].len;
		// The offsets are 32 bits: past this, they would wrap.
		if (total >= UINT32_MAX)
			return ch_error_create(CH_ERROR_CORRUPT,
					       "%" PRIu64 " references and roots: more than the dominator tree's %" PRIu32,
					       total, UINT32_MAX - 1);
	}
	p->bucket_start[num_buckets] = total;
	// The second share's first bucket: where half the entries are made.
	while (split < num_buckets && p->bucket_start[split] < total / 2)
		split++;
	if (total < MIN_PARALLEL_EDGES)
		split = num_buckets;
	lt->pred_offsets = lt->work;
	take_kept(lt->pooled, lt->pred_offsets,
		  (count + 1) * sizeof(*lt->pred_offsets));
	lt->preds = ch_malloc_large((total + 1) * sizeof(*lt->preds));
	if (!lt->preds)
		return &ch_enomem;
	lt->preds_kept_end = (uintptr_t)(lt->preds + total + 1);
	for (int t = 0; t < 2; t++) {
		shares[t] = (struct gather_share){
			.lists = { p->lists[0], p->lists[1] },
			.bucket_start = p->bucket_start,
			.first = t == 0 ? 0 : split,
			.end = t == 0 ? split : num_buckets,
			.count = count,
			.pred_offsets = lt->pred_offsets,
			.preds = lt->preds,
			.cursors = p->cursors[t],
		};
	}
	ch_run_pair(gather_share, &shares[0],
		    split < num_buckets ? &shares[1] : NULL);
	lt->pred_offsets[count] = total;
	ch_progress_add(p->entries - total);
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
CH_PREFETCHER void prefetch_ancestor(const struct lt_vertex *vs, uint32_t v,
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
 * Fetch what eval_is_zero_at_once() will read of vertex u's predecessors
 * processed before it: each is a line of the forest at random, which the
 * vertices in between give time to arrive.
 */
#define ZERO_AHEAD 8

CH_PREFETCHER void prefetch_zero_at_once(const struct lengauer_tarjan *lt,
					 size_t u)
{
	for (uint64_t e = lt->pred_offsets[u]; e < lt->pred_offsets[u + 1]; e++) {
		uint32_t v = lt->preds[e];

		if (v > u)
			__builtin_prefetch(&lt->vertices[v]);
	}
}

/*
 * Give up the pages of lt->preds from entry start on, which the vertices
 * processed (w and above) have read for the last time, once a huge page's
 * worth has built up, whole huge pages to the pool; the forest's entries
 * of the vertices processed next, just below w's and untouched yet, take
 * as many (and a huge page more, ahead of the first write).
 */
static void release_preds_from(struct lengauer_tarjan *lt, uint64_t start,
			       size_t w)
{
	uintptr_t from = ch_huge_page_up((uintptr_t)(lt->preds + start));
	uintptr_t below = (uintptr_t)&lt->vertices[w];
	size_t bytes;

	if (from >= lt->preds_kept_end ||
	    lt->preds_kept_end - from < CH_HUGE_PAGE_SIZE)
		return;
	bytes = lt->preds_kept_end - from;
	give_up(lt->pooled, (void *)from, bytes);
	lt->preds_kept_end = from;
	bytes += CH_HUGE_PAGE_SIZE;
	if (bytes > below - (uintptr_t)lt->vertices)
		bytes = below - (uintptr_t)lt->vertices;
	take_kept(lt->pooled, (void *)(below - bytes), bytes);
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
		if (w > ZERO_AHEAD)
			prefetch_zero_at_once(lt, w - ZERO_AHEAD);
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
		release_preds_from(lt, lt->pred_offsets[w], w);
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
	// The idoms, the nodes by number and the order's counts.
	take_kept(lt->pooled, idom, 3 * n1 * sizeof(*idom));
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
	// The idoms take the front of the work; the rest is read no more.
	give_up(lt->pooled, idom + n1, work_bytes(n1) - n1 * sizeof(*idom));
	result->idom = realloc(lt->work, n1 * sizeof(*idom));
	if (!result->idom)
		return &ch_enomem;
	lt->work = NULL;
	result->num_reachable = lt->count - 1;
	return NULL;
}

/*
 * The computation of ch_dominators_compute() and of
 * ch_dominators_compute_taking(): with taken edges (take_offsets set), they
 * are given back as they are read for the last time and freed, after the
 * search and after_search.
 */
struct dominators_input {
	size_t num_nodes;
	const uint32_t *offsets, *targets;
	const uint32_t *roots;
	size_t num_roots;
	const struct ch_dominators_beside *beside;
	uint32_t **take_offsets, **take_targets;
	/** The bytes of the mapping *take_targets is, or 0: from malloc(). */
	size_t targets_mapped;
	const struct ch_dominators_then *after_search;
};

static void free_taken_edges(const struct dominators_input *in)
{
	if (!in->take_offsets)
		return;
	ch_free_large(*in->take_offsets);
	ch_free_large_or_unmap(*in->take_targets, in->targets_mapped);
	*in->take_offsets = NULL;
	*in->take_targets = NULL;
}

// The predecessors and parents from the edges, which are then freed if
// taken.
static struct ch_error *make_predecessors(const struct dominators_input *in,
					  const uint32_t *number_of,
					  struct lengauer_tarjan *lt)
{
	struct predecessors p = { 0 };
	struct ch_error *err;

	err = partition_edges(in->offsets, in->targets, in->roots,
			      in->num_roots, number_of, in->num_nodes,
			      in->take_targets ? *in->take_targets : NULL, lt,
			      &p);
	ch_free_large(lt->tree_edges);
	free(lt->tree_roots);
	lt->tree_edges = lt->tree_roots = NULL;
	if (!err)
		err = gather_buckets(lt, &p);
	// The chunks carved out of the edges are read.
	free_taken_edges(in);
	predecessors_deinit(&p);
	return err;
}

// after_search->prepare, on a thread beside the search.
struct prepare_job {
	const struct ch_dominators_then *then;
	struct ch_beside beside;
	struct ch_error *err;
};

static void *run_prepare(void *arg)
{
	struct prepare_job *job = arg;

	job->err = job->then->prepare(job->then->arg);
	return NULL;
}

static void prepare_start(struct prepare_job *job,
			  const struct ch_dominators_then *then)
{
	*job = (struct prepare_job){ .then = then };
	if (then && then->prepare)
		ch_beside_start(&job->beside, run_prepare, job);
}

static struct ch_error *prepare_finish(struct prepare_job *job)
{
	ch_beside_join(&job->beside);
	return job->err;
}

static struct ch_error *compute(const struct dominators_input *in,
				struct ch_dominators *ret)
{
	size_t num_nodes = in->num_nodes;
	const uint32_t *offsets = in->offsets;
	struct lengauer_tarjan lt = { 0 };
	struct ch_beside beside = { .threaded = false };
	struct prepare_job prepare;
	_cleanup_free_large_ uint32_t *number_of = NULL;
	struct ch_dominators result = { .num_nodes = num_nodes };
	size_t n1 = num_nodes + 1;
	struct ch_error *err;

	if (num_nodes >= CH_DOMINATOR_ROOT) {
		err = ch_error_create(CH_ERROR_CORRUPT,
				      "too many nodes for the dominator tree: %zu",
				      num_nodes);
		goto out;
	}
	// The search's stack holds edge indices in 32 bits.
	if (in->num_roots >= UINT32_MAX) {
		err = ch_error_create(CH_ERROR_CORRUPT,
				      "%zu roots: more than the dominator tree's %" PRIu32,
				      in->num_roots, UINT32_MAX - 1);
		goto out;
	}
	lt.by_number = ch_malloc_large(n1 * sizeof(*lt.by_number));
	lt.work = ch_malloc_large(work_bytes(n1));
	lt.pooled = work_bytes(n1) >= CH_PAGE_POOL_MIN_BYTES;
	lt.tree_edges = ch_calloc_large(ch_bitmap_words(offsets[num_nodes]) + 1,
					sizeof(*lt.tree_edges));
	lt.tree_roots = ch_calloc_large(ch_bitmap_words(in->num_roots) + 1,
					sizeof(*lt.tree_roots));
	if (!lt.by_number || !lt.work || !lt.tree_edges || !lt.tree_roots) {
		err = &ch_enomem;
		goto out;
	}
	ch_progress_start("dominator tree",
			  SEARCH_WEIGHT * (uint64_t)num_nodes +
				  2 * ((uint64_t)offsets[num_nodes] + in->num_roots) +
				  (uint64_t)num_nodes);
	if (in->beside)
		ch_beside_start(&beside, in->beside->fn, in->beside->arg);
	prepare_start(&prepare, in->after_search);
	err = number_vertices(num_nodes, offsets, in->targets, in->roots,
			      in->num_roots, &lt);
	if (!err)
		err = prepare_finish(&prepare);
	else
		ch_error_destroy(prepare_finish(&prepare));
	if (err)
		goto out;
	number_of = ch_malloc_large(n1 * sizeof(*number_of));
	if (!number_of) {
		err = &ch_enomem;
		goto out;
	}
	number_nodes(&lt, n1, number_of);
	if (in->after_search) {
		err = in->after_search->fn(in->after_search->arg,
					   lt.by_number);
		if (err)
			goto out;
	}
	err = make_predecessors(in, number_of, &lt);
	if (err)
		goto out;
	lt.vertices = work_vertices(&lt, lt.count);
	// Deeper walks than this are rare: a heap-sized stack is not needed.
	lt.path_capacity = lt.count < EVAL_STACK ? lt.count : EVAL_STACK;
	lt.path = ch_malloc_large(lt.path_capacity * sizeof(*lt.path));
	if (!lt.path) {
		err = &ch_enomem;
		goto out;
	}
	take_kept(lt.pooled, lt.vertices, lt.count * sizeof(*lt.vertices));
	compute_idoms(&lt);
	ch_free_large(lt.preds);
	lt.preds = NULL;
	err = make_result(&lt, &number_of, num_nodes, &result);
	if (err)
		goto out;
	*ret = result;
	result = (struct ch_dominators){ 0 };
out:
	ch_progress_end();
	free_taken_edges(in);
	// The work beside goes on through the steps after the search.
	ch_beside_join(&beside);
	ch_dominators_deinit(&result);
	lengauer_tarjan_deinit(&lt);
	return err;
}

struct ch_error *ch_dominators_compute(size_t num_nodes,
				       const uint32_t *offsets,
				       const uint32_t *targets,
				       const uint32_t *roots, size_t num_roots,
				       const struct ch_dominators_beside *beside,
				       struct ch_dominators *ret)
{
	return compute(&(struct dominators_input){
			       .num_nodes = num_nodes,
			       .offsets = offsets,
			       .targets = targets,
			       .roots = roots,
			       .num_roots = num_roots,
			       .beside = beside,
		       },
		       ret);
}

struct ch_error *ch_dominators_compute_taking(size_t num_nodes,
					      uint32_t **offsets,
					      uint32_t **targets,
					      size_t targets_mapped,
					      const uint32_t *roots,
					      size_t num_roots,
					      const struct ch_dominators_then *after_search,
					      struct ch_dominators *ret)
{
	return compute(&(struct dominators_input){
			       .num_nodes = num_nodes,
			       .offsets = *offsets,
			       .targets = *targets,
			       .roots = roots,
			       .num_roots = num_roots,
			       .take_offsets = offsets,
			       .take_targets = targets,
			       .targets_mapped = targets_mapped,
			       .after_search = after_search,
		       },
		       ret);
}

void ch_dominators_deinit(struct ch_dominators *dominators)
{
	ch_free_large(dominators->idom);
	ch_free_large(dominators->order);
	*dominators = (struct ch_dominators){ 0 };
}

/*
 * The nodes of the order are at random in the arrays: a node's idom, size
 * and retained size are fetched 2 * RETAINED_AHEAD places ahead, its
 * idom's retained size RETAINED_AHEAD places ahead, once its idom is in.
 */
#define RETAINED_AHEAD 8

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
		if (i >= 2 * RETAINED_AHEAD) {
			uint32_t ahead = dominators->order[i - 2 * RETAINED_AHEAD];

			__builtin_prefetch(&dominators->idom[ahead]);
			__builtin_prefetch(&blocks[ahead]);
			__builtin_prefetch(&retained[ahead], 1);
		}
		if (i >= RETAINED_AHEAD) {
			uint32_t ahead = dominators->order[i - RETAINED_AHEAD];
			uint32_t above = dominators->idom[ahead];

			if (above != CH_DOMINATOR_ROOT)
				__builtin_prefetch(&retained[above], 1);
		}
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
	_cleanup_free_large_ uint32_t *stack = ch_malloc_large((r + 1) * sizeof(*stack));
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
