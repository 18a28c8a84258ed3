/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The modules (executable and shared libraries) of a core, found with
 * libdwfl, and their symbols.
 *
 * Nothing outside modules.c sees a Dwfl or Dwfl_Module: the rest of coreheap
 * uses struct ch_module. Modules are identified by build-id, never by name
 * (libdwfl names them differently depending on how they were found).
 */
#ifndef COREHEAP_MODULES_H
#define COREHEAP_MODULES_H

#include <elfutils/libdw.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "core/core.h"

// core/address_space.h, which is built from the modules.
struct ch_address_space;

struct ch_module_internal;

/** The longest build-id kept. */
#define CH_MAX_BUILD_ID 64

/** Where a module's binary or debug info came from. */
enum ch_file_source {
	CH_SOURCE_NONE,
	/** The path the core names (its NT_FILE note), on this machine. */
	CH_SOURCE_CORE_PATH,
	/** --exe. */
	CH_SOURCE_EXE,
	/** Under --sysroot (binaries; debug files under DIR/usr/lib/debug). */
	CH_SOURCE_SYSROOT,
	/** A debug directory (/usr/lib/debug, --debug-dir, --debuginfo-path). */
	CH_SOURCE_DEBUG_DIR,
	/** Fetched by build-id from a debuginfod server (DEBUGINFOD_URLS). */
	CH_SOURCE_DEBUGINFOD,
	/** Debug info: inside the binary itself. */
	CH_SOURCE_BINARY,
	/** Binary: the core's own memory (the vDSO). */
	CH_SOURCE_CORE_MEMORY,
};

/** "debuginfod", "sysroot", ... for reports. */
const char *ch_file_source_name(enum ch_file_source source);

struct ch_module {
	/** The name the core gives it (its path in the process). Owned. */
	char *name;
	/** The binary used, or NULL if none was found. Owned. */
	char *path;
	/** The separate debug file, or NULL. Owned. */
	char *debug_path;
	uint64_t start, end;
	/** Run-time address minus link-time address. */
	uint64_t bias;
	uint8_t build_id[CH_MAX_BUILD_ID];
	size_t build_id_size;
	/** A binary with the core's build-id was found. */
	bool has_binary;
	/** DWARF was found (with it, usually a full .symtab). */
	bool has_dwarf;
	/** A separate debug file or a .symtab was found (local symbols). */
	bool has_debug_symbols;
	/** The kernel's vDSO: no file, but wholly in the core. */
	bool is_vdso;
	/** The module holds the program's entry point (AT_ENTRY). */
	bool is_executable;
	/** Where path and the debug info came from. */
	enum ch_file_source binary_source, debug_source;

	/** The module's TLS block (PT_TLS), if it has one. */
	bool has_tls;
	uint64_t tls_size, tls_align;

	struct ch_module_internal *internal;
};

/** Where to look for binaries and debug info. */
struct ch_module_search {
	/** The executable (--exe), or NULL. */
	const char *executable;
	/** Prefix for the paths in the core (--sysroot), or NULL. */
	const char *sysroot;
	/** libdwfl's debuginfo path (--debuginfo-path), or NULL for the default. */
	const char *debuginfo_path;
	/** Extra directories for debug files (--debug-dir), appended. */
	const char *const *debug_dirs;
	size_t num_debug_dirs;
};

struct ch_modules {
	struct ch_module *modules;
	size_t num_modules;
	/** Modules sorted by start, for lookups by address. */
	struct ch_module **by_address;
	/** Private to modules.c: the Dwfl and the callbacks it points to. */
	void *dwfl;
	void *callbacks;
	char *debuginfo_path;
	/**
	 * The program headers libdwfl reads: the core's but the threads'
	 * stacks and their guard pages (hidden_phdrs of them), which its
	 * search for the modules would look through for every header.
	 */
	size_t dwfl_phdrs, hidden_phdrs;
	/**
	 * Those are more than CH_MAX_DWFL_PHDRS: no module was looked up
	 * (the Dwfl is NULL).
	 */
	bool skipped;
	/**
	 * No thread can be unwound: a thread id is impossible
	 * (ch_core::has_bad_tid), or the modules were skipped.
	 */
	bool threads_unreadable;
	/**
	 * Private to modules.c: what libdwfl's unwinder reads the threads'
	 * registers and memory through, from ch_stacks_create() to the end
	 * of the Dwfl.
	 */
	void *thread_source;
	/**
	 * Paths of the core's NT_FILE note that exist but are no regular
	 * file (a FIFO, a device): hidden from libdwfl, which would block
	 * opening them.
	 */
	size_t unsafe_paths;
	/** The first of them. */
	char *unsafe_path;
	/**
	 * Private to modules.c: what libdwfl reads of the core, when paths
	 * or headers are hidden from it (else the core's own Elf): view_elf,
	 * over view, a private mapping of view_size bytes of the core file,
	 * or over the memory of a core read into memory (view NULL), edited
	 * in place.
	 */
	void *view;
	size_t view_size;
	bool view_edited;
	Elf *view_elf;
	/**
	 * Private to modules.c: the thread that loads DWARF beside the
	 * caller's work (ch_modules_load_dwarf_beside()), and the lock of
	 * the symbols' indexes.
	 */
	struct ch_modules_loading *loading;
};

/**
 * The most program headers a core may have for libdwfl to look for its
 * modules, whose search takes time quadratic in them (13 s at 300,000):
 * the kernel's default limit of mappings per process (vm.max_map_count,
 * 65530), with room for the notes.
 */
#define CH_MAX_DWFL_PHDRS 65536

/**
 * Find the modules of core with libdwfl, their binaries and debug info.
 * A module whose binary is missing is still listed (has_binary false).
 * Binaries are opened without blocking and only if they are regular files.
 * Also reads the threads for unwinding, once (see threads_unreadable).
 */
struct ch_error *ch_modules_create(struct ch_core *core,
				   const struct ch_module_search *search,
				   struct ch_modules **ret);
void ch_modules_destroy(struct ch_modules *modules);

/**
 * Start loading the modules' DWARF (libdwfl inflates compressed debug
 * sections: about 0.05 s for libc's) on a thread of its own, for a caller
 * that will read it and has other work first. Every module's
 * symbols are indexed before it starts (ch_module_find_symbol()); any other
 * function here that needs libdwfl waits until the thread is over. Without
 * a thread (out of resources) the DWARF is loaded when first asked for.
 * Errors: out of memory.
 */
struct ch_error *ch_modules_load_dwarf_beside(struct ch_modules *modules);

/**
 * Check a binary the user names (what is "--exe" in messages): a regular
 * file (opened without blocking), a whole ELF executable or shared object
 * (every header, segment and section it declares is in the file). Its
 * build-id, if it has one, goes to build_id (CH_MAX_BUILD_ID bytes) and
 * its size to *build_id_size_ret (0 without one).
 * Errors: CH_ERROR_OS, CH_ERROR_FORMAT, each message naming the path.
 */
struct ch_error *ch_binary_check(const char *path, const char *what,
				 uint8_t *build_id, size_t *build_id_size_ret);

/** The module whose range holds addr, or NULL. */
struct ch_module *ch_modules_find_by_address(const struct ch_modules *modules,
					     uint64_t addr);

/**
 * The first module whose file name (the last component of its name) starts
 * with prefix, e.g. "libc.so". NULL if none.
 */
struct ch_module *ch_modules_find_by_prefix(const struct ch_modules *modules,
					    const char *prefix);

/** A symbol of a module. */
struct ch_module_symbol {
	/** Run-time address; for STT_TLS, the offset in the module's TLS block. */
	uint64_t address;
	uint64_t size;
	bool is_tls;
	/** From .symtab of a debug file rather than from .dynsym. */
	bool from_debuginfo;
};

/**
 * Look a symbol up by name: the first of that name in the symbol table,
 * section and file symbols aside. CH_ERROR_NOT_FOUND if it is not there.
 * The module's symbols are read once, then looked up in an index that
 * needs no libdwfl call: while ch_modules_load_dwarf_beside() runs, a
 * module indexed before it started answers at once.
 */
struct ch_error *ch_module_find_symbol(struct ch_module *module,
				       const char *name,
				       struct ch_module_symbol *ret);

/**
 * Name the address: the symbol holding it and the offset into it. Returns
 * NULL if no symbol covers it. The name stays valid while modules live.
 */
const char *ch_module_symbolize(struct ch_module *module, uint64_t addr,
				uint64_t *offset_ret);

/** How ch_modules_name_address() names an address. */
enum ch_address_name_flags {
	/** "module!symbol": the module's file name before the symbol. */
	CH_NAME_MODULE = 1,
	/** "symbol+0x10": the offset into the symbol, when it is not 0. */
	CH_NAME_OFFSET = 2,
};

/**
 * Append to name how every report names a code or data address: its
 * symbol, demangled ("grow(int, int)::keep"), after "module!" and before
 * "+0xoffset" as flags ask; without a symbol (a stripped binary)
 * "module+0xoffset" from the module's start, whatever the flags; in no
 * module "0xaddress". Errors: out of memory.
 */
struct ch_error *ch_modules_name_address(const struct ch_modules *modules,
					 uint64_t addr, unsigned flags,
					 struct ch_strbuf *name);

/** The module's binary as libelf sees it (NULL without a binary). */
Elf *ch_module_elf(struct ch_module *module);

/** The module's DWARF (NULL without debug info); *bias_ret is its bias. */
Dwarf *ch_module_dwarf(struct ch_module *module, uint64_t *bias_ret);

/** The module's build-id as lower-case hex into buf (at least 129 bytes). */
/**
 * The source file and line of the code at addr where the module's DWARF
 * has a line table for it: true, *file_ret owned by libdw (valid while the
 * modules are); false when it has none.
 */
bool ch_module_source_line(struct ch_module *module, uint64_t addr,
			   const char **file_ret, int *line_ret);

void ch_module_build_id_hex(const struct ch_module *module, char *buf);

/**
 * Called with each symbol by ch_module_for_each_symbol(): its name (valid
 * while the modules live), address and size, and its ELF type (STT_OBJECT,
 * STT_FUNC, ...). Returns false to stop.
 */
typedef bool ch_module_symbol_fn(const char *name,
				 const struct ch_module_symbol *symbol,
				 int elf_type, void *arg);

/**
 * Call fn for every defined symbol of module except section, file and TLS
 * symbols: those of .symtab when libdwfl found one (in the binary or its
 * debug file), else those of .dynsym. Nothing without a binary.
 */
void ch_module_for_each_symbol(struct ch_module *module,
			       ch_module_symbol_fn *fn, void *arg);

/**
 * The symbol covering addr (or the nearest sized one below, as libdwfl
 * decides), the offset into it and its size. NULL if none.
 */
const char *ch_module_symbol_at(struct ch_module *module, uint64_t addr,
				uint64_t *offset_ret, uint64_t *size_ret);

/**
 * Name an offset in the module's TLS block: the STT_TLS symbol holding it
 * and the offset into that symbol; NULL if none.
 */
const char *ch_module_symbolize_tls(struct ch_module *module, uint64_t offset,
				    uint64_t *offset_ret);

/** The most frames unwound per thread (as eu-stack). */
#define CH_MAX_FRAMES 256

/** Where a frame's locals are: what DWARF location expressions refer to. */
struct ch_frame_context {
	/** A pc inside the function (for a return address, pc - 1). */
	uint64_t pc;
	/** The canonical frame address: the caller's sp (x86-64). */
	uint64_t cfa;
	uint64_t sp, bp;
	bool has_cfa, has_sp, has_bp;
};

/** One frame of a thread's stack, innermost first. */
struct ch_frame {
	/**
	 * The frame's pc: where the thread stopped (frame 0 or a signal
	 * frame: is_activation) or a return address.
	 */
	uint64_t pc;
	bool is_activation;
	/**
	 * Where its locals are. context.pc is the pc to look the function up
	 * at: pc itself for an activation, else pc - 1, inside the call. sp
	 * and bp are this frame's if the unwinder recovered them (the CFI of
	 * most functions recovers both, but need not); the CFA is the sp of
	 * the next frame out, when that one has it.
	 */
	struct ch_frame_context context;
	/** The module holding context.pc, or NULL. */
	struct ch_module *module;
	/**
	 * The symbol holding context.pc and the offset of context.pc in it,
	 * or NULL. Valid while the modules live.
	 */
	const char *function;
	uint64_t function_offset;
};

/** One thread's unwound stack. */
struct ch_stack {
	int32_t tid;
	/** Innermost first; NULL when num_frames is 0. */
	struct ch_frame *frames;
	size_t num_frames;
	/**
	 * Why the unwinder stopped, or NULL if it reached the stack's end.
	 * With frames, those are good and only the outer ones are unknown (no
	 * CFI, a damaged stack, CH_MAX_FRAMES reached; libdwfl ends most
	 * stacks of threads other than main with "No DWARF information
	 * found"). Without frames, the thread could not be unwound at all.
	 */
	char *stop_reason;
};

/** The stacks of every thread of a core. */
struct ch_stacks {
	/** One per thread, in the order of core->threads. */
	struct ch_stack *threads;
	size_t num_threads;
	/**
	 * Why no thread could be unwound (a thread id is impossible, or
	 * libdwfl could not be given the threads), or NULL. Then every thread
	 * has no frames.
	 */
	char *error;
};

/**
 * Unwind every thread of core with libdwfl, in one pass over its threads,
 * and name each frame's function. The registers are the core's thread
 * notes (ch_core::threads), the memory is read through as. A thread that
 * cannot be unwound is not an error: the result says so (see struct
 * ch_stack and ch_stacks::error). Errors: out of memory only. The result
 * points into modules: destroy it first. Once, for modules: libdwfl
 * keeps as until modules are destroyed, but reads it only here.
 */
struct ch_error *ch_stacks_create(struct ch_modules *modules,
				  struct ch_core *core,
				  const struct ch_address_space *as,
				  struct ch_stacks **ret);
/** Free stacks (NULL-safe). */
void ch_stacks_destroy(struct ch_stacks *stacks);

/**
 * The local variable or parameter of the function at context->pc that is
 * stored at addr, and the offset of addr in it; NULL if DWARF does not say
 * (no debug info, optimized out, kept in a register). Only locations that
 * are one DW_OP_fbreg are understood, what GCC emits for variables kept in
 * the frame. The name stays valid while the modules live.
 */
const char *ch_module_find_local(struct ch_module *module,
				 const struct ch_frame_context *context,
				 uint64_t addr, uint64_t *offset_ret);

/**
 * Called by ch_module_for_each_local() with a local variable or parameter
 * (its DIE, valid while the modules live) and its run-time address.
 * Returns false to stop.
 */
typedef bool ch_frame_local_fn(Dwarf_Die *variable, uint64_t address,
			       void *arg);

/**
 * Call fn for every local variable and parameter in scope at context->pc
 * (those of the lexical blocks and inlined calls holding it included)
 * whose location there is one DW_OP_fbreg, with the address
 * ch_module_find_local() would give it. Nothing without DWARF.
 */
void ch_module_for_each_local(struct ch_module *module,
			      const struct ch_frame_context *context,
			      ch_frame_local_fn *fn, void *arg);

#endif /* COREHEAP_MODULES_H */
