/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The allocator plugin interface of coreheap.
 *
 * This is the one public header an allocator plugin needs. The built-in
 * plugins (allocators/<name>/) are compiled against it exactly like a plugin
 * loaded with `--plugin PATH`, so it is the whole contract between the host
 * (coreheap) and an allocator decoder.
 *
 * A plugin sees the crashed process only through the host: memory reads,
 * symbols, threads, thread-local storage, mappings and modules. It reports
 * what it finds through the host too: every block (live allocation, free
 * chunk, allocator metadata), the regions (arenas) they belong to, and damage
 * to the allocator's own data structures.
 *
 * Everything read from the core is untrusted: a plugin bounds every list walk
 * and checks every pointer before it follows it. A plugin never aborts, never
 * writes to stdout or stderr, and never keeps a pointer handed to it by the
 * host beyond the call that gave it, unless stated below.
 *
 * Ownership: the host owns every pointer it hands out (strings in
 * coreheap_module, pointers from coreheap_host::map). A plugin owns the state
 * it creates in probe() and frees it in destroy().
 *
 * ## Adding an allocator
 *
 * A built-in allocator adds three things (allocators/glibc/ is the model):
 *  1. its folder, allocators/<name>/, whose files include only this header
 *     and their own (tests/check-layers.sh fails on anything else), with
 *     one `const struct coreheap_allocator coreheap_<name>_allocator` made
 *     as below (allocators/glibc/glibc.c at its end);
 *  2. its make fragment, allocators/<name>/local.mk, that adds its sources
 *     to libcoreheap.a (copy allocators/glibc/local.mk), and its line
 *     `include allocators/<name>/local.mk` in Makefile.am;
 *  3. its line in the plugin table, ch_builtin_allocators[] in
 *     src/heap/allocators.c (and the extern declaration above it).
 * tests/test_plugins.c then holds it to the rules of every allocator: a
 * name of its own, a description, probe and walk, and a probe that refuses
 * a core with no heap.
 *
 * An allocator outside coreheap is one C file built as a shared object,
 * `cc -shared -fPIC -I include -o toy.so toy.c`, that exports
 * `const struct coreheap_allocator *coreheap_allocator_entry(void)` and is
 * loaded with `--plugin PATH`. tests/toy_plugin.c is a complete small one.
 *
 * The table, static and const, with designated initializers:
 *
 *     const struct coreheap_allocator coreheap_toy_allocator = {
 *             COREHEAP_ALLOCATOR_INIT,
 *             .name = "toy",
 *             .description = "one line for --list-allocators",
 *             .probe = toy_probe,
 *             .walk = toy_walk,
 *             .destroy = toy_destroy,  // optional, like check
 *     };
 *
 * ## How the interface grows
 *
 * Both tables (struct coreheap_allocator, which the plugin fills, and
 * struct coreheap_host, which the host fills) start with abi_version and
 * size, set by whoever builds the table: COREHEAP_PLUGIN_ABI_VERSION and
 * the sizeof the table in the header it was built with
 * (COREHEAP_ALLOCATOR_INIT does both for a plugin).
 *  - New operations and fields are only ever added at the end of a table,
 *    and are optional. The host treats those past a plugin's size as NULL,
 *    so a plugin built against an older header loads and works unchanged.
 *    A plugin calls a host operation added after ABI 2's first set only
 *    when COREHEAP_HOST_HAS(host, op) says the host has it.
 *  - A table larger than the host knows (a plugin built for a newer
 *    coreheap) is refused, as is a table shorter than the required
 *    operations (COREHEAP_ALLOCATOR_MIN_SIZE): the plugin's operations
 *    could not be called safely.
 *  - COREHEAP_PLUGIN_ABI_VERSION changes only when something already in a
 *    table changes layout or meaning; the host refuses any other version.
 *
 * Operations added to struct coreheap_allocator since ABI 2's first set,
 * in order (each optional; the host checks it with COREHEAP_HAS()):
 *  - usable_size: the usable size the allocator gives a request, so that
 *    the host can tell one object of a type from an array of it (glibc
 *    gives malloc(8) 24 usable bytes: its 24-byte block holds one 8-byte
 *    struct, not an array of three; jemalloc gives it 8, and a 32-byte
 *    region of 8-byte elements is an array). A plugin without it: the
 *    host takes any block holding two or more elements for an array, and
 *    any request not larger than a block as one that could have made it.
 *  - references: a runtime's exact references of one of its objects (a
 *    list's items, a dict's keys and values, an instance's attributes),
 *    each named as the runtime names the step ("[3]", "['abc']",
 *    ".buffer"), which the host takes instead of scanning the object's
 *    words for anything that looks like a pointer.
 *  - roots: a runtime's own named roots (module globals, the locals of
 *    each thread's frames), where the host knows only anonymous memory.
 *
 * Operations added to struct coreheap_host since ABI 2's first set, in
 * order (each checked with COREHEAP_HOST_HAS()): add_owned_range,
 * add_stat, add_alloc_stack, add_object, next_block, type_block,
 * add_runtime_stack (a managed runtime's thread stacks and the exception
 * each handles, for triage).
 */
#ifndef COREHEAP_PLUGIN_H
#define COREHEAP_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Bump when anything already in a struct below changes layout or meaning;
 * not when operations are added at the end of a table (see the size
 * fields). 2: the tables carry their size.
 */
#define COREHEAP_PLUGIN_ABI_VERSION 2

/**
 * Whether table (a pointer to a struct coreheap_host or coreheap_allocator)
 * has the operation member: its builder's header had it (the table's size
 * covers it) and it is set.
 */
#define COREHEAP_HAS(table, member)                                        \
	((table)->size >= offsetof(__typeof__(*(table)), member) +          \
				  sizeof((table)->member) &&                \
	 (table)->member != NULL)
/** Whether the host offers operation op (one added after ABI 2's first set). */
#define COREHEAP_HOST_HAS(host, op) COREHEAP_HAS(host, op)

/** Status codes returned by plugin and host calls. */
enum coreheap_status {
	COREHEAP_OK = 0,
	/** What was asked for is not there (symbol, mapping, allocator). */
	COREHEAP_NOT_FOUND = -1,
	/** Memory that is not in the core nor in any mapped file. */
	COREHEAP_FAULT = -2,
	/** Out of memory in the plugin or the host. */
	COREHEAP_NOMEM = -3,
	/** The walk stopped: the allocator's data is too damaged to go on. */
	COREHEAP_CORRUPT = -4,
	/**
	 * Any other failure. From a plugin: it said why with
	 * coreheap_host::log. From the host: what it was given was wrong (see
	 * each operation).
	 */
	COREHEAP_FAILED = -5,
};

/** What a block is. */
enum coreheap_block_state {
	/** Handed out to the program and not freed: a live allocation. */
	COREHEAP_BLOCK_LIVE = 0,
	/** Free memory owned by the allocator (bins, caches, top chunk). */
	COREHEAP_BLOCK_FREE = 1,
	/**
	 * Memory the allocator took for itself from its own heap (glibc's
	 * tcache_perthread_struct, for example): neither live nor free.
	 */
	COREHEAP_BLOCK_METADATA = 2,
};

/** One block reported by a walk. */
struct coreheap_block {
	/**
	 * For a live block: the very pointer the allocator returned to the
	 * program. For free and metadata blocks: where their usable memory
	 * starts.
	 */
	uint64_t address;
	/**
	 * For a live block: its usable size (what malloc_usable_size() would
	 * return). For free and metadata blocks: their size in bytes.
	 */
	uint64_t size;
	/** One of enum coreheap_block_state. */
	uint32_t state;
	/** The region (arena) index from coreheap_host::add_region. */
	uint32_t region;
	/**
	 * A managed runtime's type name for the object (e.g. "dict"), or NULL.
	 * The host copies the string.
	 */
	const char *type_name;
	/**
	 * For an object that lives inside another allocator's block (a managed
	 * runtime's arena inside a malloc'd block), the address of that
	 * enclosing block; 0 otherwise.
	 */
	uint64_t parent;
};

/**
 * One object of a managed runtime, for coreheap_host::add_object. Its
 * memory is [address - header, address - header + size).
 */
struct coreheap_object {
	/** The object's identity: what the runtime's id() returns. */
	uint64_t address;
	/** The bytes the object occupies, header included. */
	uint64_t size;
	/**
	 * The bytes before address that are the object's: CPython's GC
	 * header and managed-dict pointers, say; 0 if none.
	 */
	uint64_t header;
	/** The region index from coreheap_host::add_region. */
	uint32_t region;
	/** Reserved: 0. */
	uint32_t flags;
	/**
	 * The type as the runtime spells it ("dict", "__main__.Marker").
	 * Copied by the host.
	 */
	const char *type_name;
};

/** One frame of a managed runtime's stack (add_runtime_stack). */
struct coreheap_runtime_frame {
	/**
	 * The function as the runtime names it (Python: the code object's
	 * qualified name, "Worker.park"); NULL if unknown. Copied.
	 */
	const char *function;
	/** Its source file; NULL if unknown. Copied. */
	const char *file;
	/** The line the frame is at; 0 if unknown. */
	int64_t line;
	/** The frame's own record in the runtime (CPython's
	 * _PyInterpreterFrame), or 0. */
	uint64_t address;
};

/** One thread of a managed runtime (add_runtime_stack). */
struct coreheap_runtime_stack {
	/**
	 * The OS thread it runs on, as the core's threads are numbered
	 * (coreheap_thread::tid); 0 if unknown.
	 */
	int32_t tid;
	/** Frames in frames[], innermost first. */
	uint32_t num_frames;
	const struct coreheap_runtime_frame *frames;
	/** The runtime's record of the thread (CPython's PyThreadState), or 0. */
	uint64_t thread;
	/** Where the thread runs, as the runtime says it ("interpreter 0"),
	 * or NULL. Copied. */
	const char *context;
	/**
	 * The exception the thread is handling (Python: sys.exception()),
	 * its type as the runtime spells it, or NULL for none. Copied.
	 */
	const char *exception_type;
	/** Its message (Python: its first argument, a str), or NULL. Copied. */
	const char *exception_message;
	/** Its identity (Python: id()), or 0. */
	uint64_t exception;
};

/** An arena or other top-level region of an allocator, for summaries. */
struct coreheap_region {
	/** Human name, e.g. "main_arena" or "arena 0x7f12ac000020". Copied. */
	const char *name;
	/** The address of the region's control structure (0 if none). */
	uint64_t address;
	/**
	 * The size of that control structure (glibc's malloc_state, say):
	 * allocator metadata, which is never scanned as a root. 0 if unknown.
	 */
	uint64_t control_size;
	/** Bytes the allocator got from the system for this region. */
	uint64_t system_bytes;
	/** The top (wilderness) chunk, if the allocator has one; else 0. */
	uint64_t top_address;
	uint64_t top_size;
};

/**
 * What a range declared with coreheap_host::add_owned_range is. Roots (the
 * memory whose pointers keep allocations alive) are every aligned word of
 * writable memory that no allocator owns: the host leaves out exactly the
 * ranges declared here, and scans the rest of every writable mapping, so
 * that memory the kernel merged into one mapping with the allocator's (a
 * program's own mmap'd pool next to an mmapped chunk) is still a root.
 */
enum coreheap_owned_kind {
	/**
	 * Memory the allocator manages and its walk explains: its live and
	 * free blocks, their headers, its own metadata (arena and heap
	 * headers), memory it keeps mapped for later growth. Never a root.
	 */
	COREHEAP_OWNED_HEAP = 0,
	/**
	 * Memory a region of the allocator spans that its walk cannot
	 * explain: a foreign sbrk between two runs of glibc's main arena,
	 * chunks skipped after damage. Counted per region and shown by
	 * `summary`; scanned as a root (named so), so that what only it
	 * points to is not reported as leaked on a guess.
	 */
	COREHEAP_OWNED_UNEXPLAINED = 1,
};

/** Kinds of damage a plugin can report. */
enum coreheap_damage_kind {
	COREHEAP_DAMAGE_BAD_SIZE = 0,      /**< an impossible size field */
	COREHEAP_DAMAGE_BAD_POINTER = 1,   /**< a list pointer out of bounds or misaligned */
	COREHEAP_DAMAGE_CYCLE = 2,         /**< a list that loops or never ends */
	COREHEAP_DAMAGE_DOUBLE_FREE = 3,   /**< a block listed twice as free */
	COREHEAP_DAMAGE_INCONSISTENT = 4,  /**< metadata that contradicts itself */
	COREHEAP_DAMAGE_UNREADABLE = 5,    /**< metadata not in the core */
};

/** Damage to the allocator's metadata. */
struct coreheap_damage {
	uint32_t kind;          /**< enum coreheap_damage_kind */
	uint32_t region;        /**< region index, or UINT32_MAX if unknown */
	uint64_t address;       /**< the damaged metadata (e.g. a chunk header) */
	const char *message;    /**< one line, no trailing newline; copied */
};

/** A symbol resolved by the host. */
struct coreheap_symbol {
	/**
	 * For ordinary symbols, the run-time address in the process. For TLS
	 * symbols (is_tls), the offset inside the module's TLS block: pass it
	 * to coreheap_host::tls_address.
	 */
	uint64_t address;
	uint64_t size;
	/** Index of the module that defines it (see coreheap_host::module). */
	uint32_t module;
	bool is_tls;
	/** True if it came from debug info or .symtab, false from .dynsym. */
	bool from_debuginfo;
};

/** A thread of the process, as the core recorded it. */
struct coreheap_thread {
	int32_t tid;
	uint64_t pc;
	uint64_t sp;
	/** The thread pointer (x86-64: fs_base). */
	uint64_t thread_pointer;
};

/** A loaded module (executable or shared library). */
struct coreheap_module {
	/** Name as the process knew it (path from the core). */
	const char *name;
	/** The file used for it, or NULL if the binary was not found. */
	const char *path;
	/** Separate debug file, or NULL (none, or DWARF is in path). */
	const char *debug_path;
	uint64_t start, end;  /**< address range in the process */
	uint64_t bias;        /**< load bias: run-time address - link-time address */
	bool has_binary;
	bool has_debuginfo;   /**< DWARF or a full .symtab was found */
};

/** Memory protection of a mapping. */
enum coreheap_prot {
	COREHEAP_PROT_READ = 1,
	COREHEAP_PROT_WRITE = 2,
	COREHEAP_PROT_EXEC = 4,
};

/** A range of the process's address space. */
struct coreheap_mapping {
	uint64_t start, end;
	uint32_t prot;          /**< enum coreheap_prot bits */
	/** Backing file from the core's NT_FILE note, or NULL (anonymous). */
	const char *file;
	/** Bytes from start that the core holds (or a file supplies). */
	uint64_t available;
};

/**
 * The host: what coreheap offers a plugin. All functions are safe to call at
 * any time during probe/walk/check/destroy of the plugin they were given to.
 * Every operation listed here is always set; those added later are checked
 * with COREHEAP_HOST_HAS() first.
 *
 * Out-parameters (ret) are written only on COREHEAP_OK. Nothing here
 * returns a status not listed with it.
 */
struct coreheap_host {
	/** COREHEAP_PLUGIN_ABI_VERSION of the host. */
	uint32_t abi_version;
	/** sizeof(struct coreheap_host) in the host's header. */
	uint32_t size;
	/** Host-private; plugins must not touch. */
	void *private_data;

	/**
	 * Copy len bytes at addr into buf. COREHEAP_OK, or COREHEAP_FAULT if
	 * any of them is neither in the core nor in a binary it maps (buf is
	 * then undefined).
	 */
	int (*read)(const struct coreheap_host *host, uint64_t addr, void *buf,
		    size_t len);
	/**
	 * A zero-copy view of len bytes at addr, valid until the plugin's
	 * destroy() returns; NULL if those bytes are not all available in one
	 * piece (use read() then).
	 */
	const void *(*map)(const struct coreheap_host *host, uint64_t addr,
			   size_t len);
	/**
	 * Look a symbol up by name. If module_name is not NULL, only modules
	 * whose file name starts with it (e.g. "libc.so") are searched.
	 * COREHEAP_OK or COREHEAP_NOT_FOUND.
	 */
	int (*symbol)(const struct coreheap_host *host, const char *module_name,
		      const char *name, struct coreheap_symbol *ret);
	/**
	 * The address of the TLS variable at offset within module's TLS block,
	 * in the given thread. COREHEAP_OK; COREHEAP_NOT_FOUND if the thread
	 * or module index is out of range or the block cannot be located;
	 * COREHEAP_NOMEM.
	 */
	int (*tls_address)(const struct coreheap_host *host, size_t thread,
			   uint32_t module, uint64_t offset, uint64_t *ret);

	/** The number of threads; indices run from 0 below it. */
	size_t (*num_threads)(const struct coreheap_host *host);
	/** Thread i. COREHEAP_OK, or COREHEAP_NOT_FOUND if i is out of range. */
	int (*thread)(const struct coreheap_host *host, size_t i,
		      struct coreheap_thread *ret);
	/** The number of modules; indices run from 0 below it. */
	size_t (*num_modules)(const struct coreheap_host *host);
	/** Module i. COREHEAP_OK, or COREHEAP_NOT_FOUND if i is out of range. */
	int (*module)(const struct coreheap_host *host, size_t i,
		      struct coreheap_module *ret);
	/**
	 * Index of the first module whose file name starts with prefix.
	 * COREHEAP_OK or COREHEAP_NOT_FOUND.
	 */
	int (*find_module)(const struct coreheap_host *host, const char *prefix,
			   uint32_t *ret);
	/** The number of mappings; indices run from 0 below it. */
	size_t (*num_mappings)(const struct coreheap_host *host);
	/**
	 * Mapping i; mappings are sorted by start and do not overlap.
	 * COREHEAP_OK, or COREHEAP_NOT_FOUND if i is out of range.
	 */
	int (*mapping)(const struct coreheap_host *host, size_t i,
		       struct coreheap_mapping *ret);

	/*
	 * The reporting calls below fail when the host cannot keep what it is
	 * given (out of memory, one of its limits). The plugin then returns
	 * that status at once: the host keeps its own error and ends the
	 * command with it once the plugin's call returns, whatever the plugin
	 * returned. add_block's refusal of a block in no state is the one
	 * failure that is the plugin's, not the host's: see there.
	 */

	/**
	 * Declare a region; its index goes into blocks and damage. COREHEAP_OK,
	 * COREHEAP_NOMEM, or COREHEAP_FAILED (more than 2^32 - 2 regions).
	 */
	int (*add_region)(const struct coreheap_host *host,
			  const struct coreheap_region *region, uint32_t *ret);
	/**
	 * Report one block. COREHEAP_OK; COREHEAP_FAILED if block->state is no
	 * enum coreheap_block_state (nothing is kept, and the host goes on:
	 * this one is the plugin's bug, not the host's) or if the blocks
	 * carry more than 65535 different type_names; COREHEAP_NOMEM. A
	 * block of 2^48 bytes or more (no address space holds it) is kept
	 * as damage (COREHEAP_DAMAGE_BAD_SIZE), not as a block.
	 */
	int (*add_block)(const struct coreheap_host *host,
			 const struct coreheap_block *block);
	/**
	 * Report damage. COREHEAP_OK (also past the 10000th report, which are
	 * counted but not kept) or COREHEAP_NOMEM.
	 */
	int (*add_damage)(const struct coreheap_host *host,
			  const struct coreheap_damage *damage);
	/**
	 * Find the live block (of any allocator walked before this one) that
	 * contains addr. For managed runtimes that live inside malloc'd blocks:
	 * native allocators' blocks are known only once they all walked (from
	 * the walk of a plugin whose is_runtime is true). COREHEAP_OK or
	 * COREHEAP_NOT_FOUND; ret->type_name is NULL and ret->parent 0.
	 */
	int (*find_block)(const struct coreheap_host *host, uint64_t addr,
			  struct coreheap_block *ret);
	/**
	 * A one-line note for the user (no newline), e.g. what was guessed;
	 * longer than 511 bytes, it is cut.
	 */
	void (*log)(const struct coreheap_host *host, int level,
		    const char *format, ...)
		__attribute__((format(printf, 3, 4)));

	/* Added after ABI 2's first set: check with COREHEAP_HOST_HAS(). */

	/**
	 * Declare that the allocator owns [start, end), as kind (enum
	 * coreheap_owned_kind), for region (an index from add_region, or
	 * UINT32_MAX). Ranges may be declared in any order and overlap;
	 * where an UNEXPLAINED range overlaps a HEAP one, it wins, so that a
	 * piece can be cut out of a heap declared whole.
	 * Declare what the allocator itself mapped or took, never a whole
	 * mapping by its bounds: the kernel merges neighbouring anonymous
	 * mappings, and the program's memory next to the allocator's must
	 * stay a root. An allocator that declares no range at all is
	 * treated as before this operation: every mapping that holds one of
	 * its blocks is left out of the roots whole.
	 * COREHEAP_OK; COREHEAP_FAILED if end <= start or kind is unknown
	 * (nothing kept; the plugin's bug, the host goes on); COREHEAP_NOMEM.
	 */
	int (*add_owned_range)(const struct coreheap_host *host,
			       uint32_t region, uint64_t start, uint64_t end,
			       uint32_t kind);
	/**
	 * Put one number into a region's table for `summary`: the
	 * allocator's own figures (per size class, say), which summary
	 * prints under the region, one line per row: "row: key value, key
	 * value". region is an index from add_region; row and key are one
	 * line each, no newline, and copied. The keys of one row are
	 * reported one after the other: a row reported again after another
	 * one is printed again. Past the 100000th number of a heap, numbers
	 * are counted but not kept (summary says so).
	 * COREHEAP_OK; COREHEAP_FAILED if region is no region of this
	 * plugin or row or key is NULL or empty (nothing kept; the plugin's
	 * bug, the host goes on); COREHEAP_NOMEM.
	 */
	int (*add_stat)(const struct coreheap_host *host, uint32_t region,
			const char *row, const char *key, uint64_t value);
	/**
	 * Say where the live block at address (its start, as reported with
	 * add_block) was allocated, where the allocator recorded it
	 * (jemalloc's heap profiling keeps the stack of every sampled
	 * allocation): pcs[0 .. num_pcs), the return addresses of the
	 * allocating thread's stack, innermost first, the allocator's own
	 * frames left out where the plugin can tell them. The host copies
	 * them and shows them with the block (describe, why, leaks).
	 * COREHEAP_OK; COREHEAP_FAILED if num_pcs is 0 or above
	 * COREHEAP_MAX_STACK_PCS or pcs is NULL (nothing kept; the plugin's
	 * bug, the host goes on); COREHEAP_NOMEM.
	 */
	int (*add_alloc_stack)(const struct coreheap_host *host,
			       uint64_t address, const uint64_t *pcs,
			       size_t num_pcs);
	/**
	 * Report one object of a managed runtime (a Python object, say):
	 * only from the walk of a plugin whose is_runtime is true. The host
	 * finds its parent: the live block of an allocator walked before
	 * (glibc's, jemalloc's) that holds object->address. Inside one, the
	 * object is a node nested in that block, and when the object's
	 * memory begins where the block does (address - header is the
	 * block's address: the runtime allocated the block for it) the
	 * block takes the object's type. In none, the object is a live block
	 * of this allocator, in object->region (the runtime's own arenas).
	 * *parent_ret, if parent_ret is not NULL, is the parent's address,
	 * or 0. Objects may come in any order.
	 * COREHEAP_OK; COREHEAP_FAILED if the object has no address, a size
	 * not above its header, or comes from no runtime's walk (nothing
	 * kept; the plugin's bug, the host goes on) or if the objects and
	 * blocks carry more than 65535 different type_names; COREHEAP_NOMEM.
	 * An object in no block, of 2^48 bytes or more, is kept as damage
	 * (as add_block's).
	 */
	int (*add_object)(const struct coreheap_host *host,
			  const struct coreheap_object *object,
			  uint64_t *parent_ret);
	/**
	 * The live block, of the allocators walked before this one, with the
	 * lowest address at or above addr: a runtime goes through the native
	 * blocks with it (the objects too big for its own arenas live in
	 * them). COREHEAP_OK or COREHEAP_NOT_FOUND; ret->type_name is NULL
	 * and ret->parent 0.
	 */
	int (*next_block)(const struct coreheap_host *host, uint64_t addr,
			  struct coreheap_block *ret);
	/**
	 * Give the live block that starts at address, of an allocator walked
	 * before this one, the type type_name (copied): what a runtime knows
	 * of the native memory its objects own (a Python list's item array).
	 * Only from the walk of a plugin whose is_runtime is true; a block
	 * already typed keeps its type. COREHEAP_OK; COREHEAP_NOT_FOUND if no
	 * such block starts there; COREHEAP_FAILED if type_name is NULL or
	 * empty or the plugin is no runtime (the plugin's bug, the host goes
	 * on), or past 65535 type names; COREHEAP_NOMEM.
	 */
	int (*type_block)(const struct coreheap_host *host, uint64_t address,
			  const char *type_name);
	/**
	 * Report one thread's stack in a managed runtime (its Python frames,
	 * say), and the exception it is handling: only from the walk of a
	 * plugin whose is_runtime is true. The host copies everything and
	 * shows it next to the thread's native stack (triage). A runtime
	 * thread on no thread of the core (tid 0, or one not there) is shown
	 * apart. COREHEAP_OK; COREHEAP_FAILED if num_frames is above
	 * COREHEAP_MAX_RUNTIME_FRAMES or frames is NULL with num_frames
	 * above 0, or the plugin is no runtime (nothing kept; the plugin's
	 * bug, the host goes on); COREHEAP_NOMEM.
	 */
	int (*add_runtime_stack)(const struct coreheap_host *host,
				 const struct coreheap_runtime_stack *stack);
	/* New operations go here, at the end, and are checked with
	 * COREHEAP_HOST_HAS() by the plugins that use them. */
};

/** The most frames coreheap_host::add_runtime_stack takes. */
#define COREHEAP_MAX_RUNTIME_FRAMES 4096

/** The most return addresses coreheap_host::add_alloc_stack takes. */
#define COREHEAP_MAX_STACK_PCS 256

/** Levels for coreheap_host::log. */
enum coreheap_log_level {
	COREHEAP_LOG_DEBUG = 0,   /**< shown with --verbose */
	COREHEAP_LOG_INFO = 1,    /**< shown with --verbose */
	COREHEAP_LOG_WARNING = 2, /**< always shown on stderr */
};

/** One reference an object holds, for coreheap_allocator::references. */
struct coreheap_reference {
	/**
	 * The address referenced: another object's identity (Python's id())
	 * or a buffer the object owns (a list's item array).
	 */
	uint64_t target;
	/**
	 * How the runtime names the step, appended to the holder's type:
	 * "[3]" (an item), "['abc']" (a dict's value), ".buffer" (an
	 * attribute); NULL when names were not asked for or the step has
	 * none (a buffer the object owns). Valid during the callback only.
	 */
	const char *name;
	/** enum coreheap_reference_flags bits. */
	uint32_t flags;
};

/** What a reference is, beyond its target. */
enum coreheap_reference_flags {
	/**
	 * The target is memory the object owns and whose contents the
	 * object's other references already list (a list's item array, a
	 * dict's key table): the host does not scan it, so that what stale
	 * words there point to (past a list's length) keeps nothing alive.
	 */
	COREHEAP_REFERENCE_OWNED = 1,
};

/** One root a runtime names, for coreheap_allocator::roots. */
struct coreheap_root {
	/**
	 * The root's name as the runtime's user knows it: "module __main__
	 * .sessions", "thread 2 frame handle_request() local req". Valid
	 * during the callback only.
	 */
	const char *name;
	/** The object it holds (its identity). */
	uint64_t target;
};

/**
 * Where coreheap_allocator::references and ::roots put what they find:
 * called once per reference or root; anything but COREHEAP_OK stops the
 * operation, which then returns that status.
 */
typedef int (*coreheap_reference_fn)(void *arg,
				     const struct coreheap_reference *ref);
typedef int (*coreheap_root_fn)(void *arg, const struct coreheap_root *root);

/**
 * An allocator plugin: a static const table of operations, made with
 * COREHEAP_ALLOCATOR_INIT first (see "Adding an allocator" above).
 */
struct coreheap_allocator {
	/** COREHEAP_PLUGIN_ABI_VERSION at the plugin's build. */
	uint32_t abi_version;
	/**
	 * sizeof(struct coreheap_allocator) at the plugin's build: the host
	 * treats operations past it as NULL.
	 */
	uint32_t size;
	/** Short lower-case name, as given to --allocator ("glibc"). */
	const char *name;
	/** One line for `coreheap --list-allocators`. */
	const char *description;
	/**
	 * Managed runtimes run after native allocators, so that they can use
	 * find_block(). True for those.
	 */
	bool is_runtime;

	/**
	 * Required. Does this core use this allocator? Sets *confidence_ret to
	 * 0 (no) .. 100 (certain) and, if above 0, *state_ret to the plugin's
	 * state (may stay NULL). If forced is true the user named this
	 * allocator with --allocator: try harder, accept weaker evidence.
	 * Returns COREHEAP_OK, also for "not this allocator" (confidence 0);
	 * any other status is taken as "not this allocator" too, and the
	 * state, if set, is destroyed.
	 */
	int (*probe)(const struct coreheap_host *host, bool forced,
		     int *confidence_ret, void **state_ret);
	/**
	 * Required. Report every region, every live block and every free
	 * block. Damage met on the way is reported with add_damage and the
	 * walk goes on where it safely can; COREHEAP_CORRUPT only when
	 * nothing more can be trusted. COREHEAP_NOMEM ends the command; any
	 * status but COREHEAP_OK makes the results partial.
	 */
	int (*walk)(const struct coreheap_host *host, void *state);
	/**
	 * Optional: deeper consistency checks of the allocator's metadata,
	 * reported with add_damage, beyond what walk() already reports. Called
	 * after a walk that returned COREHEAP_OK; returns as walk() does.
	 */
	int (*check)(const struct coreheap_host *host, void *state);
	/** Optional: free the state made by probe (NULL-safe). */
	void (*destroy)(void *state);

	/* Added after ABI 2's first set: the host checks with COREHEAP_HAS(). */

	/**
	 * Optional: the usable size (what malloc_usable_size() would return)
	 * of the block a request of request bytes gets, served the way the
	 * live block like was served (like is one the walk reported: glibc
	 * rounds a chunk of its heaps to 16 bytes, an mmapped chunk to
	 * pages). Called after walk(), any number of times, from the threads
	 * that type the heap, two at once: it must be cheap, must not report
	 * anything and must not change the plugin's state. COREHEAP_OK with
	 * *ret set, or COREHEAP_NOT_FOUND when such a request cannot be
	 * served so (too large for the allocator's size classes, or like is
	 * no block it knows how to size).
	 */
	int (*usable_size)(const struct coreheap_host *host, void *state,
			   const struct coreheap_block *like, uint64_t request,
			   uint64_t *ret);
	/**
	 * Optional, for runtimes: the exact references of one object the
	 * walk reported with add_object (object->address its identity,
	 * ->size and ->header its memory as reported; region, flags and
	 * type_name are 0 and NULL), each passed to fn with arg, names
	 * included if names is true. COREHEAP_OK: these are all its
	 * references, and the host takes them instead of a conservative
	 * scan of its words (fn may have been called no time: an int holds
	 * none). COREHEAP_NOT_FOUND: the plugin does not know this object's
	 * layout; the host scans it. Any other status (from fn, or
	 * COREHEAP_NOMEM): the host stops. Called after walk(), any number
	 * of times, from one thread at a time; it reads the core but
	 * reports nothing.
	 */
	int (*references)(const struct coreheap_host *host, void *state,
			  const struct coreheap_object *object, bool names,
			  coreheap_reference_fn fn, void *arg);
	/**
	 * Optional, for runtimes: each root the runtime names, passed to fn
	 * with arg (a root whose target is no object is ignored). Called
	 * after walk(), from one thread; COREHEAP_OK, or the status of fn,
	 * or COREHEAP_NOMEM.
	 */
	int (*roots)(const struct coreheap_host *host, void *state,
		     coreheap_root_fn fn, void *arg);
	/* New operations go here, at the end, optional (NULL). */
};

/** The first members of every coreheap_allocator table, set for its build. */
#define COREHEAP_ALLOCATOR_INIT                           \
	.abi_version = COREHEAP_PLUGIN_ABI_VERSION,       \
	.size = sizeof(struct coreheap_allocator)

/**
 * The smallest table the host loads: one that ends with walk, the last
 * required operation.
 */
#define COREHEAP_ALLOCATOR_MIN_SIZE                                   \
	(offsetof(struct coreheap_allocator, walk) +                  \
	 sizeof(((struct coreheap_allocator *)0)->walk))

/** The symbol a loadable plugin exports. */
typedef const struct coreheap_allocator *(*coreheap_allocator_entry_fn)(void);
#define COREHEAP_ALLOCATOR_ENTRY "coreheap_allocator_entry"

#ifdef __cplusplus
}
#endif

#endif /* COREHEAP_PLUGIN_H */
