/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Two halves of a piece of work on the two threads a pass can use: the
 * caller's and one made for the second half; and work the caller starts
 * beside its own and waits for later.
 */
#ifndef COREHEAP_THREAD_PAIR_H
#define COREHEAP_THREAD_PAIR_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/error.h"
#include "base/progress.h"

/** What a thread made by ch_thread_create() runs, and its maker's state. */
struct ch_thread_start {
	void *(*fn)(void *);
	void *arg;
	bool progress_muted;
};

static inline void *ch_thread_run(void *start_arg)
{
	struct ch_thread_start start = *(struct ch_thread_start *)start_arg;

	free(start_arg);
	ch_progress_mute_thread(start.progress_muted);
	return start.fn(start.arg);
}

/**
 * pthread_create() for the project's threads: the new thread reports
 * progress only if the calling one does (progress.h), so that the work of
 * a muted thread stays muted on every thread it takes. 0 or an errno.
 */
static inline int ch_thread_create(pthread_t *thread, void *(*fn)(void *),
				   void *arg)
{
	struct ch_thread_start *start = malloc(sizeof(*start));
	int err;

	if (!start)
		return ENOMEM;
	*start = (struct ch_thread_start){ fn, arg, ch_progress_thread_muted() };
	err = pthread_create(thread, NULL, ch_thread_run, start);
	if (err)
		free(start);
	return err;
}

// How much lower a thread that works in the background runs.
#define CH_BACKGROUND_NICE 5

/**
 * Lower the calling thread's priority (its nice value: on Linux, each
 * thread has its own) by CH_BACKGROUND_NICE, for work that needs only to
 * be done by the time another thread's is: where the threads are more
 * than the cores, the others then run first. Not undone (only a
 * privileged thread could): call it on a thread that ends with that work.
 * Best effort: nothing when the system says no.
 */
static inline void ch_thread_background(void)
{
	pid_t tid = gettid();
	int nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)tid);
	if (errno == 0)
		(void)setpriority(PRIO_PROCESS, (id_t)tid,
				  nice + CH_BACKGROUND_NICE);
}

/**
 * Run fn(first) on this thread and fn(second) on a thread of its own, at
 * once, and return when both are done. With second NULL, or when no
 * thread can be made, both run here one after the other: the halves are
 * independent, so the result is the same.
 */
static inline void ch_run_pair(void *(*fn)(void *), void *first, void *second)
{
	pthread_t thread;

	if (second && ch_thread_create(&thread, fn, second) == 0) {
		fn(first);
		pthread_join(thread, NULL);
		return;
	}
	fn(first);
	if (second)
		fn(second);
}

/**
 * ch_run_pair() for two halves that each report their stages (two cores
 * read at once): the progress line shows the second half's alone, the
 * first running muted, as one line cannot show both.
 */
static inline void ch_run_pair_showing_second(void *(*fn)(void *),
					      void *first, void *second)
{
	bool muted = ch_progress_thread_muted();
	pthread_t thread;
	bool threaded = ch_thread_create(&thread, fn, second) == 0;

	ch_progress_mute_thread(true);
	fn(first);
	ch_progress_mute_thread(muted);
	if (threaded)
		pthread_join(thread, NULL);
	else
		fn(second);
}

/** A piece of work that can fail, for ch_run_two(). */
struct ch_work {
	struct ch_error *(*fn)(void *arg);
	void *arg;
	struct ch_error *err;
};

static inline void *ch_work_run(void *work)
{
	struct ch_work *w = work;

	w->err = w->fn(w->arg);
	return NULL;
}

/**
 * Two pieces of work that each report their stages (two cores read or
 * analysed): at once when at_once (ch_run_pair_showing_second()), else
 * the first, then the second if the first did not fail. The first's
 * error, if any, is the one returned (the second's destroyed); else the
 * second's. works[i].err says which failed.
 */
static inline struct ch_error *ch_run_two(struct ch_work works[2],
					  bool at_once)
{
	if (at_once) {
		ch_run_pair_showing_second(ch_work_run, &works[0], &works[1]);
	} else {
		ch_work_run(&works[0]);
		if (!works[0].err)
			ch_work_run(&works[1]);
	}
	if (works[0].err) {
		ch_error_destroy(works[1].err);
		works[1].err = NULL;
		return works[0].err;
	}
	return works[1].err;
}

/** Work running beside the caller's (ch_beside_start()). */
struct ch_beside {
	pthread_t thread;
	bool threaded;
};

/**
 * Start fn(arg) on a thread of its own, beside the caller's work; when no
 * thread can be made it runs here, at once, before this returns.
 */
static inline void ch_beside_start(struct ch_beside *beside,
				   void *(*fn)(void *), void *arg)
{
	beside->threaded = ch_thread_create(&beside->thread, fn, arg) == 0;
	if (!beside->threaded)
		fn(arg);
}

/** Wait until the work started beside is done (once; then a no-op). */
static inline void ch_beside_join(struct ch_beside *beside)
{
	if (beside->threaded)
		pthread_join(beside->thread, NULL);
	beside->threaded = false;
}

#endif /* COREHEAP_THREAD_PAIR_H */
