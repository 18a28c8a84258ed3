/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A snapshot of what the jemalloc plugin sees of a process, for
 * fuzz_jemalloc: libjemalloc's place, symbols and version string, the
 * threads, and the writable mappings with the bytes of their pages that are
 * not zero. fuzz_seeds writes them from fixture cores; fuzz_jemalloc serves
 * them to the plugin through a host of its own (as fuzz_glibc does with
 * glibc_snapshot.h), with no core, no libdwfl and no files.
 *
 * Layout (little-endian): a struct jemalloc_snapshot, num_threads struct
 * jemalloc_snapshot_thread, then num_mappings times a struct
 * jemalloc_snapshot_mapping followed by its num_runs runs, each a struct
 * jemalloc_snapshot_run and its len bytes padded to 8. Runs are sorted and
 * do not overlap; a mapping's memory outside its runs reads as zeroes
 * (jemalloc's 2 MiB radix tree root is mostly zero pages).
 */
#ifndef COREHEAP_FUZZ_JEMALLOC_SNAPSHOT_H
#define COREHEAP_FUZZ_JEMALLOC_SNAPSHOT_H

#include <stdint.h>

#define JEMALLOC_SNAPSHOT_MAGIC "CHJ1"

/** The snapshot's flags. */
enum {
	/**
	 * je_arena_emap_global, je_arenas, je_sz_index2size_tab (where not
	 * 0) and, with JEMALLOC_SNAPSHOT_TLS, je_tsd_tls by symbol.
	 */
	JEMALLOC_SNAPSHOT_SYMBOLS = 1,
	/** libjemalloc's TLS block is known: tls_delta is set. */
	JEMALLOC_SNAPSHOT_TLS = 2,
	/** The plugin is forced (--allocator jemalloc). */
	JEMALLOC_SNAPSHOT_FORCED = 4,
	/** The symbols carry Rust's prefix _rjem_je_, not je_. */
	JEMALLOC_SNAPSHOT_RJEM = 8,
};

struct jemalloc_snapshot {
	char magic[4];
	uint32_t flags;
	uint64_t emap_global, arenas, sz_table;
	/** je_tsd_tls's offset in libjemalloc's TLS block (with symbols). */
	uint64_t tsd_offset;
	/** libjemalloc's TLS block minus the thread pointer (the same in every
	 * thread: initial-exec TLS). */
	uint64_t tls_delta;
	uint64_t module_start, module_end, module_bias;
	/** Where the host serves version from (0: nowhere). */
	uint64_t version_address;
	/** JEMALLOC_VERSION, as libjemalloc's .rodata holds it. */
	char version[64];
	uint32_t num_threads, num_mappings;
};

struct jemalloc_snapshot_thread {
	int32_t tid;
	uint32_t reserved;
	uint64_t pc, sp, thread_pointer;
};

struct jemalloc_snapshot_mapping {
	uint64_t start, end;
	uint32_t prot;       /**< enum coreheap_prot bits */
	uint32_t is_module;  /**< backed by libjemalloc's file */
	uint32_t num_runs;
	uint32_t reserved;
};

struct jemalloc_snapshot_run {
	/** From the mapping's start. */
	uint64_t offset;
	uint32_t len;
	uint32_t reserved;
};

#endif /* COREHEAP_FUZZ_JEMALLOC_SNAPSHOT_H */
