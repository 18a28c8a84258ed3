/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Internals shared by the files of the jemalloc plugin.
 *
 * probe() fills a jem_state: where libjemalloc (or a program that links it
 * statically) is, its version, and the symbols it has. walk() builds a
 * jem_walk: every thread's tcache and the pointers cached in it, the radix
 * tree's root, the size classes and the arenas, then walks the radix tree
 * leaf by leaf and reports every extent: the regions of slabs, large
 * allocations, free extents.
 *
 * Why the radix tree and not the arenas' lists: for automatic arenas
 * jemalloc tracks neither full slabs nor large extents in any list
 * (src/arena.c arena_bin_slabs_full_insert, src/large.c), but it registers
 * every extent in the global rtree (src/emap.c).
 *
 * Why the tcaches: a region in a thread's tcache is free for the program,
 * but its slab's bitmap still marks it allocated; only the tcache stacks
 * tell.
 */
#ifndef COREHEAP_JEMALLOC_JEMALLOC_H
#define COREHEAP_JEMALLOC_JEMALLOC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <coreheap/plugin.h>

#include "layout.h"
#include "ptrset.h"

/** Damage reports per walk before the rest are only counted. */
#define JEM_MAX_DAMAGE 1000
/** Most tcaches followed (threads and explicit tcaches together). */
#define JEM_MAX_TCACHES 65536
/** Most pointers read from all tcache stacks together. */
#define JEM_MAX_CACHED (16u << 20)

/** How a constant or global was found, for the log. */
enum jem_source {
	JEM_SOURCE_NONE = 0,
	JEM_SOURCE_SYMBOL,     /**< a symbol (.symtab, DWARF or .dynsym) */
	JEM_SOURCE_SCAN,       /**< its contents, in libjemalloc's memory */
	JEM_SOURCE_LAYOUT,     /**< layout knowledge of the version */
	JEM_SOURCE_COMPUTED,   /**< computed as jemalloc computes it at boot */
};

/** Words for the log. */
const char *jem_source_name(enum jem_source source);

/** What probe() learnt; lives until destroy(). */
struct jem_state {
	/** Module whose code is jemalloc (libjemalloc.so.2 or the program). */
	uint32_t module;
	bool have_module;
	uint64_t module_start, module_end;
	/** The module name prefix symbol lookups use (NULL: any module). */
	const char *module_prefix;
	/** "je_", "_rjem_je_" ...: the private namespace the symbols have. */
	const char *symbol_prefix;
	bool have_symbols;

	char version[64];                /**< "" if unknown */
	int version_major, version_minor, version_patch;
	enum jem_source version_source;
	/**
	 * The layouts of the version (NULL: not supported); that of 5.3.0
	 * when the version string was not found.
	 */
	const struct jem_layout *layout;

	/** Addresses from symbols, 0 if absent (found by scanning later). */
	uint64_t emap_global;            /**< the rtree's global */
	/** Its name: je_arena_emap_global (5.3) or je_extents_rtree (5.2). */
	const char *emap_name;
	/** Its size from its symbol, 0 if unknown: it tells the tree's shape. */
	uint64_t emap_size;
	uint64_t arenas_symbol;          /**< je_arenas */
	uint64_t sz_table_symbol;        /**< je_sz_index2size_tab */
	uint64_t opt_prof_symbol;        /**< je_opt_prof */
	/** The tsd's offset in the module's TLS block, if known. */
	uint64_t tsd_tls_offset;
	enum jem_source tsd_source;
	/** The size classes the walk used, for usable_size(); 0s before. */
	uint64_t sizes[JEM_NSIZES];
};

/**
 * An address range [start, end); for the module's data (walk->ranges),
 * scan_end is where searches of its contents stop.
 */
struct jem_range {
	uint64_t start, end;
	uint64_t scan_end;
};

/** One thread's (or an explicit) tcache. */
struct jem_tcache {
	uint64_t tcache;        /**< tcache_t */
	uint64_t tcache_slow;   /**< tcache_slow_t (5.3), else 0 */
	uint64_t arena;         /**< the arena it is associated with */
	/**
	 * An address in jemalloc's allocation for its stacks: its start in
	 * 5.3 (dyn_alloc), the word below bin 0's stack in 5.2.
	 */
	uint64_t dyn_alloc;
	int32_t tid;            /**< the thread whose tsd holds it, or 0 */
};

/** One extent found in the radix tree, decoded. */
struct jem_extent {
	uint64_t edata;
	uint64_t addr;          /**< e_addr: for large ones, the pointer */
	uint64_t base;          /**< page of e_addr */
	uint64_t size;
	uint64_t bits;          /**< e_bits */
	uint64_t ps;            /**< e_ps: an HPA extent's hpdata_t */
	uint64_t bitmap[JEM_BITMAP_GROUPS];
	/** A large extent's prof_tctx_t (heap profiling), else garbage. */
	uint64_t prof_tctx;
};

/** Counters for the log and the summary. */
struct jem_counts {
	size_t extents, slabs, large, free_extents, regions_live,
		regions_free, tcached, metadata;
	/** The hugepage allocator's pageslabs (hpa.c). */
	size_t hpa_pageslabs, hpa_free_pages, hpa_empty_pageslabs;
	uint64_t hpa_eden_bytes;
	/** Live allocations with an allocation stack (heap profiling). */
	size_t alloc_stacks;
};

/** Most jemalloc functions whose frames an allocation stack starts with. */
#define JEM_OWN_FUNCTIONS 64

/** Stacks of prof_gctx_t read lately, by the gctx's address. */
#define JEM_STACK_CACHE 64
struct jem_stack_cache {
	uint64_t gctx;
	uint32_t num_pcs;
	uint64_t pcs[JEM_PROF_BT_MAX];
};

/** Per size class: what the slabs or large extents of the class hold. */
struct jem_class_counts {
	uint64_t slabs;      /**< slabs, or large extents */
	uint64_t live;       /**< handed out to the program */
	uint64_t free;       /**< free in a slab's bitmap */
	uint64_t cached;     /**< in a tcache */
	uint64_t internal;   /**< jemalloc's own (tcache stacks) */
};

/** Per arena: its extents, and pages in free extents by state. */
struct jem_arena_counts {
	uint64_t slabs, large, free_extents;
	uint64_t dirty, muzzy, retained;
};

/** Everything a walk builds; freed at the end of the walk. */
struct jem_walk {
	const struct coreheap_host *host;
	struct jem_state *st;
	/** st->layout, never NULL during a walk. */
	const struct jem_layout *layout;

	/** Writable ranges of the module (its .data and .bss). */
	struct jem_range *ranges;
	size_t num_ranges;

	struct jem_tcache *tcaches;
	size_t num_tcaches;
	/** Threads whose tsd was found in their TLS. */
	size_t tls_tsds;
	/** Every pointer in every tcache stack, tagged jem_tag(). */
	struct jem_ptrset cached;
	/**
	 * Addresses in jemalloc's own allocations in arenas (tcache stacks,
	 * the profiler's records, 5.2's arenas_tdata): an allocation that
	 * holds one is jemalloc's.
	 */
	struct jem_ptrset internal;

	uint64_t rtree_root;    /**< address of root[0] */
	const struct jem_rtree_shape *rtree_shape;
	enum jem_source root_source;
	uint64_t sizes[JEM_NSIZES];
	enum jem_source sizes_source;
	uint64_t arenas;        /**< je_arenas[0], 0 if not found */
	enum jem_source arenas_source;
	uint64_t arena_addr[JEM_MAX_ARENAS];
	uint32_t arena_region[JEM_MAX_ARENAS];  /**< valid where arena_seen */
	bool arena_seen[JEM_MAX_ARENAS];

	/**
	 * The hugepage allocator's pageslab the last extent from it lay in,
	 * and how far extents covered it: the gaps are jemalloc's memory
	 * that no extent explains.
	 */
	uint64_t hpa_page, hpa_covered;
	uint32_t hpa_region;
	/** hpa_page's hpdata_t was read: its active pages. */
	bool hpa_known;
	uint64_t hpa_active[JEM_HUGEPAGE_PAGES / 64];
	/** Pageslabs with no active page on the psset's lists, tag: arena. */
	struct jem_ptrset empty_pageslabs;

	/** The last extent reported, for the overlap check. */
	uint64_t prev_base, prev_size;
	/** Where the extent walk is in cached (sorted). */
	size_t cursor;

	/**
	 * Whether to look for allocation stacks: false when je_opt_prof says
	 * profiling was off (without the symbol, each is checked instead).
	 */
	bool prof;
	struct jem_stack_cache *stack_cache;   /**< NULL until first used */
	/**
	 * jemalloc linked into the program: its functions between malloc
	 * and the profiler's unwinder, found by symbol, whose frames lead
	 * every allocation stack.
	 */
	struct jem_range own_code[JEM_OWN_FUNCTIONS];
	size_t num_own_code;

	/**
	 * A trial of a layout (the version string was not found): it logs
	 * and reports nothing.
	 */
	bool quiet;
	/** jemalloc never started: no size classes, arena or tcache. */
	bool uninitialised;
	struct jem_counts counts;
	/**
	 * Per arena (indexed like arena_addr), per size class; each
	 * allocated on first use (jem_class_counts()).
	 */
	struct jem_class_counts *classes[JEM_MAX_ARENAS];
	/** Indexed like arena_addr; allocated on first use. */
	struct jem_arena_counts *arena_counts;
	/** Where counts go when their memory could not be had (NOMEM). */
	struct jem_class_counts class_sink;
	struct jem_arena_counts arena_sink;
	size_t damage_count;
	int status;             /**< first fatal status met (NOMEM) */
};

/** Tag of a cached pointer: which tcache and which bin. */
static inline uint32_t jem_tag(size_t tcache, unsigned int bin)
{
	return (uint32_t)(tcache & 0xffffff) << 8 | (bin & 0xff);
}

/**
 * A note for the user (coreheap_host::log), unless the walk is a trial
 * (walk->quiet).
 */
void jem_log(const struct jem_walk *walk, int level, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Report damage (formatted), capped at JEM_MAX_DAMAGE per walk; nothing
 * in a trial walk (walk->quiet).
 */
void jem_damage(struct jem_walk *walk, enum coreheap_damage_kind kind,
		uint32_t region, uint64_t address, const char *format, ...)
	__attribute__((format(printf, 5, 6)));

/** Report one block; records NOMEM in walk->status. */
void jem_block(struct jem_walk *walk, uint64_t address, uint64_t size,
	       enum coreheap_block_state state, uint32_t region);

/**
 * Declare that jemalloc owns [start, end) as kind, for region (see
 * coreheap_host::add_owned_range); nothing on a host without the
 * operation, which then guesses from the mappings. Records NOMEM in
 * walk->status.
 */
void jem_own(struct jem_walk *walk, uint32_t region, uint64_t start,
	     uint64_t end, enum coreheap_owned_kind kind);

/**
 * The counters of size class @p szind in arena @p arena, or of the arena;
 * never NULL (out of memory: a sink, and NOMEM in walk->status).
 */
struct jem_class_counts *jem_class_counts(struct jem_walk *walk,
					  unsigned int arena,
					  unsigned int szind);
struct jem_arena_counts *jem_arena_counts(struct jem_walk *walk,
					  unsigned int arena);

/** The region of arena @p ind (declared on first use), or UINT32_MAX. */
uint32_t jem_arena_region(struct jem_walk *walk, unsigned int ind);

/** Read one 64-bit word. */
static inline int jem_read_u64(const struct coreheap_host *host, uint64_t addr,
			       uint64_t *ret)
{
	return host->read(host, addr, ret, sizeof(*ret));
}

/**
 * The index of the arena at @p arena (arena_t.ind, or its base_t's in
 * 5.2). False if it cannot be read.
 */
bool jem_arena_ind(const struct jem_walk *walk, uint64_t arena,
		   uint32_t *ret);

/**
 * Whether jemalloc's own allocations hold an address in [ptr, ptr +
 * size): walk->internal.
 */
bool jem_is_internal(const struct jem_walk *walk, uint64_t ptr,
		     uint64_t size);

/** True if @p addr lies in one of the module's writable ranges. */
bool jem_in_module_data(const struct jem_walk *walk, uint64_t addr);

// locate.c

/**
 * Find jemalloc in the core (probe): the module, the symbols, the version.
 * COREHEAP_OK with *confidence_ret set (0: not there), or COREHEAP_NOMEM.
 */
int jem_locate(const struct coreheap_host *host, struct jem_state *st,
	       bool forced, int *confidence_ret);

/**
 * Parse a jemalloc version string ("5.3.0-0-g" and 40 hex digits) of at
 * most @p len bytes at @p s into st->version and its numbers.
 */
bool jem_parse_version(const char *s, size_t len, struct jem_state *st);

/** jemalloc 5's JEM_NSIZES size classes for 4 KiB pages, into @p sizes. */
void jem_compute_sizes(uint64_t *sizes);

/*
 * Module segments worth scanning are a few MiB at most (libjemalloc's .bss
 * holds the 2 MiB rtree root): the searches of the module's data read this
 * much of it in all, whatever a core says the module maps.
 */
#define JEM_SCAN_MAX_BYTES (64u << 20)

/**
 * Collect the module's writable ranges into walk->ranges, each with the
 * part of it searches read (scan_end): what the core holds of it, within
 * JEM_SCAN_MAX_BYTES over all the ranges.
 */
int jem_collect_ranges(struct jem_walk *walk);

/**
 * The size-class table: je_sz_index2size_tab by symbol, else found by its
 * contents in the module's memory, else computed.
 */
void jem_find_size_classes(struct jem_walk *walk);

/**
 * The radix tree's root: by symbol, else by finding, in the module's
 * memory, the root slot that leads to the extent of an address known to
 * be in an extent (a tcache's stack allocation, a cached pointer).
 * COREHEAP_OK, or COREHEAP_NOT_FOUND.
 */
int jem_find_rtree_root(struct jem_walk *walk);

/** je_arenas: by symbol, else by its contents. Optional. */
void jem_find_arenas(struct jem_walk *walk);

// tcache.c

/**
 * Find the threads' tcaches into walk->tcaches: each thread's tsd (static
 * TLS), then the ring that links the tcaches of each of their arenas.
 * Reports damage on the way.
 */
int jem_find_tcaches(struct jem_walk *walk);

/**
 * How many threads' tsd hold a tcache that walk->layout's checks accept
 * (a tcache_t and tcache_slow_t that point at each other in 5.3, a
 * descriptor that points at the tcache's own bins in 5.2). Reads only;
 * reports nothing.
 */
size_t jem_count_thread_tcaches(struct jem_walk *walk);

/** Add the tcaches on the arenas' tcache lists, once the arenas are known. */
int jem_tcaches_from_arenas(struct jem_walk *walk);

/**
 * Collect the pointers every tcache's stacks hold into walk->cached (a
 * pointer cached twice is a double free) and the stacks' allocations into
 * walk->internal; both sorted.
 */
int jem_collect_cached(struct jem_walk *walk);

// extents.c

/**
 * Walk the radix tree and report every extent's blocks, and the damage
 * seen in them, in address order.
 */
int jem_walk_extents(struct jem_walk *walk);


/** Report the cached pointers no extent accounted for. */
void jem_check_cached(struct jem_walk *walk);

// prof.c

/** Whether heap profiling may have been on (walk->prof). */
void jem_prof_init(struct jem_walk *walk);

/**
 * The allocation stack of the live large allocation at @p ptr in @p e, if
 * heap profiling sampled it: reported with coreheap_host::add_alloc_stack.
 */
void jem_report_alloc_stack(struct jem_walk *walk, const struct jem_extent *e,
			    uint64_t ptr);
// profmeta.c

/**
 * The heap profiler's own allocations (its tables, per-thread and
 * per-backtrace records) into walk->internal, which is sorted again.
 * COREHEAP_OK (nothing there: prof off) or COREHEAP_NOMEM.
 */
int jem_collect_prof(struct jem_walk *walk);

// hpa.c

/**
 * Before the radix tree walk: the empty pageslabs on each arena's psset
 * lists into walk->empty_pageslabs, and the central allocator's eden
 * declared owned. COREHEAP_OK or COREHEAP_NOMEM.
 */
int jem_hpa_collect(struct jem_walk *walk);

/**
 * An extent of the hugepage allocator, met in address order: the pages of
 * its pageslab between the extents are declared owned, as the heap's
 * where the pageslab's hpdata_t says they are free.
 */
void jem_hpa_extent(struct jem_walk *walk, const struct jem_extent *e,
		    uint32_t region);

/** The rest of the last pageslab met; call once the tree walk ended. */
void jem_hpa_end(struct jem_walk *walk);

/** Declare the empty pageslabs no extent lay in; log what was found. */
void jem_hpa_own_empty(struct jem_walk *walk);

#endif /* COREHEAP_JEMALLOC_JEMALLOC_H */
