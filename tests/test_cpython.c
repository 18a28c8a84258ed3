/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the CPython plugin's decoding: the line of an instruction
 * from a code object's location table (against the lines CPython itself
 * gives for every instruction, co_lines(), of a function compiled by
 * Debian's 3.11 and 3.13), and the layout taken from 3.13's
 * _Py_DebugOffsets (the values Debian 13's python3.13 initialises them
 * with; a table that is not sound is refused, never followed).
 * tests/python-objects.sh and python-trixie.sh check the whole on real
 * cores.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../allocators/cpython/cpython.h"

/* A process's memory: one buffer from MEMORY_BASE. */
#define MEMORY_BASE 0x10000
static uint8_t memory[0x4000];

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
