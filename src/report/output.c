// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "report/output.h"

void ch_out_init(struct ch_out *out, FILE *stream)
{
	out->stream = stream;
	out->len = 0;
	out->failed = false;
}

static void flush(struct ch_out *out)
{
	if (out->len && !out->failed &&
	    fwrite(out->buf, 1, out->len, out->stream) != out->len)
		out->failed = true;
	out->len = 0;
}

void ch_out_write(struct ch_out *out, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		size_t room = CH_OUT_BUFFER_SIZE - out->len;
		size_t n = len < room ? len : room;

		memcpy(out->buf + out->len, p, n);
		out->len += n;
		p += n;
		len -= n;
		if (out->len == CH_OUT_BUFFER_SIZE)
			flush(out);
	}
}

void ch_out_str(struct ch_out *out, const char *s)
{
	ch_out_write(out, s, strlen(s));
}

void ch_out_char(struct ch_out *out, char c)
{
	if (out->len == CH_OUT_BUFFER_SIZE)
		flush(out);
	out->buf[out->len++] = c;
}

// Room for n more bytes in the buffer, so that a number is written straight
// into it: objects writes millions of them.
static char *reserve(struct ch_out *out, size_t n)
{
	if (CH_OUT_BUFFER_SIZE - out->len < n)
		flush(out);
	return out->buf + out->len;
}

void ch_out_u64(struct ch_out *out, uint64_t value)
{
	char digits[20], *dst = reserve(out, sizeof(digits));
	int n = 0;

	do {
		digits[n++] = '0' + value % 10;
		value /= 10;
	} while (value);
	out->len += n;
	while (n > 0)
		*dst++ = digits[--n];
}

void ch_out_i64(struct ch_out *out, int64_t value)
{
	if (value < 0) {
		ch_out_char(out, '-');
		ch_out_u64(out, -(uint64_t)value);
	} else {
		ch_out_u64(out, value);
	}
}

void ch_out_hex(struct ch_out *out, uint64_t value)
{
	static const char hex[] = "0123456789abcdef";
	char digits[16], *dst = reserve(out, 2 + sizeof(digits));
	int n = 0;

	do {
		digits[n++] = hex[value & 0xf];
		value >>= 4;
	} while (value);
	out->len += 2 + n;
	*dst++ = '0';
	*dst++ = 'x';
	while (n > 0)
		*dst++ = digits[--n];
}

void ch_out_printf(struct ch_out *out, const char *format, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(small, sizeof(small), format, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		ch_out_write(out, small, n);
		return;
	}
	flush(out);
	va_start(ap, format);
	if (!out->failed && vfprintf(out->stream, format, ap) < 0)
		out->failed = true;
	va_end(ap);
}

// The length of the valid UTF-8 sequence at p (2 to 4), or 0.
static int utf8_sequence_length(const unsigned char *p)
{
	int len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	uint32_t code;

	if (!len || p[0] > 0xf4)
		return 0;
	code = p[0] & (0x7f >> len);
	for (int i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		code = code << 6 | (p[i] & 0x3f);
	}
	// Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
	if ((len == 3 && code < 0x800) || (len == 4 && code < 0x10000) ||
	    (code >= 0xd800 && code < 0xe000) || code > 0x10ffff)
		return 0;
	return len;
}

void ch_out_json_string(struct ch_out *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	ch_out_char(out, '"');
	// Most names need no escape: copy the run of plain bytes at once.
	while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
		p++;
	ch_out_write(out, s, (const char *)p - s);
	for (; *p; p++) {
		unsigned char c = *p;

		if (c == '"' || c == '\\') {
			ch_out_char(out, '\\');
			ch_out_char(out, c);
		} else if (c == '\n') {
			ch_out_str(out, "\\n");
		} else if (c == '\t') {
			ch_out_str(out, "\\t");
		} else if (c >= 0x80 && utf8_sequence_length(p)) {
			int len = utf8_sequence_length(p);

			ch_out_write(out, p, len);
			p += len - 1;
		} else if (c < 0x20 || c == 0x7f || c >= 0x80) {
			// Not UTF-8: a core's strings need not be, and JSON
			// must be.
			ch_out_str(out, "\\u00");
			ch_out_char(out, hex[c >> 4]);
			ch_out_char(out, hex[c & 0xf]);
		} else {
			ch_out_char(out, c);
		}
	}
	ch_out_char(out, '"');
}

void ch_out_csv_field(struct ch_out *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		ch_out_str(out, s);
		return;
	}
	ch_out_char(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			ch_out_char(out, '"');
		ch_out_char(out, *s);
	}
	ch_out_char(out, '"');
}

struct ch_error *ch_out_finish(struct ch_out *out)
{
	flush(out);
	if (!out->failed && fflush(out->stream) != 0)
		out->failed = true;
	if (out->failed || ferror(out->stream))
		return ch_error_create(CH_ERROR_OUTPUT,
				       "cannot write the report");
	return NULL;
}

void ch_format_bytes(uint64_t bytes, char buf[32])
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double value = bytes;
	int unit = 0;

	while (value >= 1024 && unit < 4) {
		value /= 1024;
		unit++;
	}
	if (unit == 0)
		snprintf(buf, 32, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, 32, "%.1f %s", value, units[unit]);
}

void ch_out_bytes(struct ch_out *out, uint64_t bytes)
{
	char buf[32];

	ch_format_bytes(bytes, buf);
	ch_out_str(out, buf);
}

void ch_json_init(struct ch_json *json, struct ch_out *out, bool pretty)
{
	*json = (struct ch_json){ .out = out, .pretty = pretty };
}

void ch_json_init_line(struct ch_json *json, struct ch_out *out)
{
	*json = (struct ch_json){ .out = out, .spaced = true };
}

static void newline_indent(struct ch_json *json)
{
	if (!json->pretty)
		return;
	ch_out_char(json->out, '\n');
	for (int i = 0; i < json->depth; i++)
		ch_out_str(json->out, "  ");
}

// Separate this value from the previous member, unless it follows a key.
static void before_value(struct ch_json *json)
{
	if (json->after_key) {
		json->after_key = false;
		return;
	}
	if (json->depth == 0)
		return;
	if (json->has_member[json->depth - 1])
		ch_out_str(json->out, json->spaced ? ", " : ",");
	json->has_member[json->depth - 1] = true;
	newline_indent(json);
}

static void begin(struct ch_json *json, char open)
{
	before_value(json);
	ch_out_char(json->out, open);
	if (json->depth < CH_JSON_MAX_DEPTH)
		json->has_member[json->depth] = false;
	json->depth++;
}

static void end(struct ch_json *json, char close)
{
	bool had_members = json->depth <= CH_JSON_MAX_DEPTH &&
			   json->has_member[json->depth - 1];

	json->depth--;
	if (had_members)
		newline_indent(json);
	ch_out_char(json->out, close);
	if (json->depth == 0 && json->pretty)
		ch_out_char(json->out, '\n');
}

void ch_json_begin_object(struct ch_json *json)
{
	begin(json, '{');
}

void ch_json_end_object(struct ch_json *json)
{
	end(json, '}');
}

void ch_json_begin_array(struct ch_json *json)
{
	begin(json, '[');
}

void ch_json_end_array(struct ch_json *json)
{
	end(json, ']');
}

void ch_json_key(struct ch_json *json, const char *key)
{
	before_value(json);
	ch_out_json_string(json->out, key);
	ch_out_str(json->out, json->pretty || json->spaced ? ": " : ":");
	json->after_key = true;
}

void ch_json_string(struct ch_json *json, const char *value)
{
	before_value(json);
	ch_out_json_string(json->out, value);
}

void ch_json_string_or_null(struct ch_json *json, const char *value)
{
	if (value)
		ch_json_string(json, value);
	else
		ch_json_null(json);
}

void ch_json_u64(struct ch_json *json, uint64_t value)
{
	before_value(json);
	ch_out_u64(json->out, value);
}

void ch_json_i64(struct ch_json *json, int64_t value)
{
	before_value(json);
	ch_out_i64(json->out, value);
}

void ch_json_double(struct ch_json *json, double value)
{
	before_value(json);
	ch_out_printf(json->out, "%.6g", value);
}

void ch_json_address(struct ch_json *json, uint64_t value)
{
	before_value(json);
	ch_out_char(json->out, '"');
	ch_out_hex(json->out, value);
	ch_out_char(json->out, '"');
}

void ch_json_bool(struct ch_json *json, bool value)
{
	before_value(json);
	ch_out_str(json->out, value ? "true" : "false");
}

void ch_json_null(struct ch_json *json)
{
	before_value(json);
	ch_out_str(json->out, "null");
}

void ch_json_member_u64(struct ch_json *json, const char *key, uint64_t value)
{
	ch_json_key(json, key);
	ch_json_u64(json, value);
}

void ch_json_member_i64(struct ch_json *json, const char *key, int64_t value)
{
	ch_json_key(json, key);
	ch_json_i64(json, value);
}

void ch_json_member_double(struct ch_json *json, const char *key, double value)
{
	ch_json_key(json, key);
	ch_json_double(json, value);
}

void ch_json_member_string(struct ch_json *json, const char *key, const char *value)
{
	ch_json_key(json, key);
	ch_json_string(json, value);
}

void ch_json_member_string_or_null(struct ch_json *json, const char *key, const char *value)
{
	ch_json_key(json, key);
	ch_json_string_or_null(json, value);
}

void ch_json_member_address(struct ch_json *json, const char *key, uint64_t value)
{
	ch_json_key(json, key);
	ch_json_address(json, value);
}

void ch_json_member_bool(struct ch_json *json, const char *key, bool value)
{
	ch_json_key(json, key);
	ch_json_bool(json, value);
}
