// SPDX-License-Identifier: MIT
// Fuzz target: the jemalloc allocator plugin's probe, walk and check over a
// synthetic address space (fuzz/jemalloc_snapshot.h), through a host of our
// own, as fuzz_glibc does for glibc. The input is a snapshot; fuzz_seeds
// makes them from jemalloc fixture cores.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coreheap/plugin.h"
#include "fuzz_common.h"
#include "fuzz_host.h"
#include "jemalloc_snapshot.h"

extern const struct coreheap_allocator coreheap_jemalloc_allocator;

#define MODULE_PATH "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
// A mapping larger than this is refused: the plugin copies the module's
// writable ranges to search them.
#define MAX_MAPPING (256ull << 20)
#define MAX_MAPPINGS 1024u

struct run {
	uint64_t start, end;    // addresses
	const uint8_t *bytes;   // in the input
};

struct mapping {
	struct jemalloc_snapshot_mapping m;
	struct run *runs;
};

struct snapshot {
	// First: the shared reporting calls find it at private_data.
	struct fuzz_reports reports;
	struct jemalloc_snapshot h;
	const struct jemalloc_snapshot_thread *threads;
	struct mapping *mappings;
	size_t num_mappings;
};

static struct snapshot *snap_of(const struct coreheap_host *host)
{
	return host->private_data;
}

static const struct mapping *find(const struct snapshot *s, uint64_t addr)
{
	size_t lo = 0, hi = s->num_mappings;

	// Sorted and disjoint: a binary search, the walk reads a lot.
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < s->mappings[mid].m.start)
			hi = mid;
		else if (addr >= s->mappings[mid].m.end)
			lo = mid + 1;
		else
			return &s->mappings[mid];
	}
	return NULL;
}

// The run of m holding addr, or NULL; *next_ret is where the next run
// starts (or the mapping's end).
static const struct run *find_run(const struct mapping *m, uint64_t addr,
				  uint64_t *next_ret)
{
	*next_ret = m->m.end;
	for (uint32_t i = 0; i < m->m.num_runs; i++) {
		if (addr < m->runs[i].start) {
			*next_ret = m->runs[i].start;
			return NULL;
		}
		if (addr < m->runs[i].end)
			return &m->runs[i];
	}
	return NULL;
}

// The version string sits in the module's .rodata, which no mapping of the
// snapshot holds: the host serves its page (zeroes around the string), as
// the real one reads the module's file.
static bool version_page(const struct snapshot *s, uint64_t addr,
			 uint8_t *out, uint64_t len)
{
	const uint64_t va = s->h.version_address;
	const uint64_t page = va & ~4095ull;

	if (!va || addr < page || addr - page >= 4096 ||
	    len > 4096 - (addr - page))
		return false;
	memset(out, 0, len);
	for (uint64_t i = 0; i < sizeof(s->h.version); i++) {
		if (va + i >= addr && va + i - addr < len)
			out[va + i - addr] = s->h.version[i];
	}
	return true;
}

static int host_read(const struct coreheap_host *host, uint64_t addr,
		     void *buf, size_t len)
{
	const struct snapshot *s = snap_of(host);
	uint8_t *out = buf;

	// Across adjacent mappings, as the address space reads.
	while (len) {
		const struct mapping *m = find(s, addr);
		const struct run *r;
		uint64_t n, next;

		if (!m) {
			n = 4096 - (addr & 4095);
			if (n > len)
				n = len;
			if (!version_page(s, addr, out, n))
				return COREHEAP_FAULT;
		} else {
			r = find_run(m, addr, &next);
			n = (r ? r->end : next) - addr;
			if (n > len)
				n = len;
			if (r)
				memcpy(out, r->bytes + (addr - r->start), n);
			else
				memset(out, 0, n);
		}
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
	const struct run *r;
	uint64_t next;

	// Only what the input holds: the zero pages between runs are read.
	if (!m || !(r = find_run(m, addr, &next)) || len > r->end - addr)
		return NULL;
	return r->bytes + (addr - r->start);
}

static int host_symbol(const struct coreheap_host *host,
		       const char *module_name, const char *name,
		       struct coreheap_symbol *ret)
{
	const struct snapshot *s = snap_of(host);
	const char *prefix = s->h.flags & JEMALLOC_SNAPSHOT_RJEM ? "_rjem_je_" :
								   "je_";
	size_t plen = strlen(prefix);

	if (strncmp(name, prefix, plen))
		return COREHEAP_NOT_FOUND;
	name += plen;
	memset(ret, 0, sizeof(*ret));
	ret->from_debuginfo = true;
	ret->module = 0;
	if (!(s->h.flags & JEMALLOC_SNAPSHOT_SYMBOLS))
		return COREHEAP_NOT_FOUND;
	if (!strcmp(name, "tsd_tls") && (s->h.flags & JEMALLOC_SNAPSHOT_TLS)) {
		ret->address = s->h.tsd_offset;
		ret->size = 8;
		ret->is_tls = true;
		return COREHEAP_OK;
	}
	if (!strcmp(name, "arena_emap_global") && s->h.emap_global) {
		ret->address = s->h.emap_global;
		ret->size = 2 << 20;
		return COREHEAP_OK;
	}
	if (!strcmp(name, "arenas") && s->h.arenas) {
		ret->address = s->h.arenas;
		ret->size = 4096 * 8;
		return COREHEAP_OK;
	}
	if (!strcmp(name, "sz_index2size_tab") && s->h.sz_table) {
		ret->address = s->h.sz_table;
		ret->size = 232 * 8;
		return COREHEAP_OK;
	}
	return COREHEAP_NOT_FOUND;
}

static int host_tls_address(const struct coreheap_host *host, size_t thread,
			    uint32_t module, uint64_t offset, uint64_t *ret)
{
	const struct snapshot *s = snap_of(host);

	if (thread >= s->h.num_threads || module != 0 ||
	    !(s->h.flags & JEMALLOC_SNAPSHOT_TLS))
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
	ret->name = MODULE_PATH;
	ret->start = s->h.module_start;
	ret->end = s->h.module_end;
	ret->bias = s->h.module_bias;
	ret->has_debuginfo = s->h.flags & JEMALLOC_SNAPSHOT_SYMBOLS;
	return COREHEAP_OK;
}

static int host_find_module(const struct coreheap_host *host,
			    const char *prefix, uint32_t *ret)
{
	if (strncmp("libjemalloc.so.2", prefix, strlen(prefix)))
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
	ret->file = m->m.is_module ? MODULE_PATH : NULL;
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
		free(s->mappings[i].runs);
	free(s->mappings);
	free((void *)s->threads);
}

// Parse the input; false for one the host could not serve (mappings or
// runs that overlap or lie outside), which the fuzzer then skips. The runs'
// bytes stay in the input.
static bool snapshot_parse(const uint8_t *data, size_t size,
			   struct snapshot *s)
{
	const uint8_t *p = data;
	size_t left = size;
	struct jemalloc_snapshot_thread *threads;

	memset(s, 0, sizeof(*s));
	if (!take(&p, &left, &s->h, sizeof(s->h)) ||
	    memcmp(s->h.magic, JEMALLOC_SNAPSHOT_MAGIC, 4) ||
	    s->h.num_threads > 1024 || s->h.num_mappings > MAX_MAPPINGS ||
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
		uint64_t len, done = 0;

		if (!take(&p, &left, &m->m, sizeof(m->m)) ||
		    m->m.end <= m->m.start ||
		    (i && m->m.start < s->mappings[i - 1].m.end))
			return false;
		len = m->m.end - m->m.start;
		if (len > MAX_MAPPING ||
		    m->m.num_runs > left / sizeof(struct jemalloc_snapshot_run))
			return false;
		m->runs = calloc(m->m.num_runs + 1, sizeof(*m->runs));
		if (!m->runs)
			return false;
		s->num_mappings++;
		for (uint32_t j = 0; j < m->m.num_runs; j++) {
			struct jemalloc_snapshot_run r;
			uint64_t padded;

			if (!take(&p, &left, &r, sizeof(r)) || !r.len ||
			    r.offset < done || r.offset > len ||
			    r.len > len - r.offset)
				return false;
			padded = (r.len + 7ull) & ~7ull;
			if (padded > left)
				return false;
			m->runs[j] = (struct run){
				.start = m->m.start + r.offset,
				.end = m->m.start + r.offset + r.len,
				.bytes = p,
			};
			done = r.offset + r.len;
			p += padded;
			left -= padded;
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct coreheap_allocator *ops = &coreheap_jemalloc_allocator;
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
	    !ops->probe(&host, s.h.flags & JEMALLOC_SNAPSHOT_FORCED,
			&confidence, &state) &&
	    confidence > 0) {
		if (ops->walk(&host, state) != COREHEAP_NOMEM && ops->check)
			ops->check(&host, state);
		if (ops->destroy)
			ops->destroy(state);
	}
	snapshot_free(&s);
	return 0;
}
