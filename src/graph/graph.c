// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/bitmap.h"
#include "base/cleanup.h"
#include "base/large_alloc.h"
#include "base/prefetch.h"
#include "base/progress.h"
#include "base/sort.h"
#include "base/thread_pair.h"
#include "base/vector.h"
#include "graph/graph.h"

#define MAX_SCAN_THREADS 16
// Below this many bytes per thread, starting a thread costs more than it
// saves.
#define MIN_BYTES_PER_THREAD (UINT64_C(4) << 20)
#define WORD_BYTES 8

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t align_up_word(uint64_t addr)
{
	uint64_t aligned = (addr + WORD_BYTES - 1) & ~(uint64_t)(WORD_BYTES - 1);

	return aligned < addr ? UINT64_MAX : aligned;
}

/*
 * The readable pieces of [start, end): calls piece() with the bytes of each
 * maximal run of whole aligned words in one range. Returns the bytes of
 * [start, end) in no range. *cursor caches the last range used (callers
 * scanning in address order hit it nearly always).
 */
static inline uint64_t for_each_piece(const struct ch_address_space *as,
				      const struct ch_range **cursor,
				      uint64_t start, uint64_t end,
				      void (*piece)(const uint8_t *data,
						    uint64_t addr, size_t words,
						    void *arg),
				      void *arg)
{
	uint64_t addr = align_up_word(start), unreadable = 0;

	if (end < start)
		return 0;
	while (addr < end && end - addr >= WORD_BYTES) {
		const struct ch_range *range = *cursor;
		uint64_t piece_end;

		if (!range || addr < range->start || addr >= range->end) {
			range = ch_address_space_range_after(as, addr);
			if (!range || range->start >= end) {
				unreadable += end - addr;
				break;
			}
			*cursor = range;
			if (range->start > addr) {
				unreadable += range->start - addr;
				addr = align_up_word(range->start);
				continue;
			}
		}
		piece_end = end < range->end ? end : range->end;
		if (piece_end - addr >= WORD_BYTES)
			piece(range->data + (addr - range->start), addr,
			      (piece_end - addr) / WORD_BYTES, arg);
		// A word straddling two ranges is not read.
		addr = align_up_word(piece_end);
	}
	return unreadable;
}

struct word_callback {
	bool (*fn)(uint64_t addr, uint64_t value, void *arg);
	void *arg;
	bool stopped;
};

static void call_for_words(const uint8_t *data, uint64_t addr, size_t words,
			   void *varg)
{
	struct word_callback *cb = varg;

	for (size_t i = 0; i < words && !cb->stopped; i++) {
		uint64_t value;

		memcpy(&value, data + i * WORD_BYTES, WORD_BYTES);
		if (!cb->fn(addr + i * WORD_BYTES, value, cb->arg))
			cb->stopped = true;
	}
}

uint64_t ch_scan_words(const struct ch_address_space *as, uint64_t start,
		       uint64_t end,
		       bool (*fn)(uint64_t addr, uint64_t value, void *arg),
		       void *arg)
{
	struct word_callback cb = { .fn = fn, .arg = arg };
	const struct ch_range *cursor = NULL;

	return for_each_piece(as, &cursor, start, end, call_for_words, &cb);
}

// Blocks closer than this are scanned as one run, gap included: reading a
// few bytes of chunk headers costs less than starting over (glibc puts 8
// bytes between neighbours).
#define MAX_RUN_GAP 512
// The heap is cut into chunks of about this many bytes (more for a larger
// heap: at most MAX_CHUNKS of them), which the threads take in turn: a
// block full of pointers costs more than one of zeros, so equal shares of
// bytes would not be equal shares of work. Chunk bounds depend on the heap
// alone, never on the number of threads, so neither does the graph.
#define MIN_CHUNK_BYTES (UINT64_C(1) << 20)
#define MAX_CHUNKS 1024

/*
 * The edges one scanning thread found, chunk after chunk (a thread flushes
 * its chunks' words in the order it read them), in one array that grows
 * by moving its pages (ch_grow_huge_aligned()), never by copying them: as
 * large as the edges found, whatever the core holds.
 */
struct edge_store {
	uint32_t *targets;
	size_t len, capacity;
};

/*
 * One chunk of the scan: the words in [start, end) of the blocks
 * [first, last) (a large block may be cut between chunks), and the edges
 * found there, in order: len of them from begin in the store of the thread
 * that scanned it.
 */
struct scan_chunk {
	size_t first, last;
	uint64_t start, end;
	struct edge_store *store;
	size_t begin, len;
	uint64_t unreadable;
	/** The first and last edges' source and target, for the join. */
	uint32_t first_source, first_target, last_source, last_target;
	/** Its store could not grow: the scan fails for want of memory. */
	bool out_of_memory;
};

/*
 * The words that may point into the heap are looked up in batches, a
 * batch per thread of one word for every SCAN_BATCH_SPREAD blocks of the
 * heap, and at least SCAN_BATCH_MIN: 40 bytes a word. A batch is looked
 * up in the order read (ch_block_index_find_unsorted()), or, when the
 * index cannot, sorted by where its words point
 * (ch_block_index_find_sorted(): the index and the blocks read in order).
 */
#define SCAN_BATCH_SPREAD 64
#define SCAN_BATCH_MIN ((size_t)1 << 14)

// The words of one chunk in a batch, from begin to the next part's begin.
struct batch_part {
	struct scan_chunk *chunk;
	size_t begin;
};

/*
 * One thread's words waiting for their lookup, in the order they were read
 * (their position), from the chunks of parts in turn.
 */
struct scan_batch {
	/** Key: the word; value: its position. */
	struct ch_lookup_batch lookup;
	/** By position: the block holding the word. */
	uint32_t *sources;
	/**
	 * By position, in the room of the lookup's pairs, unused once they
	 * are sorted: the block the word points into.
	 */
	uint32_t *targets;
	struct batch_part *parts;
	size_t num_parts, parts_capacity;
};

// What a thread scanning needs.
struct chunk_scan {
	const struct ch_block_index *index;
	bool interior;
	const uint64_t *pointer_free;
	/** Out-degree of each block, counted at degrees[i] (zeroed). */
	uint32_t *degrees;
	struct scan_batch *batch;
	struct edge_store *store;
	/** The chunk being read, and whether it is (its words in a part). */
	struct scan_chunk *chunk;
	bool chunk_open;
	/** While a run is read: the block holding the words read. */
	size_t source, run_last;
};

static void scan_batch_deinit(struct scan_batch *batch)
{
	ch_lookup_batch_deinit(&batch->lookup);
	ch_free_large(batch->sources);
	free(batch->parts);
	*batch = (struct scan_batch){ 0 };
}

static struct ch_error *scan_batch_init(struct scan_batch *batch,
					size_t capacity, size_t max_parts)
{
	*batch = (struct scan_batch){
		.sources = ch_malloc_large(capacity * sizeof(*batch->sources)),
		// A part per chunk, and the one a flush carries over.
		.parts = malloc((max_parts + 1) * sizeof(*batch->parts)),
		.parts_capacity = max_parts + 1,
	};
	if (!batch->sources || !batch->parts ||
	    ch_lookup_batch_init(&batch->lookup, capacity)) {
		scan_batch_deinit(batch);
		return &ch_enomem;
	}
	batch->targets = (uint32_t *)batch->lookup.pairs;
	return NULL;
}

// The first store holds this many edges (a chunk's worth); it doubles.
#define EDGE_STORE_MIN ((size_t)1 << 16)

static bool edge_store_grow(struct edge_store *store)
{
	size_t capacity = store->capacity ? 2 * store->capacity : EDGE_STORE_MIN;
	uint32_t *grown;

	if (capacity > SIZE_MAX / sizeof(*grown))
		return false;
	grown = ch_grow_huge_aligned(store->targets,
				     store->capacity * sizeof(*grown),
				     capacity * sizeof(*grown));
	if (!grown)
		return false;
	store->targets = grown;
	store->capacity = capacity;
	return true;
}

static void edge_store_deinit(struct edge_store *store)
{
	if (store->targets)
		ch_unmap_large(store->targets,
			       store->capacity * sizeof(*store->targets));
	*store = (struct edge_store){ 0 };
}

// Give back the memory of a chunk's edges, once they are joined: the
// pages wholly inside its part of the store.
static void release_chunk(struct scan_chunk *chunk)
{
	ch_release_pages(chunk->store->targets + chunk->begin,
			 chunk->len * sizeof(*chunk->store->targets));
}

// A word of block source points into block target (or CH_GRAPH_NONE): keep
// the edge, unless it points into its own block or repeats the last one.
static void add_edge(struct chunk_scan *scan, struct scan_chunk *chunk,
		     uint32_t source, uint32_t target)
{
	struct edge_store *store = chunk->store;

	if (target == CH_GRAPH_NONE || target == source)
		return;
	if (chunk->len) {
		if (source == chunk->last_source && target == chunk->last_target)
			return;
	} else {
		chunk->first_source = source;
		chunk->first_target = target;
		chunk->begin = store->len;
	}
	if (store->len == store->capacity && !edge_store_grow(store)) {
		chunk->out_of_memory = true;
		return;
	}
	store->targets[store->len++] = target;
	chunk->len++;
	chunk->last_source = source;
	chunk->last_target = target;
	// Only a chunk's first and last blocks can be cut between chunks and
	// counted by more than one thread. The others take a plain increment:
	// a locked one on every edge held back the lookups' cache misses.
	if (source == chunk->first || source + 1 == chunk->last)
		__atomic_fetch_add(&scan->degrees[source], 1, __ATOMIC_RELAXED);
	else
		scan->degrees[source]++;
}

/*
 * The blocks the batch's words point into, by position: looked up in the
 * order read where the index has start bits (a pointer to a block's start,
 * most of them, is then one read of a line of bits), else sorted by where
 * they point.
 */
static const uint32_t *look_up_batch(struct chunk_scan *scan)
{
	struct scan_batch *batch = scan->batch;
	struct ch_lookup_batch *lookup = &batch->lookup;
	size_t len = lookup->len;

	// The sorted pairs' room holds the pointers inside blocks.
	_Static_assert(sizeof(*lookup->sorted) >= sizeof(uint32_t),
		       "a position fits in a sorted pair's room");
	if (ch_block_index_find_unsorted(scan->index, lookup->pairs, len,
					 scan->interior, lookup->found,
					 (uint32_t *)lookup->sorted, NULL))
		return lookup->found;
	// Each scanning thread sorts its own batch.
	ch_lookup_batch_sort(scan->index, lookup, false);
	ch_lookup_batch_find(scan->index, lookup, 0, len, scan->interior, NULL);
	for (size_t k = 0; k < len; k++)
		batch->targets[lookup->sorted[k].value] = lookup->found[k];
	return batch->targets;
}

/*
 * Look the batch's words up, then keep their edges in the order they were
 * read, chunk by chunk. A chunk still being read goes on in the next
 * batch.
 */
static void __attribute__((noinline)) flush_batch(struct chunk_scan *scan)
{
	struct scan_batch *batch = scan->batch;
	struct ch_lookup_batch *lookup = &batch->lookup;
	size_t len = lookup->len;
	const uint32_t *targets = look_up_batch(scan);

	for (size_t p = 0; p < batch->num_parts; p++) {
		struct scan_chunk *chunk = batch->parts[p].chunk;
		size_t end = p + 1 < batch->num_parts ? batch->parts[p + 1].begin :
							len;

		for (size_t k = batch->parts[p].begin; k < end; k++)
			add_edge(scan, chunk, batch->sources[k], targets[k]);
	}
	lookup->len = 0;
	batch->num_parts = 0;
	if (scan->chunk_open)
		batch->parts[batch->num_parts++] =
			(struct batch_part){ .chunk = scan->chunk, .begin = 0 };
}

/*
 * A word at addr of the run may point into the heap: find the block that
 * holds the word, and batch the word for its lookup unless it lies outside
 * any block (a chunk header) or in one that holds no pointers.
 */
static void batch_word(struct chunk_scan *scan, uint64_t addr, uint64_t value)
{
	const struct ch_block *blocks = scan->index->blocks;
	struct scan_batch *batch = scan->batch;
	size_t source;

	// Words are met in address order: the source only moves forward.
	while (scan->source + 1 < scan->run_last &&
	       addr >= blocks[scan->source + 1].address)
		scan->source++;
	source = scan->source;
	// Chunk headers between blocks, and words that stick out of one.
	if (addr < blocks[source].address ||
	    addr + WORD_BYTES - blocks[source].address >
		    ch_block_size(&blocks[source]))
		return;
	// Data that looks like a pointer (stale bytes in a text buffer).
	if (scan->pointer_free && ch_bit_get(scan->pointer_free, source))
		return;
	batch->sources[batch->lookup.len] = (uint32_t)source;
	if (ch_lookup_batch_push(&batch->lookup, value,
				 (uint32_t)batch->lookup.len))
		flush_batch(scan);
}

/*
 * The hot loop: every word of a piece of a run. Most words are not pointers
 * into the heap (zeros, small numbers, text, pointers elsewhere): one
 * subtraction and one comparison against the heap's span, in registers,
 * sends them on; the rest are batched.
 */
static void scan_piece(const uint8_t *data, uint64_t addr, size_t words,
		       void *varg)
{
	struct chunk_scan *scan = varg;
	const uint64_t low = scan->index->low;
	const uint64_t span = scan->index->high - low;

	for (size_t i = 0; i < words; i++) {
		uint64_t value;

		memcpy(&value, data + i * WORD_BYTES, WORD_BYTES);
		if (__builtin_expect(value - low < span, 0))
			batch_word(scan, addr + i * WORD_BYTES, value);
	}
}

/*
 * Read a chunk into the batch as runs of near neighbours: one long loop
 * over each run's words, instead of one short loop per block whose end the
 * branch predictor cannot guess.
 */
static void scan_one_chunk(struct chunk_scan *scan, struct scan_chunk *chunk,
			   const struct ch_address_space *as)
{
	const struct ch_block *blocks = scan->index->blocks;
	struct scan_batch *batch = scan->batch;
	const struct ch_range *cursor = NULL;
	size_t i = chunk->first;

	scan->chunk = chunk;
	scan->chunk_open = true;
	chunk->store = scan->store;
	batch->parts[batch->num_parts++] =
		(struct batch_part){ .chunk = chunk, .begin = batch->lookup.len };
	while (i < chunk->last && !chunk->out_of_memory) {
		uint64_t start = blocks[i].address;
		uint64_t end = ch_block_end(&blocks[i]);
		size_t j = i + 1;

		while (j < chunk->last && blocks[j].address >= end &&
		       blocks[j].address - end <= MAX_RUN_GAP)
			end = ch_block_end(&blocks[j++]);
		if (start < chunk->start)
			start = chunk->start;
		if (end > chunk->end)
			end = chunk->end;
		scan->source = i;
		scan->run_last = j;
		chunk->unreadable += for_each_piece(as, &cursor, start, end,
						    scan_piece, scan);
		i = j;
	}
	scan->chunk_open = false;
	// A part per chunk: a full list is flushed.
	if (batch->num_parts + 1 >= batch->parts_capacity)
		flush_batch(scan);
}

struct scan_worker {
	/** The index, or NULL: each thread asks find_index for it. */
	const struct ch_block_index *index;
	struct ch_error *(*find_index)(void *arg,
				       const struct ch_block_index **ret);
	void *find_index_arg;
	const struct ch_address_space *as;
	struct scan_chunk *chunks;
	size_t num_chunks;
	/** The next chunk to take, shared by the workers. */
	size_t *next;
	bool interior;
	const uint64_t *pointer_free;
	uint32_t *degrees;
	/** Chunks done count as the progress of the scan (atomic). */
	bool report_progress;
	/** The scan's end on the last thread to scan, or NULL: see below. */
	struct early_finish *early;
};

/*
 * While the calling thread types the heap (find_pointer_free), the other
 * threads scan it, and on a large heap they are done first: the last of
 * them then ends the scan (the chunks' edges joined, the roots scanned)
 * instead of leaving it to the calling thread once the typing is over.
 * The typing then says which blocks hold no pointers, and their edges are
 * dropped: the roots' references do not depend on it.
 */
struct early_finish {
	pthread_mutex_t lock;
	/** Threads in scan_worker_run(); whether one took the end. */
	unsigned scanning;
	bool taken;
	struct ch_graph *graph;
	const struct ch_core *core;
	const struct ch_roots *roots;
	struct ch_error *err;
};

// One scanning thread: the work they share, its own batch, and the index
// it got, or why not.
struct scan_thread {
	const struct scan_worker *worker;
	struct scan_batch batch;
	struct edge_store store;
	const struct ch_block_index *index;
	struct ch_error *err;
	/** Made to scan beside the typing: see scan_worker_run(). */
	bool beside_typing;
};

static struct ch_error *finish_early(struct early_finish *early,
				     const struct scan_worker *worker,
				     const struct ch_block_index *index);

// A thread starts scanning.
static void enter_scan(const struct scan_worker *worker)
{
	if (worker->early) {
		pthread_mutex_lock(&worker->early->lock);
		worker->early->scanning++;
		pthread_mutex_unlock(&worker->early->lock);
	}
}

// A thread is done scanning: the last, when every chunk was taken, ends
// the scan (with the index it found: the roots need one).
static void leave_scan(const struct scan_worker *worker,
		       const struct ch_block_index *index)
{
	struct early_finish *early = worker->early;
	bool last;

	if (!early)
		return;
	pthread_mutex_lock(&early->lock);
	last = --early->scanning == 0 && !early->taken && index &&
	       __atomic_load_n(worker->next, __ATOMIC_RELAXED) >=
		       worker->num_chunks;
	if (last)
		early->taken = true;
	pthread_mutex_unlock(&early->lock);
	if (last)
		early->err = finish_early(early, worker, index);
}

static void *scan_worker_run(void *varg)
{
	struct scan_thread *thread = varg;
	const struct scan_worker *worker = thread->worker;
	struct chunk_scan scan;

	// The typing beside is the longer: its threads (the calling one and
	// its lookups) go first, and this one scans when a core is free. It
	// ends with the scan, before the typing on a large heap (at 30
	// million, leaks 11.5 -> 10.5 s).
	if (thread->beside_typing)
		ch_thread_background();
	enter_scan(worker);
	thread->index = worker->index;
	if (!thread->index) {
		thread->err = worker->find_index(worker->find_index_arg,
						 &thread->index);
		// The other threads scan what this one cannot.
		if (thread->err) {
			leave_scan(worker, NULL);
			return NULL;
		}
	}
	scan = (struct chunk_scan){
		.index = thread->index,
		.interior = worker->interior,
		.pointer_free = worker->pointer_free,
		.degrees = worker->degrees,
		.batch = &thread->batch,
		.store = &thread->store,
	};

	for (;;) {
		size_t c = __atomic_fetch_add(worker->next, 1, __ATOMIC_RELAXED);

		if (c >= worker->num_chunks)
			break;
		scan_one_chunk(&scan, &worker->chunks[c], worker->as);
		if (__atomic_load_n(&worker->report_progress, __ATOMIC_RELAXED))
			ch_progress_add(1);
	}
	flush_batch(&scan);
	leave_scan(worker, thread->index);
	return NULL;
}

// Two pieces at a time become one: the first's start, the second's end.
static size_t pair_pieces(struct scan_chunk *pieces, size_t n)
{
	size_t k = 0;

	for (size_t j = 0; j < n; j += 2, k++) {
		struct scan_chunk joined = pieces[j];

		if (j + 1 < n) {
			joined.last = pieces[j + 1].last;
			joined.end = pieces[j + 1].end;
		}
		pieces[k] = joined;
	}
	return k;
}

/*
 * Cut the blocks into at most MAX_CHUNKS chunks of about equal block bytes
 * (gaps not counted), a block larger than what is left of a chunk being
 * cut at a word boundary, and count the heap's bytes (*total_ret), in one
 * pass over the blocks (hundreds of MiB at 30 million: each pass of its
 * own held back the typing and the scan). The pieces cut are
 * MIN_CHUNK_BYTES long at first; each time there are 2 * MAX_CHUNKS of
 * them, two become one and later pieces are cut twice as long.
 */
static struct ch_error *make_chunks(const struct ch_block *blocks, size_t n,
				    struct scan_chunk **chunks_ret,
				    size_t *num_chunks_ret, uint64_t *total_ret)
{
	struct scan_chunk *chunks = calloc(2 * MAX_CHUNKS + 1, sizeof(*chunks));
	uint64_t piece_bytes = MIN_CHUNK_BYTES, budget = piece_bytes;
	uint64_t total = 0, pos;
	size_t num_closed = 0, i = 0;

	*total_ret = 0;
	if (!chunks)
		return &ch_enomem;
	if (n == 0) {
		*chunks_ret = chunks;
		*num_chunks_ret = 0;
		return NULL;
	}
	pos = blocks[0].address;
	chunks[0] = (struct scan_chunk){ .first = 0, .start = pos };
	while (i < n) {
		uint64_t end = ch_block_end(&blocks[i]);

		if (end - pos <= budget) {
			budget -= end - pos;
			total += ch_block_size(&blocks[i]);
			if (++i < n)
				pos = blocks[i].address;
			continue;
		}
		// Close the piece inside block i, and open the next there.
		pos = (pos + budget) & ~(uint64_t)(WORD_BYTES - 1);
		chunks[num_closed].last = i + 1;
		chunks[num_closed].end = pos;
		chunks[++num_closed] = (struct scan_chunk){ .first = i,
							    .start = pos };
		budget = piece_bytes;
		if (num_closed == 2 * MAX_CHUNKS) {
			num_closed = pair_pieces(chunks, num_closed);
			chunks[num_closed] = chunks[2 * MAX_CHUNKS];
			// Blocks are at most CH_BLOCK_MAX_SIZE long: longer
			// pieces gain nothing, and piece_bytes never wraps.
			if (piece_bytes <= CH_BLOCK_MAX_SIZE)
				piece_bytes *= 2;
		}
	}
	chunks[num_closed].last = n;
	chunks[num_closed].end = UINT64_MAX;
	*chunks_ret = chunks;
	*num_chunks_ret = num_closed + 1 > MAX_CHUNKS ?
				  pair_pieces(chunks, num_closed + 1) :
				  num_closed + 1;
	*total_ret = total;
	return NULL;
}

static struct ch_error *too_many_edges(uint64_t count)
{
	return ch_error_create(CH_ERROR_CORRUPT,
			       "%" PRIu64 " references between allocations: more than the %" PRIu64 " the graph holds",
			       count, CH_GRAPH_MAX_EDGES);
}

/*
 * The store that holds the most of the chunks' edges (the one thread's
 * that scanned alongside the typing holds nearly all), or NULL when none
 * holds any.
 */
static struct edge_store *largest_store(const struct scan_chunk *chunks,
					size_t num_chunks)
{
	struct edge_store *largest = NULL;

	for (size_t c = 0; c < num_chunks; c++) {
		struct edge_store *store = chunks[c].store;

		if (chunks[c].len && (!largest || store->len > largest->len))
			largest = store;
	}
	return largest;
}

/*
 * Put every chunk's edges at its place in kept, the chunks one after the
 * other in order. Each moves up or stays (the chunks before it, of every
 * store, hold at least as many edges as those of kept), so going from the
 * last chunk down, none lands on edges of kept not yet moved. The other
 * stores' chunks are copied and given back.
 */
static void place_chunks(struct scan_chunk *chunks, size_t num_chunks,
			 size_t total, struct edge_store *kept)
{
	size_t at = total;

	for (size_t c = num_chunks; c-- > 0;) {
		struct scan_chunk *chunk = &chunks[c];
		const uint32_t *from;

		if (!chunk->len)
			continue;
		from = chunk->store->targets + chunk->begin;
		at -= chunk->len;
		if (chunk->store != kept) {
			memcpy(kept->targets + at, from,
			       chunk->len * sizeof(*from));
			release_chunk(chunk);
		} else if (at != chunk->begin) {
			memmove(kept->targets + at, from,
				chunk->len * sizeof(*from));
		}
	}
}

/*
 * Where a block was cut between chunks, the second may begin with the
 * edge the first ended with: drop it, as the scan of the whole block would
 * not have repeated it. The placed chunks close up in place. Returns the
 * edges left.
 */
static size_t drop_repeats(struct scan_chunk *chunks, size_t num_chunks,
			   uint32_t *targets, uint32_t *degrees)
{
	uint32_t last_source = CH_GRAPH_NONE, last_target = CH_GRAPH_NONE;
	size_t at = 0, dropped = 0;

	for (size_t c = 0; c < num_chunks; c++) {
		const struct scan_chunk *chunk = &chunks[c];
		size_t skip = 0;

		if (!chunk->len)
			continue;
		if (chunk->first_source == last_source &&
		    chunk->first_target == last_target) {
			skip = 1;
			degrees[last_source]--;
		}
		if (dropped + skip)
			memmove(targets + at - dropped, targets + at + skip,
				(chunk->len - skip) * sizeof(*targets));
		at += chunk->len;
		dropped += skip;
		last_source = chunk->last_source;
		last_target = chunk->last_target;
	}
	return at - dropped;
}

/*
 * Join the chunks' edges in order, in the store that holds the most of
 * them: its pages become the graph's edges. A copy into an array of their
 * own would fault in as many fresh pages as the edges take, on the thread
 * the end of the scan waits for.
 */
static struct ch_error *join_chunks(struct ch_graph *graph,
				    struct scan_chunk *chunks,
				    size_t num_chunks)
{
	struct edge_store *kept = largest_store(chunks, num_chunks);
	size_t total = 0, kept_bytes;

	for (size_t c = 0; c < num_chunks; c++)
		total += chunks[c].len;
	// Then no block's degree, counted in 32 bits, wrapped either.
	if (total > CH_GRAPH_MAX_EDGES)
		return too_many_edges(total);
	if (!kept) {
		graph->edge_targets = malloc(sizeof(*graph->edge_targets));
		graph->stats.num_edges = 0;
		return graph->edge_targets ? NULL : &ch_enomem;
	}
	// Room for them all, and one more: the arrays' end, never empty.
	while (kept->capacity <= total) {
		if (!edge_store_grow(kept))
			return &ch_enomem;
	}
	place_chunks(chunks, num_chunks, total, kept);
	graph->stats.num_edges = drop_repeats(chunks, num_chunks,
					      kept->targets,
					      graph->edge_offsets + 1);
	// What the store had grown to beyond them was never touched.
	kept_bytes = ch_page_up((total + 1) * sizeof(*kept->targets));
	if (kept_bytes < kept->capacity * sizeof(*kept->targets))
		munmap((uint8_t *)kept->targets + kept_bytes,
		       kept->capacity * sizeof(*kept->targets) - kept_bytes);
	graph->edge_targets = kept->targets;
	graph->edge_targets_mapped = kept_bytes;
	*kept = (struct edge_store){ 0 };
	return NULL;
}

/*
 * Drop the edges of the nodes marked in pointer_free, in place: what a
 * scan that skipped their words would have found.
 */
static void drop_edges_of(struct ch_graph *graph, const uint64_t *pointer_free)
{
	uint32_t *offsets = graph->edge_offsets;
	uint32_t *targets = graph->edge_targets;
	uint32_t kept = 0;

	for (size_t i = 0; i < graph->num_nodes; i++) {
		uint32_t begin = offsets[i], end = offsets[i + 1];

		offsets[i] = kept;
		if (ch_bit_get(pointer_free, i))
			continue;
		// Until the first drop, every edge stays where it is.
		if (kept != begin)
			memmove(targets + kept, targets + begin,
				(end - begin) * sizeof(*targets));
		kept += end - begin;
	}
	offsets[graph->num_nodes] = kept;
	graph->stats.num_edges = kept;
}

// options->find_pointer_free, its time in stats.alongside_seconds.
static struct ch_error *find_pointer_free(struct ch_graph *graph,
					  const struct ch_graph_options *options,
					  const uint64_t **ret)
{
	double start = now_seconds();
	struct ch_error *err =
		options->find_pointer_free(options->find_pointer_free_arg, ret);

	graph->stats.alongside_seconds = now_seconds() - start;
	return err;
}

static struct ch_error *scan_roots(struct ch_graph *graph,
				   const struct ch_address_space *as,
				   const struct ch_core *core,
				   const struct ch_roots *roots);

/*
 * The chunks' edges into the CSR arrays (each chunk's freed as it is
 * joined), and what they could not read or hold.
 */
static struct ch_error *finish_chunks(struct ch_graph *graph,
				      struct scan_chunk *chunks,
				      size_t num_chunks)
{
	struct ch_error *err;

	for (size_t c = 0; c < num_chunks; c++) {
		graph->stats.unreadable_bytes += chunks[c].unreadable;
		if (chunks[c].out_of_memory)
			return &ch_enomem;
	}
	err = join_chunks(graph, chunks, num_chunks);
	if (err)
		return err;
	graph->edge_offsets[0] = 0;
	for (size_t i = 0; i < graph->num_nodes; i++)
		graph->edge_offsets[i + 1] += graph->edge_offsets[i];
	return NULL;
}

// The scan's end on the last thread to scan: see struct early_finish.
static struct ch_error *finish_early(struct early_finish *early,
				     const struct scan_worker *worker,
				     const struct ch_block_index *index)
{
	struct ch_graph *graph = early->graph;
	struct ch_error *err = finish_chunks(graph, worker->chunks,
					     worker->num_chunks);

	graph->index = index;
	if (!err)
		err = scan_roots(graph, worker->as, early->core, early->roots);
	return err;
}

// As asked, or one per CPU when the heap is large enough to pay for them;
// never more threads than blocks.
static unsigned choose_threads(const struct ch_graph_options *options,
			       uint64_t heap_bytes, size_t num_blocks)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads;

	if (options->num_threads) {
		threads = options->num_threads;
	} else {
		threads = online > 0 ? (unsigned)online : 1;
		if (heap_bytes / MIN_BYTES_PER_THREAD < threads)
			threads = heap_bytes / MIN_BYTES_PER_THREAD;
	}
	if (threads > MAX_SCAN_THREADS)
		threads = MAX_SCAN_THREADS;
	if (threads > num_blocks)
		threads = num_blocks;
	return threads ? threads : 1;
}

/*
 * Scan the heap in chunks, as many threads as choose_threads() says taking
 * them in turn (the calling thread is one), then join their edges into the
 * CSR arrays. With options->find_pointer_free the calling thread first
 * runs that, and the others scan every block meanwhile (see
 * ch_graph_options); with early too, the last of them ends the scan, roots
 * included (*roots_scanned_ret says so), while the typing goes on.
 */
static struct ch_error *scan_heap(struct ch_graph *graph,
				  const struct ch_address_space *as,
				  const struct ch_graph_options *options,
				  struct early_finish *early,
				  bool *roots_scanned_ret)
{
	const struct ch_block *blocks = graph->blocks;
	size_t n = graph->num_nodes, num_chunks, next = 0;
	pthread_t threads[MAX_SCAN_THREADS];
	bool started[MAX_SCAN_THREADS] = { false };
	struct scan_chunk *chunks;
	struct scan_worker worker;
	struct scan_thread scan_threads[MAX_SCAN_THREADS] = { 0 };
	size_t batch_capacity = n / SCAN_BATCH_SPREAD > SCAN_BATCH_MIN ?
					n / SCAN_BATCH_SPREAD :
					SCAN_BATCH_MIN;
	const uint64_t *pointer_free = options->pointer_free;
	unsigned num_threads;
	bool alongside;
	struct ch_error *err, *alongside_err = NULL;

	*roots_scanned_ret = false;
	err = make_chunks(blocks, n, &chunks, &num_chunks,
			  &graph->stats.heap_bytes);
	if (err)
		return err;
	num_threads = choose_threads(options, graph->stats.heap_bytes, n);
	graph->stats.num_threads = num_threads;
	alongside = options->find_pointer_free && num_threads > 1;
	// One thread alone finds pointer_free first, and scans knowing it.
	if (options->find_pointer_free && !alongside) {
		err = find_pointer_free(graph, options, &pointer_free);
		if (err) {
			free(chunks);
			return err;
		}
	}
	for (unsigned t = 0; !err && t < num_threads; t++) {
		scan_threads[t].worker = &worker;
		err = scan_batch_init(&scan_threads[t].batch, batch_capacity,
				      num_chunks);
	}
	if (err) {
		for (unsigned t = 0; t < num_threads; t++)
			scan_batch_deinit(&scan_threads[t].batch);
		free(chunks);
		return err;
	}
	worker = (struct scan_worker){
		.index = graph->index,
		.find_index = options->find_index,
		.find_index_arg = options->find_index_arg,
		.as = as,
		.chunks = chunks,
		.num_chunks = num_chunks,
		.next = &next,
		.interior = graph->interior,
		.pointer_free = alongside ? NULL : pointer_free,
		.degrees = graph->edge_offsets + 1,
		.report_progress = !alongside,
		.early = alongside ? early : NULL,
	};
	if (!alongside)
		ch_progress_start("scanning for references", num_chunks);
	for (unsigned t = 1; t < num_threads; t++) {
		scan_threads[t].beside_typing = alongside;
		started[t] = ch_thread_create(&threads[t], scan_worker_run,
					      &scan_threads[t]) == 0;
	}
	if (alongside) {
		size_t done;

		alongside_err = find_pointer_free(graph, options, &pointer_free);
		// What it reported is over: the rest is the scan's.
		ch_progress_start("scanning for references", num_chunks);
		done = __atomic_load_n(&next, __ATOMIC_RELAXED);
		ch_progress_add(done < num_chunks ? done : num_chunks);
		__atomic_store_n(&worker.report_progress, true,
				 __ATOMIC_RELAXED);
	}
	// If a thread could not start, the others take its chunks.
	if (!alongside_err)
		scan_worker_run(&scan_threads[0]);
	else
		__atomic_store_n(&next, num_chunks, __ATOMIC_RELAXED);
	for (unsigned t = 1; t < num_threads; t++) {
		if (started[t])
			pthread_join(threads[t], NULL);
	}
	for (unsigned t = 0; t < num_threads; t++) {
		scan_batch_deinit(&scan_threads[t].batch);
		if (scan_threads[t].index)
			graph->index = scan_threads[t].index;
		if (!err)
			err = scan_threads[t].err;
		else
			ch_error_destroy(scan_threads[t].err);
	}
	ch_progress_end();
	if (worker.early && worker.early->taken) {
		if (!err)
			err = worker.early->err;
		else
			ch_error_destroy(worker.early->err);
		*roots_scanned_ret = true;
	} else if (!err) {
		err = finish_chunks(graph, chunks, num_chunks);
	}
	if (alongside_err) {
		ch_error_destroy(err);
		err = alongside_err;
	}
	for (unsigned t = 0; t < num_threads; t++)
		edge_store_deinit(&scan_threads[t].store);
	free(chunks);
	if (err)
		return err;
	if (alongside && pointer_free)
		drop_edges_of(graph, pointer_free);
	return NULL;
}

struct root_scan {
	struct ch_graph *graph;
	uint32_t root;
	size_t capacity;
	bool out_of_memory;
};

static bool push_root_ref(struct root_scan *scan, uint64_t source,
			  uint32_t target)
{
	struct ch_graph *graph = scan->graph;

	if (ch_vector_reserve_one((void **)&graph->root_refs, &scan->capacity,
				  sizeof(*graph->root_refs),
				  graph->num_root_refs)) {
		scan->out_of_memory = true;
		return false;
	}
	graph->root_refs[graph->num_root_refs++] = (struct ch_root_ref){
		.source = source,
		.root = scan->root,
		.target = target,
	};
	return true;
}

static bool add_root_ref(struct root_scan *scan, uint64_t source,
			 uint64_t value)
{
	struct ch_graph *graph = scan->graph;
	uint32_t target = ch_block_index_find(graph->index, value,
					      graph->interior);

	return target == CH_GRAPH_NONE || push_root_ref(scan, source, target);
}

static bool root_word(uint64_t addr, uint64_t value, void *arg)
{
	return add_root_ref(arg, addr, value);
}

// Root references in kind order, stable: a counting sort on four kinds.
static struct ch_error *order_root_refs(struct ch_graph *graph,
					const struct ch_roots *roots)
{
	size_t counts[CH_NUM_ROOT_KINDS + 1] = { 0 };
	struct ch_root_ref *sorted;

	if (graph->num_root_refs == 0)
		return NULL;
	sorted = malloc(graph->num_root_refs * sizeof(*sorted));
	if (!sorted)
		return &ch_enomem;
	for (size_t i = 0; i < graph->num_root_refs; i++)
		counts[roots->roots[graph->root_refs[i].root].kind + 1]++;
	for (int k = 0; k < CH_NUM_ROOT_KINDS; k++)
		counts[k + 1] += counts[k];
	for (size_t i = 0; i < graph->num_root_refs; i++) {
		const struct ch_root_ref *ref = &graph->root_refs[i];

		sorted[counts[roots->roots[ref->root].kind]++] = *ref;
	}
	free(graph->root_refs);
	graph->root_refs = sorted;
	return NULL;
}

static struct ch_error *scan_roots(struct ch_graph *graph,
				   const struct ch_address_space *as,
				   const struct ch_core *core,
				   const struct ch_roots *roots)
{
	struct root_scan scan = { .graph = graph };

	if (roots->num_roots >= CH_GRAPH_NONE)
		return ch_error_create(CH_ERROR_CORRUPT, "too many roots");
	for (size_t r = 0; r < roots->num_roots && !scan.out_of_memory; r++) {
		const struct ch_root *root = &roots->roots[r];

		scan.root = r;
		if (root->kind == CH_ROOT_RUNTIME) {
			// A runtime names its objects by identity, past the
			// header that begins their block: always interior.
			for (size_t i = 0; i < roots->num_runtime; i++) {
				uint32_t target = ch_block_index_find(
					graph->index, roots->runtime[i].target,
					true);

				if (target != CH_GRAPH_NONE &&
				    !push_root_ref(&scan, i, target))
					break;
			}
			continue;
		}
		if (root->kind == CH_ROOT_REGISTER) {
			const struct ch_thread *thread = &core->threads[root->thread];

			for (int reg = 0; reg < CH_NUM_REGS; reg++) {
				if (!add_root_ref(&scan, reg, thread->regs[reg]))
					break;
			}
			continue;
		}
		graph->stats.root_bytes += root->end - root->start;
		// What the core left out on purpose (pages never touched,
		// shared memory, MADV_DONTDUMP) holds no pointer the program
		// keeps its heap by; only what it lost is unknown.
		if (ch_scan_words(as, root->start, root->end, root_word, &scan))
			graph->stats.unreadable_bytes +=
				ch_address_space_lost_bytes(as, root->start,
							    root->end);
	}
	if (scan.out_of_memory)
		return &ch_enomem;
	if (graph->num_root_refs >= CH_GRAPH_NONE)
		return ch_error_create(CH_ERROR_CORRUPT,
				       "too many root references");
	return order_root_refs(graph, roots);
}

// The exact references of the runtime objects, as their plugins list them.
struct exact_refs {
	const struct ch_graph *graph;
	uint32_t source;
	/** The references of the nodes so far, in order. */
	uint32_t *targets;
	size_t len, capacity;
	/** Where the current node's begin in targets. */
	size_t first;
	/** A bit per node: memory an object owns (not scanned). */
	uint64_t *owned;
};

static int collect_exact(void *arg, const struct coreheap_reference *ref)
{
	struct exact_refs *refs = arg;
	uint32_t target = ch_block_index_find(refs->graph->index, ref->target,
					      true);

	if (target == CH_GRAPH_NONE || target == refs->source)
		return COREHEAP_OK;
	if (ref->flags & COREHEAP_REFERENCE_OWNED)
		refs->owned[target / 64] |= UINT64_C(1) << (target % 64);
	// As the scan: no repeat of the previous target.
	if (refs->len > refs->first && refs->targets[refs->len - 1] == target)
		return COREHEAP_OK;
	if (ch_vector_reserve_one((void **)&refs->targets, &refs->capacity,
				  sizeof(*refs->targets), refs->len))
		return COREHEAP_NOMEM;
	refs->targets[refs->len++] = target;
	return COREHEAP_OK;
}

/*
 * Replace the scanned edges of the runtime objects whose plugin lists their
 * exact references. First the references of every object, and which
 * memory objects own; then a new CSR: an object's edges are its exact
 * references, memory an object owns has none (its owner listed what it
 * holds), and every other node keeps its scanned edges.
 */
static struct ch_error *apply_exact_refs(struct ch_graph *graph,
					 struct ch_program *program)
{
	size_t n = graph->num_nodes, at = 0;
	struct exact_refs refs = { .graph = graph };
	_cleanup_free_large_ uint64_t *exact = NULL;
	_cleanup_free_large_ uint32_t *exact_len = NULL;
	uint32_t *offsets = NULL;
	uint32_t *targets = NULL;
	struct ch_error *err = NULL;

	// exact[i]: where node i's references begin, UINT64_MAX if none.
	exact = ch_malloc_large((n + 1) * sizeof(*exact));
	exact_len = ch_malloc_large((n + 1) * sizeof(*exact_len));
	refs.owned = calloc(n / 64 + 1, sizeof(*refs.owned));
	if (!exact || !exact_len || !refs.owned) {
		err = &ch_enomem;
		goto out;
	}
	for (size_t i = 0; i < n && !err; i++) {
		bool covered = false;

		exact[i] = UINT64_MAX;
		if (!ch_program_runtime_object(program, &graph->blocks[i]))
			continue;
		refs.source = i;
		refs.first = refs.len;
		err = ch_program_references(program, &graph->blocks[i], false,
					    collect_exact, &refs, &covered);
		if (!covered) {
			refs.len = refs.first;
		} else {
			exact[i] = refs.first;
			exact_len[i] = refs.len - refs.first;
		}
	}
	if (err)
		goto out;
	// At most: every scanned edge kept, and every exact one.
	if (graph->edge_offsets[n] + refs.len > CH_GRAPH_MAX_EDGES) {
		err = too_many_edges(graph->edge_offsets[n] + refs.len);
		goto out;
	}
	offsets = ch_calloc_large(n + 1, sizeof(*offsets));
	targets = ch_malloc_large((graph->edge_offsets[n] + refs.len + 1) *
				  sizeof(*targets));
	if (!offsets || !targets) {
		err = &ch_enomem;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const uint32_t *from = graph->edge_targets + graph->edge_offsets[i];
		size_t len = graph->edge_offsets[i + 1] - graph->edge_offsets[i];

		offsets[i] = at;
		if (exact[i] != UINT64_MAX) {
			from = refs.targets + exact[i];
			len = exact_len[i];
			graph->stats.exact_nodes++;
		} else if (ch_bit_get(refs.owned, i)) {
			len = 0;
		}
		if (len)
			memcpy(targets + at, from, len * sizeof(*targets));
		at += len;
	}
	offsets[n] = at;
	ch_graph_release_edges(graph);
	graph->edge_offsets = offsets;
	graph->edge_targets = targets;
	graph->stats.num_edges = at;
	offsets = NULL;
	targets = NULL;
out:
	free(offsets);
	free(targets);
	free(refs.targets);
	free(refs.owned);
	return err;
}

struct ch_error *ch_graph_build(const struct ch_heap *heap,
				const struct ch_address_space *as,
				const struct ch_core *core,
				const struct ch_roots *roots,
				const struct ch_graph_options *options,
				struct ch_graph **ret)
{
	double start = now_seconds();
	struct ch_graph *graph;
	struct ch_error *err;
	bool exact_refs, roots_scanned;
	struct early_finish early = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.core = core,
		.roots = roots,
	};

	graph = calloc(1, sizeof(*graph));
	if (!graph)
		return &ch_enomem;
	early.graph = graph;
	graph->num_nodes = heap->live.len;
	graph->blocks = heap->live.blocks;
	graph->interior = options->interior;
	graph->index = options->index;
	if (!graph->index && !options->find_index) {
		err = ch_block_index_init(&graph->own_index, heap->live.blocks,
					  heap->live.len);
		if (err) {
			free(graph);
			return err;
		}
		graph->index = &graph->own_index;
	}
	graph->edge_offsets = ch_calloc_large(graph->num_nodes + 1,
				     sizeof(*graph->edge_offsets));
	if (!graph->edge_offsets) {
		ch_graph_destroy(graph);
		return &ch_enomem;
	}
	exact_refs = options->program &&
		     ch_program_lists_references(options->program);
	// The roots come after the exact references: no early end then.
	err = scan_heap(graph, as, options, exact_refs ? NULL : &early,
			&roots_scanned);
	pthread_mutex_destroy(&early.lock);
	// The rebuilt CSR costs a second copy of the graph's edges while it is
	// made: only where a runtime lists exact references.
	if (!err && exact_refs)
		err = apply_exact_refs(graph, options->program);
	if (!err && !roots_scanned)
		err = scan_roots(graph, as, core, roots);
	if (err) {
		ch_graph_destroy(graph);
		return err;
	}
	graph->stats.seconds = now_seconds() - start -
			       graph->stats.alongside_seconds;
	*ret = graph;
	return NULL;
}

// The targets of the graph's root references, in their order.
static uint32_t *root_targets(const struct ch_graph *graph)
{
	uint32_t *targets = malloc((graph->num_root_refs + 1) * sizeof(*targets));

	for (size_t r = 0; targets && r < graph->num_root_refs; r++)
		targets[r] = graph->root_refs[r].target;
	return targets;
}

struct ch_error *ch_graph_dominators(const struct ch_graph *graph,
				     const struct ch_dominators_beside *beside,
				     struct ch_dominators *ret)
{
	_cleanup_free_ uint32_t *roots = root_targets(graph);

	if (!roots)
		return &ch_enomem;
	return ch_dominators_compute(graph->num_nodes, graph->edge_offsets,
				     graph->edge_targets, roots,
				     graph->num_root_refs, beside, ret);
}

struct ch_error *ch_graph_dominators_releasing_edges(struct ch_graph *graph,
						     const struct ch_dominators_then *then,
						     struct ch_dominators *ret)
{
	_cleanup_free_ uint32_t *roots = root_targets(graph);
	size_t targets_mapped = graph->edge_targets_mapped;

	if (!roots) {
		ch_graph_release_edges(graph);
		return &ch_enomem;
	}
	// The computation frees the edges: the graph holds none after.
	graph->edge_targets_mapped = 0;
	return ch_dominators_compute_taking(graph->num_nodes,
					    &graph->edge_offsets,
					    &graph->edge_targets, targets_mapped,
					    roots, graph->num_root_refs, then,
					    ret);
}

void ch_graph_destroy(struct ch_graph *graph)
{
	if (!graph)
		return;
	ch_block_index_deinit(&graph->own_index);
	ch_graph_release_edges(graph);
	free(graph->root_refs);
	free(graph);
}

void ch_graph_release_edges(struct ch_graph *graph)
{
	ch_free_large(graph->edge_offsets);
	ch_free_large_or_unmap(graph->edge_targets, graph->edge_targets_mapped);
	graph->edge_offsets = NULL;
	graph->edge_targets = NULL;
	graph->edge_targets_mapped = 0;
}

/*
 * A breadth-first search is a run of cache misses a node, which it keeps in
 * flight together: for the node SEARCH_AHEAD places ahead in the queue the
 * marks of its targets (prefetch_marks()), for the one twice as far its
 * targets, and three times as far its offsets, each line read by the time
 * the next step asks for it.
 */
#define SEARCH_AHEAD 24

CH_PREFETCHER void prefetch_marks(const struct ch_graph *graph,
				  const uint64_t *marked, uint32_t u)
{
	for (uint32_t e = graph->edge_offsets[u]; e < graph->edge_offsets[u + 1];
	     e++)
		__builtin_prefetch(&marked[graph->edge_targets[e] / 64]);
}

/*
 * The breadth-first search from the roots that the reachability and the
 * retention paths share. root_of[v] (all CH_GRAPH_NONE on entry) is set to
 * the first root reference reaching v; avoid (CH_GRAPH_NONE: none) is never
 * entered, so that each path found is one that a path to avoid can extend.
 * parent and distance, if not NULL, get v's predecessor on its shortest
 * path (CH_GRAPH_NONE for a root's target) and that path's length in edges.
 * queue has room for every node.
 *
 * With named (one flag per root reference), the search runs in two tiers:
 * first from the named references alone, to the end, then on from the
 * others. A node a named root reaches gets its nearest named root, and its
 * distance from the named roots; the rest, their nearest root of all (no
 * path to them passes through a node of the first tier, which would make
 * them reachable from a named root).
 *
 * Whether a target was found is asked of a bitmap, which stays in the
 * cache where root_of is a miss an edge; the nodes ahead in the queue have
 * their offsets, edges, targets' bits and root fetched ahead (SEARCH_AHEAD).
 */
static struct ch_error *search_from_roots(const struct ch_graph *graph,
					  const bool *named, uint32_t avoid,
					  uint32_t *root_of, uint32_t *parent,
					  uint32_t *distance, uint32_t *queue)
{
	_cleanup_free_large_ uint64_t *found = ch_calloc_large(
		ch_bitmap_words(graph->num_nodes) + 1, sizeof(*found));
	size_t head = 0, tail = 0;

	if (!found)
		return &ch_enomem;
	for (int tier = named ? 0 : 1; tier < 2; tier++) {
		for (size_t r = 0; r < graph->num_root_refs; r++) {
			uint32_t v = graph->root_refs[r].target;

			if (tier == 0 && !named[r])
				continue;
			if (v == avoid || ch_bit_get(found, v))
				continue;
			ch_bit_set(found, v);
			root_of[v] = r;
			if (parent) {
				parent[v] = CH_GRAPH_NONE;
				distance[v] = 0;
			}
			queue[tail++] = v;
		}
		while (head < tail) {
			if (head + 3 * SEARCH_AHEAD < tail)
				__builtin_prefetch(&graph->edge_offsets[queue[head + 3 * SEARCH_AHEAD]]);
			if (head + 2 * SEARCH_AHEAD < tail)
				__builtin_prefetch(&graph->edge_targets[graph->edge_offsets[queue[head + 2 * SEARCH_AHEAD]]]);
			if (head + SEARCH_AHEAD < tail) {
				uint32_t ahead = queue[head + SEARCH_AHEAD];

				prefetch_marks(graph, found, ahead);
				__builtin_prefetch(&root_of[ahead]);
				if (distance)
					__builtin_prefetch(&distance[ahead]);
			}
			uint32_t u = queue[head++];

			for (uint64_t e = graph->edge_offsets[u];
			     e < graph->edge_offsets[u + 1]; e++) {
				uint32_t v = graph->edge_targets[e];

				if (v == avoid || ch_bit_get(found, v))
					continue;
				ch_bit_set(found, v);
				root_of[v] = root_of[u];
				if (parent) {
					parent[v] = u;
					distance[v] = distance[u] + 1;
				}
				queue[tail++] = v;
			}
		}
	}
	return NULL;
}

struct ch_error *ch_graph_reach_prepare(const struct ch_graph *graph,
				       uint32_t **root_of_ret)
{
	size_t n = graph->num_nodes;
	uint32_t *root_of = ch_malloc_large((n + 1) * sizeof(*root_of));

	if (!root_of)
		return &ch_enomem;
	memset(root_of, 0xff, (n + 1) * sizeof(*root_of));
	*root_of_ret = root_of;
	return NULL;
}

struct ch_error *ch_graph_reach_queued(const struct ch_graph *graph,
				       const bool *named, uint32_t *queue,
				       uint32_t *root_of)
{
	return search_from_roots(graph, named, CH_GRAPH_NONE, root_of, NULL,
				 NULL, queue);
}

struct ch_error *ch_graph_reach(const struct ch_graph *graph,
				const bool *named, uint32_t **root_of_ret)
{
	_cleanup_free_large_ uint32_t *queue =
		ch_malloc_large((graph->num_nodes + 1) * sizeof(*queue));
	uint32_t *root_of;
	struct ch_error *err;

	if (!queue)
		return &ch_enomem;
	err = ch_graph_reach_prepare(graph, &root_of);
	if (err)
		return err;
	err = ch_graph_reach_queued(graph, named, queue, root_of);
	if (err) {
		ch_free_large(root_of);
		return err;
	}
	*root_of_ret = root_of;
	return NULL;
}

// Nodes a marking thread hands over at once, and the handed-over packets
// waiting at most, per thread.
#define MARK_PACKET 4096
#define MARK_PACKETS_PER_THREAD 2
// The fewest queued nodes a thread hands half of over.
#define MIN_HAND_OVER 256
// Words of pending a thread takes at once from a sweep.
#define MARK_SWEEP_WORDS 64
// Fewer nodes per thread than this: the marking runs on fewer threads.
#define MIN_NODES_PER_MARK_THREAD ((size_t)1 << 16)

/*
 * What the marking threads share. A thread marks a node with an atomic or,
 * and only the thread whose or set the bit queues the node: each node is
 * followed once. A thread whose queue runs dry takes a part of pending
 * (next_word), then a packet another thread handed over, and then waits;
 * a thread that sees one waiting hands over the oldest part of
 * its queue. The round is over when all wait with nothing handed over and
 * pending swept to its end; if a queue overflowed into pending during it,
 * pending is swept again.
 */
struct mark_shared {
	const struct ch_graph *graph;
	uint64_t *marked, *pending;
	size_t words;
	/** Of each thread's queue, a power of 2. */
	size_t capacity;
	/** Under lock: the threads marking; whether there can be two. */
	unsigned num_threads;
	bool atomic;
	/** Atomic: the next word of pending to sweep. */
	size_t next_word;
	/** Atomic: a node was left in pending since the round began. */
	bool overflowed;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/**
	 * Under lock: packets handed over, [0, num_packets) full, and the
	 * threads waiting (both stored atomically, so that a busy thread can
	 * look without the lock).
	 */
	uint32_t (*packets)[MARK_PACKET];
	uint32_t *packet_sizes;
	size_t num_packets, max_packets;
	unsigned waiting;
	/** Under lock: the round; all rounds over. */
	unsigned round;
	bool done;
};

struct mark_thread {
	struct mark_shared *shared;
	/** A ring of shared->capacity nodes: [head, tail) queued. */
	uint32_t *queue;
	size_t head, tail;
};

// Whether this thread set v's mark (and so follows v).
static bool take_mark(uint64_t *marked, uint32_t v, bool atomic)
{
	uint64_t bit = UINT64_C(1) << (v % 64);

	// Loaded atomically: another thread may be setting a bit of the word.
	if (__atomic_load_n(&marked[v / 64], __ATOMIC_RELAXED) & bit)
		return false;
	if (!atomic) {
		marked[v / 64] |= bit;
		return true;
	}
	return !(__atomic_fetch_or(&marked[v / 64], bit, __ATOMIC_RELAXED) &
		 bit);
}

// Hand the oldest part of the queue to the threads waiting for work.
static void hand_over(struct mark_thread *self)
{
	struct mark_shared *shared = self->shared;
	size_t mask = shared->capacity - 1;

	pthread_mutex_lock(&shared->lock);
	if (shared->num_packets < shared->max_packets) {
		size_t size = (self->tail - self->head) / 2;
		uint32_t *packet = shared->packets[shared->num_packets];

		if (size > MARK_PACKET)
			size = MARK_PACKET;
		for (size_t i = 0; i < size; i++)
			packet[i] = self->queue[self->head++ & mask];
		shared->packet_sizes[shared->num_packets] = (uint32_t)size;
		__atomic_store_n(&shared->num_packets, shared->num_packets + 1,
				 __ATOMIC_RELAXED);
		pthread_cond_signal(&shared->wake);
	}
	pthread_mutex_unlock(&shared->lock);
}

/*
 * Breadth first: the nodes found from one are near one another, as their
 * allocations often are, more than depth first. Each node's targets not
 * marked yet are marked and queued, or left pending when the queue is full.
 * The state is in locals: the marks are stored to through a pointer that
 * could otherwise be the queue's ends.
 */
static void mark_queued(struct mark_thread *self)
{
	struct mark_shared *shared = self->shared;
	const struct ch_graph *graph = shared->graph;
	const uint32_t *offsets = graph->edge_offsets;
	const uint32_t *targets = graph->edge_targets;
	uint64_t *marked = shared->marked;
	uint32_t *queue = self->queue;
	size_t head = self->head, tail = self->tail;
	size_t capacity = shared->capacity, mask = capacity - 1;
	bool atomic = shared->atomic, overflowed = false;

	while (head < tail) {
		if (atomic && tail - head >= MIN_HAND_OVER &&
		    __atomic_load_n(&shared->num_packets, __ATOMIC_RELAXED) <
			    __atomic_load_n(&shared->waiting, __ATOMIC_RELAXED)) {
			self->head = head;
			self->tail = tail;
			hand_over(self);
			head = self->head;
		}
		if (head + 3 * SEARCH_AHEAD < tail)
			__builtin_prefetch(&offsets[queue[(head + 3 * SEARCH_AHEAD) & mask]]);
		if (head + 2 * SEARCH_AHEAD < tail)
			__builtin_prefetch(&targets[offsets[queue[(head + 2 * SEARCH_AHEAD) & mask]]]);
		if (head + SEARCH_AHEAD < tail)
			prefetch_marks(graph, marked,
				       queue[(head + SEARCH_AHEAD) & mask]);
		uint32_t u = queue[head++ & mask];

		for (uint32_t e = offsets[u], end = offsets[u + 1]; e < end; e++) {
			uint32_t v = targets[e];

			if (!take_mark(marked, v, atomic))
				continue;
			if (tail - head < capacity) {
				queue[tail++ & mask] = v;
			} else {
				__atomic_fetch_or(&shared->pending[v / 64],
						  UINT64_C(1) << (v % 64),
						  __ATOMIC_RELAXED);
				overflowed = true;
			}
		}
	}
	self->head = head;
	self->tail = tail;
	if (overflowed)
		__atomic_store_n(&shared->overflowed, true, __ATOMIC_RELAXED);
}

/*
 * Queue the nodes of the next words of pending, following the queue
 * whenever it fills: a sweep queues every pending node it can before the
 * search goes on, as seeds searched one at a time would leave the search a
 * single chain to follow, one cache miss after the other. False when
 * pending is swept to its end.
 */
static bool sweep_pending(struct mark_thread *self)
{
	struct mark_shared *shared = self->shared;
	size_t first = __atomic_fetch_add(&shared->next_word, MARK_SWEEP_WORDS,
					  __ATOMIC_RELAXED);
	size_t end = first + MARK_SWEEP_WORDS, mask = shared->capacity - 1;

	if (first >= shared->words)
		return false;
	if (end > shared->words)
		end = shared->words;
	for (size_t w = first; w < end; w++) {
		uint64_t bits;

		if (!__atomic_load_n(&shared->pending[w], __ATOMIC_RELAXED))
			continue;
		bits = __atomic_exchange_n(&shared->pending[w], 0,
					   __ATOMIC_RELAXED);
		for (; bits; bits &= bits - 1) {
			self->queue[self->tail++ & mask] =
				(uint32_t)(w * 64 + __builtin_ctzll(bits));
			if (self->tail - self->head == shared->capacity)
				mark_queued(self);
		}
	}
	return true;
}

/*
 * Wait for a packet another thread hands over, and queue it. The last
 * thread to wait ends the round: it starts another sweep when a queue
 * overflowed during this one (false: all is marked).
 */
static bool wait_for_packet(struct mark_thread *self)
{
	struct mark_shared *shared = self->shared;
	unsigned round;
	bool more = true;

	pthread_mutex_lock(&shared->lock);
	round = shared->round;
	__atomic_store_n(&shared->waiting, shared->waiting + 1,
			 __ATOMIC_RELAXED);
	for (;;) {
		if (shared->num_packets) {
			size_t p = shared->num_packets - 1;

			__atomic_store_n(&shared->num_packets, p,
					 __ATOMIC_RELAXED);
			for (uint32_t i = 0; i < shared->packet_sizes[p]; i++)
				self->queue[self->tail++ & (shared->capacity - 1)] =
					shared->packets[p][i];
			break;
		}
		if (shared->done || shared->round != round) {
			more = !shared->done;
			break;
		}
		if (shared->waiting == shared->num_threads) {
			more = shared->overflowed;
			shared->done = !more;
			shared->overflowed = false;
			shared->next_word = 0;
			shared->round++;
			pthread_cond_broadcast(&shared->wake);
			break;
		}
		pthread_cond_wait(&shared->wake, &shared->lock);
	}
	__atomic_store_n(&shared->waiting, shared->waiting - 1,
			 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&shared->lock);
	return more;
}

static void *mark_thread_run(void *arg)
{
	struct mark_thread *self = arg;

	do {
		mark_queued(self);
		while (sweep_pending(self))
			mark_queued(self);
	} while (wait_for_packet(self));
	return NULL;
}

// As many as the scan used, fewer on a small graph.
static unsigned mark_threads(const struct ch_graph *graph)
{
	unsigned threads = graph->stats.num_threads;

	if (threads > graph->num_nodes / MIN_NODES_PER_MARK_THREAD)
		threads = graph->num_nodes / MIN_NODES_PER_MARK_THREAD;
	if (threads > MAX_SCAN_THREADS)
		threads = MAX_SCAN_THREADS;
	return threads ? threads : 1;
}

struct ch_error *ch_graph_mark_reachable(const struct ch_graph *graph,
					 uint64_t *marked, uint64_t *pending)
{
	unsigned num_threads = mark_threads(graph);
	size_t capacity = 1;
	struct mark_shared shared = {
		.graph = graph,
		.marked = marked,
		.pending = pending,
		.words = ch_bitmap_words(graph->num_nodes),
		.atomic = num_threads > 1,
		.max_packets = MARK_PACKETS_PER_THREAD * num_threads,
	};
	_cleanup_free_ uint32_t *queues = NULL;
	_cleanup_free_ uint32_t(*packets)[MARK_PACKET] = NULL;
	_cleanup_free_ uint32_t *packet_sizes = NULL;
	struct mark_thread threads[MAX_SCAN_THREADS];
	pthread_t ids[MAX_SCAN_THREADS];
	unsigned started = 0;

	// The queues together hold at most CH_GRAPH_MARK_QUEUE nodes; one as
	// long as the graph never overflows.
	while (capacity * num_threads < CH_GRAPH_MARK_QUEUE &&
	       capacity <= graph->num_nodes)
		capacity *= 2;
	shared.capacity = capacity;
	queues = malloc(num_threads * capacity * sizeof(*queues));
	if (num_threads > 1) {
		packets = malloc(shared.max_packets * sizeof(*packets));
		packet_sizes = malloc(shared.max_packets * sizeof(*packet_sizes));
	}
	if (!queues || (num_threads > 1 && (!packets || !packet_sizes)))
		return &ch_enomem;
	shared.packets = packets;
	shared.packet_sizes = packet_sizes;
	// The seeds are marked before any search can reach one: each node is
	// then queued once, by its sweep.
	for (size_t w = 0; w < shared.words; w++)
		marked[w] |= pending[w];
	pthread_mutex_init(&shared.lock, NULL);
	pthread_cond_init(&shared.wake, NULL);
	for (unsigned t = 0; t < num_threads; t++) {
		threads[t] = (struct mark_thread){
			.shared = &shared,
			.queue = queues + t * capacity,
		};
	}
	// A thread that cannot be made leaves its share to the others.
	shared.num_threads = 1;
	for (unsigned t = 1; t < num_threads; t++) {
		pthread_mutex_lock(&shared.lock);
		shared.num_threads++;
		pthread_mutex_unlock(&shared.lock);
		if (ch_thread_create(&ids[t], mark_thread_run, &threads[t])) {
			pthread_mutex_lock(&shared.lock);
			shared.num_threads--;
			pthread_mutex_unlock(&shared.lock);
			break;
		}
		started++;
	}
	mark_thread_run(&threads[0]);
	for (unsigned t = 1; t <= started; t++)
		pthread_join(ids[t], NULL);
	pthread_cond_destroy(&shared.wake);
	pthread_mutex_destroy(&shared.lock);
	return NULL;
}

struct ch_error *ch_graph_reached(const struct ch_graph *graph,
				  uint64_t **reached_ret)
{
	size_t words = ch_bitmap_words(graph->num_nodes) + 1;
	_cleanup_free_ uint64_t *pending = calloc(words, sizeof(*pending));
	uint64_t *reached = calloc(words, sizeof(*reached));
	struct ch_error *err;

	if (!pending || !reached) {
		free(reached);
		return &ch_enomem;
	}
	for (size_t r = 0; r < graph->num_root_refs; r++)
		ch_bit_set(pending, graph->root_refs[r].target);
	err = ch_graph_mark_reachable(graph, reached, pending);
	if (err) {
		free(reached);
		return err;
	}
	*reached_ret = reached;
	return NULL;
}

struct path_candidate {
	/** 0 from a named root, 1 from another (or from any, without names). */
	uint32_t tier;
	uint32_t length;
	uint32_t root_ref;
	/** The allocation pointing into the target, or CH_GRAPH_NONE. */
	uint32_t referrer;
};

DEFINE_VECTOR(path_candidate_vector, struct path_candidate);

// The candidate of root reference r pointing into the target itself.
static struct path_candidate root_candidate(const bool *named, size_t r)
{
	return (struct path_candidate){
		.tier = named && !named[r],
		.length = 1,
		.root_ref = r,
		.referrer = CH_GRAPH_NONE,
	};
}

// The candidate of allocation u, which the search reached, pointing into
// the target.
static struct path_candidate referrer_candidate(const bool *named,
						const uint32_t *root_of,
						const uint32_t *distance,
						uint32_t u)
{
	return (struct path_candidate){
		.tier = named && !named[root_of[u]],
		.length = distance[u] + 2,
		.root_ref = root_of[u],
		.referrer = u,
	};
}

// The path of candidate to target, back along the search's parents.
static struct ch_error *make_path(const struct path_candidate *candidate,
				  uint32_t target, const uint32_t *parent,
				  struct ch_graph_path *path)
{
	uint32_t v = candidate->referrer;

	path->root_ref = candidate->root_ref;
	path->num_nodes = candidate->length;
	path->nodes = malloc(path->num_nodes * sizeof(*path->nodes));
	if (!path->nodes)
		return &ch_enomem;
	path->nodes[path->num_nodes - 1] = target;
	for (size_t k = path->num_nodes - 1; k-- > 0; v = parent[v])
		path->nodes[k] = v;
	return NULL;
}

static int compare_candidates(const void *a, const void *b)
{
	const struct path_candidate *x = a, *y = b;

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (x->length != y->length)
		return x->length < y->length ? -1 : 1;
	if (x->root_ref != y->root_ref)
		return x->root_ref < y->root_ref ? -1 : 1;
	return x->referrer < y->referrer ? -1 : x->referrer > y->referrer;
}

void ch_graph_paths_free(struct ch_graph_path *paths, size_t num_paths)
{
	for (size_t i = 0; paths && i < num_paths; i++)
		free(paths[i].nodes);
	free(paths);
}

/*
 * One candidate per referrer of target (a root word pointing into it, or an
 * allocation that a root reaches without passing through target), with the
 * length of its shortest path and whether that starts at a named root;
 * then the first max_paths of them, named first, then shortest.
 */
struct ch_error *ch_graph_paths(const struct ch_graph *graph,
				const bool *named, uint32_t target,
				size_t max_paths,
				struct ch_graph_path **paths_ret,
				size_t *num_paths_ret)
{
	size_t n = graph->num_nodes, num_candidates;
	_cleanup_free_large_ uint32_t *parent = ch_malloc_large((n + 1) * sizeof(*parent));
	_cleanup_free_large_ uint32_t *distance = ch_malloc_large((n + 1) * sizeof(*distance));
	_cleanup_free_large_ uint32_t *root_of = ch_malloc_large((n + 1) * sizeof(*root_of));
	_cleanup_free_large_ uint32_t *queue = ch_malloc_large((n + 1) * sizeof(*queue));
	_cleanup_(path_candidate_vector_deinit)
		struct path_candidate_vector candidates = { 0 };
	struct ch_graph_path *paths;
	struct ch_error *err;

	*paths_ret = NULL;
	*num_paths_ret = 0;
	if (!parent || !distance || !root_of || !queue)
		return &ch_enomem;
	if (target >= n || max_paths == 0)
		return NULL;
	memset(root_of, 0xff, (n + 1) * sizeof(*root_of));
	err = search_from_roots(graph, named, target, root_of, parent,
				distance, queue);
	if (err)
		return err;
	for (size_t r = 0; r < graph->num_root_refs; r++) {
		struct path_candidate candidate;

		if (graph->root_refs[r].target != target)
			continue;
		candidate = root_candidate(named, r);
		err = path_candidate_vector_append(&candidates, &candidate);
		if (err)
			return err;
	}
	for (uint32_t u = 0; u < n; u++) {
		if (root_of[u] == CH_GRAPH_NONE)
			continue;
		for (uint64_t e = graph->edge_offsets[u];
		     e < graph->edge_offsets[u + 1]; e++) {
			struct path_candidate candidate;

			if (graph->edge_targets[e] != target)
				continue;
			candidate = referrer_candidate(named, root_of, distance, u);
			err = path_candidate_vector_append(&candidates, &candidate);
			if (err)
				return err;
			break;
		}
	}
	num_candidates = candidates.len;
	if (num_candidates == 0)
		return NULL;
	ch_sort(candidates.data, num_candidates, sizeof(*candidates.data),
		compare_candidates);
	if (num_candidates > max_paths)
		num_candidates = max_paths;
	paths = calloc(num_candidates + 1, sizeof(*paths));
	if (!paths)
		return &ch_enomem;
	for (size_t i = 0; i < num_candidates; i++) {
		err = make_path(&candidates.data[i], target, parent, &paths[i]);
		if (err) {
			ch_graph_paths_free(paths, i);
			return err;
		}
	}
	*paths_ret = paths;
	*num_paths_ret = num_candidates;
	return NULL;
}

// Keep candidate as the best for its target if it ranks before the best
// so far (none yet: length 0).
static void offer(struct path_candidate *best, struct path_candidate candidate)
{
	if (best->length == 0 || compare_candidates(&candidate, best) < 0)
		*best = candidate;
}

/*
 * One search from the roots that does not avoid any target, where
 * ch_graph_paths() avoids its one: the same first path all the same. Let
 * target be first reached at depth d (in its tier). Until target is
 * expanded, both searches reach the same nodes the same way: every node at
 * depth d - 1 (where the best candidates' referrers are), with its root,
 * distance and parents. What only target's expansion reaches lies deeper
 * and is never a best candidate: it is no shorter, and no nearer a named
 * root, than target itself.
 */
struct ch_error *ch_graph_first_paths(const struct ch_graph *graph,
				      const bool *named,
				      const uint32_t *targets,
				      size_t num_targets,
				      struct ch_graph_path **paths_ret)
{
	size_t n = graph->num_nodes;
	_cleanup_free_large_ uint32_t *parent = ch_malloc_large((n + 1) * sizeof(*parent));
	_cleanup_free_large_ uint32_t *distance = ch_malloc_large((n + 1) * sizeof(*distance));
	_cleanup_free_large_ uint32_t *root_of = ch_malloc_large((n + 1) * sizeof(*root_of));
	_cleanup_free_large_ uint32_t *queue = ch_malloc_large((n + 1) * sizeof(*queue));
	// slot_of[v]: where v is in targets (the first place), or none; asked
	// only where is_target, in the cache where slot_of is a miss an edge.
	_cleanup_free_large_ uint32_t *slot_of = ch_malloc_large((n + 1) * sizeof(*slot_of));
	_cleanup_free_ uint64_t *is_target = calloc(ch_bitmap_words(n) + 1,
						    sizeof(*is_target));
	_cleanup_free_ struct path_candidate *best =
		calloc(num_targets + 1, sizeof(*best));
	struct ch_graph_path *paths = calloc(num_targets + 1, sizeof(*paths));
	struct ch_error *err;

	*paths_ret = NULL;
	if (!parent || !distance || !root_of || !queue || !slot_of ||
	    !is_target || !best || !paths) {
		free(paths);
		return &ch_enomem;
	}
	memset(root_of, 0xff, (n + 1) * sizeof(*root_of));
	for (size_t i = num_targets; i-- > 0;) {
		if (targets[i] < n) {
			slot_of[targets[i]] = (uint32_t)i;
			ch_bit_set(is_target, targets[i]);
		}
	}
	err = search_from_roots(graph, named, CH_GRAPH_NONE, root_of, parent,
				distance, queue);
	if (err) {
		free(paths);
		return err;
	}
	for (size_t r = 0; r < graph->num_root_refs; r++) {
		uint32_t v = graph->root_refs[r].target;

		if (v < n && ch_bit_get(is_target, v))
			offer(&best[slot_of[v]], root_candidate(named, r));
	}
	for (uint32_t u = 0; u < n; u++) {
		if (root_of[u] == CH_GRAPH_NONE)
			continue;
		for (uint64_t e = graph->edge_offsets[u];
		     e < graph->edge_offsets[u + 1]; e++) {
			uint32_t v = graph->edge_targets[e];

			if (v < n && ch_bit_get(is_target, v))
				offer(&best[slot_of[v]], referrer_candidate(
					named, root_of, distance, u));
		}
	}
	for (size_t i = 0; i < num_targets; i++) {
		// A target listed twice has its first place's candidate.
		uint32_t slot = targets[i] < n && ch_bit_get(is_target, targets[i]) ?
					slot_of[targets[i]] : CH_GRAPH_NONE;

		if (slot == CH_GRAPH_NONE || best[slot].length == 0)
			continue;
		err = make_path(&best[slot], targets[i], parent, &paths[i]);
		if (err) {
			ch_graph_paths_free(paths, num_targets);
			return err;
		}
	}
	*paths_ret = paths;
	return NULL;
}

struct pointer_search {
	const struct ch_graph *graph;
	uint32_t target;
	uint64_t base;
	uint64_t offset;
	bool found;
};

static bool find_pointer_word(uint64_t addr, uint64_t value, void *arg)
{
	struct pointer_search *search = arg;
	const struct ch_graph *graph = search->graph;

	// Most words of a large block point elsewhere: the target's own
	// bounds say so without a lookup in the index.
	if (!ch_block_index_holds(&graph->blocks[search->target], value,
				  graph->interior) ||
	    ch_block_index_find(graph->index, value, graph->interior) !=
		    search->target)
		return true;
	search->offset = addr - search->base;
	search->found = true;
	return false;
}

bool ch_graph_find_pointer(const struct ch_graph *graph,
			   const struct ch_address_space *as, uint32_t from,
			   uint32_t target, uint64_t *offset_ret)
{
	const struct ch_block *block = &graph->blocks[from];
	struct pointer_search search = {
		.graph = graph,
		.target = target,
		.base = block->address,
	};
	uint64_t end = block->address + ch_block_size(block);

	ch_scan_words(as, block->address, end < block->address ? UINT64_MAX : end,
		      find_pointer_word, &search);
	if (search.found)
		*offset_ret = search.offset;
	return search.found;
}
