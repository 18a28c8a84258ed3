// SPDX-License-Identifier: MIT
#include <elf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/debuginfod.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/demangle.h"
#include "base/hash_map.h"
#include "base/path.h"
#include "base/progress.h"
#include "base/sort.h"
#include "base/sorted_u64.h"
#include "base/strbuf.h"
#include "base/thread_pair.h"
#include "base/vector.h"
#include "core/address_space.h"
#include "core/modules.h"
#include "core/symbol_ranges.h"

#define DEFAULT_DEBUGINFO_PATH ":.debug:/usr/lib/debug"

/*
 * A module's answers to which symbol holds an address (or a TLS offset):
 * the first ANSWERS_AFTER questions are asked of the symbol table, a pass
 * over it each; from then on of its ranges (symbol_ranges.h), made once,
 * where an answer costs a binary search. A few frames' pcs are not worth
 * the ranges; the roots of a large array of globals, each a question when
 * the graph's roots are named, are.
 */
#define ANSWERS_AFTER 64

struct symbol_answers {
	uint32_t questions;
	bool have_ranges;
	struct ch_symbol_ranges ranges;
};

/*
 * The scopes holding a pc (find_pc_scopes()), found once per pc and kept by
 * the module: finding them reads the DIEs of the pc's CU, and the threads
 * of a pool stop at the same few pcs (16,000 threads parked in one
 * function took 1.3 s, each frame's scopes found anew).
 */
struct pc_scopes {
	/** Innermost first, up to the function (scopes[function]); NULL if
	 * DWARF does not say. */
	Dwarf_Die *scopes;
	int num_scopes, function;
	/** The pc, as the DWARF's addresses are (the module's bias off). */
	Dwarf_Addr dwarf_pc;
};

DEFINE_VECTOR(pc_scopes_vector, struct pc_scopes);

/*
 * A frame's scopes and frame base; the module keeps those of the frame
 * asked last (frame_scopes()): the roots in a frame are named one after
 * another.
 */
struct frame_scopes {
	bool valid;
	struct ch_frame_context context;
	/** The module's (struct pc_scopes). */
	Dwarf_Die *scopes;
	int num_scopes, function;
	uint64_t base;
	Dwarf_Addr pc;
};

struct ch_module_internal {
	Dwfl_Module *dwfl_module;
	// The binary, when we had to open it ourselves (see find_binary).
	Elf *own_elf;
	int own_fd;
	struct ch_modules *modules; // the set the module is in
	/**
	 * Once symbols_indexed: the symbols ch_module_find_symbol() can
	 * return, and the index of each in them by name (the name is
	 * libdwfl's, alive with the Dwfl).
	 */
	struct ch_module_symbol *symbols;
	struct ch_name_map symbol_index;
	bool symbols_indexed;
	// Which symbol holds an address, and a TLS offset.
	struct symbol_answers addresses, tls_offsets;
	struct frame_scopes last_frame;
	// The scopes of the pcs asked, and the index of each pc's in them.
	struct pc_scopes_vector pc_scopes;
	struct ch_u64_map pc_scopes_index;
};

/*
 * libdwfl is not thread-safe: while the thread loads DWARF, it alone calls
 * libdwfl, and any other caller waits for it (wait_for_dwarf()). The lock
 * makes the wait and the building of a module's symbol index happen once.
 */
struct ch_modules_loading {
	pthread_mutex_t lock;
	pthread_t thread;
	bool started;
	bool running;
};

static void wait_for_dwarf(const struct ch_modules *modules);

// libdwfl's find_elf callback gets no context of ours, so the search
// options of the report under way are kept here. Reports do not nest.
static __thread const struct ch_module_search *current_search;

static bool build_ids_match(Dwfl_Module *mod, Elf *elf)
{
	const unsigned char *core_id;
	const void *file_id;
	GElf_Addr vaddr;
	int core_len = dwfl_module_build_id(mod, &core_id, &vaddr);
	ssize_t file_len = dwelf_elf_gnu_build_id(elf, &file_id);

	// Without an id on either side nothing can be checked: refuse, so
	// that a wrong binary is never used silently.
	return core_len > 0 && file_len == core_len &&
	       memcmp(core_id, file_id, core_len) == 0;
}

/*
 * Open a binary the core or the user names, without blocking on a FIFO
 * and refusing what is not a regular file: a core is untrusted, and its
 * NT_FILE note may name /dev/stdin or a FIFO.
 */
static bool open_quietly(const char *path, int *fd_ret)
{
	struct ch_error *err = ch_open_regular(path, "binary", fd_ret, NULL);

	ch_error_destroy(err);
	return !err;
}

static int open_in_sysroot(Dwfl_Module *mod, const char *name,
			   char **file_name, Elf **elfp)
{
	_cleanup_free_ char *path = NULL;
	int fd;
	Elf *elf;

	if (asprintf(&path, "%s%s", current_search->sysroot, name) < 0)
		return -1;
	if (!open_quietly(path, &fd))
		return -1;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || !build_ids_match(mod, elf)) {
		elf_end(elf);
		close(fd);
		return -1;
	}
	*file_name = no_cleanup_ptr(path);
	*elfp = elf;
	return fd;
}

/*
 * libdwfl (0.188) leaves a file it got from debuginfod unnamed: name it by
 * its descriptor (a file in libdebuginfod's cache), for the report.
 */
static void name_by_fd(int fd, char **name)
{
	char link[64], path[4096];
	ssize_t len;

	if (fd < 0 || *name)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	if (len <= 0)
		return;
	path[len] = '\0';
	*name = strdup(path);
}

static int find_elf(Dwfl_Module *mod, void **userdata, const char *name,
		    Dwarf_Addr base, char **file_name, Elf **elfp)
{
	int fd;

	if (current_search && current_search->sysroot && name &&
	    name[0] == '/') {
		fd = open_in_sysroot(mod, name, file_name, elfp);
		if (fd >= 0)
			return fd;
	}
	fd = dwfl_build_id_find_elf(mod, userdata, name, base, file_name,
				    elfp);
	name_by_fd(fd, file_name);
	return fd;
}

// The separate debug file at path, if its build-id is the module's.
static int open_debug_verified(Dwfl_Module *mod, const char *path,
			       char **debuginfo_file_name)
{
	int fd;
	Elf *elf;
	bool match;

	if (!open_quietly(path, &fd))
		return -1;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	match = elf && build_ids_match(mod, elf);
	elf_end(elf);
	if (!match || !(*debuginfo_file_name = strdup(path))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The debug directories under the sysroot, as gdb has them: the sysroot
 * before each absolute directory of the debuginfo path (the default's
 * /usr/lib/debug; with --debuginfo-path, its own), each in turn to fn
 * until it returns a descriptor (returned), or -1 when none did, -2 out of
 * memory. libdwfl's "+" and "-" (whether to check CRCs) are not part of a
 * directory.
 */
static int for_each_sysroot_debug_dir(const struct ch_module_search *search,
				      int (*fn)(const char *dir, void *arg),
				      void *arg)
{
	const char *list = search->debuginfo_path ? search->debuginfo_path :
						    DEFAULT_DEBUGINFO_PATH;

	while (*list) {
		size_t len = strcspn(list, ":");
		const char *entry = list;
		_cleanup_free_ char *dir = NULL;
		int fd;

		list += len + (list[len] == ':');
		while (len && (*entry == '+' || *entry == '-')) {
			entry++;
			len--;
		}
		if (!len || entry[0] != '/')
			continue;
		if (asprintf(&dir, "%s%.*s", search->sysroot, (int)len, entry) < 0) {
			dir = NULL;
			return -2;
		}
		fd = fn(dir, arg);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

struct sysroot_debug_lookup {
	Dwfl_Module *mod;
	const char *modname, *debuglink_file;
	char **debuginfo_file_name;
};

// DIR/PATH.debug, then the .gnu_debuglink name in DIR/DIRNAME-OF-PATH/.
static int find_in_debug_dir(const char *dir, void *varg)
{
	struct sysroot_debug_lookup *arg = varg;
	_cleanup_free_ char *path = NULL;
	const char *slash;
	int fd;

	if (asprintf(&path, "%s%s.debug", dir, arg->modname) < 0) {
		path = NULL;
		return -1;
	}
	fd = open_debug_verified(arg->mod, path, arg->debuginfo_file_name);
	if (fd >= 0 || !arg->debuglink_file || strchr(arg->debuglink_file, '/'))
		return fd;
	free(path);
	slash = strrchr(arg->modname, '/');
	if (asprintf(&path, "%s%.*s/%s", dir, (int)(slash - arg->modname),
		     arg->modname, arg->debuglink_file) < 0) {
		path = NULL;
		return -1;
	}
	return open_debug_verified(arg->mod, path, arg->debuginfo_file_name);
}

/*
 * Debug files under the sysroot, as gdb finds them: by build-id (libdwfl
 * does that itself, the sysroot's debug directories being on the debuginfo
 * path, see make_debuginfo_path), then in each of those directories
 * PATH.debug and the .gnu_debuglink name in DIRNAME-OF-PATH/, PATH being
 * the module's path in the process. Each is taken only if its build-id is
 * the module's.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata,
			  const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const struct ch_module_search *search = current_search;
	struct sysroot_debug_lookup lookup = {
		.mod = mod,
		.modname = modname,
		.debuglink_file = debuglink_file,
		.debuginfo_file_name = debuginfo_file_name,
	};
	int fd;

	fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base,
					  file_name, debuglink_file,
					  debuglink_crc, debuginfo_file_name);
	name_by_fd(fd, debuginfo_file_name);
	if (fd >= 0 || !search || !search->sysroot || !modname ||
	    modname[0] != '/')
		return fd;
	fd = for_each_sysroot_debug_dir(search, find_in_debug_dir, &lookup);
	return fd >= 0 ? fd : -1;
}

const char *ch_file_source_name(enum ch_file_source source)
{
	switch (source) {
	case CH_SOURCE_NONE: return "none";
	case CH_SOURCE_CORE_PATH: return "the core's path";
	case CH_SOURCE_EXE: return "--exe";
	case CH_SOURCE_SYSROOT: return "sysroot";
	case CH_SOURCE_DEBUG_DIR: return "debug directory";
	case CH_SOURCE_DEBUGINFOD: return "debuginfod";
	case CH_SOURCE_BINARY: return "in the binary";
	case CH_SOURCE_CORE_MEMORY: return "the core's memory";
	}
	return "?";
}

static bool debuginfod_enabled(void)
{
	const char *urls = getenv("DEBUGINFOD_URLS");

	return urls && urls[strspn(urls, " ")] != '\0';
}

/*
 * Where libdebuginfod (0.188) caches what it fetches: DEBUGINFOD_CACHE_PATH,
 * else ~/.debuginfod_client_cache if it exists, else
 * $XDG_CACHE_HOME/debuginfod_client, else ~/.cache/debuginfod_client.
 */
static char *debuginfod_cache_dir(void)
{
	const char *value = getenv("DEBUGINFOD_CACHE_PATH");
	const char *home = getenv("HOME");
	struct stat st;
	char *dir = NULL;

	if (value && *value)
		return strdup(value);
	if (home && asprintf(&dir, "%s/.debuginfod_client_cache", home) >= 0) {
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return dir;
		free(dir);
	}
	dir = NULL;
	value = getenv("XDG_CACHE_HOME");
	if (value && *value) {
		if (asprintf(&dir, "%s/debuginfod_client", value) < 0)
			dir = NULL;
	} else if (home) {
		if (asprintf(&dir, "%s/.cache/debuginfod_client", home) < 0)
			dir = NULL;
	}
	return dir;
}

static bool has_prefix_dir(const char *path, const char *dir)
{
	size_t len = dir ? strlen(dir) : 0;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	return len && path && strncmp(path, dir, len) == 0 &&
	       path[len] == '/';
}

/*
 * libdebuginfod's progress on a terminal: what is fetched, how far. The
 * line is ended once the module is described (see end_progress).
 */
static int debuginfod_progress(debuginfod_client *client, long done,
			       long total)
{
	const char *url = debuginfod_get_url(client);

	// Before a server answers, there is nothing to show.
	if (!url)
		return 0;
	if (total > 0)
		fprintf(stderr, "\rcoreheap: debuginfod: %s: %ld of %ld KiB",
			url, done / 1024, total / 1024);
	else
		fprintf(stderr, "\rcoreheap: debuginfod: %s: %ld KiB", url,
			done / 1024);
	debuginfod_set_user_data(client, (void *)1);
	return 0;
}

static void end_progress(Dwfl *dwfl)
{
	debuginfod_client *client;

	if (!debuginfod_enabled() || !ch_progress_enabled())
		return;
	client = dwfl_get_debuginfod_client(dwfl);
	if (client && debuginfod_get_user_data(client)) {
		fputc('\n', stderr);
		debuginfod_set_user_data(client, NULL);
	}
}

/*
 * libdwfl fetches missing binaries and debug files through its own
 * libdebuginfod client when DEBUGINFOD_URLS is set (elfutils 0.188 loads
 * libdebuginfod.so.1 itself), caching them where libdebuginfod caches:
 * coreheap only shows its progress, where it shows that of its own long
 * stages (a terminal, or CH_PROGRESS=1; see base/progress.h).
 */
static void show_debuginfod_progress(Dwfl *dwfl)
{
	debuginfod_client *client;

	if (!debuginfod_enabled() || !ch_progress_enabled())
		return;
	client = dwfl_get_debuginfod_client(dwfl);
	if (client)
		debuginfod_set_progressfn(client, debuginfod_progress);
}

static enum ch_file_source binary_source(const struct ch_module *module,
					 const struct ch_module_search *search,
					 const char *cache_dir)
{
	if (module->is_vdso)
		return CH_SOURCE_CORE_MEMORY;
	if (!module->path)
		return CH_SOURCE_NONE;
	if (has_prefix_dir(module->path, cache_dir))
		return CH_SOURCE_DEBUGINFOD;
	if (search->sysroot && has_prefix_dir(module->path, search->sysroot))
		return CH_SOURCE_SYSROOT;
	if (search->executable && strcmp(module->path, search->executable) == 0)
		return CH_SOURCE_EXE;
	// Found by build-id in a debug directory's .build-id/.
	if (strstr(module->path, "/.build-id/"))
		return CH_SOURCE_DEBUG_DIR;
	// Else a path the core gives (its NT_FILE note, the link map).
	return CH_SOURCE_CORE_PATH;
}

static enum ch_file_source debug_source(const struct ch_module *module,
					const struct ch_module_search *search,
					const char *cache_dir)
{
	if (!module->debug_path)
		return module->has_dwarf || module->has_debug_symbols ?
			       CH_SOURCE_BINARY :
			       CH_SOURCE_NONE;
	if (has_prefix_dir(module->debug_path, cache_dir))
		return CH_SOURCE_DEBUGINFOD;
	if (search->sysroot && has_prefix_dir(module->debug_path, search->sysroot))
		return CH_SOURCE_SYSROOT;
	return CH_SOURCE_DEBUG_DIR;
}

static const Dwfl_Callbacks core_callbacks_template = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
};

struct path_append {
	struct ch_strbuf *path;
	struct ch_error *err;
};

// One more directory on a debuginfo path being built (-1: go on).
static int append_debug_dir(const char *dir, void *varg)
{
	struct path_append *arg = varg;

	if (!arg->err)
		arg->err = ch_strbuf_appendf(arg->path, ":%s", dir);
	return -1;
}

static struct ch_error *make_debuginfo_path(const struct ch_module_search *search,
					    char **ret)
{
	struct ch_strbuf path = { 0 };
	struct ch_error *err;

	err = ch_strbuf_appendf(&path, "%s",
				search->debuginfo_path ? search->debuginfo_path :
							 DEFAULT_DEBUGINFO_PATH);
	for (size_t i = 0; !err && i < search->num_debug_dirs; i++)
		err = ch_strbuf_appendf(&path, ":%s", search->debug_dirs[i]);
	// Build-id lookups under the sysroot: its debug directories' .build-id/.
	if (!err && search->sysroot) {
		struct path_append append = { .path = &path };

		if (for_each_sysroot_debug_dir(search, append_debug_dir,
					       &append) == -2 && !append.err)
			append.err = &ch_enomem;
		err = append.err;
	}
	if (err) {
		ch_strbuf_deinit(&path);
		return err;
	}
	*ret = ch_strbuf_detach(&path);
	return NULL;
}

static bool elf_has_symtab(Elf *elf)
{
	Elf_Scn *scn = NULL;

	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;

		if (gelf_getshdr(scn, &shdr) && shdr.sh_type == SHT_SYMTAB)
			return true;
	}
	return false;
}

static bool elf_has_section(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t strndx;

	if (!elf || elf_getshdrstrndx(elf, &strndx) != 0)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *scn_name;

		if (gelf_getshdr(scn, &shdr) && shdr.sh_type != SHT_NOBITS &&
		    (scn_name = elf_strptr(elf, strndx, shdr.sh_name)) &&
		    strcmp(scn_name, name) == 0)
			return true;
	}
	return false;
}

static bool file_has_section(const char *path, const char *name)
{
	int fd;
	Elf *elf;
	bool found;

	if (!path || !open_quietly(path, &fd))
		return false;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	found = elf_has_section(elf, name);
	elf_end(elf);
	close(fd);
	return found;
}

static void read_tls_segment(struct ch_module *module, Elf *elf)
{
	size_t phnum;

	if (!elf || elf_getphdrnum(elf, &phnum) != 0)
		return;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr phdr;

		if (gelf_getphdr(elf, i, &phdr) && phdr.p_type == PT_TLS) {
			module->has_tls = true;
			module->tls_size = phdr.p_memsz;
			module->tls_align = phdr.p_align ? phdr.p_align : 1;
		}
	}
}

// Open path and keep it if its build-id is the module's.
static bool open_verified(Dwfl_Module *mod, const char *path,
			  struct ch_module_internal *internal)
{
	Elf *elf;
	int fd;

	if (!open_quietly(path, &fd))
		return false;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || !build_ids_match(mod, elf)) {
		elf_end(elf);
		close(fd);
		return false;
	}
	internal->own_elf = elf;
	internal->own_fd = fd;
	return true;
}

/*
 * libdwfl opens a binary named by the core's NT_FILE note without telling
 * its file name (dwfl_module_info gives NULL), and may instead have built
 * the module from the core's memory. Either way, find the file ourselves,
 * in the places the user gave and then where the core says, and keep it
 * only if its build-id matches.
 */
static char *find_binary(Dwfl_Module *mod, const char *name,
			 const struct ch_module_search *search,
			 bool is_executable, struct ch_module_internal *internal)
{
	char *path = NULL;

	if (search->sysroot && name[0] == '/' &&
	    asprintf(&path, "%s%s", search->sysroot, name) >= 0) {
		if (open_verified(mod, path, internal))
			return path;
		free(path);
	}
	if (is_executable && search->executable &&
	    open_verified(mod, search->executable, internal))
		return strdup(search->executable);
	if (name[0] == '/' && open_verified(mod, name, internal))
		return strdup(name);
	return NULL;
}

// The byte after the last of the file's structures, or 0 on overflow.
static uint64_t elf_extent(Elf *elf, const GElf_Ehdr *ehdr, size_t phnum,
			   size_t shnum)
{
	uint64_t extent = sizeof(Elf64_Ehdr), end, table;

#define EXTEND(offset, size)                                            \
	do {                                                            \
		if (__builtin_add_overflow((uint64_t)(offset),           \
					   (uint64_t)(size), &end))     \
			return 0;                                       \
		if (end > extent)                                       \
			extent = end;                                   \
	} while (0)
	if (__builtin_mul_overflow((uint64_t)phnum, sizeof(Elf64_Phdr), &table))
		return 0;
	if (phnum)
		EXTEND(ehdr->e_phoff, table);
	if (__builtin_mul_overflow((uint64_t)shnum, sizeof(Elf64_Shdr), &table))
		return 0;
	if (shnum)
		EXTEND(ehdr->e_shoff, table);
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr phdr;

		if (gelf_getphdr(elf, i, &phdr) && phdr.p_type == PT_LOAD)
			EXTEND(phdr.p_offset, phdr.p_filesz);
	}
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr shdr;

		if (gelf_getshdr(scn, &shdr) && shdr.sh_type != SHT_NOBITS)
			EXTEND(shdr.sh_offset, shdr.sh_size);
	}
#undef EXTEND
	return extent;
}

struct ch_error *ch_binary_check(const char *path, const char *what,
				 uint8_t *build_id, size_t *build_id_size_ret)
{
	_cleanup_close_ int fd = -1;
	struct ch_error *err;
	uint64_t size, extent;
	size_t phnum, shnum;
	const void *id;
	GElf_Ehdr ehdr;
	ssize_t id_len;
	Elf *elf;

	*build_id_size_ret = 0;
	err = ch_open_regular(path, what, &fd, &size);
	if (err)
		return err;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr)) {
		char magic[SELFMAG];
		bool is_elf = pread(fd, magic, SELFMAG, 0) == SELFMAG &&
			      memcmp(magic, ELFMAG, SELFMAG) == 0;

		elf_end(elf);
		if (is_elf)
			return ch_error_create(CH_ERROR_FORMAT,
					       "%s '%s' is truncated or damaged (%" PRIu64 " bytes): %s",
					       what, path, size, elf_errmsg(-1));
		return ch_error_create(CH_ERROR_FORMAT,
				       "%s '%s' is not an ELF file", what, path);
	}
	if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
	    ehdr.e_machine != EM_X86_64) {
		elf_end(elf);
		return ch_error_create(CH_ERROR_FORMAT,
				       "%s '%s' is not an x86-64 binary (ELF machine %u, class %u)",
				       what, path, (unsigned)ehdr.e_machine,
				       (unsigned)ehdr.e_ident[EI_CLASS]);
	}
	if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) {
		elf_end(elf);
		return ch_error_create(CH_ERROR_FORMAT,
				       "%s '%s' is not an executable or a shared object (ELF type %u)",
				       what, path, (unsigned)ehdr.e_type);
	}
	if (elf_getphdrnum(elf, &phnum) != 0 ||
	    elf_getshdrnum(elf, &shnum) != 0) {
		elf_end(elf);
		return ch_error_create(CH_ERROR_FORMAT,
				       "%s '%s' is damaged: %s", what, path,
				       elf_errmsg(-1));
	}
	// libelf counts no sections when their table is out of the file.
	if (ehdr.e_shnum > shnum)
		shnum = ehdr.e_shnum;
	// A file cut short can still hold its build-id note (libdwfl would
	// take it): every structure it declares must be in it.
	extent = elf_extent(elf, &ehdr, phnum, shnum);
	if (extent == 0 || extent > size) {
		elf_end(elf);
		return ch_error_create(CH_ERROR_FORMAT,
				       "%s '%s' is truncated or damaged: %" PRIu64 " bytes, but its headers describe %s",
				       what, path, size,
				       extent ? "more" : "an impossible size");
	}
	id_len = dwelf_elf_gnu_build_id(elf, &id);
	if (id_len > 0 && (size_t)id_len <= CH_MAX_BUILD_ID) {
		memcpy(build_id, id, id_len);
		*build_id_size_ret = id_len;
	}
	elf_end(elf);
	return NULL;
}

static bool is_vdso(const char *name)
{
	return strncmp(name, "linux-vdso", 10) == 0 ||
	       strncmp(name, "linux-gate", 10) == 0 ||
	       strcmp(name, "[vdso]") == 0;
}

static char *strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct collect_arg {
	struct ch_core *core;
	struct ch_modules *modules;
	const struct ch_module_search *search;
	size_t capacity;
	uint64_t entry;
	bool has_entry;
	/** Where libdebuginfod caches (NULL if unknown). */
	char *cache_dir;
	struct ch_error *err;
};

static struct ch_error *describe_module(Dwfl_Module *mod,
					struct ch_module *module,
					const struct collect_arg *arg)
{
	const char *name, *mainfile = NULL, *debugfile = NULL;
	Dwarf_Addr start, end, bias = 0;
	const unsigned char *id;
	GElf_Addr id_vaddr;
	Elf *elf;
	int id_len;

	module->internal = calloc(1, sizeof(*module->internal));
	if (!module->internal)
		return &ch_enomem;
	module->internal->dwfl_module = mod;
	module->internal->modules = arg->modules;
	name = dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL,
				NULL);
	module->start = start;
	module->end = end;
	// These calls make libdwfl look for the binary and its debug info.
	elf = dwfl_module_getelf(mod, &bias);
	module->bias = bias;
	// The symbol table makes libdwfl find the debug file; DWARF itself is
	// loaded (and its compressed sections inflated) only when asked for.
	dwfl_module_getsymtab(mod);
	// A binary with its symbols but no DWARF: libdwfl looks for the debug
	// file only when DWARF is asked for. Ask now where it may come from
	// elsewhere (the sysroot, debuginfod), while this search is current.
	if (elf && (arg->search->sysroot || debuginfod_enabled()) &&
	    !elf_has_section(elf, ".debug_info"))
		dwfl_module_getdwarf(mod, &bias);
	end_progress(arg->modules->dwfl);
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile,
			 &debugfile);
	module->internal->own_fd = -1;
	module->is_executable = arg->has_entry && arg->entry >= start &&
				arg->entry < end;
	// A path hidden from libdwfl (dwfl_view) is named as the core does.
	if (name && name[0] == '/' && name[1] == '\1') {
		const struct ch_core_file *file = ch_core_file_at(arg->core,
								  start);

		name = file ? file->path : NULL;
	}
	module->name = strdup(name ? name : "[unknown]");
	if (mainfile)
		module->path = strdup(mainfile);
	else if (elf)
		module->path = find_binary(mod, module->name, arg->search,
					   module->is_executable,
					   module->internal);
	module->debug_path = strdup_or_null(debugfile);
	if (!module->name || (mainfile && !module->path) ||
	    (debugfile && !module->debug_path))
		return &ch_enomem;
	module->is_vdso = is_vdso(module->name);
	module->has_binary = module->path != NULL;
	module->has_dwarf = elf_has_section(elf, ".debug_info") ||
			    file_has_section(debugfile, ".debug_info");
	module->has_debug_symbols = module->has_dwarf || debugfile ||
				    elf_has_symtab(elf);
	id_len = dwfl_module_build_id(mod, &id, &id_vaddr);
	if (id_len > 0 && (size_t)id_len <= sizeof(module->build_id)) {
		memcpy(module->build_id, id, id_len);
		module->build_id_size = id_len;
	}
	read_tls_segment(module, ch_module_elf(module));
	module->binary_source = binary_source(module, arg->search,
					      arg->cache_dir);
	module->debug_source = debug_source(module, arg->search,
					    arg->cache_dir);
	return NULL;
}

static int collect_module(Dwfl_Module *mod, void **userdata, const char *name,
			  Dwarf_Addr start, void *varg)
{
	struct collect_arg *arg = varg;
	struct ch_modules *modules = arg->modules;

	arg->err = ch_vector_reserve_one((void **)&modules->modules,
					 &arg->capacity,
					 sizeof(*modules->modules),
					 modules->num_modules);
	if (arg->err)
		return DWARF_CB_ABORT;
	struct ch_module *module = &modules->modules[modules->num_modules++];

	*module = (struct ch_module){ 0 };
	arg->err = describe_module(mod, module, arg);
	return arg->err ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static int compare_by_start(const void *a, const void *b)
{
	const struct ch_module *x = *(struct ch_module *const *)a;
	const struct ch_module *y = *(struct ch_module *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

// A path libdwfl must not open: it exists and is no regular file.
static bool unsafe_path(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

/*
 * The core as libdwfl is to see it. libdwfl opens the paths of the core's
 * NT_FILE note itself, with a blocking open(): a core naming a FIFO or
 * /dev/stdin would hang it. Such paths are overwritten by "/\1\1..." of
 * the same length (the names are packed, so none may change length), which
 * names nothing. And libdwfl's search for the modules looks for each
 * program header's segment in every program header (dwfl_core_file_report()
 * and its memory callback): time quadratic in them, two for each thread
 * (16,000 threads took 4.6 s). No module, nor the dynamic linker's list of
 * them, is on a thread's stack: the table libdwfl reads leaves the threads'
 * stacks out (thread_stacks()).
 *
 * The edits are made in a private copy-on-write mapping of the core file,
 * or, for a core read into memory, in that memory itself: the core's own
 * reading of its headers and notes is over, and from here only libdwfl
 * reads them. Cores that need neither are handed over as they are.
 */

// The core's bytes, writable, for libdwfl's view (see above).
static struct ch_error *writable_view(struct ch_core *core,
				      struct ch_modules *modules,
				      uint8_t **ret)
{
	uint8_t *map;

	if (core->fd < 0) {
		modules->view_edited = true;
		*ret = core->memory.data;
		return NULL;
	}
	if (!modules->view) {
		map = mmap(NULL, core->image_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE, core->fd, 0);
		if (map == MAP_FAILED)
			return ch_error_os(errno, "cannot map core '%s'",
					   core->path);
		modules->view = map;
		modules->view_size = core->image_size;
		modules->view_edited = true;
	}
	*ret = modules->view;
	return NULL;
}

DEFINE_VECTOR(core_range_vector, struct ch_core_range);

/*
 * The paths of the NT_FILE notes that are no regular file here, found
 * before any is hidden (in a core read into memory, the bytes read are the
 * bytes hidden): their places in *ret, the count and the first one in
 * modules.
 */
static struct ch_error *find_unsafe_paths(const struct ch_core *core,
					  struct ch_modules *modules,
					  struct core_range_vector *ret)
{
	struct ch_error *err;

	for (size_t r = 0; r < core->num_file_name_ranges; r++) {
		const struct ch_core_range *range = &core->file_name_ranges[r];
		const char *names = (const char *)core->image + range->offset;
		const char *prev = NULL;
		bool unsafe = false;

		// The ranges are inside notes read from the file.
		for (size_t off = 0, len; off < range->size; off += len + 1) {
			len = strnlen(names + off, range->size - off);
			// libdwfl takes no name without its NUL.
			if (len == range->size - off)
				break;
			// A file's mappings come one after another: stat
			// it, and count it, once.
			if (!prev || strcmp(prev, names + off) != 0) {
				unsafe = len && unsafe_path(names + off);
				modules->unsafe_paths += unsafe;
				if (unsafe && !modules->unsafe_path) {
					modules->unsafe_path = strdup(names + off);
					if (!modules->unsafe_path)
						return &ch_enomem;
				}
			}
			prev = names + off;
			if (!unsafe)
				continue;
			err = core_range_vector_append(ret, &(struct ch_core_range){
				.offset = range->offset + off, .size = len });
			if (err)
				return err;
		}
	}
	return NULL;
}

/*
 * Overwrite each such path with "/\1\1..." of its length, which names
 * nothing.
 */
static struct ch_error *hide_unsafe_paths(struct ch_core *core,
					  struct ch_modules *modules)
{
	struct core_range_vector paths = { 0 };
	struct ch_error *err = find_unsafe_paths(core, modules, &paths);
	uint8_t *bytes;

	if (!err && paths.len)
		err = writable_view(core, modules, &bytes);
	for (size_t i = 0; !err && i < paths.len; i++) {
		bytes[paths.data[i].offset] = '/';
		memset(bytes + paths.data[i].offset + 1, 1, paths.data[i].size - 1);
	}
	core_range_vector_deinit(&paths);
	return err;
}

// The segment of the core that holds addr, or NULL.
static const struct ch_core_segment *segment_at(const struct ch_core *core,
						uint64_t addr)
{
	size_t low = 0, high = core->num_segments;

	while (low < high) {
		size_t mid = low + (high - low) / 2;
		const struct ch_core_segment *segment = &core->segments[mid];

		if (addr < segment->start)
			high = mid;
		else if (addr - segment->start >= segment->size)
			low = mid + 1;
		else
			return segment;
	}
	return NULL;
}

// No file is mapped anywhere in [start, end).
static bool anonymous(const struct ch_core *core, uint64_t start, uint64_t end)
{
	size_t low = 0, high = core->num_files;

	// The first file mapping that ends after start.
	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (core->files[mid].end <= start)
			low = mid + 1;
		else
			high = mid;
	}
	return low == core->num_files || core->files[low].start >= end;
}

/*
 * The starts of the segments of the threads' stacks, sorted, with their
 * guard pages: a thread's stack is the writable anonymous segment its
 * stack pointer is in, right above its guard page, an anonymous segment
 * that is not writable (what pthread_create() maps; the kernel writes
 * it with no permission, gdb as read-only). The main thread's stack has no
 * guard page below it, and a signal stack in the heap none either: they
 * are kept, as is everything else. *ret holds two entries a thread.
 */
static struct ch_error *thread_stacks(const struct ch_core *core,
				      uint64_t **ret, size_t *num_ret)
{
	uint64_t *starts = malloc((2 * core->num_threads + 1) * sizeof(*starts));
	size_t n = 0;

	*num_ret = 0;
	*ret = starts;
	if (!starts)
		return &ch_enomem;
	for (size_t t = 0; t < core->num_threads; t++) {
		const struct ch_core_segment *stack =
			segment_at(core, core->threads[t].regs[CH_REG_RSP]);
		const struct ch_core_segment *guard;

		if (!stack || stack == core->segments ||
		    !(stack->flags & PF_W) ||
		    !anonymous(core, stack->start, stack->start + stack->size))
			continue;
		guard = stack - 1;
		if (guard->start + guard->size != stack->start ||
		    (guard->flags & PF_W) ||
		    !anonymous(core, guard->start, stack->start))
			continue;
		starts[n++] = guard->start;
		starts[n++] = stack->start;
	}
	// Two notes of one thread give its stack twice.
	*num_ret = ch_sort_unique_u64(starts, n);
	return NULL;
}

/*
 * What libdwfl is to read of the core's program headers: the threads'
 * stacks left out (thread_stacks()), unless what is left would still need
 * the PN_XNUM extension.
 */
struct dwfl_table {
	uint64_t *hidden;   // the starts of the segments left out, sorted
	size_t num_hidden;
	size_t num_phdrs;   // the headers left
};

// Program header i of the core's bytes, whose table is at phoff (checked
// to be in the file when the core was opened).
static const Elf64_Phdr *read_phdr(const uint8_t *bytes, uint64_t phoff,
				   size_t i, Elf64_Phdr *ret)
{
	memcpy(ret, bytes + phoff + i * sizeof(*ret), sizeof(*ret));
	return ret;
}

static bool hidden_from_dwfl(const struct dwfl_table *table,
			     const Elf64_Phdr *phdr)
{
	size_t at;

	if (phdr->p_type != PT_LOAD)
		return false;
	at = ch_count_below_u64(table->hidden, table->num_hidden,
				phdr->p_vaddr);
	return at < table->num_hidden && table->hidden[at] == phdr->p_vaddr;
}

static struct ch_error *plan_dwfl_table(const struct ch_core *core,
					struct dwfl_table *ret)
{
	struct ch_error *err;
	size_t left = 0;
	Elf64_Ehdr ehdr;

	*ret = (struct dwfl_table){ .num_phdrs = core->num_phdrs };
	err = thread_stacks(core, &ret->hidden, &ret->num_hidden);
	if (err || !ret->num_hidden)
		return err;
	memcpy(&ehdr, core->image, sizeof(ehdr));
	for (size_t i = 0; i < core->num_phdrs; i++) {
		Elf64_Phdr phdr;

		left += !hidden_from_dwfl(ret, read_phdr(core->image,
							 ehdr.e_phoff, i,
							 &phdr));
	}
	if (left < PN_XNUM)
		ret->num_phdrs = left;
	else
		ret->num_hidden = 0;
	return NULL;
}

// Leave the headers of table->hidden out: the others move to the front,
// in their order.
static struct ch_error *hide_thread_stacks(struct ch_core *core,
					   struct ch_modules *modules,
					   const struct dwfl_table *table)
{
	Elf64_Ehdr ehdr;
	uint8_t *bytes;
	size_t kept = 0;
	struct ch_error *err;

	if (table->num_phdrs == core->num_phdrs)
		return NULL;
	err = writable_view(core, modules, &bytes);
	if (err)
		return err;
	memcpy(&ehdr, bytes, sizeof(ehdr));
	for (size_t i = 0; i < core->num_phdrs; i++) {
		Elf64_Phdr phdr;

		if (hidden_from_dwfl(table, read_phdr(bytes, ehdr.e_phoff, i,
						      &phdr)))
			continue;
		memcpy(bytes + ehdr.e_phoff + kept++ * sizeof(phdr), &phdr,
		       sizeof(phdr));
	}
	ehdr.e_phnum = (Elf64_Half)kept;
	memcpy(bytes, &ehdr, sizeof(ehdr));
	return NULL;
}

static struct ch_error *dwfl_view(struct ch_core *core,
				  struct ch_modules *modules,
				  const struct dwfl_table *table, Elf **ret)
{
	struct ch_error *err;
	Elf *elf;

	*ret = core->elf;
	err = hide_unsafe_paths(core, modules);
	if (!err)
		err = hide_thread_stacks(core, modules, table);
	if (err || !modules->view_edited)
		return err;
	elf = elf_memory(modules->view ? (char *)modules->view :
					 (char *)core->memory.data,
			 core->image_size);
	if (!elf)
		return ch_error_libelf("cannot read core '%s'", core->path);
	modules->view_elf = elf;
	*ret = elf;
	return NULL;
}

static struct ch_error *report_modules(struct ch_core *core,
				       const struct ch_module_search *search,
				       const struct dwfl_table *table,
				       struct ch_modules *modules)
{
	Dwfl_Callbacks *callbacks;
	struct ch_error *err;
	Elf *elf;
	Dwfl *dwfl;
	int n;

	err = dwfl_view(core, modules, table, &elf);
	if (err)
		return err;

	callbacks = malloc(sizeof(*callbacks));
	if (!callbacks)
		return &ch_enomem;
	*callbacks = core_callbacks_template;
	callbacks->debuginfo_path = &modules->debuginfo_path;
	// libdwfl keeps a pointer to the callbacks, and ours carry a
	// per-report debuginfo path, so each Dwfl gets its own copy.
	dwfl = dwfl_begin(callbacks);
	if (!dwfl) {
		free(callbacks);
		return ch_error_dwfl("cannot start libdwfl");
	}
	modules->dwfl = dwfl;
	modules->callbacks = callbacks;
	show_debuginfod_progress(dwfl);
	dwfl_report_begin(dwfl);
	current_search = search;
	n = dwfl_core_file_report(dwfl, elf, search->executable);
	current_search = NULL;
	if (n < 0)
		return ch_error_dwfl("cannot find the modules of core '%s'",
				     core->path);
	if (dwfl_report_end(dwfl, NULL, NULL) != 0)
		return ch_error_dwfl("cannot list the modules of core '%s'",
				     core->path);
	return NULL;
}

/*
 * A thread id <= 0 is not handed to libdwfl at all: libdwfl takes it as
 * the end of the threads (and 0.188 leaks what it allocated for the walk).
 */
static void check_threads(struct ch_core *core, struct ch_modules *modules)
{
	// The core's problems already say why (CH_CORE_BAD_NOTE).
	if (core->num_threads && core->has_bad_tid)
		modules->threads_unreadable = true;
}

/*
 * The user's directories, --sysroot and --debug-dir, made absolute:
 * libdwfl takes a relative directory of its debuginfo path as relative to
 * each binary's own directory (as the default's ".debug" is), so that
 * "--debug-dir dbg" or "--sysroot root" would find no debug file.
 * --debuginfo-path is libdwfl's own and is left as given.
 */
struct absolute_search {
	struct ch_module_search search;
	char *sysroot;
	char **debug_dirs;
};

static void absolute_search_deinit(struct absolute_search *absolute)
{
	free(absolute->sysroot);
	for (size_t i = 0; i < absolute->search.num_debug_dirs; i++)
		free(absolute->debug_dirs[i]);
	free(absolute->debug_dirs);
}

static struct ch_error *absolute_search_init(const struct ch_module_search *search,
					     struct absolute_search *ret)
{
	*ret = (struct absolute_search){ .search = *search };
	ret->search.num_debug_dirs = 0;
	if (search->num_debug_dirs) {
		ret->debug_dirs = calloc(search->num_debug_dirs,
					 sizeof(*ret->debug_dirs));
		if (!ret->debug_dirs)
			return &ch_enomem;
	}
	ret->search.debug_dirs = (const char *const *)ret->debug_dirs;
	if (search->sysroot) {
		ret->sysroot = ch_path_absolute(search->sysroot);
		if (!ret->sysroot)
			return ch_error_os(errno, "cannot use --sysroot '%s'",
					   search->sysroot);
		ret->search.sysroot = ret->sysroot;
	}
	for (size_t i = 0; i < search->num_debug_dirs; i++) {
		ret->debug_dirs[i] = ch_path_absolute(search->debug_dirs[i]);
		if (!ret->debug_dirs[i])
			return ch_error_os(errno, "cannot use --debug-dir '%s'",
					   search->debug_dirs[i]);
		ret->search.num_debug_dirs++;
	}
	return NULL;
}

struct ch_error *ch_modules_create(struct ch_core *core,
				   const struct ch_module_search *user_search,
				   struct ch_modules **ret)
{
	_cleanup_(absolute_search_deinit) struct absolute_search absolute = { 0 };
	const struct ch_module_search *search = &absolute.search;
	struct dwfl_table table = { 0 };
	struct ch_modules *modules;
	struct collect_arg arg = { 0 };
	struct ch_error *err;

	err = absolute_search_init(user_search, &absolute);
	if (err)
		return err;
	modules = calloc(1, sizeof(*modules));
	if (!modules)
		return &ch_enomem;
	modules->loading = calloc(1, sizeof(*modules->loading));
	if (!modules->loading) {
		free(modules);
		return &ch_enomem;
	}
	pthread_mutex_init(&modules->loading->lock, NULL);
	err = make_debuginfo_path(search, &modules->debuginfo_path);
	if (err)
		goto out;
	/*
	 * libdwfl's module search (dwfl_core_file_report) takes time
	 * quadratic in the program headers: 13 s at 300,000. Beyond the
	 * kernel's default limit of mappings no module is looked up.
	 */
	err = plan_dwfl_table(core, &table);
	if (err)
		goto out;
	modules->dwfl_phdrs = table.num_phdrs;
	modules->hidden_phdrs = core->num_phdrs - table.num_phdrs;
	if (table.num_phdrs > CH_MAX_DWFL_PHDRS) {
		modules->skipped = true;
		modules->threads_unreadable = true;
		goto no_modules;
	}
	err = report_modules(core, search, &table, modules);
	if (err)
		goto out;
	arg.core = core;
	arg.modules = modules;
	arg.search = search;
	arg.has_entry = ch_core_auxv(core, AT_ENTRY, &arg.entry);
	arg.cache_dir = debuginfod_cache_dir();
	current_search = search;
	dwfl_getmodules(modules->dwfl, collect_module, &arg, 0);
	current_search = NULL;
	free(arg.cache_dir);
	err = arg.err;
	if (err)
		goto out;
	check_threads(core, modules);
no_modules:
	modules->by_address = calloc(modules->num_modules + 1,
				     sizeof(*modules->by_address));
	if (!modules->by_address) {
		err = &ch_enomem;
		goto out;
	}
	for (size_t i = 0; i < modules->num_modules; i++)
		modules->by_address[i] = &modules->modules[i];
	ch_sort(modules->by_address, modules->num_modules,
		sizeof(*modules->by_address), compare_by_start);
	free(table.hidden);
	*ret = modules;
	return NULL;

out:
	free(table.hidden);
	ch_modules_destroy(modules);
	return err;
}

void ch_modules_destroy(struct ch_modules *modules)
{
	if (!modules)
		return;
	wait_for_dwarf(modules);
	for (size_t i = 0; i < modules->num_modules; i++) {
		struct ch_module *module = &modules->modules[i];
		struct ch_module_internal *internal = module->internal;

		free(module->name);
		free(module->path);
		free(module->debug_path);
		if (!internal)
			continue;
		if (internal->own_elf)
			elf_end(internal->own_elf);
		if (internal->own_fd >= 0)
			close(internal->own_fd);
		free(internal->symbols);
		ch_name_map_deinit(&internal->symbol_index);
		ch_symbol_ranges_deinit(&internal->addresses.ranges);
		ch_symbol_ranges_deinit(&internal->tls_offsets.ranges);
		for (size_t k = 0; k < internal->pc_scopes.len; k++)
			free(internal->pc_scopes.data[k].scopes);
		pc_scopes_vector_deinit(&internal->pc_scopes);
		ch_u64_map_deinit(&internal->pc_scopes_index);
		free(internal);
	}
	free(modules->modules);
	free(modules->by_address);
	if (modules->dwfl)
		dwfl_end(modules->dwfl);
	// After libdwfl, which reads memory through it to the end.
	if (modules->view_elf)
		elf_end(modules->view_elf);
	if (modules->view)
		munmap(modules->view, modules->view_size);
	free(modules->callbacks);
	free(modules->debuginfo_path);
	free(modules->unsafe_path);
	free(modules->thread_source);
	if (modules->loading)
		pthread_mutex_destroy(&modules->loading->lock);
	free(modules->loading);
	free(modules);
}

struct ch_module *ch_modules_find_by_address(const struct ch_modules *modules,
					     uint64_t addr)
{
	size_t lo = 0, hi = modules->num_modules;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct ch_module *module = modules->by_address[mid];

		if (addr < module->start)
			hi = mid;
		else if (addr >= module->end)
			lo = mid + 1;
		else
			return module;
	}
	return NULL;
}

struct ch_module *ch_modules_find_by_prefix(const struct ch_modules *modules,
					    const char *prefix)
{
	size_t len = strlen(prefix);

	for (size_t i = 0; i < modules->num_modules; i++) {
		struct ch_module *module = &modules->modules[i];

		if (strncmp(ch_base_name(module->name), prefix, len) == 0)
			return module;
	}
	return NULL;
}

/*
 * What libdwfl gives for symbol i of mod, as ch_module_find_symbol() would
 * return it (but for from_debuginfo), with its ELF type and the file it is
 * in (elf_ret may be NULL); false for an undefined, section or file symbol.
 */
static bool read_symbol(Dwfl_Module *mod, int i, const char **name_ret,
			struct ch_module_symbol *ret, int *type_ret,
			Elf **elf_ret)
{
	GElf_Sym sym;
	GElf_Addr addr;
	GElf_Word shndx;
	Dwarf_Addr bias;
	const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx,
						   elf_ret, &bias);
	int type;

	if (!name || sym.st_shndx == SHN_UNDEF)
		return false;
	type = GELF_ST_TYPE(sym.st_info);
	if (type == STT_SECTION || type == STT_FILE)
		return false;
	*name_ret = name;
	*type_ret = type;
	*ret = (struct ch_module_symbol){
		.is_tls = type == STT_TLS,
		// A TLS symbol's value is its offset in the module's block.
		.address = type == STT_TLS ? sym.st_value : addr,
		.size = sym.st_size,
	};
	return true;
}

static struct ch_error *index_symbols(struct ch_module_internal *internal)
{
	Dwfl_Module *mod = internal->dwfl_module;
	int n = dwfl_module_getsymtab(mod);
	Elf *checked = NULL;
	bool checked_has_symtab = false;
	uint32_t len = 0;

	if (n > 1) {
		internal->symbols = malloc((size_t)(n - 1) *
					   sizeof(*internal->symbols));
		if (!internal->symbols)
			return &ch_enomem;
	}
	for (int i = 1; i < n; i++) {
		struct ch_module_symbol symbol;
		const char *name;
		uint32_t first;
		Elf *elf;
		int type;

		// The first symbol of a name is the one found.
		if (!read_symbol(mod, i, &name, &symbol, &type, &elf) ||
		    ch_name_map_get(&internal->symbol_index, name, &first))
			continue;
		if (elf != checked) {
			checked = elf;
			checked_has_symtab = elf_has_symtab(elf);
		}
		symbol.from_debuginfo = checked_has_symtab;
		internal->symbols[len] = symbol;
		struct ch_error *err = ch_name_map_put(&internal->symbol_index,
						       name, len++);

		if (err) {
			free(internal->symbols);
			internal->symbols = NULL;
			ch_name_map_deinit(&internal->symbol_index);
			return err;
		}
	}
	return NULL;
}

static void wait_for_dwarf(const struct ch_modules *modules)
{
	struct ch_modules_loading *loading = modules->loading;

	if (!loading || !__atomic_load_n(&loading->running, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&loading->lock);
	if (loading->running) {
		pthread_join(loading->thread, NULL);
		__atomic_store_n(&loading->running, false, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&loading->lock);
}

// The module's symbol index, made the first time.
static struct ch_error *indexed_symbols(struct ch_module *module)
{
	struct ch_module_internal *internal = module->internal;
	struct ch_modules_loading *loading = internal->modules->loading;
	struct ch_error *err = NULL;

	if (__atomic_load_n(&internal->symbols_indexed, __ATOMIC_ACQUIRE))
		return NULL;
	wait_for_dwarf(internal->modules);
	pthread_mutex_lock(&loading->lock);
	if (!internal->symbols_indexed) {
		err = index_symbols(internal);
		if (!err)
			__atomic_store_n(&internal->symbols_indexed, true,
					 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&loading->lock);
	return err;
}

struct ch_error *ch_module_find_symbol(struct ch_module *module,
				       const char *name,
				       struct ch_module_symbol *ret)
{
	struct ch_error *err = indexed_symbols(module);
	uint32_t i;

	if (err)
		return err;
	if (!ch_name_map_get(&module->internal->symbol_index, name, &i))
		return ch_error_create(CH_ERROR_NOT_FOUND,
				       "no symbol '%s' in '%s'", name,
				       module->name);
	*ret = module->internal->symbols[i];
	return NULL;
}

static void *load_dwarf(void *arg)
{
	const struct ch_modules *modules = arg;

	for (size_t i = 0; i < modules->num_modules; i++) {
		const struct ch_module *module = &modules->modules[i];
		Dwarf_Addr bias;

		if (module->has_dwarf)
			dwfl_module_getdwarf(module->internal->dwfl_module,
					     &bias);
	}
	return NULL;
}

struct ch_error *ch_modules_load_dwarf_beside(struct ch_modules *modules)
{
	struct ch_modules_loading *loading = modules->loading;
	bool any = false;

	if (loading->started)
		return NULL;
	for (size_t i = 0; i < modules->num_modules; i++) {
		struct ch_error *err = indexed_symbols(&modules->modules[i]);

		if (err)
			return err;
		any |= modules->modules[i].has_dwarf;
	}
	loading->started = true;
	if (any && ch_thread_create(&loading->thread, load_dwarf, modules) == 0)
		__atomic_store_n(&loading->running, true, __ATOMIC_RELEASE);
	return NULL;
}

// libdwfl's answer for an address: a pass over the module's symbols.
static void look_up_address(void *arg, uint64_t addr,
			    struct ch_symbol_hit *ret)
{
	GElf_Off offset;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(arg, addr, &offset, &sym, NULL,
						NULL, NULL);

	*ret = (struct ch_symbol_hit){ 0 };
	if (name)
		*ret = (struct ch_symbol_hit){
			.name = name,
			.address = addr - offset,
			.size = sym.st_size,
		};
}

DEFINE_VECTOR(symbol_hit_vector, struct ch_symbol_hit);
DEFINE_VECTOR(address_vector, uint64_t);

/*
 * Where each section of elf starts and ends (its end and the address past
 * it: libdwfl counts a section's end as in it, unless the next starts
 * there).
 */
static struct ch_error *add_section_bounds(Elf *elf, Dwarf_Addr bias,
					   struct address_vector *bounds)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		uint64_t start;
		struct ch_error *err = NULL;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		start = shdr.sh_addr + bias;
		err = address_vector_append(bounds, &start);
		if (!err)
			err = address_vector_append(bounds,
						    &(uint64_t){ start + shdr.sh_size });
		if (!err)
			err = address_vector_append(bounds,
						    &(uint64_t){ start + shdr.sh_size + 1 });
		if (err)
			return err;
	}
	return NULL;
}

/*
 * The ranges of the symbols libdwfl's search considers (named, defined,
 * neither a section's, a file's nor TLS), at the addresses it compares
 * (dwfl_module_getsym_info()'s, and the symbol's own value where that
 * differs, as a function descriptor's does: then only the answers asked
 * are kept), with the bounds of the sections of the files they are in.
 */
static struct ch_error *make_address_ranges(Dwfl_Module *mod,
					    struct ch_symbol_ranges *ranges)
{
	struct symbol_hit_vector symbols;
	struct address_vector bounds;
	Dwarf_Addr main_bias = 0;
	Elf *main_elf = dwfl_module_getelf(mod, &main_bias), *last_elf = main_elf;
	int n = dwfl_module_getsymtab(mod);
	bool simple_holds = true;
	struct ch_error *err = NULL;

	symbol_hit_vector_init(&symbols);
	address_vector_init(&bounds);
	if (main_elf)
		err = add_section_bounds(main_elf, main_bias, &bounds);
	for (int i = 1; !err && i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf = NULL;
		Dwarf_Addr bias = 0;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr,
							   &shndx, &elf, &bias);
		int type = GELF_ST_TYPE(sym.st_info);

		if (!name || !name[0] || sym.st_shndx == SHN_UNDEF ||
		    type == STT_SECTION || type == STT_FILE || type == STT_TLS)
			continue;
		if (elf && elf != last_elf) {
			last_elf = elf;
			err = add_section_bounds(elf, bias, &bounds);
		}
		if (!err)
			err = symbol_hit_vector_append(&symbols,
						       &(struct ch_symbol_hit){
							       .name = name,
							       .address = addr,
							       .size = sym.st_size,
						       });
		if (!err && addr != sym.st_value + bias) {
			simple_holds = false;
			err = symbol_hit_vector_append(&symbols,
						       &(struct ch_symbol_hit){
							       .name = name,
							       .address = sym.st_value + bias,
							       .size = sym.st_size,
						       });
		}
	}
	if (!err)
		err = ch_symbol_ranges_build(ranges, symbols.data, symbols.len,
					     bounds.data, bounds.len,
					     simple_holds);
	symbol_hit_vector_deinit(&symbols);
	address_vector_deinit(&bounds);
	return err;
}

/*
 * The symbol holding addr, asked of lookup (arg its argument) or, past
 * ANSWERS_AFTER questions, of the ranges make_ranges made (once; if it
 * cannot, of lookup still).
 */
static void find_symbol(struct symbol_answers *answers, uint64_t addr,
			ch_symbol_lookup_fn *lookup, void *arg,
			struct ch_error *(*make_ranges)(Dwfl_Module *,
							struct ch_symbol_ranges *),
			struct ch_symbol_hit *ret)
{
	if (!answers->have_ranges && answers->questions <= ANSWERS_AFTER &&
	    ++answers->questions > ANSWERS_AFTER) {
		struct ch_error *err = make_ranges(arg, &answers->ranges);

		// Without the ranges, the questions go on as before.
		answers->have_ranges = !err;
		ch_error_destroy(err);
	}
	if (answers->have_ranges)
		ch_symbol_ranges_find(&answers->ranges, addr, lookup, arg, ret);
	else
		lookup(arg, addr, ret);
}

// The symbol holding addr, as libdwfl's dwfl_module_addrinfo() says.
static void symbol_holding(struct ch_module *module, uint64_t addr,
			   struct ch_symbol_hit *ret)
{
	struct ch_module_internal *internal = module->internal;

	wait_for_dwarf(internal->modules);
	find_symbol(&internal->addresses, addr, look_up_address,
		    internal->dwfl_module, make_address_ranges, ret);
}

const char *ch_module_symbolize(struct ch_module *module, uint64_t addr,
				uint64_t *offset_ret)
{
	struct ch_symbol_hit hit;

	symbol_holding(module, addr, &hit);
	if (hit.name)
		*offset_ret = addr - hit.address;
	return hit.name;
}

struct ch_error *ch_modules_name_address(const struct ch_modules *modules,
					 uint64_t addr, unsigned flags,
					 struct ch_strbuf *name)
{
	struct ch_module *module = ch_modules_find_by_address(modules, addr);
	const char *symbol = NULL;
	_cleanup_free_ char *demangled = NULL;
	uint64_t offset = 0;
	struct ch_error *err = NULL;

	if (!module)
		return ch_strbuf_appendf(name, "0x%" PRIx64, addr);
	symbol = ch_module_symbolize(module, addr, &offset);
	if (!symbol)
		return ch_strbuf_appendf(name, "%s+0x%" PRIx64,
					 ch_base_name(module->name),
					 addr - module->start);
	demangled = ch_demangle_symbol(symbol);
	if (flags & CH_NAME_MODULE)
		err = ch_strbuf_appendf(name, "%s!", ch_base_name(module->name));
	if (!err)
		err = ch_strbuf_appendf(name, "%s", demangled ? demangled : symbol);
	if (!err && (flags & CH_NAME_OFFSET) && offset)
		err = ch_strbuf_appendf(name, "+0x%" PRIx64, offset);
	return err;
}

Elf *ch_module_elf(struct ch_module *module)
{
	Dwarf_Addr bias;

	if (!module->has_binary)
		return NULL;
	if (module->internal->own_elf)
		return module->internal->own_elf;
	wait_for_dwarf(module->internal->modules);
	return dwfl_module_getelf(module->internal->dwfl_module, &bias);
}

Dwarf *ch_module_dwarf(struct ch_module *module, uint64_t *bias_ret)
{
	Dwarf_Addr bias = 0;
	Dwarf *dwarf;

	wait_for_dwarf(module->internal->modules);
	dwarf = dwfl_module_getdwarf(module->internal->dwfl_module, &bias);

	*bias_ret = bias;
	return dwarf;
}

bool ch_module_source_line(struct ch_module *module, uint64_t addr,
			   const char **file_ret, int *line_ret)
{
	Dwfl_Line *line;
	const char *file;
	int lineno = 0;

	if (!module->has_dwarf)
		return false;
	wait_for_dwarf(module->internal->modules);
	line = dwfl_module_getsrc(module->internal->dwfl_module, addr);
	if (!line)
		return false;
	file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
	if (!file || lineno <= 0)
		return false;
	*file_ret = file;
	*line_ret = lineno;
	return true;
}

void ch_module_build_id_hex(const struct ch_module *module, char *buf)
{
	for (size_t i = 0; i < module->build_id_size; i++)
		sprintf(buf + 2 * i, "%02x", module->build_id[i]);
	buf[2 * module->build_id_size] = '\0';
}

void ch_module_for_each_symbol(struct ch_module *module,
			       ch_module_symbol_fn *fn, void *arg)
{
	Dwfl_Module *mod = module->internal->dwfl_module;
	int n;

	wait_for_dwarf(module->internal->modules);
	n = dwfl_module_getsymtab(mod);

	for (int i = 1; i < n; i++) {
		struct ch_module_symbol symbol;
		const char *name;
		int type;

		if (!read_symbol(mod, i, &name, &symbol, &type, NULL) ||
		    symbol.is_tls)
			continue;
		if (!fn(name, &symbol, type, arg))
			return;
	}
}

// Unwinding and locals (the graph's stack roots) need DWARF's constants.
#include <dwarf.h>

const char *ch_module_symbol_at(struct ch_module *module, uint64_t addr,
				uint64_t *offset_ret, uint64_t *size_ret)
{
	struct ch_symbol_hit hit;

	symbol_holding(module, addr, &hit);
	if (hit.name) {
		*offset_ret = addr - hit.address;
		*size_ret = hit.size;
	}
	return hit.name;
}

/*
 * The TLS symbol holding offset: the first of the symbol table that holds
 * it, else the nearest sizeless one below it.
 */
static void look_up_tls(void *arg, uint64_t offset, struct ch_symbol_hit *ret)
{
	Dwfl_Module *mod = arg;
	int n = dwfl_module_getsymtab(mod);

	*ret = (struct ch_symbol_hit){ 0 };
	for (int i = 1; i < n; i++) {
		struct ch_module_symbol symbol;
		const char *name;
		int type;

		// A TLS symbol's address is its offset in the module's block.
		if (!read_symbol(mod, i, &name, &symbol, &type, NULL) ||
		    !symbol.is_tls || offset < symbol.address)
			continue;
		if (offset - symbol.address < symbol.size) {
			*ret = (struct ch_symbol_hit){
				.name = name,
				.address = symbol.address,
				.size = symbol.size,
			};
			return;
		}
		if (symbol.size == 0 && (!ret->name || symbol.address > ret->address))
			*ret = (struct ch_symbol_hit){
				.name = name,
				.address = symbol.address,
			};
	}
}

// The ranges of the module's TLS symbols, by their offsets.
static struct ch_error *make_tls_ranges(Dwfl_Module *mod,
					struct ch_symbol_ranges *ranges)
{
	struct symbol_hit_vector symbols;
	int n = dwfl_module_getsymtab(mod);
	struct ch_error *err = NULL;

	symbol_hit_vector_init(&symbols);
	for (int i = 1; !err && i < n; i++) {
		struct ch_module_symbol symbol;
		const char *name;
		int type;

		if (read_symbol(mod, i, &name, &symbol, &type, NULL) &&
		    symbol.is_tls)
			err = symbol_hit_vector_append(&symbols,
						       &(struct ch_symbol_hit){
							       .name = name,
							       .address = symbol.address,
							       .size = symbol.size,
						       });
	}
	if (!err)
		err = ch_symbol_ranges_build(ranges, symbols.data, symbols.len,
					     NULL, 0, true);
	symbol_hit_vector_deinit(&symbols);
	return err;
}

const char *ch_module_symbolize_tls(struct ch_module *module, uint64_t offset,
				    uint64_t *offset_ret)
{
	struct ch_module_internal *internal = module->internal;
	struct ch_symbol_hit hit;

	wait_for_dwarf(internal->modules);
	find_symbol(&internal->tls_offsets, offset, look_up_tls,
		    internal->dwfl_module, make_tls_ranges, &hit);
	if (hit.name)
		*offset_ret = offset - hit.address;
	return hit.name;
}

// DWARF register numbers of x86-64 (System V ABI, figure 3.36): rax,
// rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8 to r15, then the return address.
#define DWARF_REG_RBP 6
#define DWARF_REG_RSP 7
#define DWARF_NUM_REGS 17

static const int dwarf_regs[DWARF_NUM_REGS] = {
	CH_REG_RAX, CH_REG_RDX, CH_REG_RCX, CH_REG_RBX, CH_REG_RSI, CH_REG_RDI,
	CH_REG_RBP, CH_REG_RSP, CH_REG_R8, CH_REG_R9, CH_REG_R10, CH_REG_R11,
	CH_REG_R12, CH_REG_R13, CH_REG_R14, CH_REG_R15, CH_REG_RIP,
};

/*
 * The threads libdwfl unwinds, given it by coreheap (dwfl_attach_state())
 * rather than read by libdwfl from the core (dwfl_core_file_attach()):
 * the registers from the thread notes coreheap has read, the memory
 * through the address space. libdwfl's own reader of a core looks for
 * each word the unwinder reads in every program header in turn and asks
 * libelf for a new piece of the file: time quadratic in the threads, 10 s
 * for a core of 8,000 threads whose heap takes 0.3 s.
 */
struct thread_source {
	const struct ch_core *core;
	const struct ch_address_space *as;
	/** The thread libdwfl was given last, by its place in core->threads. */
	size_t current;
	/** A read failed since the last frame was found, at failed_at. */
	bool read_failed;
	uint64_t failed_at;
};

static pid_t next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
	struct thread_source *source = dwfl_arg;
	const struct ch_thread *thread = *thread_argp;
	size_t next = thread ? (size_t)(thread - source->core->threads) + 1 : 0;

	(void)dwfl;
	if (next >= source->core->num_threads)
		return 0;
	source->current = next;
	source->read_failed = false;
	*thread_argp = &source->core->threads[next];
	return source->core->threads[next].tid;
}

static bool read_memory(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			void *dwfl_arg)
{
	struct thread_source *source = dwfl_arg;
	uint64_t value;

	(void)dwfl;
	if (!ch_address_space_read_u64(source->as, addr, &value)) {
		source->read_failed = true;
		source->failed_at = addr;
		return false;
	}
	*result = value;
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct ch_thread *notes = thread_arg;
	Dwarf_Word regs[DWARF_NUM_REGS];

	for (size_t r = 0; r < DWARF_NUM_REGS; r++)
		regs[r] = notes->regs[dwarf_regs[r]];
	if (!dwfl_thread_state_registers(thread, 0, DWARF_NUM_REGS, regs))
		return false;
	dwfl_thread_state_register_pc(thread, notes->regs[CH_REG_RIP]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.memory_read = read_memory,
	.set_initial_registers = set_initial_registers,
};

struct unwind_arg {
	struct ch_stacks *stacks;
	struct thread_source *source;
	/** The stack being unwound. */
	struct ch_stack *stack;
	size_t capacity;
	bool out_of_memory;
};

static int collect_frame(Dwfl_Frame *state, void *varg)
{
	struct unwind_arg *arg = varg;
	struct ch_stack *stack = arg->stack;
	struct ch_frame *frame;
	Dwarf_Addr pc;
	Dwarf_Word value;
	bool is_activation;

	arg->source->read_failed = false;
	if (stack->num_frames == CH_MAX_FRAMES)
		return DWARF_CB_ABORT;
	if (!dwfl_frame_pc(state, &pc, &is_activation))
		return DWARF_CB_ABORT;
	if (ch_vector_reserve_one((void **)&stack->frames, &arg->capacity,
				  sizeof(*stack->frames), stack->num_frames)) {
		arg->out_of_memory = true;
		return DWARF_CB_ABORT;
	}
	frame = &stack->frames[stack->num_frames++];
	*frame = (struct ch_frame){
		.pc = pc,
		.is_activation = is_activation,
		// A return address is past the call: the byte before it is
		// inside the calling function (eu-stack does the same).
		.context.pc = pc - (is_activation ? 0 : 1),
	};
	// The caller's registers are only partly known: rsp and rbp are
	// recovered by the CFI of most functions, but need not be.
	if (dwfl_frame_reg(state, DWARF_REG_RSP, &value) == 0) {
		frame->context.sp = value;
		frame->context.has_sp = true;
	}
	if (dwfl_frame_reg(state, DWARF_REG_RBP, &value) == 0) {
		frame->context.bp = value;
		frame->context.has_bp = true;
	}
	return DWARF_CB_OK;
}

// Why libdwfl stopped unwinding the thread before its stack's end.
static char *stop_reason(const struct thread_source *source)
{
	int error = dwfl_errno();
	char *reason;

	// A read of ours that failed in the last step is why: libdwfl sets
	// no error for it, and tries on where it can, so that its own error
	// is of a later attempt (no .debug_frame, say).
	if (source->read_failed) {
		if (asprintf(&reason, "no memory at 0x%" PRIx64 " in the core",
			     source->failed_at) < 0)
			return NULL;
		return reason;
	}
	return strdup(error ? dwfl_errmsg(error) : "unknown error");
}

static int unwind_thread(Dwfl_Thread *thread, void *varg)
{
	struct unwind_arg *arg = varg;
	struct ch_stack *stack = &arg->stacks->threads[arg->source->current];
	int status;

	if (arg->out_of_memory)
		return DWARF_CB_OK;
	// Clear what an earlier thread left: libdwfl's error is kept per
	// thread of ours, not per thread it unwinds.
	(void)dwfl_errno();
	arg->stack = stack;
	arg->capacity = 0;
	status = dwfl_thread_getframes(thread, collect_frame, arg);
	if (arg->out_of_memory)
		return DWARF_CB_OK;
	// -1 is how libdwfl says the stack ended where no CFI or frame
	// pointer leads on: the frames so far are good, the rest unknown.
	if (status == -1)
		stack->stop_reason = stop_reason(arg->source);
	else if (stack->num_frames == CH_MAX_FRAMES)
		stack->stop_reason = strdup("too many frames");
	else
		return DWARF_CB_OK;
	arg->out_of_memory = !stack->stop_reason;
	return DWARF_CB_OK;
}

// What the frames are: the CFA of each, its module and its function.
static void name_frames(struct ch_modules *modules, struct ch_stack *stack)
{
	for (size_t k = 0; k < stack->num_frames; k++) {
		struct ch_frame *frame = &stack->frames[k];

		// GCC's DW_OP_fbreg is relative to the CFA, the sp of the
		// caller's frame on x86-64.
		if (k + 1 < stack->num_frames &&
		    stack->frames[k + 1].context.has_sp) {
			frame->context.cfa = stack->frames[k + 1].context.sp;
			frame->context.has_cfa = true;
		}
		frame->module = ch_modules_find_by_address(modules,
							   frame->context.pc);
		if (frame->module)
			frame->function = ch_module_symbolize(
				frame->module, frame->context.pc,
				&frame->function_offset);
	}
}

// Fill stacks from libdwfl: the frames of every thread, and why those it
// could not unwind, or all of them, were not.
static struct ch_error *unwind_threads(struct ch_modules *modules,
				       struct ch_core *core,
				       const struct ch_address_space *as,
				       struct ch_stacks *stacks)
{
	struct thread_source *source = calloc(1, sizeof(*source));
	struct unwind_arg arg = { .stacks = stacks, .source = source };
	int status;

	if (!source)
		return &ch_enomem;
	*source = (struct thread_source){ .core = core, .as = as };
	// libdwfl keeps the source to the end of the Dwfl.
	modules->thread_source = source;
	if (!dwfl_attach_state(modules->dwfl, core->elf, core->pid,
			       &thread_callbacks, source)) {
		stacks->error = strdup(dwfl_errmsg(-1));
		return stacks->error ? NULL : &ch_enomem;
	}
	// dwfl_getthread_frames() would do one thread, but it stops libdwfl's
	// thread iterator early, which leaks it (libdw 0.188): one pass over
	// all threads instead.
	status = dwfl_getthreads(modules->dwfl, unwind_thread, &arg);
	if (arg.out_of_memory)
		return &ch_enomem;
	for (size_t t = 0; t < stacks->num_threads; t++) {
		struct ch_stack *stack = &stacks->threads[t];

		if (stack->num_frames || stack->stop_reason)
			continue;
		stack->stop_reason = strdup(status == -1 ? dwfl_errmsg(-1) :
							   "no such thread");
		if (!stack->stop_reason)
			return &ch_enomem;
	}
	return NULL;
}

static void ch_stacks_destroyp(struct ch_stacks **stacks)
{
	ch_stacks_destroy(*stacks);
}

struct ch_error *ch_stacks_create(struct ch_modules *modules,
				  struct ch_core *core,
				  const struct ch_address_space *as,
				  struct ch_stacks **ret)
{
	_cleanup_(ch_stacks_destroyp) struct ch_stacks *stacks = NULL;
	struct ch_error *err;

	wait_for_dwarf(modules);
	stacks = calloc(1, sizeof(*stacks));
	if (!stacks)
		return &ch_enomem;
	stacks->threads = calloc(core->num_threads + 1,
				 sizeof(*stacks->threads));
	if (!stacks->threads)
		return &ch_enomem;
	stacks->num_threads = core->num_threads;
	for (size_t t = 0; t < core->num_threads; t++)
		stacks->threads[t].tid = core->threads[t].tid;
	// Without thread notes there is nothing to unwind, and nothing to
	// say: the program said the notes are missing, or which is wrong.
	if (core->num_threads && modules->threads_unreadable) {
		stacks->error = strdup("the core's threads cannot be read");
		if (!stacks->error)
			return &ch_enomem;
	} else if (core->num_threads) {
		err = unwind_threads(modules, core, as, stacks);
		if (err)
			return err;
	}
	for (size_t t = 0; t < stacks->num_threads; t++)
		name_frames(modules, &stacks->threads[t]);
	*ret = no_cleanup_ptr(stacks);
	return NULL;
}

void ch_stacks_destroy(struct ch_stacks *stacks)
{
	if (!stacks)
		return;
	for (size_t t = 0; stacks->threads && t < stacks->num_threads; t++) {
		free(stacks->threads[t].frames);
		free(stacks->threads[t].stop_reason);
	}
	free(stacks->threads);
	free(stacks->error);
	free(stacks);
}

// DWARF expression opcodes coreheap evaluates for locals.
#ifndef DW_OP_call_frame_cfa
#define DW_OP_call_frame_cfa 0x9c
#endif

// The base a DW_OP_fbreg is relative to, from the function's
// DW_AT_frame_base: the CFA (GCC's choice) or rbp plus an offset.
static bool frame_base(Dwarf_Die *function, Dwarf_Addr pc,
		       const struct ch_frame_context *context, uint64_t *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Op *expr;
	size_t len;

	if (!dwarf_attr_integrate(function, DW_AT_frame_base, &attr) ||
	    dwarf_getlocation_addr(&attr, pc, &expr, &len, 1) != 1 || len != 1)
		return false;
	if (expr[0].atom == DW_OP_call_frame_cfa && context->has_cfa) {
		*ret = context->cfa;
		return true;
	}
	if (expr[0].atom == DW_OP_breg6 && context->has_bp) {
		*ret = context->bp + (int64_t)expr[0].number;
		return true;
	}
	if (expr[0].atom == DW_OP_breg7 && context->has_sp) {
		*ret = context->sp + (int64_t)expr[0].number;
		return true;
	}
	return false;
}

static uint64_t variable_size(Dwarf_Die *variable)
{
	Dwarf_Attribute attr;
	Dwarf_Die type;
	Dwarf_Word size;

	if (dwarf_attr_integrate(variable, DW_AT_type, &attr) &&
	    dwarf_formref_die(&attr, &type) &&
	    dwarf_aggregate_size(&type, &size) == 0)
		return size;
	return 8;
}

// The variable of scope that covers addr, if its location is a single
// DW_OP_fbreg (what GCC emits for locals kept in memory).
static const char *find_in_scope(Dwarf_Die *scope, Dwarf_Addr pc,
				 uint64_t base, uint64_t addr,
				 uint64_t *offset_ret)
{
	Dwarf_Die child;

	if (dwarf_child(scope, &child) != 0)
		return NULL;
	do {
		int tag = dwarf_tag(&child);
		Dwarf_Attribute attr;
		Dwarf_Op *expr;
		size_t len;
		uint64_t start;

		if (tag != DW_TAG_variable && tag != DW_TAG_formal_parameter)
			continue;
		if (!dwarf_attr_integrate(&child, DW_AT_location, &attr) ||
		    dwarf_getlocation_addr(&attr, pc, &expr, &len, 1) != 1 ||
		    len != 1 || expr[0].atom != DW_OP_fbreg)
			continue;
		start = base + (int64_t)expr[0].number;
		if (addr - start < variable_size(&child)) {
			const char *name = dwarf_diename(&child);

			if (name) {
				*offset_ret = addr - start;
				return name;
			}
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return NULL;
}

/*
 * The scopes holding pc, innermost first, up to the outermost function
 * (ret->function is its index): inlined functions have no frame base of
 * their own. ret->num_scopes is 0 if DWARF does not say.
 */
static struct pc_scopes find_pc_scopes(struct ch_module *module, uint64_t pc)
{
	Dwfl_Module *mod = module->internal->dwfl_module;
	struct pc_scopes ret = { .function = -1 };
	Dwarf_Die *scopes = NULL;
	Dwarf_Addr bias;
	Dwarf_Die *cu;
	int num_scopes;

	cu = dwfl_module_addrdie(mod, pc, &bias);
	if (!cu)
		return ret;
	ret.dwarf_pc = pc - bias;
	num_scopes = dwarf_getscopes(cu, ret.dwarf_pc, &scopes);
	/*
	 * When pc is in an inlined call, dwarf_getscopes() goes from the
	 * inlined_subroutine on to the scopes of its abstract definition,
	 * not to the function (and blocks) it was inlined into; the concrete
	 * chain is the one that holds the frame's locals.
	 */
	for (int i = 0; i < num_scopes; i++) {
		// scopes[0], found by pc, is in the concrete tree.
		Dwarf_Die innermost = scopes[0];

		if (dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine) {
			free(scopes);
			scopes = NULL;
			num_scopes = dwarf_getscopes_die(&innermost, &scopes);
			break;
		}
	}
	for (int i = 0; i < num_scopes; i++) {
		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram)
			ret.function = i;
	}
	if (ret.function < 0) {
		free(scopes);
		return ret;
	}
	ret.scopes = scopes;
	ret.num_scopes = num_scopes;
	return ret;
}

/*
 * The scopes of pc, found once (the module's to keep). Out of memory to
 * keep them, NULL: the frame is one DWARF says nothing of, as when libdw
 * runs out of memory finding them.
 */
static const struct pc_scopes *scopes_of_pc(struct ch_module *module,
					    uint64_t pc)
{
	struct ch_module_internal *internal = module->internal;
	struct pc_scopes found;
	uint64_t index;

	if (ch_u64_map_get(&internal->pc_scopes_index, pc, &index))
		return &internal->pc_scopes.data[index];
	found = find_pc_scopes(module, pc);
	index = internal->pc_scopes.len;
	if (pc_scopes_vector_append(&internal->pc_scopes, &found)) {
		free(found.scopes);
		return NULL;
	}
	// Not indexed, it is found again when asked again.
	ch_error_destroy(ch_u64_map_put(&internal->pc_scopes_index, pc, index));
	return &internal->pc_scopes.data[index];
}

// The frame's scopes, and its function's frame base; ret->num_scopes is 0
// if DWARF does not say.
static void find_frame_scopes(struct ch_module *module,
			      const struct ch_frame_context *context,
			      struct frame_scopes *ret)
{
	const struct pc_scopes *scopes = scopes_of_pc(module, context->pc);

	*ret = (struct frame_scopes){ .valid = true, .context = *context };
	if (!scopes || !scopes->num_scopes ||
	    !frame_base(&scopes->scopes[scopes->function], scopes->dwarf_pc,
			context, &ret->base))
		return;
	ret->scopes = scopes->scopes;
	ret->num_scopes = scopes->num_scopes;
	ret->function = scopes->function;
	ret->pc = scopes->dwarf_pc;
}

static bool same_context(const struct ch_frame_context *a,
			 const struct ch_frame_context *b)
{
	return a->pc == b->pc && a->cfa == b->cfa && a->sp == b->sp &&
	       a->bp == b->bp && a->has_cfa == b->has_cfa &&
	       a->has_sp == b->has_sp && a->has_bp == b->has_bp;
}

// The frame's scopes (find_frame_scopes()), the module's to keep; NULL if
// DWARF does not say.
static const struct frame_scopes *frame_scopes(struct ch_module *module,
					       const struct ch_frame_context *context)
{
	struct frame_scopes *last = &module->internal->last_frame;

	wait_for_dwarf(module->internal->modules);
	if (!last->valid || !same_context(&last->context, context))
		find_frame_scopes(module, context, last);
	return last->num_scopes ? last : NULL;
}

const char *ch_module_find_local(struct ch_module *module,
				 const struct ch_frame_context *context,
				 uint64_t addr, uint64_t *offset_ret)
{
	const struct frame_scopes *frame = frame_scopes(module, context);
	const char *name = NULL;

	if (!frame)
		return NULL;
	for (int i = 0; i <= frame->function && !name; i++)
		name = find_in_scope(&frame->scopes[i], frame->pc, frame->base,
				     addr, offset_ret);
	return name;
}

void ch_module_for_each_local(struct ch_module *module,
			      const struct ch_frame_context *context,
			      ch_frame_local_fn *fn, void *arg)
{
	// Its own, not the module's last: fn may ask of other frames.
	struct frame_scopes frame;

	wait_for_dwarf(module->internal->modules);
	find_frame_scopes(module, context, &frame);
	for (int i = 0; i < frame.num_scopes && i <= frame.function; i++) {
		Dwarf_Die child;

		if (dwarf_child(&frame.scopes[i], &child) != 0)
			continue;
		do {
			int tag = dwarf_tag(&child);
			Dwarf_Attribute attr;
			Dwarf_Op *expr;
			size_t len;

			if (tag != DW_TAG_variable &&
			    tag != DW_TAG_formal_parameter)
				continue;
			if (!dwarf_attr_integrate(&child, DW_AT_location,
						  &attr) ||
			    dwarf_getlocation_addr(&attr, frame.pc, &expr, &len,
						   1) != 1 ||
			    len != 1 || expr[0].atom != DW_OP_fbreg)
				continue;
			if (!fn(&child, frame.base + (int64_t)expr[0].number,
				arg))
				return;
		} while (dwarf_siblingof(&child, &child) == 0);
	}
}
