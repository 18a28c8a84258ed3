// SPDX-License-Identifier: MIT
// Fuzz target: the glibc allocator plugin's probe, walk and check over a
// synthetic address space (fuzz/glibc_snapshot.h), through a host of our
// own. The input is a snapshot; fuzz_seeds makes them from fixture cores.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coreheap/plugin.h"
#include "fuzz_common.h"
#include "fuzz_host.h"
#include "glibc_snapshot.h"

extern const struct coreheap_allocator coreheap_glibc_allocator;

// Where the host serves __libc_version from: a page no mapping uses.
#define VERSION_ADDRESS 0x1000
// Bytes of memory a snapshot may ask for: enough for a fixture's heap.
#define MAX_MEMORY (16u << 20)

struct mapping {
	struct glibc_snapshot_mapping m;
	uint8_t *bytes;      // end - start bytes
};

struct snapshot {
	// First: the shared reporting calls find it at private_data.
	struct fuzz_reports reports;
	struct glibc_snapshot h;
	const struct glibc_snapshot_thread *threads;
	struct mapping *mappings;
	size_t num_mappings;
};

static struct snapshot *snap_of(const struct coreheap_host *host)
{
	return host->private_data;
}

static const struct mapping *find(const struct snapshot *s, uint64_t addr)
{
	for (size_t i = 0; i < s->num_mappings; i++) {
		if (addr >= s->mappings[i].m.start && addr < s->mappings[i].m.end)
			return &s->mappings[i];
	}
	return NULL;
}

static int host_read(const struct coreheap_host *host, uint64_t addr,
		     void *buf, size_t len)
{
	const struct snapshot *s = snap_of(host);
	uint8_t *out = buf;

	if (addr >= VERSION_ADDRESS && len <= sizeof(s->h.version) &&
	    addr - VERSION_ADDRESS <= sizeof(s->h.version) - len) {
		memcpy(buf, s->h.version + (addr - VERSION_ADDRESS), len);
		return COREHEAP_OK;
	}
	// Across adjacent mappings, as the address space reads.
	while (len) {
		const struct mapping *m = find(s, addr);
		uint64_t n;

		if (!m)
			return COREHEAP_FAULT;
		n = m->m.end - addr;
		if (n > len)
			n = len;
		memcpy(out, m->bytes + (addr - m->m.start), n);
		out += n;
		addr += n;
		len -= n;
	}
	return COREHEAP_OK;
}

static const void *host_map(const struct coreheap_host *host, uint64_t addr,
			    size_t len)
{
	const struct mapping *m = find(snap_of(host), addr);

	if (!m || len > m->m.end - addr)
		return NULL;
	return m->bytes + (addr - m->m.start);
}

static int host_symbol(const struct coreheap_host *host,
		       const char *module_name, const char *name,
		       struct coreheap_symbol *ret)
{
	const struct snapshot *s = snap_of(host);

	memset(ret, 0, sizeof(*ret));
	ret->from_debuginfo = true;
	if (!strcmp(name, "__libc_version")) {
		ret->address = VERSION_ADDRESS;
		ret->size = sizeof(s->h.version);
		return COREHEAP_OK;
	}
	if (!(s->h.flags & GLIBC_SNAPSHOT_SYMBOLS))
		return COREHEAP_NOT_FOUND;
	if (!strcmp(name, "main_arena") && s->h.main_arena) {
		ret->address = s->h.main_arena;
		ret->size = 2200;
		return COREHEAP_OK;
	}
	if (!strcmp(name, "mp_") && s->h.mp) {
		ret->address = s->h.mp;
		ret->size = 112;
		return COREHEAP_OK;
	}
	if (!strcmp(name, "tcache") && (s->h.flags & GLIBC_SNAPSHOT_TCACHE)) {
		ret->address = s->h.tcache_offset;
		ret->size = 8;
		ret->is_tls = true;
		return COREHEAP_OK;
	}
	return COREHEAP_NOT_FOUND;
}

static int host_tls_address(const struct coreheap_host *host, size_t thread,
			    uint32_t module, uint64_t offset, uint64_t *ret)
{
	const struct snapshot *s = snap_of(host);

	if (thread >= s->h.num_threads || module != 0 ||
	    !(s->h.flags & GLIBC_SNAPSHOT_TCACHE))
		return COREHEAP_NOT_FOUND;
	*ret = s->threads[thread].thread_pointer + s->h.tls_delta + offset;
	return COREHEAP_OK;
}

static size_t host_num_threads(const struct coreheap_host *host)
{
	return snap_of(host)->h.num_threads;
}

static int host_thread(const struct coreheap_host *host, size_t i,
		       struct coreheap_thread *ret)
{
	const struct snapshot *s = snap_of(host);

	if (i >= s->h.num_threads)
		return COREHEAP_NOT_FOUND;
	ret->tid = s->threads[i].tid;
	ret->pc = s->threads[i].pc;
	ret->sp = s->threads[i].sp;
	ret->thread_pointer = s->threads[i].thread_pointer;
	return COREHEAP_OK;
}

static size_t host_num_modules(const struct coreheap_host *host)
{
	return 1;
}

static int host_module(const struct coreheap_host *host, size_t i,
		       struct coreheap_module *ret)
{
	const struct snapshot *s = snap_of(host);

	if (i != 0)
		return COREHEAP_NOT_FOUND;
	memset(ret, 0, sizeof(*ret));
	// No path: the plugin must not read a file the snapshot lacks.
	ret->name = "/usr/lib/x86_64-linux-gnu/libc.so.6";
	ret->start = s->h.libc_start;
	ret->end = s->h.libc_end;
	ret->bias = s->h.libc_bias;
	ret->has_debuginfo = s->h.flags & GLIBC_SNAPSHOT_SYMBOLS;
	return COREHEAP_OK;
}

static int host_find_module(const struct coreheap_host *host,
			    const char *prefix, uint32_t *ret)
{
	if (strncmp("libc.so.6", prefix, strlen(prefix)))
		return COREHEAP_NOT_FOUND;
	*ret = 0;
	return COREHEAP_OK;
}

static size_t host_num_mappings(const struct coreheap_host *host)
{
	return snap_of(host)->num_mappings;
}

static int host_mapping(const struct coreheap_host *host, size_t i,
			struct coreheap_mapping *ret)
{
	const struct snapshot *s = snap_of(host);
	const struct mapping *m;

	if (i >= s->num_mappings)
		return COREHEAP_NOT_FOUND;
	m = &s->mappings[i];
	ret->start = m->m.start;
	ret->end = m->m.end;
	ret->prot = m->m.prot;
	ret->file = m->m.is_libc ? "/usr/lib/x86_64-linux-gnu/libc.so.6" : NULL;
	ret->available = m->m.end - m->m.start;
	return COREHEAP_OK;
}

static bool take(const uint8_t **p, size_t *left, void *out, size_t len)
{
	if (*left < len)
		return false;
	memcpy(out, *p, len);
	*p += len;
	*left -= len;
	return true;
}

static void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->num_mappings; i++)
		free(s->mappings[i].bytes);
	free(s->mappings);
	free((void *)s->threads);
}

// Parse the input; false for one the host could not serve (mappings that
// overlap, too much memory), which the fuzzer then skips.
static bool snapshot_parse(const uint8_t *data, size_t size,
			   struct snapshot *s)
{
	const uint8_t *p = data;
	size_t left = size, total = 0;
	struct glibc_snapshot_thread *threads;

	memset(s, 0, sizeof(*s));
	if (!take(&p, &left, &s->h, sizeof(s->h)) ||
	    memcmp(s->h.magic, GLIBC_SNAPSHOT_MAGIC, 4) ||
	    s->h.num_threads > 1024 || s->h.num_mappings > 256 ||
	    left / sizeof(*threads) < s->h.num_threads)
		return false;
	threads = calloc(s->h.num_threads + 1, sizeof(*threads));
	s->mappings = calloc(s->h.num_mappings + 1, sizeof(*s->mappings));
	s->threads = threads;
	if (!threads || !s->mappings)
		return false;
	take(&p, &left, threads, s->h.num_threads * sizeof(*threads));
	for (uint32_t i = 0; i < s->h.num_mappings; i++) {
		struct mapping *m = &s->mappings[i];
		uint64_t len, padded;

		if (!take(&p, &left, &m->m, sizeof(m->m)) ||
		    m->m.end <= m->m.start ||
		    (i && m->m.start < s->mappings[i - 1].m.end))
			return false;
		len = m->m.end - m->m.start;
		padded = (m->m.data_len + 7ull) & ~7ull;
		if (len > MAX_MEMORY - total || m->m.data_len > len ||
		    padded > left)
			return false;
		total += len;
		m->bytes = calloc(1, len);
		if (!m->bytes)
			return false;
		s->num_mappings++;
		memcpy(m->bytes, p, m->m.data_len);
		p += padded;
		left -= padded;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct coreheap_allocator *ops = &coreheap_glibc_allocator;
	struct snapshot s;
	struct coreheap_host host = {
		.abi_version = COREHEAP_PLUGIN_ABI_VERSION,
		.size = sizeof(struct coreheap_host),
		.private_data = &s,
		.read = host_read,
		.map = host_map,
		.symbol = host_symbol,
		.tls_address = host_tls_address,
		.num_threads = host_num_threads,
		.thread = host_thread,
		.num_modules = host_num_modules,
		.module = host_module,
		.find_module = host_find_module,
		.num_mappings = host_num_mappings,
		.mapping = host_mapping,
		FUZZ_HOST_REPORTING,
	};
	void *state = NULL;
	int confidence = 0;

	if (snapshot_parse(data, size, &s) &&
	    !ops->probe(&host, s.h.flags & GLIBC_SNAPSHOT_FORCED, &confidence,
			&state) &&
	    confidence > 0) {
		if (ops->walk(&host, state) != COREHEAP_NOMEM)
			ops->check(&host, state);
		ops->destroy(state);
	}
	snapshot_free(&s);
	return 0;
}
