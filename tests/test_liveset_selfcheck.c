/* SPDX-License-Identifier: MIT */
/*
 * The comparison and parsing that test_glibc_exact relies on must catch
 * every kind of wrong answer: a missing, an extra, a resized or a repeated
 * allocation, and any malformed or wrong-valued output line. If these pass
 * while test_glibc_exact passes, coreheap's answer really was exact.
 */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "liveset.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A recorded set shaped like a real one: heap and mmapped addresses. */
static const struct allocation truth[] = {
	{ 0x55d0c0a012a0, 24 },
	{ 0x55d0c0a012c0, 1048 },
	{ 0x55d0c0a016e0, 40 },
	{ 0x55d0c0a01710, 100000 },
	{ 0x7f12ac000b70, 72 },
	{ 0x7f12ad200010, 528368 },
};

static void fill(struct liveset *set)
{
	size_t i;

	liveset_init(set);
	/* Reverse order: the comparison must not depend on input order. */
	for (i = ARRAY_SIZE(truth); i-- > 0;)
		liveset_add(set, truth[i].address, truth[i].size);
}

static size_t compare(struct liveset *expected, struct liveset *actual,
		      struct liveset_diff *diff, char **report_text)
{
	size_t report_size;
	FILE *report = open_memstream(report_text, &report_size);
	size_t differences;

	cr_assert_not_null(report);
	differences = liveset_compare(expected, actual, report, diff);
	fclose(report);
	return differences;
}

Test(liveset_compare, equal_sets_have_no_difference)
{
	struct liveset expected, actual;
	struct liveset_diff diff;
	char *text;

	fill(&expected);
	fill(&actual);
	cr_assert_eq(compare(&expected, &actual, &diff, &text), 0, "%s", text);
	cr_assert(strstr(text, "0 missing, 0 extra, 0 wrong size, 0 duplicate"), "%s", text);
	free(text);
	liveset_free(&expected);
	liveset_free(&actual);
}

Test(liveset_compare, a_dropped_allocation_is_missing)
{
	struct liveset expected, actual;
	struct liveset_diff diff;
	char *text;

	fill(&expected);
	liveset_init(&actual);
	for (size_t i = 0; i < ARRAY_SIZE(truth); i++)
		if (i != 3)
			liveset_add(&actual, truth[i].address, truth[i].size);
	cr_assert_eq(compare(&expected, &actual, &diff, &text), 1);
	cr_assert_eq(diff.missing, 1);
	cr_assert_eq(diff.extra + diff.wrong_size + diff.duplicates, 0);
	cr_assert(strstr(text, "missing   0x55d0c0a01710 size 100000"), "%s", text);
	free(text);
	liveset_free(&expected);
	liveset_free(&actual);
}

Test(liveset_compare, an_added_allocation_is_extra)
{
	struct liveset expected, actual;
	struct liveset_diff diff;
	char *text;

	fill(&expected);
	fill(&actual);
	liveset_add(&actual, 0x55d0c0a01700, 8);
	cr_assert_eq(compare(&expected, &actual, &diff, &text), 1);
	cr_assert_eq(diff.extra, 1);
	cr_assert_eq(diff.missing + diff.wrong_size + diff.duplicates, 0);
	cr_assert(strstr(text, "extra     0x55d0c0a01700 size 8"), "%s", text);
	free(text);
	liveset_free(&expected);
	liveset_free(&actual);
}

Test(liveset_compare, a_changed_size_is_wrong_size)
{
	struct liveset expected, actual;
	struct liveset_diff diff;
	char *text;

	fill(&expected);
	fill(&actual);
	actual.items[0].size += 8;	/* items are in reverse: the mmapped one */
	cr_assert_eq(compare(&expected, &actual, &diff, &text), 1);
	cr_assert_eq(diff.wrong_size, 1);
	cr_assert_eq(diff.missing + diff.extra + diff.duplicates, 0);
	cr_assert(strstr(text, "wrong-size 0x7f12ad200010 expected 528368 got 528376"),
		  "%s", text);
	free(text);
	liveset_free(&expected);
	liveset_free(&actual);
}

Test(liveset_compare, a_repeated_allocation_is_a_duplicate)
{
	struct liveset expected, actual;
	struct liveset_diff diff;
	char *text;

	fill(&expected);
	fill(&actual);
	liveset_add(&actual, truth[2].address, truth[2].size);
	cr_assert_eq(compare(&expected, &actual, &diff, &text), 1);
	cr_assert_eq(diff.duplicates, 1);
	free(text);
	liveset_free(&expected);
	liveset_free(&actual);
}

Test(liveset_compare, every_difference_is_counted_and_listed)
{
	struct liveset expected, actual;
	struct liveset_diff diff;
	char *text;

	fill(&expected);
	liveset_init(&actual);
	liveset_add(&actual, truth[0].address, truth[0].size + 16);
	liveset_add(&actual, truth[1].address, truth[1].size);
	liveset_add(&actual, 0x1000, 24);
	liveset_add(&actual, 0x2000, 24);
	cr_assert_eq(compare(&expected, &actual, &diff, &text), 7);
	cr_assert_eq(diff.missing, 4);
	cr_assert_eq(diff.extra, 2);
	cr_assert_eq(diff.wrong_size, 1);
	cr_assert(strstr(text, "expected 6 allocations, got 4: 4 missing, 2 extra, "
			       "1 wrong size, 0 duplicate"), "%s", text);
	free(text);
	liveset_free(&expected);
	liveset_free(&actual);
}

Test(liveset_compare, an_empty_answer_misses_everything)
{
	struct liveset expected, actual;
	struct liveset_diff diff;
	char *text;

	fill(&expected);
	liveset_init(&actual);
	cr_assert_eq(compare(&expected, &actual, &diff, &text), ARRAY_SIZE(truth));
	cr_assert_eq(diff.missing, ARRAY_SIZE(truth));
	free(text);
	liveset_free(&expected);
}

static void assert_line_parses(const char *line, uint64_t address, uint64_t size)
{
	struct allocation a = { 0, 0 };
	char err[256] = "";

	cr_assert_eq(liveset_parse_object_line(line, "glibc", &a, err, sizeof(err)), 0,
		     "rejected %s: %s", line, err);
	cr_assert_eq(a.address, address, "%s", line);
	cr_assert_eq(a.size, size, "%s", line);
}

static void assert_line_rejected(const char *line)
{
	struct allocation a;
	char err[256] = "";

	cr_assert_neq(liveset_parse_object_line(line, "glibc", &a, err, sizeof(err)), 0,
		      "accepted %s", line);
	cr_assert_neq(err[0], '\0', "no reason given for rejecting %s", line);
}

Test(liveset_parse, accepts_any_key_order_and_spacing)
{
	assert_line_parses("{\"address\": \"0x7f00aa0010\", \"size\": 24, "
			   "\"allocator\": \"glibc\", \"type\": null}", 0x7f00aa0010, 24);
	assert_line_parses("{\"type\":null,\"size\":1048,\"allocator\":\"glibc\","
			   "\"address\":\"0x55D0C0A012C0\"}", 0x55d0c0a012c0, 1048);
	assert_line_parses("  { \"size\" : 0 , \"address\" : \"0x10\" , \"type\" : null ,"
			   " \"allocator\" : \"glibc\" }  ", 0x10, 0);
	/* Keys the test does not know are skipped, whatever their value. */
	assert_line_parses("{\"address\": \"0x10\", \"size\": 24, \"allocator\": \"glibc\", "
			   "\"type\": null, \"state\": \"live\", \"stack\": [1, {\"a\": \"}\"}], "
			   "\"n\": 1.5, \"ok\": true}", 0x10, 24);
	/* A known type is its name; the set is judged on address and size. */
	assert_line_parses("{\"address\": \"0x10\", \"size\": 24, \"allocator\": \"glibc\", "
			   "\"type\": \"struct node\"}", 0x10, 24);
	assert_line_parses("{\"address\": \"0xffffffffffffffff\", \"size\": 18446744073709551615, "
			   "\"allocator\": \"glibc\", \"type\": null}",
			   UINT64_MAX, UINT64_MAX);
}

Test(liveset_parse, is_strict_on_values)
{
	static const char *const bad[] = {
		/* address */
		"{\"address\": 4096, \"size\": 24, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"4096\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x12g4\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x10000000000000000\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x0\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \" 0x10\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null}",
		/* size */
		"{\"address\": \"0x10\", \"size\": -24, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x10\", \"size\": 24.0, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x10\", \"size\": 2e1, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x10\", \"size\": \"24\", \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x10\", \"size\": 024, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x10\", \"size\": null, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x10\", \"size\": 18446744073709551616, \"allocator\": \"glibc\", \"type\": null}",
		/* allocator, type */
		"{\"address\": \"0x10\", \"size\": 24, \"allocator\": \"jemalloc\", \"type\": null}",
		"{\"address\": \"0x10\", \"size\": 24, \"allocator\": \"Glibc\", \"type\": null}",
		"{\"address\": \"0x10\", \"size\": 24, \"allocator\": null, \"type\": null}",
		"{\"address\": \"0x10\", \"size\": 24, \"allocator\": \"glibc\", \"type\": false}",
		/* shape */
		"{\"size\": 24, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x10\", \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x10\", \"size\": 24, \"type\": null}",
		"{\"address\": \"0x10\", \"size\": 24, \"allocator\": \"glibc\"}",
		"{\"address\": \"0x10\", \"address\": \"0x20\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null}",
		"{\"address\": \"0x10\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null} x",
		"{\"address\": \"0x10\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null",
		"{\"address\": \"0x10\" \"size\": 24, \"allocator\": \"glibc\", \"type\": null}",
		"0x10 24",
		"",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_line_rejected(bad[i]);
}

Test(liveset_parse, jsonl_stream_stops_at_the_first_bad_line)
{
	static const char text[] =
		"{\"address\": \"0x10\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null}\n"
		"warning: something\n"
		"{\"address\": \"0x30\", \"size\": 24, \"allocator\": \"glibc\", \"type\": null}\n";
	FILE *stream = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct liveset set;
	char err[512] = "";

	cr_assert_not_null(stream);
	liveset_init(&set);
	cr_assert_neq(liveset_read_jsonl(stream, "glibc", &set, err, sizeof(err)), 0);
	cr_assert(strstr(err, "line 2"), "%s", err);
	fclose(stream);
	liveset_free(&set);
}

Test(liveset_parse, recorder_dump_format)
{
	char path[] = "/tmp/liveset-selfcheck-XXXXXX";
	int fd = mkstemp(path);
	struct liveset set;
	char err[512] = "";
	FILE *file;

	cr_assert_geq(fd, 0);
	file = fdopen(fd, "w");
	fputs("0x55d0c0a012a0 24\n0x7f12ad200010 528368\n", file);
	fclose(file);
	liveset_init(&set);
	cr_assert_eq(liveset_read_recorded(path, &set, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(set.count, 2);
	liveset_sort(&set);
	cr_assert_eq(set.items[1].address, 0x7f12ad200010);
	cr_assert_eq(set.items[1].size, 528368);
	liveset_free(&set);

	/* A truncated or odd dump is refused, not half-read. */
	file = fopen(path, "w");
	fputs("0x55d0c0a012a0 24\n0x7f12ad2000", file);
	fclose(file);
	liveset_init(&set);
	cr_assert_neq(liveset_read_recorded(path, &set, err, sizeof(err)), 0);
	cr_assert(strstr(err, ":2:"), "%s", err);
	liveset_free(&set);
	unlink(path);
}
