/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The allocator plugins: the built-in table, plugins loaded from shared
 * objects, and the set found in a core (each with its state).
 */
#ifndef COREHEAP_ALLOCATORS_H
#define COREHEAP_ALLOCATORS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "coreheap/plugin.h"

/** The built-in plugins, NULL-terminated. */
extern const struct coreheap_allocator *const ch_builtin_allocators[];

/** An allocator in use for a core. */
struct ch_allocator_use {
	const struct coreheap_allocator *ops;
	void *state;
	int confidence;
	/** dlopen() handle if loaded from a plugin file, else NULL. */
	void *dl_handle;
};

struct ch_allocator_set {
	struct ch_allocator_use *uses;
	size_t num_uses;
	/** Plugins loaded but not found in the core (kept for their handle). */
	void **dl_handles;
	size_t num_dl_handles;
};

/**
 * Load a plugin from a shared object: it must export
 * COREHEAP_ALLOCATOR_ENTRY and match COREHEAP_PLUGIN_ABI_VERSION.
 * *handle_ret is the dlopen() handle the caller closes.
 */
struct ch_error *ch_allocator_load(const char *path,
				   const struct coreheap_allocator **ret,
				   void **handle_ret);

/** Check an ops table for what the host requires (name, probe, walk). */
struct ch_error *ch_allocator_validate(const struct coreheap_allocator *ops,
				       const char *origin);

void ch_allocator_set_deinit(struct ch_allocator_set *set);

#endif /* COREHEAP_ALLOCATORS_H */
