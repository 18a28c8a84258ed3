/* SPDX-License-Identifier: MIT */
/*
 * Sets of live allocations (address, usable size): reading the recorder's
 * dump and coreheap's `objects --format jsonl` output, and comparing two
 * sets with a report of every difference. No Criterion here, so the
 * self-check tests can exercise exactly the code the exactness tests use.
 */
#ifndef COREHEAP_TESTS_LIVESET_H
#define COREHEAP_TESTS_LIVESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct allocation {
	uint64_t address;
	uint64_t size;
};

struct liveset {
	struct allocation *items;
	size_t count;
	size_t capacity;
};

void liveset_init(struct liveset *set);
void liveset_free(struct liveset *set);
/* Aborts on out of memory: a test cannot go on without its data. */
void liveset_add(struct liveset *set, uint64_t address, uint64_t size);
void liveset_sort(struct liveset *set);
/* Index of the allocation at address (set sorted), or -1. */
ptrdiff_t liveset_find(const struct liveset *set, uint64_t address);

/*
 * Parse a recorder dump: lines "0x<hex> <decimal>\n", nothing else.
 * Returns 0, or -1 with a message (naming the line) in err.
 */
int liveset_read_recorded(const char *path, struct liveset *set, char *err,
			  size_t err_size);

/*
 * Parse one line of `coreheap objects --format jsonl`: a flat JSON object
 * with at least "address" (a string "0x<hex>"), "size" (a non-negative
 * integer), "allocator" (must be expected_allocator) and "type" (must be
 * null). Keys may come in any order with any spacing; unknown keys are
 * skipped; duplicate keys, other value types and trailing text are errors.
 */
int liveset_parse_object_line(const char *line, const char *expected_allocator,
			      struct allocation *ret, char *err, size_t err_size);

/*
 * Read every line of stream with liveset_parse_object_line. Returns 0, or
 * -1 with a message naming the first bad line.
 */
int liveset_read_jsonl(FILE *stream, const char *expected_allocator,
		       struct liveset *set, char *err, size_t err_size);

struct liveset_diff {
	size_t missing;		/* expected, not reported */
	size_t extra;		/* reported, not expected */
	size_t wrong_size;	/* both, with different sizes */
	size_t duplicates;	/* the same address twice in one set */
};

/*
 * Compare expected (the recorded truth) with actual (what coreheap said).
 * Sorts both. Writes one line per difference, then a summary, to report
 * (may be NULL). Returns the number of differences: 0 iff the sets are
 * equal.
 */
size_t liveset_compare(struct liveset *expected, struct liveset *actual,
		       FILE *report, struct liveset_diff *diff);

#endif /* COREHEAP_TESTS_LIVESET_H */
