/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A core's bytes read into anonymous memory, for the cores that cannot be
 * mapped as they are: compressed ones (zstd, xz, lz4, gzip: recognised by
 * their magic, never by name) and cores on a pipe (standard input).
 *
 * The input is read once, streaming, and decompressed straight into an
 * anonymous mapping that grows with mremap: no temporary file, no copy.
 * Nothing the compressed stream says sizes anything: a frame header may
 * claim any content size, so the mapping grows only with what is actually
 * decompressed, up to a limit (ch_core_image_limit), past which reading
 * is an error. A stream cut short or damaged keeps what came before the
 * damage (ch_core_image::damage says what was wrong).
 */
#ifndef COREHEAP_CORE_IMAGE_H
#define COREHEAP_CORE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/** How many leading bytes ch_core_image_compression() looks at. */
#define CH_CORE_MAGIC_SIZE 6

/**
 * The compression format whose magic starts bytes ("zstd", "xz", "lz4",
 * "gzip"), or NULL if none (an ELF file, or anything else).
 */
const char *ch_core_image_compression(const uint8_t *bytes, size_t len);

/**
 * The most bytes a core is decompressed to: COREHEAP_DECOMPRESS_LIMIT
 * from the environment (bytes, or with a K, M, G or T suffix) if set and
 * valid (above 0), else the machine's physical memory.
 */
uint64_t ch_core_image_limit(void);

struct ch_core_image {
	/** The decompressed bytes, in an anonymous mapping of mapped bytes. */
	uint8_t *data;
	size_t size, mapped;
	/** The compression read ("zstd", ...), NULL for plain bytes. */
	const char *compression;
	/** Bytes read from the input. */
	uint64_t input_bytes;
	/**
	 * The stream ends early or is damaged after size bytes: what is
	 * wrong ("the zstd stream ends early"). Owned; NULL if whole.
	 */
	char *damage;
	/**
	 * Only the first bytes were wanted (ch_core_image_read_prefix) and
	 * the stream went on past them: what follows was not read.
	 */
	bool prefix_only;
};

/**
 * Read fd to its end into anonymous memory, decompressing it if its first
 * bytes are a compression format's magic. head holds the head_len bytes
 * already read from fd (a pipe cannot give them again); what names the
 * input in messages ("core 'x.zst'"). limit caps the bytes held.
 *
 * Errors: CH_ERROR_OS (a read fails, mmap fails), CH_ERROR_FORMAT (more
 * than limit bytes; a compressed stream that yields nothing at all),
 * CH_ERROR_NOMEM. On error nothing is left mapped.
 */
struct ch_error *ch_core_image_read(int fd, const char *what,
				    const uint8_t *head, size_t head_len,
				    uint64_t limit, struct ch_core_image *ret);

/**
 * ch_core_image_read, for the first prefix bytes only (at least; a little
 * more may be held): reading stops there, with prefix_only set, and no
 * error or damage for what was not read.
 */
struct ch_error *ch_core_image_read_prefix(int fd, const char *what,
					   const uint8_t *head,
					   size_t head_len, uint64_t prefix,
					   struct ch_core_image *ret);

/** Unmap the bytes and free the message (NULL-safe, idempotent). */
void ch_core_image_deinit(struct ch_core_image *image);

#endif /* COREHEAP_CORE_IMAGE_H */
