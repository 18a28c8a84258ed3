/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The one way reports reach stdout: a buffered sink with fast appenders for
 * text, a JSON writer over it, and CSV quoting.
 *
 * The sink buffers up to 64 KiB and writes whole buffers; the first write
 * error is kept and returned by ch_out_finish(), and nothing more is written
 * after it. The JSON writer nests at most CH_JSON_MAX_DEPTH levels, escapes
 * every control character as \uXXXX and passes valid UTF-8 through; names
 * from a core are not always UTF-8, so any other byte is written as the
 * \u00XX escape of its Latin-1 value and the output stays valid JSON.
 */
#ifndef COREHEAP_OUTPUT_H
#define COREHEAP_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"

/** Output formats, as a bit set of what a command accepts. */
enum ch_format {
	CH_FORMAT_TEXT = 1,
	CH_FORMAT_JSON = 2,
	CH_FORMAT_JSONL = 4,
	CH_FORMAT_CSV = 8,
};

#define CH_OUT_BUFFER_SIZE 65536

struct ch_out {
	FILE *stream;
	size_t len;
	bool failed;
	char buf[CH_OUT_BUFFER_SIZE];
};

void ch_out_init(struct ch_out *out, FILE *stream);
void ch_out_write(struct ch_out *out, const void *data, size_t len);
void ch_out_str(struct ch_out *out, const char *s);
void ch_out_char(struct ch_out *out, char c);
void ch_out_u64(struct ch_out *out, uint64_t value);
void ch_out_i64(struct ch_out *out, int64_t value);
/** "0x" and lower-case hex digits. */
void ch_out_hex(struct ch_out *out, uint64_t value);
void ch_out_printf(struct ch_out *out, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
/** Human units: "812 B", "4.0 KiB", "1.2 GiB". */
void ch_out_bytes(struct ch_out *out, uint64_t bytes);
/** The same into buf. */
void ch_format_bytes(uint64_t bytes, char buf[32]);
/** A JSON string literal, quotes included. */
void ch_out_json_string(struct ch_out *out, const char *s);
/** A CSV field, quoted when it holds a comma, quote or line break. */
void ch_out_csv_field(struct ch_out *out, const char *s);
/** Flush; CH_ERROR_OUTPUT if any write failed. */
struct ch_error *ch_out_finish(struct ch_out *out);

#define CH_JSON_MAX_DEPTH 32

/**
 * A JSON writer: begin/end objects and arrays, keys and values. Pretty
 * output puts each member on a line of its own, indented, and ends the
 * document with a newline; otherwise the document is one line, compact,
 * or spaced (", " and ": ") as a JSON Lines record is for a reader.
 */
struct ch_json {
	struct ch_out *out;
	int depth;
	bool pretty;
	/** One line with a space after each comma and colon. */
	bool spaced;
	/** Whether the current container already has a member. */
	bool has_member[CH_JSON_MAX_DEPTH];
	/** A key was just written: the next value follows it. */
	bool after_key;
};

void ch_json_init(struct ch_json *json, struct ch_out *out, bool pretty);
/** A one-line, spaced writer: {"address": "0x10", "size": 24}. */
void ch_json_init_line(struct ch_json *json, struct ch_out *out);
void ch_json_begin_object(struct ch_json *json);
void ch_json_end_object(struct ch_json *json);
void ch_json_begin_array(struct ch_json *json);
void ch_json_end_array(struct ch_json *json);
void ch_json_key(struct ch_json *json, const char *key);
void ch_json_string(struct ch_json *json, const char *value);
/** A string or null when value is NULL. */
void ch_json_string_or_null(struct ch_json *json, const char *value);
void ch_json_u64(struct ch_json *json, uint64_t value);
void ch_json_i64(struct ch_json *json, int64_t value);
void ch_json_double(struct ch_json *json, double value);
/** An address as the string "0x...". */
void ch_json_address(struct ch_json *json, uint64_t value);
void ch_json_bool(struct ch_json *json, bool value);
void ch_json_null(struct ch_json *json);

/** A key and its value in one call: "key": value. */
void ch_json_member_u64(struct ch_json *json, const char *key, uint64_t value);
void ch_json_member_i64(struct ch_json *json, const char *key, int64_t value);
void ch_json_member_double(struct ch_json *json, const char *key, double value);
void ch_json_member_string(struct ch_json *json, const char *key,
			   const char *value);
void ch_json_member_string_or_null(struct ch_json *json, const char *key,
				   const char *value);
void ch_json_member_address(struct ch_json *json, const char *key,
			    uint64_t value);
void ch_json_member_bool(struct ch_json *json, const char *key, bool value);

#endif /* COREHEAP_OUTPUT_H */
