// SPDX-License-Identifier: MIT
/*
 * The benchmark's heap: N live allocations (default 2,000,000) of mixed
 * small sizes in the main arena, a few thousand frees scattered through
 * tcache, fastbins and bins, and some large mmapped blocks. Prints "ready"
 * when the heap is built, then waits to be dumped with gcore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_liveset.h"

// How many blocks it holds.
static void write_live_count(size_t count)
{
	char line[64];

	snprintf(line, sizeof(line), "# %zu blocks held by main\n", count);
	bench_write_liveset(line);
}

// A global, so that the heap is reachable from a root as a real program's
// is (a local that is dead after the loops may be in no register at all).
void **blocks;

int main(int argc, char **argv)
{
	size_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;

	blocks = malloc(count * sizeof(*blocks));
	unsigned seed = 12345;

	if (!blocks)
		return 1;
	for (size_t i = 0; i < count; i++) {
		seed = seed * 1103515245 + 12345;
		// Mostly small objects, as a real heap has: 8..264 bytes.
		blocks[i] = malloc(8 + (seed >> 16) % 257);
		if (!blocks[i])
			return 1;
		memset(blocks[i], 0, 8);
	}
	// Every 500th block freed: the frees land in tcache, fastbins and bins.
	for (size_t i = 0; i < count; i += 500) {
		free(blocks[i]);
		blocks[i] = NULL;
	}
	for (int i = 0; i < 16; i++)
		blocks[i] = malloc(1 << 20);
	write_live_count(count - (count + 499) / 500 + 16);
	if (write(1, "ready\n", 6) != 6)
		return 1;
	for (;;)
		pause();
}
