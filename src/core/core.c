// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/sort.h"
#include "core/core.h"

const char *const ch_reg_names[CH_NUM_REGS] = {
	"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
	"rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
	"rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
};

// Note types that <elf.h> of older systems may lack.
#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif

// Layout of the x86-64 kernel's struct elf_prstatus (not <sys/procfs.h>'s,
// which differs between libcs): signal info, then 4 words of pid data,
// then 4 timevals, then the registers.
#define PRSTATUS_CURSIG_OFFSET 12
#define PRSTATUS_PID_OFFSET 32
#define PRSTATUS_REGS_OFFSET 112
#define PRSTATUS_MIN_SIZE (PRSTATUS_REGS_OFFSET + CH_NUM_REGS * 8)

// struct elf_prpsinfo on x86-64.
#define PRPSINFO_PID_OFFSET 24
#define PRPSINFO_PPID_OFFSET 28
#define PRPSINFO_UID_OFFSET 16
#define PRPSINFO_FNAME_OFFSET 40
#define PRPSINFO_PSARGS_OFFSET 56
#define PRPSINFO_SIZE 136

// Where an x86-64 process's memory can be: below 2^56 (the most that
// five-level paging gives user space), and the legacy vsyscall page.
#define USER_SPACE_END (UINT64_C(1) << 56)
#define VSYSCALL_START UINT64_C(0xffffffffff600000)
#define VSYSCALL_END UINT64_C(0xffffffffff601000)

static uint32_t load_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t load_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t load_u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void note_problem(struct ch_core *core, enum ch_core_problem_kind kind,
			 const char *format, ...)
	__attribute__((format(printf, 3, 4)));

// Damage read around is told once per kind, with the first occurrence:
// a hostile core may repeat it 300,000 times.
static void note_problem(struct ch_core *core, enum ch_core_problem_kind kind,
			 const char *format, ...)
{
	struct ch_core_problem *problem = &core->problems[kind];
	_cleanup_free_ char *what = NULL;
	va_list ap;
	int n;

	if (problem->count++ > 0)
		return;
	va_start(ap, format);
	n = vasprintf(&what, format, ap);
	va_end(ap);
	if (n < 0) {
		what = NULL;
		return;
	}
	if (asprintf(&problem->message, "core '%s': %s", core->path, what) < 0)
		problem->message = NULL;
}

static const char *machine_name(unsigned machine)
{
	switch (machine) {
	case EM_X86_64: return "x86-64";
	case EM_386: return "i386";
	case EM_ARM: return "arm";
	case EM_AARCH64: return "aarch64";
	case EM_PPC: return "ppc";
	case EM_PPC64: return "ppc64";
	case EM_S390: return "s390";
	case EM_MIPS: return "mips";
	case EM_RISCV: return "riscv";
	case EM_SPARCV9: return "sparc64";
	case EM_LOONGARCH: return "loongarch";
	}
	return "unknown";
}

static const char *elf_type_name(unsigned type)
{
	switch (type) {
	case ET_NONE: return "no file type";
	case ET_REL: return "a relocatable object";
	case ET_EXEC: return "an executable";
	case ET_DYN: return "a shared object or PIE";
	}
	return "unknown";
}

/*
 * Check the ELF header from the file's first bytes, before libelf sees it:
 * libelf would call a 16-byte file "invalid ELF data" and read a
 * big-endian core's e_type in the wrong byte order (ET_CORE as 1024).
 * e_type and e_machine sit at the same offsets in both classes.
 */
static struct ch_error *check_ident(struct ch_core *core, const uint8_t *ident,
				    size_t len)
{
	uint16_t type, machine;
	bool big;

	if (len < SELFMAG || memcmp(ident, ELFMAG, SELFMAG) != 0)
		return ch_error_create(CH_ERROR_FORMAT,
				       "'%s' is not an ELF file (%zu bytes, no ELF magic)",
				       core->path, core->image_size);
	if (len < sizeof(Elf64_Ehdr))
		return ch_error_create(CH_ERROR_FORMAT,
				       "core '%s' is truncated: %zu bytes, too short to be an ELF file (its header alone is %zu)",
				       core->path, core->image_size,
				       sizeof(Elf64_Ehdr));
	if (ident[EI_DATA] != ELFDATA2LSB && ident[EI_DATA] != ELFDATA2MSB)
		return ch_error_create(CH_ERROR_FORMAT,
				       "'%s' is not a valid ELF file (byte order %u)",
				       core->path, (unsigned)ident[EI_DATA]);
	big = ident[EI_DATA] == ELFDATA2MSB;
	type = load_u16(ident + offsetof(Elf64_Ehdr, e_type));
	machine = load_u16(ident + offsetof(Elf64_Ehdr, e_machine));
	if (big) {
		type = __builtin_bswap16(type);
		machine = __builtin_bswap16(machine);
	}
	// Byte order first: with it wrong, every other field is misread.
	if (big)
		return ch_error_create(CH_ERROR_ARCH,
				       "core '%s' is big-endian (ELF machine %u, %s); only little-endian x86-64 cores are supported",
				       core->path, (unsigned)machine,
				       machine_name(machine));
	if (ident[EI_VERSION] != EV_CURRENT)
		return ch_error_create(CH_ERROR_FORMAT,
				       "'%s' is not a valid ELF file (ELF version %u)",
				       core->path, (unsigned)ident[EI_VERSION]);
	if (type != ET_CORE)
		return ch_error_create(CH_ERROR_FORMAT,
				       "'%s' is not a core file (ELF type %u: %s)",
				       core->path, (unsigned)type,
				       elf_type_name(type));
	if (ident[EI_CLASS] != ELFCLASS64)
		return ch_error_create(CH_ERROR_ARCH,
				       "core '%s' is %s (%s); only 64-bit x86-64 cores are supported",
				       core->path,
				       ident[EI_CLASS] == ELFCLASS32 ? "32-bit" :
								      "of an unknown ELF class",
				       machine_name(machine));
	if (machine != EM_X86_64)
		return ch_error_create(CH_ERROR_ARCH,
				       "core '%s' is a core of another architecture (ELF machine %u, %s); only x86-64 cores are supported",
				       core->path, (unsigned)machine,
				       machine_name(machine));
	return NULL;
}

static int compare_segments(const void *a, const void *b)
{
	const struct ch_core_segment *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void add_segment(struct ch_core *core, const GElf_Phdr *phdr)
{
	struct ch_core_segment *seg;
	uint64_t in_file = 0, end;

	// A segment that spans nothing or wraps past 2^64 says nothing
	// sound about the process: leave it out, and say so.
	if (phdr->p_memsz == 0) {
		note_problem(core, CH_CORE_SEGMENT_EMPTY,
			     "PT_LOAD at 0x%" PRIx64 " has a memory size of 0; ignored",
			     (uint64_t)phdr->p_vaddr);
		return;
	}
	if (__builtin_add_overflow(phdr->p_vaddr, phdr->p_memsz, &end)) {
		note_problem(core, CH_CORE_SEGMENT_WRAPS,
			     "PT_LOAD at 0x%" PRIx64 " of %" PRIu64 " bytes wraps past the end of the address space; ignored",
			     (uint64_t)phdr->p_vaddr, (uint64_t)phdr->p_memsz);
		return;
	}
	// x86-64 processes live below 2^56 (five-level paging), but for the
	// vsyscall page, which cores include.
	if (end > USER_SPACE_END &&
	    !(phdr->p_vaddr >= VSYSCALL_START && end <= VSYSCALL_END)) {
		note_problem(core, CH_CORE_SEGMENT_WRAPS,
			     "PT_LOAD at 0x%" PRIx64 " of %" PRIu64 " bytes lies outside an x86-64 process's address space; ignored",
			     (uint64_t)phdr->p_vaddr, (uint64_t)phdr->p_memsz);
		return;
	}
	seg = &core->segments[core->num_segments++];
	seg->start = phdr->p_vaddr;
	seg->size = phdr->p_memsz;
	seg->flags = phdr->p_flags;
	if (phdr->p_offset < core->image_size)
		in_file = core->image_size - phdr->p_offset;
	seg->available = phdr->p_filesz < in_file ? phdr->p_filesz : in_file;
	// p_filesz > p_memsz is nonsense; never let a reader past p_memsz.
	if (phdr->p_filesz > phdr->p_memsz)
		note_problem(core, CH_CORE_FILESZ_OVER_MEMSZ,
			     "PT_LOAD at 0x%" PRIx64 " stores %" PRIu64 " bytes but spans only %" PRIu64 "; the rest is ignored",
			     (uint64_t)phdr->p_vaddr, (uint64_t)phdr->p_filesz,
			     (uint64_t)phdr->p_memsz);
	if (seg->available > seg->size)
		seg->available = seg->size;
	seg->promised = phdr->p_filesz < seg->size ? phdr->p_filesz : seg->size;
	seg->data = core->image + (seg->available ? phdr->p_offset : 0);
	if (seg->available < phdr->p_filesz && phdr->p_filesz <= phdr->p_memsz) {
		seg->truncated = true;
		core->truncated = true;
		core->missing_bytes += phdr->p_filesz - seg->available;
	}
}

// Segments are sorted by start; one that begins before an earlier one ends
// is damage (the address space reads the first).
static void check_overlaps(struct ch_core *core)
{
	uint64_t end = 0;

	for (size_t i = 0; i < core->num_segments; i++) {
		const struct ch_core_segment *seg = &core->segments[i];

		if (i > 0 && seg->start < end)
			note_problem(core, CH_CORE_SEGMENTS_OVERLAP,
				     "PT_LOAD at 0x%" PRIx64 " overlaps an earlier one (which ends at 0x%" PRIx64 "); the earlier one is read",
				     seg->start, end);
		if (seg->start + seg->size > end)
			end = seg->start + seg->size;
	}
}

static struct ch_error *parse_prstatus(struct ch_core *core,
				       const uint8_t *desc, size_t size)
{
	struct ch_thread *thread;

	if (size < PRSTATUS_MIN_SIZE) {
		note_problem(core, CH_CORE_BAD_NOTE,
			     "a thread note (NT_PRSTATUS) of %zu bytes is too short for x86-64's %d; ignored",
			     size, PRSTATUS_MIN_SIZE);
		return NULL;
	}
	// Grown as notes are found: each takes PRSTATUS_MIN_SIZE bytes of
	// the file, so the file bounds the array, never a header's claim.
	if (core->num_threads == core->threads_capacity) {
		size_t capacity, bytes;
		struct ch_thread *grown;

		if (__builtin_mul_overflow(core->threads_capacity ?
						   core->threads_capacity : 4,
					   (size_t)2, &capacity) ||
		    __builtin_mul_overflow(capacity, sizeof(*grown), &bytes))
			return &ch_enomem;
		grown = realloc(core->threads, bytes);
		if (!grown)
			return &ch_enomem;
		core->threads = grown;
		core->threads_capacity = capacity;
	}
	thread = &core->threads[core->num_threads++];
	thread->signal = (int16_t)(load_u32(desc + PRSTATUS_CURSIG_OFFSET));
	thread->tid = (int32_t)load_u32(desc + PRSTATUS_PID_OFFSET);
	for (int i = 0; i < CH_NUM_REGS; i++)
		thread->regs[i] = load_u64(desc + PRSTATUS_REGS_OFFSET + 8 * i);
	if (thread->tid <= 0) {
		core->has_bad_tid = true;
		note_problem(core, CH_CORE_BAD_NOTE,
			     "a thread note (NT_PRSTATUS) gives the impossible thread id %d; registers are read, but no stack is unwound",
			     thread->tid);
	}
	return NULL;
}

static void parse_prpsinfo(struct ch_core *core, const uint8_t *desc,
			   size_t size)
{
	if (size < PRPSINFO_SIZE) {
		note_problem(core, CH_CORE_BAD_NOTE,
			     "the process note (NT_PRPSINFO) of %zu bytes is too short for x86-64's %d; ignored",
			     size, PRPSINFO_SIZE);
		return;
	}
	core->has_psinfo = true;
	core->uid = load_u32(desc + PRPSINFO_UID_OFFSET);
	core->pid = (int32_t)load_u32(desc + PRPSINFO_PID_OFFSET);
	core->ppid = (int32_t)load_u32(desc + PRPSINFO_PPID_OFFSET);
	memcpy(core->fname, desc + PRPSINFO_FNAME_OFFSET, 16);
	core->fname[16] = '\0';
	memcpy(core->psargs, desc + PRPSINFO_PSARGS_OFFSET, 80);
	core->psargs[80] = '\0';
	core->psargs_length = strlen(core->psargs);
	// The kernel turns the last argument's NUL into a space too.
	for (size_t n = core->psargs_length; n > 0 && core->psargs[n - 1] == ' '; n--)
		core->psargs[n - 1] = '\0';
}

static void parse_siginfo(struct ch_core *core, const uint8_t *desc,
			  size_t size)
{
	if (size < 24) {
		note_problem(core, CH_CORE_BAD_NOTE,
			     "the signal note (NT_SIGINFO) of %zu bytes is too short; ignored",
			     size);
		return;
	}
	// gdb writes one per thread, the signalled thread's first.
	if (core->has_siginfo)
		return;
	core->has_siginfo = true;
	core->siginfo_size = size < sizeof(core->siginfo) ? size :
							    sizeof(core->siginfo);
	memcpy(core->siginfo, desc, core->siginfo_size);
	core->signal_number = (int32_t)load_u32(desc);
	core->signal_errno = (int32_t)load_u32(desc + 4);
	core->signal_code = (int32_t)load_u32(desc + 8);
	core->signal_address = load_u64(desc + 16);
}

static int compare_files(const void *a, const void *b)
{
	const struct ch_core_file *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

// Sorted by start, the mappings must not overlap (lookups are a binary
// search): keep the first of overlapping ones.
static void drop_overlapping_files(struct ch_core *core)
{
	size_t kept = 0;

	for (size_t i = 0; i < core->num_files; i++) {
		if (kept && core->files[i].start < core->files[kept - 1].end) {
			note_problem(core, CH_CORE_BAD_FILE_NOTE,
				     "the file note (NT_FILE) maps '%s' at 0x%" PRIx64 ", over another file; ignored",
				     core->files[i].path, core->files[i].start);
			continue;
		}
		core->files[kept++] = core->files[i];
	}
	core->num_files = kept;
}

static struct ch_error *add_name_range(struct ch_core *core, uint64_t offset,
				       uint64_t size)
{
	// One per NT_FILE note, each of at least 16 bytes of the file.
	if (core->num_file_name_ranges == core->file_name_ranges_capacity) {
		size_t capacity = core->file_name_ranges_capacity ?
					  2 * core->file_name_ranges_capacity :
					  2;
		struct ch_core_range *grown;

		grown = reallocarray(core->file_name_ranges, capacity,
				     sizeof(*grown));
		if (!grown)
			return &ch_enomem;
		core->file_name_ranges = grown;
		core->file_name_ranges_capacity = capacity;
	}
	core->file_name_ranges[core->num_file_name_ranges++] =
		(struct ch_core_range){ .offset = offset, .size = size };
	return NULL;
}

// NT_FILE: count, page size, count (start, end, page offset) triples, then
// count NUL-terminated paths.
static struct ch_error *parse_file_note(struct ch_core *core,
					const uint8_t *desc, size_t size,
					uint64_t desc_offset)
{
	uint64_t count, page_size;
	const char *names, *end;
	struct ch_error *err;
	size_t names_size;

	if (size < 16) {
		note_problem(core, CH_CORE_BAD_FILE_NOTE,
			     "the file note (NT_FILE) of %zu bytes is too short; the mapped files are unknown",
			     size);
		return NULL;
	}
	count = load_u64(desc);
	page_size = load_u64(desc + 8);
	// The count sizes an array: it must fit in the note first.
	if (count > (size - 16) / 24) {
		note_problem(core, CH_CORE_BAD_FILE_NOTE,
			     "the file note (NT_FILE) claims %" PRIu64 " mappings but has room for %zu; the mapped files are unknown",
			     count, (size - 16) / 24);
		return NULL;
	}
	names_size = size - 16 - 24 * count;
	// libdwfl reads the names from the file itself, whatever we think of
	// the note (and libdwfl too takes a note whose count fits).
	err = add_name_range(core, desc_offset + 16 + 24 * count, names_size);
	if (err)
		return err;
	if (core->files) {
		note_problem(core, CH_CORE_BAD_FILE_NOTE,
			     "more than one file note (NT_FILE); only the first is read");
		return NULL;
	}
	core->file_names = malloc(names_size + 1);
	core->files = calloc(count ? count : 1, sizeof(*core->files));
	if (!core->file_names || !core->files)
		return &ch_enomem;
	memcpy(core->file_names, desc + 16 + 24 * count, names_size);
	core->file_names[names_size] = '\0';
	if (page_size == 0 || (page_size & (page_size - 1)) != 0) {
		note_problem(core, CH_CORE_BAD_FILE_NOTE,
			     "the file note (NT_FILE) gives an impossible page size %" PRIu64 "; the mapped files are unknown",
			     page_size);
		return NULL;
	}
	names = core->file_names;
	end = core->file_names + names_size;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *triple = desc + 16 + 24 * i;
		struct ch_core_file *file = &core->files[core->num_files];

		if (names >= end) {
			note_problem(core, CH_CORE_BAD_FILE_NOTE,
				     "the file note (NT_FILE) names %" PRIu64 " of its %" PRIu64 " mappings; the rest are unknown",
				     i, count);
			break;
		}
		file->start = load_u64(triple);
		file->end = load_u64(triple + 8);
		file->path = names;
		names += strlen(names) + 1;
		if (file->start >= file->end ||
		    __builtin_mul_overflow(load_u64(triple + 16), page_size,
					   &file->offset)) {
			note_problem(core, CH_CORE_BAD_FILE_NOTE,
				     "the file note (NT_FILE) maps '%s' at an impossible range or offset; ignored",
				     file->path);
			continue;
		}
		core->num_files++;
	}
	ch_sort(core->files, core->num_files, sizeof(*core->files), compare_files);
	drop_overlapping_files(core);
	return NULL;
}

// data holds the notes at offset in the file; *seen_core_note says a
// "CORE" note came before (in this PT_NOTE or an earlier one).
static struct ch_error *parse_notes(struct ch_core *core, Elf_Data *data,
				   uint64_t offset_in_file, bool *seen_core_note)
{
	GElf_Nhdr nhdr;
	size_t offset = 0, name_offset, desc_offset;
	struct ch_error *err = NULL;

	size_t next;

	for (; (next = gelf_getnote(data, offset, &nhdr, &name_offset,
				    &desc_offset)) > 0; offset = next) {
		const uint8_t *desc = (const uint8_t *)data->d_buf + desc_offset;
		const char *name = (const char *)data->d_buf + name_offset;
		size_t size = nhdr.n_descsz;

		// gdb 11 and later write their target description as a
		// "GDB" note; the kernel writes none.
		if (nhdr.n_namesz == 4 && memcmp(name, "GDB", 4) == 0)
			core->written_by_gdb = true;
		// Only the kernel's "CORE" notes; "LINUX" holds FPU state.
		if (nhdr.n_namesz != 5 || memcmp(name, "CORE", 5) != 0)
			continue;
		// The kernel starts with the dumping thread's NT_PRSTATUS,
		// gdb (any version) with NT_PRPSINFO.
		if (!*seen_core_note && nhdr.n_type == NT_PRPSINFO)
			core->written_by_gdb = true;
		*seen_core_note = true;
		switch (nhdr.n_type) {
		case NT_PRSTATUS:
			err = parse_prstatus(core, desc, size);
			break;
		case NT_PRPSINFO:
			parse_prpsinfo(core, desc, size);
			break;
		case NT_AUXV:
			core->auxv = desc;
			core->auxv_size = size;
			break;
		case NT_SIGINFO:
			parse_siginfo(core, desc, size);
			break;
		case NT_FILE:
			err = parse_file_note(core, desc, size,
					      offset_in_file + desc_offset);
			break;
		}
		if (err)
			return err;
	}
	// gelf_getnote stops at a note that does not fit (its sizes damaged,
	// or the PT_NOTE cut short): the notes after it are lost.
	if (offset < data->d_size)
		note_problem(core, CH_CORE_BAD_NOTE,
			     "a note at offset %" PRIu64 " does not fit in its PT_NOTE (%zu bytes left); it and the notes after it are not read",
			     offset_in_file + offset, (size_t)data->d_size - offset);
	return NULL;
}

struct note_range {
	uint64_t offset, size;
};

static int compare_note_ranges(const void *a, const void *b)
{
	const struct note_range *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * Read the notes of every PT_NOTE, each clipped to the file. Hundreds of
 * PT_NOTEs over the same bytes would read the same threads again and
 * again: sorted by offset, a PT_NOTE that overlaps an earlier one is
 * skipped, so the notes read are at most the file.
 */
static struct ch_error *read_notes(struct ch_core *core,
				   struct note_range *ranges, size_t num_ranges)
{
	bool seen_core_note = false;
	uint64_t end = 0;
	struct ch_error *err;

	if (num_ranges == 0)
		return NULL;
	ch_sort(ranges, num_ranges, sizeof(*ranges), compare_note_ranges);
	for (size_t i = 0; i < num_ranges; i++) {
		uint64_t offset = ranges[i].offset, size = ranges[i].size;
		Elf_Data *data;

		if (offset >= core->image_size) {
			note_problem(core, CH_CORE_BAD_NOTE_SEGMENT,
				     "a PT_NOTE at offset %" PRIu64 " lies past the end of the file (%zu bytes); ignored",
				     offset, core->image_size);
			continue;
		}
		if (i > 0 && offset < end) {
			note_problem(core, CH_CORE_BAD_NOTE_SEGMENT,
				     "a PT_NOTE at offset %" PRIu64 " overlaps an earlier one; its notes are read once",
				     offset);
			continue;
		}
		if (size > core->image_size - offset) {
			// Read the notes that are whole; gelf_getnote stops
			// at a cut one. The size claimed sizes nothing.
			note_problem(core, CH_CORE_BAD_NOTE_SEGMENT,
				     "a PT_NOTE at offset %" PRIu64 " claims %" PRIu64 " bytes, past the end of the file (%zu bytes); the notes the file holds are read",
				     offset, size, core->image_size);
			size = core->image_size - offset;
		}
		end = offset + size;
		if (size == 0)
			continue;
		data = elf_getdata_rawchunk(core->elf, offset, size,
					    ELF_T_NHDR);
		if (!data)
			return ch_error_libelf("cannot read the notes of core '%s'",
					       core->path);
		err = parse_notes(core, data, offset, &seen_core_note);
		if (err)
			return err;
	}
	return NULL;
}

/*
 * Writable memory that no file backs is always saved, by the kernel (bit 0
 * of the default coredump_filter) and by gcore: a PT_LOAD of it with
 * nothing in the file is memory the analysis lacks (or MADV_DONTDUMP's).
 * Read-only and file-backed memory is left out by design, and read from
 * the binaries instead.
 */
static void check_unsaved(struct ch_core *core)
{
	for (size_t i = 0; i < core->num_segments; i++) {
		const struct ch_core_segment *seg = &core->segments[i];

		if (seg->available || seg->truncated ||
		    !(seg->flags & PF_W) || ch_core_file_at(core, seg->start))
			continue;
		note_problem(core, CH_CORE_UNSAVED,
			     "writable memory at 0x%" PRIx64 " (%" PRIu64 " bytes, mapped from no file) is not in the core",
			     seg->start, seg->size);
	}
}

static int compare_tids(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return x < y ? -1 : x > y;
}

// Two threads of one id cannot be (each is unwound all the same).
static struct ch_error *check_thread_ids(struct ch_core *core)
{
	_cleanup_free_ int32_t *tids = NULL;

	if (core->num_threads < 2)
		return NULL;
	tids = malloc(core->num_threads * sizeof(*tids));
	if (!tids)
		return &ch_enomem;
	for (size_t i = 0; i < core->num_threads; i++)
		tids[i] = core->threads[i].tid;
	ch_sort(tids, core->num_threads, sizeof(*tids), compare_tids);
	for (size_t i = 1; i < core->num_threads; i++) {
		if (tids[i] == tids[i - 1])
			note_problem(core, CH_CORE_BAD_NOTE,
				     "thread id %d is given by more than one thread note",
				     tids[i]);
	}
	return NULL;
}

static bool table_out_of_file(const struct ch_core *core, uint64_t offset,
			      size_t count)
{
	size_t size;

	return __builtin_mul_overflow(count, sizeof(Elf64_Phdr), &size) ||
	       offset > core->image_size || size > core->image_size - offset;
}

static struct ch_error *truncated_in_phdrs(const struct ch_core *core,
					   uint64_t offset, size_t count)
{
	return ch_error_create(CH_ERROR_FORMAT,
			       "core '%s' is truncated or damaged: its %zu program headers at offset %" PRIu64 " run past its end (%zu bytes)",
			       core->path, count, offset, core->image_size);
}

static struct ch_error *read_program_headers(struct ch_core *core)
{
	_cleanup_free_ struct note_range *note_ranges = NULL;
	struct ch_error *err;
	size_t phnum, num_loads = 0, num_notes = 0;
	GElf_Ehdr ehdr;

	if (!gelf_getehdr(core->elf, &ehdr))
		return ch_error_libelf("cannot read the ELF header of core '%s'",
				       core->path);
	// libelf says only "invalid data" of a table out of the file.
	if (ehdr.e_phnum != PN_XNUM &&
	    table_out_of_file(core, ehdr.e_phoff, ehdr.e_phnum))
		return truncated_in_phdrs(core, ehdr.e_phoff, ehdr.e_phnum);
	if (elf_getphdrnum(core->elf, &phnum) != 0)
		return ch_error_libelf("cannot read the program headers of core '%s'",
				       core->path);
	core->num_phdrs = phnum;
	if (phnum && ehdr.e_phentsize != sizeof(Elf64_Phdr))
		return ch_error_create(CH_ERROR_FORMAT,
				       "core '%s' has program headers of %u bytes, not %zu",
				       core->path, (unsigned)ehdr.e_phentsize,
				       sizeof(Elf64_Phdr));
	// The table must be in the file before its count sizes anything; a
	// core cut inside its program headers has nothing to trust, nor one
	// whose headers are its ELF header's bytes.
	if (table_out_of_file(core, ehdr.e_phoff, phnum))
		return truncated_in_phdrs(core, ehdr.e_phoff, phnum);
	if (phnum && ehdr.e_phoff < sizeof(Elf64_Ehdr))
		return ch_error_create(CH_ERROR_FORMAT,
				       "core '%s' is damaged: its program headers (at offset %" PRIu64 ") overlap its ELF header",
				       core->path, (uint64_t)ehdr.e_phoff);
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(core->elf, i, &phdr))
			return ch_error_libelf("cannot read program header %zu of core '%s'",
					       i, core->path);
		num_loads += phdr.p_type == PT_LOAD;
		num_notes += phdr.p_type == PT_NOTE;
	}
	// Both counts are at most phnum, which the file bounds.
	core->segments = calloc(num_loads ? num_loads : 1,
				sizeof(*core->segments));
	note_ranges = calloc(num_notes ? num_notes : 1, sizeof(*note_ranges));
	if (!core->segments || !note_ranges)
		return &ch_enomem;
	num_notes = 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(core->elf, i, &phdr))
			return ch_error_libelf("cannot read program header %zu of core '%s'",
					       i, core->path);
		if (phdr.p_type == PT_LOAD)
			add_segment(core, &phdr);
		else if (phdr.p_type == PT_NOTE)
			note_ranges[num_notes++] = (struct note_range){
				.offset = phdr.p_offset,
				.size = phdr.p_filesz,
			};
	}
	ch_sort(core->segments, core->num_segments, sizeof(*core->segments),
		compare_segments);
	check_overlaps(core);
	err = read_notes(core, note_ranges, num_notes);
	if (err)
		return err;
	check_unsaved(core);
	return check_thread_ids(core);
}

struct ch_error *ch_open_regular(const char *path, const char *what,
				 int *fd_ret, uint64_t *size_ret)
{
	struct stat st;
	int fd;

	// O_NONBLOCK: opening a FIFO for reading would wait for a writer.
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return ch_error_os(errno, "cannot open %s '%s'", what, path);
	if (fstat(fd, &st) < 0) {
		int errnum = errno;

		close(fd);
		return ch_error_os(errnum, "cannot stat %s '%s'", what, path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ch_error_create(CH_ERROR_FORMAT,
				       "%s '%s' is not a regular file (%s)", what,
				       path,
				       S_ISDIR(st.st_mode)  ? "a directory" :
				       S_ISFIFO(st.st_mode) ? "a FIFO" :
				       S_ISCHR(st.st_mode)  ? "a character device" :
				       S_ISBLK(st.st_mode)  ? "a block device" :
				       S_ISSOCK(st.st_mode) ? "a socket" :
							      "not a file");
	}
	*fd_ret = fd;
	if (size_ret)
		*size_ret = st.st_size;
	return NULL;
}

// Read up to len bytes from the start of fd, as a pipe gives them.
static struct ch_error *read_head(struct ch_core *core, uint8_t *buf,
				  size_t len, size_t *len_ret)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(core->fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ch_error_os(errno, "cannot read core '%s'",
					   core->path);
		if (n == 0)
			break;
		done += n;
	}
	*len_ret = done;
	return NULL;
}

/*
 * A compressed core, or one on a pipe: read it whole (or its first prefix
 * bytes, if not 0) into anonymous memory (core_image.h) and give libelf
 * that memory.
 */
static struct ch_error *read_into_memory(struct ch_core *core,
					 const uint8_t *head, size_t head_len,
					 uint64_t prefix)
{
	_cleanup_free_ char *what = NULL;
	struct ch_error *err;

	if (asprintf(&what, "core '%s'", core->path) < 0)
		return &ch_enomem;
	if (prefix)
		err = ch_core_image_read_prefix(core->fd, what, head, head_len,
						prefix, &core->memory);
	else
		err = ch_core_image_read(core->fd, what, head, head_len,
					 ch_core_image_limit(), &core->memory);
	if (err)
		return err;
	if (core->memory.damage)
		note_problem(core, CH_CORE_COMPRESSED_DAMAGE,
			     "%s; results cover what came before",
			     core->memory.damage);
	core->image = core->memory.data;
	core->image_size = core->memory.size;
	err = check_ident(core, core->image, core->image_size);
	if (err)
		return err;
	core->elf = elf_memory((char *)core->memory.data, core->memory.size);
	if (!core->elf)
		return ch_error_libelf("cannot read core '%s'", core->path);
	return NULL;
}

// A core file as it is: libelf maps it.
static struct ch_error *map_file(struct ch_core *core)
{
	uint8_t ident[sizeof(Elf64_Ehdr)];
	struct ch_error *err;
	ssize_t n;
	size_t size;

	n = pread(core->fd, ident, sizeof(ident), 0);
	if (n < 0)
		return ch_error_os(errno, "cannot read core '%s'", core->path);
	err = check_ident(core, ident, n);
	if (err)
		return err;
	core->elf = elf_begin(core->fd, ELF_C_READ_MMAP, NULL);
	if (!core->elf)
		return ch_error_libelf("cannot read core '%s'", core->path);
	if (elf_kind(core->elf) != ELF_K_ELF)
		return ch_error_create(CH_ERROR_FORMAT,
				       "'%s' is not an ELF file", core->path);
	core->image = (const uint8_t *)elf_rawfile(core->elf, &size);
	if (!core->image)
		return ch_error_libelf("cannot map core '%s'", core->path);
	core->image_size = size;
	return NULL;
}

static struct ch_error *open_core(const char *path, uint64_t prefix,
				  struct ch_core **ret)
{
	bool from_stdin = strcmp(path, CH_CORE_STDIN) == 0;
	uint8_t head[CH_CORE_MAGIC_SIZE];
	struct ch_core *core;
	struct ch_error *err;
	uint64_t file_size;
	size_t head_len;

	core = calloc(1, sizeof(*core));
	if (!core)
		return &ch_enomem;
	core->fd = -1;
	core->path = strdup(from_stdin ? "<stdin>" : path);
	if (!core->path) {
		err = &ch_enomem;
		goto out;
	}
	if (from_stdin) {
		// A terminal would wait for a core to be typed in.
		if (isatty(STDIN_FILENO)) {
			err = ch_error_create(CH_ERROR_FORMAT,
					      "core '-' is standard input, a terminal: give a file, or pipe one in");
			goto out;
		}
		// Read, never closed: standard input is the caller's.
		core->fd = STDIN_FILENO;
	} else {
		err = ch_open_regular(path, "core", &core->fd, &file_size);
		if (err)
			goto out;
		if (file_size > SIZE_MAX) {
			err = ch_error_create(CH_ERROR_FORMAT,
					      "core '%s' is too large to map",
					      path);
			goto out;
		}
		core->image_size = file_size;
	}
	err = read_head(core, head, sizeof(head), &head_len);
	if (err)
		goto out;
	if (from_stdin || ch_core_image_compression(head, head_len)) {
		err = read_into_memory(core, head, head_len, prefix);
		// Done with: the core is in memory now.
		if (!from_stdin)
			close(core->fd);
		core->fd = -1;
	} else {
		err = map_file(core);
	}
	if (err)
		goto out;
	err = read_program_headers(core);
	if (err)
		goto out;
	*ret = core;
	return NULL;

out:
	ch_core_destroy(core);
	return err;
}

struct ch_error *ch_core_open(const char *path, struct ch_core **ret)
{
	return open_core(path, 0, ret);
}

struct ch_error *ch_core_open_prefix(const char *path, uint64_t prefix,
				     struct ch_core **ret)
{
	return open_core(path, prefix, ret);
}

void ch_core_destroy(struct ch_core *core)
{
	if (!core)
		return;
	if (core->elf)
		elf_end(core->elf);
	if (core->fd >= 0)
		close(core->fd);
	// After libelf, which reads it to the end.
	ch_core_image_deinit(&core->memory);
	free(core->segments);
	free(core->threads);
	free(core->files);
	free(core->file_names);
	free(core->file_name_ranges);
	for (int i = 0; i < CH_CORE_NUM_PROBLEM_KINDS; i++)
		free(core->problems[i].message);
	free(core->path);
	free(core);
}

bool ch_core_auxv(const struct ch_core *core, uint64_t type, uint64_t *ret)
{
	for (size_t off = 0; off + 16 <= core->auxv_size; off += 16) {
		uint64_t key = load_u64(core->auxv + off);

		if (key == 0)
			break;
		if (key == type) {
			*ret = load_u64(core->auxv + off + 8);
			return true;
		}
	}
	return false;
}

const struct ch_core_file *ch_core_file_at(const struct ch_core *core,
					   uint64_t addr)
{
	size_t lo = 0, hi = core->num_files;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ch_core_file *file = &core->files[mid];

		if (addr < file->start)
			hi = mid;
		else if (addr >= file->end)
			lo = mid + 1;
		else
			return file;
	}
	return NULL;
}
