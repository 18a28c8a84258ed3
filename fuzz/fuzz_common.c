// SPDX-License-Identifier: MIT
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"

const char *fuzz_file(const uint8_t *data, size_t size)
{
	// One memory file for the whole run: no disk, no file left behind,
	// and ftruncate makes each input the whole file.
	static int fd = -1;
	static char path[64];
	size_t done = 0;

	if (fd < 0) {
		fd = memfd_create("fuzz-core", MFD_CLOEXEC);
		if (fd < 0)
			return NULL;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0))
		return NULL;
	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done, done);

		if (n <= 0)
			return NULL;
		done += n;
	}
	return path;
}

uint64_t fuzz_u64(const uint8_t *data, size_t size, size_t *off)
{
	uint64_t v = 0;

	if (*off <= size && size - *off >= sizeof(v))
		memcpy(&v, data + *off, sizeof(v));
	*off += sizeof(v);
	return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	// What ch_program_open() does first: libelf refuses to work before.
	elf_version(EV_CURRENT);
	return 0;
}
