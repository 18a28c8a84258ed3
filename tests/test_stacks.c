// SPDX-License-Identifier: MIT
// The threads' stacks: unwound once per program from each thread's own
// registers, kept, and what stopped the unwinding said once, the same way
// whoever asks first.
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
// no module: each thread's first frame is where its registers say, and no
// CFI leads further. rbp is each thread's frame pointer, which libdwfl's
// fallback follows where there is no CFI (0: none). The frames of real
// cores are checked by tests/graph-cli.sh (a local in a parked thread's
// frame) and tests/triage-cli.sh (the crashing stack).
static void with_threads(struct synth_core *synth, size_t num_threads,
			 uint64_t rbp)
{
	static uint8_t zeroes[4096];

	synth_core_init(synth);
	synth->segments[0] = (struct synth_segment){
		.vaddr = 0x20000, .memsz = sizeof(zeroes), .data = zeroes,
		.filesz = sizeof(zeroes), .flags = PF_R | PF_W };
	synth->num_segments = 1;
	synth->num_threads = num_threads;
	for (size_t t = 0; t < num_threads; t++) {
		synth->tids[t] = 7 + t;
		synth->rips[t] = 0x20100 + 0x10 * t;
		synth->rsps[t] = 0x20800 - 0x100 * t;
		synth->rbps[t] = rbp;
	}
}

static char *core_with_threads(size_t num_threads, uint64_t rbp)
{
	struct synth_core synth;

	with_threads(&synth, num_threads, rbp);
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

static struct ch_program *open_program(const char *path, bool verbose)
{
	struct ch_program_options options = { .verbose = verbose };
	struct ch_program *program;
	struct ch_error *err;

	err = ch_program_open(path, &options, &program);
	cr_assert_null(err, "%s", err ? err->message : "");
	return program;
}

Test(stacks, unwound_once_from_each_threads_own_registers_and_kept)
{
	const struct ch_stacks *stacks, *again;
	char *path = core_with_threads(3, 0);
	struct ch_program *program = open_program(path, false);
	struct ch_error *err;
	size_t warnings = program->num_warnings;

	cr_expect_null(program->stacks, "unwound before anything asked");
	err = ch_program_stacks(program, &stacks);
	cr_assert_null(err, "%s", err ? err->message : "");
	cr_expect_null(stacks->error);
	cr_assert_eq(stacks->num_threads, 3);
	for (size_t t = 0; t < stacks->num_threads; t++) {
		const struct ch_stack *stack = &stacks->threads[t];

		cr_expect_eq(stack->tid, 7 + (int32_t)t);
		cr_assert_eq(stack->num_frames, 1, "thread %zu", t);
		cr_expect_eq(stack->frames[0].pc, 0x20100 + 0x10 * t);
		cr_expect(stack->frames[0].is_activation);
		cr_expect(stack->frames[0].context.has_sp);
		cr_expect_eq(stack->frames[0].context.sp, 0x20800 - 0x100 * t);
		// No module holds the pc: libdwfl's own reason.
		cr_expect_str_eq(stack->stop_reason, "No DWARF information found");
	}
	// A stack that ends early is said only with --verbose.
	cr_expect_eq(program->num_warnings, warnings);

	err = ch_program_stacks(program, &again);
	cr_assert_null(err);
	cr_expect_eq(again, stacks, "unwound a second time");
	cr_expect_eq(program->num_warnings, warnings, "said twice");
	ch_program_destroy(program);
	unlink(path);
	free(path);
}

// The frame pointer leads out of the core: the read that failed is why
// the unwinding stopped, said once per thread with --verbose.
Test(stacks, a_read_out_of_the_core_is_the_stop_reason)
{
	const struct ch_stacks *stacks;
	char *path = core_with_threads(2, 0x900000);
	struct ch_program *program = open_program(path, true);
	struct ch_error *err;

	err = ch_program_stacks(program, &stacks);
	cr_assert_null(err, "%s", err ? err->message : "");
	cr_assert_eq(stacks->num_threads, 2);
	for (size_t t = 0; t < stacks->num_threads; t++) {
		const struct ch_stack *stack = &stacks->threads[t];

		cr_expect_eq(stack->num_frames, 1, "thread %zu", t);
		cr_expect_not_null(stack->stop_reason);
		if (stack->stop_reason)
			cr_expect(strncmp(stack->stop_reason,
					  "no memory at 0x90000", 20) == 0,
				  "thread %zu stopped: %s", t,
				  stack->stop_reason);
	}
	cr_expect_eq(count_warnings(program, "was unwound to frame 1: no memory at 0x90000"), 2);
	ch_program_destroy(program);
	unlink(path);
	free(path);
}

// A thread id libdwfl would take as the end of the threads: none is
// unwound, which is said once, by the core's problems.
Test(stacks, an_impossible_thread_id_unwinds_none_and_is_said_once)
{
	const struct ch_stacks *stacks;
	char *path;
	struct ch_program *program;
	struct ch_error *err;
	struct synth_core synth;

	with_threads(&synth, 2, 0);
	synth.tids[1] = 0;
	path = synth_core_write(&synth);
	program = open_program(path, false);
	err = ch_program_stacks(program, &stacks);
	cr_assert_null(err, "%s", err ? err->message : "");
	cr_expect_not_null(stacks->error);
	for (size_t t = 0; t < stacks->num_threads; t++)
		cr_expect_eq(stacks->threads[t].num_frames, 0);
	cr_expect_eq(count_warnings(program, "unwind"), 0,
		     "the core's problem says it, not the stacks");
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
	char *path = core_with_threads(0, 0);
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
