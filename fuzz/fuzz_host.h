/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The allocator fuzz targets' host: a struct coreheap_host that serves a
 * snapshot (snapshot.h) to a plugin, as src/heap/host.c serves a core.
 * Its queries answer from the snapshot only; its reporting calls accept
 * what the real host accepts and abort on what breaks the interface
 * (plugin.h), so that the fuzzer reports it, and count what the plugin
 * reported.
 */
#ifndef COREHEAP_FUZZ_HOST_H
#define COREHEAP_FUZZ_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coreheap/plugin.h"
#include "snapshot.h"

/** A walk that reports more blocks than this is cut off, out of memory. */
#define FUZZ_MAX_BLOCKS (1u << 20)

/** A run of a mapping's bytes that are not zero. */
struct fuzz_run {
	uint64_t start, end;    /**< addresses */
	const uint8_t *bytes;   /**< in the input */
};

struct fuzz_mapping {
	struct fuzz_snapshot_mapping m;
	struct fuzz_run *runs;  /**< m.num_runs, sorted */
};

struct fuzz_host {
	/** ops.private_data points to this struct. */
	struct coreheap_host ops;
	struct fuzz_snapshot h;
	struct fuzz_snapshot_symbol *symbols;   /**< h.num_symbols */
	struct fuzz_snapshot_thread *threads;   /**< h.num_threads */
	struct fuzz_mapping *mappings;          /**< num_mappings, sorted */
	size_t num_mappings;
	/** The native live blocks, h.num_blocks, sorted (in the input). */
	const struct fuzz_snapshot_block *native_blocks;
	/** What the plugin reported. */
	size_t num_blocks, num_regions;
	/**
	 * A runtime's objects as it reported them (address, size and header
	 * only: what coreheap_allocator::references is given), in the order
	 * reported; at most FUZZ_MAX_BLOCKS.
	 */
	struct coreheap_object *objects;
	size_t num_objects, objects_capacity;
};

/**
 * Set host up to serve the snapshot in data, which must outlive it (the
 * runs' bytes stay there). False for an input the host cannot serve (not a
 * snapshot, mappings or runs that overlap or lie outside, more memory than
 * a fixture's), which the fuzzer then skips. Call fuzz_host_deinit() either
 * way.
 */
bool fuzz_host_init(struct fuzz_host *host, const uint8_t *data, size_t size);

void fuzz_host_deinit(struct fuzz_host *host);

/** The built-in plugin called name, or NULL. */
const struct coreheap_allocator *fuzz_find_allocator(const char *name);

#endif /* COREHEAP_FUZZ_HOST_H */
