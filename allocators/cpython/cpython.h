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
 *  - per interpreter, the objects in each GC generation.
 *
 * Layouts are CPython 3.11's on x86-64 (Debian 12's python3.11), checked
 * against its headers (Include/cpython/object.h, Include/internal/
 * pycore_interp.h, pycore_runtime.h, pycore_gc.h, pycore_dict.h,
 * Objects/obmalloc.c). Debian's interpreter is stripped: only dynamic
 * symbols (_PyRuntime, Py_Version, PyType_Type), so pymalloc's file-static
 * state is found by its contents (pymalloc.c).
 */
#ifndef COREHEAP_CPYTHON_CPYTHON_H
#define COREHEAP_CPYTHON_CPYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <coreheap/plugin.h>

/* _PyRuntimeState (pycore_runtime.h). */
#define PY_RUNTIME_INTERPRETERS_HEAD 40
/* PyInterpreterState (pycore_interp.h). */
#define PY_INTERP_NEXT 0
#define PY_INTERP_ID 48
/* interp->gc.generations[3], each {PyGC_Head head; int threshold, count}. */
#define PY_INTERP_GC_GENERATIONS 672
#define PY_GC_GENERATION_SIZE 24
#define PY_NUM_GC_GENERATIONS 3
/** interp->gc.permanent_generation, after the three. */
#define PY_INTERP_GC_PERMANENT 752

/* PyObject and PyTypeObject (Include/cpython/object.h). */
#define PY_OB_REFCNT 0
#define PY_OB_TYPE 8
#define PY_TP_NAME 24
#define PY_TP_BASICSIZE 32
#define PY_TP_ITEMSIZE 40
#define PY_TP_FLAGS 168
#define PY_TP_DICT 264
#define PY_TYPE_OBJECT_SIZE 408
#define PY_TP_WEAKLISTOFFSET 208
#define PY_TP_BASE 256
#define PY_TP_DICTOFFSET 288
#define PY_TP_BASES 336
#define PY_TP_MRO 344
#define PY_TP_SUBCLASSES 360
/* PyHeapTypeObject. */
#define PY_HT_NAME 848
#define PY_HT_QUALNAME 864
/** The shared keys of its instances' managed dicts (split tables). */
#define PY_HT_CACHED_KEYS 872
#define PY_HT_MODULE 880
#define PY_HEAP_TYPE_OBJECT_SIZE 872

#define PY_TPFLAGS_MANAGED_DICT (UINT64_C(1) << 4)
#define PY_TPFLAGS_HEAPTYPE (UINT64_C(1) << 9)
#define PY_TPFLAGS_READY (UINT64_C(1) << 12)
#define PY_TPFLAGS_HAVE_GC (UINT64_C(1) << 14)
#define PY_TPFLAGS_LIST_SUBCLASS (UINT64_C(1) << 25)
#define PY_TPFLAGS_DICT_SUBCLASS (UINT64_C(1) << 29)
#define PY_TPFLAGS_TYPE_SUBCLASS (UINT64_C(1) << 31)
/* PyVarObject's ob_size; PyListObject, PyTupleObject. */
#define PY_OB_SIZE 16
#define PY_LIST_ITEMS 24
#define PY_LIST_ALLOCATED 32
#define PY_TUPLE_ITEMS 24
/* PyCellObject, PyModuleObject, PyLongObject (30-bit digits). */
#define PY_CELL_REF 16
#define PY_MODULE_DICT 16
#define PY_LONG_DIGITS 24
#define PY_LONG_SHIFT 30
/** 3.11 keeps a managed dict's values behind the GC head: dict, values. */
#define PY_MANAGED_DICT_PTR (-24)
#define PY_MANAGED_VALUES_PTR (-32)
/* Sizes of the builtin containers (tp_basicsize): a subclass's own words
 * follow. */
#define PY_OBJECT_BASICSIZE 16
#define PY_LIST_BASICSIZE 40
#define PY_DICT_BASICSIZE 48

/* collections.deque (Modules/_collectionsmodule.c): blocks of 64 items
 * between a left and a right link. */
#define PY_DEQUE_LEFTBLOCK 24
#define PY_DEQUE_RIGHTBLOCK 32
#define PY_DEQUE_LEFTINDEX 40
#define PY_DEQUE_NUMFREEBLOCKS 72
#define PY_DEQUE_FREEBLOCKS 80
#define PY_DEQUE_MAX_FREE 16
#define PY_DEQUE_WEAKREFLIST 208
#define PY_DEQUE_BLOCK_LEN 64
#define PY_DEQUE_RIGHTLINK (8 + 8 * PY_DEQUE_BLOCK_LEN)

/* PyInterpreterState (pycore_interp.h): threads.head, modules. */
#define PY_INTERP_THREADS_HEAD 16
#define PY_INTERP_MODULES 888
/* PyThreadState (Include/cpython/pystate.h). */
#define PY_TSTATE_NEXT 8
#define PY_TSTATE_CFRAME 56
#define PY_TSTATE_NATIVE_THREAD_ID 160
/** The frames' stack: its current chunk, the top in use, the chunk's end. */
#define PY_TSTATE_DATASTACK_TOP 304
#define PY_TSTATE_DATASTACK_LIMIT 312
/* _PyCFrame. */
#define PY_CFRAME_CURRENT_FRAME 8
/* _PyInterpreterFrame (pycore_frame.h). */
#define PY_IFRAME_CODE 32
#define PY_IFRAME_PREVIOUS 48
#define PY_IFRAME_LOCALSPLUS 72
/* PyCodeObject. */
#define PY_CODE_NLOCALSPLUS 76
#define PY_CODE_LOCALSPLUSNAMES 96
#define PY_CODE_QUALNAME 128

/** sizeof(PyGC_Head): _gc_next and _gc_prev. */
#define PY_GC_HEAD_SIZE 16
/** The managed dict's two pointers before the GC head (3.11). */
#define PY_MANAGED_DICT_SIZE 16

/* PyASCIIObject and PyCompactUnicodeObject (Include/cpython/unicodeobject.h). */
#define PY_UNICODE_LENGTH 16
#define PY_UNICODE_STATE 32
#define PY_ASCII_DATA 48
#define PY_COMPACT_UTF8_LENGTH 48
#define PY_COMPACT_UTF8 56
#define PY_COMPACT_DATA 72

/* PyDictObject and PyDictKeysObject (pycore_dict.h). */
#define PY_DICT_KEYS 32
#define PY_DICT_VALUES 40
#define PY_KEYS_LOG2_SIZE 8
#define PY_KEYS_LOG2_INDEX_BYTES 9
#define PY_KEYS_KIND 10
#define PY_KEYS_NENTRIES 24
#define PY_KEYS_INDICES 32
#define PY_KEYS_KIND_GENERAL 0
#define PY_KEYS_KIND_SPLIT 2

/* pymalloc on 64-bit (Objects/obmalloc.c, 3.10 and 3.11). */
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
/* struct arena_object. */
#define PYMALLOC_ARENA_OBJECT_SIZE 48
/* struct pool_header. */
#define PYMALLOC_POOL_COUNT 0
#define PYMALLOC_POOL_FREEBLOCK 8
#define PYMALLOC_POOL_ARENAINDEX 32
#define PYMALLOC_POOL_SZIDX 36
#define PYMALLOC_POOL_NEXTOFFSET 40
#define PYMALLOC_POOL_MAXNEXTOFFSET 44

/** The most arenas looked at: 2^20 of them would be a terabyte. */
#define PY_MAX_ARENAS (UINT64_C(1) << 20)
/** The most interpreters followed. */
#define PY_MAX_INTERPRETERS 4096
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
	/** Its name as Python spells it; NULL for "not a type". */
	char *name;
};

/** Types met so far, by address: open addressing, no deletion. */
struct py_type_cache {
	struct py_type *slots;
	size_t capacity, types, not_types;
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
	uint64_t version_hex;    /**< Py_Version (PY_VERSION_HEX) */
	char version[32];        /**< "3.11.2" */
	/**
	 * The walk, kept past walk() for references() and roots() (its
	 * type cache); NULL before it. Owned.
	 */
	struct py_walk *walk;
	struct py_builtin_types builtins;
};

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
	int status;
	struct py_type_cache types;

	uint32_t arenas_region;
	uint32_t native_region;
	uint64_t arenas_array;   /**< the `arenas` vector found */
	uint64_t num_arena_slots;
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
 * `type` or a metatype): read once, then from the cache; NULL if not.
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
 * returned) and the heads of the GC generations (the collector's lists).
 * From walk().
 */
void py_declare_unrooted(struct py_walk *walk);

/** Find pymalloc's arenas and report their pools and blocks. */
int py_walk_pymalloc(struct py_walk *walk);

#endif /* COREHEAP_CPYTHON_CPYTHON_H */
