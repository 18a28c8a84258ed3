/* SPDX-License-Identifier: MIT */
/*
 * liveset_diff RECORDED JSONL ALLOCATOR: the exactness check of
 * exact_harness.c for shell tests (tests/jemalloc-redis.sh), whose truth is
 * a recorder dump made some other way than a fixture's recorder_dump().
 * RECORDED is "0x<hex> <decimal>" lines, JSONL `coreheap objects --format
 * jsonl` output, every line of which must name ALLOCATOR. Prints every
 * difference and a summary; exits 0 if the sets are equal, 1 if they
 * differ, 2 if a file cannot be read or parsed (one line naming it).
 */
#include "liveset.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct liveset expected, actual;
	char err[512];
	FILE *jsonl;
	size_t differences;

	if (argc != 4) {
		fprintf(stderr, "usage: liveset_diff RECORDED JSONL ALLOCATOR\n");
		return 2;
	}
	liveset_init(&expected);
	liveset_init(&actual);
	if (liveset_read_recorded(argv[1], &expected, err, sizeof(err))) {
		fprintf(stderr, "liveset_diff: %s: %s\n", argv[1], err);
		return 2;
	}
	jsonl = fopen(argv[2], "r");
	if (!jsonl) {
		fprintf(stderr, "liveset_diff: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	if (liveset_read_jsonl(jsonl, argv[3], &actual, err, sizeof(err))) {
		fprintf(stderr, "liveset_diff: %s: %s\n", argv[2], err);
		fclose(jsonl);
		return 2;
	}
	fclose(jsonl);
	printf("missing: recorded live, not reported by coreheap\n"
	       "extra: reported by coreheap, not recorded live\n");
	differences = liveset_compare(&expected, &actual, stdout, NULL);
	liveset_free(&expected);
	liveset_free(&actual);
	return differences ? 1 : 0;
}
