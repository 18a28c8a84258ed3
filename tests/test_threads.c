// SPDX-License-Identifier: MIT
// The project's threads (base/thread_pair.h) and the progress line: a
// thread made by ch_thread_create(), ch_run_pair() or ch_beside_start()
// reports progress only if the thread that made it does, so that work
// muted on one thread (the old core of `diff`, read beside the new one)
// stays muted on the threads it takes; ch_run_two(), two pieces of work
// at once or in turn, the first one's error the one said; and a thread
// put in the background (ch_thread_background()).
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/error.h"
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

// A piece of work for ch_run_two(): fails with its message if it has one,
// and says whether it ran and on which thread.
struct step {
	const char *fails_with;
	bool ran;
	pthread_t thread;
};

static struct ch_error *do_step(void *arg)
{
	struct step *step = arg;

	step->ran = true;
	step->thread = pthread_self();
	return step->fails_with ?
		       ch_error_create(CH_ERROR_CORRUPT, "%s", step->fails_with) :
		       NULL;
}

static struct ch_error *run_two(struct step steps[2], bool at_once)
{
	struct ch_work works[2] = {
		{ do_step, &steps[0], NULL },
		{ do_step, &steps[1], NULL },
	};

	return ch_run_two(works, at_once);
}

// The message of err, which is destroyed; NULL for no error.
static char *message_of(struct ch_error *err)
{
	static char message[64];

	if (!err)
		return NULL;
	snprintf(message, sizeof(message), "%s", err->message);
	ch_error_destroy(err);
	return message;
}

Test(threads, two_pieces_of_work_at_once_say_the_first_ones_error)
{
	struct step steps[2] = { { .fails_with = "old" }, { .fails_with = "new" } };

	cr_expect_str_eq(message_of(run_two(steps, true)), "old");
	cr_expect(steps[0].ran && steps[1].ran);
	cr_expect(pthread_equal(steps[0].thread, pthread_self()));
	cr_expect_not(pthread_equal(steps[1].thread, pthread_self()));
	steps[0].fails_with = NULL;
	cr_expect_str_eq(message_of(run_two(steps, true)), "new");
	steps[1].fails_with = NULL;
	cr_expect_null(run_two(steps, true));
}

Test(threads, two_pieces_of_work_in_turn_stop_at_the_first_error)
{
	struct step steps[2] = { { .fails_with = "old" }, { .fails_with = NULL } };

	cr_expect_str_eq(message_of(run_two(steps, false)), "old");
	cr_expect(steps[0].ran);
	cr_expect_not(steps[1].ran);
	steps[0].fails_with = NULL;
	steps[1].fails_with = "new";
	cr_expect_str_eq(message_of(run_two(steps, false)), "new");
	cr_expect(steps[1].ran);
	cr_expect(pthread_equal(steps[1].thread, pthread_self()));
}

// A thread's nice value, seen from itself.
static int own_nice(void)
{
	errno = 0;
	return getpriority(PRIO_PROCESS, (id_t)gettid());
}

static void *go_background(void *arg)
{
	int *nices = arg;

	nices[0] = own_nice();
	ch_thread_background();
	nices[1] = own_nice();
	return NULL;
}

// A thread put in the background runs CH_BACKGROUND_NICE lower (as far as
// nice goes), and only it: the thread that made it runs as before.
Test(threads, only_a_background_thread_runs_lower)
{
	int before = own_nice(), nices[2];
	pthread_t thread;

	cr_assert_eq(errno, 0);
	cr_assert_eq(pthread_create(&thread, NULL, go_background, nices), 0);
	cr_assert_eq(pthread_join(thread, NULL), 0);
	cr_expect_eq(nices[0], before);
	cr_expect_eq(nices[1], before + CH_BACKGROUND_NICE > 19 ?
				       19 :
				       before + CH_BACKGROUND_NICE);
	cr_expect_eq(own_nice(), before);
}
