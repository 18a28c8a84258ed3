// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "report/output.h"
#include "report/summary.h"

struct heap_totals {
	uint64_t live_count, live_bytes;
	uint64_t free_count, free_bytes;
	uint64_t metadata_bytes, system_bytes;
	uint64_t unexplained_count, unexplained_bytes;
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
		totals.unexplained_count += region->unexplained_count;
		totals.unexplained_bytes += region->unexplained_bytes;
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
		ch_out_printf(out, "signal:     SIG%s (%d), code %d, address 0x%" PRIx64 "\n",
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

/*
 * The allocator's own table for one region (add_stat), one line a row:
 * "    class 96 B: slabs 1, live 15". A row goes on while the region's
 * numbers name it, one after the other.
 */
static void write_text_stats(struct ch_out *out, const struct ch_heap *heap,
			     uint32_t region)
{
	const char *row = NULL;

	for (size_t i = 0; i < heap->num_stats; i++) {
		const struct ch_stat *stat = &heap->stats[i];

		if (stat->region != region)
			continue;
		if (row && !strcmp(row, stat->row)) {
			ch_out_printf(out, ", %s %" PRIu64, stat->key,
				      stat->value);
			continue;
		}
		if (row)
			ch_out_str(out, "\n");
		row = stat->row;
		ch_out_printf(out, "    %s: %s %" PRIu64, row, stat->key,
			      stat->value);
	}
	if (row)
		ch_out_str(out, "\n");
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
		if (region->unexplained_count) {
			ch_out_str(out, ", unexplained ");
			ch_out_bytes(out, region->unexplained_bytes);
		}
		ch_out_str(out, "\n");
		write_text_stats(out, heap, (uint32_t)i);
	}
	if (heap->stats_dropped)
		ch_out_printf(out, "  (%zu more numbers of the allocators' tables not kept)\n",
			      heap->stats_dropped);
	ch_out_printf(out, "live:       %" PRIu64 " allocations, ", totals.live_count);
	ch_out_bytes(out, totals.live_bytes);
	ch_out_printf(out, "\nfree:       %" PRIu64 " blocks, ", totals.free_count);
	ch_out_bytes(out, totals.free_bytes);
	ch_out_str(out, "\n");
	// Memory an allocator owns that none of its blocks explains: said,
	// never silently dropped; the roots scan it (named "unexplained").
	if (totals.unexplained_count) {
		ch_out_printf(out, "unexplained: %" PRIu64 " range%s, ",
			      totals.unexplained_count,
			      totals.unexplained_count == 1 ? "" : "s");
		ch_out_bytes(out, totals.unexplained_bytes);
		ch_out_str(out, " the allocators own but no block explains (a foreign sbrk, a gap after damage, free pages of a hugepage slab); scanned as roots\n");
	} else {
		ch_out_str(out, "unexplained: none\n");
	}
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
	ch_json_member_string(json, "path", core->path);
	ch_json_member_bool(json, "truncated", core->truncated);
	ch_json_member_u64(json, "missing_bytes", core->missing_bytes);
	ch_json_end_object(json);

	ch_json_key(json, "process");
	if (core->has_psinfo) {
		ch_json_begin_object(json);
		ch_json_member_i64(json, "pid", core->pid);
		ch_json_member_i64(json, "ppid", core->ppid);
		ch_json_member_u64(json, "uid", core->uid);
		ch_json_member_string(json, "name", core->fname);
		ch_json_member_string(json, "command_line", core->psargs);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}

	ch_json_key(json, "signal");
	if (core->has_siginfo) {
		ch_json_begin_object(json);
		ch_json_member_i64(json, "number", core->signal_number);
		ch_json_member_string(json, "name", signal_name(core->signal_number));
		ch_json_member_i64(json, "code", core->signal_code);
		ch_json_member_address(json, "address", core->signal_address);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}

	ch_json_key(json, "threads");
	ch_json_begin_array(json);
	for (size_t i = 0; i < core->num_threads; i++) {
		const struct ch_thread *thread = &core->threads[i];

		ch_json_begin_object(json);
		ch_json_member_i64(json, "tid", thread->tid);
		ch_json_member_i64(json, "signal", thread->signal);
		ch_json_member_address(json, "pc", thread->regs[CH_REG_RIP]);
		ch_json_member_address(json, "sp", thread->regs[CH_REG_RSP]);
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
		ch_json_member_string(json, "name", module->name);
		ch_json_member_string_or_null(json, "path", module->path);
		ch_json_member_string_or_null(json, "debug_path", module->debug_path);
		ch_json_member_string(json, "build_id", build_id);
		ch_json_member_address(json, "start", module->start);
		ch_json_member_address(json, "end", module->end);
		ch_json_member_bool(json, "binary", module->has_binary);
		ch_json_member_bool(json, "debuginfo", module->has_debug_symbols);
		ch_json_member_bool(json, "dwarf", module->has_dwarf);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
}

// "stats": [{"row": "class 96 B", "values": {"slabs": 1, ...}}, ...]
static void write_json_stats(struct ch_json *json, const struct ch_heap *heap,
			     uint32_t region)
{
	const char *row = NULL;

	ch_json_key(json, "stats");
	ch_json_begin_array(json);
	for (size_t i = 0; i < heap->num_stats; i++) {
		const struct ch_stat *stat = &heap->stats[i];

		if (stat->region != region)
			continue;
		if (!row || strcmp(row, stat->row)) {
			if (row) {
				ch_json_end_object(json);
				ch_json_end_object(json);
			}
			row = stat->row;
			ch_json_begin_object(json);
			ch_json_member_string(json, "row", row);
			ch_json_key(json, "values");
			ch_json_begin_object(json);
		}
		ch_json_member_u64(json, stat->key, stat->value);
	}
	if (row) {
		ch_json_end_object(json);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
}

static void write_json_region(struct ch_json *json,
			      const struct ch_program *program,
			      const struct ch_region *region)
{
	ch_json_begin_object(json);
	ch_json_member_string(json, "allocator", allocator_name(program, region->allocator));
	ch_json_member_string(json, "name", region->name);
	ch_json_member_address(json, "address", region->address);
	ch_json_member_u64(json, "live_count", region->live_count);
	ch_json_member_u64(json, "live_bytes", region->live_bytes);
	ch_json_member_u64(json, "free_count", region->free_count);
	ch_json_member_u64(json, "free_bytes", region->free_bytes);
	ch_json_member_u64(json, "metadata_bytes", region->metadata_bytes);
	ch_json_member_address(json, "top_address", region->top_address);
	ch_json_member_u64(json, "top_size", region->top_size);
	ch_json_member_u64(json, "system_bytes", region->system_bytes);
	ch_json_member_u64(json, "unexplained_count", region->unexplained_count);
	ch_json_member_u64(json, "unexplained_bytes", region->unexplained_bytes);
	write_json_stats(json, &program->heap,
			 (uint32_t)(region - program->heap.regions));
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
		ch_json_member_string(json, "name", program->allocators.uses[i].ops->name);
		ch_json_member_i64(json, "confidence", program->allocators.uses[i].confidence);
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
	ch_json_member_u64(json, "live_count", totals.live_count);
	ch_json_member_u64(json, "live_bytes", totals.live_bytes);
	ch_json_member_u64(json, "free_count", totals.free_count);
	ch_json_member_u64(json, "free_bytes", totals.free_bytes);
	ch_json_member_u64(json, "unexplained_count", totals.unexplained_count);
	ch_json_member_u64(json, "unexplained_bytes", totals.unexplained_bytes);
	ch_json_member_u64(json, "stats_dropped", heap->stats_dropped);
	ch_json_end_object(json);
	ch_json_key(json, "damage");
	ch_json_begin_array(json);
	for (size_t i = 0; i < heap->num_damage; i++) {
		const struct ch_damage *damage = &heap->damage[i];

		ch_json_begin_object(json);
		ch_json_member_string(json, "allocator", allocator_name(program, damage->allocator));
		ch_json_member_address(json, "address", damage->address);
		ch_json_member_string(json, "message", damage->message);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
	ch_json_key(json, "warnings");
	ch_json_begin_array(json);
	for (size_t i = 0; i < program->num_warnings; i++)
		ch_json_string(json, program->warnings[i].message);
	ch_json_end_array(json);
}

struct ch_error *ch_summary_report_write(struct ch_program *program,
					 enum ch_format format, FILE *stream)
{
	static struct ch_out out;

	ch_out_init(&out, stream);
	if (format == CH_FORMAT_JSON) {
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
	return ch_out_finish(&out);
}
