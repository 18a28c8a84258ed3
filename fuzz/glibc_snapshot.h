/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A snapshot of what the glibc plugin sees of a process, for fuzz_glibc:
 * libc's place and symbols, the threads, and the writable mappings with
 * their bytes. fuzz_seeds writes them from fixture cores; fuzz_glibc serves
 * them to the plugin through a host of its own, with no core, no libdwfl
 * and no files, so that the fuzzer spends its time in the walk and checks.
 *
 * Layout (little-endian): a struct glibc_snapshot, num_threads struct
 * glibc_snapshot_thread, then num_mappings times a struct
 * glibc_snapshot_mapping followed by data_len bytes padded to 8. Memory of
 * a mapping past data_len reads as zeroes.
 */
#ifndef COREHEAP_FUZZ_GLIBC_SNAPSHOT_H
#define COREHEAP_FUZZ_GLIBC_SNAPSHOT_H

#include <stdint.h>

#define GLIBC_SNAPSHOT_MAGIC "CHG1"

/** The snapshot's flags. */
enum {
	/** main_arena and mp_ are found by symbol (libc's debug info). */
	GLIBC_SNAPSHOT_SYMBOLS = 1,
	/** The thread caches are found through the TLS symbol tcache. */
	GLIBC_SNAPSHOT_TCACHE = 2,
	/** The plugin is forced (--allocator glibc). */
	GLIBC_SNAPSHOT_FORCED = 4,
};

struct glibc_snapshot {
	char magic[4];
	uint32_t flags;
	uint64_t main_arena, mp;
	/** tcache's offset in libc's TLS block. */
	uint64_t tcache_offset;
	/** libc's TLS block minus the thread pointer. */
	uint64_t tls_delta;
	uint64_t libc_start, libc_end, libc_bias;
	/** __libc_version, as libc's .rodata holds it. */
	char version[16];
	uint32_t num_threads, num_mappings;
};

struct glibc_snapshot_thread {
	int32_t tid;
	uint32_t reserved;
	uint64_t pc, sp, thread_pointer;
};

struct glibc_snapshot_mapping {
	uint64_t start, end;
	uint32_t prot;       /**< enum coreheap_prot bits */
	uint32_t is_libc;    /**< backed by libc's file */
	uint32_t data_len;
	uint32_t reserved;
};

#endif /* COREHEAP_FUZZ_GLIBC_SNAPSHOT_H */
