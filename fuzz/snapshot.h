/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A snapshot of what an allocator plugin sees of a process, for the
 * allocator fuzz targets (fuzz_glibc, fuzz_jemalloc, fuzz_cpython): the
 * plugin's name, the one module it needs (the allocator's library, the
 * interpreter) with its symbols, version string and TLS block, the
 * threads, the writable mappings (and a runtime's read-only data, where
 * its types' names are) with the bytes of their pages that are not zero,
 * and for a runtime the native allocator's live blocks it lives in.
 * fuzz_seeds writes them from cores; fuzz_host.c serves them to the
 * plugin, with no core, no libdwfl and no files, so that the fuzzer spends
 * its time in the plugin's walk and checks.
 *
 * Layout (little-endian): a struct fuzz_snapshot, num_symbols struct
 * fuzz_snapshot_symbol, num_threads struct fuzz_snapshot_thread, then
 * num_mappings times a struct fuzz_snapshot_mapping followed by its
 * num_runs runs, each a struct fuzz_snapshot_run and its len bytes padded
 * to 8, then num_blocks struct fuzz_snapshot_block. Mappings are sorted
 * and do not overlap, nor do a mapping's runs, nor the blocks; a mapping's
 * memory outside its runs reads as zeroes (jemalloc's 2 MiB radix tree
 * root, a thread's stack and the top of a glibc heap are mostly zero
 * pages).
 */
#ifndef COREHEAP_FUZZ_SNAPSHOT_H
#define COREHEAP_FUZZ_SNAPSHOT_H

#include <stdint.h>

#define FUZZ_SNAPSHOT_MAGIC "CHS1"

/** The snapshot's flags. */
enum {
	/** The module has debug info (coreheap_module::has_debuginfo). */
	FUZZ_SNAPSHOT_DEBUGINFO = 1,
	/** The module's TLS block is known: tls_delta is set. */
	FUZZ_SNAPSHOT_TLS = 2,
	/** The plugin is forced (--allocator NAME). */
	FUZZ_SNAPSHOT_FORCED = 4,
};

struct fuzz_snapshot {
	char magic[4];
	uint32_t flags;
	/** The plugin's name (coreheap_allocator::name), NUL-terminated. */
	char allocator[16];
	/** The module's name as the process knew it, NUL-terminated. */
	char module_name[112];
	uint64_t module_start, module_end, module_bias;
	/** The module's TLS block minus the thread pointer (the same in every
	 * thread: initial-exec TLS). */
	uint64_t tls_delta;
	/**
	 * Where the host serves version from (0: nowhere): the module's
	 * .rodata, which no writable mapping holds, so the host serves the
	 * pages around it as zeroes, as the real one reads the module's file.
	 */
	uint64_t version_address;
	/** The allocator's version string, as the module's .rodata holds it. */
	char version[64];
	uint32_t num_symbols, num_threads, num_mappings;
	/** Native live blocks, for a runtime's plugin (0 for an allocator's). */
	uint32_t num_blocks;
};

/** A symbol of the module (always from debug info, for the plugin). */
struct fuzz_snapshot_symbol {
	/** NUL-terminated. */
	char name[48];
	/** Its address, or with is_tls its offset in the module's TLS block. */
	uint64_t address, size;
	uint32_t is_tls;
	uint32_t reserved;
};

struct fuzz_snapshot_thread {
	int32_t tid;
	uint32_t reserved;
	uint64_t pc, sp, thread_pointer;
};

struct fuzz_snapshot_mapping {
	uint64_t start, end;
	uint32_t prot;       /**< enum coreheap_prot bits */
	uint32_t is_module;  /**< backed by the module's file */
	uint32_t num_runs;
	uint32_t reserved;
};

struct fuzz_snapshot_run {
	/** From the mapping's start. */
	uint64_t offset;
	uint32_t len;
	uint32_t reserved;
};

/**
 * A live block of the native allocator a runtime lives in, as the host's
 * find_block and next_block serve it (the walk of the allocator before).
 */
struct fuzz_snapshot_block {
	uint64_t address, size;
};

#endif /* COREHEAP_FUZZ_SNAPSHOT_H */
