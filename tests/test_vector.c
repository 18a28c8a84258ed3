// SPDX-License-Identifier: MIT
// The typed growable array: appends keep order and contents across growth,
// failures leave the vector as it was, sizes that overflow fail.
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/vector.h"

struct pair {
	uint64_t key;
	uint32_t value;
};

DEFINE_VECTOR(pair_vector, struct pair);
DEFINE_VECTOR(u8_vector, uint8_t);

Test(vector, zeroed_is_empty)
{
	struct pair_vector v = { 0 };

	cr_expect_null(v.data);
	cr_expect_eq(v.len, 0);
	pair_vector_deinit(&v);
	pair_vector_init(&v);
	cr_expect_eq(v.capacity, 0);
}

Test(vector, append_keeps_order_across_growth)
{
	struct pair_vector v;

	pair_vector_init(&v);
	for (uint32_t i = 0; i < 1000; i++) {
		struct pair p = { .key = 3 * (uint64_t)i, .value = i };

		cr_assert_null(pair_vector_append(&v, &p));
		cr_assert_geq(v.capacity, v.len);
	}
	cr_assert_eq(v.len, 1000);
	for (uint32_t i = 0; i < 1000; i++) {
		cr_expect_eq(v.data[i].key, 3 * (uint64_t)i);
		cr_expect_eq(v.data[i].value, i);
	}
	// Doubling: 1000 appends from 8 end at 1024, not at 1000 + a step.
	cr_expect_eq(v.capacity, 1024);
	pair_vector_deinit(&v);
	cr_expect_null(v.data);
	cr_expect_eq(v.len, 0);
}

Test(vector, append_entry_and_reserve)
{
	struct u8_vector v = { 0 };
	uint8_t *slot = NULL, *before;

	cr_assert_null(u8_vector_reserve(&v, 100));
	cr_expect_eq(v.capacity, 100);
	cr_expect_eq(v.len, 0);
	before = v.data;
	for (int i = 0; i < 100; i++) {
		cr_assert_null(u8_vector_append_entry(&v, &slot));
		*slot = (uint8_t)i;
	}
	// Reserved room is used without moving the array.
	cr_expect_eq(v.data, before);
	cr_expect_eq(v.data[99], 99);
	// Reserving less than there is does nothing.
	cr_assert_null(u8_vector_reserve(&v, 10));
	cr_expect_eq(v.capacity, 100);
	u8_vector_deinit(&v);
}

Test(vector, steal_hands_over_the_array)
{
	struct u8_vector v = { 0 };
	uint8_t *data;
	size_t len = 7;

	data = u8_vector_steal(&v, &len);
	cr_expect_null(data);
	cr_expect_eq(len, 0);
	cr_assert_null(u8_vector_append(&v, &(uint8_t){ 42 }));
	data = u8_vector_steal(&v, &len);
	cr_assert_not_null(data);
	cr_expect_eq(len, 1);
	cr_expect_eq(data[0], 42);
	cr_expect_null(v.data);
	cr_expect_eq(v.len, 0);
	cr_expect_eq(v.capacity, 0);
	free(data);
}

Test(vector, overflow_fails_and_keeps_the_vector)
{
	struct pair_vector v = { 0 };
	struct pair p = { .key = 1, .value = 2 };

	cr_assert_null(pair_vector_append(&v, &p));
	// SIZE_MAX / sizeof(struct pair) + 1 elements cannot be sized.
	cr_expect_eq(pair_vector_reserve(&v, SIZE_MAX / sizeof(p) + 1),
		     &ch_enomem);
	cr_expect_eq(pair_vector_reserve(&v, SIZE_MAX), &ch_enomem);
	cr_expect_eq(v.len, 1);
	cr_expect_eq(v.capacity, CH_VECTOR_MIN_CAPACITY);
	cr_expect_eq(v.data[0].key, 1);
	pair_vector_deinit(&v);
}

Test(vector, reserve_one_refuses_a_full_size_t)
{
	void *data = NULL;
	size_t capacity = 0;

	// len == SIZE_MAX has no next index: out of memory, not a wrap to 0.
	cr_expect_eq(ch_vector_reserve_one(&data, &capacity, 1, SIZE_MAX),
		     &ch_enomem);
	cr_expect_null(data);
	cr_expect_null(ch_vector_reserve_one(&data, &capacity, 1, 0));
	cr_expect_eq(capacity, CH_VECTOR_MIN_CAPACITY);
	free(data);
}
