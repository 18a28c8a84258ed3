// SPDX-License-Identifier: MIT
// The main arena's runs: the pieces of memory its chunks live in.
//
// main_arena grows with sbrk, but its heap is not always one piece. When the
// memory sbrk returns does not continue the old top, sysmalloc (glibc
// 2.26..2.41) closes the old top with a double fencepost, two CHUNK_HDR_SZ
// chunks marked in use (0x11; the first loses PREV_INUSE when the shrunk old
// top is freed into a bin), frees what is left of it and starts a new top:
//  - after a foreign sbrk (the program moved the break itself): in the brk
//    area, after the foreign bytes, at the break rounded up so that chunk2mem
//    is aligned. The arena stays contiguous and system_mem counts the
//    foreign bytes and the rounding;
//  - when sbrk fails (a mapping in the way, RLIMIT_DATA): in an mmap, and
//    NONCONTIGUOUS_BIT is set for good. The mmap is at least 1 MiB
//    (MMAP_AS_MORECORE_SIZE), but in 2.35..2.37, whose call swaps the
//    minimum and the page size, the first is rounded up to 1 MiB and later
//    ones only to a page. Later tops come from sbrk again when it works, or
//    from new mmaps, which the kernel often places right below older ones
//    (one mapping in the core).
// glibc keeps no list of runs, so they are found from the chunks themselves:
// from mp_.sbrk_base (or where system_mem says the brk area starts) run after
// run to top, scanning past each foreign gap for the place from which chunk
// sizes chain consistently to top or to the next fencepost; and, in a
// non-contiguous arena, from page starts of anonymous memory where such a
// chain begins. A chunk of the main arena never has IS_MMAPPED or
// NON_MAIN_ARENA set, a run's first chunk always has PREV_INUSE, a chunk
// whose successor's PREV_INUSE is clear has its size in that successor's
// prev_size, and a run ends on a page boundary: garbage rarely passes all
// that for long.

#include <stdlib.h>

#include "glibc.h"

/** glibc's fencepost header: CHUNK_HDR_SZ | PREV_INUSE. */
#define FENCEPOST_FIELD (PTM_CHUNK_HDR | PTM_PREV_INUSE)
/** Scans for runs may trace this many chunk steps per byte scanned / 16. */
#define SCAN_STEPS_PER_SLOT 4
#define SCAN_STEPS_MIN (1u << 20)

/** How a trace of chunk sizes ended. */
enum trace_end {
	TRACE_FAILED,  // a size that cannot be, or memory the core lacks
	TRACE_TOP,     // exactly on the arena's top chunk
	TRACE_FENCE,   // in the double fencepost that closes a run
};

/** What every search for runs of one arena shares. */
struct finder {
	struct ptm_walk *walk;
	size_t arena;
	uint64_t top, top_end;
	bool contiguous;
	bool have_top_run;
};

static uint64_t chunk_size(uint64_t field)
{
	return field & ~(uint64_t)PTM_FLAG_BITS;
}

// Plausible as the first chunk of a run: no foreign flags, PREV_INUSE set, a
// real chunk size.
static bool starts_run(uint64_t field)
{
	uint64_t size = chunk_size(field);

	return (field & PTM_FLAG_BITS) == PTM_PREV_INUSE &&
	       size >= PTM_MINSIZE && size % PTM_ALIGN == 0;
}

// At @p pos, a 16-byte chunk with header @p field followed by one with
// @p next: the fencepost pair, or the old top shrunk to 16 bytes and the
// pair after it. Either ends where the old top did, on a page boundary
// (sbrk'd memory is page-rounded, but after a failed sbrk; an mmap's end):
// where the run ends, or 0 for a look-alike (damage, junk).
static uint64_t fence_end(struct ptm_reader *reader, uint64_t pos,
			  uint64_t field, uint64_t next)
{
	uint64_t third;

	if (next != FENCEPOST_FIELD)
		return 0;
	if ((pos + 2 * PTM_CHUNK_HDR) % PTM_PAGE_SIZE == 0)
		return pos + 2 * PTM_CHUNK_HDR;
	if (field == FENCEPOST_FIELD &&
	    (pos + 3 * PTM_CHUNK_HDR) % PTM_PAGE_SIZE == 0 &&
	    !ptm_reader_u64(reader, pos + 2 * PTM_CHUNK_HDR + 8, &third) &&
	    third == FENCEPOST_FIELD)
		return pos + 3 * PTM_CHUNK_HDR;
	return 0;
}

/**
 * Follow chunk sizes from @p start, costing one of *budget per chunk, as a
 * main arena run must chain. On TRACE_FENCE, *end_ret is where the run ends
 * (after its fenceposts).
 */
static enum trace_end trace(struct finder *f, uint64_t start, uint64_t *budget,
			    uint64_t *end_ret)
{
	struct ptm_reader *reader = &f->walk->reader;
	uint64_t pos = start, field, next, size, footer;

	if (ptm_reader_u64(reader, pos + 8, &field) || !starts_run(field))
		return TRACE_FAILED;
	for (;;) {
		if (pos == f->top)
			return TRACE_TOP;
		if (!*budget)
			return TRACE_FAILED;
		(*budget)--;
		size = chunk_size(field);
		ptm_reader_prefetch_ahead(reader, pos + PTM_PREFETCH_AHEAD);
		if (field & (PTM_IS_MMAPPED | PTM_NON_MAIN_ARENA) ||
		    size < PTM_CHUNK_HDR || size % PTM_ALIGN ||
		    pos + size < pos ||
		    (pos < f->top && pos + size > f->top) ||
		    ptm_reader_u64(reader, pos + size + 8, &next))
			return TRACE_FAILED;
		if (size == PTM_CHUNK_HDR) {
			*end_ret = fence_end(reader, pos, field, next);
			return *end_ret ? TRACE_FENCE : TRACE_FAILED;
		}
		if (size < PTM_MINSIZE)
			return TRACE_FAILED;
		// A chunk free in a bin has its size again in the next
		// chunk's prev_size (set_foot).
		if (!(next & PTM_PREV_INUSE) &&
		    (ptm_reader_u64(reader, pos + size, &footer) ||
		     footer != size))
			return TRACE_FAILED;
		pos += size;
		field = next;
	}
}

static int push_run(struct finder *f, uint64_t start, uint64_t end,
		    bool has_top, uint64_t system_start, uint64_t owned_start)
{
	if (has_top)
		f->have_top_run = true;
	return ptm_push_heap(f->walk, &(struct ptm_heap){
		.start = start,
		.end = has_top ? f->top : end,
		.owned_start = owned_start,
		.owned_end = has_top ? f->top_end : end,
		.system_start = system_start,
		.arena = f->arena,
		.has_top = has_top,
	});
}

static uint64_t readable_end(const struct coreheap_mapping *m)
{
	return m->start + (m->available < m->end - m->start ?
				   m->available : m->end - m->start);
}

// After a run closed at @p from: the first place up to @p limit (inclusive)
// where the next run of the brk area begins, past memory that is not the
// arena's (a foreign sbrk). The gap has no size limit but @p limit; memory
// the core lacks is skipped. 0 if none; *how_ret and *end_ret say how the
// run found ends.
static uint64_t scan_gap(struct finder *f, uint64_t from, uint64_t limit,
			 enum trace_end *how_ret, uint64_t *end_ret)
{
	const struct coreheap_host *host = f->walk->host;
	uint64_t budget = SCAN_STEPS_MIN +
			  SCAN_STEPS_PER_SLOT * ((limit - from) / PTM_ALIGN);
	uint64_t pos = from, stop = 0, field;
	struct coreheap_mapping m;

	if (limit < from)
		return 0;
	while (pos <= limit && pos >= from && budget) {
		if (pos + PTM_CHUNK_HDR > stop) {
			// Only what the core holds: jump over holes.
			if (!ptm_mapping_from(host, pos, &m))
				return 0;
			stop = readable_end(&m);
			if (pos < m.start)
				pos = ptm_align_chunk(m.start);
			if (pos + PTM_CHUNK_HDR > stop) {
				pos = ptm_align_chunk(m.end);
				continue;
			}
			ptm_reader_prefetch(&f->walk->reader, m.start,
					    stop - m.start);
		}
		if (!ptm_reader_u64(&f->walk->reader, pos + 8, &field) &&
		    starts_run(field)) {
			*how_ret = trace(f, pos, &budget, end_ret);
			if (*how_ret != TRACE_FAILED)
				return pos;
		}
		pos += PTM_ALIGN;
	}
	return 0;
}

/**
 * Push the runs of the brk area from @p start, in order, and say in
 * *reached_ret whether they lead to top; gaps are searched up to @p limit.
 * The first run's system memory starts at @p system_start (the sbrk base).
 * COREHEAP_OK or COREHEAP_NOMEM.
 */
static int follow_brk(struct finder *f, uint64_t start, uint64_t system_start,
		      uint64_t limit, bool *reached_ret)
{
	uint64_t budget = UINT64_MAX, end = 0, pos = start, closed;
	uint64_t owned = system_start & ~(PTM_PAGE_SIZE - 1);
	enum trace_end how;
	struct coreheap_mapping m;
	int err;

	*reached_ret = false;
	if (ptm_find_mapping(f->walk->host, start, &m))
		ptm_reader_prefetch(&f->walk->reader, m.start,
				    readable_end(&m) - m.start);
	how = trace(f, pos, &budget, &end);
	for (size_t n = 0; n < PTM_MAX_HEAPS_PER_ARENA; n++) {
		if (how == TRACE_FAILED)
			return COREHEAP_OK;
		err = push_run(f, pos, end, how == TRACE_TOP, system_start,
			       owned);
		if (err || how == TRACE_TOP) {
			*reached_ret = !err;
			return err;
		}
		closed = end;
		pos = scan_gap(f, closed, limit, &how, &end);
		if (!pos)
			return COREHEAP_OK;
		// system_mem counts the foreign bytes if the arena was
		// contiguous then (see ptm_check_system_mem()).
		system_start = owned = closed;
	}
	return COREHEAP_OK;
}

/** Known memory ranges, sorted, to keep the scan for runs out. */
struct ranges {
	uint64_t (*v)[2];
	size_t n;
};

static uint64_t page_up(uint64_t address)
{
	return (address + PTM_PAGE_SIZE - 1) & ~(PTM_PAGE_SIZE - 1);
}

static int compare_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static int owned_ranges(const struct ptm_walk *walk, struct ranges *ret)
{
	ret->n = walk->num_heaps;
	ret->v = malloc((ret->n + 1) * sizeof(*ret->v));
	if (!ret->v)
		return COREHEAP_NOMEM;
	for (size_t i = 0; i < ret->n; i++) {
		ret->v[i][0] = walk->heaps[i].owned_start;
		ret->v[i][1] = walk->heaps[i].owned_end;
	}
	qsort(ret->v, ret->n, sizeof(*ret->v), compare_range);
	return COREHEAP_OK;
}

// Runs that start at page starts of one mapping: mmaps of the non-contiguous
// arena, next to each other or not. @p cursor is the merge cursor into the
// sorted known ranges, which the scan skips.
static int scan_mapping(struct finder *f, const struct coreheap_mapping *m,
			const struct ranges *known, size_t *cursor)
{
	struct ptm_reader *reader = &f->walk->reader;
	uint64_t end = readable_end(m), page = m->start, field, run_end;
	uint64_t budget = SCAN_STEPS_MIN +
			  SCAN_STEPS_PER_SLOT * ((end - m->start) / PTM_ALIGN);
	enum trace_end how;
	int err;

	ptm_reader_prefetch(reader, m->start, end - m->start);
	while (page < end && page >= m->start && budget) {
		while (*cursor < known->n && known->v[*cursor][1] <= page)
			(*cursor)++;
		if (*cursor < known->n && known->v[*cursor][0] <= page) {
			page = page_up(known->v[*cursor][1]);
			continue;
		}
		if (ptm_reader_u64(reader, page + 8, &field) ||
		    !starts_run(field)) {
			page += PTM_PAGE_SIZE;
			continue;
		}
		how = trace(f, page, &budget, &run_end);
		// A run cannot reach into memory already known.
		if (how == TRACE_TOP)
			run_end = f->top_end;
		if (how == TRACE_FAILED ||
		    (*cursor < known->n && known->v[*cursor][0] < run_end)) {
			page += PTM_PAGE_SIZE;
			continue;
		}
		err = push_run(f, page, run_end, how == TRACE_TOP, page, page);
		if (err)
			return err;
		page = page_up(run_end);
	}
	return COREHEAP_OK;
}

static int scan_anonymous(struct finder *f)
{
	const struct coreheap_host *host = f->walk->host;
	size_t n = host->num_mappings(host), cursor = 0;
	struct ranges known;
	int err;

	err = owned_ranges(f->walk, &known);
	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		struct coreheap_mapping m;

		if (host->mapping(host, i, &m) || !ptm_mapping_is_anonymous(&m) ||
		    (m.prot & (COREHEAP_PROT_READ | COREHEAP_PROT_WRITE)) !=
			    (COREHEAP_PROT_READ | COREHEAP_PROT_WRITE))
			continue;
		err = scan_mapping(f, &m, &known, &cursor);
	}
	free(known.v);
	return err;
}

static bool sbrk_base(const struct ptm_walk *walk, uint64_t *ret)
{
	const struct ptm_state *st = walk->st;

	return st->mp && !ptm_read_u64(walk->host,
				       st->mp + walk->layout->mp_sbrk_base,
				       ret) && *ret;
}

// Without a sound top, all that can be walked is what sbrk gave, up to the
// first size that makes no sense.
static int collect_without_top(struct finder *f)
{
	struct ptm_walk *walk = f->walk;
	const struct ptm_arena *arena = &walk->arenas[f->arena];
	struct coreheap_mapping base_map;
	uint64_t base;

	ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, arena->region, arena->top,
		   "main_arena's top chunk 0x%llx is invalid",
		   (unsigned long long)arena->top);
	if (!sbrk_base(walk, &base) ||
	    !ptm_find_mapping(walk->host, base, &base_map))
		return COREHEAP_OK;
	return push_run(f, ptm_align_chunk(base), base_map.end, false, base,
			base & ~(PTM_PAGE_SIZE - 1));
}

// Contiguous: everything is in the brk area, from the sbrk base to top. The
// base is mp_.sbrk_base; without mp_, where system_mem says (it counts
// everything from the base), or the start of top's mapping. The first from
// which the runs lead to top wins; if none does (damage), the walk goes from
// the likeliest one and resumes past what it cannot read.
static int collect_contiguous(struct finder *f, bool have_base, uint64_t base,
			      const struct coreheap_mapping *top_map,
			      bool have_top_map)
{
	struct ptm_walk *walk = f->walk;
	const struct ptm_arena *arena = &walk->arenas[f->arena];
	uint64_t candidates[3], fallback = 0;
	size_t n = 0, saved = walk->num_heaps;
	bool reached;
	int err;

	if (have_base)
		candidates[n++] = base;
	if (arena->system_mem && arena->system_mem <= f->top_end)
		candidates[n++] = f->top_end - arena->system_mem;
	if (have_top_map)
		candidates[n++] = top_map->start;
	for (size_t i = 0; i < n; i++) {
		uint64_t first = ptm_align_chunk(candidates[i]);

		if (first > f->top)
			continue;
		if (!fallback)
			fallback = candidates[i];
		err = follow_brk(f, first, candidates[i], f->top, &reached);
		if (err || reached)
			return err;
		walk->num_heaps = saved;
	}
	if (!fallback)
		fallback = f->top;
	return push_run(f, ptm_align_chunk(fallback), f->top, true, fallback,
			fallback & ~(PTM_PAGE_SIZE - 1));
}

// Non-contiguous: the brk area's runs from the sbrk base, then runs at page
// starts of anonymous memory; top's run, if still not found (damage), is
// walked from the start of its mapping or the end of the last run below it.
static int collect_noncontiguous(struct finder *f, bool have_base,
				 uint64_t base,
				 const struct coreheap_mapping *top_map,
				 bool have_top_map)
{
	struct ptm_walk *walk = f->walk;
	struct coreheap_mapping base_map;
	size_t first = walk->num_heaps;
	uint64_t start;
	bool reached;
	int err;

	if (have_base && ptm_find_mapping(walk->host, base, &base_map)) {
		bool top_here = f->top >= base && f->top < base_map.end;

		err = follow_brk(f, ptm_align_chunk(base), base,
				 top_here ? f->top : readable_end(&base_map),
				 &reached);
		// Damage in the first run: walk the brk area as one run.
		if (!err && walk->num_heaps == first)
			err = push_run(f, ptm_align_chunk(base),
				       top_here ? f->top : base_map.end,
				       top_here, base,
				       base & ~(PTM_PAGE_SIZE - 1));
		if (err)
			return err;
	}
	err = scan_anonymous(f);
	if (err || f->have_top_run)
		return err;
	start = have_top_map ? ptm_align_chunk(top_map->start) : f->top;
	for (size_t i = first; i < walk->num_heaps; i++) {
		const struct ptm_heap *h = &walk->heaps[i];

		if (h->owned_end > start && h->owned_end <= f->top)
			start = h->owned_end;
	}
	return push_run(f, start, f->top, true, start, start);
}

// Say where the runs are when there are several: they are found by guessing.
static void log_runs(struct ptm_walk *walk, size_t first)
{
	for (size_t i = first; walk->num_heaps - first > 1 &&
			       i < walk->num_heaps; i++)
		walk->host->log(walk->host, COREHEAP_LOG_INFO,
				"main_arena run %zu of %zu: chunks 0x%llx..0x%llx%s",
				i - first + 1, walk->num_heaps - first,
				(unsigned long long)walk->heaps[i].start,
				(unsigned long long)walk->heaps[i].end,
				walk->heaps[i].has_top ? " (top)" : "");
}

int ptm_collect_main_runs(struct ptm_walk *walk, size_t index)
{
	const struct ptm_arena *arena = &walk->arenas[index];
	struct finder f = {
		.walk = walk,
		.arena = index,
		.top = arena->top,
		.top_end = arena->top + arena->top_size,
		.contiguous = !(arena->flags & PTM_NONCONTIGUOUS),
	};
	size_t first = walk->num_heaps;
	struct coreheap_mapping top_map;
	bool have_top_map, have_base;
	uint64_t base = 0;
	int err;

	if (!arena->top_valid)
		return collect_without_top(&f);
	have_base = sbrk_base(walk, &base);
	have_top_map = ptm_find_mapping(walk->host, arena->top, &top_map);
	if (f.contiguous)
		err = collect_contiguous(&f, have_base, base, &top_map,
					 have_top_map);
	else
		err = collect_noncontiguous(&f, have_base, base, &top_map,
					    have_top_map);
	if (!err)
		log_runs(walk, first);
	return err;
}
