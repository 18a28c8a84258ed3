/* SPDX-License-Identifier: MIT */
/*
 * python_layout 3.11 | python_layout 3.13 RUNTIME: the struct offsets the
 * CPython plugin uses for that version, one "field value" a line, named as
 * the fields of struct py_layout (allocators/cpython/cpython.h). For 3.13,
 * RUNTIME is a file holding the start of the interpreter's .PyRuntime
 * section (its _Py_DebugOffsets, as the binary initialises them), from
 * which the plugin takes its layout as it does from a core.
 * tests/python-objects.sh compares them with tests/python_layout_check.c
 * compiled against that interpreter's own headers: the layouts are checked
 * against each release's headers, not against themselves.
 */
#include <stdio.h>
#include <string.h>

#include "../allocators/cpython/cpython.h"

#define P(field) \
	printf(#field " %llu\n", (unsigned long long)(int64_t)layout.field)

int main(int argc, char **argv)
{
	struct py_layout layout;
	uint8_t raw[PY_DEBUG_OFFSETS_313_SIZE];
	const char *why;
	FILE *file;

	if (argc == 2 && strcmp(argv[1], "3.11") == 0) {
		py_layout_311(&layout);
	} else if (argc == 3 && strcmp(argv[1], "3.13") == 0) {
		file = fopen(argv[2], "rb");
		if (!file || fread(raw, 1, sizeof(raw), file) != sizeof(raw)) {
			fprintf(stderr, "python_layout: cannot read %s\n",
				argv[2]);
			return 1;
		}
		fclose(file);
		if (memcmp(raw, "xdebugpy", 8) != 0 ||
		    !py_layout_313(raw, &layout, &why)) {
			fprintf(stderr, "python_layout: %s: no 3.13 debug offsets\n",
				argv[2]);
			return 1;
		}
	} else {
		fprintf(stderr, "usage: %s 3.11 | 3.13 RUNTIME\n", argv[0]);
		return 64;
	}
	P(runtime_interpreters_head);
	P(interp_next);
	P(interp_id);
	P(interp_threads_head);
	P(interp_gc_generations);
	P(interp_gc_permanent);
	P(gc_generation_size);
	P(interp_obmalloc);
	P(obmalloc_arenas);
	P(obmalloc_maxarenas);
	P(ts_next);
	P(ts_interp);
	P(ts_thread_id);
	P(ts_native_thread_id);
	P(ts_current_frame);
	P(ts_cframe);
	P(cframe_current_frame);
	P(ts_exc_info);
	P(exc_item_value);
	P(exc_item_previous);
	P(frame_previous);
	P(frame_code);
	P(frame_instr);
	P(frame_owner);
	P(frame_localsplus);
	P(frame_owner_cstack);
	P(co_filename);
	P(co_name);
	P(co_qualname);
	P(co_linetable);
	P(co_firstlineno);
	P(co_code_adaptive);
	P(co_localsplusnames);
	P(ob_refcnt);
	P(ob_type);
	P(ob_size);
	P(tp_name);
	P(tp_basicsize);
	P(tp_itemsize);
	P(tp_flags);
	P(tp_dict);
	P(type_object_size);
	P(ht_qualname);
	P(tpflags_preheader);
	P(tpflags_inline_values);
	P(list_items);
	P(tuple_items);
	P(bytes_sval);
	P(unicode_length);
	P(unicode_state);
	P(ascii_data);
	P(compact_utf8_length);
	P(compact_utf8);
	P(compact_data);
	P(dict_keys);
	P(dict_values);
	P(keys_log2_size);
	P(keys_log2_index_bytes);
	P(keys_kind);
	P(keys_nentries);
	P(keys_indices);
	P(exc_args);
	P(tp_weaklistoffset);
	P(tp_base);
	P(tp_dictoffset);
	P(tp_bases);
	P(tp_mro);
	P(tp_subclasses);
	P(ht_name);
	P(ht_cached_keys);
	P(ht_module);
	P(object_basicsize);
	P(list_basicsize);
	P(dict_basicsize);
	P(list_allocated);
	P(cell_ref);
	P(module_dict);
	P(long_digits);
	P(long_tag);
	P(managed_dict);
	P(managed_weakref);
	P(values_valid);
	P(values_array);
	P(values_embedded);
	P(interp_modules);
	P(interp_interned);
	P(interp_static_types_count);
	P(interp_static_types);
	P(interp_ext_types_count);
	P(interp_ext_types);
	P(static_type_state_size);
	P(static_type_type);
	P(static_type_dict);
	P(static_type_subclasses);
	P(ts_datastack_top);
	P(ts_datastack_limit);
	P(co_nlocalsplus);
	P(freelist_lists);
	printf("freelist_lists_numfree %llu\n",
	       (unsigned long long)layout.freelist_lists + 8 * PY_FREELIST_LEN);
	P(freelist_dicts);
	printf("freelist_dicts_numfree %llu\n",
	       (unsigned long long)layout.freelist_dicts + 8 * PY_FREELIST_LEN);
	P(freelist_dictkeys);
	printf("freelist_dictkeys_numfree %llu\n",
	       (unsigned long long)layout.freelist_dictkeys + 8 * PY_FREELIST_LEN);
	P(freelist_async_gens);
	printf("freelist_async_gens_numfree %llu\n",
	       (unsigned long long)layout.freelist_async_gens + 8 * PY_FREELIST_LEN);
	P(freelist_async_gen_asends);
	printf("freelist_async_gen_asends_numfree %llu\n",
	       (unsigned long long)layout.freelist_async_gen_asends + 8 * PY_FREELIST_LEN);
	P(arena_address);
	P(arena_pool_address);
	P(arena_nfreepools);
	P(arena_ntotalpools);
	P(pool_count);
	P(pool_freeblock);
	P(pool_arenaindex);
	P(pool_szidx);
	P(pool_nextoffset);
	P(pool_maxnextoffset);
	return 0;
}
