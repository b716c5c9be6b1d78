/*
 * slots.h: a limit on the chunks in flight, shared by the processes of one
 * run of several databases (cmd/cluster.c).
 *
 * Each database of clone --all-databases is copied by a process of its
 * own, with --jobs workers; the slots, a process-shared semaphore of
 * --jobs in memory that the processes inherit, keep the chunks in flight
 * across all of them at --jobs, so that the databases share the workers as
 * one queue would: while one database is in its schema steps, the others'
 * chunks take its share.  A process that never made slots takes none.
 *
 * Thread safety: any thread may take and give; the semaphore is the lock.
 */
#ifndef PGSLUICE_ENGINE_SLOTS_H
#define PGSLUICE_ENGINE_SLOTS_H

#include <stdatomic.h>

#include "base/err.h"

/* Makes n slots, before the processes that share them are forked. */
int			slots_share(int n, sl_err *err);

/* Waits for a slot, watching stop: 0, or -EINTR when stop was raised first.  Without slots: 0 at once. */
int			slots_take(const atomic_int *stop);

/* Gives back a slot that slots_take gave. */
void		slots_give(void);

/* Releases the slots (in the process that made them, once the others are gone). */
void		slots_release(void);

#endif
