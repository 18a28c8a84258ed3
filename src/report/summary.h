/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Where a process's memory is: the model `summary` builds once and renders
 * as text or JSON (src/cli/cmd_summary.c).
 *
 * Every mapped byte (each PT_LOAD's p_memsz, once where a hostile core
 * overlaps them) is given exactly one kind: an allocator's heap (what it
 * declared as its own with add_owned_range, or, for an allocator that
 * declares nothing, the mappings that hold its blocks), thread stacks,
 * modules' code and data, shared memory, other file mappings, other
 * anonymous memory, reservations with no access, and the kernel's pages.
 * The kinds add up to the mapped total by construction: a byte owned by an
 * allocator is the allocator's whatever its mapping, and the rest of a
 * mapping takes the mapping's kind.
 *
 * Each kind also says where its bytes are: in the core, left out of it and
 * read from the binaries, left out on purpose (pages never touched, shared
 * memory, MADV_DONTDUMP), or lost (the core was cut short).
 *
 * An allocator's heap splits into live (the allocations' usable bytes),
 * free (free blocks' usable bytes, the top chunk apart), top, unexplained
 * (declared but explained by no block) and overhead: what remains of the
 * memory it owns (headers, its own metadata, page rounding). The five add
 * up to the heap's bytes unless the blocks reported lie outside the memory
 * declared (a damaged heap), when overhead is 0 and excess says by how much.
 */
#ifndef COREHEAP_SUMMARY_H
#define COREHEAP_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "heap/program.h"

enum ch_memory_kind {
	CH_MEMORY_HEAP,          /**< an allocator's (see the allocators' rows) */
	CH_MEMORY_STACK,         /**< a mapping holding a thread's stack pointer */
	CH_MEMORY_MODULE_CODE,   /**< executable, inside a module */
	CH_MEMORY_MODULE_DATA,   /**< the rest of a module: data, bss, relro */
	CH_MEMORY_SHARED,        /**< /dev/shm, SysV segments, memfd, shared anonymous */
	CH_MEMORY_FILE,          /**< other files */
	CH_MEMORY_ANONYMOUS,     /**< other anonymous memory */
	CH_MEMORY_NO_ACCESS,     /**< no permission at all: guards, reservations */
	CH_MEMORY_KERNEL,        /**< vdso, vvar, vsyscall */
	CH_MEMORY_NUM_KINDS,
};

/** Names of the kinds, for JSON ("heap", "stack", ...). */
extern const char *const ch_memory_kind_names[CH_MEMORY_NUM_KINDS];
/** What a person reads ("thread stacks", "modules' code", ...). */
extern const char *const ch_memory_kind_titles[CH_MEMORY_NUM_KINDS];

/** Bytes of one kind, and where they are. */
struct ch_memory_bytes {
	uint64_t total;
	/** in_core + from_files + left_out + lost == total. */
	uint64_t in_core, from_files, left_out, lost;
	/** Mappings (or pieces of mappings) counted. */
	uint64_t pieces;
};

/** An allocator's heap, or one of its regions. */
struct ch_heap_usage {
	/** The memory it owns (HEAP and UNEXPLAINED ranges). */
	struct ch_memory_bytes bytes;
	uint64_t live_count, live_bytes;
	/** Free blocks but the one in the top chunk. */
	uint64_t free_count, free_bytes;
	uint64_t top_bytes;
	uint64_t unexplained_bytes;
	/** bytes.total - live - free - top - unexplained, or 0. */
	uint64_t overhead_bytes;
	/** How much live + free + top + unexplained exceed bytes.total. */
	uint64_t excess_bytes;
};

struct ch_summary_map {
	/** All mapped memory. */
	struct ch_memory_bytes total;
	/** By kind; kinds[CH_MEMORY_HEAP] sums the allocators. */
	struct ch_memory_bytes kinds[CH_MEMORY_NUM_KINDS];
	/** Per allocator of program->allocators (same index). */
	struct ch_heap_usage *allocators;
	size_t num_allocators;
	/** Per region of program->heap (same index). */
	struct ch_heap_usage *regions;
	size_t num_regions;
	/** Mappings counted as thread stacks. */
	size_t num_stacks;
};

/** Build the map of program's memory. Errors: out of memory. */
struct ch_error *ch_summary_map_build(const struct ch_program *program,
				      struct ch_summary_map *ret);
void ch_summary_map_deinit(struct ch_summary_map *map);

#endif /* COREHEAP_SUMMARY_H */
