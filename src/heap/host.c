// SPDX-License-Identifier: MIT
#include <gelf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/path.h"
#include "heap/host.h"
#include "heap/program.h"

// The most header words a block keeps (ch_block::header_words).
#define MAX_HEADER_WORDS 15
// The walk's progress is passed on by the megabyte: a block takes a few
// nanoseconds here.
#define PROGRESS_BYTES ((uint64_t)1 << 20)

static struct ch_host *host_of(const struct coreheap_host *ops)
{
	return ops->private_data;
}

static struct ch_program *program_of(const struct coreheap_host *ops)
{
	return host_of(ops)->program;
}

// Keep the first error of the host's own; the plugin sees a status, and
// the program ends with the error once the plugin returns.
static int host_fail(const struct coreheap_host *ops, struct ch_error *err)
{
	struct ch_host *host = host_of(ops);
	int status;

	if (!err)
		return COREHEAP_OK;
	status = err == &ch_enomem ? COREHEAP_NOMEM : COREHEAP_FAILED;
	if (!host->err)
		host->err = err;
	else
		ch_error_destroy(err);
	return status;
}

static int host_read(const struct coreheap_host *ops, uint64_t addr,
		     void *buf, size_t len)
{
	return ch_address_space_read_quiet(program_of(ops)->address_space, addr,
					   buf, len) ?
		       COREHEAP_OK :
		       COREHEAP_FAULT;
}

static const void *host_map(const struct coreheap_host *ops, uint64_t addr,
			    size_t len)
{
	return ch_address_space_map(program_of(ops)->address_space, addr, len);
}

static int symbol_in(struct ch_program *program, struct ch_module *module,
		     const char *name, struct coreheap_symbol *ret)
{
	struct ch_module_symbol sym;
	struct ch_error *err = ch_module_find_symbol(module, name, &sym);

	if (err) {
		ch_error_destroy(err);
		return COREHEAP_NOT_FOUND;
	}
	*ret = (struct coreheap_symbol){
		.address = sym.address,
		.size = sym.size,
		.module = module - program->modules->modules,
		.is_tls = sym.is_tls,
		.from_debuginfo = sym.from_debuginfo,
	};
	return COREHEAP_OK;
}

static int host_symbol(const struct coreheap_host *ops,
		       const char *module_name, const char *name,
		       struct coreheap_symbol *ret)
{
	struct ch_program *program = program_of(ops);
	struct ch_modules *modules = program->modules;

	for (size_t i = 0; i < modules->num_modules; i++) {
		struct ch_module *module = &modules->modules[i];

		if (module_name &&
		    strncmp(ch_base_name(module->name), module_name,
			    strlen(module_name)) != 0)
			continue;
		if (symbol_in(program, module, name, ret) == COREHEAP_OK)
			return COREHEAP_OK;
	}
	return COREHEAP_NOT_FOUND;
}

static int host_tls_address(const struct coreheap_host *ops, size_t thread,
			    uint32_t module, uint64_t offset, uint64_t *ret)
{
	struct ch_program *program = program_of(ops);
	struct ch_error *err;

	if (module >= program->modules->num_modules ||
	    thread >= program->core->num_threads)
		return COREHEAP_NOT_FOUND;
	err = ch_program_tls_address(program, thread,
				     &program->modules->modules[module], offset,
				     ret);
	if (err) {
		bool nomem = err == &ch_enomem;

		ch_error_destroy(err);
		return nomem ? COREHEAP_NOMEM : COREHEAP_NOT_FOUND;
	}
	return COREHEAP_OK;
}

static size_t host_num_threads(const struct coreheap_host *ops)
{
	return program_of(ops)->core->num_threads;
}

static int host_thread(const struct coreheap_host *ops, size_t i,
		       struct coreheap_thread *ret)
{
	const struct ch_core *core = program_of(ops)->core;
	const struct ch_thread *thread;

	if (i >= core->num_threads)
		return COREHEAP_NOT_FOUND;
	thread = &core->threads[i];
	*ret = (struct coreheap_thread){
		.tid = thread->tid,
		.pc = thread->regs[CH_REG_RIP],
		.sp = thread->regs[CH_REG_RSP],
		.thread_pointer = thread->regs[CH_REG_FS_BASE],
	};
	return COREHEAP_OK;
}

static size_t host_num_modules(const struct coreheap_host *ops)
{
	return program_of(ops)->modules->num_modules;
}

static int host_module(const struct coreheap_host *ops, size_t i,
		       struct coreheap_module *ret)
{
	const struct ch_modules *modules = program_of(ops)->modules;
	const struct ch_module *module;

	if (i >= modules->num_modules)
		return COREHEAP_NOT_FOUND;
	module = &modules->modules[i];
	*ret = (struct coreheap_module){
		.name = module->name,
		.path = module->path,
		.debug_path = module->debug_path,
		.start = module->start,
		.end = module->end,
		.bias = module->bias,
		.has_binary = module->has_binary,
		.has_debuginfo = module->has_debug_symbols,
	};
	return COREHEAP_OK;
}

static int host_find_module(const struct coreheap_host *ops,
			    const char *prefix, uint32_t *ret)
{
	const struct ch_modules *modules = program_of(ops)->modules;
	struct ch_module *module = ch_modules_find_by_prefix(modules, prefix);

	if (!module)
		return COREHEAP_NOT_FOUND;
	*ret = module - modules->modules;
	return COREHEAP_OK;
}

static size_t host_num_mappings(const struct coreheap_host *ops)
{
	return program_of(ops)->address_space->num_mappings;
}

static int host_mapping(const struct coreheap_host *ops, size_t i,
			struct coreheap_mapping *ret)
{
	const struct ch_address_space *as = program_of(ops)->address_space;
	const struct ch_mapping *mapping;

	if (i >= as->num_mappings)
		return COREHEAP_NOT_FOUND;
	mapping = &as->mappings[i];
	*ret = (struct coreheap_mapping){
		.start = mapping->start,
		.end = mapping->end,
		.prot = ((mapping->flags & PF_R) ? COREHEAP_PROT_READ : 0) |
			((mapping->flags & PF_W) ? COREHEAP_PROT_WRITE : 0) |
			((mapping->flags & PF_X) ? COREHEAP_PROT_EXEC : 0),
		.file = mapping->file,
		.available = mapping->available,
	};
	return COREHEAP_OK;
}

static int host_add_region(const struct coreheap_host *ops,
			   const struct coreheap_region *region, uint32_t *ret)
{
	struct ch_host *host = host_of(ops);

	return host_fail(ops, ch_heap_add_region(&host->program->heap,
						 host->allocator, region->name,
						 region->address,
						 region->control_size,
						 region->system_bytes,
						 region->top_address,
						 region->top_size, ret));
}

// A size no address space holds: damage the host records, not a block.
static int refuse_size(const struct coreheap_host *ops, uint32_t region,
		       uint64_t address, uint64_t size)
{
	struct ch_host *host = host_of(ops);
	char message[160];

	snprintf(message, sizeof(message),
		 "block at 0x%" PRIx64 " claims %" PRIu64
		 " bytes, more than an address space holds",
		 address, size);
	return host_fail(ops, ch_heap_add_damage(&host->program->heap,
						 host->allocator,
						 COREHEAP_DAMAGE_BAD_SIZE,
						 region, address, message));
}

static int host_add_block(const struct coreheap_host *ops,
			  const struct coreheap_block *block)
{
	struct ch_host *host = host_of(ops);
	struct ch_block stored;
	uint16_t runtime_type = 0;

	if (block->state > COREHEAP_BLOCK_METADATA)
		return COREHEAP_FAILED;
	if (block->size > CH_BLOCK_MAX_SIZE)
		return refuse_size(ops, block->region, block->address,
				   block->size);
	stored = ch_block_make(block->address, block->size, block->state,
			       host->allocator);
	if (block->parent == 0)
		ch_progress_count(&host->progress, block->size);
	if (block->type_name && block->type_name[0]) {
		struct ch_error *err = ch_heap_intern_runtime_type(
			&host->program->heap, block->type_name, &runtime_type);

		if (err)
			return host_fail(ops, err);
	}
	return host_fail(ops, ch_heap_add_block(&host->program->heap, &stored,
						block->region, runtime_type,
						block->parent != 0));
}

static int host_add_damage(const struct coreheap_host *ops,
			   const struct coreheap_damage *damage)
{
	struct ch_host *host = host_of(ops);

	return host_fail(ops, ch_heap_add_damage(&host->program->heap,
						 host->allocator, damage->kind,
						 damage->region,
						 damage->address,
						 damage->message));
}

// The live block i as a plugin sees it.
static void report_live_block(const struct ch_heap *heap, size_t i,
			      struct coreheap_block *ret)
{
	const struct ch_block *block = &heap->live.blocks[i];

	*ret = (struct coreheap_block){
		.address = block->address,
		.size = ch_block_size(block),
		.state = block->state,
		.region = ch_block_array_region(&heap->live, i),
	};
}

static int host_find_block(const struct coreheap_host *ops, uint64_t addr,
			   struct coreheap_block *ret)
{
	const struct ch_heap *heap = &program_of(ops)->heap;
	// Only the sorted native blocks: a runtime's own, reported during its
	// walk, are sorted in after it.
	const struct ch_block *block = ch_heap_find_in(heap, addr,
						       heap->native_live);

	if (!block)
		return COREHEAP_NOT_FOUND;
	report_live_block(heap, block - heap->live.blocks, ret);
	return COREHEAP_OK;
}

static int host_next_block(const struct coreheap_host *ops, uint64_t addr,
			   struct coreheap_block *ret)
{
	const struct ch_heap *heap = &program_of(ops)->heap;
	size_t i = ch_heap_lower_bound(heap, addr, heap->native_live);

	if (i >= heap->native_live)
		return COREHEAP_NOT_FOUND;
	report_live_block(heap, i, ret);
	return COREHEAP_OK;
}

static int host_type_block(const struct coreheap_host *ops, uint64_t address,
			   const char *type_name)
{
	struct ch_host *host = host_of(ops);
	struct ch_program *program = host->program;
	struct ch_heap *heap = &program->heap;
	size_t i = ch_heap_lower_bound(heap, address, heap->native_live);
	uint16_t type;
	struct ch_error *err;

	// The plugin's bugs, not the host's: refused, and the host goes on.
	if (!program->allocators.uses[host->allocator].ops->is_runtime ||
	    !type_name || !type_name[0])
		return COREHEAP_FAILED;
	if (i >= heap->native_live || heap->live.blocks[i].address != address)
		return COREHEAP_NOT_FOUND;
	if (ch_block_array_runtime_type(&heap->live, i))
		return COREHEAP_OK;
	err = ch_heap_intern_runtime_type(heap, type_name, &type);
	if (!err)
		err = ch_block_array_set_runtime_type(&heap->live, i, type);
	return host_fail(ops, err);
}

static int host_add_object(const struct coreheap_host *ops,
			   const struct coreheap_object *object,
			   uint64_t *parent_ret)
{
	struct ch_host *host = host_of(ops);
	struct ch_program *program = host->program;
	struct ch_heap *heap = &program->heap;
	struct ch_block stored = {
		.address = object->address,
		.state = COREHEAP_BLOCK_LIVE,
		.runtime_object = 1,
		.allocator = host->allocator,
	};
	uint16_t runtime_type = 0;
	uint64_t size;
	const struct ch_block *parent;
	size_t parent_index;
	struct ch_error *err;

	// The plugin's bugs, not the host's: refused, and the host goes on.
	if (!program->allocators.uses[host->allocator].ops->is_runtime ||
	    !object->address || object->size <= object->header ||
	    object->header > object->address || object->header % 8 ||
	    object->header / 8 > MAX_HEADER_WORDS)
		return COREHEAP_FAILED;
	if (object->type_name && object->type_name[0]) {
		err = ch_heap_intern_runtime_type(heap, object->type_name,
						  &runtime_type);
		if (err)
			return host_fail(ops, err);
	}
	// The node is the object's whole memory, header included: the words
	// there (CPython's managed dict pointers) keep things alive too.
	stored.address = object->address - object->header;
	size = object->size;
	stored.header_words = object->header / 8;
	parent = ch_heap_find_in(heap, object->address, heap->native_live);
	if (parent_ret)
		*parent_ret = parent ? parent->address : 0;
	if (!parent) {
		if (size > CH_BLOCK_MAX_SIZE)
			return refuse_size(ops, object->region,
					   stored.address, size);
		ch_block_set_size(&stored, size);
		return host_fail(ops, ch_heap_add_block(heap, &stored,
							object->region,
							runtime_type, false));
	}
	// Inside its holder, never past it: the holder is the truth on sizes.
	if (stored.address < parent->address) {
		// A header that would begin before its holder (which holds the
		// identity): only its part inside.
		size -= parent->address - stored.address;
		stored.address = parent->address;
		stored.header_words = (object->address - parent->address) / 8;
	}
	if (size > ch_block_end(parent) - stored.address)
		size = ch_block_end(parent) - stored.address;
	ch_block_set_size(&stored, size);
	// A block the runtime allocated for this very object is of its type.
	parent_index = parent - heap->live.blocks;
	if (stored.address == parent->address &&
	    !ch_block_array_runtime_type(&heap->live, parent_index)) {
		err = ch_block_array_set_runtime_type(&heap->live, parent_index,
						      runtime_type);
		if (err)
			return host_fail(ops, err);
	}
	return host_fail(ops, ch_heap_add_block(heap, &stored, object->region,
						runtime_type, true));
}

static int host_add_owned_range(const struct coreheap_host *ops,
				uint32_t region, uint64_t start, uint64_t end,
				uint32_t kind)
{
	struct ch_host *host = host_of(ops);

	// The plugin's bug, not the host's: refused, and the host goes on.
	if (end <= start || kind > COREHEAP_OWNED_UNEXPLAINED)
		return COREHEAP_FAILED;
	return host_fail(ops, ch_heap_add_owned_range(&host->program->heap,
						      host->allocator, region,
						      start, end, kind));
}

static int host_add_stat(const struct coreheap_host *ops, uint32_t region,
			 const char *row, const char *key, uint64_t value)
{
	struct ch_host *host = host_of(ops);
	const struct ch_heap *heap = &host->program->heap;

	// The plugin's bug, not the host's: refused, and the host goes on.
	if (region >= heap->num_regions ||
	    heap->regions[region].allocator != host->allocator || !row ||
	    !*row || !key || !*key)
		return COREHEAP_FAILED;
	return host_fail(ops, ch_heap_add_stat(&host->program->heap, region,
					       row, key, value));
}

static int host_add_alloc_stack(const struct coreheap_host *ops,
				uint64_t address, const uint64_t *pcs,
				size_t num_pcs)
{
	struct ch_host *host = host_of(ops);

	// The plugin's bug, not the host's: refused, and the host goes on.
	if (!pcs || !num_pcs || num_pcs > COREHEAP_MAX_STACK_PCS)
		return COREHEAP_FAILED;
	return host_fail(ops, ch_alloc_stacks_add(&host->program->heap.alloc_stacks,
						  address, pcs, num_pcs));
}

static int host_add_runtime_stack(const struct coreheap_host *ops,
				  const struct coreheap_runtime_stack *stack)
{
	struct ch_host *host = host_of(ops);
	struct ch_program *program = host->program;

	// The plugin's bugs, not the host's: refused, and the host goes on.
	if (!program->allocators.uses[host->allocator].ops->is_runtime ||
	    !stack || stack->num_frames > COREHEAP_MAX_RUNTIME_FRAMES ||
	    (stack->num_frames && !stack->frames))
		return COREHEAP_FAILED;
	return host_fail(ops, ch_runtime_stacks_add(&program->heap.runtime_stacks,
						    host->allocator, stack));
}

static void host_log(const struct coreheap_host *ops, int level,
		     const char *format, ...)
{
	struct ch_host *host = host_of(ops);
	struct ch_program *program = host->program;
	const char *name = program->allocators.uses[host->allocator].ops->name;
	char message[512];
	va_list ap;

	va_start(ap, format);
	vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	if (level >= COREHEAP_LOG_WARNING)
		ch_program_warn(program, false, "%s: %s", name, message);
	else if (program->verbose)
		fprintf(stderr, "coreheap: %s: %s\n", name, message);
}

void ch_host_init(struct ch_host *host, struct ch_program *program,
		  uint8_t allocator)
{
	*host = (struct ch_host){
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
		.program = program,
		.allocator = allocator,
		.progress = { .step = PROGRESS_BYTES },
	};
}

struct ch_error *ch_host_take_error(struct ch_host *host)
{
	struct ch_error *err = host->err;

	host->err = NULL;
	return err;
}
