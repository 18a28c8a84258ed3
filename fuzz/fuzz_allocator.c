// SPDX-License-Identifier: MIT
// Fuzz target: an allocator plugin's probe, walk and check over a
// synthetic address space, served from a snapshot (snapshot.h) by a host of
// our own (fuzz_host.h), and a runtime's references of every object it
// reported and its roots, as the graph asks them. Built once per plugin,
// FUZZ_ALLOCATOR naming it (fuzz/local.mk: fuzz_glibc, fuzz_jemalloc,
// fuzz_cpython); fuzz_seeds makes the snapshots from cores.
#include <stdlib.h>
#include <string.h>

#include "coreheap/plugin.h"
#include "fuzz_common.h"
#include "fuzz_host.h"

// The host copies a step's or a root's name: read all of it.
static int take_reference(void *arg, const struct coreheap_reference *ref)
{
	if (ref->name && strlen(ref->name) > (1u << 20))
		abort();
	return COREHEAP_OK;
}

static int take_root(void *arg, const struct coreheap_root *root)
{
	if (!root->name || strlen(root->name) > (1u << 20))
		abort();
	return COREHEAP_OK;
}

// What the graph asks of a runtime once its walk is done.
static void ask_runtime(const struct coreheap_allocator *ops,
			struct fuzz_host *host, void *state)
{
	for (size_t i = 0; ops->references && i < host->num_objects; i++) {
		if (ops->references(&host->ops, state, &host->objects[i], true,
				    take_reference, NULL) == COREHEAP_NOMEM)
			return;
	}
	if (ops->roots)
		ops->roots(&host->ops, state, take_root, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct coreheap_allocator *ops;
	struct fuzz_host host;
	void *state = NULL;
	int confidence = 0;

	if (!ops)
		ops = fuzz_find_allocator(FUZZ_ALLOCATOR);
	if (!ops)
		abort();
	// A snapshot for another plugin is another target's.
	if (fuzz_host_init(&host, data, size) &&
	    !strcmp(host.h.allocator, ops->name) &&
	    !ops->probe(&host.ops, host.h.flags & FUZZ_SNAPSHOT_FORCED,
			&confidence, &state) &&
	    confidence > 0) {
		if (ops->walk(&host.ops, state) != COREHEAP_NOMEM) {
			if (ops->check)
				ops->check(&host.ops, state);
			if (ops->is_runtime)
				ask_runtime(ops, &host, state);
		}
		if (ops->destroy)
			ops->destroy(state);
	}
	fuzz_host_deinit(&host);
	return 0;
}
