/* SPDX-License-Identifier: MIT */
/*
 * tests/make-core.sh wants a live-set file ($CH_LIVESET); a benchmark
 * records only one line on what it holds (the exact tests check the
 * addresses). For the C and the C++ benchmarks alike.
 */
#ifndef COREHEAP_BENCH_LIVESET_H
#define COREHEAP_BENCH_LIVESET_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Write line (with its newline) as the live-set file, if one is asked for.
static inline void bench_write_liveset(const char *line)
{
	const char *path = getenv("CH_LIVESET");
	size_t len = strlen(line);
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, line, len) != (ssize_t)len)
		exit(1);
	close(fd);
}

#endif /* COREHEAP_BENCH_LIVESET_H */
