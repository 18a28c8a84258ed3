// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/cleanup.h"
#include "base/vector.h"
#include "cli/analysis_options.h"
#include "cli/commands.h"
#include "heap/block_index.h"
#include "report/analysis.h"
#include "report/output.h"
#include "types/types.h"

static const char *const refs_usage[] = {
	"coreheap refs [OPTIONS] ADDR CORE",
	"",
	"Who points into the allocation holding ADDR (0x-prefixed hex or decimal):",
	"every allocation (with the offset of the pointer in it) and every root",
	"word; and what it points to: every word of it that points into a live",
	"allocation. Offsets \"-> +N\" say where in the target a pointer lands.",
	NULL,
};

static const struct ch_option refs_options_table[] = {
	CH_ANALYSIS_NO_INTERIOR_OPTION,
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

/** A word pointing into the target, from an allocation or a root. */
struct referrer {
	uint32_t node;         /**< CH_GRAPH_NONE for a root */
	uint32_t root;
	uint64_t source;       /**< the word's address (register number) */
	/** From what listings call the target, signed (see signed_offset()). */
	uint64_t target_offset;
};

/** A word of the target pointing into an allocation. */
struct reference {
	uint64_t offset;
	uint32_t node;
	/** From what listings call the node (signed: a header's word is before). */
	uint64_t target_offset;
};

DEFINE_VECTOR(referrer_vector, struct referrer);
DEFINE_VECTOR(reference_vector, struct reference);

struct refs_report {
	struct ch_program *program;
	struct ch_roots *roots;
	/** The heap's. */
	const struct ch_block_index *index;
	uint32_t target;
	uint64_t addr, low, high;
	/** What listings call the target: its id() for a runtime's object. */
	uint64_t base;
	bool interior;
	struct referrer_vector referrers;
	struct reference_vector references;
	// While scanning one allocation or root.
	uint32_t node, root;
	bool out_of_memory;
	struct ch_root_name *root_names;
};

static bool push_referrer(struct refs_report *report, uint64_t source,
			  uint64_t value)
{
	struct referrer *referrer;

	if (referrer_vector_append_entry(&report->referrers, &referrer)) {
		report->out_of_memory = true;
		return false;
	}
	*referrer = (struct referrer){
		.node = report->node,
		.root = report->root,
		.source = source,
		.target_offset = value - report->base,
	};
	return true;
}

static bool points_at_target(const struct refs_report *report, uint64_t value)
{
	if (!report->interior)
		return value == report->low;
	return value - report->low < report->high - report->low ||
	       value == report->low;
}

static bool referrer_word(uint64_t addr, uint64_t value, void *arg)
{
	struct refs_report *report = arg;

	return !points_at_target(report, value) ||
	       push_referrer(report, addr, value);
}

static bool reference_word(uint64_t addr, uint64_t value, void *arg)
{
	struct refs_report *report = arg;
	uint32_t node = ch_block_index_find(report->index, value,
					    report->interior);
	struct reference *reference;

	if (node == CH_NO_BLOCK)
		return true;
	if (reference_vector_append_entry(&report->references, &reference)) {
		report->out_of_memory = true;
		return false;
	}
	*reference = (struct reference){
		.offset = addr - report->base,
		.node = node,
		.target_offset = value - ch_program_identity(
					       report->program,
					       &report->index->blocks[node]),
	};
	return true;
}

// One pass over every allocation and root: no graph is needed to find the
// words that point into one range.
static struct ch_error *scan(struct refs_report *report)
{
	const struct ch_address_space *as = report->program->address_space;
	const struct ch_heap *heap = &report->program->heap;
	const struct ch_core *core = report->program->core;
	uint64_t unreadable = 0;

	for (uint32_t v = 0; v < heap->live.len && !report->out_of_memory; v++) {
		report->node = v;
		unreadable += ch_scan_words(as, heap->live.blocks[v].address,
					    ch_block_end(&heap->live.blocks[v]),
					    referrer_word, report);
	}
	report->node = CH_GRAPH_NONE;
	for (uint32_t r = 0; r < report->roots->num_roots && !report->out_of_memory;
	     r++) {
		const struct ch_root *root = &report->roots->roots[r];

		report->root = r;
		// The objects a runtime names as roots: by their identity.
		if (root->kind == CH_ROOT_RUNTIME) {
			for (size_t i = 0; i < report->roots->num_runtime; i++) {
				uint64_t value = report->roots->runtime[i].target;

				if (value - report->low <
					    report->high - report->low &&
				    !push_referrer(report, i, value))
					break;
			}
			continue;
		}
		// Roots the core left out on purpose hold nothing: only
		// what it lost is unknown (as in the graph).
		if (root->kind != CH_ROOT_REGISTER) {
			if (ch_scan_words(as, root->start, root->end,
					  referrer_word, report))
				unreadable += ch_address_space_lost_bytes(
					as, root->start, root->end);
			continue;
		}
		for (int reg = 0; reg < CH_NUM_REGS; reg++) {
			uint64_t value = core->threads[root->thread].regs[reg];

			if (points_at_target(report, value) &&
			    !push_referrer(report, reg, value))
				break;
		}
	}
	if (!report->out_of_memory)
		unreadable += ch_scan_words(as, report->low, report->high,
					    reference_word, report);
	if (report->out_of_memory)
		return &ch_enomem;
	if (unreadable)
		ch_program_warn(report->program, true,
				"%" PRIu64 " bytes of allocations and roots are not in the core: pointers there are unknown",
				unreadable);
	return NULL;
}

static struct ch_error *name_roots(struct refs_report *report)
{
	struct ch_analysis analysis = { .program = report->program,
					.roots = report->roots };
	struct ch_error *err;

	report->root_names = calloc(report->referrers.len + 1,
				    sizeof(*report->root_names));
	if (!report->root_names)
		return &ch_enomem;
	for (size_t i = 0; i < report->referrers.len; i++) {
		const struct referrer *referrer = &report->referrers.data[i];
		struct ch_root_ref ref = { .source = referrer->source,
					   .root = referrer->root };

		if (referrer->node != CH_GRAPH_NONE)
			continue;
		err = ch_analysis_name_root(&analysis, &ref,
					    &report->root_names[i]);
		if (err)
			return err;
	}
	return NULL;
}

static const char *type_or_dash(const struct refs_report *report, uint32_t v)
{
	const char *type = ch_analysis_type(report->program, v);

	return type ? type : "-";
}

// A difference of addresses as a signed offset, "+0x10" or "-0x8", in buf.
static const char *signed_hex(uint64_t difference, char buf[32])
{
	if ((int64_t)difference >= 0)
		snprintf(buf, 32, "+0x%" PRIx64, difference);
	else
		snprintf(buf, 32, "-0x%" PRIx64, -difference);
	return buf;
}

/*
 * The offset of the word at source in block, from what listings call the
 * block (a runtime object's id(): its header's words are before it),
 * signed, into buf.
 */
static const char *signed_offset(const struct ch_program *program,
				 const struct ch_block *block, uint64_t source,
				 char buf[32])
{
	return signed_hex(source - ch_program_identity(program, block), buf);
}

static void write_text(struct ch_out *out, const struct refs_report *report)
{
	const struct ch_block *blocks = report->program->heap.live.blocks;
	const struct ch_block *target = &blocks[report->target];
	size_t num_roots = 0;

	uint64_t identity = ch_program_identity(report->program, target);

	if (identity != target->address && report->addr >= identity)
		ch_out_printf(out, "0x%" PRIx64 " is in the object at 0x%" PRIx64 " (%" PRIu64 " bytes with its header, %s), offset 0x%" PRIx64 "\n",
			      report->addr, identity, ch_block_size(target),
			      type_or_dash(report, report->target),
			      report->addr - identity);
	else
		ch_out_printf(out, "0x%" PRIx64 " is in the allocation at 0x%" PRIx64 " (%" PRIu64 " bytes, %s), offset 0x%" PRIx64 "\n",
			      report->addr, target->address, ch_block_size(target),
			      type_or_dash(report, report->target),
			      report->addr - target->address);
	for (size_t i = 0; i < report->referrers.len; i++)
		num_roots += report->referrers.data[i].node == CH_GRAPH_NONE;
	ch_out_printf(out, "\npointed to by %zu word%s (%zu in allocations, %zu in roots):\n",
		      report->referrers.len,
		      report->referrers.len == 1 ? "" : "s",
		      report->referrers.len - num_roots, num_roots);
	for (size_t i = 0; i < report->referrers.len; i++) {
		const struct referrer *referrer = &report->referrers.data[i];
		const struct ch_root_name *root = &report->root_names[i];
		char offset[32];

		if (referrer->node == CH_GRAPH_NONE) {
			ch_out_printf(out, "  %s %s", root->kind, root->name);
			if (root->address)
				ch_out_printf(out, " (0x%" PRIx64 ")", root->address);
			ch_out_printf(out, " -> %s\n",
				      signed_hex(referrer->target_offset, offset));
			continue;
		}
		ch_out_printf(out, "  0x%016" PRIx64 " %-9s",
			      ch_program_identity(report->program,
						  &blocks[referrer->node]),
			      signed_offset(report->program,
					    &blocks[referrer->node],
					    referrer->source, offset));
		ch_out_printf(out, " -> %-9s %" PRIu64 " bytes, %s\n",
			      signed_hex(referrer->target_offset, offset),
			      ch_block_size(&blocks[referrer->node]),
			      type_or_dash(report, referrer->node));
	}
	ch_out_printf(out, "\npoints to %zu allocation word%s:\n",
		      report->references.len,
		      report->references.len == 1 ? "" : "s");
	for (size_t i = 0; i < report->references.len; i++) {
		const struct reference *reference = &report->references.data[i];

		char offset[32], target_offset[32];

		ch_out_printf(out, "  %-9s -> 0x%016" PRIx64 " %-9s %" PRIu64 " bytes, %s\n",
			      signed_hex(reference->offset, offset),
			      ch_program_identity(report->program,
						  &blocks[reference->node]),
			      signed_hex(reference->target_offset, target_offset),
			      ch_block_size(&blocks[reference->node]),
			      type_or_dash(report, reference->node));
	}
}

static void write_json(struct ch_out *out, const struct refs_report *report)
{
	const struct ch_program *program = report->program;
	const struct ch_block *blocks = program->heap.live.blocks;
	struct ch_json json;

	ch_json_init(&json, out, true);
	ch_json_begin_object(&json);
	ch_json_member_address(&json, "address",
			       ch_program_identity(program,
						   &blocks[report->target]));
	ch_json_member_u64(&json, "size",
			   ch_block_size(&blocks[report->target]));
	ch_json_member_string_or_null(&json, "type", ch_analysis_type(program, report->target));
	ch_json_key(&json, "referrers");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < report->referrers.len; i++) {
		const struct referrer *referrer = &report->referrers.data[i];

		if (referrer->node == CH_GRAPH_NONE)
			continue;
		ch_json_begin_object(&json);
		ch_json_member_address(&json, "address",
				       ch_program_identity(program,
							   &blocks[referrer->node]));
		ch_json_member_i64(&json, "offset",
				   (int64_t)(referrer->source -
					     ch_program_identity(program,
								 &blocks[referrer->node])));
		ch_json_member_i64(&json, "target_offset",
				   (int64_t)referrer->target_offset);
		ch_json_member_u64(&json, "size",
				   ch_block_size(&blocks[referrer->node]));
		ch_json_member_string_or_null(&json, "type", ch_analysis_type(program, referrer->node));
		ch_json_end_object(&json);
	}
	ch_json_end_array(&json);
	ch_json_key(&json, "roots");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < report->referrers.len; i++) {
		const struct referrer *referrer = &report->referrers.data[i];
		const struct ch_root_name *root = &report->root_names[i];

		if (referrer->node != CH_GRAPH_NONE)
			continue;
		ch_json_begin_object(&json);
		ch_json_member_string(&json, "kind", root->kind);
		ch_json_member_string(&json, "name", root->name);
		ch_json_key(&json, "address");
		if (root->address)
			ch_json_address(&json, root->address);
		else
			ch_json_null(&json);
		ch_json_member_i64(&json, "target_offset",
				   (int64_t)referrer->target_offset);
		ch_json_end_object(&json);
	}
	ch_json_end_array(&json);
	ch_json_key(&json, "references");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < report->references.len; i++) {
		const struct reference *reference = &report->references.data[i];

		ch_json_begin_object(&json);
		ch_json_member_i64(&json, "offset", (int64_t)reference->offset);
		ch_json_member_address(&json, "address",
				       ch_program_identity(program,
							   &blocks[reference->node]));
		ch_json_member_i64(&json, "target_offset",
				   (int64_t)reference->target_offset);
		ch_json_member_u64(&json, "size",
				   ch_block_size(&blocks[reference->node]));
		ch_json_member_string_or_null(&json, "type", ch_analysis_type(program, reference->node));
		ch_json_end_object(&json);
	}
	ch_json_end_array(&json);
	ch_json_end_object(&json);
	ch_out_char(out, '\n');
}

static void refs_report_deinit(struct refs_report *report)
{
	for (size_t i = 0; report->root_names && i < report->referrers.len; i++)
		free(report->root_names[i].name);
	free(report->root_names);
	referrer_vector_deinit(&report->referrers);
	reference_vector_deinit(&report->references);
	ch_roots_destroy(report->roots);
}

static struct ch_error *run_refs(struct ch_program *program, bool interior,
				 uint64_t addr, enum ch_format format)
{
	struct refs_report report = {
		.program = program,
		.addr = addr,
		.interior = interior,
	};
	const struct ch_block *target;
	static struct ch_out out;
	struct ch_error *err;

	err = ch_analysis_find_block(program, addr, &report.target);
	if (err)
		return err;
	target = &program->heap.live.blocks[report.target];
	report.low = target->address;
	report.base = ch_program_identity(program, target);
	report.high = ch_block_end(target);
	err = ch_program_load_types(program);
	if (!err)
		err = ch_roots_create(program, &report.roots);
	if (!err)
		err = ch_heap_block_index(&program->heap, &report.index);
	if (!err)
		err = scan(&report);
	if (!err)
		err = name_roots(&report);
	if (!err) {
		ch_out_init(&out, stdout);
		if (format == CH_FORMAT_JSON)
			write_json(&out, &report);
		else
			write_text(&out, &report);
		err = ch_out_finish(&out);
	}
	refs_report_deinit(&report);
	return err;
}

int cmd_refs(int argc, char **argv)
{
	struct ch_command_options options;
	struct ch_analysis_options analysis = { 0 };
	struct ch_program *program = NULL;
	struct ch_error *err;
	uint64_t addr;

	err = ch_options_parse(argc, argv, refs_usage,
			       CH_FORMAT_TEXT | CH_FORMAT_JSON, refs_options_table,
			       &analysis, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	err = ch_command_open_at_address(&options, "refs", &addr, &program);
	if (!err)
		err = run_refs(program, !analysis.no_interior, addr, options.format);
	return ch_command_finish(program, err);
}
