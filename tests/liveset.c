/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE 1
#include "liveset.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void liveset_init(struct liveset *set)
{
	set->items = NULL;
	set->count = 0;
	set->capacity = 0;
}

void liveset_free(struct liveset *set)
{
	free(set->items);
	liveset_init(set);
}

void liveset_add(struct liveset *set, uint64_t address, uint64_t size)
{
	if (set->count == set->capacity) {
		size_t capacity = set->capacity ? 2 * set->capacity : 256;
		struct allocation *items = realloc(set->items,
						   capacity * sizeof(*items));

		if (!items) {
			fprintf(stderr, "liveset: out of memory\n");
			abort();
		}
		set->items = items;
		set->capacity = capacity;
	}
	set->items[set->count].address = address;
	set->items[set->count].size = size;
	set->count++;
}

static int compare_by_address(const void *a, const void *b)
{
	const struct allocation *x = a, *y = b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return 0;
}

void liveset_sort(struct liveset *set)
{
	if (set->count)
		qsort(set->items, set->count, sizeof(set->items[0]),
		      compare_by_address);
}

ptrdiff_t liveset_find(const struct liveset *set, uint64_t address)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->items[mid].address < address)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < set->count && set->items[lo].address == address)
		return (ptrdiff_t)lo;
	return -1;
}

static int fail(char *err, size_t err_size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_size, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(err, err_size, format, ap);
	va_end(ap);
	return -1;
}

/* Hex digits only (1 to 16 of them), up to *end. */
static bool parse_hex_u64(const char *p, const char *end, uint64_t *ret)
{
	uint64_t value = 0;

	if (p == end || end - p > 16)
		return false;
	for (; p < end; p++) {
		int digit;

		if (*p >= '0' && *p <= '9')
			digit = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			digit = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			digit = *p - 'A' + 10;
		else
			return false;
		value = value << 4 | (uint64_t)digit;
	}
	*ret = value;
	return true;
}

/* Decimal digits only, no sign, no leading zero, fits 64 bits. */
static bool parse_dec_u64(const char *p, const char *end, uint64_t *ret)
{
	uint64_t value = 0;

	if (p == end || (*p == '0' && end - p > 1))
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (__builtin_mul_overflow(value, 10, &value) ||
		    __builtin_add_overflow(value, (uint64_t)(*p - '0'), &value))
			return false;
	}
	*ret = value;
	return true;
}

int liveset_read_recorded(const char *path, struct liveset *set, char *err,
			  size_t err_size)
{
	FILE *file = fopen(path, "r");
	char *line = NULL;
	size_t line_size = 0;
	ssize_t len;
	unsigned long line_number = 0;
	int ret = 0;

	if (!file)
		return fail(err, err_size, "%s: %s", path, strerror(errno));
	while ((len = getline(&line, &line_size, file)) >= 0) {
		uint64_t address, size;
		char *space;

		line_number++;
		if (len == 0 || line[len - 1] != '\n') {
			ret = fail(err, err_size, "%s:%lu: line not terminated",
				   path, line_number);
			break;
		}
		line[--len] = '\0';
		space = strchr(line, ' ');
		if (strncmp(line, "0x", 2) != 0 || !space ||
		    !parse_hex_u64(line + 2, space, &address) ||
		    !parse_dec_u64(space + 1, line + len, &size)) {
			ret = fail(err, err_size,
				   "%s:%lu: not \"0x<hex> <size>\": '%s'", path,
				   line_number, line);
			break;
		}
		liveset_add(set, address, size);
	}
	free(line);
	fclose(file);
	return ret;
}

/* A cursor over one JSON line. */
struct json_cursor {
	const char *p;
	char *err;
	size_t err_size;
};

static void skip_spaces(struct json_cursor *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
		c->p++;
}

static int expect_char(struct json_cursor *c, char ch)
{
	skip_spaces(c);
	if (*c->p != ch)
		return fail(c->err, c->err_size, "expected '%c' at \"%.20s\"",
			    ch, c->p);
	c->p++;
	return 0;
}

/*
 * A JSON string into out (escapes decoded; \u escapes beyond ASCII become
 * '?', which no value we check contains).
 */
static int parse_string(struct json_cursor *c, char *out, size_t out_size)
{
	size_t n = 0;

	if (expect_char(c, '"'))
		return -1;
	for (;;) {
		char ch = *c->p++;

		if (ch == '"')
			break;
		if (ch == '\0' || (unsigned char)ch < 0x20)
			return fail(c->err, c->err_size, "unterminated string");
		if (ch == '\\') {
			ch = *c->p++;
			switch (ch) {
			case '"': case '\\': case '/': break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u': {
				uint64_t code;

				if (strlen(c->p) < 4 ||
				    !parse_hex_u64(c->p, c->p + 4, &code))
					return fail(c->err, c->err_size,
						    "bad \\u escape");
				c->p += 4;
				ch = code < 0x80 ? (char)code : '?';
				break;
			}
			default:
				return fail(c->err, c->err_size,
					    "bad escape \\%c", ch);
			}
		}
		if (n + 1 >= out_size)
			return fail(c->err, c->err_size, "string too long");
		out[n++] = ch;
	}
	out[n] = '\0';
	return 0;
}

enum json_kind { JSON_STRING, JSON_NUMBER, JSON_NULL, JSON_BOOL, JSON_NESTED };

struct json_value {
	enum json_kind kind;
	char text[256];		/* a string's contents or a number's digits */
};

static int skip_nested(struct json_cursor *c)
{
	int depth = 0;
	char scratch[1024];

	do {
		skip_spaces(c);
		if (*c->p == '"') {
			if (parse_string(c, scratch, sizeof(scratch)))
				return -1;
			continue;
		}
		if (*c->p == '{' || *c->p == '[')
			depth++;
		else if (*c->p == '}' || *c->p == ']')
			depth--;
		else if (*c->p == '\0')
			return fail(c->err, c->err_size, "unterminated value");
		c->p++;
	} while (depth > 0);
	return 0;
}

static int parse_value(struct json_cursor *c, struct json_value *value)
{
	const char *start;
	size_t len;

	skip_spaces(c);
	if (*c->p == '"') {
		value->kind = JSON_STRING;
		return parse_string(c, value->text, sizeof(value->text));
	}
	if (*c->p == '{' || *c->p == '[') {
		value->kind = JSON_NESTED;
		value->text[0] = '\0';
		return skip_nested(c);
	}
	/* A bare token: number, null, true, false. */
	start = c->p;
	while (*c->p && !strchr(" \t\r\n,}]", *c->p))
		c->p++;
	len = (size_t)(c->p - start);
	if (len == 0 || len >= sizeof(value->text))
		return fail(c->err, c->err_size, "bad value at \"%.20s\"", start);
	memcpy(value->text, start, len);
	value->text[len] = '\0';
	if (strcmp(value->text, "null") == 0)
		value->kind = JSON_NULL;
	else if (strcmp(value->text, "true") == 0 || strcmp(value->text, "false") == 0)
		value->kind = JSON_BOOL;
	else if (strspn(value->text, "-+.0123456789eE") == len)
		value->kind = JSON_NUMBER;
	else
		return fail(c->err, c->err_size, "bad value '%s'", value->text);
	return 0;
}

/* The keys an object line must carry, each exactly once. */
enum object_key { KEY_ADDRESS, KEY_SIZE, KEY_ALLOCATOR, KEY_TYPE, KEY_COUNT };
static const char *const object_key_names[KEY_COUNT] = {
	"address", "size", "allocator", "type",
};

static int check_address(struct json_cursor *c, const struct json_value *v,
			 struct allocation *ret)
{
	if (v->kind != JSON_STRING || strncmp(v->text, "0x", 2) != 0 ||
	    !parse_hex_u64(v->text + 2, v->text + strlen(v->text), &ret->address))
		return fail(c->err, c->err_size,
			    "\"address\" is not a string \"0x<hex>\"");
	if (ret->address == 0)
		return fail(c->err, c->err_size, "\"address\" is 0");
	return 0;
}

static int check_key_value(struct json_cursor *c, enum object_key key,
			   const struct json_value *v,
			   const char *expected_allocator,
			   struct allocation *ret)
{
	switch (key) {
	case KEY_ADDRESS:
		return check_address(c, v, ret);
	case KEY_SIZE:
		if (v->kind != JSON_NUMBER ||
		    !parse_dec_u64(v->text, v->text + strlen(v->text), &ret->size))
			return fail(c->err, c->err_size,
				    "\"size\" is not a non-negative integer: %s",
				    v->text);
		return 0;
	case KEY_ALLOCATOR:
		if (v->kind != JSON_STRING || strcmp(v->text, expected_allocator) != 0)
			return fail(c->err, c->err_size,
				    "\"allocator\" is not \"%s\"", expected_allocator);
		return 0;
	case KEY_TYPE:
		// The type is null when unknown, else its name (the types
		// work fills it); the live set is judged on address and size.
		if (v->kind != JSON_NULL && v->kind != JSON_STRING)
			return fail(c->err, c->err_size,
				    "\"type\" is neither null nor a string");
		return 0;
	default:
		return 0;
	}
}

static enum object_key key_by_name(const char *name)
{
	int key;

	for (key = 0; key < KEY_COUNT; key++)
		if (strcmp(name, object_key_names[key]) == 0)
			break;
	return (enum object_key)key;
}

static int parse_members(struct json_cursor *c, const char *expected_allocator,
			 struct allocation *ret, bool seen[KEY_COUNT])
{
	char name[64];
	struct json_value value;
	enum object_key key;

	for (;;) {
		if (parse_string(c, name, sizeof(name)) || expect_char(c, ':') ||
		    parse_value(c, &value))
			return -1;
		key = key_by_name(name);
		if (key < KEY_COUNT) {
			if (seen[key])
				return fail(c->err, c->err_size,
					    "key \"%s\" twice", name);
			seen[key] = true;
			if (check_key_value(c, key, &value, expected_allocator, ret))
				return -1;
		}
		skip_spaces(c);
		if (*c->p == '}')
			return 0;
		if (expect_char(c, ','))
			return -1;
	}
}

int liveset_parse_object_line(const char *line, const char *expected_allocator,
			      struct allocation *ret, char *err, size_t err_size)
{
	struct json_cursor c = { .p = line, .err = err, .err_size = err_size };
	bool seen[KEY_COUNT] = { false };
	int key;

	if (expect_char(&c, '{'))
		return -1;
	skip_spaces(&c);
	if (*c.p != '}' && parse_members(&c, expected_allocator, ret, seen))
		return -1;
	if (expect_char(&c, '}'))
		return -1;
	skip_spaces(&c);
	if (*c.p)
		return fail(err, err_size, "text after the object: \"%.20s\"", c.p);
	for (key = 0; key < KEY_COUNT; key++) {
		if (!seen[key])
			return fail(err, err_size, "no \"%s\" key",
				    object_key_names[key]);
	}
	return 0;
}

int liveset_read_jsonl(FILE *stream, const char *expected_allocator,
		       struct liveset *set, char *err, size_t err_size)
{
	char *line = NULL;
	size_t line_size = 0;
	ssize_t len;
	unsigned long line_number = 0;
	char why[256];
	int ret = 0;

	while ((len = getline(&line, &line_size, stream)) >= 0) {
		struct allocation allocation;

		line_number++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (liveset_parse_object_line(line, expected_allocator,
					      &allocation, why, sizeof(why))) {
			ret = fail(err, err_size, "line %lu: %s: '%.200s'",
				   line_number, why, line);
			break;
		}
		liveset_add(set, allocation.address, allocation.size);
	}
	free(line);
	return ret;
}

static void report_line(FILE *report, const char *what,
			const struct allocation *a)
{
	if (report)
		fprintf(report, "  %-9s 0x%" PRIx64 " size %" PRIu64 "\n", what,
			a->address, a->size);
}

/* Drops repeated addresses (keeping the first), reporting each. */
static size_t drop_duplicates(struct liveset *set, const char *what,
			      FILE *report)
{
	size_t kept = 0, dropped = 0, i;

	for (i = 0; i < set->count; i++) {
		if (kept && set->items[kept - 1].address == set->items[i].address) {
			report_line(report, what, &set->items[i]);
			dropped++;
			continue;
		}
		set->items[kept++] = set->items[i];
	}
	set->count = kept;
	return dropped;
}

size_t liveset_compare(struct liveset *expected, struct liveset *actual,
		       FILE *report, struct liveset_diff *diff)
{
	size_t expected_count = expected->count, actual_count = actual->count;
	size_t i = 0, j = 0;
	struct liveset_diff d = { 0 };

	liveset_sort(expected);
	liveset_sort(actual);
	d.duplicates += drop_duplicates(expected, "dup-exp", report);
	d.duplicates += drop_duplicates(actual, "dup-got", report);

	while (i < expected->count || j < actual->count) {
		const struct allocation *e = i < expected->count ? &expected->items[i] : NULL;
		const struct allocation *a = j < actual->count ? &actual->items[j] : NULL;

		if (e && (!a || e->address < a->address)) {
			report_line(report, "missing", e);
			d.missing++;
			i++;
		} else if (a && (!e || a->address < e->address)) {
			report_line(report, "extra", a);
			d.extra++;
			j++;
		} else {
			if (e->size != a->size) {
				if (report)
					fprintf(report,
						"  wrong-size 0x%" PRIx64
						" expected %" PRIu64 " got %" PRIu64 "\n",
						e->address, e->size, a->size);
				d.wrong_size++;
			}
			i++;
			j++;
		}
	}
	if (report)
		fprintf(report,
			"expected %zu allocations, got %zu: %zu missing, %zu extra, "
			"%zu wrong size, %zu duplicate\n",
			expected_count, actual_count, d.missing, d.extra,
			d.wrong_size, d.duplicates);
	if (diff)
		*diff = d;
	return d.missing + d.extra + d.wrong_size + d.duplicates;
}
