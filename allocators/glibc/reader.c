// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include "reader.h"

// Big enough that refills are rare next to the per-chunk work, small enough
// that a copied window is cheap when the host cannot map.
#define WINDOW_MAX (1u << 20)
#define WINDOW_MIN 4096u

void ptm_reader_init(struct ptm_reader *reader,
		     const struct coreheap_host *host)
{
	*reader = (struct ptm_reader){.host = host};
}

void ptm_reader_deinit(struct ptm_reader *reader)
{
	free(reader->buf);
	*reader = (struct ptm_reader){0};
}

void ptm_reader_prefetch(struct ptm_reader *reader, uint64_t addr,
			 uint64_t len)
{
	const void *view;

	if (!len || len > SIZE_MAX || addr + len < addr)
		return;
	view = reader->host->map(reader->host, addr, len);
	if (view) {
		reader->base = addr;
		reader->len = len;
		reader->data = view;
	}
}

static bool try_map(struct ptm_reader *reader, uint64_t base, uint64_t len)
{
	const void *view = reader->host->map(reader->host, base, len);

	if (!view)
		return false;
	reader->base = base;
	reader->len = len;
	reader->data = view;
	return true;
}

static bool try_copy(struct ptm_reader *reader, uint64_t base, uint64_t len)
{
	if (!reader->buf) {
		reader->buf = malloc(WINDOW_MAX);
		if (!reader->buf)
			return false;
		reader->cap = WINDOW_MAX;
	}
	if (reader->host->read(reader->host, base, reader->buf, len))
		return false;
	reader->base = base;
	reader->len = len;
	reader->data = reader->buf;
	return true;
}

int ptm_reader_fill(struct ptm_reader *reader, uint64_t addr, void *buf,
		    size_t len)
{
	uint64_t base = addr & ~(uint64_t)(WINDOW_MIN - 1);
	uint64_t size;

	if (len > WINDOW_MIN || addr + len < addr)
		return reader->host->read(reader->host, addr, buf, len);
	// Halve the window until the host has it all: segments of a core end
	// anywhere, and a window must not straddle a hole.
	for (size = WINDOW_MAX; size >= WINDOW_MIN; size /= 2) {
		if (base + size < addr + len)
			break;
		if (try_map(reader, base, size))
			goto hit;
	}
	for (size = WINDOW_MAX; size >= WINDOW_MIN; size /= 2) {
		if (base + size < addr + len)
			break;
		if (try_copy(reader, base, size))
			goto hit;
	}
	// The page itself is cut short (a truncated core): read just this.
	reader->len = 0;
	return reader->host->read(reader->host, addr, buf, len);
hit:
	memcpy(buf, reader->data + (addr - reader->base), len);
	return COREHEAP_OK;
}
