// SPDX-License-Identifier: MIT
// Unit tests of the core reader and the address space, on synthetic cores.
#include <criterion/criterion.h>
#include <elf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/address_space.h"
#include "core/core.h"
#include "heap/program.h"
#include "synthetic_core.h"

static uint8_t heap_bytes[8192];
static uint8_t stack_bytes[4096];

static void setup(void)
{
	elf_version(EV_CURRENT);
	for (size_t i = 0; i < sizeof(heap_bytes); i++)
		heap_bytes[i] = (uint8_t)i;
	memset(stack_bytes, 0xab, sizeof(stack_bytes));
}

TestSuite(core, .init = setup);

// Two segments: a whole heap and a stack of which only half was saved.
static void two_segments(struct synth_core *synth)
{
	synth_core_init(synth);
	synth->segments[0] = (struct synth_segment){
		.vaddr = 0x10000, .memsz = sizeof(heap_bytes),
		.data = heap_bytes, .filesz = sizeof(heap_bytes),
		.flags = PF_R | PF_W };
	synth->segments[1] = (struct synth_segment){
		.vaddr = 0x7ff000, .memsz = 2 * sizeof(stack_bytes),
		.data = stack_bytes, .filesz = sizeof(stack_bytes),
		.flags = PF_R | PF_W };
	synth->num_segments = 2;
	synth->num_threads = 2;
	synth->tids[0] = 100;
	synth->rips[0] = 0x401000;
	synth->rsps[0] = 0x7ff100;
	synth->fs_bases[0] = 0x7f0000001000;
	synth->tids[1] = 101;
	synth->with_psinfo = true;
	synth->num_files = 1;
	synth->files[0] = (struct synth_file){ 0x400000, 0x402000, 0,
					       "/usr/bin/synthetic" };
}

static struct ch_core *open_ok(const char *path)
{
	struct ch_core *core = NULL;
	struct ch_error *err = ch_core_open(path, &core);

	cr_assert_null(err, "ch_core_open failed: %s", err ? err->message : "");
	return core;
}

static void assert_error(struct ch_error *err, enum ch_error_code code,
			 const char *fragment)
{
	cr_assert_not_null(err, "expected an error");
	cr_expect_eq(err->code, code, "code %d, expected %d (%s)", err->code,
		     code, err->message);
	cr_expect(strstr(err->message, fragment), "message '%s' lacks '%s'",
		  err->message, fragment);
	ch_error_destroy(err);
}

Test(core, reads_segments_threads_and_notes)
{
	struct synth_core synth;
	struct ch_core *core;
	char *path;

	two_segments(&synth);
	path = synth_core_write(&synth);
	core = open_ok(path);
	cr_assert_eq(core->num_segments, 2);
	cr_expect_eq(core->segments[0].start, 0x10000);
	cr_expect_eq(core->segments[0].available, sizeof(heap_bytes));
	cr_expect_eq(core->segments[1].available, sizeof(stack_bytes));
	cr_expect_not(core->truncated);
	cr_assert_eq(core->num_threads, 2);
	cr_expect_eq(core->threads[0].tid, 100);
	cr_expect_eq(core->threads[0].regs[CH_REG_RIP], 0x401000);
	cr_expect_eq(core->threads[0].regs[CH_REG_RSP], 0x7ff100);
	cr_expect_eq(core->threads[0].regs[CH_REG_FS_BASE], 0x7f0000001000);
	cr_expect_eq(core->threads[1].tid, 101);
	cr_expect(core->has_psinfo);
	cr_expect_str_eq(core->fname, "synthetic");
	cr_expect_str_eq(core->psargs, "synthetic --flag");
	cr_assert_eq(core->num_files, 1);
	cr_expect_str_eq(core->files[0].path, "/usr/bin/synthetic");
	cr_expect_eq(ch_core_file_at(core, 0x401234), &core->files[0]);
	cr_expect_null(ch_core_file_at(core, 0x402000));
	ch_core_destroy(core);
	unlink(path);
	free(path);
}

Test(core, address_space_reads_and_faults)
{
	struct synth_core synth;
	struct ch_address_space *as;
	struct ch_core *core;
	struct ch_error *err;
	uint8_t buf[16];
	uint64_t word;
	char *path;

	two_segments(&synth);
	path = synth_core_write(&synth);
	core = open_ok(path);
	err = ch_address_space_create(core, NULL, &as);
	cr_assert_null(err);

	// Zero-copy view inside a segment.
	const uint8_t *view = ch_address_space_map(as, 0x10000 + 100, 16);
	cr_assert_not_null(view);
	cr_expect_eq(view[0], 100);
	cr_expect(ch_address_space_read_u64(as, 0x10008, &word));
	cr_expect_eq(word, 0x0f0e0d0c0b0a0908ULL);

	// The unsaved half of the stack is a fault, never zeroes.
	cr_expect_not(ch_address_space_read_u64(as, 0x7ff000 + 4096, &word));
	assert_error(ch_address_space_read(as, 0x7ff000 + 4096 + 8, buf, 8),
		     CH_ERROR_FAULT, "not saved in the core");
	// Reads that run off the end of what was saved fail as a whole.
	assert_error(ch_address_space_read(as, 0x7ff000 + 4090, buf, 16),
		     CH_ERROR_FAULT, "0x800000");
	assert_error(ch_address_space_read(as, 0x5000, buf, 8), CH_ERROR_FAULT,
		     "not mapped");
	cr_expect_null(ch_address_space_map(as, 0x10000 + 8190, 8));
	// An address near the top of the address space must not wrap.
	cr_expect_not(ch_address_space_read_quiet(as, UINT64_MAX - 3, buf, 8));

	const struct ch_mapping *mapping = ch_address_space_mapping(as, 0x7ff010);
	cr_assert_not_null(mapping);
	cr_expect_eq(mapping->available, 4096);
	cr_expect_eq(mapping->end, 0x7ff000 + 8192);
	ch_address_space_destroy(as);
	ch_core_destroy(core);
	unlink(path);
	free(path);
}

Test(core, truncated_core_keeps_what_it_holds)
{
	struct synth_core synth;
	struct ch_core *core;
	char *path;

	two_segments(&synth);
	// Cut the core in the middle of the first (heap) segment.
	synth.truncate_to = 8192 + 1000;
	path = synth_core_write(&synth);
	core = open_ok(path);
	cr_expect(core->truncated);
	cr_expect_gt(core->missing_bytes, 0);
	cr_expect_lt(core->segments[0].available, sizeof(heap_bytes));
	cr_expect_eq(core->segments[1].available, 0);
	cr_expect_eq(core->num_threads, 2, "notes before the cut are read");
	ch_core_destroy(core);
	unlink(path);
	free(path);
}

Test(core, rejects_what_is_not_an_x86_64_core)
{
	struct synth_core synth;
	struct ch_core *core;
	char *path;
	FILE *file;

	synth_core_init(&synth);
	synth.e_type = ET_EXEC;
	path = synth_core_write(&synth);
	assert_error(ch_core_open(path, &core), CH_ERROR_FORMAT,
		     "not a core file");
	unlink(path);
	free(path);

	synth_core_init(&synth);
	synth.e_machine = EM_AARCH64;
	path = synth_core_write(&synth);
	assert_error(ch_core_open(path, &core), CH_ERROR_ARCH,
		     "another architecture");
	unlink(path);
	free(path);

	path = strdup("/tmp/coreheap-text-XXXXXX");
	file = fdopen(mkstemp(path), "w");
	fputs("this is not an ELF file at all, just text\n", file);
	fclose(file);
	assert_error(ch_core_open(path, &core), CH_ERROR_FORMAT,
		     "not an ELF file");
	unlink(path);
	free(path);

	assert_error(ch_core_open("/nonexistent/core", &core), CH_ERROR_OS,
		     "cannot open core '/nonexistent/core'");
}

Test(core, program_opens_a_core_without_modules)
{
	struct ch_program_options options = { 0 };
	struct synth_core synth;
	struct ch_program *program;
	struct ch_error *err;
	char *path;

	two_segments(&synth);
	path = synth_core_write(&synth);
	err = ch_program_open(path, &options, &program);
	cr_assert_null(err, "%s", err ? err->message : "");
	err = ch_program_load_heap(program, &options);
	cr_assert_null(err, "%s", err ? err->message : "");
	cr_expect_eq(program->heap.live.len, 0);
	cr_expect(ch_program_is_partial(program),
		  "no allocator and no modules make the results partial");
	ch_program_destroy(program);
	unlink(path);
	free(path);
}
