// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coreheap/plugin.h>

#include "libcfile.h"

#ifndef R_X86_64_TPOFF64
#define R_X86_64_TPOFF64 18
#endif
#ifndef R_X86_64_RELATIVE
#define R_X86_64_RELATIVE 8
#endif

bool ptm_parse_banner(const char *data, size_t len, int *major_ret,
		      int *minor_ret)
{
	static const char key[] = "release version ";
	const char *p = data, *end = data + len;

	while ((p = memmem(p, end - p, key, sizeof(key) - 1))) {
		const char *q = p + sizeof(key) - 1;
		int major = 0, minor = 0;

		p = q;
		while (q < end && *q >= '0' && *q <= '9' && major < 100)
			major = major * 10 + (*q++ - '0');
		if (q >= end || *q++ != '.' || !major)
			continue;
		if (q >= end || *q < '0' || *q > '9')
			continue;
		while (q < end && *q >= '0' && *q <= '9' && minor < 1000)
			minor = minor * 10 + (*q++ - '0');
		*major_ret = major;
		*minor_ret = minor;
		return true;
	}
	return false;
}

static int add_tpoff(struct ptm_libc_file *file, uint64_t got,
		     uint64_t offset)
{
	struct ptm_tpoff_slot *slots;

	slots = realloc(file->tpoff, (file->num_tpoff + 1) * sizeof(*slots));
	if (!slots)
		return COREHEAP_NOMEM;
	file->tpoff = slots;
	slots[file->num_tpoff++] = (struct ptm_tpoff_slot){got, offset};
	return COREHEAP_OK;
}

static void add_candidate(struct ptm_file_candidate *list, size_t *count,
			  uint64_t address, int layout)
{
	for (size_t i = 0; i < *count; i++) {
		if (list[i].address == address && list[i].layout == layout)
			return;
	}
	if (*count < PTM_FILE_MAX_CANDIDATES)
		list[(*count)++] = (struct ptm_file_candidate){address, layout};
}

static int read_rela(struct ptm_libc_file *file, Elf_Scn *scn,
		     const GElf_Shdr *shdr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n;

	if (!data || !shdr->sh_entsize)
		return COREHEAP_OK;
	n = shdr->sh_size / shdr->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Rela rela;
		uint64_t type;

		if (!gelf_getrela(data, i, &rela))
			break;
		type = GELF_R_TYPE(rela.r_info);
		// libc's own `static __thread` variables (tcache among them)
		// are initial-exec: one GOT slot each, relocated against no
		// symbol, the addend being the offset in libc's TLS block.
		if (type == R_X86_64_TPOFF64 && GELF_R_SYM(rela.r_info) == 0) {
			int err = add_tpoff(file, rela.r_offset, rela.r_addend);

			if (err)
				return err;
		}
		// main_arena.next = &main_arena is the one static self-pointer
		// at that offset; with RELA the pointer is only in the addend.
		if (type == R_X86_64_RELATIVE) {
			struct ptm_layout l;

			for (int which = 0; which < PTM_ARENA_LAYOUTS;
			     which++) {
				ptm_layout_set_arena(&l, which);
				if ((uint64_t)rela.r_addend + l.ms_next ==
				    rela.r_offset)
					add_candidate(file->arenas,
						      &file->num_arenas,
						      rela.r_addend, which);
			}
		}
	}
	return COREHEAP_OK;
}

static uint64_t word_at(const uint8_t *buf, size_t size, size_t off)
{
	uint64_t v = 0;

	if (off + 8 <= size)
		memcpy(&v, buf + off, 8);
	return v;
}

static bool all_zero_but(const uint8_t *buf, size_t size, size_t start,
			 size_t len, size_t skip1, size_t skip2)
{
	for (size_t off = start; off < start + len && off + 8 <= size; off += 8) {
		if (off != skip1 && off != skip2 && word_at(buf, size, off))
			return false;
	}
	return start + len <= size;
}

// The pristine image of main_arena: everything zero but .next (pointing to
// itself, stored in place with RELR or in-place RELA) and attached_threads = 1.
static void scan_arena_image(struct ptm_libc_file *file, const uint8_t *buf,
			     size_t size, uint64_t vaddr)
{
	for (int which = 0; which < PTM_ARENA_LAYOUTS; which++) {
		struct ptm_layout l;

		ptm_layout_set_arena(&l, which);
		for (size_t off = 0; off + l.ms_size <= size; off += 8) {
			uint64_t next = word_at(buf, size, off + l.ms_next);

			if (next != vaddr + off ||
			    word_at(buf, size, off + l.ms_attached_threads) != 1)
				continue;
			if (all_zero_but(buf, size, off, l.ms_size,
					 off + l.ms_next,
					 off + l.ms_attached_threads))
				add_candidate(file->arenas, &file->num_arenas,
					      vaddr + off, which);
		}
	}
}

// mp_'s initialiser: trim and mmap thresholds 128 KiB, arena_test 8 (64-bit),
// n_mmaps_max 65536, tcache_bins 64, tcache_max_bytes 1032 and tcache_count 7
// (2.43: 1041 and 16).
static void scan_mp_image(struct ptm_libc_file *file, const uint8_t *buf,
			  size_t size, uint64_t vaddr)
{
	for (int which = 0; which < PTM_PAR_LAYOUTS; which++) {
		bool v2_43 = which == PTM_PAR_2_43;
		struct ptm_layout l;

		ptm_layout_set_par(&l, which);
		for (size_t off = 0; off + l.mp_size <= size; off += 8) {
			uint32_t n_mmaps_max;

			if (word_at(buf, size, off) != 128 * 1024 ||
			    word_at(buf, size, off + l.mp_mmap_threshold) !=
				    128 * 1024 ||
			    word_at(buf, size, off + 24) != 8 ||
			    word_at(buf, size, off + l.mp_tcache_bins) != 64 ||
			    word_at(buf, size, off + l.mp_tcache_max_bytes) !=
				    (v2_43 ? 1041 : 1032) ||
			    word_at(buf, size, off + l.mp_tcache_count) !=
				    (v2_43 ? 16 : 7))
				continue;
			memcpy(&n_mmaps_max, buf + off + l.mp_n_mmaps + 4, 4);
			if (n_mmaps_max == 65536)
				add_candidate(file->mps, &file->num_mps,
					      vaddr + off, which);
		}
	}
}

static int read_sections(struct ptm_libc_file *file, Elf *elf)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return COREHEAP_OK;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		int err;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type == SHT_RELA) {
			err = read_rela(file, scn, &shdr);
			if (err)
				return err;
			continue;
		}
		if (shdr.sh_type != SHT_PROGBITS || !(shdr.sh_flags & SHF_ALLOC))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		if (shdr.sh_flags & SHF_WRITE && !(shdr.sh_flags & SHF_TLS)) {
			scan_arena_image(file, data->d_buf, data->d_size,
					 shdr.sh_addr);
			scan_mp_image(file, data->d_buf, data->d_size,
				      shdr.sh_addr);
		} else if (!(shdr.sh_flags & SHF_EXECINSTR) &&
			   !file->version_major) {
			ptm_parse_banner(data->d_buf, data->d_size,
					 &file->version_major,
					 &file->version_minor);
		}
	}
	return COREHEAP_OK;
}

int ptm_libc_file_load(const char *path, struct ptm_libc_file **ret)
{
	struct ptm_libc_file *file;
	GElf_Ehdr ehdr;
	Elf *elf;
	int fd, err = COREHEAP_NOT_FOUND;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return COREHEAP_NOT_FOUND;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return COREHEAP_NOT_FOUND;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		goto out_close;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) ||
	    ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_machine != EM_X86_64)
		goto out_end;
	file = calloc(1, sizeof(*file));
	if (!file) {
		err = COREHEAP_NOMEM;
		goto out_end;
	}
	err = read_sections(file, elf);
	if (err) {
		ptm_libc_file_destroy(file);
		goto out_end;
	}
	*ret = file;
out_end:
	elf_end(elf);
out_close:
	close(fd);
	return err;
}

void ptm_libc_file_destroy(struct ptm_libc_file *file)
{
	if (!file)
		return;
	free(file->tpoff);
	free(file);
}
