// SPDX-License-Identifier: MIT
#include <dlfcn.h>
#include <stdlib.h>

#include "heap/allocators.h"

extern const struct coreheap_allocator coreheap_glibc_allocator;
extern const struct coreheap_allocator coreheap_jemalloc_allocator;

const struct coreheap_allocator *const ch_builtin_allocators[] = {
	&coreheap_glibc_allocator,
	&coreheap_jemalloc_allocator,
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
	if (!ops->name || !ops->name[0] || !ops->probe || !ops->walk)
		return ch_error_create(CH_ERROR_PLUGIN,
				       "plugin '%s' lacks a name, probe or walk",
				       origin);
	return NULL;
}

struct ch_error *ch_allocator_load(const char *path,
				   const struct coreheap_allocator **ret,
				   void **handle_ret)
{
	coreheap_allocator_entry_fn entry;
	const struct coreheap_allocator *ops;
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
	*ret = ops;
	*handle_ret = handle;
	return NULL;
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
	for (size_t i = 0; i < set->num_dl_handles; i++)
		dlclose(set->dl_handles[i]);
	free(set->uses);
	free(set->dl_handles);
	*set = (struct ch_allocator_set){ 0 };
}
