// SPDX-License-Identifier: MIT
// Fuzz target: an allocator plugin's probe, walk and check over a
// synthetic address space, served from a snapshot (snapshot.h) by a host of
// our own (fuzz_host.h). Built once per plugin, FUZZ_ALLOCATOR naming it
// (fuzz/local.mk: fuzz_glibc, fuzz_jemalloc); fuzz_seeds makes the
// snapshots from fixture cores.
#include <stdlib.h>
#include <string.h>

#include "coreheap/plugin.h"
#include "fuzz_common.h"
#include "fuzz_host.h"
#include "heap/allocators.h"

static const struct coreheap_allocator *find_allocator(const char *name)
{
	for (size_t i = 0; ch_builtin_allocators[i]; i++) {
		if (!strcmp(ch_builtin_allocators[i]->name, name))
			return ch_builtin_allocators[i];
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct coreheap_allocator *ops;
	struct fuzz_host host;
	void *state = NULL;
	int confidence = 0;

	if (!ops)
		ops = find_allocator(FUZZ_ALLOCATOR);
	if (!ops)
		abort();
	// A snapshot for another plugin is another target's.
	if (fuzz_host_init(&host, data, size) &&
	    !strcmp(host.h.allocator, ops->name) &&
	    !ops->probe(&host.ops, host.h.flags & FUZZ_SNAPSHOT_FORCED,
			&confidence, &state) &&
	    confidence > 0) {
		if (ops->walk(&host.ops, state) != COREHEAP_NOMEM && ops->check)
			ops->check(&host.ops, state);
		if (ops->destroy)
			ops->destroy(state);
	}
	fuzz_host_deinit(&host);
	return 0;
}
