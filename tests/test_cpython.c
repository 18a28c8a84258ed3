/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the CPython plugin's decoding: the line of an instruction
 * from a code object's location table (against the lines CPython itself
 * gives for every instruction, co_lines(), of a function compiled by
 * Debian's 3.11 and 3.13), and the layout taken from 3.13's
 * _Py_DebugOffsets (the values Debian 13's python3.13 initialises them
 * with; a table that is not sound is refused, never followed), and the
 * exact references of 3.13's objects (inline values, lv_tag ints) in a
 * memory laid out by hand.
 * tests/python-objects.sh and python-trixie.sh check the whole on real
 * cores.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../allocators/cpython/cpython.h"

extern const struct coreheap_allocator coreheap_cpython_allocator;

/* A process's memory: one buffer from MEMORY_BASE. */
#define MEMORY_BASE 0x10000
static uint8_t memory[0x8000];

static int fake_read(const struct coreheap_host *host, uint64_t addr,
		     void *buf, size_t len)
{
	(void)host;
	if (addr < MEMORY_BASE || addr - MEMORY_BASE > sizeof(memory) ||
	    len > sizeof(memory) - (addr - MEMORY_BASE))
		return COREHEAP_FAULT;
	memcpy(buf, memory + (addr - MEMORY_BASE), len);
	return COREHEAP_OK;
}

static void put(uint64_t addr, const void *value, size_t len)
{
	cr_assert(addr >= MEMORY_BASE &&
		  addr - MEMORY_BASE + len <= sizeof(memory));
	memcpy(memory + (addr - MEMORY_BASE), value, len);
}

static size_t from_hex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned byte;

		sscanf(hex + 2 * i, "%2x", &byte);
		out[i] = (uint8_t)byte;
	}
	return n;
}

/*
 * The function below, compiled by 3.11 and 3.13: its location table
 * (co_linetable) and, for each code unit, the line co_lines() gives it
 * (0: none), as each interpreter printed them.
 *
 *     def f(a, b):
 *         x = (a +
 *              b)
 *         if x:
 *             y = [i
 *                  for i in range(3)]
 *         else:
 *             y = None
 *         z = (
 *             1,
 *             2,
 *         )
 *         # a long way down (70 empty lines)
 *         w = x + \
 *             y[0]
 *         return f(
 *             w,
 *             z)
 */
struct line_case {
	const char *version;
	int32_t firstlineno;
	const char *linetable;
	int lines[80];
	size_t units;
};

static const struct line_case line_cases[] = {
	{ "3.11", 2,
	  "8000d8090ad8090af103010a0b8041e00708f000040511f002010d20f000010d20dd"
	  "161b984191689468f003010d20f100010d20f400010d2088018801f006000d1188"
	  "01f0020309068041f0580200090ad8080988218c04f10301090d8041e50b0cd808"
	  "09d80809f105020c0bf400020c0bf00002050b",
	  { 2, 3, 4, 3, 3, 3, 5, 5, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	    7, 7, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 9, 9, 10, 10, 86, 87, 87, 87,
	    87, 87, 87, 87, 86, 86, 86, 88, 88, 88, 88, 88, 88, 89, 90, 88, 88,
	    88, 88, 88, 88, 88, 88 },
	  65 },
	{ "3.13", 2,
	  "8000d8090ad8090af103010a0b8041e60708e4161b98419468f303010d20da161e"
	  "9011f303000e0fd9161ef00300090af000010d208801f006000d118801f0020309"
	  "068041f0580200090ad8080988218904f10301090d8041e40b0cd80809d80809f3"
	  "05020c0bf00002050bf9f26502010d20",
	  { 2, 3, 4, 3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	    7, 7, 6, 6, 6, 6, 7, 7, 7, 7, 6, 6, 6, 6, 7, 7, 6, 6, 6, 9, 9, 10,
	    10, 86, 87, 87, 87, 87, 86, 86, 86, 88, 88, 88, 88, 88, 89, 90, 88,
	    88, 88, 88, 88, 0, 0, 6, 6, 6 },
	  70 },
};

#define CODE (MEMORY_BASE + 0x100)
#define LINETABLE (MEMORY_BASE + 0x1000)

static void put_code(const struct py_layout *layout, int32_t firstlineno,
		     const char *hex)
{
	uint8_t table[512];
	uint64_t size = from_hex(hex, table), address = LINETABLE;

	memset(memory, 0, sizeof(memory));
	put(CODE + layout->co_firstlineno, &firstlineno, sizeof(firstlineno));
	put(CODE + layout->co_linetable, &address, sizeof(address));
	put(LINETABLE + layout->ob_size, &size, sizeof(size));
	put(LINETABLE + layout->bytes_sval, table, size);
}

Test(cpython, line_of_each_instruction)
{
	struct coreheap_host host = { .read = fake_read };
	struct py_state st = { 0 };
	struct py_walk walk = { .host = &host, .st = &st,
				.layout = &st.layout };

	for (size_t c = 0; c < sizeof(line_cases) / sizeof(*line_cases); c++) {
		const struct line_case *lc = &line_cases[c];

		py_layout_311(&st.layout);
		put_code(&st.layout, lc->firstlineno, lc->linetable);
		for (size_t unit = 0; unit < lc->units; unit++) {
			uint64_t start = CODE + st.layout.co_code_adaptive;

			cr_expect_eq(py_code_line(&walk, CODE, start + 2 * unit),
				     lc->lines[unit],
				     "%s: code unit %zu: line %d, got %lld",
				     lc->version, unit, lc->lines[unit],
				     (long long)py_code_line(&walk, CODE,
							     start + 2 * unit));
		}
		// Before the code (a frame not started): its first line;
		// past the table's end: unknown.
		cr_expect_eq(py_code_line(&walk, CODE, CODE), lc->firstlineno);
		cr_expect_eq(py_code_line(&walk, CODE,
					  CODE + st.layout.co_code_adaptive +
						  2 * 1000),
			     0);
	}
}

Test(cpython, line_table_damaged)
{
	struct coreheap_host host = { .read = fake_read };
	struct py_state st = { 0 };
	struct py_walk walk = { .host = &host, .st = &st,
				.layout = &st.layout };
	uint64_t huge = UINT64_C(1) << 40, start;

	py_layout_311(&st.layout);
	start = CODE + st.layout.co_code_adaptive;
	// An entry without its first bit, a varint that never ends, a size
	// past the core: unknown, never a read past the table.
	put_code(&st.layout, 10, "00");
	cr_expect_eq(py_code_line(&walk, CODE, start), 0);
	put_code(&st.layout, 10, "e8ffffffffffffffff");
	cr_expect_eq(py_code_line(&walk, CODE, start + 2), 0);
	put_code(&st.layout, 10, "e800");
	put(LINETABLE + st.layout.ob_size, &huge, sizeof(huge));
	cr_expect_eq(py_code_line(&walk, CODE, start + 2), 0);
}

/*
 * _Py_DebugOffsets as Debian 13's python3.13 (3.13.5) initialises it: its
 * version, free_threaded, then each group's size and offsets.
 */
static const uint64_t debug_313[] = {
	0x30d05f0, 0,
	283376, 608, 632,
	194976, 7272, 7264, 7344, 7400, 7656, 7640, 7648, 16, 7752, 0, 7768,
	7760,
	304, 0, 8, 16, 72, 152, 160, 232, 32,
	80, 8, 0, 56, 72, 70,
	208, 112, 120, 128, 136, 68, 52, 96, 104, 200,
	16, 8,
	416, 24, 88, 168,
	32, 24, 16,
	40, 24, 16,
	48, 32, 40,
	24, 16,
	32, 16, 24,
	40, 16, 32,
	64, 32, 16, 40,
	240, 200,
};

static void raw_313(uint8_t *raw)
{
	memcpy(raw, "xdebugpy", 8);
	memcpy(raw + 8, debug_313, sizeof(debug_313));
}

Test(cpython, layout_from_debug_offsets)
{
	uint8_t raw[PY_DEBUG_OFFSETS_313_SIZE];
	struct py_layout layout;
	const char *why = NULL;

	cr_assert_eq(sizeof(debug_313), PY_DEBUG_OFFSETS_313_SIZE - 8);
	raw_313(raw);
	cr_assert(py_layout_313(raw, &layout, &why), "refused: %s", why);
	cr_expect_eq(layout.runtime_interpreters_head, 632);
	cr_expect_eq(layout.interp_next, 7264);
	cr_expect_eq(layout.interp_id, 7272);
	cr_expect_eq(layout.interp_threads_head, 7344);
	cr_expect_eq(layout.interp_gc_generations, 7420);
	cr_expect_eq(layout.interp_gc_permanent, 7504);
	cr_expect_eq(layout.ts_current_frame, 72);
	cr_expect_eq(layout.ts_native_thread_id, 160);
	cr_expect_eq(layout.frame_code, 0);
	cr_expect_eq(layout.frame_instr, 56);
	cr_expect_eq(layout.frame_owner, 70);
	cr_expect_eq(layout.co_code_adaptive, 200);
	cr_expect_eq(layout.co_firstlineno, 68);
	cr_expect_eq(layout.type_object_size, 416);
	cr_expect_eq(layout.ht_qualname, 872);
	cr_expect_eq(layout.ascii_data, 40);
	cr_expect_eq(layout.compact_data, 56);
	cr_expect_eq(layout.unicode_ready_bit, 0);
	cr_expect_eq(layout.interp_modules, 7656);
	cr_expect_eq(layout.ts_datastack_top, 240);
	cr_expect_eq(layout.ts_datastack_limit, 248);
	cr_expect_eq(layout.ht_cached_keys, 880);
}

Test(cpython, debug_offsets_not_sound)
{
	uint8_t raw[PY_DEBUG_OFFSETS_313_SIZE];
	struct py_layout layout = { .interp_id = 12345 };
	const char *why = NULL;
	uint64_t value;

	// An offset past its struct's size.
	raw_313(raw);
	value = 400000;
	memcpy(raw + 8 + 8 * 6, &value, sizeof(value));  // interp id
	cr_expect_not(py_layout_313(raw, &layout, &why));
	cr_expect_str_eq(why, "interp_id");
	cr_expect_eq(layout.interp_id, 12345, "left as it was");
	// A struct size past any real one.
	raw_313(raw);
	value = UINT64_MAX;
	memcpy(raw + 8 + 8 * 45, &value, sizeof(value));  // type size
	cr_expect_not(py_layout_313(raw, &layout, &why));
	// A free-threaded build.
	raw_313(raw);
	value = 1;
	memcpy(raw + 8 + 8, &value, sizeof(value));
	cr_expect_not(py_layout_313(raw, &layout, &why));
	cr_expect_str_eq(why, "a free-threaded build");
	// Every field zero: sizes of 0, no offset fits.
	memset(raw + 8, 0, sizeof(raw) - 8);
	cr_expect_not(py_layout_313(raw, &layout, &why));
}

/*
 * A core cut inside _PyRuntime's _Py_DebugOffsets: their cookie and version
 * are in it, the rest is not. The probe declines with one warning that
 * says so (it once printed an explanation it had not been given).
 */
#define CUT_RUNTIME (MEMORY_BASE + sizeof(memory) - 16)

static char probe_log[512];
static int probe_logs;

static void record_log(const struct coreheap_host *host, int level,
		       const char *format, ...)
{
	va_list ap;

	(void)host;
	(void)level;
	va_start(ap, format);
	vsnprintf(probe_log, sizeof(probe_log), format, ap);
	va_end(ap);
	probe_logs++;
}

static int cut_symbol(const struct coreheap_host *host,
		      const char *module_name, const char *name,
		      struct coreheap_symbol *ret)
{
	(void)host;
	(void)module_name;
	memset(ret, 0, sizeof(*ret));
	if (strcmp(name, "_PyRuntime") == 0)
		ret->address = CUT_RUNTIME;
	else if (strcmp(name, "PyType_Type") == 0)
		ret->address = MEMORY_BASE;
	else
		return COREHEAP_NOT_FOUND;
	return COREHEAP_OK;
}

static int no_object(const struct coreheap_host *host,
		     const struct coreheap_object *object, uint64_t *parent_ret)
{
	(void)host;
	(void)object;
	(void)parent_ret;
	return COREHEAP_OK;
}

static int no_block(const struct coreheap_host *host, uint64_t addr,
		    struct coreheap_block *ret)
{
	(void)host;
	(void)addr;
	(void)ret;
	return COREHEAP_NOT_FOUND;
}

static int no_type(const struct coreheap_host *host, uint64_t address,
		   const char *type_name)
{
	(void)host;
	(void)address;
	(void)type_name;
	return COREHEAP_OK;
}

Test(cpython, debug_offsets_cut_short)
{
	struct coreheap_host host = {
		.abi_version = COREHEAP_PLUGIN_ABI_VERSION,
		.size = sizeof(host),
		.read = fake_read,
		.symbol = cut_symbol,
		.log = record_log,
		.add_object = no_object,
		.next_block = no_block,
		.type_block = no_type,
	};
	uint8_t raw[PY_DEBUG_OFFSETS_313_SIZE];
	void *state = NULL;
	int confidence = -1;

	memset(memory, 0, sizeof(memory));
	raw_313(raw);
	put(CUT_RUNTIME, raw, 16);
	cr_assert_eq(coreheap_cpython_allocator.probe(&host, false,
						      &confidence, &state),
		     COREHEAP_OK);
	cr_expect_eq(confidence, 0);
	cr_expect_null(state);
	cr_expect_eq(probe_logs, 1);
	cr_expect(strstr(probe_log, "CPython 3.13.5: its _Py_DebugOffsets at 0x") &&
			  strstr(probe_log, "are not whole in the core"),
		  "warning: %s", probe_log);
}

/*
 * 3.13's exact references, in memory laid out as 3.13 does: type objects
 * (type, object, int, str, dict and a class of instances with inline
 * values), an instance, a dict with int keys.
 */
#define A(offset) (MEMORY_BASE + (offset))
#define TYPE_TYPE A(0x0000)
#define OBJECT_TYPE A(0x0400)
#define INT_TYPE A(0x0800)
#define STR_TYPE A(0x0c00)
#define DICT_TYPE A(0x1000)
#define CLASS A(0x1400)
#define NAMES A(0x1800)
#define SHARED_KEYS A(0x2000)
#define KEY_STRS A(0x2400)
#define INSTANCE_BLOCK A(0x3000)
#define INSTANCE (INSTANCE_BLOCK + 32)
#define DICT_BLOCK A(0x4000)
#define DICT (DICT_BLOCK + 16)
#define DICT_KEYS A(0x4100)
#define INTS A(0x4400)
#define WEAKREFS A(0x5000)

static const struct py_layout *refs_layout;

static const void *fake_map(const struct coreheap_host *host, uint64_t addr,
			    size_t len)
{
	(void)host;
	if (addr < MEMORY_BASE || addr - MEMORY_BASE > sizeof(memory) ||
	    len > sizeof(memory) - (addr - MEMORY_BASE))
		return NULL;
	return memory + (addr - MEMORY_BASE);
}

static int fake_symbol(const struct coreheap_host *host,
		       const char *module_name, const char *name,
		       struct coreheap_symbol *ret)
{
	static const struct {
		const char *name;
		uint64_t address;
	} symbols[] = {
		{ "PyBaseObject_Type", OBJECT_TYPE },
		{ "PyLong_Type", INT_TYPE },
		{ "PyUnicode_Type", STR_TYPE },
		{ "PyDict_Type", DICT_TYPE },
	};

	(void)host;
	(void)module_name;
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		if (strcmp(name, symbols[i].name) == 0) {
			memset(ret, 0, sizeof(*ret));
			ret->address = symbols[i].address;
			return COREHEAP_OK;
		}
	}
	return COREHEAP_NOT_FOUND;
}

static void put_u64(uint64_t addr, uint64_t value)
{
	put(addr, &value, sizeof(value));
}

static void put_type(uint64_t type, const char *name, uint64_t basicsize,
		     uint64_t flags)
{
	static uint64_t next_name = NAMES;

	put_u64(type + refs_layout->ob_refcnt, 1);
	put_u64(type + refs_layout->ob_type, TYPE_TYPE);
	put(next_name, name, strlen(name) + 1);
	put_u64(type + refs_layout->tp_name, next_name);
	next_name += strlen(name) + 1;
	put_u64(type + refs_layout->tp_basicsize, basicsize);
	put_u64(type + refs_layout->tp_flags, flags | PY_TPFLAGS_READY);
}

// A compact ASCII str at address.
static void put_str(uint64_t address, const char *text)
{
	uint32_t state = 1u << 2 | 1u << 5 | 1u << 6;

	put_u64(address + refs_layout->ob_refcnt, 1);
	put_u64(address + refs_layout->ob_type, STR_TYPE);
	put_u64(address + refs_layout->unicode_length, strlen(text));
	put(address + refs_layout->unicode_state, &state, sizeof(state));
	put(address + refs_layout->ascii_data, text, strlen(text) + 1);
}

// A keys object of n entries (kind: 0 general, 24 bytes an entry; else
// 16), 8 slots, 1-byte indices.
static uint64_t put_keys(uint64_t keys, uint8_t kind, uint64_t n)
{
	uint8_t head[3] = { 3, 3, kind };

	put(keys + refs_layout->keys_log2_size, head, sizeof(head));
	put_u64(keys + refs_layout->keys_nentries, n);
	return keys + refs_layout->keys_indices + 8;
}

struct got_refs {
	size_t n;
	uint64_t targets[32];
	char names[32][64];
};

static int collect_ref(void *arg, const struct coreheap_reference *ref)
{
	struct got_refs *got = arg;

	cr_assert_lt(got->n, 32);
	got->targets[got->n] = ref->target;
	snprintf(got->names[got->n], sizeof(got->names[0]), "%s",
		 ref->name ? ref->name : "(owned)");
	got->n++;
	return COREHEAP_OK;
}

struct refs_fixture {
	struct py_layout layout;
	struct py_state st;
	struct py_walk walk;
	struct coreheap_host host;
};

static void refs_setup(struct refs_fixture *f)
{
	uint8_t raw[PY_DEBUG_OFFSETS_313_SIZE];
	const char *why = NULL;

	raw_313(raw);
	cr_assert(py_layout_313(raw, &f->layout, &why), "refused: %s", why);
	refs_layout = &f->layout;
	memset(memory, 0, sizeof(memory));
	f->host = (struct coreheap_host){
		.abi_version = COREHEAP_PLUGIN_ABI_VERSION,
		.size = sizeof(f->host),
		.read = fake_read,
		.map = fake_map,
		.symbol = fake_symbol,
	};
	f->st.type_type = TYPE_TYPE;
	f->st.version_hex = 0x030d05f0;
	f->st.layout = f->layout;
	f->walk.host = &f->host;
	f->walk.st = &f->st;
	f->walk.layout = &f->st.layout;
	f->walk.refs_budget = 1000;
	f->st.walk = &f->walk;
	put_type(TYPE_TYPE, "type", 928,
		 PY_TPFLAGS_TYPE_SUBCLASS | PY_TPFLAGS_HAVE_GC);
	put_type(OBJECT_TYPE, "object", 16, 0);
	put_type(INT_TYPE, "int", 24, 0);
	put_type(STR_TYPE, "str", 40, 0);
	put_type(DICT_TYPE, "dict", 48,
		 PY_TPFLAGS_HAVE_GC | PY_TPFLAGS_DICT_SUBCLASS);
}

/*
 * An instance of a class whose attributes are inline, after the object:
 * its shared keys name three, its block has room for two values.
 */
static struct coreheap_object put_instance(uint8_t valid)
{
	uint64_t entries, flags = PY_TPFLAGS_HEAPTYPE | PY_TPFLAGS_HAVE_GC |
				  PY_TPFLAGS_MANAGED_DICT |
				  PY_TPFLAGS_MANAGED_WEAKREF |
				  PY_TPFLAGS_INLINE_VALUES;
	uint8_t values_head[4] = { 2, 2, 1, valid };
	const char *keys[] = { "alpha", "beta", "gamma" };

	put_type(CLASS, "Thing", 16, flags);
	put_u64(CLASS + refs_layout->tp_base, OBJECT_TYPE);
	put_u64(CLASS + refs_layout->ht_cached_keys, SHARED_KEYS);
	entries = put_keys(SHARED_KEYS, 1, 3);
	for (uint64_t i = 0; i < 3; i++) {
		put_str(KEY_STRS + 0x40 * i, keys[i]);
		put_u64(entries + 16 * i, KEY_STRS + 0x40 * i);
	}
	put_u64(INSTANCE + refs_layout->managed_weakref, WEAKREFS);
	put_u64(INSTANCE + refs_layout->ob_refcnt, 1);
	put_u64(INSTANCE + refs_layout->ob_type, CLASS);
	put(INSTANCE + 16, values_head, sizeof(values_head));
	put_u64(INSTANCE + 16 + 8, 0xa1a1a0);
	put_u64(INSTANCE + 16 + 16, 0xb2b2b0);
	// Past the block: what a third value would be, not the instance's.
	put_u64(INSTANCE + 16 + 24, 0xc3c3c0);
	return (struct coreheap_object){
		.address = INSTANCE, .size = 32 + 16 + 8 + 16, .header = 32,
	};
}

Test(cpython, references_of_inline_values_313)
{
	struct refs_fixture f = { 0 };
	struct got_refs got = { 0 };
	struct coreheap_object object;

	refs_setup(&f);
	object = put_instance(1);
	cr_assert_eq(py_references(&f.host, &f.st, &object, true, collect_ref,
				   &got),
		     COREHEAP_OK);
	cr_assert_eq(got.n, 4, "%zu references", got.n);
	cr_expect_eq(got.targets[0], CLASS);
	cr_expect_str_eq(got.names[0], ".__class__");
	cr_expect_eq(got.targets[1], WEAKREFS);
	cr_expect_str_eq(got.names[1], "(weak references)");
	cr_expect_eq(got.targets[2], 0xa1a1a0);
	cr_expect_str_eq(got.names[2], ".alpha");
	cr_expect_eq(got.targets[3], 0xb2b2b0);
	cr_expect_str_eq(got.names[3], ".beta");
	py_type_cache_deinit(&f.walk.types);
}

Test(cpython, references_of_moved_inline_values_313)
{
	struct refs_fixture f = { 0 };
	struct got_refs got = { 0 };
	struct coreheap_object object;

	// The values moved to a dict (not valid): the dict holds them.
	refs_setup(&f);
	object = put_instance(0);
	put_u64(INSTANCE + refs_layout->managed_dict, DICT);
	cr_assert_eq(py_references(&f.host, &f.st, &object, true, collect_ref,
				   &got),
		     COREHEAP_OK);
	cr_assert_eq(got.n, 3, "%zu references", got.n);
	cr_expect_str_eq(got.names[1], "(weak references)");
	cr_expect_eq(got.targets[2], DICT);
	cr_expect_str_eq(got.names[2], ".__dict__");
	py_type_cache_deinit(&f.walk.types);
}

Test(cpython, int_keys_by_lv_tag_313)
{
	struct refs_fixture f = { 0 };
	struct got_refs got = { 0 };
	// lv_tag: the digits' count from bit 3, the sign below (0 positive,
	// 1 zero, 2 negative).
	const struct {
		uint64_t tag;
		uint32_t digits[2];
		const char *name;
	} ints[] = {
		{ 1 << 3, { 3, 0 }, "[3]" },
		{ 1 << 3 | 2, { 5, 0 }, "[-5]" },
		{ 1, { 0, 0 }, "[0]" },
		{ 2 << 3, { 1, 1 }, "[1073741825]" },
	};
	uint64_t entries;
	struct coreheap_object object = {
		.address = DICT, .size = 64, .header = 16,
	};

	refs_setup(&f);
	put_u64(DICT + refs_layout->ob_refcnt, 1);
	put_u64(DICT + refs_layout->ob_type, DICT_TYPE);
	put_u64(DICT + refs_layout->dict_keys, DICT_KEYS);
	entries = put_keys(DICT_KEYS, 0, 4);
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t number = INTS + 0x40 * i;

		put_u64(number + refs_layout->ob_refcnt, 1);
		put_u64(number + refs_layout->ob_type, INT_TYPE);
		put_u64(number + refs_layout->long_tag, ints[i].tag);
		put(number + refs_layout->long_digits, ints[i].digits,
		    sizeof(ints[i].digits));
		put_u64(entries + 24 * i + 8, number);
		put_u64(entries + 24 * i + 16, 0x100000 + 0x10 * i);
	}
	cr_assert_eq(py_references(&f.host, &f.st, &object, true, collect_ref,
				   &got),
		     COREHEAP_OK);
	// The keys owned, then each key and its value.
	cr_assert_eq(got.n, 9, "%zu references", got.n);
	cr_expect_eq(got.targets[0], DICT_KEYS);
	for (size_t i = 0; i < 4; i++) {
		cr_expect_eq(got.targets[2 + 2 * i], 0x100000 + 0x10 * i);
		cr_expect_str_eq(got.names[2 + 2 * i], ints[i].name);
	}
	py_type_cache_deinit(&f.walk.types);
}

struct got_roots {
	size_t n;
	char names[8][64];
};

static int collect_root(void *arg, const struct coreheap_root *root)
{
	struct got_roots *got = arg;

	cr_assert_lt(got->n, 8);
	snprintf(got->names[got->n++], sizeof(got->names[0]), "%s",
		 root->name);
	return COREHEAP_OK;
}

// Whether a root of that name was given.
static bool named_root(const struct got_roots *got, const char *name)
{
	for (size_t i = 0; i < got->n; i++) {
		if (strcmp(got->names[i], name) == 0)
			return true;
	}
	return false;
}

/*
 * The roots are the dicts of the types the walk met: a type met only
 * after it, by references() (or a description), adds none, so that the
 * roots asked again are the same.
 */
Test(cpython, roots_are_the_dicts_of_the_types_the_walk_met)
{
	struct refs_fixture f = { 0 };
	struct got_refs refs = { 0 };
	struct got_roots before = { 0 }, after = { 0 };
	struct coreheap_object object;

	refs_setup(&f);
	object = put_instance(1);
	put_u64(INT_TYPE + refs_layout->tp_dict, A(0x6100));
	put_u64(CLASS + refs_layout->tp_dict, A(0x6200));
	// No interpreter: the types' dicts are the only roots.
	f.st.runtime = A(0x6000);
	// The walk met an int, then was over.
	cr_assert_not_null(py_type_at(&f.walk, INT_TYPE));
	f.walk.types.walk_over = true;
	cr_assert_eq(py_roots(&f.host, &f.st, collect_root, &before),
		     COREHEAP_OK);
	cr_assert_eq(py_references(&f.host, &f.st, &object, true, collect_ref,
				   &refs),
		     COREHEAP_OK);
	cr_assert_eq(py_roots(&f.host, &f.st, collect_root, &after),
		     COREHEAP_OK);
	cr_expect(named_root(&before, "type int .__dict__"));
	cr_expect(named_root(&after, "type int .__dict__"));
	cr_expect_not(named_root(&after, "type Thing .__dict__"),
		      "a type met after the walk is a root");
	cr_expect_eq(after.n, before.n);
	py_type_cache_deinit(&f.walk.types);
}
