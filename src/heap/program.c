// SPDX-License-Identifier: MIT
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bitmap.h"
#include "base/cleanup.h"
#include "base/progress.h"
#include "base/vector.h"
#include "heap/host.h"
#include "heap/program.h"

// Confidence below which a probed allocator is not used unless forced.
#define MIN_CONFIDENCE 50

void ch_program_warn(struct ch_program *program, bool partial,
		     const char *format, ...)
{
	struct ch_warning *warning;
	va_list ap;
	char *message;

	va_start(ap, format);
	if (vasprintf(&message, format, ap) < 0)
		message = NULL;
	va_end(ap);
	if (!message)
		return;
	if (ch_vector_reserve_one((void **)&program->warnings,
				  &program->warnings_capacity,
				  sizeof(*program->warnings),
				  program->num_warnings)) {
		free(message);
		return;
	}
	warning = &program->warnings[program->num_warnings++];
	warning->message = message;
	warning->partial = partial;
}

bool ch_program_is_partial(const struct ch_program *program)
{
	for (size_t i = 0; i < program->num_warnings; i++) {
		if (program->warnings[i].partial)
			return true;
	}
	return false;
}

static void warn_about_core(struct ch_program *program)
{
	const struct ch_core *core = program->core;

	// What a truncated core lost is said once the heap is known
	// (warn_about_lost): what it costs depends on whose memory it was.
	if (core->num_segments == 0)
		ch_program_warn(program, true,
				"core '%s' has no memory: no PT_LOAD segment",
				core->path);
	if (core->num_threads == 0)
		ch_program_warn(program, true,
				"core '%s' has no thread notes: no registers, no thread caches",
				core->path);
	// Damage the reader read around: each kind once, here, so that every
	// command says the same.
	for (int i = 0; i < CH_CORE_NUM_PROBLEM_KINDS; i++) {
		const struct ch_core_problem *problem = &core->problems[i];

		bool partial = i != CH_CORE_UNSAVED;

		if (!problem->count)
			continue;
		// Writable memory the kernel left out (MADV_DONTDUMP, as
		// jemalloc's reserves; pages the coredump_filter excludes)
		// costs nothing unless the analysis reads it, and then the
		// read fails and says so: only a --verbose note here.
		if (!partial && !program->verbose)
			continue;
		if (problem->count == 1)
			ch_program_warn(program, partial, "%s",
					problem->message ? problem->message :
							   "the core is damaged");
		else
			ch_program_warn(program, partial, "%s (and %zu more of this kind)",
					problem->message ? problem->message :
							   "the core is damaged",
					problem->count - 1);
	}
}

/*
 * What the core left out of [start, end) into *left_out, and the range from
 * the first such byte's interval to the last's into *first and *last.
 */
static void add_left_out(const struct ch_address_space *as, uint64_t start,
			 uint64_t end, uint64_t *left_out, uint64_t *first,
			 uint64_t *last)
{
	struct ch_address_bytes bytes;

	ch_address_space_count(as, start, end, &bytes);
	if (!bytes.left_out)
		return;
	if (!*left_out)
		*first = start;
	*last = end;
	*left_out += bytes.left_out;
}

/*
 * A module whose binary is missing: its symbols are unknown, and so is
 * what the core left out of its file mappings (its code and the data never
 * written: the kernel and gcore leave out file pages that are the file's),
 * said with the range that holds it. The file mappings are NT_FILE's
 * (gcore writes no PT_LOAD for a mapping it leaves out), else the
 * accessible PT_LOADs.
 */
static void warn_about_missing_binary(struct ch_program *program,
				      const struct ch_module *module)
{
	const struct ch_address_space *as = program->address_space;
	const struct ch_core *core = program->core;
	uint64_t left_out = 0, first = 0, last = 0;

	for (size_t i = 0; i < core->num_files; i++) {
		const struct ch_core_file *file = &core->files[i];

		if (file->end > module->start && file->start < module->end)
			add_left_out(as, file->start, file->end, &left_out,
				     &first, &last);
	}
	for (size_t i = 0; !core->num_files && i < as->num_mappings; i++) {
		const struct ch_mapping *mapping = &as->mappings[i];

		if (mapping->end > module->start &&
		    mapping->start < module->end &&
		    (mapping->flags & (PF_R | PF_W | PF_X)))
			add_left_out(as, mapping->start, mapping->end,
				     &left_out, &first, &last);
	}
	if (left_out)
		ch_program_warn(program, true,
				"binary of '%s' not found (or its build-id differs): its symbols, and its code and data the core left out in 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64 " bytes), are unavailable (try --sysroot, --exe)",
				module->name, first, last, left_out);
	else
		ch_program_warn(program, true,
				"binary of '%s' not found (or its build-id differs): its symbols are unavailable, its memory (0x%" PRIx64 "-0x%" PRIx64 ") is all in the core (try --sysroot, --exe)",
				module->name, module->start, module->end);
}

static void warn_about_modules(struct ch_program *program)
{
	const struct ch_modules *modules = program->modules;

	if (modules->skipped)
		ch_program_warn(program, true,
				"core '%s' has %zu program headers%s, more than the %d whose modules are looked up (libdwfl's search takes quadratic time): no symbols, debug info or stacks",
				program->core->path, modules->dwfl_phdrs,
				modules->hidden_phdrs ?
					" besides its threads' stacks" :
					"",
				CH_MAX_DWFL_PHDRS);
	if (modules->unsafe_paths == 1)
		ch_program_warn(program, true,
				"core '%s' maps '%s', which is no regular file here (a FIFO, a device or a directory); it is not opened",
				program->core->path, modules->unsafe_path);
	else if (modules->unsafe_paths)
		ch_program_warn(program, true,
				"core '%s' maps '%s' and %zu other paths which are no regular files here (FIFOs, devices or directories); they are not opened",
				program->core->path, modules->unsafe_path,
				modules->unsafe_paths - 1);
	if (modules->num_modules == 0 && !modules->skipped)
		ch_program_warn(program, true,
				"no modules found in core '%s': symbols and read-only data are unavailable",
				program->core->path);
	for (size_t i = 0; i < modules->num_modules; i++) {
		const struct ch_module *module = &modules->modules[i];

		if (!module->has_binary && !module->is_vdso)
			warn_about_missing_binary(program, module);
	}
}

static void hex(const uint8_t *bytes, size_t len, char *buf)
{
	for (size_t i = 0; i < len; i++)
		sprintf(buf + 2 * i, "%02x", bytes[i]);
	buf[2 * len] = '\0';
}

/*
 * A path the user gave that cannot be used is said, and makes the results
 * partial: silence would leave the user believing it was used. Nothing is
 * opened that could block (a FIFO), and a bad --exe is not handed to
 * libdwfl (which would take a truncated one, or leak on a damaged one).
 */
static void check_user_paths(struct ch_program *program,
			     struct ch_module_search *search,
			     uint8_t *exe_id, size_t *exe_id_size)
{
	struct ch_error *err;
	struct stat st;

	*exe_id_size = 0;
	if (search->executable) {
		err = ch_binary_check(search->executable, "--exe", exe_id,
				      exe_id_size);
		if (err) {
			ch_program_warn(program, true, "%s; it is ignored",
					err->message);
			ch_error_destroy(err);
			search->executable = NULL;
		}
	}
	if (search->sysroot) {
		if (stat(search->sysroot, &st) != 0) {
			ch_program_warn(program, true,
					"cannot use --sysroot '%s': %s; it is ignored",
					search->sysroot, strerror(errno));
			search->sysroot = NULL;
		} else if (!S_ISDIR(st.st_mode)) {
			ch_program_warn(program, true,
					"--sysroot '%s' is not a directory; it is ignored",
					search->sysroot);
			search->sysroot = NULL;
		}
	}
	for (size_t i = 0; i < search->num_debug_dirs; i++) {
		const char *dir = search->debug_dirs[i];

		if (stat(dir, &st) != 0)
			ch_program_warn(program, true,
					"cannot use --debug-dir '%s': %s",
					dir, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			ch_program_warn(program, true,
					"--debug-dir '%s' is not a directory",
					dir);
	}
}

#define PAGE_DOWN(x) ((x) & ~UINT64_C(4095))
#define PAGE_UP(x) PAGE_DOWN((x) + 4095)

// Whether a PT_LOAD of elf, moved by bias, maps file at its address.
static bool loads_map(Elf *elf, uint64_t bias, const struct ch_core_file *file)
{
	size_t phnum;

	if (elf_getphdrnum(elf, &phnum) != 0)
		return false;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr phdr;
		uint64_t offset, vaddr;

		if (!gelf_getphdr(elf, i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		offset = PAGE_DOWN(phdr.p_offset);
		vaddr = PAGE_DOWN(phdr.p_vaddr) + bias;
		if (file->offset >= offset &&
		    file->offset < phdr.p_offset + phdr.p_filesz &&
		    file->start - vaddr == file->offset - offset &&
		    file->end - bias <= PAGE_UP(phdr.p_vaddr + phdr.p_memsz))
			return true;
	}
	return false;
}

/*
 * Without a build-id in the core (gcore saves no read-only page of the
 * executable), libdwfl takes --exe as it is. How the core maps its
 * executable (NT_FILE) still tells: each of those mappings must be one of
 * --exe's PT_LOADs, at the same offset, address and no larger.
 */
static bool exe_layout_differs(const struct ch_program *program,
			       const struct ch_module *module, const char *exe)
{
	const struct ch_core *core = program->core;
	bool differs = false;
	int fd;
	Elf *elf;
	struct ch_error *err = ch_open_regular(exe, "--exe", &fd, NULL);

	if (err) {
		ch_error_destroy(err);
		return false;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	for (size_t i = 0; elf && !differs && i < core->num_files; i++) {
		const struct ch_core_file *file = &core->files[i];

		if (strcmp(file->path, module->name) == 0)
			differs = !loads_map(elf, module->bias, file);
	}
	elf_end(elf);
	close(fd);
	return differs;
}

// The --exe given must be the core's executable: say so when its build-id
// is another's (libdwfl then quietly uses something else, or nothing), or
// when the core's mappings show another file. True if it is another.
static bool exe_is_another(struct ch_program *program, const char *exe,
			   const uint8_t *id, size_t id_size)
{
	const struct ch_modules *modules = program->modules;

	if (!exe)
		return false;
	for (size_t i = 0; i < modules->num_modules; i++) {
		const struct ch_module *module = &modules->modules[i];
		char want[2 * CH_MAX_BUILD_ID + 1], got[2 * CH_MAX_BUILD_ID + 1];

		if (!module->is_executable)
			continue;
		// A module's build-id is the core's, or, when the core holds
		// none, that of the file libdwfl took (--exe itself): a match
		// proves nothing until the layout agrees too.
		if (!module->build_id_size || !id_size ||
		    (module->build_id_size == id_size &&
		     memcmp(module->build_id, id, id_size) == 0)) {
			if (!exe_layout_differs(program, module, exe))
				return false;
			ch_program_warn(program, true,
					"--exe '%s' is another program: its segments are not how the core maps its executable '%s'; it is ignored",
					exe, module->name);
			return true;
		}
		hex(id, id_size, got);
		hex(module->build_id, module->build_id_size, want);
		ch_program_warn(program, true,
				"--exe '%s' is another program: its build-id %s is not that of the core's executable '%s' (%s); it is ignored",
				exe, got, module->name, want);
		return true;
	}
	return false;
}

struct ch_error *ch_program_open(const char *core_path,
				 const struct ch_program_options *options,
				 struct ch_program **ret)
{
	struct ch_module_search search = options->search;
	uint8_t exe_id[CH_MAX_BUILD_ID];
	struct ch_program *program;
	struct ch_error *err;
	size_t exe_id_size;

	elf_version(EV_CURRENT);
	program = calloc(1, sizeof(*program));
	if (!program)
		return &ch_enomem;
	program->verbose = options->verbose;
	ch_heap_init(&program->heap);
	err = ch_core_open(core_path, &program->core);
	if (err)
		goto out;
	if (options->verbose && program->core->memory.data) {
		const struct ch_core_image *memory = &program->core->memory;

		fprintf(stderr,
			"coreheap: core '%s': %s%s, %" PRIu64 " bytes read, %zu bytes in anonymous memory (%zu mapped)\n",
			program->core->path,
			memory->compression ? memory->compression : "not compressed",
			memory->compression ? "-compressed" : "",
			memory->input_bytes, memory->size, memory->mapped);
	}
	check_user_paths(program, &search, exe_id, &exe_id_size);
	err = ch_modules_create(program->core, &search, &program->modules);
	if (err)
		goto out;
	// libdwfl takes a wrong --exe when the core has no build-id to refuse
	// it with: look again without it.
	if (exe_is_another(program, search.executable, exe_id, exe_id_size)) {
		search.executable = NULL;
		ch_modules_destroy(program->modules);
		program->modules = NULL;
		err = ch_modules_create(program->core, &search,
					&program->modules);
		if (err)
			goto out;
	}
	err = ch_address_space_create(program->core, program->modules,
				      &program->address_space);
	if (err)
		goto out;
	program->tls_offsets = calloc(program->modules->num_modules + 1,
				      sizeof(*program->tls_offsets));
	program->tls_offset_state = calloc(program->modules->num_modules + 1,
					   sizeof(*program->tls_offset_state));
	if (!program->tls_offsets || !program->tls_offset_state) {
		err = &ch_enomem;
		goto out;
	}
	warn_about_core(program);
	warn_about_modules(program);
	*ret = program;
	return NULL;

out:
	ch_program_destroy(program);
	return err;
}

void ch_program_destroy(struct ch_program *program)
{
	if (!program)
		return;
	ch_allocator_set_deinit(&program->allocators);
	ch_heap_deinit(&program->heap);
	// Before the modules: frames point to them.
	ch_stacks_destroy(program->stacks);
	ch_address_space_destroy(program->address_space);
	ch_modules_destroy(program->modules);
	ch_core_destroy(program->core);
	for (size_t i = 0; i < program->num_warnings; i++)
		free(program->warnings[i].message);
	free(program->warnings);
	free(program->tls_offsets);
	free(program->tls_offset_state);
	free(program);
}

struct ch_error *ch_program_stacks(struct ch_program *program,
				   const struct ch_stacks **ret)
{
	struct ch_stacks *stacks;
	struct ch_error *err;

	if (program->stacks) {
		*ret = program->stacks;
		return NULL;
	}
	err = ch_stacks_create(program->modules, program->core,
			       program->address_space, &stacks);
	if (err)
		return err;
	// The one place that says what unwinding missed, so that every
	// command says it alike, and once. Threads that could not be given
	// to libdwfl at all were told when the program opened: the core's
	// problems (an impossible thread id) or warn_about_modules().
	if (stacks->error && !program->modules->threads_unreadable)
		ch_program_warn(program, true,
				"cannot unwind the threads of core '%s': %s",
				program->core->path, stacks->error);
	for (size_t t = 0; !stacks->error && t < stacks->num_threads; t++) {
		const struct ch_stack *stack = &stacks->threads[t];

		if (!stack->num_frames)
			ch_program_warn(program, true,
					"cannot unwind thread %d: %s",
					stack->tid, stack->stop_reason);
		else if (stack->stop_reason && program->verbose)
			ch_program_warn(program, false,
					"the stack of thread %d was unwound to frame %zu: %s",
					stack->tid, stack->num_frames,
					stack->stop_reason);
	}
	program->stacks = stacks;
	*ret = stacks;
	return NULL;
}

static struct ch_error *push_use(struct ch_allocator_set *set,
				 const struct coreheap_allocator *ops)
{
	struct ch_allocator_use *grown;

	if (set->num_uses >= UINT8_MAX)
		return ch_error_create(CH_ERROR_PLUGIN, "too many allocators");
	grown = realloc(set->uses, (set->num_uses + 1) * sizeof(*grown));
	if (!grown)
		return &ch_enomem;
	set->uses = grown;
	set->uses[set->num_uses++] = (struct ch_allocator_use){ .ops = ops };
	return NULL;
}

static struct ch_error *keep_plugin(struct ch_allocator_set *set,
				    struct ch_plugin *plugin)
{
	struct ch_plugin **grown = realloc(set->plugins,
					   (set->num_plugins + 1) *
						   sizeof(*grown));

	if (!grown)
		return &ch_enomem;
	set->plugins = grown;
	set->plugins[set->num_plugins++] = plugin;
	return NULL;
}

// Every allocator coreheap knows of: the built-in ones, then the plugins.
static struct ch_error *gather_candidates(struct ch_program *program,
					  const struct ch_program_options *options)
{
	struct ch_allocator_set *set = &program->allocators;
	struct ch_error *err;

	for (size_t i = 0; ch_builtin_allocators[i]; i++) {
		err = push_use(set, ch_builtin_allocators[i]);
		if (err)
			return err;
	}
	for (size_t i = 0; i < options->num_plugins; i++) {
		struct ch_plugin *plugin;
		int fd;

		// dlopen() would block on a FIFO: refuse what exists but is
		// not a regular file; leave the rest (a name for the library
		// path, a missing file) to dlopen's own message.
		err = ch_open_regular(options->plugins[i], "plugin", &fd, NULL);
		if (err && err->code != CH_ERROR_OS)
			return err;
		if (err)
			ch_error_destroy(err);
		else
			close(fd);

		err = ch_plugin_load(options->plugins[i], &plugin);
		if (err)
			return err;
		err = keep_plugin(set, plugin);
		if (err) {
			ch_plugin_destroy(plugin);
			return err;
		}
		err = push_use(set, &plugin->ops);
		if (err)
			return err;
	}
	if (options->allocator) {
		bool known = false;

		for (size_t i = 0; i < set->num_uses; i++)
			known |= strcmp(set->uses[i].ops->name,
					options->allocator) == 0;
		if (!known)
			return ch_error_create(CH_ERROR_USAGE,
					       "unknown allocator '%s' (see --list-allocators)",
					       options->allocator);
	}
	return NULL;
}

static struct ch_error *probe_candidates(struct ch_program *program,
					 const struct ch_program_options *options)
{
	struct ch_allocator_set *set = &program->allocators;
	size_t kept = 0;

	for (size_t i = 0; i < set->num_uses; i++) {
		struct ch_allocator_use *use = &set->uses[i];
		bool forced = options->allocator &&
			      strcmp(use->ops->name, options->allocator) == 0;
		struct ch_host host;
		int status;

		if (options->allocator && !forced)
			continue;
		ch_host_init(&host, program, i);
		status = use->ops->probe(&host.ops, forced, &use->confidence,
					 &use->state);
		struct ch_error *err = ch_host_take_error(&host);

		if (err)
			return err;
		if (status != COREHEAP_OK || use->confidence <= 0 ||
		    (!forced && use->confidence < MIN_CONFIDENCE)) {
			if (use->state && use->ops->destroy)
				use->ops->destroy(use->state);
			if (forced)
				ch_program_warn(program, true,
						"allocator '%s' was not found in the core",
						use->ops->name);
			continue;
		}
		set->uses[kept++] = *use;
	}
	set->num_uses = kept;
	return NULL;
}

static struct ch_error *walk_allocator(struct ch_program *program, size_t i)
{
	struct ch_allocator_use *use = &program->allocators.uses[i];
	struct ch_host host;
	struct ch_error *err;
	int status;

	ch_host_init(&host, program, i);
	status = use->ops->walk(&host.ops, use->state);
	ch_progress_flush(&host.progress);
	if (status == COREHEAP_OK && use->ops->check)
		status = use->ops->check(&host.ops, use->state);
	err = ch_host_take_error(&host);
	if (err)
		return err;
	if (status == COREHEAP_NOMEM)
		return &ch_enomem;
	if (status != COREHEAP_OK)
		ch_program_warn(program, true,
				"the %s heap could not be walked to the end; results are partial",
				use->ops->name);
	return NULL;
}

/** Lost ranges named one by one; the rest are counted. */
#define MAX_LOST_NAMED 8

/** A piece of the union of the owned ranges, with the first range's owner. */
struct owned_union {
	uint64_t start, end;
	const struct ch_owned_range *owner;
};

// The union of heap->owned (sorted by start, overlapping), in one pass.
static struct owned_union *owned_union(const struct ch_heap *heap,
				       size_t *count_ret)
{
	struct owned_union *pieces = calloc(heap->num_owned + 1, sizeof(*pieces));
	size_t n = 0;

	if (!pieces)
		return NULL;
	for (size_t i = 0; i < heap->num_owned; i++) {
		const struct ch_owned_range *range = &heap->owned[i];

		if (n && range->start <= pieces[n - 1].end) {
			if (range->end > pieces[n - 1].end)
				pieces[n - 1].end = range->end;
			continue;
		}
		pieces[n++] = (struct owned_union){ range->start, range->end, range };
	}
	*count_ret = n;
	return pieces;
}

// How many bytes of [start, end) the union owns, and the first owner met;
// *next is where the search starts, moved on for the next (later) range.
static uint64_t owned_part(const struct owned_union *pieces, size_t count,
			   size_t *next, uint64_t start, uint64_t end,
			   const struct ch_owned_range **owner)
{
	uint64_t bytes = 0;

	*owner = NULL;
	while (*next < count && pieces[*next].end <= start)
		(*next)++;
	for (size_t i = *next; i < count && pieces[i].start < end; i++) {
		uint64_t a = pieces[i].start > start ? pieces[i].start : start;
		uint64_t b = pieces[i].end < end ? pieces[i].end : end;

		if (!*owner)
			*owner = pieces[i].owner;
		bytes += b - a;
	}
	return bytes;
}

/*
 * What a truncated core lost (ch_address_space::lost), by range and by what
 * it costs. An allocator's memory makes the results partial: the
 * allocations there are unknown. So does other writable memory: the
 * pointers there are unknown, and an allocator whose metadata was lost with
 * it could not declare it. Read-only memory costs nothing, and is said
 * without making the results partial. What the core left out on purpose (pages never touched, shared
 * memory, MADV_DONTDUMP) was never lost and is not said here.
 */
static void warn_about_lost(struct ch_program *program)
{
	const struct ch_address_space *as = program->address_space;
	const struct ch_heap *heap = &program->heap;
	const char *path = program->core->path;
	_cleanup_free_ struct owned_union *pieces = NULL;
	uint64_t more_bytes = 0;
	size_t more = 0, num_pieces = 0, next = 0;
	bool more_partial = false;

	if (!as->num_lost) {
		if (program->core->truncated)
			ch_program_warn(program, false,
					"core '%s' is truncated: it lacks %" PRIu64 " bytes its headers promise, all of them read-only memory the binaries give back",
					path, program->core->missing_bytes);
		return;
	}
	pieces = owned_union(heap, &num_pieces);
	if (!pieces) {
		ch_program_warn(program, true,
				"core '%s' is truncated: memory is missing", path);
		return;
	}
	for (size_t i = 0; i < as->num_lost; i++) {
		const struct ch_address_interval *lost = &as->lost[i];
		const struct ch_mapping *mapping =
			ch_address_space_mapping(as, lost->start);
		const struct ch_owned_range *owner;
		uint64_t owned = owned_part(pieces, num_pieces, &next,
					    lost->start, lost->end, &owner);
		const char *allocator, *region;

		if (i >= MAX_LOST_NAMED) {
			more++;
			more_bytes += lost->end - lost->start;
			more_partial |= owned != 0 ||
					(mapping && (mapping->flags & PF_W));
			continue;
		}
		if (owned) {
			allocator = owner->allocator < program->allocators.num_uses ?
					    program->allocators.uses[owner->allocator].ops->name :
					    "an allocator's";
			region = owner->region < heap->num_regions ?
					 heap->regions[owner->region].name :
					 "heap";
			ch_program_warn(program, true,
					"core '%s' is truncated: 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64 " bytes, %" PRIu64 " of them the %s heap's %s) is missing: the allocations there are unknown",
					path, lost->start, lost->end,
					lost->end - lost->start, owned,
					allocator, region);
		} else if (mapping && (mapping->flags & PF_W)) {
			// No allocator declared it, but one whose metadata
			// was lost with it could not: as costly as a heap.
			ch_program_warn(program, true,
					"core '%s' is truncated: 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64 " bytes of writable memory%s%s) is missing: the pointers there, and any allocation an allocator lost with it, are unknown",
					path, lost->start, lost->end,
					lost->end - lost->start,
					mapping->file ? " mapped from " : "",
					mapping->file ? mapping->file : "");
		} else {
			ch_program_warn(program, false,
					"core '%s' is truncated: 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64 " bytes of read-only memory) is missing: no allocation or root is there",
					path, lost->start, lost->end,
					lost->end - lost->start);
		}
	}
	if (more)
		ch_program_warn(program, more_partial,
				"core '%s' is truncated: %zu more ranges (%" PRIu64 " bytes) are missing%s",
				path, more, more_bytes,
				more_partial ? ", some of them writable: the allocations and pointers there are unknown" : "");
}

/*
 * The bytes the allocators' walks should cover, for the walk's progress:
 * the writable memory that no file backs, but for the threads' stacks. A
 * guess (what an allocator reserved but never used counts, a runtime's
 * objects inside malloc'd blocks do not), so the walk may end short of
 * 100%.
 */
static uint64_t heap_bytes_guess(const struct ch_program *program)
{
	const struct ch_address_space *as = program->address_space;
	const struct ch_core *core = program->core;
	_cleanup_free_ uint64_t *stacks = calloc(as->num_mappings / 64 + 1,
						 sizeof(*stacks));
	uint64_t total = 0;

	for (size_t t = 0; stacks && t < core->num_threads; t++) {
		const struct ch_mapping *stack = ch_address_space_mapping(
			as, core->threads[t].regs[CH_REG_RSP]);

		if (stack)
			ch_bit_set(stacks, stack - as->mappings);
	}
	for (size_t m = 0; m < as->num_mappings; m++) {
		const struct ch_mapping *mapping = &as->mappings[m];

		if ((mapping->flags & PF_W) && !mapping->file &&
		    !(stacks && ch_bit_get(stacks, m)))
			total += mapping->end - mapping->start;
	}
	return total;
}

/*
 * Every allocator's walk, the native ones first so that the runtimes can
 * find their blocks, each group's blocks then sorted into the model.
 */
static struct ch_error *walk_allocators(struct ch_program *program)
{
	const struct ch_allocator_set *set = &program->allocators;
	struct ch_error *err = NULL;

	for (size_t i = 0; !err && i < set->num_uses; i++) {
		if (!set->uses[i].ops->is_runtime)
			err = walk_allocator(program, i);
	}
	if (err)
		return err;
	err = ch_heap_finish(&program->heap);
	program->heap.native_live = program->heap.live.len;
	for (size_t i = 0; !err && i < set->num_uses; i++) {
		if (set->uses[i].ops->is_runtime)
			err = walk_allocator(program, i);
	}
	// The runtimes' own blocks (objects in their arenas) join the sorted
	// live blocks: one model, whatever allocator a block came from.
	if (!err && program->heap.live.len != program->heap.native_live)
		err = ch_heap_finish(&program->heap);
	program->heap.native_live = program->heap.live.len;
	if (!err)
		err = ch_heap_finish_nested(&program->heap);
	return err;
}

struct ch_error *ch_program_load_heap(struct ch_program *program,
				      const struct ch_program_options *options)
{
	struct ch_allocator_set *set = &program->allocators;
	struct ch_error *err;

	if (program->heap_loaded)
		return NULL;
	program->heap_loaded = true;
	err = gather_candidates(program, options);
	if (!err)
		err = probe_candidates(program, options);
	// The walk needs of libdwfl only the symbols, indexed before the
	// DWARF starts loading, and the TLS offsets, found before too.
	if (!err && options->read_dwarf) {
		ch_program_find_tls_offsets(program);
		err = ch_modules_load_dwarf_beside(program->modules);
	}
	if (err)
		return err;
	if (set->num_uses == 0 && !options->allocator)
		ch_program_warn(program, true,
				"no known allocator found in the core");
	ch_progress_start("walking the heap", heap_bytes_guess(program));
	err = walk_allocators(program);
	ch_progress_end();
	if (err)
		return err;
	warn_about_lost(program);
	if (program->heap.num_damage)
		ch_program_warn(program, true,
				"the heap is damaged: %zu problem%s found (see `coreheap summary`)",
				program->heap.num_damage + program->heap.damage_dropped,
				program->heap.num_damage == 1 ? "" : "s");
	return NULL;
}

// The region of block when it is one of the live ones, else UINT32_MAX.
static uint32_t live_region_of(const struct ch_heap *heap,
			       const struct ch_block *block)
{
	uintptr_t at = (uintptr_t)block, first = (uintptr_t)heap->live.blocks;

	if (at < first || at - first >= heap->live.len * sizeof(*block))
		return UINT32_MAX;
	return ch_block_array_region(&heap->live,
				     (at - first) / sizeof(*block));
}

bool ch_program_usable_size(struct ch_program *program,
			    const struct ch_block *like, uint64_t request,
			    uint64_t *ret)
{
	const struct ch_allocator_use *use;
	struct coreheap_block block;
	struct ch_host host;
	uint64_t usable;
	int status;

	if (like->allocator >= program->allocators.num_uses)
		return false;
	use = &program->allocators.uses[like->allocator];
	if (!COREHEAP_HAS(use->ops, usable_size))
		return false;
	block = (struct coreheap_block){
		.address = like->address,
		.size = ch_block_size(like),
		.state = like->state,
		.region = live_region_of(&program->heap, like),
	};
	ch_host_init(&host, program, like->allocator);
	status = use->ops->usable_size(&host.ops, use->state, &block, request,
				       &usable);
	// The operation reports nothing: nothing for the host to keep.
	ch_error_destroy(ch_host_take_error(&host));
	if (status != COREHEAP_OK)
		return false;
	*ret = usable;
	return true;
}

const struct ch_block *ch_program_runtime_object(const struct ch_program *program,
						 const struct ch_block *block)
{
	const struct ch_block_array *nested = &program->heap.nested;
	const struct ch_allocator_set *set = &program->allocators;
	size_t lo = 0, hi = nested->len;

	if (block->runtime_object)
		return block;
	if (block->allocator < set->num_uses &&
	    set->uses[block->allocator].ops->is_runtime)
		return NULL;
	// An object too big for its runtime's arenas: nested in the native
	// block, beginning where the block does.
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (nested->blocks[mid].address < block->address)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < nested->len && nested->blocks[lo].address == block->address &&
	    nested->blocks[lo].runtime_object &&
	    nested->blocks[lo].allocator < set->num_uses)
		return &nested->blocks[lo];
	return NULL;
}

uint64_t ch_program_identity(const struct ch_program *program,
			     const struct ch_block *block)
{
	const struct ch_block *object = ch_program_runtime_object(program, block);

	return object ? ch_block_identity(object) : block->address;
}

bool ch_program_lists_references(const struct ch_program *program)
{
	const struct ch_allocator_set *set = &program->allocators;

	for (size_t i = 0; i < set->num_uses; i++) {
		if (COREHEAP_HAS(set->uses[i].ops, references))
			return true;
	}
	return false;
}

struct ch_error *ch_program_references(struct ch_program *program,
				       const struct ch_block *block, bool names,
				       coreheap_reference_fn fn, void *arg,
				       bool *covered_ret)
{
	const struct ch_block *object = ch_program_runtime_object(program, block);
	const struct ch_allocator_use *use;
	struct ch_error *err;
	struct ch_host host;
	int status;

	*covered_ret = false;
	if (!object)
		return NULL;
	use = &program->allocators.uses[object->allocator];
	if (!COREHEAP_HAS(use->ops, references))
		return NULL;
	struct coreheap_object reported = {
		.address = ch_block_identity(object),
		.size = ch_block_size(object),
		.header = 8 * (uint64_t)object->header_words,
	};

	ch_host_init(&host, program, object->allocator);
	status = use->ops->references(&host.ops, use->state, &reported, names,
				      fn, arg);
	err = ch_host_take_error(&host);
	if (err)
		return err;
	if (status == COREHEAP_NOMEM)
		return &ch_enomem;
	if (status == COREHEAP_OK)
		*covered_ret = true;
	else if (status != COREHEAP_NOT_FOUND)
		return ch_error_create(CH_ERROR_PLUGIN,
				       "the %s plugin stopped listing the references of 0x%" PRIx64,
				       use->ops->name, ch_block_identity(object));
	return NULL;
}

struct ch_error *ch_program_runtime_roots(struct ch_program *program,
					  coreheap_root_fn fn, void *arg)
{
	for (size_t i = 0; i < program->allocators.num_uses; i++) {
		const struct ch_allocator_use *use = &program->allocators.uses[i];
		struct ch_error *err;
		struct ch_host host;
		int status;

		if (!use->ops->is_runtime || !COREHEAP_HAS(use->ops, roots))
			continue;
		ch_host_init(&host, program, i);
		status = use->ops->roots(&host.ops, use->state, fn, arg);
		err = ch_host_take_error(&host);
		if (err)
			return err;
		if (status == COREHEAP_NOMEM)
			return &ch_enomem;
		if (status != COREHEAP_OK)
			return ch_error_create(CH_ERROR_PLUGIN,
					       "the %s plugin stopped listing its roots",
					       use->ops->name);
	}
	return NULL;
}
