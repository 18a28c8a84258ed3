// SPDX-License-Identifier: MIT
#include <elf.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/demangle.h"
#include "base/path.h"
#include "base/sort.h"
#include "base/sorted_u64.h"
#include "base/vector.h"
#include "graph/roots.h"

const char *const ch_root_kind_names[CH_NUM_ROOT_KINDS] = {
	[CH_ROOT_RUNTIME] = "runtime",
	[CH_ROOT_GLOBAL] = "global",
	[CH_ROOT_TLS] = "tls",
	[CH_ROOT_STACK] = "stack",
	[CH_ROOT_REGISTER] = "register",
};

// Which root names a byte that two candidates cover: the higher wins. Some
// are no root at all (see is_root()): a piece of memory they win is left
// out of the scan.
enum root_priority {
	PRIORITY_MAPPING,
	PRIORITY_DEAD_STACK,    // below the lowest stack pointer: no root
	PRIORITY_MODULE_DATA,
	PRIORITY_OWNED,         // an allocator's own memory: no root
	PRIORITY_UNEXPLAINED,   // owned, but no walk explained it: a root
	PRIORITY_STACK,
	PRIORITY_TLS_AREA,
	PRIORITY_THREAD,        // control block and dtv
	PRIORITY_TLS_BLOCK,
	PRIORITY_EXCLUDED,      // allocator metadata, blocks: no root at all
};

static bool is_root(int priority)
{
	return priority != PRIORITY_DEAD_STACK && priority != PRIORITY_OWNED &&
	       priority != PRIORITY_EXCLUDED;
}

// The System V x86-64 ABI lets a function use 128 bytes below rsp without
// moving it (the red zone): a thread stopped in a leaf function may hold
// pointers there.
#define RED_ZONE_BYTES 128
// The thread control block (glibc's struct pthread, 2368 bytes in 2.36 and
// a little different in every release) starts at the thread pointer. Take a
// page, clipped to its mapping: too much only scans a few more bytes of the
// dynamic linker's or the stack's memory.
#define THREAD_CONTROL_BYTES 4096
// Below the thread pointer lie the static TLS blocks and glibc's surplus
// for modules dlopen'd later (TLS_STATIC_SURPLUS, 1664 bytes by default).
#define STATIC_TLS_SURPLUS 1664
// tcbhead_t: { void *tcb; dtv_t *dtv; ... }; each dtv entry is 16 bytes,
// entry -1 holds the number of slots.
#define TCB_DTV_OFFSET 8
#define DTV_ENTRY_BYTES 16
#define MAX_DTV_SLOTS 65536
#define PAGE_SIZE_BYTES 4096

struct candidate {
	uint64_t start, end;
	int priority;
	struct ch_root root;
};

struct candidates {
	struct candidate *items;
	size_t len, capacity;
};

static struct ch_error *add_candidate(struct candidates *list, uint64_t start,
				      uint64_t end, int priority,
				      const struct ch_root *root)
{
	if (end <= start)
		return NULL;
	if (ch_vector_reserve_one((void **)&list->items, &list->capacity,
				  sizeof(*list->items), list->len))
		return &ch_enomem;
	list->items[list->len++] = (struct candidate){
		.start = start,
		.end = end,
		.priority = priority,
		.root = *root,
	};
	return NULL;
}

static uint64_t round_up_page(uint64_t value)
{
	uint64_t rounded = (value + PAGE_SIZE_BYTES - 1) & ~(uint64_t)(PAGE_SIZE_BYTES - 1);

	return rounded < value ? value : rounded;
}

static size_t mapping_index(const struct ch_address_space *as, uint64_t addr)
{
	const struct ch_mapping *mapping = ch_address_space_mapping(as, addr);

	return mapping ? (size_t)(mapping - as->mappings) : SIZE_MAX;
}

static void mark_mapping(const struct ch_address_space *as, bool *skipped,
			 uint64_t addr, size_t *last)
{
	if (*last != SIZE_MAX && addr >= as->mappings[*last].start &&
	    addr < as->mappings[*last].end)
		return;
	*last = mapping_index(as, addr);
	if (*last != SIZE_MAX)
		skipped[*last] = true;
}

/*
 * Mappings that are no global root because an allocator that declared none
 * of its memory (a plugin built before add_owned_range) has a block or a
 * region's control structure or top chunk in them: for those, a whole
 * mapping is all the host can tell. The allocators that declared what they
 * own are cut out exactly, by add_owned().
 */
static struct ch_error *find_skipped_mappings(const struct ch_program *program,
					      bool **ret)
{
	const struct ch_address_space *as = program->address_space;
	const struct ch_heap *heap = &program->heap;
	const struct ch_block_array *arrays[] = { &heap->live, &heap->free,
						  &heap->nested };
	bool *skipped = calloc(as->num_mappings + 1, sizeof(*skipped));
	bool guess[UINT8_MAX + 1];
	size_t last = SIZE_MAX;

	if (!skipped)
		return &ch_enomem;
	// Allocator indices are uint8_t: a table of them all.
	for (size_t a = 0; a <= UINT8_MAX; a++)
		guess[a] = true;
	for (size_t i = 0; i < heap->num_owned; i++)
		guess[heap->owned[i].allocator] = false;
	*ret = skipped;
	for (size_t a = 0; a < sizeof(arrays) / sizeof(arrays[0]); a++) {
		for (size_t i = 0; i < arrays[a]->len; i++) {
			if (guess[arrays[a]->blocks[i].allocator])
				mark_mapping(as, skipped,
					     arrays[a]->blocks[i].address,
					     &last);
		}
	}
	for (size_t i = 0; i < heap->num_regions; i++) {
		const struct ch_region *region = &heap->regions[i];
		const struct ch_mapping *mapping;

		if (!guess[region->allocator])
			continue;
		if (region->top_address)
			mark_mapping(as, skipped, region->top_address, &last);
		// A region's control structure inside a module (main_arena)
		// is cut out on its own; elsewhere it heads a heap mapping.
		mapping = ch_address_space_mapping(as, region->address);
		if (mapping && !ch_modules_find_by_address(program->modules,
							   region->address))
			skipped[mapping - as->mappings] = true;
	}
	return NULL;
}

static struct ch_error *add_module_roots(struct ch_program *program,
					 struct candidates *list)
{
	const struct ch_address_space *as = program->address_space;
	struct ch_error *err;

	for (size_t m = 0; m < program->modules->num_modules; m++) {
		struct ch_module *module = &program->modules->modules[m];
		struct ch_root root = {
			.module = module,
			.thread = UINT32_MAX,
			.kind = CH_ROOT_GLOBAL,
			.source = CH_ROOT_MODULE_DATA,
		};
		Elf *elf = ch_module_elf(module);
		size_t phnum;
		bool found = false;

		if (elf && elf_getphdrnum(elf, &phnum) == 0) {
			for (size_t i = 0; i < phnum; i++) {
				GElf_Phdr phdr;
				uint64_t start;

				if (!gelf_getphdr(elf, i, &phdr) ||
				    phdr.p_type != PT_LOAD || !(phdr.p_flags & PF_W))
					continue;
				start = phdr.p_vaddr + module->bias;
				// .bss ends inside its last page, and the
				// rest of that page is still the module's:
				// the dynamic linker puts its first
				// allocations there.
				root.base = start;
				err = add_candidate(list, start,
						    round_up_page(start + phdr.p_memsz),
						    PRIORITY_MODULE_DATA, &root);
				if (err)
					return err;
				found = true;
			}
		}
		if (found)
			continue;
		// No binary: the writable mappings within the module's range.
		for (size_t i = 0; i < as->num_mappings; i++) {
			const struct ch_mapping *mapping = &as->mappings[i];

			if (!(mapping->flags & PF_W) ||
			    mapping->end <= module->start ||
			    mapping->start >= module->end)
				continue;
			root.base = mapping->start;
			err = add_candidate(list, mapping->start, mapping->end,
					    PRIORITY_MODULE_DATA, &root);
			if (err)
				return err;
		}
	}
	return NULL;
}

static struct ch_error *add_mapping_roots(struct ch_program *program,
					  const bool *skipped,
					  struct candidates *list)
{
	const struct ch_address_space *as = program->address_space;
	struct ch_root root = {
		.thread = UINT32_MAX,
		.kind = CH_ROOT_GLOBAL,
		.source = CH_ROOT_MAPPING,
	};
	struct ch_error *err;

	for (size_t i = 0; i < as->num_mappings; i++) {
		const struct ch_mapping *mapping = &as->mappings[i];

		if (!(mapping->flags & PF_W) || skipped[i])
			continue;
		root.base = mapping->start;
		err = add_candidate(list, mapping->start, mapping->end,
				    PRIORITY_MAPPING, &root);
		if (err)
			return err;
	}
	return NULL;
}

static uint64_t static_tls_bytes(const struct ch_modules *modules)
{
	uint64_t total = STATIC_TLS_SURPLUS;

	for (size_t m = 0; m < modules->num_modules; m++) {
		const struct ch_module *module = &modules->modules[m];
		uint64_t align = module->tls_align ? module->tls_align : 1;

		if (module->has_tls && module->tls_size < (UINT64_C(1) << 32))
			total += module->tls_size + align;
	}
	return total;
}

static struct ch_error *add_around(const struct ch_program *program,
				   struct candidates *list, uint64_t addr,
				   uint64_t below, uint64_t above, int priority,
				   const struct ch_root *root);

// The dtv, when the dynamic linker allocated it before malloc was ready (the
// main thread's): otherwise it is a heap block, reached from the control
// block like any other.
static struct ch_error *add_dtv(struct ch_program *program, uint64_t tp,
				struct ch_root *root, struct candidates *list)
{
	const struct ch_address_space *as = program->address_space;
	uint64_t dtv, slots, start;

	if (!ch_address_space_read_u64(as, tp + TCB_DTV_OFFSET, &dtv) ||
	    dtv < DTV_ENTRY_BYTES || ch_heap_find(&program->heap, dtv) ||
	    !ch_address_space_read_u64(as, dtv - DTV_ENTRY_BYTES, &slots) ||
	    slots > MAX_DTV_SLOTS)
		return NULL;
	start = dtv - DTV_ENTRY_BYTES;
	root->source = CH_ROOT_DTV;
	root->base = dtv;
	return add_around(program, list, start, 0,
			  (slots + 2) * DTV_ENTRY_BYTES, PRIORITY_THREAD, root);
}

/*
 * The bounds that a thread's range around addr must stay within: the live
 * block holding addr, if any (a stack or TLS in malloc'd memory: coroutines,
 * stacks the program allocated), else addr's mapping. The addresses come
 * from the core's registers: they may point anywhere. False if addr is in
 * no mapping.
 */
static bool container(const struct ch_program *program, uint64_t addr,
		      uint64_t *lo_ret, uint64_t *hi_ret)
{
	const struct ch_block *block = ch_heap_find(&program->heap, addr);
	const struct ch_mapping *mapping;

	if (block) {
		*lo_ret = block->address;
		*hi_ret = block->address + ch_block_size(block) < block->address ?
				  UINT64_MAX :
				  block->address + ch_block_size(block);
		return true;
	}
	mapping = ch_address_space_mapping(program->address_space, addr);
	if (!mapping)
		return false;
	*lo_ret = mapping->start;
	*hi_ret = mapping->end;
	return true;
}

// [addr - below, addr + above) within addr's container, as a candidate.
static struct ch_error *add_around(const struct ch_program *program,
				   struct candidates *list, uint64_t addr,
				   uint64_t below, uint64_t above, int priority,
				   const struct ch_root *root)
{
	uint64_t lo, hi;

	if (!container(program, addr, &lo, &hi))
		return NULL;
	return add_candidate(list, addr - lo > below ? addr - below : lo,
			     hi - addr > above ? addr + above : hi, priority,
			     root);
}

static struct ch_error *add_thread_roots(struct ch_program *program,
					 uint32_t t, struct candidates *list)
{
	const struct ch_thread *thread = &program->core->threads[t];
	uint64_t sp = thread->regs[CH_REG_RSP];
	uint64_t tp = thread->regs[CH_REG_FS_BASE];
	struct ch_root root = { .thread = t, .kind = CH_ROOT_STACK,
				.source = CH_ROOT_THREAD_STACK, .base = sp };
	uint64_t lo, hi;
	struct ch_error *err;

	if (container(program, sp, &lo, &hi)) {
		err = add_around(program, list, sp, RED_ZONE_BYTES, hi - sp,
				 PRIORITY_STACK, &root);
		if (err)
			return err;
	} else {
		ch_program_warn(program, true,
				"the stack pointer 0x%" PRIx64 " of thread %d is in no mapping of the core: its stack is not scanned, and what only it held is reported as leaked",
				sp, thread->tid);
	}
	if (!tp || !container(program, tp, &lo, &hi))
		return NULL;

	root.kind = CH_ROOT_TLS;
	root.source = CH_ROOT_THREAD_CONTROL;
	root.base = tp;
	err = add_around(program, list, tp, 0, THREAD_CONTROL_BYTES,
			 PRIORITY_THREAD, &root);
	if (err)
		return err;
	root.source = CH_ROOT_TLS_AREA;
	err = add_around(program, list, tp, static_tls_bytes(program->modules),
			 0, PRIORITY_TLS_AREA, &root);
	if (err)
		return err;
	err = add_dtv(program, tp, &root, list);
	if (err)
		return err;

	for (size_t m = 0; m < program->modules->num_modules; m++) {
		struct ch_module *module = &program->modules->modules[m];
		uint64_t block;

		if (!module->has_tls || module->tls_size == 0)
			continue;
		err = ch_program_tls_address(program, t, module, 0, &block);
		if (err) {
			// The static TLS area above still covers it,
			// under a vaguer name.
			ch_error_destroy(err);
			continue;
		}
		root.source = CH_ROOT_TLS_BLOCK;
		root.module = module;
		root.base = block;
		err = add_around(program, list, block, 0, module->tls_size,
				 PRIORITY_TLS_BLOCK, &root);
		if (err)
			return err;
	}
	return NULL;
}

// How much of a region's control structure to leave out: what the plugin
// declared, else, in a module, its symbol's size.
static uint64_t region_metadata_bytes(const struct ch_program *program,
				      const struct ch_region *region)
{
	struct ch_module *module;
	uint64_t offset, size;

	if (!region->address)
		return 0;
	if (region->control_size)
		return region->control_size;
	module = ch_modules_find_by_address(program->modules, region->address);
	if (module &&
	    ch_module_symbol_at(module, region->address, &offset, &size) &&
	    offset == 0 && size > 0)
		return size;
	return 0;
}

// The first live block that ends after addr.
static size_t first_block_after(const struct ch_heap *heap, uint64_t addr)
{
	size_t lo = 0, hi = heap->live.len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ch_block *block = &heap->live.blocks[mid];

		if (block->address + ch_block_size(block) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

// The first of the sorted, merged ranges that ends after start, or n.
static size_t merged_after(const uint64_t (*merged)[2], size_t n,
			   uint64_t start)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (merged[mid][1] <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The live blocks after block i, which lies inside a merged range ending at
 * range_end, that are inside it too: sorted and apart (ch_heap_finish()),
 * the blocks that start before the range's end each end before the next
 * starts, all but the last, which may end past it. The index after them.
 */
static size_t past_inside(const struct ch_heap *heap, size_t i,
			  uint64_t range_end)
{
	size_t end = ch_heap_lower_bound(heap, range_end, heap->live.len);

	return end > i + 1 ? end - 1 : i + 1;
}

/*
 * A block of an allocator that declared its memory, outside everything
 * declared (a plugin that forgot some of it): the block itself is left out,
 * so that a live block is never its own root. None for glibc, whose live
 * blocks all lie in what it declared: they are passed over a range at a
 * time, not one by one (tens of millions of them).
 */
static struct ch_error *add_stray_blocks(struct ch_program *program,
					 struct candidates *list)
{
	const struct ch_heap *heap = &program->heap;
	const struct ch_block_array *arrays[] = { &heap->live, &heap->free };
	struct ch_root root = { .thread = UINT32_MAX };
	_cleanup_free_ uint64_t (*merged)[2] = NULL;
	size_t n = 0;
	struct ch_error *err;

	if (heap->num_owned == 0)
		return NULL;
	merged = malloc(heap->num_owned * sizeof(*merged));
	if (!merged)
		return &ch_enomem;
	// heap->owned is sorted by start (ch_heap_finish()).
	for (size_t i = 0; i < heap->num_owned; i++) {
		const struct ch_owned_range *owned = &heap->owned[i];

		if (n && owned->start <= merged[n - 1][1]) {
			if (owned->end > merged[n - 1][1])
				merged[n - 1][1] = owned->end;
			continue;
		}
		merged[n][0] = owned->start;
		merged[n][1] = owned->end;
		n++;
	}
	for (size_t a = 0; a < sizeof(arrays) / sizeof(arrays[0]); a++) {
		const struct ch_block_array *array = arrays[a];

		for (size_t i = 0; i < array->len;) {
			const struct ch_block *block = &array->blocks[i];
			uint64_t end = ch_block_end(block);
			size_t k = merged_after(merged, n, block->address);

			if (k < n && merged[k][0] <= block->address &&
			    end <= merged[k][1]) {
				i = array == &heap->live ?
					    past_inside(heap, i, merged[k][1]) :
					    i + 1;
				continue;
			}
			i++;
			if (!ch_heap_allocator_declares_owned(heap,
							      block->allocator))
				continue;
			err = add_candidate(list, block->address, end,
					    PRIORITY_EXCLUDED, &root);
			if (err)
				return err;
		}
	}
	return NULL;
}

static struct ch_error *add_exclusions(struct ch_program *program,
				       struct candidates *list)
{
	const struct ch_heap *heap = &program->heap;
	struct ch_root root = { .thread = UINT32_MAX };
	size_t num_candidates = list->len;
	struct ch_error *err;

	// Live blocks inside a module's data (an allocator with a static
	// arena) are nodes of the graph, not roots.
	for (size_t c = 0; c < num_candidates; c++) {
		const struct candidate *candidate = &list->items[c];
		uint64_t start = candidate->start, end = candidate->end;

		if (candidate->priority != PRIORITY_MODULE_DATA)
			continue;
		for (size_t i = first_block_after(heap, start);
		     i < heap->live.len && heap->live.blocks[i].address < end; i++) {
			const struct ch_block *block = &heap->live.blocks[i];

			err = add_candidate(list, block->address,
					    block->address + ch_block_size(block),
					    PRIORITY_EXCLUDED, &root);
			if (err)
				return err;
		}
	}

	for (size_t i = 0; i < program->heap.num_regions; i++) {
		const struct ch_region *region = &program->heap.regions[i];
		uint64_t bytes = region_metadata_bytes(program, region);

		if (region->address + bytes < region->address)
			continue;
		err = add_candidate(list, region->address,
				    region->address + bytes, PRIORITY_EXCLUDED,
				    &root);
		if (err)
			return err;
	}
	return add_stray_blocks(program, list);
}

/*
 * What the allocators declared as their own: no root, but for the pieces
 * their walks could not explain, which are roots named for what they are
 * (a foreign sbrk between two runs of glibc's main arena holds the
 * program's own data; chunks skipped after damage may hold pointers to
 * live blocks).
 */
static struct ch_error *add_owned(struct ch_program *program,
				  struct candidates *list)
{
	const struct ch_heap *heap = &program->heap;
	struct ch_root root = {
		.thread = UINT32_MAX,
		.kind = CH_ROOT_GLOBAL,
		.source = CH_ROOT_UNEXPLAINED,
	};
	struct ch_error *err;

	for (size_t i = 0; i < heap->num_owned; i++) {
		const struct ch_owned_range *owned = &heap->owned[i];
		bool unexplained = owned->kind == COREHEAP_OWNED_UNEXPLAINED;

		root.base = owned->start;
		err = add_candidate(list, owned->start, owned->end,
				    unexplained ? PRIORITY_UNEXPLAINED :
						  PRIORITY_OWNED,
				    &root);
		if (err)
			return err;
	}
	return NULL;
}

/*
 * Below the lowest stack pointer of the threads whose stacks are in one
 * mapping, less the red zone, lie only words of calls that returned: no
 * root. Not where the stack is in a live block (the block is a node of the
 * graph) or in a module's memory (a static array used as a stack: the
 * module's other data lie below it).
 */
static struct ch_error *add_dead_stacks(struct ch_program *program,
					struct candidates *list)
{
	const struct ch_address_space *as = program->address_space;
	const struct ch_core *core = program->core;
	_cleanup_free_ uint64_t *lowest = NULL;
	struct ch_root root = { .thread = UINT32_MAX };
	struct ch_error *err;

	lowest = malloc((as->num_mappings + 1) * sizeof(*lowest));
	if (!lowest)
		return &ch_enomem;
	for (size_t i = 0; i < as->num_mappings; i++)
		lowest[i] = UINT64_MAX;
	for (size_t t = 0; t < core->num_threads; t++) {
		uint64_t sp = core->threads[t].regs[CH_REG_RSP];
		size_t m = mapping_index(as, sp);

		if (m == SIZE_MAX || ch_heap_find(&program->heap, sp))
			continue;
		if (sp < lowest[m])
			lowest[m] = sp;
	}
	for (size_t i = 0; i < as->num_mappings; i++) {
		const struct ch_mapping *mapping = &as->mappings[i];

		if (lowest[i] == UINT64_MAX ||
		    lowest[i] - mapping->start <= RED_ZONE_BYTES ||
		    ch_modules_find_by_address(program->modules, mapping->start) ||
		    ch_modules_find_by_address(program->modules,
					       lowest[i] - 1))
			continue;
		err = add_candidate(list, mapping->start,
				    lowest[i] - RED_ZONE_BYTES,
				    PRIORITY_DEAD_STACK, &root);
		if (err)
			return err;
	}
	return NULL;
}

static int compare_priority(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->priority != y->priority)
		return y->priority - x->priority;
	return x->start < y->start ? -1 : x->start > y->start;
}

// Union-find over elementary intervals: the first unowned one at or after i.
static size_t next_unowned(size_t *next, size_t i)
{
	size_t root = i;

	while (next[root] != root)
		root = next[root];
	while (next[i] != root) {
		size_t up = next[i];

		next[i] = root;
		i = up;
	}
	return root;
}

/*
 * Make the candidates disjoint: cut the line at every start and end, give
 * each elementary interval to the highest-priority candidate covering it
 * (skipping intervals already given away with a union-find, so the whole is
 * near linear however the candidates overlap), then merge neighbours that
 * went to the same candidate.
 */
static struct ch_error *resolve(struct candidates *list, struct ch_roots *roots)
{
	size_t n = list->len, num_points = 0;
	_cleanup_free_ uint64_t *points = malloc((2 * n + 1) * sizeof(*points));
	_cleanup_free_ uint32_t *owner = NULL;
	_cleanup_free_ size_t *next = NULL;

	if (!points)
		return &ch_enomem;
	ch_sort(list->items, n, sizeof(*list->items), compare_priority);
	for (size_t i = 0; i < n; i++) {
		points[num_points++] = list->items[i].start;
		points[num_points++] = list->items[i].end;
	}
	num_points = ch_sort_unique_u64(points, num_points);
	owner = malloc((num_points + 1) * sizeof(*owner));
	next = malloc((num_points + 1) * sizeof(*next));
	if (!owner || !next)
		return &ch_enomem;
	for (size_t i = 0; i <= num_points; i++) {
		owner[i] = UINT32_MAX;
		next[i] = i;
	}
	for (size_t c = 0; c < n; c++) {
		size_t hi = ch_count_below_u64(points, num_points,
					       list->items[c].end);
		size_t j = next_unowned(next,
					ch_count_below_u64(points, num_points,
							   list->items[c].start));

		while (j < hi) {
			owner[j] = c;
			next[j] = j + 1;
			j = next_unowned(next, j + 1);
		}
	}

	roots->roots = malloc((num_points + roots->num_threads + 1) *
			      sizeof(*roots->roots));
	if (!roots->roots)
		return &ch_enomem;
	for (size_t j = 0; j + 1 < num_points; j++) {
		const struct candidate *c;
		struct ch_root *last;

		if (owner[j] == UINT32_MAX)
			continue;
		c = &list->items[owner[j]];
		if (c->priority == PRIORITY_DEAD_STACK) {
			roots->dead_stack_bytes += points[j + 1] - points[j];
			continue;
		}
		if (!is_root(c->priority)) {
			roots->excluded_bytes += points[j + 1] - points[j];
			continue;
		}
		roots->memory_bytes += points[j + 1] - points[j];
		last = roots->num_roots ? &roots->roots[roots->num_roots - 1] :
					  NULL;
		if (last && last->end == points[j] && j > 0 &&
		    owner[j - 1] == owner[j]) {
			last->end = points[j + 1];
			continue;
		}
		roots->roots[roots->num_roots] = c->root;
		roots->roots[roots->num_roots].start = points[j];
		roots->roots[roots->num_roots].end = points[j + 1];
		roots->num_roots++;
	}
	return NULL;
}

/** The most roots kept from the runtimes: a bound against a hostile core. */
#define MAX_RUNTIME_ROOTS (UINT64_C(1) << 24)

static int add_runtime_root(void *arg, const struct coreheap_root *root)
{
	struct ch_roots *roots = arg;
	char *name;

	if (!root->name || !root->target ||
	    roots->num_runtime >= MAX_RUNTIME_ROOTS)
		return COREHEAP_OK;
	if (ch_vector_reserve_one((void **)&roots->runtime,
				  &roots->runtime_capacity,
				  sizeof(*roots->runtime), roots->num_runtime))
		return COREHEAP_NOMEM;
	name = strdup(root->name);
	if (!name)
		return COREHEAP_NOMEM;
	roots->runtime[roots->num_runtime++] =
		(struct ch_runtime_root){ name, root->target };
	return COREHEAP_OK;
}

struct ch_error *ch_roots_create(struct ch_program *program,
				 struct ch_roots **ret)
{
	const struct ch_core *core = program->core;
	struct candidates list = { 0 };
	_cleanup_free_ bool *skipped = NULL;
	struct ch_roots *roots;
	struct ch_error *err;

	if (core->num_threads >= UINT32_MAX)
		return ch_error_create(CH_ERROR_CORRUPT, "too many threads");
	roots = calloc(1, sizeof(*roots));
	if (!roots)
		return &ch_enomem;
	roots->num_threads = core->num_threads;
	err = find_skipped_mappings(program, &skipped);
	if (!err)
		err = add_mapping_roots(program, skipped, &list);
	if (!err)
		err = add_module_roots(program, &list);
	for (uint32_t t = 0; !err && t < core->num_threads; t++)
		err = add_thread_roots(program, t, &list);
	if (!err)
		err = add_dead_stacks(program, &list);
	if (!err)
		err = add_owned(program, &list);
	if (!err)
		err = add_exclusions(program, &list);
	if (!err)
		err = resolve(&list, roots);
	free(list.items);
	if (err) {
		ch_roots_destroy(roots);
		return err;
	}
	for (uint32_t t = 0; t < core->num_threads; t++) {
		roots->roots[roots->num_roots++] = (struct ch_root){
			.start = 0,
			.end = CH_NUM_REGS,
			.thread = t,
			.kind = CH_ROOT_REGISTER,
			.source = CH_ROOT_REGISTERS,
		};
	}
	err = ch_program_runtime_roots(program, add_runtime_root, roots);
	if (err) {
		ch_roots_destroy(roots);
		return err;
	}
	if (roots->num_runtime)
		roots->roots[roots->num_roots++] = (struct ch_root){
			.start = 0,
			.end = roots->num_runtime,
			.thread = UINT32_MAX,
			.kind = CH_ROOT_RUNTIME,
			.source = CH_ROOT_RUNTIME_NAMED,
		};
	*ret = roots;
	return NULL;
}

void ch_roots_destroy(struct ch_roots *roots)
{
	if (!roots)
		return;
	for (size_t i = 0; i < roots->num_runtime; i++)
		free(roots->runtime[i].name);
	free(roots->runtime);
	free(roots->roots);
	free(roots);
}

static struct ch_error *append_offset(struct ch_strbuf *name, uint64_t offset)
{
	return offset ? ch_strbuf_appendf(name, "+0x%" PRIx64, offset) : NULL;
}

// "[unexplained glibc main_arena 0x5555...]+0x10": whose memory it is.
static struct ch_error *describe_unexplained(struct ch_program *program,
					     const struct ch_root *root,
					     uint64_t source,
					     struct ch_strbuf *name)
{
	const struct ch_heap *heap = &program->heap;
	const char *allocator = "?", *region = "?";
	struct ch_error *err;

	for (size_t i = 0; i < heap->num_owned; i++) {
		const struct ch_owned_range *owned = &heap->owned[i];

		if (owned->start != root->base ||
		    owned->kind != COREHEAP_OWNED_UNEXPLAINED)
			continue;
		if (owned->allocator < program->allocators.num_uses)
			allocator = program->allocators.uses[owned->allocator]
					    .ops->name;
		if (owned->region < heap->num_regions)
			region = heap->regions[owned->region].name;
		break;
	}
	err = ch_strbuf_appendf(name, "[unexplained %s %s 0x%" PRIx64 "]",
				allocator, region, root->base);
	return err ? err : append_offset(name, source - root->base);
}

static struct ch_error *describe_global(struct ch_program *program,
					const struct ch_root *root,
					uint64_t source, struct ch_strbuf *name)
{
	const struct ch_mapping *mapping;
	struct ch_error *err;

	// "prog!grow(int, int)::keep+0x8", or "prog+0x4010" stripped.
	if (root->source == CH_ROOT_MODULE_DATA)
		return ch_modules_name_address(program->modules, source,
					       CH_NAME_MODULE | CH_NAME_OFFSET,
					       name);
	if (root->source == CH_ROOT_UNEXPLAINED)
		return describe_unexplained(program, root, source, name);
	mapping = ch_address_space_mapping(program->address_space, source);
	if (mapping && mapping->file)
		err = ch_strbuf_appendf(name, "[%s 0x%" PRIx64 "]",
					ch_base_name(mapping->file), root->base);
	else
		err = ch_strbuf_appendf(name, "[anon 0x%" PRIx64 "]", root->base);
	return err ? err : append_offset(name, source - root->base);
}

// The frame whose part of the stack holds addr: frame k owns
// [sp of frame k, sp of the next frame that has one). Words below the
// innermost known sp (its red zone) are that frame's.
static size_t frame_holding(const struct ch_stack *stack, uint64_t addr)
{
	size_t found = SIZE_MAX;

	for (size_t k = 0; k < stack->num_frames; k++) {
		if (!stack->frames[k].context.has_sp)
			continue;
		if (stack->frames[k].context.sp > addr && found != SIZE_MAX)
			break;
		found = k;
	}
	return found;
}

static struct ch_error *describe_stack(struct ch_program *program,
				       const struct ch_root *root,
				       uint64_t source, struct ch_strbuf *name)
{
	const struct ch_stacks *stacks;
	const struct ch_frame *frame;
	const char *local = NULL;
	uint64_t local_offset = 0, sp;
	size_t k;
	struct ch_error *err;

	err = ch_program_stacks(program, &stacks);
	if (err)
		return err;
	k = frame_holding(&stacks->threads[root->thread], source);
	if (k == SIZE_MAX)
		return ch_strbuf_appendf(name, "stack 0x%" PRIx64, source);
	frame = &stacks->threads[root->thread].frames[k];
	// The function demangled, or module+0xoffset in a stripped binary.
	err = ch_strbuf_appendf(name, "frame %zu ", k);
	if (!err)
		err = ch_modules_name_address(program->modules,
					      frame->context.pc, 0, name);
	if (err)
		return err;
	if (frame->module)
		local = ch_module_find_local(frame->module, &frame->context,
					     source, &local_offset);
	if (local) {
		err = ch_strbuf_appendf(name, " (local %s", local);
		if (!err)
			err = append_offset(name, local_offset);
		return err ? err : ch_strbuf_append(name, ")", 1);
	}
	sp = frame->context.sp;
	if (source >= sp)
		return ch_strbuf_appendf(name, " (sp+0x%" PRIx64 ")",
					 source - sp);
	return ch_strbuf_appendf(name, " (sp-0x%" PRIx64 ")", sp - source);
}

static struct ch_error *describe_tls(struct ch_program *program,
				     const struct ch_root *root,
				     uint64_t source, struct ch_strbuf *name)
{
	_cleanup_free_ char *demangled = NULL;
	const char *symbol;
	uint64_t offset;
	struct ch_error *err;

	switch (root->source) {
	case CH_ROOT_TLS_BLOCK:
		symbol = ch_module_symbolize_tls(root->module,
						 source - root->base, &offset);
		if (!symbol)
			return ch_strbuf_appendf(name, "%s!tls+0x%" PRIx64,
						 ch_base_name(root->module->name),
						 source - root->base);
		demangled = ch_demangle_symbol(symbol);
		err = ch_strbuf_appendf(name, "%s!%s",
					ch_base_name(root->module->name),
					demangled ? demangled : symbol);
		return err ? err : append_offset(name, offset);
	case CH_ROOT_THREAD_CONTROL:
		err = ch_strbuf_appendf(name, "thread control block");
		return err ? err : append_offset(name, source - root->base);
	case CH_ROOT_DTV:
		err = ch_strbuf_appendf(name, "dtv");
		return err ? err : append_offset(name, source - root->base);
	default:
		return ch_strbuf_appendf(name, "static TLS (fs-0x%" PRIx64 ")",
					 root->base - source);
	}
}

struct ch_error *ch_roots_describe(struct ch_roots *roots,
				   struct ch_program *program, uint32_t index,
				   uint64_t source, struct ch_strbuf *name)
{
	const struct ch_root *root = &roots->roots[index];
	struct ch_error *err;

	if (root->kind == CH_ROOT_RUNTIME)
		return ch_strbuf_appendf(name, "%s",
					 source < roots->num_runtime ?
						 roots->runtime[source].name :
						 "?");
	if (root->kind == CH_ROOT_GLOBAL)
		return describe_global(program, root, source, name);
	err = ch_strbuf_appendf(name, "tid %d ",
				program->core->threads[root->thread].tid);
	if (err)
		return err;
	switch (root->kind) {
	case CH_ROOT_STACK:
		return describe_stack(program, root, source, name);
	case CH_ROOT_TLS:
		return describe_tls(program, root, source, name);
	default:
		return ch_strbuf_appendf(name, "%s",
					 source < CH_NUM_REGS ?
						 ch_reg_names[source] :
						 "register");
	}
}

struct ch_error *ch_roots_named(struct ch_roots *roots,
				struct ch_program *program, uint32_t index,
				uint64_t source, bool *ret)
{
	const struct ch_root *root = &roots->roots[index];
	const struct ch_stacks *stacks;
	const struct ch_frame *frame;
	uint64_t offset;
	size_t k;
	struct ch_error *err;

	*ret = false;
	switch (root->source) {
	case CH_ROOT_RUNTIME_NAMED:
		*ret = true;
		return NULL;
	case CH_ROOT_MODULE_DATA:
		*ret = ch_module_symbolize(root->module, source, &offset) != NULL;
		return NULL;
	case CH_ROOT_TLS_BLOCK:
		*ret = ch_module_symbolize_tls(root->module, source - root->base,
					       &offset) != NULL;
		return NULL;
	case CH_ROOT_THREAD_STACK:
		break;
	default:
		return NULL;
	}
	err = ch_program_stacks(program, &stacks);
	if (err)
		return err;
	k = frame_holding(&stacks->threads[root->thread], source);
	if (k == SIZE_MAX)
		return NULL;
	frame = &stacks->threads[root->thread].frames[k];
	*ret = frame->module &&
	       ch_module_find_local(frame->module, &frame->context, source,
				    &offset) != NULL;
	return NULL;
}
