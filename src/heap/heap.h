/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The heap model: every block the allocator plugins reported, in flat arrays
 * (no per-block allocation), with the regions (arenas) they belong to and the
 * damage found on the way.
 *
 * Live blocks are kept sorted by address once ch_heap_finish() ran; nested
 * blocks (a managed runtime's objects inside a malloc'd block) are kept apart
 * so that live blocks stay disjoint.
 */
#ifndef COREHEAP_HEAP_H
#define COREHEAP_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "heap/alloc_stacks.h"
#include "heap/runtime_stacks.h"

struct ch_block_index;

/** Sizes past this are no block's: the address space has 48 bits. */
#define CH_BLOCK_MAX_SIZE ((UINT64_C(1) << 48) - 1)

/**
 * A block: 16 bytes, so that tens of millions fit. Its region and a
 * runtime's type name for it are kept beside the array
 * (ch_block_array_region(), ch_block_array_runtime_type()): most blocks
 * share them with their neighbours, or have none.
 */
struct ch_block {
	/** The pointer handed to the program (live) or start of memory. */
	uint64_t address;
	/**
	 * Usable size, at most CH_BLOCK_MAX_SIZE: read and written through
	 * ch_block_size() and ch_block_set_size(), because arithmetic on a
	 * bit-field this wide wraps at its width.
	 */
	uint64_t size_bits : 48;
	/** enum coreheap_block_state. */
	uint64_t state : 3;
	/**
	 * A managed runtime's object (coreheap_host::add_object), not one of
	 * its buffers: what ch_program_runtime_object() finds.
	 */
	uint64_t runtime_object : 1;
	/**
	 * For a managed runtime's object: the words of its header before its
	 * identity (CPython's GC head and managed dict): the block is the
	 * object's whole memory, what points into it keeps it alive, and
	 * ch_block_identity() is what the runtime calls the object. 0 for
	 * every other block.
	 */
	uint64_t header_words : 4;
	/** Index of the allocator (in the program's allocator list). */
	uint64_t allocator : 8;
};

static inline uint64_t ch_block_size(const struct ch_block *block)
{
	return block->size_bits;
}

/** size is at most CH_BLOCK_MAX_SIZE (the callers check what they read). */
static inline void ch_block_set_size(struct ch_block *block, uint64_t size)
{
	block->size_bits = size;
}

/**
 * A block of the allocator numbered allocator, all its fields in one
 * value: set one by one in memory, each bit-field is a read of the word
 * the last one wrote, a stall of its own on every block of a walk.
 */
static inline struct ch_block ch_block_make(uint64_t address, uint64_t size,
					    unsigned state, unsigned allocator)
{
	struct ch_block block = { 0 };

	block.address = address;
	ch_block_set_size(&block, size);
	block.state = state;
	block.allocator = allocator;
	return block;
}

/**
 * The end of block's memory, address + size; UINT64_MAX when that wraps,
 * which only a damaged heap reports.
 */
static inline uint64_t ch_block_end(const struct ch_block *block)
{
	uint64_t end = block->address + ch_block_size(block);

	return end < block->address ? UINT64_MAX : end;
}

/**
 * What the listings call a block: the address the allocator handed out, or
 * for a runtime's object its identity (Python's id()), past its header.
 */
static inline uint64_t ch_block_identity(const struct ch_block *block)
{
	return block->address + 8 * (uint64_t)block->header_words;
}

/** How an allocation's type was known, most trusted first. */
enum ch_type_source {
	CH_TYPE_UNKNOWN = 0,
	CH_TYPE_RUNTIME = 1,  /**< a managed runtime's plugin said so */
	CH_TYPE_VTABLE = 2,   /**< its first word points into a C++ vtable */
	CH_TYPE_DWARF = 3,    /**< a typed pointer (global, local, member) points to it */
	CH_TYPE_GUESS = 4,    /**< its contents look like it (e.g. text) */
};

/** Names of the sources above ("unknown", "runtime", ...). */
extern const char *const ch_type_source_names[];

struct ch_region {
	char *name;
	uint8_t allocator;
	uint64_t address;
	/** Bytes of the control structure at address (metadata). */
	uint64_t control_size;
	uint64_t system_bytes;
	uint64_t top_address, top_size;
	uint64_t live_count, live_bytes;
	uint64_t free_count, free_bytes;
	uint64_t metadata_count, metadata_bytes;
	/**
	 * Bytes and ranges the allocator declared as its own but its walk
	 * could not explain (COREHEAP_OWNED_UNEXPLAINED).
	 */
	uint64_t unexplained_count, unexplained_bytes;
};

/** A range an allocator declared as its own (add_owned_range). */
struct ch_owned_range {
	uint64_t start, end;
	/** Index in ch_heap::regions, or UINT32_MAX. */
	uint32_t region;
	uint8_t allocator;
	/** enum coreheap_owned_kind. */
	uint8_t kind;
};

/**
 * One number of an allocator's own table for a region (add_stat): a row
 * ("class 96 B") and a key ("live") in it. Kept in the order reported.
 */
struct ch_stat {
	/** Index in ch_heap::regions. */
	uint32_t region;
	char *row;
	char *key;
	uint64_t value;
};

struct ch_damage {
	uint32_t kind;       /**< enum coreheap_damage_kind */
	uint32_t region;     /**< index in regions, or UINT32_MAX */
	uint8_t allocator;
	uint64_t address;
	char *message;
};

struct ch_prefault;

/** A growable array of blocks. */
/** The blocks from index first on, up to the next run's, share region. */
struct ch_region_run {
	size_t first;
	/** Index in ch_heap::regions, or UINT32_MAX. */
	uint32_t region;
};

struct ch_block_array {
	struct ch_block *blocks;
	size_t len, capacity;
	/** Faults its pages in ahead of the pushes, once it is large. */
	struct ch_prefault *prefault;
	/**
	 * The blocks' regions, a run per change in the array's order: a walk
	 * reports a region's blocks together, so there are few. The first
	 * run starts at 0 once a block is in. Owned.
	 */
	struct ch_region_run *region_runs;
	size_t num_region_runs, region_runs_capacity;
	/**
	 * A managed runtime's type name per block (an index in
	 * ch_heap::runtime_type_names, 0 for none); NULL while no block has
	 * one. Owned.
	 */
	uint16_t *runtime_types;
	size_t runtime_types_capacity;
};

/** The region of the array's block i (ch_heap::regions), or UINT32_MAX. */
uint32_t ch_block_array_region(const struct ch_block_array *array, size_t i);

/** The runtime type name of the array's block i, 0 if none. */
static inline uint16_t
ch_block_array_runtime_type(const struct ch_block_array *array, size_t i)
{
	return array->runtime_types ? array->runtime_types[i] : 0;
}

/** Give the array's block i a runtime type name (0: none). */
struct ch_error *ch_block_array_set_runtime_type(struct ch_block_array *array,
						 size_t i, uint16_t type);

struct ch_heap {
	/** Live blocks; sorted by address after ch_heap_finish(). */
	struct ch_block_array live;
	/** Free and metadata blocks, in the order reported. */
	struct ch_block_array free;
	/** Live blocks inside other live blocks (managed runtimes). */
	struct ch_block_array nested;

	struct ch_region *regions;
	size_t num_regions, regions_capacity;

	struct ch_damage *damage;
	size_t num_damage, damage_capacity;
	/** Damage reports dropped past the cap (a shredded heap). */
	size_t damage_dropped;

	/**
	 * What the allocators declared as their own, sorted by start after
	 * ch_heap_finish(); may overlap.
	 */
	struct ch_owned_range *owned;
	size_t num_owned, owned_capacity;

	/** The allocators' own tables per region, in the order reported. */
	struct ch_stat *stats;
	size_t num_stats, stats_capacity;
	/** Numbers reported past the cap, counted but not kept. */
	size_t stats_dropped;

	/**
	 * The live blocks of the native allocators: the first native_live of
	 * live, sorted, while the runtimes walk (their objects' parents are
	 * found among them); all of live once the runtimes walked too.
	 */
	size_t native_live;

	/** Live blocks that overlapped another; dropped from live. */
	size_t overlaps;

	/**
	 * Types of live blocks, parallel to live.blocks (so valid only after
	 * ch_heap_finish()); NULL until types are computed (src/types.c).
	 * block_types[i] indexes type_names; 0 means unknown.
	 */
	uint32_t *block_types;
	uint8_t *block_type_sources;   /**< enum ch_type_source */
	/**
	 * Interned type names; type_names[0] is NULL (unknown). Owned. An
	 * array's name has its count where it is known ("T[4]"), else none
	 * ("T[]"); one name may appear twice, for two layouts.
	 */
	char **type_names;
	size_t num_type_names;
	/**
	 * Parallel to type_names: the name under which reports group it, the
	 * same index for the same string: "T[]" for every array of T, counted
	 * or not; for any other name, the first of its string. Owned. NULL
	 * (a heap typed by hand, in tests): each name is its own group.
	 */
	uint32_t *type_groups;
	/**
	 * A bit per live block (bit i % 64 of word i / 64), set with the
	 * types: DWARF says the block holds no pointers (src/types/types.h,
	 * ch_types_pointer_free()). NULL until types are computed. Owned.
	 */
	uint64_t *pointer_free;

	/** Where live blocks were allocated, where their allocator kept it. */
	struct ch_alloc_stacks alloc_stacks;

	/** Managed runtimes' thread stacks (add_runtime_stack). */
	struct ch_runtime_stacks runtime_stacks;

	/** Names given by runtime plugins; [0] is unused. Owned. */
	char **runtime_type_names;
	size_t num_runtime_type_names;

	/**
	 * From an address to the live block holding it, made on first use
	 * by ch_heap_block_index() (heap/block_index.h), so that the typing
	 * and the graph's scan, which run at once, share one. Owned.
	 */
	struct ch_block_index *block_index;
};

void ch_heap_init(struct ch_heap *heap);
void ch_heap_deinit(struct ch_heap *heap);

/** Free an array's memory (it lives in its own mapping, not malloc). */
void ch_block_array_deinit(struct ch_block_array *array);

/**
 * Append a block to one of the arrays (amortised, no per-block malloc), in
 * region (an index in ch_heap::regions, or UINT32_MAX).
 */
struct ch_error *ch_block_array_push(struct ch_block_array *array,
				     const struct ch_block *block,
				     uint32_t region);

/**
 * The pushes are over for now: stop faulting pages in ahead of them (a
 * later push that grows the array starts again).
 */
void ch_block_array_settle(struct ch_block_array *array);

/** Record a region; *ret is its index. The fields are as in ch_region. */
struct ch_error *ch_heap_add_region(struct ch_heap *heap, uint8_t allocator,
				    const char *name, uint64_t address,
				    uint64_t control_size, uint64_t system_bytes,
				    uint64_t top_address, uint64_t top_size,
				    uint32_t *ret);

/**
 * The index of a runtime type name (copied on first sight), for
 * ch_block_array_set_runtime_type(). CH_ERROR_CORRUPT past 65535 names.
 */
struct ch_error *ch_heap_intern_runtime_type(struct ch_heap *heap,
					     const char *name, uint16_t *ret);

/**
 * Record a block and count it in its region (an index in regions, or
 * UINT32_MAX), with a runtime's type name for it (0: none).
 */
struct ch_error *ch_heap_add_block(struct ch_heap *heap,
				   const struct ch_block *block, uint32_t region,
				   uint16_t runtime_type, bool nested);

/**
 * Record that allocator owns [start, end) as kind (enum coreheap_owned_kind)
 * and, for COREHEAP_OWNED_UNEXPLAINED, count it in its region. The caller
 * checked start < end and the kind. Errors: out of memory.
 */
struct ch_error *ch_heap_add_owned_range(struct ch_heap *heap,
					 uint8_t allocator, uint32_t region,
					 uint64_t start, uint64_t end,
					 uint32_t kind);

/** True if allocator declared any owned range. */
bool ch_heap_allocator_declares_owned(const struct ch_heap *heap,
				      uint8_t allocator);

/**
 * Record one number of region's table (copied row and key); past a cap
 * only counted in stats_dropped. The caller checked region, row and key.
 * Errors: out of memory.
 */
struct ch_error *ch_heap_add_stat(struct ch_heap *heap, uint32_t region,
				  const char *row, const char *key,
				  uint64_t value);

/** Record damage; past a cap only counted. */
struct ch_error *ch_heap_add_damage(struct ch_heap *heap, uint8_t allocator,
				    uint32_t kind, uint32_t region,
				    uint64_t address, const char *message);

/**
 * Sort live blocks by address and drop overlapping ones (counted in
 * overlaps and reported as damage). Call once all plugins walked.
 */
struct ch_error *ch_heap_finish(struct ch_heap *heap);

/**
 * Sort the nested blocks (a runtime's objects inside other blocks) by
 * address. Call once the runtime plugins walked.
 */
struct ch_error *ch_heap_finish_nested(struct ch_heap *heap);

/** The live block containing addr, or NULL. Needs ch_heap_finish(). */
const struct ch_block *ch_heap_find(const struct ch_heap *heap, uint64_t addr);

/**
 * The live block containing addr among the first count live blocks (sorted:
 * native_live while the runtimes walk), or NULL.
 */
const struct ch_block *ch_heap_find_in(const struct ch_heap *heap,
				       uint64_t addr, size_t count);

/**
 * The index of the first of the first count live blocks (sorted) whose
 * address is at or above addr; count if none.
 */
size_t ch_heap_lower_bound(const struct ch_heap *heap, uint64_t addr,
			   size_t count);

/**
 * The type name of live block index (NULL if unknown or not computed) and
 * how it was known (source_ret may be NULL).
 */
const char *ch_heap_block_type(const struct ch_heap *heap, size_t index,
			       enum ch_type_source *source_ret);

/**
 * The index in type_names of live block index's group (type_groups), 0 if
 * its type is unknown or not computed; the source as ch_heap_block_type().
 */
uint32_t ch_heap_block_group(const struct ch_heap *heap, size_t index,
			     enum ch_type_source *source_ret);

#endif /* COREHEAP_HEAP_H */
