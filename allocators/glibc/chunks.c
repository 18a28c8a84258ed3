// SPDX-License-Identifier: MIT
// Walking a heap chunk by chunk. A chunk is free when its successor's
// PREV_INUSE bit is clear (regular bins) or when it is on a tcache or fastbin
// list (those keep the bit set); the tcache structs are allocator metadata;
// everything else handed out is live.

#include <stdio.h>
#include <stdlib.h>

#include "glibc.h"

// Resuming after damage is bounded so that a wrecked heap stays linear:
// resumes per heap, bytes scanned for a place to resume and chunk steps.
#define MAX_RESUMES_PER_HEAP 64
#define RESUME_SCAN_BYTES (1u << 20)
#define RESUME_SCAN_STEPS (1u << 24)

/** One step of a walk: a chunk and the size field of its successor. */
struct step {
	uint64_t chunk;
	uint64_t size;       // chunksize, flags stripped
	uint64_t flags;
	uint64_t next_field; // successor's raw size field
};

static uint64_t chunk_size(uint64_t field)
{
	return field & ~(uint64_t)PTM_FLAG_BITS;
}

// True if the sizes from start lead to the heap's end: exactly onto top, or
// into the fencepost that closes a superseded heap. Each step costs one of
// *budget; running out is failing.
static bool chain_reaches_end(struct ptm_walk *walk,
			      const struct ptm_heap *heap, uint64_t start,
			      uint64_t *budget)
{
	struct ptm_reader *reader = &walk->reader;
	uint64_t pos = start, field, size;

	while (pos < heap->end) {
		if (!*budget || ptm_reader_u64(reader, pos + 8, &field))
			return false;
		(*budget)--;
		size = chunk_size(field);
		// A fencepost's last header sits just before the end.
		if (!heap->has_top && pos + PTM_CHUNK_HDR == heap->end)
			return size == 0 || size == PTM_CHUNK_HDR;
		if (size % PTM_ALIGN || size < PTM_CHUNK_HDR ||
		    (size < PTM_MINSIZE &&
		     (heap->has_top || heap->end - pos > 3 * PTM_CHUNK_HDR)))
			return false;
		pos += size;
	}
	return pos == heap->end && heap->has_top;
}

/** Where a walk stands in the sorted free-list and tcache addresses. */
struct cursors {
	struct ptm_key_cursor listed, tcache;
};

static void cursors_init(const struct ptm_walk *walk, uint64_t from,
			 struct cursors *ret)
{
	ret->listed = (struct ptm_key_cursor){
		.keys = walk->listed_keys,
		.count = walk->listed_keys ? walk->listed.count : 0,
	};
	ret->tcache = (struct ptm_key_cursor){
		.keys = walk->tcache_keys,
		.count = walk->tcache_keys ? walk->tcache_chunks.count : 0,
	};
	ptm_key_cursor_seek(&ret->listed, from);
	ptm_key_cursor_seek(&ret->tcache, from);
}

static void classify(struct ptm_walk *walk, const struct ptm_arena *arena,
		     struct cursors *cursors, const struct step *s)
{
	uint32_t region = arena->region;
	uint64_t mem = s->chunk + PTM_CHUNK_HDR;
	uint64_t usable = s->size - PTM_SIZE_SZ;
	bool prev_inuse = s->next_field & PTM_PREV_INUSE;
	bool listed = ptm_key_cursor_has(&cursors->listed, s->chunk);

	if (s->flags & PTM_IS_MMAPPED)
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, s->chunk,
			   "chunk inside a heap has IS_MMAPPED set");
	if (listed) {
		if (!prev_inuse)
			ptm_damage(walk, COREHEAP_DAMAGE_DOUBLE_FREE, region,
				   s->chunk,
				   "chunk on a tcache or fastbin is also binned (next chunk's PREV_INUSE clear)");
		ptm_block(walk, mem, usable, COREHEAP_BLOCK_FREE, region);
	} else if (!prev_inuse) {
		ptm_block(walk, mem, usable, COREHEAP_BLOCK_FREE, region);
	} else if (ptm_key_cursor_has(&cursors->tcache, s->chunk)) {
		ptm_block(walk, mem, usable, COREHEAP_BLOCK_METADATA, region);
	} else {
		if (!!(s->flags & PTM_NON_MAIN_ARENA) == arena->is_main)
			ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region,
				   s->chunk,
				   "chunk's NON_MAIN_ARENA bit contradicts its arena");
		ptm_block(walk, mem, usable, COREHEAP_BLOCK_LIVE, region);
	}
}

// Superseded heaps end in a fencepost whose last header is just before the
// heap's end: a small in-use chunk followed by a size-0 header (thread heaps,
// sysmalloc), or two 16-byte chunks (main arena runs, before memory sbrk does
// not own or at an mmapped run's end). Elsewhere such sizes are damage.
static bool is_fencepost(const struct ptm_heap *heap, const struct step *s)
{
	uint64_t next = s->chunk + s->size;

	return next + PTM_CHUNK_HDR == heap->end &&
	       (chunk_size(s->next_field) == 0 ||
		(s->size == PTM_CHUNK_HDR &&
		 chunk_size(s->next_field) == PTM_CHUNK_HDR));
}

// sysmalloc shrinks the old top of the main arena before its fenceposts to
// a multiple of 16 below it; left with 16 bytes, it is not freed but stays a
// 16-byte chunk in use.
static bool is_shrunk_old_top(const struct ptm_heap *heap,
			      const struct step *s)
{
	return s->size == PTM_CHUNK_HDR &&
	       s->chunk + 3 * PTM_CHUNK_HDR == heap->end &&
	       chunk_size(s->next_field) == PTM_CHUNK_HDR;
}

static void report_fencepost(struct ptm_walk *walk, uint32_t region,
			     const struct step *s)
{
	ptm_block(walk, s->chunk + PTM_CHUNK_HDR, s->size - PTM_SIZE_SZ,
		  COREHEAP_BLOCK_METADATA, region);
	if (chunk_size(s->next_field) == PTM_CHUNK_HDR)
		ptm_block(walk, s->chunk + s->size + PTM_CHUNK_HDR, PTM_SIZE_SZ,
			  COREHEAP_BLOCK_METADATA, region);
}

/** How a run of chunks ended. */
enum run_end {
	RUN_DONE,        // at the heap's end (top or fencepost)
	RUN_BAD_SIZE,    // an impossible size field at *stop
	RUN_UNREADABLE,  // memory missing from the core at *stop
};

static enum run_end walk_run(struct ptm_walk *walk,
			     const struct ptm_arena *arena,
			     const struct ptm_heap *heap, uint64_t start,
			     uint64_t *stop, uint64_t *field_ret)
{
	struct ptm_reader *reader = &walk->reader;
	struct step s = {.chunk = start};
	struct cursors cursors;
	uint64_t field;

	cursors_init(walk, start, &cursors);
	*stop = start;
	if (ptm_reader_u64(reader, s.chunk + 8, &field))
		return RUN_UNREADABLE;
	while (s.chunk < heap->end && !walk->status) {
		uint64_t next;

		*stop = s.chunk;
		*field_ret = field;
		s.size = chunk_size(field);
		s.flags = field & PTM_FLAG_BITS;
		next = s.chunk + s.size;
		if (s.size < PTM_CHUNK_HDR || s.size % PTM_ALIGN ||
		    next > heap->end || next < s.chunk)
			return RUN_BAD_SIZE;
		ptm_reader_prefetch_ahead(reader, next + PTM_PREFETCH_AHEAD);
		if (ptm_reader_u64(reader, next + 8, &s.next_field)) {
			// A superseded heap may end flush with its mapping.
			if (next == heap->end && !heap->has_top)
				return RUN_DONE;
			*stop = next;
			return RUN_UNREADABLE;
		}
		if (!heap->has_top && is_fencepost(heap, &s)) {
			report_fencepost(walk, arena->region, &s);
			return RUN_DONE;
		}
		if (!heap->has_top && is_shrunk_old_top(heap, &s)) {
			ptm_block(walk, s.chunk + PTM_CHUNK_HDR, PTM_SIZE_SZ,
				  COREHEAP_BLOCK_METADATA, arena->region);
			s.chunk = next;
			field = s.next_field;
			continue;
		}
		if (s.size < PTM_MINSIZE)
			return RUN_BAD_SIZE;
		classify(walk, arena, &cursors, &s);
		s.chunk = next;
		field = s.next_field;
	}
	if (!heap->has_top && !walk->status)
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, arena->region,
			   heap->owned_start, "heap ends without a fencepost");
	return RUN_DONE;
}

// After damage at `stop`, where can the walk go on? First the nearest place
// after it from which the sizes lead exactly to the heap's end (a garbage
// size almost never does: it would have to land on a real chunk); then the
// lowest known free chunk that does, its header vouched for by a free list.
static uint64_t resume_point(struct ptm_walk *walk, size_t arena,
			     const struct ptm_heap *heap, uint64_t stop,
			     const char **how)
{
	uint64_t limit = stop + RESUME_SCAN_BYTES, budget = RESUME_SCAN_STEPS;
	uint64_t *known, found = 0;
	size_t n;

	if (limit > heap->end || limit < stop)
		limit = heap->end;
	*how = "by a scan";
	for (uint64_t pos = stop + PTM_ALIGN; pos < limit && budget;
	     pos += PTM_ALIGN) {
		if (chain_reaches_end(walk, heap, pos, &budget))
			return pos;
	}
	*how = "at a known free chunk";
	if (ptm_free_chunks_between(walk, arena, stop, heap->end, &known, &n)) {
		walk->status = COREHEAP_NOMEM;
		return 0;
	}
	for (size_t i = 0; i < n && !found; i++) {
		budget = UINT64_MAX;
		if (chain_reaches_end(walk, heap, known[i], &budget))
			found = known[i];
	}
	free(known);
	return found;
}

static void walk_heap(struct ptm_walk *walk, size_t index,
		      const struct ptm_heap *heap)
{
	const struct ptm_arena *arena = &walk->arenas[index];
	uint64_t pos = heap->start;

	for (unsigned int resumes = 0;; resumes++) {
		uint64_t stop, field = 0, resume;
		const char *how = NULL;
		enum run_end end;
		char after[160];

		ptm_reader_prefetch(&walk->reader, pos,
				    heap->end + PTM_CHUNK_HDR - pos);
		end = walk_run(walk, arena, heap, pos, &stop, &field);
		if (end == RUN_DONE || walk->status)
			return;
		resume = resumes < MAX_RESUMES_PER_HEAP ?
				 resume_point(walk, index, heap, stop, &how) :
				 0;
		if (resume)
			snprintf(after, sizeof(after),
				 "walk resumed at 0x%llx (found %s), the 0x%llx bytes before it unknown",
				 (unsigned long long)resume, how,
				 (unsigned long long)(resume - stop));
		else
			snprintf(after, sizeof(after),
				 "rest of the heap, up to 0x%llx, skipped",
				 (unsigned long long)heap->end);
		if (end == RUN_BAD_SIZE)
			ptm_damage(walk, COREHEAP_DAMAGE_BAD_SIZE,
				   arena->region, stop,
				   "chunk size field 0x%llx is impossible; %s",
				   (unsigned long long)field, after);
		else
			ptm_damage(walk, COREHEAP_DAMAGE_UNREADABLE,
				   arena->region, stop,
				   "heap memory not in the core; %s", after);
		// The arena's, but no chunk explains it: said by summary,
		// and a root (live chunks in it may hold pointers).
		ptm_own(walk, arena->region, stop, resume ? resume : heap->end,
			COREHEAP_OWNED_UNEXPLAINED);
		if (!resume)
			return;
		pos = resume;
	}
}

void ptm_walk_arena_chunks(struct ptm_walk *walk, size_t index)
{
	const struct ptm_arena *arena = &walk->arenas[index];

	for (size_t i = 0; i < arena->num_heaps && !walk->status; i++)
		walk_heap(walk, index, &walk->heaps[arena->first_heap + i]);
	if (arena->top_valid && arena->num_heaps)
		ptm_block(walk, arena->top + PTM_CHUNK_HDR,
			  arena->top_size - PTM_SIZE_SZ, COREHEAP_BLOCK_FREE,
			  arena->region);
}
