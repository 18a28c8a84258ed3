/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The command line: options every command shares (where to find binaries
 * and debug info, plugins, output format), parsed with getopt_long, and the
 * small helpers every command uses to open a core and finish a report.
 */
#ifndef COREHEAP_OPTIONS_H
#define COREHEAP_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/error.h"
#include "heap/program.h"
#include "report/output.h"   // enum ch_format

#define CH_MAX_REPEATED 32

/** A command's own option, beyond the shared ones. */
struct ch_option {
	struct option long_option;
	/** Called with the option's value (NULL for flags). */
	struct ch_error *(*parse)(const char *value, void *ctx);
};

struct ch_command_options {
	struct ch_program_options program;
	enum ch_format format;
	const char *debug_dirs[CH_MAX_REPEATED];
	const char *plugins[CH_MAX_REPEATED];
	/** Positional arguments after the options. */
	char **args;
	int num_args;
	/** --help was given: the usage went to stdout, exit 0. */
	bool help;
};

/**
 * Parse argv (argv[0] is the command's name). usage is a NULL-terminated
 * list of lines, the first the synopsis; formats the bit set of accepted
 * formats (the first bit set is the default). extra (may be NULL) lists the
 * command's own options, terminated by an entry with a NULL name; ctx goes
 * to their parse functions. Errors are CH_ERROR_USAGE.
 */
struct ch_error *ch_options_parse(int argc, char **argv,
				  const char *const *usage, unsigned formats,
				  const struct ch_option *extra, void *ctx,
				  struct ch_command_options *ret);

/** Print the usage lines and the shared options. */
void ch_usage_print(const char *const *usage, unsigned formats,
		    const struct ch_option *extra, FILE *stream);

/** Open the core and load its heap, as the options say. */
struct ch_error *ch_command_open(const struct ch_command_options *options,
				 const char *core_path,
				 struct ch_program **ret);

/**
 * Print the program's warnings on stderr, destroy it, and give the exit
 * status: err's if err is set (printed once), else 1 if the results are
 * partial, else 0.
 */
int ch_command_finish(struct ch_program *program, struct ch_error *err);

/**
 * Parse an address given on the command line: 0x-prefixed hex or decimal.
 * CH_ERROR_USAGE otherwise.
 */
struct ch_error *ch_parse_address(const char *value, uint64_t *ret);

/**
 * For the commands that take ADDR CORE: check there are exactly those two
 * arguments, parse the address and open the core (heap loaded).
 */
struct ch_error *ch_command_open_at_address(const struct ch_command_options *options,
					    const char *command,
					    uint64_t *addr_ret,
					    struct ch_program **ret);

/** Parse a whole non-negative number. */
struct ch_error *ch_parse_u64(const char *option, const char *value,
			      uint64_t *ret);

#endif /* COREHEAP_OPTIONS_H */
