/* SPDX-License-Identifier: MIT */
/*
 * Criterion assertions on the library's errors, shared by the unit tests.
 */
#ifndef COREHEAP_TESTS_ERROR_ASSERTIONS_H
#define COREHEAP_TESTS_ERROR_ASSERTIONS_H

#include <criterion/criterion.h>
#include <string.h>

#include "base/error.h"

static inline void assert_no_error(struct ch_error *err)
{
	cr_assert_null(err, "unexpected error: %s", err ? err->message : "");
}

// err has that code and its message says fragment; err is destroyed.
static inline void assert_error(struct ch_error *err, enum ch_error_code code,
				const char *fragment)
{
	cr_assert_not_null(err, "expected an error");
	cr_expect_eq(err->code, code, "code %d, expected %d (%s)", err->code,
		     code, err->message);
	cr_expect(strstr(err->message, fragment), "message '%s' lacks '%s'",
		  err->message, fragment);
	ch_error_destroy(err);
}

#endif /* COREHEAP_TESTS_ERROR_ASSERTIONS_H */
