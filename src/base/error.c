// SPDX-License-Identifier: MIT
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

struct ch_error ch_enomem = {
	.code = CH_ERROR_NOMEM,
	.message = "out of memory",
};

static struct ch_error *error_from_message(enum ch_error_code code,
					   char *message)
{
	struct ch_error *err;

	if (!message)
		return &ch_enomem;
	err = calloc(1, sizeof(*err));
	if (!err) {
		free(message);
		return &ch_enomem;
	}
	err->code = code;
	err->message = message;
	return err;
}

static char *format_message(const char *format, va_list ap, const char *suffix)
{
	char *head, *message;

	if (vasprintf(&head, format, ap) < 0)
		return NULL;
	if (!suffix)
		return head;
	if (asprintf(&message, "%s: %s", head, suffix) < 0)
		message = NULL;
	free(head);
	return message;
}

struct ch_error *ch_error_create(enum ch_error_code code, const char *format,
				 ...)
{
	va_list ap;
	char *message;

	va_start(ap, format);
	message = format_message(format, ap, NULL);
	va_end(ap);
	return error_from_message(code, message);
}

struct ch_error *ch_error_os(int errnum, const char *format, ...)
{
	va_list ap;
	char *message;
	struct ch_error *err;

	if (errnum == ENOMEM)
		return &ch_enomem;
	va_start(ap, format);
	message = format_message(format, ap, strerror(errnum));
	va_end(ap);
	err = error_from_message(CH_ERROR_OS, message);
	if (err != &ch_enomem)
		err->errnum = errnum;
	return err;
}

struct ch_error *ch_error_fault(uint64_t address, const char *why)
{
	struct ch_error *err;

	err = ch_error_create(CH_ERROR_FAULT,
			      "cannot read memory at 0x%" PRIx64 ": %s",
			      address, why);
	if (err != &ch_enomem)
		err->address = address;
	return err;
}

struct ch_error *ch_error_libelf(const char *format, ...)
{
	va_list ap;
	char *message;

	va_start(ap, format);
	message = format_message(format, ap, elf_errmsg(-1));
	va_end(ap);
	return error_from_message(CH_ERROR_ELF, message);
}

struct ch_error *ch_error_dwfl(const char *format, ...)
{
	va_list ap;
	char *message;

	va_start(ap, format);
	message = format_message(format, ap, dwfl_errmsg(-1));
	va_end(ap);
	return error_from_message(CH_ERROR_ELF, message);
}

void ch_error_destroy(struct ch_error *err)
{
	if (!err || err == &ch_enomem)
		return;
	free(err->message);
	free(err);
}

void ch_error_print_and_destroy(struct ch_error *err, FILE *stream)
{
	if (!err)
		return;
	fprintf(stream, "coreheap: %s\n", err->message);
	ch_error_destroy(err);
}

enum ch_exit_status ch_error_exit_status(const struct ch_error *err)
{
	if (!err)
		return CH_EXIT_OK;
	return err->code == CH_ERROR_USAGE ? CH_EXIT_USAGE : CH_EXIT_FATAL;
}
