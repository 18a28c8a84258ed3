/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Internals shared by the files of the glibc (ptmalloc) plugin.
 *
 * probe() fills a ptm_state: where libc, main_arena and mp_ are and which
 * layout applies. walk() builds a ptm_walk: the arenas, their heaps, every
 * thread's tcache and the set of chunks on tcache and fastbin lists, then
 * walks every heap chunk by chunk and scans for mmapped chunks.
 *
 * Why the free sets: chunks in a tcache or a fastbin keep the PREV_INUSE bit
 * of their successor set, so the heap alone cannot tell them from live ones.
 * Chunks in the other bins and the top chunk are told by that bit, but a bit
 * is one byte of an overflow away from lying: the chunks the bins hold are
 * collected too, and the walk believes the bit only where a bin agrees.
 */
#ifndef COREHEAP_GLIBC_GLIBC_H
#define COREHEAP_GLIBC_GLIBC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <coreheap/plugin.h>

#include "addrset.h"
#include "layout.h"
#include "libcfile.h"
#include "reader.h"

/** Most arenas followed on the `next` ring (glibc caps at 8 per core). */
#define PTM_MAX_ARENAS 4096
/** Most heaps followed on one arena's `prev` chain. */
#define PTM_MAX_HEAPS_PER_ARENA 65536
/** Damage reports per walk before the rest are only counted. */
#define PTM_MAX_DAMAGE 1000
/** Chunk steps a walk may spend finding where to resume after damage. */
#define PTM_RESUME_STEPS (UINT64_C(1) << 26)

struct ptm_walk;

/** What probe() learnt; lives until destroy(). */
struct ptm_state {
	struct ptm_layout layout;
	int version_major, version_minor;   /**< 0.0: unknown */
	bool have_libc;
	uint32_t libc_module;
	uint64_t libc_bias;
	uint64_t libc_start, libc_end;
	struct ptm_libc_file *file;         /**< NULL if libc's file is gone */
	uint64_t main_arena;
	bool main_arena_from_symbol;
	uint64_t mp;                        /**< 0 if not found */
	bool mp_from_symbol;
	/** True if the main arena was never initialised (no malloc yet). */
	bool heap_unused;
	/** Module name prefix that found libc, for symbol lookups (static). */
	const char *symbol_prefix;
	/** The last walk's results, kept for check(); NULL before. */
	struct ptm_walk *walk;
};

/** The fields of one malloc_state, decoded. */
struct ptm_arena {
	uint64_t address;
	uint32_t flags;
	uint64_t fastbins[PTM_NFASTBINS];
	uint64_t top;
	uint64_t top_size;        /**< chunksize(top), 0 if unreadable */
	/** top's size field when it reached past top's memory (else 0). */
	uint64_t top_claimed;
	uint64_t next;
	uint64_t system_mem;
	uint64_t bins[PTM_NBINS * 2 - 2];
	bool is_main;
	bool top_valid;           /**< top lies in one of this arena's heaps */
	uint32_t region;
	size_t first_heap, num_heaps;  /**< slice of ptm_walk.heaps, unsorted */
	/**
	 * What the chunk walk found free on this arena's fastbins and
	 * regular bins: chunks and their chunk sizes, for the mallinfo2
	 * figures (tcache chunks are in use there, as in glibc's count).
	 */
	uint64_t fastbin_chunks, fastbin_bytes;
	uint64_t binned_chunks, binned_bytes;
};

/**
 * One contiguous run of chunks that belongs to an arena: a thread arena's
 * heap (heap_info), or one run of the main arena (see runs.c).
 */
struct ptm_heap {
	uint64_t start;       /**< first chunk */
	/**
	 * The top chunk, or where the heap's memory ends: just after the
	 * fencepost that closes a superseded heap or run.
	 */
	uint64_t end;
	uint64_t owned_start; /**< memory the heap owns: for pointer checks ... */
	uint64_t owned_end;   /**< ... and to keep the mmapped scan out */
	/**
	 * Where the memory counted in system_mem starts: the sbrk base, the
	 * heap_info, the end of the run before a foreign sbrk gap (counted
	 * while the main arena is contiguous), an mmapped run's start.
	 */
	uint64_t system_start;
	uint32_t arena;       /**< index into ptm_walk.arenas */
	bool has_top;         /**< end is the arena's top chunk */
};

/** A tcache list's first entry past its count, and the link to it. */
struct ptm_past_count {
	uint64_t chunk;
	uint64_t holder;
	uint32_t tag;
	uint16_t count;
};

/** Tags of ptm_walk.listed: which free list a chunk was found on. */
enum ptm_list_kind {
	PTM_LIST_TCACHE = 1,
	PTM_LIST_FASTBIN = 2,
};

static inline uint32_t ptm_list_tag(enum ptm_list_kind kind, uint32_t owner,
				    uint32_t bin)
{
	return (uint32_t)kind << 28 | (owner & 0xfffff) << 8 | (bin & 0xff);
}

/** Tag of a chunk in ptm_walk.binned: its arena and bin. */
static inline uint32_t ptm_bin_tag(size_t arena, unsigned int bin)
{
	return (uint32_t)(arena & 0xfffff) << 8 | (bin & 0xff);
}

/** A chunk of a regular bin, as the bin's walk met it. */
struct ptm_bin_chunk {
	uint64_t address, size;
};

/** Everything a walk builds; freed at the end of the walk. */
struct ptm_walk {
	const struct coreheap_host *host;
	struct ptm_state *st;
	const struct ptm_layout *layout;

	struct ptm_arena *arenas;
	size_t num_arenas;
	struct ptm_heap *heaps;
	size_t num_heaps;
	/** Indexes into heaps, sorted by owned_start, for lookups. */
	size_t *heap_order;

	/** mem addresses of every thread's tcache_perthread_struct. */
	uint64_t *tcaches;
	size_t num_tcaches;
	/** chunk addresses of those structs. */
	struct ptm_addrset tcache_chunks;
	/** chunk address -> ptm_list_tag() for tcache and fastbin chunks. */
	struct ptm_addrset listed;
	/**
	 * chunk address -> ptm_bin_tag() for the chunks of the regular bins
	 * that both their neighbours on the list agree on (fd and bk).
	 */
	struct ptm_addrset binned;
	/**
	 * Chunks a bin link names but whose own links do not name back: free
	 * chunks stranded by a damaged list (or what a forged link targets).
	 */
	struct ptm_addrset mentioned;
	/**
	 * The chunks of each regular bin in the order its walk from the head
	 * met them (ptm_collect_binned()): bin b of arena a holds
	 * bin_chunks[bin_first[a * PTM_NBINS + b]] and the bin_len[...] after
	 * it. The later walks of the same lists know where they go next and
	 * fetch ahead, instead of waiting on one miss after another.
	 */
	struct ptm_bin_chunk *bin_chunks;
	size_t num_bin_chunks, bin_chunks_capacity;
	size_t *bin_first, *bin_len;
	/**
	 * The keys of listed, binned and tcache_chunks, sorted (NULL when
	 * empty): the chunk walk meets chunks in address order and merges.
	 */
	uint64_t *listed_keys;
	uint64_t *binned_keys;
	uint64_t *tcache_keys;
	/** Safe-linking: tcache next and fastbin fd are mangled. */
	bool safe_linking;
	/**
	 * Chunks that tcache counts hold but the lists lost behind a damaged
	 * link, per tcache bin (all threads).
	 */
	uint32_t tcache_lost[PTM_TCACHE_BINS];
	bool any_tcache_lost;
	/**
	 * 2.42+: the free slots a tcache bin starts with (mp_.tcache_count),
	 * 0 while unknown (then each struct's empty bins tell).
	 */
	uint64_t tcache_fill;
	/** Threads whose tcache pointer the core does not hold (take_var). */
	size_t tls_unknown;
	/**
	 * The first entry of each tcache list that goes on past its count
	 * (2.30+, where malloc never hands such entries out), held back until
	 * its key can be judged.
	 */
	struct ptm_past_count *past_count;
	size_t num_past_count;
	/**
	 * How a tcache entry's key word (mem + 8) tells a chunk freed into a
	 * tcache: key_is_tcache (2.29..2.33: its tcache's address), else
	 * key (2.34+: one random value), key_known false if it cannot.
	 */
	bool key_known;
	bool key_is_tcache;
	uint64_t key;

	struct ptm_reader reader;
	size_t damage_count;
	/**
	 * Chunk steps left for finding where to resume after damage, over the
	 * whole walk: a core of many damaged (or overlapping) heaps costs no
	 * more than PTM_RESUME_STEPS (chunks.c).
	 */
	uint64_t resume_steps_left;
	uint32_t mmapped_region;
	bool have_mmapped_region;
	/** The mmapped chunks found and the bytes of their mappings. */
	uint64_t mmapped_chunks, mmapped_bytes;
	int status;           /**< first fatal status met (NOMEM) */
};

/** Report damage (formatted), capped at PTM_MAX_DAMAGE per walk. */
void ptm_vdamage(struct ptm_walk *walk, enum coreheap_damage_kind kind,
		 uint32_t region, uint64_t address, const char *format,
		 va_list ap) __attribute__((format(printf, 5, 0)));

/** ptm_vdamage() with the arguments inline. */
void ptm_damage(struct ptm_walk *walk, enum coreheap_damage_kind kind,
		uint32_t region, uint64_t address, const char *format, ...)
	__attribute__((format(printf, 5, 6)));

/** Report one block; records NOMEM in walk->status. */
void ptm_block(struct ptm_walk *walk, uint64_t address, uint64_t size,
	       enum coreheap_block_state state, uint32_t region);

/**
 * True for memory malloc may have mapped itself: anonymous, including huge
 * pages (the glibc.malloc.hugetlb tunable), which the kernel names as files.
 */
bool ptm_mapping_is_anonymous(const struct coreheap_mapping *mapping);

/** The region of @p arena, or UINT32_MAX before regions are declared. */
uint32_t ptm_arena_region(const struct ptm_walk *walk, size_t arena);

// locate.c

/**
 * Find libc, its version, main_arena and mp_ (probe). Returns COREHEAP_OK
 * with st->main_arena set, COREHEAP_NOT_FOUND when there is no glibc malloc
 * to see, COREHEAP_NOMEM.
 */
int ptm_locate(const struct coreheap_host *host, struct ptm_state *st,
	       bool forced, int *confidence_ret);

/**
 * Read and decode the malloc_state at @p address.
 * COREHEAP_FAULT if it is not in the core.
 */
int ptm_arena_read(const struct coreheap_host *host,
		   const struct ptm_layout *layout, uint64_t address,
		   struct ptm_arena *ret);

/**
 * How much @p arena looks like a malloc_state: the number of bins (0..127)
 * that are empty (pointing to themselves) or whose first and last chunks
 * point back at them.
 */
unsigned int ptm_arena_bin_score(const struct coreheap_host *host,
				 const struct ptm_layout *layout,
				 const struct ptm_arena *arena);

/** Follow the `next` ring from main_arena into walk->arenas. */
int ptm_collect_arenas(struct ptm_walk *walk);

/**
 * Add the thread arena at @p address, found by its first heap rather than on
 * the ring (damage), if it looks like one.
 */
int ptm_add_stray_arena(struct ptm_walk *walk, uint64_t address);

/**
 * Room for one more item in an array of *capacity items of @p size bytes,
 * @p len of them used: the capacity doubles (64 at first) when full.
 * COREHEAP_OK, or COREHEAP_NOMEM with the array as it was.
 */
static inline int ptm_reserve_one(void **items, size_t *capacity, size_t len,
				  size_t size)
{
	size_t grown;
	void *p;

	if (len < *capacity)
		return COREHEAP_OK;
	grown = *capacity ? 2 * *capacity : 64;
	p = reallocarray(*items, grown, size);
	if (!p)
		return COREHEAP_NOMEM;
	*items = p;
	*capacity = grown;
	return COREHEAP_OK;
}

/** The first chunk address at or after @p address (chunk2mem aligned). */
static inline uint64_t ptm_align_chunk(uint64_t address)
{
	uint64_t misalign = (address + PTM_CHUNK_HDR) & (PTM_ALIGN - 1);

	return misalign ? address + PTM_ALIGN - misalign : address;
}

// heaps.c

/** Append @p heap to walk->heaps. COREHEAP_OK or COREHEAP_NOMEM. */
int ptm_push_heap(struct ptm_walk *walk, const struct ptm_heap *heap);

/**
 * Add the thread arenas whose first heap is in the core but which are not on
 * the ring (damage); also settles sizeof(heap_info) from the arenas' places.
 */
int ptm_find_stray_arenas(struct ptm_walk *walk);

/** The mapping that holds @p address; false if none does. */
/** The first mapping that ends after address; false if none. */
bool ptm_mapping_from(const struct coreheap_host *host, uint64_t address,
		      struct coreheap_mapping *ret);
bool ptm_find_mapping(const struct coreheap_host *host, uint64_t address,
		      struct coreheap_mapping *ret);

/** Decide for every arena whether its top chunk is sound (top_valid). */
void ptm_settle_tops(struct ptm_walk *walk);

/**
 * Find every arena's heaps into walk->heaps (needs the arenas): the thread
 * arenas' first, then the main arena's runs.
 */
int ptm_collect_heaps(struct ptm_walk *walk);

/** The heap whose owned memory holds @p addr, or NULL. */
const struct ptm_heap *ptm_heap_of(const struct ptm_walk *walk, uint64_t addr);

/**
 * True if [chunk, chunk + size) is inside a heap's chunk range (from its
 * first chunk to its end), and, if @p arena is not SIZE_MAX, of that arena.
 */
bool ptm_chunk_in_heaps(const struct ptm_walk *walk, uint64_t chunk,
			uint64_t size, size_t arena);

// runs.c

/**
 * Find the runs of main arena @p index into walk->heaps: the brk area's, run
 * after run from the sbrk base past foreign sbrk gaps, and, when the arena is
 * non-contiguous, the mmapped ones, found at page starts of anonymous memory
 * outside the heaps already in walk->heaps. Damage only when top is invalid;
 * runs that cannot be told are walked from their likeliest start, and the
 * chunk walk reports what breaks. COREHEAP_OK or COREHEAP_NOMEM.
 */
int ptm_collect_main_runs(struct ptm_walk *walk, size_t index);

// tcache.c

/** A decoded tcache_perthread_struct. */
struct ptm_tcache {
	/** Chunks held per bin (2.42+: tcache_count minus the free slots). */
	uint16_t counts[PTM_TCACHE_BINS];
	uint64_t entries[PTM_TCACHE_BINS];  /**< raw list heads (user memory) */
	/** 2.42+: free slots above tcache_count (the count cannot be 0). */
	bool slots_over[PTM_TCACHE_BINS];
};

/**
 * True for a chunk whose size field is @p size_field that a large tcache
 * bin may hold outside the heaps: an mmapped chunk, which 2.43 caches too.
 */
static inline bool ptm_tcache_mmapped(const struct ptm_layout *layout,
				      uint64_t size_field)
{
	return layout->mm_tail && (size_field & PTM_IS_MMAPPED);
}

/** Read the tcache_perthread_struct at @p mem as laid out in @p layout. */
int ptm_tcache_read(const struct ptm_walk *walk, uint64_t mem,
		    const struct ptm_layout *layout, struct ptm_tcache *ret);

/** Find every thread's tcache into walk->tcaches and walk->tcache_chunks. */
int ptm_find_tcaches(struct ptm_walk *walk);

// lists.c

/** Decide walk->safe_linking from the list contents (and the version). */
void ptm_decide_safe_linking(struct ptm_walk *walk);

/** The pointer stored at @p pos, unmangled if safe-linking is on. */
static inline uint64_t ptm_reveal(bool safe_linking, uint64_t pos,
				  uint64_t stored)
{
	return safe_linking ? (pos >> 12) ^ stored : stored;
}

/**
 * Walk every tcache and every fastbin into walk->listed, reporting damage
 * (bad pointers, wrong sizes, cycles, double listing, wrong counts). A
 * tcache list cut short adds to walk->tcache_lost; one that goes on past its
 * count leaves its next entry in walk->past_count, for
 * ptm_settle_tcache_keys().
 */
int ptm_collect_free_lists(struct ptm_walk *walk);

/**
 * After ptm_collect_free_lists(): settle the tcache key (walk->key_known),
 * then judge the entries past their lists' counts by it: free and walked
 * on if they carry it, else reported as a poisoned link and left live.
 * COREHEAP_OK or COREHEAP_NOMEM.
 */
int ptm_settle_tcache_keys(struct ptm_walk *walk);

/**
 * True if the chunk at @p chunk of @p size, which nothing lists, is one of
 * the chunks a broken tcache list lost (its key says it was freed into a
 * tcache); takes it off the count of lost chunks.
 */
bool ptm_take_lost_tcache(struct ptm_walk *walk, uint64_t chunk,
			  uint64_t size);

/**
 * Collect the chunks of every arena's regular bins into walk->binned (and
 * walk->mentioned), silently: ptm_check_bins() reports what is wrong.
 * COREHEAP_OK or COREHEAP_NOMEM.
 */
int ptm_collect_binned(struct ptm_walk *walk);

/**
 * Walk every arena's regular bins. Without @p deep, report what breaks the
 * lists or contradicts the heap; with @p deep (check()), only what walk()
 * did not look at: chunks in a bin that does not hold their size.
 */
void ptm_check_bins(struct ptm_walk *walk, bool deep);

/**
 * check(): tcache entries whose `key` differs from their peers' (2.34+: one
 * random tcache_key; 2.29..2.33: the owning tcache).
 */
void ptm_check_tcache_keys(struct ptm_walk *walk);

/** check(): arenas whose system_mem disagrees with their heaps. */
void ptm_check_system_mem(struct ptm_walk *walk);

/**
 * The known free chunks (tcache, fastbin, bins) of @p arena strictly between
 * @p lo and @p hi, sorted, in *ret (caller frees): places where a chunk walk
 * can resume after damage.
 */
int ptm_free_chunks_between(struct ptm_walk *walk, size_t arena, uint64_t lo,
			    uint64_t hi, uint64_t **ret, size_t *count_ret);

// chunks.c

/**
 * Walk the chunks of every heap of @p arena and report each as live, free
 * or metadata.
 */
void ptm_walk_arena_chunks(struct ptm_walk *walk, size_t arena);

// owned.c

/**
 * Declare [start, end) as glibc's (add_owned_range), if the host has the
 * operation; records NOMEM in walk->status.
 */
void ptm_own(struct ptm_walk *walk, uint32_t region, uint64_t start,
	     uint64_t end, enum coreheap_owned_kind kind);

/** Declare every arena's heaps and runs as glibc's own (needs the heaps). */
void ptm_declare_owned(struct ptm_walk *walk);

// mallinfo.c

/**
 * Put into each region's table (add_stat) the row "mallinfo2": what
 * glibc's int_mallinfo() adds for the arena, from the chunks the walk
 * found; the mmapped region gets hblks and hblkhd. Summed over the
 * regions, as mallinfo2() sums the arenas, they are what the process
 * would have been told.
 */
void ptm_report_mallinfo(struct ptm_walk *walk);

// mmapped.c

/** Find and report mmapped chunks outside every heap. */
void ptm_walk_mmapped(struct ptm_walk *walk);

#endif /* COREHEAP_GLIBC_GLIBC_H */
