// SPDX-License-Identifier: MIT
/*
 * coreheap triage CORE: one report for crash-triage pipelines. The process,
 * the signal and the crashing thread's stack (with the stacks a managed
 * runtime's plugin reported for it: its Python frames), the allocators and their
 * totals, the top types by bytes, a leak summary, and the heap damage the
 * plugins found, each damaged spot with the allocation right before it
 * (the likely overflow) and its type.
 *
 * The JSON form is versioned ("schema": "coreheap-triage/2"); fields are
 * only ever added within a version. The exit status tells a pipeline
 * whether the heap was damaged (3), over partial (1) and clean (0).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/demangle.h"
#include "base/path.h"
#include "base/strbuf.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "core/process.h"
#include "report/analysis.h"
#include "report/output.h"
#include "report/process.h"
#include "types/types.h"

#define TRIAGE_SCHEMA "coreheap-triage/2"
// The crash signature hashes this many frames of the crashing thread.
#define SIGNATURE_FRAMES 5
#define TRIAGE_EXIT_DAMAGED 3
#define DEFAULT_TOP_TYPES 10
// An allocation whose usable end is this close to a damaged header is the
// likely overflow (glibc's usable size already reaches the next header).
#define OVERFLOW_REACH 64

static const char *const triage_usage[] = {
	"coreheap triage [OPTIONS] CORE",
	"",
	"One report for crash-triage pipelines: process, signal and crashing",
	"thread's stack (and its Python stack, with the exception it handles),",
	"allocators and totals, top types by bytes, leak summary, and heap",
	"damage with the allocation right before each damaged spot.",
	"",
	"exit status for triage: 0 clean, 1 partial, 2 fatal, 3 heap damaged",
	NULL,
};

struct triage_options {
	uint64_t top;
	bool no_leaks;
	bool all_threads;
};

static struct ch_error *parse_top(const char *value, void *ctx)
{
	return ch_parse_u64("top", value, &((struct triage_options *)ctx)->top);
}

static struct ch_error *parse_no_leaks(const char *value, void *ctx)
{
	((struct triage_options *)ctx)->no_leaks = true;
	return NULL;
}

static struct ch_error *parse_all_threads(const char *value, void *ctx)
{
	((struct triage_options *)ctx)->all_threads = true;
	return NULL;
}

static const struct ch_option triage_options_table[] = {
	{ { "top", required_argument, NULL, 0 }, parse_top, "N",
	  "how many types to list (default 10)" },
	{ { "no-leaks", no_argument, NULL, 0 }, parse_no_leaks, NULL,
	  "skip the leak summary (no pointer scan)" },
	{ { "all-threads", no_argument, NULL, 0 }, parse_all_threads, NULL,
	  "every thread's stack (and Python stack), not only the crashing thread's" },
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

struct frame_name {
	uint64_t pc;
	char *name;   /* module!symbol+0x..; malloc'd */
	/** The module holding the code, or NULL, and the code's offset in it. */
	struct ch_module *module;
	uint64_t offset;
	/** The function (demangled), malloc'd, or NULL where no symbol says. */
	char *function;
	/** Source file (owned by libdw) and line, where DWARF gives them. */
	const char *file;
	int line;
	/** "module!function", or "module+0xOFFSET" without a symbol: what the
	 * signature hashes, the same wherever the module was loaded. */
	char *key;
};

/** A thread's stack, named and as data (--all-threads). */
struct thread_frames {
	const struct ch_thread *thread;
	struct frame_name *frames;
	size_t num_frames;
	/** Why the unwinding stopped early, or NULL. Borrowed. */
	const char *stop;
};

struct damage_context {
	/** Index of the live block right before the damage, or SIZE_MAX. */
	size_t before;
	/** That block reaches to (or past) the damaged spot. */
	bool likely_overflow;
};

struct triage_report {
	struct ch_program *program;
	const struct ch_thread *crashed;
	struct frame_name *frames;
	size_t num_frames;
	char *stack_stop;
	struct ch_type_groups groups;
	uint32_t *group_order;
	size_t num_top;
	bool have_leaks;
	uint64_t leaked_count, leaked_bytes;
	uint64_t unreferenced_count, unreferenced_bytes;
	struct damage_context *damage;
	uint64_t live_count, live_bytes, free_bytes;
	struct ch_signal signal;
	struct ch_command_line command_line;
	/** FNV-1a of the first SIGNATURE_FRAMES frames' keys, in hex. */
	char signature[17];
	/** Every thread's stack (--all-threads), else none. */
	struct thread_frames *threads;
	size_t num_threads;
};

// The thread that got the fatal signal: the kernel writes it first; gdb's
// gcore marks none, and then the first thread stands for the process.
static const struct ch_thread *crashed_thread(const struct ch_core *core)
{
	for (size_t i = 0; i < core->num_threads; i++) {
		if (core->threads[i].signal)
			return &core->threads[i];
	}
	return core->num_threads ? &core->threads[0] : NULL;
}

// module!symbol+0x..., as every command names code (NULL: out of memory).
static char *name_pc(struct ch_modules *modules, uint64_t pc)
{
	struct ch_strbuf name = { 0 };
	struct ch_error *err = ch_modules_name_address(modules, pc,
						       CH_NAME_MODULE | CH_NAME_OFFSET,
						       &name);

	if (err) {
		ch_error_destroy(err);
		ch_strbuf_deinit(&name);
		return NULL;
	}
	return ch_strbuf_detach(&name);
}

// A frame as structured data: its module, function, source line, and the
// key the signature hashes.
static struct ch_error *describe_frame(struct ch_program *program, uint64_t pc,
				       struct frame_name *frame)
{
	struct ch_module *module = ch_modules_find_by_address(program->modules,
							      pc);
	const char *symbol;
	uint64_t offset = 0;
	int n;

	frame->module = module;
	if (module)
		frame->offset = pc - module->start;
	if (!module) {
		n = asprintf(&frame->key, "0x%" PRIx64, pc);
	} else {
		symbol = ch_module_symbolize(module, pc, &offset);
		if (symbol) {
			frame->function = ch_demangle_symbol(symbol);
			if (!frame->function)
				frame->function = strdup(symbol);
			if (!frame->function)
				return &ch_enomem;
		}
		ch_module_source_line(module, pc, &frame->file, &frame->line);
		n = frame->function ?
			    asprintf(&frame->key, "%s!%s",
				     ch_base_name(module->name), frame->function) :
			    asprintf(&frame->key, "%s+0x%" PRIx64,
				     ch_base_name(module->name), frame->offset);
	}
	if (n < 0) {
		frame->key = NULL;
		return &ch_enomem;
	}
	return NULL;
}

/*
 * The crash signature: the same for two cores of one crash, whatever the
 * address space's layout, as the keys name functions and offsets in
 * modules, never addresses (but for code in no module).
 */
static void sign_stack(struct triage_report *report)
{
	uint64_t hash = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < report->num_frames && i < SIGNATURE_FRAMES; i++) {
		for (const char *c = report->frames[i].key; *c; c++) {
			hash ^= (uint8_t)*c;
			hash *= UINT64_C(0x100000001b3);
		}
		hash ^= '\n';
		hash *= UINT64_C(0x100000001b3);
	}
	snprintf(report->signature, sizeof(report->signature), "%016" PRIx64,
		 hash);
}

// A stack's frames, named and as data, into *frames_ret (*num_ret of them
// filled, even on error, for the caller to free).
static struct ch_error *name_frames(struct ch_program *program,
				    const struct ch_stack *stack,
				    struct frame_name **frames_ret,
				    size_t *num_ret)
{
	struct frame_name *frames = calloc(stack->num_frames + 1,
					   sizeof(*frames));
	struct ch_error *err;

	*frames_ret = frames;
	*num_ret = 0;
	if (!frames)
		return &ch_enomem;
	for (size_t i = 0; i < stack->num_frames; i++) {
		const struct ch_frame *frame = &stack->frames[i];

		frames[i].pc = frame->pc;
		frames[i].name = name_pc(program->modules, frame->context.pc);
		if (!frames[i].name)
			return &ch_enomem;
		(*num_ret)++;
		err = describe_frame(program, frame->context.pc, &frames[i]);
		if (err)
			return err;
	}
	return NULL;
}

static void free_frames(struct frame_name *frames, size_t num_frames)
{
	for (size_t i = 0; i < num_frames; i++) {
		free(frames[i].name);
		free(frames[i].function);
		free(frames[i].key);
	}
	free(frames);
}

static struct ch_error *unwind_crashed(struct triage_report *report,
				       bool all_threads)
{
	struct ch_program *program = report->program;
	const struct ch_stacks *stacks;
	const struct ch_stack *stack;
	struct ch_error *err;

	report->crashed = crashed_thread(program->core);
	if (!report->crashed)
		return NULL;
	// A stack that cannot be unwound is a gap in the report, not a
	// reason to give none: the program warns about it.
	err = ch_program_stacks(program, &stacks);
	if (err)
		return err;
	stack = &stacks->threads[report->crashed - program->core->threads];
	if (stack->stop_reason) {
		report->stack_stop = strdup(stack->stop_reason);
		if (!report->stack_stop)
			return &ch_enomem;
	}
	err = name_frames(program, stack, &report->frames, &report->num_frames);
	if (err)
		return err;
	sign_stack(report);
	if (!all_threads)
		return NULL;
	report->threads = calloc(stacks->num_threads + 1,
				 sizeof(*report->threads));
	if (!report->threads)
		return &ch_enomem;
	for (size_t t = 0; !err && t < stacks->num_threads &&
			   t < program->core->num_threads; t++) {
		struct thread_frames *thread = &report->threads[t];

		thread->thread = &program->core->threads[t];
		thread->stop = stacks->threads[t].stop_reason;
		report->num_threads++;
		err = name_frames(program, &stacks->threads[t], &thread->frames,
				  &thread->num_frames);
	}
	return err;
}

static int compare_groups_by_bytes(const void *a, const void *b, void *arg)
{
	const struct ch_type_groups *groups = arg;
	const struct ch_type_group *x = &groups->groups[*(const uint32_t *)a];
	const struct ch_type_group *y = &groups->groups[*(const uint32_t *)b];

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->count > y->count ? -1 : x->count < y->count;
}

static struct ch_error *rank_types(struct triage_report *report, uint64_t top)
{
	struct ch_error *err;
	size_t n;

	err = ch_type_groups_init(&report->groups, report->program, NULL, NULL);
	if (err)
		return err;
	n = report->groups.num_groups;
	err = ch_type_groups_order(&report->groups, compare_groups_by_bytes,
				   &report->groups, &report->group_order);
	if (err)
		return err;
	report->num_top = top < n ? top : n;
	return NULL;
}

static struct ch_error *summarize_leaks(struct triage_report *report)
{
	struct ch_analysis_options options = { 0 };
	struct ch_analysis analysis;
	_cleanup_free_ uint32_t *root_of = NULL;
	_cleanup_free_ uint8_t *referenced = NULL;
	const struct ch_graph *graph;
	struct ch_error *err;

	err = ch_analysis_init(&analysis, report->program, &options);
	if (err)
		return err;
	graph = analysis.graph;
	err = ch_graph_reach(graph, NULL, &root_of);
	referenced = calloc(graph->num_nodes + 1, 1);
	if (!err && !referenced)
		err = &ch_enomem;
	if (err) {
		ch_analysis_deinit(&analysis);
		return err;
	}
	for (uint64_t e = 0; e < graph->edge_offsets[graph->num_nodes]; e++)
		referenced[graph->edge_targets[e]] = 1;
	for (uint32_t v = 0; v < graph->num_nodes; v++) {
		if (root_of[v] != CH_GRAPH_NONE)
			continue;
		report->leaked_count++;
		report->leaked_bytes += ch_block_size(&graph->blocks[v]);
		if (!referenced[v]) {
			report->unreferenced_count++;
			report->unreferenced_bytes +=
				ch_block_size(&graph->blocks[v]);
		}
	}
	report->have_leaks = true;
	ch_analysis_deinit(&analysis);
	return NULL;
}

// The last live block that starts before addr.
static size_t block_before(const struct ch_heap *heap, uint64_t addr)
{
	size_t lo = 0, hi = heap->live.len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (heap->live.blocks[mid].address < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : SIZE_MAX;
}

static struct ch_error *place_damage(struct triage_report *report)
{
	const struct ch_heap *heap = &report->program->heap;

	report->damage = calloc(heap->num_damage + 1, sizeof(*report->damage));
	if (!report->damage)
		return &ch_enomem;
	for (size_t i = 0; i < heap->num_damage; i++) {
		uint64_t addr = heap->damage[i].address;
		size_t before = block_before(heap, addr);
		struct damage_context *context = &report->damage[i];

		context->before = before;
		// Only a smashed header says "overflow"; a bad link or a
		// double free is a use after free, not a neighbour's doing.
		if (before != SIZE_MAX &&
		    heap->damage[i].kind == COREHEAP_DAMAGE_BAD_SIZE) {
			const struct ch_block *block = &heap->live.blocks[before];
			uint64_t end = block->address + ch_block_size(block);

			context->likely_overflow = end + OVERFLOW_REACH >= addr &&
						   addr - block->address <
							   ch_block_size(block) + 4096;
		}
	}
	return NULL;
}

static void sum_heap(struct triage_report *report)
{
	const struct ch_heap *heap = &report->program->heap;

	for (size_t i = 0; i < heap->num_regions; i++) {
		report->live_count += heap->regions[i].live_count;
		report->live_bytes += heap->regions[i].live_bytes;
		report->free_bytes += heap->regions[i].free_bytes;
	}
}

static void write_json_group(struct ch_json *json,
			     const struct ch_type_group *group)
{
	ch_json_begin_object(json);
	ch_json_group(json, group);
	ch_json_member_u64(json, "count", group->count);
	ch_json_member_u64(json, "bytes", group->bytes);
	ch_json_end_object(json);
}

// The plugin ABI's damage kinds, as the JSON spells them (man page).
static const char *damage_kind_name(uint32_t kind)
{
	switch (kind) {
	case COREHEAP_DAMAGE_BAD_SIZE: return "bad_size";
	case COREHEAP_DAMAGE_BAD_POINTER: return "bad_pointer";
	case COREHEAP_DAMAGE_CYCLE: return "cycle";
	case COREHEAP_DAMAGE_DOUBLE_FREE: return "double_free";
	case COREHEAP_DAMAGE_INCONSISTENT: return "inconsistent";
	case COREHEAP_DAMAGE_UNREADABLE: return "unreadable";
	default: return "other";
	}
}

static void write_json_damage(struct ch_json *json,
			      const struct triage_report *report)
{
	const struct ch_program *program = report->program;
	const struct ch_heap *heap = &program->heap;

	ch_json_key(json, "damage");
	ch_json_begin_array(json);
	for (size_t i = 0; i < heap->num_damage; i++) {
		const struct ch_damage *damage = &heap->damage[i];
		const struct damage_context *context = &report->damage[i];

		ch_json_begin_object(json);
		ch_json_key(json, "allocator");
		ch_json_string(json,
			       program->allocators.uses[damage->allocator].ops->name);
		ch_json_member_address(json, "address", damage->address);
		ch_json_member_string(json, "kind", damage_kind_name(damage->kind));
		ch_json_member_string(json, "message", damage->message);
		ch_json_member_bool(json, "likely_overflow",
				    context->before != SIZE_MAX &&
					    context->likely_overflow);
		ch_json_key(json, "allocation_before");
		if (context->before == SIZE_MAX) {
			ch_json_null(json);
		} else {
			const struct ch_block *block =
				&heap->live.blocks[context->before];

			ch_json_begin_object(json);
			ch_json_member_address(json, "address",
					       ch_program_identity(program, block));
			ch_json_member_u64(json, "size", ch_block_size(block));
			ch_json_key(json, "type");
			ch_json_string_or_null(json,
				ch_heap_block_type(heap, context->before, NULL));
			ch_json_member_bool(json, "likely_overflow", context->likely_overflow);
			ch_json_end_object(json);
		}
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
}

// The runtime stacks (a Python thread's frames) on the OS thread tid.
static const struct ch_runtime_stack *
runtime_stack_of(const struct ch_program *program, int32_t tid, size_t *from)
{
	const struct ch_runtime_stacks *stacks = &program->heap.runtime_stacks;

	for (size_t i = *from; i < stacks->stacks.len; i++) {
		if (tid && stacks->stacks.data[i].tid == tid) {
			*from = i + 1;
			return &stacks->stacks.data[i];
		}
	}
	*from = stacks->stacks.len;
	return NULL;
}

// Whether the runtime stack's OS thread is one of the core's threads.
static bool on_native_thread(const struct ch_program *program,
			     const struct ch_runtime_stack *stack)
{
	const struct ch_core *core = program->core;

	for (size_t t = 0; stack->tid && t < core->num_threads; t++) {
		if (core->threads[t].tid == stack->tid)
			return true;
	}
	return false;
}

static void write_json_runtime_stack(struct ch_json *json,
				     const struct ch_program *program,
				     const struct ch_runtime_stack *stack)
{
	const struct ch_runtime_frame *frames = ch_runtime_stack_frames(
		&program->heap.runtime_stacks, stack);

	ch_json_begin_object(json);
	ch_json_member_string(json, "runtime",
			      program->allocators.uses[stack->allocator].ops->name);
	if (stack->tid)
		ch_json_member_i64(json, "tid", stack->tid);
	else
		ch_json_member_string_or_null(json, "tid", NULL);
	ch_json_member_string_or_null(json, "context", stack->context);
	ch_json_member_address(json, "thread_state", stack->thread);
	ch_json_key(json, "frames");
	ch_json_begin_array(json);
	for (size_t i = 0; i < stack->num_frames; i++) {
		ch_json_begin_object(json);
		ch_json_member_string_or_null(json, "function",
					      frames[i].function);
		ch_json_member_string_or_null(json, "file", frames[i].file);
		if (frames[i].line > 0)
			ch_json_member_i64(json, "line", frames[i].line);
		else
			ch_json_member_string_or_null(json, "line", NULL);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
	ch_json_key(json, "exception");
	if (stack->exception_type) {
		ch_json_begin_object(json);
		ch_json_member_string(json, "type", stack->exception_type);
		ch_json_member_string_or_null(json, "message",
					      stack->exception_message);
		ch_json_member_address(json, "address", stack->exception);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}
	ch_json_end_object(json);
}

// The runtime stacks on the OS thread tid, as a member of its object.
static void write_json_thread_runtime(struct ch_json *json,
				      const struct ch_program *program,
				      int32_t tid)
{
	const struct ch_runtime_stack *stack;
	size_t from = 0;

	ch_json_key(json, "runtime_stacks");
	ch_json_begin_array(json);
	while ((stack = runtime_stack_of(program, tid, &from)))
		write_json_runtime_stack(json, program, stack);
	ch_json_end_array(json);
}

// A stack as data.
static void write_json_frame_list(struct ch_json *json,
				  const struct frame_name *frames,
				  size_t num_frames)
{
	ch_json_key(json, "frames");
	ch_json_begin_array(json);
	for (size_t i = 0; i < num_frames; i++) {
		const struct frame_name *frame = &frames[i];
		char build_id[129] = "";

		ch_json_begin_object(json);
		ch_json_member_address(json, "pc", frame->pc);
		if (frame->module) {
			ch_module_build_id_hex(frame->module, build_id);
			ch_json_member_string(json, "module",
					      ch_base_name(frame->module->name));
			ch_json_member_string_or_null(json, "build_id",
						      *build_id ? build_id : NULL);
			ch_json_member_address(json, "offset", frame->offset);
		} else {
			ch_json_member_string_or_null(json, "module", NULL);
			ch_json_member_string_or_null(json, "build_id", NULL);
			ch_json_member_string_or_null(json, "offset", NULL);
		}
		ch_json_member_string_or_null(json, "function", frame->function);
		ch_json_member_string_or_null(json, "file", frame->file);
		if (frame->file)
			ch_json_member_i64(json, "line", frame->line);
		else
			ch_json_member_string_or_null(json, "line", NULL);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
}

// The crashing stack as data, and the signature a pipeline deduplicates by.
static void write_json_frames(struct ch_json *json,
			      const struct triage_report *report)
{
	write_json_frame_list(json, report->frames, report->num_frames);
	ch_json_member_string(json, "signature", report->signature);
	ch_json_key(json, "signature_frames");
	ch_json_begin_array(json);
	for (size_t i = 0; i < report->num_frames && i < SIGNATURE_FRAMES; i++)
		ch_json_string(json, report->frames[i].key);
	ch_json_end_array(json);
}

// Whether unwinding stopped before the stack's end, a boolean always, and
// why (null when it did not).
static void write_json_stack_stop(struct ch_json *json, const char *stop)
{
	ch_json_member_bool(json, "stack_incomplete", stop != NULL);
	ch_json_member_string_or_null(json, "stack_stop_reason", stop);
}

// Every thread's stack (--all-threads).
static void write_json_threads(struct ch_json *json,
			       const struct triage_report *report)
{
	if (!report->threads)
		return;
	ch_json_key(json, "threads");
	ch_json_begin_array(json);
	for (size_t t = 0; t < report->num_threads; t++) {
		const struct thread_frames *thread = &report->threads[t];

		ch_json_begin_object(json);
		ch_json_member_i64(json, "tid", thread->thread->tid);
		ch_json_member_bool(json, "crashed",
				    thread->thread == report->crashed);
		ch_json_key(json, "stack");
		ch_json_begin_array(json);
		for (size_t i = 0; i < thread->num_frames; i++)
			ch_json_string(json, thread->frames[i].name);
		ch_json_end_array(json);
		write_json_frame_list(json, thread->frames, thread->num_frames);
		write_json_stack_stop(json, thread->stop);
		write_json_thread_runtime(json, report->program,
					  thread->thread->tid);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
}

static void write_json(struct ch_out *out, const struct triage_report *report)
{
	const struct ch_program *program = report->program;
	const struct ch_core *core = program->core;
	struct ch_json json;

	ch_json_init(&json, out, true);
	ch_json_begin_object(&json);
	ch_json_member_string(&json, "schema", TRIAGE_SCHEMA);
	ch_json_member_string(&json, "core", core->path);
	ch_json_member_bool(&json, "truncated", core->truncated);
	ch_json_member_string(&json, "written_by", ch_core_writer_name(core));
	ch_json_key(&json, "process");
	ch_json_begin_object(&json);
	ch_json_member_i64(&json, "pid", core->pid);
	ch_json_member_string(&json, "name", core->fname);
	ch_json_command_line(&json, &report->command_line);
	ch_json_end_object(&json);
	ch_json_signal(&json, core, &report->signal);
	ch_json_key(&json, "thread");
	if (report->crashed) {
		ch_json_begin_object(&json);
		ch_json_member_i64(&json, "tid", report->crashed->tid);
		ch_json_key(&json, "stack");
		ch_json_begin_array(&json);
		for (size_t i = 0; i < report->num_frames; i++)
			ch_json_string(&json, report->frames[i].name);
		ch_json_end_array(&json);
		write_json_frames(&json, report);
		write_json_stack_stop(&json, report->stack_stop);
		write_json_thread_runtime(&json, program, report->crashed->tid);
		ch_json_end_object(&json);
	} else {
		ch_json_null(&json);
	}
	write_json_threads(&json, report);
	// Every runtime thread, on whichever OS thread (or none).
	ch_json_key(&json, "runtime_stacks");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < program->heap.runtime_stacks.stacks.len; i++)
		write_json_runtime_stack(&json, program,
					 &program->heap.runtime_stacks.stacks.data[i]);
	ch_json_end_array(&json);
	ch_json_key(&json, "allocators");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < program->allocators.num_uses; i++)
		ch_json_string(&json, program->allocators.uses[i].ops->name);
	ch_json_end_array(&json);
	ch_json_key(&json, "heap");
	ch_json_begin_object(&json);
	ch_json_member_u64(&json, "live_count", report->live_count);
	ch_json_member_u64(&json, "live_bytes", report->live_bytes);
	ch_json_member_u64(&json, "free_bytes", report->free_bytes);
	ch_json_end_object(&json);
	ch_json_key(&json, "top_types");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < report->num_top; i++)
		write_json_group(&json,
				 &report->groups.groups[report->group_order[i]]);
	ch_json_end_array(&json);
	ch_json_key(&json, "leaks");
	if (report->have_leaks) {
		ch_json_begin_object(&json);
		ch_json_member_u64(&json, "count", report->leaked_count);
		ch_json_member_u64(&json, "bytes", report->leaked_bytes);
		ch_json_member_u64(&json, "unreferenced_count", report->unreferenced_count);
		ch_json_member_u64(&json, "unreferenced_bytes", report->unreferenced_bytes);
		ch_json_end_object(&json);
	} else {
		ch_json_null(&json);
	}
	ch_json_member_bool(&json, "heap_damaged", program->heap.num_damage > 0);
	write_json_damage(&json, report);
	ch_json_key(&json, "warnings");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < program->num_warnings; i++)
		ch_json_string(&json, program->warnings[i].message);
	ch_json_end_array(&json);
	ch_json_end_object(&json);
}

static void write_text_damage(struct ch_out *out,
			      const struct triage_report *report)
{
	const struct ch_heap *heap = &report->program->heap;

	if (!heap->num_damage) {
		ch_out_str(out, "heap damage: none found\n");
		return;
	}
	ch_out_printf(out, "heap damage: %zu problem%s\n",
		      heap->num_damage + heap->damage_dropped,
		      heap->num_damage + heap->damage_dropped == 1 ? "" : "s");
	for (size_t i = 0; i < heap->num_damage; i++) {
		const struct damage_context *context = &report->damage[i];

		ch_out_printf(out, "  0x%" PRIx64 ": %s\n", heap->damage[i].address,
			      heap->damage[i].message);
		if (context->before == SIZE_MAX)
			continue;
		const struct ch_block *block = &heap->live.blocks[context->before];
		const char *type = ch_heap_block_type(heap, context->before, NULL);

		ch_out_printf(out, "    %s 0x%" PRIx64 " (%" PRIu64 " bytes, %s)\n",
			      context->likely_overflow ?
				      "likely overflow from the allocation at" :
				      "the allocation before it is at",
			      ch_program_identity(report->program, block),
			      ch_block_size(block), type ? type : "type unknown");
	}
}

static void write_text_runtime_stack(struct ch_out *out,
				     const struct ch_program *program,
				     const struct ch_runtime_stack *stack)
{
	const struct ch_runtime_frame *frames = ch_runtime_stack_frames(
		&program->heap.runtime_stacks, stack);

	ch_out_printf(out, "  %s stack%s%s%s:\n",
		      program->allocators.uses[stack->allocator].ops->name,
		      stack->context ? " (" : "",
		      stack->context ? stack->context : "",
		      stack->context ? ")" : "");
	for (size_t i = 0; i < stack->num_frames; i++) {
		ch_out_printf(out, "    #%-2zu %s", i,
			      frames[i].function ? frames[i].function : "?");
		if (frames[i].file && frames[i].line > 0)
			ch_out_printf(out, " at %s:%" PRId64, frames[i].file,
				      frames[i].line);
		else if (frames[i].file)
			ch_out_printf(out, " at %s", frames[i].file);
		ch_out_char(out, '\n');
	}
	if (!stack->num_frames)
		ch_out_str(out, "    (no frames)\n");
	if (stack->exception_type)
		ch_out_printf(out, "    handling %s%s%s (0x%" PRIx64 ")\n",
			      stack->exception_type,
			      stack->exception_message ? ": " : "",
			      stack->exception_message ?
				      stack->exception_message : "",
			      stack->exception);
}

// The runtime stacks on the OS thread tid, under its native stack.
static void write_text_thread_runtime(struct ch_out *out,
				      const struct ch_program *program,
				      int32_t tid)
{
	const struct ch_runtime_stack *stack;
	size_t from = 0;

	// A thread state with no frame and no exception (a
	// subinterpreter's, between two calls on this thread) says nothing:
	// the JSON has it.
	while ((stack = runtime_stack_of(program, tid, &from))) {
		if (stack->num_frames || stack->exception_type)
			write_text_runtime_stack(out, program, stack);
	}
}

static void write_text(struct ch_out *out, const struct triage_report *report)
{
	const struct ch_program *program = report->program;
	const struct ch_core *core = program->core;

	ch_out_printf(out, "core:    %s%s%s\n", core->path,
		      core->truncated ? " (truncated)" : "",
		      core->written_by_gdb ? " (written by gdb)" : "");
	ch_out_printf(out, "process: pid %d, %s: ", core->pid, core->fname);
	ch_out_command_line(out, core, &report->command_line);
	ch_out_char(out, '\n');
	ch_out_str(out, "signal:  ");
	if (!ch_out_signal(out, &report->signal))
		ch_out_str(out, "none recorded\n");
	if (report->crashed) {
		ch_out_printf(out, "thread %d:\n", report->crashed->tid);
		for (size_t i = 0; i < report->num_frames; i++)
			ch_out_printf(out, "  #%-2zu 0x%016" PRIx64 " %s\n", i,
				      report->frames[i].pc,
				      report->frames[i].name);
		if (report->stack_stop)
			ch_out_printf(out, "  (stack incomplete: %s)\n",
				      report->stack_stop);
		write_text_thread_runtime(out, program, report->crashed->tid);
		ch_out_printf(out, "signature: %s\n", report->signature);
	}
	for (size_t t = 0; t < report->num_threads; t++) {
		const struct thread_frames *thread = &report->threads[t];

		if (thread->thread == report->crashed)
			continue;
		ch_out_printf(out, "thread %d:\n", thread->thread->tid);
		for (size_t i = 0; i < thread->num_frames; i++)
			ch_out_printf(out, "  #%-2zu 0x%016" PRIx64 " %s\n", i,
				      thread->frames[i].pc,
				      thread->frames[i].name);
		if (thread->stop)
			ch_out_printf(out, "  (stack incomplete: %s)\n",
				      thread->stop);
		write_text_thread_runtime(out, program, thread->thread->tid);
	}
	// Runtime threads on no thread of the core.
	for (size_t i = 0; i < program->heap.runtime_stacks.stacks.len; i++) {
		const struct ch_runtime_stack *stack =
			&program->heap.runtime_stacks.stacks.data[i];

		if (on_native_thread(program, stack))
			continue;
		ch_out_str(out, "runtime thread on no thread of the core:\n");
		write_text_runtime_stack(out, program, stack);
	}
	ch_out_str(out, "heap:   ");
	for (size_t i = 0; i < program->allocators.num_uses; i++)
		ch_out_printf(out, " %s", program->allocators.uses[i].ops->name);
	ch_out_printf(out, ", %" PRIu64 " live allocations, ", report->live_count);
	ch_out_bytes(out, report->live_bytes);
	ch_out_str(out, " live, ");
	ch_out_bytes(out, report->free_bytes);
	ch_out_str(out, " free\n");
	ch_out_str(out, "top types by bytes:\n");
	for (size_t i = 0; i < report->num_top; i++) {
		const struct ch_type_group *group =
			&report->groups.groups[report->group_order[i]];

		ch_out_printf(out, "  %10" PRIu64 " bytes %8" PRIu64 " x  ",
			      group->bytes, group->count);
		ch_out_group_name(out, group);
		ch_out_char(out, '\n');
	}
	if (report->have_leaks) {
		ch_out_printf(out, "leaks:   %" PRIu64 " allocations, ", report->leaked_count);
		ch_out_bytes(out, report->leaked_bytes);
		ch_out_printf(out, " (%" PRIu64 " unreferenced)\n",
			      report->unreferenced_count);
	}
	write_text_damage(out, report);
}

static void triage_report_deinit(struct triage_report *report)
{
	free_frames(report->frames, report->num_frames);
	for (size_t t = 0; t < report->num_threads; t++)
		free_frames(report->threads[t].frames,
			    report->threads[t].num_frames);
	free(report->threads);
	free(report->stack_stop);
	ch_type_groups_deinit(&report->groups);
	free(report->group_order);
	free(report->damage);
	ch_command_line_deinit(&report->command_line);
}

static struct ch_error *build_report(struct triage_report *report,
				     const struct triage_options *options)
{
	struct ch_error *err;

	ch_core_signal(report->program->core, &report->signal);
	err = ch_process_command_line(report->program->core,
				      report->program->address_space,
				      &report->command_line);
	if (!err)
		err = ch_program_load_types(report->program);
	if (!err)
		err = unwind_crashed(report, options->all_threads);
	if (!err)
		err = rank_types(report, options->top);
	if (!err && !options->no_leaks)
		err = summarize_leaks(report);
	if (!err)
		err = place_damage(report);
	sum_heap(report);
	return err;
}

int cmd_triage(int argc, char **argv)
{
	struct triage_options triage_options = { .top = DEFAULT_TOP_TYPES };
	struct ch_command_options options;
	struct triage_report report = { 0 };
	static struct ch_out out;
	struct ch_error *err;
	bool damaged;
	int status;

	err = ch_options_parse(argc, argv, triage_usage,
			       CH_FORMAT_TEXT | CH_FORMAT_JSON,
			       triage_options_table, &triage_options, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	err = ch_command_open(&options, options.args[0], &report.program);
	if (!err)
		err = build_report(&report, &triage_options);
	if (!err) {
		ch_out_init(&out, stdout);
		if (options.format == CH_FORMAT_JSON)
			write_json(&out, &report);
		else
			write_text(&out, &report);
		err = ch_out_finish(&out);
	}
	damaged = !err && report.program->heap.num_damage > 0;
	triage_report_deinit(&report);
	status = ch_command_finish(report.program, err);
	return damaged && status != CH_EXIT_FATAL ? TRIAGE_EXIT_DAMAGED : status;
}
