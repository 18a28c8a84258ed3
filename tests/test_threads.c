// SPDX-License-Identifier: MIT
// The project's threads (base/thread_pair.h) and the progress line: a
// thread made by ch_thread_create(), ch_run_pair() or ch_beside_start()
// reports progress only if the thread that made it does, so that work
// muted on one thread (the old core of `diff`, read beside the new one)
// stays muted on the threads it takes.
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdbool.h>

#include "base/progress.h"
#include "base/thread_pair.h"

// What a thread saw of the progress line.
struct seen {
	bool muted, enabled;
};

static void *look(void *arg)
{
	struct seen *seen = arg;

	seen->muted = ch_progress_thread_muted();
	seen->enabled = ch_progress_enabled();
	return NULL;
}

// A thread that mutes itself (or not), then makes one that looks.
struct maker {
	bool mute;
	struct seen child;
	int err;
};

static void *make_child(void *arg)
{
	struct maker *maker = arg;
	pthread_t thread;

	ch_progress_mute_thread(maker->mute);
	maker->err = ch_thread_create(&thread, look, &maker->child);
	if (!maker->err)
		pthread_join(thread, NULL);
	return NULL;
}

static void enable_progress(void)
{
	ch_progress_enable(true);
	ch_progress_mute_thread(false);
}

static void disable_progress(void)
{
	ch_progress_mute_thread(false);
	ch_progress_enable(false);
}

TestSuite(threads, .init = enable_progress, .fini = disable_progress);

Test(threads, a_muted_thread_reports_nothing)
{
	cr_expect(ch_progress_enabled());
	ch_progress_mute_thread(true);
	cr_expect(ch_progress_thread_muted());
	cr_expect_not(ch_progress_enabled());
	ch_progress_mute_thread(false);
	cr_expect(ch_progress_enabled());
}

Test(threads, a_thread_is_muted_as_its_maker)
{
	for (int mute = 0; mute < 2; mute++) {
		struct maker maker = { .mute = mute };
		pthread_t thread;

		cr_assert_eq(pthread_create(&thread, NULL, make_child, &maker), 0);
		pthread_join(thread, NULL);
		cr_assert_eq(maker.err, 0);
		cr_expect_eq(maker.child.muted, (bool)mute, "maker muted %d", mute);
		cr_expect_eq(maker.child.enabled, !mute, "maker muted %d", mute);
	}
	// The maker's muting is its own: this thread still reports.
	cr_expect(ch_progress_enabled());
}

Test(threads, pairs_and_work_beside_are_muted_as_their_maker)
{
	for (int mute = 0; mute < 2; mute++) {
		struct seen first = { 0 }, second = { 0 }, beside_seen = { 0 };
		struct ch_beside beside;

		ch_progress_mute_thread(mute);
		ch_run_pair(look, &first, &second);
		ch_beside_start(&beside, look, &beside_seen);
		ch_beside_join(&beside);
		ch_progress_mute_thread(false);
		cr_expect_eq(first.muted, (bool)mute);
		cr_expect_eq(second.muted, (bool)mute, "maker muted %d", mute);
		cr_expect_eq(beside_seen.muted, (bool)mute, "maker muted %d", mute);
		cr_expect_eq(second.enabled, !mute, "maker muted %d", mute);
	}
}

Test(threads, a_pair_showing_its_second_half_mutes_the_first)
{
	struct seen first = { 0 }, second = { 0 };

	ch_run_pair_showing_second(look, &first, &second);
	cr_expect(first.muted);
	cr_expect_not(first.enabled);
	cr_expect_not(second.muted);
	cr_expect(second.enabled);
	// The caller reports again once the first half is done.
	cr_expect_not(ch_progress_thread_muted());
}
