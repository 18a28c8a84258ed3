// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/thread_pair.h"
#include "cli/options.h"
#include "core/coredump_store.h"
#include "types/types.h"

enum shared_option {
	OPT_EXE = 0x100,
	OPT_SYSROOT,
	OPT_DEBUG_DIR,
	OPT_DEBUGINFO_PATH,
	OPT_COREDUMP,
	OPT_PLUGIN,
	OPT_ALLOCATOR,
	OPT_FORMAT,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_EXTRA_BASE = 0x200,
};

/*
 * The options every command shares, by group; their usage lines come from
 * here as the commands' own come from their tables. The format option's
 * value names are the command's formats (see print_option).
 */
#define GROUP_SIZE 5

static const struct shared_group {
	const char *heading;
	/** Up to GROUP_SIZE options, the rest zero. */
	struct ch_option options[GROUP_SIZE];
} shared_groups[] = {
	{ "where to find the core and the program's files:", {
		{ { "coredump", required_argument, NULL, OPT_COREDUMP }, NULL,
		  "PID|COMM|PATH",
		  "instead of CORE, the newest core of that process in\n"
		  "systemd-coredump's store (" CH_COREDUMP_STORE ";\n"
		  CH_COREDUMP_STORE_ENV " names another)" },
		{ { "exe", required_argument, NULL, OPT_EXE }, NULL, "PATH",
		  "the executable the core came from" },
		{ { "sysroot", required_argument, NULL, OPT_SYSROOT }, NULL, "DIR",
		  "look for the core's binaries under DIR, and for their\n"
		  "debug files under DIR/usr/lib/debug" },
		{ { "debug-dir", required_argument, NULL, OPT_DEBUG_DIR }, NULL,
		  "DIR", "also look for debug files in DIR (repeatable)" },
		{ { "debuginfo-path", required_argument, NULL, OPT_DEBUGINFO_PATH },
		  NULL, "PATH",
		  "libdwfl's whole debug search path (default :.debug:/usr/lib/debug)" },
	} },
	{ "allocators:", {
		{ { "plugin", required_argument, NULL, OPT_PLUGIN }, NULL, "PATH",
		  "load an allocator plugin from a shared object (repeatable)" },
		{ { "allocator", required_argument, NULL, OPT_ALLOCATOR }, NULL,
		  "NAME", "use only this allocator" },
	} },
	{ "output:", {
		{ { "format", required_argument, NULL, OPT_FORMAT }, NULL, "FORMAT",
		  NULL },
		{ { "verbose", no_argument, NULL, OPT_VERBOSE }, NULL, NULL,
		  "say how things were found" },
		{ { "help", no_argument, NULL, OPT_HELP }, NULL, NULL,
		  "this text" },
	} },
};

#define NUM_GROUPS (sizeof(shared_groups) / sizeof(shared_groups[0]))
#define MAX_SHARED (NUM_GROUPS * GROUP_SIZE)
#define MAX_EXTRA 32
// The column where an option's help starts.
#define HELP_COLUMN 24

static const struct {
	const char *name;
	enum ch_format format;
} format_names[] = {
	{ "text", CH_FORMAT_TEXT },
	{ "json", CH_FORMAT_JSON },
	{ "jsonl", CH_FORMAT_JSONL },
	{ "csv", CH_FORMAT_CSV },
};

// The synopsis's operands: its words after "[OPTIONS]".
static size_t synopsis_operands(const char *synopsis,
				char names[CH_MAX_OPERANDS][16])
{
	const char *p = strstr(synopsis, "[OPTIONS]");
	size_t n = 0;

	p = p ? p + strlen("[OPTIONS]") : synopsis + strlen(synopsis);
	while (n < CH_MAX_OPERANDS) {
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len == 0)
			break;
		snprintf(names[n++], 16, "%.*s", (int)len, p);
		p += len;
	}
	return n;
}

// --coredump supplies the CORE operand: only commands ending with one.
static bool takes_coredump(const char *synopsis)
{
	char names[CH_MAX_OPERANDS][16];
	size_t n = synopsis_operands(synopsis, names);

	return n > 0 && strcmp(names[n - 1], "CORE") == 0;
}

static bool shared_option_applies(const struct ch_option *option,
				  const char *synopsis)
{
	return option->long_option.val != OPT_COREDUMP ||
	       takes_coredump(synopsis);
}

static void print_option(const struct ch_option *option, unsigned formats,
			 FILE *stream)
{
	const char *help = option->help;
	char left[64];
	int len;

	len = snprintf(left, sizeof(left), "--%s%s%s", option->long_option.name,
		       option->value_name ? " " : "",
		       option->value_name ? option->value_name : "");
	fprintf(stream, "  %s", left);
	if (option->long_option.val == OPT_FORMAT) {
		const char *sep = "";

		fprintf(stream, "%*s", HELP_COLUMN - 2 - len, "");
		for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
			if (formats & format_names[i].format) {
				fprintf(stream, "%s%s", sep, format_names[i].name);
				sep = "|";
			}
		}
		fputc('\n', stream);
		return;
	}
	// A long left side gets its help on the lines below.
	if (len + 2 >= HELP_COLUMN)
		fprintf(stream, "\n%*s", HELP_COLUMN, "");
	else
		fprintf(stream, "%*s", HELP_COLUMN - 2 - len, "");
	while (help) {
		const char *newline = strchr(help, '\n');

		fprintf(stream, "%.*s\n",
			(int)(newline ? newline - help : (int)strlen(help)), help);
		help = newline ? newline + 1 : NULL;
		if (help)
			fprintf(stream, "%*s", HELP_COLUMN, "");
	}
	if (!option->help)
		fputc('\n', stream);
}

void ch_usage_print(const char *const *usage, unsigned formats,
		    const struct ch_option *extra, FILE *stream)
{
	fprintf(stream, "usage: %s\n", usage[0]);
	for (size_t i = 1; usage[i]; i++)
		fprintf(stream, "%s\n", usage[i]);
	if (extra && extra[0].long_option.name) {
		fprintf(stream, "\noptions:\n");
		for (size_t i = 0; extra[i].long_option.name; i++)
			print_option(&extra[i], formats, stream);
	}
	for (size_t g = 0; g < NUM_GROUPS; g++) {
		const struct shared_group *group = &shared_groups[g];

		fprintf(stream, "%s%s\n", g == 0 ? "\n" : "", group->heading);
		for (size_t i = 0; i < GROUP_SIZE && group->options[i].long_option.name; i++) {
			if (shared_option_applies(&group->options[i], usage[0]))
				print_option(&group->options[i], formats, stream);
		}
	}
	fprintf(stream,
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
	case OPT_COREDUMP:
		ret->coredump = value;
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

// The option whose val is opt, for messages.
static const struct option *option_of(const struct option *options, int opt)
{
	for (size_t i = 0; options[i].name; i++) {
		if (options[i].val == opt)
			return &options[i];
	}
	return NULL;
}

/*
 * What was wrong with the option getopt_long refused (argv[optind - 1]
 * for a long option, optopt for a short one): said precisely.
 */
static struct ch_error *option_error(int opt, const char *command,
				     const char *arg,
				     const struct option *options)
{
	const struct option *known = option_of(options, optopt);
	char matches[256] = "";
	size_t name_len, num_matches = 0;

	if (opt == ':' && known)
		return ch_error_create(CH_ERROR_USAGE,
				       "%s: option '--%s' needs a value (see 'coreheap %s --help')",
				       command, known->name, command);
	if (known && known->has_arg == no_argument)
		return ch_error_create(CH_ERROR_USAGE,
				       "%s: option '--%s' takes no value, not '%s' (see 'coreheap %s --help')",
				       command, known->name, arg, command);
	if (strncmp(arg, "--", 2) != 0)
		return ch_error_create(CH_ERROR_USAGE,
				       "%s: unknown option '-%c' (see 'coreheap %s --help')",
				       command, optopt ? optopt : '?', command);
	name_len = strcspn(arg + 2, "=");
	for (size_t i = 0; options[i].name; i++) {
		if (strncmp(options[i].name, arg + 2, name_len) != 0)
			continue;
		num_matches++;
		snprintf(matches + strlen(matches),
			 sizeof(matches) - strlen(matches), "%s--%s",
			 num_matches > 1 ? ", " : "", options[i].name);
	}
	if (num_matches > 1)
		return ch_error_create(CH_ERROR_USAGE,
				       "%s: option '--%.*s' is ambiguous: %s (see 'coreheap %s --help')",
				       command, (int)name_len, arg + 2, matches,
				       command);
	return ch_error_create(CH_ERROR_USAGE,
			       "%s: unknown option '--%.*s' (see 'coreheap %s --help')",
			       command, (int)name_len, arg + 2, command);
}

/*
 * A value an option refused, said as the command line's other mistakes
 * are: with the command and where its help is. Other errors (an option
 * that opens a file) pass as they are.
 */
static struct ch_error *in_command(struct ch_error *err, const char *command)
{
	struct ch_error *usage;

	if (err->code != CH_ERROR_USAGE)
		return err;
	usage = ch_error_create(CH_ERROR_USAGE,
				"%s: %s (see 'coreheap %s --help')", command,
				err->message, command);
	ch_error_destroy(err);
	return usage;
}

// The operands against the synopsis: as many as it names, each said.
static struct ch_error *check_operands(const char *command,
				       const char *synopsis,
				       struct ch_command_options *ret)
{
	char names[CH_MAX_OPERANDS][16];
	size_t want = synopsis_operands(synopsis, names);
	size_t given = ret->num_args + (ret->coredump ? 1 : 0);
	int stdin_uses = 0;

	if (ret->coredump && (size_t)ret->num_args >= want)
		return ch_error_create(CH_ERROR_USAGE,
				       "%s: '%s' and --coredump both name the core; give one (usage: %s)",
				       command, ret->args[ret->num_args - 1],
				       synopsis);
	if (given < want)
		return ch_error_create(CH_ERROR_USAGE,
				       "%s: missing %s (usage: %s)", command,
				       names[given], synopsis);
	if (given > want)
		return ch_error_create(CH_ERROR_USAGE,
				       "%s: unexpected operand '%s' after %s (usage: %s)",
				       command, ret->args[want],
				       names[want - 1], synopsis);
	for (int i = 0; i < ret->num_args; i++)
		stdin_uses += strcmp(ret->args[i], "-") == 0;
	if (stdin_uses > 1)
		return ch_error_create(CH_ERROR_USAGE,
				       "%s: standard input ('-') can be read once, not %d times",
				       command, stdin_uses);
	return NULL;
}

// Put the core --coredump picks in the place of the CORE operand.
static struct ch_error *pick_coredump(struct ch_command_options *ret)
{
	_cleanup_free_ char *path = NULL;
	struct ch_error *err;

	err = ch_coredump_find(NULL, ret->coredump, &path);
	if (err)
		return err;
	if (strlen(path) >= sizeof(ret->coredump_path))
		return ch_error_create(CH_ERROR_OS, "path too long: '%s'", path);
	strcpy(ret->coredump_path, path);
	ret->operands[ret->num_args++] = ret->coredump_path;
	if (ret->program.verbose)
		fprintf(stderr, "coreheap: --coredump %s: %s\n", ret->coredump,
			ret->coredump_path);
	return NULL;
}

struct ch_error *ch_options_parse(int argc, char **argv,
				  const char *const *usage, unsigned formats,
				  const struct ch_option *extra, void *ctx,
				  struct ch_command_options *ret)
{
	struct option long_options[MAX_SHARED + MAX_EXTRA + 1];
	size_t num_extra = 0, n = 0;
	struct ch_error *err;
	int opt;

	*ret = (struct ch_command_options){ 0 };
	ret->format = formats & -formats;
	ret->program.search.debug_dirs = ret->debug_dirs;
	ret->program.plugins = ret->plugins;
	// Every command but summary types the heap (it says so itself).
	ret->program.read_dwarf = true;
	for (size_t g = 0; g < NUM_GROUPS; g++) {
		for (size_t i = 0; i < GROUP_SIZE && shared_groups[g].options[i].long_option.name; i++) {
			if (shared_option_applies(&shared_groups[g].options[i],
						  usage[0]))
				long_options[n++] = shared_groups[g].options[i].long_option;
		}
	}
	while (extra && extra[num_extra].long_option.name &&
	       num_extra < MAX_EXTRA) {
		long_options[n] = extra[num_extra].long_option;
		long_options[n].flag = NULL;
		long_options[n].val = OPT_EXTRA_BASE + num_extra;
		n++;
		num_extra++;
	}
	long_options[n] = (struct option){ 0 };

	optind = 0;   // 0: a full reset of getopt's state, permutation included
	opterr = 0;
	// GNU order: options anywhere (getopt_long moves the operands after
	// them), "--" ends them. ':' first: a missing value is ':'.
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		if (opt == 'h') {
			ret->help = true;
			continue;
		}
		if (opt == '?' || opt == ':')
			return option_error(opt, argv[0], argv[optind - 1],
					    long_options);
		if (opt >= OPT_EXTRA_BASE)
			err = extra[opt - OPT_EXTRA_BASE].parse(optarg, ctx);
		else
			err = parse_shared(opt, optarg, formats, ret);
		if (err)
			return in_command(err, argv[0]);
	}
	if (ret->help) {
		ch_usage_print(usage, formats, extra, stdout);
		return NULL;
	}
	ret->args = argv + optind;
	ret->num_args = argc - optind;
	err = check_operands(argv[0], usage[0], ret);
	if (err || !ret->coredump)
		return err;
	// Fewer than the synopsis's operands (checked): room for CORE.
	for (int i = 0; i < ret->num_args; i++)
		ret->operands[i] = ret->args[i];
	ret->args = ret->operands;
	return pick_coredump(ret);
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

/*
 * Walk a core opened (*program), and type it if typed: a walk that fails
 * leaves no program, as ch_command_open() does; a typing that fails
 * leaves it, with the warnings of its walk.
 */
static struct ch_error *load_program(const struct ch_command_options *options,
				     bool typed, struct ch_program **program)
{
	struct ch_error *err;

	err = ch_program_load_heap(*program, &options->program);
	if (err) {
		ch_program_destroy(*program);
		*program = NULL;
		return err;
	}
	return typed ? ch_program_load_types(*program) : NULL;
}

// One core to load on a thread.
struct side_load {
	const struct ch_command_options *options;
	bool typed;
	struct ch_program *program;
};

static struct ch_error *load_side(void *arg)
{
	struct side_load *side = arg;

	return load_program(side->options, side->typed, &side->program);
}

struct ch_error *ch_command_open_two(const struct ch_command_options *options,
				     bool typed, struct ch_program *programs[2])
{
	struct side_load sides[2];
	struct ch_work works[2];
	struct ch_error *err;

	for (int side = 0; side < 2; side++) {
		err = ch_program_open(options->args[side], &options->program,
				      &programs[side]);
		if (!err && options->program.verbose)
			err = load_program(options, typed, &programs[side]);
		if (err)
			return err;
	}
	if (options->program.verbose)
		return NULL;
	for (int side = 0; side < 2; side++) {
		sides[side] = (struct side_load){ options, typed,
						  programs[side] };
		works[side] = (struct ch_work){ load_side, &sides[side], NULL };
	}
	err = ch_run_two(works, true);
	programs[0] = sides[0].program;
	programs[1] = sides[1].program;
	if (works[0].err) {
		ch_program_destroy(programs[1]);
		programs[1] = NULL;
	}
	return err;
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
