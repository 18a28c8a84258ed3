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
