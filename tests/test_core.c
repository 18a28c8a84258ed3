// SPDX-License-Identifier: MIT
// Unit tests of the core reader and the address space, on synthetic cores.
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <elf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "core/address_space.h"
#include "core/core.h"
#include "core/coredump_store.h"
#include "core/symbol_ranges.h"
#include "heap/program.h"
#include "error_assertions.h"
#include "rng.h"
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

// What a cut core lost is told apart from what it left out on purpose: the
// second segment saves 4096 of its 8192 bytes (the rest is left out), and
// the cut takes the rest of the first and all of the second's 4096.
Test(core, cut_core_lost_and_left_out)
{
	struct ch_address_space *as;
	struct ch_address_bytes where;
	struct synth_core synth;
	struct ch_core *core;
	uint64_t kept;
	char *path;

	two_segments(&synth);
	synth.truncate_to = 8192 + 1000;
	path = synth_core_write(&synth);
	core = open_ok(path);
	kept = core->segments[0].available;
	cr_assert_lt(kept, sizeof(heap_bytes));
	cr_assert_null(ch_address_space_create(core, NULL, &as));
	cr_expect_eq(as->num_lost, 2);
	cr_expect_eq(ch_address_space_lost_bytes(as, 0, UINT64_MAX),
		     sizeof(heap_bytes) - kept + sizeof(stack_bytes));
	ch_address_space_count(as, 0x10000, 0x10000 + sizeof(heap_bytes), &where);
	cr_expect_eq(where.in_core, kept);
	cr_expect_eq(where.lost, sizeof(heap_bytes) - kept);
	cr_expect_eq(where.from_files + where.left_out, 0);
	ch_address_space_count(as, 0x7ff000, 0x7ff000 + 2 * sizeof(stack_bytes),
			       &where);
	cr_expect_eq(where.in_core, 0);
	cr_expect_eq(where.lost, sizeof(stack_bytes));
	cr_expect_eq(where.left_out, sizeof(stack_bytes));
	ch_address_space_destroy(as);
	ch_core_destroy(core);
	unlink(path);
	free(path);

	// Whole, the same core lost nothing: the second half of the stack
	// segment is only left out.
	two_segments(&synth);
	path = synth_core_write(&synth);
	core = open_ok(path);
	cr_assert_null(ch_address_space_create(core, NULL, &as));
	cr_expect_eq(as->num_lost, 0);
	ch_address_space_count(as, 0x7ff000, 0x7ff000 + 2 * sizeof(stack_bytes),
			       &where);
	cr_expect_eq(where.in_core, sizeof(stack_bytes));
	cr_expect_eq(where.left_out, sizeof(stack_bytes));
	cr_expect_eq(where.lost, 0);
	ch_address_space_destroy(as);
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

/* Hostile cores (issue 9): each test below is a class of damage that once
 * crashed, hung or was silent. */

static char *write_core(const struct synth_core *synth)
{
	return synth_core_write(synth);
}

// The core, compressed with zstd: opened, it is read into memory.
static char *write_zstd_core(const struct synth_core *synth)
{
	char *plain = synth_core_write(synth), *path;
	FILE *file = fopen(plain, "rb");
	size_t size, bound, packed;
	void *bytes, *out;

	cr_assert_not_null(file);
	fseek(file, 0, SEEK_END);
	size = (size_t)ftell(file);
	rewind(file);
	bytes = malloc(size);
	bound = ZSTD_compressBound(size);
	out = malloc(bound);
	cr_assert(bytes && out);
	cr_assert_eq(fread(bytes, 1, size, file), size);
	fclose(file);
	packed = ZSTD_compress(out, bound, bytes, size, 1);
	cr_assert_not(ZSTD_isError(packed));
	cr_assert_neq(asprintf(&path, "%s.zst", plain), -1);
	file = fopen(path, "wb");
	cr_assert_not_null(file);
	cr_assert_eq(fwrite(out, 1, packed, file), packed);
	fclose(file);
	unlink(plain);
	free(plain);
	free(bytes);
	free(out);
	return path;
}

static void remove_core(char *path)
{
	unlink(path);
	free(path);
}

static struct ch_program *open_program(const char *path)
{
	struct ch_program_options options = { 0 };
	struct ch_program *program = NULL;
	struct ch_error *err = ch_program_open(path, &options, &program);

	cr_assert_null(err, "ch_program_open failed: %s",
		       err ? err->message : "");
	return program;
}

// The warning holding fragment, or NULL; it must be partial.
static const char *find_warning(const struct ch_program *program,
				const char *fragment)
{
	for (size_t i = 0; i < program->num_warnings; i++) {
		if (strstr(program->warnings[i].message, fragment)) {
			cr_expect(program->warnings[i].partial,
				  "'%s' does not make the results partial",
				  program->warnings[i].message);
			return program->warnings[i].message;
		}
	}
	return NULL;
}

static void expect_warning(const struct ch_program *program, const char *path,
			   const char *fragment)
{
	const char *message = find_warning(program, fragment);

	cr_expect_not_null(message, "no warning says '%s'", fragment);
	if (message)
		cr_expect(strstr(message, path), "warning '%s' does not name the core",
			  message);
}

// The warning names each lost range; writable memory makes it partial.
Test(core, cut_core_names_what_it_lost)
{
	struct ch_program_options options = { 0 };
	struct ch_program *program;
	struct synth_core synth;
	char range[64], *path;
	uint64_t kept;

	two_segments(&synth);
	synth.truncate_to = 8192 + 1000;
	path = synth_core_write(&synth);
	program = open_program(path);
	cr_assert_null(ch_program_load_heap(program, &options));
	kept = program->core->segments[0].available;
	snprintf(range, sizeof(range), "is truncated: 0x%llx-0x%llx (%llu bytes of writable memory)",
		 (unsigned long long)(0x10000 + kept),
		 (unsigned long long)(0x10000 + sizeof(heap_bytes)),
		 (unsigned long long)(sizeof(heap_bytes) - kept));
	cr_expect_not_null(find_warning(program, range), "no warning '%s'", range);
	cr_expect_not_null(find_warning(program,
					"is truncated: 0x7ff000-0x800000 (4096 bytes of writable memory)"));
	ch_program_destroy(program);
	unlink(path);
	free(path);
}

Test(core, many_huge_note_headers_cannot_overflow_the_threads)
{
	struct synth_core synth;
	struct ch_program *program;
	struct ch_core *core;
	char *path;

	// 512 PT_NOTEs over the same notes, each claiming (2^55 - 1) * 328
	// bytes: a count of threads summed from the claims (2^55 each, at
	// 328 bytes a thread) wraps to almost nothing, and the threads read
	// then overflowed the array it sized.
	two_segments(&synth);
	synth.note_copies = 512;
	synth.note_copy_filesz = ((UINT64_C(1) << 55) - 1) * 328;
	path = write_core(&synth);
	core = open_ok(path);
	cr_expect_eq(core->num_threads, 2, "the notes are read once, not 513 times");
	cr_expect_eq(core->problems[CH_CORE_BAD_NOTE_SEGMENT].count, 512);
	ch_core_destroy(core);
	program = open_program(path);
	expect_warning(program, path, "overlaps an earlier one");
	cr_expect(strstr(find_warning(program, "PT_NOTE") ?: "", "(and 511 more of this kind)"));
	ch_program_destroy(program);
	remove_core(path);
}

Test(core, a_note_size_past_the_file_sizes_nothing)
{
	struct synth_core synth;
	struct ch_program *program;
	struct ch_core *core;
	char *path;

	// 2^40 bytes of notes: read what the file holds, and say so.
	two_segments(&synth);
	synth.notes_filesz = UINT64_C(1) << 40;
	path = write_core(&synth);
	core = open_ok(path);
	cr_expect_eq(core->num_threads, 2);
	cr_expect_eq(core->num_files, 1);
	ch_core_destroy(core);
	program = open_program(path);
	expect_warning(program, path, "claims 1099511627776 bytes, past the end of the file");
	ch_program_destroy(program);
	remove_core(path);
}

Test(core, thread_notes_are_bounded_by_the_file, .timeout = 60)
{
	struct synth_core synth;
	struct ch_core *core;
	char *path;

	// Every thread must come from bytes of the file: four real ones.
	two_segments(&synth);
	synth.num_threads = 4;
	synth.tids[2] = 102;
	synth.tids[3] = 103;
	path = write_core(&synth);
	core = open_ok(path);
	cr_expect_eq(core->num_threads, 4);
	cr_expect_eq(core->threads[3].tid, 103);
	cr_expect_geq(core->threads_capacity, 4);
	ch_core_destroy(core);
	remove_core(path);
}

Test(core, damaged_segments_are_each_told_once)
{
	static uint8_t page[8192];
	struct synth_core synth;
	struct ch_program *program;
	struct ch_core *core;
	char *path;

	two_segments(&synth);
	// Stores 8 KiB but spans 4 KiB.
	synth.segments[2] = (struct synth_segment){
		.vaddr = 0x200000, .memsz = 4096, .data = page,
		.filesz = sizeof(page), .flags = PF_R };
	// Wraps past 2^64.
	synth.segments[3] = (struct synth_segment){
		.vaddr = UINT64_MAX - 4095, .memsz = 8192, .flags = PF_R };
	// Spans nothing.
	synth.segments[4] = (struct synth_segment){
		.vaddr = 0x300000, .memsz = 0, .flags = PF_R };
	// Over the heap.
	synth.segments[5] = (struct synth_segment){
		.vaddr = 0x10000 + 4096, .memsz = 4096, .data = page,
		.filesz = 4096, .flags = PF_R };
	synth.num_segments = 6;
	path = write_core(&synth);
	core = open_ok(path);
	cr_expect_eq(core->num_segments, 4, "the wrapping and empty ones are left out");
	cr_expect_eq(core->segments[2].start, 0x200000);
	cr_expect_eq(core->segments[2].available, 4096, "never past p_memsz");
	ch_core_destroy(core);

	program = open_program(path);
	expect_warning(program, path, "stores 8192 bytes but spans only 4096");
	expect_warning(program, path, "wraps past the end of the address space");
	expect_warning(program, path, "has a memory size of 0");
	expect_warning(program, path, "overlaps an earlier one");
	cr_expect(ch_program_is_partial(program));
	// The heap reads as it was: the overlap does not replace it.
	uint64_t word;
	cr_expect(ch_address_space_read_u64(program->address_space, 0x10000 + 4096,
					    &word));
	cr_expect_eq(word, 0x0706050403020100ULL);
	ch_program_destroy(program);
	remove_core(path);
}

Test(core, an_impossible_file_note_is_told_not_used)
{
	struct synth_core synth;
	struct ch_program *program;
	struct ch_core *core;
	char *path;

	two_segments(&synth);
	synth.set_file_count = true;
	synth.file_count = UINT64_C(1) << 61;
	synth.file_page_size = 4096;
	path = write_core(&synth);
	core = open_ok(path);
	cr_expect_eq(core->num_files, 0);
	cr_expect_eq(core->num_threads, 2, "the other notes are still read");
	ch_core_destroy(core);
	program = open_program(path);
	expect_warning(program, path, "claims 2305843009213693952 mappings but has room for 1");
	ch_program_destroy(program);
	remove_core(path);

	two_segments(&synth);
	synth.set_file_count = true;
	synth.file_count = 1;
	synth.file_page_size = 3000;
	path = write_core(&synth);
	program = open_program(path);
	expect_warning(program, path, "impossible page size 3000");
	cr_expect_eq(program->core->num_files, 0);
	ch_program_destroy(program);
	remove_core(path);
}

Test(core, a_short_thread_note_or_a_negative_tid_is_told)
{
	struct synth_core synth;
	struct ch_program *program;
	char *path;

	two_segments(&synth);
	synth.prstatus_size = 200;
	path = write_core(&synth);
	program = open_program(path);
	cr_expect_eq(program->core->num_threads, 0);
	expect_warning(program, path, "too short for x86-64's 328");
	ch_program_destroy(program);
	remove_core(path);

	two_segments(&synth);
	synth.tids[1] = -1;
	path = write_core(&synth);
	program = open_program(path);
	cr_expect_eq(program->core->num_threads, 2);
	cr_expect(program->core->has_bad_tid);
	expect_warning(program, path, "impossible thread id -1");
	ch_program_destroy(program);
	remove_core(path);
}

Test(core, no_readable_segment_is_no_undefined_behaviour)
{
	struct synth_core synth;
	struct ch_address_space *as;
	struct ch_core *core;
	struct ch_error *err;
	char *path;

	// Nothing saved: no range at all (qsort once saw NULL and 0).
	synth_core_init(&synth);
	synth.segments[0] = (struct synth_segment){
		.vaddr = 0x10000, .memsz = 4096, .flags = PF_R };
	synth.num_segments = 1;
	path = write_core(&synth);
	core = open_ok(path);
	err = ch_address_space_create(core, NULL, &as);
	cr_assert_null(err);
	cr_expect_eq(as->num_ranges, 0);
	cr_expect_null(ch_address_space_range(as, 0x10000));
	ch_address_space_destroy(as);
	ch_core_destroy(core);
	remove_core(path);

	// No PT_LOAD at all: said, and the rest still opens.
	synth_core_init(&synth);
	synth.num_threads = 1;
	synth.tids[0] = 5;
	path = write_core(&synth);
	struct ch_program *program = open_program(path);
	expect_warning(program, path, "has no memory: no PT_LOAD segment");
	ch_program_destroy(program);
	remove_core(path);
}

Test(core, says_why_a_core_cannot_be_read)
{
	struct synth_core synth;
	struct ch_core *core;
	char *path;
	FILE *file;

	synth_core_init(&synth);
	synth.elf_data = ELFDATA2MSB;
	synth.e_machine = EM_PPC64;
	path = write_core(&synth);
	assert_error(ch_core_open(path, &core), CH_ERROR_ARCH,
		     "is big-endian (ELF machine 21, ppc64); only little-endian x86-64 cores are supported");
	remove_core(path);

	synth_core_init(&synth);
	synth.elf_class = ELFCLASS32;
	synth.e_machine = EM_386;
	path = write_core(&synth);
	assert_error(ch_core_open(path, &core), CH_ERROR_ARCH,
		     "is 32-bit (i386); only 64-bit x86-64 cores are supported");
	remove_core(path);

	// The first 16 bytes of a good core: its ELF identification only.
	synth_core_init(&synth);
	synth.truncate_to = 16;
	path = write_core(&synth);
	assert_error(ch_core_open(path, &core), CH_ERROR_FORMAT,
		     "is truncated: 16 bytes, too short to be an ELF file");
	remove_core(path);

	path = strdup("/tmp/coreheap-empty-XXXXXX");
	file = fdopen(mkstemp(path), "w");
	fclose(file);
	assert_error(ch_core_open(path, &core), CH_ERROR_FORMAT,
		     "is not an ELF file");
	remove_core(path);
}

Test(core, a_fifo_or_a_directory_is_refused_without_blocking, .timeout = 10)
{
	char dir[] = "/tmp/coreheap-fifo-XXXXXX";
	char fifo[64];
	struct ch_core *core;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/core", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	// Opened for reading, a FIFO with no writer blocks forever.
	assert_error(ch_core_open(fifo, &core), CH_ERROR_FORMAT,
		     "is not a regular file (a FIFO)");
	assert_error(ch_core_open(dir, &core), CH_ERROR_FORMAT,
		     "is not a regular file (a directory)");
	assert_error(ch_core_open("/dev/null", &core), CH_ERROR_FORMAT,
		     "core '/dev/null' is not a regular file (a character device)");
	unlink(fifo);
	rmdir(dir);
}

Test(core, many_program_headers_are_read_in_linear_time, .timeout = 30)
{
	struct synth_core synth;
	struct ch_program *program;
	struct timespec t0, t1;
	char *path;

	// 300,000 PT_LOADs (PN_XNUM numbering): libdwfl's module search is
	// quadratic in them (13 s), so it is not run, and that is said.
	two_segments(&synth);
	synth.num_empty_loads = 300000;
	path = write_core(&synth);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	program = open_program(path);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_expect_eq(program->core->num_phdrs, 300003);
	cr_expect_eq(program->core->num_segments, 300002);
	cr_expect(program->modules->skipped);
	expect_warning(program, path, "has 300003 program headers, more than the 65536");
	cr_expect_null(find_warning(program, "no modules found"),
		       "the cause is said, not its consequence");
	// Far below libdwfl's 13 s, with room for a loaded machine.
	cr_expect_lt(t1.tv_sec - t0.tv_sec, 10);
	ch_program_destroy(program);
	remove_core(path);
}

static const uint8_t zero_page[4096];

// A segment of size bytes at vaddr, its first page in the file.
static struct synth_segment page_segment(uint64_t vaddr, uint64_t size,
					 uint32_t flags)
{
	return (struct synth_segment){ .vaddr = vaddr, .memsz = size,
				       .data = zero_page,
				       .filesz = sizeof(zero_page),
				       .flags = flags };
}

Test(core, libdwfl_searches_the_core_without_the_threads_stacks)
{
	struct synth_core synth;
	struct ch_program *program;
	char *path;

	synth_core_init(&synth);
	// The main thread's stack: nothing below it.
	synth.segments[0] = page_segment(0x7ffe00000000, 0x10000, PF_R | PF_W);
	// A thread's stack over its guard page, as the kernel writes it.
	synth.segments[1] = (struct synth_segment){ .vaddr = 0x7f0000000000,
						    .memsz = 0x1000 };
	synth.segments[2] = page_segment(0x7f0000001000, 0x10000, PF_R | PF_W);
	// One over a writable neighbour: no guard page, it may be the heap.
	synth.segments[3] = page_segment(0x7f1000000000, 0x1000, PF_R | PF_W);
	synth.segments[4] = page_segment(0x7f1000001000, 0x10000, PF_R | PF_W);
	// One in a file's mapping, over a read-only page.
	synth.segments[5] = page_segment(0x7f2000000000, 0x1000, PF_R);
	synth.segments[6] = page_segment(0x7f2000001000, 0x10000, PF_R | PF_W);
	synth.num_segments = 7;
	synth.files[0] = (struct synth_file){ .start = 0x7f2000001000,
					      .end = 0x7f2000011000,
					      .path = "/tmp/coreheap-no-such-file" };
	synth.num_files = 1;
	synth.num_threads = 4;
	for (size_t t = 0; t < 4; t++)
		synth.tids[t] = 100 + (int32_t)t;
	synth.rsps[0] = 0x7ffe00008000;
	synth.rsps[1] = 0x7f0000008000;
	synth.rsps[2] = 0x7f1000008000;
	synth.rsps[3] = 0x7f2000008000;
	synth.with_psinfo = true;
	path = write_core(&synth);
	program = open_program(path);
	cr_expect_eq(program->core->num_phdrs, 8);
	cr_expect_eq(program->modules->hidden_phdrs, 2,
		     "only the stack over a guard page and its guard");
	cr_expect_eq(program->modules->dwfl_phdrs, 6);
	cr_expect_eq(program->core->num_segments, 7, "the core keeps them");
	cr_expect_not(program->modules->skipped);
	ch_program_destroy(program);
	remove_core(path);
}

Test(core, a_core_of_many_threads_has_its_modules_looked_up)
{
	struct synth_core synth;
	struct ch_program *program;
	char *path;

	// 33,000 threads: 66,000 headers of stacks and guard pages, past
	// CH_MAX_DWFL_PHDRS, besides two_segments()'s note and segments.
	two_segments(&synth);
	synth.num_thread_stacks = 33000;
	path = write_core(&synth);
	program = open_program(path);
	cr_expect_eq(program->core->num_phdrs, 66003);
	cr_expect_eq(program->core->num_threads, 33002);
	cr_expect_eq(program->modules->hidden_phdrs, 66000);
	cr_expect_eq(program->modules->dwfl_phdrs, 3);
	cr_expect_not(program->modules->skipped);
	cr_expect_null(find_warning(program, "program headers"));
	ch_program_destroy(program);
	remove_core(path);
}

Test(core, a_bad_thread_note_is_told_once_for_every_command)
{
	struct synth_core synth;
	struct ch_program *program;
	const struct ch_stacks *stacks;
	struct ch_error *err;
	size_t num_warnings;
	char *path;

	// libdwfl leaks what it allocated for a thread of id -1 (0.188): it
	// is never handed such a core, and every command says why once.
	two_segments(&synth);
	synth.tids[1] = -1;
	path = write_core(&synth);
	program = open_program(path);
	cr_expect(program->modules->threads_unreadable);
	expect_warning(program, path, "impossible thread id -1; registers are read, but no stack is unwound");
	cr_expect_null(find_warning(program, "cannot unwind"), "told once");
	num_warnings = program->num_warnings;
	err = ch_program_stacks(program, &stacks);
	cr_assert_null(err, "%s", err ? err->message : "");
	cr_expect_not_null(stacks->error, "no unwinding through a bad note");
	cr_expect_eq(program->num_warnings, num_warnings,
		     "unwinding says nothing more: the program said it");
	ch_program_destroy(program);
	remove_core(path);
}

// A program on the synthetic core with these user paths; its warnings.
static struct ch_program *open_with(const char *core_path, const char *exe,
				    const char *sysroot)
{
	struct ch_program_options options = { 0 };
	struct ch_program *program = NULL;
	struct ch_error *err;

	options.search.executable = exe;
	options.search.sysroot = sysroot;
	err = ch_program_open(core_path, &options, &program);
	cr_assert_null(err, "ch_program_open failed: %s",
		       err ? err->message : "");
	return program;
}

static void expect_path_warning(const char *core_path, const char *exe,
				const char *sysroot, const char *fragment)
{
	struct ch_program *program = open_with(core_path, exe, sysroot);

	cr_expect_not_null(find_warning(program, fragment),
			   "no warning says '%s'", fragment);
	cr_expect(ch_program_is_partial(program));
	ch_program_destroy(program);
}

Test(core, unusable_user_paths_are_told_without_blocking, .timeout = 20)
{
	char dir[] = "/tmp/coreheap-paths-XXXXXX";
	char fifo[64], truncated[64], text[64];
	struct synth_core synth;
	char *path, *warning;
	FILE *in, *out;
	char buf[2048];
	size_t n;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(truncated, sizeof(truncated), "%s/truncated", dir);
	snprintf(text, sizeof(text), "%s/text", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	// The first 2 KiB of an executable: its headers, not what they say.
	in = fopen("/proc/self/exe", "r");
	out = fopen(truncated, "w");
	cr_assert(in && out);
	n = fread(buf, 1, sizeof(buf), in);
	fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	out = fopen(text, "w");
	fputs("not a binary\n", out);
	fclose(out);

	two_segments(&synth);
	path = write_core(&synth);
	expect_path_warning(path, fifo, NULL, "is not a regular file (a FIFO); it is ignored");
	expect_path_warning(path, dir, NULL, "is not a regular file (a directory)");
	expect_path_warning(path, "/dev/null", NULL, "--exe '/dev/null' is not a regular file");
	expect_path_warning(path, "/nonexistent/exe", NULL,
			    "cannot open --exe '/nonexistent/exe': No such file or directory");
	expect_path_warning(path, truncated, NULL, "is truncated or damaged");
	expect_path_warning(path, text, NULL, "is not an ELF file");
	expect_path_warning(path, NULL, text, "--sysroot");
	expect_path_warning(path, NULL, "/nonexistent/root",
			    "cannot use --sysroot '/nonexistent/root'");

	// A good one says nothing about itself.
	struct ch_program *program = open_with(path, "/proc/self/exe", dir);
	warning = (char *)find_warning(program, "--exe");
	cr_expect_null(warning, "unexpected: %s", warning);
	cr_expect_null(find_warning(program, "--sysroot"));
	ch_program_destroy(program);

	remove_core(path);
	unlink(fifo);
	unlink(truncated);
	unlink(text);
	rmdir(dir);
}

Test(core, a_plugin_that_is_a_fifo_is_refused_without_blocking, .timeout = 20)
{
	char dir[] = "/tmp/coreheap-plugin-XXXXXX";
	struct ch_program_options options = { 0 };
	struct synth_core synth;
	struct ch_program *program;
	const char *plugins[1];
	char fifo[64];
	char *path;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/plugin.so", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	plugins[0] = fifo;
	options.plugins = plugins;
	options.num_plugins = 1;
	two_segments(&synth);
	path = write_core(&synth);
	program = open_program(path);
	assert_error(ch_program_load_heap(program, &options), CH_ERROR_FORMAT,
		     "is not a regular file (a FIFO)");
	ch_program_destroy(program);
	remove_core(path);
	unlink(fifo);
	rmdir(dir);
}

Test(core, a_mapped_path_that_is_a_fifo_is_not_opened, .timeout = 20)
{
	char dir[] = "/tmp/coreheap-mapped-XXXXXX";
	static uint8_t text[4096];
	struct synth_core synth;
	struct ch_program *program;
	char fifo[64];
	char *path;
	FILE *exe;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/program", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	// An ELF header in memory where NT_FILE maps the FIFO: libdwfl
	// opens such a path itself, with a blocking open().
	exe = fopen("/proc/self/exe", "r");
	cr_assert_not_null(exe);
	cr_assert_eq(fread(text, 1, sizeof(text), exe), sizeof(text));
	fclose(exe);
	two_segments(&synth);
	synth.segments[2] = (struct synth_segment){
		.vaddr = 0x400000, .memsz = sizeof(text), .data = text,
		.filesz = sizeof(text), .flags = PF_R | PF_X };
	synth.num_segments = 3;
	synth.files[0].path = fifo;
	synth.files[0].end = 0x401000;
	path = write_core(&synth);
	program = open_program(path);
	cr_expect_eq(program->modules->unsafe_paths, 1);
	expect_warning(program, path, "which is no regular file here");
	// The module keeps the core's name for it.
	for (size_t i = 0; i < program->modules->num_modules; i++)
		cr_expect_eq(program->modules->modules[i].name[1] == '\1', 0,
			     "a hidden path leaks into a module's name");
	ch_program_destroy(program);
	remove_core(path);

	// In a second NT_FILE note, which we read around but libdwfl takes.
	synth.files[0].path = "/nonexistent/program";
	synth.second_file_path = fifo;
	path = write_core(&synth);
	program = open_program(path);
	cr_expect_eq(program->modules->unsafe_paths, 1);
	expect_warning(program, path, "more than one file note");
	expect_warning(program, path, "which is no regular file here");
	ch_program_destroy(program);
	remove_core(path);

	// A core read into memory is hidden from libdwfl in place: the
	// warning still names the path, once.
	synth.second_file_path = NULL;
	synth.files[0].path = fifo;
	path = write_zstd_core(&synth);
	program = open_program(path);
	cr_expect_eq(program->modules->unsafe_paths, 1);
	expect_warning(program, path, fifo);
	ch_program_destroy(program);
	remove_core(path);
	unlink(fifo);
	rmdir(dir);
}

Test(core, cut_notes_unsaved_memory_and_twin_threads_are_told)
{
	struct synth_core synth;
	// The notes of two_segments(): 2 threads, the process, one file.
	size_t notes_size = 2 * (12 + 8 + 336) + (12 + 8 + 136) +
			    (12 + 8 + ((16 + 24 + sizeof("/usr/bin/synthetic") + 3) & ~3UL));
	struct ch_program *program;
	char *path;

	// Whole, they say nothing.
	two_segments(&synth);
	path = write_core(&synth);
	program = open_program(path);
	cr_expect_null(find_warning(program, "does not fit"), "a sound core says nothing");
	cr_expect_eq(program->core->num_files, 1);
	ch_program_destroy(program);
	remove_core(path);
	// The PT_NOTE a byte short: its last note (NT_FILE) does not fit.
	two_segments(&synth);
	synth.notes_filesz = notes_size - 1;
	path = write_core(&synth);
	program = open_program(path);
	expect_warning(program, path, "does not fit in its PT_NOTE");
	cr_expect_eq(program->core->num_files, 0);
	cr_expect_eq(program->core->num_threads, 2, "the notes before it are read");
	ch_program_destroy(program);
	remove_core(path);

	// Writable memory of no file, with nothing saved; a segment in the
	// kernel's half of the address space; two threads of one id.
	two_segments(&synth);
	synth.segments[2] = (struct synth_segment){
		.vaddr = 0x500000, .memsz = 4096, .flags = PF_R | PF_W };
	synth.segments[3] = (struct synth_segment){
		.vaddr = 0xffff888000000000, .memsz = 4096, .flags = PF_R };
	// The vsyscall page is where cores have it, and no damage.
	synth.segments[4] = (struct synth_segment){
		.vaddr = 0xffffffffff600000, .memsz = 4096, .flags = PF_R | PF_X };
	synth.num_segments = 5;
	synth.tids[1] = 100;
	path = write_core(&synth);
	program = open_program(path);
	// Told only with --verbose: the kernel leaves such memory out on
	// purpose (MADV_DONTDUMP), and a read of it faults and says so.
	cr_expect_eq(program->core->problems[CH_CORE_UNSAVED].count, 1);
	cr_expect_null(find_warning(program, "writable memory at 0x500000"),
		       "unsaved writable memory is no warning without --verbose");
	expect_warning(program, path, "PT_LOAD at 0xffff888000000000 of 4096 bytes lies outside an x86-64 process's address space");
	cr_expect_eq(program->core->problems[CH_CORE_SEGMENT_WRAPS].count, 1,
		     "the vsyscall page is no damage");
	expect_warning(program, path, "thread id 100 is given by more than one thread note");
	ch_program_destroy(program);
	remove_core(path);
}

Test(core, program_headers_out_of_the_file_are_said_so)
{
	struct synth_core synth;
	struct ch_core *core;
	char *path;

	two_segments(&synth);
	synth.truncate_to = 64 + 56 + 20;
	path = write_core(&synth);
	assert_error(ch_core_open(path, &core), CH_ERROR_FORMAT,
		     "is truncated or damaged: its 3 program headers at offset 64 run past its end (140 bytes)");
	remove_core(path);
}

// systemd-coredump's file names: core.COMM.UID.BOOTID.PID.TIMESTAMP[.EXT].
Test(coredump_store, parses_file_names)
{
	struct ch_coredump_name name;
	static const char *const bad[] = {
		"core", "core.app", "core.app.0.0123.42.1",
		"core..0.0123456789abcdef0123456789abcdef.42.1",
		"core.app.0.0123456789abcdef0123456789abcdeg.42.1",
		"core.app.0.0123456789abcdef0123456789abcdef.42.",
		"core.app.0.0123456789abcdef0123456789abcdef.x42.1",
		"core.app.99999999999.0123456789abcdef0123456789abcdef.42.1",
		"notcore.app.0.0123456789abcdef0123456789abcdef.42.1",
	};

	cr_assert(ch_coredump_parse_name(
		"core.my\\x2eapp.1000.0123456789abcdef0123456789abcdef.4242.1700000000123456.zst",
		&name));
	cr_assert_str_eq(name.comm, "my.app");
	cr_assert_eq(name.uid, 1000);
	cr_assert_eq(name.pid, 4242);
	cr_assert_eq(name.timestamp_us, UINT64_C(1700000000123456));
	cr_assert(ch_coredump_parse_name(
		"core.sleep.0.0123456789abcdef0123456789abcdef.7.8", &name));
	cr_assert_str_eq(name.comm, "sleep");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(ch_coredump_parse_name(bad[i], &name), "'%s' was taken",
			      bad[i]);
}

/* The process a core describes (core/process.c): si_code named as the
 * kernel's uapi siginfo.h names it, checked against the host's <signal.h>
 * (glibc's own copy of the numbers); the layout the kernel fills; and the
 * command line found on a hand-made stack, whole or, when the stack does
 * not hold what the kernel puts there, pr_psargs. */

#include <signal.h>

#include "core/process.h"

Test(core, si_codes_are_named_as_the_kernel_names_them)
{
	static const struct {
		int number, code;
		const char *name;
	} known[] = {
		{ SIGSEGV, SEGV_MAPERR, "SEGV_MAPERR" },
		{ SIGSEGV, SEGV_ACCERR, "SEGV_ACCERR" },
		{ SIGSEGV, SEGV_BNDERR, "SEGV_BNDERR" },
		{ SIGSEGV, SEGV_PKUERR, "SEGV_PKUERR" },
		{ SIGBUS, BUS_ADRALN, "BUS_ADRALN" },
		{ SIGBUS, BUS_ADRERR, "BUS_ADRERR" },
		{ SIGBUS, BUS_OBJERR, "BUS_OBJERR" },
		{ SIGBUS, BUS_MCEERR_AR, "BUS_MCEERR_AR" },
		{ SIGBUS, BUS_MCEERR_AO, "BUS_MCEERR_AO" },
		{ SIGILL, ILL_ILLOPC, "ILL_ILLOPC" },
		{ SIGILL, ILL_ILLOPN, "ILL_ILLOPN" },
		{ SIGILL, ILL_ILLADR, "ILL_ILLADR" },
		{ SIGILL, ILL_ILLTRP, "ILL_ILLTRP" },
		{ SIGILL, ILL_PRVOPC, "ILL_PRVOPC" },
		{ SIGILL, ILL_PRVREG, "ILL_PRVREG" },
		{ SIGILL, ILL_COPROC, "ILL_COPROC" },
		{ SIGILL, ILL_BADSTK, "ILL_BADSTK" },
		{ SIGFPE, FPE_INTDIV, "FPE_INTDIV" },
		{ SIGFPE, FPE_INTOVF, "FPE_INTOVF" },
		{ SIGFPE, FPE_FLTDIV, "FPE_FLTDIV" },
		{ SIGFPE, FPE_FLTOVF, "FPE_FLTOVF" },
		{ SIGFPE, FPE_FLTUND, "FPE_FLTUND" },
		{ SIGFPE, FPE_FLTRES, "FPE_FLTRES" },
		{ SIGFPE, FPE_FLTINV, "FPE_FLTINV" },
		{ SIGFPE, FPE_FLTSUB, "FPE_FLTSUB" },
		{ SIGTRAP, TRAP_BRKPT, "TRAP_BRKPT" },
		{ SIGTRAP, TRAP_TRACE, "TRAP_TRACE" },
		{ SIGCHLD, CLD_EXITED, "CLD_EXITED" },
		{ SIGCHLD, CLD_KILLED, "CLD_KILLED" },
		{ SIGCHLD, CLD_DUMPED, "CLD_DUMPED" },
		{ SIGCHLD, CLD_TRAPPED, "CLD_TRAPPED" },
		{ SIGCHLD, CLD_STOPPED, "CLD_STOPPED" },
		{ SIGCHLD, CLD_CONTINUED, "CLD_CONTINUED" },
		{ SIGPOLL, POLL_IN, "POLL_IN" },
		{ SIGPOLL, POLL_HUP, "POLL_HUP" },
#ifdef SYS_SECCOMP
		{ SIGSYS, SYS_SECCOMP, "SYS_SECCOMP" },
#endif
		{ SIGSEGV, SI_USER, "SI_USER" },
		{ SIGSEGV, SI_KERNEL, "SI_KERNEL" },
		{ SIGSEGV, SI_QUEUE, "SI_QUEUE" },
		{ SIGALRM, SI_TIMER, "SI_TIMER" },
		{ SIGUSR1, SI_MESGQ, "SI_MESGQ" },
		{ SIGUSR1, SI_ASYNCIO, "SI_ASYNCIO" },
		{ SIGIO, SI_SIGIO, "SI_SIGIO" },
		{ SIGSEGV, SI_TKILL, "SI_TKILL" },
		{ SIGKILL, SI_DETHREAD, "SI_DETHREAD" },
		{ SIGUSR1, SI_ASYNCNL, "SI_ASYNCNL" },
		/* Another signal's small codes read as SIGPOLL's (the
		 * kernel's siginfo_layout()). */
		{ SIGUSR1, POLL_OUT, "POLL_OUT" },
	};
	struct ch_signal_code name;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		cr_expect(ch_signal_code_name(known[i].number, known[i].code, &name),
			  "signal %d code %d has no name", known[i].number,
			  known[i].code);
		cr_expect_str_eq(name.name ? name.name : "(none)", known[i].name);
		cr_expect(name.meaning && *name.meaning);
	}
	cr_expect_not(ch_signal_code_name(SIGSEGV, 11, &name),
		      "past NSIGSEGV (10): no name");
	cr_expect_null(name.name);
	cr_expect_not(ch_signal_code_name(SIGSEGV, 0x81, &name));
	cr_expect_not(ch_signal_code_name(SIGUSR1, 7, &name));
	cr_expect_not(ch_signal_code_name(SIGSEGV, -8, &name));
	cr_expect_str_eq(ch_signal_name(SIGSEGV), "SEGV");
	cr_expect_str_eq(ch_signal_name(SIGSYS), "SYS");
	cr_expect_null(ch_signal_name(0));
	cr_expect_null(ch_signal_name(34));
	cr_expect_null(ch_signal_name(-1));
}

Test(core, siginfo_layouts_are_the_kernels)
{
	cr_expect_eq(ch_siginfo_layout(SIGSEGV, SEGV_MAPERR), CH_SIGINFO_FAULT);
	cr_expect_eq(ch_siginfo_layout(SIGBUS, BUS_ADRALN), CH_SIGINFO_FAULT);
	cr_expect_eq(ch_siginfo_layout(SIGTRAP, TRAP_BRKPT), CH_SIGINFO_FAULT);
	cr_expect_eq(ch_siginfo_layout(SIGFPE, FPE_INTDIV), CH_SIGINFO_FAULT);
	cr_expect_eq(ch_siginfo_layout(SIGILL, ILL_ILLOPC), CH_SIGINFO_FAULT);
	cr_expect_eq(ch_siginfo_layout(SIGSEGV, SI_USER), CH_SIGINFO_KILL);
	cr_expect_eq(ch_siginfo_layout(SIGSEGV, SI_KERNEL), CH_SIGINFO_KILL);
	cr_expect_eq(ch_siginfo_layout(SIGSEGV, SI_TKILL), CH_SIGINFO_RT);
	cr_expect_eq(ch_siginfo_layout(SIGSEGV, SI_QUEUE), CH_SIGINFO_RT);
	cr_expect_eq(ch_siginfo_layout(SIGALRM, SI_TIMER), CH_SIGINFO_TIMER);
	cr_expect_eq(ch_siginfo_layout(SIGIO, SI_SIGIO), CH_SIGINFO_POLL);
	cr_expect_eq(ch_siginfo_layout(SIGCHLD, CLD_EXITED), CH_SIGINFO_CHLD);
	cr_expect_eq(ch_siginfo_layout(SIGSYS, 1 /* SYS_SECCOMP */), CH_SIGINFO_SYS);
	cr_expect_eq(ch_siginfo_layout(SIGUSR1, 3), CH_SIGINFO_POLL);
	cr_expect_eq(ch_siginfo_layout(SIGUSR1, 7), CH_SIGINFO_KILL);
	/* Past the signal's own codes, a fault is no fault. */
	cr_expect_eq(ch_siginfo_layout(SIGSEGV, 11), CH_SIGINFO_KILL);
}

// A siginfo_t: signo, errno, code, then the union's first two words.
static void make_siginfo(uint8_t siginfo[128], int32_t number, int32_t code,
			 uint64_t first, uint64_t second)
{
	memset(siginfo, 0, 128);
	memcpy(siginfo, &number, 4);
	memcpy(siginfo + 8, &code, 4);
	memcpy(siginfo + 16, &first, 8);
	memcpy(siginfo + 24, &second, 8);
}

static struct ch_core *signal_core(struct synth_core *synth, const uint8_t *siginfo,
				   size_t size, char **path)
{
	two_segments(synth);
	synth->siginfo = siginfo;
	synth->siginfo_size = size;
	*path = synth_core_write(synth);
	return open_ok(*path);
}

Test(core, a_signal_is_decoded_by_its_layout)
{
	struct synth_core synth;
	struct ch_signal signal;
	struct ch_core *core;
	uint8_t siginfo[128];
	char *path;

	/* A fault: its address; no sender. */
	make_siginfo(siginfo, SIGSEGV, SEGV_MAPERR, 0xdead123, 0);
	core = signal_core(&synth, siginfo, sizeof(siginfo), &path);
	ch_core_signal(core, &signal);
	cr_expect(signal.present);
	cr_expect_not(core->written_by_gdb);
	cr_expect_str_eq(signal.code_name.name, "SEGV_MAPERR");
	cr_expect(signal.has_fault_address);
	cr_expect_eq(signal.fault_address, 0xdead123);
	cr_expect_not(signal.has_sender);
	ch_core_destroy(core);
	unlink(path);
	free(path);

	/* kill: pid 4242, uid 1000 in _kill; no address. */
	make_siginfo(siginfo, SIGSEGV, SI_USER, 4242 | (UINT64_C(1000) << 32), 0);
	core = signal_core(&synth, siginfo, sizeof(siginfo), &path);
	ch_core_signal(core, &signal);
	cr_expect_str_eq(signal.code_name.name, "SI_USER");
	cr_expect_not(signal.has_fault_address);
	cr_expect(signal.has_sender);
	cr_expect_eq(signal.sender_pid, 4242);
	cr_expect_eq(signal.sender_uid, 1000);
	ch_core_destroy(core);
	unlink(path);
	free(path);

	/* SI_KERNEL: no process sent it; a note of the least size read. */
	make_siginfo(siginfo, SIGSEGV, SI_KERNEL, 0, 0);
	core = signal_core(&synth, siginfo, 24, &path);
	ch_core_signal(core, &signal);
	cr_expect(signal.present);
	cr_expect_str_eq(signal.code_name.name, "SI_KERNEL");
	cr_expect_not(signal.has_sender);
	cr_expect_not(signal.has_fault_address);
	ch_core_destroy(core);
	unlink(path);
	free(path);

	/* An unknown code: a number, nothing read from the union. */
	make_siginfo(siginfo, 77, 1234, 1, 2);
	core = signal_core(&synth, siginfo, sizeof(siginfo), &path);
	ch_core_signal(core, &signal);
	cr_expect(signal.present);
	cr_expect_null(signal.name);
	cr_expect_null(signal.code_name.name);
	cr_expect_not(signal.has_sender);
	cr_expect_not(signal.has_fault_address);
	ch_core_destroy(core);
	unlink(path);
	free(path);
}

Test(core, a_core_gdb_wrote_of_a_running_process_has_no_signal)
{
	struct synth_core synth;
	struct ch_signal signal;
	struct ch_core *core;
	uint8_t siginfo[128];
	char *path;

	/* gdb writes NT_PRPSINFO first, no pr_cursig, and the SIGSTOP of
	 * its attach (SI_KERNEL). */
	make_siginfo(siginfo, SIGSTOP, SI_KERNEL, 0, 0);
	two_segments(&synth);
	synth.num_threads = 0;
	synth.siginfo = siginfo;
	synth.siginfo_size = sizeof(siginfo);
	path = synth_core_write(&synth);
	core = open_ok(path);
	cr_expect(core->written_by_gdb);
	ch_core_signal(core, &signal);
	cr_expect_not(signal.present);
	cr_expect(signal.taken_by_gdb);
	ch_core_destroy(core);
	unlink(path);
	free(path);
}

/*
 * A main thread's stack as the kernel leaves it: argc, argv[], NULL,
 * envp[], NULL, the auxiliary vector (also the NT_AUXV note), then the
 * argument strings, the environment's, AT_EXECFN's, 8 zero bytes.
 */
#define STACK_START UINT64_C(0x7ffffff00000)
#define STACK_SIZE 8192
#define AUXV_AT 0x1000
#define STRINGS_AT 0x1800

struct hand_stack {
	uint8_t bytes[STACK_SIZE];
	uint64_t auxv[6];
	uint64_t argv_at;	/* offset of argv[0]'s pointer */
};

static void put_word(struct hand_stack *stack, size_t offset, uint64_t word)
{
	memcpy(stack->bytes + offset, &word, 8);
}

static void build_stack(struct hand_stack *stack, const char *const *args,
			size_t argc)
{
	size_t at = STRINGS_AT, env, execfn;

	memset(stack, 0, sizeof(*stack));
	stack->argv_at = AUXV_AT - 16 - 8 * (argc + 1);
	put_word(stack, stack->argv_at - 8, argc);
	for (size_t i = 0; i < argc; i++) {
		put_word(stack, stack->argv_at + 8 * i, STACK_START + at);
		strcpy((char *)stack->bytes + at, args[i]);
		at += strlen(args[i]) + 1;
	}
	env = at;
	strcpy((char *)stack->bytes + env, "HOME=/nowhere");
	execfn = env + strlen("HOME=/nowhere") + 1;
	strcpy((char *)stack->bytes + execfn, args[0]);
	put_word(stack, AUXV_AT - 16, STACK_START + env);
	stack->auxv[0] = 6;	/* AT_PAGESZ */
	stack->auxv[1] = 4096;
	stack->auxv[2] = 31;	/* AT_EXECFN */
	stack->auxv[3] = STACK_START + execfn;
	memcpy(stack->bytes + AUXV_AT, stack->auxv, sizeof(stack->auxv));
}

// The command line of a core of that stack, with psargs.
static void command_line_of(const struct hand_stack *stack, const char *psargs,
			    bool with_auxv, struct ch_command_line *ret)
{
	struct ch_address_space *as;
	struct synth_core synth;
	struct ch_core *core;
	struct ch_error *err;
	char *path;

	two_segments(&synth);
	synth.segments[2] = (struct synth_segment){
		.vaddr = STACK_START, .memsz = STACK_SIZE,
		.data = stack->bytes, .filesz = STACK_SIZE,
		.flags = PF_R | PF_W };
	synth.num_segments = 3;
	synth.psargs = psargs;
	if (with_auxv) {
		synth.auxv = stack->auxv;
		synth.auxv_size = sizeof(stack->auxv);
	}
	path = synth_core_write(&synth);
	core = open_ok(path);
	err = ch_address_space_create(core, NULL, &as);
	cr_assert_null(err, "%s", err ? err->message : "");
	err = ch_process_command_line(core, as, ret);
	cr_assert_null(err, "%s", err ? err->message : "");
	ch_address_space_destroy(as);
	ch_core_destroy(core);
	unlink(path);
	free(path);
}

static void expect_command_line(const struct ch_command_line *command_line,
				enum ch_command_line_source source,
				const char *text, bool cut)
{
	cr_expect_eq(command_line->source, source, "source %d, expected %d",
		     command_line->source, source);
	cr_expect_str_eq(command_line->text, text);
	cr_expect_eq(command_line->cut, cut);
}

// A command line past pr_psargs's 79 bytes, and the bytes the kernel keeps.
static const char *const args[] = {
	"/usr/bin/prog",
	"--an-option-long-enough-to-pass-the-eighty-bytes-of-pr-psargs",
	"and", "more",
};
static const char whole[] = "/usr/bin/prog --an-option-long-enough-to-pass-the-eighty-bytes-of-pr-psargs and more";

static void psargs_of_kernel(char psargs[80])
{
	memcpy(psargs, whole, 79);
	psargs[79] = '\0';
}

Test(core, the_command_line_comes_whole_from_the_stack)
{
	char kernel_psargs[80];
	struct ch_command_line command_line;
	struct hand_stack stack;
	uint64_t swap;

	/* The kernel's psargs: the first 79 bytes. */
	psargs_of_kernel(kernel_psargs);
	build_stack(&stack, args, 4);
	command_line_of(&stack, kernel_psargs, true, &command_line);
	expect_command_line(&command_line, CH_COMMAND_LINE_MEMORY, whole, false);
	ch_command_line_deinit(&command_line);

	/* gdb's psargs: the program alone. */
	command_line_of(&stack, "/usr/bin/prog", true, &command_line);
	expect_command_line(&command_line, CH_COMMAND_LINE_MEMORY, whole, false);
	ch_command_line_deinit(&command_line);

	/* getopt reorders the pointers, never the strings. */
	memcpy(&swap, stack.bytes + stack.argv_at + 8, 8);
	memcpy(stack.bytes + stack.argv_at + 8, stack.bytes + stack.argv_at + 24, 8);
	memcpy(stack.bytes + stack.argv_at + 24, &swap, 8);
	command_line_of(&stack, kernel_psargs, true, &command_line);
	expect_command_line(&command_line, CH_COMMAND_LINE_MEMORY, whole, false);
	ch_command_line_deinit(&command_line);
}

Test(core, a_stack_that_does_not_agree_gives_psargs_said_cut)
{
	char kernel_psargs[80];
	struct ch_command_line command_line;
	struct hand_stack stack;

	psargs_of_kernel(kernel_psargs);

	/* No NT_AUXV: the vector cannot be found. */
	build_stack(&stack, args, 4);
	command_line_of(&stack, kernel_psargs, false, &command_line);
	expect_command_line(&command_line, CH_COMMAND_LINE_PSINFO, kernel_psargs, true);
	ch_command_line_deinit(&command_line);

	/* argc is not the number of pointers. */
	put_word(&stack, stack.argv_at - 8, 9);
	command_line_of(&stack, kernel_psargs, true, &command_line);
	expect_command_line(&command_line, CH_COMMAND_LINE_PSINFO, kernel_psargs, true);
	ch_command_line_deinit(&command_line);

	/* psargs is not the strings' prefix. */
	build_stack(&stack, args, 4);
	command_line_of(&stack, "/usr/bin/other --x", true, &command_line);
	expect_command_line(&command_line, CH_COMMAND_LINE_PSINFO,
			    "/usr/bin/other --x", false);
	ch_command_line_deinit(&command_line);

	/* The strings run to the end of the stack with no NUL: nothing is
	 * read past it. */
	memset(stack.bytes + STRINGS_AT, 'x', STACK_SIZE - STRINGS_AT);
	memcpy(stack.bytes + STRINGS_AT, "/usr/bin/prog", 13);
	command_line_of(&stack, "/usr/bin/prog", true, &command_line);
	expect_command_line(&command_line, CH_COMMAND_LINE_PSINFO,
			    "/usr/bin/prog", false);
	ch_command_line_deinit(&command_line);

	/* Pointers out of the stack. */
	build_stack(&stack, args, 4);
	for (size_t i = 0; i < 4; i++)
		put_word(&stack, stack.argv_at + 8 * i, 0x400000 + i);
	command_line_of(&stack, kernel_psargs, true, &command_line);
	expect_command_line(&command_line, CH_COMMAND_LINE_PSINFO, kernel_psargs, true);
	ch_command_line_deinit(&command_line);
}

/*
 * The rule of a linear search over symbols (ch_module_symbolize_tls()'s):
 * the first that holds addr, else the nearest label (sizeless) below it.
 * Counts its calls.
 */
struct linear_table {
	const struct ch_symbol_hit *symbols;
	size_t n, calls;
};

static void linear_lookup(void *arg, uint64_t addr, struct ch_symbol_hit *ret)
{
	struct linear_table *table = arg;

	table->calls++;
	*ret = (struct ch_symbol_hit){ 0 };
	for (size_t i = 0; i < table->n; i++) {
		const struct ch_symbol_hit *s = &table->symbols[i];

		if (addr < s->address)
			continue;
		if (addr - s->address < s->size) {
			*ret = *s;
			return;
		}
		if (!s->size && (!ret->name || s->address > ret->address))
			*ret = *s;
	}
}

/*
 * Symbols that overlap, nest, share starts, sit at the top of the address
 * space and wrap: the ranges answer every address (each bound, next to it,
 * and at random) as the search they keep the answers of, and ask it once
 * an interval.
 */
Test(core, symbol_ranges_answer_as_the_search_they_keep)
{
	static const char *names[] = { "a", "b", "c", "d", "e", "f", "g", "h" };
	enum { N = 400, QUESTIONS = 20000 };
	static struct ch_symbol_hit symbols[N];
	struct linear_table table = { .symbols = symbols, .n = N };
	struct ch_symbol_ranges ranges;
	const uint64_t points[] = { 0x500, 0x7000 };
	size_t asked_by_ranges = 0;

	rng_state = 7;
	for (size_t i = 0; i < N; i++) {
		uint64_t r = rng();

		symbols[i] = (struct ch_symbol_hit){
			.name = names[i % 8],
			.address = 0x1000 + r % 0x8000,
			// A label in four; sizes from 1 to 0x400.
			.size = r % 4 == 0 ? 0 : 1 + (r >> 20) % 0x400,
		};
	}
	symbols[0] = (struct ch_symbol_hit){ "top", UINT64_MAX - 0x10, 0x100 };
	symbols[1] = (struct ch_symbol_hit){ "wide", 0x2000, 0x3000 };
	symbols[2] = (struct ch_symbol_hit){ "same", 0x2000, 0x10 };
	assert_no_error(ch_symbol_ranges_build(&ranges, symbols, N, points, 2,
					       true));
	for (size_t q = 0; q < QUESTIONS + 3 * ranges.num_bounds; q++) {
		uint64_t addr;
		struct ch_symbol_hit want, got;

		if (q < 3 * ranges.num_bounds)
			addr = ranges.bounds[q / 3] + q % 3 - 1;
		else
			addr = rng() % 2 ? rng() % 0xa000 : UINT64_MAX - rng() % 0x20;
		size_t before;

		linear_lookup(&table, addr, &want);
		before = table.calls;
		ch_symbol_ranges_find(&ranges, addr, linear_lookup, &table, &got);
		asked_by_ranges += table.calls - before;
		cr_assert_eq(got.name, want.name, "0x%" PRIx64 ": %s, not %s",
			     addr, got.name ? got.name : "none",
			     want.name ? want.name : "none");
		if (want.name)
			cr_assert_eq(got.address, want.address, "0x%" PRIx64, addr);
	}
	// The ranges asked the search at most once an interval.
	cr_assert_leq(asked_by_ranges, ranges.num_bounds + 1);
	cr_assert_gt(asked_by_ranges, 0);
	ch_symbol_ranges_deinit(&ranges);
}
