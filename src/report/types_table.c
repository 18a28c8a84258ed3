// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pattern.h"
#include "base/sort.h"
#include "report/output.h"
#include "report/type_groups.h"
#include "report/types_table.h"
#include "types/types.h"

struct row {
	/** The type's name, or NULL for unknown allocations of size. */
	const char *name;
	uint64_t size;
	uint64_t count, bytes;
	/** Bit per enum ch_type_source. */
	uint8_t sources;
	/** Its label in text and for --match. Owned. */
	char *label;
};

struct table {
	struct row *rows;
	size_t num_rows;
	uint64_t total_count, total_bytes;
};

static void table_deinit(struct table *table)
{
	for (size_t i = 0; i < table->num_rows; i++)
		free(table->rows[i].label);
	free(table->rows);
}

/*
 * One row per group of report/type_groups.h, the grouping diff and triage
 * count with, labelled for text and --match.
 */
static struct ch_error *build_table(const struct ch_program *program,
				    struct table *table)
{
	struct ch_type_groups groups;
	struct ch_error *err;

	err = ch_type_groups_count(&groups, program);
	if (err)
		return err;
	table->total_count = groups.total_count;
	table->total_bytes = groups.total_bytes;
	table->rows = calloc(groups.num_groups + 1, sizeof(*table->rows));
	if (!table->rows)
		err = &ch_enomem;
	for (size_t g = 0; !err && g < groups.num_groups; g++) {
		const struct ch_type_group *group = &groups.groups[g];
		struct row *row = &table->rows[table->num_rows++];

		*row = (struct row){
			.name = group->type,
			.size = group->size,
			.count = group->count,
			.bytes = group->bytes,
			.sources = group->sources,
		};
		if (row->name)
			row->label = strdup(row->name);
		else if (asprintf(&row->label, "(unknown, %" PRIu64 " bytes)",
				  row->size) < 0)
			row->label = NULL;
		if (!row->label)
			err = &ch_enomem;
	}
	ch_type_groups_deinit(&groups);
	return err;
}

static int compare_rows(const void *a, const void *b, void *arg)
{
	const struct row *x = a, *y = b;
	enum ch_types_sort sort_by = *(const enum ch_types_sort *)arg;
	uint64_t x1 = sort_by == CH_TYPES_SORT_BYTES ? x->bytes : x->count;
	uint64_t y1 = sort_by == CH_TYPES_SORT_BYTES ? y->bytes : y->count;
	uint64_t x2 = sort_by == CH_TYPES_SORT_BYTES ? x->count : x->bytes;
	uint64_t y2 = sort_by == CH_TYPES_SORT_BYTES ? y->count : y->bytes;

	if (x1 != y1)
		return x1 > y1 ? -1 : 1;
	if (x2 != y2)
		return x2 > y2 ? -1 : 1;
	// Named types before unknown ones, then by name or size.
	if (!x->name != !y->name)
		return x->name ? -1 : 1;
	if (x->name)
		return strcmp(x->name, y->name);
	return x->size < y->size ? -1 : x->size > y->size;
}

static void sort_rows(struct table *table, enum ch_types_sort key)
{
	ch_sort_r(table->rows, table->num_rows, sizeof(*table->rows),
		  compare_rows, &key);
}

static struct ch_error *filter_rows(struct table *table,
				    const struct ch_types_options *options)
{
	struct ch_pattern pattern;
	size_t kept = 0;
	struct ch_error *err;

	if (options->match) {
		err = ch_pattern_init(&pattern, "match", options->match);
		if (err)
			return err;
		for (size_t i = 0; i < table->num_rows; i++) {
			if (ch_pattern_match(&pattern, table->rows[i].label))
				table->rows[kept++] = table->rows[i];
			else
				free(table->rows[i].label);
		}
		table->num_rows = kept;
		ch_pattern_deinit(&pattern);
	}
	if (options->top && options->top < table->num_rows) {
		for (size_t i = options->top; i < table->num_rows; i++)
			free(table->rows[i].label);
		table->num_rows = options->top;
	}
	return NULL;
}

static double share(uint64_t bytes, uint64_t total)
{
	return total ? (double)bytes / total : 0;
}

// "vtable+dwarf": the sources of a row's allocations.
static const char *format_sources(uint8_t sources, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int s = CH_TYPE_RUNTIME; s <= CH_TYPE_GUESS; s++) {
		if (sources & (1u << s))
			len += snprintf(buf + len, size - len, "%s%s",
					len ? "+" : "", ch_type_source_names[s]);
	}
	return len ? buf : ch_type_source_names[CH_TYPE_UNKNOWN];
}

// The name last: C++ names run long and would break the columns.
static void write_text(struct ch_out *out, const struct table *table,
		       const struct ch_types *types)
{
	const struct ch_type_stats *stats = &types->stats;

	ch_out_printf(out, "%10s  %14s  %6s  %10s  %-13s  %s\n", "count",
		      "bytes", "share", "average", "source", "type");
	for (size_t i = 0; i < table->num_rows; i++) {
		const struct row *row = &table->rows[i];
		char sources[64];

		ch_out_printf(out, "%10" PRIu64 "  %14" PRIu64 "  %5.1f%%  %10" PRIu64 "  %-13s  %s\n",
			      row->count, row->bytes,
			      100 * share(row->bytes, table->total_bytes),
			      row->bytes / row->count,
			      format_sources(row->sources, sources,
					     sizeof(sources)),
			      row->label);
	}
	ch_out_printf(out, "\ntotal: %" PRIu64 " allocations, %" PRIu64 " bytes\n",
		      table->total_count, table->total_bytes);
	ch_out_str(out, "typed by:");
	for (int s = CH_TYPE_RUNTIME; s <= CH_TYPE_GUESS; s++)
		ch_out_printf(out, " %s %" PRIu64 " (%.1f%% of bytes)%s",
			      ch_type_source_names[s], stats->allocations[s],
			      100 * share(stats->bytes[s], table->total_bytes),
			      s < CH_TYPE_GUESS ? "," : "");
	ch_out_printf(out, "; unknown %" PRIu64 "\n",
		      stats->allocations[CH_TYPE_UNKNOWN]);
	ch_out_printf(out, "conflicts: %" PRIu64 " allocation%s with disagreeing evidence\n",
		      stats->conflicts, stats->conflicts == 1 ? "" : "s");
}

static void write_json(struct ch_out *out, const struct table *table,
		       const struct ch_types *types)
{
	const struct ch_type_stats *stats = &types->stats;
	struct ch_json json;

	ch_json_init(&json, out, true);
	ch_json_begin_object(&json);
	ch_json_key(&json, "types");
	ch_json_begin_array(&json);
	for (size_t i = 0; i < table->num_rows; i++) {
		const struct row *row = &table->rows[i];

		ch_json_begin_object(&json);
		ch_json_member_string_or_null(&json, "type", row->name);
		if (!row->name) {
			ch_json_member_u64(&json, "size", row->size);
		}
		ch_json_member_u64(&json, "count", row->count);
		ch_json_member_u64(&json, "bytes", row->bytes);
		ch_json_member_double(&json, "share", share(row->bytes, table->total_bytes));
		ch_json_member_u64(&json, "average", row->bytes / row->count);
		ch_json_key(&json, "sources");
		ch_json_begin_array(&json);
		for (int s = CH_TYPE_UNKNOWN; s <= CH_TYPE_GUESS; s++) {
			if (row->sources & (1u << s))
				ch_json_string(&json, ch_type_source_names[s]);
		}
		ch_json_end_array(&json);
		ch_json_end_object(&json);
	}
	ch_json_end_array(&json);
	ch_json_key(&json, "total");
	ch_json_begin_object(&json);
	ch_json_member_u64(&json, "count", table->total_count);
	ch_json_member_u64(&json, "bytes", table->total_bytes);
	ch_json_end_object(&json);
	ch_json_key(&json, "sources");
	ch_json_begin_object(&json);
	for (int s = CH_TYPE_UNKNOWN; s <= CH_TYPE_GUESS; s++) {
		ch_json_key(&json, ch_type_source_names[s]);
		ch_json_begin_object(&json);
		ch_json_member_u64(&json, "count", stats->allocations[s]);
		ch_json_member_u64(&json, "bytes", stats->bytes[s]);
		ch_json_end_object(&json);
	}
	ch_json_end_object(&json);
	ch_json_member_u64(&json, "conflicts", stats->conflicts);
	ch_json_member_u64(&json, "roots", stats->roots);
	ch_json_member_bool(&json, "truncated", stats->truncated);
	ch_json_end_object(&json);
}

static void write_csv(struct ch_out *out, const struct table *table)
{
	ch_out_str(out, "type,size,count,bytes,share,average,sources\n");
	for (size_t i = 0; i < table->num_rows; i++) {
		const struct row *row = &table->rows[i];
		char sources[64];

		if (row->name)
			ch_out_csv_field(out, row->name);
		ch_out_char(out, ',');
		if (!row->name)
			ch_out_u64(out, row->size);
		ch_out_printf(out, ",%" PRIu64 ",%" PRIu64 ",%.6f,%" PRIu64 ",",
			      row->count, row->bytes,
			      share(row->bytes, table->total_bytes),
			      row->bytes / row->count);
		ch_out_str(out, format_sources(row->sources, sources,
					       sizeof(sources)));
		ch_out_char(out, '\n');
	}
}

struct ch_error *ch_types_report_write_types(struct ch_types *types,
					     const struct ch_types_options *options,
					     enum ch_format format, FILE *stream)
{
	struct ch_program *program = types->program;
	struct table table = { 0 };
	static struct ch_out out;
	struct ch_error *err;

	err = build_table(program, &table);
	if (!err) {
		sort_rows(&table, options->sort);
		err = filter_rows(&table, options);
	}
	if (!err) {
		if (types->stats.truncated)
			ch_program_warn(program, true,
					"type propagation stopped at its bound; some allocations may lack a type");
		ch_out_init(&out, stream);
		if (format == CH_FORMAT_JSON)
			write_json(&out, &table, types);
		else if (format == CH_FORMAT_CSV)
			write_csv(&out, &table);
		else
			write_text(&out, &table, types);
		err = ch_out_finish(&out);
	}
	table_deinit(&table);
	return err;
}

struct ch_error *ch_types_report_write(struct ch_program *program,
				       const struct ch_types_options *options,
				       enum ch_format format, FILE *stream)
{
	struct ch_types *types = NULL;
	struct ch_error *err = ch_types_create(program, &types);

	if (!err)
		err = ch_types_report_write_types(types, options, format, stream);
	ch_types_destroy(types);
	return err;
}
