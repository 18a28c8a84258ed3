// SPDX-License-Identifier: MIT
// The report emitter: JSON escaping and nesting, CSV quoting, numbers.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/output.h"

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
