// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "output.h"

static const char *const summary_usage[] = {
	"coreheap summary [OPTIONS] CORE",
	"",
	"The process and its command line, the signal that stopped it, its",
	"threads and modules (and which lack a binary or debug info), the",
	"allocators found, and per arena the live and free bytes and the top chunk.",
	NULL,
};

struct heap_totals {
	uint64_t live_count, live_bytes;
	uint64_t free_count, free_bytes;
	uint64_t metadata_bytes, system_bytes;
};

static struct heap_totals sum_regions(const struct ch_heap *heap)
{
	struct heap_totals totals = { 0 };

	for (size_t i = 0; i < heap->num_regions; i++) {
		const struct ch_region *region = &heap->regions[i];

		totals.live_count += region->live_count;
		totals.live_bytes += region->live_bytes;
		totals.free_count += region->free_count;
		totals.free_bytes += region->free_bytes;
		totals.metadata_bytes += region->metadata_bytes;
		totals.system_bytes += region->system_bytes;
	}
	return totals;
}

static const char *signal_name(int signo)
{
	const char *abbrev = signo > 0 ? sigabbrev_np(signo) : NULL;

	return abbrev ? abbrev : "?";
}

static const char *allocator_name(const struct ch_program *program,
				  uint8_t allocator)
{
	return allocator < program->allocators.num_uses ?
		       program->allocators.uses[allocator].ops->name :
		       "?";
}

static const char *module_cost(const struct ch_module *module)
{
	if (module->is_vdso)
		return "";
	if (!module->has_binary)
		return "no binary: its read-only data and symbols are unavailable";
	if (!module->has_debug_symbols)
		return "no debug info: only exported symbols, no types";
	if (!module->has_dwarf)
		return "symbols but no DWARF: no types";
	return "";
}


static void write_text_process(struct ch_out *out,
			       const struct ch_program *program)
{
	const struct ch_core *core = program->core;

	ch_out_printf(out, "core:       %s%s\n", core->path,
		      core->truncated ? " (truncated)" : "");
	if (core->has_psinfo)
		ch_out_printf(out, "process:    pid %d, %s: %s\n", core->pid,
			      core->fname, core->psargs);
	if (core->has_siginfo)
		ch_out_printf(out, "signal:     %s (%d), code %d, address 0x%" PRIx64 "\n",
			      signal_name(core->signal_number), core->signal_number,
			      core->signal_code, core->signal_address);
	ch_out_printf(out, "threads:    %zu\n", core->num_threads);
	for (size_t i = 0; i < core->num_threads; i++) {
		const struct ch_thread *thread = &core->threads[i];

		ch_out_printf(out, "  tid %-8d pc 0x%016" PRIx64 "  sp 0x%016" PRIx64 "%s%s\n",
			      thread->tid, thread->regs[CH_REG_RIP],
			      thread->regs[CH_REG_RSP],
			      thread->signal ? "  signal " : "",
			      thread->signal ? signal_name(thread->signal) : "");
	}
}

static void write_text_modules(struct ch_out *out,
			       const struct ch_program *program)
{
	const struct ch_modules *modules = program->modules;

	ch_out_printf(out, "modules:    %zu\n", modules->num_modules);
	for (size_t i = 0; i < modules->num_modules; i++) {
		const struct ch_module *module = modules->by_address[i];
		const char *cost = module_cost(module);

		ch_out_printf(out, "  0x%012" PRIx64 " %s%s%s%s\n", module->start,
			      module->name,
			      module->path && strcmp(module->path, module->name) ?
				      " -> " :
				      "",
			      module->path && strcmp(module->path, module->name) ?
				      module->path :
				      "",
			      "");
		if (*cost)
			ch_out_printf(out, "      %s\n", cost);
	}
}

static void write_text_heap(struct ch_out *out, const struct ch_program *program)
{
	const struct ch_heap *heap = &program->heap;
	struct heap_totals totals = sum_regions(heap);

	ch_out_str(out, "allocators:");
	if (program->allocators.num_uses == 0)
		ch_out_str(out, " none found");
	for (size_t i = 0; i < program->allocators.num_uses; i++)
		ch_out_printf(out, " %s", program->allocators.uses[i].ops->name);
	ch_out_str(out, "\n");
	for (size_t i = 0; i < heap->num_regions; i++) {
		const struct ch_region *region = &heap->regions[i];

		ch_out_printf(out, "  %s %s", allocator_name(program, region->allocator),
			      region->name);
		if (region->address)
			ch_out_printf(out, " at 0x%" PRIx64, region->address);
		ch_out_printf(out, ": live %" PRIu64 " (", region->live_count);
		ch_out_bytes(out, region->live_bytes);
		ch_out_printf(out, "), free %" PRIu64 " (", region->free_count);
		ch_out_bytes(out, region->free_bytes);
		ch_out_str(out, ")");
		if (region->top_address) {
			ch_out_printf(out, ", top 0x%" PRIx64 " (", region->top_address);
			ch_out_bytes(out, region->top_size);
			ch_out_str(out, ")");
		}
		if (region->system_bytes) {
			ch_out_str(out, ", system ");
			ch_out_bytes(out, region->system_bytes);
		}
		ch_out_str(out, "\n");
	}
	ch_out_printf(out, "live:       %" PRIu64 " allocations, ", totals.live_count);
	ch_out_bytes(out, totals.live_bytes);
	ch_out_printf(out, "\nfree:       %" PRIu64 " blocks, ", totals.free_count);
	ch_out_bytes(out, totals.free_bytes);
	ch_out_str(out, "\n");
	if (heap->num_damage == 0) {
		ch_out_str(out, "damage:     none found\n");
		return;
	}
	ch_out_printf(out, "damage:     %zu problem%s\n",
		      heap->num_damage + heap->damage_dropped,
		      heap->num_damage + heap->damage_dropped == 1 ? "" : "s");
	for (size_t i = 0; i < heap->num_damage; i++)
		ch_out_printf(out, "  0x%" PRIx64 ": %s\n", heap->damage[i].address,
			      heap->damage[i].message);
}

static void write_json_process(struct ch_json *json,
			       const struct ch_program *program)
{
	const struct ch_core *core = program->core;

	ch_json_key(json, "core");
	ch_json_begin_object(json);
	ch_json_key(json, "path");
	ch_json_string(json, core->path);
	ch_json_key(json, "truncated");
	ch_json_bool(json, core->truncated);
	ch_json_key(json, "missing_bytes");
	ch_json_u64(json, core->missing_bytes);
	ch_json_end_object(json);

	ch_json_key(json, "process");
	if (core->has_psinfo) {
		ch_json_begin_object(json);
		ch_json_key(json, "pid");
		ch_json_i64(json, core->pid);
		ch_json_key(json, "ppid");
		ch_json_i64(json, core->ppid);
		ch_json_key(json, "uid");
		ch_json_u64(json, core->uid);
		ch_json_key(json, "name");
		ch_json_string(json, core->fname);
		ch_json_key(json, "command_line");
		ch_json_string(json, core->psargs);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}

	ch_json_key(json, "signal");
	if (core->has_siginfo) {
		ch_json_begin_object(json);
		ch_json_key(json, "number");
		ch_json_i64(json, core->signal_number);
		ch_json_key(json, "name");
		ch_json_string(json, signal_name(core->signal_number));
		ch_json_key(json, "code");
		ch_json_i64(json, core->signal_code);
		ch_json_key(json, "address");
		ch_json_address(json, core->signal_address);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}

	ch_json_key(json, "threads");
	ch_json_begin_array(json);
	for (size_t i = 0; i < core->num_threads; i++) {
		const struct ch_thread *thread = &core->threads[i];

		ch_json_begin_object(json);
		ch_json_key(json, "tid");
		ch_json_i64(json, thread->tid);
		ch_json_key(json, "signal");
		ch_json_i64(json, thread->signal);
		ch_json_key(json, "pc");
		ch_json_address(json, thread->regs[CH_REG_RIP]);
		ch_json_key(json, "sp");
		ch_json_address(json, thread->regs[CH_REG_RSP]);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
}

static void write_json_modules(struct ch_json *json,
			       const struct ch_program *program)
{
	const struct ch_modules *modules = program->modules;

	ch_json_key(json, "modules");
	ch_json_begin_array(json);
	for (size_t i = 0; i < modules->num_modules; i++) {
		const struct ch_module *module = modules->by_address[i];
		char build_id[2 * sizeof(module->build_id) + 1];

		ch_module_build_id_hex(module, build_id);
		ch_json_begin_object(json);
		ch_json_key(json, "name");
		ch_json_string(json, module->name);
		ch_json_key(json, "path");
		ch_json_string_or_null(json, module->path);
		ch_json_key(json, "debug_path");
		ch_json_string_or_null(json, module->debug_path);
		ch_json_key(json, "build_id");
		ch_json_string(json, build_id);
		ch_json_key(json, "start");
		ch_json_address(json, module->start);
		ch_json_key(json, "end");
		ch_json_address(json, module->end);
		ch_json_key(json, "binary");
		ch_json_bool(json, module->has_binary);
		ch_json_key(json, "debuginfo");
		ch_json_bool(json, module->has_debug_symbols);
		ch_json_key(json, "dwarf");
		ch_json_bool(json, module->has_dwarf);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
}

static void write_json_region(struct ch_json *json,
			      const struct ch_program *program,
			      const struct ch_region *region)
{
	ch_json_begin_object(json);
	ch_json_key(json, "allocator");
	ch_json_string(json, allocator_name(program, region->allocator));
	ch_json_key(json, "name");
	ch_json_string(json, region->name);
	ch_json_key(json, "address");
	ch_json_address(json, region->address);
	ch_json_key(json, "live_count");
	ch_json_u64(json, region->live_count);
	ch_json_key(json, "live_bytes");
	ch_json_u64(json, region->live_bytes);
	ch_json_key(json, "free_count");
	ch_json_u64(json, region->free_count);
	ch_json_key(json, "free_bytes");
	ch_json_u64(json, region->free_bytes);
	ch_json_key(json, "metadata_bytes");
	ch_json_u64(json, region->metadata_bytes);
	ch_json_key(json, "top_address");
	ch_json_address(json, region->top_address);
	ch_json_key(json, "top_size");
	ch_json_u64(json, region->top_size);
	ch_json_key(json, "system_bytes");
	ch_json_u64(json, region->system_bytes);
	ch_json_end_object(json);
}

static void write_json_heap(struct ch_json *json,
			    const struct ch_program *program)
{
	const struct ch_heap *heap = &program->heap;
	struct heap_totals totals = sum_regions(heap);

	ch_json_key(json, "allocators");
	ch_json_begin_array(json);
	for (size_t i = 0; i < program->allocators.num_uses; i++) {
		ch_json_begin_object(json);
		ch_json_key(json, "name");
		ch_json_string(json, program->allocators.uses[i].ops->name);
		ch_json_key(json, "confidence");
		ch_json_i64(json, program->allocators.uses[i].confidence);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
	ch_json_key(json, "regions");
	ch_json_begin_array(json);
	for (size_t i = 0; i < heap->num_regions; i++)
		write_json_region(json, program, &heap->regions[i]);
	ch_json_end_array(json);
	ch_json_key(json, "totals");
	ch_json_begin_object(json);
	ch_json_key(json, "live_count");
	ch_json_u64(json, totals.live_count);
	ch_json_key(json, "live_bytes");
	ch_json_u64(json, totals.live_bytes);
	ch_json_key(json, "free_count");
	ch_json_u64(json, totals.free_count);
	ch_json_key(json, "free_bytes");
	ch_json_u64(json, totals.free_bytes);
	ch_json_end_object(json);
	ch_json_key(json, "damage");
	ch_json_begin_array(json);
	for (size_t i = 0; i < heap->num_damage; i++) {
		const struct ch_damage *damage = &heap->damage[i];

		ch_json_begin_object(json);
		ch_json_key(json, "allocator");
		ch_json_string(json, allocator_name(program, damage->allocator));
		ch_json_key(json, "address");
		ch_json_address(json, damage->address);
		ch_json_key(json, "message");
		ch_json_string(json, damage->message);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
	ch_json_key(json, "warnings");
	ch_json_begin_array(json);
	for (size_t i = 0; i < program->num_warnings; i++)
		ch_json_string(json, program->warnings[i].message);
	ch_json_end_array(json);
}

int cmd_summary(int argc, char **argv)
{
	struct ch_command_options options;
	struct ch_program *program = NULL;
	struct ch_error *err;
	static struct ch_out out;

	err = ch_options_parse(argc, argv, summary_usage,
			       CH_FORMAT_TEXT | CH_FORMAT_JSON, NULL, NULL,
			       &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	if (options.num_args != 1)
		return ch_command_finish(NULL, ch_error_create(CH_ERROR_USAGE,
			"summary takes one core (see 'coreheap summary --help')"));
	err = ch_command_open(&options, options.args[0], &program);
	if (err)
		return ch_command_finish(program, err);
	ch_out_init(&out, stdout);
	if (options.format == CH_FORMAT_JSON) {
		struct ch_json json;

		ch_json_init(&json, &out, true);
		ch_json_begin_object(&json);
		write_json_process(&json, program);
		write_json_modules(&json, program);
		write_json_heap(&json, program);
		ch_json_end_object(&json);
	} else {
		write_text_process(&out, program);
		write_text_modules(&out, program);
		write_text_heap(&out, program);
	}
	err = ch_out_finish(&out);
	return ch_command_finish(program, err);
}
