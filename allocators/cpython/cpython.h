/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Internals shared by the files of the CPython plugin.
 *
 * CPython is a managed runtime: its objects live in pymalloc's arenas
 * (requests up to 512 bytes) and, bigger, in blocks of the native
 * allocator (glibc's malloc). The plugin runs after the native allocators
 * (is_runtime) and reports
 *  - pymalloc's arenas: each used block as a Python object of its type
 *    (add_object) or, when it holds no object, a PyMem buffer (add_block,
 *    untyped); free blocks, pool headers and never-carved memory as free
 *    and metadata; what it owns (add_owned_range); per size class its
 *    pools and blocks (add_stat);
 *  - the Python objects inside native blocks (add_object: the host makes
 *    the block their parent and gives it their type);
 *  - per interpreter, the objects in each GC generation;
 *  - each thread's Python stack and the exception it handles
 *    (add_runtime_stack, frames.c).
 *
 * Layouts are CPython 3.11's and 3.13's on x86-64, every offset a field of
 * struct py_layout (layout.c fills it per version: 3.13's from the
 * _Py_DebugOffsets at the start of _PyRuntime), checked against each
 * version's headers by tests/python_layout. Debian's interpreters are
 * stripped: only dynamic symbols (_PyRuntime, Py_Version, PyType_Type,
 * PyCode_Type, _Py_NoneStruct); 3.11's pymalloc state is file-static and
 * found by its contents, 3.13's named by each interpreter (pymalloc.c).
 */
#ifndef COREHEAP_CPYTHON_CPYTHON_H
#define COREHEAP_CPYTHON_CPYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <coreheap/plugin.h>

/*
 * The layouts of CPython's structures, per version: every offset the
 * plugin reads is a field of struct py_layout (layout.c fills it: 3.11
 * from its headers, 3.13 from the _Py_DebugOffsets the interpreter
 * publishes at the start of _PyRuntime, and from its headers for what
 * those do not cover). Offsets are in bytes from the start of the struct
 * named; 0 where a version has no such field, as said at each.
 */
struct py_layout {
	/* _PyRuntimeState (pycore_runtime.h). */
	uint32_t runtime_interpreters_head;

	/* PyInterpreterState (pycore_interp.h). */
	uint32_t interp_next, interp_id, interp_threads_head;
	/** interp->gc.generations[0] and interp->gc.permanent_generation. */
	uint32_t interp_gc_generations, interp_gc_permanent;
	/** sizeof(struct gc_generation): {PyGC_Head head; int threshold, count}. */
	uint32_t gc_generation_size;
	/**
	 * interp->obmalloc: a pointer to struct _obmalloc_state (3.13), and
	 * in that state mgmt.arenas and mgmt.maxarenas; 0: pymalloc's state
	 * is file-static (3.11) and found by its contents.
	 */
	uint32_t interp_obmalloc, obmalloc_arenas, obmalloc_maxarenas;

	/* PyThreadState (Include/cpython/pystate.h). */
	uint32_t ts_next, ts_interp, ts_thread_id, ts_native_thread_id;
	/**
	 * The innermost frame: tstate->current_frame (3.13), or through the
	 * C frame, tstate->cframe->current_frame (3.11: ts_cframe set).
	 */
	uint32_t ts_current_frame, ts_cframe, cframe_current_frame;
	/** tstate->exc_info, the _PyErr_StackItem being handled. */
	uint32_t ts_exc_info;
	/* _PyErr_StackItem. */
	uint32_t exc_item_value, exc_item_previous;

	/* _PyInterpreterFrame (pycore_frame.h). */
	uint32_t frame_previous;
	/** f_code (3.11), f_executable (3.13): the code object. */
	uint32_t frame_code;
	/** prev_instr (3.11), instr_ptr (3.13): the instruction's address. */
	uint32_t frame_instr;
	uint32_t frame_owner, frame_localsplus;
	/** The owner of a C entry frame (FRAME_OWNED_BY_CSTACK, 3.12+); 0: none. */
	uint8_t frame_owner_cstack;

	/* PyCodeObject (Include/cpython/code.h). */
	uint32_t co_filename, co_name, co_qualname, co_linetable;
	uint32_t co_firstlineno, co_code_adaptive, co_localsplusnames;

	/* PyObject, PyVarObject and PyTypeObject (Include/cpython/object.h). */
	uint32_t ob_refcnt, ob_type, ob_size;
	uint32_t tp_name, tp_basicsize, tp_itemsize, tp_flags, tp_dict;
	uint32_t type_object_size;
	/** PyHeapTypeObject's ht_qualname. */
	uint32_t ht_qualname;
	/**
	 * The flags that put a pre-header of two words before an object
	 * (past its GC head): Py_TPFLAGS_MANAGED_DICT (3.11), and
	 * Py_TPFLAGS_MANAGED_WEAKREF (3.12+: Py_TPFLAGS_PREHEADER).
	 */
	uint64_t tpflags_preheader;
	/** Py_TPFLAGS_INLINE_VALUES (3.13): an instance's attribute values
	 * follow it, at tp_basicsize; 0 before. */
	uint64_t tpflags_inline_values;

	/* PyListObject, PyTupleObject, PyBytesObject. */
	uint32_t list_items, tuple_items, bytes_sval;

	/* PyASCIIObject and PyCompactUnicodeObject (cpython/unicodeobject.h). */
	uint32_t unicode_length, unicode_state;
	/** sizeof(PyASCIIObject): an ASCII string's text follows it. */
	uint32_t ascii_data;
	uint32_t compact_utf8_length, compact_utf8, compact_data;
	/** state.ready (3.11: bit 7); 0 from 3.12, where every str is ready. */
	uint32_t unicode_ready_bit;

	/* PyDictObject and PyDictKeysObject (pycore_dict.h). */
	uint32_t dict_keys, dict_values;
	uint32_t keys_log2_size, keys_log2_index_bytes, keys_kind;
	uint32_t keys_nentries, keys_indices;
	/**
	 * A managed dict's values: 3.11 allocates them behind a prefix whose
	 * size is the byte before them, and keeps their pointer in the
	 * pre-header's first word (managed_values); 3.13 keeps them inline
	 * (or in a block of their own, from its start: no prefix) and the
	 * pre-header holds only the dict.
	 */
	bool values_prefix;
	/** Offset from the pre-header's start of the values pointer; -1: none. */
	int32_t managed_values;

	/* PyBaseExceptionObject. */
	uint32_t exc_args;

	/*
	 * What refs.c reads for the exact references and the named roots.
	 */
	/* PyTypeObject and PyHeapTypeObject's further members. */
	uint32_t tp_weaklistoffset, tp_base, tp_dictoffset, tp_bases, tp_mro;
	uint32_t tp_subclasses;
	/** ht_cached_keys: the shared keys of its instances' dicts. */
	uint32_t ht_name, ht_cached_keys, ht_module;
	/** sizeof(PyObject), sizeof(PyListObject), sizeof(PyDictObject):
	 * a subclass's own words follow them. */
	uint32_t object_basicsize, list_basicsize, dict_basicsize;
	/* PyListObject's allocated; PyCellObject's ob_ref; PyModuleObject's
	 * md_dict. */
	uint32_t list_allocated, cell_ref, module_dict;
	/**
	 * PyLongObject: its digits (30 bits each) and, 3.12+, lv_tag (the
	 * sign in its two low bits, the digits' count above bit 3) where
	 * ob_size was; long_tag 0: ob_size holds the signed count (3.11).
	 */
	uint32_t long_digits, long_tag;
	/** From the object: the managed dict pointer (in the pre-header). */
	int32_t managed_dict;
	/** From the object: the managed weak references list (3.12+); 0:
	 * none (3.11 keeps them at tp_weaklistoffset). */
	int32_t managed_weakref;
	/**
	 * struct _dictvalues (3.13): the byte that says inline values are
	 * valid (not moved to a dict) and the values array; both 0 in 3.11,
	 * whose values are a bare array.
	 */
	uint32_t values_valid, values_array;
	/** struct _dictvalues's embedded: the values are an instance's
	 * inline values, in its block (3.13); 0 in 3.11. */
	uint32_t values_embedded;
	/* collections.deque (Modules/_collectionsmodule.c). */
	uint32_t deque_leftblock, deque_rightblock, deque_leftindex;
	uint32_t deque_numfreeblocks, deque_freeblocks, deque_weakreflist;
	/** interp->modules (3.11), interp->imports.modules (3.13). */
	uint32_t interp_modules;
	/** interp->cached_objects.interned_strings (3.12+); 0: the dict is
	 * file-static (3.11), found by its contents. */
	uint32_t interp_interned;
	/**
	 * interp->types.builtins and .for_extensions (3.12+): a count, then
	 * managed_static_type_state[] (static types keep their tp_dict and
	 * tp_subclasses there, per interpreter); 0: in the type (3.11).
	 */
	uint32_t interp_static_types_count, interp_static_types;
	uint32_t interp_ext_types_count, interp_ext_types;
	uint32_t static_type_state_size, static_type_type, static_type_dict;
	uint32_t static_type_subclasses;
	/** tstate->datastack_top and datastack_limit: the frames' stack. */
	uint32_t ts_datastack_top, ts_datastack_limit;
	/** PyCodeObject's co_nlocalsplus (an int). */
	uint32_t co_nlocalsplus;
	/**
	 * The interpreter's free lists that are arrays of PY_FREELIST_LEN
	 * pointers followed by their int count (numfree): of lists, dicts,
	 * dict keys, async generators' wrapped values and asend objects
	 * (interp->list, dict_state, async_gen in 3.11;
	 * interp->object_state.freelists in 3.13). Past numfree, the slots
	 * keep stale pointers to objects taken again since: no root.
	 */
	uint32_t freelist_lists, freelist_dicts, freelist_dictkeys;
	uint32_t freelist_async_gens, freelist_async_gen_asends;

	/* pymalloc (Objects/obmalloc.c in 3.11, pycore_obmalloc.h later). */
	/* struct arena_object. */
	uint32_t arena_address, arena_pool_address, arena_nfreepools;
	uint32_t arena_ntotalpools;
	/* struct pool_header. */
	uint32_t pool_count, pool_freeblock, pool_arenaindex, pool_szidx;
	uint32_t pool_nextoffset, pool_maxnextoffset;
};

/** Fill *ret with CPython 3.11's layout (x86-64). */
void py_layout_311(struct py_layout *ret);

/** The size of _Py_DebugOffsets as 3.13 defines it. */
#define PY_DEBUG_OFFSETS_313_SIZE (8 + 72 * 8)

/**
 * Fill *ret with CPython 3.13's layout: from the _Py_DebugOffsets at the
 * start of _PyRuntime (raw, PY_DEBUG_OFFSETS_313_SIZE bytes as read from
 * the core), the rest from 3.13's headers. False if the offsets are not
 * sound (each inside its struct's size, as the table says it): *why_ret
 * then names the first that is not.
 */
bool py_layout_313(const uint8_t *raw, struct py_layout *ret,
		   const char **why_ret);

#define PY_TPFLAGS_MANAGED_WEAKREF (UINT64_C(1) << 3)
#define PY_TPFLAGS_MANAGED_DICT (UINT64_C(1) << 4)
#define PY_TPFLAGS_INLINE_VALUES (UINT64_C(1) << 2)
#define PY_TPFLAGS_HEAPTYPE (UINT64_C(1) << 9)
#define PY_TPFLAGS_READY (UINT64_C(1) << 12)
#define PY_TPFLAGS_HAVE_GC (UINT64_C(1) << 14)
#define PY_TPFLAGS_LIST_SUBCLASS (UINT64_C(1) << 25)
#define PY_TPFLAGS_DICT_SUBCLASS (UINT64_C(1) << 29)
#define PY_TPFLAGS_TYPE_SUBCLASS (UINT64_C(1) << 31)

#define PY_NUM_GC_GENERATIONS 3
/** sizeof(PyGC_Head): _gc_next and _gc_prev. */
#define PY_GC_HEAD_SIZE 16
/** The pre-header's two pointers before the GC head (managed dict...). */
#define PY_MANAGED_DICT_SIZE 16
/** The largest type object read whole. */
#define PY_MAX_TYPE_OBJECT_SIZE 1024

/* PyDictKeysObject's dk_kind for a general (not str-only) table. */
#define PY_KEYS_KIND_GENERAL 0
#define PY_KEYS_KIND_SPLIT 2

/* pymalloc on 64-bit (the same in 3.10 through 3.13). */
#define PYMALLOC_ARENA_SIZE (UINT64_C(1) << 20)
#define PYMALLOC_POOL_SIZE (UINT64_C(1) << 14)
#define PYMALLOC_ALIGNMENT 16
#define PYMALLOC_NUM_CLASSES 32
/** sizeof(struct pool_header), rounded up to the alignment. */
#define PYMALLOC_POOL_OVERHEAD 48
#define PYMALLOC_MAX_POOLS (PYMALLOC_ARENA_SIZE / PYMALLOC_POOL_SIZE)
/** Blocks in a pool of the smallest class. */
#define PYMALLOC_MAX_BLOCKS \
	((PYMALLOC_POOL_SIZE - PYMALLOC_POOL_OVERHEAD) / PYMALLOC_ALIGNMENT)
/** sizeof(struct arena_object). */
#define PYMALLOC_ARENA_OBJECT_SIZE 48

/** The most arenas looked at: 2^20 of them would be a terabyte. */
#define PY_MAX_ARENAS (UINT64_C(1) << 20)
/** The most interpreters followed. */
#define PY_MAX_INTERPRETERS 4096
/** The most pymalloc states (arena vectors) walked: a subinterpreter of
 * its own has one. */
#define PY_MAX_VECTORS 64
/** The most arena slots read looking for the `arenas` vector. */
#define PY_MAX_VECTOR_READS (UINT64_C(1) << 22)
/** The most types kept (and addresses known not to be types). */
#define PY_MAX_TYPES 65536
#define PY_MAX_NOT_TYPES (1u << 20)
/** The most owned buffers noted. */
#define PY_MAX_OWNED (UINT64_C(1) << 26)
/**
 * References listed per object walked, all told, beyond a floor: past it
 * (a hostile core whose lists all claim the same huge item array), the
 * host scans the objects' words, bounded by their size, instead.
 */
#define PY_REFS_PER_OBJECT 64
#define PY_REFS_FLOOR (UINT64_C(1) << 24)
/**
 * The dict of interned strings, found by its contents: at least this many
 * entries, the first this many of them checked, in at most this many
 * bytes of each writable mapping of the interpreter's module.
 */
#define PY_INTERNED_MIN 64
#define PY_INTERNED_SAMPLE 64
#define PY_INTERNED_SCAN (UINT64_C(16) << 20)
/** Longest type name kept. */
#define PY_MAX_NAME 256

/** What a type pointer was found to be. */
struct py_type {
	uint64_t address;
	uint64_t flags;
	/** The bytes before an instance's address: GC head, managed dict. */
	uint32_t preheader;
	/** tp_basicsize: where 3.13's inline values begin. */
	uint32_t basicsize;
	/** Its name as Python spells it; NULL for "not a type". */
	char *name;
	/**
	 * First met once the walk was over (by references() or a
	 * description): its dict is not one of the roots (refs.c).
	 */
	bool after_walk;
};

/** Types met so far, by address: open addressing, no deletion. */
struct py_type_cache {
	struct py_type *slots;
	size_t capacity, types, not_types;
	/** The walk is over: the types met from now on are after_walk. */
	bool walk_over;
};

/** The static types whose objects' references refs.c knows. */
struct py_builtin_types {
	bool looked_up;
	uint64_t object, list, tuple, dict, str, int_, bool_, float_, bytes,
		cell, module;
};

struct py_walk;

/** What probe() learnt; lives until destroy(). */
struct py_state {
	uint64_t runtime;        /**< &_PyRuntime */
	uint32_t module;         /**< the module that defines it */
	uint64_t type_type;      /**< &PyType_Type */
	uint64_t code_type;      /**< &PyCode_Type, or 0 */
	uint64_t none;           /**< &_Py_NoneStruct, or 0 */
	uint64_t version_hex;    /**< PY_VERSION_HEX */
	char version[32];        /**< "3.11.2" */
	/**
	 * The walk, kept past walk() for references() and roots() (its
	 * type cache); NULL before it. Owned.
	 */
	struct py_walk *walk;
	struct py_builtin_types builtins;
	/** How the version and layout were known ("from Py_Version"). */
	const char *how;
	struct py_layout layout;
};


/* PyLongObject's digits (30 bits each). */
#define PY_LONG_SHIFT 30
/* collections.deque: blocks of 64 items between a left and a right link;
 * at most 16 spare blocks kept. */
#define PY_DEQUE_BLOCK_LEN 64
#define PY_DEQUE_RIGHTLINK (8 + 8 * PY_DEQUE_BLOCK_LEN)
#define PY_DEQUE_MAX_FREE 16
/** The slots of each free list of struct py_layout, its count after them. */
#define PY_FREELIST_LEN 80
/** The most static types per interpreter (3.13: 200 builtin, 10 of
 * extensions). */
#define PY_MAX_STATIC_TYPES 1024

/** What a buffer is to the object that owns it. */
enum py_owned_kind {
	PY_OWNED_NONE = 0,
	PY_OWNED_LIST_ITEMS,
	PY_OWNED_DICT_KEYS,
	PY_OWNED_DICT_VALUES,
};

/** Their type names ("list items"...); [PY_OWNED_NONE] is NULL. */
extern const char *const py_owned_names[];

struct py_owned {
	uint64_t address;
	uint8_t kind;   /**< enum py_owned_kind */
};

/** Owned buffers by address: open addressing, no deletion. */
struct py_owned_table {
	struct py_owned *slots;
	size_t capacity, count;
};

/** A pymalloc block in use that holds no object, reported at the end. */
struct py_buffer {
	uint64_t address;
	uint64_t size;
};

struct py_buffers {
	struct py_buffer *items;
	size_t len, capacity;
};

/** One walk: the state, the caches, the counts for summary and the log. */
struct py_walk {
	const struct coreheap_host *host;
	const struct py_state *st;
	/** &st->layout: every offset read. */
	const struct py_layout *layout;
	int status;
	struct py_type_cache types;

	uint32_t arenas_region;
	uint32_t native_region;
	uint64_t arenas_array;   /**< the (first) `arenas` vector found */
	uint64_t num_arena_slots;  /**< slots of all the vectors */
	/** Every vector walked: 3.13 gives one per pymalloc state. */
	struct py_vector {
		uint64_t address;
		uint64_t slots;
	} vectors[PY_MAX_VECTORS];
	size_t num_vectors;
	/** How the vector was found, for the log. */
	const char *arenas_how;
	bool vector_budget_spent;

	uint64_t arenas, pools, empty_pools;
	/** References refs.c may still list (see PY_REFS_PER_OBJECT). */
	uint64_t refs_budget;
	uint64_t objects, buffers, free_blocks, native_objects;
	struct py_owned_table owned;
	struct py_buffers buffers_pending;
	uint64_t owned_buffers, owned_native;
	uint64_t class_pools[PYMALLOC_NUM_CLASSES];
	uint64_t class_used[PYMALLOC_NUM_CLASSES];
	uint64_t class_free[PYMALLOC_NUM_CLASSES];
	uint64_t class_objects[PYMALLOC_NUM_CLASSES];
	size_t damage_count;
};

/** Damage reports per walk before the rest are only counted. */
#define PY_MAX_DAMAGE 1000

void py_damage(struct py_walk *walk, enum coreheap_damage_kind kind,
	       uint64_t address, const char *format, ...)
	__attribute__((format(printf, 4, 5)));

/** Read a 64-bit little-endian word; false if not in the core. */
bool py_read_u64(const struct py_walk *walk, uint64_t addr, uint64_t *ret);

/**
 * The type at address, if it is one (a ready type object whose type is
 * `type` or a metatype): read once, then from the cache; NULL if not. The
 * pointer is good until the next call, which may grow the cache (its name
 * stays good).
 */
const struct py_type *py_type_at(struct py_walk *walk, uint64_t address);

void py_type_cache_deinit(struct py_type_cache *cache);

/**
 * The object a block at address of size bytes begins with, if any: its
 * address (block + the type's pre-header) into *object_ret and its type.
 * NULL if the block holds no object at its start.
 */
const struct py_type *py_object_in_block(struct py_walk *walk,
					 uint64_t address, uint64_t size,
					 uint64_t *object_ret);

/** Note the buffers object (of type) owns: item arrays, keys, values. */
void py_note_owned(struct py_walk *walk, uint64_t object,
		   const struct py_type *type);

/** What an owner called the buffer at address (PY_OWNED_NONE: nothing). */
uint8_t py_owned_kind(const struct py_walk *walk, uint64_t address);

/** Keep a PyMem buffer of pymalloc's until its owners are known. */
void py_defer_buffer(struct py_walk *walk, uint64_t address, uint32_t size);

/**
 * Report the buffers kept, typed by their owners, and type the native
 * blocks that objects own. Once every object was seen.
 */
void py_report_owned(struct py_walk *walk);

void py_owned_deinit(struct py_walk *walk);

/**
 * A str object's text, if it is a compact str of at most max - 1 bytes in
 * UTF-8; false otherwise.
 */
bool py_read_str(struct py_walk *walk, uint64_t str, char *buf, size_t max);

/** The block of a dict's values (behind their prefix) at values. */
uint64_t py_values_block(struct py_walk *walk, uint64_t values);

/** coreheap_allocator::references and ::roots (refs.c). */
int py_references(const struct coreheap_host *host, void *state,
		  const struct coreheap_object *object, bool names,
		  coreheap_reference_fn fn, void *arg);
int py_roots(const struct coreheap_host *host, void *state,
	     coreheap_root_fn fn, void *arg);

/**
 * Declare as the runtime's own (add_owned_range), no root: the part of
 * each thread's frame stack above its top (the locals of frames that
 * returned), the heads of the GC generations (the collector's lists) and
 * the free lists' slots past their count (stale pointers to objects
 * taken again). From walk().
 */
void py_declare_unrooted(struct py_walk *walk);

/** Find pymalloc's arenas and report their pools and blocks. */
int py_walk_pymalloc(struct py_walk *walk);

/**
 * A str object's text, if it is a compact str of at most max - 1 bytes in
 * UTF-8 (ASCII, or with its UTF-8 form cached, or Latin-1 converted):
 * names are. False otherwise.
 */
bool py_read_str(struct py_walk *walk, uint64_t str, char *buf, size_t max);

/**
 * Each thread of each interpreter: its Python stack (function, file,
 * line; innermost first) and the exception it is handling, reported to
 * the host (add_runtime_stack) when it offers that (frames.c).
 */
void py_walk_stacks(struct py_walk *walk);

/** The innermost frame of the thread state at tstate, or 0. */
uint64_t py_current_frame(struct py_walk *walk, uint64_t tstate);

/**
 * The code object of the frame at frame, if it is a Python function's
 * frame (not a C entry frame, its executable a code object); 0 if not.
 */
uint64_t py_frame_code(struct py_walk *walk, uint64_t frame);

/**
 * The line that the instruction at instr of the code object at code is
 * on (PyCode_Addr2Line over co_linetable); 0 if unknown.
 */
int64_t py_code_line(struct py_walk *walk, uint64_t code, uint64_t instr);

#endif /* COREHEAP_CPYTHON_CPYTHON_H */
