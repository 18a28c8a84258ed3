// SPDX-License-Identifier: MIT
// The layouts of CPython's structures on x86-64, per version.
//
// 3.11: from its headers (Include/cpython/*.h, Include/internal/pycore_*.h
// of 3.11.2, as Debian 12's libpython3.11-dev installs them; offsetof()
// of each field compiled against them).
//
// 3.13: _PyRuntime begins with _Py_DebugOffsets (pycore_runtime.h), the
// table CPython publishes for out-of-process debuggers: the cookie
// "xdebugpy", the version (PY_VERSION_HEX), free_threaded, then per struct
// its size and the offsets of the fields a debugger needs, each a uint64_t:
//   runtime_state {size, finalizing, interpreters_head}
//   interpreter_state {size, id, next, threads_head, gc, imports_modules,
//     sysdict, builtins, ceval_gil, gil_runtime_state,
//     gil_runtime_state_enabled, gil_runtime_state_locked,
//     gil_runtime_state_holder}
//   thread_state {size, prev, next, interp, current_frame, thread_id,
//     native_thread_id, datastack_chunk, status}
//   interpreter_frame {size, previous, executable, instr_ptr, localsplus,
//     owner}
//   code_object {size, filename, name, qualname, linetable, firstlineno,
//     argcount, localsplusnames, localspluskinds, co_code_adaptive}
//   pyobject {size, ob_type}
//   type_object {size, tp_name, tp_repr, tp_flags}
//   tuple_object {size, ob_item, ob_size}
//   list_object {size, ob_item, ob_size}
//   dict_object {size, ma_keys, ma_values}
//   float_object {size, ob_fval}
//   long_object {size, lv_tag, ob_digit}
//   bytes_object {size, ob_size, ob_sval}
//   unicode_object {size, state, length, asciiobject_size}
//   gc {size, collecting}
// What it does not cover comes from 3.13.5's headers (Debian 13's
// libpython3.13-dev): where pymalloc's state is (interp->obmalloc, a
// pointer), the GC generations inside interp->gc, the exception being
// handled, PyHeapTypeObject, the dict keys, the managed dict and inline
// values (Py_TPFLAGS_INLINE_VALUES), and for the exact references and
// named roots (refs.c) PyLongObject's lv_tag, the interned strings
// (interp->cached_objects), the static types' dicts (interp->types), the
// free lists (interp->object_state.freelists), the frames' data stack,
// co_nlocalsplus, collections.deque (Modules/_collectionsmodule.c). Those
// are the same in every 3.13.x; the debug offsets guard the rest, and
// tests/python-objects.sh compares every one with the headers.

#include <string.h>

#include "cpython.h"

static void common_layout(struct py_layout *ret)
{
	*ret = (struct py_layout){
		.exc_item_value = 0,
		.exc_item_previous = 8,
		.ob_refcnt = 0,
		.ob_type = 8,
		.ob_size = 16,
		.tp_name = 24,
		.tp_basicsize = 32,
		.tp_itemsize = 40,
		.tp_flags = 168,
		.tp_dict = 264,
		.list_items = 24,
		.tuple_items = 24,
		.bytes_sval = 32,
		.unicode_length = 16,
		.unicode_state = 32,
		.dict_keys = 32,
		.dict_values = 40,
		.keys_log2_size = 8,
		.keys_log2_index_bytes = 9,
		.keys_kind = 10,
		.keys_nentries = 24,
		.keys_indices = 32,
		.exc_args = 24,
		.tp_weaklistoffset = 208,
		.tp_base = 256,
		.tp_dictoffset = 288,
		.tp_bases = 336,
		.tp_mro = 344,
		.tp_subclasses = 360,
		.object_basicsize = 16,
		.list_basicsize = 40,
		.dict_basicsize = 48,
		.list_allocated = 32,
		.cell_ref = 16,
		.module_dict = 16,
		.long_digits = 24,
		.managed_dict = -24,
		// dequeobject: the var header, leftblock, rightblock,
		// leftindex, rightindex, state, maxlen, numfreeblocks,
		// freeblocks[16], weakreflist: the same in 3.11 and 3.13
		// (tp_basicsize 216, tp_weaklistoffset 208 in both).
		.deque_leftblock = 24,
		.deque_rightblock = 32,
		.deque_leftindex = 40,
		.deque_numfreeblocks = 72,
		.deque_freeblocks = 80,
		.deque_weakreflist = 208,
		.gc_generation_size = 24,
		.arena_address = 0,
		.arena_pool_address = 8,
		.arena_nfreepools = 16,
		.arena_ntotalpools = 20,
		.pool_count = 0,
		.pool_freeblock = 8,
		.pool_arenaindex = 32,
		.pool_szidx = 36,
		.pool_nextoffset = 40,
		.pool_maxnextoffset = 44,
	};
}

void py_layout_311(struct py_layout *ret)
{
	common_layout(ret);
	ret->runtime_interpreters_head = 40;
	ret->interp_next = 0;
	ret->interp_id = 48;
	ret->interp_threads_head = 16;
	// interp->gc at 648: generations[3] at +24, permanent_generation
	// after them.
	ret->interp_gc_generations = 672;
	ret->interp_gc_permanent = 752;
	ret->ts_next = 8;
	ret->ts_interp = 16;
	ret->ts_cframe = 56;
	ret->cframe_current_frame = 8;
	ret->ts_exc_info = 120;
	ret->ts_thread_id = 152;
	ret->ts_native_thread_id = 160;
	ret->frame_code = 32;
	ret->frame_previous = 48;
	ret->frame_instr = 56;
	ret->frame_owner = 69;
	ret->frame_localsplus = 72;
	ret->co_firstlineno = 72;
	ret->co_localsplusnames = 96;
	ret->co_filename = 112;
	ret->co_name = 120;
	ret->co_qualname = 128;
	ret->co_linetable = 136;
	ret->co_code_adaptive = 184;
	ret->type_object_size = 408;
	ret->ht_qualname = 864;
	ret->tpflags_preheader = PY_TPFLAGS_MANAGED_DICT;
	ret->ascii_data = 48;
	ret->compact_utf8_length = 48;
	ret->compact_utf8 = 56;
	ret->compact_data = 72;
	ret->unicode_ready_bit = 1u << 7;
	ret->values_prefix = true;
	ret->managed_values = 0;
	ret->ht_name = 848;
	ret->ht_cached_keys = 872;
	ret->ht_module = 880;
	ret->interp_modules = 888;
	ret->ts_datastack_top = 304;
	ret->ts_datastack_limit = 312;
	ret->co_nlocalsplus = 76;
	ret->freelist_lists = 3872;
	ret->freelist_dicts = 4520;
	ret->freelist_dictkeys = 5168;
	ret->freelist_async_gens = 5816;
	ret->freelist_async_gen_asends = 6464;
}

// Field n (a uint64_t) of the raw table, past the 8-byte cookie.
static uint64_t debug_field(const uint8_t *raw, unsigned n)
{
	uint64_t value;

	memcpy(&value, raw + 8 + 8 * n, sizeof(value));
	return value;
}

/*
 * The fields of 3.13's table, by index past the cookie: [0] version,
 * [1] free_threaded, then the groups, each beginning with its size.
 */
enum {
	DO_VERSION = 0,
	DO_FREE_THREADED = 1,
	DO_RUNTIME = 2,          // size, finalizing, interpreters_head
	DO_INTERP = 5,           // size, id, next, threads_head, gc, ...
	DO_THREAD = 18,          // size, prev, next, interp, current_frame,
				 // thread_id, native_thread_id, ...
	DO_FRAME = 27,           // size, previous, executable, instr_ptr,
				 // localsplus, owner
	DO_CODE = 33,            // size, filename, name, qualname, linetable,
				 // firstlineno, argcount, localsplusnames, ...,
				 // co_code_adaptive
	DO_OBJECT = 43,          // size, ob_type
	DO_TYPE = 45,            // size, tp_name, tp_repr, tp_flags
	DO_TUPLE = 49,           // size, ob_item, ob_size
	DO_LIST = 52,            // size, ob_item, ob_size
	DO_DICT = 55,            // size, ma_keys, ma_values
	DO_FLOAT = 58,
	DO_LONG = 60,
	DO_BYTES = 63,           // size, ob_size, ob_sval
	DO_UNICODE = 66,         // size, state, length, asciiobject_size
	DO_GC = 70,              // size, collecting
	DO_END = 72,
};

/*
 * Offset field of the group starting at group (whose first field is the
 * struct's size) into *ret: false if it does not fit the struct.
 */
static bool take(const uint8_t *raw, unsigned group, unsigned field,
		 uint32_t width, uint32_t *ret)
{
	uint64_t size = debug_field(raw, group);
	uint64_t offset = debug_field(raw, group + field);

	if (size > (1u << 20) || offset + width > size)
		return false;
	*ret = (uint32_t)offset;
	return true;
}

bool py_layout_313(const uint8_t *raw, struct py_layout *ret,
		   const char **why_ret)
{
	struct py_layout layout;
	uint32_t interp_gc, interp_size, type_size, unicode_ascii, chunk;
	static const struct {
		unsigned group, field, width;
		size_t member;
		const char *name;
	} fields[] = {
#define F(g, f, w, m) { g, f, w, offsetof(struct py_layout, m), #m }
		F(DO_RUNTIME, 2, 8, runtime_interpreters_head),
		F(DO_INTERP, 1, 8, interp_id),
		F(DO_INTERP, 2, 8, interp_next),
		F(DO_INTERP, 3, 8, interp_threads_head),
		F(DO_INTERP, 5, 8, interp_modules),
		F(DO_THREAD, 2, 8, ts_next),
		F(DO_THREAD, 3, 8, ts_interp),
		F(DO_THREAD, 4, 8, ts_current_frame),
		F(DO_THREAD, 5, 8, ts_thread_id),
		F(DO_THREAD, 6, 8, ts_native_thread_id),
		F(DO_FRAME, 1, 8, frame_previous),
		F(DO_FRAME, 2, 8, frame_code),
		F(DO_FRAME, 3, 8, frame_instr),
		F(DO_FRAME, 4, 8, frame_localsplus),
		F(DO_FRAME, 5, 1, frame_owner),
		F(DO_CODE, 1, 8, co_filename),
		F(DO_CODE, 2, 8, co_name),
		F(DO_CODE, 3, 8, co_qualname),
		F(DO_CODE, 4, 8, co_linetable),
		F(DO_CODE, 5, 4, co_firstlineno),
		F(DO_CODE, 7, 8, co_localsplusnames),
		F(DO_CODE, 9, 2, co_code_adaptive),
		F(DO_OBJECT, 1, 8, ob_type),
		F(DO_TYPE, 1, 8, tp_name),
		F(DO_TYPE, 3, 8, tp_flags),
		F(DO_TUPLE, 1, 8, tuple_items),
		F(DO_TUPLE, 2, 8, ob_size),
		F(DO_LIST, 1, 8, list_items),
		F(DO_DICT, 1, 8, dict_keys),
		F(DO_DICT, 2, 8, dict_values),
		F(DO_BYTES, 2, 1, bytes_sval),
		F(DO_UNICODE, 1, 4, unicode_state),
		F(DO_UNICODE, 2, 8, unicode_length),
#undef F
	};

	common_layout(&layout);
	if (debug_field(raw, DO_FREE_THREADED)) {
		*why_ret = "a free-threaded build";
		return false;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		uint32_t value;

		if (!take(raw, fields[i].group, fields[i].field,
			  fields[i].width, &value)) {
			*why_ret = fields[i].name;
			return false;
		}
		memcpy((char *)&layout + fields[i].member, &value,
		       sizeof(value));
	}
	// frame_owner_cstack is a uint8_t; the rest are uint32_t fields
	// filled above.
	if (!take(raw, DO_INTERP, 4, 240, &interp_gc) ||
	    !take(raw, DO_INTERP, 0, 0, &interp_size) ||
	    !take(raw, DO_TYPE, 0, 0, &type_size) ||
	    !take(raw, DO_UNICODE, 3, 0, &unicode_ascii) ||
	    !take(raw, DO_THREAD, 7, 24, &chunk) ||
	    type_size > PY_MAX_TYPE_OBJECT_SIZE) {
		*why_ret = "the sizes of interp->gc, PyTypeObject or PyASCIIObject";
		return false;
	}
	(void)interp_size;
	// struct _gc_runtime_state (pycore_gc.h): trash_delete_later,
	// trash_delete_nesting, enabled, debug, then generations[3] of a
	// PyGC_Head aligned to 4 in 3.13 (Py_ALIGNED(1 <<
	// _PyObject_ALIGNMENT_SHIFT)), generation0, permanent_generation.
	layout.interp_gc_generations = interp_gc + 20;
	layout.interp_gc_permanent = interp_gc + 104;
	// interp->obmalloc (pycore_interp.h): a pointer to the interpreter's
	// struct _obmalloc_state (the main one's is file-static in
	// obmalloc.c), whose mgmt.arenas and mgmt.maxarenas follow the
	// pools' usedpools[] (pycore_obmalloc.h).
	layout.interp_obmalloc = 10800;
	layout.obmalloc_arenas = 512;
	layout.obmalloc_maxarenas = 520;
	// PyThreadState: exc_info (pycore's cpython/pystate.h).
	layout.ts_exc_info = 120;
	layout.frame_owner_cstack = 3;
	layout.type_object_size = type_size;
	// PyHeapTypeObject: the type (416), as_async, as_number,
	// as_mapping, as_sequence, as_buffer, ht_name, ht_slots, ht_qualname.
	layout.ht_qualname = type_size + 456;
	layout.tpflags_preheader =
		PY_TPFLAGS_MANAGED_DICT | PY_TPFLAGS_MANAGED_WEAKREF;
	layout.tpflags_inline_values = PY_TPFLAGS_INLINE_VALUES;
	// PyCompactUnicodeObject: the ASCII header, utf8_length, utf8.
	layout.ascii_data = unicode_ascii;
	layout.compact_utf8_length = unicode_ascii;
	layout.compact_utf8 = unicode_ascii + 8;
	layout.compact_data = unicode_ascii + 16;
	layout.unicode_ready_bit = 0;
	layout.values_prefix = false;
	layout.managed_values = -1;
	// PyHeapTypeObject: ... ht_name (440 past the type), ht_slots,
	// ht_qualname, ht_cached_keys, ht_module.
	layout.ht_name = type_size + 440;
	layout.ht_cached_keys = type_size + 464;
	layout.ht_module = type_size + 472;
	// PyLongObject: long_value {lv_tag, ob_digit[]} (pycore_long.h).
	layout.long_tag = 16;
	// MANAGED_WEAKREF_OFFSET (pycore_object.h): the pre-header's first
	// word; struct _dictvalues {capacity, size, embedded, valid,
	// values[]} (pycore_dict.h).
	layout.managed_weakref = -32;
	layout.values_valid = 3;
	layout.values_array = 8;
	layout.values_embedded = 2;
	// PyInterpreterState (pycore_interp.h): cached_objects and types
	// (pycore_typeobject.h: builtins {num_initialized, initialized[200]},
	// for_extensions {num_initialized, next_index, initialized[10]},
	// each a managed_static_type_state {type, isbuiltin, readying,
	// ready, tp_dict, tp_subclasses, tp_weaklist}).
	layout.interp_interned = 194328;
	layout.interp_static_types_count = 182960;
	layout.interp_static_types = 182968;
	layout.interp_ext_types_count = 192568;
	layout.interp_ext_types = 192584;
	layout.static_type_state_size = 48;
	layout.static_type_type = 0;
	layout.static_type_dict = 24;
	layout.static_type_subclasses = 32;
	// PyThreadState: datastack_chunk, datastack_top, datastack_limit.
	layout.ts_datastack_top = chunk + 8;
	layout.ts_datastack_limit = chunk + 16;
	// PyCodeObject (cpython/code.h): co_nlocalsplus, an int.
	layout.co_nlocalsplus = 72;
	// interp->object_state.freelists (pycore_freelist.h): floats,
	// tuples, then lists, dicts, dictkeys, slices, contexts,
	// async_gens, async_gen_asends.
	layout.freelist_lists = 11208;
	layout.freelist_dicts = 11856;
	layout.freelist_dictkeys = 12504;
	layout.freelist_async_gens = 13176;
	layout.freelist_async_gen_asends = 13824;
	if (layout.interp_gc_permanent + layout.gc_generation_size >
		    interp_size ||
	    layout.interp_obmalloc + 8 > interp_size ||
	    layout.interp_interned + 8 > interp_size ||
	    layout.freelist_async_gen_asends + 8 * PY_FREELIST_LEN + 4 >
		    interp_size ||
	    layout.interp_ext_types + 10 * layout.static_type_state_size >
		    interp_size) {
		*why_ret = "PyInterpreterState's size";
		return false;
	}
	*ret = layout;
	return true;
}
