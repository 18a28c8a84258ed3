// SPDX-License-Identifier: MIT
/*
 * fuzz_seeds: seed inputs for the fuzz targets, from a fixture's core.
 *
 *   fuzz_seeds headers CORE OUT   the ELF and program headers and the notes,
 *                                 every PT_LOAD's bytes left out (a few KiB:
 *                                 for the core reader and module reporting)
 *   fuzz_seeds small CORE OUT     the same with the bytes of the writable
 *                                 PT_LOADs, trailing zero pages dropped (the
 *                                 heap, libc's data, stacks: for the address
 *                                 space and the whole pipeline)
 *   fuzz_seeds glibc CORE OUT     a glibc snapshot (glibc_snapshot.h) with
 *                                 libc's symbols, and OUT.nosym without them
 *
 * Exit status 0, or 1 with a message.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glibc_snapshot.h"
#include "heap/program.h"

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "fuzz_seeds: %s '%s'%s%s\n", what, path,
		errno ? ": " : "", errno ? strerror(errno) : "");
	return 1;
}

static int write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		return fail("cannot write", path);
	return 0;
}

// Bytes of a segment worth keeping: up to its last page that is not zero.
static uint64_t trimmed(const uint8_t *bytes, uint64_t len)
{
	while (len) {
		uint64_t page = (len - 1) & ~4095ull;
		uint64_t i;

		for (i = page; i < len && !bytes[i]; i++)
			;
		if (i < len)
			return len;
		len = page;
	}
	return 0;
}

static int rewrite_core(const char *in, const char *out, bool keep_writable)
{
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	const uint8_t *data;
	Elf64_Phdr *new_ph;
	struct stat st;
	uint8_t *buf;
	size_t pos;
	int fd, ret;

	errno = 0;
	fd = open(in, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		return fail("cannot open", in);
	data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (data == MAP_FAILED)
		return fail("cannot map", in);
	eh = (const Elf64_Ehdr *)data;
	if ((size_t)st.st_size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_phentsize != sizeof(*ph) || eh->e_phoff > (size_t)st.st_size ||
	    ((size_t)st.st_size - eh->e_phoff) / sizeof(*ph) < eh->e_phnum) {
		errno = 0;
		return fail("not a sane core:", in);
	}
	ph = (const Elf64_Phdr *)(data + eh->e_phoff);
	buf = malloc(st.st_size);
	if (!buf)
		return fail("out of memory for", in);
	memcpy(buf, eh, sizeof(*eh));
	((Elf64_Ehdr *)buf)->e_phoff = sizeof(*eh);
	((Elf64_Ehdr *)buf)->e_shoff = 0;
	((Elf64_Ehdr *)buf)->e_shnum = 0;
	new_ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	pos = sizeof(*eh) + eh->e_phnum * sizeof(*ph);
	for (size_t i = 0; i < eh->e_phnum; i++) {
		uint64_t keep = 0;

		new_ph[i] = ph[i];
		if (ph[i].p_offset > (size_t)st.st_size ||
		    ph[i].p_filesz > st.st_size - ph[i].p_offset)
			keep = 0;
		else if (ph[i].p_type == PT_NOTE)
			keep = ph[i].p_filesz;
		else if (ph[i].p_type == PT_LOAD && keep_writable &&
			 (ph[i].p_flags & PF_W))
			keep = trimmed(data + ph[i].p_offset, ph[i].p_filesz);
		memcpy(buf + pos, data + ph[i].p_offset, keep);
		new_ph[i].p_offset = pos;
		new_ph[i].p_filesz = keep;
		pos += (keep + 7) & ~7ull;
	}
	ret = write_file(out, buf, pos);
	free(buf);
	munmap((void *)data, st.st_size);
	return ret;
}

struct buf {
	uint8_t *data;
	size_t size;
};

static int append(struct buf *b, const void *data, size_t len)
{
	size_t padded = (len + 7) & ~(size_t)7;
	uint8_t *grown = realloc(b->data, b->size + padded);

	if (!grown)
		return -1;
	memset(grown + b->size, 0, padded);
	memcpy(grown + b->size, data, len);
	b->data = grown;
	b->size += padded;
	return 0;
}

static int snapshot(const char *in, const char *out)
{
	struct ch_program_options options = { 0 };
	struct glibc_snapshot h = { .magic = GLIBC_SNAPSHOT_MAGIC };
	struct ch_module_symbol sym;
	struct ch_program *program;
	struct ch_module *libc;
	struct ch_error *err;
	struct buf b = { 0 };
	const struct ch_address_space *as;
	char nosym[4096];
	size_t num_mappings = 0;
	uint8_t *bytes;
	int ret;

	err = ch_program_open(in, &options, &program);
	if (err) {
		ch_error_print_and_destroy(err, stderr);
		return 1;
	}
	as = program->address_space;
	libc = ch_modules_find_by_prefix(program->modules, "libc.so");
	if (!libc) {
		errno = 0;
		return fail("no libc in", in);
	}
	h.flags = GLIBC_SNAPSHOT_SYMBOLS;
	h.libc_start = libc->start;
	h.libc_end = libc->end;
	h.libc_bias = libc->bias;
	if (!ch_module_find_symbol(libc, "main_arena", &sym))
		h.main_arena = sym.address;
	if (!ch_module_find_symbol(libc, "mp_", &sym))
		h.mp = sym.address;
	if (!ch_module_find_symbol(libc, "__libc_version", &sym))
		ch_error_destroy(ch_address_space_read(as, sym.address, h.version,
						       sizeof(h.version) - 1));
	if (!ch_module_find_symbol(libc, "tcache", &sym) && sym.is_tls &&
	    program->core->num_threads) {
		uint64_t address;

		err = ch_program_tls_address(program, 0, libc, 0, &address);
		if (!err) {
			h.flags |= GLIBC_SNAPSHOT_TCACHE;
			h.tcache_offset = sym.address;
			h.tls_delta = address - program->core->threads[0].regs[CH_REG_FS_BASE];
		}
		ch_error_destroy(err);
	}
	for (size_t i = 0; i < as->num_mappings; i++) {
		if (as->mappings[i].flags & PF_W)
			num_mappings++;
	}
	h.num_threads = program->core->num_threads;
	h.num_mappings = num_mappings;
	ret = append(&b, &h, sizeof(h));
	for (size_t i = 0; !ret && i < program->core->num_threads; i++) {
		const struct ch_thread *t = &program->core->threads[i];
		struct glibc_snapshot_thread st = {
			.tid = t->tid,
			.pc = t->regs[CH_REG_RIP],
			.sp = t->regs[CH_REG_RSP],
			.thread_pointer = t->regs[CH_REG_FS_BASE],
		};

		ret = append(&b, &st, sizeof(st));
	}
	for (size_t i = 0; !ret && i < as->num_mappings; i++) {
		const struct ch_mapping *m = &as->mappings[i];
		struct glibc_snapshot_mapping sm = {
			.start = m->start,
			.end = m->end,
			.prot = (m->flags & PF_R ? 1 : 0) |
				(m->flags & PF_W ? 2 : 0) |
				(m->flags & PF_X ? 4 : 0),
			.is_libc = m->start >= libc->start && m->end <= libc->end,
		};
		uint64_t len = m->available;

		if (!(m->flags & PF_W))
			continue;
		// A stack or a big mmapped block is not what the walk reads
		// most; a MiB of each keeps the seeds small.
		if (len > (1u << 20))
			len = 1u << 20;
		bytes = calloc(1, len + 1);
		if (!bytes ||
		    !ch_address_space_read_quiet(as, m->start, bytes, len))
			len = 0;
		sm.data_len = trimmed(bytes, len);
		ret = append(&b, &sm, sizeof(sm));
		if (!ret)
			ret = append(&b, bytes, sm.data_len);
		free(bytes);
	}
	ch_program_destroy(program);
	if (ret) {
		free(b.data);
		return fail("out of memory for", in);
	}
	ret = write_file(out, b.data, b.size);
	// The same without symbols: main_arena found by its shape.
	((struct glibc_snapshot *)b.data)->flags = 0;
	snprintf(nosym, sizeof(nosym), "%s.nosym", out);
	if (!ret)
		ret = write_file(nosym, b.data, b.size);
	free(b.data);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "headers"))
		return rewrite_core(argv[2], argv[3], false);
	if (argc == 4 && !strcmp(argv[1], "small"))
		return rewrite_core(argv[2], argv[3], true);
	if (argc == 4 && !strcmp(argv[1], "glibc"))
		return snapshot(argv[2], argv[3]);
	fprintf(stderr, "usage: fuzz_seeds headers|small|glibc CORE OUT\n");
	return 64;
}
