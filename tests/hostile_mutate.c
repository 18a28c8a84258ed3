// SPDX-License-Identifier: MIT
/*
 * hostile_mutate: hostile cores made from a sane one, by structured
 * mutation, for tests/hostile-cores.sh.
 *
 *   hostile_mutate [--words RANGES] --count CORE OBJECTS
 *   hostile_mutate [--words RANGES] CORE OBJECTS INDEX OUT
 *
 * CORE is a sane x86-64 core; OBJECTS is `coreheap objects --format csv`
 * of it (the live blocks: where the heap's chunks are), or "-". The plan
 * of mutants is a pure function of the core, the objects and $HOSTILE_SEED
 * (default 1), so that mutant INDEX is the same on every run: --count
 * prints how many there are; the second form writes mutant INDEX to OUT
 * and prints one line on stdout:
 *
 *   <class> <expect> <address> <description>
 *
 * where class names what was hit (ehdr, phdr, load, note, nt_file,
 * prstatus, heap, arena, tcache, truncate, grow, or a class of RANGES),
 * expect is "any" or
 * "partial" (the core is visibly damaged: a complete report with exit 0
 * and not a word on stderr would be a lie), and address is an address of
 * the heap the mutant is about (0x0 if none), for why/refs/describe.
 *
 * With --words, the mutants are only edits of the memory that RANGES
 * names, a range a line, "ADDRESS WORDS CLASS OBJECT LABEL...": each of
 * the WORDS 8-byte words from ADDRESS gets one hostile value (plan_words()),
 * OBJECT is the address for why/refs/describe, and the core's own
 * structures are left alone. A runtime's corpus (tests/hostile-python.sh)
 * names its objects and its interpreter's state this way, from what the
 * runtime itself said, which this program could not find in a core.
 *
 * Mutants are written one at a time: a few hundred copies of a core at
 * once would cost the test its disk and its page cache.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum kind {
	SET8,           // a byte at off
	SET16,
	SET32,
	SET64,
	TRUNCATE,       // cut the file to off bytes
	FILL,           // len bytes at off set to the byte value
	DUP_NOTE,       // rewrite the notes at the end, note off repeated value times
	MANY_PHDRS,     // rewrite the program headers at the end, value of them
	SWAP_PHDRS,     // swap program headers off and len
};

struct plan {
	enum kind kind;
	uint64_t off;
	uint64_t value;
	uint64_t len;
	bool partial;
	uint64_t address;
	const char *class;
	char desc[160];
};

struct note {
	uint64_t off;           // of its header in the file
	uint32_t namesz, descsz, type;
	uint64_t desc_off;
};

#define MAX_NOTES 4096
#define MAX_PLANS 4096
#define MAX_BLOCKS 100000

struct chunk {
	uint64_t address;       // of the chunk header (block - 16)
	uint64_t size;          // from its size field, flags masked
	bool live;
};

struct core {
	const uint8_t *data;
	size_t size;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	size_t num_ph;
	size_t note_ph;         // index of the PT_NOTE header
	struct note notes[MAX_NOTES];
	size_t num_notes;

	uint64_t *blocks;       // live block addresses, sorted
	size_t num_blocks;
	struct chunk *chunks;   // the main heap's chunks, in address order
	size_t num_chunks;
	uint64_t main_arena;    // 0 if not found

	struct plan plans[MAX_PLANS];
	size_t num_plans;
	uint64_t rng;
};

static void die(const char *format, ...)
{
	va_list ap;

	fputs("hostile_mutate: ", stderr);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t rng_next(struct core *core)
{
	// xorshift64*: deterministic and good enough to pick values.
	core->rng ^= core->rng >> 12;
	core->rng ^= core->rng << 25;
	core->rng ^= core->rng >> 27;
	return core->rng * 0x2545f4914f6cdd1dull;
}

static struct plan *add(struct core *core, const char *class, enum kind kind,
			uint64_t off, uint64_t value, bool partial,
			const char *format, ...)
	__attribute__((format(printf, 7, 8)));

static struct plan *add(struct core *core, const char *class, enum kind kind,
			uint64_t off, uint64_t value, bool partial,
			const char *format, ...)
{
	struct plan *p;
	va_list ap;

	if (core->num_plans >= MAX_PLANS)
		die("too many mutants");
	p = &core->plans[core->num_plans++];
	memset(p, 0, sizeof(*p));
	p->class = class;
	p->kind = kind;
	p->off = off;
	p->value = value;
	p->partial = partial;
	va_start(ap, format);
	vsnprintf(p->desc, sizeof(p->desc), format, ap);
	va_end(ap);
	return p;
}

static uint64_t load64(const struct core *core, uint64_t off)
{
	uint64_t v = 0;

	if (off <= core->size && core->size - off >= 8)
		memcpy(&v, core->data + off, 8);
	return v;
}

// The file offset of addr, if the core holds it.
static bool file_offset(const struct core *core, uint64_t addr, size_t len,
			uint64_t *ret)
{
	for (size_t i = 0; i < core->num_ph; i++) {
		const Elf64_Phdr *ph = &core->ph[i];

		if (ph->p_type != PT_LOAD || addr < ph->p_vaddr ||
		    addr - ph->p_vaddr > ph->p_filesz ||
		    ph->p_filesz - (addr - ph->p_vaddr) < len)
			continue;
		*ret = ph->p_offset + (addr - ph->p_vaddr);
		return *ret <= core->size && core->size - *ret >= len;
	}
	return false;
}

static const Elf64_Phdr *load_of(const struct core *core, uint64_t addr)
{
	for (size_t i = 0; i < core->num_ph; i++) {
		const Elf64_Phdr *ph = &core->ph[i];

		if (ph->p_type == PT_LOAD && addr >= ph->p_vaddr &&
		    addr - ph->p_vaddr < ph->p_filesz)
			return ph;
	}
	return NULL;
}

static void parse_core(struct core *core)
{
	const Elf64_Phdr *note;
	uint64_t off, end;

	core->eh = (const Elf64_Ehdr *)core->data;
	if (core->size < sizeof(Elf64_Ehdr) ||
	    memcmp(core->eh->e_ident, ELFMAG, SELFMAG) ||
	    core->eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    core->eh->e_type != ET_CORE ||
	    core->eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    core->eh->e_phoff > core->size ||
	    (core->size - core->eh->e_phoff) / sizeof(Elf64_Phdr) <
		    core->eh->e_phnum)
		die("not a sane 64-bit core");
	core->ph = (const Elf64_Phdr *)(core->data + core->eh->e_phoff);
	core->num_ph = core->eh->e_phnum;
	core->note_ph = SIZE_MAX;
	for (size_t i = 0; i < core->num_ph; i++) {
		if (core->ph[i].p_type == PT_NOTE) {
			core->note_ph = i;
			break;
		}
	}
	if (core->note_ph == SIZE_MAX)
		die("the core has no PT_NOTE");
	note = &core->ph[core->note_ph];
	off = note->p_offset;
	end = off + note->p_filesz;
	if (end > core->size)
		die("the notes are out of the file");
	while (off + 12 <= end && core->num_notes < MAX_NOTES) {
		struct note *n = &core->notes[core->num_notes++];
		uint32_t words[3];

		memcpy(words, core->data + off, sizeof(words));
		n->off = off;
		n->namesz = words[0];
		n->descsz = words[1];
		n->type = words[2];
		n->desc_off = off + 12 + ((n->namesz + 3ull) & ~3ull);
		off = n->desc_off + ((n->descsz + 3ull) & ~3ull);
	}
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void read_objects(struct core *core, const char *path)
{
	char line[512];
	FILE *f;

	core->blocks = calloc(MAX_BLOCKS, sizeof(*core->blocks));
	if (!core->blocks)
		die("out of memory");
	if (!strcmp(path, "-"))
		return;
	f = fopen(path, "r");
	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) && core->num_blocks < MAX_BLOCKS) {
		char *end;
		uint64_t addr = strtoull(line, &end, 16);

		// The header line and anything else that is not an address.
		if (strncmp(line, "0x", 2) || *end != ',')
			continue;
		core->blocks[core->num_blocks++] = addr;
	}
	fclose(f);
	qsort(core->blocks, core->num_blocks, sizeof(*core->blocks),
	      compare_u64);
}

static bool is_live(const struct core *core, uint64_t block)
{
	return bsearch(&block, core->blocks, core->num_blocks,
		       sizeof(*core->blocks), compare_u64) != NULL;
}

// The main heap's chunks, by their size fields from the first live block's
// segment start; the core is sane, so this walk is glibc's own.
static void walk_heap(struct core *core)
{
	const Elf64_Phdr *seg;
	uint64_t addr, end, first;

	if (!core->num_blocks)
		return;
	first = core->blocks[0];
	seg = load_of(core, first);
	if (!seg)
		return;
	core->chunks = calloc(MAX_BLOCKS, sizeof(*core->chunks));
	if (!core->chunks)
		die("out of memory");
	// glibc's main heap starts at the segment's start, 16-byte aligned
	// (the fixtures that sbrk first are not the corpus's base).
	addr = (seg->p_vaddr + 15) & ~15ull;
	end = seg->p_vaddr + seg->p_filesz;
	while (addr + 16 <= end && core->num_chunks < MAX_BLOCKS) {
		uint64_t off, size;
		struct chunk *c;

		if (!file_offset(core, addr + 8, 8, &off))
			break;
		size = load64(core, off) & ~7ull;
		c = &core->chunks[core->num_chunks++];
		c->address = addr;
		c->size = size;
		c->live = is_live(core, addr + 16);
		if (size < 32 || size > end - addr)
			break;
		addr += size;
	}
}

// main_arena: the word in a writable segment outside the heap that holds
// the top chunk's address, with the arena ring's next pointer where the
// 2.27+ layout puts it (2064 bytes on) pointing back 96 bytes before it.
static void find_main_arena(struct core *core)
{
	uint64_t top;

	if (!core->num_chunks)
		return;
	top = core->chunks[core->num_chunks - 1].address;
	for (size_t i = 0; i < core->num_ph; i++) {
		const Elf64_Phdr *ph = &core->ph[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) ||
		    ph->p_offset + ph->p_filesz > core->size)
			continue;
		for (uint64_t o = 96; o + 2072 <= ph->p_filesz; o += 8) {
			uint64_t arena = ph->p_vaddr + o - 96;

			if (load64(core, ph->p_offset + o) == top &&
			    load64(core, ph->p_offset + o + 2064) == arena) {
				core->main_arena = arena;
				return;
			}
		}
	}
}

// ---- the plans ----

static void plan_ehdr(struct core *core)
{
	static const struct {
		uint64_t off;
		int width;
		uint64_t value;
		const char *what;
	} edits[] = {
		{ EI_CLASS, 1, ELFCLASS32, "class 32-bit" },
		{ EI_CLASS, 1, 0, "class none" },
		{ EI_DATA, 1, ELFDATA2MSB, "big-endian" },
		{ EI_VERSION, 1, 0, "version 0" },
		{ offsetof(Elf64_Ehdr, e_type), 2, ET_EXEC, "type ET_EXEC" },
		{ offsetof(Elf64_Ehdr, e_type), 2, 0x400, "type 0x400" },
		{ offsetof(Elf64_Ehdr, e_machine), 2, EM_AARCH64, "machine aarch64" },
		{ offsetof(Elf64_Ehdr, e_phoff), 8, 0, "e_phoff 0" },
		{ offsetof(Elf64_Ehdr, e_phoff), 8, 1, "e_phoff 1 (misaligned, overlaps the header)" },
		{ offsetof(Elf64_Ehdr, e_phoff), 8, UINT64_MAX - 55, "e_phoff wraps" },
		{ offsetof(Elf64_Ehdr, e_phoff), 8, 1ull << 40, "e_phoff past the file" },
		{ offsetof(Elf64_Ehdr, e_phentsize), 2, 0, "e_phentsize 0" },
		{ offsetof(Elf64_Ehdr, e_phentsize), 2, 32, "e_phentsize 32" },
		{ offsetof(Elf64_Ehdr, e_phentsize), 2, 57, "e_phentsize 57" },
		{ offsetof(Elf64_Ehdr, e_phentsize), 2, 0xffff, "e_phentsize 65535" },
		{ offsetof(Elf64_Ehdr, e_phnum), 2, 0, "e_phnum 0" },
		{ offsetof(Elf64_Ehdr, e_phnum), 2, 1, "e_phnum 1" },
		{ offsetof(Elf64_Ehdr, e_phnum), 2, 0xfffe, "e_phnum 65534 (past the file)" },
		{ offsetof(Elf64_Ehdr, e_phnum), 2, PN_XNUM, "e_phnum PN_XNUM without a section header" },
		{ offsetof(Elf64_Ehdr, e_shoff), 8, UINT64_MAX - 63, "e_shoff wraps" },
		{ offsetof(Elf64_Ehdr, e_shnum), 2, 0xffff, "e_shnum 65535" },
		{ offsetof(Elf64_Ehdr, e_shentsize), 2, 1, "e_shentsize 1" },
		{ offsetof(Elf64_Ehdr, e_ehsize), 2, 0xffff, "e_ehsize 65535" },
	};

	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		enum kind kind = edits[i].width == 1 ? SET8 :
				 edits[i].width == 2 ? SET16 :
				 edits[i].width == 4 ? SET32 : SET64;

		add(core, "ehdr", kind, edits[i].off, edits[i].value, false,
		    "ELF header: %s", edits[i].what);
	}
}

// Edits of one program header's field.
static void plan_phdr_field(struct core *core, size_t i, size_t field,
			    int width, uint64_t value, bool partial,
			    const char *what)
{
	uint64_t off = core->eh->e_phoff + i * sizeof(Elf64_Phdr) + field;

	add(core, core->ph[i].p_type == PT_LOAD ? "load" : "phdr",
	    width == 4 ? SET32 : SET64, off, value, partial,
	    "program header %zu (%s at 0x%" PRIx64 "): %s", i,
	    core->ph[i].p_type == PT_LOAD ? "PT_LOAD" : "PT_NOTE",
	    core->ph[i].p_vaddr, what);
}

static void plan_segments(struct core *core)
{
	size_t heap_ph = SIZE_MAX, loads[4], num_loads = 0;
	const Elf64_Phdr *heap = NULL;

	if (core->num_blocks)
		heap = load_of(core, core->blocks[0]);
	// The heap's segment, the first and last PT_LOADs, and one writable
	// one in between (a libc data segment, a stack).
	for (size_t i = 0; i < core->num_ph; i++) {
		if (&core->ph[i] == heap)
			heap_ph = i;
	}
	for (size_t i = 0; i < core->num_ph && num_loads < 2; i++) {
		if (core->ph[i].p_type == PT_LOAD && i != heap_ph)
			loads[num_loads++] = i;
	}
	for (size_t i = core->num_ph; i-- > 0;) {
		if (core->ph[i].p_type == PT_LOAD && i != heap_ph) {
			loads[num_loads++] = i;
			break;
		}
	}
	if (heap_ph != SIZE_MAX)
		loads[num_loads++] = heap_ph;

	for (size_t k = 0; k < num_loads; k++) {
		size_t i = loads[k];
		const Elf64_Phdr *ph = &core->ph[i];

		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_filesz), 8,
				ph->p_memsz + 4096, true, "p_filesz > p_memsz");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_filesz), 8,
				UINT64_MAX, true, "p_filesz 2^64-1");
		// Memory a core leaves out is complete when nothing needed it
		// (file-backed text is read from the binary, the kernel leaves
		// out MADV_DONTDUMP memory on purpose); a read that needs it
		// faults and says so. Either status is right.
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_filesz), 8, 0,
				false, "p_filesz 0 (memory not saved)");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_memsz), 8, 0,
				true, "p_memsz 0");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_memsz), 8,
				UINT64_MAX - ph->p_vaddr + 4096, true,
				"p_vaddr + p_memsz wraps past 2^64");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_memsz), 8,
				1ull << 46, true, "p_memsz 64 TiB");
		// Data past the end of the file is lost: writable memory
		// makes the results partial; read-only memory the binaries
		// give back, or that nothing reads, is said but costs
		// nothing. Either status is right there.
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_offset), 8,
				core->size - 1, ph->p_flags & PF_W,
				"p_offset at the last byte");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_offset), 8,
				UINT64_MAX - 4095, ph->p_flags & PF_W,
				"p_offset wraps");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_offset), 8,
				ph->p_offset + 1, false, "p_offset + 1 (misaligned data)");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_vaddr), 8,
				UINT64_MAX - 4095, true, "p_vaddr at the top of memory");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_vaddr), 8, 0,
				false, "p_vaddr 0");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_vaddr), 8,
				ph->p_vaddr + 1, false, "p_vaddr + 1 (unaligned)");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_flags), 4, 0,
				false, "p_flags 0");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_type), 4,
				PT_NOTE, false, "PT_LOAD turned into a PT_NOTE");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_type), 4,
				PT_NULL, false, "PT_LOAD turned into PT_NULL");
		if (i > 0 && core->ph[i - 1].p_type == PT_LOAD)
			plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_vaddr),
					8, core->ph[i - 1].p_vaddr, true,
					"overlaps the previous PT_LOAD");
	}
	if (num_loads >= 2) {
		struct plan *p = add(core, "phdr", SWAP_PHDRS, loads[0],
				     loads[1], false,
				     "program headers %zu and %zu swapped (not sorted)",
				     loads[0], loads[1]);

		p->len = loads[1];
	}

	// The PT_NOTE itself.
	{
		size_t i = core->note_ph;
		const Elf64_Phdr *ph = &core->ph[i];

		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_filesz), 8,
				UINT64_MAX, true, "p_filesz 2^64-1");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_filesz), 8,
				1ull << 40, true, "p_filesz 2^40");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_filesz), 8, 0,
				true, "p_filesz 0");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_filesz), 8, 5,
				true, "p_filesz 5 (half a note header)");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_filesz), 8,
				ph->p_filesz - 1, true, "p_filesz - 1");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_offset), 8,
				UINT64_MAX - 7, true, "p_offset wraps");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_offset), 8,
				ph->p_offset + 2, true, "p_offset + 2 (notes misread)");
		plan_phdr_field(core, i, offsetof(Elf64_Phdr, p_type), 4,
				PT_LOAD, true, "PT_NOTE turned into a PT_LOAD");
	}
	// Hundreds of program headers, a second PT_NOTE among them: the
	// counts the issue met, one at the limit of e_phnum, one past it.
	add(core, "phdr", MANY_PHDRS, 0, 600, false,
	    "600 program headers (copies of the PT_NOTE)")->len = 1;
	add(core, "phdr", MANY_PHDRS, 0, 600, false,
	    "600 program headers (zero-sized PT_LOADs)");
	add(core, "phdr", MANY_PHDRS, 0, 65534, false,
	    "65534 program headers (zero-sized PT_LOADs)");
	add(core, "phdr", MANY_PHDRS, 0, 300000, false,
	    "300000 program headers through PN_XNUM (zero-sized PT_LOADs)");
}

static const char *note_name(uint32_t type)
{
	switch (type) {
	case NT_PRSTATUS: return "NT_PRSTATUS";
	case NT_PRPSINFO: return "NT_PRPSINFO";
	case NT_AUXV: return "NT_AUXV";
	case NT_FILE: return "NT_FILE";
	case NT_SIGINFO: return "NT_SIGINFO";
	case NT_FPREGSET: return "NT_FPREGSET";
	case NT_X86_XSTATE: return "NT_X86_XSTATE";
	default: return "note";
	}
}

static void plan_note(struct core *core, size_t i)
{
	const struct note *n = &core->notes[i];
	const char *name = note_name(n->type);
	uint64_t d = n->desc_off;

	add(core, "note", SET32, n->off, 0xffffffff, true,
	    "%s #%zu: namesz 2^32-1", name, i);
	add(core, "note", SET32, n->off + 4, 0xffffffff, true,
	    "%s #%zu: descsz 2^32-1", name, i);
	add(core, "note", SET32, n->off + 4, n->descsz + 4096, true,
	    "%s #%zu: descsz past the notes", name, i);
	add(core, "note", SET32, n->off + 4, 0, false,
	    "%s #%zu: descsz 0", name, i);
	add(core, "note", SET32, n->off + 4, n->descsz / 2 + 1, false,
	    "%s #%zu: descsz halved (odd)", name, i);
	add(core, "note", SET32, n->off, 0, false,
	    "%s #%zu: namesz 0", name, i);

	switch (n->type) {
	case NT_FILE: {
		uint64_t count = load64(core, d);

		add(core, "nt_file", SET64, d, UINT64_MAX / 24 + 2, true,
		    "NT_FILE: count wraps count * 24");
		add(core, "nt_file", SET64, d, 1ull << 40, true,
		    "NT_FILE: count 2^40");
		add(core, "nt_file", SET64, d, count + 1, true,
		    "NT_FILE: count one too many (names eaten)");
		add(core, "nt_file", SET64, d, 0, false, "NT_FILE: count 0");
		add(core, "nt_file", SET64, d + 8, 0, false,
		    "NT_FILE: page size 0");
		add(core, "nt_file", SET64, d + 8, UINT64_MAX, false,
		    "NT_FILE: page size 2^64-1");
		if (count) {
			uint64_t e = d + 16;

			add(core, "nt_file", SET64, e, UINT64_MAX, false,
			    "NT_FILE: first entry starts at 2^64-1 (start > end)");
			add(core, "nt_file", SET64, e + 8, 0, false,
			    "NT_FILE: first entry ends at 0");
			add(core, "nt_file", SET64, e + 16, UINT64_MAX, false,
			    "NT_FILE: first entry's page offset 2^64-1");
			// The names, without their terminating NULs.
			add(core, "nt_file", FILL, d + 16 + 24 * count, 'A',
			    true, "NT_FILE: names without a NUL")->len =
				n->descsz > 16 + 24 * count ?
					n->descsz - 16 - 24 * count : 0;
		}
		break;
	}
	case NT_PRSTATUS: {
		// struct elf_prstatus: pr_pid at 32, pr_reg at 112 (27 words).
		uint64_t regs = d + 112;

		add(core, "prstatus", SET32, d + 32, 0xffffffff, false,
		    "NT_PRSTATUS #%zu: pid -1", i);
		add(core, "prstatus", SET32, d + 32, 0, false,
		    "NT_PRSTATUS #%zu: pid 0", i);
		add(core, "prstatus", SET64, regs + 8 * 19, 0, false,
		    "NT_PRSTATUS #%zu: rsp 0", i);
		add(core, "prstatus", SET64, regs + 8 * 19, UINT64_MAX - 7,
		    false, "NT_PRSTATUS #%zu: rsp 2^64-8", i);
		add(core, "prstatus", SET64, regs + 8 * 16, 0x41414141, false,
		    "NT_PRSTATUS #%zu: rip 0x41414141", i);
		add(core, "prstatus", SET64, regs + 8 * 4, UINT64_MAX - 7,
		    false, "NT_PRSTATUS #%zu: rbp 2^64-8", i);
		add(core, "prstatus", SET64, regs + 8 * 21, 0x41414141, false,
		    "NT_PRSTATUS #%zu: fs_base 0x41414141", i);
		add(core, "prstatus", SET64, regs + 8 * 21, 0, false,
		    "NT_PRSTATUS #%zu: fs_base 0", i);
		add(core, "prstatus", DUP_NOTE, i, 500, false,
		    "NT_PRSTATUS #%zu repeated 500 times (500 threads of one tid)",
		    i);
		break;
	}
	case NT_AUXV:
		add(core, "note", FILL, d, 0xff, false,
		    "NT_AUXV: every byte 0xff")->len = n->descsz;
		add(core, "note", SET64, d, 9 /* AT_ENTRY */, false,
		    "NT_AUXV: first entry turned into AT_ENTRY");
		break;
	case NT_PRPSINFO:
		add(core, "note", FILL, d, 'x', false,
		    "NT_PRPSINFO: no NUL in fname or psargs")->len = n->descsz;
		break;
	case NT_SIGINFO:
		add(core, "note", FILL, d, 0xff, false,
		    "NT_SIGINFO: every byte 0xff")->len = n->descsz;
		break;
	}
	// The same note repeated: a second NT_FILE, NT_AUXV, ...
	if (n->type != NT_PRSTATUS)
		add(core, "note", DUP_NOTE, i, 2, false,
		    "%s #%zu twice", name, i);
}

static void plan_notes(struct core *core)
{
	for (size_t i = 0; i < core->num_notes; i++)
		plan_note(core, i);
	if (core->num_notes)
		add(core, "note", DUP_NOTE, 0, 20000, false,
		    "%s #0 repeated 20000 times", note_name(core->notes[0].type));
}

// An edit of heap memory at addr.
static void plan_heap_word(struct core *core, const char *class,
			   uint64_t addr, uint64_t value, uint64_t block,
			   const char *format, ...)
	__attribute__((format(printf, 6, 7)));

static void plan_heap_word(struct core *core, const char *class,
			   uint64_t addr, uint64_t value, uint64_t block,
			   const char *format, ...)
{
	struct plan *p;
	uint64_t off;
	va_list ap;

	if (!file_offset(core, addr, 8, &off))
		return;
	p = add(core, class, SET64, off, value, false, "%s", "");
	p->address = block;
	va_start(ap, format);
	vsnprintf(p->desc, sizeof(p->desc), format, ap);
	va_end(ap);
}

static void plan_heap(struct core *core)
{
	size_t num_live = 0, num_free = 0;
	size_t step;

	if (!core->num_chunks)
		return;
	// The tcache_perthread_struct is the heap's first chunk: its counts
	// (uint16_t[64]) and entries (pointers, after them).
	{
		uint64_t t = core->chunks[0].address + 16;

		plan_heap_word(core, "tcache", t, UINT64_MAX, 0,
			       "tcache counts of bins 0-3 set to 65535");
		plan_heap_word(core, "tcache", t + 128, t + 128, 0,
			       "tcache entry 0 points to itself");
		plan_heap_word(core, "tcache", t + 128 + 8, 0x41414141, 0,
			       "tcache entry 1 0x41414141");
		plan_heap_word(core, "tcache", t + 128 + 16,
			       core->chunks[core->num_chunks - 1].address + 16,
			       0, "tcache entry 2 is the top chunk");
	}
	for (size_t i = 0; i < core->num_chunks; i++) {
		if (core->chunks[i].live)
			num_live++;
		else
			num_free++;
	}
	// A dozen live chunks spread over the heap, each hit several ways.
	step = num_live / 12 + 1;
	for (size_t i = 0, k = 0; i < core->num_chunks; i++) {
		const struct chunk *c = &core->chunks[i];
		uint64_t block = c->address + 16, size_field = c->address + 8;
		uint64_t flags;

		if (!c->live || k++ % step)
			continue;
		if (!file_offset(core, size_field, 8, &flags))
			continue;
		flags = load64(core, flags) & 7;
		switch ((k / step) % 6) {
		case 0:
			plan_heap_word(core, "heap", size_field, flags, block,
				       "chunk 0x%" PRIx64 ": size 0", c->address);
			break;
		case 1:
			plan_heap_word(core, "heap", size_field, UINT64_MAX,
				       block, "chunk 0x%" PRIx64 ": size 2^64-1 (every flag)",
				       c->address);
			break;
		case 2:
			plan_heap_word(core, "heap", size_field,
				       (c->size + 16) | flags, block,
				       "chunk 0x%" PRIx64 ": size + 16 (overflow into the next header)",
				       c->address);
			break;
		case 3:
			plan_heap_word(core, "heap", size_field,
				       (c->size - 16) | flags, block,
				       "chunk 0x%" PRIx64 ": size - 16", c->address);
			break;
		case 4:
			plan_heap_word(core, "heap", size_field,
				       c->size | 2, block,
				       "chunk 0x%" PRIx64 ": IS_MMAPPED set in the heap",
				       c->address);
			break;
		case 5:
			plan_heap_word(core, "heap", size_field,
				       (1ull << 47) | flags, block,
				       "chunk 0x%" PRIx64 ": size 2^47", c->address);
			break;
		}
		// PREV_INUSE cleared on the chunk after a live one.
		if (i + 1 < core->num_chunks && (k / step) % 2 == 0) {
			const struct chunk *next = &core->chunks[i + 1];
			uint64_t off;

			if (file_offset(core, next->address + 8, 8, &off))
				plan_heap_word(core, "heap", next->address + 8,
					       load64(core, off) & ~1ull, block,
					       "chunk 0x%" PRIx64 ": PREV_INUSE cleared after a live chunk",
					       next->address);
		}
	}
	// Free chunks' list pointers: fd, bk, fd_nextsize.
	step = num_free / 8 + 1;
	for (size_t i = 0, k = 0; i < core->num_chunks; i++) {
		const struct chunk *c = &core->chunks[i];
		uint64_t fd = c->address + 16;

		if (c->live || i == 0 || k++ % step)
			continue;
		switch ((k / step) % 4) {
		case 0:
			plan_heap_word(core, "heap", fd, c->address, fd,
				       "free chunk 0x%" PRIx64 ": fd points to itself",
				       c->address);
			break;
		case 1:
			plan_heap_word(core, "heap", fd, 0x41414141, fd,
				       "free chunk 0x%" PRIx64 ": fd 0x41414141",
				       c->address);
			break;
		case 2:
			plan_heap_word(core, "heap", fd + 8, c->address + 1, fd,
				       "free chunk 0x%" PRIx64 ": bk misaligned",
				       c->address);
			break;
		case 3:
			plan_heap_word(core, "heap", fd + 16, c->address, fd,
				       "free chunk 0x%" PRIx64 ": fd_nextsize points to itself",
				       c->address);
			break;
		}
	}
	// The top chunk.
	{
		const struct chunk *top = &core->chunks[core->num_chunks - 1];

		plan_heap_word(core, "heap", top->address + 8, 1ull << 50, 0,
			       "top chunk: size 2^50");
		plan_heap_word(core, "heap", top->address + 8, 0, 0,
			       "top chunk: size 0");
	}
}

static void plan_arena(struct core *core)
{
	uint64_t a = core->main_arena, top = a + 96, bins = top + 16;
	uint64_t live = core->num_blocks ? core->blocks[core->num_blocks / 2] : 0;

	if (!a)
		return;
	plan_heap_word(core, "arena", top, 0x41414140, 0,
		       "main_arena.top 0x41414140");
	plan_heap_word(core, "arena", top, 0, 0, "main_arena.top 0");
	if (live)
		plan_heap_word(core, "arena", top, live - 16, live,
			       "main_arena.top inside the heap (a live chunk)");
	plan_heap_word(core, "arena", a + 16, a + 16, 0,
		       "main_arena fastbin 0 points into the arena");
	if (live)
		plan_heap_word(core, "arena", a + 24, live - 16, live,
			       "main_arena fastbin 1 is a live chunk");
	plan_heap_word(core, "arena", a + 16 + 8 * 6, 0x41414141, 0,
		       "main_arena fastbin 6 0x41414141");
	for (unsigned int bin = 0; bin < 126; bin += 25) {
		uint64_t fd = bins + 16 * bin;

		plan_heap_word(core, "arena", fd, 0x41414140, 0,
			       "main_arena bin %u: fd 0x41414140", bin + 1);
		plan_heap_word(core, "arena", fd + 8, fd, 0,
			       "main_arena bin %u: bk points into the bin array",
			       bin + 1);
		if (live)
			plan_heap_word(core, "arena", fd, live - 16, live,
				       "main_arena bin %u: fd is a live chunk",
				       bin + 1);
	}
	plan_heap_word(core, "arena", top + 2064, 0, 0,
		       "main_arena.next 0");
	plan_heap_word(core, "arena", top + 2064, 0x41414140, 0,
		       "main_arena.next 0x41414140");
	plan_heap_word(core, "arena", top + 2064, a + 8, 0,
		       "main_arena.next points 8 bytes into itself");
	plan_heap_word(core, "arena", top + 2088, 0, 0,
		       "main_arena.system_mem 0");
	plan_heap_word(core, "arena", top + 2088, UINT64_MAX, 0,
		       "main_arena.system_mem 2^64-1");
}

// Cut the file at every structure boundary: the ELF header, each program
// header, each note's header, name and descriptor, each segment's start.
static void plan_truncations(struct core *core)
{
	uint64_t cuts[] = { 0, 1, 4, 16, 52, 63, sizeof(Elf64_Ehdr) };

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		add(core, "truncate", TRUNCATE, cuts[i], 0, true,
		    "cut to %" PRIu64 " bytes (inside the ELF header)", cuts[i]);
	for (size_t i = 0; i < core->num_ph; i++) {
		uint64_t off = core->eh->e_phoff + i * sizeof(Elf64_Phdr);

		add(core, "truncate", TRUNCATE, off + 28, 0, true,
		    "cut inside program header %zu", i);
	}
	add(core, "truncate", TRUNCATE,
	    core->eh->e_phoff + core->num_ph * sizeof(Elf64_Phdr), 0, true,
	    "cut right after the program headers");
	for (size_t i = 0; i < core->num_notes; i++) {
		const struct note *n = &core->notes[i];

		add(core, "truncate", TRUNCATE, n->off + 6, 0, true,
		    "cut inside the header of %s #%zu", note_name(n->type), i);
		add(core, "truncate", TRUNCATE, n->off + 13, 0, true,
		    "cut inside the name of %s #%zu", note_name(n->type), i);
		add(core, "truncate", TRUNCATE, n->desc_off + n->descsz / 2, 0,
		    true, "cut inside the descriptor of %s #%zu",
		    note_name(n->type), i);
	}
	for (size_t i = 0; i < core->num_ph; i++) {
		const Elf64_Phdr *ph = &core->ph[i];

		if (ph->p_type != PT_LOAD || !ph->p_filesz ||
		    ph->p_offset >= core->size)
			continue;
		add(core, "truncate", TRUNCATE, ph->p_offset, 0, true,
		    "cut at the start of PT_LOAD %zu (0x%" PRIx64 ")", i,
		    ph->p_vaddr);
	}
}

// Random words anywhere in the notes, and random bytes in the headers,
// from the seed: what the structured plans above did not think of.
static void plan_random(struct core *core)
{
	const Elf64_Phdr *note = &core->ph[core->note_ph];
	uint64_t headers = core->eh->e_phoff + core->num_ph * sizeof(Elf64_Phdr);

	for (int i = 0; i < 8; i++) {
		uint64_t off = note->p_offset +
			       (rng_next(core) % (note->p_filesz / 4)) * 4;
		uint64_t value = rng_next(core);

		if (i % 3 == 0)
			value &= 0xff;
		add(core, "note", SET32, off, value, false,
		    "random word 0x%08" PRIx64 " at note offset %" PRIu64,
		    value & 0xffffffff, off - note->p_offset);
	}
	for (int i = 0; i < 4; i++) {
		uint64_t off = rng_next(core) % headers;
		uint64_t value = rng_next(core) & 0xff;

		add(core, "phdr", SET8, off, value, false,
		    "random byte 0x%02" PRIx64 " at file offset %" PRIu64,
		    value, off);
	}
}

#define MAX_RANGES 256

struct range {
	uint64_t address, words, object;
	char class[16];
	char label[64];
};

// The ranges of a --words file; dies on a line it cannot read.
static size_t read_ranges(const char *path, struct range *ranges)
{
	char line[256];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		struct range *r = &ranges[n];
		int label_at = 0;

		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (n == MAX_RANGES)
			die("%s: more than %d ranges", path, MAX_RANGES);
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%" SCNx64 " %" SCNu64 " %15s %" SCNx64 " %n",
			   &r->address, &r->words, r->class, &r->object,
			   &label_at) < 4 || !label_at || !r->words)
			die("%s: not 'ADDRESS WORDS CLASS OBJECT LABEL': %s",
			    path, line);
		snprintf(r->label, sizeof(r->label), "%s", line + label_at);
		n++;
	}
	fclose(f);
	return n;
}

/*
 * One mutant for each word of each range: the value, from the seed, one
 * of those a damaged or hostile process leaves: zero, all ones, a count
 * past any memory, the word's own address (a list that points to
 * itself), an address inside the range (misaligned), another range's
 * start (an object of another kind), a page no mapping holds, and the
 * word as it was with one bit flipped or moved by a word.
 */
static void plan_words(struct core *core, const char *path)
{
	static struct range ranges[MAX_RANGES];
	size_t num_ranges = read_ranges(path, ranges);

	for (size_t i = 0; i < num_ranges; i++) {
		const struct range *r = &ranges[i];

		for (uint64_t w = 0; w < r->words; w++) {
			uint64_t addr = r->address + 8 * w, off, value;
			const char *what;
			struct plan *p;

			if (!file_offset(core, addr, 8, &off))
				continue;
			switch (rng_next(core) % 9) {
			case 0: value = 0; what = "0"; break;
			case 1: value = UINT64_MAX; what = "all ones"; break;
			case 2: value = 1ull << 40; what = "2^40"; break;
			case 3: value = addr; what = "its own address"; break;
			case 4: value = r->address + 1; what = "the range's start + 1"; break;
			case 5:
				value = ranges[rng_next(core) % num_ranges].address;
				what = "another range's start";
				break;
			case 6: value = 0x10000; what = "an unmapped page"; break;
			case 7:
				value = load64(core, off) ^
					(1ull << (rng_next(core) % 64));
				what = "a bit flipped";
				break;
			default:
				value = load64(core, off) + 8;
				what = "8 more";
				break;
			}
			p = add(core, r->class, SET64, off, value, false,
				"%s at 0x%" PRIx64 ", word %" PRIu64 " = 0x%" PRIx64 " (%s)",
				r->label, r->address, w, value, what);
			p->address = r->object;
		}
	}
}

// ---- applying one ----

struct out {
	uint8_t *data;
	size_t size;
};

static void out_grow(struct out *out, size_t size)
{
	uint8_t *data = realloc(out->data, size);

	if (!data)
		die("out of memory for %zu bytes", size);
	if (size > out->size)
		memset(data + out->size, 0, size - out->size);
	out->data = data;
	out->size = size;
}

static void put(struct out *out, uint64_t off, const void *src, size_t len)
{
	if (off > out->size || out->size - off < len)
		die("edit at %" PRIu64 " out of the file", off);
	memcpy(out->data + off, src, len);
}

static Elf64_Phdr *out_phdr(struct out *out, const struct core *core,
			    size_t i)
{
	return (Elf64_Phdr *)(out->data + core->eh->e_phoff +
			      i * sizeof(Elf64_Phdr));
}

static void dup_note(struct out *out, const struct core *core,
		     const struct plan *p)
{
	const Elf64_Phdr *ph = &core->ph[core->note_ph];
	const struct note *n = &core->notes[p->off];
	uint64_t len = n->desc_off + ((n->descsz + 3ull) & ~3ull) - n->off;
	uint64_t start = (out->size + 7) & ~7ull;
	uint64_t total = ph->p_filesz + len * p->value;
	Elf64_Phdr *note;

	out_grow(out, start + total);
	memcpy(out->data + start, core->data + ph->p_offset, ph->p_filesz);
	for (uint64_t k = 0; k < p->value; k++)
		memcpy(out->data + start + ph->p_filesz + k * len,
		       core->data + n->off, len);
	note = out_phdr(out, core, core->note_ph);
	note->p_offset = start;
	note->p_filesz = total;
}

static void many_phdrs(struct out *out, const struct core *core,
		       const struct plan *p)
{
	uint64_t count = p->value, start = (out->size + 7) & ~7ull;
	uint64_t shdr = start + count * sizeof(Elf64_Phdr);
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	uint64_t vaddr = 0x100000000000ull;

	out_grow(out, shdr + sizeof(Elf64_Shdr));
	ph = (Elf64_Phdr *)(out->data + start);
	memcpy(ph, core->ph, core->num_ph * sizeof(Elf64_Phdr));
	for (uint64_t i = core->num_ph; i < count; i++) {
		if (p->len) {
			ph[i] = core->ph[core->note_ph];
		} else {
			memset(&ph[i], 0, sizeof(ph[i]));
			ph[i].p_type = PT_LOAD;
			ph[i].p_vaddr = vaddr;
			ph[i].p_memsz = 4096;
			ph[i].p_flags = PF_R | PF_W;
			ph[i].p_offset = start;
			vaddr += 8192;
		}
	}
	eh = (Elf64_Ehdr *)out->data;
	eh->e_phoff = start;
	if (count < PN_XNUM) {
		eh->e_phnum = count;
	} else {
		// The extended count lives in section header 0's sh_info.
		Elf64_Shdr *sh = (Elf64_Shdr *)(out->data + shdr);

		memset(sh, 0, sizeof(*sh));
		sh->sh_info = count;
		eh->e_phnum = PN_XNUM;
		eh->e_shoff = shdr;
		eh->e_shnum = 0;
		eh->e_shentsize = sizeof(Elf64_Shdr);
		eh->e_shstrndx = SHN_UNDEF;
	}
}

static void apply(struct out *out, const struct core *core,
		  const struct plan *p)
{
	uint8_t v8 = p->value;
	uint16_t v16 = p->value;
	uint32_t v32 = p->value;
	uint64_t v64 = p->value;

	switch (p->kind) {
	case SET8:
		put(out, p->off, &v8, 1);
		break;
	case SET16:
		put(out, p->off, &v16, 2);
		break;
	case SET32:
		put(out, p->off, &v32, 4);
		break;
	case SET64:
		put(out, p->off, &v64, 8);
		break;
	case TRUNCATE:
		if (p->off < out->size)
			out->size = p->off;
		break;
	case FILL:
		if (p->off <= out->size && out->size - p->off >= p->len)
			memset(out->data + p->off, (int)p->value, p->len);
		break;
	case DUP_NOTE:
		dup_note(out, core, p);
		break;
	case MANY_PHDRS:
		many_phdrs(out, core, p);
		break;
	case SWAP_PHDRS: {
		Elf64_Phdr a = *out_phdr(out, core, p->off);

		*out_phdr(out, core, p->off) = *out_phdr(out, core, p->len);
		*out_phdr(out, core, p->len) = a;
		break;
	}
	}
}

static void write_out(const struct out *out, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t done = 0;

	if (fd < 0)
		die("cannot create '%s': %s", path, strerror(errno));
	while (done < out->size) {
		ssize_t n = write(fd, out->data + done, out->size - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("cannot write '%s': %s", path, strerror(errno));
		}
		done += n;
	}
	if (close(fd))
		die("cannot write '%s': %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
	static struct core core;
	const char *seed = getenv("HOSTILE_SEED");
	const char *words = NULL, *core_path, *objects;
	bool count_only;
	struct stat st;
	struct out out;
	char *end;
	unsigned long index = 0;
	int fd;

	if (argc > 2 && !strcmp(argv[1], "--words")) {
		words = argv[2];
		argc -= 2;
		argv += 2;
	}
	count_only = argc == 4 && !strcmp(argv[1], "--count");
	if (!count_only && argc != 5) {
		fprintf(stderr,
			"usage: hostile_mutate [--words RANGES] --count CORE OBJECTS\n"
			"       hostile_mutate [--words RANGES] CORE OBJECTS INDEX OUT\n");
		return 64;
	}
	core_path = argv[count_only ? 2 : 1];
	objects = argv[count_only ? 3 : 2];
	if (!count_only) {
		index = strtoul(argv[3], &end, 10);
		if (*end || end == argv[3])
			die("bad index '%s'", argv[3]);
	}
	fd = open(core_path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die("cannot open '%s': %s", core_path, strerror(errno));
	core.size = st.st_size;
	core.data = mmap(NULL, core.size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (core.data == MAP_FAILED)
		die("cannot map '%s': %s", core_path, strerror(errno));
	close(fd);
	core.rng = 0x9e3779b97f4a7c15ull ^
		   (seed ? strtoull(seed, NULL, 0) : 1);

	parse_core(&core);
	read_objects(&core, objects);
	if (words) {
		plan_words(&core, words);
	} else {
		walk_heap(&core);
		find_main_arena(&core);
		plan_ehdr(&core);
		plan_segments(&core);
		plan_notes(&core);
		plan_heap(&core);
		plan_arena(&core);
		plan_truncations(&core);
		plan_random(&core);
	}

	if (count_only) {
		printf("%zu\n", core.num_plans);
		return 0;
	}
	if (index >= core.num_plans)
		die("index %lu: there are %zu mutants", index, core.num_plans);
	out.data = NULL;
	out.size = 0;
	out_grow(&out, core.size);
	memcpy(out.data, core.data, core.size);
	apply(&out, &core, &core.plans[index]);
	write_out(&out, argv[4]);
	printf("%s %s 0x%" PRIx64 " %s\n", core.plans[index].class,
	       core.plans[index].partial ? "partial" : "any",
	       core.plans[index].address, core.plans[index].desc);
	free(out.data);
	return 0;
}
