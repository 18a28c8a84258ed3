// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/process.h"
#include "report/output.h"
#include "report/process.h"
#include "report/summary.h"
#include "report/summary_report.h"

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

// "SEGV", or "?" for a number Linux has no name for.
static const char *signal_name(int number)
{
	const char *name = ch_signal_name(number);

	return name ? name : "?";
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
			       const struct ch_program *program,
			       const struct ch_command_line *command_line)
{
	const struct ch_core *core = program->core;
	struct ch_signal signal;

	ch_out_printf(out, "core:       %s%s%s\n", core->path,
		      core->truncated ? " (truncated)" : "",
		      core->written_by_gdb ? " (written by gdb)" : "");
	if (core->has_psinfo) {
		ch_out_printf(out, "process:    pid %d, %s: ", core->pid,
			      core->fname);
		ch_out_command_line(out, core, command_line);
		ch_out_char(out, '\n');
	}
	ch_core_signal(core, &signal);
	ch_out_str(out, "signal:     ");
	if (!ch_out_signal(out, &signal))
		ch_out_str(out, "none recorded\n");
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

	ch_out_printf(out, "modules:    %zu", modules->num_modules);
	// libdwfl's search reads every header for each one.
	if (modules->hidden_phdrs)
		ch_out_printf(out, " (searched in %zu of the core's %zu program headers: %zu are threads' stacks and their guard pages)",
			      modules->dwfl_phdrs, program->core->num_phdrs,
			      modules->hidden_phdrs);
	ch_out_char(out, '\n');
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
		// The vDSO too: its binary is the core's memory.
		ch_out_printf(out, "      binary: %s",
			      ch_file_source_name(module->binary_source));
		ch_out_printf(out, "; debug info: %s",
			      ch_file_source_name(module->debug_source));
		if (module->debug_path)
			ch_out_printf(out, " (%s)", module->debug_path);
		ch_out_char(out, '\n');
		if (*cost)
			ch_out_printf(out, "      %s\n", cost);
	}
}

static bool region_has_stats(const struct ch_heap *heap, uint32_t region)
{
	for (size_t i = 0; i < heap->num_stats; i++) {
		if (heap->stats[i].region == region)
			return true;
	}
	return false;
}

/*
 * A region of figures only (a runtime's objects nested in another
 * allocator's blocks, an interpreter's counts): it has no row of zeroes,
 * which would read as an empty heap. A region with no figures either is an
 * empty heap: its zeroes say so.
 */
static bool figures_only(const struct ch_heap *heap, uint32_t index)
{
	const struct ch_region *region = &heap->regions[index];

	return !region->live_count && !region->free_count &&
	       !region->top_address && !region->system_bytes &&
	       !region->unexplained_count && region_has_stats(heap, index);
}

// The region's counts after its name: live, free, top, system, unexplained.
static void write_text_counts(struct ch_out *out, const struct ch_region *region)
{
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
		if (figures_only(heap, (uint32_t)i))
			ch_out_str(out, ":\n");
		else
			write_text_counts(out, region);
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

/*
 * "; in the core 1.0 MiB, from the binaries 2.0 MiB, left out 3.0 MiB":
 * where a kind's bytes are, when not all in the core.
 */
static void write_text_sources(struct ch_out *out,
			       const struct ch_memory_bytes *bytes)
{
	const struct {
		const char *label;
		uint64_t value;
	} parts[] = {
		{ "in the core", bytes->in_core },
		{ "read from the binaries", bytes->from_files },
		{ "left out", bytes->left_out },
		{ "lost (the core is cut short)", bytes->lost },
	};
	const char *sep = "; ";

	if (bytes->in_core == bytes->total)
		return;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!parts[i].value)
			continue;
		ch_out_printf(out, "%s%s ", sep, parts[i].label);
		ch_out_bytes(out, parts[i].value);
		sep = ", ";
	}
}

static void write_text_kind(struct ch_out *out, const char *title,
			    const struct ch_memory_bytes *bytes)
{
	char size[32];

	ch_format_bytes(bytes->total, size);
	ch_out_printf(out, "  %-24s %10s  ", title, size);
}

static void write_text_usage(struct ch_out *out,
			     const struct ch_heap_usage *usage)
{
	ch_out_printf(out, "live %" PRIu64 " (", usage->live_count);
	ch_out_bytes(out, usage->live_bytes);
	ch_out_printf(out, "), free %" PRIu64 " (", usage->free_count);
	ch_out_bytes(out, usage->free_bytes);
	ch_out_str(out, "), top ");
	ch_out_bytes(out, usage->top_bytes);
	ch_out_str(out, ", overhead ");
	ch_out_bytes(out, usage->overhead_bytes);
	if (usage->unexplained_bytes) {
		ch_out_str(out, ", unexplained ");
		ch_out_bytes(out, usage->unexplained_bytes);
	}
	if (usage->excess_bytes) {
		ch_out_str(out, ", blocks past the memory it owns ");
		ch_out_bytes(out, usage->excess_bytes);
	}
}

// Every mapped byte once, by kind: the allocators' heaps first.
static void write_text_memory(struct ch_out *out,
			      const struct ch_program *program,
			      const struct ch_summary_map *map)
{
	ch_out_str(out, "memory:     ");
	ch_out_bytes(out, map->total.total);
	ch_out_printf(out, " in %" PRIu64 " mappings", map->total.pieces);
	write_text_sources(out, &map->total);
	ch_out_str(out, "\n");
	for (size_t i = 0; i < map->num_allocators; i++) {
		char title[64];

		if (!map->allocators[i].bytes.total &&
		    !map->allocators[i].live_count)
			continue;
		snprintf(title, sizeof(title), "%s heap",
			 allocator_name(program, (uint8_t)i));
		write_text_kind(out, title, &map->allocators[i].bytes);
		write_text_usage(out, &map->allocators[i]);
		write_text_sources(out, &map->allocators[i].bytes);
		ch_out_str(out, "\n");
	}
	for (int kind = CH_MEMORY_HEAP + 1; kind < CH_MEMORY_NUM_KINDS; kind++) {
		const struct ch_memory_bytes *bytes = &map->kinds[kind];

		if (!bytes->total)
			continue;
		write_text_kind(out, ch_memory_kind_titles[kind], bytes);
		ch_out_printf(out, "%" PRIu64 " mapping%s", bytes->pieces,
			      bytes->pieces == 1 ? "" : "s");
		write_text_sources(out, bytes);
		ch_out_str(out, "\n");
	}
}

static void write_json_sources(struct ch_json *json,
			       const struct ch_memory_bytes *bytes)
{
	ch_json_member_u64(json, "bytes", bytes->total);
	ch_json_member_u64(json, "mappings", bytes->pieces);
	ch_json_member_u64(json, "in_core_bytes", bytes->in_core);
	ch_json_member_u64(json, "from_binaries_bytes", bytes->from_files);
	ch_json_member_u64(json, "left_out_bytes", bytes->left_out);
	ch_json_member_u64(json, "lost_bytes", bytes->lost);
}

static void write_json_usage(struct ch_json *json,
			     const struct ch_heap_usage *usage)
{
	ch_json_member_u64(json, "live_count", usage->live_count);
	ch_json_member_u64(json, "live_bytes", usage->live_bytes);
	ch_json_member_u64(json, "free_count", usage->free_count);
	ch_json_member_u64(json, "free_bytes", usage->free_bytes);
	ch_json_member_u64(json, "top_bytes", usage->top_bytes);
	ch_json_member_u64(json, "overhead_bytes", usage->overhead_bytes);
	ch_json_member_u64(json, "unexplained_bytes", usage->unexplained_bytes);
	ch_json_member_u64(json, "excess_bytes", usage->excess_bytes);
}

/*
 * "memory": {"bytes": ..., "kinds": [{"kind": "heap", "allocator":
 * "glibc", "bytes": ..., "live_bytes": ...}, {"kind": "stack", ...}]}:
 * the kinds' bytes add up to the total's.
 */
static void write_json_memory(struct ch_json *json,
			      const struct ch_program *program,
			      const struct ch_summary_map *map)
{
	ch_json_key(json, "memory");
	ch_json_begin_object(json);
	write_json_sources(json, &map->total);
	ch_json_key(json, "kinds");
	ch_json_begin_array(json);
	for (size_t i = 0; i < map->num_allocators; i++) {
		ch_json_begin_object(json);
		ch_json_member_string(json, "kind", ch_memory_kind_names[CH_MEMORY_HEAP]);
		ch_json_member_string(json, "allocator",
				      allocator_name(program, (uint8_t)i));
		write_json_sources(json, &map->allocators[i].bytes);
		write_json_usage(json, &map->allocators[i]);
		ch_json_end_object(json);
	}
	for (int kind = CH_MEMORY_HEAP + 1; kind < CH_MEMORY_NUM_KINDS; kind++) {
		ch_json_begin_object(json);
		ch_json_member_string(json, "kind", ch_memory_kind_names[kind]);
		write_json_sources(json, &map->kinds[kind]);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
	ch_json_member_u64(json, "stacks", map->num_stacks);
	ch_json_end_object(json);
}

static void write_json_process(struct ch_json *json,
			       const struct ch_program *program,
			       const struct ch_command_line *command_line)
{
	const struct ch_core *core = program->core;
	struct ch_signal signal;

	ch_json_key(json, "core");
	ch_json_begin_object(json);
	ch_json_member_string(json, "path", core->path);
	ch_json_member_bool(json, "truncated", core->truncated);
	ch_json_member_u64(json, "missing_bytes", core->missing_bytes);
	ch_json_member_string(json, "written_by", ch_core_writer_name(core));
	ch_json_end_object(json);

	ch_json_key(json, "process");
	if (core->has_psinfo) {
		ch_json_begin_object(json);
		ch_json_member_i64(json, "pid", core->pid);
		ch_json_member_i64(json, "ppid", core->ppid);
		ch_json_member_u64(json, "uid", core->uid);
		ch_json_member_string(json, "name", core->fname);
		ch_json_command_line(json, command_line);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}

	ch_core_signal(core, &signal);
	ch_json_signal(json, core, &signal);

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
		ch_json_member_string(json, "binary_source",
				      ch_file_source_name(module->binary_source));
		ch_json_member_string(json, "debug_source",
				      ch_file_source_name(module->debug_source));
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
			      const struct ch_region *region,
			      const struct ch_heap_usage *usage)
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
	// The memory the region owns, and what no block of it explains.
	ch_json_member_u64(json, "owned_bytes", usage->bytes.total);
	ch_json_member_u64(json, "overhead_bytes", usage->overhead_bytes);
	write_json_stats(json, &program->heap,
			 (uint32_t)(region - program->heap.regions));
	ch_json_end_object(json);
}

static void write_json_heap(struct ch_json *json,
			    const struct ch_program *program,
			    const struct ch_summary_map *map)
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
		write_json_region(json, program, &heap->regions[i],
				  &map->regions[i]);
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
	struct ch_command_line command_line = { 0 };
	struct ch_summary_map map;
	static struct ch_out out;
	struct ch_error *err;

	err = ch_process_command_line(program->core, program->address_space,
				      &command_line);
	if (!err)
		err = ch_summary_map_build(program, &map);
	if (err) {
		ch_command_line_deinit(&command_line);
		return err;
	}
	ch_out_init(&out, stream);
	if (format == CH_FORMAT_JSON) {
		struct ch_json json;

		ch_json_init(&json, &out, true);
		ch_json_begin_object(&json);
		write_json_process(&json, program, &command_line);
		write_json_modules(&json, program);
		write_json_memory(&json, program, &map);
		write_json_heap(&json, program, &map);
		ch_json_end_object(&json);
	} else {
		write_text_process(&out, program, &command_line);
		write_text_modules(&out, program);
		write_text_memory(&out, program, &map);
		write_text_heap(&out, program);
	}
	ch_command_line_deinit(&command_line);
	ch_summary_map_deinit(&map);
	return ch_out_finish(&out);
}
