// SPDX-License-Identifier: MIT
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synthetic_core.h"

#define PRSTATUS_SIZE 336
#define PRSTATUS_PID 32
#define PRSTATUS_REGS 112
#define PRPSINFO_SIZE 136

void synth_core_init(struct synth_core *core)
{
	memset(core, 0, sizeof(*core));
	core->e_type = ET_CORE;
	core->e_machine = EM_X86_64;
	core->elf_class = ELFCLASS64;
	core->elf_data = ELFDATA2LSB;
}

struct note_buf {
	uint8_t *data;
	size_t len, capacity;
};

static void note_add(struct note_buf *buf, uint32_t type, const void *desc,
		     size_t size)
{
	Elf64_Nhdr nhdr = { .n_namesz = 5, .n_descsz = size, .n_type = type };
	size_t padded = (size + 3) & ~(size_t)3;

	// Doubling: tens of thousands of thread notes are written.
	if (buf->len + sizeof(nhdr) + 8 + padded > buf->capacity) {
		buf->capacity = 2 * (buf->len + sizeof(nhdr) + 8 + padded);
		buf->data = realloc(buf->data, buf->capacity);
		if (!buf->data)
			abort();
	}
	memcpy(buf->data + buf->len, &nhdr, sizeof(nhdr));
	memcpy(buf->data + buf->len + sizeof(nhdr), "CORE\0\0\0", 8);
	memset(buf->data + buf->len + sizeof(nhdr) + 8, 0, padded);
	memcpy(buf->data + buf->len + sizeof(nhdr) + 8, desc, size);
	buf->len += sizeof(nhdr) + 8 + padded;
}

// Where synth_core::num_thread_stacks lie: a guard page, then the stack.
#define THREAD_STACKS 0x200000000
#define THREAD_STACK_SPAN 16384

static void add_threads(struct note_buf *notes, const struct synth_core *core)
{
	for (size_t i = 0; i < core->num_threads; i++) {
		uint8_t prstatus[PRSTATUS_SIZE] = { 0 };
		uint64_t *regs = (uint64_t *)(prstatus + PRSTATUS_REGS);

		memcpy(prstatus + PRSTATUS_PID, &core->tids[i], 4);
		regs[4] = core->rbps[i];
		regs[16] = core->rips[i];
		regs[19] = core->rsps[i];
		regs[21] = core->fs_bases[i];
		note_add(notes, NT_PRSTATUS, prstatus,
			 core->prstatus_size ? core->prstatus_size :
					       sizeof(prstatus));
	}
	for (size_t i = 0; i < core->num_thread_stacks; i++) {
		uint8_t prstatus[PRSTATUS_SIZE] = { 0 };
		uint64_t *regs = (uint64_t *)(prstatus + PRSTATUS_REGS);
		int32_t tid = 1000 + (int32_t)i;

		memcpy(prstatus + PRSTATUS_PID, &tid, 4);
		regs[19] = THREAD_STACKS + THREAD_STACK_SPAN * i + 8192;
		note_add(notes, NT_PRSTATUS, prstatus, sizeof(prstatus));
	}
}

static void add_files(struct note_buf *notes, const struct synth_core *core,
		      const char *first_path)
{
	uint8_t desc[1024] = { 0 };
	uint64_t header[2] = { core->num_files, 4096 };

	if (core->set_file_count) {
		header[0] = core->file_count;
		header[1] = core->file_page_size;
	}
	size_t off = 16 + 24 * core->num_files;

	if (!core->num_files)
		return;
	memcpy(desc, header, 16);
	for (size_t i = 0; i < core->num_files; i++) {
		uint64_t triple[3] = { core->files[i].start, core->files[i].end,
				       core->files[i].page_offset };

		const char *path = i == 0 && first_path ? first_path :
							  core->files[i].path;

		memcpy(desc + 16 + 24 * i, triple, 24);
		strcpy((char *)desc + off, path);
		off += strlen(path) + 1;
	}
	note_add(notes, 0x46494c45, desc, off);
}

char *synth_core_write(const struct synth_core *core)
{
	char *path = strdup("/tmp/coreheap-synth-XXXXXX");
	struct note_buf notes = { 0 };
	Elf64_Ehdr ehdr = { 0 };
	Elf64_Shdr shdr0 = { 0 };
	Elf64_Phdr *phdrs;
	size_t first_load = 1 + core->note_copies;
	size_t first_stack = first_load + core->num_segments + core->num_empty_loads;
	size_t phnum = first_stack + 2 * core->num_thread_stacks;
	uint64_t offset;
	int fd = mkstemp(path);
	FILE *file = fdopen(fd, "w+");

	phdrs = calloc(phnum, sizeof(*phdrs));
	if (!phdrs || !file)
		abort();
	add_threads(&notes, core);
	if (core->with_psinfo) {
		uint8_t psinfo[PRPSINFO_SIZE] = { 0 };
		int32_t pid = core->num_threads ? core->tids[0] : 42;

		memcpy(psinfo + 24, &pid, 4);
		strcpy((char *)psinfo + 40, "synthetic");
		if (core->psargs)
			memcpy(psinfo + 56, core->psargs,
			       strnlen(core->psargs, 80));
		else
			strcpy((char *)psinfo + 56, "synthetic --flag");
		note_add(&notes, NT_PRPSINFO, psinfo, sizeof(psinfo));
	}
	if (core->siginfo_size)
		note_add(&notes, 0x53494749 /* NT_SIGINFO */, core->siginfo,
			 core->siginfo_size);
	if (core->auxv_size)
		note_add(&notes, NT_AUXV, core->auxv, core->auxv_size);
	add_files(&notes, core, NULL);
	if (core->second_file_path)
		add_files(&notes, core, core->second_file_path);

	memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
	ehdr.e_ident[EI_CLASS] = core->elf_class;
	ehdr.e_ident[EI_DATA] = core->elf_data;
	ehdr.e_ident[EI_VERSION] = EV_CURRENT;
	ehdr.e_type = core->e_type;
	ehdr.e_machine = core->e_machine;
	if (core->elf_data == ELFDATA2MSB) {
		ehdr.e_type = __builtin_bswap16(ehdr.e_type);
		ehdr.e_machine = __builtin_bswap16(ehdr.e_machine);
	}
	ehdr.e_version = EV_CURRENT;
	ehdr.e_phoff = sizeof(ehdr);
	ehdr.e_ehsize = sizeof(ehdr);
	ehdr.e_phentsize = sizeof(Elf64_Phdr);
	ehdr.e_phnum = phnum;

	offset = sizeof(ehdr) + phnum * sizeof(Elf64_Phdr);
	if (phnum >= PN_XNUM) {
		// Extended numbering, as the kernel writes it: the real count
		// is in section header 0, after the program headers.
		ehdr.e_phnum = PN_XNUM;
		ehdr.e_shoff = offset;
		ehdr.e_shentsize = sizeof(Elf64_Shdr);
		ehdr.e_shnum = 1;
		shdr0.sh_info = phnum;
		offset += sizeof(shdr0);
	}
	phdrs[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = offset,
				 .p_filesz = core->notes_filesz ?
						     core->notes_filesz :
						     notes.len,
				 .p_align = 4 };
	for (size_t i = 0; i < core->note_copies; i++) {
		phdrs[1 + i] = phdrs[0];
		phdrs[1 + i].p_filesz = core->note_copy_filesz;
	}
	offset += notes.len;
	for (size_t i = 0; i < core->num_segments; i++) {
		const struct synth_segment *seg = &core->segments[i];

		offset = (offset + 4095) & ~(uint64_t)4095;
		phdrs[first_load + i] = (Elf64_Phdr){
			.p_type = PT_LOAD, .p_flags = seg->flags,
			.p_offset = offset, .p_vaddr = seg->vaddr,
			.p_filesz = seg->filesz, .p_memsz = seg->memsz,
			.p_align = 4096,
		};
		offset += seg->filesz;
	}
	for (size_t i = 0; i < core->num_empty_loads; i++) {
		phdrs[first_load + core->num_segments + i] = (Elf64_Phdr){
			.p_type = PT_LOAD, .p_flags = PF_R,
			.p_offset = offset, .p_vaddr = 0x100000000 + 8192 * i,
			.p_memsz = 4096, .p_align = 4096,
		};
	}
	for (size_t i = 0; i < core->num_thread_stacks; i++) {
		uint64_t guard = THREAD_STACKS + THREAD_STACK_SPAN * i;

		phdrs[first_stack + 2 * i] = (Elf64_Phdr){
			.p_type = PT_LOAD, .p_flags = PF_R,
			.p_offset = offset, .p_vaddr = guard,
			.p_memsz = 4096, .p_align = 4096,
		};
		phdrs[first_stack + 2 * i + 1] = (Elf64_Phdr){
			.p_type = PT_LOAD, .p_flags = PF_R | PF_W,
			.p_offset = offset, .p_vaddr = guard + 4096,
			.p_memsz = 8192, .p_align = 4096,
		};
	}
	fwrite(&ehdr, sizeof(ehdr), 1, file);
	fwrite(phdrs, sizeof(Elf64_Phdr), phnum, file);
	if (phnum >= PN_XNUM)
		fwrite(&shdr0, sizeof(shdr0), 1, file);
	if (notes.len)
		fwrite(notes.data, 1, notes.len, file);
	for (size_t i = 0; i < core->num_segments; i++) {
		fseek(file, phdrs[first_load + i].p_offset, SEEK_SET);
		if (core->segments[i].filesz)
			fwrite(core->segments[i].data, 1,
			       core->segments[i].filesz, file);
	}
	fflush(file);
	if (core->truncate_to && ftruncate(fd, core->truncate_to) != 0)
		abort();
	fclose(file);
	free(notes.data);
	free(phdrs);
	return path;
}
