/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Progress of the long stages on stderr, for a person at a terminal: one
 * line, rewritten in place, "coreheap: STAGE NN%", cleared when the stage
 * ends. Nothing is written unless ch_progress_enable() turned it on, which
 * the command line does when stderr is a terminal (or CH_PROGRESS=1 asks),
 * so pipelines and tests that read stderr see nothing of it.
 *
 * Any thread may report; at most one line every 100 ms is written. A
 * thread whose work runs beside other work that has the line (the new core
 * of `diff`, read while the old one is) is muted: its reports, and those of
 * the threads it makes with ch_thread_create() (thread_pair.h), are
 * dropped.
 */
#ifndef COREHEAP_PROGRESS_H
#define COREHEAP_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

void ch_progress_enable(bool enabled);
/** Whether reports from this thread are shown: enabled, and not muted. */
bool ch_progress_enabled(void);

/** Drop (muted) or show again this thread's reports. */
void ch_progress_mute_thread(bool muted);
bool ch_progress_thread_muted(void);

/** A stage of total units of work begins (stage: a static string). */
void ch_progress_start(const char *stage, uint64_t total);
/** done more units of the current stage are done. */
void ch_progress_add(uint64_t done);
/** The current stage is over: its line is cleared. */
void ch_progress_end(void);

/**
 * Units counted in a hot loop, passed on to ch_progress_add() once step of
 * them or more are pending: an addition an item where the shared count
 * would be an atomic one. ch_progress_flush() passes on the rest.
 */
struct ch_progress_batch {
	uint64_t pending, step;
};

static inline void ch_progress_flush(struct ch_progress_batch *batch)
{
	ch_progress_add(batch->pending);
	batch->pending = 0;
}

static inline void ch_progress_count(struct ch_progress_batch *batch,
				     uint64_t done)
{
	batch->pending += done;
	if (batch->pending >= batch->step)
		ch_progress_flush(batch);
}

#endif /* COREHEAP_PROGRESS_H */
