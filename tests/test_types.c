// SPDX-License-Identifier: MIT
// Unit tests of the type work: the T[] rule and the allocators' rounding, the text guess, C++ and C
// naming, the hash maps and patterns behind it, and the typing of a heap
// built by hand in a synthetic core (no modules: guesses only).
#include <criterion/criterion.h>
#include <elfutils/libdwfl.h>
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/demangle.h"
#include "base/hash_map.h"
#include "base/pattern.h"
#include "core/modules.h"
#include "coreheap/plugin.h"
#include "heap/allocators.h"
#include "heap/program.h"
#include "error_assertions.h"
#include "synthetic_core.h"
#include "types/types.h"
#include "types/vtables.h"

// A program whose one allocator is the built-in plugin named name.
static void use_builtin(struct ch_program *program, struct ch_allocator_use *use,
			const char *name, void *state)
{
	*use = (struct ch_allocator_use){ .state = state };
	for (size_t i = 0; ch_builtin_allocators[i]; i++) {
		if (strcmp(ch_builtin_allocators[i]->name, name) == 0)
			use->ops = ch_builtin_allocators[i];
	}
	cr_assert(use->ops, "no built-in allocator %s", name);
	*program = (struct ch_program){
		.allocators = { .uses = use, .num_uses = 1 },
	};
}

static bool holds_array(struct ch_program *program, uint64_t usable,
			uint64_t element_size)
{
	struct ch_block block = { .address = 0x10000, .size_bits = usable };

	return ch_block_holds_array(program, &block, element_size);
}

Test(types, array_rule_follows_glibc_rounding)
{
	struct ch_program program;
	struct ch_allocator_use use;

	use_builtin(&program, &use, "glibc", NULL);
	// A lone object is one T whatever glibc rounded it up to.
	cr_expect_not(holds_array(&program, 24, 16));
	cr_expect_not(holds_array(&program, 24, 8), "an 8-byte struct in the smallest block");
	cr_expect_not(holds_array(&program, 24, 12));
	cr_expect_not(holds_array(&program, 40, 32));
	cr_expect_not(holds_array(&program, 88, 80));
	cr_expect_not(holds_array(&program, 72, 72));
	// Copies that a request of their size gives this block: T[].
	cr_expect(holds_array(&program, 72, 24), "calloc(3, 24)");
	cr_expect(holds_array(&program, 120, 24), "calloc(5, 24)");
	cr_expect(holds_array(&program, 40, 16), "calloc(2, 16)");
	cr_expect(holds_array(&program, 104, 32), "calloc(3, 32)");
	cr_expect(holds_array(&program, 56, 8), "7 pointers");
	cr_expect(holds_array(&program, 40, 8),
		  "a vector of 4 pointers: 5 fit, still an array");
	// A T and more after it: not an array (glibc's FILE blocks).
	cr_expect_not(holds_array(&program, 472, 224), "224 * 2 would be a 456-byte block");
	cr_expect(holds_array(&program, 4104, 16), "4096 bytes of 16-byte elements");
	cr_expect_not(holds_array(&program, 4104, 40), "102 * 40 would be a 4088-byte block");
	// mmapped chunks (usable sizes a multiple of 16) round to pages:
	// malloc(131056) would get 135152 bytes, malloc(131048) 131056.
	cr_expect(holds_array(&program, 131056, 8), "16381 pointers, mmapped");
	cr_expect(holds_array(&program, 135152, 65536), "two 64 KiB elements");
	cr_expect_not(holds_array(&program, 135152, 131080), "one T, mmapped");
	// Degenerate inputs never divide by 0.
	cr_expect_not(holds_array(&program, 24, 0));
	cr_expect_not(holds_array(&program, 16, 24));
}

Test(types, glibc_usable_size_operation)
{
	const struct coreheap_allocator *glibc = NULL;
	struct coreheap_block heap_chunk = { .size = 40 }, mmapped = { .size = 131056 };
	uint64_t usable;

	for (size_t i = 0; ch_builtin_allocators[i]; i++) {
		if (strcmp(ch_builtin_allocators[i]->name, "glibc") == 0)
			glibc = ch_builtin_allocators[i];
	}
	cr_assert(glibc && COREHEAP_HAS(glibc, usable_size));
	// malloc_usable_size(malloc(n)) as glibc 2.36 gives it.
	const uint64_t heap_cases[][2] = { { 0, 24 }, { 1, 24 }, { 24, 24 },
					   { 25, 40 }, { 40, 40 }, { 41, 56 },
					   { 1000, 1000 }, { 1001, 1016 } };
	for (size_t i = 0; i < sizeof(heap_cases) / sizeof(*heap_cases); i++) {
		cr_assert_eq(glibc->usable_size(NULL, NULL, &heap_chunk,
						heap_cases[i][0], &usable),
			     COREHEAP_OK);
		cr_expect_eq(usable, heap_cases[i][1], "malloc(%lu): %lu, not %lu",
			     (unsigned long)heap_cases[i][0],
			     (unsigned long)heap_cases[i][1], (unsigned long)usable);
	}
	cr_assert_eq(glibc->usable_size(NULL, NULL, &mmapped, 200000, &usable),
		     COREHEAP_OK);
	cr_expect_eq(usable, 49 * 4096 - 16, "200000 bytes in 49 pages");
	cr_expect_eq(glibc->usable_size(NULL, NULL, &mmapped, UINT64_MAX, &usable),
		     COREHEAP_NOT_FOUND, "past PTRDIFF_MAX");
	mmapped.size = 131057;
	cr_expect_eq(glibc->usable_size(NULL, NULL, &mmapped, 8, &usable),
		     COREHEAP_NOT_FOUND, "no glibc chunk has this usable size");
}

Test(types, array_rule_without_the_allocators_rounding)
{
	static const struct coreheap_allocator bare = {
		COREHEAP_ALLOCATOR_INIT,
		.name = "bare",
	};
	struct ch_allocator_use use = { .ops = &bare };
	struct ch_program program = {
		.allocators = { .uses = &use, .num_uses = 1 },
	};

	// Nothing is known of the rounding: two copies or more are T[].
	cr_expect(holds_array(&program, 40, 16));
	cr_expect(holds_array(&program, 472, 224));
	cr_expect_not(holds_array(&program, 40, 24));
}

static bool text(const char *s, size_t len)
{
	return ch_looks_like_text((const uint8_t *)s, len);
}

Test(types, text_guess)
{
	cr_expect(text("hello world", 12));
	cr_expect(text("line one\nline two\t!", 20));
	cr_expect(text("\xc3\xa9t\xc3\xa9 d'\xc3\xa9t\xc3\xa9", 14), "valid UTF-8");
	cr_expect_not(text("abc", 4), "shorter than 4 characters");
	cr_expect_not(text("", 1), "empty");
	cr_expect_not(text("no terminator", 13), "no NUL inside the block");
	cr_expect_not(text("\x01" "abcdef", 8), "a control character");
	cr_expect_not(text("\xc0\xb2\xa3\xc8\xd4\x55\x00\x00", 8),
		      "a heap pointer is not UTF-8");
	cr_expect_not(text("ab\xe2\x82", 5), "a cut UTF-8 sequence");
	cr_expect_not(text("abcdefgh\x7fijklmno", 17), "DEL, eight bytes in");
	cr_expect(text("abcdefghijklmnopqrstuvw\n\xc3\xa9", 27),
		  "long text, then a newline and UTF-8");
}

// The guess byte by byte, as it was written first: the word-at-a-time
// one must agree with it on every input.
static bool text_byte_by_byte(const uint8_t *bytes, size_t len)
{
	size_t n = 0;

	while (n < len && bytes[n]) {
		uint8_t c = bytes[n];
		size_t step = 0;

		if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' ||
		    c == '\r') {
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			step = 2;
		else if (c >= 0xe0 && c <= 0xef)
			step = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			step = 4;
		if (!step || step > len - n)
			return false;
		for (size_t i = 1; i < step; i++) {
			if ((bytes[n + i] & 0xc0) != 0x80)
				return false;
		}
		n += step;
	}
	return n < len && n >= 4;
}

/*
 * Random buffers of printable runs with, at random places, bytes of every
 * kind (0x00..0x1f, 0x7f, 0x80..0xff, tabs, UTF-8 lead bytes): the
 * word-at-a-time guess agrees with the byte loop at every length.
 */
Test(types, text_guess_agrees_with_a_byte_loop)
{
	uint64_t state = 7;
	uint8_t buffer[96];
	size_t texts = 0;

	for (int round = 0; round < 20000; round++) {
		for (size_t i = 0; i < sizeof(buffer); i++) {
			state = state * 6364136223846793005u + 1442695040888963407u;
			uint8_t r = (uint8_t)(state >> 33);

			buffer[i] = (state >> 60) < 14 ? 0x20 + r % 0x5f : r;
		}
		buffer[(state >> 20) % sizeof(buffer)] = 0;
		for (size_t len = 0; len <= sizeof(buffer); len++) {
			bool want = text_byte_by_byte(buffer, len);

			texts += want;
			cr_assert_eq(ch_looks_like_text(buffer, len), want,
				     "round %d, length %zu", round, len);
		}
	}
	cr_expect_gt(texts, 1000, "the inputs hold text too: %zu", texts);
}

static void expect_demangled(const char *mangled, const char *want)
{
	char *got = ch_demangle(mangled);

	if (!want) {
		cr_expect_null(got, "'%s' is not a mangled name, got '%s'",
			       mangled, got);
	} else {
		cr_assert_not_null(got, "cannot demangle '%s'", mangled);
		cr_expect_str_eq(got, want);
	}
	free(got);
}

Test(types, demangling)
{
	// Types as vtable symbols and type_info names spell them.
	expect_demangled("N3app6WidgetE", "app::Widget");
	expect_demangled("3BoxIiE", "Box<int>");
	expect_demangled("St6vectorIiSaIiEE",
			 "std::vector<int, std::allocator<int> >");
	expect_demangled("N12_GLOBAL__N_11XE", "(anonymous namespace)::X");
	expect_demangled("3BoxIlE", "Box<long>");
	// Symbols.
	expect_demangled("_ZTV3BoxIiE", "vtable for Box<int>");
	expect_demangled("_ZN3app6Widget3fooEv", "app::Widget::foo()");
	expect_demangled("main_arena", NULL);
	expect_demangled("", NULL);
	expect_demangled(NULL, NULL);
}

static void expect_symbol_name(const char *symbol, const char *want)
{
	char *got = ch_demangle_symbol(symbol);

	if (!want)
		cr_expect_null(got, "'%s' is read as it is, got '%s'", symbol, got);
	else
		cr_expect_str_eq(got ? got : "(null)", want, "symbol '%s'", symbol);
	free(got);
}

Test(types, symbol_names)
{
	expect_symbol_name("_ZZL4growiiE4keep", "grow(int, int)::keep");
	// A .symtab's versioned names (glibc's .symver), as the .dynsym
	// spells them.
	expect_symbol_name("__libc_start_main@@GLIBC_2.34", "__libc_start_main");
	expect_symbol_name("memcpy@GLIBC_2.2.5", "memcpy");
	expect_symbol_name("_Znwm@@GLIBCXX_3.4", "operator new(unsigned long)");
	// Not mangled, not versioned; not read as types.
	expect_symbol_name("main", NULL);
	expect_symbol_name("i", NULL);
	expect_symbol_name("@@GLIBC_2.34", NULL);
	expect_symbol_name(NULL, NULL);
}

static void expect_array_name(const char *element, uint64_t count,
			      const char *want)
{
	char buf[128];
	int len = ch_format_array_name(buf, sizeof(buf), element, count);

	cr_expect_eq(len, (int)strlen(want));
	cr_expect_str_eq(buf, want);
}

Test(types, array_names_in_c_syntax)
{
	expect_array_name("struct node", 4, "struct node[4]");
	expect_array_name("struct node *", 4, "struct node *[4]");
	expect_array_name("int[3]", 2, "int[2][3]");
	expect_array_name("void (*)(int)", 4, "void (*[4])(int)");
	expect_array_name("char", 0, "char[]");
	expect_array_name("app::Widget", 3, "app::Widget[3]");
}

Test(types, u64_map)
{
	struct ch_u64_map map = { 0 };
	uint64_t value;

	cr_expect_not(ch_u64_map_get(&map, 1, &value), "empty map");
	for (uint64_t i = 0; i < 5000; i++)
		cr_assert_null(ch_u64_map_put(&map, i * 7919, i));
	cr_assert_null(ch_u64_map_put(&map, 7919, 42), "replace");
	cr_expect_eq(map.len, 5000);
	for (uint64_t i = 0; i < 5000; i++) {
		cr_assert(ch_u64_map_get(&map, i * 7919, &value));
		cr_expect_eq(value, i == 1 ? 42 : i);
	}
	cr_expect_not(ch_u64_map_get(&map, 5, &value));
	ch_u64_map_deinit(&map);
}

// Maps filled in small batches moved into a large one, as the types'
// vector counts are: every entry moved, replaced where the key was there.
Test(types, u64_map_put_all)
{
	struct ch_u64_map all = { 0 }, recent = { 0 };
	uint64_t value;

	for (uint64_t i = 0; i < 20000; i++) {
		cr_assert_null(ch_u64_map_put(&recent, i * 7919, i));
		if (recent.len == 3000 || i == 19999) {
			cr_assert_null(ch_u64_map_put_all(&all, &recent));
			ch_u64_map_clear(&recent);
			cr_expect_eq(recent.len, 0);
			cr_expect_not(ch_u64_map_get(&recent, i * 7919, &value));
		}
	}
	cr_assert_null(ch_u64_map_put(&recent, 7919, 42));
	cr_assert_null(ch_u64_map_put_all(&all, &recent));
	cr_expect_eq(all.len, 20000);
	for (uint64_t i = 0; i < 20000; i++) {
		cr_assert(ch_u64_map_get(&all, i * 7919, &value), "key %" PRIu64,
			  i * 7919);
		cr_expect_eq(value, i == 1 ? 42 : i);
	}
	cr_expect_not(ch_u64_map_get(&all, 5, &value));
	ch_u64_map_deinit(&all);
	ch_u64_map_deinit(&recent);
}

Test(types, name_map_ignores_spaces_when_asked)
{
	struct ch_name_map exact = { 0 }, loose = { .ignore_spaces = true };
	uint32_t value;

	cr_assert_null(ch_name_map_put(&exact, "Box<Pair<int> >", 1));
	cr_assert_null(ch_name_map_put(&loose, "Box<Pair<int> >", 2));
	cr_expect_not(ch_name_map_get(&exact, "Box<Pair<int>>", &value));
	cr_expect(ch_name_map_get(&exact, "Box<Pair<int> >", &value));
	cr_expect_eq(value, 1);
	cr_expect(ch_name_map_get(&loose, "Box<Pair<int>>", &value));
	cr_expect_eq(value, 2);
	cr_expect_not(ch_name_map_get(&loose, "Box<Pair<long>>", &value));
	ch_name_map_deinit(&exact);
	ch_name_map_deinit(&loose);
}

Test(types, patterns)
{
	struct ch_pattern pattern;
	struct ch_error *err = ch_pattern_init(&pattern, "type", "^struct (node|tree)$");

	cr_assert_null(err);
	cr_expect(ch_pattern_match(&pattern, "struct node"));
	cr_expect_not(ch_pattern_match(&pattern, "struct node[4]"));
	cr_expect_not(ch_pattern_match(&pattern, "app::Widget"));
	ch_pattern_deinit(&pattern);
	err = ch_pattern_init(&pattern, "match", "Box<(int");
	cr_assert_not_null(err);
	cr_expect_eq(err->code, CH_ERROR_USAGE);
	cr_expect(strstr(err->message, "--match"), "%s", err->message);
	ch_error_destroy(err);
}

/*
 * A heap of five blocks in one segment, typed with no module at all: no
 * vtables, no DWARF, so only guesses: text, and unknown for the rest.
 */
static uint8_t heap_bytes[512];

Test(types, synthetic_heap_gets_guesses_only)
{
	static const struct {
		uint64_t offset, size;
		const char *content;
		enum ch_type_source want;
	} blocks[] = {
		{ 0x10, 24, "some text here", CH_TYPE_GUESS },
		{ 0x30, 40, "", CH_TYPE_UNKNOWN },
		{ 0x60, 24, "ab", CH_TYPE_UNKNOWN },
		{ 0x80, 56, "a longer line\nand another one", CH_TYPE_GUESS },
		{ 0xc0, 24, "\x01\x02\x03\x04\x05", CH_TYPE_UNKNOWN },
	};
	struct ch_program_options options = { 0 };
	struct synth_core synth;
	struct ch_program *program;
	struct ch_types *types;
	struct ch_error *err;
	uint32_t region;
	char *path;

	for (size_t i = 0; i < sizeof(blocks) / sizeof(*blocks); i++)
		memcpy(heap_bytes + blocks[i].offset, blocks[i].content,
		       strlen(blocks[i].content) + 1);
	synth_core_init(&synth);
	synth.segments[0] = (struct synth_segment){
		.vaddr = 0x10000, .memsz = sizeof(heap_bytes),
		.data = heap_bytes, .filesz = sizeof(heap_bytes),
		.flags = PF_R | PF_W };
	synth.num_segments = 1;
	path = synth_core_write(&synth);
	err = ch_program_open(path, &options, &program);
	cr_assert_null(err, "%s", err ? err->message : "");
	err = ch_heap_add_region(&program->heap, 0, "test", 0, 0, 0, 0, 0, &region);
	cr_assert_null(err);
	// Added out of order: ch_heap_finish sorts.
	for (size_t i = sizeof(blocks) / sizeof(*blocks); i-- > 0;) {
		struct ch_block block = {
			.address = 0x10000 + blocks[i].offset,
			.size_bits = blocks[i].size,
			.state = COREHEAP_BLOCK_LIVE,
		};

		cr_assert_null(ch_heap_add_block(&program->heap, &block,
						 region, 0, false));
	}
	cr_assert_null(ch_heap_finish(&program->heap));
	program->heap_loaded = true;

	err = ch_types_create(program, &types);
	cr_assert_null(err, "%s", err ? err->message : "");
	for (size_t i = 0; i < sizeof(blocks) / sizeof(*blocks); i++) {
		enum ch_type_source source;
		const char *name = ch_heap_block_type(&program->heap, i, &source);

		cr_expect_eq(program->heap.live.blocks[i].address,
			     0x10000 + blocks[i].offset);
		cr_expect_eq(source, blocks[i].want, "block %zu: source %d", i,
			     source);
		if (blocks[i].want == CH_TYPE_GUESS)
			cr_expect_str_eq(name, CH_TEXT_TYPE_NAME);
		else
			cr_expect_null(name);
	}
	cr_expect_eq(types->stats.allocations[CH_TYPE_GUESS], 2);
	cr_expect_eq(types->stats.bytes[CH_TYPE_GUESS], 24 + 56);
	cr_expect_eq(types->stats.allocations[CH_TYPE_UNKNOWN], 3);
	cr_expect_eq(types->stats.conflicts, 0);
	ch_types_destroy(types);

	// Computing again (another command did first) gives the same.
	cr_assert_null(ch_program_load_types(program));
	cr_expect_str_eq(ch_heap_block_type(&program->heap, 0, NULL),
			 CH_TEXT_TYPE_NAME);
	cr_assert_null(ch_types_create(program, &types));
	cr_expect_eq(types->stats.allocations[CH_TYPE_GUESS], 2);
	ch_types_destroy(types);
	ch_program_destroy(program);
	unlink(path);
	free(path);
}

/*
 * A core of fixtures/types_cxx (C++ with DWARF, libc's debug info as the
 * machine has it), made by tests/make-core.sh into $CORE_DIR; NULL when
 * it cannot be made here (the test is skipped).
 */
static char *types_cxx_core(const char *name)
{
	const char *srcdir = getenv("SRCDIR"), *fixtures = getenv("FIXTURES");
	const char *core_dir = getenv("CORE_DIR");
	char *command, *prefix, *core;
	int status;

	cr_assert(srcdir && fixtures && core_dir,
		  "SRCDIR, FIXTURES and CORE_DIR are set by make check");
	cr_assert(asprintf(&prefix, "%s/%s", core_dir, name) > 0);
	cr_assert(asprintf(&command,
			   "/bin/bash '%s/tests/make-core.sh' '%s/types_cxx' '%s' >/dev/null",
			   srcdir, fixtures, prefix) > 0);
	status = system(command);
	free(command);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		free(prefix);
		return NULL;
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "make-core.sh failed for %s", prefix);
	cr_assert(asprintf(&core, "%s.core", prefix) > 0);
	free(prefix);
	return core;
}

static struct ch_program *open_typed(const char *core, bool read_dwarf)
{
	struct ch_program_options options = { .read_dwarf = read_dwarf };
	struct ch_program *program;

	assert_no_error(ch_program_open(core, &options, &program));
	assert_no_error(ch_program_load_heap(program, &options));
	assert_no_error(ch_program_load_types(program));
	return program;
}

// The type name of block i, "" when it has none.
static const char *type_of_block(const struct ch_heap *heap, size_t i)
{
	const char *name = heap->type_names[heap->block_types[i]];

	return name ? name : "";
}

/*
 * The first defined symbol of that name (section and file symbols aside) in
 * the file libdwfl takes a module's symbols from: the debug file's .symtab,
 * else the binary's .symtab, else its .dynsym. Read with libelf alone.
 */
static bool symbol_in_files(const struct ch_module *module, const char *name,
			    GElf_Sym *ret)
{
	const char *paths[] = { module->debug_path, module->path };

	for (size_t p = 0; p < 2; p++) {
		int fd = paths[p] ? open(paths[p], O_RDONLY) : -1;
		Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
		Elf_Scn *table = NULL, *scn = NULL;
		bool found = false;

		while (elf && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr shdr;

			if (!gelf_getshdr(scn, &shdr))
				continue;
			if (shdr.sh_type == SHT_SYMTAB ||
			    (shdr.sh_type == SHT_DYNSYM && !table))
				table = scn;
		}
		if (table) {
			GElf_Shdr shdr;
			Elf_Data *data = elf_getdata(table, NULL);

			gelf_getshdr(table, &shdr);
			for (size_t i = 1; data && !found &&
					   i < shdr.sh_size / shdr.sh_entsize; i++) {
				GElf_Sym sym;
				const char *sym_name;
				int type;

				if (!gelf_getsym(data, i, &sym) ||
				    sym.st_shndx == SHN_UNDEF)
					continue;
				type = GELF_ST_TYPE(sym.st_info);
				sym_name = elf_strptr(elf, shdr.sh_link, sym.st_name);
				if (type != STT_SECTION && type != STT_FILE &&
				    sym_name && strcmp(sym_name, name) == 0) {
					*ret = sym;
					found = true;
				}
			}
		}
		elf_end(elf);
		if (fd >= 0)
			close(fd);
		if (table)
			return found;
	}
	return false;
}

/*
 * With the DWARF loaded on another thread while the heap is walked (what
 * every command but summary does), the walk finds the same blocks and the
 * heap gets the same types as with the DWARF loaded after; the symbols the
 * walk looks up come from the index made before, and are the symbol
 * tables' own.
 */
Test(types, dwarf_loaded_beside_the_walk_changes_nothing, .timeout = 300)
{
	static const struct {
		const char *module, *name;
	} symbols[] = {
		{ "libc.so", "main_arena" }, { "libc.so", "malloc" },
		{ "libc.so", "tcache" }, { "libstdc++", "_ZSt4cout" },
		{ "types_cxx", "main" },
	};
	char *core = types_cxx_core("types_dwarf_beside");
	struct ch_program *after, *beside;
	size_t typed = 0;

	if (!core)
		cr_skip_test("make-core.sh cannot make a core here (see its message)");
	after = open_typed(core, false);
	beside = open_typed(core, true);
	cr_assert_eq(after->heap.live.len, beside->heap.live.len);
	for (size_t i = 0; i < after->heap.live.len; i++) {
		cr_assert_eq(after->heap.live.blocks[i].address,
			     beside->heap.live.blocks[i].address);
		cr_assert_str_eq(type_of_block(&after->heap, i),
				 type_of_block(&beside->heap, i),
				 "block 0x%" PRIx64,
				 after->heap.live.blocks[i].address);
		typed += after->heap.block_types[i] != 0;
	}
	// The fixture's objects are typed (all but libstdc++'s buffer).
	cr_assert_gt(typed, after->heap.live.len / 2, "%zu of %zu typed",
		     typed, after->heap.live.len);
	for (size_t i = 0; i < sizeof(symbols) / sizeof(*symbols); i++) {
		struct ch_module *module = ch_modules_find_by_prefix(
			beside->modules, symbols[i].module);
		struct ch_module_symbol found;
		GElf_Sym want;

		cr_assert_not_null(module, "no module %s", symbols[i].module);
		cr_assert(symbol_in_files(module, symbols[i].name, &want),
			  "%s: no %s in its files", module->name, symbols[i].name);
		assert_no_error(ch_module_find_symbol(module, symbols[i].name,
						      &found));
		cr_expect_eq(found.is_tls, GELF_ST_TYPE(want.st_info) == STT_TLS);
		cr_expect_eq(found.address,
			     found.is_tls ? want.st_value :
					    want.st_value + module->bias,
			     "%s: 0x%" PRIx64, symbols[i].name, found.address);
		cr_expect_eq(found.size, want.st_size, "%s", symbols[i].name);
	}
	assert_error(ch_module_find_symbol(ch_modules_find_by_prefix(
						   beside->modules, "libc.so"),
					   "no_such_symbol_here", &(struct ch_module_symbol){ 0 }),
		     CH_ERROR_NOT_FOUND, "no symbol 'no_such_symbol_here'");
	ch_program_destroy(after);
	ch_program_destroy(beside);
	free(core);
}

/*
 * Names get their numbers in the order the blocks first need them, as one
 * thread naming the blocks in address order would give them, though the
 * two halves of the heap are named on two threads: among the names first
 * made when the blocks are named (numbered past every name the vtables
 * and runtimes made before), each block's name, met for the first time,
 * is numbered past every such name met before it.
 */
Test(types, names_are_numbered_as_the_blocks_first_need_them, .timeout = 300)
{
	char *core = types_cxx_core("types_name_order");
	struct ch_program *program;
	const struct ch_heap *heap;
	uint32_t before_naming = 0, last = 0;
	size_t new_in_half[2] = { 0, 0 };
	bool *met;

	if (!core)
		cr_skip_test("make-core.sh cannot make a core here (see its message)");
	program = open_typed(core, true);
	heap = &program->heap;
	for (size_t i = 0; i < heap->live.len; i++) {
		uint8_t source = heap->block_type_sources[i];

		if ((source == CH_TYPE_VTABLE || source == CH_TYPE_RUNTIME) &&
		    heap->block_types[i] > before_naming)
			before_naming = heap->block_types[i];
	}
	met = calloc(heap->num_type_names + 1, sizeof(*met));
	cr_assert_not_null(met);
	for (size_t i = 0; i < heap->live.len; i++) {
		uint8_t source = heap->block_type_sources[i];
		uint32_t type = heap->block_types[i];

		if ((source != CH_TYPE_DWARF && source != CH_TYPE_GUESS) ||
		    type <= before_naming || met[type])
			continue;
		met[type] = true;
		cr_assert_gt(type, last,
			     "block %zu (0x%" PRIx64 ") is the first '%s', number %" PRIu32
			     ", after a name numbered %" PRIu32,
			     i, heap->live.blocks[i].address,
			     type_of_block(heap, i), type, last);
		last = type;
		new_in_half[i >= heap->live.len / 2]++;
	}
	// Both halves of the heap bring names of their own: what is checked.
	cr_assert(new_in_half[0] > 0 && new_in_half[1] > 0,
		  "new names in the halves: %zu and %zu", new_in_half[0],
		  new_in_half[1]);
	free(met);
	ch_program_destroy(program);
	free(core);
}

/*
 * A module's answers to which symbol holds an address, made fast once it
 * has been asked many (core/symbol_ranges.h), are libdwfl's own: against
 * dwfl_module_addrinfo() of a Dwfl of the test's, on the same core, at
 * every bound of a sample of each module's symbols, next to them, and at
 * random addresses in the module.
 */
Test(types, symbolize_answers_as_libdwfl, .timeout = 300)
{
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
	};
	char *core = types_cxx_core("types_symbolize");
	struct ch_program *program;
	struct ch_program_options options = { 0 };
	Dwfl *dwfl;
	Elf *elf;
	int fd;
	size_t compared = 0, named = 0;
	uint64_t state = 11;

	if (!core)
		cr_skip_test("make-core.sh cannot make a core here (see its message)");
	assert_no_error(ch_program_open(core, &options, &program));
	fd = open(core, O_RDONLY);
	cr_assert_geq(fd, 0);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	dwfl = dwfl_begin(&callbacks);
	cr_assert(elf && dwfl);
	cr_assert_gt(dwfl_core_file_report(dwfl, elf, NULL), 0);
	cr_assert_eq(dwfl_report_end(dwfl, NULL, NULL), 0);
	for (size_t m = 0; m < program->modules->num_modules; m++) {
		struct ch_module *module = &program->modules->modules[m];
		Dwfl_Module *mod = dwfl_addrmodule(dwfl, module->start);
		int n = mod ? dwfl_module_getsymtab(mod) : 0;
		// About 800 symbols of each module, four addresses each.
		int step = n > 800 ? n / 800 : 1;

		for (int i = 1; i < n + 2000; i += i < n ? step : 1) {
			uint64_t addr, offset = 0, want_offset = 0;
			GElf_Sym sym;
			GElf_Addr value;
			GElf_Off off;
			const char *got, *want;

			if (i < n) {
				if (!dwfl_module_getsym_info(mod, i, &sym, &value,
							     NULL, NULL, NULL))
					continue;
			} else {
				state = state * 6364136223846793005ull + 1442695040888963407ull;
				value = module->start + (state >> 11) %
						(module->end - module->start);
				sym.st_size = 0;
			}
			for (int k = 0; k < (i < n ? 4 : 1); k++) {
				addr = k == 0 ? value : k == 1 ? value - 1 :
				       k == 2 ? value + sym.st_size :
						value + sym.st_size - 1;
				got = ch_module_symbolize(module, addr, &offset);
				want = dwfl_module_addrinfo(mod, addr, &off, &sym,
							    NULL, NULL, NULL);
				want_offset = off;
				cr_assert_str_eq(got ? got : "(none)",
						 want ? want : "(none)",
						 "%s: 0x%" PRIx64, module->name, addr);
				if (want)
					cr_assert_eq(offset, want_offset,
						     "%s: 0x%" PRIx64 " %s", module->name,
						     addr, want);
				compared++;
				named += want != NULL;
			}
		}
	}
	cr_assert_gt(named, 10000, "%zu of %zu addresses named", named, compared);
	dwfl_end(dwfl);
	elf_end(elf);
	close(fd);
	ch_program_destroy(program);
	free(core);
}
