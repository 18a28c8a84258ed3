/* SPDX-License-Identifier: MIT */
/**
 * @file
 * One writer for an allocation's row, in every format a command lists
 * allocations in: objects, leaks and top describe an allocation with a
 * struct ch_allocation_row and write it here, so that the columns they
 * share (address, size, allocator, type) are written one way.
 *
 * A row is the shared columns, a parent for an object nested in another
 * allocation, then the command's own fields, in the order of the command's
 * column list (struct ch_row_field). The formats:
 *
 * - JSONL: one spaced JSON object per line,
 *   {"address": "0x55d0c3a4b2a0", "size": 24, "allocator": "glibc",
 *    "type": null, ...fields}; "parent" follows "type" when set.
 * - JSON: the same objects as the elements of an array that the command
 *   opens and closes ("\n  " before the first, ",\n  " before the others);
 *   or, through ch_row_json(), as a value of the command's own document.
 * - CSV: a header, then address,size,allocator,type,fields; an unknown
 *   type is an empty field; no parent.
 * - text: address, size, allocator and type in columns; no parent, no
 *   fields (commands with fields of their own write text tables of their
 *   own: leaks by type, top in human units).
 */
#ifndef COREHEAP_ROWS_H
#define COREHEAP_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "report/output.h"

enum ch_row_field_kind {
	/** A number. */
	CH_ROW_U64,
	/** A string (a CSV field, quoted as needed). */
	CH_ROW_STRING,
	/**
	 * A root holding the allocation: JSON {"kind": ..., "name": ...};
	 * CSV two columns, "<key>_kind" and "<key>".
	 */
	CH_ROW_ROOT,
};

/** A field of a command's own: its key (JSON) and column (CSV), its value. */
struct ch_row_field {
	const char *key;
	enum ch_row_field_kind kind;
	uint64_t u64;
	/** CH_ROW_STRING: the string; CH_ROW_ROOT: the root's name. */
	const char *string;
	/** CH_ROW_ROOT: the root's kind ("global", "register"...). */
	const char *root_kind;
};

/** An allocation as the reports list it. Nothing in it is owned. */
struct ch_allocation_row {
	/** The address the allocator handed out. */
	uint64_t address;
	/** Its usable size. */
	uint64_t size;
	const char *allocator;
	/** The type's name, or NULL when unknown. */
	const char *type;
	/** For an object nested in another allocation: that one's address; else 0. */
	uint64_t parent;
	/** The command's fields: num_fields of them, in its columns' order. */
	const struct ch_row_field *fields;
	size_t num_fields;
};

/** Write row as a JSON object, a value of json's document. */
void ch_row_json(struct ch_json *json, const struct ch_allocation_row *row);

/**
 * Rows of one listing. columns are the command's fields (their keys and
 * kinds; values unused), for the CSV header; every row then carries
 * fields in that order. The writer keeps columns by pointer.
 */
struct ch_row_writer {
	struct ch_out *out;
	enum ch_format format;
	const struct ch_row_field *columns;
	size_t num_columns;
	/** Rows written so far. */
	size_t written;
};

/** Start a listing: writes the header of text and CSV (JSON has none). */
void ch_row_writer_begin(struct ch_row_writer *writer, struct ch_out *out,
			 enum ch_format format,
			 const struct ch_row_field *columns,
			 size_t num_columns);
void ch_row_writer_write(struct ch_row_writer *writer,
			 const struct ch_allocation_row *row);

#endif /* COREHEAP_ROWS_H */
