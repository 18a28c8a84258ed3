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
/** The most operands a command takes (its synopsis names them). */
#define CH_MAX_OPERANDS 4

/**
 * A command's own option, beyond the shared ones. The usage is generated
 * from these entries, so that help and parsing cannot drift apart.
 */
struct ch_option {
	struct option long_option;
	/** Called with the option's value (NULL for flags). */
	struct ch_error *(*parse)(const char *value, void *ctx);
	/** The value's name in the usage ("N", "bytes|count"); NULL: a flag. */
	const char *value_name;
	/** What it does, for the usage; a '\n' starts another line. */
	const char *help;
};

struct ch_command_options {
	struct ch_program_options program;
	enum ch_format format;
	const char *debug_dirs[CH_MAX_REPEATED];
	const char *plugins[CH_MAX_REPEATED];
	/**
	 * The operands, as many as the synopsis names, in its order, options
	 * taken from wherever they stood. With --coredump, the CORE operand
	 * is the core picked from systemd-coredump's store.
	 */
	char **args;
	int num_args;
	char *operands[CH_MAX_OPERANDS + 1];
	/** --coredump's value, and the core it picked (a path, owned here). */
	const char *coredump;
	char coredump_path[4096];
	/** --help was given: the usage went to stdout, exit 0. */
	bool help;
};

/**
 * Parse argv (argv[0] is the command's name), GNU style: options before,
 * between and after the operands, "--" ends the options, "-" is an
 * operand (standard input). usage is a NULL-terminated list of lines: the
 * synopsis ("coreheap why [OPTIONS] ADDR CORE", whose words after
 * [OPTIONS] name the operands the command takes, exactly), then the
 * description. formats is the bit set of accepted formats (the first bit
 * set is the default). extra (may be NULL) lists the command's own
 * options, terminated by an entry with a NULL name; ctx goes to their
 * parse functions. Commands whose last operand is CORE also take
 * --coredump, which supplies it.
 *
 * Errors: CH_ERROR_USAGE, naming the option or operand that is wrong; the
 * errors of ch_coredump_find() for --coredump.
 */
struct ch_error *ch_options_parse(int argc, char **argv,
				  const char *const *usage, unsigned formats,
				  const struct ch_option *extra, void *ctx,
				  struct ch_command_options *ret);

/** Print the usage: synopsis, description, then every option's line. */
void ch_usage_print(const char *const *usage, unsigned formats,
		    const struct ch_option *extra, FILE *stream);

/** Open the core and load its heap, as the options say. */
struct ch_error *ch_command_open(const struct ch_command_options *options,
				 const char *core_path,
				 struct ch_program **ret);

/**
 * Open the two cores of options->args (OLD, NEW) and load their heaps,
 * and their types if typed. Both are opened first, in turn, so that a core
 * that cannot be opened is said at once; then their heaps are walked (and
 * typed) at once, the new one on a thread of its own, whose stages the
 * progress shows: the later core of a process that grew is the larger,
 * the one to wait for. With --verbose each is opened and loaded in turn,
 * so that what is said of each stays together. The old core's error, if
 * any, is the one, and the new core is then as if not read. What was
 * opened is left in programs (NULL where not) for the caller to finish.
 */
struct ch_error *ch_command_open_two(const struct ch_command_options *options,
				     bool typed, struct ch_program *programs[2]);

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
 * For the commands that take ADDR CORE: parse the address and open the
 * core (heap loaded). command names the command in messages.
 */
struct ch_error *ch_command_open_at_address(const struct ch_command_options *options,
					    const char *command,
					    uint64_t *addr_ret,
					    struct ch_program **ret);

/** Parse a whole non-negative number. */
struct ch_error *ch_parse_u64(const char *option, const char *value,
			      uint64_t *ret);

#endif /* COREHEAP_OPTIONS_H */
