/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The one error type of coreheap.
 *
 * Every fallible function returns a `struct ch_error *`: NULL is success, and
 * anything else is an error the caller owns and must either return upward or
 * free with ch_error_destroy(). Errors are printed once, at the top (main).
 *
 * Out of memory never allocates: it is the static &ch_enomem, which
 * ch_error_destroy() leaves alone.
 */
#ifndef COREHEAP_ERROR_H
#define COREHEAP_ERROR_H

#include <stdint.h>
#include <stdio.h>

/** What went wrong; also decides the exit status (see ch_error_exit_status). */
enum ch_error_code {
	/** Out of memory. */
	CH_ERROR_NOMEM = 1,
	/** A system call failed; errnum and path say which and on what. */
	CH_ERROR_OS,
	/** The command line was wrong. */
	CH_ERROR_USAGE,
	/** The file is not what it must be: not ELF, not a core, malformed. */
	CH_ERROR_FORMAT,
	/** A core of an architecture coreheap cannot read. */
	CH_ERROR_ARCH,
	/** Memory that is neither in the core nor in a mapped file. */
	CH_ERROR_FAULT,
	/** libelf, libdw or libdwfl failed. */
	CH_ERROR_ELF,
	/** A name that was looked up is not there. */
	CH_ERROR_NOT_FOUND,
	/** A plugin failed or could not be loaded. */
	CH_ERROR_PLUGIN,
	/** Heap metadata so damaged that nothing more can be said. */
	CH_ERROR_CORRUPT,
	/** Writing the report failed (e.g. a closed pipe or a full disk). */
	CH_ERROR_OUTPUT,
};

struct ch_error {
	enum ch_error_code code;
	/** For CH_ERROR_OS: the errno value. */
	int errnum;
	/** For CH_ERROR_FAULT: the address that could not be read. */
	uint64_t address;
	/** The whole message: no capital, no full stop, no newline. */
	char *message;
};

/** The static out-of-memory error. */
extern struct ch_error ch_enomem;

/** A new error with a formatted message. Never returns NULL. */
struct ch_error *ch_error_create(enum ch_error_code code, const char *format,
				 ...)
	__attribute__((returns_nonnull, format(printf, 2, 3)));

/** An error for a failed system call: "<message>: <strerror(errnum)>". */
struct ch_error *ch_error_os(int errnum, const char *format, ...)
	__attribute__((returns_nonnull, format(printf, 2, 3)));

/** A fault at address: "cannot read memory at 0x...: <why>". */
struct ch_error *ch_error_fault(uint64_t address, const char *why)
	__attribute__((returns_nonnull));

/** A libelf failure: "<message>: <elf_errmsg(-1)>". */
struct ch_error *ch_error_libelf(const char *format, ...)
	__attribute__((returns_nonnull, format(printf, 1, 2)));

/** A libdwfl failure: "<message>: <dwfl_errmsg(-1)>". */
struct ch_error *ch_error_dwfl(const char *format, ...)
	__attribute__((returns_nonnull, format(printf, 1, 2)));

/** Free an error (NULL-safe; &ch_enomem is left alone). */
void ch_error_destroy(struct ch_error *err);

/**
 * Print "coreheap: <message>" on stream, then destroy the error.
 */
void ch_error_print_and_destroy(struct ch_error *err, FILE *stream);

/**
 * Exit statuses of coreheap; documented in --help and coreheap(1).
 */
enum ch_exit_status {
	CH_EXIT_OK = 0,
	/** The report is complete where sound, but something was missing or damaged. */
	CH_EXIT_PARTIAL = 1,
	/** Nothing could be reported: bad input, missing file, out of memory. */
	CH_EXIT_FATAL = 2,
	/** Wrong command line. */
	CH_EXIT_USAGE = 64,
};

/** The exit status an error calls for. */
enum ch_exit_status ch_error_exit_status(const struct ch_error *err);

#endif /* COREHEAP_ERROR_H */
