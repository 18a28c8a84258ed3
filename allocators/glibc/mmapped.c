// SPDX-License-Identifier: MIT
// Chunks too big for the heaps get their own mmap and are on no list: find
// them by their header at page starts of anonymous writable memory outside
// the heaps.
//
// An mmapped chunk starts a mapping with prev_size 0 and size | IS_MMAPPED,
// size a page multiple. memalign moves the header forward by a lead that
// aligns the user pointer: prev_size then holds the lead, size shrinks by it,
// and the original header stays, stale, at the page start.
//
// glibc 2.43 gave mmapped chunks the layout of heap chunks: the size stops a
// chunk header (layout->mm_tail) short of the mapping's end, the chunk's
// memory takes the first word of that header as heap chunks take their
// successor's prev_size, prev_size has MMAP_HP (bit 0) for huge pages, and
// memalign's lead needs no room for a chunk of its own.

#include <stdlib.h>

#include "glibc.h"

/** prev_size's MMAP_HP bit (2.43). */
#define MMAP_HP 0x1

/** The one chunk a memalign(align) of the chunk at @p page would give. */
static uint64_t memalign_chunk(const struct ptm_layout *layout, uint64_t page,
			       uint64_t align)
{
	uint64_t mem = (page + PTM_CHUNK_HDR + align - 1) & ~(align - 1);
	uint64_t chunk = mem - PTM_CHUNK_HDR;

	// _int_memalign before 2.43: a lead shorter than MINSIZE cannot stand
	// alone.
	if (!layout->mm_tail && chunk - page < PTM_MINSIZE)
		chunk += align;
	return chunk;
}

/** The offset to the mapping's start that prev_size holds. */
static uint64_t map_offset(const struct ptm_layout *layout, uint64_t prev_size)
{
	return layout->mm_tail ? prev_size & ~(uint64_t)MMAP_HP : prev_size;
}

/** An mmapped chunk header: where its mapping starts and ends. */
struct mmapped {
	uint64_t chunk;
	uint64_t size;
	uint64_t map_start;
	uint64_t map_end;
};

static bool read_header(struct ptm_walk *walk, uint64_t chunk, uint64_t limit,
			struct mmapped *ret)
{
	uint64_t hdr[2];

	if (ptm_reader_read(&walk->reader, chunk, hdr, sizeof(hdr)))
		return false;
	if ((hdr[1] & PTM_FLAG_BITS) != PTM_IS_MMAPPED)
		return false;
	hdr[0] = map_offset(walk->layout, hdr[0]);
	ret->chunk = chunk;
	ret->size = hdr[1] & ~(uint64_t)PTM_FLAG_BITS;
	ret->map_start = chunk - hdr[0];
	ret->map_end = chunk + ret->size + walk->layout->mm_tail;
	return hdr[0] <= chunk && ret->size >= PTM_MINSIZE &&
	       ret->map_start % PTM_PAGE_SIZE == 0 &&
	       ret->map_end % PTM_PAGE_SIZE == 0 && ret->map_end > chunk &&
	       ret->map_end <= limit;
}

// The header at a page start; if it is a stale one left by memalign, the
// moved header instead (one candidate per power-of-two alignment). The stale
// size is not trusted: a later mremap (realloc) changes only the moved one.
static bool find_chunk(struct ptm_walk *walk, uint64_t page, uint64_t limit,
		       struct mmapped *ret)
{
	const struct ptm_layout *layout = walk->layout;
	struct mmapped stale;
	bool stale_fits = read_header(walk, page, limit, &stale);
	uint64_t hdr[2];

	if (ptm_reader_read(&walk->reader, page, hdr, sizeof(hdr)) ||
	    map_offset(layout, hdr[0]) ||
	    (hdr[1] & PTM_FLAG_BITS) != PTM_IS_MMAPPED ||
	    (hdr[1] & ~(uint64_t)PTM_FLAG_BITS) + layout->mm_tail <
		    PTM_PAGE_SIZE ||
	    (hdr[1] + layout->mm_tail) % PTM_PAGE_SIZE != PTM_IS_MMAPPED)
		return false;
	for (uint64_t align = 2 * PTM_ALIGN; align && page + align < limit;
	     align *= 2) {
		uint64_t chunk = memalign_chunk(layout, page, align);
		struct mmapped moved;

		if (chunk >= limit)
			break;
		if (chunk == page)
			continue;
		if (read_header(walk, chunk, limit, &moved) &&
		    moved.map_start == page) {
			*ret = moved;
			return true;
		}
	}
	*ret = stale;
	return stale_fits;
}

/**
 * What malloc_usable_size() says of an mmapped chunk of @p size: its memory
 * to the end of its mapping, or (2.43) to the last header's size field.
 */
static uint64_t usable_size(const struct ptm_layout *layout, uint64_t size)
{
	return layout->mm_tail ? size - PTM_CHUNK_HDR + PTM_SIZE_SZ :
				 size - PTM_CHUNK_HDR;
}

/** The mmapped chunks found, kept until the region's size is known. */
struct found {
	struct mmapped *chunks;
	size_t count, cap;
	uint64_t bytes;
	/**
	 * Headers whose size reaches past their mapping, cut at its end;
	 * claimed[] holds the size fields. Damage only if mp_.n_mmaps says
	 * chunks are missing: else they are look-alikes.
	 */
	struct mmapped *oversized;
	uint64_t *claimed;
	size_t num_oversized, oversized_cap;
};

// An mmapped chunk's header is at the start of its own mapping; an overflow
// (or an underflow from the mapping before) that grows its size makes the
// chunk reach past the mapping, and find_chunk() no longer sees a chunk:
// the live block would vanish without a word.
static int keep_oversized(struct ptm_walk *walk, struct found *found,
			  uint64_t page, uint64_t map_end)
{
	uint64_t hdr[2], size, tail = walk->layout->mm_tail;

	if (ptm_reader_read(&walk->reader, page, hdr, sizeof(hdr)) ||
	    map_offset(walk->layout, hdr[0]) ||
	    (hdr[1] & PTM_FLAG_BITS) != PTM_IS_MMAPPED)
		return COREHEAP_OK;
	size = hdr[1] & ~(uint64_t)PTM_FLAG_BITS;
	if (size + tail < PTM_PAGE_SIZE || (size + tail) % PTM_PAGE_SIZE ||
	    size + tail <= map_end - page)
		return COREHEAP_OK;
	if (found->num_oversized == found->oversized_cap) {
		size_t cap = found->oversized_cap ? 2 * found->oversized_cap : 8;
		struct mmapped *chunks;
		uint64_t *claimed;

		chunks = realloc(found->oversized, cap * sizeof(*chunks));
		if (!chunks)
			return COREHEAP_NOMEM;
		found->oversized = chunks;
		claimed = realloc(found->claimed, cap * sizeof(*claimed));
		if (!claimed)
			return COREHEAP_NOMEM;
		found->claimed = claimed;
		found->oversized_cap = cap;
	}
	found->oversized[found->num_oversized] = (struct mmapped){
		.chunk = page,
		.size = map_end - page - tail,
		.map_start = page,
		.map_end = map_end,
	};
	found->claimed[found->num_oversized++] = size;
	return COREHEAP_OK;
}

static int keep(struct found *found, const struct mmapped *m)
{
	int err = ptm_reserve_one((void **)&found->chunks, &found->cap,
				  found->count, sizeof(*found->chunks));

	if (err)
		return err;
	found->chunks[found->count++] = *m;
	found->bytes += m->map_end - m->map_start;
	return COREHEAP_OK;
}

/** Scan [start, end) of one mapping, which ends at @p map_end. */
static int scan_range(struct ptm_walk *walk, uint64_t start, uint64_t end,
		      uint64_t map_end, struct found *found)
{
	uint64_t page = start;

	while (page < end && page >= start) {
		const struct ptm_heap *heap = ptm_heap_of(walk, page);
		struct mmapped m;
		int err;

		if (heap) {
			page = heap->owned_end;
			continue;
		}
		if (!find_chunk(walk, page, end, &m)) {
			err = keep_oversized(walk, found, page, map_end);
			if (err)
				return err;
			page += PTM_PAGE_SIZE;
			continue;
		}
		err = keep(found, &m);
		if (err)
			return err;
		page = m.map_end;
	}
	return COREHEAP_OK;
}

static int scan_all(struct ptm_walk *walk, struct found *found)
{
	const struct coreheap_host *host = walk->host;
	size_t n = host->num_mappings(host);

	for (size_t i = 0; i < n; i++) {
		struct coreheap_mapping m;
		int err;

		if (host->mapping(host, i, &m) || !ptm_mapping_is_anonymous(&m) ||
		    (m.prot & (COREHEAP_PROT_READ | COREHEAP_PROT_WRITE)) !=
			    (COREHEAP_PROT_READ | COREHEAP_PROT_WRITE))
			continue;
		// Only what the core holds can be read; a huge reservation
		// (sanitizer shadow) must not cost a loop over its pages.
		err = scan_range(walk, m.start,
				 m.start + (m.available < m.end - m.start ?
						    m.available :
						    m.end - m.start),
				 m.end, found);
		if (err)
			return err;
	}
	return COREHEAP_OK;
}

// mp_ counts what glibc mapped; a difference means chunks the core lacks,
// look-alikes taken for chunks, or headers damaged: the oversized ones are
// taken for the missing chunks, as far as the count goes.
static void check_count(struct ptm_walk *walk, struct found *found)
{
	uint64_t n_mmaps;
	size_t count = found->count;

	if (!walk->st->mp ||
	    ptm_read_u64(walk->host, walk->st->mp + walk->layout->mp_n_mmaps,
			 &n_mmaps))
		return;
	for (size_t i = 0; i < found->num_oversized && count < (uint32_t)n_mmaps &&
			   !walk->status;
	     i++, count++) {
		const struct mmapped *m = &found->oversized[i];

		ptm_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, walk->mmapped_region,
			   m->chunk,
			   "mmapped chunk's size field 0x%llx reaches past its mapping, which ends 0x%llx bytes after it (taken as live up to there)",
			   (unsigned long long)found->claimed[i],
			   (unsigned long long)m->size);
		ptm_block(walk, m->chunk + PTM_CHUNK_HDR,
			  usable_size(walk->layout, m->size),
			  COREHEAP_BLOCK_LIVE, walk->mmapped_region);
	}
	if ((uint32_t)n_mmaps != count)
		walk->host->log(walk->host, COREHEAP_LOG_WARNING,
				"found %zu mmapped chunks, mp_.n_mmaps says %u",
				count, (uint32_t)n_mmaps);
}

void ptm_walk_mmapped(struct ptm_walk *walk)
{
	struct found found = {0};
	struct coreheap_region region = {.name = "mmapped"};
	int err;

	err = scan_all(walk, &found);
	if (err) {
		walk->status = err;
		goto out;
	}
	region.address = walk->st->mp;
	region.control_size = walk->st->mp ? walk->st->layout.mp_size : 0;
	region.system_bytes = found.bytes;
	if (walk->host->add_region(walk->host, &region,
				   &walk->mmapped_region)) {
		walk->status = COREHEAP_NOMEM;
		goto out;
	}
	walk->have_mmapped_region = true;
	walk->mmapped_chunks = found.count;
	walk->mmapped_bytes = found.bytes;
	for (size_t i = 0; i < found.count && !walk->status; i++) {
		// 2.43 keeps freed mmapped chunks in the tcache's large bins.
		bool cached = ptm_addrset_find(&walk->listed,
					       found.chunks[i].chunk, NULL);

		ptm_own(walk, walk->mmapped_region, found.chunks[i].map_start,
			found.chunks[i].map_end, COREHEAP_OWNED_HEAP);
		ptm_block(walk, found.chunks[i].chunk + PTM_CHUNK_HDR,
			  usable_size(walk->layout, found.chunks[i].size),
			  cached ? COREHEAP_BLOCK_FREE : COREHEAP_BLOCK_LIVE,
			  walk->mmapped_region);
	}
	check_count(walk, &found);
out:
	free(found.chunks);
	free(found.oversized);
	free(found.claimed);
}
