/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A growable byte buffer.
 *
 * Invariant: buf is NUL-terminated whenever len > 0 or buf is not NULL, so a
 * strbuf can be read as a C string. ch_strbuf_deinit() frees the memory; a
 * zeroed strbuf is empty and valid.
 */
#ifndef COREHEAP_STRBUF_H
#define COREHEAP_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "base/error.h"

struct ch_strbuf {
	char *buf;
	size_t len;
	size_t capacity;
};

void ch_strbuf_deinit(struct ch_strbuf *sb);
/** Make room for extra more bytes (plus the NUL). */
struct ch_error *ch_strbuf_reserve(struct ch_strbuf *sb, size_t extra);
struct ch_error *ch_strbuf_append(struct ch_strbuf *sb, const void *data,
				  size_t len);
struct ch_error *ch_strbuf_appendf(struct ch_strbuf *sb, const char *format,
				   ...) __attribute__((format(printf, 2, 3)));
/** Hand the string to the caller, who frees it; the strbuf is left empty. */
char *ch_strbuf_detach(struct ch_strbuf *sb);

#endif /* COREHEAP_STRBUF_H */
