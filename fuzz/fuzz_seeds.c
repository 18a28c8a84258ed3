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
 *   fuzz_seeds jemalloc CORE OUT  a jemalloc snapshot (jemalloc_snapshot.h)
 *                                 with libjemalloc's symbols if the core has
 *                                 them, and then OUT.nosym without them
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
#include "jemalloc_snapshot.h"
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

// JEMALLOC_VERSION ("5.3.0-0-g" and 40 hex digits) in the module's
// memory, read page by page (the text may be missing): its address, or 0.
static uint64_t find_jemalloc_version(const struct ch_address_space *as,
				      uint64_t start, uint64_t end,
				      char *version, size_t size)
{
	uint64_t len = end - start;
	uint8_t *buf;
	uint64_t found = 0;

	if (end <= start || len > (64u << 20))
		return 0;
	buf = calloc(1, len + 1);
	if (!buf)
		return 0;
	for (uint64_t p = 0; p < len; p += 4096) {
		uint64_t piece = len - p < 4096 ? len - p : 4096;

		if (!ch_address_space_read_quiet(as, start + p, buf + p, piece))
			memset(buf + p, 0, piece);
	}
	for (uint64_t i = 0; i + 50 < len && !found; i++) {
		int major, minor, patch, n = 0;
		size_t hex = 0;

		if (buf[i] < '0' || buf[i] > '9' ||
		    (i && ((buf[i - 1] >= '0' && buf[i - 1] <= '9') ||
			   buf[i - 1] == '.')))
			continue;
		if (sscanf((const char *)buf + i, "%d.%d.%d-%*d-g%n", &major,
			   &minor, &patch, &n) != 3 || !n)
			continue;
		while (i + n + hex < len &&
		       strchr("0123456789abcdef", buf[i + n + hex]) &&
		       buf[i + n + hex])
			hex++;
		if (hex != 40 || n + 40 >= size)
			continue;
		memcpy(version, buf + i, n + 40);
		version[n + 40] = '\0';
		found = start + i;
	}
	free(buf);
	return found;
}

// Page-sized runs of the bytes that are not zero.
static int append_runs(struct buf *b, const uint8_t *bytes, uint64_t len,
		       uint32_t *num_runs)
{
	uint64_t off = 0;

	*num_runs = 0;
	while (off < len) {
		uint64_t end;
		struct jemalloc_snapshot_run r;

		while (off < len && !trimmed(bytes + off,
					     len - off < 4096 ? len - off : 4096))
			off += 4096;
		if (off >= len)
			break;
		end = off;
		while (end < len && end - off < (1u << 30) &&
		       trimmed(bytes + end, len - end < 4096 ? len - end : 4096))
			end += 4096;
		if (end > len)
			end = len;
		r = (struct jemalloc_snapshot_run){ .offset = off,
						    .len = end - off };
		if (append(b, &r, sizeof(r)) || append(b, bytes + off, r.len))
			return -1;
		(*num_runs)++;
		off = end;
	}
	return 0;
}

// Whether mod has the symbol name; the error, if any, is dropped.
static bool find_symbol(struct ch_module *mod, const char *name,
			struct ch_module_symbol *ret)
{
	struct ch_error *err = ch_module_find_symbol(mod, name, ret);

	ch_error_destroy(err);
	return !err;
}

static int jemalloc_snapshot(const char *in, const char *out)
{
	static const char *const prefixes[] = { "je_", "_rjem_je_" };
	struct ch_program_options options = { 0 };
	struct jemalloc_snapshot h = { .magic = JEMALLOC_SNAPSHOT_MAGIC };
	struct ch_module_symbol sym;
	struct ch_program *program;
	struct ch_module *mod;
	struct ch_error *err;
	struct buf b = { 0 };
	const struct ch_address_space *as;
	char name[64], nosym[4096];
	size_t num_mappings = 0;
	int ret = 0;

	err = ch_program_open(in, &options, &program);
	if (err) {
		ch_error_print_and_destroy(err, stderr);
		return 1;
	}
	as = program->address_space;
	mod = ch_modules_find_by_prefix(program->modules, "libjemalloc");
	if (!mod) {
		ch_program_destroy(program);
		errno = 0;
		return fail("no libjemalloc in", in);
	}
	h.module_start = mod->start;
	h.module_end = mod->end;
	h.module_bias = mod->bias;
	for (size_t i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%sarena_emap_global", prefixes[i]);
		if (!find_symbol(mod, name, &sym))
			continue;
		h.flags |= JEMALLOC_SNAPSHOT_SYMBOLS | (i ? JEMALLOC_SNAPSHOT_RJEM : 0);
		h.emap_global = sym.address;
		snprintf(name, sizeof(name), "%sarenas", prefixes[i]);
		if (find_symbol(mod, name, &sym))
			h.arenas = sym.address;
		snprintf(name, sizeof(name), "%ssz_index2size_tab", prefixes[i]);
		if (find_symbol(mod, name, &sym))
			h.sz_table = sym.address;
		snprintf(name, sizeof(name), "%stsd_tls", prefixes[i]);
		if (find_symbol(mod, name, &sym) && sym.is_tls)
			h.tsd_offset = sym.address;
		break;
	}
	// The TLS block, which the plugin finds the tsd in by layout
	// knowledge when there are no symbols.
	if (program->core->num_threads) {
		uint64_t address;

		err = ch_program_tls_address(program, 0, mod, 0, &address);
		if (!err) {
			h.flags |= JEMALLOC_SNAPSHOT_TLS;
			h.tls_delta = address - program->core->threads[0].regs[CH_REG_FS_BASE];
		}
		ch_error_destroy(err);
	}
	h.version_address = find_jemalloc_version(as, mod->start, mod->end,
						  h.version, sizeof(h.version));
	for (size_t i = 0; i < as->num_mappings; i++) {
		if (as->mappings[i].flags & PF_W)
			num_mappings++;
	}
	h.num_threads = program->core->num_threads;
	h.num_mappings = num_mappings;
	ret = append(&b, &h, sizeof(h));
	for (size_t i = 0; !ret && i < program->core->num_threads; i++) {
		const struct ch_thread *t = &program->core->threads[i];
		struct jemalloc_snapshot_thread st = {
			.tid = t->tid,
			.pc = t->regs[CH_REG_RIP],
			.sp = t->regs[CH_REG_RSP],
			.thread_pointer = t->regs[CH_REG_FS_BASE],
		};

		ret = append(&b, &st, sizeof(st));
	}
	for (size_t i = 0; !ret && i < as->num_mappings; i++) {
		const struct ch_mapping *m = &as->mappings[i];
		struct jemalloc_snapshot_mapping sm = {
			.start = m->start,
			.end = m->end,
			.prot = (m->flags & PF_R ? 1 : 0) |
				(m->flags & PF_W ? 2 : 0) |
				(m->flags & PF_X ? 4 : 0),
			// As the plugin tells them: its .bss runs on past the
			// module's end, to the page's.
			.is_module = m->start >= mod->start && m->start < mod->end,
		};
		uint64_t len;
		size_t at = b.size;
		uint8_t *bytes;

		if (!(m->flags & PF_W))
			continue;
		// Page by page: a core may lack some of a mapping's pages.
		// Only the pages that are not zero go in (a thread's stack,
		// the radix tree's root and the extents are mostly zeroes);
		// a mapping larger than fuzz_jemalloc takes is left empty.
		len = m->end - m->start;
		if (len > (256u << 20))
			len = 0;
		bytes = calloc(1, len + 1);
		if (!bytes)
			len = 0;
		for (uint64_t p = 0; p < len; p += 4096) {
			uint64_t piece = len - p < 4096 ? len - p : 4096;

			if (!ch_address_space_read_quiet(as, m->start + p,
							 bytes + p, piece))
				memset(bytes + p, 0, piece);
		}
		ret = append(&b, &sm, sizeof(sm));
		if (!ret)
			ret = append_runs(&b, bytes, len, &sm.num_runs);
		if (!ret)
			memcpy(b.data + at, &sm, sizeof(sm));
		free(bytes);
	}
	ch_program_destroy(program);
	if (ret) {
		free(b.data);
		return fail("out of memory for", in);
	}
	ret = write_file(out, b.data, b.size);
	// The same without symbols (when the core had them): the radix
	// tree, arenas and size classes found by their contents.
	if (!(((struct jemalloc_snapshot *)b.data)->flags & JEMALLOC_SNAPSHOT_SYMBOLS)) {
		free(b.data);
		return ret;
	}
	((struct jemalloc_snapshot *)b.data)->flags &= ~JEMALLOC_SNAPSHOT_SYMBOLS;
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
	if (argc == 4 && !strcmp(argv[1], "jemalloc"))
		return jemalloc_snapshot(argv[2], argv[3]);
	fprintf(stderr, "usage: fuzz_seeds headers|small|glibc|jemalloc CORE OUT\n");
	return 64;
}
