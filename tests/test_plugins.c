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

Test(plugins, a_plugin_from_a_shared_object_reports_its_blocks)
{
	static uint64_t table[2 + 4 * 3] = {
		0x3150414548594f54ULL, // "TOYHEAP1"
		4,
		0x30000010, 32, COREHEAP_BLOCK_LIVE,
		0x30000018, 8, 3, // nested in the block before
		0x30000040, 64, COREHEAP_BLOCK_FREE,
		0x30000090, 16, COREHEAP_BLOCK_LIVE,
	};
	struct ch_program_options options = { 0 };
	struct ch_program *program;
	struct synth_core synth;
	struct ch_error *err;
	char *plugin = toy_plugin_path();
	const char *plugins[] = { plugin };
	char *path;

	synth_core_init(&synth);
	synth.segments[0] = (struct synth_segment){
		.vaddr = 0x20000, .memsz = 4096, .data = table,
		.filesz = sizeof(table), .flags = PF_R | PF_W };
	synth.num_segments = 1;
	path = synth_core_write(&synth);
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
	cr_expect_eq(program->heap.live.blocks[0].size, 32);
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
