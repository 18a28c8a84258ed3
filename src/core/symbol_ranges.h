/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Which symbol of a module holds an address, asked for many addresses.
 *
 * libdwfl answers each question by a pass over the whole symbol table: a
 * core whose roots are a global array of 200,000 pointers, in a program of
 * 60,000 symbols, took `top` four minutes to name them. The answer depends
 * on an address only through which symbols start at or below it, which
 * hold it, and which section it is in: it is the same for every address
 * between two consecutive bounds (each symbol's start and end, each
 * section's), so each such interval is asked once (the lookup given,
 * libdwfl's own, whose rules stay whole), and the answer kept. An
 * interval that exactly one sized symbol holds is that symbol's from the
 * start (libdwfl's rules choose it there, see ch_symbol_ranges_build()):
 * a question costs a binary search.
 */
#ifndef COREHEAP_SYMBOL_RANGES_H
#define COREHEAP_SYMBOL_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/** A symbol, or the answer to which symbol holds an address. */
struct ch_symbol_hit {
	/** NULL: none (an answer that no symbol holds the address). */
	const char *name;
	/** Where the symbol starts, and its size (0: a label, sizeless). */
	uint64_t address, size;
};

/** The lookup of one address the ranges keep the answers of. */
typedef void ch_symbol_lookup_fn(void *arg, uint64_t addr,
				 struct ch_symbol_hit *ret);

struct ch_symbol_ranges {
	/** The bounds of the intervals, sorted and distinct. */
	uint64_t *bounds;
	size_t num_bounds;
	/**
	 * The answer of each of the num_bounds + 1 intervals (interval k is
	 * [bounds[k - 1], bounds[k])): 0 not known yet, 1 no symbol, r + 2
	 * hits[r].
	 */
	uint32_t *answers;
	struct ch_symbol_hit *hits;
	size_t num_hits, hits_capacity;
};

/**
 * The ranges of symbols[0..n) (their names must outlive the ranges), with
 * more bounds at points[0..num_points) (sections' starts and ends).
 * With simple_holds, an interval that exactly one sized symbol holds is
 * answered with it from the start, and a label's own address (a sizeless
 * symbol's) is an interval of its own, answered by the lookup: what
 * libdwfl's search (dwfl_module_addrinfo()) and ch_module_symbolize_tls()
 * both do; pass false for a lookup of other rules.
 */
struct ch_error *ch_symbol_ranges_build(struct ch_symbol_ranges *ranges,
					const struct ch_symbol_hit *symbols,
					size_t n, const uint64_t *points,
					size_t num_points, bool simple_holds);

/**
 * The symbol holding addr: the kept answer of its interval, else
 * lookup(arg, addr), kept when there is room. ret->name is NULL if none.
 */
void ch_symbol_ranges_find(struct ch_symbol_ranges *ranges, uint64_t addr,
			   ch_symbol_lookup_fn *lookup, void *arg,
			   struct ch_symbol_hit *ret);

void ch_symbol_ranges_deinit(struct ch_symbol_ranges *ranges);

#endif /* COREHEAP_SYMBOL_RANGES_H */
