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
 *   fuzz_seeds glibc CORE OUT     a snapshot (snapshot.h) for the glibc
 *                                 plugin with libc's symbols, and OUT.nosym
 *                                 without those of its debug info
 *   fuzz_seeds jemalloc CORE OUT  the same for the jemalloc plugin and
 *                                 libjemalloc (OUT.nosym only if the core
 *                                 has its debug symbols)
 *   fuzz_seeds cpython CORE OUT   the same for the CPython plugin and the
 *                                 interpreter (python3.x or libpython3.x),
 *                                 with its read-only data (the types'
 *                                 names) and glibc's live blocks
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

#include "coreheap/plugin.h"
#include "base/sorted_u64.h"
#include "fuzz_host.h"
#include "heap/program.h"
#include "snapshot.h"

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

// len bytes at start into buf page by page: a core may lack some of a
// mapping's pages, which read as zeroes.
static void read_pages(const struct ch_address_space *as, uint64_t start,
		       uint8_t *buf, uint64_t len)
{
	for (uint64_t p = 0; p < len; p += 4096) {
		uint64_t piece = len - p < 4096 ? len - p : 4096;

		if (!ch_address_space_read_quiet(as, start + p, buf + p, piece))
			memset(buf + p, 0, piece);
	}
}

// Whether mod has the symbol name; the error, if any, is dropped.
static bool find_symbol(struct ch_module *mod, const char *name,
			struct ch_module_symbol *ret)
{
	struct ch_error *err = ch_module_find_symbol(mod, name, ret);

	ch_error_destroy(err);
	return !err;
}

#define MAX_SYMBOLS 32

// A snapshot's symbol table, as it is filled.
struct symbols {
	struct fuzz_snapshot_symbol table[MAX_SYMBOLS];
	uint32_t num;
};

// Put mod's symbol name into t if mod has it (a TLS one only if tls): true
// if it did.
static bool add_symbol(struct symbols *t, struct ch_module *mod,
		       const char *name, bool tls)
{
	struct fuzz_snapshot_symbol *entry;
	struct ch_module_symbol sym;

	if (t->num == MAX_SYMBOLS || strlen(name) >= sizeof(entry->name) ||
	    !find_symbol(mod, name, &sym) || (tls && !sym.is_tls))
		return false;
	entry = &t->table[t->num];
	*entry = (struct fuzz_snapshot_symbol){
		.address = sym.address,
		.size = sym.size,
		.is_tls = sym.is_tls,
	};
	strcpy(entry->name, name);
	t->num++;
	return true;
}

// __libc_version in both tables: a snapshot has no libc file, the plugin's
// other source of the version (which picks its layouts). With debug info,
// main_arena and mp_, and the TLS variable tcache.
static void glibc_symbols(struct ch_module *libc, bool debug, struct symbols *t)
{
	add_symbol(t, libc, "__libc_version", false);
	if (!debug)
		return;
	add_symbol(t, libc, "main_arena", false);
	add_symbol(t, libc, "mp_", false);
	add_symbol(t, libc, "tcache", true);
}

// __libc_version's bytes (the symbol's size at most), read from libc's
// .rodata: its address, or 0.
static uint64_t glibc_version(const struct ch_address_space *as,
			      struct ch_module *libc, char *version, size_t size)
{
	struct ch_module_symbol sym;

	if (!find_symbol(libc, "__libc_version", &sym))
		return 0;
	if (sym.size && sym.size < size)
		size = sym.size + 1;
	if (!ch_address_space_read_quiet(as, sym.address, version, size - 1))
		memset(version, 0, size);
	return sym.address;
}

// With debug info, the globals the jemalloc plugin looks for (je_ or Rust's
// _rjem_je_ names): the radix tree's, the arenas, the size classes and
// the TLS variable tsd_tls, under the first prefix that names the radix
// tree's. Without it the plugin finds them by their contents.
static void jemalloc_symbols(struct ch_module *mod, bool debug,
			     struct symbols *t)
{
	static const char *const prefixes[] = { "je_", "_rjem_je_" };
	char name[64];

	for (size_t i = 0; debug && i < 2; i++) {
		snprintf(name, sizeof(name), "%sarena_emap_global", prefixes[i]);
		if (!add_symbol(t, mod, name, false))
			continue;
		snprintf(name, sizeof(name), "%sarenas", prefixes[i]);
		add_symbol(t, mod, name, false);
		snprintf(name, sizeof(name), "%ssz_index2size_tab", prefixes[i]);
		add_symbol(t, mod, name, false);
		snprintf(name, sizeof(name), "%stsd_tls", prefixes[i]);
		add_symbol(t, mod, name, true);
		break;
	}
}

// JEMALLOC_VERSION ("5.3.0-0-g" and 40 hex digits) in the module's
// memory, read page by page (the text may be missing): its address, or 0.
static uint64_t jemalloc_version(const struct ch_address_space *as,
				 struct ch_module *mod, char *version,
				 size_t size)
{
	uint64_t start = mod->start, end = mod->end;
	uint64_t len = end - start;
	uint8_t *buf;
	uint64_t found = 0;

	if (end <= start || len > (64u << 20))
		return 0;
	buf = calloc(1, len + 1);
	if (!buf)
		return 0;
	read_pages(as, start, buf, len);
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

// The globals the CPython plugin looks up (cpython.c, refs.c): in the
// interpreter's dynamic symbols, debug info or not.
static void cpython_symbols(struct ch_module *mod, bool debug,
			    struct symbols *t)
{
	static const char *const names[] = {
		"_PyRuntime", "PyType_Type", "Py_Version", "PyCode_Type",
		"_Py_NoneStruct", "PyBaseObject_Type", "PyList_Type",
		"PyTuple_Type", "PyDict_Type", "PyUnicode_Type", "PyLong_Type",
		"PyBool_Type", "PyFloat_Type", "PyBytes_Type", "PyCell_Type",
		"PyModule_Type",
	};

	(void)debug;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add_symbol(t, mod, names[i], false);
}

// Py_Version's four bytes, in the interpreter's .rodata: its address, or 0
// (3.13's version is in _PyRuntime's debug offsets, writable memory).
static uint64_t cpython_version(const struct ch_address_space *as,
				struct ch_module *mod, char *version,
				size_t size)
{
	struct ch_module_symbol sym;

	memset(version, 0, size);
	if (!find_symbol(mod, "Py_Version", &sym) ||
	    !ch_address_space_read_quiet(as, sym.address, version, 4))
		return 0;
	return sym.address;
}

// What a snapshot for one allocator plugin holds.
struct allocator_kind {
	/** The plugin's name, and the subcommand of fuzz_seeds. */
	const char *name;
	/**
	 * The module the plugin's globals live in, by its name's prefix;
	 * the second one tried if the first names none.
	 */
	const char *module_prefix, *other_module_prefix;
	/**
	 * A runtime's: the snapshot has the native blocks (glibc's walk)
	 * and the module's read-only data, where its types' names are.
	 */
	bool is_runtime;
	/**
	 * Bytes kept of each writable mapping, from its start: a glibc heap
	 * fits in a MiB (a stack or a big mmapped block is not what the walk
	 * reads most, and the seeds stay small), while jemalloc's radix tree
	 * and extents lie anywhere in theirs (fuzz_host.c's limit).
	 */
	uint64_t max_mapping_bytes;
	/** Fill t with the module's symbols, those of debug info if debug. */
	void (*symbols)(struct ch_module *mod, bool debug, struct symbols *t);
	/** The version string into version; where it is, or 0. */
	uint64_t (*version)(const struct ch_address_space *as,
			    struct ch_module *mod, char *version, size_t size);
};

static const struct allocator_kind allocator_kinds[] = {
	{
		.name = "glibc",
		.module_prefix = "libc.so",
		.max_mapping_bytes = 1u << 20,
		.symbols = glibc_symbols,
		.version = glibc_version,
	},
	{
		.name = "jemalloc",
		.module_prefix = "libjemalloc",
		.max_mapping_bytes = 256ull << 20,
		.symbols = jemalloc_symbols,
		.version = jemalloc_version,
	},
	{
		.name = "cpython",
		.module_prefix = "python3",
		.other_module_prefix = "libpython3",
		.is_runtime = true,
		.max_mapping_bytes = 256ull << 20,
		.symbols = cpython_symbols,
		.version = cpython_version,
	},
};

// Page-sized runs of the bytes that are not zero.
static int append_runs(struct buf *b, const uint8_t *bytes, uint64_t len,
		       uint32_t *num_runs)
{
	uint64_t off = 0;

	*num_runs = 0;
	while (off < len) {
		uint64_t end;
		struct fuzz_snapshot_run r;

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
		r = (struct fuzz_snapshot_run){ .offset = off, .len = end - off };
		if (append(b, &r, sizeof(r)) || append(b, bytes + off, r.len))
			return -1;
		(*num_runs)++;
		off = end;
	}
	return 0;
}

/*
 * What the snapshot keeps of the address space: the writable mappings (up
 * to kind's max_mapping_bytes of each), and for a runtime the pages of its
 * module's read-only data that the plugin reads.
 */
struct piece {
	uint64_t start, end;
	uint32_t prot;
	bool is_module;
};

struct pieces {
	struct piece *at;
	size_t num, capacity;
};

static int add_piece(struct pieces *pieces, struct piece piece)
{
	if (pieces->num == pieces->capacity) {
		size_t capacity = pieces->capacity ? 2 * pieces->capacity : 64;
		struct piece *grown = realloc(pieces->at, capacity * sizeof(*grown));

		if (!grown)
			return -1;
		pieces->at = grown;
		pieces->capacity = capacity;
	}
	pieces->at[pieces->num++] = piece;
	return 0;
}

static int compare_pieces(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

static bool overlaps_piece(const struct pieces *pieces, uint64_t start,
			   uint64_t end)
{
	for (size_t i = 0; i < pieces->num; i++) {
		if (start < pieces->at[i].end && pieces->at[i].start < end)
			return true;
	}
	return false;
}

/*
 * The CPython plugin names a static type by its tp_name, a string in the
 * interpreter's .rodata, which no writable mapping holds: the pages of
 * those strings, found as the plugin finds the types (a PyTypeObject's
 * ob_type, at 8, is PyType_Type; its tp_name is at 24, in every 3.x).
 */
static int add_type_name_pages(struct pieces *pieces,
			       const struct ch_address_space *as,
			       struct ch_module *mod)
{
	struct ch_module_symbol type_type;
	const size_t writable = pieces->num;

	if (!find_symbol(mod, "PyType_Type", &type_type))
		return 0;
	for (size_t i = 0; i < writable; i++) {
		const struct piece *m = &pieces->at[i];
		uint64_t len = m->end - m->start;
		uint8_t *bytes;

		if (!m->is_module || !(m->prot & COREHEAP_PROT_WRITE))
			continue;
		bytes = calloc(1, len);
		if (!bytes)
			return -1;
		read_pages(as, m->start, bytes, len);
		for (uint64_t o = 0; o + 32 <= len; o += 8) {
			uint64_t ob_type, name;
			const struct ch_range *range;
			char text[256];

			memcpy(&ob_type, bytes + o + 8, 8);
			memcpy(&name, bytes + o + 24, 8);
			if (ob_type != type_type.address || name < mod->start ||
			    name >= mod->end ||
			    !(range = ch_address_space_range(as, name)) ||
			    range->writable || range->executable ||
			    !ch_address_space_read_quiet(as, name, text, 1))
				continue;
			// The string's pages: up to its NUL, 256 bytes at most.
			size_t n = 1;

			while (n < sizeof(text) && text[n - 1] &&
			       ch_address_space_read_quiet(as, name + n, text + n, 1))
				n++;
			for (uint64_t page = name & ~4095ull; page < name + n;
			     page += 4096) {
				if (overlaps_piece(pieces, page, page + 4096))
					continue;
				if (add_piece(pieces, (struct piece){
							      .start = page,
							      .end = page + 4096,
							      .prot = COREHEAP_PROT_READ,
							      .is_module = true,
						      })) {
					free(bytes);
					return -1;
				}
			}
		}
		free(bytes);
	}
	return 0;
}

// What the snapshot keeps of the address space, sorted: see struct piece.
static int find_pieces(struct pieces *pieces, const struct ch_program *program,
		       struct ch_module *mod, const struct allocator_kind *kind)
{
	const struct ch_address_space *as = program->address_space;

	for (size_t i = 0; i < as->num_mappings; i++) {
		const struct ch_mapping *m = &as->mappings[i];

		if (!(m->flags & PF_W))
			continue;
		if (add_piece(pieces, (struct piece){
				      .start = m->start,
				      .end = m->end,
				      .prot = (m->flags & PF_R ? COREHEAP_PROT_READ : 0) |
					      COREHEAP_PROT_WRITE |
					      (m->flags & PF_X ? COREHEAP_PROT_EXEC : 0),
				      // The rest of .bss past the module's end
				      // is not in its file (the glibc plugin
				      // takes the anonymous mapping after the
				      // module's for it).
				      .is_module = m->start >= mod->start &&
						   m->end <= mod->end,
			      }))
			return -1;
	}
	if (kind->is_runtime && add_type_name_pages(pieces, as, mod))
		return -1;
	qsort(pieces->at, pieces->num, sizeof(*pieces->at), compare_pieces);
	return 0;
}

// The threads and the pieces of the address space with their runs, as
// the snapshot has them after its symbols; *num_mappings_ret counts the
// pieces.
static int append_threads_and_mappings(struct buf *b,
				       const struct ch_program *program,
				       struct ch_module *mod,
				       const struct allocator_kind *kind,
				       uint32_t *num_mappings_ret)
{
	const struct ch_address_space *as = program->address_space;
	struct pieces pieces = { 0 };
	int ret = 0;

	*num_mappings_ret = 0;
	for (size_t i = 0; !ret && i < program->core->num_threads; i++) {
		const struct ch_thread *t = &program->core->threads[i];
		struct fuzz_snapshot_thread st = {
			.tid = t->tid,
			.pc = t->regs[CH_REG_RIP],
			.sp = t->regs[CH_REG_RSP],
			.thread_pointer = t->regs[CH_REG_FS_BASE],
		};

		ret = append(b, &st, sizeof(st));
	}
	if (!ret)
		ret = find_pieces(&pieces, program, mod, kind);
	for (size_t i = 0; !ret && i < pieces.num; i++) {
		const struct piece *piece = &pieces.at[i];
		struct fuzz_snapshot_mapping sm = {
			.start = piece->start,
			.end = piece->end,
			.prot = piece->prot,
			.is_module = piece->is_module,
		};
		uint64_t len = piece->end - piece->start;
		size_t at = b->size;
		uint8_t *bytes;

		if (len > kind->max_mapping_bytes)
			len = kind->max_mapping_bytes;
		bytes = calloc(1, len + 1);
		if (!bytes)
			len = 0;
		read_pages(as, piece->start, bytes, len);
		ret = append(b, &sm, sizeof(sm));
		if (!ret)
			ret = append_runs(b, bytes, len, &sm.num_runs);
		if (!ret)
			memcpy(b->data + at, &sm, sizeof(sm));
		free(bytes);
		(*num_mappings_ret)++;
	}
	free(pieces.at);
	return ret;
}

// The identities of a runtime's objects, sorted: what its plugin reports
// from the core, which the snapshot must serve it too.
struct identities {
	uint64_t *at;
	size_t num;
};

// The identities of the runtime objects among blocks (heap->live or
// heap->nested), appended to ids (room made by the caller).
static void collect_runtime_objects(const struct ch_block_array *blocks,
				    struct identities *ids)
{
	for (size_t i = 0; i < blocks->len; i++) {
		if (blocks->blocks[i].runtime_object)
			ids->at[ids->num++] = ch_block_identity(&blocks->blocks[i]);
	}
}

/*
 * For a runtime's snapshot, from one walk of the core by every plugin: the
 * native allocators' live blocks, which the runtime's plugin finds its
 * objects in, after the mappings in b; and the identities of the objects
 * the runtime's plugin reports, into ids.
 */
static int append_native_blocks(struct buf *b, struct ch_program *program,
				 uint32_t *num_blocks_ret, struct identities *ids)
{
	const struct ch_program_options options = { 0 };
	const struct ch_heap *heap = &program->heap;
	struct ch_error *err = ch_program_load_heap(program, &options);
	int ret = 0;

	*num_blocks_ret = 0;
	if (err) {
		ch_error_print_and_destroy(err, stderr);
		return -1;
	}
	for (size_t i = 0; !ret && i < heap->live.len; i++) {
		const struct ch_block *block = &heap->live.blocks[i];
		struct fuzz_snapshot_block sb = {
			.address = block->address,
			.size = ch_block_size(block),
		};

		if (program->allocators.uses[block->allocator].ops->is_runtime)
			continue;
		ret = append(b, &sb, sizeof(sb));
		(*num_blocks_ret)++;
	}
	ids->at = malloc((heap->live.len + heap->nested.len + 1) * sizeof(*ids->at));
	if (!ids->at)
		return -1;
	collect_runtime_objects(&heap->live, ids);
	collect_runtime_objects(&heap->nested, ids);
	qsort(ids->at, ids->num, sizeof(*ids->at), ch_compare_u64);
	return ret;
}

/*
 * A runtime's snapshot must serve its plugin as the core does: walked over
 * the snapshot (fuzz_host.c), the plugin reports the very objects it
 * reports from the core (expected); else the fuzzer would explore a heap
 * the plugin never meets. 0, or 1 with a message.
 */
static int check_runtime_snapshot(const struct allocator_kind *kind,
				  const char *in, const struct buf *snapshot,
				  const struct identities *expected)
{
	const struct coreheap_allocator *ops = fuzz_find_allocator(kind->name);
	struct fuzz_host host;
	void *state = NULL;
	int confidence = 0, ret = 1;
	uint64_t *from_snapshot = NULL;

	errno = 0;
	if (!fuzz_host_init(&host, snapshot->data, snapshot->size) || !ops ||
	    ops->probe(&host.ops, false, &confidence, &state) || confidence <= 0) {
		fuzz_host_deinit(&host);
		return fail("the snapshot does not serve its plugin, of", in);
	}
	ops->walk(&host.ops, state);
	if (ops->destroy)
		ops->destroy(state);
	from_snapshot = malloc((host.num_objects + 1) * sizeof(*from_snapshot));
	if (!from_snapshot) {
		fail("out of memory for", in);
		goto out;
	}
	for (size_t i = 0; i < host.num_objects; i++)
		from_snapshot[i] = host.objects[i].address;
	qsort(from_snapshot, host.num_objects, sizeof(*from_snapshot),
	      ch_compare_u64);
	if (expected->num != host.num_objects || !expected->num ||
	    memcmp(expected->at, from_snapshot,
		   expected->num * sizeof(*expected->at))) {
		fprintf(stderr,
			"fuzz_seeds: the %s plugin reports %zu objects from the snapshot of '%s', %zu from the core itself\n",
			kind->name, host.num_objects, in, expected->num);
		goto out;
	}
	ret = 0;
out:
	free(from_snapshot);
	fuzz_host_deinit(&host);
	return ret;
}

// Write h, the symbols and the body (threads and mappings) to path.
static int write_snapshot(const char *path, const struct fuzz_snapshot *h,
			  const struct symbols *symbols, const struct buf *body,
			  const struct allocator_kind *kind, const char *in,
			  const struct identities *expected)
{
	struct buf b = { 0 };
	int ret;

	if (append(&b, h, sizeof(*h)) ||
	    append(&b, symbols->table, symbols->num * sizeof(*symbols->table)) ||
	    append(&b, body->data, body->size)) {
		free(b.data);
		errno = ENOMEM;
		return fail("cannot write", path);
	}
	ret = kind->is_runtime ? check_runtime_snapshot(kind, in, &b, expected) : 0;
	if (!ret)
		ret = write_file(path, b.data, b.size);
	free(b.data);
	return ret;
}

// The snapshot for the plugin kind of the core in, to out and, when the
// core has the module's debug symbols, the same without them to out.nosym
// (the plugin finds its globals by their contents).
static int snapshot(const struct allocator_kind *kind, const char *in,
		    const char *out)
{
	struct ch_program_options options = { 0 };
	struct fuzz_snapshot h = { .magic = FUZZ_SNAPSHOT_MAGIC };
	struct symbols with = { 0 }, without = { 0 };
	struct identities expected = { 0 };
	struct ch_program *program;
	struct ch_module *mod;
	struct ch_error *err;
	struct buf body = { 0 };
	char nosym[4096];
	int ret;

	err = ch_program_open(in, &options, &program);
	if (err) {
		ch_error_print_and_destroy(err, stderr);
		return 1;
	}
	mod = ch_modules_find_by_prefix(program->modules, kind->module_prefix);
	if (!mod && kind->other_module_prefix)
		mod = ch_modules_find_by_prefix(program->modules,
						kind->other_module_prefix);
	if (!mod || strlen(mod->name) >= sizeof(h.module_name)) {
		ch_program_destroy(program);
		errno = 0;
		return fail(mod ? "module name too long in" : "no allocator module in",
			    in);
	}
	snprintf(h.allocator, sizeof(h.allocator), "%s", kind->name);
	strcpy(h.module_name, mod->name);
	h.module_start = mod->start;
	h.module_end = mod->end;
	h.module_bias = mod->bias;
	// The TLS block, which the plugins find their thread caches in, by
	// symbol or by layout knowledge.
	if (program->core->num_threads) {
		uint64_t address;

		err = ch_program_tls_address(program, 0, mod, 0, &address);
		if (!err) {
			h.flags |= FUZZ_SNAPSHOT_TLS;
			h.tls_delta = address - program->core->threads[0].regs[CH_REG_FS_BASE];
		}
		ch_error_destroy(err);
	}
	h.version_address = kind->version(program->address_space, mod,
					  h.version, sizeof(h.version));
	kind->symbols(mod, true, &with);
	kind->symbols(mod, false, &without);
	h.num_threads = program->core->num_threads;
	ret = append_threads_and_mappings(&body, program, mod, kind,
					  &h.num_mappings);
	if (!ret && kind->is_runtime)
		ret = append_native_blocks(&body, program, &h.num_blocks,
					   &expected);
	ch_program_destroy(program);
	if (ret) {
		free(body.data);
		free(expected.at);
		return fail("cannot make the snapshot of", in);
	}
	h.num_symbols = with.num;
	if (with.num != without.num)
		h.flags |= FUZZ_SNAPSHOT_DEBUGINFO;
	ret = write_snapshot(out, &h, &with, &body, kind, in, &expected);
	if (!ret && with.num != without.num) {
		h.flags &= ~FUZZ_SNAPSHOT_DEBUGINFO;
		h.num_symbols = without.num;
		snprintf(nosym, sizeof(nosym), "%s.nosym", out);
		ret = write_snapshot(nosym, &h, &without, &body, kind, in,
				     &expected);
	}
	free(body.data);
	free(expected.at);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "headers"))
		return rewrite_core(argv[2], argv[3], false);
	if (argc == 4 && !strcmp(argv[1], "small"))
		return rewrite_core(argv[2], argv[3], true);
	for (size_t i = 0; argc == 4 && i < sizeof(allocator_kinds) /
						 sizeof(*allocator_kinds); i++) {
		if (!strcmp(argv[1], allocator_kinds[i].name))
			return snapshot(&allocator_kinds[i], argv[2], argv[3]);
	}
	fprintf(stderr, "usage: fuzz_seeds headers|small|glibc|jemalloc|cpython CORE OUT\n");
	return 64;
}
