/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A window over the core's memory for walks that read it in order.
 *
 * A chunk walk reads a few bytes per chunk over hundreds of megabytes; one
 * host call per chunk would dominate the walk. The reader keeps a window
 * (zero-copy from coreheap_host::map when the host can, else copied with
 * coreheap_host::read) and refills it only when a read falls outside.
 */
#ifndef COREHEAP_GLIBC_READER_H
#define COREHEAP_GLIBC_READER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <coreheap/plugin.h>

/** A cached window; zero-initialise it, then ptm_reader_init(). */
struct ptm_reader {
	const struct coreheap_host *host;
	uint64_t base;        /**< address of data[0] */
	uint64_t len;         /**< bytes valid at data */
	const uint8_t *data;  /**< host view or buf */
	uint8_t *buf;         /**< owned copy buffer, allocated once */
	size_t cap;
};

/** Bind @p reader to @p host; no allocation yet. */
void ptm_reader_init(struct ptm_reader *reader,
		     const struct coreheap_host *host);

/** Free the copy buffer (views stay the host's). */
void ptm_reader_deinit(struct ptm_reader *reader);

/**
 * Make [addr, addr + len) the window if the host can hand it over in one
 * piece, so a walk over one heap needs no refill. Failing is not an error:
 * reads then refill on demand.
 */
void ptm_reader_prefetch(struct ptm_reader *reader, uint64_t addr,
			 uint64_t len);

/** Slow path of ptm_reader_read(): refill and copy. */
int ptm_reader_fill(struct ptm_reader *reader, uint64_t addr, void *buf,
		    size_t len);

/** Copy @p len bytes at @p addr. COREHEAP_OK or COREHEAP_FAULT. */
static inline int ptm_reader_read(struct ptm_reader *reader, uint64_t addr,
				  void *buf, size_t len)
{
	uint64_t off = addr - reader->base;

	if (addr >= reader->base && off <= reader->len &&
	    len <= reader->len - off) {
		memcpy(buf, reader->data + off, len);
		return COREHEAP_OK;
	}
	return ptm_reader_fill(reader, addr, buf, len);
}

/**
 * How far ahead of a chunk walk to prefetch. A page: measured on a 2-million
 * chunk heap, it beats 1, 2 and 8 KiB, since the first touch of each page of
 * the core (page tables, TLB) costs more than its cache misses.
 */
#define PTM_PREFETCH_AHEAD 4096

/**
 * Hint that @p addr will be read soon. A walk chases sizes from chunk to
 * chunk, each load waiting for the one before; asking for memory ahead keeps
 * it from waiting on each miss in turn.
 */
static inline void ptm_reader_prefetch_ahead(const struct ptm_reader *reader,
					     uint64_t addr)
{
	uint64_t off = addr - reader->base;

	if (addr >= reader->base && off < reader->len)
		__builtin_prefetch((const void *)((uintptr_t)reader->data +
						  (uintptr_t)off));
}

/** Read one 64-bit word. */
static inline int ptm_reader_u64(struct ptm_reader *reader, uint64_t addr,
				 uint64_t *ret)
{
	return ptm_reader_read(reader, addr, ret, sizeof(*ret));
}

/** Read one word with a plain host read, for scattered list walks. */
static inline int ptm_read_u64(const struct coreheap_host *host, uint64_t addr,
			       uint64_t *ret)
{
	return host->read(host, addr, ret, sizeof(*ret));
}

#endif /* COREHEAP_GLIBC_READER_H */
