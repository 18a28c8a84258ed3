// SPDX-License-Identifier: MIT
// The plugin table and plugin loading.
#include <criterion/criterion.h>
#include <elf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap/allocators.h"
#include "heap/host.h"
#include "heap/program.h"
#include "synthetic_core.h"
#include "types/types.h"

static void setup(void)
{
	elf_version(EV_CURRENT);
}

TestSuite(plugins, .init = setup);

// A core that has memory but no heap of any kind.
static char *core_without_heap(void)
{
	static uint8_t zeroes[4096];
	struct synth_core synth;

	synth_core_init(&synth);
	synth.segments[0] = (struct synth_segment){
		.vaddr = 0x20000, .memsz = sizeof(zeroes), .data = zeroes,
		.filesz = sizeof(zeroes), .flags = PF_R | PF_W };
	synth.num_segments = 1;
	synth.num_threads = 1;
	synth.tids[0] = 7;
	return synth_core_write(&synth);
}

Test(plugins, every_builtin_is_complete_and_refuses_a_core_without_heap)
{
	struct ch_program_options options = { 0 };
	struct ch_program *program;
	struct ch_error *err;
	char *path = core_without_heap();
	size_t count = 0;

	err = ch_program_open(path, &options, &program);
	cr_assert_null(err, "%s", err ? err->message : "");
	// The host needs an allocator slot to attribute log lines to.
	program->allocators.uses = calloc(1, sizeof(*program->allocators.uses));
	program->allocators.num_uses = 1;
	for (size_t i = 0; ch_builtin_allocators[i]; i++, count++) {
		const struct coreheap_allocator *ops = ch_builtin_allocators[i];
		struct ch_host host;
		int confidence = -1;
		void *state = NULL;

		cr_expect_null(ch_allocator_validate(ops, "builtin"));
		// Built with this header: the whole table, nothing past it.
		cr_expect_eq(ops->abi_version, COREHEAP_PLUGIN_ABI_VERSION);
		cr_expect_eq(ops->size, sizeof(*ops), "%s", ops->name);
		cr_expect(ops->name && ops->name[0]);
		cr_expect(ops->probe && ops->walk, "%s", ops->name);
		cr_expect(ops->description && ops->description[0]);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(ops->name, ch_builtin_allocators[j]->name);
		program->allocators.uses[0].ops = ops;
		ch_host_init(&host, program, 0);
		cr_expect_eq(ops->probe(&host.ops, false, &confidence, &state),
			     COREHEAP_OK);
		cr_expect_eq(confidence, 0, "%s claims a core with no heap",
			     ops->name);
		if (ops->destroy)
			ops->destroy(state);
	}
	cr_expect_gt(count, 0);
	program->allocators.num_uses = 0;
	ch_program_destroy(program);
	unlink(path);
	free(path);
}

static char *toy_plugin_path(void)
{
	const char *dir = getenv("TESTS_BUILDDIR");
	char *path;

	cr_assert_not_null(dir, "TESTS_BUILDDIR is not set");
	cr_assert(asprintf(&path, "%s/toy_plugin.so", dir) > 0);
	return path;
}

// A core whose one mapping holds the toy allocator's table of 4 blocks.
static char *toy_core(void)
{
	static uint64_t table[2 + 4 * 3] = {
		0x3150414548594f54ULL, // "TOYHEAP1"
		4,
		0x30000010, 32, COREHEAP_BLOCK_LIVE,
		0x30000018, 8, 3, // nested in the block before
		0x30000040, 64, COREHEAP_BLOCK_FREE,
		0x30000090, 16, COREHEAP_BLOCK_LIVE,
	};
	struct synth_core synth;

	synth_core_init(&synth);
	synth.segments[0] = (struct synth_segment){
		.vaddr = 0x20000, .memsz = 4096, .data = table,
		.filesz = sizeof(table), .flags = PF_R | PF_W };
	synth.num_segments = 1;
	return synth_core_write(&synth);
}

Test(plugins, a_plugin_from_a_shared_object_reports_its_blocks)
{
	struct ch_program_options options = { 0 };
	struct ch_program *program;
	struct ch_error *err;
	char *plugin = toy_plugin_path();
	const char *plugins[] = { plugin };
	char *path = toy_core();
	options.plugins = plugins;
	options.num_plugins = 1;
	options.allocator = "toy";
	err = ch_program_open(path, &options, &program);
	cr_assert_null(err, "%s", err ? err->message : "");
	err = ch_program_load_heap(program, &options);
	cr_assert_null(err, "%s", err ? err->message : "");
	cr_assert_eq(program->allocators.num_uses, 1);
	cr_expect_str_eq(program->allocators.uses[0].ops->name, "toy");
	cr_assert_eq(program->heap.live.len, 2);
	cr_expect_eq(program->heap.live.blocks[0].address, 0x30000010);
	cr_expect_eq(ch_block_size(&program->heap.live.blocks[0]), 32);
	cr_expect_eq(program->heap.live.blocks[1].address, 0x30000090);
	cr_expect_eq(program->heap.free.len, 1);
	cr_assert_eq(program->heap.nested.len, 1);
	cr_expect_eq(program->heap.nested.blocks[0].address, 0x30000018);
	cr_assert_eq(program->heap.num_regions, 1);
	cr_expect_eq(program->heap.regions[0].live_bytes, 48);
	cr_expect_eq(program->heap.regions[0].free_bytes, 64);

	// The runtime's type names are the most trusted types there are.
	err = ch_program_load_types(program);
	cr_assert_null(err, "%s", err ? err->message : "");
	for (size_t i = 0; i < program->heap.live.len; i++) {
		enum ch_type_source source;
		const char *type = ch_heap_block_type(&program->heap, i, &source);

		cr_expect_str_eq(type ? type : "(null)", "toy::object");
		cr_expect_eq(source, CH_TYPE_RUNTIME);
	}
	ch_program_destroy(program);

	// The command line lists the nested object after its holder.
	char *command, line[256];
	const char *expected[] = {
		"{\"address\": \"0x30000010\", \"size\": 32, \"allocator\": \"toy\", \"type\": \"toy::object\"}\n",
		"{\"address\": \"0x30000018\", \"size\": 8, \"allocator\": \"toy\", \"type\": \"toy::object\", \"parent\": \"0x30000010\"}\n",
		"{\"address\": \"0x30000090\", \"size\": 16, \"allocator\": \"toy\", \"type\": \"toy::object\"}\n",
	};
	size_t lines = 0;
	FILE *objects;

	cr_assert(asprintf(&command, "'%s' objects --plugin '%s' --allocator toy --format jsonl '%s'",
			   getenv("COREHEAP"), plugin, path) > 0);
	objects = popen(command, "r");
	cr_assert_not_null(objects);
	while (fgets(line, sizeof(line), objects)) {
		cr_assert_lt(lines, 3, "extra line: %s", line);
		cr_expect_str_eq(line, expected[lines]);
		lines++;
	}
	// Partial: the synthetic core has no modules and no threads.
	cr_expect_eq(pclose(objects), CH_EXIT_PARTIAL << 8);
	cr_expect_eq(lines, 3);
	free(command);
	unlink(path);
	free(path);
	free(plugin);
}

// The toy built against an older header: a table that ends with walk.
// It loads, works, and its check (past its size) is taken for NULL.
Test(plugins, a_plugin_built_with_an_older_smaller_table_loads)
{
	struct ch_program_options options = { .allocator = "toy" };
	struct ch_program *program;
	struct ch_error *err;
	char *plugin = toy_plugin_path();
	const char *plugins[] = { plugin };
	char *path = toy_core();
	const struct coreheap_allocator *ops;
	uint64_t usable;

	cr_assert_eq(setenv("TOY_PLUGIN_TABLE", "older", 1), 0);
	options.plugins = plugins;
	options.num_plugins = 1;
	err = ch_program_open(path, &options, &program);
	cr_assert_null(err, "%s", err ? err->message : "");
	err = ch_program_load_heap(program, &options);
	cr_assert_null(err, "%s", err ? err->message : "");
	cr_assert_eq(program->allocators.num_uses, 1);
	ops = program->allocators.uses[0].ops;
	cr_expect_str_eq(ops->description,
			 "the toy, as built against an older header");
	cr_expect_eq(ops->size, COREHEAP_ALLOCATOR_MIN_SIZE);
	cr_expect_null(ops->check);
	cr_expect_null(ops->destroy);
	cr_expect_null(ops->usable_size);
	cr_expect_eq(program->heap.num_damage, 0,
		     "check was called past the table's size");
	cr_expect_eq(program->heap.live.len, 2);
	cr_expect_eq(program->heap.free.len, 1);
	// Types ask for the allocator's rounding: without it, they go on.
	err = ch_program_load_types(program);
	cr_expect_null(err, "%s", err ? err->message : "");
	cr_expect_not(ch_program_usable_size(program,
					     &program->heap.live.blocks[0], 8,
					     &usable));
	ch_program_destroy(program);
	unlink(path);
	free(path);
	free(plugin);
}

// Tables the host cannot use safely: refused with a message that says why.
Test(plugins, a_newer_or_foreign_plugin_table_is_refused_clearly)
{
	static const struct {
		const char *table, *message;
	} cases[] = {
		{ "newer", "was built for a newer coreheap: its table has" },
		{ "abi1", "was built for plugin ABI 1, coreheap has" },
		{ "unsized", "has a table of 0 bytes, too small" },
		{ "none", "gave no allocator" },
	};
	char *plugin = toy_plugin_path();
	const char *plugins[] = { plugin };
	char *path = toy_core();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ch_program_options options = { 0 };
		struct ch_program *program;
		struct ch_error *err;

		cr_assert_eq(setenv("TOY_PLUGIN_TABLE", cases[i].table, 1), 0);
		options.plugins = plugins;
		options.num_plugins = 1;
		err = ch_program_open(path, &options, &program);
		cr_assert_null(err, "%s", err ? err->message : "");
		err = ch_program_load_heap(program, &options);
		cr_assert_not_null(err, "the %s table was loaded",
				   cases[i].table);
		cr_expect_eq(err->code, CH_ERROR_PLUGIN);
		cr_expect(strstr(err->message, plugin) &&
				  strstr(err->message, cases[i].message),
			  "%s: %s", cases[i].table, err->message);
		ch_error_destroy(err);
		ch_program_destroy(program);
	}
	unlink(path);
	free(path);
	free(plugin);
}

// What include/coreheap/plugin.h says each host call returns, held to the
// host's code.
Test(plugins, the_host_fails_as_the_header_says)
{
	struct ch_program_options options = { 0 };
	struct ch_program *program;
	struct ch_error *err;
	char *path = core_without_heap();
	const struct coreheap_host *ops;
	struct ch_host host;
	union {
		struct coreheap_symbol symbol;
		struct coreheap_thread thread;
		struct coreheap_module module;
		struct coreheap_mapping mapping;
		struct coreheap_block block;
	} out;
	uint64_t address;
	uint32_t index, region;
	char buf[16];

	err = ch_program_open(path, &options, &program);
	cr_assert_null(err, "%s", err ? err->message : "");
	program->allocators.uses = calloc(1, sizeof(*program->allocators.uses));
	program->allocators.num_uses = 1;
	program->allocators.uses[0].ops = ch_builtin_allocators[0];
	ch_host_init(&host, program, 0);
	ops = &host.ops;

	cr_expect_eq(ops->abi_version, COREHEAP_PLUGIN_ABI_VERSION);
	cr_expect_eq(ops->size, sizeof(*ops));
	cr_expect(COREHEAP_HOST_HAS(ops, log));
	// An operation past a host's size is absent, even if the bytes say
	// otherwise.
	struct coreheap_host older = *ops;

	older.size = offsetof(struct coreheap_host, log);
	cr_expect(!COREHEAP_HOST_HAS(&older, log));

	cr_expect_eq(ops->read(ops, 0x20000, buf, sizeof(buf)), COREHEAP_OK);
	cr_expect_eq(ops->read(ops, 0x10, buf, sizeof(buf)), COREHEAP_FAULT);
	cr_expect_eq(ops->read(ops, 0x20000 + 4096 - 8, buf, 16), COREHEAP_FAULT);
	cr_expect_null(ops->map(ops, 0x10, 8));
	cr_expect_eq(ops->symbol(ops, NULL, "main_arena", &out.symbol),
		     COREHEAP_NOT_FOUND);
	cr_expect_eq(ops->tls_address(ops, 99, 0, 0, &address),
		     COREHEAP_NOT_FOUND);
	cr_expect_eq(ops->num_threads(ops), 1);
	cr_expect_eq(ops->thread(ops, 0, &out.thread), COREHEAP_OK);
	cr_expect_eq(out.thread.tid, 7);
	cr_expect_eq(ops->thread(ops, 1, &out.thread), COREHEAP_NOT_FOUND);
	cr_expect_eq(ops->module(ops, ops->num_modules(ops), &out.module),
		     COREHEAP_NOT_FOUND);
	cr_expect_eq(ops->find_module(ops, "libc.so", &index),
		     COREHEAP_NOT_FOUND);
	cr_expect_eq(ops->mapping(ops, ops->num_mappings(ops), &out.mapping),
		     COREHEAP_NOT_FOUND);

	cr_expect_eq(ops->add_region(ops, &(struct coreheap_region){
		.name = "r" }, &region), COREHEAP_OK);
	cr_expect_eq(ops->add_block(ops, &(struct coreheap_block){
		.address = 0x20010, .size = 16, .state = 7, .region = region }),
		COREHEAP_FAILED, "a block in no state");
	cr_expect_eq(program->heap.live.len + program->heap.free.len, 0,
		     "a refused block was kept");
	cr_expect_null(ch_host_take_error(&host),
		       "a plugin's bad block is no error of the host's");
	// A size no address space holds (a damaged heap's): damage, and
	// the walk goes on.
	cr_expect_eq(ops->add_block(ops, &(struct coreheap_block){
		.address = 0x20010, .size = UINT64_C(1) << 48,
		.state = COREHEAP_BLOCK_LIVE, .region = region }), COREHEAP_OK);
	cr_expect_eq(program->heap.live.len, 0, "a block of 2^48 bytes");
	cr_assert_eq(program->heap.num_damage, 1);
	cr_expect_eq(program->heap.damage[0].kind, COREHEAP_DAMAGE_BAD_SIZE);
	cr_expect_eq(program->heap.damage[0].address, 0x20010);
	cr_expect_eq(ops->add_block(ops, &(struct coreheap_block){
		.address = 0x20010, .size = 16, .state = COREHEAP_BLOCK_LIVE,
		.region = region }), COREHEAP_OK);
	cr_expect_eq(ops->add_damage(ops, &(struct coreheap_damage){
		.region = region, .address = 0x20000, .message = "m" }),
		COREHEAP_OK);
	cr_expect_eq(ops->find_block(ops, 0x10, &out.block), COREHEAP_NOT_FOUND);

	// Owned ranges: an empty one or an unknown kind is the plugin's bug,
	// refused without an error of the host's; an unexplained one counts.
	cr_expect(COREHEAP_HOST_HAS(ops, add_owned_range));
	cr_expect_eq(ops->add_owned_range(ops, region, 0x21000, 0x21000,
					  COREHEAP_OWNED_HEAP),
		     COREHEAP_FAILED, "an empty range");
	cr_expect_eq(ops->add_owned_range(ops, region, 0x20000, 0x21000, 9),
		     COREHEAP_FAILED, "a range of no kind");
	cr_expect_eq(program->heap.num_owned, 0, "a refused range was kept");
	cr_expect_null(ch_host_take_error(&host));
	cr_expect_eq(ops->add_owned_range(ops, region, 0x20000, 0x21000,
					  COREHEAP_OWNED_HEAP), COREHEAP_OK);
	cr_expect_eq(ops->add_owned_range(ops, region, 0x20800, 0x20900,
					  COREHEAP_OWNED_UNEXPLAINED),
		     COREHEAP_OK);
	cr_expect_eq(program->heap.num_owned, 2);
	cr_expect_eq(program->heap.regions[region].unexplained_count, 1);
	cr_expect_eq(program->heap.regions[region].unexplained_bytes, 0x100);

	// A region's table: numbers of no region, or without a row or key,
	// are the plugin's bug; the others are kept in order, copied.
	cr_expect(COREHEAP_HOST_HAS(ops, add_stat));
	cr_expect_eq(ops->add_stat(ops, region + 1, "class 16 B", "live", 1),
		     COREHEAP_FAILED, "no such region");
	cr_expect_eq(ops->add_stat(ops, region, "", "live", 1),
		     COREHEAP_FAILED, "an empty row");
	cr_expect_eq(ops->add_stat(ops, region, "class 16 B", NULL, 1),
		     COREHEAP_FAILED, "no key");
	cr_expect_eq(program->heap.num_stats, 0, "a refused number was kept");
	cr_expect_null(ch_host_take_error(&host));
	{
		char row[] = "class 16 B";

		cr_expect_eq(ops->add_stat(ops, region, row, "live", 3),
			     COREHEAP_OK);
		row[0] = 'X';
	}
	cr_expect_eq(ops->add_stat(ops, region, "class 16 B", "free", 5),
		     COREHEAP_OK);
	cr_assert_eq(program->heap.num_stats, 2);
	cr_expect_str_eq(program->heap.stats[0].row, "class 16 B");
	cr_expect_str_eq(program->heap.stats[0].key, "live");
	cr_expect_eq(program->heap.stats[0].value, 3);
	cr_expect_eq(program->heap.stats[1].region, region);
	cr_expect_str_eq(program->heap.stats[1].key, "free");
	cr_expect_eq(program->heap.stats[1].value, 5);

	// Allocation stacks: none, or too many, is the plugin's bug; each
	// distinct stack is kept once, copied, and found by its block.
	{
		uint64_t pcs[] = { 0x401000, 0x402000, 0x403000 };
		const struct ch_alloc_stacks *stacks = &program->heap.alloc_stacks;
		const uint64_t *kept;
		uint32_t first, second;
		size_t n;

		cr_expect(COREHEAP_HOST_HAS(ops, add_alloc_stack));
		cr_expect_eq(ops->add_alloc_stack(ops, 0x20010, pcs, 0),
			     COREHEAP_FAILED, "no frame");
		cr_expect_eq(ops->add_alloc_stack(ops, 0x20010, NULL, 1),
			     COREHEAP_FAILED, "no frames");
		cr_expect_eq(ops->add_alloc_stack(ops, 0x20010, pcs,
						  COREHEAP_MAX_STACK_PCS + 1),
			     COREHEAP_FAILED, "too many frames");
		cr_expect_eq(stacks->blocks.len, 0, "a refused stack was kept");
		cr_expect_null(ch_host_take_error(&host));
		cr_expect_eq(ops->add_alloc_stack(ops, 0x20010, pcs, 3),
			     COREHEAP_OK);
		cr_expect_eq(ops->add_alloc_stack(ops, 0x30010, pcs, 3),
			     COREHEAP_OK);
		pcs[0] = 0x404000;
		cr_expect_eq(ops->add_alloc_stack(ops, 0x28010, pcs, 2),
			     COREHEAP_OK);
		cr_expect_eq(stacks->stacks.len, 2, "one stack per distinct one");
		ch_alloc_stacks_finish(&program->heap.alloc_stacks);
		cr_assert(ch_alloc_stacks_find(stacks, 0x20010, &first));
		cr_assert(ch_alloc_stacks_find(stacks, 0x30010, &second));
		cr_expect_eq(first, second);
		kept = ch_alloc_stack_pcs(stacks, first, &n);
		cr_assert_eq(n, 3);
		cr_expect_eq(kept[0], 0x401000, "the stack was not copied");
		cr_expect_eq(kept[2], 0x403000);
		cr_assert(ch_alloc_stacks_find(stacks, 0x28010, &second));
		kept = ch_alloc_stack_pcs(stacks, second, &n);
		cr_expect_eq(n, 2);
		cr_expect_eq(kept[0], 0x404000);
		cr_expect_not(ch_alloc_stacks_find(stacks, 0x20000, &first),
			      "a stack is found by its block's start only");
	}

	program->allocators.num_uses = 0;
	ch_program_destroy(program);
	unlink(path);
	free(path);
}

// The built-in table entry named name.
static const struct coreheap_allocator *builtin(const char *name)
{
	for (size_t i = 0; ch_builtin_allocators[i]; i++) {
		if (strcmp(ch_builtin_allocators[i]->name, name) == 0)
			return ch_builtin_allocators[i];
	}
	cr_assert_fail("no built-in allocator %s", name);
	return NULL;
}

/*
 * A runtime's objects through add_object: the host finds each one's parent
 * among the native blocks, nests it there (its node spanning its header),
 * gives a block allocated for it its type, and keeps an object in no
 * native block as a block of the runtime's own, sorted in after its walk.
 */
Test(plugins, a_runtime_object_finds_its_parent)
{
	struct ch_program_options options = { 0 };
	struct ch_program *program;
	struct ch_error *err;
	char *path = core_without_heap();
	struct ch_host native, runtime;
	const struct coreheap_host *ops;
	struct coreheap_block block;
	struct ch_heap *heap;
	uint32_t region;
	uint64_t parent = 1;

	err = ch_program_open(path, &options, &program);
	cr_assert_null(err, "%s", err ? err->message : "");
	heap = &program->heap;
	program->allocators.uses = calloc(2, sizeof(*program->allocators.uses));
	program->allocators.num_uses = 2;
	program->allocators.uses[0].ops = builtin("glibc");
	program->allocators.uses[1].ops = builtin("cpython");
	cr_assert(program->allocators.uses[1].ops->is_runtime);
	ch_host_init(&native, program, 0);
	ch_host_init(&runtime, program, 1);

	ops = &native.ops;
	cr_assert_eq(ops->add_region(ops, &(struct coreheap_region){
		.name = "arena" }, &region), COREHEAP_OK);
	cr_expect_eq(ops->add_block(ops, &(struct coreheap_block){
		.address = 0x20100, .size = 32, .state = COREHEAP_BLOCK_LIVE,
		.region = region }), COREHEAP_OK);
	cr_expect_eq(ops->add_block(ops, &(struct coreheap_block){
		.address = 0x20010, .size = 64, .state = COREHEAP_BLOCK_LIVE,
		.region = region }), COREHEAP_OK);
	cr_expect(COREHEAP_HOST_HAS(ops, add_object));
	cr_expect_eq(ops->add_object(ops, &(struct coreheap_object){
		.address = 0x20020, .size = 32, .region = region }, NULL),
		COREHEAP_FAILED, "an object from a native allocator");
	cr_assert_null(ch_heap_finish(heap));
	heap->native_live = heap->live.len;

	ops = &runtime.ops;
	cr_expect_eq(ops->add_object(ops, &(struct coreheap_object){
		.address = 0x20020, .size = 64, .header = 16,
		.region = region, .type_name = "tuple" }, &parent),
		COREHEAP_OK);
	cr_expect_eq(parent, 0x20010);
	cr_expect_eq(ops->add_object(ops, &(struct coreheap_object){
		.address = 0x20108, .size = 16, .region = region,
		.type_name = "int" }, &parent), COREHEAP_OK);
	cr_expect_eq(parent, 0x20100);
	cr_expect_eq(ops->add_object(ops, &(struct coreheap_object){
		.address = 0x30000, .size = 48, .header = 32,
		.region = region, .type_name = "__main__.Marker" }, &parent),
		COREHEAP_OK);
	cr_expect_eq(parent, 0);
	// The plugin's bugs: refused, no error of the host's.
	cr_expect_eq(ops->add_object(ops, &(struct coreheap_object){
		.address = 0x40000, .size = 32, .header = 12 }, NULL),
		COREHEAP_FAILED, "a header of no whole words");
	cr_expect_eq(ops->add_object(ops, &(struct coreheap_object){
		.address = 0x40000, .size = 16, .header = 16 }, NULL),
		COREHEAP_FAILED, "no bytes past the header");
	cr_expect_eq(ops->add_object(ops, &(struct coreheap_object){
		.address = 0x40000, .size = 256, .header = 128 }, NULL),
		COREHEAP_FAILED, "a header longer than a block keeps");
	cr_expect_eq(ops->add_object(ops, &(struct coreheap_object){
		.size = 16 }, NULL), COREHEAP_FAILED, "no address");
	cr_expect_null(ch_host_take_error(&runtime));

	// next_block and find_block see the native blocks only.
	cr_expect(COREHEAP_HOST_HAS(ops, next_block));
	cr_expect_eq(ops->next_block(ops, 0, &block), COREHEAP_OK);
	cr_expect_eq(block.address, 0x20010);
	cr_expect_eq(ops->next_block(ops, 0x20011, &block), COREHEAP_OK);
	cr_expect_eq(block.address, 0x20100);
	cr_expect_eq(ops->next_block(ops, 0x20101, &block),
		     COREHEAP_NOT_FOUND);
	cr_expect_eq(ops->find_block(ops, 0x30000, &block),
		     COREHEAP_NOT_FOUND);

	// Nested: the node spans the header; the block allocated for the
	// object (at the header's start) takes its type, the other does not.
	cr_assert_null(ch_heap_finish_nested(heap));
	cr_assert_eq(heap->nested.len, 2);
	cr_expect_eq(heap->nested.blocks[0].address, 0x20010);
	cr_expect_eq(ch_block_size(&heap->nested.blocks[0]), 64);
	cr_expect_eq(ch_block_identity(&heap->nested.blocks[0]), 0x20020);
	cr_expect_eq(ch_block_identity(&heap->nested.blocks[1]), 0x20108);
	cr_expect_eq(ch_block_size(&heap->nested.blocks[1]), 16);
	cr_expect_str_eq(heap->runtime_type_names[
		ch_block_array_runtime_type(&heap->live, 0)], "tuple");
	cr_expect_eq(ch_block_array_runtime_type(&heap->live, 1), 0);

	// type_block: a native block the runtime knows the use of; one
	// already typed keeps its type.
	cr_expect(COREHEAP_HOST_HAS(ops, type_block));
	cr_expect_eq(ops->type_block(ops, 0x20100, "list items"), COREHEAP_OK);
	cr_expect_str_eq(heap->runtime_type_names[
		ch_block_array_runtime_type(&heap->live, 1)], "list items");
	cr_expect_eq(ops->type_block(ops, 0x20010, "dict keys"), COREHEAP_OK);
	cr_expect_str_eq(heap->runtime_type_names[
		ch_block_array_runtime_type(&heap->live, 0)], "tuple");
	cr_expect_eq(ops->type_block(ops, 0x20018, "dict keys"),
		     COREHEAP_NOT_FOUND, "inside a block, not at its start");
	cr_expect_eq(ops->type_block(ops, 0x20100, ""), COREHEAP_FAILED);
	cr_expect_eq(native.ops.type_block(&native.ops, 0x20100, "x"),
		     COREHEAP_FAILED, "from a native allocator");
	cr_expect_null(ch_host_take_error(&runtime));

	// The runtime's own block joins the sorted live blocks.
	cr_assert_null(ch_heap_finish(heap));
	cr_assert_eq(heap->live.len, 3);
	const struct ch_block *own = ch_heap_find(heap, 0x30000);

	cr_assert_not_null(own);
	cr_expect_eq(own->address, 0x30000 - 32);
	cr_expect_eq(ch_block_size(own), 48);
	cr_expect_eq(ch_block_identity(own), 0x30000);
	cr_expect_eq(own->allocator, 1);
	cr_expect_str_eq(heap->runtime_type_names[ch_block_array_runtime_type(
				 &heap->live, own - heap->live.blocks)],
			 "__main__.Marker");

	program->allocators.num_uses = 0;
	ch_program_destroy(program);
	unlink(path);
	free(path);
}

Test(plugins, a_bad_plugin_path_is_a_clear_error)
{
	struct ch_program_options options = { 0 };
	const char *plugins[] = { "/nonexistent/plugin.so" };
	struct ch_program *program;
	struct ch_error *err;
	char *path = core_without_heap();

	options.plugins = plugins;
	options.num_plugins = 1;
	err = ch_program_open(path, &options, &program);
	cr_assert_null(err);
	err = ch_program_load_heap(program, &options);
	cr_assert_not_null(err);
	cr_expect_eq(err->code, CH_ERROR_PLUGIN);
	cr_expect(strstr(err->message, "cannot load plugin '/nonexistent/plugin.so'"),
		  "%s", err->message);
	ch_error_destroy(err);
	ch_program_destroy(program);
	unlink(path);
	free(path);
}

Test(plugins, an_unknown_allocator_name_is_a_usage_error)
{
	struct ch_program_options options = { .allocator = "nosuch" };
	struct ch_program *program;
	struct ch_error *err;
	char *path = core_without_heap();

	err = ch_program_open(path, &options, &program);
	cr_assert_null(err);
	err = ch_program_load_heap(program, &options);
	cr_assert_not_null(err);
	cr_expect_eq(err->code, CH_ERROR_USAGE);
	ch_error_destroy(err);
	ch_program_destroy(program);
	unlink(path);
	free(path);
}
