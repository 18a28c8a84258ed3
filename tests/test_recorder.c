/* SPDX-License-Identifier: MIT */
/*
 * The recorder (fixtures/recorder.c) is linked into this test too, so every
 * allocation here, Criterion's included, goes through it. These tests check
 * that each interposed function keeps the table right, that the dump is
 * exactly the table, that the dump allocates nothing, that threads do not
 * corrupt it, and that an allocation escaping the recorder is detected.
 */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../fixtures/recorder.h"
#include "liveset.h"

extern void *__libc_malloc(size_t size);

/* Keeps results out of the optimizer's reach. */
static void *volatile sink;

/* Impossible sizes, hidden from the compiler's size warnings. */
static volatile size_t half_of_everything = SIZE_MAX / 2;
static volatile size_t almost_everything = SIZE_MAX - 4096;

static void assert_recorded(void *ptr)
{
	cr_assert_not_null(ptr);
	cr_assert_eq(recorder_usable_size_of(ptr), malloc_usable_size(ptr),
		     "%p recorded with %zu, malloc_usable_size says %zu", ptr,
		     recorder_usable_size_of(ptr), malloc_usable_size(ptr));
}

static void assert_not_recorded(void *ptr)
{
	cr_assert_eq(recorder_usable_size_of(ptr), 0, "%p still recorded", ptr);
}

Test(recorder, malloc_and_free)
{
	size_t before = recorder_live_count();
	void *p = malloc(100);
	void *q = malloc(0);

	assert_recorded(p);
	assert_recorded(q);
	cr_assert_eq(recorder_usable_size_of(q), 24);
	cr_assert_eq(recorder_live_count(), before + 2);
	free(p);
	assert_not_recorded(p);
	free(q);
	free(NULL);
	cr_assert_eq(recorder_live_count(), before);
	cr_assert_eq(recorder_anomalies(), 0);
}

Test(recorder, calloc)
{
	void *p = calloc(10, 100);

	assert_recorded(p);
	cr_assert_null(calloc(half_of_everything, 4));
	free(p);
	assert_not_recorded(p);
}

Test(recorder, realloc_follows_the_block)
{
	void *p = malloc(6000);
	void *guard, *q, *r;

	/* Shrinking keeps the address but changes the usable size. */
	q = realloc(p, 1000);
	cr_assert_eq(q, p);
	assert_recorded(q);
	cr_assert_lt(recorder_usable_size_of(q), 6000);

	/* Growing past a live neighbour moves the block. */
	guard = malloc(16);
	r = realloc(q, 100000);
	assert_recorded(r);
	if (r != q)
		assert_not_recorded(q);

	/* realloc(NULL, n) allocates, realloc(p, 0) frees. */
	p = realloc(NULL, 64);
	assert_recorded(p);
	cr_assert_null(realloc(p, 0));
	assert_not_recorded(p);

	free(r);
	free(guard);
	cr_assert_eq(recorder_anomalies(), 0);
}

Test(recorder, failed_realloc_keeps_the_block)
{
	void *p = malloc(64);
	size_t size = recorder_usable_size_of(p);

	cr_assert_null(realloc(p, almost_everything));
	cr_assert_eq(recorder_usable_size_of(p), size);
	free(p);
	cr_assert_eq(recorder_anomalies(), 0);
}

Test(recorder, reallocarray)
{
	void *p = reallocarray(NULL, 10, 32);

	assert_recorded(p);
	p = reallocarray(p, 100, 32);
	assert_recorded(p);
	/*
	 * The overflow fails and keeps p. Through a volatile, so the compiler
	 * does not take the later uses of p for uses after a free.
	 */
	sink = p;
	errno = 0;
	cr_assert_null(reallocarray(p, half_of_everything, 4));
	cr_assert_eq(errno, ENOMEM);
	assert_recorded(sink);
	free(sink);
	cr_assert_eq(recorder_anomalies(), 0);
}

Test(recorder, aligned_functions)
{
	static const size_t alignments[] = { 32, 64, 4096, 65536, 1 << 20 };
	void *p;
	size_t i;

	for (i = 0; i < sizeof(alignments) / sizeof(alignments[0]); i++) {
		size_t a = alignments[i];

		cr_assert_eq(posix_memalign(&p, a, 100), 0);
		cr_assert_eq((uintptr_t)p % a, 0);
		assert_recorded(p);
		free(p);
		p = aligned_alloc(a, 200);
		cr_assert_eq((uintptr_t)p % a, 0);
		assert_recorded(p);
		free(p);
		p = memalign(a, 300);
		cr_assert_eq((uintptr_t)p % a, 0);
		assert_recorded(p);
		free(p);
		assert_not_recorded(p);
	}
	p = valloc(10);
	assert_recorded(p);
	free(p);
	p = pvalloc(5000);
	assert_recorded(p);
	cr_assert_geq(recorder_usable_size_of(p), 8192);
	free(p);
	cr_assert_eq(recorder_anomalies(), 0);
}

Test(recorder, posix_memalign_rejects_bad_alignments)
{
	size_t before = recorder_live_count();
	void *p = NULL;

	cr_assert_eq(posix_memalign(&p, 24, 100), EINVAL);
	cr_assert_eq(posix_memalign(&p, 4, 100), EINVAL);
	cr_assert_eq(posix_memalign(&p, 0, 100), EINVAL);
	cr_assert_null(p);
	cr_assert_eq(recorder_live_count(), before);
}

/* The whole point: libc's internal allocations go through us too. */
Test(recorder, sees_libc_internal_allocations)
{
	char *copy = strdup("libc mallocs this");
	FILE *stream = fopen("/dev/null", "r");

	assert_recorded(copy);
	cr_assert_not_null(stream);
	/* fopen's FILE is the start of the block libc malloc'd for it. */
	assert_recorded(stream);
	sink = stream;
	fclose(stream);
	assert_not_recorded(sink);
	free(copy);
	cr_assert_eq(recorder_anomalies(), 0);
}

static void dump_and_read(struct liveset *set)
{
	char path[] = "/tmp/recorder-test-XXXXXX";
	int fd = mkstemp(path);
	char err[512] = "";

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(recorder_dump(path), 0, "recorder_dump: %s", strerror(errno));
	liveset_init(set);
	cr_assert_eq(liveset_read_recorded(path, set, err, sizeof(err)), 0, "%s", err);
	unlink(path);
	liveset_sort(set);
}

Test(recorder, dump_is_exactly_the_table)
{
	void *kept[50];
	struct liveset set;
	size_t count, i;
	ptrdiff_t at;

	for (i = 0; i < 50; i++)
		kept[i] = malloc(i * 37);
	for (i = 0; i < 50; i += 2)
		free(kept[i]);
	count = recorder_live_count();
	dump_and_read(&set);

	/* liveset's own mallocs came after the dump: count is the dump's. */
	cr_assert_eq(set.count, count);
	for (i = 0; i < 50; i++) {
		at = liveset_find(&set, (uintptr_t)kept[i]);
		if (i % 2 == 0) {
			cr_assert_eq(at, -1, "freed block %zu in the dump", i);
		} else {
			cr_assert_geq(at, 0, "live block %zu not in the dump", i);
			cr_assert_eq(set.items[at].size, malloc_usable_size(kept[i]));
		}
	}
	for (i = 1; i < set.count; i++)
		cr_assert_neq(set.items[i].address, set.items[i - 1].address);
	liveset_free(&set);
	for (i = 1; i < 50; i += 2)
		free(kept[i]);
}

/* A dump that allocated would change the heap it describes. */
Test(recorder, dump_allocates_nothing)
{
	char path[] = "/tmp/recorder-test-XXXXXX";
	int fd = mkstemp(path);
	struct mallinfo2 before, after;
	size_t count;

	cr_assert_geq(fd, 0);
	close(fd);
	count = recorder_live_count();
	before = mallinfo2();
	cr_assert_eq(recorder_dump(path), 0);
	after = mallinfo2();
	cr_assert_eq(after.uordblks, before.uordblks);
	cr_assert_eq(after.hblks, before.hblks);
	cr_assert_eq(recorder_live_count(), count);
	unlink(path);
}

Test(recorder, dump_fails_without_a_path)
{
	errno = 0;
	cr_assert_eq(recorder_dump(NULL), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(recorder_dump("/nonexistent/dir/live"), -1);
}

#define STRESS_THREADS 4
#define STRESS_ROUNDS 20000

static void *stress_thread(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	void *slots[64] = { NULL };
	int i;

	for (i = 0; i < STRESS_ROUNDS; i++) {
		unsigned int slot;

		seed = seed * 1103515245 + 12345;	/* fixed-seed LCG */
		slot = (seed >> 16) % 64;
		if (slots[slot]) {
			free(slots[slot]);
			slots[slot] = NULL;
		} else {
			slots[slot] = malloc((seed >> 8) % 2048);
		}
	}
	for (i = 0; i < 64; i++)
		free(slots[i]);
	return NULL;
}

Test(recorder, threads_keep_the_table_consistent)
{
	pthread_t threads[STRESS_THREADS];
	size_t before;
	int i;

	/* Warm up: the first pthread_create allocates thread-cache data. */
	sink = malloc(1);
	free(sink);
	before = recorder_live_count();
	for (i = 0; i < STRESS_THREADS; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, stress_thread,
					    (void *)(uintptr_t)(i + 1)), 0);
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(threads[i], NULL);
	cr_assert_eq(recorder_anomalies(), 0);
	/*
	 * Each thread's dtv, calloc'd by pthread_create, stays with the
	 * cached stack: allow those, nothing more.
	 */
	cr_assert_leq(recorder_live_count(), before + STRESS_THREADS);
	cr_assert_geq(recorder_live_count(), before);
}

/* A block that escaped the recorder poisons the dump instead of lying. */
Test(recorder, an_escaped_allocation_is_detected)
{
	char path[] = "/tmp/recorder-test-XXXXXX";
	int fd = mkstemp(path);
	void *escaped = __libc_malloc(100);

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(recorder_anomalies(), 0);
	assert_not_recorded(escaped);
	free(escaped);
	cr_assert_eq(recorder_anomalies(), 1);
	errno = 0;
	cr_assert_eq(recorder_dump(path), -1);
	cr_assert_eq(errno, EPROTO);
	unlink(path);
}
