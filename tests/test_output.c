// SPDX-License-Identifier: MIT
// The report emitter: JSON escaping and nesting, CSV quoting, numbers.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/output.h"
#include "report/describe.h"
#include "report/rows.h"
#include "report/type_groups.h"

static struct ch_out out;

// Run fn against a memory stream and return what it wrote (caller frees).
static char *capture(void (*fn)(struct ch_out *))
{
	char *text = NULL;
	size_t size = 0;
	FILE *stream = open_memstream(&text, &size);

	ch_out_init(&out, stream);
	fn(&out);
	cr_assert_null(ch_out_finish(&out));
	fclose(stream);
	return text;
}

static void numbers(struct ch_out *o)
{
	ch_out_u64(o, 0);
	ch_out_char(o, ' ');
	ch_out_u64(o, UINT64_MAX);
	ch_out_char(o, ' ');
	ch_out_i64(o, INT64_MIN);
	ch_out_char(o, ' ');
	ch_out_hex(o, 0);
	ch_out_char(o, ' ');
	ch_out_hex(o, 0x7ffde0a1b2c0ULL);
}

Test(output, numbers)
{
	char *text = capture(numbers);

	cr_expect_str_eq(text, "0 18446744073709551615 -9223372036854775808 0x0 0x7ffde0a1b2c0");
	free(text);
}

static void json_document(struct ch_out *o)
{
	struct ch_json json;

	ch_json_init(&json, o, false);
	ch_json_begin_object(&json);
	ch_json_key(&json, "name");
	ch_json_string(&json, "quote\" backslash\\ tab\t nl\n ctl\x01 high\xff utf8 \xc3\xa9\xe2\x82\xac cut \xe2\x82");
	ch_json_key(&json, "list");
	ch_json_begin_array(&json);
	ch_json_u64(&json, 1);
	ch_json_null(&json);
	ch_json_begin_object(&json);
	ch_json_end_object(&json);
	ch_json_address(&json, 0x10);
	ch_json_end_array(&json);
	ch_json_key(&json, "empty");
	ch_json_begin_array(&json);
	ch_json_end_array(&json);
	ch_json_key(&json, "ok");
	ch_json_bool(&json, true);
	ch_json_end_object(&json);
}

Test(output, json_escapes_and_separates)
{
	char *text = capture(json_document);

	cr_expect_str_eq(text,
		"{\"name\":\"quote\\\" backslash\\\\ tab\\t nl\\n ctl\\u0001 high\\u00ff utf8 \xc3\xa9\xe2\x82\xac cut \\u00e2\\u0082\","
		"\"list\":[1,null,{},\"0x10\"],\"empty\":[],\"ok\":true}");
	free(text);
}

static void csv_fields(struct ch_out *o)
{
	ch_out_csv_field(o, "plain");
	ch_out_char(o, ',');
	ch_out_csv_field(o, "std::map<int, int>");
	ch_out_char(o, ',');
	ch_out_csv_field(o, "say \"hi\"");
}

Test(output, csv_quotes_only_when_needed)
{
	char *text = capture(csv_fields);

	cr_expect_str_eq(text, "plain,\"std::map<int, int>\",\"say \"\"hi\"\"\"");
	free(text);
}

static void big(struct ch_out *o)
{
	for (int i = 0; i < 100000; i++)
		ch_out_str(o, "0123456789");
}

Test(output, buffers_larger_than_the_buffer)
{
	char *text = capture(big);

	cr_expect_eq(strlen(text), 1000000);
	cr_expect_eq(text[999999], '9');
	free(text);
}

Test(output, a_failed_write_is_reported)
{
	FILE *full = fopen("/dev/full", "w");

	cr_assert_not_null(full);
	ch_out_init(&out, full);
	big(&out);
	struct ch_error *err = ch_out_finish(&out);

	cr_expect_not_null(err);
	ch_error_destroy(err);
	fclose(full);
}

// An allocation's row in each format: the columns every listing shares,
// then a command's own, with a root as a nested object or two CSV columns.
static const struct ch_row_field row_columns[] = {
	{ .key = "retained", .kind = CH_ROW_U64 },
	{ .key = "held_by", .kind = CH_ROW_ROOT },
	{ .key = "note", .kind = CH_ROW_STRING },
};

static const struct ch_row_field row_fields[] = {
	{ .key = "retained", .kind = CH_ROW_U64, .u64 = 4096 },
	{ .key = "held_by", .kind = CH_ROW_ROOT, .root_kind = "global",
	  .string = "app!table" },
	{ .key = "note", .kind = CH_ROW_STRING, .string = "a, \"b\"" },
};

static const struct ch_allocation_row rows[] = {
	{ .address = 0x55d0c3a4b2a0, .size = 24, .allocator = "glibc",
	  .type = "struct node", .fields = row_fields, .num_fields = 3 },
	{ .address = 0x10, .size = 0, .allocator = "toy", .type = NULL,
	  .parent = 0x8, .fields = row_fields, .num_fields = 3 },
};

static enum ch_format row_format;

static void write_rows(struct ch_out *o)
{
	struct ch_row_writer writer;

	ch_row_writer_begin(&writer, o, row_format, row_columns, 3);
	for (size_t i = 0; i < 2; i++)
		ch_row_writer_write(&writer, &rows[i]);
	cr_expect_eq(writer.written, 2);
}

static void expect_rows(enum ch_format format, const char *expected)
{
	char *text;

	row_format = format;
	text = capture(write_rows);
	cr_expect_str_eq(text, expected);
	free(text);
}

Test(output, rows_as_jsonl)
{
	expect_rows(CH_FORMAT_JSONL,
		"{\"address\": \"0x55d0c3a4b2a0\", \"size\": 24, \"allocator\": \"glibc\", \"type\": \"struct node\", \"retained\": 4096, \"held_by\": {\"kind\": \"global\", \"name\": \"app!table\"}, \"note\": \"a, \\\"b\\\"\"}\n"
		"{\"address\": \"0x10\", \"size\": 0, \"allocator\": \"toy\", \"type\": null, \"parent\": \"0x8\", \"retained\": 4096, \"held_by\": {\"kind\": \"global\", \"name\": \"app!table\"}, \"note\": \"a, \\\"b\\\"\"}\n");
}

Test(output, rows_as_json_array_elements)
{
	expect_rows(CH_FORMAT_JSON,
		"\n  {\"address\": \"0x55d0c3a4b2a0\", \"size\": 24, \"allocator\": \"glibc\", \"type\": \"struct node\", \"retained\": 4096, \"held_by\": {\"kind\": \"global\", \"name\": \"app!table\"}, \"note\": \"a, \\\"b\\\"\"},"
		"\n  {\"address\": \"0x10\", \"size\": 0, \"allocator\": \"toy\", \"type\": null, \"parent\": \"0x8\", \"retained\": 4096, \"held_by\": {\"kind\": \"global\", \"name\": \"app!table\"}, \"note\": \"a, \\\"b\\\"\"}");
}

Test(output, rows_as_csv)
{
	expect_rows(CH_FORMAT_CSV,
		"address,size,allocator,type,retained,held_by_kind,held_by,note\n"
		"0x55d0c3a4b2a0,24,glibc,struct node,4096,global,app!table,\"a, \"\"b\"\"\"\n"
		"0x10,0,toy,,4096,global,app!table,\"a, \"\"b\"\"\"\n");
}

Test(output, rows_as_text)
{
	expect_rows(CH_FORMAT_TEXT,
		"address             size        allocator  type\n"
		"0x000055d0c3a4b2a0  24          glibc      struct node\n"
		"0x0000000000000010  0           toy        -\n");
}

static void json_line(struct ch_out *o)
{
	struct ch_json json;

	ch_json_init_line(&json, o);
	ch_json_begin_object(&json);
	ch_json_member_u64(&json, "a", 1);
	ch_json_key(&json, "b");
	ch_json_begin_array(&json);
	ch_json_u64(&json, 2);
	ch_json_null(&json);
	ch_json_end_array(&json);
	ch_json_key(&json, "c");
	ch_json_begin_object(&json);
	ch_json_end_object(&json);
	ch_json_end_object(&json);
}

Test(output, json_line_is_one_spaced_line)
{
	char *text = capture(json_line);

	cr_expect_str_eq(text, "{\"a\": 1, \"b\": [2, null], \"c\": {}}");
	free(text);
}

// describe's model renders without a core: a hand-built description of a
// struct with a pointer member and a long array, in text and JSON.
static struct ch_field describe_fields[] = {
	{ .kind = CH_FIELD_BEGIN, .depth = 0, .offset = 0,
	  .type = "struct node", .name = "" },
	{ .kind = CH_FIELD_VALUE, .depth = 1, .offset = 0,
	  .type = "struct node *", .name = "next", .path = "next",
	  .value = "0x1010", .has_target = true,
	  .target = { .kind = CH_TARGET_ALLOCATION, .allocation = 0x1000,
		      .offset = 16, .type = "struct node" } },
	{ .kind = CH_FIELD_BEGIN, .depth = 1, .offset = 8, .type = "int[20]",
	  .name = "values" },
	{ .kind = CH_FIELD_VALUE, .depth = 2, .offset = 8, .type = "int",
	  .name = "[0]", .path = "values[0]", .value = "-1" },
	{ .kind = CH_FIELD_MORE, .depth = 2, .more = 19 },
	{ .kind = CH_FIELD_END, .depth = 1 },
	{ .kind = CH_FIELD_END, .depth = 0 },
};

static const struct ch_description description = {
	.address = 0x2008,
	.in_allocation = true,
	.allocation = { .address = 0x2000, .size = 88, .offset = 8,
			.allocator = "glibc", .type = "struct node",
			.source = CH_TYPE_DWARF, .has_element = true,
			.count = 1, .element_start = 0x2000 },
	.has_fields = true,
	.fields = describe_fields,
	.num_fields = sizeof(describe_fields) / sizeof(describe_fields[0]),
};

static void describe_text(struct ch_out *o)
{
	ch_description_write_text(o, &description);
}

static void describe_json(struct ch_out *o)
{
	ch_description_write_json(o, &description);
}

Test(output, description_as_text)
{
	char *text = capture(describe_text);

	cr_expect_str_eq(text,
		"0x2008 is 8 bytes into the allocation at 0x2000 (88 usable bytes, glibc)\n"
		"type: struct node (dwarf)\n"
		"[+0] struct node = {\n"
		"  [+0] struct node *next = 0x1010 -> allocation 0x1000+16 (struct node)\n"
		"  [+8] int[20] values = {\n"
		"    [+8] int [0] = -1\n"
		"    ... 19 more\n"
		"  }\n"
		"}\n");
	free(text);
}

Test(output, description_as_json_lists_values_only)
{
	char *text = capture(describe_json);

	cr_expect_str_eq(text,
		"{\n"
		"  \"address\": \"0x2008\",\n"
		"  \"allocation\": {\n"
		"    \"address\": \"0x2000\",\n"
		"    \"size\": 88,\n"
		"    \"allocator\": \"glibc\",\n"
		"    \"runtime_object\": false,\n"
		"    \"offset\": 8,\n"
		"    \"type\": \"struct node\",\n"
		"    \"type_source\": \"dwarf\",\n"
		"    \"conflicting_evidence\": false,\n"
		"    \"allocation_stack\": null\n"
		"  },\n"
		"  \"fields\": [\n"
		"    {\n"
		"      \"field\": \"next\",\n"
		"      \"offset\": 0,\n"
		"      \"type\": \"struct node *\",\n"
		"      \"value\": \"0x1010\",\n"
		"      \"points_to\": {\n"
		"        \"allocation\": \"0x1000\",\n"
		"        \"offset\": 16,\n"
		"        \"type\": \"struct node\"\n"
		"      }\n"
		"    },\n"
		"    {\n"
		"      \"field\": \"values[0]\",\n"
		"      \"offset\": 8,\n"
		"      \"type\": \"int\",\n"
		"      \"value\": \"-1\"\n"
		"    }\n"
		"  ]\n"
		"}\n");
	free(text);
}

// The grouping by type that types, diff, triage, leaks and top share:
// named types by name, unknown ones by size (the largest size too, which
// the hash map cannot hold as a key), numbered by first appearance.
static bool skip_second(uint32_t node, void *arg)
{
	return node != 1;
}

Test(type_groups, arrays_of_one_type_are_one_group)
{
	struct ch_block blocks[] = {
		{ .address = 0x1000, .size_bits = 40 },
		{ .address = 0x1100, .size_bits = 104 },
		{ .address = 0x1200, .size_bits = 24 },
		{ .address = 0x1300, .size_bits = 72 },
	};
	// A vector's buffer of 4, a realloc'd one of no known count, one T,
	// and a new[] of 3 (another layout, the same name as a T[3]).
	char *names[] = { NULL, "struct a[]", "struct a[4]", "struct a",
			  "struct a[3]" };
	uint32_t type_groups[] = { 0, 1, 1, 3, 1 };
	uint32_t block_types[] = { 2, 1, 3, 4 };
	uint8_t sources[] = { CH_TYPE_DWARF, CH_TYPE_DWARF, CH_TYPE_DWARF,
			      CH_TYPE_VTABLE };
	struct ch_program program = {
		.heap = {
			.live = { .blocks = blocks, .len = 4 },
			.block_types = block_types,
			.block_type_sources = sources,
			.type_names = names,
			.num_type_names = 5,
			.type_groups = type_groups,
		},
	};
	struct ch_type_groups groups;
	const struct ch_type_group *g;

	cr_assert_null(ch_type_groups_init(&groups, &program, NULL, NULL));
	cr_assert_eq(groups.num_groups, 2);
	g = groups.groups;
	cr_expect_str_eq(g[0].type, "struct a[]");
	cr_expect_eq(g[0].count, 3);
	cr_expect_eq(g[0].bytes, 40 + 104 + 72);
	cr_expect_eq(g[0].sources,
		     (1u << CH_TYPE_DWARF) | (1u << CH_TYPE_VTABLE));
	cr_expect_str_eq(g[1].type, "struct a");
	cr_expect_eq(g[1].count, 1);
	cr_expect_str_eq(ch_heap_block_type(&program.heap, 0, NULL),
			 "struct a[4]", "each allocation keeps its count");
	ch_type_groups_deinit(&groups);
}

Test(type_groups, by_name_then_by_size)
{
	struct ch_block blocks[] = {
		{ .address = 0x1000, .size_bits = 48 },
		{ .address = 0x1100, .size_bits = 32 },
		{ .address = 0x1200, .size_bits = 48 },
		{ .address = 0x1300, .size_bits = 16 },
		{ .address = 0x1400, .size_bits = 32 },
		{ .address = 0x1500, .size_bits = CH_BLOCK_MAX_SIZE },
		{ .address = 0x1600, .size_bits = CH_BLOCK_MAX_SIZE },
	};
	char *names[] = { NULL, "struct a", "struct b" };
	uint32_t block_types[] = { 0, 1, 0, 2, 1, 0, 0 };
	uint8_t sources[] = { 0, CH_TYPE_DWARF, 0, CH_TYPE_VTABLE,
			      CH_TYPE_GUESS, 0, 0 };
	struct ch_program program = {
		.heap = {
			.live = { .blocks = blocks, .len = 7 },
			.block_types = block_types,
			.block_type_sources = sources,
			.type_names = names,
			.num_type_names = 3,
		},
	};
	struct ch_type_groups groups;
	const struct ch_type_group *g;

	cr_assert_null(ch_type_groups_init(&groups, &program, NULL, NULL));
	cr_assert_eq(groups.num_groups, 4);
	g = groups.groups;
	cr_expect_null(g[0].type);
	cr_expect_eq(g[0].size, 48);
	cr_expect_eq(g[0].count, 2);
	cr_expect_eq(g[0].bytes, 96);
	cr_expect_str_eq(g[1].type, "struct a");
	cr_expect_eq(g[1].count, 2);
	cr_expect_eq(g[1].bytes, 64);
	cr_expect_eq(g[1].first_node, 1);
	cr_expect_eq(g[1].sources,
		     (1u << CH_TYPE_DWARF) | (1u << CH_TYPE_GUESS));
	cr_expect_str_eq(g[2].type, "struct b");
	cr_expect_eq(g[3].size, CH_BLOCK_MAX_SIZE);
	cr_expect_eq(g[3].count, 2);
	cr_expect_eq(groups.group_of[4], 1);
	cr_expect_eq(groups.group_of[6], 3);
	cr_expect_eq(groups.total_count, 7);
	ch_type_groups_deinit(&groups);

	cr_assert_null(ch_type_groups_init(&groups, &program, skip_second,
					   NULL));
	cr_expect_eq(groups.group_of[1], CH_TYPE_GROUP_NONE);
	cr_expect_eq(groups.groups[1].first_node, 3);
	cr_expect_eq(groups.groups[2].count, 1);
	cr_expect_eq(groups.total_count, 6);
	ch_type_groups_deinit(&groups);
}
