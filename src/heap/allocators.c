// SPDX-License-Identifier: MIT
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "heap/allocators.h"

// The plugin table: one line per built-in allocator.
extern const struct coreheap_allocator coreheap_glibc_allocator;
extern const struct coreheap_allocator coreheap_jemalloc_allocator;
extern const struct coreheap_allocator coreheap_cpython_allocator;

const struct coreheap_allocator *const ch_builtin_allocators[] = {
	&coreheap_glibc_allocator,
	&coreheap_jemalloc_allocator,
	&coreheap_cpython_allocator,
	NULL,
};

struct ch_error *ch_allocator_validate(const struct coreheap_allocator *ops,
				       const char *origin)
{
	if (!ops)
		return ch_error_create(CH_ERROR_PLUGIN,
				       "plugin '%s' gave no allocator", origin);
	if (ops->abi_version != COREHEAP_PLUGIN_ABI_VERSION)
		return ch_error_create(CH_ERROR_PLUGIN,
				       "plugin '%s' was built for plugin ABI %u, coreheap has %u",
				       origin, ops->abi_version,
				       COREHEAP_PLUGIN_ABI_VERSION);
	// Past our size lie operations we do not know of: calling none of
	// them would not do what the plugin expects.
	if (ops->size > sizeof(*ops))
		return ch_error_create(CH_ERROR_PLUGIN,
				       "plugin '%s' was built for a newer coreheap: its table has %u bytes, this coreheap knows %zu (rebuild it against this coreheap's plugin.h)",
				       origin, ops->size, sizeof(*ops));
	if (ops->size < COREHEAP_ALLOCATOR_MIN_SIZE)
		return ch_error_create(CH_ERROR_PLUGIN,
				       "plugin '%s' has a table of %u bytes, too small to hold probe and walk (%zu); is its size set (COREHEAP_ALLOCATOR_INIT)?",
				       origin, ops->size,
				       (size_t)COREHEAP_ALLOCATOR_MIN_SIZE);
	if (!ops->name || !ops->name[0] || !ops->probe || !ops->walk)
		return ch_error_create(CH_ERROR_PLUGIN,
				       "plugin '%s' lacks a name, probe or walk",
				       origin);
	return NULL;
}

struct ch_error *ch_plugin_load(const char *path, struct ch_plugin **ret)
{
	coreheap_allocator_entry_fn entry;
	const struct coreheap_allocator *ops;
	struct ch_plugin *plugin;
	struct ch_error *err;
	void *handle;

	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		return ch_error_create(CH_ERROR_PLUGIN,
				       "cannot load plugin '%s': %s", path,
				       dlerror());
	*(void **)&entry = dlsym(handle, COREHEAP_ALLOCATOR_ENTRY);
	if (!entry) {
		dlclose(handle);
		return ch_error_create(CH_ERROR_PLUGIN,
				       "plugin '%s' does not export %s", path,
				       COREHEAP_ALLOCATOR_ENTRY);
	}
	ops = entry();
	err = ch_allocator_validate(ops, path);
	if (err) {
		dlclose(handle);
		return err;
	}
	plugin = calloc(1, sizeof(*plugin));
	if (!plugin) {
		dlclose(handle);
		return &ch_enomem;
	}
	plugin->dl_handle = handle;
	// Only the bytes the plugin's header had: the operations added since
	// stay NULL, as optional operations are.
	memcpy(&plugin->ops, ops, ops->size);
	*ret = plugin;
	return NULL;
}

void ch_plugin_destroy(struct ch_plugin *plugin)
{
	if (!plugin)
		return;
	dlclose(plugin->dl_handle);
	free(plugin);
}

void ch_allocator_set_deinit(struct ch_allocator_set *set)
{
	for (size_t i = 0; i < set->num_uses; i++) {
		struct ch_allocator_use *use = &set->uses[i];

		if (use->ops->destroy)
			use->ops->destroy(use->state);
	}
	// Close only after every state is gone: a state's destroy lives in
	// the plugin's code.
	for (size_t i = 0; i < set->num_plugins; i++)
		ch_plugin_destroy(set->plugins[i]);
	free(set->uses);
	free(set->plugins);
	*set = (struct ch_allocator_set){ 0 };
}
