// SPDX-License-Identifier: MIT
// The threads' stacks: unwound once per program, kept, and what could not
// be unwound said once, the same way whoever asks first.
#include <criterion/criterion.h>
#include <elf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap/program.h"
#include "synthetic_core.h"

static void setup(void)
{
	elf_version(EV_CURRENT);
}

TestSuite(stacks, .init = setup);

// A core with threads whose registers point into a page of zeroes, and
// no module: libdwfl cannot attach to it ("not a valid ELF file"), so no
// thread can be unwound. The frames of real cores are checked by
// tests/graph-cli.sh (a local in a parked thread's frame) and
// tests/triage-cli.sh (the crashing stack).
static char *core_with_threads(size_t num_threads)
{
	static uint8_t zeroes[4096];
	struct synth_core synth;

	synth_core_init(&synth);
	synth.segments[0] = (struct synth_segment){
		.vaddr = 0x20000, .memsz = sizeof(zeroes), .data = zeroes,
		.filesz = sizeof(zeroes), .flags = PF_R | PF_W };
	synth.num_segments = 1;
	synth.num_threads = num_threads;
	for (size_t t = 0; t < num_threads; t++) {
		synth.tids[t] = 7 + t;
		synth.rips[t] = 0x20100;
		synth.rsps[t] = 0x20800;
	}
	return synth_core_write(&synth);
}

static size_t count_warnings(const struct ch_program *program,
			     const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < program->num_warnings; i++)
		n += strstr(program->warnings[i].message, needle) != NULL;
	return n;
}

Test(stacks, unwound_once_kept_and_failure_said_once)
{
	struct ch_program_options options = { 0 };
	const struct ch_stacks *stacks, *again;
	struct ch_program *program;
	struct ch_error *err;
	char *path = core_with_threads(2);
	size_t warnings;

	err = ch_program_open(path, &options, &program);
	cr_assert_null(err, "%s", err ? err->message : "");
	cr_expect_null(program->stacks, "unwound before anything asked");
	// Threads libdwfl cannot read are said when the core opens, so that
	// every command says it, summary too (issue 9).
	cr_expect_eq(count_warnings(program, "cannot unwind the threads of core"), 1);
	err = ch_program_stacks(program, &stacks);
	cr_assert_null(err, "%s", err ? err->message : "");
	cr_assert_eq(stacks->num_threads, 2);
	for (size_t t = 0; t < stacks->num_threads; t++) {
		cr_expect_eq(stacks->threads[t].tid, 7 + (int32_t)t);
		cr_expect_eq(stacks->threads[t].num_frames, 0);
	}
	// One partial warning for the core, none per thread.
	cr_assert_not_null(stacks->error);
	cr_expect_eq(count_warnings(program, "cannot unwind the threads of core"), 1);
	cr_expect_eq(count_warnings(program, "cannot unwind thread "), 0);
	cr_expect(ch_program_is_partial(program));
	warnings = program->num_warnings;

	err = ch_program_stacks(program, &again);
	cr_assert_null(err);
	cr_expect_eq(again, stacks, "unwound a second time");
	cr_expect_eq(program->num_warnings, warnings, "said twice");
	ch_program_destroy(program);
	unlink(path);
	free(path);
}

Test(stacks, a_core_without_threads_has_no_stacks_and_no_new_warning)
{
	struct ch_program_options options = { 0 };
	const struct ch_stacks *stacks;
	struct ch_program *program;
	struct ch_error *err;
	char *path = core_with_threads(0);
	size_t warnings;

	err = ch_program_open(path, &options, &program);
	cr_assert_null(err, "%s", err ? err->message : "");
	warnings = program->num_warnings;
	err = ch_program_stacks(program, &stacks);
	cr_assert_null(err, "%s", err ? err->message : "");
	cr_expect_eq(stacks->num_threads, 0);
	cr_expect_null(stacks->error);
	cr_expect_eq(program->num_warnings, warnings);
	ch_program_destroy(program);
	unlink(path);
	free(path);
}
