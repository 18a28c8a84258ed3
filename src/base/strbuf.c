// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/vector.h"

void ch_strbuf_deinit(struct ch_strbuf *sb)
{
	free(sb->buf);
	*sb = (struct ch_strbuf){ 0 };
}

struct ch_error *ch_strbuf_reserve(struct ch_strbuf *sb, size_t extra)
{
	// Room for the NUL too; a length that would wrap cannot be had.
	if (extra > SIZE_MAX - sb->len - 1)
		return &ch_enomem;
	return ch_vector_reserve((void **)&sb->buf, &sb->capacity, 1,
				 sb->len + extra + 1);
}

struct ch_error *ch_strbuf_append(struct ch_strbuf *sb, const void *data,
				  size_t len)
{
	struct ch_error *err = ch_strbuf_reserve(sb, len);

	if (err)
		return err;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return NULL;
}

struct ch_error *ch_strbuf_appendf(struct ch_strbuf *sb, const char *format,
				   ...)
{
	va_list ap;
	int n;
	struct ch_error *err;

	va_start(ap, format);
	n = vsnprintf(NULL, 0, format, ap);
	va_end(ap);
	if (n < 0)
		return ch_error_create(CH_ERROR_OUTPUT, "bad format string");
	err = ch_strbuf_reserve(sb, n);
	if (err)
		return err;
	va_start(ap, format);
	vsnprintf(sb->buf + sb->len, n + 1, format, ap);
	va_end(ap);
	sb->len += n;
	return NULL;
}

char *ch_strbuf_detach(struct ch_strbuf *sb)
{
	char *s = sb->buf;

	if (!s)
		s = strdup("");
	*sb = (struct ch_strbuf){ 0 };
	return s;
}
