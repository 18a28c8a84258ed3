// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"

enum shared_option {
	OPT_EXE = 0x100,
	OPT_SYSROOT,
	OPT_DEBUG_DIR,
	OPT_DEBUGINFO_PATH,
	OPT_PLUGIN,
	OPT_ALLOCATOR,
	OPT_FORMAT,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_EXTRA_BASE = 0x200,
};

static const struct option shared_options[] = {
	{ "exe", required_argument, NULL, OPT_EXE },
	{ "sysroot", required_argument, NULL, OPT_SYSROOT },
	{ "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
	{ "debuginfo-path", required_argument, NULL, OPT_DEBUGINFO_PATH },
	{ "plugin", required_argument, NULL, OPT_PLUGIN },
	{ "allocator", required_argument, NULL, OPT_ALLOCATOR },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, OPT_HELP },
};

#define NUM_SHARED (sizeof(shared_options) / sizeof(shared_options[0]))
#define MAX_EXTRA 32

static const struct {
	const char *name;
	enum ch_format format;
} format_names[] = {
	{ "text", CH_FORMAT_TEXT },
	{ "json", CH_FORMAT_JSON },
	{ "jsonl", CH_FORMAT_JSONL },
	{ "csv", CH_FORMAT_CSV },
};

static void print_formats(unsigned formats, FILE *stream)
{
	const char *sep = "";

	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]);
	     i++) {
		if (formats & format_names[i].format) {
			fprintf(stream, "%s%s", sep, format_names[i].name);
			sep = "|";
		}
	}
}

void ch_usage_print(const char *const *usage, unsigned formats,
		    const struct ch_option *extra, FILE *stream)
{
	fprintf(stream, "usage: %s\n", usage[0]);
	for (size_t i = 1; usage[i]; i++)
		fprintf(stream, "%s\n", usage[i]);
	fprintf(stream,
		"\nwhere to find the program's files:\n"
		"  --exe PATH            the executable the core came from\n"
		"  --sysroot DIR         look for the core's binaries under DIR\n"
		"  --debug-dir DIR       also look for debug files in DIR (repeatable)\n"
		"  --debuginfo-path PATH libdwfl's whole debug search path (default :.debug:/usr/lib/debug)\n"
		"allocators:\n"
		"  --plugin PATH         load an allocator plugin from a shared object (repeatable)\n"
		"  --allocator NAME      use only this allocator\n"
		"output:\n"
		"  --format FORMAT       ");
	print_formats(formats, stream);
	fprintf(stream,
		"\n  --verbose             say how things were found\n"
		"  --help                this text\n"
		"\nexit status: 0 complete, 1 partial (something missing or damaged; see stderr),\n"
		"2 fatal (nothing could be reported), 64 usage error\n");
}

static struct ch_error *parse_format(const char *value, unsigned formats,
				     enum ch_format *ret)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]);
	     i++) {
		if (strcmp(value, format_names[i].name) == 0 &&
		    (formats & format_names[i].format)) {
			*ret = format_names[i].format;
			return NULL;
		}
	}
	return ch_error_create(CH_ERROR_USAGE,
			       "unknown format '%s' for this command", value);
}

static struct ch_error *add_repeated(const char **list, const char *option,
				     const char *value, size_t *count)
{
	if (*count >= CH_MAX_REPEATED)
		return ch_error_create(CH_ERROR_USAGE,
				       "--%s given more than %d times", option,
				       CH_MAX_REPEATED);
	list[(*count)++] = value;
	return NULL;
}

static struct ch_error *parse_shared(int opt, const char *value,
				     unsigned formats,
				     struct ch_command_options *ret)
{
	struct ch_program_options *program = &ret->program;

	switch (opt) {
	case OPT_EXE:
		program->search.executable = value;
		return NULL;
	case OPT_SYSROOT:
		program->search.sysroot = value;
		return NULL;
	case OPT_DEBUG_DIR:
		return add_repeated(ret->debug_dirs, "debug-dir", value,
				    &program->search.num_debug_dirs);
	case OPT_DEBUGINFO_PATH:
		program->search.debuginfo_path = value;
		return NULL;
	case OPT_PLUGIN:
		return add_repeated(ret->plugins, "plugin", value,
				    &program->num_plugins);
	case OPT_ALLOCATOR:
		program->allocator = value;
		return NULL;
	case OPT_FORMAT:
		return parse_format(value, formats, &ret->format);
	case OPT_VERBOSE:
		program->verbose = true;
		return NULL;
	case OPT_HELP:
		ret->help = true;
		return NULL;
	}
	return ch_error_create(CH_ERROR_USAGE, "unknown option");
}

struct ch_error *ch_options_parse(int argc, char **argv,
				  const char *const *usage, unsigned formats,
				  const struct ch_option *extra, void *ctx,
				  struct ch_command_options *ret)
{
	struct option long_options[NUM_SHARED + MAX_EXTRA + 1];
	size_t num_extra = 0, n = 0;
	struct ch_error *err;
	int opt;

	*ret = (struct ch_command_options){ 0 };
	ret->format = formats & -formats;
	ret->program.search.debug_dirs = ret->debug_dirs;
	ret->program.plugins = ret->plugins;
	for (size_t i = 0; i < NUM_SHARED; i++)
		long_options[n++] = shared_options[i];
	while (extra && extra[num_extra].long_option.name &&
	       num_extra < MAX_EXTRA) {
		long_options[n] = extra[num_extra].long_option;
		long_options[n].flag = NULL;
		long_options[n].val = OPT_EXTRA_BASE + num_extra;
		n++;
		num_extra++;
	}
	long_options[n] = (struct option){ 0 };

	optind = 1;
	opterr = 0;
	// "+" stops at the first positional argument: options come first.
	while ((opt = getopt_long(argc, argv, "+h", long_options, NULL)) != -1) {
		if (opt == 'h') {
			ret->help = true;
			continue;
		}
		if (opt == '?' || opt == ':')
			return ch_error_create(CH_ERROR_USAGE,
					       "unknown option or missing value: '%s' (see 'coreheap %s --help')",
					       argv[optind - 1], argv[0]);
		if (opt >= OPT_EXTRA_BASE)
			err = extra[opt - OPT_EXTRA_BASE].parse(optarg, ctx);
		else
			err = parse_shared(opt, optarg, formats, ret);
		if (err)
			return err;
	}
	if (ret->help) {
		ch_usage_print(usage, formats, extra, stdout);
		return NULL;
	}
	ret->args = argv + optind;
	ret->num_args = argc - optind;
	return NULL;
}

struct ch_error *ch_command_open(const struct ch_command_options *options,
				 const char *core_path,
				 struct ch_program **ret)
{
	struct ch_program *program;
	struct ch_error *err;

	err = ch_program_open(core_path, &options->program, &program);
	if (err)
		return err;
	err = ch_program_load_heap(program, &options->program);
	if (err) {
		ch_program_destroy(program);
		return err;
	}
	*ret = program;
	return NULL;
}

int ch_command_finish(struct ch_program *program, struct ch_error *err)
{
	int status = CH_EXIT_OK;

	if (program) {
		for (size_t i = 0; i < program->num_warnings; i++)
			fprintf(stderr, "coreheap: warning: %s\n",
				program->warnings[i].message);
		if (ch_program_is_partial(program))
			status = CH_EXIT_PARTIAL;
		ch_program_destroy(program);
	}
	if (err) {
		status = ch_error_exit_status(err);
		ch_error_print_and_destroy(err, stderr);
	}
	return status;
}

struct ch_error *ch_parse_address(const char *value, uint64_t *ret)
{
	bool hex = value[0] == '0' && (value[1] == 'x' || value[1] == 'X');
	const char *digits = hex ? value + 2 : value;
	char *end;

	errno = 0;
	if (*digits == '\0' || *digits == '-' || *digits == '+' ||
	    *digits == ' ')
		goto bad;
	*ret = strtoull(digits, &end, hex ? 16 : 10);
	if (errno || *end)
		goto bad;
	return NULL;
bad:
	return ch_error_create(CH_ERROR_USAGE,
			       "'%s' is not an address (0x-prefixed hex or decimal)",
			       value);
}

struct ch_error *ch_command_open_at_address(const struct ch_command_options *options,
					    const char *command,
					    uint64_t *addr_ret,
					    struct ch_program **ret)
{
	struct ch_error *err;

	if (options->num_args != 2)
		return ch_error_create(CH_ERROR_USAGE,
				       "%s takes an address and a core (see 'coreheap %s --help')",
				       command, command);
	err = ch_parse_address(options->args[0], addr_ret);
	if (err)
		return err;
	return ch_command_open(options, options->args[1], ret);
}

struct ch_error *ch_parse_u64(const char *option, const char *value,
			      uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(value, &end, 0);
	if (errno || end == value || *end || value[0] == '-')
		return ch_error_create(CH_ERROR_USAGE,
				       "--%s takes a whole number, not '%s'",
				       option, value);
	return NULL;
}
