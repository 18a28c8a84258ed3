// SPDX-License-Identifier: MIT
#include "report/rows.h"

void ch_row_json(struct ch_json *json, const struct ch_allocation_row *row)
{
	ch_json_begin_object(json);
	ch_json_member_address(json, "address", row->address);
	ch_json_member_u64(json, "size", row->size);
	ch_json_member_string(json, "allocator", row->allocator);
	ch_json_member_string_or_null(json, "type", row->type);
	if (row->parent)
		ch_json_member_address(json, "parent", row->parent);
	for (size_t i = 0; i < row->num_fields; i++) {
		const struct ch_row_field *field = &row->fields[i];

		switch (field->kind) {
		case CH_ROW_U64:
			ch_json_member_u64(json, field->key, field->u64);
			break;
		case CH_ROW_STRING:
			ch_json_member_string(json, field->key, field->string);
			break;
		case CH_ROW_ROOT:
			ch_json_key(json, field->key);
			ch_json_begin_object(json);
			ch_json_member_string(json, "kind", field->root_kind);
			ch_json_member_string(json, "name", field->string);
			ch_json_end_object(json);
			break;
		}
	}
	ch_json_end_object(json);
}

static void write_csv_header(struct ch_row_writer *writer)
{
	struct ch_out *out = writer->out;

	ch_out_str(out, "address,size,allocator,type");
	for (size_t i = 0; i < writer->num_columns; i++) {
		const struct ch_row_field *column = &writer->columns[i];

		ch_out_char(out, ',');
		if (column->kind == CH_ROW_ROOT) {
			ch_out_str(out, column->key);
			ch_out_str(out, "_kind,");
		}
		ch_out_str(out, column->key);
	}
	ch_out_char(out, '\n');
}

static void write_csv(struct ch_out *out, const struct ch_allocation_row *row)
{
	ch_out_hex(out, row->address);
	ch_out_char(out, ',');
	ch_out_u64(out, row->size);
	ch_out_char(out, ',');
	ch_out_csv_field(out, row->allocator);
	ch_out_char(out, ',');
	if (row->type)
		ch_out_csv_field(out, row->type);
	for (size_t i = 0; i < row->num_fields; i++) {
		const struct ch_row_field *field = &row->fields[i];

		ch_out_char(out, ',');
		switch (field->kind) {
		case CH_ROW_U64:
			ch_out_u64(out, field->u64);
			break;
		case CH_ROW_STRING:
			ch_out_csv_field(out, field->string);
			break;
		case CH_ROW_ROOT:
			ch_out_csv_field(out, field->root_kind);
			ch_out_char(out, ',');
			ch_out_csv_field(out, field->string);
			break;
		}
	}
	ch_out_char(out, '\n');
}

void ch_row_writer_begin(struct ch_row_writer *writer, struct ch_out *out,
			 enum ch_format format,
			 const struct ch_row_field *columns,
			 size_t num_columns)
{
	*writer = (struct ch_row_writer){
		.out = out,
		.format = format,
		.columns = columns,
		.num_columns = num_columns,
	};
	if (format == CH_FORMAT_CSV)
		write_csv_header(writer);
	else if (format == CH_FORMAT_TEXT)
		ch_out_str(out, "address             size        allocator  type\n");
}

void ch_row_writer_write(struct ch_row_writer *writer,
			 const struct ch_allocation_row *row)
{
	struct ch_out *out = writer->out;
	struct ch_json json;

	switch (writer->format) {
	case CH_FORMAT_JSONL:
		ch_json_init_line(&json, out);
		ch_row_json(&json, row);
		ch_out_char(out, '\n');
		break;
	case CH_FORMAT_JSON:
		ch_out_str(out, writer->written ? ",\n  " : "\n  ");
		ch_json_init_line(&json, out);
		ch_row_json(&json, row);
		break;
	case CH_FORMAT_CSV:
		write_csv(out, row);
		break;
	case CH_FORMAT_TEXT:
		ch_out_printf(out, "0x%016llx  %-10llu  %-9s  %s\n",
			      (unsigned long long)row->address,
			      (unsigned long long)row->size, row->allocator,
			      row->type ? row->type : "-");
		break;
	}
	writer->written++;
}
