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
#include <internal/pycore_code.h>
#include <internal/pycore_moduleobject.h>
#if PY_MINOR_VERSION >= 12
#include <internal/pycore_obmalloc.h>
#include <internal/pycore_typeobject.h>
#endif
#include <stddef.h>
#include <stdio.h>

#define P(name, value) \
	printf(#name " %llu\n", (unsigned long long)(long long)(value))
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
	O(tp_weaklistoffset, PyTypeObject, tp_weaklistoffset);
	O(tp_base, PyTypeObject, tp_base);
	O(tp_dictoffset, PyTypeObject, tp_dictoffset);
	O(tp_bases, PyTypeObject, tp_bases);
	O(tp_mro, PyTypeObject, tp_mro);
	O(tp_subclasses, PyTypeObject, tp_subclasses);
	O(ht_name, PyHeapTypeObject, ht_name);
	O(ht_cached_keys, PyHeapTypeObject, ht_cached_keys);
	O(ht_module, PyHeapTypeObject, ht_module);
	P(object_basicsize, sizeof(PyObject));
	P(list_basicsize, sizeof(PyListObject));
	P(dict_basicsize, sizeof(PyDictObject));
	O(list_allocated, PyListObject, allocated);
	O(cell_ref, PyCellObject, ob_ref);
	O(module_dict, PyModuleObject, md_dict);
	O(ts_datastack_top, PyThreadState, datastack_top);
	O(ts_datastack_limit, PyThreadState, datastack_limit);
	O(co_nlocalsplus, PyCodeObject, co_nlocalsplus);
#if PY_MINOR_VERSION >= 13
	O(long_tag, PyLongObject, long_value.lv_tag);
	O(long_digits, PyLongObject, long_value.ob_digit);
	P(managed_dict, MANAGED_DICT_OFFSET);
	P(managed_weakref, MANAGED_WEAKREF_OFFSET);
	O(values_valid, PyDictValues, valid);
	O(values_embedded, PyDictValues, embedded);
	O(values_array, PyDictValues, values);
	O(interp_modules, PyInterpreterState, imports.modules);
	O(interp_interned, PyInterpreterState,
	  cached_objects.interned_strings);
	O(interp_static_types_count, PyInterpreterState,
	  types.builtins.num_initialized);
	O(interp_static_types, PyInterpreterState, types.builtins.initialized);
	O(interp_ext_types_count, PyInterpreterState,
	  types.for_extensions.num_initialized);
	O(interp_ext_types, PyInterpreterState,
	  types.for_extensions.initialized);
	P(static_type_state_size, sizeof(managed_static_type_state));
	O(static_type_type, managed_static_type_state, type);
	O(static_type_dict, managed_static_type_state, tp_dict);
	O(static_type_subclasses, managed_static_type_state, tp_subclasses);
#define FREELIST(name, member)                                         \
	O(freelist_##name, PyInterpreterState,                          \
	  object_state.freelists.member.items);                        \
	O(freelist_##name##_numfree, PyInterpreterState,                \
	  object_state.freelists.member.numfree)
	FREELIST(lists, lists);
	FREELIST(dicts, dicts);
	FREELIST(dictkeys, dictkeys);
	FREELIST(async_gens, async_gens);
	FREELIST(async_gen_asends, async_gen_asends);
#else
	O(freelist_lists, PyInterpreterState, list.free_list);
	O(freelist_lists_numfree, PyInterpreterState, list.numfree);
	O(freelist_dicts, PyInterpreterState, dict_state.free_list);
	O(freelist_dicts_numfree, PyInterpreterState, dict_state.numfree);
	O(freelist_dictkeys, PyInterpreterState, dict_state.keys_free_list);
	O(freelist_dictkeys_numfree, PyInterpreterState,
	  dict_state.keys_numfree);
	O(freelist_async_gens, PyInterpreterState, async_gen.value_freelist);
	O(freelist_async_gens_numfree, PyInterpreterState,
	  async_gen.value_numfree);
	O(freelist_async_gen_asends, PyInterpreterState,
	  async_gen.asend_freelist);
	O(freelist_async_gen_asends_numfree, PyInterpreterState,
	  async_gen.asend_numfree);
	O(long_digits, PyLongObject, ob_digit);
	O(interp_modules, PyInterpreterState, modules);
	/* The managed dict pointer: the pre-header's second word. */
	P(managed_dict, -3 * (long long)sizeof(PyObject *));
#endif
	return 0;
}
