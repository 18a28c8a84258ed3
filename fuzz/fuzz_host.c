// SPDX-License-Identifier: MIT
// The allocator fuzz targets' host (fuzz_host.h): a snapshot served to a
// plugin.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/path.h"
#include "fuzz_host.h"
#include "heap/allocators.h"

// A mapping larger than this is refused: the jemalloc plugin copies the
// module's writable ranges to search them.
#define MAX_MAPPING (256ull << 20)
#define MAX_MAPPINGS 1024u
#define MAX_THREADS 1024u
#define MAX_SYMBOLS 256u
#define PAGE 4096ull

static struct fuzz_host *host_of(const struct coreheap_host *ops)
{
	return ops->private_data;
}

static const struct fuzz_mapping *find_mapping(const struct fuzz_host *host,
					       uint64_t addr)
{
	size_t lo = 0, hi = host->num_mappings;

	// Sorted and disjoint: a binary search, the walk reads a lot.
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < host->mappings[mid].m.start)
			hi = mid;
		else if (addr >= host->mappings[mid].m.end)
			lo = mid + 1;
		else
			return &host->mappings[mid];
	}
	return NULL;
}

// The run of m holding addr, or NULL; *next_ret is where the next run
// starts (or the mapping's end).
static const struct fuzz_run *find_run(const struct fuzz_mapping *m,
				       uint64_t addr, uint64_t *next_ret)
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
// snapshot holds: the host serves the pages it spans (zeroes around the
// string), as the real one reads the module's file.
static bool version_page(const struct fuzz_host *host, uint64_t addr,
			 uint8_t *out, uint64_t len)
{
	const uint64_t va = host->h.version_address;
	const uint64_t first = va & ~(PAGE - 1);
	const uint64_t last = (va + sizeof(host->h.version) - 1) & ~(PAGE - 1);

	if (!va || va > UINT64_MAX - 2 * PAGE || addr < first ||
	    addr - first >= last + PAGE - first ||
	    len > last + PAGE - addr)
		return false;
	memset(out, 0, len);
	for (uint64_t i = 0; i < sizeof(host->h.version); i++) {
		if (va + i >= addr && va + i - addr < len)
			out[va + i - addr] = host->h.version[i];
	}
	return true;
}

static int host_read(const struct coreheap_host *ops, uint64_t addr,
		     void *buf, size_t len)
{
	const struct fuzz_host *host = host_of(ops);
	uint8_t *out = buf;

	// Across adjacent mappings, as the address space reads.
	while (len) {
		const struct fuzz_mapping *m = find_mapping(host, addr);
		const struct fuzz_run *r;
		uint64_t n, next;

		if (!m) {
			n = PAGE - (addr & (PAGE - 1));
			if (n > len)
				n = len;
			if (!version_page(host, addr, out, n))
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

static const void *host_map(const struct coreheap_host *ops, uint64_t addr,
			    size_t len)
{
	const struct fuzz_mapping *m = find_mapping(host_of(ops), addr);
	const struct fuzz_run *r;
	uint64_t next;

	// Only what the input holds: the zero pages between runs are read.
	if (!m || !(r = find_run(m, addr, &next)) || len > r->end - addr)
		return NULL;
	return r->bytes + (addr - r->start);
}

// Whether the module's base name starts with prefix, as the real host
// matches modules (ch_modules_find_by_prefix).
static bool module_matches(const struct fuzz_host *host, const char *prefix)
{
	return !strncmp(ch_base_name(host->h.module_name), prefix,
			strlen(prefix));
}

static int host_symbol(const struct coreheap_host *ops,
		       const char *module_name, const char *name,
		       struct coreheap_symbol *ret)
{
	const struct fuzz_host *host = host_of(ops);

	if (module_name && !module_matches(host, module_name))
		return COREHEAP_NOT_FOUND;
	for (uint32_t i = 0; i < host->h.num_symbols; i++) {
		const struct fuzz_snapshot_symbol *sym = &host->symbols[i];

		if (strcmp(sym->name, name))
			continue;
		*ret = (struct coreheap_symbol){
			.address = sym->address,
			.size = sym->size,
			.module = 0,
			.is_tls = sym->is_tls,
			.from_debuginfo = true,
		};
		return COREHEAP_OK;
	}
	return COREHEAP_NOT_FOUND;
}

static int host_tls_address(const struct coreheap_host *ops, size_t thread,
			    uint32_t module, uint64_t offset, uint64_t *ret)
{
	const struct fuzz_host *host = host_of(ops);

	if (thread >= host->h.num_threads || module != 0 ||
	    !(host->h.flags & FUZZ_SNAPSHOT_TLS))
		return COREHEAP_NOT_FOUND;
	*ret = host->threads[thread].thread_pointer + host->h.tls_delta + offset;
	return COREHEAP_OK;
}

static size_t host_num_threads(const struct coreheap_host *ops)
{
	return host_of(ops)->h.num_threads;
}

static int host_thread(const struct coreheap_host *ops, size_t i,
		       struct coreheap_thread *ret)
{
	const struct fuzz_host *host = host_of(ops);
	const struct fuzz_snapshot_thread *thread;

	if (i >= host->h.num_threads)
		return COREHEAP_NOT_FOUND;
	thread = &host->threads[i];
	*ret = (struct coreheap_thread){
		.tid = thread->tid,
		.pc = thread->pc,
		.sp = thread->sp,
		.thread_pointer = thread->thread_pointer,
	};
	return COREHEAP_OK;
}

static size_t host_num_modules(const struct coreheap_host *ops)
{
	return 1;
}

static int host_module(const struct coreheap_host *ops, size_t i,
		       struct coreheap_module *ret)
{
	const struct fuzz_host *host = host_of(ops);

	if (i != 0)
		return COREHEAP_NOT_FOUND;
	// No path: the plugin must not read a file the snapshot lacks.
	*ret = (struct coreheap_module){
		.name = host->h.module_name,
		.start = host->h.module_start,
		.end = host->h.module_end,
		.bias = host->h.module_bias,
		.has_debuginfo = host->h.flags & FUZZ_SNAPSHOT_DEBUGINFO,
	};
	return COREHEAP_OK;
}

static int host_find_module(const struct coreheap_host *ops,
			    const char *prefix, uint32_t *ret)
{
	if (!module_matches(host_of(ops), prefix))
		return COREHEAP_NOT_FOUND;
	*ret = 0;
	return COREHEAP_OK;
}

static size_t host_num_mappings(const struct coreheap_host *ops)
{
	return host_of(ops)->num_mappings;
}

static int host_mapping(const struct coreheap_host *ops, size_t i,
			struct coreheap_mapping *ret)
{
	const struct fuzz_host *host = host_of(ops);
	const struct fuzz_snapshot_mapping *m;

	if (i >= host->num_mappings)
		return COREHEAP_NOT_FOUND;
	m = &host->mappings[i].m;
	*ret = (struct coreheap_mapping){
		.start = m->start,
		.end = m->end,
		.prot = m->prot,
		.file = m->is_module ? host->h.module_name : NULL,
		.available = m->end - m->start,
	};
	return COREHEAP_OK;
}

static int host_add_region(const struct coreheap_host *ops,
			   const struct coreheap_region *region, uint32_t *ret)
{
	struct fuzz_host *host = host_of(ops);

	// The host copies the name: read all of it.
	if (!region->name || strlen(region->name) > 4096)
		abort();
	*ret = host->num_regions++;
	return COREHEAP_OK;
}

static int host_add_block(const struct coreheap_host *ops,
			  const struct coreheap_block *block)
{
	struct fuzz_host *host = host_of(ops);

	// The host's table grows with the blocks; a plugin that reports
	// more blocks than memory holds bytes loops.
	if (++host->num_blocks > FUZZ_MAX_BLOCKS)
		return COREHEAP_NOMEM;
	if (block->state > COREHEAP_BLOCK_METADATA ||
	    (block->region != UINT32_MAX && block->region >= host->num_regions))
		abort();
	return COREHEAP_OK;
}

static int host_add_damage(const struct coreheap_host *ops,
			   const struct coreheap_damage *damage)
{
	if (!damage->message || strlen(damage->message) > 4096 ||
	    damage->kind > COREHEAP_DAMAGE_UNREADABLE)
		abort();
	return COREHEAP_OK;
}

// The first native block at or above addr: its index, or num_blocks.
static size_t lower_bound(const struct fuzz_host *host, uint64_t addr)
{
	size_t lo = 0, hi = host->h.num_blocks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (host->native_blocks[mid].address < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void report_native_block(const struct fuzz_host *host, size_t i,
				struct coreheap_block *ret)
{
	*ret = (struct coreheap_block){
		.address = host->native_blocks[i].address,
		.size = host->native_blocks[i].size,
		.state = COREHEAP_BLOCK_LIVE,
	};
}

// The native block holding addr, as the real host's ch_heap_find(): a
// block of size 0 holds its own address.
static int find_native_block(const struct fuzz_host *host, uint64_t addr,
			     size_t *index_ret)
{
	size_t i = lower_bound(host, addr);
	const struct fuzz_snapshot_block *b;

	if (i < host->h.num_blocks && host->native_blocks[i].address == addr) {
		*index_ret = i;
		return COREHEAP_OK;
	}
	if (!i)
		return COREHEAP_NOT_FOUND;
	b = &host->native_blocks[i - 1];
	if (addr - b->address >= b->size)
		return COREHEAP_NOT_FOUND;
	*index_ret = i - 1;
	return COREHEAP_OK;
}

static int host_find_block(const struct coreheap_host *ops, uint64_t addr,
			   struct coreheap_block *ret)
{
	const struct fuzz_host *host = host_of(ops);
	size_t i;

	if (find_native_block(host, addr, &i) != COREHEAP_OK)
		return COREHEAP_NOT_FOUND;
	report_native_block(host, i, ret);
	return COREHEAP_OK;
}

static int host_next_block(const struct coreheap_host *ops, uint64_t addr,
			   struct coreheap_block *ret)
{
	const struct fuzz_host *host = host_of(ops);
	size_t i = lower_bound(host, addr);

	if (i >= host->h.num_blocks)
		return COREHEAP_NOT_FOUND;
	report_native_block(host, i, ret);
	return COREHEAP_OK;
}

// A name the host copies: read all of it, as it does (NULL allowed where
// the interface allows it).
static void read_name(const char *name, bool may_be_null)
{
	if ((!name && !may_be_null) || (name && strlen(name) > (1u << 20)))
		abort();
}

static int host_add_object(const struct coreheap_host *ops,
			   const struct coreheap_object *object,
			   uint64_t *parent_ret)
{
	struct fuzz_host *host = host_of(ops);
	size_t i;

	// What the real host refuses as the plugin's bug (src/heap/host.c).
	if (!object->address || object->size <= object->header ||
	    object->header > object->address || object->header % 8 ||
	    object->header / 8 > 15 ||
	    (object->region != UINT32_MAX && object->region >= host->num_regions))
		abort();
	read_name(object->type_name, true);
	if (host->num_objects == FUZZ_MAX_BLOCKS)
		return COREHEAP_NOMEM;
	if (host->num_objects == host->objects_capacity) {
		size_t capacity = host->objects_capacity ? 2 * host->objects_capacity : 1024;
		struct coreheap_object *grown =
			realloc(host->objects, capacity * sizeof(*grown));

		if (!grown)
			return COREHEAP_NOMEM;
		host->objects = grown;
		host->objects_capacity = capacity;
	}
	host->objects[host->num_objects++] = (struct coreheap_object){
		.address = object->address,
		.size = object->size,
		.header = object->header,
	};
	if (parent_ret)
		*parent_ret = find_native_block(host, object->address, &i) ==
					      COREHEAP_OK ?
				      host->native_blocks[i].address :
				      0;
	return COREHEAP_OK;
}

static int host_type_block(const struct coreheap_host *ops, uint64_t address,
			   const char *type_name)
{
	const struct fuzz_host *host = host_of(ops);
	size_t i = lower_bound(host, address);

	if (!type_name || !*type_name)
		abort();
	read_name(type_name, false);
	if (i >= host->h.num_blocks || host->native_blocks[i].address != address)
		return COREHEAP_NOT_FOUND;
	return COREHEAP_OK;
}

static int host_add_runtime_stack(const struct coreheap_host *ops,
				  const struct coreheap_runtime_stack *stack)
{
	// The host copies the frames and every string.
	if (!stack || stack->num_frames > COREHEAP_MAX_RUNTIME_FRAMES ||
	    (stack->num_frames && !stack->frames))
		abort();
	for (uint32_t i = 0; i < stack->num_frames; i++) {
		read_name(stack->frames[i].function, true);
		read_name(stack->frames[i].file, true);
	}
	read_name(stack->context, true);
	read_name(stack->exception_type, true);
	read_name(stack->exception_message, true);
	return COREHEAP_OK;
}

static void host_log(const struct coreheap_host *ops, int level,
		     const char *format, ...)
{
	char line[512];
	va_list ap;

	// Format every message, as the real host does.
	va_start(ap, format);
	vsnprintf(line, sizeof(line), format, ap);
	va_end(ap);
}

static int host_add_owned_range(const struct coreheap_host *ops,
				uint32_t region, uint64_t start, uint64_t end,
				uint32_t kind)
{
	const struct fuzz_host *host = host_of(ops);

	// The plugin declares only what it took, and only proper ranges.
	if (end <= start || kind > COREHEAP_OWNED_UNEXPLAINED ||
	    (region != UINT32_MAX && region >= host->num_regions))
		abort();
	return COREHEAP_OK;
}

static int host_add_stat(const struct coreheap_host *ops, uint32_t region,
			 const char *row, const char *key, uint64_t value)
{
	const struct fuzz_host *host = host_of(ops);

	// The host copies both, one line each.
	if (region >= host->num_regions || !row || !*row || !key || !*key ||
	    strlen(row) > 4096 || strlen(key) > 4096 || strchr(row, '\n') ||
	    strchr(key, '\n'))
		abort();
	return COREHEAP_OK;
}

static int host_add_alloc_stack(const struct coreheap_host *ops,
				uint64_t address, const uint64_t *pcs,
				size_t num_pcs)
{
	uint64_t copy[COREHEAP_MAX_STACK_PCS];

	// The host copies them: read every one, as it does.
	if (!pcs || !num_pcs || num_pcs > COREHEAP_MAX_STACK_PCS)
		abort();
	memcpy(copy, pcs, num_pcs * sizeof(*pcs));
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

// A fixed-size text field of the input, NUL-terminated there.
static void terminate(char *field, size_t size)
{
	field[size - 1] = '\0';
}

// The runs of mapping m, after its header in the input.
static bool take_runs(const uint8_t **p, size_t *left, struct fuzz_mapping *m)
{
	uint64_t len = m->m.end - m->m.start, done = 0;

	for (uint32_t j = 0; j < m->m.num_runs; j++) {
		struct fuzz_snapshot_run r;
		uint64_t padded;

		if (!take(p, left, &r, sizeof(r)) || !r.len || r.offset < done ||
		    r.offset > len || r.len > len - r.offset)
			return false;
		padded = (r.len + 7ull) & ~7ull;
		if (padded > *left)
			return false;
		m->runs[j] = (struct fuzz_run){
			.start = m->m.start + r.offset,
			.end = m->m.start + r.offset + r.len,
			.bytes = *p,
		};
		done = r.offset + r.len;
		*p += padded;
		*left -= padded;
	}
	return true;
}

// The native blocks, after the mappings: sorted and disjoint, as a walk
// leaves them.
static bool take_blocks(const uint8_t **p, size_t *left, struct fuzz_host *host)
{
	const struct fuzz_snapshot_block *blocks =
		(const struct fuzz_snapshot_block *)*p;

	if (host->h.num_blocks > *left / sizeof(*blocks))
		return false;
	for (uint32_t i = 0; i < host->h.num_blocks; i++) {
		const struct fuzz_snapshot_block *prev = &blocks[i - !!i];

		if (blocks[i].size > UINT64_MAX - blocks[i].address ||
		    (i && (blocks[i].address <= prev->address ||
			   blocks[i].address - prev->address < prev->size)))
			return false;
	}
	host->native_blocks = blocks;
	*p += host->h.num_blocks * sizeof(*blocks);
	*left -= host->h.num_blocks * sizeof(*blocks);
	return true;
}

bool fuzz_host_init(struct fuzz_host *host, const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t left = size;

	*host = (struct fuzz_host){
		.ops = {
			.abi_version = COREHEAP_PLUGIN_ABI_VERSION,
			.size = sizeof(struct coreheap_host),
			.private_data = host,
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
			.add_region = host_add_region,
			.add_block = host_add_block,
			.add_damage = host_add_damage,
			.find_block = host_find_block,
			.log = host_log,
			.add_owned_range = host_add_owned_range,
			.add_stat = host_add_stat,
			.add_alloc_stack = host_add_alloc_stack,
			.add_object = host_add_object,
			.next_block = host_next_block,
			.type_block = host_type_block,
			.add_runtime_stack = host_add_runtime_stack,
		},
	};
	if (!take(&p, &left, &host->h, sizeof(host->h)) ||
	    memcmp(host->h.magic, FUZZ_SNAPSHOT_MAGIC, 4) ||
	    host->h.num_symbols > MAX_SYMBOLS ||
	    host->h.num_threads > MAX_THREADS ||
	    host->h.num_mappings > MAX_MAPPINGS)
		return false;
	terminate(host->h.allocator, sizeof(host->h.allocator));
	terminate(host->h.module_name, sizeof(host->h.module_name));
	host->symbols = calloc(host->h.num_symbols + 1, sizeof(*host->symbols));
	host->threads = calloc(host->h.num_threads + 1, sizeof(*host->threads));
	host->mappings = calloc(host->h.num_mappings + 1, sizeof(*host->mappings));
	if (!host->symbols || !host->threads || !host->mappings ||
	    !take(&p, &left, host->symbols,
		  host->h.num_symbols * sizeof(*host->symbols)) ||
	    !take(&p, &left, host->threads,
		  host->h.num_threads * sizeof(*host->threads)))
		return false;
	for (uint32_t i = 0; i < host->h.num_symbols; i++)
		terminate(host->symbols[i].name, sizeof(host->symbols[i].name));
	for (uint32_t i = 0; i < host->h.num_mappings; i++) {
		struct fuzz_mapping *m = &host->mappings[i];

		if (!take(&p, &left, &m->m, sizeof(m->m)) ||
		    m->m.end <= m->m.start ||
		    (i && m->m.start < host->mappings[i - 1].m.end) ||
		    m->m.end - m->m.start > MAX_MAPPING ||
		    m->m.num_runs > left / sizeof(struct fuzz_snapshot_run))
			return false;
		m->runs = calloc(m->m.num_runs + 1, sizeof(*m->runs));
		if (!m->runs)
			return false;
		host->num_mappings++;
		if (!take_runs(&p, &left, m))
			return false;
	}
	return take_blocks(&p, &left, host);
}

void fuzz_host_deinit(struct fuzz_host *host)
{
	for (size_t i = 0; i < host->num_mappings; i++)
		free(host->mappings[i].runs);
	free(host->mappings);
	free(host->threads);
	free(host->symbols);
	free(host->objects);
}

const struct coreheap_allocator *fuzz_find_allocator(const char *name)
{
	for (size_t i = 0; ch_builtin_allocators[i]; i++) {
		if (!strcmp(ch_builtin_allocators[i]->name, name))
			return ch_builtin_allocators[i];
	}
	return NULL;
}
