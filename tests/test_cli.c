// SPDX-License-Identifier: MIT
// Unit tests of the command line's own library (src/cli): parsing what a
// user types.
#include <criterion/criterion.h>

#include "cli/options.h"

#define assert_no_error(expr)                                                \
	do {                                                                 \
		struct ch_error *err_ = (expr);                              \
		cr_assert_null(err_, "%s", err_ ? err_->message : "");       \
	} while (0)

Test(cli, parses_addresses)
{
	uint64_t addr;
	struct ch_error *err;

	assert_no_error(ch_parse_address("0x7f00AbC0", &addr));
	cr_assert_eq(addr, 0x7f00abc0);
	assert_no_error(ch_parse_address("4096", &addr));
	cr_assert_eq(addr, 4096);
	// A leading zero is decimal, not octal.
	assert_no_error(ch_parse_address("0100", &addr));
	cr_assert_eq(addr, 100);
	static const char *const bad[] = { "", "0x", "-1", "12z", "0x1g",
					   "99999999999999999999", " 1" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = ch_parse_address(bad[i], &addr);
		cr_assert_not_null(err, "'%s' was taken", bad[i]);
		cr_assert_eq(err->code, CH_ERROR_USAGE);
		ch_error_destroy(err);
	}
}

static struct ch_error *parse_count(const char *value, void *ctx)
{
	return ch_parse_u64("count", value, ctx);
}

static const char *const test_usage[] = {
	"coreheap test [OPTIONS] ADDR CORE",
	"",
	"A command for the tests.",
	NULL,
};

static const struct ch_option test_options[] = {
	{ { "count", required_argument, NULL, 0 }, parse_count, "N", "how many" },
	{ { NULL, 0, NULL, 0 }, NULL, NULL, NULL },
};

// Parse argv (NULL-terminated) as the test command.
static struct ch_error *parse(char **argv, uint64_t *count,
			      struct ch_command_options *ret)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return ch_options_parse(argc, argv, test_usage, CH_FORMAT_TEXT,
				test_options, count, ret);
}

Test(cli, takes_options_anywhere)
{
	char *argv[] = { "test", "0x10", "--count", "3", "core", "--verbose", NULL };
	char *dashes[] = { "test", "--", "0x10", "--count", NULL };
	struct ch_command_options options;
	uint64_t count = 0;

	assert_no_error(parse(argv, &count, &options));
	cr_assert_eq(count, 3);
	cr_assert(options.program.verbose);
	cr_assert_eq(options.num_args, 2);
	cr_assert_str_eq(options.args[0], "0x10");
	cr_assert_str_eq(options.args[1], "core");
	// After "--", "--count" is the CORE operand.
	assert_no_error(parse(dashes, &count, &options));
	cr_assert_eq(options.num_args, 2);
	cr_assert_str_eq(options.args[1], "--count");
}

Test(cli, names_what_is_wrong)
{
	// Not static const: getopt_long permutes argv.
	struct {
		char *argv[6];
		const char *message;
	} cases[] = {
		{ { "test", "0x10", NULL }, "test: missing CORE (usage: coreheap test [OPTIONS] ADDR CORE)" },
		{ { "test", "0x10", "core", "more", NULL },
		  "test: unexpected operand 'more' after CORE (usage: coreheap test [OPTIONS] ADDR CORE)" },
		{ { "test", "0x10", "core", "--cuont", "1", NULL },
		  "test: unknown option '--cuont' (see 'coreheap test --help')" },
		{ { "test", "0x10", "core", "--count", NULL },
		  "test: option '--count' needs a value (see 'coreheap test --help')" },
		{ { "test", "--help=x", NULL },
		  "test: option '--help' takes no value, not '--help=x' (see 'coreheap test --help')" },
		{ { "test", "0x10", "-", "--coredump", "1", NULL },
		  "test: '-' and --coredump both name the core; give one (usage: coreheap test [OPTIONS] ADDR CORE)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ch_command_options options;
		uint64_t count = 0;
		struct ch_error *err = parse(cases[i].argv, &count, &options);

		cr_assert_not_null(err, "case %zu was taken", i);
		cr_assert_eq(err->code, CH_ERROR_USAGE);
		cr_assert_str_eq(err->message, cases[i].message);
		ch_error_destroy(err);
	}
}
