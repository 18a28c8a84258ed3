/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Page faults taken off the thread that fills a large array.
 *
 * A heap walk appends tens of millions of blocks to one array, and its
 * first touch of each page is a fault in which the kernel clears the page:
 * measured at a tenth to a third of a 30-million-block walk (more on a
 * virtual machine whose memory the host has not backed yet), on a thread
 * that does nothing else while the other core waits; so does the dominator
 * tree's search, with its numbers and its stack. A prefault thread
 * touches the pages a little ahead of where the filling thread writes
 * (MADV_POPULATE_WRITE), so that it finds them ready. It keeps at most
 * CH_PREFAULT_LEAD bytes ahead: memory the array never uses is not made.
 *
 * One thread fills the array and tells the prefault thread how far it got
 * (ch_prefault_progress(), cheap enough to call every megabyte or so); to
 * move or resize the array's mapping it pauses the prefault thread first.
 */
#ifndef COREHEAP_PREFAULT_H
#define COREHEAP_PREFAULT_H

#include <stddef.h>

/** How far ahead of the filling thread pages are faulted in. */
#define CH_PREFAULT_LEAD ((size_t)8 << 20)

struct ch_prefault;

/**
 * Start faulting in [base + filled, base + capacity) ahead of the filling
 * thread, from the array's first whole page on (the bytes before it are
 * the filling thread's to fault in). NULL when no thread can be made; where
 * pages cannot be faulted in ahead (ch_populate(): before Linux 5.14) the
 * thread ends at its first try. Either way the filling thread takes its
 * own faults, as before.
 */
struct ch_prefault *ch_prefault_start(void *base, size_t capacity,
				      size_t filled);

/** The filling thread has written the first filled bytes. Never waits. */
void ch_prefault_progress(struct ch_prefault *prefault, size_t filled);

/**
 * Stop touching the mapping until ch_prefault_resume(), which gives its
 * new place and size (the bytes already faulted in moved with it).
 */
void ch_prefault_pause(struct ch_prefault *prefault);
void ch_prefault_resume(struct ch_prefault *prefault, void *base,
			size_t capacity);

/**
 * Stop the thread and free prefault (NULL: nothing). The array holds
 * filled bytes: what was faulted in past them is given back.
 */
void ch_prefault_stop(struct ch_prefault *prefault, size_t filled);

#endif /* COREHEAP_PREFAULT_H */
