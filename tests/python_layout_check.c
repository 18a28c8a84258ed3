/* SPDX-License-Identifier: MIT */
/*
 * The offsets of the fields the CPython plugin reads, from the
 * interpreter's own headers (Debian's libpython3.X-dev, internal headers
 * included): compiled at test time against them (3.11 here, 3.13 in a
 * Debian 13 root), one "field value" a line named as struct py_layout's
 * fields (allocators/cpython/cpython.h), for tests/python-objects.sh to
 * compare with tests/python_layout. Not built by make: it needs the
 * interpreter's headers, which only the test has at hand.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_dict.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_gc.h>
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#if PY_MINOR_VERSION >= 12
#include <internal/pycore_obmalloc.h>
#endif
#include <stddef.h>
#include <stdio.h>

#define P(name, value) printf(#name " %llu\n", (unsigned long long)(value))
#define O(name, type, member) P(name, offsetof(type, member))

int main(void)
{
	O(runtime_interpreters_head, _PyRuntimeState, interpreters.head);
	O(interp_next, PyInterpreterState, next);
	O(interp_id, PyInterpreterState, id);
	O(interp_threads_head, PyInterpreterState, threads.head);
	O(interp_gc_generations, PyInterpreterState, gc.generations);
	O(interp_gc_permanent, PyInterpreterState, gc.permanent_generation);
	P(gc_generation_size, sizeof(struct gc_generation));
#if PY_MINOR_VERSION >= 13
	O(interp_obmalloc, PyInterpreterState, obmalloc);
	O(obmalloc_arenas, struct _obmalloc_state, mgmt.arenas);
	O(obmalloc_maxarenas, struct _obmalloc_state, mgmt.maxarenas);
	O(ts_current_frame, PyThreadState, current_frame);
	O(frame_code, _PyInterpreterFrame, f_executable);
	O(frame_instr, _PyInterpreterFrame, instr_ptr);
	P(frame_owner_cstack, FRAME_OWNED_BY_CSTACK);
	P(tpflags_preheader, Py_TPFLAGS_PREHEADER);
	P(tpflags_inline_values, Py_TPFLAGS_INLINE_VALUES);
	O(arena_address, struct arena_object, address);
	O(arena_pool_address, struct arena_object, pool_address);
	O(arena_nfreepools, struct arena_object, nfreepools);
	O(arena_ntotalpools, struct arena_object, ntotalpools);
	O(pool_count, struct pool_header, ref.count);
	O(pool_freeblock, struct pool_header, freeblock);
	O(pool_arenaindex, struct pool_header, arenaindex);
	O(pool_szidx, struct pool_header, szidx);
	O(pool_nextoffset, struct pool_header, nextoffset);
	O(pool_maxnextoffset, struct pool_header, maxnextoffset);
#else
	O(ts_cframe, PyThreadState, cframe);
	O(cframe_current_frame, _PyCFrame, current_frame);
	O(frame_code, _PyInterpreterFrame, f_code);
	O(frame_instr, _PyInterpreterFrame, prev_instr);
	P(tpflags_preheader, Py_TPFLAGS_MANAGED_DICT);
#endif
	O(ts_next, PyThreadState, next);
	O(ts_interp, PyThreadState, interp);
	O(ts_thread_id, PyThreadState, thread_id);
	O(ts_native_thread_id, PyThreadState, native_thread_id);
	O(ts_exc_info, PyThreadState, exc_info);
	O(exc_item_value, _PyErr_StackItem, exc_value);
	O(exc_item_previous, _PyErr_StackItem, previous_item);
	O(frame_previous, _PyInterpreterFrame, previous);
	O(frame_owner, _PyInterpreterFrame, owner);
	O(frame_localsplus, _PyInterpreterFrame, localsplus);
	O(co_filename, PyCodeObject, co_filename);
	O(co_name, PyCodeObject, co_name);
	O(co_qualname, PyCodeObject, co_qualname);
	O(co_linetable, PyCodeObject, co_linetable);
	O(co_firstlineno, PyCodeObject, co_firstlineno);
	O(co_code_adaptive, PyCodeObject, co_code_adaptive);
	O(co_localsplusnames, PyCodeObject, co_localsplusnames);
	O(ob_refcnt, PyObject, ob_refcnt);
	O(ob_type, PyObject, ob_type);
	O(ob_size, PyVarObject, ob_size);
	O(tp_name, PyTypeObject, tp_name);
	O(tp_basicsize, PyTypeObject, tp_basicsize);
	O(tp_itemsize, PyTypeObject, tp_itemsize);
	O(tp_flags, PyTypeObject, tp_flags);
	O(tp_dict, PyTypeObject, tp_dict);
	P(type_object_size, sizeof(PyTypeObject));
	O(ht_qualname, PyHeapTypeObject, ht_qualname);
	O(list_items, PyListObject, ob_item);
	O(tuple_items, PyTupleObject, ob_item);
	O(bytes_sval, PyBytesObject, ob_sval);
	O(unicode_length, PyASCIIObject, length);
	O(unicode_state, PyASCIIObject, state);
	P(ascii_data, sizeof(PyASCIIObject));
	O(compact_utf8_length, PyCompactUnicodeObject, utf8_length);
	O(compact_utf8, PyCompactUnicodeObject, utf8);
	P(compact_data, sizeof(PyCompactUnicodeObject));
	O(dict_keys, PyDictObject, ma_keys);
	O(dict_values, PyDictObject, ma_values);
	O(keys_log2_size, PyDictKeysObject, dk_log2_size);
	O(keys_log2_index_bytes, PyDictKeysObject, dk_log2_index_bytes);
	O(keys_kind, PyDictKeysObject, dk_kind);
	O(keys_nentries, PyDictKeysObject, dk_nentries);
	O(keys_indices, PyDictKeysObject, dk_indices);
	O(exc_args, PyBaseExceptionObject, args);
	return 0;
}
