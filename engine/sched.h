/*
 * sched.h: runs the chunks of a plan on worker threads, largest first.
 *
 * The scheduler knows nothing of what a chunk is for: a clone copies it, a
 * verification hashes it on both sides.  The caller's ops open a worker's
 * resources (its connections) in its thread, run one chunk, and close the
 * worker.  The first failure stops the run: the scheduler raises the stop
 * flag that running chunks watch, and keeps that failure's error.  A stop
 * request (a signal, engine/stop.h) stops it the same way.  What the
 * workers do goes to engine/progress.h.
 *
 * Thread safety: the scheduler's mutex guards the next chunk and the first
 * error, and with a condition variable wakes the caller when a worker ends;
 * counters are atomic; ops->run writes only its own chunk's results,
 * which the caller reads after sched_run returns.  One lock, so no order.
 * A stop request (engine/stop.h) ends the run as a failure does.
 */
#ifndef PGSLUICE_ENGINE_SCHED_H
#define PGSLUICE_ENGINE_SCHED_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/err.h"
#include "engine/plan.h"

typedef struct sched_ops
{
	/* In the worker's thread: opens its resources; *state receives them. */
	int			(*open) (void *ctx, int worker_id, const atomic_int *stop, void **state, sl_err *err);
	/*
	 * Runs chunk (an index into the plan); returns the bytes it moved, or a
	 * negative errno; *rows receives the rows it moved (0 when it found the
	 * chunk done already).  With a pick function, it may instead return
	 * SCHED_LATER: the chunk was not run, and pick offers it again later.
	 */
	int64_t		(*run) (void *ctx, void *state, int chunk, uint64_t *rows, sl_err *err);
	/* Releases what open made, also after a failure; state may be NULL. */
	void		(*close) (void *ctx, void *state);
} sched_ops;

/* ops->run: the chunk is put back, neither done nor failed (see sched_ops) */
#define SCHED_LATER INT64_MIN

typedef struct sched_options
{
	int			jobs;
	const char *label;			/* "data", "verify": names the step in progress lines */
	const catalog *cat;			/* the plan's tables, for progress lines */
	const uint8_t *skip;		/* NULL, or per chunk: nonzero to leave it out */
	const atomic_int *halt;		/* NULL, or raised by a chunk to end the run early
								 * without failing it: no more chunks start */
	/*
	 * NULL: the chunks go largest first.  Else each worker asks pick for its
	 * next chunk, as they become ready; pick may wait, watching stop, and
	 * returns -1 when there are no more.
	 */
	int			(*pick) (void *ctx, const atomic_int *stop);
} sched_options;

/*
 * Runs every chunk of p.  Returns 0, or the first failure (err says which
 * chunk and why; -EINTR after a stop request).  *chunks_done counts the
 * chunks that succeeded.
 */
int			sched_run(const sched_ops *ops, void *ctx, const plan *p, const sched_options *opt,
					  int *chunks_done, sl_err *err);

/*
 * A step that failed (rc < 0) after a stop request reports the request, not
 * its symptom (a killed child, a cancelled statement): err becomes an
 * interrupt that keeps the original message.
 */
void		sched_blame_stop(int rc, sl_err *err);

/*
 * Sleeps before attempt + 1 at something that failed for a passing cause:
 * 1 s, then doubling up to SCHED_BACKOFF_MAX_SECONDS; returns early on stop.
 */
#define SCHED_BACKOFF_MAX_SECONDS 30.0
void		sched_backoff(int attempt, const atomic_int *stop);

/* Something retried after a transient failure (err_transient), with backoff. */
typedef struct sched_retry
{
	int			(*attempt) (void *arg, sl_err *err);	/* 0, or a negative errno */
	/* NULL, or told of a failure after its backoff, before the next attempt */
	void		(*retrying) (void *arg, const sl_err *err);
	void	   *arg;
	const char *what;			/* names it when it gives up: "chunk 3 of table t" */
	const char *again;			/* how the next attempt differs: "on new connections" */
	int			retries;		/* further attempts after the first */
	const atomic_int *stop;		/* no retry once raised */
	atomic_int *count;			/* retries made are added here */
} sched_retry;

/*
 * Runs r->attempt until it succeeds, fails for good (a permanent error or a
 * stop) or has failed r->retries + 1 times; returns 0 or its last failure.
 */
int			sched_retry_run(const sched_retry *r, sl_err *err);

#endif
