// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
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

static struct ch_error *check_header(struct ch_core *core)
{
	GElf_Ehdr ehdr;

	if (elf_kind(core->elf) != ELF_K_ELF)
		return ch_error_create(CH_ERROR_FORMAT, "'%s' is not an ELF file",
				       core->path);
	if (!gelf_getehdr(core->elf, &ehdr))
		return ch_error_libelf("cannot read the ELF header of '%s'",
				       core->path);
	if (ehdr.e_type != ET_CORE)
		return ch_error_create(CH_ERROR_FORMAT,
				       "'%s' is not a core file (ELF type %u)",
				       core->path, (unsigned)ehdr.e_type);
	if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
	    ehdr.e_ident[EI_DATA] != ELFDATA2LSB || ehdr.e_machine != EM_X86_64)
		return ch_error_create(CH_ERROR_ARCH,
				       "'%s' is a core of another architecture (ELF machine %u, class %u); coreheap reads x86-64 cores",
				       core->path, (unsigned)ehdr.e_machine,
				       (unsigned)ehdr.e_ident[EI_CLASS]);
	// A core cut inside its program headers has nothing to trust.
	if (ehdr.e_phoff > core->image_size ||
	    (uint64_t)ehdr.e_phnum * ehdr.e_phentsize >
		    core->image_size - ehdr.e_phoff)
		return ch_error_create(CH_ERROR_FORMAT,
				       "core '%s' is truncated inside its program headers (%zu bytes)",
				       core->path, core->image_size);
	return NULL;
}

static int compare_segments(const void *a, const void *b)
{
	const struct ch_core_segment *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void add_segment(struct ch_core *core, const GElf_Phdr *phdr)
{
	struct ch_core_segment *seg = &core->segments[core->num_segments++];
	uint64_t in_file = 0;

	seg->start = phdr->p_vaddr;
	seg->size = phdr->p_memsz;
	seg->flags = phdr->p_flags;
	if (phdr->p_offset < core->image_size)
		in_file = core->image_size - phdr->p_offset;
	seg->available = phdr->p_filesz < in_file ? phdr->p_filesz : in_file;
	// p_filesz > p_memsz is nonsense; never let a reader past p_memsz.
	if (seg->available > seg->size)
		seg->available = seg->size;
	seg->data = core->image + (seg->available ? phdr->p_offset : 0);
	if (seg->available < phdr->p_filesz && phdr->p_filesz <= phdr->p_memsz) {
		seg->truncated = true;
		core->truncated = true;
		core->missing_bytes += phdr->p_filesz - seg->available;
	}
}

static void parse_prstatus(struct ch_core *core, const uint8_t *desc,
			   size_t size)
{
	struct ch_thread *thread;

	if (size < PRSTATUS_MIN_SIZE)
		return;
	thread = &core->threads[core->num_threads++];
	thread->signal = (int16_t)(load_u32(desc + PRSTATUS_CURSIG_OFFSET));
	thread->tid = (int32_t)load_u32(desc + PRSTATUS_PID_OFFSET);
	for (int i = 0; i < CH_NUM_REGS; i++)
		thread->regs[i] = load_u64(desc + PRSTATUS_REGS_OFFSET + 8 * i);
}

static void parse_prpsinfo(struct ch_core *core, const uint8_t *desc,
			   size_t size)
{
	if (size < PRPSINFO_SIZE)
		return;
	core->has_psinfo = true;
	core->uid = load_u32(desc + PRPSINFO_UID_OFFSET);
	core->pid = (int32_t)load_u32(desc + PRPSINFO_PID_OFFSET);
	core->ppid = (int32_t)load_u32(desc + PRPSINFO_PPID_OFFSET);
	memcpy(core->fname, desc + PRPSINFO_FNAME_OFFSET, 16);
	core->fname[16] = '\0';
	memcpy(core->psargs, desc + PRPSINFO_PSARGS_OFFSET, 80);
	core->psargs[80] = '\0';
	// The kernel leaves the arguments NUL-separated in some versions.
	for (size_t n = strlen(core->psargs); n > 0 && core->psargs[n - 1] == ' '; n--)
		core->psargs[n - 1] = '\0';
}

static void parse_siginfo(struct ch_core *core, const uint8_t *desc,
			  size_t size)
{
	if (size < 24)
		return;
	core->has_siginfo = true;
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

// NT_FILE: count, page size, count (start, end, page offset) triples, then
// count NUL-terminated paths.
static struct ch_error *parse_file_note(struct ch_core *core,
					const uint8_t *desc, size_t size)
{
	uint64_t count, page_size;
	const char *names, *end;

	if (core->files || size < 16)
		return NULL;
	count = load_u64(desc);
	page_size = load_u64(desc + 8);
	if (count > (size - 16) / 24)
		return NULL;
	core->file_names = malloc(size - 16 - 24 * count + 1);
	core->files = calloc(count ? count : 1, sizeof(*core->files));
	if (!core->file_names || !core->files)
		return &ch_enomem;
	memcpy(core->file_names, desc + 16 + 24 * count, size - 16 - 24 * count);
	core->file_names[size - 16 - 24 * count] = '\0';
	names = core->file_names;
	end = core->file_names + (size - 16 - 24 * count);
	for (uint64_t i = 0; i < count && names < end; i++) {
		const uint8_t *triple = desc + 16 + 24 * i;
		struct ch_core_file *file = &core->files[core->num_files++];

		file->start = load_u64(triple);
		file->end = load_u64(triple + 8);
		file->offset = load_u64(triple + 16) * page_size;
		file->path = names;
		names += strlen(names) + 1;
	}
	qsort(core->files, core->num_files, sizeof(*core->files), compare_files);
	return NULL;
}

static struct ch_error *parse_notes(struct ch_core *core, Elf_Data *data)
{
	GElf_Nhdr nhdr;
	size_t offset = 0, name_offset, desc_offset;
	struct ch_error *err;

	while ((offset = gelf_getnote(data, offset, &nhdr, &name_offset,
				      &desc_offset)) > 0) {
		const uint8_t *desc = (const uint8_t *)data->d_buf + desc_offset;
		const char *name = (const char *)data->d_buf + name_offset;
		size_t size = nhdr.n_descsz;

		// Only the kernel's "CORE" notes; "LINUX" holds FPU state.
		if (nhdr.n_namesz != 5 || memcmp(name, "CORE", 5) != 0)
			continue;
		switch (nhdr.n_type) {
		case NT_PRSTATUS:
			parse_prstatus(core, desc, size);
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
			err = parse_file_note(core, desc, size);
			if (err)
				return err;
			break;
		}
	}
	return NULL;
}

static struct ch_error *read_program_headers(struct ch_core *core)
{
	size_t phnum, max_threads = 0;
	struct ch_error *err;

	if (elf_getphdrnum(core->elf, &phnum) != 0)
		return ch_error_libelf("cannot read the program headers of '%s'",
				       core->path);
	core->segments = calloc(phnum ? phnum : 1, sizeof(*core->segments));
	if (!core->segments)
		return &ch_enomem;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(core->elf, i, &phdr))
			return ch_error_libelf("cannot read program header %zu of '%s'",
					       i, core->path);
		if (phdr.p_type == PT_LOAD)
			add_segment(core, &phdr);
		else if (phdr.p_type == PT_NOTE)
			max_threads += phdr.p_filesz / PRSTATUS_MIN_SIZE + 1;
	}
	qsort(core->segments, core->num_segments, sizeof(*core->segments),
	      compare_segments);

	core->threads = calloc(max_threads ? max_threads : 1,
			       sizeof(*core->threads));
	if (!core->threads)
		return &ch_enomem;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr phdr;
		Elf_Data *data;
		uint64_t size;

		if (!gelf_getphdr(core->elf, i, &phdr) || phdr.p_type != PT_NOTE)
			continue;
		if (phdr.p_offset >= core->image_size) {
			core->truncated = true;
			continue;
		}
		size = phdr.p_filesz;
		if (size > core->image_size - phdr.p_offset) {
			// Read the notes that are whole; gelf_getnote stops
			// at a cut one.
			size = core->image_size - phdr.p_offset;
			core->truncated = true;
		}
		data = elf_getdata_rawchunk(core->elf, phdr.p_offset, size,
					    ELF_T_NHDR);
		if (!data)
			return ch_error_libelf("cannot read the notes of '%s'",
					       core->path);
		err = parse_notes(core, data);
		if (err)
			return err;
	}
	return NULL;
}

struct ch_error *ch_core_open(const char *path, struct ch_core **ret)
{
	struct ch_core *core;
	struct ch_error *err;
	struct stat st;
	size_t size;

	core = calloc(1, sizeof(*core));
	if (!core)
		return &ch_enomem;
	core->fd = -1;
	core->path = strdup(path);
	if (!core->path) {
		err = &ch_enomem;
		goto out;
	}
	core->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (core->fd < 0) {
		err = ch_error_os(errno, "cannot open core '%s'", path);
		goto out;
	}
	if (fstat(core->fd, &st) < 0) {
		err = ch_error_os(errno, "cannot stat core '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = ch_error_create(CH_ERROR_FORMAT,
				      "'%s' is not a regular file", path);
		goto out;
	}
	if (st.st_size < EI_NIDENT) {
		err = ch_error_create(CH_ERROR_FORMAT,
				      "'%s' is not an ELF file (%lld bytes)", path,
				      (long long)st.st_size);
		goto out;
	}
	core->image_size = st.st_size;
	core->elf = elf_begin(core->fd, ELF_C_READ_MMAP, NULL);
	if (!core->elf) {
		err = ch_error_libelf("cannot read '%s'", path);
		goto out;
	}
	err = check_header(core);
	if (err)
		goto out;
	core->image = (const uint8_t *)elf_rawfile(core->elf, &size);
	if (!core->image) {
		err = ch_error_libelf("cannot map '%s'", path);
		goto out;
	}
	core->image_size = size;
	err = read_program_headers(core);
	if (err)
		goto out;
	*ret = core;
	return NULL;

out:
	ch_core_destroy(core);
	return err;
}

void ch_core_destroy(struct ch_core *core)
{
	if (!core)
		return;
	if (core->elf)
		elf_end(core->elf);
	if (core->fd >= 0)
		close(core->fd);
	free(core->segments);
	free(core->threads);
	free(core->files);
	free(core->file_names);
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
