// SPDX-License-Identifier: MIT
// The CPython plugin: Python objects in a python3 core (CPython 3.11 and
// 3.13 on x86-64: Debian 12's stripped python3.11, Debian 13's
// python3.13, or one with its symbols; a static interpreter or libpython
// alike: the symbols are looked up in every module).
//
// probe() finds _PyRuntime, the version and the layout (layout.c): from
// the _Py_DebugOffsets at _PyRuntime's start (3.13), else from Py_Version
// (3.11).
// walk() reports pymalloc's arenas (pymalloc.c), then the objects too big
// for them, inside the native allocator's blocks, then per interpreter the
// objects each GC generation lists, for summary.

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython.h"

void py_damage(struct py_walk *walk, enum coreheap_damage_kind kind,
	       uint64_t address, const char *format, ...)
{
	struct coreheap_damage damage = {
		.kind = kind,
		.region = walk->arenas_region,
		.address = address,
	};
	char message[256];
	va_list ap;

	if (walk->damage_count++ >= PY_MAX_DAMAGE)
		return;
	va_start(ap, format);
	vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	damage.message = message;
	if (walk->host->add_damage(walk->host, &damage) == COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
}

static void version_string(uint64_t hex, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u", (unsigned)(hex >> 24) & 0xff,
		 (unsigned)(hex >> 16) & 0xff, (unsigned)(hex >> 8) & 0xff);
}

/*
 * The version and layout of the interpreter whose _PyRuntime is at
 * runtime: from the _Py_DebugOffsets at its start (3.13), else from
 * Py_Version (3.11). False, with a warning, for any other.
 */
static bool choose_layout(const struct coreheap_host *host, uint64_t runtime,
			  struct py_state *st)
{
	uint8_t raw[PY_DEBUG_OFFSETS_313_SIZE];
	struct coreheap_symbol version;
	uint64_t hex = 0;
	const char *why;
	char name[32];

	if (!host->read(host, runtime, raw, 8) &&
	    memcmp(raw, "xdebugpy", 8) == 0) {
		if (host->read(host, runtime, raw, 16)) {
			host->log(host, COREHEAP_LOG_WARNING,
				  "CPython's _Py_DebugOffsets at 0x%llx is not in the core: its objects are not reported",
				  (unsigned long long)runtime);
			return false;
		}
		memcpy(&hex, raw + 8, sizeof(hex));
		version_string(hex, name, sizeof(name));
		if ((hex >> 16) != 0x030d) {
			host->log(host, COREHEAP_LOG_WARNING,
				  "CPython %s (_Py_DebugOffsets): its objects are not reported; coreheap knows 3.11's and 3.13's layouts",
				  name);
			return false;
		}
		if (host->read(host, runtime, raw, sizeof(raw))) {
			host->log(host, COREHEAP_LOG_WARNING,
				  "CPython %s: its _Py_DebugOffsets at 0x%llx are not whole in the core: its objects are not reported",
				  name, (unsigned long long)runtime);
			return false;
		}
		if (!py_layout_313(raw, &st->layout, &why)) {
			host->log(host, COREHEAP_LOG_WARNING,
				  "CPython %s: its _Py_DebugOffsets are not 3.13's as coreheap knows them (%s): its objects are not reported",
				  name, why);
			return false;
		}
		st->how = "from _Py_DebugOffsets";
	} else {
		// Py_Version is 3.11's: an older interpreter has none.
		if (host->symbol(host, NULL, "Py_Version", &version) !=
			    COREHEAP_OK ||
		    host->read(host, version.address, &hex, sizeof(hex))) {
			host->log(host, COREHEAP_LOG_WARNING,
				  "a CPython interpreter older than 3.11 (no Py_Version): its objects are not reported; coreheap knows 3.11's and 3.13's layouts");
			return false;
		}
		version_string(hex, name, sizeof(name));
		// 3.12 has no debug offsets and a layout of its own.
		if ((hex >> 16) != 0x030b) {
			host->log(host, COREHEAP_LOG_WARNING,
				  "CPython %s (Py_Version): its objects are not reported; coreheap knows 3.11's and 3.13's layouts",
				  name);
			return false;
		}
		py_layout_311(&st->layout);
		st->how = "from Py_Version";
	}
	st->version_hex = hex;
	memcpy(st->version, name, sizeof(name));
	return true;
}

static int cpython_probe(const struct coreheap_host *host, bool forced,
			 int *confidence_ret, void **state_ret)
{
	struct coreheap_symbol runtime, type_type, symbol;
	struct py_state *st;

	(void)forced;
	*confidence_ret = 0;
	if (host->symbol(host, NULL, "_PyRuntime", &runtime) != COREHEAP_OK)
		return COREHEAP_OK;
	if (host->symbol(host, NULL, "PyType_Type", &type_type) !=
	    COREHEAP_OK) {
		host->log(host, COREHEAP_LOG_WARNING,
			  "CPython without the symbol PyType_Type: its objects are not reported");
		return COREHEAP_OK;
	}
	if (!COREHEAP_HOST_HAS(host, add_object) ||
	    !COREHEAP_HOST_HAS(host, next_block) ||
	    !COREHEAP_HOST_HAS(host, type_block))
		return COREHEAP_OK;
	st = calloc(1, sizeof(*st));
	if (!st)
		return COREHEAP_NOMEM;
	if (!choose_layout(host, runtime.address, st)) {
		free(st);
		return COREHEAP_OK;
	}
	st->runtime = runtime.address;
	st->module = runtime.module;
	st->type_type = type_type.address;
	if (host->symbol(host, NULL, "PyCode_Type", &symbol) == COREHEAP_OK)
		st->code_type = symbol.address;
	if (host->symbol(host, NULL, "_Py_NoneStruct", &symbol) == COREHEAP_OK)
		st->none = symbol.address;
	*state_ret = st;
	*confidence_ret = 100;
	return COREHEAP_OK;
}

static uint32_t add_region(struct py_walk *walk, const char *name,
			   uint64_t address)
{
	struct coreheap_region region = { .name = name, .address = address };
	uint32_t index = UINT32_MAX;

	if (walk->host->add_region(walk->host, &region, &index) ==
	    COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
	return index;
}

static void put_stat(struct py_walk *walk, uint32_t region, const char *row,
		 const char *key, uint64_t value)
{
	const struct coreheap_host *host = walk->host;

	if (region != UINT32_MAX && COREHEAP_HOST_HAS(host, add_stat) &&
	    host->add_stat(host, region, row, key, value) == COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
}

/*
 * The Python objects in the native allocator's blocks: those pymalloc
 * passed on (more than 512 bytes: big str, bytes, tuples, ...). A block
 * holds one when it begins with an object whose type agrees with where it
 * begins (past a GC head, a managed dict).
 */
static void walk_native_blocks(struct py_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	struct coreheap_block block;
	uint64_t at = 0;

	while (walk->status == COREHEAP_OK &&
	       host->next_block(host, at, &block) == COREHEAP_OK) {
		uint64_t object;
		const struct py_type *type;

		at = block.address + 1;
		if (block.state != COREHEAP_BLOCK_LIVE || at == 0)
			break;
		type = py_object_in_block(walk, block.address, block.size,
					  &object);
		if (!type)
			continue;
		struct coreheap_object reported = {
			.address = object,
			.size = block.size,
			.header = object - block.address,
			.region = walk->native_region,
			.type_name = type->name,
		};

		if (host->add_object(host, &reported, NULL) == COREHEAP_NOMEM)
			walk->status = COREHEAP_NOMEM;
		py_note_owned(walk, object, type);
		walk->native_objects++;
	}
}

/*
 * The length of the GC list whose head is at head, or UINT64_MAX if it
 * does not lead back to its head within limit steps (every object it
 * lists is one the walk reported: a longer list loops).
 */
static uint64_t gc_list_length(struct py_walk *walk, uint64_t head,
			       uint64_t limit)
{
	uint64_t next, count = 0;

	if (!py_read_u64(walk, head, &next))
		return UINT64_MAX;
	while (next != head) {
		// _gc_next holds no flags: an object's GC head, 8-aligned.
		if (!next || next & 7 || count >= limit ||
		    !py_read_u64(walk, next, &next))
			return UINT64_MAX;
		count++;
	}
	return count;
}

// Each interpreter: a region, with its GC generations' object counts.
static void walk_interpreters(struct py_walk *walk)
{
	// Objects the arenas and native blocks did not show (a damaged
	// pool) may still be listed: twice the count, and then some.
	uint64_t limit = 2 * (walk->objects + walk->native_objects) + 100000;
	const struct py_layout *layout = walk->layout;
	uint64_t interp, first;

	if (!py_read_u64(walk,
			 walk->st->runtime + layout->runtime_interpreters_head,
			 &interp))
		return;
	first = interp;
	for (int n = 0; interp && n < PY_MAX_INTERPRETERS &&
			walk->status == COREHEAP_OK;
	     n++) {
		uint64_t id, next;
		uint32_t region;
		char name[64];

		if (!py_read_u64(walk, interp + layout->interp_id, &id) ||
		    !py_read_u64(walk, interp + layout->interp_next, &next)) {
			py_damage(walk, COREHEAP_DAMAGE_UNREADABLE, interp,
				  "CPython interpreter state at 0x%llx is not in the core",
				  (unsigned long long)interp);
			return;
		}
		snprintf(name, sizeof(name), "interpreter %lld",
			 (long long)id);
		region = add_region(walk, name, interp);
		for (int g = 0; g <= PY_NUM_GC_GENERATIONS; g++) {
			uint64_t head = g < PY_NUM_GC_GENERATIONS ?
						interp + layout->interp_gc_generations +
							g * layout->gc_generation_size :
						interp + layout->interp_gc_permanent;
			uint64_t length = gc_list_length(walk, head, limit);
			char key[32];

			snprintf(key, sizeof(key), g < PY_NUM_GC_GENERATIONS ?
						   "generation %d" :
						   "permanent",
				 g);
			if (length == UINT64_MAX) {
				py_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, head,
					  "CPython interpreter %lld: the GC list of %s does not lead back to its head",
					  (long long)id, key);
				continue;
			}
			put_stat(walk, region, "GC-tracked objects", key, length);
		}
		interp = next;
		// The list ends with NULL; back at its start, it loops.
		if (interp == first) {
			py_damage(walk, COREHEAP_DAMAGE_CYCLE, first,
				  "CPython's list of interpreters loops");
			return;
		}
	}
}

static void report_stats(struct py_walk *walk)
{
	uint32_t region = walk->arenas_region;

	put_stat(walk, region, "arenas", "in use", walk->arenas);
	put_stat(walk, region, "arenas", "slots", walk->num_arena_slots);
	put_stat(walk, region, "pools", "in use", walk->pools);
	put_stat(walk, region, "pools", "empty", walk->empty_pools);
	put_stat(walk, region, "blocks", "objects", walk->objects);
	put_stat(walk, region, "blocks", "buffers", walk->buffers);
	put_stat(walk, region, "blocks", "free", walk->free_blocks);
	put_stat(walk, region, "blocks", "buffers of known owner",
		 walk->owned_buffers);
	for (unsigned c = 0; c < PYMALLOC_NUM_CLASSES; c++) {
		char row[32];

		if (!walk->class_pools[c])
			continue;
		snprintf(row, sizeof(row), "class %u B",
			 (c + 1) * PYMALLOC_ALIGNMENT);
		put_stat(walk, region, row, "pools", walk->class_pools[c]);
		put_stat(walk, region, row, "used", walk->class_used[c]);
		put_stat(walk, region, row, "objects", walk->class_objects[c]);
		put_stat(walk, region, row, "free", walk->class_free[c]);
	}
	put_stat(walk, walk->native_region, "objects", "in native blocks",
	     walk->native_objects);
	put_stat(walk, walk->native_region, "buffers", "of known owner",
		 walk->owned_native);
}

// The walk a state kept (NULL-safe), with its types.
static void free_walk(struct py_state *st)
{
	if (st->walk) {
		py_type_cache_deinit(&st->walk->types);
		free(st->walk);
		st->walk = NULL;
	}
}

static int cpython_walk(const struct coreheap_host *host, void *state)
{
	const struct py_state *st = state;
	struct py_walk *walk;
	char name[128];
	int status;

	if (!st)
		return COREHEAP_FAILED;
	walk = calloc(1, sizeof(*walk));
	if (!walk)
		return COREHEAP_NOMEM;
	walk->host = host;
	walk->st = st;
	walk->layout = &st->layout;
	// The version and how it was known, for summary: in the region's name.
	snprintf(name, sizeof(name), "pymalloc arenas (CPython %s, %s)",
		 st->version, st->how);
	walk->arenas_region = add_region(walk, name, 0);
	walk->native_region = add_region(walk, "objects in native blocks", 0);
	if (walk->status == COREHEAP_OK)
		py_walk_pymalloc(walk);
	if (walk->status == COREHEAP_OK)
		walk_native_blocks(walk);
	if (walk->status == COREHEAP_OK)
		py_report_owned(walk);
	if (walk->status == COREHEAP_OK)
		walk_interpreters(walk);
	if (walk->status == COREHEAP_OK)
		py_declare_unrooted(walk);
	if (walk->status == COREHEAP_OK)
		report_stats(walk);
	if (walk->status == COREHEAP_OK)
		py_walk_stacks(walk);
	host->log(host, COREHEAP_LOG_INFO,
		  "CPython %s: %zu `arenas` vector(s), the first at 0x%llx (%llu slots in all, %s); %llu arenas, %llu pools (%llu empty); %llu objects and %llu buffers in use, %llu free blocks; %llu objects in native blocks; %zu types",
		  st->version, walk->num_vectors,
		  (unsigned long long)walk->arenas_array,
		  (unsigned long long)walk->num_arena_slots,
		  walk->arenas_how ? walk->arenas_how : "not found",
		  (unsigned long long)walk->arenas,
		  (unsigned long long)walk->pools,
		  (unsigned long long)walk->empty_pools,
		  (unsigned long long)walk->objects,
		  (unsigned long long)walk->buffers,
		  (unsigned long long)walk->free_blocks,
		  (unsigned long long)walk->native_objects, walk->types.types);
	if (walk->damage_count > PY_MAX_DAMAGE)
		host->log(host, COREHEAP_LOG_WARNING,
			  "%zu damage reports, only the first %d shown",
			  walk->damage_count, PY_MAX_DAMAGE);
	status = walk->status;
	py_owned_deinit(walk);
	walk->refs_budget = (walk->objects + walk->native_objects) *
				    PY_REFS_PER_OBJECT +
			    PY_REFS_FLOOR;
	// Kept, with its types, for references() and roots(); the roots are
	// the dicts of the types the walk met, whatever was asked after.
	walk->types.walk_over = true;
	free_walk(state);
	((struct py_state *)state)->walk = walk;
	return status;
}

static void cpython_destroy(void *state)
{
	if (state)
		free_walk(state);
	free(state);
}

const struct coreheap_allocator coreheap_cpython_allocator = {
	COREHEAP_ALLOCATOR_INIT,
	.name = "cpython",
	.description = "CPython 3.11's and 3.13's objects: pymalloc's arenas, the objects in native blocks, each thread's Python stack (x86-64)",
	.is_runtime = true,
	.probe = cpython_probe,
	.walk = cpython_walk,
	.destroy = cpython_destroy,
	.references = py_references,
	.roots = py_roots,
};
