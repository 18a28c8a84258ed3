// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/sorted_u64.h"
#include "base/vector.h"
#include "core/symbol_ranges.h"

enum {
	ANSWER_UNKNOWN = 0,
	ANSWER_NONE = 1,
	ANSWER_FIRST_HIT = 2,
};

// The interval of addr: how many bounds are at or below it.
static size_t interval_of(const struct ch_symbol_ranges *ranges,
			  uint64_t addr)
{
	return ch_count_at_most_u64(ranges->bounds, ranges->num_bounds, addr);
}

// Where a symbol's interval ends: past its size, or a label's own byte.
static bool symbol_end(const struct ch_symbol_hit *symbol, uint64_t *ret)
{
	uint64_t size = symbol->size ? symbol->size : 1;

	*ret = symbol->address + size;
	return *ret > symbol->address;
}

static struct ch_error *make_bounds(struct ch_symbol_ranges *ranges,
				    const struct ch_symbol_hit *symbols,
				    size_t n, const uint64_t *points,
				    size_t num_points)
{
	size_t len = 0;

	if (n > (SIZE_MAX / sizeof(uint64_t) - num_points) / 2)
		return &ch_enomem;
	ranges->bounds = malloc((2 * n + num_points + 1) * sizeof(uint64_t));
	if (!ranges->bounds)
		return &ch_enomem;
	for (size_t i = 0; i < n; i++) {
		uint64_t end;

		ranges->bounds[len++] = symbols[i].address;
		if (symbol_end(&symbols[i], &end))
			ranges->bounds[len++] = end;
	}
	if (num_points)
		memcpy(ranges->bounds + len, points, num_points * sizeof(*points));
	len += num_points;
	ranges->num_bounds = ch_sort_unique_u64(ranges->bounds, len);
	return NULL;
}

/*
 * The intervals that exactly one sized symbol holds: a count of the
 * symbols holding each interval and the sum of their indices, from each
 * symbol's +1 at its start's interval and -1 at its end's; where the
 * count is 1, the sum is the symbol. A label's own byte is then asked.
 */
static struct ch_error *answer_simple_holds(struct ch_symbol_ranges *ranges,
					    const struct ch_symbol_hit *symbols,
					    size_t n)
{
	size_t intervals = ranges->num_bounds + 1;
	_cleanup_free_ int64_t *count = calloc(intervals + 1, sizeof(*count));
	_cleanup_free_ uint64_t *sum = calloc(intervals + 1, sizeof(*sum));
	int64_t holding = 0;
	uint64_t held = 0;

	if (!count || !sum)
		return &ch_enomem;
	for (size_t i = 0; i < n; i++) {
		uint64_t end;
		size_t first, past;

		if (!symbols[i].size)
			continue;
		first = interval_of(ranges, symbols[i].address);
		// One whose end wraps holds every address above its start.
		past = symbol_end(&symbols[i], &end) ? interval_of(ranges, end) :
						       intervals;
		count[first]++;
		count[past]--;
		sum[first] += i;
		sum[past] -= i;
	}
	for (size_t k = 0; k < intervals; k++) {
		holding += count[k];
		held += sum[k];
		if (holding == 1)
			ranges->answers[k] = (uint32_t)held + ANSWER_FIRST_HIT;
	}
	for (size_t i = 0; i < n; i++) {
		if (!symbols[i].size)
			ranges->answers[interval_of(ranges, symbols[i].address)] =
				ANSWER_UNKNOWN;
	}
	return NULL;
}

struct ch_error *ch_symbol_ranges_build(struct ch_symbol_ranges *ranges,
					const struct ch_symbol_hit *symbols,
					size_t n, const uint64_t *points,
					size_t num_points, bool simple_holds)
{
	struct ch_error *err;

	*ranges = (struct ch_symbol_ranges){ 0 };
	if (n >= UINT32_MAX - ANSWER_FIRST_HIT)
		return &ch_enomem;
	err = make_bounds(ranges, symbols, n, points, num_points);
	if (err)
		goto fail;
	ranges->answers = calloc(ranges->num_bounds + 1,
				 sizeof(*ranges->answers));
	err = ch_vector_reserve((void **)&ranges->hits,
				&ranges->hits_capacity,
				sizeof(*ranges->hits), n);
	if (!ranges->answers || err) {
		err = &ch_enomem;
		goto fail;
	}
	if (n)
		memcpy(ranges->hits, symbols, n * sizeof(*symbols));
	ranges->num_hits = n;
	if (simple_holds) {
		err = answer_simple_holds(ranges, symbols, n);
		if (err)
			goto fail;
	}
	return NULL;
fail:
	ch_symbol_ranges_deinit(ranges);
	return err;
}

void ch_symbol_ranges_find(struct ch_symbol_ranges *ranges, uint64_t addr,
			   ch_symbol_lookup_fn *lookup, void *arg,
			   struct ch_symbol_hit *ret)
{
	size_t k = interval_of(ranges, addr);
	uint32_t answer = ranges->answers[k];

	if (answer == ANSWER_NONE) {
		*ret = (struct ch_symbol_hit){ 0 };
		return;
	}
	if (answer >= ANSWER_FIRST_HIT) {
		*ret = ranges->hits[answer - ANSWER_FIRST_HIT];
		return;
	}
	lookup(arg, addr, ret);
	if (!ret->name) {
		ranges->answers[k] = ANSWER_NONE;
		return;
	}
	// Without room the answer is not kept: asked again next time.
	if (ranges->num_hits < UINT32_MAX - ANSWER_FIRST_HIT &&
	    !ch_vector_reserve_one((void **)&ranges->hits,
				   &ranges->hits_capacity,
				   sizeof(*ranges->hits), ranges->num_hits)) {
		ranges->hits[ranges->num_hits] = *ret;
		ranges->answers[k] = (uint32_t)ranges->num_hits++ +
				     ANSWER_FIRST_HIT;
	}
}

void ch_symbol_ranges_deinit(struct ch_symbol_ranges *ranges)
{
	free(ranges->bounds);
	free(ranges->answers);
	free(ranges->hits);
	*ranges = (struct ch_symbol_ranges){ 0 };
}
