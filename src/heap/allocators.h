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

/**
 * The built-in plugins, NULL-terminated: one line per allocator (see
 * "Adding an allocator" in include/coreheap/plugin.h).
 */
extern const struct coreheap_allocator *const ch_builtin_allocators[];

/** A plugin loaded from a shared object. */
struct ch_plugin {
	/** The dlopen() handle, closed by ch_plugin_destroy(). */
	void *dl_handle;
	/**
	 * The plugin's table as this coreheap's header has it: a copy whose
	 * members past the plugin's size (those its header did not have) are
	 * NULL. ops.size stays the plugin's.
	 */
	struct coreheap_allocator ops;
};

/** An allocator in use for a core. */
struct ch_allocator_use {
	/** A built-in table, or a ch_plugin's ops; full-size either way. */
	const struct coreheap_allocator *ops;
	void *state;
	int confidence;
};

struct ch_allocator_set {
	struct ch_allocator_use *uses;
	size_t num_uses;
	/** The plugins loaded, found in the core or not; owned. */
	struct ch_plugin **plugins;
	size_t num_plugins;
};

/**
 * Load a plugin from a shared object: it must export
 * COREHEAP_ALLOCATOR_ENTRY and pass ch_allocator_validate(). Errors:
 * CH_ERROR_PLUGIN saying why, out of memory. *ret is the caller's, freed
 * with ch_plugin_destroy() once no state of the plugin is left.
 */
struct ch_error *ch_plugin_load(const char *path, struct ch_plugin **ret);

/** Close the plugin's shared object and free plugin (NULL-safe). */
void ch_plugin_destroy(struct ch_plugin *plugin);

/**
 * Check a table for what the host requires: this ABI version, a size from
 * COREHEAP_ALLOCATOR_MIN_SIZE to this header's sizeof (a plugin built for
 * a newer coreheap is refused), a name, probe and walk. origin names the
 * plugin in the message (CH_ERROR_PLUGIN).
 */
struct ch_error *ch_allocator_validate(const struct coreheap_allocator *ops,
				       const char *origin);

/** Destroy every state, then close the plugins. */
void ch_allocator_set_deinit(struct ch_allocator_set *set);

#endif /* COREHEAP_ALLOCATORS_H */
