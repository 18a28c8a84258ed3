// SPDX-License-Identifier: MIT
// pymalloc, CPython's small-object allocator (3.10, 3.11 on 64-bit):
// 1 MiB arenas mmapped one by one, cut into 16 KiB pools, each pool of one
// size class (16 to 512 bytes by 16).
//
// Its state is file-static in Objects/obmalloc.c: no symbol of a stripped
// interpreter names it. The `arenas` vector (struct arena_object[maxarenas],
// one per arena ever made) is a block of the native allocator (it grows with
// PyMem_RawRealloc), and a static pointer in the interpreter's writable data
// holds its start: the plugin looks there for a pointer to a native block
// whose contents are such a vector, every pool it carved naming its arena's
// index (pool_header.arenaindex), and keeps the one with the most arenas.
//
// In a pool, blocks past nextoffset were never handed out and the blocks on
// the freeblock list are free; all others are in use (ref.count of them).

#include <stdlib.h>
#include <string.h>

#include "cpython.h"

struct arena {
	uint64_t address;       /**< the mmap's start; 0: slot unused */
	uint64_t pool_address;  /**< the next pool to carve */
	uint32_t nfreepools, ntotalpools;
};

static bool read_arena(const struct py_walk *walk, uint64_t slot,
		       struct arena *ret)
{
	const struct py_layout *layout = walk->layout;
	uint8_t raw[PYMALLOC_ARENA_OBJECT_SIZE];

	if (walk->host->read(walk->host, slot, raw, sizeof(raw)))
		return false;
	memcpy(&ret->address, raw + layout->arena_address, 8);
	memcpy(&ret->pool_address, raw + layout->arena_pool_address, 8);
	memcpy(&ret->nfreepools, raw + layout->arena_nfreepools, 4);
	memcpy(&ret->ntotalpools, raw + layout->arena_ntotalpools, 4);
	return true;
}

static uint64_t first_pool(uint64_t arena)
{
	return (arena + PYMALLOC_POOL_SIZE - 1) & ~(PYMALLOC_POOL_SIZE - 1);
}

/*
 * Whether slot index of a vector is an arena in use as pymalloc keeps
 * them: page-aligned, 63 or 64 pools (64 when the mmap happens to be pool
 * aligned), the carving mark on a pool boundary inside it, and its first
 * carved pool naming index as its arena.
 */
static bool arena_is_sound(const struct py_walk *walk,
			   const struct arena *arena, uint64_t index)
{
	uint64_t first = first_pool(arena->address);
	uint32_t pools = first == arena->address ? PYMALLOC_MAX_POOLS :
						   PYMALLOC_MAX_POOLS - 1;
	uint32_t arenaindex;

	if (arena->address & 4095 || arena->ntotalpools != pools ||
	    arena->nfreepools > pools || arena->pool_address < first ||
	    arena->pool_address > first + pools * PYMALLOC_POOL_SIZE ||
	    (arena->pool_address - first) % PYMALLOC_POOL_SIZE)
		return false;
	if (arena->pool_address == first)
		return true;
	return walk->host->read(walk->host,
				first + walk->layout->pool_arenaindex,
				&arenaindex, sizeof(arenaindex)) ==
		       COREHEAP_OK &&
	       arenaindex == index;
}

/*
 * How many sound arenas the vector at address of slots entries holds; 0
 * if any slot in use is not one (it is no vector of arenas).
 */
static uint64_t score_vector(const struct py_walk *walk, uint64_t address,
			     uint64_t slots, uint64_t *budget)
{
	uint64_t sound = 0;

	for (uint64_t i = 0; i < slots; i++) {
		struct arena arena;

		if (!*budget)
			return 0;
		--*budget;
		if (!read_arena(walk, address + i * PYMALLOC_ARENA_OBJECT_SIZE,
				&arena))
			return 0;
		if (!arena.address)
			continue;
		if (!arena_is_sound(walk, &arena, i))
			return 0;
		sound++;
	}
	return sound;
}

// The writable words of module, each a candidate for the `arenas` pointer.
static void find_vector(struct py_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	struct coreheap_module module;
	uint64_t best = 0, last = 0;
	// Slots read over all candidates: blocks of zeros (all slots unused)
	// that many words point to must not make this quadratic.
	uint64_t budget = PY_MAX_VECTOR_READS;

	if (host->module(host, walk->st->module, &module) != COREHEAP_OK)
		return;
	for (size_t m = 0; m < host->num_mappings(host); m++) {
		struct coreheap_mapping mapping;

		uint64_t start, end;

		if (host->mapping(host, m, &mapping) != COREHEAP_OK ||
		    !(mapping.prot & COREHEAP_PROT_WRITE))
			continue;
		// The module's part of the mapping: its .bss ends inside the
		// last page, and the kernel may merge that page's anonymous
		// mapping with the ones after it.
		start = mapping.start > module.start ? mapping.start : module.start;
		end = mapping.end < module.end ? mapping.end : module.end;
		start = (start + 7) & ~(uint64_t)7;
		for (uint64_t at = start; at + 8 <= end; at += 8) {
			struct coreheap_block block;
			uint64_t value, slots, score;

			if (!py_read_u64(walk, at, &value) || !value ||
			    value & 15 || value == walk->arenas_array ||
			    value == last ||
			    host->find_block(host, value, &block) !=
				    COREHEAP_OK ||
			    block.address != value ||
			    block.size < PYMALLOC_ARENA_OBJECT_SIZE)
				continue;
			slots = block.size / PYMALLOC_ARENA_OBJECT_SIZE;
			if (slots > PY_MAX_ARENAS)
				slots = PY_MAX_ARENAS;
			last = value;
			score = score_vector(walk, value, slots, &budget);
			if (score > best) {
				best = score;
				walk->arenas_array = value;
				walk->num_arena_slots = slots;
			}
		}
	}
	walk->vector_budget_spent = budget == 0;
}

// Report [start, end) of the arenas' memory as one block in state.
static void report_span(struct py_walk *walk, uint64_t start, uint64_t end,
			enum coreheap_block_state state)
{
	struct coreheap_block block = {
		.address = start,
		.size = end - start,
		.state = state,
		.region = walk->arenas_region,
	};

	if (end > start && walk->host->add_block(walk->host, &block) ==
				   COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
}

// One block in use: an object of its type, or a PyMem buffer.
static void report_used(struct py_walk *walk, uint64_t address,
			uint32_t size, unsigned szidx)
{
	const struct coreheap_host *host = walk->host;
	uint64_t object;
	const struct py_type *type = py_object_in_block(walk, address, size,
							&object);

	if (type) {
		struct coreheap_object reported = {
			.address = object,
			.size = size,
			.header = object - address,
			.region = walk->arenas_region,
			.type_name = type->name,
		};

		if (host->add_object(host, &reported, NULL) == COREHEAP_NOMEM)
			walk->status = COREHEAP_NOMEM;
		py_note_owned(walk, object, type);
		walk->objects++;
		walk->class_objects[szidx]++;
	} else {
		// Typed by its owner, once every object was seen.
		py_defer_buffer(walk, address, size);
		walk->buffers++;
	}
}

// One pool of a used arena: its header, used, free and virgin blocks.
static void walk_pool(struct py_walk *walk, uint64_t pool, uint64_t index,
		      const uint8_t *header)
{
	uint32_t count, arenaindex, szidx, nextoffset, maxnextoffset, size;
	uint64_t freeblock, carved, used = 0;
	uint8_t is_free[PYMALLOC_MAX_BLOCKS] = { 0 };
	const struct py_layout *layout = walk->layout;

	memcpy(&count, header + layout->pool_count, 4);
	memcpy(&freeblock, header + layout->pool_freeblock, 8);
	memcpy(&arenaindex, header + layout->pool_arenaindex, 4);
	memcpy(&szidx, header + layout->pool_szidx, 4);
	memcpy(&nextoffset, header + layout->pool_nextoffset, 4);
	memcpy(&maxnextoffset, header + layout->pool_maxnextoffset, 4);
	report_span(walk, pool, pool + PYMALLOC_POOL_OVERHEAD,
		    COREHEAP_BLOCK_METADATA);
	// An empty pool (on its arena's free list) keeps its old header:
	// nothing in it is in use.
	if (count == 0) {
		walk->empty_pools++;
		report_span(walk, pool + PYMALLOC_POOL_OVERHEAD,
			    pool + PYMALLOC_POOL_SIZE, COREHEAP_BLOCK_FREE);
		return;
	}
	size = (szidx + 1) * PYMALLOC_ALIGNMENT;
	if (arenaindex != index || szidx >= PYMALLOC_NUM_CLASSES ||
	    maxnextoffset != PYMALLOC_POOL_SIZE - size ||
	    nextoffset < PYMALLOC_POOL_OVERHEAD + size ||
	    nextoffset > PYMALLOC_POOL_SIZE ||
	    (nextoffset - PYMALLOC_POOL_OVERHEAD) % size) {
		py_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, pool,
			  "pymalloc pool at 0x%llx has an impossible header (arena %u, class %u, next offset %u); its blocks are not reported",
			  (unsigned long long)pool, arenaindex, szidx,
			  nextoffset);
		report_span(walk, pool + PYMALLOC_POOL_OVERHEAD,
			    pool + PYMALLOC_POOL_SIZE, COREHEAP_BLOCK_METADATA);
		return;
	}
	walk->pools++;
	walk->class_pools[szidx]++;
	carved = (nextoffset - PYMALLOC_POOL_OVERHEAD) / size;
	// The free list: each link inside the pool's carved blocks, each
	// block once.
	for (uint64_t link = freeblock, steps = 0; link; steps++) {
		uint64_t offset = link - pool, i;

		if (link < pool + PYMALLOC_POOL_OVERHEAD ||
		    offset >= nextoffset ||
		    (offset - PYMALLOC_POOL_OVERHEAD) % size) {
			py_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, pool,
				  "pymalloc pool at 0x%llx: free block 0x%llx is not one of its blocks",
				  (unsigned long long)pool,
				  (unsigned long long)link);
			break;
		}
		i = (offset - PYMALLOC_POOL_OVERHEAD) / size;
		if (is_free[i] || steps > carved) {
			py_damage(walk, COREHEAP_DAMAGE_CYCLE, pool,
				  "pymalloc pool at 0x%llx: its free list loops",
				  (unsigned long long)pool);
			break;
		}
		is_free[i] = 1;
		if (!py_read_u64(walk, link, &link)) {
			py_damage(walk, COREHEAP_DAMAGE_UNREADABLE, pool,
				  "pymalloc pool at 0x%llx: free block not in the core",
				  (unsigned long long)pool);
			break;
		}
	}
	for (uint64_t i = 0; i < carved && walk->status == COREHEAP_OK; i++) {
		uint64_t block = pool + PYMALLOC_POOL_OVERHEAD + i * size;

		if (is_free[i]) {
			report_span(walk, block, block + size,
				    COREHEAP_BLOCK_FREE);
			walk->free_blocks++;
			walk->class_free[szidx]++;
		} else {
			report_used(walk, block, size, szidx);
			used++;
			walk->class_used[szidx]++;
		}
	}
	// Never handed out: free, up to the pool's end.
	report_span(walk, pool + nextoffset, pool + PYMALLOC_POOL_SIZE,
		    COREHEAP_BLOCK_FREE);
	walk->free_blocks += (PYMALLOC_POOL_SIZE - nextoffset) / size;
	walk->class_free[szidx] += (PYMALLOC_POOL_SIZE - nextoffset) / size;
	if (used != count)
		py_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, pool,
			  "pymalloc pool at 0x%llx counts %u blocks in use, its free list leaves %llu",
			  (unsigned long long)pool, count,
			  (unsigned long long)used);
}

static void walk_arena(struct py_walk *walk, uint64_t index,
		       const struct arena *arena)
{
	const struct coreheap_host *host = walk->host;
	uint64_t first = first_pool(arena->address);
	uint64_t end = arena->address + PYMALLOC_ARENA_SIZE;

	walk->arenas++;
	if (COREHEAP_HOST_HAS(host, add_owned_range) &&
	    host->add_owned_range(host, walk->arenas_region, arena->address,
				  end, COREHEAP_OWNED_HEAP) == COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
	// Before the first pool boundary: unused.
	report_span(walk, arena->address, first, COREHEAP_BLOCK_FREE);
	for (uint64_t pool = first;
	     pool < arena->pool_address && walk->status == COREHEAP_OK;
	     pool += PYMALLOC_POOL_SIZE) {
		uint8_t header[PYMALLOC_POOL_OVERHEAD];

		if (host->read(host, pool, header, sizeof(header))) {
			py_damage(walk, COREHEAP_DAMAGE_UNREADABLE, pool,
				  "pymalloc pool at 0x%llx is not in the core",
				  (unsigned long long)pool);
			continue;
		}
		walk_pool(walk, pool, index, header);
	}
	// Never carved.
	report_span(walk, arena->pool_address,
		    first + arena->ntotalpools * PYMALLOC_POOL_SIZE,
		    COREHEAP_BLOCK_FREE);
}

/*
 * 3.13: each interpreter names its pymalloc state, interp->obmalloc
 * (a subinterpreter of its own, use_main_obmalloc false, has its own;
 * others share the main one's), whose mgmt.arenas is a vector and
 * mgmt.maxarenas its slots. Each sound vector (a native block of that many
 * slots, its arenas each as pymalloc keeps them) is kept once, up to
 * PY_MAX_VECTORS; false if none is.
 */
static bool vectors_from_interpreters(struct py_walk *walk)
{
	const struct py_layout *layout = walk->layout;
	const struct coreheap_host *host = walk->host;
	uint64_t interp, budget = PY_MAX_VECTOR_READS;

	if (!layout->interp_obmalloc ||
	    !py_read_u64(walk, walk->st->runtime +
				       layout->runtime_interpreters_head,
			 &interp))
		return false;
	for (int n = 0; interp && n < PY_MAX_INTERPRETERS &&
			walk->num_vectors < PY_MAX_VECTORS;
	     n++) {
		uint64_t next, state, arenas;
		uint32_t maxarenas;
		struct coreheap_block block;
		bool seen = false;

		if (!py_read_u64(walk, interp + layout->interp_next, &next))
			break;
		if (py_read_u64(walk, interp + layout->interp_obmalloc, &state) &&
		    py_read_u64(walk, state + layout->obmalloc_arenas, &arenas) &&
		    !host->read(host, state + layout->obmalloc_maxarenas,
				&maxarenas, sizeof(maxarenas)) &&
		    arenas && maxarenas && maxarenas <= PY_MAX_ARENAS &&
		    host->find_block(host, arenas, &block) == COREHEAP_OK &&
		    block.address == arenas &&
		    block.size / PYMALLOC_ARENA_OBJECT_SIZE >= maxarenas) {
			for (size_t v = 0; v < walk->num_vectors; v++)
				seen |= walk->vectors[v].address == arenas;
			if (!seen && score_vector(walk, arenas, maxarenas, &budget))
				walk->vectors[walk->num_vectors++] =
					(struct py_vector){ arenas, maxarenas };
		}
		if (next == interp)
			break;
		interp = next;
	}
	return walk->num_vectors > 0;
}

int py_walk_pymalloc(struct py_walk *walk)
{
	if (vectors_from_interpreters(walk)) {
		walk->arenas_how = "interp->obmalloc";
	} else {
		find_vector(walk);
		walk->arenas_how = "found by its contents";
		if (walk->arenas_array)
			walk->vectors[walk->num_vectors++] = (struct py_vector){
				walk->arenas_array, walk->num_arena_slots
			};
	}
	if (!walk->num_vectors) {
		if (walk->vector_budget_spent)
			walk->host->log(walk->host, COREHEAP_LOG_WARNING,
					"the search for pymalloc's arenas gave up after %llu slots",
					(unsigned long long)PY_MAX_VECTOR_READS);
		walk->host->log(walk->host, COREHEAP_LOG_WARNING,
				"pymalloc's arenas were not found: the Python objects in them are not reported");
		return walk->status;
	}
	walk->arenas_array = walk->vectors[0].address;
	walk->num_arena_slots = 0;
	for (size_t v = 0; v < walk->num_vectors; v++) {
		const struct py_vector *vector = &walk->vectors[v];

		walk->num_arena_slots += vector->slots;
		for (uint64_t i = 0; i < vector->slots &&
				     walk->status == COREHEAP_OK;
		     i++) {
			struct arena arena;

			if (read_arena(walk,
				       vector->address +
					       i * PYMALLOC_ARENA_OBJECT_SIZE,
				       &arena) &&
			    arena.address && arena_is_sound(walk, &arena, i))
				walk_arena(walk, i, &arena);
		}
	}
	return walk->status;
}
