// SPDX-License-Identifier: MIT
/*
 * coreheap diff OLD NEW: what changed on the heap between two cores of the
 * same program (see report/diff.h).
 *
 * Native heaps do not move objects, but they reuse addresses: an
 * allocation counts as kept only if the same address holds the same type
 * and usable size in both cores.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/page_pool.h"
#include "base/path.h"
#include "base/pattern.h"
#include "base/sort.h"
#include "base/thread_pair.h"
#include "base/vector.h"
#include "graph/dominators.h"
#include "report/analysis.h"
#include "report/diff.h"
#include "report/output.h"
#include "report/rows.h"
#include "types/types.h"

/** One side's total for one type group. */
struct side_totals {
	uint64_t count, bytes, retained;
};

/** A row of the report: a type group and both sides. */
struct diff_row {
	/** The type name (owned by one program's heap), or NULL and a size. */
	const char *type;
	uint64_t size;
	struct side_totals old, new;
};

DEFINE_VECTOR(diff_row_vector, struct diff_row);

struct diff_report {
	struct ch_program *programs[2];
	struct diff_row_vector rows;
	uint64_t kept, only_new, only_old;
	/** Allocations listed by --show at most; 0: all. */
	uint64_t max_listed;
	/** --type, compiled; NULL for every type. */
	struct ch_pattern *type_pattern;
};

// Whether --type keeps a type (an unknown type never matches a pattern).
static bool type_selected(const struct diff_report *report, const char *type)
{
	return !report->type_pattern ||
	       (type && ch_pattern_match(report->type_pattern, type));
}

static int compare_keys(const char *type_a, uint64_t size_a,
			const char *type_b, uint64_t size_b)
{
	// Named types first, by name; then unknown ones by size.
	if (type_a && type_b)
		return strcmp(type_a, type_b);
	if (type_a || type_b)
		return type_a ? -1 : 1;
	return size_a < size_b ? -1 : size_a > size_b;
}

static int compare_rows_by_key(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;

	return compare_keys(x->type, x->size, y->type, y->size);
}

static int64_t growth(const struct diff_row *row)
{
	return (int64_t)(row->new.bytes - row->old.bytes);
}

static int compare_rows_by_growth(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	int64_t gx = growth(x), gy = growth(y);

	if (gx != gy)
		return gx > gy ? -1 : 1;
	return compare_rows_by_key(a, b);
}

/*
 * Retained bytes per group of program, as `top` computes them: the sum
 * over the group's allocations that no other allocation of the group
 * dominates. retained_ret has one entry per group.
 */
static struct ch_error *group_retained(struct ch_program *program,
				       const struct ch_analysis_options *options,
				       const struct ch_type_groups *groups,
				       uint64_t **retained_ret)
{
	static const struct ch_analysis_options defaults = { 0 };
	struct ch_analysis analysis;
	struct ch_dominators dominators;
	_cleanup_free_ uint64_t *retained = NULL;
	uint64_t *per_group, reachable;
	struct ch_error *err;

	// The typing's, the graph's and the tree's arrays hand their pages
	// on to each other; the other core's analysis opens its own.
	ch_page_pool_open();
	err = ch_analysis_init(&analysis, program, options ? options : &defaults);
	if (err) {
		ch_page_pool_close();
		return err;
	}
	const struct ch_graph *graph = analysis.graph;

	per_group = calloc(groups->num_groups + 1, sizeof(*per_group));
	if (!per_group) {
		ch_analysis_deinit(&analysis);
		ch_page_pool_close();
		return &ch_enomem;
	}
	err = ch_graph_dominators(graph, NULL, &dominators);
	if (!err) {
		err = ch_dominators_retained(&dominators, graph->blocks,
					     &retained, &reachable);
		if (!err)
			err = ch_dominators_group_retained(&dominators, retained,
							   groups->group_of,
							   groups->num_groups,
							   per_group);
		ch_dominators_deinit(&dominators);
	}
	ch_analysis_deinit(&analysis);
	ch_page_pool_close();
	if (err) {
		free(per_group);
		return err;
	}
	*retained_ret = per_group;
	return NULL;
}

struct ch_error *ch_diff_group_retained(struct ch_program *program,
					const struct ch_analysis_options *analysis,
					uint64_t **ret)
{
	struct ch_type_groups groups;
	struct ch_error *err;

	err = ch_type_groups_init(&groups, program, NULL, NULL);
	if (err)
		return err;
	err = group_retained(program, analysis, &groups, ret);
	ch_type_groups_deinit(&groups);
	return err;
}

/*
 * One side's groups as rows (side 0: the old side filled; 1: the new),
 * sorted by key.
 */
static struct ch_error *side_rows(struct ch_program *program, int side,
				  const struct ch_diff_options *options,
				  struct diff_row_vector *rows)
{
	const uint64_t *per_group = options->group_retained[side];
	struct ch_type_groups groups;
	_cleanup_free_ uint64_t *retained = NULL;
	struct ch_error *err;

	// Each block's group only for the retained sizes.
	err = options->retained ?
		      ch_type_groups_init(&groups, program, NULL, NULL) :
		      ch_type_groups_count(&groups, program);
	if (err)
		return err;
	if (options->retained && !per_group) {
		err = group_retained(program, NULL, &groups, &retained);
		per_group = retained;
	}
	for (size_t g = 0; !err && g < groups.num_groups; g++) {
		const struct ch_type_group *group = &groups.groups[g];
		struct side_totals totals = {
			.count = group->count,
			.bytes = group->bytes,
			.retained = per_group ? per_group[g] : 0,
		};
		struct diff_row row = {
			.type = group->type,
			.size = group->type ? 0 : group->size,
		};

		if (side == 1)
			row.new = totals;
		else
			row.old = totals;
		err = diff_row_vector_append(rows, &row);
	}
	ch_type_groups_deinit(&groups);
	return err;
}

// One side's rows, made on a thread.
struct side_job {
	struct ch_program *program;
	int side;
	const struct ch_diff_options *options;
	struct diff_row_vector *rows;
};

static struct ch_error *side_job_run(void *arg)
{
	struct side_job *job = arg;

	return side_rows(job->program, job->side, job->options, job->rows);
}

/*
 * The rows of each side: with the retained sizes of two small heaps, both
 * to be made here, the new core's beside the old one's (whose progress is
 * muted, as when they were read); else one after the other. The old
 * side's error, if any, is the one.
 */
static struct ch_error *both_sides_rows(struct diff_report *report,
					const struct ch_diff_options *options,
					struct diff_row_vector *new_side)
{
	struct side_job jobs[2] = {
		{ report->programs[0], 0, options, &report->rows },
		{ report->programs[1], 1, options, new_side },
	};
	struct ch_work works[2] = {
		{ side_job_run, &jobs[0], NULL },
		{ side_job_run, &jobs[1], NULL },
	};

	return ch_run_two(works, options->retained &&
					 !options->group_retained[0] &&
					 !options->group_retained[1] &&
					 ch_diff_pair_fits(report->programs));
}

/* Merge the old side's rows with the new side's, summing equal keys. */
static struct ch_error *merge_sides(struct diff_report *report,
				   const struct ch_diff_options *options)
{
	struct diff_row_vector new_side;
	struct ch_error *err;
	size_t kept = 0;

	diff_row_vector_init(&new_side);
	err = both_sides_rows(report, options, &new_side);
	for (size_t i = 0; !err && i < new_side.len; i++)
		err = diff_row_vector_append(&report->rows, &new_side.data[i]);
	diff_row_vector_deinit(&new_side);
	if (err)
		return err;
	ch_sort(report->rows.data, report->rows.len, sizeof(*report->rows.data),
		compare_rows_by_key);
	for (size_t i = 0; i < report->rows.len; i++) {
		struct diff_row *row = &report->rows.data[i];

		if (kept && compare_rows_by_key(&report->rows.data[kept - 1], row) == 0) {
			struct diff_row *into = &report->rows.data[kept - 1];

			into->old.count += row->old.count;
			into->old.bytes += row->old.bytes;
			into->old.retained += row->old.retained;
			into->new.count += row->new.count;
			into->new.bytes += row->new.bytes;
			into->new.retained += row->new.retained;
			continue;
		}
		report->rows.data[kept++] = *row;
	}
	report->rows.len = kept;
	kept = 0;
	for (size_t i = 0; i < report->rows.len; i++)
		if (type_selected(report, report->rows.data[i].type))
			report->rows.data[kept++] = report->rows.data[i];
	report->rows.len = kept;
	ch_sort(report->rows.data, report->rows.len, sizeof(*report->rows.data),
		compare_rows_by_growth);
	return NULL;
}

static bool same_type(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

// The name of block index's group ("T[]" for any array of T), or NULL.
static const char *group_name(const struct ch_heap *heap, size_t index)
{
	return heap->type_names ?
		       heap->type_names[ch_heap_block_group(heap, index, NULL)] :
		       NULL;
}

/*
 * Walk both address-ordered live arrays together; call visit for every
 * allocation that is not kept (side 0: gone from OLD, side 1: new in NEW).
 */
static void match_allocations(struct diff_report *report,
			      void (*visit)(struct diff_report *, int side,
					    size_t index, void *),
			      void *arg)
{
	const struct ch_heap *old = &report->programs[0]->heap;
	const struct ch_heap *new = &report->programs[1]->heap;
	size_t i = 0, j = 0;

	report->kept = report->only_new = report->only_old = 0;
	while (i < old->live.len || j < new->live.len) {
		const struct ch_block *a = i < old->live.len ? &old->live.blocks[i] : NULL;
		const struct ch_block *b = j < new->live.len ? &new->live.blocks[j] : NULL;

		if (a && b && a->address == b->address) {
			if (ch_block_size(a) == ch_block_size(b) &&
			    same_type(group_name(old, i),
				      group_name(new, j))) {
				report->kept++;
			} else {
				report->only_old++;
				report->only_new++;
				if (visit) {
					visit(report, 0, i, arg);
					visit(report, 1, j, arg);
				}
			}
			i++;
			j++;
		} else if (a && (!b || a->address < b->address)) {
			report->only_old++;
			if (visit)
				visit(report, 0, i, arg);
			i++;
		} else {
			report->only_new++;
			if (visit)
				visit(report, 1, j, arg);
			j++;
		}
	}
}

// The same module in both cores: the executable, or the same file name.
static bool same_module(const struct ch_module *a, const struct ch_module *b)
{
	if (a->is_executable || b->is_executable)
		return a->is_executable && b->is_executable;
	return strcmp(ch_base_name(a->name), ch_base_name(b->name)) == 0;
}

/* Compare build-ids of the modules both cores have. */
static struct ch_error *compare_build_ids(struct diff_report *report,
					  bool strict)
{
	const struct ch_modules *old = report->programs[0]->modules;
	const struct ch_modules *new = report->programs[1]->modules;

	for (size_t i = 0; i < new->num_modules; i++) {
		const struct ch_module *b = &new->modules[i];

		for (size_t j = 0; j < old->num_modules; j++) {
			const struct ch_module *a = &old->modules[j];
			char id_a[129], id_b[129];

			if (!same_module(a, b) || !a->build_id_size ||
			    !b->build_id_size)
				continue;
			if (a->build_id_size == b->build_id_size &&
			    memcmp(a->build_id, b->build_id, a->build_id_size) == 0)
				break;
			ch_module_build_id_hex(a, id_a);
			ch_module_build_id_hex(b, id_b);
			// Each core's own module by its own name: two executables
			// of different names are both "the executable".
			if (strict)
				return ch_error_create(CH_ERROR_FORMAT,
						       "the cores come from different builds: '%s' has build-id %s in '%s' and '%s' has build-id %s in '%s'",
						       ch_base_name(a->name), id_a,
						       report->programs[0]->core->path,
						       ch_base_name(b->name), id_b,
						       report->programs[1]->core->path);
			ch_program_warn(report->programs[1], false,
					"'%s' has build-id %s in the old core and '%s' has build-id %s in the new one: they may not come from the same program",
					ch_base_name(a->name), id_a,
					ch_base_name(b->name), id_b);
			break;
		}
	}
	return NULL;
}

static void write_group_name(struct ch_out *out, const struct diff_row *row)
{
	if (row->type)
		ch_out_str(out, row->type);
	else
		ch_out_printf(out, "unknown (%" PRIu64 " bytes)", row->size);
}

static void write_text(struct ch_out *out, const struct diff_report *report,
		       const struct ch_diff_options *options, size_t rows)
{
	ch_out_printf(out, "old: %s\nnew: %s\n", report->programs[0]->core->path,
		      report->programs[1]->core->path);
	ch_out_printf(out,
		      "allocations: %" PRIu64 " kept, %" PRIu64 " new, %" PRIu64 " gone\n\n",
		      report->kept, report->only_new, report->only_old);
	ch_out_str(out, "  count old   count new      change    bytes old    bytes new       change");
	if (options->retained)
		ch_out_str(out, "  retained change");
	ch_out_str(out, "  type\n");
	for (size_t i = 0; i < rows; i++) {
		const struct diff_row *row = &report->rows.data[i];

		ch_out_printf(out, "%11" PRIu64 " %11" PRIu64 " %+11" PRId64
			      " %12" PRIu64 " %12" PRIu64 " %+12" PRId64,
			      row->old.count, row->new.count,
			      (int64_t)(row->new.count - row->old.count),
			      row->old.bytes, row->new.bytes, growth(row));
		if (options->retained)
			ch_out_printf(out, " %+16" PRId64,
				      (int64_t)(row->new.retained - row->old.retained));
		ch_out_str(out, "  ");
		write_group_name(out, row);
		ch_out_char(out, '\n');
	}
}

static void write_csv(struct ch_out *out, const struct diff_report *report,
		      const struct ch_diff_options *options, size_t rows)
{
	ch_out_str(out, "type,size,count_old,count_new,count_change,bytes_old,bytes_new,bytes_change");
	ch_out_str(out, options->retained ?
				",retained_old,retained_new,retained_change\n" :
				"\n");
	for (size_t i = 0; i < rows; i++) {
		const struct diff_row *row = &report->rows.data[i];

		ch_out_csv_field(out, row->type ? row->type : "");
		ch_out_printf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRId64
			      ",%" PRIu64 ",%" PRIu64 ",%" PRId64,
			      row->size, row->old.count, row->new.count,
			      (int64_t)(row->new.count - row->old.count),
			      row->old.bytes, row->new.bytes, growth(row));
		if (options->retained)
			ch_out_printf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRId64,
				      row->old.retained, row->new.retained,
				      (int64_t)(row->new.retained - row->old.retained));
		ch_out_char(out, '\n');
	}
}

struct listing {
	struct ch_out *out;
	/** JSON: the document's writer; CSV: the rows' writer; else NULL. */
	struct ch_json *json;
	struct ch_row_writer *rows;
	int side;
	/** Allocations listed, and how many of the side --type keeps. */
	uint64_t listed, matched;
};

static void list_allocation(struct diff_report *report, int side,
			    size_t index, void *arg)
{
	struct listing *listing = arg;
	const struct ch_program *program = report->programs[side];
	const struct ch_block *block = &program->heap.live.blocks[index];
	const char *type = ch_heap_block_type(&program->heap, index, NULL);

	if (side != listing->side || !type_selected(report, type))
		return;
	listing->matched++;
	if (report->max_listed && listing->listed >= report->max_listed)
		return;
	listing->listed++;
	struct ch_allocation_row row = {
		.address = ch_program_identity(program, block),
		.size = ch_block_size(block),
		.allocator = program->allocators.uses[block->allocator].ops->name,
		.type = type,
	};

	if (listing->json) {
		ch_row_json(listing->json, &row);
		return;
	}
	if (listing->rows) {
		ch_row_writer_write(listing->rows, &row);
		return;
	}
	ch_out_printf(listing->out, "0x%016" PRIx64 "  %-10" PRIu64 "  %s\n",
		      ch_program_identity(program, block), ch_block_size(block),
		      type ? type : "-");
}

static void write_json(struct ch_out *out, struct diff_report *report,
		       const struct ch_diff_options *options, size_t rows)
{
	struct ch_json json;

	ch_json_init(&json, out, true);
	ch_json_begin_object(&json);
	ch_json_member_string(&json, "old", report->programs[0]->core->path);
	ch_json_member_string(&json, "new", report->programs[1]->core->path);
	ch_json_key(&json, "allocations");
	ch_json_begin_object(&json);
	ch_json_member_u64(&json, "kept", report->kept);
	ch_json_member_u64(&json, "new", report->only_new);
	ch_json_member_u64(&json, "gone", report->only_old);
	ch_json_end_object(&json);
	ch_json_key(&json, "types");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < rows; i++) {
		const struct diff_row *row = &report->rows.data[i];

		ch_json_begin_object(&json);
		ch_json_member_string_or_null(&json, "type", row->type);
		if (!row->type) {
			ch_json_member_u64(&json, "size", row->size);
		}
		ch_json_member_u64(&json, "count_old", row->old.count);
		ch_json_member_u64(&json, "count_new", row->new.count);
		ch_json_member_i64(&json, "count_change",
				   (int64_t)(row->new.count - row->old.count));
		ch_json_member_u64(&json, "bytes_old", row->old.bytes);
		ch_json_member_u64(&json, "bytes_new", row->new.bytes);
		ch_json_member_i64(&json, "bytes_change", growth(row));
		if (options->retained) {
			ch_json_member_u64(&json, "retained_old", row->old.retained);
			ch_json_member_u64(&json, "retained_new", row->new.retained);
			ch_json_member_i64(&json, "retained_change",
					   (int64_t)(row->new.retained -
						     row->old.retained));
		}
		ch_json_end_object(&json);
	}
	ch_json_end_array(&json);
	if (options->show != CH_DIFF_SHOW_NONE) {
		struct listing listing = {
			.out = out, .json = &json,
			.side = options->show == CH_DIFF_SHOW_NEW ? 1 : 0,
		};

		ch_json_key(&json, options->show == CH_DIFF_SHOW_NEW ? "new_allocations" :
							       "gone_allocations");
		ch_json_begin_array(&json);
		match_allocations(report, list_allocation, &listing);
		ch_json_end_array(&json);
		// How many there are in all, listed or not (--limit).
		ch_json_member_u64(&json, options->show == CH_DIFF_SHOW_NEW ?
						  "new_allocations_total" :
						  "gone_allocations_total",
				   listing.matched);
	}
	ch_json_end_object(&json);
}

struct ch_error *ch_diff_report_write(struct ch_program *programs[2],
				      const struct ch_diff_options *options,
				      enum ch_format format, FILE *stream)
{
	struct diff_report report = {
		.programs = { programs[0], programs[1] },
		.max_listed = options->max_listed,
	};
	struct ch_pattern type_pattern;
	static struct ch_out out;
	struct ch_error *err = NULL;
	size_t rows;

	if (options->type) {
		err = ch_pattern_init(&type_pattern, "--type", options->type);
		if (err)
			return err;
		report.type_pattern = &type_pattern;
	}
	err = compare_build_ids(&report, options->strict);
	if (!err)
		err = merge_sides(&report, options);
	if (err) {
		diff_row_vector_deinit(&report.rows);
		if (report.type_pattern)
			ch_pattern_deinit(report.type_pattern);
		return err;
	}
	match_allocations(&report, NULL, NULL);
	rows = options->top && options->top < report.rows.len ?
		       options->top :
		       report.rows.len;
	ch_out_init(&out, stream);
	if (format == CH_FORMAT_JSON) {
		write_json(&out, &report, options, rows);
	} else if (format == CH_FORMAT_CSV && options->show != CH_DIFF_SHOW_NONE) {
		// One table: the allocations listed, as objects lists them.
		struct ch_row_writer writer;
		struct listing listing = {
			.out = &out, .rows = &writer,
			.side = options->show == CH_DIFF_SHOW_NEW ? 1 : 0,
		};

		ch_row_writer_begin(&writer, &out, CH_FORMAT_CSV, NULL, 0);
		match_allocations(&report, list_allocation, &listing);
	} else if (format == CH_FORMAT_CSV) {
		write_csv(&out, &report, options, rows);
	} else {
		write_text(&out, &report, options, rows);
		if (options->show != CH_DIFF_SHOW_NONE) {
			struct listing listing = {
				.out = &out,
				.side = options->show == CH_DIFF_SHOW_NEW ? 1 : 0,
			};

			ch_out_str(&out, options->show == CH_DIFF_SHOW_NEW ?
						 "\nnew in NEW:\n" :
						 "\ngone from OLD:\n");
			match_allocations(&report, list_allocation, &listing);
			if (listing.matched > listing.listed)
				ch_out_printf(&out, "... %" PRIu64 " more\n",
					      listing.matched - listing.listed);
		}
	}
	diff_row_vector_deinit(&report.rows);
	if (report.type_pattern)
		ch_pattern_deinit(report.type_pattern);
	return ch_out_finish(&out);
}

struct marks {
	int side;
	bool *flags;
};

static void mark_side(struct diff_report *report, int side, size_t index,
		      void *arg)
{
	struct marks *marks = arg;

	if (side == marks->side)
		marks->flags[index] = true;
}

void ch_diff_mark_only(struct ch_program *programs[2], int side, bool *only)
{
	struct diff_report report = {
		.programs = { programs[0], programs[1] },
	};

	match_allocations(&report, mark_side,
			  &(struct marks){ .side = side, .flags = only });
}
